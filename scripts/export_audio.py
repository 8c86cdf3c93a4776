"""export_audio: a podcast's edited sound from final.mp4 -> final.m4a (and .mp3, .flac ... as the input)."""

from ave_core.podcast import export_audio
from ave_core.stage import stage_logging

with stage_logging(snakemake.log[0], "export_audio") as log:
    export_audio(snakemake.input.video, snakemake.output.audio)
    log.info("wrote %s", snakemake.output.audio)
