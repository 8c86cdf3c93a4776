"""review: the plan, the source and final.mp4 -> report/review.html, every cut played before and after."""

from pathlib import Path

from ave_core.config import ReviewConfig
from ave_core.models import Analysis, MediaInfo, Plan, Transcript, read_artifact
from ave_core.review import build_review, write_review
from ave_core.stage import stage_logging

with stage_logging(snakemake.log[0], "review") as log:
    config = ReviewConfig(**snakemake.params.review)
    plan = read_artifact(snakemake.input.plan, Plan)
    page = build_review(
        snakemake.wildcards.video,
        plan,
        read_artifact(snakemake.input.transcript, Transcript).words,
        read_artifact(snakemake.input.media, MediaInfo),
        snakemake.input.video,
        snakemake.input.final,
        config.context_s,
        config.max_cut_shown_s,
        config.video_width,
        read_artifact(snakemake.input.analysis, Analysis).chapters,
        edit_copies=[Path(p) for p in snakemake.input.copies],
    )
    write_review(snakemake.output.review, page)
    log.info("%d cuts reviewed, page %.1f MB", len(plan.cuts), len(page.encode("utf-8")) / 1e6)
