"""Shorts, measured: the crop that follows the speaker, word boundaries, caption drift and render time.

    .venv/bin/python -m bench.shorts     (writes bench/out/shorts.json and its section of docs/benchmarks.md)

Material. Tuning (the thresholds and the tests were built on it): a talk with a drawn cartoon face crossing
the picture, and the same face in close-up, wider than the 9:16 crop (its shorts zoom out: it measures the
zooming render and its captions, not the margin). Held out (nothing was tuned on it): real footage with
faces (the GRID clips of ../shared/media/dev and every clip of ../shared/media/eval in which the scenes stage
finds a face in half its samples), the face photos of ../shared/media/dev/faces held still off-centre in a
1280x720 frame, and a talk in which one of those photos moves across a background over two shots (the moving
face proxy), with espeak-ng speech.

1. The crop path over each clip (the clip as one short, 9:16 of its picture, default settings): the share of
   its frames in which a face found independently (Haar at every frame, with finer steps than the scenes
   stage's 2 Hz samples; for the drawn face, its true box) lies inside the crop; the jitter (mean |second
   difference| of the crop centre, px/frame²) of the smoothed path and of an unsmoothed face-follow (the crop
   centred on the interpolated face at every frame); moves of an edge of the window shown (the crop, or the
   wider window where the short zooms out to hold a face wider than the crop) larger than JUMP_SHARE of the
   crop's width between two frames away from a picture cut; the share of frames zoomed out, and how far.
2. The shorts chosen on the talks (and on auto-editor's real speech, min_s lowered to fit its 17 s of speech):
   words clipped by a short's edges (against its transcript, and for the generated talks against the true
   utterance edges), the sound level in the first and last 30 ms against the short's speech, the caption
   drift (the frame where the highlight moves, read from the rendered short's pixels, against the frame its
   word starts), and the render time of a short against a plain x264 encode of the same length at the same
   size, preset and CRF, in the same run (each talk's first short A B A B, its others once: the render is the
   benchmark's longest part).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ave_core.analysis import analyze_content
from ave_core.audio import analyze_audio, read_pcm16
from ave_core.config import (
    AnalysisConfig,
    AsrConfig,
    AudioConfig,
    DirectorConfig,
    ScenesConfig,
    ShortsLook,
    ShortsMoments,
    VadConfig,
)
from ave_core.director import DirectorInput, rule_based_plan
from ave_core.media import probe
from ave_core.models import Shorts, Transcript
from ave_core.reframe import CropSettings, crop_size, grey_decoder, plan_crop, short_frames, short_size
from ave_core.render import Piece
from ave_core.shorts import edit_of, render_short, select_shorts
from ave_core.synth import DEMO_SCRIPT, FaceMove, FaceShot, make_face_talk, truth_transcript
from ave_core.timebase import decode_source_audio
from ave_core.timemap import FrameGrid, output_fps
from ave_core.transcript import transcribe_video
from ave_core.vision import analyze_scenes
from ave_core.word_captions import word_frame
from bench.common import DEV, OUT, REPO, SHARED, model_path, replace_section

DOC = REPO / "docs" / "benchmarks.md"
SECTION = ("<!-- bench/shorts.py: begin -->", "<!-- bench/shorts.py: end -->")
JUMP_SHARE = 0.1  # a move of more than this share of the crop's width in one frame is a jump (a cut)
EDGE_S = 0.03
MIN_FACE_SAMPLES = 0.5  # eval clips with a face in fewer of the scenes stage's samples are not about a face
SHOTS = [
    FaceShot(0.6, (70, 90, 80), [FaceMove(0.2, 0.8, size=0.55)]),
    FaceShot(0.4, (95, 75, 60), [FaceMove(0.78, 0.35, size=0.5)]),
]

CLOSE_UP = [  # a drawn face wider than the 9:16 crop (245 and 230 px against 202): the short zooms out
    FaceShot(0.6, (70, 90, 80), [FaceMove(0.4, 0.6, size=0.85)]),
    FaceShot(0.4, (95, 75, 60), [FaceMove(0.55, 0.45, size=0.8)]),
]


class Clip:
    """A clip and the artifacts the shorts read, made by the real stages."""

    def __init__(self, name: str, source: Path, folder: Path, transcript: str = "none", truth=None) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.name, self.source, self.truth = name, source, truth
        self.truth_is_box = False  # whether the truth's boxes are the faces themselves (a drawn face)
        self.media = probe(source, slug="clip")
        self.scenes = analyze_scenes(source, self.media, ScenesConfig(), folder / "frames")
        self.folder = folder
        self.wav, self.sound = folder / "clip.wav", folder / "clip_48k.wav"
        self.transcript: Transcript | None = None
        if transcript != "none":
            decode_source_audio(source, self.media, self.sound, self.wav)
            self.audio = analyze_audio(self.sound, self.wav, self.media, VadConfig(), AudioConfig())
            if transcript == "truth":
                self.transcript = truth_transcript(truth)
            else:
                asr = AsrConfig(model=model_path())
                self.transcript = transcribe_video(self.wav, self.audio, [], asr, cpu_threads=2)
            self.analysis = analyze_content(
                self.transcript,
                self.audio,
                AnalysisConfig(),
                wav_path=self.wav,
                duration_s=self.media.duration_s,
            )
            context = DirectorInput(
                self.media.duration_s, self.audio, self.transcript, self.analysis, self.scenes,
                FrameGrid.of(self.media),
            )  # fmt: skip
            self.plan = rule_based_plan(context, DirectorConfig())

    @property
    def size(self) -> tuple[int, int]:
        video = self.media.video
        assert video is not None
        return video.display_width - video.display_width % 2, video.display_height - video.display_height % 2

    def face_share(self) -> float:
        return sum(bool(s.faces) for s in self.scenes.faces) / max(1, len(self.scenes.faces))


# --- 1. the crop path ------------------------------------------------------------------------------


def reference_faces(clip: Clip) -> list[list[tuple[int, int, int, int]]]:
    """The faces at every frame, found by OpenCV's Haar cascade with finer steps than the scenes stage uses
    (scale 1.1 against 1.2, at full size against 640 px)."""
    if clip.truth is not None and clip.truth.faces and clip.truth_is_box:
        return [[tuple(face[:4]) for face in faces] for faces in clip.truth.faces]
    width, height = clip.size
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(clip.source), "-vf", f"scale={width}:{height},format=gray",
         "-f", "rawvideo", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    frames = np.frombuffer(raw, np.uint8).reshape(-1, height, width)
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    side = max(24, round(0.08 * min(width, height)))
    found = []
    for frame in frames:
        boxes = cascade.detectMultiScale(frame, scaleFactor=1.1, minNeighbors=5, minSize=(side, side))
        found.append([tuple(int(v) for v in box) for box in boxes])
    return found


def crop_figures(clip: Clip) -> dict[str, Any]:
    """The crop path over the whole clip, against faces found at every frame."""
    fps = output_fps(clip.media)
    frames_total = FrameGrid.of(clip.media).end_frame
    frames = short_frames([Piece(0, frames_total)], fps, [s.start for s in clip.scenes.shots[1:]])
    output = short_size("9:16", 1080)
    crop = plan_crop(
        frames, fps, clip.scenes, clip.size, output, CropSettings(),
        grey_decoder(clip.source, clip.size), getattr(clip, "audio", None),
    )  # fmt: skip
    reference = reference_faces(clip)
    inside = counted = 0
    widths = []
    whole = crop.mode == "letterbox"  # the whole frame is in the short: every face is
    windows = crop.width * (np.array(crop.zoom) if crop.zoom else np.ones(len(crop.x)))
    for index, boxes in enumerate(reference[: len(crop.x) or len(reference)]):
        if not boxes:
            continue
        counted += 1
        widths += [w for _, _, w, _ in boxes]
        if whole:
            inside += 1
            continue
        # with two people on screen the crop shows one of them: a face, whole, is what counts
        inside += any(
            crop.x[index] - 0.5 <= x and x + w <= crop.x[index] + windows[index] + 0.5 for x, _, w, _ in boxes
        )
    xs = np.array(crop.x)
    # an edge of the window shown (the crop, or wider where it zooms out) moving between two frames
    moves = (
        np.maximum(np.abs(np.diff(xs)), np.abs(np.diff(xs + windows[: xs.size])))
        if xs.size > 1
        else np.array([0.0])
    )
    cuts = set(frames.cuts)
    away = [i for i, m in enumerate(moves) if i + 1 not in cuts]
    jumps = sum(moves[i] > JUMP_SHARE * crop.width for i in away)
    return {
        "clip": clip.name,
        "size": f"{clip.size[0]}x{clip.size[1]}",
        "frames": len(crop.x),
        "mode": crop.mode,
        "speaker": crop.speaker,
        "crop": f"{crop.width}x{crop.height}",
        "reference_frames": counted,
        "face_over_crop_width": round(float(np.median(widths)) / crop_size(clip.size, output)[0], 2)
        if widths
        else None,
        "face_inside": round(inside / counted, 4) if counted else None,
        "zoomed_out_share": crop.zoomed_out_share,
        "largest_zoom": max(crop.zoom, default=1.0),
        "jitter": crop.jitter_px_per_frame2,
        "unsmoothed_jitter": crop.unsmoothed_jitter_px_per_frame2,
        "picture_cuts": len(cuts),
        "jumps_away_from_cuts": int(jumps),
        "largest_move_away_from_cuts_px": round(float(max((moves[i] for i in away), default=0.0)), 2),
    }


# --- 2. the shorts ----------------------------------------------------------------------------------


def clipped_words(clip: Clip, shorts: Shorts) -> dict[str, int]:
    """Words (of the transcript, and for a generated talk the true utterances) a short's edges cut into."""
    edit = edit_of(clip.plan, clip.media, clip.transcript)
    by_transcript = by_truth = 0
    utterances = []
    if clip.truth is not None:
        for u in clip.truth.utterances:
            extent = edit.edit_map.span_to_edited(u.start, u.end)
            if extent is not None and edit.edit_map.to_edited((u.start + u.end) / 2) is not None:
                utterances.append(extent)
    for short in shorts.shorts:
        for start, end in edit.audible:
            by_transcript += start < short.start - 0.001 < end or start < short.end - 0.001 < end
        for start, end in utterances:
            by_truth += start + 0.001 < short.start < end - 0.001 or start + 0.001 < short.end < end - 0.001
    return {"by_transcript": by_transcript, "by_truth": by_truth if clip.truth is not None else None}


