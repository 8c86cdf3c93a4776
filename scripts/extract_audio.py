"""extract_audio: input video + media.json -> 16 kHz mono WAV."""

from ave_core.audio import extract_speech_wav
from ave_core.models import MediaInfo, read_artifact
from ave_core.stage import stage_logging

with stage_logging(snakemake.log[0], "extract_audio") as log:
    media = read_artifact(snakemake.input.media, MediaInfo)
    extract_speech_wav(snakemake.input.video, media, snakemake.output.wav)
    log.info("wrote %s", snakemake.output.wav)
