"""extract_audio: input video + media.json -> the source's sound by its time base, 48 kHz and 16 kHz WAVs."""

from ave_core.models import MediaInfo, read_artifact
from ave_core.stage import stage_logging
from ave_core.timebase import decode_source_audio

with stage_logging(snakemake.log[0], "extract_audio") as log:
    media = read_artifact(snakemake.input.media, MediaInfo)
    decode_source_audio(snakemake.input.video, media, snakemake.output.full, snakemake.output.wav)
    log.info("wrote %s and %s", snakemake.output.full, snakemake.output.wav)
