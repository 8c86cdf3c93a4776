"""broll: the plan's B-roll slots rendered as motion-graphics clips (movis)."""

from pathlib import Path

from ave_core.broll import render_broll
from ave_core.models import Analysis, MediaInfo, Plan, read_artifact, write_artifact
from ave_core.render import output_fps, output_size
from ave_core.stage import stage_logging

with stage_logging(snakemake.log[0], "broll") as log:
    media = read_artifact(snakemake.input.media, MediaInfo)
    width, height = output_size(media)
    broll = render_broll(
        read_artifact(snakemake.input.plan, Plan),
        read_artifact(snakemake.input.analysis, Analysis),
        Path(snakemake.output.broll).parent,
        width=width,
        height=height,
        fps=output_fps(media),
        skip_reason=None if media.video else "audio only: B-roll cut-aways need a picture to cut away from",
    )
    write_artifact(snakemake.output.broll, broll)
    log.info("%d clips", len(broll.clips))
