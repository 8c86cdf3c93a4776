"""Pydantic models for every artifact of the ContentContext, and their atomic reading and writing.

Times are seconds in the source video's time unless a field says otherwise. Every artifact carries
`schema_version` and a `producer` block saying which stage and backend made it, and any fallback.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import IO, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import ArtifactError

SCHEMA_VERSION = 1


class Model(BaseModel):
    """Base for all artifact parts: unknown fields are an error, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid")


class Fallback(Model):
    """A backend that could not be used and what was used instead."""

    wanted: str = Field(description="backend the config asked for")
    used: str = Field(description="backend that produced the artifact")
    reason: str = Field(description="why the wanted backend was not used")


class Producer(Model):
    """Who made an artifact: stage, backend, library versions, fallbacks and warnings."""

    stage: str
    backend: str
    versions: dict[str, str] = Field(default_factory=dict)
    fallback: Fallback | None = None
    warnings: list[str] = Field(default_factory=list)
    created_at: str = Field(default_factory=lambda: datetime.now(timezone.utc).isoformat())


def make_producer(
    stage: str,
    backend: str,
    packages: tuple[str, ...] = (),
    extra_versions: dict[str, str] | None = None,
    fallback: Fallback | None = None,
    warnings: list[str] | None = None,
) -> Producer:
    """A Producer with the installed versions of `packages` and of ave itself."""
    versions = {"ave": _version("ave")}
    versions.update({name: _version(name) for name in packages})
    versions.update(extra_versions or {})
    return Producer(
        stage=stage,
        backend=backend,
        versions=versions,
        fallback=fallback,
        warnings=warnings or [],
    )


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


class Artifact(Model):
    """Base of every artifact file."""

    schema_version: int = SCHEMA_VERSION
    producer: Producer


class Span(Model):
    """A time range in seconds."""

    start: float = Field(ge=0, description="seconds")
    end: float = Field(ge=0, description="seconds")

    @model_validator(mode="after")
    def _ordered(self) -> Span:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self

    @property
    def duration(self) -> float:
        return self.end - self.start


def complement(spans: Sequence[Span], duration: float, decimals: int = 3) -> list[Span]:
    """The parts of [0, duration] that sorted `spans` leave uncovered, times rounded to `decimals`."""
    gaps: list[Span] = []
    cursor = 0.0
    for span in spans:
        if span.start > cursor:
            gaps.append(Span(start=round(cursor, decimals), end=round(span.start, decimals)))
        cursor = max(cursor, span.end)
    if duration > cursor:
        gaps.append(Span(start=round(cursor, decimals), end=round(duration, decimals)))
    return gaps


# --- media.json -----------------------------------------------------------------------------


class SourceFile(Model):
    """The user's file and the slug used for it in the workflow."""

    path: str = Field(description="path of the input file, relative to the project directory")
    original_name: str = Field(description="file name as the user gave it")
    slug: str = Field(description="safe name used for results/{slug}/")
    size_bytes: int


class VideoStream(Model):
    index: int
    codec: str
    width: int = Field(description="coded width in pixels")
    height: int = Field(description="coded height in pixels")
    display_width: int = Field(description="width after rotation, as a player shows it")
    display_height: int = Field(description="height after rotation, as a player shows it")
    rotation: int = Field(description="degrees a player rotates the picture (0, 90, 180, 270)")
    fps: float = Field(description="average frames per second (frames / duration)")
    nominal_fps: float = Field(description="the stream's declared base frame rate")
    variable_frame_rate: bool
    frame_interval_spread: float = Field(
        description="(max - min) / median of the sampled frame intervals; 0 for constant rate"
    )
    frame_count: int | None = None
    duration_s: float | None = Field(None, description="the video stream's own length, seconds")
    start_s: float = Field(0.0, description="when the first picture comes, after the file's start, seconds")
    pix_fmt: str | None = None
    bit_rate: int | None = None


class AudioStream(Model):
    index: int
    codec: str
    channels: int
    channel_layout: str | None = None
    sample_rate: int
    duration_s: float | None = None
    language: str | None = None
    is_default: bool = False