def edge_levels(path: Path) -> tuple[float, float]:
    """dB of the first and last EDGE_S of a short's sound against the median of its loud 50 ms windows."""
    wav = path.with_suffix(".16k.wav")
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(path), "-ac", "1", "-ar", "16000", str(wav)], check=True
    )
    samples, rate = read_pcm16(wav)
    wav.unlink()
    samples = samples.astype(np.float64)
    edge = int(EDGE_S * rate)
    window = int(0.05 * rate)
    levels = [np.sqrt(np.mean(samples[i : i + window] ** 2)) for i in range(0, samples.size - window, window)]
    speech = np.median([v for v in levels if v > np.max(levels) * 0.1]) + 1e-9

    def db(part: np.ndarray) -> float:
        return round(20 * np.log10((np.sqrt(np.mean(part**2)) + 1e-9) / speech), 1)

    return db(samples[:edge]), db(samples[-edge:])


def caption_drift(path: Path, short, shorts: Shorts) -> dict[str, Any]:
    """Where the highlight moves in the rendered short's pixels against where each word starts (frames)."""
    width, height = shorts.width, shorts.height
    top, band = int(height * 0.5), int(height * 0.3)
    small_w, small_h = width // 2, band // 2
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-vf",
         f"crop={width}:{band}:0:{top},scale={small_w}:{small_h}",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    frames = np.frombuffer(raw, np.uint8).reshape(-1, small_h, small_w, 3).astype(int)
    lit = (frames[..., 0] > 180) & (frames[..., 1] > 150) & (frames[..., 2] < 90)
    centres = [float(np.nonzero(m)[1].mean()) if m.sum() > 8 else None for m in lit]
    moved = [
        k
        for k in range(1, len(centres))
        if (centres[k] is None) != (centres[k - 1] is None)
        or (centres[k] is not None and abs(centres[k] - centres[k - 1]) > 2)
    ]
    fps = shorts.fps
    expected = sorted({word_frame(w.start, fps) for w in short.words})
    drifts, unmatched = [], 0
    for frame in expected:
        near = [m for m in moved if abs(m - frame) <= 3]
        if not near:
            unmatched += 1
            continue
        drifts.append(min(near, key=lambda m: abs(m - frame)) - frame)
    worst = max((abs(d) for d in drifts), default=None)
    return {
        "words": len(expected),
        "matched": len(drifts),
        "unmatched": unmatched,
        "worst_drift_ms": None if worst is None else round(worst * 1000 / fps, 1),
    }


