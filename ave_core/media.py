"""Probing an input file with ffprobe: streams, duration, frame rate (and whether it varies), rotation."""

from __future__ import annotations

import json
import statistics
import subprocess
from fractions import Fraction
from pathlib import Path
from typing import Any

from .errors import InputError
from .models import AudioStream, MediaInfo, SourceFile, VideoStream, make_producer
from .podcast import is_audio_file
from .timebase import scan_time_base
from .tools import ffprobe_binary, float_or_none, int_or_none, last_line, tool_version

# B-frames reorder at most this many frames between decode and presentation order
_REORDER_DEPTH = 16
# ffprobe messages that mean the file stops before its index says it should
_TRUNCATION_SIGNS = ("partial file", "truncat", "invalid nal unit size", "end of file")
# picture codecs: a file holding one frame of these is a still image, not a recording
_IMAGE_CODECS = {"png", "mjpeg", "bmp", "webp", "gif", "tiff", "jpeg2000", "jpegls"}


def probe(
    path: str | Path,
    *,
    slug: str,
    original_name: str | None = None,
    vfr_tolerance: float = 0.1,
    vfr_sample_frames: int = 600,
) -> MediaInfo:
    """Describe the media file at `path`; raise InputError naming the file when it is unusable."""
    source = Path(path)
    if not source.exists():
        raise InputError(f"{source}: file not found — check the name in input/")
    size = source.stat().st_size
    if size == 0:
        raise InputError(f"{source}: empty file (0 bytes) — copy the recording again")

    ffprobe = ffprobe_binary()
    info, errors = _ffprobe_json(ffprobe, source)
    streams = info.get("streams", [])
    fmt = info.get("format", {})
    video_raw = next((s for s in streams if _is_video(s)), None)
    audio_raw = [s for s in streams if s.get("codec_type") == "audio"]
    if video_raw is None and not audio_raw:
        raise InputError(f"{source}: no video or audio stream found — is it a media file?")
    if video_raw is None:  # a podcast: sound only (cover art, if any, is not a picture to edit)
        return _audio_only(ffprobe, source, fmt, audio_raw, errors, size, slug, original_name)
    _check_complete(source, [video_raw, *audio_raw], errors)

    duration = float_or_none(fmt.get("duration")) or _stream_duration(video_raw)
    if _is_still_image(fmt, video_raw):
        codec = video_raw.get("codec_name", "image")
        raise InputError(
            f"{source}: a still picture ({codec}), not a video — export the recording as a video"
        )
    if not duration or duration <= 0:
        raise InputError(f"{source}: duration unknown or zero — the file may be damaged; re-export it")

    video = _video_stream(ffprobe, source, video_raw, duration, vfr_tolerance, vfr_sample_frames)
    container_start = float_or_none(fmt.get("start_time")) or 0.0
    video.start_s = round(max(0.0, (float_or_none(video_raw.get("start_time")) or 0.0) - container_start), 6)
    media = _media_info(
        ffprobe,
        source,
        fmt,
        size,
        slug,
        original_name,
        duration,
        video,
        [_audio_stream(s) for s in audio_raw],
    )
    return _with_time_base(ffprobe, source, media, audio_raw, container_start)


def _media_info(
    ffprobe: str, source: Path, fmt: dict[str, Any], size: int, slug: str, original_name: str | None,
    duration: float, video: VideoStream | None, streams: list[AudioStream],
) -> MediaInfo:  # fmt: skip
    """media.json from what the probe found (before the time base is scanned)."""
    return MediaInfo(
        producer=make_producer("probe", "ffprobe", extra_versions={"ffprobe": tool_version(ffprobe)}),
        source=SourceFile(
            path=str(source), original_name=original_name or source.name, slug=slug, size_bytes=size
        ),
        container=str(fmt.get("format_name", "unknown")),
        duration_s=duration,
        bit_rate=int_or_none(fmt.get("bit_rate")),
        video=video,
        audio_streams=streams,
    )