class TimeShift(Model):
    """A place where the sound's timestamps and its decoded samples disagree."""

    at_s: float = Field(description="source time where it happens, seconds")
    duration_s: float = Field(
        gt=0, description="seconds of silence filled in (a gap) or of decoded sound dropped (an overlap)"
    )


class TimeBase(Model):
    """How source time maps to the sound's samples and the picture's frames, decided once at ingest.

    Timestamps are the truth: every decode of the sound (the extracted WAVs, and through them VAD, the
    transcript, the render, its checks, captions and shorts) places each decoded frame at its timestamp,
    fills gaps with silence and drops what overlaps, from the file's start (0 s) to `end_s`. A decode that
    counted samples instead would drift by `skew_s` by the end.
    """

    policy: Literal["timestamps"] = Field(
        "timestamps", description="sound placed by its timestamps: gaps filled with silence, overlaps trimmed"
    )
    tolerance_s: float = Field(
        description="disagreements up to this are left as they are (timestamp rounding), seconds"
    )
    end_s: float = Field(description="every decode covers 0 .. end_s of the file's time, seconds")
    audio_start_s: float | None = Field(None, description="first sound after the file's start, seconds")
    audio_end_s: float | None = Field(None, description="where the sound's timestamps end, seconds")
    picture_start_s: float | None = Field(None, description="first picture after the file's start, seconds")
    picture_end_s: float | None = Field(None, description="where the picture ends, seconds")
    picture_offset_s: float | None = Field(
        None, description="picture start minus sound start, seconds (positive: the picture comes later)"
    )
    gaps: list[TimeShift] = Field(
        default_factory=list, description="where the timestamps jump ahead: silence fills them"
    )
    overlaps: list[TimeShift] = Field(
        default_factory=list, description="where the timestamps step back: the overlapping sound is dropped"
    )
    gap_count: int = Field(0, description="all gaps, when more than the list keeps")
    overlap_count: int = Field(0, description="all overlaps, when more than the list keeps")
    gap_total_s: float = Field(0.0, description="seconds of silence filled in")
    overlap_total_s: float = Field(0.0, description="seconds of decoded sound dropped")
    skew_s: float = Field(
        0.0, description="sample count minus timestamps at the end: the drift of a decode that counts samples"
    )
    warnings: list[str] = Field(default_factory=list, description="what a creator should know, in words")


class MediaInfo(Artifact):
    """media.json: what the input file holds."""

    source: SourceFile
    container: str
    duration_s: float
    bit_rate: int | None = None
    video: VideoStream | None
    audio_streams: list[AudioStream]
    time_base: TimeBase | None = Field(
        None, description="how source time maps to samples and frames (every decode follows it)"
    )

    @property
    def has_audio(self) -> bool:
        return bool(self.audio_streams)

    def main_audio(self) -> AudioStream | None:
        """The default audio stream, else the first one."""
        for stream in self.audio_streams:
            if stream.is_default:
                return stream
        return self.audio_streams[0] if self.audio_streams else None


# --- audio.json -----------------------------------------------------------------------------


class Loudness(Model):
    """EBU R128 measurement of the source's audio."""

    integrated_lufs: float | None = Field(description="integrated loudness; None for silence")
    range_lu: float = Field(description="loudness range (LRA) in LU")
    true_peak_dbtp: float | None = None


class Envelope(Model):
    rate_hz: float
    rms_db: list[float] = Field(description="RMS level in dBFS per window, starting at t=0")


class AudioPeak(Model):
    time: float = Field(description="seconds")
    level_db: float = Field(description="RMS level in dBFS at the peak")
    prominence_db: float = Field(description="how far the peak rises above its surroundings")


class AudioAnalysis(Artifact):
    """audio.json: loudness, speech and silence, energy envelope, peaks."""

    has_audio: bool
    skip_reason: str | None = None
    stream_index: int | None = None
    sample_rate: int = 16000
    duration_s: float = 0.0
    loudness: Loudness | None = None
    speech: list[Span] = Field(default_factory=list)
    silences: list[Span] = Field(default_factory=list)
    speech_ratio: float = 0.0
    envelope: Envelope | None = None
    peaks: list[AudioPeak] = Field(default_factory=list)


# --- transcript.json ------------------------------------------------------------------------


class Word(Model):
    word: str
    start: float
    end: float
    probability: float = Field(ge=0, le=1)
    is_filler: bool = False
    interpolated: bool = Field(False, description="time estimated inside a caption cue")


