"""The edit as an OpenTimelineIO timeline that NLEs open: a clip per keep range, markers for every decision.

Clips are cut on whole frames of the edited timeline, so they stay contiguous and the timeline is as
long as the edited video to within half a frame. Markers sit on the clips, where every adapter keeps them.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import opentimelineio as otio

from .models import Cut, Decision, MediaInfo, Plan, VideoStream
from .publish import write_text_atomic
from .timemap import EditMap, output_fps

CUT_COLOR = otio.schema.MarkerColor.RED
EMPHASIS_COLOR = otio.schema.MarkerColor.YELLOW
BROLL_COLOR = otio.schema.MarkerColor.CYAN
EXPORTS = {  # file suffix -> OpenTimelineIO adapter
    "fcpxml": "otio_fcpx_xml_lite_adapter",  # Final Cut Pro
    "xml": "fcp_xml",  # Final Cut Pro 7 XML: Premiere Pro, DaVinci Resolve
    "edl": "cmx_3600",  # any NLE; video track only
}


@dataclass(frozen=True)
class _Placed:
    """A clip on the video track and the edited frame it starts at."""

    clip: otio.schema.Clip
    record_frame: int


def clip_frames(edit_map: EditMap, rate: float, source_frames: int) -> list[tuple[int, int, int]]:
    """(source start frame, duration in frames, edited start frame) of each keep range that lasts a frame.

    Durations come from the edited frames, so the clips add up; each source start is centred so that both
    of the clip's ends lie within a frame of the keep range's.
    """
    frames = []
    for span, offset in zip(edit_map.keep, edit_map.offsets(), strict=True):
        record_in, record_out = round(offset * rate), round((offset + span.duration) * rate)
        duration = min(record_out - record_in, source_frames)
        rounding = duration - span.duration * rate
        source_in = min(max(0, round(span.start * rate - rounding / 2)), source_frames - duration)
        if duration > 0:
            frames.append((source_in, duration, record_in))
    return frames


def build_timeline(plan: Plan, media: MediaInfo, source_path: str, name: str) -> otio.schema.Timeline:
    """The plan's edit of `source_path` as a timeline with a video and (with sound) an audio track."""
    rate = output_fps(media)
    edit_map = EditMap.from_keep(plan.keep)
    source_frames = round(media.duration_s * rate)
    url = Path(source_path).resolve().as_uri()
    frames = clip_frames(edit_map, rate, source_frames)
    timeline = otio.schema.Timeline(name=name, global_start_time=otio.opentime.RationalTime(0, rate))
    timeline.metadata["ave"] = {
        "source": source_path,
        "rate": rate,
        "width": media.video.display_width if media.video else None,
        "height": media.video.display_height if media.video else None,
        "has_audio": media.has_audio,
        "plan_backend": plan.backend,
    }
    if media.video is not None:
        timeline.metadata["fcp_xml"] = _fcp_sequence_format(media.video)
    placed = []
    if media.video is not None:  # a podcast has a sound track only
        video = otio.schema.Track(name="Video", kind=otio.schema.TrackKind.Video)
        for source_in, duration, record_in in frames:
            clip = _clip(url, source_frames, source_in, duration, rate)
            video.append(clip)
            placed.append(_Placed(clip, record_in))
        timeline.tracks.append(video)
    if media.has_audio:
        audio = otio.schema.Track(name="Audio", kind=otio.schema.TrackKind.Audio)
        for source_in, duration, record_in in frames:
            clip = _clip(url, source_frames, source_in, duration, rate)
            audio.append(clip)
            if media.video is None:  # the cut markers go on the sound
                placed.append(_Placed(clip, record_in))
        timeline.tracks.append(audio)
    if placed:
        _add_markers(placed, plan, edit_map, rate)
    return timeline


def _fcp_sequence_format(video: VideoStream) -> dict[str, Any]:
    """The FCP XML sequence format (its frame size), which Premiere and Resolve otherwise guess."""
    characteristics = {
        "width": str(video.display_width),
        "height": str(video.display_height),
        "pixelaspectratio": "square",
        "fielddominance": "none",
    }
    return {"media": {"video": {"format": {"samplecharacteristics": characteristics}}}}


def _clip(url: str, source_frames: int, source_in: int, duration: int, rate: float) -> otio.schema.Clip:
    """A clip of the source file from frame `source_in`, `duration` frames long."""
    reference = otio.schema.ExternalReference(
        target_url=url,
        available_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(0, rate), otio.opentime.RationalTime(source_frames, rate)
        ),
    )
    seconds = source_in / rate, (source_in + duration) / rate
    return otio.schema.Clip(
        name=Path(otio.url_utils.filepath_from_url(url)).name,
        media_reference=reference,
        source_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(source_in, rate), otio.opentime.RationalTime(duration, rate)
        ),
        metadata={"ave": {"source_start": round(seconds[0], 3), "source_end": round(seconds[1], 3)}},
    )


