# In params, code=script_code("NAME") hashes the ave_core modules scripts/NAME.py imports: edits rerun the rule.
# Everything that is not a rule: configuration, input discovery, paths and input functions.

import json
import os
import re
from pathlib import Path

import yaml
from snakemake.exceptions import WorkflowError
from snakemake.logging import logger
from snakemake.utils import validate

from ave_core.asr import find_sidecar
from ave_core.code_hash import code_hash
from ave_core.config import (
    ShortsLook,
    ShortsMoments,
    coerce_strings,
    load_config,
    schema_error_line,
    section_part_params,
    section_params,
)
from ave_core.edits import EDITS_FOLDER, find_edits, orphan_edits
from ave_core.errors import ConfigError
from ave_core.podcast import export_formats, find_cover, is_audio_file
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
# an edit file that names no video would be silently ignored: say so, and let the other videos go on
for orphan in orphan_edits(EDITS_FOLDER, list(VIDEOS)):
    logger.warning(orphan)


def video_slug_pattern():
    """A regex matching exactly the known video slugs (nothing when there are none)."""
    return "|".join(re.escape(slug) for slug in VIDEOS) or "(?!x)x"


def get_final_output():
    """The default target: every recording's context, report pages, review page, (unless shorts.count is
    0) shorts, and its edited sound as final.m4a (a podcast's also in its own format: final.mp3 ...).
    """
    per_video = ["context.json", "report/timeline.png", "report/review.html"]
    if AVE.shorts.count:
        per_video.append("shorts/shorts.json")
    targets = expand("results/{video}/{name}", video=sorted(VIDEOS), name=per_video)
    for slug, video in sorted(VIDEOS.items()):
        targets += [
            f"results/{slug}/final.{kind}" for kind in export_formats(video.path)
        ]
    return targets


def get_cover(wildcards):
    """A podcast's cover image (input/NAME.jpg|png), as a list of zero or one path; none for a video (a
    picture beside it is not read, and adding one reruns nothing)."""
    path = get_video_path(wildcards)
    cover = find_cover(path) if is_audio_file(path) else None
    return [str(cover)] if cover else []


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


def section_part(name, part):
    """The keys of a config section that a single job reads (those of the model `part` in ave_core.config)."""
    return section_part_params(AVE, name, part)


def script_code(*scripts):
    """A hash of every ave_core module that scripts/NAME.py imports (directly or not, found with ast), so
    that a change to the code a rule runs reruns it; Snakemake's own code trigger sees only the script.
    """
    base = Path(workflow.basedir)
    return code_hash([base / "scripts" / f"{name}.py" for name in scripts], base)


def get_edits(wildcards):
    """The creator's edits of the video (edits/{video}.md, or a timeline from an NLE), as a list of zero or
    more paths: an optional input of the plan, so saving one reruns the plan and what follows.
    """
    return find_edits(EDITS_FOLDER, wildcards.video)


def enhanced(wildcards=None):
    """Whether the studio-sound stage runs (enhance.preset is not off)."""
    return AVE.enhance.preset != "off"


def enhance_settings():
    """The enhance keys the enhance stage uses (for_analysis only chooses who reads its output)."""
    return {key: section("enhance")[key] for key in ("preset", "denoiser", "dereverb")}


def analysed_audio():
    """Which sound VAD, transcription and analysis read: "enhanced" or "original" (enhance.for_analysis)."""
    return "enhanced" if enhanced() and AVE.enhance.for_analysis else "original"


def get_speech_wav(wildcards):
    """The 16 kHz WAV that the listening stages read: the enhanced one when enhance.for_analysis says so."""
    if analysed_audio() == "enhanced":
        return f"results/{wildcards.video}/enhanced_16k.wav"
    return f"results/{wildcards.video}/audio_16k.wav"


def get_render_sound(wildcards):
    """The sound the render plays, on the source's time base: the studio sound (enhanced.flac, with its record
    enhance.json) when enhance.preset is not off, else the source's own (audio_48k.wav).
    """
    folder = f"results/{wildcards.video}"
    if not enhanced():
        return {"sound": f"{folder}/audio_48k.wav"}
    return {"sound": f"{folder}/enhanced.flac", **get_enhancement_record(wildcards)}


def get_enhancement_record(wildcards):
    """enhance.json by name when the render plays the studio sound (render.json keeps it), else nothing."""
    if not enhanced():
        return {}
    return {"enhancement": f"results/{wildcards.video}/enhance.json"}