class Segment(Model):
    start: float
    end: float
    text: str


class Retake(Span):
    """An earlier take of a phrase that is said again soon after."""

    text: str = Field(description="the earlier take's words")
    repeated_at: float = Field(description="start of the take that replaces it, seconds")
    similarity: float = Field(ge=0, le=1)


class Transcript(Artifact):
    """transcript.json: what was said and when, with fillers, unlabelled speech and retakes."""

    language: str
    text: str
    segments: list[Segment]
    words: list[Word]
    backend: str = Field(description="faster-whisper, openai-whisper, sidecar, or none")
    model: str = Field(description="asr model name or path, or the sidecar caption file")
    skip_reason: str | None = None
    unlabelled_speech: list[Span] = Field(
        default_factory=list, description="voiced stretches (VAD) with no word inside"
    )
    retakes: list[Retake] = Field(default_factory=list)


# --- scenes.json ----------------------------------------------------------------------------


class Shot(Model):
    start: float = Field(description="seconds")
    end: float = Field(description="seconds")
    start_frame: int = Field(description="index of the first frame, counted from 0 in decode order")
    end_frame: int = Field(description="index one past the last frame")
    keyframe: str | None = Field(
        None,
        description="keyframe JPEG at analysis size (scenes.analysis_width), relative to results/{video}/",
    )
    keyframe_time: float | None = None
    sharpness: float | None = Field(None, description="mean variance of the Laplacian at analysis size")
    brightness: float | None = Field(None, description="mean luma, 0-255")
    contrast: float | None = Field(None, description="standard deviation of luma")
    colourfulness: float | None = Field(None, description="Hasler-Suesstrunk colourfulness")


class FaceBox(Model):
    """A face in display coordinates (after rotation) of the full-size frame, pixels."""

    x: int
    y: int
    w: int
    h: int
    smile: bool = False


class FaceSample(Model):
    time: float
    faces: list[FaceBox]
    largest_face_share: float = Field(description="largest face area / frame area")


class VisualHighlight(Model):
    time: float
    score: float = Field(ge=0, le=1)
    reason: str
    face_share: float = 0.0
    smile: bool = False
    sharpness: float = 0.0


class Scenes(Artifact):
    """scenes.json: shots, faces over time, per-shot quality and the best frames."""

    detector: str
    threshold: float | None = Field(None, description="the threshold the detector ran with")
    frame_count: int
    width: int = Field(description="display width of the video")
    height: int = Field(description="display height of the video")
    shots: list[Shot]
    faces: list[FaceSample] = Field(
        default_factory=list, description="every sampled frame, with or without faces"
    )
    visual_highlights: list[VisualHighlight] = Field(default_factory=list)


# --- analysis.json --------------------------------------------------------------------------


class Concept(Model):
    term: str
    score: float = Field(ge=0, le=1, description="importance, 1 for the video's top concept")
    times: list[float] = Field(default_factory=list)


class SpokenNumber(Model):
    text: str = Field(description="the number as spoken or written, e.g. '60 percent'")
    value: float | None = None
    kind: Literal["percent", "money", "year", "count", "other"] = "other"
    context: str = ""
    time: float


class EmotionalPeak(Model):
    time: float
    score: float = Field(ge=0, le=1)
    cues: list[str] = Field(default_factory=list)


class Chapter(Model):
    start: float
    end: float | None = None
    title: str


class Analysis(Artifact):
    """analysis.json: key concepts, themes, numbers, emotional peaks and chapters."""

    content_type: Literal["educational", "music", "general"] = "educational"
    skip_reason: str | None = None
    concepts: list[Concept] = Field(default_factory=list)
    themes: list[str] = Field(default_factory=list)
    numbers: list[SpokenNumber] = Field(default_factory=list)
    emotional_peaks: list[EmotionalPeak] = Field(default_factory=list)
    chapters: list[Chapter] = Field(default_factory=list)
    tempo_bpm: float | None = Field(None, description="music only")
    beats: list[float] = Field(default_factory=list, description="music only: beat times, seconds")


# --- research.json (project-wide) -----------------------------------------------------------


