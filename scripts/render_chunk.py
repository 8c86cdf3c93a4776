"""render_chunk: one chunk of the edit's picture as H.264 (the sound is rendered once: render_audio)."""

from pathlib import Path

from ave_core.config import RenderConfig
from ave_core.models import Broll, MediaInfo, Plan, read_artifact
from ave_core.render import render_chunk, render_job_from_files
from ave_core.stage import stage_logging

with stage_logging(snakemake.log[0], "render_chunk") as log:
    media = read_artifact(snakemake.input.media, MediaInfo)
    config = RenderConfig(**snakemake.params.render)
    job = render_job_from_files(
        Path(snakemake.input.video),
        media,
        read_artifact(snakemake.input.plan, Plan),
        read_artifact(snakemake.input.broll, Broll),
        Path(snakemake.input.broll).parent.parent,
        config,
        int(snakemake.wildcards.chunk),
    )
    render_chunk(
        Path(snakemake.input.video),
        media,
        job,
        config,
        Path(snakemake.output.video),
        captions=Path(snakemake.input.captions),
        threads=snakemake.threads,
        sound=Path(snakemake.input.sound) if snakemake.input.get("sound") else None,
        cover=Path(snakemake.input.cover[0]) if snakemake.input.cover else None,
        review_copy=Path(snakemake.output.review),
        review_width=snakemake.params.review_width,
    )
    log.info("chunk %d: %d pieces, %d B-roll clips", job.index, len(job.pieces), len(job.broll))
