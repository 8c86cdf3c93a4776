"""Pydantic models for every artifact of the ContentContext, and their atomic reading and writing.

Times are seconds in the source video's time unless a field says otherwise. Every artifact carries
`schema_version` and a `producer` block saying which stage and backend made it, and any fallback.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import ArtifactError
from .publish import write_text_atomic

SCHEMA_VERSION = 1


class Model(BaseModel):
    """Base for all artifact parts: unknown fields are an error, so typos never pass silently, and so are
    infinities and NaN (JSON has none: a -inf dB would be written as null and fail to read back)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


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
    def duration_s(self) -> float:
        """The span's length in seconds."""
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
    analysed_audio: Literal["original", "enhanced"] = Field(
        "original", description="whether VAD and envelope read the source's sound or the enhanced one"
    )


# --- enhance.json ---------------------------------------------------------------------------


class HumHarmonic(Model):
    """One harmonic of the mains frequency and how far it stands above the spectrum around it."""

    frequency_hz: float
    prominence_db: float


class HumReport(Model):
    """Mains hum found in the sound: its frequency and the harmonics that stand out (notched)."""

    mains_hz: float | None = Field(description="50 or 60 when a hum was found, else None (no notch)")
    harmonics: list[HumHarmonic] = Field(default_factory=list, description="the harmonics notched")
    threshold_db: float = Field(description="prominence a harmonic needs to count as hum")
    note: str | None = Field(None, description="why no hum could be looked for, when so")


class EnhanceFilter(Model):
    """One filter of the enhancement chain and its settings, as ffmpeg (or the denoiser) takes them."""

    name: str
    settings: dict[str, str | float | int] = Field(default_factory=dict)


class EnhancePreview(Model):
    """The seconds of the source the before/after preview plays."""

    start_s: float
    end_s: float


class Enhancement(Artifact):
    """enhance.json: how the speech was cleaned (studio sound): the chain with every filter's settings."""

    preset: Literal["off", "light", "moderate", "strong"]
    denoiser: str = Field(description="the speech denoiser (enhance.denoiser)")
    dereverb: str = Field("none", description="the dereverberation (enhance.dereverb): none or wpe")
    skip_reason: str | None = None
    rate_hz: int = 48000
    stream_index: int | None = None
    hum: HumReport
    speech_level_db: float | None = Field(None, description="level of the loud 20 ms frames, dBFS")
    noise_floor_db: float | None = Field(None, description="level of the quiet 20 ms frames, dBFS")
    reduction_db: float | None = Field(
        None, description="most the denoiser lowered the noise by, dB (None: as far as it could)"
    )
    chain: list[EnhanceFilter] = Field(default_factory=list, description="every filter, in order")
    ffmpeg_before: str = Field("", description="ffmpeg filters before the denoiser")
    ffmpeg_after: str = Field("", description="ffmpeg filters after the denoiser")
    preview: EnhancePreview | None = None
    seconds: float = Field(0.0, description="wall-clock seconds the enhancement took")


# --- transcript.json ------------------------------------------------------------------------


class Word(Model):
    word: str
    start: float = Field(description="seconds; refined against the audio when start_raw is set")
    end: float = Field(description="seconds; refined against the audio when end_raw is set")
    probability: float = Field(ge=0, le=1)
    is_filler: bool = False
    interpolated: bool = Field(False, description="time estimated inside a caption cue")
    start_raw: float | None = Field(None, description="the recogniser's start, before refinement")
    end_raw: float | None = Field(None, description="the recogniser's end, before refinement")


class Segment(Model):
    start: float
    end: float
    text: str


class Retake(Span):
    """An earlier take of a phrase that is said again soon after."""

    text: str = Field(description="the earlier take's words")
    repeated_at: float = Field(description="start of the take that replaces it, seconds")
    similarity: float = Field(ge=0, le=1)


class Evidence(Model):
    """What one detector saw of a disfluency."""

    detector: str = Field(description="lexicon, acoustic or repeats")
    score: float = Field(ge=0, le=1, description="that detector's own confidence")
    detail: str = Field("", description="the measures behind it, in words")


class Disfluency(Span):
    """A filler, repeated word or false start, wherever it was said, with the evidence for it."""

    kind: Literal["filler", "repeat", "false_start"]
    text: str = Field("", description="what was said, when a word was written for it")
    confidence: float = Field(ge=0, le=1, description="all evidence combined, lowered by poor audio")
    word_indices: list[int] = Field(default_factory=list, description="the transcript words it covers")
    evidence: list[Evidence] = Field(default_factory=list)