def plain_encode(clip: Clip, short, shorts: Shorts, out: Path, look: ShortsLook) -> None:
    """The reference: the same length of the source at the short's size, preset and CRF, with AAC sound."""
    a = short.source_frames[0][0] / shorts.fps
    args = [
        "ffmpeg",
        "-v",
        "error",
        "-y",
        "-ss",
        f"{a:.3f}",
        "-i",
        str(clip.source),
        "-t",
        f"{short.duration_s:.3f}",
    ]
    args += ["-vf", f"scale={shorts.width}:{shorts.height}", "-c:v", "libx264", "-preset", look.preset]
    args += ["-crf", str(look.crf), "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "160k", str(out)]
    subprocess.run(args, check=True)


def short_figures(clip: Clip, moments: ShortsMoments, renders: int) -> dict[str, Any]:
    """Choose the clip's shorts, render them, and measure them; the render timed A B A B against x264."""
    shorts = select_shorts(
        clip.plan, clip.media, clip.transcript, clip.analysis, clip.audio, clip.scenes, moments, None,
        grey_decoder(clip.source, clip.size),
    )  # fmt: skip
    look = ShortsLook()
    result: dict[str, Any] = {
        "clip": clip.name,
        "edited_s": shorts.edited_duration_s,
        "candidates": shorts.candidates,
        "skip_reason": shorts.skip_reason,
        "clipped_words": clipped_words(clip, shorts),
        "shorts": [],
    }
    for short in shorts.shorts[:renders]:
        out = clip.folder / f"short-{short.number}.mp4"
        plain = clip.folder / f"plain-{short.number}.mp4"
        render_s, plain_s = [], []
        for _ in range(2 if short.number == 1 else 1):  # A B A B for the first short
            start = time.perf_counter()
            report = render_short(
                clip.source, clip.media, shorts, short.number, look, clip.sound, clip.wav, out, threads=2
            )
            render_s.append(time.perf_counter() - start)
            start = time.perf_counter()
            plain_encode(clip, short, shorts, plain, look)
            plain_s.append(time.perf_counter() - start)
        first_db, last_db = edge_levels(out)
        result["shorts"].append(
            {
                "number": short.number,
                "seconds": round(short.duration_s, 2),
                "hook": short.hook,
                "hook_kinds": short.hook_kinds,
                "score": short.score,
                "crop": short.crop.mode,
                "face_inside_samples": short.crop.face_inside,
                "loudness_lufs": report.loudness_lufs,
                "duration_error_s": round(report.duration_s - report.expected_duration_s, 4),
                "worst_join_ms": round(report.max_offset_s * 1000, 1),
                "edge_db": [first_db, last_db],
                "captions": caption_drift(out, short, shorts),
                "render_s": [round(t, 2) for t in render_s],
                "plain_x264_s": [round(t, 2) for t in plain_s],
                "render_over_plain": round(min(render_s) / min(plain_s), 2),
                "timed_runs": len(render_s),
            }
        )
    return result


# --- the run ----------------------------------------------------------------------------------------------


def clips(scratch: Path, only: str = "") -> tuple[list[Clip], list[Clip]]:
    """(clips for the crop figures, talks for the shorts), those whose name holds `only`."""
    crop_clips, talks = [], []

    def wanted(name: str) -> bool:
        return only in name

    if wanted("generated talk, drawn face"):
        drawn = scratch / "drawn-face-talk.mp4"
        truth = make_face_talk(drawn, DEMO_SCRIPT, shots=SHOTS)
        talk = Clip("generated talk, drawn face (tuning)", drawn, scratch / "drawn", "truth", truth)
        talk.truth_is_box = True
        crop_clips.append(talk)
        talks.append(talk)
    close_up = "generated talk, drawn close-up (zooms out; the drawn face is tuning material)"
    if wanted(close_up):
        path = scratch / "close-up-talk.mp4"
        truth = make_face_talk(path, DEMO_SCRIPT, shots=CLOSE_UP)
        talk = Clip(close_up, path, scratch / "close-up", "truth", truth)
        crop_clips.append(
            talk
        )  # Haar gives the face, as on real footage; the drawn box has corners of backdrop
        talks.append(talk)
    photos = sorted((DEV / "faces" / "face_recognition").glob("*.jpg")) if DEV.is_dir() else []
    if photos and wanted(f"generated talk, moving photo ({photos[0].name})"):
        moving = scratch / "photo-face-talk.mp4"
        truth = make_face_talk(moving, DEMO_SCRIPT, shots=SHOTS, picture=photos[0])
        talk = Clip(
            f"generated talk, moving photo ({photos[0].name})", moving, scratch / "moving", "truth", truth
        )
        crop_clips.append(talk)  # the photo is wider than the face: Haar gives the face, not the truth
        talks.append(talk)
    for photo in photos:
        if not wanted(f"photo held still, {photo.name}"):
            continue
        still = scratch / f"still-{photo.stem}.mp4"
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=0x405060:s=1280x720:r=25:d=8",
             "-loop", "1", "-i", str(photo), "-filter_complex",
             "[1:v]scale=-2:640[p];[0:v][p]overlay=x=W*0.62-w/2:y=40", "-t", "8", "-c:v", "libx264",
             "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(still)],
            check=True,
        )  # fmt: skip
        crop_clips.append(Clip(f"photo held still, {photo.name}", still, scratch / still.stem))
    for name in sorted((DEV / "grid").glob("*.mpg")) if DEV.is_dir() else []:
        if wanted(f"dev/grid/{name.name}"):
            crop_clips.append(Clip(f"dev/grid/{name.name}", name, scratch / name.stem))
    for name in sorted((SHARED / "media" / "eval").glob("*")):
        if name.suffix in (".mp4", ".mpg") and wanted(f"eval/{name.name}"):
            clip = Clip(f"eval/{name.name}", name, scratch / f"eval-{name.stem}")
            if clip.face_share() >= MIN_FACE_SAMPLES:
                crop_clips.append(clip)
    example = DEV / "speech" / "auto_editor_example" / "example.mp4"
    if example.is_file() and wanted("dev/speech/auto_editor_example") and not only:
        talks.append(
            Clip("dev/speech/auto_editor_example (real speech, ASR)", example, scratch / "example", "asr")
        )
    return crop_clips, talks


