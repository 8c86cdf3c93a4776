"""audio: the source's sound (48 kHz and 16 kHz WAVs) + media.json -> audio.json."""

from ave_core.audio import analyze_audio
from ave_core.config import AudioConfig, VadConfig
from ave_core.models import MediaInfo, read_artifact, write_artifact
from ave_core.stage import stage_logging

with stage_logging(snakemake.log[0], "audio") as log:
    media = read_artifact(snakemake.input.media, MediaInfo)
    result = analyze_audio(
        snakemake.input.full,
        snakemake.input.wav,
        media,
        VadConfig(**snakemake.params.vad),
        AudioConfig(**snakemake.params.audio),
        analysed_audio=snakemake.params.analysed_audio,
    )
    write_artifact(snakemake.output.audio, result)
    log.info("speech ratio %.2f, %d peaks", result.speech_ratio, len(result.peaks))