def _add_markers(placed: list[_Placed], plan: Plan, edit_map: EditMap, rate: float) -> None:
    """A marker at the join of every cut, at every emphasis and over every B-roll slot, in time order."""
    markers: list[tuple[int, int, otio.schema.Marker]] = []
    for cut in plan.cuts:
        comment = f"{cut.rationale or cut.reason} (cut {cut.start:.2f}-{cut.end:.2f} s of the source)"
        extra: dict[str, Any] = {"source_start": cut.start, "source_end": cut.end}
        marker = _marker("cut", cut.reason, CUT_COLOR, comment, cut, extra)
        markers.append(_place(placed, marker, edit_map.to_edited_clamped(cut.start), None, 0.0, rate))
    for emphasis in plan.emphasis:
        comment = f"{emphasis.kind.replace('_', ' ')}: {emphasis.reason}; {emphasis.rationale}"
        extra = {"source_time": emphasis.time, "emphasis": emphasis.kind}
        marker = _marker("emphasis", emphasis.kind, EMPHASIS_COLOR, comment, emphasis, extra)
        edited = edit_map.to_edited_clamped(emphasis.time)
        markers.append(_place(placed, marker, edited, emphasis.time, 0.0, rate))
    for slot in plan.broll:
        extent = edit_map.span_to_edited(slot.start, slot.end)
        if extent is None:
            continue  # the whole slot was cut: there is nothing to cover
        comment = f'B-roll {slot.kind.replace("_", " ")} "{slot.text}": {slot.reason}; {slot.rationale}'
        extra = {"source_start": slot.start, "source_end": slot.end, "broll": slot.kind, "text": slot.text}
        marker = _marker("broll", slot.text or slot.kind, BROLL_COLOR, comment, slot, extra)
        markers.append(_place(placed, marker, extent[0], slot.start, extent[1] - extent[0], rate))
    for index, _, marker in sorted(markers, key=lambda item: item[:2]):
        placed[index].clip.markers.append(marker)


def _marker(
    kind: str, name: str, color: str, comment: str, decision: Cut | Decision, extra: dict[str, Any]
) -> otio.schema.Marker:
    """A marker that keeps the decision in its metadata; FCP XML carries the comment, which Premiere shows."""
    ave: dict[str, Any] = {"kind": kind, "reason": decision.reason, "rationale": decision.rationale}
    ave.update(confidence=decision.confidence, **extra)
    return otio.schema.Marker(
        name=name, color=color, comment=comment, metadata={"ave": ave, "fcp_xml": {"comment": comment}}
    )


def _place(
    placed: list[_Placed],
    marker: otio.schema.Marker,
    edited_s: float,
    source_s: float | None,
    duration_s: float,
    rate: float,
) -> tuple[int, int, otio.schema.Marker]:
    """Set the marker's range on the clip shown at `edited_s`, at source instant `source_s` if given.

    Returns (clip index, source frame, marker); the marker stays inside the clip.
    """
    edited_frame = round(edited_s * rate)
    index = max(0, bisect_right([p.record_frame for p in placed], edited_frame) - 1)
    source_range = placed[index].clip.source_range
    source_in, length = source_range.start_time.to_frames(), source_range.duration.to_frames()
    if source_s is None:
        offset = edited_frame - placed[index].record_frame
    else:
        offset = round(source_s * rate) - source_in
    offset = min(max(0, offset), length - 1)
    marker.marked_range = otio.opentime.TimeRange(
        otio.opentime.RationalTime(source_in + offset, rate),
        otio.opentime.RationalTime(min(round(duration_s * rate), length - offset), rate),
    )
    return index, source_in + offset, marker


def write_timeline(timeline: otio.schema.Timeline, folder: Path, stem: str = "timeline") -> dict[str, str]:
    """Write STEM.otio, and STEM.fcpxml, .xml, .edl where adapters can: {format: path or "skipped: why"}."""
    folder = Path(folder)
    otio_path = folder / f"{stem}.otio"
    exports = {
        suffix: export(timeline, folder / f"{stem}.{suffix}", adapter) for suffix, adapter in EXPORTS.items()
    }
    # the .otio says which NLE formats were written beside it, and why any was skipped
    timeline.metadata.setdefault("ave", {})["exports"] = {
        suffix: Path(where).name if not where.startswith("skipped:") else where
        for suffix, where in exports.items()
    }
    write_text_atomic(otio_path, otio.adapters.write_to_string(timeline, adapter_name="otio_json"))
    return {"otio": str(otio_path), **exports}


def export(timeline: otio.schema.Timeline, path: Path, adapter: str) -> str:
    """Write the timeline with one adapter; the path, or "skipped: why" (a stale file is removed)."""
    if adapter not in otio.adapters.available_adapter_names():
        path.unlink(missing_ok=True)
        return f"skipped: the OpenTimelineIO adapter {adapter} is not installed"
    try:
        # adapters may rename clips or add metadata as they write: give them a copy
        if adapter == EXPORTS["fcpxml"]:
            text = fcpxml_text(timeline)
        else:
            text = otio.adapters.write_to_string(timeline.deepcopy(), adapter_name=adapter)
    except Exception as exc:  # an adapter's limits (tracks, rates, effects) must not stop the other formats
        path.unlink(missing_ok=True)
        reason = (str(exc).strip().splitlines() or [""])[0]
        return f"skipped: {adapter} cannot write this timeline: {type(exc).__name__}: {reason}"
    write_text_atomic(path, text)
    return str(path)


def fcpxml_text(timeline: otio.schema.Timeline) -> str:
    """FCPXML of the video track, its asset described with the source's sound and frame size.

    In Final Cut an asset clip plays its own sound, so the audio track would play it twice; and the adapter
    describes every asset as silent and 1920x1080.
    """
    video_only = timeline.deepcopy()
    for index in reversed(range(len(video_only.tracks))):
        if video_only.tracks[index].kind == otio.schema.TrackKind.Audio:
            del video_only.tracks[index]
    text: str = otio.adapters.write_to_string(video_only, adapter_name=EXPORTS["fcpxml"])
    about = timeline.metadata.get("ave", {})
    if about.get("has_audio"):
        text = re.sub(r'(<asset\b[^>]*?\bhasAudio=)"0"', r'\1"1"', text)
    if about.get("width") and about.get("height"):
        size = f'width="{about["width"]}" height="{about["height"]}"'
        text = re.sub(r'(<format\b[^>]*?)width="\d+" height="\d+"', rf"\1{size}", text)
    return text
