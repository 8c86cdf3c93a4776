"""shorts: the chosen moments and each short's render check -> shorts/shorts.json."""

from ave_core.models import RenderReport, Shorts, read_artifact, write_artifact
from ave_core.shorts import with_renders
from ave_core.stage import stage_logging

with stage_logging(snakemake.log[0], "shorts") as log:
    shorts = with_renders(
        read_artifact(snakemake.input.selection, Shorts),
        [read_artifact(path, RenderReport) for path in snakemake.input.checks],
    )
    write_artifact(snakemake.output.shorts, shorts)
    log.info("%d shorts%s", len(shorts.shorts), f": {shorts.skip_reason}" if shorts.skip_reason else "")