def markdown(result: dict[str, Any]) -> str:
    """The section of docs/benchmarks.md."""
    lines = [
        SECTION[0],
        "## Shorts",
        "",
        "Generated by `bench/shorts.py` (`.venv/bin/python -m bench.shorts`); raw figures in "
        "`bench/out/shorts.json`. " + result["note"],
        "",
        "### The crop that follows the speaker",
        "",
        "| clip | size | crop | mode | frames (with a reference face) | face width / crop width | a face "
        "whole inside the crop | zoomed out (widest window / crop) | jitter smoothed / unsmoothed "
        "(px/frame²) | jumps away from cuts (cuts) | largest move away from cuts |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in result["crop"]:
        inside = "–" if row["face_inside"] is None else f"{row['face_inside']:.1%}"
        lines.append(
            f"| {row['clip']} | {row['size']} | {row['crop']} | {row['mode']} | {row['frames']} "
            f"({row['reference_frames']}) | {row['face_over_crop_width']} | {inside} | "
            f"{row['zoomed_out_share']:.0%} ({row['largest_zoom']:.2f}x) | "
            f"{row['jitter']} / {row['unsmoothed_jitter']} | "
            f"{row['jumps_away_from_cuts']} ({row['picture_cuts']}) | "
            f"{row['largest_move_away_from_cuts_px']} px |"
        )
    lines += [
        "",
        "### The shorts",
        "",
        "| talk | short | s | hook | crop | words clipped (transcript / truth) | edges dB | caption drift, "
        "worst (words matched) | LUFS | render / plain x264 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for talk in result["shorts"]:
        clipped = talk["clipped_words"]
        truth = "–" if clipped["by_truth"] is None else clipped["by_truth"]
        if not talk["shorts"]:
            lines.append(f"| {talk['clip']} | – | – | {talk['skip_reason']} | | | | | | |")
        for short in talk["shorts"]:
            captions = short["captions"]
            cells = [
                talk["clip"],
                str(short["number"]),
                str(short["seconds"]),
                f"{short['hook']} ({', '.join(short['hook_kinds'])})",
                short["crop"],
                f"{clipped['by_transcript']} / {truth}",
                f"{short['edge_db'][0]} / {short['edge_db'][1]}",
                f"{captions['worst_drift_ms']} ms ({captions['matched']}/{captions['words']})",
                str(short["loudness_lufs"]),
                f"{short['render_over_plain']}x ({min(short['render_s'])} s / "
                f"{min(short['plain_x264_s'])} s)",
            ]
            lines.append("| " + " | ".join(cells) + " |")
    lines += ["", SECTION[1]]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        help="measure only the clips (and generated talks, with their shorts) whose name holds this text; "
        "printed, nothing written",
    )
    args = parser.parse_args()
    if args.only:
        scratch = Path(tempfile.mkdtemp(prefix="ave-bench-shorts-"))
        try:
            crop_clips, talks = clips(scratch, args.only)
            for clip in crop_clips:
                print(json.dumps(crop_figures(clip)))
            for talk in talks:  # a generated talk: its shorts too
                print(json.dumps(short_figures(talk, ShortsMoments(), renders=2)))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return
    started = time.time()
    load = os.getloadavg()
    scratch = Path(tempfile.mkdtemp(prefix="ave-bench-shorts-"))
    try:
        crop_clips, talks = clips(scratch)
        crop = [crop_figures(c) for c in crop_clips if crop_size(c.size, short_size("9:16", 1080))]
        shorts = [short_figures(t, ShortsMoments(), renders=2) for t in talks if "auto_editor" not in t.name]
        shorts += [
            short_figures(t, ShortsMoments(min_s=8, max_s=20), renders=1)
            for t in talks
            if "auto_editor" in t.name
        ]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    note = (
        f"Run on {platform.node() and 'this project’s machine'}: {os.cpu_count()} cores, load average "
        f"{load[0]:.1f} at the start, shared with other work, so times are ratios measured in the same run "
        "(each talk's first short A B A B, the minimum of two each; its others once). The whole benchmark "
        f"took {(time.time() - started) / 60:.1f} "
        "min. "
        "Held out: every clip but the drawn-face talks (the tuning material of the thresholds and the tests)."
    )
    result = {"note": note, "crop": crop, "shorts": shorts}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "shorts.json").write_text(json.dumps(result, indent=2) + "\n")
    replace_section(DOC, SECTION, markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
