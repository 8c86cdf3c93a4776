"""render_loudness: the edit's loudness, measured once for every chunk (first loudnorm pass)."""

from pathlib import Path

from ave_core.config import RenderConfig
from ave_core.enhance import enhanced_or_none
from ave_core.models import MediaInfo, Plan, read_artifact, write_artifact
from ave_core.render import measure_edit_loudness
from ave_core.stage import stage_logging

with stage_logging(snakemake.log[0], "render_loudness") as log:
    measured = measure_edit_loudness(
        Path(snakemake.input.video),
        read_artifact(snakemake.input.media, MediaInfo),
        read_artifact(snakemake.input.plan, Plan),
        RenderConfig(**snakemake.params.render),
        enhanced=enhanced_or_none(snakemake.input.get("enhanced")),
    )
    write_artifact(snakemake.output.loudness, measured)
    log.info("edit loudness %s LUFS", measured.loudness.integrated_lufs)
