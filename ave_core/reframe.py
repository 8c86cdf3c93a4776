"""Reframing the edit to a short's shape (9:16): a crop that follows the speaker's face, and its fallbacks.

The faces come from scenes.json (sampled at scenes.face_sample_hz, 2 Hz by default, in display pixels). For
each stretch of the short between two picture cuts (a shot change, or a join of the edit) the faces are
linked into tracks; when two or more faces share the stretch, the speaker is the face whose mouth region
moves with the sound (its motion correlated with the audio envelope), else the most prominent. The crop centre
follows that face's interpolated position through a dead zone (small moves of the face do not move the crop)
and a zero-phase low-pass (a Gaussian over the whole path, so it neither jitters nor lags), and is kept
where the face and a margin around it stay inside it. The crop never cuts the face: where the face and its
margin are wider than the crop, the short zooms out to a wider window that holds them, scaled to the short's
width over a blurred copy of the frame; the window's width is smoothed like the position. The crop jumps (in
position or width) only at picture cuts. Without a face to follow, the picture is a centred crop or the whole
frame letterboxed over a blurred copy of itself.
"""

from __future__ import annotations

import math
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d, maximum_filter1d

from .errors import AveError
from .models import AudioAnalysis, FaceBox, FaceSample, Scenes, ShortCrop
from .render import Piece, filter_path
from .tools import ffmpeg_binary

ASPECTS = {"9:16": (9, 16), "4:5": (4, 5), "1:1": (1, 1)}
MIN_CROP_SIDE_PX = 16  # a picture whose crop would be narrower than this is letterboxed whole
TRACK_GAP_S = 1.5  # a face unseen for longer starts a new track
TRACK_DISTANCE = 0.6  # a face within this many of its widths from a track's last box continues it
TRACK_MIN_SAMPLES = 2  # a face seen in one sample only (when there are more) is a false detection
POOL_MARGIN_S = 1.0  # faces sampled this far outside a stretch, within its shot, still place it
FACE_HOLD_S = 0.5  # a track shows its face this long before its first and after its last sample
# room kept on each side of a face, as a share of its width: one scale step of the scenes stage's Haar search
# (1.2), so that a face whose box came out a step smaller than the face is still held whole
FACE_MARGIN = 0.1
HEADROOM = 0.1  # a crop taller than the face needs puts the face this share of its height above centre
MOUTH_RATE_HZ = 10.0  # frames per second decoded to measure mouth motion
MOUTH_WIDTH_PX = 320  # the width they are decoded at
MIN_SPEAKER_R = 0.3  # correlation with the sound a mouth needs to count as the speaker's
MIN_SPEAKER_LEAD = 0.15  # ... and by how much it must beat the other faces'


class ReframeError(AveError):
    """The picture could not be decoded to find the speaker."""


def short_size(aspect: str, width: int) -> tuple[int, int]:
    """The short's size in pixels: `width` wide, as high as `aspect` makes it (even numbers)."""
    across, down = ASPECTS[aspect]
    return width, 2 * round(width * down / across / 2)


def crop_size(source: tuple[int, int], output: tuple[int, int]) -> tuple[int, int] | None:
    """The largest crop of the source's picture with the output's shape (even pixels); None when it would be
    too small to show anything (a 2x2 picture)."""
    width, height = source
    if width * output[1] > height * output[0]:  # wider than the short: full height
        crop = (2 * math.floor(height * output[0] / output[1] / 2), height - height % 2)
    else:
        crop = (width - width % 2, 2 * math.floor(width * output[1] / output[0] / 2))
    return crop if min(crop) >= MIN_CROP_SIDE_PX else None


# --- the short's frames ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ShortFrames:
    """Where each frame of a short comes from: its source time, and the stretches between picture cuts."""

    source_times: np.ndarray  # seconds, one per frame of the short
    stretches: list[tuple[int, int]]  # [first, end) frame indices between picture cuts

    @property
    def cuts(self) -> list[int]:
        """Frames where the picture cuts (the first frame of every stretch but the first)."""
        return [start for start, _ in self.stretches[1:]]


