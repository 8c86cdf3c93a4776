"""The scenes stage: shots (PySceneDetect), faces (OpenCV Haar cascades), picture quality and keyframes.

Everything comes from one decode of the video with PyAV. Every frame is scaled to the size PySceneDetect
itself detects cuts at (its `compute_downscale_factor`: about 256 pixels across) for the detector; only the
frames sampled for faces and quality (`scenes.face_sample_hz`) are also made at the analysis width. Frames
are turned upright, so boxes and keyframes are in display orientation; times come from each frame's
presentation timestamp, so variable-frame-rate videos get correct seconds.
"""

from __future__ import annotations

import inspect
import math
import statistics
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from scenedetect import (
    AdaptiveDetector,
    ContentDetector,
    HashDetector,
    HistogramDetector,
    SceneDetector,
    ThresholdDetector,
)
from scenedetect.common import FrameTimecode, Timecode
from scenedetect.scene_manager import compute_downscale_factor

from .backends import Registry
from .config import ScenesConfig
from .errors import InputError, ToolError
from .models import (
    FaceBox,
    FaceSample,
    MediaInfo,
    Scenes,
    Shot,
    VideoStream,
    VisualHighlight,
    make_producer,
)
from .publish import write_bytes_atomic


@dataclass(frozen=True)
class Detector:
    """A PySceneDetect detector scenes.detector can name, and its constructor argument for `threshold`."""

    name: str
    kind: Callable[..., SceneDetector]
    threshold_arg: str = "threshold"


DETECTORS: Registry[Detector] = Registry(
    "scenes.detector",
    [
        Detector("adaptive", AdaptiveDetector, "adaptive_threshold"),
        Detector("content", ContentDetector),
        Detector("threshold", ThresholdDetector),
        Detector("hash", HashDetector),
        Detector("histogram", HistogramDetector),
    ],
)

# degrees a player turns the picture clockwise -> the OpenCV turn that makes a frame upright
_UPRIGHT_TURNS = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}

MIN_FACE_SHARE_OF_SIDE = 0.08  # faces smaller than this part of the shorter side are not worth finding
LARGE_FACE_SHARE = 0.06  # a face covering this share of the frame counts as large for thumbnails
HIGHLIGHT_SPACING_S = 1.0
_MICROSECONDS = Fraction(1, 1_000_000)


@dataclass(frozen=True)
class Quality:
    """Picture quality of one frame at analysis size."""

    sharpness: float  # variance of the Laplacian of the grey image
    brightness: float  # mean luma, 0-255
    contrast: float  # standard deviation of luma
    colourfulness: float  # Hasler & Suesstrunk (2003)


@dataclass
class _Frame:
    """A decoded frame, upright, with its time in seconds from the start of the file: `image` at the size
    cuts are detected at, `sample` at analysis size once it is made (for the frames sampled)."""

    index: int
    time: float
    duration_s: float | None
    image: np.ndarray
    decoded: av.VideoFrame | None = None  # until the frame has been fed: its sample is made from it
    rotation: int = 0
    sample: np.ndarray | None = None
    quality: Quality | None = None

    def make_sample(self, max_width: int) -> np.ndarray:
        """The frame at analysis size (at most `max_width` across), upright."""
        if self.sample is None:
            if self.decoded is None:
                return self.image
            self.sample = _upright_image(self.decoded, self.rotation, max_width)
        return self.sample

    @property
    def best_image(self) -> np.ndarray:
        """The largest picture of the frame there is: its sample, else the detection image."""
        return self.sample if self.sample is not None else self.image


@dataclass(frozen=True)
class _Sample:
    """A frame examined for faces and quality."""

    index: int
    time: float
    quality: Quality
    faces: list[FaceBox]
    largest_face_share: float


@dataclass(frozen=True)
class _Keyframe:
    path: str  # relative to the video's results folder
    time: float
    quality: Quality


# --- public API ------------------------------------------------------------------------------


