"""captions: the transcript re-timed to the edited video, as SRT and WebVTT."""

from ave_core.captions import write_captions
from ave_core.models import Plan, Transcript, read_artifact
from ave_core.stage import stage_logging

with stage_logging(snakemake.log[0], "captions") as log:
    plan = read_artifact(snakemake.input.plan, Plan)
    write_captions(
        read_artifact(snakemake.input.transcript, Transcript),
        plan,
        snakemake.output.srt,
        snakemake.output.vtt,
        plan.captions.max_chars_per_line,
        plan.captions.max_lines,
    )
    log.info("wrote %s", snakemake.output.srt)
