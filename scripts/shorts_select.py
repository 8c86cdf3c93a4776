"""shorts_select: the plan and the analysis -> the moments that become shorts, with their crop paths."""

from pathlib import Path

from ave_core.config import DirectorConfig, ShortsMoments
from ave_core.llm import make_llm
from ave_core.models import (
    Analysis,
    AudioAnalysis,
    MediaInfo,
    Plan,
    Scenes,
    Transcript,
    read_artifact,
    write_artifact,
)
from ave_core.reframe import grey_decoder
from ave_core.shorts import select_shorts
from ave_core.stage import stage_logging

with stage_logging(snakemake.log[0], "shorts_select") as log:
    media = read_artifact(snakemake.input.media, MediaInfo)
    video = media.video
    size = (video.display_width, video.display_height) if video else None
    selection = select_shorts(
        read_artifact(snakemake.input.plan, Plan),
        media,
        read_artifact(snakemake.input.transcript, Transcript),
        read_artifact(snakemake.input.analysis, Analysis),
        read_artifact(snakemake.input.audio, AudioAnalysis),
        read_artifact(snakemake.input.scenes, Scenes),
        ShortsMoments(**snakemake.params.shorts),
        make_llm(DirectorConfig(**snakemake.params.director), Path.cwd()),
        decode=grey_decoder(Path(snakemake.input.video), size) if size else None,
    )
    write_artifact(snakemake.output.selection, selection)
    log.info(
        "%d shorts of %d candidates (%s)%s",
        len(selection.shorts),
        selection.candidates,
        selection.ranking,
        f": {selection.skip_reason}" if selection.skip_reason else "",
    )