def analyze_scenes(
    video_path: str | Path, media: MediaInfo, settings: ScenesConfig, frames_dir: str | Path
) -> Scenes:
    """Shots, faces, per-shot quality, keyframes (written to `frames_dir`) and visual highlights."""
    source = Path(video_path)
    if media.video is None:  # a podcast: no picture to cut, no faces, no keyframes
        Path(frames_dir).mkdir(parents=True, exist_ok=True)
        return Scenes(
            producer=make_producer("scenes", "none"),
            skip_reason=f"{source}: audio only, no picture — shots, faces and keyframes skipped",
            detector=settings.detector,
            frame_count=0,
            width=0,
            height=0,
            shots=[],
        )
    width, height = media.video.display_width, media.video.display_height
    frame_rate = _frame_rate(media)
    analysis = _Analysis(
        detector=make_detector(settings),
        frame_rate=frame_rate,
        face_finder=_FaceFinder(width, height),
        picker=_KeyframePicker(
            Path(frames_dir), hold_s=1 / settings.face_sample_hz + settings.min_shot_s + 1
        ),
        sample_hz=settings.face_sample_hz,
    )
    warnings: list[str] = []
    for frame in _decode(source, media.video, frame_rate, warnings):
        analysis.feed(frame, settings.analysis_width)
    if not analysis.times:
        raise InputError(f"{source}: no decodable video frames — the video track is damaged; re-export it")
    analysis.finish()
    analysis.picker.remove_stale_keyframes()
    return Scenes(
        producer=make_producer(
            "scenes",
            f"pyscenedetect-{settings.detector}+opencv-haar",
            packages=("scenedetect", "opencv-python-headless", "av", "numpy"),
            warnings=warnings,
        ),
        detector=settings.detector,
        threshold=effective_threshold(settings),
        frame_count=len(analysis.times),
        width=width,
        height=height,
        shots=analysis.shots(),
        faces=[
            FaceSample(time=s.time, faces=s.faces, largest_face_share=s.largest_face_share)
            for s in analysis.samples
        ],
        visual_highlights=_pick_highlights(analysis.samples, settings.highlights),
    )


def make_detector(settings: ScenesConfig) -> SceneDetector:
    """The configured PySceneDetect detector, with min_scene_len in seconds."""
    detector = DETECTORS[settings.detector]
    options: dict[str, float] = {"min_scene_len": float(settings.min_shot_s)}
    if settings.threshold is not None:
        options[detector.threshold_arg] = float(settings.threshold)
    return detector.kind(**options)


def effective_threshold(settings: ScenesConfig) -> float:
    """The threshold the detector runs with: the configured one, else the detector's default."""
    if settings.threshold is not None:
        return float(settings.threshold)
    detector = DETECTORS[settings.detector]
    return float(inspect.signature(detector.kind).parameters[detector.threshold_arg].default)


def cut_times(scenes: Scenes) -> list[float]:
    """Seconds at which a new shot starts (every shot after the first)."""
    return [shot.start for shot in scenes.shots[1:]]


