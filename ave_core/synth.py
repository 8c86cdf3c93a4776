"""Synthetic talking-head recordings with exact ground truth, for the demo, the tests and benchmarks.

Speech comes from espeak-ng, one utterance at a time, so every phrase, filler and pause has a known
start and end; the picture is a sequence of visually distinct ffmpeg test sources with known cuts.

    python -m ave_core.synth demo examples/demo/input/talk.mp4
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import wave
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import ToolError
from .models import Segment, Transcript, Word, make_producer
from .publish import publishing, write_text_atomic
from .tools import ffmpeg_binary, run_tool

if TYPE_CHECKING:
    from PIL import Image

SAMPLE_RATE = 22050  # espeak-ng's native rate
SILENCE_LEVEL = 0.01  # |sample| below this counts as silence when trimming an utterance


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    """`samples` (floats in [-1, 1]) as a 16-bit mono WAV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())


FILLERS = {"um", "uh", "erm", "hmm"}
MARKER_BOX = (8, 8, 32, 24)  # x, y, width, height of a sync mark: white left half, black right half

# (text, pause after in seconds). Fillers are their own utterances so their times are exact.
DEMO_SCRIPT: list[tuple[str, float]] = [
    ("Welcome to this short lesson about saving energy at home.", 0.6),
    ("um", 0.4),
    ("Heating is the biggest part of most energy bills.", 1.5),
    ("In a typical house it uses about 60 percent of all the energy.", 0.8),
    ("uh", 0.5),
    ("The first step is simple.", 0.3),
    ("Turn the thermostat down by one degree.", 2.0),
    ("That alone can cut your heating bill by 10 percent.", 0.9),
    ("um", 0.6),
    ("The second step is", 0.5),
    ("The second step is insulation.", 1.2),
    ("Most heat escapes through the roof and the walls.", 0.7),
    ("A well insulated loft saves around 300 dollars a year.", 2.5),
    ("uh", 0.4),
    ("The third step is the windows.", 0.8),
    ("Double glazing keeps the heat inside and the noise outside.", 1.0),
    ("um", 0.5),
    ("Finally, think about the lights.", 0.6),
    ("Modern LED bulbs use 80 percent less power than old ones.", 1.8),
    ("So remember the three steps: thermostat, insulation, and windows.", 0.7),
    ("Thanks for watching, and see you in the next lesson.", 1.0),
]

# lavfi sources that look nothing alike, so each shot change is a clear cut
SHOT_SOURCES = [
    "testsrc2=size={w}x{h}:rate={fps}",
    "smptehdbars=size={w}x{h}:rate={fps}",
    "mandelbrot=size={w}x{h}:rate={fps}",
    "color=c=0x1f4e79:size={w}x{h}:rate={fps},drawgrid=w=80:h=80:t=4:c=white@0.6",
    "rgbtestsrc=size={w}x{h}:rate={fps}",
    "color=c=0xe0a030:size={w}x{h}:rate={fps},drawbox=x=iw/4:y=ih/4:w=iw/2:h=ih/2:c=0x203040:t=fill",
]


@dataclass
class Utterance:
    text: str
    start: float
    end: float
    is_filler: bool
    is_retake: bool = False  # a false start: the next utterance begins with the same words


@dataclass
class Truth:
    """What a synthetic recording contains, in seconds."""

    duration: float
    width: int
    height: int
    fps: float
    utterances: list[Utterance] = field(default_factory=list)
    pauses: list[tuple[float, float]] = field(default_factory=list)
    shot_cuts: list[float] = field(default_factory=list)

    @property
    def fillers(self) -> list[Utterance]:
        return [u for u in self.utterances if u.is_filler]

    @property
    def retakes(self) -> list[Utterance]:
        return [u for u in self.utterances if u.is_retake]

    def to_json(self) -> str:
        data = asdict(self)
        data["fillers"] = [asdict(u) for u in self.fillers]
        data["retakes"] = [asdict(u) for u in self.retakes]
        return json.dumps(data, indent=2) + "\n"