def _audio_only(
    ffprobe: str,
    source: Path,
    fmt: dict[str, Any],
    audio_raw: list[dict[str, Any]],
    errors: str,
    size: int,
    slug: str,
    original_name: str | None,
) -> MediaInfo:
    """media.json of a recording with sound only (a podcast): no video stream, every stage that needs a
    picture says it was skipped."""
    _check_complete(source, audio_raw, errors)
    streams = [_audio_stream(s) for s in audio_raw]
    duration = float_or_none(fmt.get("duration")) or max((s.duration_s or 0.0 for s in streams), default=0.0)
    if not duration or duration <= 0:
        raise InputError(f"{source}: duration unknown or zero — the file may be damaged; re-export it")
    if all(s.sample_rate <= 0 or s.channels <= 0 for s in streams):
        raise InputError(f"{source}: the audio stream has no sample rate or channels — re-export the file")
    media = _media_info(ffprobe, source, fmt, size, slug, original_name, duration, None, streams)
    return _with_time_base(ffprobe, source, media, audio_raw, float_or_none(fmt.get("start_time")) or 0.0)


def _with_time_base(
    ffprobe: str, source: Path, media: MediaInfo, audio_raw: list[dict[str, Any]], container_start_s: float
) -> MediaInfo:
    """`media` with its time base, decided once, here: how source time maps to samples and frames (every
    decode follows it)."""
    main = media.main_audio()
    main_raw = next((s for s in audio_raw if main is not None and int(s["index"]) == main.index), None)
    media.time_base = scan_time_base(ffprobe, source, media, main_raw, container_start_s)
    media.producer.warnings.extend(media.time_base.warnings)
    return media


def _ffprobe_json(ffprobe: str, source: Path) -> tuple[dict[str, Any], str]:
    """ffprobe's format and streams (with packets counted by demuxing the whole file) and its errors."""
    args = [ffprobe, "-v", "error", "-of", "json", "-show_format", "-show_streams"]
    args += ["-count_packets", "--", str(source)]
    proc = subprocess.run(args, capture_output=True, text=True, errors="replace", check=False)
    if proc.returncode != 0:
        reason = _explain(proc.stderr, source)
        raise InputError(f"{source}: cannot be read as media ({reason})")
    try:
        return json.loads(proc.stdout), proc.stderr
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}: ffprobe gave no readable description — re-export it") from exc


def _explain(stderr: str, source: Path) -> str:
    """What ffprobe's complaint means for the user, and what to do."""
    lowered = stderr.lower()
    with source.open("rb") as handle:
        head = handle.read(12)
    is_iso_media = head[4:8] == b"ftyp"  # MP4/MOV start with an ftyp box
    if "moov atom not found" in lowered and is_iso_media:
        return "no index (moov atom): the file is truncated or still being written — copy it again"
    if "invalid data" in lowered or _is_text(head):  # ffmpeg's MP3 reader calls text an invalid argument
        kind = "an audio recording" if is_audio_file(source) else "a video"
        return f"not a recognised audio/video format — is it really {kind}?"
    return f"{last_line(stderr)} — re-export or copy the file again"