class Keyword(Model):
    phrase: str
    score: float = Field(ge=0, le=1)
    source: str = Field(description="search backend or 'transcript'")


class Research(Artifact):
    """results/research.json: keyword research shared by every video of the project."""

    seeds: list[str] = Field(default_factory=list)
    keywords: list[Keyword] = Field(default_factory=list)
    competitor_titles: list[str] = Field(default_factory=list)
    recurring_phrases: list[str] = Field(default_factory=list)


# --- plan.json ------------------------------------------------------------------------------


class Decision(Model):
    reason: str = ""
    rationale: str = ""
    confidence: float = Field(1.0, ge=0, le=1)


class Cut(Span):
    reason: str
    rationale: str = ""
    confidence: float = Field(1.0, ge=0, le=1)


class Emphasis(Decision):
    time: float
    kind: Literal["punch_in", "text", "sound"] = "punch_in"


class BrollSlot(Decision, Span):
    kind: Literal["chart", "title_card", "lower_third", "image"] = "title_card"
    text: str = ""


class Transition(Decision):
    time: float
    kind: str = "fade"
    duration: float = 0.5


class CaptionStyle(Model):
    burn_in: bool = False
    max_chars_per_line: int = 42
    max_lines: int = 2


class MetadataStrategy(Model):
    primary_keywords: list[str] = Field(default_factory=list)
    title_strategies: list[str] = Field(default_factory=list)
    audience: str = ""


class ThumbnailConcept(Decision):
    strategy: Literal["emotional", "curiosity", "authority"]
    hook: str
    frame_time: float | None = None


class Plan(Artifact):
    """plan.json: the Director's edit decision list, in source seconds."""

    backend: str
    keep: list[Span]
    cuts: list[Cut]
    emphasis: list[Emphasis] = Field(default_factory=list)
    broll: list[BrollSlot] = Field(default_factory=list)
    transitions: list[Transition] = Field(default_factory=list)
    captions: CaptionStyle = Field(default_factory=CaptionStyle)
    metadata_strategy: MetadataStrategy = Field(default_factory=MetadataStrategy)
    thumbnail_concepts: list[ThumbnailConcept] = Field(default_factory=list)
    metrics: dict[str, float] = Field(default_factory=dict)
    repairs: list[str] = Field(
        default_factory=list, description="what validation changed in the proposed plan, and why"
    )


# --- thumbnails.json, metadata.json ---------------------------------------------------------


class Thumbnail(Model):
    path: str = Field(description="PNG, relative to results/{video}/")
    strategy: Literal["emotional", "curiosity", "authority"]
    hook: str
    width: int = 1280
    height: int = 720
    frame_time: float | None = None


class Thumbnails(Artifact):
    """thumbnails/thumbnails.json: one thumbnail per strategy."""

    thumbnails: list[Thumbnail]


class Title(Model):
    text: str = Field(max_length=100)
    strategy: str
    thumbnail: str = Field(description="strategy of the thumbnail this title pairs with")


class Metadata(Artifact):
    """metadata.json: titles paired with thumbnails, description with chapters, tags."""

    titles: list[Title]
    description: str
    chapters: list[Chapter] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    hashtags: list[str] = Field(default_factory=list)


# --- broll/broll.json, render.json ----------------------------------------------------------


class BrollClip(Model):
    """A rendered motion-graphics clip for one of the plan's B-roll slots."""

    path: str = Field(description="clip file, relative to results/{video}/")
    kind: Literal["chart", "title_card", "lower_third", "image"]
    text: str
    start: float = Field(description="where it goes, source seconds")
    duration: float = Field(gt=0, description="seconds")
    width: int
    height: int
    has_alpha: bool = Field(False, description="an overlay with transparency rather than a cutaway")


class Broll(Artifact):
    """broll/broll.json: the rendered B-roll clips."""

    clips: list[BrollClip]


class JoinCheck(Model):
    """Audio/video sync measured at one join of the render."""

    edited_time: float
    offset_s: float = Field(description="rendered audio against the source, seconds; 0 is in sync")
    correlation: float


class RenderReport(Artifact):
    """render.json: what final.mp4 holds and the integrity checks it passed."""

    path: str
    duration_s: float
    expected_duration_s: float
    fps: float
    width: int
    height: int
    chunks: int
    loudness_lufs: float | None = None
    target_lufs: float
    joins: list[JoinCheck] = Field(default_factory=list)
    max_offset_s: float = 0.0


