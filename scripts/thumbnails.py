"""thumbnails: three 1280x720 thumbnails, one per strategy of the plan, from the best real frames."""

from pathlib import Path

from ave_core.config import ThumbnailsConfig
from ave_core.models import MediaInfo, Plan, Scenes, read_artifact, write_artifact
from ave_core.stage import stage_logging
from ave_core.thumbnails import make_background, make_thumbnails

with stage_logging(snakemake.log[0], "thumbnails") as log:
    config = ThumbnailsConfig(**snakemake.params.thumbnails)
    background, unavailable = make_background(
        config.backend, model=config.model, base_url=config.base_url, timeout_s=config.timeout_s
    )
    thumbnails = make_thumbnails(
        Path(snakemake.input.video),
        read_artifact(snakemake.input.media, MediaInfo),
        read_artifact(snakemake.input.plan, Plan),
        read_artifact(snakemake.input.scenes, Scenes),
        Path(snakemake.output.thumbnails).parent,
        background=background,
        unavailable=unavailable,
        cover=snakemake.input.cover[0] if snakemake.input.cover else None,
    )
    write_artifact(snakemake.output.thumbnails, thumbnails)
    log.info("%d thumbnails", len(thumbnails.thumbnails))
