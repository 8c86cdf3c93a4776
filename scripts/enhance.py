"""enhance: the source's sound on its time base (audio_48k.wav) cleaned (studio sound) -> enhanced.flac,
enhanced_16k.wav, enhance.json."""

from ave_core.enhance import enhance_audio
from ave_core.models import MediaInfo, read_artifact, write_artifact
from ave_core.stage import stage_logging

with stage_logging(snakemake.log[0], "enhance") as log:
    enhancement = enhance_audio(
        snakemake.input.sound,
        read_artifact(snakemake.input.media, MediaInfo),
        snakemake.params.enhance["preset"],
        snakemake.params.enhance["denoiser"],
        snakemake.output.enhanced,
        snakemake.output.wav,
        preview_html=snakemake.output.preview,
        dereverb_name=snakemake.params.enhance["dereverb"],
    )
    write_artifact(snakemake.output.enhancement, enhancement)
    log.info(
        "%s with %s (dereverb %s): hum %s, noise floor %s dBFS, reduction at most %s dB, %.1f s",
        enhancement.preset,
        enhancement.denoiser,
        enhancement.dereverb,
        enhancement.hum.mains_hz,
        enhancement.noise_floor_db,
        enhancement.reduction_db,
        enhancement.seconds,
    )