# --- context.json ---------------------------------------------------------------------------


class StageFigures(Model):
    """A rule's Snakemake benchmark figures."""

    rule: str
    seconds: float
    max_rss_mb: float | None = None
    cpu_time_s: float | None = None


class HistoryEvent(Model):
    stage: str
    kind: Literal["fallback", "skip", "warning", "error"]
    message: str


class ContentContext(Artifact):
    """context.json: every artifact of one video assembled, with figures and history."""

    video: str
    artifacts: dict[str, str] = Field(description="artifact name -> path relative to the project")
    files: dict[str, str] = Field(
        default_factory=dict, description="other outputs (captions, timeline, video) -> path"
    )
    content: dict[str, Any] = Field(
        default_factory=dict, description="artifact name -> its content, when embedded"
    )
    stages: list[StageFigures] = Field(default_factory=list)
    history: list[HistoryEvent] = Field(default_factory=list)


ARTIFACT_MODELS: dict[str, type[Artifact]] = {
    "media": MediaInfo,
    "audio": AudioAnalysis,
    "transcript": Transcript,
    "scenes": Scenes,
    "analysis": Analysis,
    "research": Research,
    "plan": Plan,
    "thumbnails": Thumbnails,
    "metadata": Metadata,
    "broll": Broll,
    "render": RenderReport,
    "context": ContentContext,
}


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON Schema with its `$defs` references replaced by the definitions themselves."""
    schema = dict(schema)
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                target = definitions[node["$ref"].rsplit("/", 1)[-1]]
                merged = {**inline(target), **{k: v for k, v in node.items() if k != "$ref"}}
                return merged
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    return inline(schema)


A = TypeVar("A", bound=BaseModel)


def partial_path(path: Path) -> Path:
    """The hidden file beside `path` that writing it goes through. The name is fixed, so a writer killed
    mid-write leaves one such file, which the next write of `path` replaces, rather than one per kill."""
    return path.with_name(f".{path.name}.partial")


@contextlib.contextmanager
def atomic_writer(
    path: str | os.PathLike[str], *, binary: bool = False, shared: bool = False
) -> Iterator[IO[Any]]:
    """A file to write whose content replaces `path` in one rename when the block ends; if anything fails,
    `path` is left as it was and nothing else stays behind.

    The file is created as open() creates one (its mode follows the umask), as partial_path(path): each
    artifact has one writer. `shared=True` is for a file that processes may write at the same time (a
    cache entry two jobs both miss): each writer then gets a file of its own, uniquely named.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if shared:
        partial = target.with_name(f".{target.name}.{secrets.token_hex(6)}.partial")
    else:
        partial = partial_path(target)
        partial.unlink(missing_ok=True)  # a killed writer's: made afresh below, under today's umask
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # 0o666 less the umask
        with os.fdopen(fd, "wb" if binary else "w", encoding=None if binary else "utf-8") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, target)
    except BaseException as exc:
        partial.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename in (None, str(partial)):
            exc.filename = str(target)  # a full disk's error then names the file, not its hidden partial
        raise


def write_json_atomic(path: str | os.PathLike[str], payload: str, *, shared: bool = False) -> None:
    """Write text to `path` through a hidden file beside it and a rename (see atomic_writer)."""
    with atomic_writer(path, shared=shared) as handle:
        handle.write(payload)


def write_artifact(path: str | os.PathLike[str], artifact: BaseModel) -> None:
    """Validate and write an artifact atomically as indented JSON."""
    checked = type(artifact).model_validate(artifact.model_dump())
    write_json_atomic(path, checked.model_dump_json(indent=2) + "\n")


def read_artifact(path: str | os.PathLike[str], model: type[A]) -> A:
    """Read and validate an artifact; errors name the file and what to do."""
    source = Path(path)
    try:
        raw = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ArtifactError(f"{source}: missing — run the workflow to create it") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{source}: not valid JSON ({exc}) — delete it and rerun the workflow") from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ArtifactError(
            f"{source}: not a valid {model.__name__}: {where}: {first['msg']} "
            "— delete it and rerun the workflow"
        ) from exc
