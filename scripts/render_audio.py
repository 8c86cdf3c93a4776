"""render_audio: the edit's sound, once for the whole video, from the sound on the source's time base
(audio_48k.wav, or the studio sound enhanced.flac): measured, normalised, encoded to AAC for the join."""

from pathlib import Path

from ave_core.config import RenderConfig
from ave_core.models import MediaInfo, Plan, read_artifact, write_artifact
from ave_core.render import render_audio
from ave_core.stage import stage_logging

with stage_logging(snakemake.log[0], "render_audio") as log:
    measured = render_audio(
        Path(snakemake.input.sound),
        read_artifact(snakemake.input.media, MediaInfo),
        read_artifact(snakemake.input.plan, Plan),
        RenderConfig(**snakemake.params.render),
        Path(snakemake.output.audio),
    )
    write_artifact(snakemake.output.loudness, measured)
    log.info("edit loudness %s LUFS", measured.loudness.integrated_lufs)
