"""render_audio: the edit's sound, once for the whole video, from the source's sound decoded by its time base:
measured, normalised to the target loudness, encoded to AAC for the join."""

import json
from pathlib import Path

from ave_core.config import RenderConfig
from ave_core.models import MediaInfo, Plan, read_artifact, write_json_atomic
from ave_core.render import render_audio
from ave_core.stage import stage_logging

with stage_logging(snakemake.log[0], "render_audio") as log:
    measured = render_audio(
        Path(snakemake.input.audio),
        read_artifact(snakemake.input.media, MediaInfo),
        read_artifact(snakemake.input.plan, Plan),
        RenderConfig(**snakemake.params.render),
        Path(snakemake.output.audio),
    )
    write_json_atomic(snakemake.output.loudness, json.dumps(measured, indent=2) + "\n")
    log.info("edit loudness %.1f LUFS", measured["input_i"])
