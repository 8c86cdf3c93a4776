"""thumbnails: three 1280x720 thumbnails, one per strategy of the plan, from the best real frames."""

from pathlib import Path

from ave_core.backgrounds import make_background
from ave_core.config import ThumbnailsConfig
from ave_core.models import MediaInfo, Plan, Scenes, read_artifact, write_artifact
from ave_core.stage import stage_logging
from ave_core.thumbnails import make_thumbnails

with stage_logging(snakemake.log[0], "thumbnails") as log:
    thumbnails = make_thumbnails(
        Path(snakemake.input.video),
        read_artifact(snakemake.input.media, MediaInfo),
        read_artifact(snakemake.input.plan, Plan),
        read_artifact(snakemake.input.scenes, Scenes),
        Path(snakemake.output.thumbnails).parent,
        background=make_background(ThumbnailsConfig(**snakemake.params.thumbnails)),
        cover=snakemake.input.cover[0] if snakemake.input.cover else None,
    )
    write_artifact(snakemake.output.thumbnails, thumbnails)
    log.info("%d thumbnails", len(thumbnails.thumbnails))