class AudioCondition(Model):
    """Something that makes the audio unlike clean close speech, and how much it lowers confidence."""

    name: str
    measure: float = Field(description="the figure behind it (dB, share or probability)")
    factor: float = Field(ge=0, le=1, description="detections' confidence is multiplied by this")
    message: str


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
    disfluencies: list[Disfluency] = Field(
        default_factory=list, description="fillers, repeated words and false starts, with evidence"
    )
    conditions: list[AudioCondition] = Field(
        default_factory=list, description="what lowered the detectors' confidence, and by how much"
    )


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

    skip_reason: str | None = Field(None, description="why there are no shots (a recording without picture)")
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
    source: Literal["machine", "creator"] = Field(
        "machine",
        description="who decided it: the machine's proposal, or the creator's edit (edits/{video}.md or a "
        "timeline from an NLE)",
    )


class Emphasis(Decision):
    time: float
    kind: Literal["punch_in", "text", "sound"] = "punch_in"


class BrollSlot(Decision, Span):
    kind: Literal["chart", "title_card", "lower_third", "image", "character"] = "title_card"
    text: str = ""
    action: str = Field(
        "", description="character slots: wave, point_left, point_right, think, count, nod or shrug"
    )
    count: int | None = Field(None, description="character slots: the number the count action counts to")


class Transition(Decision):
    time: float
    kind: str = "fade"
    duration: float = Field(0.5, description="seconds")


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


class EditDecision(Model):
    """A word or pause where the creator's edit overrides the machine's proposal."""

    kind: Literal["word", "pause"]
    text: str = Field(description="the word, or the pause token as the edit script shows it")
    start: float = Field(description="seconds")
    end: float = Field(description="seconds")
    line: int | None = Field(None, description="line of the creator's file; null for a timeline")
    how: Literal["struck", "unstruck", "deleted", "timeline"] = Field(
        description="struck or unstruck in the file, its line deleted, or trimmed in an NLE"
    )
    creator: Literal["cut", "keep"] = Field(description="what the creator decided")
    machine: Literal["cut", "keep"] = Field(description="what the machine proposed")
    machine_reason: str = Field("", description="the machine's reason when it proposed a cut")
    machine_rationale: str = ""
    machine_confidence: float | None = Field(None, description="the machine's confidence in its cut")