def measure_quality(image: np.ndarray, grey: np.ndarray | None = None) -> Quality:
    """Sharpness, brightness, contrast and colourfulness of a BGR image."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if grey is None else grey
    luma_mean, luma_std = cv2.meanStdDev(grey)
    blue, green, red = cv2.split(image.astype(np.float32))
    red_green = red - green
    yellow_blue = 0.5 * (red + green) - blue
    rg_mean, rg_std = cv2.meanStdDev(red_green)
    yb_mean, yb_std = cv2.meanStdDev(yellow_blue)
    colourfulness = math.hypot(rg_std[0, 0], yb_std[0, 0]) + 0.3 * math.hypot(rg_mean[0, 0], yb_mean[0, 0])
    return Quality(
        sharpness=float(cv2.Laplacian(grey, cv2.CV_64F).var()),
        brightness=float(luma_mean[0, 0]),
        contrast=float(luma_std[0, 0]),
        colourfulness=float(colourfulness),
    )


def _pick_highlights(samples: Sequence[_Sample], count: int) -> list[VisualHighlight]:
    """The `count` best-scoring samples for thumbnails, at least HIGHLIGHT_SPACING_S apart, best first."""
    if count <= 0 or not samples:
        return []
    sharpness_scale = _sharpness_scale(samples)
    scored = sorted(
        (_highlight(sample, sharpness_scale) for sample in samples), key=lambda h: (-h.score, h.time)
    )
    chosen: list[VisualHighlight] = []
    for candidate in scored:
        if all(abs(candidate.time - kept.time) >= HIGHLIGHT_SPACING_S for kept in chosen):
            chosen.append(candidate)
            if len(chosen) == count:
                break
    return chosen


# --- decoding --------------------------------------------------------------------------------


def _decode(source: Path, video: VideoStream, frame_rate: Fraction, warnings: list[str]) -> Iterator[_Frame]:
    """Every frame of the video stream in output order, upright, at the size PySceneDetect detects at."""
    try:
        container = av.open(str(source))
    except (av.error.FFmpegError, OSError) as exc:
        raise InputError(f"{source}: cannot be opened for decoding ({exc}) — re-export the file") from exc
    with container:
        candidates = container.streams.video
        streams = [s for s in candidates if s.index == video.index] or list(candidates)
        if not streams:
            raise InputError(f"{source}: no video stream — ave needs a video with a picture")
        stream = streams[0]
        stream.thread_type = "AUTO"
        # times are counted from the container's start, as ffmpeg (audio, render) counts them
        origin = container.start_time / av.time_base if container.start_time is not None else None
        time = -1 / float(frame_rate)
        damaged: list[int | None] = []  # timestamps of the packets skipped
        for index, frame in enumerate(_decoded_frames(container, stream, damaged)):
            if origin is None:
                origin = float(frame.time or 0.0)
            # a frame without a timestamp follows the previous one at the average rate
            time = float(frame.time) - origin if frame.time is not None else time + 1 / float(frame_rate)
            # bilinear, as PySceneDetect scales its frames (and six times cheaper than area averaging)
            image = _upright_image(frame, video.rotation, detection_width(video), cv2.INTER_LINEAR)
            yield _Frame(index, time, _duration_s(frame), image, decoded=frame, rotation=video.rotation)
        if damaged:
            warnings.append(f"{len(damaged)} damaged video packets skipped")


def _decoded_frames(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, damaged: list[int | None]
) -> Iterator[av.VideoFrame]:
    """Frames in output order; packets the decoder rejects go to `damaged`, as ffmpeg conceals them too."""
    for packet in container.demux(stream):
        try:
            frames = packet.decode()
        except av.error.InvalidDataError:
            damaged.append(packet.pts)
            continue
        yield from (frame for frame in frames if isinstance(frame, av.VideoFrame))


def detection_width(video: VideoStream) -> int:
    """The display width frames are detected at: PySceneDetect's own choice for the video's size (its
    longer side brought to about 256 pixels), so ave finds the cuts the bare detector finds."""
    width, height = video.display_width, video.display_height
    return max(2, round(width / compute_downscale_factor(max(width, height))))


def _duration_s(frame: av.VideoFrame) -> float | None:
    return float(frame.duration * frame.time_base) if frame.duration and frame.time_base else None


def _upright_image(
    frame: av.VideoFrame, rotation: int, max_width: int, interpolation: int = cv2.INTER_AREA
) -> np.ndarray:
    """The frame as BGR, scaled so its display width is at most `max_width`, turned upright."""
    width, height = _analysis_size(frame.width, frame.height, rotation, max_width)
    image = _to_bgr(frame, width, height, interpolation)
    turn = _UPRIGHT_TURNS.get(rotation)
    return image if turn is None else cv2.rotate(image, turn)


def _analysis_size(width: int, height: int, rotation: int, max_width: int) -> tuple[int, int]:
    """Coded frame size scaled so the display width is at most `max_width`; never upscaled."""
    display_width = height if rotation in (90, 270) else width
    scale = max_width / display_width
    if scale >= 1:
        return width, height
    return _even(width * scale), _even(height * scale)


def _even(value: float) -> int:
    return max(2, 2 * round(value / 2))


def _to_bgr(frame: av.VideoFrame, width: int, height: int, interpolation: int = cv2.INTER_AREA) -> np.ndarray:
    """The frame as a BGR array of the given size."""
    even = frame.width % 2 == 0 and frame.height % 2 == 0 and width % 2 == 0 and height % 2 == 0
    if frame.format.name != "yuv420p" or not even:
        return frame.to_ndarray(width=width, height=height, format="bgr24", interpolation="AREA")
    # OpenCV scales and converts 4:2:0 several times faster than swscale does here
    planes = []
    for plane, (w, h), (out_w, out_h) in zip(
        frame.planes,
        [
            (frame.width, frame.height),
            (frame.width // 2, frame.height // 2),
            (frame.width // 2, frame.height // 2),
        ],
        [(width, height), (width // 2, height // 2), (width // 2, height // 2)],
        strict=True,
    ):
        pixels: np.ndarray = np.frombuffer(memoryview(plane), np.uint8).reshape(-1, plane.line_size)[:h, :w]
        if (w, h) != (out_w, out_h):
            pixels = cv2.resize(pixels, (out_w, out_h), interpolation=interpolation)
        planes.append(pixels.reshape(-1))
    i420 = np.concatenate(planes).reshape(height * 3 // 2, width)
    return cv2.cvtColor(i420, cv2.COLOR_YUV2BGR_I420)


# --- the single pass -------------------------------------------------------------------------


class _Analysis:
    """What is done to each decoded frame: cut detection, sampling for faces and quality, keyframes."""

    def __init__(
        self,
        detector: SceneDetector,
        frame_rate: Fraction,
        face_finder: _FaceFinder,
        picker: _KeyframePicker,
        sample_hz: float,
    ) -> None:
        self.detector = detector
        self.frame_rate = frame_rate
        self.face_finder = face_finder
        self.picker = picker
        self.sample_hz = sample_hz
        self.times: list[float] = []
        self.samples: list[_Sample] = []
        self.last_duration_s: float | None = None
        self._next_sample_s = -math.inf

    def feed(self, frame: _Frame, sample_width: int) -> None:
        """Detect, sample and keep what one frame contributes."""
        self.times.append(frame.time)
        self.last_duration_s = frame.duration_s
        if frame.time >= self._next_sample_s:
            frame.make_sample(sample_width)
            self.samples.append(self._sample(frame))
            self._next_sample_s = (math.floor(frame.time * self.sample_hz + 1e-9) + 1) / self.sample_hz
        frame.decoded = None  # the decoder's frame is not kept: the picker holds seconds of frames
        self.picker.add(frame)
        for cut in self.detector.process_frame(self._timecode(frame.time), frame.image):
            self.picker.cut(self._frame_index(cut))

    def finish(self) -> None:
        """Collect the detector's last cuts and close the last shot."""
        for cut in self.detector.post_process(self._timecode(self.times[-1])):
            self.picker.cut(self._frame_index(cut))
        self.picker.cut(len(self.times))

    def shots(self) -> list[Shot]:
        """The shots between the accepted cuts, covering the whole video."""
        bounds = [0, *self.picker.cuts]
        shots = []
        for number, (start, end) in enumerate(zip(bounds, bounds[1:], strict=False)):
            keyframe = self.picker.keyframes[number]
            quality = _mean_quality([s.quality for s in self.samples if start <= s.index < end])
            quality = quality or (keyframe.quality if keyframe else None)
            shots.append(
                Shot(
                    start=self.times[start] if start else 0.0,
                    end=self.times[end] if end < len(self.times) else self._end_s(),
                    start_frame=start,
                    end_frame=end,
                    keyframe=keyframe.path if keyframe else None,
                    keyframe_time=keyframe.time if keyframe else None,
                    sharpness=quality.sharpness if quality else None,
                    brightness=quality.brightness if quality else None,
                    contrast=quality.contrast if quality else None,
                    colourfulness=quality.colourfulness if quality else None,
                )
            )
        return shots

    def _sample(self, frame: _Frame) -> _Sample:
        image = frame.best_image
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        frame.quality = measure_quality(image, grey)
        faces = self.face_finder.find(grey)
        return _Sample(
            index=frame.index,
            time=frame.time,
            quality=frame.quality,
            faces=faces,
            largest_face_share=max((f.w * f.h for f in faces), default=0) / self.face_finder.area,
        )

    def _timecode(self, seconds: float) -> FrameTimecode:
        # a presentation time, not a frame number: PySceneDetect then measures shot lengths in real seconds
        return FrameTimecode(
            Timecode(pts=round(seconds / _MICROSECONDS), time_base=_MICROSECONDS), fps=self.frame_rate
        )

    def _frame_index(self, cut: FrameTimecode) -> int:
        """Index of the frame nearest to a cut the detector reported."""
        seconds = cut.seconds
        after = min(bisect_left(self.times, seconds), len(self.times) - 1)
        if after > 0 and seconds - self.times[after - 1] < self.times[after] - seconds:
            return after - 1
        return after

    def _end_s(self) -> float:
        """End of the last frame: its own duration, else the last interval, else one nominal frame."""
        if self.last_duration_s:
            return self.times[-1] + self.last_duration_s
        if len(self.times) > 1:
            return self.times[-1] + (self.times[-1] - self.times[-2])
        return self.times[-1] + 1 / float(self.frame_rate)


