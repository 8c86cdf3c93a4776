"""short_render: one chosen moment -> shorts/short-N.mp4, reframed, captioned, normalised and checked."""

from pathlib import Path

from ave_core.config import ShortsLook
from ave_core.models import MediaInfo, Shorts, read_artifact, write_artifact
from ave_core.shorts import render_short
from ave_core.stage import stage_logging

with stage_logging(snakemake.log[0], "short_render") as log:
    report = render_short(
        Path(snakemake.input.video),
        read_artifact(snakemake.input.media, MediaInfo),
        read_artifact(snakemake.input.selection, Shorts),
        int(snakemake.wildcards.n),
        ShortsLook(**snakemake.params.shorts),
        Path(snakemake.input.sound),
        Path(snakemake.input.wav),
        Path(snakemake.output.video),
        threads=snakemake.threads,
    )
    write_artifact(snakemake.output.check, report)
    log.info(
        "%.2f s, %s LUFS, worst join offset %.1f ms",
        report.duration_s,
        report.loudness_lufs,
        report.max_offset_s * 1000,
    )
