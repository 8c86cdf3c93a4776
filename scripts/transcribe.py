"""transcribe: WAV + audio.json (+ captions beside the video) -> transcript.json."""

from ave_core.config import AsrConfig
from ave_core.models import AudioAnalysis, read_artifact, write_artifact
from ave_core.stage import stage_logging
from ave_core.transcript import transcribe_video

with stage_logging(snakemake.log[0], "transcribe") as log:
    transcript = transcribe_video(
        snakemake.input.wav,
        read_artifact(snakemake.input.audio, AudioAnalysis),
        snakemake.input.captions,
        AsrConfig(**snakemake.params.asr),
        cpu_threads=snakemake.threads,
    )
    write_artifact(snakemake.output.transcript, transcript)
    log.info(
        "%s: %d words, %d fillers",
        transcript.backend,
        len(transcript.words),
        sum(w.is_filler for w in transcript.words),
    )