def short_frames(pieces: Sequence[Piece], fps: float, shot_starts: Sequence[float]) -> ShortFrames:
    """The frames of a short made of `pieces`, cut into stretches at each join of the edit and each shot
    change (shot starts in source seconds)."""
    times: list[float] = []
    stretches: list[tuple[int, int]] = []
    for index, piece in enumerate(pieces):
        start = len(times)
        times.extend((np.arange(piece.start_frame, piece.end_frame) / fps).tolist())
        # a piece that starts where the one before ends continues its picture: no cut between them
        continues = index > 0 and pieces[index - 1].end_frame == piece.start_frame
        inner = sorted(
            {
                start + frame - piece.start_frame
                for frame in (math.ceil(t * fps - 1e-6) for t in shot_starts)
                if piece.start_frame < frame < piece.end_frame
            }
        )
        bounds = [start, *inner, len(times)]
        for number, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False)):
            if number == 0 and continues and stretches:
                stretches[-1] = (stretches[-1][0], b)
            else:
                stretches.append((a, b))
    return ShortFrames(np.array(times), stretches)


# --- face tracks --------------------------------------------------------------------------------


@dataclass
class Track:
    """One face followed over a stretch's samples: sample times and boxes (x, y, w, h, display pixels)."""

    times: list[float] = field(default_factory=list)
    boxes: list[tuple[int, int, int, int]] = field(default_factory=list)

    def add(self, time: float, box: FaceBox) -> None:
        self.times.append(time)
        self.boxes.append((box.x, box.y, box.w, box.h))

    @property
    def prominence(self) -> float:
        """Size times time on screen: the face a viewer sees most of."""
        return float(np.mean([w * h for _, _, w, h in self.boxes])) * len(self.times)

    def at(self, times: np.ndarray) -> np.ndarray:
        """Boxes (x, y, w, h) interpolated at `times`, held before the first sample and after the last."""
        boxes = np.array(self.boxes, dtype=float)
        return np.stack([np.interp(times, self.times, boxes[:, k]) for k in range(4)], axis=1)

    def shows(self, times: np.ndarray) -> np.ndarray:
        """Whether the face is on screen at each time (within FACE_HOLD_S of its samples)."""
        return (times >= self.times[0] - FACE_HOLD_S) & (times <= self.times[-1] + FACE_HOLD_S)


def link_tracks(samples: Sequence[FaceSample]) -> list[Track]:
    """Faces linked from sample to sample by position: each face continues the nearest track whose last box
    is close enough, else starts a new one. A face seen once among several samples (a false detection, as
    a rule) is dropped."""
    tracks: list[Track] = []
    for sample in sorted(samples, key=lambda s: s.time):
        taken: set[int] = set()
        for box in sorted(sample.faces, key=lambda b: -b.w * b.h):
            best, best_distance = None, math.inf
            for index, track in enumerate(tracks):
                if index in taken or sample.time - track.times[-1] > TRACK_GAP_S:
                    continue
                x, y, w, h = track.boxes[-1]
                distance = math.hypot(box.x + box.w / 2 - x - w / 2, box.y + box.h / 2 - y - h / 2)
                if distance <= TRACK_DISTANCE * max(w, box.w) and distance < best_distance:
                    best, best_distance = index, distance
            if best is None:
                tracks.append(Track())
                best = len(tracks) - 1
            tracks[best].add(sample.time, box)
            taken.add(best)
    needed = TRACK_MIN_SAMPLES if len(samples) > TRACK_MIN_SAMPLES else 1
    return [t for t in tracks if len(t.times) >= needed]


# --- the active speaker -----------------------------------------------------------------------------

GreyDecoder = Callable[[float, float], tuple[np.ndarray, float]]