class _KeyframePicker:
    """Chooses each shot's keyframe while decoding: its sharpest sampled frame, else its middle frame.

    The detector reports a cut some frames after it happens, so the frames of the last `hold_s` seconds
    stay in memory until no cut is expected before them; older frames only compete as the open shot's best.
    """

    def __init__(self, frames_dir: Path, hold_s: float) -> None:
        frames_dir.mkdir(parents=True, exist_ok=True)  # even when no keyframe can be written
        self.frames_dir = frames_dir
        self.hold_s = hold_s
        self.cuts: list[int] = []  # first frame of every shot after the first, then the frame count
        self.keyframes: list[_Keyframe | None] = []
        self._recent: deque[_Frame] = deque()
        self._best: _Frame | None = None  # sharpest sampled frame of the open shot that left `_recent`
        self._shot_start = 0

    def add(self, frame: _Frame) -> None:
        self._recent.append(frame)
        while self._recent[0].time < frame.time - self.hold_s:
            old = self._recent.popleft()
            in_open_shot = old.index >= self._shot_start
            if in_open_shot and old.quality is not None and (self._best is None or _sharper(old, self._best)):
                self._best = old

    def cut(self, index: int) -> None:
        """Close the open shot before frame `index` and write its keyframe."""
        if index <= self._shot_start:
            return  # a cut at or before the open shot's start adds no shot
        candidates = [f for f in self._recent if self._shot_start <= f.index < index]
        if self._best is not None and self._best.index < index:
            candidates.append(self._best)
            self._best = None
        self.keyframes.append(self._write(_choose(candidates, (self._shot_start + index - 1) / 2)))
        self.cuts.append(index)
        self._shot_start = index

    def remove_stale_keyframes(self) -> None:
        """Delete keyframes of an earlier run that had more shots."""
        written = {Path(k.path).name for k in self.keyframes if k}
        for path in self.frames_dir.glob("shot-*.jpg"):
            if path.name not in written:
                path.unlink()

    def _write(self, frame: _Frame | None) -> _Keyframe | None:
        if frame is None:
            return None  # only when the detector reported a cut far later than it happened
        name = f"shot-{len(self.keyframes) + 1:03d}.jpg"
        encoded, jpeg = cv2.imencode(".jpg", frame.best_image, [cv2.IMWRITE_JPEG_QUALITY, 90])
        if not encoded:
            raise ToolError(f"{self.frames_dir / name}: OpenCV could not encode the keyframe")
        # written by Python, not cv2.imwrite: a full disk is then an OSError that says so
        write_bytes_atomic(self.frames_dir / name, jpeg.tobytes())
        quality = frame.quality or measure_quality(frame.best_image)
        return _Keyframe(path=f"{self.frames_dir.name}/{name}", time=frame.time, quality=quality)


