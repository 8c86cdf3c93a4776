"""report_pages: the timeline picture, the contact sheet (shots, character clips), the metadata page."""

from pathlib import Path

from ave_core.models import (
    Analysis,
    AudioAnalysis,
    Broll,
    MediaInfo,
    Metadata,
    Plan,
    Scenes,
    Thumbnails,
    read_artifact,
)
from ave_core.report import contact_sheet, metadata_page, timeline_picture
from ave_core.stage import stage_logging

with stage_logging(snakemake.log[0], "report_pages") as log:
    timeline_picture(
        read_artifact(snakemake.input.audio, AudioAnalysis),
        read_artifact(snakemake.input.plan, Plan),
        read_artifact(snakemake.input.analysis, Analysis),
        read_artifact(snakemake.input.media, MediaInfo).duration_s,
        Path(snakemake.output.timeline),
    )
    contact_sheet(
        read_artifact(snakemake.input.scenes, Scenes),
        Path(snakemake.input.scenes).parent,
        Path(snakemake.output.contact_sheet),
        broll=read_artifact(snakemake.input.broll, Broll),
    )
    metadata_page(
        read_artifact(snakemake.input.metadata, Metadata),
        read_artifact(snakemake.input.thumbnails, Thumbnails),
        Path(snakemake.output.metadata),
    )
    log.info("report pages written")
