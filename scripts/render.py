"""render: the chunks' picture and the edit's sound joined into final.mp4, then checked (duration, A/V sync at
every join, loudness)."""

from pathlib import Path

from ave_core.config import RenderConfig
from ave_core.models import Enhancement, MediaInfo, Plan, read_artifact, write_artifact
from ave_core.render import check_render, join_chunks
from ave_core.stage import stage_logging

with stage_logging(snakemake.log[0], "render") as log:
    config = RenderConfig(**snakemake.params.render)
    final = Path(snakemake.output.video)
    join_chunks([Path(p) for p in snakemake.input.videos], Path(snakemake.input.audio), final)
    try:
        report = check_render(
            final,
            Path(snakemake.input.wav),
            read_artifact(snakemake.input.media, MediaInfo),
            read_artifact(snakemake.input.plan, Plan),
            config,
            len(snakemake.input.videos),
        )
    except Exception:
        final.unlink(missing_ok=True)  # a video that failed its check is not left behind
        raise
    if snakemake.input.get("enhancement"):  # the studio-sound chain the sound went through, for the record
        report.enhancement = read_artifact(snakemake.input.enhancement, Enhancement)
    write_artifact(snakemake.output.report, report)
    log.info(
        "%.2f s, %s LUFS, worst join offset %.1f ms",
        report.duration_s,
        report.loudness_lufs,
        report.max_offset_s * 1000,
    )