def _is_text(head: bytes) -> bool:
    """Whether a file's first bytes are plain text (notes saved under a media name)."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return bool(text) and all(c.isprintable() or c in "\r\n\t" for c in text)


def _is_video(stream: dict[str, Any]) -> bool:
    # cover art in audio files is a 'video' stream with the attached_pic disposition
    attached = stream.get("disposition", {}).get("attached_pic", 0)
    return stream.get("codec_type") == "video" and not attached


def _check_complete(source: Path, streams: list[dict[str, Any]], errors: str) -> None:
    """Raise when a stream holds fewer packets than the file's index announces (a cut-off copy).

    The audio is checked as well as the video: a copy cut a few kilobytes short usually loses the last
    audio packets only, the video's being interleaved before them.
    """
    damaged = any(sign in errors.lower() for sign in _TRUNCATION_SIGNS)
    for stream in streams:
        announced = int_or_none(stream.get("nb_frames"))
        read = int_or_none(stream.get("nb_read_packets"))
        if announced is None or read is None:
            continue
        if read < 0.98 * announced or (damaged and read < announced):
            kind = stream.get("codec_type", "media")
            found = f"{read} of {announced} {kind} frames present"
            raise InputError(f"{source}: truncated ({found}) — copy or export the file again")


def _is_still_image(fmt: dict[str, Any], video: dict[str, Any]) -> bool:
    """A picture (PNG, JPEG, ...) rather than a video: an image demuxer, or one frame of an image codec."""
    if str(fmt.get("format_name", "")).endswith("_pipe") or fmt.get("format_name") == "image2":
        return True
    frames = int_or_none(video.get("nb_read_packets"))
    return video.get("codec_name") in _IMAGE_CODECS and (frames or 0) <= 1


def _video_stream(
    ffprobe: str,
    source: Path,
    raw: dict[str, Any],
    duration: float,
    vfr_tolerance: float,
    sample_frames: int,
) -> VideoStream:
    width, height = int(raw.get("width", 0)), int(raw.get("height", 0))
    if width <= 0 or height <= 0:
        raise InputError(f"{source}: video stream has no picture size — re-export the file")
    rotation = _rotation(raw)
    swapped = rotation in (90, 270)
    frame_count = int_or_none(raw.get("nb_read_packets")) or int_or_none(raw.get("nb_frames"))
    nominal = _rate(raw.get("r_frame_rate"))
    average = _rate(raw.get("avg_frame_rate"))
    stream_duration = _stream_duration(raw) or duration
    if frame_count and stream_duration:
        average = frame_count / stream_duration
    spread = _interval_spread(ffprobe, source, int(raw["index"]), sample_frames)
    declared_mismatch = bool(nominal and average and abs(nominal - average) / nominal > 0.02)
    return VideoStream(
        index=int(raw["index"]),
        codec=str(raw.get("codec_name", "unknown")),
        width=width,
        height=height,
        display_width=height if swapped else width,
        display_height=width if swapped else height,
        rotation=rotation,
        fps=round(average or nominal or 0.0, 6),
        nominal_fps=round(nominal or average or 0.0, 6),
        variable_frame_rate=spread > vfr_tolerance or declared_mismatch,
        frame_interval_spread=round(spread, 6),
        frame_count=frame_count,
        duration_s=_stream_duration(raw),
        pix_fmt=raw.get("pix_fmt"),
        bit_rate=int_or_none(raw.get("bit_rate")),
    )


def _interval_spread(ffprobe: str, source: Path, index: int, sample_frames: int) -> float:
    """(max - min) / median of the intervals between the first frames' timestamps."""
    args = [ffprobe, "-v", "error", "-select_streams", str(index), "-read_intervals"]
    args += [f"%+#{sample_frames}", "-show_entries", "packet=pts_time", "-of", "csv=p=0"]
    proc = subprocess.run(args + ["--", str(source)], capture_output=True, text=True, check=False)
    times = sorted(t for t in (float_or_none(v.strip(",")) for v in proc.stdout.split()) if t is not None)
    if len(times) > 2 * _REORDER_DEPTH:
        # packets come in decode order: the last few frames' neighbours lie beyond the sample
        times = times[:-_REORDER_DEPTH]
    intervals = [b - a for a, b in zip(times, times[1:], strict=False) if b > a]
    if len(intervals) < 3:
        return 0.0
    median = statistics.median(intervals)
    # drop the single largest and smallest interval: an edit list can shift one timestamp
    trimmed = sorted(intervals)[1:-1]
    return (max(trimmed) - min(trimmed)) / median if median > 0 else 0.0


def _rotation(raw: dict[str, Any]) -> int:
    """Degrees clockwise a player turns the picture, normalised to 0/90/180/270."""
    degrees = 0.0
    for side in raw.get("side_data_list", []) or []:
        if "rotation" in side:
            # the display matrix angle is counter-clockwise
            degrees = -float(side["rotation"])
    if not degrees and "rotate" in raw.get("tags", {}):
        degrees = float(raw["tags"]["rotate"])
    return int(round(degrees / 90.0)) * 90 % 360


def _audio_stream(raw: dict[str, Any]) -> AudioStream:
    return AudioStream(
        index=int(raw["index"]),
        codec=str(raw.get("codec_name", "unknown")),
        channels=int(raw.get("channels", 0)),
        channel_layout=raw.get("channel_layout"),
        sample_rate=int(raw.get("sample_rate", 0) or 0),
        duration_s=_stream_duration(raw),
        language=raw.get("tags", {}).get("language"),
        is_default=bool(raw.get("disposition", {}).get("default", 0)),
    )


def _stream_duration(raw: dict[str, Any]) -> float | None:
    """A stream's own length in seconds; Matroska gives it only as a DURATION tag ("00:00:04.046000000")."""
    seconds = float_or_none(raw.get("duration"))
    if seconds:
        return seconds
    tags = {str(k).lower(): v for k, v in (raw.get("tags") or {}).items()}
    parts = str(tags.get("duration", "")).split(":")
    if len(parts) != 3:
        return None
    hours, minutes, rest = (float_or_none(p) for p in parts)
    if hours is None or minutes is None or rest is None:
        return None
    return hours * 3600 + minutes * 60 + rest or None


def _rate(value: Any) -> float | None:
    try:
        rate = Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        return None
    return float(rate) if rate > 0 else None