def espeak_binary() -> str:
    found = shutil.which("espeak-ng")
    if not found:
        raise ToolError("espeak-ng not found — install it (apt-get install espeak-ng)")
    return found


def speak(text: str, voice: str = "en-us", words_per_minute: int = 160) -> np.ndarray:
    """One utterance from espeak-ng as float32 samples at SAMPLE_RATE, silence trimmed."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "u.wav"
        run_tool(
            [espeak_binary(), "-v", voice, "-s", str(words_per_minute), "-w", str(out), text],
            what=f"speaking {text!r}",
        )
        with wave.open(str(out), "rb") as handle:
            rate = handle.getframerate()
            raw = handle.readframes(handle.getnframes())
    if rate != SAMPLE_RATE:
        raise ToolError(f"espeak-ng wrote {rate} Hz, expected {SAMPLE_RATE} Hz")
    samples = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    loud = np.flatnonzero(np.abs(samples) > SILENCE_LEVEL)
    return samples[loud[0] : loud[-1] + 1] if loud.size else samples[:0]


def build_speech(
    script: list[tuple[str, float]],
    lead_in: float = 1.0,
    repeat: int = 1,
    voice: str = "en-us",
    words_per_minute: int = 160,
) -> tuple[np.ndarray, list[Utterance], list[tuple[float, float]]]:
    """The whole soundtrack, its utterances and its pauses; the script is spoken `repeat` times."""
    spoken = {text: speak(text, voice, words_per_minute) for text in dict.fromkeys(t for t, _ in script)}
    pieces = [np.zeros(int(lead_in * SAMPLE_RATE), dtype=np.float32)]
    cursor = len(pieces[0])
    utterances: list[Utterance] = []
    pauses: list[tuple[float, float]] = [(0.0, round(lead_in, 4))] if lead_in > 0 else []
    for _ in range(repeat):
        for text, pause in script:
            clip = spoken[text]
            start = cursor / SAMPLE_RATE
            cursor += clip.size
            end = cursor / SAMPLE_RATE
            utterances.append(Utterance(text, round(start, 4), round(end, 4), text.lower() in FILLERS))
            gap = np.zeros(int(round(pause * SAMPLE_RATE)), dtype=np.float32)
            pauses.append((round(end, 4), round((cursor + gap.size) / SAMPLE_RATE, 4)))
            cursor += gap.size
            pieces += [clip, gap]
    mark_retakes(utterances)
    return np.concatenate(pieces), utterances, pauses


def _words(text: str) -> list[str]:
    return [w.strip(".,!?;:").lower() for w in text.split()]


def mark_retakes(utterances: list[Utterance]) -> None:
    """Flag utterances whose words the next spoken (non-filler) utterance starts with."""
    spoken = [u for u in utterances if not u.is_filler]
    for first, second in zip(spoken, spoken[1:], strict=False):
        head = _words(first.text)
        following = _words(second.text)
        first.is_retake = len(head) < len(following) and following[: len(head)] == head


def make_recording(
    output: str | Path,
    script: list[tuple[str, float]] | None = None,
    *,
    width: int = 1280,
    height: int = 720,
    fps: int = 25,
    shots: int = 5,
    repeat: int = 1,
    audio: bool = True,
    crf: int = 28,
    markers: bool = False,
    voice: str = "en-us",
    words_per_minute: int = 160,
) -> Truth:
    """Write a talking-head-like video of `script` to `output` and its truth to OUTPUT.truth.json.

    `markers` flashes a sync mark (MARKER_BOX) on the two frames where each utterance starts: where the
    picture and the words of an edit line up, each mark comes with the onset of a word.
    """
    target = Path(output)
    target.parent.mkdir(parents=True, exist_ok=True)
    samples, utterances, pauses = build_speech(
        script or DEMO_SCRIPT, repeat=repeat, voice=voice, words_per_minute=words_per_minute
    )
    duration = round(samples.size / SAMPLE_RATE, 4)
    # shot cuts on whole frames, spread evenly but not on round numbers
    cuts = [round(round(duration * k / shots * fps + 0.37 * k) / fps, 4) for k in range(1, shots)]
    bounds = [0.0, *cuts, duration]
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        write_wav(wav, samples, SAMPLE_RATE)
        args: list[str] = [ffmpeg_binary(), "-nostdin", "-v", "error", "-y"]
        graph = []
        for k in range(shots):
            source = SHOT_SOURCES[k % len(SHOT_SOURCES)].format(w=width, h=height, fps=fps)
            length = bounds[k + 1] - bounds[k]
            args += ["-f", "lavfi", "-t", f"{length:.4f}", "-i", source]
            graph.append(f"[{k}:v]format=yuv420p,setsar=1[v{k}]")
        graph.append("".join(f"[v{k}]" for k in range(shots)) + f"concat=n={shots}:v=1:a=0[v]")
        if markers:
            graph[-1] = graph[-1].removesuffix("[v]") + "[plain]"
            graph.append(f"[plain]{_marker_filter(utterances, fps)}[v]")
        args += ["-i", str(wav), "-filter_complex", ";".join(graph), "-map", "[v]"]
        if audio:
            args += ["-map", f"{shots}:a", "-c:a", "aac", "-b:a", "96k", "-ar", "48000"]
        args += ["-c:v", "libx264", "-preset", "ultrafast", "-crf", str(crf), "-g", str(fps * 2)]
        with publishing(target) as (partial,):
            args += ["-t", f"{duration:.4f}", "-movflags", "+faststart", str(partial)]
            run_tool(args, what=f"{target}: generating")
    truth = Truth(
        duration=duration,
        width=width,
        height=height,
        fps=fps,
        utterances=utterances if audio else [],
        pauses=pauses if audio else [],
        shot_cuts=cuts,
    )
    write_text_atomic(target.with_suffix(".truth.json"), truth.to_json())
    return truth


# --- talks with a face to follow ------------------------------------------------------------------------


@dataclass
class FaceMove:
    """A face crossing a shot in a straight line: its centre from x_from to x_to (shares of the frame's width)
    at height y (share of its height); `size` is the face's height as a share of the frame's."""

    x_from: float
    x_to: float
    y: float = 0.45
    size: float = 0.45
    speaks: bool = True


@dataclass
class FaceShot:
    """A shot of a face talk: its share of the duration, a background colour, and the faces in it."""

    share: float
    background: tuple[int, int, int]
    faces: list[FaceMove]


@dataclass
class FaceTruth(Truth):
    """A face talk's truth: the Truth of its speech and shots, and every face's box at every frame."""

    # per frame, per face: [x, y, w, h, speaks] in pixels (speaks 1 or 0)
    faces: list[list[list[int]]] = field(default_factory=list)


def drawn_face(height: int, mouth_open: float = 0.0) -> Image.Image:
    """A cartoon face (PIL RGB image) `height` pixels high that OpenCV's frontal Haar cascade finds: skin,
    hair, brows, eyes, nose and a mouth opened by `mouth_open` (0-1)."""
    from PIL import Image, ImageDraw, ImageFilter

    width = max(8, round(height * 0.8))
    image = Image.new("RGB", (width, height), (40, 60, 90))
    draw = ImageDraw.Draw(image)
    w, h = width, height
    draw.ellipse([w * 0.1, h * 0.05, w * 0.9, h * 0.95], fill=(225, 180, 150))
    draw.chord([w * 0.1, 0, w * 0.9, h * 0.5], 180, 360, fill=(60, 40, 30))
    for cx in (0.33, 0.67):
        draw.rectangle([w * (cx - 0.12), h * 0.33, w * (cx + 0.12), h * 0.36], fill=(50, 35, 25))
        draw.ellipse([w * (cx - 0.09), h * 0.39, w * (cx + 0.09), h * 0.47], fill=(255, 255, 255))
        draw.ellipse([w * (cx - 0.045), h * 0.40, w * (cx + 0.045), h * 0.46], fill=(30, 20, 20))
    draw.polygon([(w * 0.5, h * 0.45), (w * 0.44, h * 0.62), (w * 0.56, h * 0.62)], fill=(200, 150, 125))
    opening = h * (0.02 + 0.1 * mouth_open)
    draw.ellipse([w * 0.36, h * 0.72 - opening / 2, w * 0.64, h * 0.72 + opening / 2], fill=(120, 40, 40))
    return image.filter(ImageFilter.GaussianBlur(max(0.5, height / 100)))


MOUTH_STEPS = 6  # mouth openings drawn (0 .. 1)


def _speech_level(samples: np.ndarray, times: np.ndarray, window_s: float) -> np.ndarray:
    """Speech loudness (0-1) around each time: RMS over `window_s`, over the loudest stretch's."""
    half = max(1, int(window_s * SAMPLE_RATE / 2))
    levels = np.array(
        [
            float(
                np.sqrt(
                    np.mean(samples[max(0, int(t * SAMPLE_RATE) - half) : int(t * SAMPLE_RATE) + half] ** 2)
                )
            )
            if int(t * SAMPLE_RATE) - half < samples.size
            else 0.0
            for t in times
        ]
    )
    return levels / (levels.max() or 1.0)


def make_face_talk(
    output: str | Path,
    script: list[tuple[str, float]] | None = None,
    *,
    shots: list[FaceShot] | None = None,
    width: int = 640,
    height: int = 360,
    fps: int = 25,
    picture: str | Path | None = None,
    audio: bool = True,
    crf: int = 26,
) -> FaceTruth:
    """A talk over pictures of faces that move as `shots` say (one face crossing from left to right by
    default), each speaking face's mouth opening with the speech; `picture` (a photo of a face) replaces the
    drawn face. Writes `output` and its truth, with every face's box at every frame, to OUTPUT.truth.json."""
    from PIL import Image

    target = Path(output)
    target.parent.mkdir(parents=True, exist_ok=True)
    samples, utterances, pauses = build_speech(script or DEMO_SCRIPT)
    duration = round(samples.size / SAMPLE_RATE, 4)
    shots = shots or [FaceShot(1.0, (70, 90, 80), [FaceMove(0.2, 0.8)])]
    total = sum(s.share for s in shots)
    frames = int(duration * fps)
    bounds = [0]
    for shot in shots:
        bounds.append(min(frames, bounds[-1] + round(shot.share / total * frames)))
    bounds[-1] = frames
    photo = Image.open(picture).convert("RGB") if picture else None
    level = _speech_level(samples, np.arange(frames) / fps, 2 / fps) if audio else np.zeros(frames)
    faces_truth: list[list[list[int]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        write_wav(wav, samples, SAMPLE_RATE)
        args: list[str] = [ffmpeg_binary(), "-nostdin", "-v", "error", "-y", "-f", "rawvideo"]
        args += ["-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(fps), "-i", "-"]
        if audio:
            args += [
                "-i",
                str(wav),
                "-map",
                "0:v",
                "-map",
                "1:a",
                "-c:a",
                "aac",
                "-b:a",
                "96k",
                "-ar",
                "48000",
            ]
        args += ["-c:v", "libx264", "-preset", "ultrafast", "-crf", str(crf), "-pix_fmt", "yuv420p"]
        args += ["-g", str(fps * 2), "-t", f"{duration:.4f}", "-movflags", "+faststart", str(target)]
        drawn: dict[tuple[int, int], Image.Image] = {}
        with subprocess.Popen(args, stdin=subprocess.PIPE, stderr=subprocess.PIPE) as encoder:
            assert encoder.stdin is not None
            for number, shot in enumerate(shots):
                first, end = bounds[number], bounds[number + 1]
                backdrop = Image.new("RGB", (width, height), shot.background)
                shade = tuple(max(0, c - 30) for c in shot.background)
                backdrop.paste(shade, (0, int(height * 0.7), width, height))  # a desk
                backdrop.paste(
                    tuple(min(255, c + 40) for c in shot.background),
                    (int(width * 0.05), int(height * 0.1), int(width * 0.2), int(height * 0.45)),
                )  # a window
                for k in range(first, end):
                    frame = backdrop.copy()
                    progress = (k - first) / max(1, end - first - 1)
                    boxes = []
                    for face in shot.faces:
                        face_h = max(8, round(face.size * height))
                        mouth = round(level[k] * (MOUTH_STEPS - 1)) if face.speaks else 0
                        if photo is not None:
                            key = (face_h, -1)
                            if key not in drawn:
                                drawn[key] = photo.resize(
                                    (max(8, round(face_h * photo.width / photo.height)), face_h)
                                )
                        else:
                            key = (face_h, mouth)
                            if key not in drawn:
                                drawn[key] = drawn_face(face_h, mouth / (MOUTH_STEPS - 1))
                        image = drawn[key]
                        cx = (face.x_from + (face.x_to - face.x_from) * progress) * width
                        x = round(cx - image.width / 2)
                        y = round(face.y * height - image.height / 2)
                        frame.paste(image, (x, y))
                        boxes.append([x, y, image.width, image.height, int(face.speaks)])
                    faces_truth.append(boxes)
                    encoder.stdin.write(frame.tobytes())
            encoder.stdin.close()
            encoder.wait()
            if encoder.returncode != 0:
                assert encoder.stderr is not None
                raise ToolError(
                    f"{target}: generating: ffmpeg failed: {encoder.stderr.read().decode()[-300:]}"
                )
    truth = FaceTruth(
        duration=duration,
        width=width,
        height=height,
        fps=fps,
        utterances=utterances if audio else [],
        pauses=pauses if audio else [],
        shot_cuts=[round(b / fps, 4) for b in bounds[1:-1]],
        faces=faces_truth,
    )
    target.with_suffix(".truth.json").write_text(truth.to_json(), encoding="utf-8")
    return truth


def _marker_filter(utterances: list[Utterance], fps: int) -> str:
    """drawbox filters that paint MARKER_BOX on the two frames where each utterance starts."""
    frames = [int(u.start * fps) for u in utterances]
    enable = "+".join(f"between(n,{f},{f + 1})" for f in frames) or "0"
    x, y, w, h = MARKER_BOX
    return (
        f"drawbox=x={x}:y={y}:w={w // 2}:h={h}:color=white:t=fill:enable='{enable}',"
        f"drawbox=x={x + w // 2}:y={y}:w={w // 2}:h={h}:color=black:t=fill:enable='{enable}'"
    )


def truth_transcript(truth: Truth) -> Transcript:
    """The transcript a perfect recogniser would write for a generated talk: its words, each utterance's time
    shared among them by their letters, fillers marked."""
    words, segments = [], []
    for utterance in truth.utterances:
        parts = utterance.text.split()
        letters = [len(p) + 1 for p in parts]
        step = (utterance.end - utterance.start) / sum(letters)
        cursor = utterance.start
        for part, count in zip(parts, letters, strict=True):
            end = cursor + count * step
            words.append(
                Word(
                    word=part,
                    start=round(cursor, 3),
                    end=round(end, 3),
                    probability=1.0,
                    is_filler=utterance.is_filler,
                )
            )
            cursor = end
        segments.append(Segment(start=utterance.start, end=utterance.end, text=utterance.text))
    return Transcript(
        producer=make_producer("transcribe", "truth"),
        language="en",
        text=" ".join(u.text for u in truth.utterances),
        segments=segments,
        words=words,
        backend="sidecar",
        model="synthetic truth",
    )


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "demo":
        print("usage: python -m ave_core.synth demo OUTPUT.mp4", file=sys.stderr)
        return 2
    target = Path(argv[1])
    if target.exists() and target.with_suffix(".truth.json").exists():
        print(f"{target} exists")
        return 0
    try:
        truth = make_recording(target)
    except (ToolError, subprocess.SubprocessError) as exc:
        print(f"ave synth: error: {exc}", file=sys.stderr)
        return 1
    print(
        f"wrote {target}: {truth.duration:.1f} s, {len(truth.utterances)} utterances, "
        f"{len(truth.fillers)} fillers, {len(truth.retakes)} retakes, {len(truth.shot_cuts)} cuts"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
