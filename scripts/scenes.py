"""scenes: video + media.json -> scenes.json and a keyframe per shot."""

from ave_core.config import ScenesConfig
from ave_core.models import MediaInfo, read_artifact, write_artifact
from ave_core.stage import stage_logging
from ave_core.vision import analyze_scenes

with stage_logging(snakemake.log[0], "scenes") as log:
    scenes = analyze_scenes(
        snakemake.input.video,
        read_artifact(snakemake.input.media, MediaInfo),
        ScenesConfig(**snakemake.params.scenes),
        snakemake.output.frames,
    )
    write_artifact(snakemake.output.scenes, scenes)
    log.info("%d shots, %d face samples", len(scenes.shots), len(scenes.faces))