def _choose(candidates: list[_Frame], middle_index: float) -> _Frame | None:
    """The sharpest sampled candidate, else the one nearest the shot's middle."""
    sampled = [f for f in candidates if f.quality is not None]
    if sampled:
        return max(sampled, key=lambda f: (f.quality.sharpness if f.quality else 0.0, -f.index))
    return min(candidates, key=lambda f: abs(f.index - middle_index), default=None)


def _sharper(frame: _Frame, than: _Frame) -> bool:
    return (
        frame.quality is not None
        and than.quality is not None
        and frame.quality.sharpness > than.quality.sharpness
    )


# --- faces -----------------------------------------------------------------------------------


class _FaceFinder:
    """Frontal faces (Haar cascade) and smiles inside them, boxes in full display resolution."""

    def __init__(self, display_width: int, display_height: int) -> None:
        self.display_width = display_width
        self.display_height = display_height
        self.area = display_width * display_height
        self._faces = _cascade("haarcascade_frontalface_default.xml")
        self._smiles = _cascade("haarcascade_smile.xml")

    def find(self, grey: np.ndarray) -> list[FaceBox]:
        """Faces in an upright grey analysis frame, largest first."""
        height, width = grey.shape
        side = max(24, round(MIN_FACE_SHARE_OF_SIDE * min(width, height)))
        # scale steps of 1.2 halve the cost of 1.1 and found the same faces in the dev recordings
        found = self._faces.detectMultiScale(grey, scaleFactor=1.2, minNeighbors=5, minSize=(side, side))
        scale_x, scale_y = self.display_width / width, self.display_height / height
        boxes = [
            FaceBox(
                x=round(x * scale_x),
                y=round(y * scale_y),
                w=round(w * scale_x),
                h=round(h * scale_y),
                smile=self._smiling(grey[y + h // 2 : y + h, x : x + w]),
            )
            for x, y, w, h in found
        ]
        return sorted(boxes, key=lambda b: -b.w * b.h)

    def _smiling(self, mouth_area: np.ndarray) -> bool:
        height, width = mouth_area.shape
        # a smile is wide and many overlapping detections agree; fewer neighbours fire on any mouth
        smiles = self._smiles.detectMultiScale(
            mouth_area, scaleFactor=1.7, minNeighbors=22, minSize=(max(1, width // 4), max(1, height // 4))
        )
        return len(smiles) > 0


def _cascade(name: str) -> cv2.CascadeClassifier:
    path = Path(cv2.data.haarcascades) / name  # type: ignore[attr-defined]  # OpenCV's stubs leave out cv2.data
    classifier = cv2.CascadeClassifier(str(path))
    if classifier.empty():
        raise ToolError(f"{path}: OpenCV Haar cascade missing — reinstall opencv-python-headless<5")
    return classifier


# --- highlights and helpers ------------------------------------------------------------------


def _sharpness_scale(samples: Sequence[_Sample]) -> float:
    """Sharpness that counts as fully sharp in this video: the 90th percentile, robust to one odd frame."""
    values = sorted(s.quality.sharpness for s in samples)
    return values[min(len(values) - 1, int(0.9 * len(values)))] or 1.0


def _highlight(sample: _Sample, sharpness_scale: float) -> VisualHighlight:
    """Score in [0, 1] from face size, smile, sharpness and exposure, with the reason in words."""
    face = min(1.0, sample.largest_face_share / LARGE_FACE_SHARE)
    smile = any(f.smile for f in sample.faces)
    sharp = min(1.0, sample.quality.sharpness / sharpness_scale)
    exposure = _exposure(sample.quality)
    score = 0.45 * face + 0.15 * smile + 0.25 * sharp + 0.15 * exposure
    return VisualHighlight(
        time=sample.time,
        score=round(min(1.0, max(0.0, score)), 4),
        reason=_reason(face, smile, sharp, sample.quality, bool(sample.faces)),
        face_share=sample.largest_face_share,
        smile=smile,
        sharpness=sample.quality.sharpness,
    )


def _exposure(quality: Quality) -> float:
    """1 for mid-grey brightness with decent contrast, falling to 0 for black, white or flat frames."""
    level = max(0.0, 1 - abs(quality.brightness - 128) / 128)
    return level * min(1.0, quality.contrast / 48)


def _reason(face: float, smile: bool, sharp: float, quality: Quality, has_face: bool) -> str:
    sharpness = "sharp " if sharp >= 0.7 else "soft " if sharp < 0.3 else ""
    size = "large" if face >= 0.75 else "small"
    parts = [f"{size} {sharpness}face" if has_face else f"{sharpness}frame without a face"]
    if smile:
        parts.append("smiling")
    if quality.brightness < 60:
        parts.append("dark")
    elif quality.brightness > 200:
        parts.append("overexposed")
    elif quality.contrast < 20:
        parts.append("flat")
    return ", ".join(parts)


def _mean_quality(qualities: list[Quality]) -> Quality | None:
    if not qualities:
        return None
    return Quality(
        sharpness=statistics.fmean(q.sharpness for q in qualities),
        brightness=statistics.fmean(q.brightness for q in qualities),
        contrast=statistics.fmean(q.contrast for q in qualities),
        colourfulness=statistics.fmean(q.colourfulness for q in qualities),
    )


def _frame_rate(media: MediaInfo) -> Fraction:
    """The average frame rate as a fraction; PySceneDetect wants one even for variable-rate video."""
    video = media.video
    fps = (video.fps or video.nominal_fps) if video else 0.0
    return Fraction(fps or 25.0).limit_denominator(100_000)
