"""direct: the analysis artifacts + the prompt template (+ the creator's edits) -> plan.json and edit.md."""

from pathlib import Path

from ave_core.config import DirectorConfig
from ave_core.director import Context, direct
from ave_core.edits import creator_plan
from ave_core.llm import make_llm
from ave_core.models import (
    Analysis,
    AudioAnalysis,
    MediaInfo,
    Scenes,
    Transcript,
    read_artifact,
    write_artifact,
)
from ave_core.publish import write_text_atomic
from ave_core.stage import stage_logging
from ave_core.timemap import FrameGrid

with stage_logging(snakemake.log[0], "direct") as log:
    config = DirectorConfig(**snakemake.params.director)
    media = read_artifact(snakemake.input.media, MediaInfo)
    context = Context(
        duration=media.duration_s,
        audio=read_artifact(snakemake.input.audio, AudioAnalysis),
        transcript=read_artifact(snakemake.input.transcript, Transcript),
        analysis=read_artifact(snakemake.input.analysis, Analysis),
        scenes=read_artifact(snakemake.input.scenes, Scenes),
        grid=FrameGrid.of(media),  # cuts on the render's frames: captions and chapters match the picture
    )
    template = Path(snakemake.input.prompt).read_text(encoding="utf-8")
    plan = direct(context, config, template, make_llm(config, Path.cwd()))
    # the creator's edits/{video}.md or NLE timeline, when there is one, overrides the machine's cuts
    plan, script = creator_plan(
        plan, context, config, media, snakemake.wildcards.video, snakemake.input.edits
    )
    write_artifact(snakemake.output.plan, plan)
    write_text_atomic(snakemake.output.edit_script, script)
    if plan.producer.fallback:
        log.warning("fallback to rules: %s", plan.producer.fallback.reason)
    for warning in plan.producer.warnings:
        log.warning("%s", warning)
    log.info(
        "%s plan: %d cuts, %.1f s removed", plan.backend, len(plan.cuts), plan.metrics.get("removed_s", 0)
    )
