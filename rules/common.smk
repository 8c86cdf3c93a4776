# Everything that is not a rule: configuration, input discovery, paths and input functions.

import hashlib
import importlib.util
import os
import re
from pathlib import Path

import yaml
from snakemake.logging import logger
from snakemake.utils import validate

from ave_core.asr import find_sidecar
from ave_core.config import (
    coerce_strings,
    load_config,
    schema_error_line,
    section_params,
)
from ave_core.errors import ConfigError
from ave_core.project import check_writable, discover_videos, name_clash

CONFIG_SCHEMA = Path(workflow.basedir) / "config" / "schema.yaml"
DIRECTOR_PROMPT = str(Path(workflow.basedir) / "config" / "prompts" / "director.md")

_schema = yaml.safe_load(CONFIG_SCHEMA.read_text(encoding="utf-8"))
config.update(coerce_strings(config, _schema))
_problem = schema_error_line(config, _schema)
if _problem:
    raise ConfigError(_problem)
validate(config, schema=str(CONFIG_SCHEMA))
AVE = load_config(config)
# a read-only or foreign project folder fails here in one line, not in every job
check_writable(["results", "logs", "benchmarks"])

VIDEOS = {
    video.slug: video
    for video in discover_videos(AVE.input.folder, AVE.input.extensions)
}
if not VIDEOS:
    logger.warning(
        f"ave: no videos in {Path(AVE.input.folder).resolve()} "
        f"({', '.join(AVE.input.extensions)}) — put your recordings there"
    )


def video_slug_pattern():
    """A regex matching exactly the known video slugs (nothing when there are none)."""
    return "|".join(re.escape(slug) for slug in VIDEOS) or "(?!x)x"


def get_final_output():
    """The default target: the assembled context and the report pages of every video."""
    per_video = ["context.json", "report/timeline.png"]
    return expand("results/{video}/{name}", video=sorted(VIDEOS), name=per_video)


def get_video_path(wildcards):
    """The user's input file behind a slug."""
    return VIDEOS[wildcards.video].path


def get_original_name(wildcards):
    """The input file's name as the user gave it, recorded in media.json."""
    return VIDEOS[wildcards.video].original_name


def get_name_clash(wildcards):
    """The error probe stops with when other files' names give the same slug; "" when none do."""
    return name_clash(VIDEOS[wildcards.video])


def section(name):
    """A validated config section as plain data, so that changing it reruns the rules using it."""
    return section_params(AVE, name)


def code_version(*modules):
    """A hash of ave_core modules' source: a change to a stage's logic reruns its rule."""
    digest = hashlib.sha256()
    for module in modules:
        origin = importlib.util.find_spec(f"ave_core.{module}").origin
        digest.update(Path(origin).read_bytes())
    return digest.hexdigest()[:16]


def get_captions(wildcards):
    """Captions beside the video (NAME.srt / NAME.vtt), as a list of zero or one path."""
    sidecar = find_sidecar(get_video_path(wildcards))
    return [str(sidecar)] if sidecar else []


# artifact name -> rule producing it, for every per-video artifact the workflow makes so far
ARTIFACT_RULES = {
    "media": "probe",
    "audio": "audio",
    "transcript": "transcribe",
    "scenes": "scenes",
    "analysis": "analyze",
    "plan": "direct",
    "broll": "broll",
    "render": "render",
    "thumbnails": "thumbnails",
    "metadata": "metadata",
    "research": "research",
}
ARTIFACT_PATHS = {
    "broll": "broll/broll.json",
    "render": "render.json",
    "thumbnails": "thumbnails/thumbnails.json",
}


def get_context_inputs(wildcards):
    """Every artifact of a video that the context assembles, by name."""
    return {
        name: f"results/{wildcards.video}/{ARTIFACT_PATHS.get(name, f'{name}.json')}"
        for name in ARTIFACT_RULES
    }


def get_benchmarks(wildcards):
    """Benchmark files of the rules upstream of the context, by rule."""
    # report_pages is not upstream of the context: its figures would be there or not by the timing of a run
    extra = ["extract_audio", "render_audio", "captions", "timeline"]
    rules_run = dict.fromkeys(["probe", *extra, *ARTIFACT_RULES.values()])
    return {rule: f"benchmarks/{wildcards.video}/{rule}.tsv" for rule in rules_run}


def get_render_chunks(wildcards):
    """The render's picture chunks, known once the plan exists (direct is a checkpoint)."""
    from ave_core.models import MediaInfo, Plan, read_artifact
    from ave_core.render import chunk_count
    from ave_core.config import RenderConfig

    plan = read_artifact(
        checkpoints.direct.get(video=wildcards.video).output.plan, Plan
    )
    media = read_artifact(f"results/{wildcards.video}/media.json", MediaInfo)
    chunks = range(chunk_count(plan, media, RenderConfig(**section("render"))))
    folder = f"results/{wildcards.video}/render"
    return {"videos": expand("{folder}/chunk-{chunk}.mp4", folder=folder, chunk=chunks)}


# ---- resources: what a job needs, for Snakemake's scheduler and cluster executors (profiles/slurm)


def scaled(base, per_input_gb=0):
    """A resource (mem_mb, or runtime in minutes) of `base` plus `per_input_gb` per GB of the job's
    input, doubled on each retry so a job killed for memory or time gets more on its next attempt.
    """

    def resource(wildcards, input, attempt):
        # os.path.getsize rather than input.size_mb: the same figure (a missing input still defers the
        # value until it exists), at a fraction of the planning time of a 1 000-video project
        size_gb = (
            sum(os.path.getsize(path) for path in input) / 1024**3
            if per_input_gb
            else 0.0
        )
        return int((base + per_input_gb * size_gb) * attempt)

    return resource


def get_transcribe_gpus(wildcards):
    """One GPU for transcription when asr.device is cuda; `auto` asks for none and uses one if present."""
    return 1 if AVE.asr.device == "cuda" else 0
