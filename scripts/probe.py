"""probe: input video -> media.json."""

from ave_core.errors import InputError
from ave_core.media import probe
from ave_core.models import write_artifact
from ave_core.stage import stage_logging

with stage_logging(snakemake.log[0], "probe") as log:
    if snakemake.params.name_clash:  # two input files would share results/{video}/
        raise InputError(snakemake.params.name_clash)
    media = probe(
        snakemake.input.video,
        slug=snakemake.wildcards.video,
        original_name=snakemake.params.original_name,
        **snakemake.params.probe,
    )
    write_artifact(snakemake.output.media, media)
    log.info("probed %s: %.2f s", snakemake.input.video, media.duration_s)