def get_audiogram_sound(wildcards):
    """The edit's finished sound for the render chunks of a recording without picture (a podcast, also one
    in a video container), which draw its waveform; nothing for a video (its chunks are picture only).
    media.json says which: the chunks are known only after the plan, so it is there by then.
    """
    media = Path(f"results/{wildcards.video}/media.json")
    if media.is_file():
        has_picture = (
            json.loads(media.read_text(encoding="utf-8")).get("video") is not None
        )
    else:
        has_picture = not is_audio_file(get_video_path(wildcards))
    return (
        {} if has_picture else {"sound": f"results/{wildcards.video}/render/audio.m4a"}
    )


def get_check_wav(wildcards):
    """The 16 kHz WAV the render's sync check compares the rendered sound with: what the render played."""
    if enhanced():
        return f"results/{wildcards.video}/enhanced_16k.wav"
    return f"results/{wildcards.video}/audio_16k.wav"


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
if (
    AVE.shorts.count
):  # shorts.count 0 turns the stage off: nothing of it is made or waited for
    ARTIFACT_RULES["shorts"] = "shorts"
ARTIFACT_PATHS = {
    "broll": "broll/broll.json",
    "render": "render.json",
    "thumbnails": "thumbnails/thumbnails.json",
    "shorts": "shorts/shorts.json",
}


def get_context_inputs(wildcards):
    """Every artifact of a video that the context assembles, by name."""
    return {
        name: f"results/{wildcards.video}/{ARTIFACT_PATHS.get(name, f'{name}.json')}"
        for name in ARTIFACT_RULES
    }


def get_benchmarks(wildcards):
    """Benchmark files of the rules upstream of the context, by rule."""
    extra = ["extract_audio", "render_audio", "captions", "timeline", "report_pages"]
    if AVE.shorts.count:
        extra.append("shorts_select")
    extra += ["enhance"] if enhanced() else []
    rules_run = dict.fromkeys(["probe", *extra, *ARTIFACT_RULES.values()])
    return {rule: f"benchmarks/{wildcards.video}/{rule}.tsv" for rule in rules_run}


def get_render_chunks(wildcards):
    """The render's picture chunks, known once the plan exists (direct is a checkpoint)."""
    return {"videos": render_chunk_files(wildcards, "chunk")}


def get_review_copies(wildcards):
    """The render chunks' small copies of their pictures, which the review's edited excerpts come from."""
    return {"copies": render_chunk_files(wildcards, "review")}


def render_chunk_files(wildcards, kind):
    """Each render chunk's file of a kind: chunk (its picture) or review (its small copy)."""
    from ave_core.models import MediaInfo, Plan, read_artifact
    from ave_core.render import chunk_count
    from ave_core.config import RenderConfig

    plan = read_artifact(
        checkpoints.direct.get(video=wildcards.video).output.plan, Plan
    )
    media = read_artifact(f"results/{wildcards.video}/media.json", MediaInfo)
    chunks = range(chunk_count(plan, media, RenderConfig(**section("render"))))
    folder = f"results/{wildcards.video}/render"
    return expand("{folder}/{kind}-{chunk}.mp4", folder=folder, kind=kind, chunk=chunks)


def get_short_renders(wildcards):
    """Each chosen short's clip and its render check, known once shorts_select (a checkpoint) has run."""
    from ave_core.models import Shorts, read_artifact

    selection = read_artifact(
        checkpoints.shorts_select.get(video=wildcards.video).output.selection, Shorts
    )
    numbers = [short.number for short in selection.shorts]
    folder = f"results/{wildcards.video}/shorts"
    return {
        "videos": expand("{folder}/short-{n}.mp4", folder=folder, n=numbers),
        "checks": expand("{folder}/short-{n}.check.json", folder=folder, n=numbers),
    }


# ---- resources: what a job needs, for Snakemake's scheduler and cluster executors (profiles/slurm)


def job_threads(wildcards):
    """Threads of a job that can use more than one (the recogniser, ffmpeg's encoders): a quarter of the
    cores, at least one. On 2 cores two one-thread jobs side by side beat one two-thread job at a time (each
    job keeps about one core busy): with the render path first (below), bench.floor's 15-minute talk took
    279.6 s against 382.5 s, 2.58x the ffmpeg floor instead of 3.35x; the recogniser alone took 46 s on one
    thread against 60 s on two. Measured on 2 cores only. profiles/slurm sets more for the nodes.
    """
    try:
        cores = workflow.cores
    except WorkflowError:  # no --cores given (a dry run, a cluster run without one)
        return 1
    return max(1, cores // 4)


# the jobs between the plan and the review page go first when jobs wait for cores: the shorts, thumbnails
# and pages fill the gaps instead of holding back the render (one-thread jobs on 2 cores: 290 -> 275 s)
RENDER_PATH_PRIORITY = 1


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