class PlanEdits(Model):
    """The creator's edits the plan follows, and the machine's proposal they override."""

    path: str = Field(description="the creator's file, relative to the project")
    kind: Literal["edit-script", "timeline"]
    sha256: str = Field(description="of the file's bytes")
    transcript: Literal["same", "re-anchored"] = Field(
        description="same: the file was made from this transcript; re-anchored: its words were aligned to "
        "a transcript that changed since"
    )
    decisions: list[EditDecision] = Field(default_factory=list)
    machine_cuts: list[Cut] = Field(
        default_factory=list, description="the machine's cuts before the creator's edits were applied"
    )


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
    edits: PlanEdits | None = Field(
        None, description="the creator's edits (PROJECT/edits/) the plan follows; null when there are none"
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
    """A rendered clip for one of the plan's B-roll slots: motion graphics (movis), a character (Blender)."""

    path: str = Field(description="clip file, relative to results/{video}/")
    kind: Literal["chart", "title_card", "lower_third", "image", "character"]
    text: str
    start: float = Field(description="where it goes, source seconds")
    duration: float = Field(gt=0, description="seconds")
    width: int
    height: int
    has_alpha: bool = Field(False, description="an overlay with transparency rather than a cutaway")
    backend: str = Field("movis", description="the renderer that drew it")
    action: str | None = Field(None, description="character clips: the action it shows")
    fallback: Fallback | None = Field(None, description="the renderer the slot asked for, if it failed")


class Broll(Artifact):
    """broll/broll.json: the rendered B-roll clips."""

    skip_reason: str | None = Field(None, description="why no clip was made (a recording without picture)")
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
    enhancement: Enhancement | None = Field(
        None, description="the studio-sound chain the rendered sound went through; None: the source's sound"
    )


class EditLoudness(Artifact):
    """render/loudness.json: the edit's loudness, measured once so that every render chunk gets one gain."""

    loudness: Loudness


# --- shorts/shorts.json ---------------------------------------------------------------------


class ShortWord(Model):
    """A word a short says and shows, in seconds of the short."""

    text: str
    start: float = Field(ge=0, description="seconds from the short's start")
    end: float = Field(ge=0, description="seconds from the short's start")


class ShortCrop(Model):
    """How a short's picture is cut out of the source's: a crop that follows the speaker, or a fallback."""

    mode: Literal["follow", "centre", "letterbox", "full"] = Field(
        description="follow: the crop follows the speaker's face; centre: a centred crop; letterbox: the "
        "whole frame over a blurred copy; full: the source already has the short's shape"
    )
    reason: str = Field(description="why this mode was used")
    width: int = Field(description="crop width in source display pixels (the whole frame for letterbox)")
    height: int = Field(description="crop height in source display pixels")
    x: list[float] = Field(
        default_factory=list,
        description="the left edge of the window shown (the crop, or wider where `zoom` says) at each frame "
        "of the short, source pixels",
    )
    y: list[float] = Field(
        default_factory=list, description="the window's top edge at each frame of the short, source pixels"
    )
    speaker: str = Field("", description="which face the crop follows, and why that one")
    face_share: float = Field(0.0, ge=0, le=1, description="share of the short's frames showing a face")
    picture_cuts: list[int] = Field(
        default_factory=list,
        description="frames of the short where the picture cuts (a shot change or a join of the edit): "
        "the only frames where the crop may jump",
    )
    jitter_px_per_frame2: float | None = Field(
        None, description="mean |second difference| of the crop centre within shots, px/frame²"
    )
    unsmoothed_jitter_px_per_frame2: float | None = Field(
        None, description="the same for a crop centred on the face at every frame (no smoothing)"
    )
    face_inside: float | None = Field(
        None, description="share of the face samples (scenes.json) in the short whose box is inside the crop"
    )
    zoom: list[float] = Field(
        default_factory=list,
        description="at each frame of the short, the width of the window shown over `width` (1: the crop "
        "fills the short; above 1: a wider window that holds the face, scaled to the short's width over a "
        "blurred copy of the frame); empty when the short never zooms out",
    )
    zoomed_out_share: float = Field(0.0, ge=0, le=1, description="share of the short's frames zoomed out")
    zoom_reason: str = Field("", description="why the short zooms out, and how far; empty when it does not")


class Short(Model):
    """One short: a stretch of the edited video that starts on a hook and ends on a complete sentence."""

    number: int = Field(ge=1, description="N of shorts/short-N.mp4")
    path: str = Field(description="the clip, relative to results/{video}/")
    start: float = Field(ge=0, description="start in the edited video, seconds")
    end: float = Field(ge=0, description="end in the edited video, seconds")
    start_frame: int = Field(ge=0, description="first frame in the edited video (its frame grid)")
    end_frame: int = Field(ge=0, description="one past the last frame in the edited video")
    source_frames: list[tuple[int, int]] = Field(
        description="the source frames it shows, [start, end) on the render's frame grid, in order"
    )
    hook: str = Field(description="the sentence it opens with")
    hook_kinds: list[Literal["question", "number", "claim"]]
    text: str = Field(description="everything it says, fillers and cut words left out")
    title: str = Field(max_length=100)
    hook_line: str
    hashtags: list[str]
    score: float = Field(ge=0, le=1)
    score_parts: dict[str, float] = Field(description="each part of the score, 0-1, before weighting")
    ranked_by: str = Field(description="score, or the LLM that ranked the candidates")
    rank_reason: str = ""
    words: list[ShortWord] = Field(description="the words captioned, in seconds of the short")
    crop: ShortCrop
    render: RenderReport | None = Field(
        None, description="the clip's integrity check (duration, sync, loudness)"
    )

    @property
    def duration_s(self) -> float:
        return self.end - self.start


class Shorts(Artifact):
    """shorts/shorts.json: the video's shorts, or the reason there are none."""

    skip_reason: str | None = None
    fps: float = Field(description="frame rate of the edit and of the shorts")
    width: int = Field(description="width of each short, pixels")
    height: int = Field(description="height of each short, pixels")
    edited_duration_s: float
    candidates: int = Field(0, description="candidate moments considered")
    ranking: str = Field(description="score, or the LLM that ranked the candidates")
    shorts: list[Short] = Field(default_factory=list)


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
    "enhance": Enhancement,
    "transcript": Transcript,
    "scenes": Scenes,
    "analysis": Analysis,
    "research": Research,
    "plan": Plan,
    "thumbnails": Thumbnails,
    "metadata": Metadata,
    "broll": Broll,
    "render": RenderReport,
    "loudness": EditLoudness,
    "shorts": Shorts,
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


def write_artifact(path: str | os.PathLike[str], artifact: BaseModel, *, shared: bool = False) -> None:
    """Validate and publish an artifact (or any model written as JSON) as indented JSON; `shared` as in
    publish.partial_path, for a file two processes may write at once."""
    checked = type(artifact).model_validate(artifact.model_dump())
    write_text_atomic(path, checked.model_dump_json(indent=2) + "\n", shared=shared)


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
