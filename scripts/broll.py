"""broll: the plan's B-roll slots rendered as clips, each kind by its renderer (movis, Blender)."""

from pathlib import Path

from ave_core.broll import RendererSettings, render_broll, renderers_for
from ave_core.config import BrollConfig, CharacterConfig
from ave_core.models import Analysis, MediaInfo, Plan, read_artifact, write_artifact
from ave_core.render import output_fps, output_size
from ave_core.stage import stage_logging

with stage_logging(snakemake.log[0], "broll") as log:
    media = read_artifact(snakemake.input.media, MediaInfo)
    width, height = output_size(media)
    character = CharacterConfig(**snakemake.params.character)
    renderers = renderers_for(
        BrollConfig(**snakemake.params.broll),
        # the clip cache is relative to the project, like the research and LLM caches
        RendererSettings(character, Path(character.cache_dir), threads=snakemake.threads),
    )
    broll = render_broll(
        read_artifact(snakemake.input.plan, Plan),
        read_artifact(snakemake.input.analysis, Analysis),
        Path(snakemake.output.broll).parent,
        width=width,
        height=height,
        fps=output_fps(media),
        renderers=renderers,
        skip_reason=None if media.video else "audio only: B-roll cut-aways need a picture to cut away from",
    )
    write_artifact(snakemake.output.broll, broll)
    if broll.producer.fallback:
        log.warning("fallback to %s: %s", broll.producer.fallback.used, broll.producer.fallback.reason)
    log.info("%d clips", len(broll.clips))
