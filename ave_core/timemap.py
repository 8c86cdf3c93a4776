"""Mapping times between the source video and the edited one, whose timeline is the plan's keep ranges,
and the output frame grid that the plan's cuts lie on (so that the render, captions, chapters and the
timeline all see the same edit)."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from .models import MediaInfo, Span

DEFAULT_FPS = 25.0  # the render's rate when the source has no usable one (audio only, a broken header)
FRAME_TOLERANCE = 1e-3  # frames: float error and microsecond rounding, not a real offset


# the exact rates editors and players expect
STANDARD_RATES = (24000 / 1001, 24, 25, 30000 / 1001, 30, 48, 50, 60000 / 1001, 60, 100, 120000 / 1001, 120)


def output_fps(media: MediaInfo) -> float:
    """The constant frame rate of the render, the plan's frame grid and the NLE timeline.

    A constant-rate source keeps its declared rate, snapped to the exact standard rate it stands for (29.97
    is 30000/1001). A variable-rate source is conformed to the standard rate nearest its average: its
    declared rate is often its time base's ceiling (a 25 fps phone clip declaring 50), which would only
    duplicate frames.
    """
    video = media.video
    if video is None:
        return DEFAULT_FPS
    fps = video.fps if video.variable_frame_rate else (video.nominal_fps or video.fps)
    if not 1 <= fps <= 120:
        return DEFAULT_FPS
    nearest = float(min(STANDARD_RATES, key=lambda rate: abs(rate - fps)))
    if video.variable_frame_rate or abs(nearest - fps) <= 0.01:
        return nearest
    return fps


@dataclass(frozen=True)
class FrameGrid:
    """The render's frames over the source: frame boundary k lies at k / fps seconds, and the picture ends at
    boundary `end_frame`. A cut on this grid is a cut the render makes exactly."""

    fps: float
    end_frame: int

    @classmethod
    def of(cls, media: MediaInfo) -> FrameGrid:
        """The grid of the render of `media`: its output rate, up to the last whole frame of the picture."""
        fps = output_fps(media)
        end_s = media.duration_s
        if media.video and media.video.duration_s:
            end_s = min(end_s, media.video.duration_s)  # audio can outlast the picture
        return cls(fps, math.floor(end_s * fps + FRAME_TOLERANCE))

    @property
    def end_s(self) -> float:
        """Where the picture ends, seconds."""
        return self.time(self.end_frame)

    def time(self, frame: int) -> float:
        """The source time of a frame boundary, to the microsecond (exact enough for any rate to map back)."""
        return round(frame / self.fps, 6)

    def frame(self, time_s: float) -> int:
        """The frame boundary nearest a source instant."""
        return round(time_s * self.fps)

    def frame_at_or_after(self, time_s: float) -> int:
        """The first frame boundary at or after a source instant."""
        return math.ceil(time_s * self.fps - FRAME_TOLERANCE)

    def frame_at_or_before(self, time_s: float) -> int:
        """The last frame boundary at or before a source instant."""
        return math.floor(time_s * self.fps + FRAME_TOLERANCE)


@dataclass(frozen=True)
class EditMap:
    """The edited video as the concatenation of the source's keep ranges (seconds)."""

    keep: tuple[Span, ...]

    @classmethod
    def from_keep(cls, keep: Sequence[Span]) -> EditMap:
        return cls(tuple(sorted((s for s in keep if s.duration_s > 0), key=lambda s: s.start)))

    @property
    def duration_s(self) -> float:
        """Length of the edited video."""
        return sum(s.duration_s for s in self.keep)

    @cached_property
    def _starts(self) -> list[float]:
        return [s.start for s in self.keep]

    @cached_property
    def _offsets(self) -> list[float]:
        starts, total = [], 0.0
        for span in self.keep:
            starts.append(total)
            total += span.duration_s
        return starts

    def offsets(self) -> list[float]:
        """Edited time at which each keep range starts."""
        return list(self._offsets)

    def to_edited(self, source_time: float) -> float | None:
        """The edited time of a source instant, or None when it was cut."""
        index = bisect_right(self._starts, source_time) - 1
        if index < 0:
            return None
        span = self.keep[index]
        if source_time > span.end:
            return None
        return self._offsets[index] + source_time - span.start

    def to_edited_clamped(self, source_time: float) -> float:
        """The edited time of a source instant; a cut instant maps to where the cut is in the edit."""
        offsets = self.offsets()
        for span, offset in zip(self.keep, offsets, strict=True):
            if source_time <= span.end:
                return offset + max(0.0, source_time - span.start)
        return self.duration_s

    def span_to_edited(self, start: float, end: float) -> tuple[float, float] | None:
        """The edited extent of what is kept of a source span, or None when all of it was cut."""
        overlapping = [k for k in self.keep if k.end > start and k.start < end]
        pieces = [(max(start, k.start), min(end, k.end)) for k in overlapping]
        if not pieces:
            return None
        return self.to_edited_clamped(pieces[0][0]), self.to_edited_clamped(pieces[-1][1])

    def to_source(self, edited_time: float) -> float:
        """The source instant shown at an edited time."""
        for span, offset in zip(self.keep, self.offsets(), strict=True):
            if edited_time <= offset + span.duration_s:
                return span.start + max(0.0, edited_time - offset)
        return self.keep[-1].end if self.keep else 0.0