def grey_decoder(source: Path, display_size: tuple[int, int]) -> GreyDecoder:
    """A function giving the source's frames between two source times as grey images (MOUTH_RATE_HZ, upright,
    at most MOUTH_WIDTH_PX wide), with the scale from display pixels to theirs."""
    display_w, display_h = display_size
    width = max(2, min(MOUTH_WIDTH_PX, display_w - display_w % 2))
    height = max(2, 2 * round(width * display_h / display_w / 2))

    def decode(start_s: float, end_s: float) -> tuple[np.ndarray, float]:
        args = [ffmpeg_binary(), "-nostdin", "-v", "error", "-ss", f"{start_s:.3f}", "-i", str(source)]
        args += ["-t", f"{max(0.0, end_s - start_s):.3f}", "-an", "-vf"]
        args += [f"fps={MOUTH_RATE_HZ},scale={width}:{height},format=gray", "-f", "rawvideo", "-"]
        proc = subprocess.run(args, capture_output=True, check=False)
        if proc.returncode != 0:
            raise ReframeError(f"{source}: cannot decode {start_s:.1f}-{end_s:.1f} s to find the speaker")
        frames = np.frombuffer(proc.stdout, dtype=np.uint8)
        frames = frames[: frames.size // (width * height) * width * height]
        return frames.reshape(-1, height, width), width / display_w

    return decode


def mouth_motion(frames: np.ndarray, boxes: np.ndarray, scale: float) -> np.ndarray:
    """How much the mouth region (lower middle of each face box) changes from frame to frame."""
    motion = np.zeros(len(frames))
    for k in range(1, len(frames)):
        x, y, w, h = (boxes[k] * scale).tolist()
        x0, x1 = int(x + 0.25 * w), int(math.ceil(x + 0.75 * w))
        y0, y1 = int(y + 0.62 * h), int(math.ceil(y + 0.95 * h))
        now = frames[k, y0:y1, x0:x1].astype(np.float32)
        before = frames[k - 1, y0:y1, x0:x1].astype(np.float32)
        motion[k] = float(np.mean(np.abs(now - before))) if now.size else 0.0
    return motion


def sound_level(audio: AudioAnalysis | None, times: np.ndarray) -> np.ndarray | None:
    """The audio envelope (linear RMS) at source `times`; None without one."""
    if audio is None or audio.envelope is None or not audio.envelope.rms_db:
        return None
    levels = 10 ** (np.array(audio.envelope.rms_db) / 20)
    grid = np.arange(levels.size) / audio.envelope.rate_hz
    return np.interp(times, grid, levels)


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    if a.size < 5 or np.std(a) < 1e-9 or np.std(b) < 1e-9:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def rank_faces(
    tracks: Sequence[Track],
    span: tuple[float, float],
    decode: GreyDecoder | None,
    audio: AudioAnalysis | None,
) -> tuple[list[Track], str]:
    """The faces of a stretch, the one to follow first, and why: the only one; the one whose mouth moves with
    the sound (its mouth region's motion correlated with the audio envelope, where it is on screen); else
    the most prominent (largest and longest on screen)."""
    by_size = sorted(tracks, key=lambda t: -t.prominence)
    if len(tracks) == 1:
        return by_size, "the only face"
    correlations: list[float] = []
    if decode is not None and audio is not None:
        frames, scale = decode(*span)
        times = span[0] + np.arange(len(frames)) / MOUTH_RATE_HZ
        level = sound_level(audio, times)
        if level is not None and len(frames) >= 5:
            # the sound's change lines up with the mouth's frame-to-frame change
            loudness = np.abs(np.diff(level, prepend=level[:1])) + level
            for track in by_size:
                seen = track.shows(times)[1:]
                motion = mouth_motion(frames, track.at(times), scale)[1:]
                correlations.append(_correlation(motion[seen], loudness[1:][seen]))
    if correlations:
        order = sorted(range(len(by_size)), key=lambda i: -correlations[i])
        best, second = correlations[order[0]], correlations[order[1]]
        values = ", ".join(f"{r:.2f}" for r in correlations)
        if best >= MIN_SPEAKER_R and best - second >= MIN_SPEAKER_LEAD:
            return (
                [by_size[i] for i in order],
                f"of {len(tracks)} faces, the one whose mouth moves with the sound (r {values})",
            )
        return (
            by_size,
            f"the most prominent of {len(tracks)} faces (mouth motion did not tell them apart: r {values})",
        )
    return by_size, f"the most prominent of {len(tracks)} faces"


def follow_choice(visible: np.ndarray, min_frames: int) -> np.ndarray:
    """Per frame, which of the ranked faces (rows of `visible`) to follow: the best ranked one on screen; a
    frame with none follows the face followed before it (else after it), and a switch that would last
    less than `min_frames` is not made, so the crop never hops between faces."""
    count = visible.shape[1]
    choice = np.where(visible.any(axis=0), visible.argmax(axis=0), -1)
    known = np.flatnonzero(choice >= 0)
    if not known.size:
        return np.zeros(count, dtype=int)
    filled = choice.copy()
    last = choice[known[0]]
    for k in range(count):
        if filled[k] < 0:
            filled[k] = last
        last = filled[k]
    runs = np.flatnonzero(np.diff(filled)) + 1
    bounds = [0, *runs.tolist(), count]
    for a, b in zip(bounds, bounds[1:], strict=False):
        if b - a < min_frames and len(bounds) > 2:
            filled[a:b] = filled[a - 1] if a > 0 else filled[b]
    return filled


def bridge_unseen(boxes: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """The followed boxes with those of frames where no face shows placed on the line between the boxes seen
    before and after them (held at the ends). A face missed by the detector for longer than TRACK_GAP_S comes
    back as a new track a little elsewhere; without this the box would hold, then jump to the new track."""
    if seen.all() or not seen.any():
        return boxes
    known = np.flatnonzero(seen)
    every = np.arange(len(boxes))
    return np.stack([np.interp(every, known, boxes[known, k]) for k in range(boxes.shape[1])], axis=1)


# --- the crop path ----------------------------------------------------------------------------------


def follow_axis(
    target: np.ndarray,
    low: float | np.ndarray,
    high: float | np.ndarray,
    dead_zone_px: float,
    sigma_frames: float,
) -> np.ndarray:
    """A crop centre that follows `target` (one axis, per frame) within [low, high] (per frame where the
    window's width changes): low-passed (a zero-phase
    Gaussian: no lag), then held still while the target moves less than the dead zone, then low-passed again
    to round the corners the hold leaves. The hold runs forwards and backwards and the two are averaged, so
    the crop neither trails nor leads a face that keeps moving."""
    smooth = low_pass(np.clip(target, low, high), sigma_frames)
    held = (_hold(smooth, dead_zone_px) + _hold(smooth[::-1], dead_zone_px)[::-1]) / 2
    return np.clip(low_pass(held, sigma_frames / 2), low, high)


def _hold(values: np.ndarray, dead_zone: float) -> np.ndarray:
    """`values` seen through a dead zone: still until they move more than `dead_zone` away, then dragged."""
    held = np.empty_like(values)
    centre = float(values[0]) if values.size else 0.0
    for k, wanted in enumerate(values):
        if wanted - centre > dead_zone:
            centre = wanted - dead_zone
        elif centre - wanted > dead_zone:
            centre = wanted + dead_zone
        held[k] = centre
    return held


def low_pass(values: np.ndarray, sigma_frames: float) -> np.ndarray:
    """A zero-phase Gaussian low-pass. The ends are extended by point reflection, so that a path still
    moving when the stretch ends keeps its pace there instead of being bent flat."""
    if sigma_frames <= 0 or values.size < 2:
        return values.copy()
    pad = min(values.size - 1, int(4 * sigma_frames) + 1)
    head = 2 * values[0] - values[pad:0:-1]
    tail = 2 * values[-1] - values[-2 : -pad - 2 : -1]
    smooth = gaussian_filter1d(np.concatenate([head, values, tail]), sigma_frames, mode="nearest")
    return smooth[pad : pad + values.size]


def window_widths(
    needed_px: np.ndarray, crop_w: float, frame_w: float, dead_zone_px: float, sigma_frames: float
) -> np.ndarray:
    """The width of the window shown at each frame of a stretch: the crop's, or wider where the face and its
    margin (`needed_px`) are wider than the crop, up to the whole frame. It widens ahead of the need and
    narrows after it (a running maximum over two sigmas), holds still through changes smaller than the dead
    zone, is low-passed like the position, and is never narrower than the need."""
    needed = np.clip(needed_px, crop_w, frame_w)
    if not needed.size or needed.max() <= crop_w:
        return np.full(needed.size, float(crop_w))
    reach = max(1, round(2 * sigma_frames))
    envelope = maximum_filter1d(needed, size=2 * reach + 1, mode="nearest")
    widths = low_pass(_hold_above(envelope, dead_zone_px), sigma_frames)
    for _ in range(2):  # where the low-pass cut into the need, widen back, then smooth lightly
        widths = low_pass(np.maximum(widths, needed), sigma_frames / 4)
    return np.clip(np.maximum(widths, needed), crop_w, frame_w)


def _hold_above(values: np.ndarray, dead_zone: float) -> np.ndarray:
    """`values` followed from above: up at once, down only once they fall more than `dead_zone` below."""
    held = np.empty_like(values)
    level = float(values[0]) if values.size else 0.0
    for k, wanted in enumerate(values):
        if wanted > level:
            level = float(wanted)
        elif level - wanted > dead_zone:
            level = float(wanted) + dead_zone
        held[k] = level
    return held


def keep_inside(
    centre: np.ndarray, face_low: np.ndarray, face_high: np.ndarray, half: float | np.ndarray
) -> np.ndarray:
    """The centre moved, where it must be, so that [face_low, face_high] lies inside centre ± half (a face
    wider than the window is centred instead)."""
    need_low = face_high - half  # the centre must be at least this for the face's far edge to fit
    need_high = face_low + half  # ... and at most this for its near edge
    fits = need_low <= need_high
    moved = np.where(fits, np.clip(centre, need_low, need_high), (face_low + face_high) / 2)
    return moved


def second_difference(path: np.ndarray, cuts: Sequence[int]) -> float | None:
    """Mean |x[k+1] - 2 x[k] + x[k-1]| (px/frame²) over frames whose three neighbours lie in one stretch."""
    if path.size < 3:
        return None
    second = np.abs(path[2:] - 2 * path[1:-1] + path[:-2])
    inside = np.ones(second.size, dtype=bool)
    for cut in cuts:  # second[k] reads frames k, k+1, k+2
        inside[max(0, cut - 2) : max(0, cut)] = False
    return round(float(np.mean(second[inside])), 4) if inside.any() else None


@dataclass(frozen=True)
class CropSettings:
    """What shapes the crop path (shorts.* keys)."""

    no_face: str = "letterbox"
    face_min_share: float = 0.5
    dead_zone: float = 0.1
    smoothing_s: float = 0.5


def plan_crop(
    frames: ShortFrames,
    fps: float,
    scenes: Scenes,
    source_size: tuple[int, int],
    output: tuple[int, int],
    settings: CropSettings,
    decode: GreyDecoder | None = None,
    audio: AudioAnalysis | None = None,
) -> ShortCrop:
    """The crop of every frame of a short: following the speaker's face, or the configured fallback."""
    width, height = source_size
    crop = crop_size(source_size, output)
    if crop is None:
        return ShortCrop(
            mode="letterbox",
            reason=f"the picture is {width}x{height}: too small to crop to {output[0]}x{output[1]}, "
            "so it is shown whole over a blurred copy",
            width=width,
            height=height,
        )
    crop_w, crop_h = crop
    if (crop_w, crop_h) == (width - width % 2, height - height % 2):
        return ShortCrop(
            mode="full",
            reason=f"the picture ({width}x{height}) already has the short's shape: shown whole",
            width=crop_w,
            height=crop_h,
            x=[0.0] * len(frames.source_times),
            y=[0.0] * len(frames.source_times),
        )
    count = len(frames.source_times)
    frame_w = width - width % 2
    centre_x = np.full(count, width / 2)
    centre_y = np.full(count, height / 2)
    window_w = np.full(count, float(crop_w))  # the width shown: the crop's, or wider to hold the face
    needed_w = np.zeros(count)
    raw_x = centre_x.copy()
    shown = np.zeros(count, dtype=bool)
    face_boxes = np.full((count, 4), np.nan)
    speakers: list[str] = []
    shots = sorted(scenes.shots, key=lambda s: s.start)
    for first, end in frames.stretches:
        times = frames.source_times[first:end]
        pool = _pool(scenes.faces, shots, float(times[0]), float(times[-1]) + 1 / fps)
        tracks = link_tracks(pool)
        if not tracks:
            continue
        span = (float(times[0]), float(times[-1]) + 1 / fps)
        ranked, why = rank_faces(tracks, span, decode if len(tracks) > 1 else None, audio)
        speakers.append(why)
        visible = np.array([t.shows(times) for t in ranked])
        choice = follow_choice(visible, round(fps))
        seen = np.asarray(visible.any(axis=0), dtype=bool)
        boxes = bridge_unseen(np.stack([t.at(times) for t in ranked])[choice, np.arange(len(times))], seen)
        shown[first:end] = seen
        face_boxes[first:end] = boxes
        cx = boxes[:, 0] + boxes[:, 2] / 2
        cy = boxes[:, 1] + boxes[:, 3] / 2 + HEADROOM * crop_h
        margin = FACE_MARGIN * boxes[:, 2]
        face_low, face_high = boxes[:, 0] - margin, boxes[:, 0] + boxes[:, 2] + margin
        sigma = settings.smoothing_s * fps
        needed = face_high - face_low
        needed_w[first:end] = needed
        room = max(0.0, (crop_w - float(np.median(needed))) / 2)
        dead_zone = min(settings.dead_zone * crop_w, room)
        x = follow_axis(cx, crop_w / 2, width - crop_w / 2, dead_zone, sigma)
        # where the face and its margin are wider than the crop, the window widens around the smoothed path
        # (so the path stays smooth and the window takes up the difference); elsewhere the crop suffices
        around = 2 * np.maximum(x - face_low, face_high - x)
        wanted = np.where(needed > crop_w, around, crop_w)
        window = window_widths(wanted, crop_w, frame_w, settings.dead_zone * crop_w, sigma)
        half_w, half_h = window / 2, np.minimum(height, crop_h * window / crop_w) / 2
        y = follow_axis(cy, half_h, height - half_h, dead_zone, sigma)
        for _ in range(2):  # where the low-pass cut a corner off the face, move it back, then smooth lightly
            x = keep_inside(x, face_low, face_high, half_w)
            x = np.clip(low_pass(x, sigma / 4), half_w, width - half_w)
        centre_x[first:end] = np.clip(keep_inside(x, face_low, face_high, half_w), half_w, width - half_w)
        centre_y[first:end] = np.clip(
            keep_inside(y, boxes[:, 1], boxes[:, 1] + boxes[:, 3], half_h), half_h, height - half_h
        )
        window_w[first:end] = window
        raw_x[first:end] = np.clip(cx, crop_w / 2, width - crop_w / 2)
    face_share = round(float(shown.mean()), 4) if count else 0.0
    if face_share < settings.face_min_share or not count:
        mode = settings.no_face
        reason = (
            f"a face in {face_share:.0%} of the frames "
            f"(shorts.face_min_share: {settings.face_min_share:.0%}): "
            + ("a centred crop" if mode == "centre" else "the whole frame over a blurred copy")
        )
        if mode == "letterbox":
            return ShortCrop(
                mode="letterbox", reason=reason, width=width, height=height, face_share=face_share
            )
        centre_x[:], centre_y[:] = width / 2, height / 2
        raw_x[:] = width / 2
        window_w[:] = crop_w
        speakers = []
    else:
        mode, reason = "follow", f"a face in {face_share:.0%} of the frames: the crop follows it"
    window_h = np.minimum(height, crop_h * window_w / crop_w)
    left = np.round(centre_x - window_w / 2, 1)
    top = np.round(centre_y - window_h / 2, 1)
    zoomed = window_w > crop_w + 0.5
    inside = (
        _face_inside(scenes.faces, frames, fps, left, top, window_w, window_h, face_boxes)
        if mode == "follow"
        else None
    )
    return ShortCrop(
        mode=mode,
        reason=reason,
        width=crop_w,
        height=crop_h,
        x=left.tolist(),
        y=top.tolist(),
        speaker="; ".join(dict.fromkeys(speakers)),
        face_share=face_share,
        picture_cuts=frames.cuts,
        jitter_px_per_frame2=second_difference(centre_x, frames.cuts),
        unsmoothed_jitter_px_per_frame2=second_difference(raw_x, frames.cuts),
        face_inside=inside,
        zoom=np.round(window_w / crop_w, 4).tolist() if zoomed.any() else [],
        zoomed_out_share=round(float(zoomed.mean()), 4) if count else 0.0,
        zoom_reason=_zoom_reason(zoomed, needed_w, window_w, crop_w, output) if zoomed.any() else "",
    )


def _zoom_reason(
    zoomed: np.ndarray, needed_w: np.ndarray, window_w: np.ndarray, crop_w: int, output: tuple[int, int]
) -> str:
    """shorts.json's account of a short that zooms out: how much of it, how far, and why."""
    return (
        f"the face with {FACE_MARGIN:.0%} of its width on each side (up to {needed_w.max():.0f} px) is wider "
        f"than the {output[0]}:{output[1]} crop ({crop_w} px) in places: {zoomed.mean():.0%} of the frames "
        f"show a window up to {window_w.max() / crop_w:.2f}x the crop's width, scaled to the short's width "
        "over a blurred copy of the frame, so the face is never cut"
    )


def _pool(samples: Sequence[FaceSample], shots: Sequence, start_s: float, end_s: float) -> list[FaceSample]:
    """The face samples that place a stretch: inside it, or near it within its shot."""
    middle = (start_s + end_s) / 2
    shot = next((s for s in shots if s.start <= middle < s.end), None)
    low, high = start_s - POOL_MARGIN_S, end_s + POOL_MARGIN_S
    if shot is not None:
        low, high = max(low, shot.start), min(high, shot.end)
    return [s for s in samples if low <= s.time < high]


def _face_inside(
    samples: Sequence[FaceSample], frames: ShortFrames, fps: float, left: np.ndarray, top: np.ndarray,
    window_w: np.ndarray, window_h: np.ndarray, followed: np.ndarray,
) -> float | None:  # fmt: skip
    """Share of the followed face's samples, within the short, whose box lies inside the window shown."""
    times = frames.source_times
    hits = total = 0
    for sample in samples:
        index = int(np.argmin(np.abs(times - sample.time))) if times.size else 0
        if not times.size or abs(times[index] - sample.time) > 0.5 / fps or np.isnan(followed[index, 0]):
            continue
        x, y, w, h = followed[index]
        box = min(sample.faces, key=lambda b: abs(b.x + b.w / 2 - x - w / 2), default=None)
        if box is None or abs(box.x + box.w / 2 - x - w / 2) > w:
            continue  # not the face being followed
        total += 1
        hits += bool(
            left[index] - 0.5 <= box.x
            and box.x + box.w <= left[index] + window_w[index] + 0.5
            and top[index] - 0.5 <= box.y
            and box.y + box.h <= top[index] + window_h[index] + 0.5
        )
    return round(hits / total, 4) if total else None


# --- the ffmpeg filters -------------------------------------------------------------------------------


def crop_filters(
    crop: ShortCrop, source_size: tuple[int, int], output: tuple[int, int], fps: float, commands: Path
) -> str:
    """The filter chain taking the source picture (at `source_size`) to the short's picture at `output`; a
    moving crop's per-frame positions are written to `commands` for ffmpeg's sendcmd."""
    out_w, out_h = output
    if crop.mode == "letterbox":
        return (
            f"{_backdrop(output)}[fg0]scale={out_w}:{out_h}:force_original_aspect_ratio=decrease,setsar=1[fg];"
            "[bg][fg]overlay=(W-w)/2:(H-h)/2,setsar=1"
        )
    if crop.zoom:
        return _zooming(crop, source_size, output, fps, commands)
    width, height = source_size
    scale = out_h / crop.height
    if scale <= 1:  # the crop is at least the output's size: crop, then shrink (steps under an output pixel)
        outer = [
            (_even(_within(x, width - crop.width)), _even(_within(y, height - crop.height)))
            for x, y in zip(crop.x, crop.y, strict=True)
        ]
        steps = [(a, b, 0, 0) for a, b in outer]
        chain = "{send}crop@outer=w={w}:h={h}:x={x}:y={y},scale={out_w}:{out_h},setsar=1"
        return _moving(chain, steps, fps, commands, w=crop.width, h=crop.height, out_w=out_w, out_h=out_h)
    # a crop smaller than the output is enlarged. Enlarging the whole frame and cropping there would move by
    # output pixels but cost as much as a frame of the output's height per frame; instead the crop is cut a
    # little wider (MARGIN source pixels each side, at even offsets as ffmpeg cuts 4:2:0), enlarged, and cut
    # again at the fraction of a source pixel left over, in output pixels
    margin_x = min(CROP_MARGIN_PX, (width - crop.width) // 2 // 2 * 2)
    margin_y = min(CROP_MARGIN_PX, (height - crop.height) // 2 // 2 * 2)
    outer_w, outer_h = crop.width + 2 * margin_x, crop.height + 2 * margin_y
    big_w, big_h = 2 * math.ceil(outer_w * scale / 2), 2 * math.ceil(outer_h * scale / 2)
    steps = []
    for x, y in zip(crop.x, crop.y, strict=True):
        ox = _even(_within(math.floor(x) - margin_x, width - outer_w))
        oy = _even(_within(math.floor(y) - margin_y, height - outer_h))
        ix = _within(round((x - ox) * big_w / outer_w), big_w - out_w)
        iy = _within(round((y - oy) * big_h / outer_h), big_h - out_h)
        steps.append((ox, oy, ix, iy))
    chain = (
        "{send}crop@outer=w={ow}:h={oh}:x={x}:y={y},scale={big_w}:{big_h},"
        "crop@inner=w={out_w}:h={out_h}:x={ix}:y={iy},setsar=1"
    )
    return _moving(
        chain,
        steps,
        fps,
        commands,
        ow=outer_w,
        oh=outer_h,
        big_w=big_w,
        big_h=big_h,
        out_w=out_w,
        out_h=out_h,
    )


CROP_MARGIN_PX = 4  # source pixels cut beyond the crop on each side before it is enlarged


def _zooming(
    crop: ShortCrop, source_size: tuple[int, int], output: tuple[int, int], fps: float, commands: Path
) -> str:
    """The chain of a crop that zooms out: each frame's window (the crop, or wider where the face needs it)
    is cut from the source with a few pixels to spare, scaled so the window spans the short's width, and
    laid over the blurred copy of the frame (the letterbox look) at the offset that puts the window, to a
    fraction of a source pixel, across the short and centred in its height. A frame at the crop's own width
    fills the short, as the plain crop does."""
    width, height = source_size
    frame_w, frame_h = width - width % 2, height - height % 2
    out_w, out_h = output
    steps = []
    for x, y, zoom in zip(crop.x, crop.y, crop.zoom, strict=True):
        window_w, window_h = crop.width * zoom, min(frame_h, crop.height * zoom)
        scale = out_w / window_w
        shown_h = out_h if zoom <= 1 else min(out_h, 2 * round(window_h * scale / 2))
        ox = _even(_within(math.floor(x) - CROP_MARGIN_PX, frame_w - 2))
        oy = _even(_within(math.floor(y) - CROP_MARGIN_PX, frame_h - 2))
        ow = min(frame_w - ox, _even_up(math.ceil(x + window_w) + CROP_MARGIN_PX - ox))
        oh = min(frame_h - oy, _even_up(math.ceil(y + window_h) + CROP_MARGIN_PX - oy))
        big_w, big_h = 2 * math.ceil(ow * scale / 2), 2 * math.ceil(oh * scale / 2)
        at_x = -round((x - ox) * big_w / ow)
        at_y = (out_h - shown_h) // 2 - round((y - oy) * big_h / oh)
        steps.append((ox, oy, ow, oh, big_w, big_h, at_x, at_y))
    filters = [("crop@outer", "x"), ("crop@outer", "y"), ("crop@outer", "w"), ("crop@outer", "h")]
    filters += [("scale@zoom", "w"), ("scale@zoom", "h"), ("overlay@zoom", "x"), ("overlay@zoom", "y")]
    lines = []
    for k in range(1, len(steps)):
        moves = [
            f"{name} {key} {value}"
            for (name, key), value, before in zip(filters, steps[k], steps[k - 1], strict=True)
            if value != before
        ]
        if moves:
            lines.append(f"{(k - 0.5) / fps:.6f} " + ", ".join(moves) + ";")
    send = ""
    if lines:
        commands.write_text("\n".join(lines) + "\n", encoding="utf-8")
        send = f"sendcmd=f='{filter_path(commands)}',"
    ox, oy, ow, oh, big_w, big_h, at_x, at_y = steps[0]
    return (
        f"{_backdrop(output)}[fg0]{send}crop@outer=w={ow}:h={oh}:x={ox}:y={oy},scale@zoom=w={big_w}:h={big_h},setsar=1[fg];"
        f"[bg][fg]overlay@zoom=x={at_x}:y={at_y}:eval=frame,setsar=1"
    )


def _backdrop(output: tuple[int, int]) -> str:
    """The start of a chain that shows a picture over a blurred copy of the frame: the frame split into
    [bg0] and [fg0], and [bg], the frame filling the short, blurred at an eighth of its size."""
    out_w, out_h = output
    small_w, small_h = 2 * max(1, out_w // 16), 2 * max(1, out_h // 16)
    return (
        f"split=2[bg0][fg0];[bg0]scale={small_w}:{small_h}:force_original_aspect_ratio=increase,"
        f"crop={small_w}:{small_h},boxblur=8:2,scale={out_w}:{out_h},setsar=1[bg];"
    )


def _even_up(value: int) -> int:
    return value + value % 2


def _within(value: float, high: int) -> int:
    return int(min(max(0, high), max(0, round(value))))


def _even(value: int) -> int:
    return value - value % 2


def _moving(
    chain: str, steps: Sequence[tuple[int, int, int, int]], fps: float, commands: Path, **sizes: int
) -> str:
    """`chain` with the first frame's offsets in place and a sendcmd file moving them at every later frame
    that changes them (half a frame early, so a command is in place when its frame arrives)."""
    lines = []
    for k in range(1, len(steps)):
        if steps[k] != steps[k - 1]:
            ox, oy, ix, iy = steps[k]
            moves = [f"crop@outer x {ox}", f"crop@outer y {oy}"]
            if "crop@inner" in chain:
                moves += [f"crop@inner x {ix}", f"crop@inner y {iy}"]
            lines.append(f"{(k - 0.5) / fps:.6f} " + ", ".join(moves) + ";")
    send = ""
    if lines:
        commands.write_text("\n".join(lines) + "\n", encoding="utf-8")
        send = f"sendcmd=f='{filter_path(commands)}',"
    x, y, ix, iy = steps[0] if steps else (0, 0, 0, 0)
    return chain.format(send=send, x=x, y=y, ix=ix, iy=iy, **sizes)
