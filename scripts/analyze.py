"""analyze: transcript + audio (+ WAV) -> analysis.json."""

from ave_core.analysis import analyze_content
from ave_core.config import AnalysisConfig
from ave_core.models import AudioAnalysis, MediaInfo, Transcript, read_artifact, write_artifact
from ave_core.stage import stage_logging

with stage_logging(snakemake.log[0], "analyze") as log:
    analysis = analyze_content(
        read_artifact(snakemake.input.transcript, Transcript),
        read_artifact(snakemake.input.audio, AudioAnalysis),
        AnalysisConfig(**snakemake.params.analysis),
        wav_path=snakemake.input.wav,
        duration_s=read_artifact(snakemake.input.media, MediaInfo).duration_s,
    )
    write_artifact(snakemake.output.analysis, analysis)
    log.info("%d concepts, %d chapters", len(analysis.concepts), len(analysis.chapters))
