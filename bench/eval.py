"""Quality benchmark: the whole workflow over real and generated clips, against the bare tools, in one run.

    .venv/bin/python -m bench.eval        (or: make eval)

One Snakemake run (`snakemake -s Snakefile -d bench/out/eval --cores 2`, default profile, offline backends)
over the clips of ../shared/media/dev that make sense as inputs (audio-only recordings are wrapped into a
video with a still picture) and over generated talks with known words, fillers, pauses and shots. Then, in
the same run and on the same files: PySceneDetect's `detect()` with its AdaptiveDetector, faster-whisper's
WhisperModel with its default options, and `ffmpeg -i X -f null -` as the time reference.
Writes bench/out/eval.json and docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ave_core.audio import read_pcm16
from ave_core.config import AsrConfig, RenderConfig
from ave_core.evaluation import edit_scores, match_events, normalise_text, shot_boundary_f1, word_error_rate
from ave_core.media import probe
from ave_core.models import Broll, MediaInfo, Plan, RenderReport, Scenes, Transcript, read_artifact
from ave_core.project import slugify
from ave_core.synth import DEMO_SCRIPT, make_recording
from ave_core.text import squashed
from ave_core.timemap import EditMap
from ave_core.vision import cut_times
from bench.common import (
    DEV,
    OUT,
    REPO,
    benchmark_row,
    count_match,
    cpu_timed,
    ffmpeg_decode_s,
    filler_tokens,
    keep_sections,
    snakemake,
)
from bench.eval_report import markdown
from bench.outputs import retranscribe

PROJECT = OUT / "eval"
DOC = REPO / "docs" / "benchmarks.md"
COMMAND = "make eval"
CORES = 2
SHOT_TOLERANCE_S = 0.2  # a found cut within this of a true one matches it
FILLER_TOLERANCE_S = 0.2
CLIPPED_SHARE = 0.5  # a word counts as clipped when a cut removes at least this share of its audible part
SILENCE_DB = -35  # silencedetect level for the real recordings' pauses (no ground truth there)
SILENCE_MIN_S = 0.5
SLIVER_S = 0.3  # kept pieces shorter than this are counted as slivers
LEXICON = {squashed(w) for w in AsrConfig().filler_words}

# a second generated talk, unlike the demo: other words, a long dead-air gap, other fillers, a retake
STUDY_SCRIPT: list[tuple[str, float]] = [
    ("Today we look at three habits that make studying easier.", 0.7),
    ("uh", 0.5),
    ("The first habit is to study in short blocks.", 1.4),
    ("Twenty five minutes of focus, then a five minute break.", 3.0),
    ("um", 0.6),
    ("The second habit is to test", 0.4),
    ("The second habit is to test yourself instead of rereading.", 1.1),
    ("Recall makes memories stronger than reading ever does.", 0.8),
    ("hmm", 0.5),
    ("The third habit is sleep.", 2.2),
    ("Students who sleep eight hours remember 20 percent more.", 0.9),
    ("erm", 0.4),
    ("Try one habit this week and notice the difference.", 1.6),
    ("Good luck with your exams.", 1.0),
]


@dataclass
class Clip:
    """One input of the evaluation project and what is known about it."""

    name: str  # file name in the project's input/
    source: Path
    group: str  # cuts, grid, jfk, ami, auto-editor, generated
    reference: str | None = None  # what was said, for WER
    shot_cuts: list[float] | None = None  # true cut times in seconds; [] = a single shot
    truth: dict[str, Any] | None = None  # a generated talk's ground truth
    ami_reference: str | None = None  # AMI's verbatim words (no times or order), for word recall and fillers
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        return slugify(Path(self.name).stem)


# --- inputs ---------------------------------------------------------------------------------


def with_still_picture(audio: Path, target: Path, reuse: bool) -> Path:
    """An audio-only recording as a 1280x720 video of a still portrait, so the workflow takes it."""
    if reuse and target.is_file():
        return target
    picture = DEV / "faces/face_recognition/obama.jpg"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-loop", "1", "-framerate", "25", "-i", str(picture),
         "-i", str(audio), "-vf", "scale=-2:720,pad=1280:720:(ow-iw)/2:0,format=yuv420p", "-shortest",
         "-c:v", "libx264", "-preset", "ultrafast", "-tune", "stillimage", "-c:a", "aac", "-b:a", "128k",
         str(target)],
        check=True,
    )  # fmt: skip
    return target


def prepare_clips(media_dir: Path, reuse: bool = False) -> list[Clip]:
    """The evaluation clips: real recordings of ../shared/media/dev and two generated talks.

    With `reuse`, clips made by an earlier run are taken as they are."""
    media_dir.mkdir(parents=True, exist_ok=True)
    clips: list[Clip] = []
    testvideo = DEV / "cuts/testvideo.mp4"
    fps = probe(testvideo, slug="testvideo").video.fps  # type: ignore[union-attr]
    golden = json.loads((DEV / "cuts/goldens/testvideo.mp4.AdaptiveDetector.default.json").read_text())
    clips.append(Clip("cuts-testvideo.mp4", testvideo, "cuts", shot_cuts=[f / fps for f in golden["cuts"]]))
    for line in (DEV / "grid/transcripts.tsv").read_text().splitlines():
        if line and not line.startswith("#"):
            name, text = line.split("\t")
            clips.append(Clip(f"grid-{name}", DEV / "grid" / name, "grid", reference=text, shot_cuts=[]))
    jfk = DEV / "speech/jfk"
    clips.append(
        Clip(
            "jfk.mp4",
            with_still_picture(jfk / "jfk.flac", media_dir / "jfk.mp4", reuse),
            "jfk",
            reference=(jfk / "jfk.transcript.txt").read_text(),
            shot_cuts=[],
        )
    )
    ami = DEV / "speech/ami_ES2004a_60s"
    clips.append(
        Clip(
            "ami-es2004a.mp4",
            with_still_picture(ami / "mixture.wav", media_dir / "ami-es2004a.mp4", reuse),
            "ami",
            shot_cuts=[],
            ami_reference=" ".join(p.read_text() for p in sorted(ami.glob("mixture.*.words_joined.txt"))),
        )
    )
    clips.append(
        Clip(
            "auto-editor-example.mp4",
            DEV / "speech/auto_editor_example/example.mp4",
            "auto-editor",
            shot_cuts=[],
        )
    )
    for name, script, size, shots in (
        ("generated-lesson.mp4", DEMO_SCRIPT, (1280, 720), 5),
        ("generated-study.mp4", STUDY_SCRIPT, (640, 360), 8),
    ):
        target = media_dir / name
        known = target.with_suffix(".truth.json")
        if reuse and target.is_file() and known.is_file():
            truth = json.loads(known.read_text())
        else:
            truth = json.loads(
                make_recording(target, script, width=size[0], height=size[1], shots=shots).to_json()
            )
        reference = " ".join(u["text"] for u in truth["utterances"])
        clips.append(
            Clip(name, target, "generated", reference=reference, shot_cuts=truth["shot_cuts"], truth=truth)
        )
    return clips


def make_project(clips: list[Clip]) -> None:
    """A fresh project: every clip linked into input/, offline backends in config.yaml."""
    shutil.rmtree(PROJECT, ignore_errors=True)
    (PROJECT / "input").mkdir(parents=True)
    for clip in clips:
        os.symlink(clip.source.resolve(), PROJECT / "input" / clip.name)
    # the offline backends make the run reproducible: no search, no LLM; the rest is the default config
    (PROJECT / "config.yaml").write_text(
        "research:\n  backend: offline\ndirector:\n  backend: rules\nthumbnails:\n  backend: procedural\n"
    )


def run_workflow() -> dict[str, Any]:
    """The whole workflow over the project, as a user runs it; its wall time and what failed."""
    environment = {k: v for k, v in os.environ.items() if k not in {"GEMINI_API_KEY", "GOOGLE_API_KEY"}}
    started = time.perf_counter()
    proc = subprocess.run(
        snakemake(PROJECT, cores=CORES), capture_output=True, text=True, env=environment, cwd=PROJECT
    )
    wall = time.perf_counter() - started
    (OUT / "eval-snakemake.log").write_text(proc.stdout + proc.stderr)
    errors = [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("ave ")]
    return {"wall_s": round(wall, 1), "exit_code": proc.returncode, "errors": errors}


# --- the bare tools -------------------------------------------------------------------------


def bare_scenedetect(path: Path) -> tuple[list[float], dict[str, float]]:
    """PySceneDetect as its README shows it: detect() with AdaptiveDetector's defaults."""
    from scenedetect import AdaptiveDetector, detect

    scenes, wall, cpu = cpu_timed(detect, str(path), AdaptiveDetector())
    return [start.seconds for start, _ in scenes[1:]], {
        "seconds": round(wall, 3),
        "cpu_time_s": round(cpu, 3),
    }


def bare_whisper(model: str, samples: Any) -> tuple[list[Any], dict[str, float]]:
    """faster-whisper as its README shows it (plus word times): load the model, transcribe, no refinements."""
    from faster_whisper import WhisperModel

    def run() -> list[Any]:
        whisper = WhisperModel(model, device="cpu", compute_type="int8", cpu_threads=CORES)
        return list(whisper.transcribe(samples, word_timestamps=True)[0])

    segments, wall, cpu = cpu_timed(run)
    return segments, {"seconds": round(wall, 3), "cpu_time_s": round(cpu, 3)}


def silences(wav: Path) -> list[tuple[float, float]]:
    """Pauses ffmpeg's silencedetect finds: the stand-in for ground truth on real recordings."""
    proc = subprocess.run(
        ["ffmpeg", "-nostdin", "-i", str(wav), "-af", f"silencedetect=n={SILENCE_DB}dB:d={SILENCE_MIN_S}",
         "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    starts = [float(v) for v in re.findall(r"silence_start: (-?[\d.]+)", proc.stderr)]
    ends = [float(v) for v in re.findall(r"silence_end: ([\d.]+)", proc.stderr)]
    duration = read_pcm16(wav)[0].size / 16000
    return [(max(0.0, a), ends[i] if i < len(ends) else duration) for i, a in enumerate(starts)]


# --- figures per clip -----------------------------------------------------------------------


def stage_figures(slug: str) -> dict[str, dict[str, float]]:
    """Snakemake's benchmark figures per rule; the render's chunks added up as one rule."""
    stages: dict[str, dict[str, float]] = {}
    for tsv in sorted((PROJECT / "benchmarks" / slug).glob("*.tsv")):
        rule = "render_chunk" if tsv.stem.startswith("render_chunk-") else tsv.stem
        row = benchmark_row(tsv)
        if rule in stages:
            stages[rule]["seconds"] += row["seconds"]
            stages[rule]["cpu_time_s"] += row["cpu_time_s"]
            stages[rule]["max_rss_mb"] = max(stages[rule]["max_rss_mb"], row["max_rss_mb"])
        else:
            stages[rule] = row
    return stages


def cut_counts(found: list[float], truth: list[float]) -> dict[str, int]:
    """Found, true and matched shot cuts (one-to-one, within SHOT_TOLERANCE_S)."""
    _, recall, _ = shot_boundary_f1(found, truth, SHOT_TOLERANCE_S)
    return {"found": len(found), "true": len(truth), "hits": round(recall * len(truth)) if truth else 0}


def event_counts(found: list[tuple[float, float]], truth: list[tuple[float, float]]) -> dict[str, int]:
    """Found, true and matched spans (fillers) within FILLER_TOLERANCE_S."""
    _, recall = match_events(found, truth, FILLER_TOLERANCE_S)
    return {"found": len(found), "true": len(truth), "hits": round(recall * len(truth)) if truth else 0}


def content_words_wer(reference: str, hypothesis: str) -> float:
    """WER with the fillers taken out of both sides (filler recall is measured on its own)."""

    def strip(text: str) -> str:
        return " ".join(w for w in normalise_text(text).split() if squashed(w) not in LEXICON)

    return word_error_rate(strip(reference), strip(hypothesis))


def loudness_db(samples: Any, rate: int) -> Any:
    """Level of every 10 ms frame in dBFS."""
    import numpy as np

    hop = rate // 100
    frames = samples[: samples.size // hop * hop].reshape(-1, hop)
    return 20 * np.log10(np.sqrt(np.mean(frames**2, axis=1)) + 1e-9)


def audible_frames(word: Any, levels: Any, exempt: list[tuple[float, float]]) -> list[float]:
    """Centres of the 10 ms frames of a word above SILENCE_DB and outside the `exempt` spans.

    Whisper's word times often run on into the pause after a word (or over a filler before it), so a word
    is judged by its audible frames only; a cut of the pause after it then does not count as clipping it.
    """
    frames = range(int(word.start * 100), min(int(word.end * 100), levels.size))
    centres = [(k + 0.5) / 100 for k in frames if levels[k] > SILENCE_DB]
    return [t for t in centres if not _inside(t, exempt)]


def content_words(words: list[Any], levels: Any, exempt: list[tuple[float, float]]) -> list[tuple[Any, list]]:
    """The bare model's words that are not fillers, with their audible frames; words with none left out."""
    found = []
    for word in words:
        token = squashed(word.word)
        if token and token not in LEXICON:
            audible = audible_frames(word, levels, exempt)
            if audible:
                found.append((word, audible))
    return found


def words_clipped(words: list[tuple[Any, list[float]]], cuts: list[tuple[float, float]]) -> dict[str, Any]:
    """Content words of whose audible part a cut removes CLIPPED_SHARE or more."""
    clipped = [
        word.word.strip()
        for word, audible in words
        if sum(_inside(t, cuts) for t in audible) >= CLIPPED_SHARE * len(audible)
    ]
    return {"clipped": len(clipped), "content_words": len(words), "examples": clipped[:8]}


def _inside(time_s: float, spans: list[tuple[float, float]]) -> bool:
    return any(a <= time_s < b for a, b in spans)


def render_position(pieces: list[Any], fps: float, source_s: float, guard_s: float = 0.2) -> float | None:
    """Where the render shows a source instant (its pieces are on the frame grid); None when it is cut or
    within `guard_s` of a piece's edge."""
    offset = 0.0
    for piece in pieces:
        start, end = piece.start_frame / fps, piece.end_frame / fps
        if start + guard_s <= source_s <= end - guard_s:
            return offset + source_s - start
        offset += end - start
    return None


def picture_offsets(
    final: Path, plan: Plan, media: MediaInfo, truth_cuts: list[float], hidden: list[tuple[float, float]]
) -> dict[str, Any]:
    """Where the generated talk's shot changes land in final.mp4 against where the render's edit puts them;
    cuts `hidden` under a B-roll cutaway (source seconds) are left out."""
    from ave_core.render import output_fps, plan_pieces

    fps = output_fps(media)
    pieces = plan_pieces(plan, media, RenderConfig())
    found, _ = bare_scenedetect(final)
    offsets, expected = [], 0
    for cut in truth_cuts:
        target = render_position(pieces, fps, cut)
        if target is None or any(a - 0.2 <= cut <= b + 0.2 for a, b in hidden):
            continue  # cut away, too near a join or punch-in to tell apart, or under a B-roll cutaway
        expected += 1
        near = [f - target for f in found if abs(f - target) <= 0.5]
        if near:
            offsets.append(min(near, key=abs))
    return {
        "expected": expected,
        "found": len(offsets),
        "median_ms": round(1000 * statistics.median(offsets), 1) if offsets else None,
        "max_abs_ms": round(1000 * max(abs(o) for o in offsets), 1) if offsets else None,
    }


def caption_drift_ms(plan: Plan, media: MediaInfo) -> float:
    """Largest gap between the edited time captions and chapters use (EditMap over the plan's keep ranges)
    and the time the render shows the same source instant at (keep ranges rounded to frames)."""
    from ave_core.render import output_fps, plan_pieces

    fps = output_fps(media)
    pieces = plan_pieces(plan, media, RenderConfig())
    edit = EditMap.from_keep(plan.keep)
    gaps = []
    for span in plan.keep:
        instant = (span.start + span.end) / 2
        rendered = render_position(pieces, fps, instant, guard_s=0.0)
        mapped = edit.to_edited(instant)
        if rendered is not None and mapped is not None:
            gaps.append(abs(mapped - rendered))
    return round(1000 * max(gaps, default=0.0), 1)


def bag_of_words_recall(reference: str, hypothesis: str) -> float:
    """Share of the reference's content words (as a multiset) that the hypothesis contains; for references
    whose word order is unknown (AMI's per-speaker word lists)."""
    want = Counter(w for w in normalise_text(reference).split() if squashed(w) not in LEXICON)
    have = Counter(normalise_text(hypothesis).split())
    return sum((want & have).values()) / (sum(want.values()) or 1)


def stream_durations(final: Path) -> dict[str, float]:
    """Seconds of the audio and the video stream of a file, by stream kind."""
    proc = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,duration", "-of", "json", str(final)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return {s["codec_type"]: float(s.get("duration", 0)) for s in json.loads(proc.stdout)["streams"]}


def dead_air(cuts: list[tuple[float, float]], pauses: list[tuple[float, float]]) -> dict[str, Any]:
    """Seconds of dead air (pause time beyond a natural 0.4 s, in pauses over 0.7 s) and how much is cut."""
    long_pauses = [(a, b) for a, b in pauses if b - a > 0.7]
    seconds = sum(b - a - 0.4 for a, b in long_pauses)
    share = edit_scores(cuts, {"pauses": long_pauses, "utterances": [], "fillers": []})["dead_air_removed"]
    return {
        "pauses": len(long_pauses),
        "dead_air_s": round(seconds, 3),
        "removed_s": round(share * seconds, 3),
        "dead_air_removed": share if long_pauses else None,
    }


def words_in_final(final: Path, model: str, expected: str) -> dict[str, Any]:
    """The bare model's hearing of final.mp4: which of the `expected` content words are still there."""
    from ave_core.render import decode_mono

    segments, _ = bare_whisper(model, decode_mono(final))
    heard = " ".join(s.text for s in segments)
    want = [w for w in normalise_text(expected).split() if squashed(w) not in LEXICON]
    return {"content_words": len(want), "present": round(bag_of_words_recall(expected, heard), 3)}


def evaluate(clip: Clip, model: str) -> dict[str, Any]:
    """Everything measured on one clip: ave's artifacts, the bare tools, the time reference."""
    results = PROJECT / "results" / clip.slug
    out: dict[str, Any] = {"group": clip.group, "slug": clip.slug}
    wall, cpu = ffmpeg_decode_s(clip.source)
    out["ffmpeg_decode"] = {"seconds": round(wall, 3), "cpu_time_s": round(cpu, 3)}
    out["stages"] = stage_figures(clip.slug)
    if not (results / "media.json").is_file():
        return out
    media = read_artifact(results / "media.json", MediaInfo)
    out["duration_s"] = media.duration_s

    def artifact(name: str, model_class: type) -> Any:
        return read_artifact(results / name, model_class) if (results / name).is_file() else None

    scenes, transcript = artifact("scenes.json", Scenes), artifact("transcript.json", Transcript)
    plan = artifact("plan.json", Plan)
    found_bare, out["bare_scenedetect"] = bare_scenedetect(clip.source)
    if clip.shot_cuts is not None:
        out["shots"] = {"bare": cut_counts(found_bare, clip.shot_cuts)}
        if scenes is not None:
            out["shots"]["ave"] = cut_counts(cut_times(scenes), clip.shot_cuts)
    cuts = [(c.start, c.end) for c in plan.cuts] if plan else []
    wav = results / "audio_16k.wav"
    spoken: list[tuple[Any, list[float]]] = []
    if media.has_audio and wav.is_file():
        samples, rate = read_pcm16(wav)
        segments, out["bare_whisper"] = bare_whisper(model, samples)
        bare_words = [w for s in segments for w in (s.words or [])]
        bare_text = " ".join(s.text for s in segments)
        out["audio_s"] = round(samples.size / rate, 2)
        if transcript is not None:
            out.update(speech_figures(clip, transcript.text, bare_text))
        if clip.truth is not None:
            out["fillers"] = filler_figures(clip.truth, bare_words, transcript, plan)
        # the known fillers and retakes are there to be cut: they are no content words
        exempt = (
            [(u["start"], u["end"]) for u in clip.truth["utterances"] if u["is_filler"] or u["is_retake"]]
            if clip.truth
            else []
        )
        spoken = content_words(bare_words, loudness_db(samples, rate), exempt)
        if plan is not None:
            out["edit"] = edit_scores(cuts, clip.truth) if clip.truth else {}
            pauses = [tuple(p) for p in clip.truth["pauses"]] if clip.truth else silences(wav)
            out["edit"]["dead_air"] = dead_air(cuts, pauses)  # type: ignore[arg-type]
            out["edit"]["words_clipped"] = words_clipped(spoken, cuts)
    if plan is not None:
        kept = sum(k.end - k.start for k in plan.keep)
        out.setdefault("edit", {})["kept_share"] = round(kept / media.duration_s, 3)
        out["edit"]["cuts_by_reason"] = dict(Counter(c.reason for c in plan.cuts))
        # a kept piece this short between cuts flashes by in final.mp4 as a jump cut of a few frames
        out["edit"]["slivers"] = [[k.start, k.end] for k in plan.keep if k.end - k.start < SLIVER_S]
    if plan is not None and (results / "render.json").is_file() and (results / "final.mp4").is_file():
        out["av"] = render_figures(clip, results, media, plan)
        if media.has_audio and transcript is not None and transcript.words:
            # fillers heard with ave's own verbatim recogniser; content words with the bare model, against
            # what it heard in the source
            out["fillers_left"] = retranscribe(results)["fillers_left"]
            expected = " ".join(word.word for word, _ in spoken)
            out["words_in_final"] = words_in_final(results / "final.mp4", model, expected)
    return out


def speech_figures(clip: Clip, ave_text: str, bare_text: str) -> dict[str, Any]:
    """WER against a known transcript; word recall and filler counts against AMI's word lists."""
    figures: dict[str, Any] = {}
    if clip.reference is not None:
        figures["wer"] = {
            "ave": round(content_words_wer(clip.reference, ave_text), 3),
            "bare": round(content_words_wer(clip.reference, bare_text), 3),
            "reference_words": len(normalise_text(clip.reference).split()),
        }
    if clip.ami_reference is not None:
        truth = filler_tokens(clip.ami_reference, LEXICON)
        ours, theirs = filler_tokens(ave_text, LEXICON), filler_tokens(bare_text, LEXICON)
        figures["ami_word_recall"] = {
            "ave": round(bag_of_words_recall(clip.ami_reference, ave_text), 3),
            "bare": round(bag_of_words_recall(clip.ami_reference, bare_text), 3),
        }
        figures["ami_fillers"] = {
            "true": dict(truth),
            "ave": dict(ours),
            "bare": dict(theirs),
            "ave_precision_recall": [round(v, 3) for v in count_match(ours, truth)],
            "bare_precision_recall": [round(v, 3) for v in count_match(theirs, truth)],
        }
    return figures


def filler_figures(
    truth: dict[str, Any], bare_words: list[Any], transcript: Transcript | None, plan: Plan | None
) -> dict[str, Any]:
    """Fillers the bare model writes, ave's transcript flags and the plan cuts, against the known ones."""
    true_fillers = [(f["start"], f["end"]) for f in truth["fillers"]]
    bare = [(w.start, w.end) for w in bare_words if squashed(w.word) in LEXICON]
    figures: dict[str, Any] = {"bare": event_counts(bare, true_fillers)}
    if transcript is not None:
        flagged = [(w.start, w.end) for w in transcript.words if w.is_filler]
        figures["ave_transcript"] = event_counts(flagged, true_fillers)
    if plan is not None:
        filler_cuts = [(c.start, c.end) for c in plan.cuts if "filler" in c.reason.split("+")]
        figures["ave_filler_cuts"] = event_counts(filler_cuts, true_fillers)
    return figures


def render_figures(clip: Clip, results: Path, media: MediaInfo, plan: Plan) -> dict[str, Any]:
    """render.json's integrity check, the streams' ends, captions against the picture, picture cuts."""
    report = read_artifact(results / "render.json", RenderReport)
    streams = stream_durations(results / "final.mp4")
    figures: dict[str, Any] = {
        "joins_checked": sum(j.correlation > 0.5 for j in report.joins),
        "max_join_offset_ms": round(1000 * report.max_offset_s, 1),
        "duration_s": report.duration_s,
        "expected_duration_s": report.expected_duration_s,
        "caption_drift_ms": caption_drift_ms(plan, media),
    }
    if "audio" in streams and "video" in streams:
        figures["stream_end_difference_ms"] = round(1000 * (streams["audio"] - streams["video"]), 1)
    if clip.truth is not None:
        broll = (
            read_artifact(results / "broll/broll.json", Broll).clips
            if (results / "broll/broll.json").is_file()
            else []
        )
        covered_by_broll = [(b.start, b.start + b.duration) for b in broll if not b.has_alpha]
        figures["picture"] = picture_offsets(
            results / "final.mp4", plan, media, clip.truth["shot_cuts"], covered_by_broll
        )
    return figures


# --- the whole run --------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = next(
        (int(line.split()[1]) / 1024**2 for line in Path("/proc/meminfo").read_text().splitlines()
         if line.startswith("MemTotal")), 0.0,
    )  # fmt: skip
    return {
        "cpu": cpu,
        "cores_visible": os.cpu_count(),
        "cores_used": CORES,
        "memory_gib": round(memory, 1),
        "load_average_at_start": [round(v, 1) for v in os.getloadavg()],
        "os": platform.platform(),
    }


def versions() -> dict[str, str]:
    """ave's commit and the versions of the tools it is compared with."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()

    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    ffmpeg = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout.split()[2]
    found = {"ave": git("rev-parse", "--short", "HEAD") + (" + uncommitted changes" if dirty else "")}
    for package in ("faster-whisper", "ctranslate2", "scenedetect", "snakemake", "opencv-python-headless"):
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = "not installed"
    found["ffmpeg"] = ffmpeg
    found["python"] = platform.python_version()
    return found


# sections other benchmarks write into docs/benchmarks.md between their markers (bench/disfluency.py)
def write_doc(text: str) -> None:
    """docs/benchmarks.md from this benchmark, keeping the sections other benchmarks wrote there."""
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(keep_sections(DOC, text))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="only write docs/benchmarks.md again from bench/out/eval.json",
    )
    parser.add_argument(
        "--skip-workflow",
        action="store_true",
        help="measure the last run's project again without rerunning it",
    )
    args = parser.parse_args()
    if args.report_only:
        write_doc(markdown(json.loads((OUT / "eval.json").read_text())))
        return
    if not DEV.is_dir():
        sys.exit(f"bench.eval needs the real recordings at {DEV}")
    began = time.perf_counter()
    started_at = datetime.datetime.now(datetime.UTC)
    OUT.mkdir(parents=True, exist_ok=True)
    host = machine()
    clips = prepare_clips(OUT / "eval-media", reuse=args.skip_workflow)
    if args.skip_workflow:
        workflow = json.loads((OUT / "eval.json").read_text())["workflow"]
    else:
        make_project(clips)
        print(f"running the workflow over {len(clips)} clips ...", file=sys.stderr)
        workflow = run_workflow()
    print(f"workflow: {workflow['wall_s']} s, exit {workflow['exit_code']}", file=sys.stderr)
    model = ""
    for clip in clips:
        path = PROJECT / "results" / clip.slug / "transcript.json"
        if path.is_file():
            model = read_artifact(path, Transcript).model or model
    model = model if Path(model).is_dir() else str(REPO.parent / "shared/models/whisper-tiny.en-ct2")
    for clip in clips:
        print(f"measuring {clip.name} ...", file=sys.stderr)
        clip.figures = evaluate(clip, model)
    result = {
        "started_at": started_at.isoformat(timespec="seconds"),
        "machine": host,
        "versions": versions(),
        "asr_model": model,
        "settings": {
            "command": COMMAND,
            "cores": CORES,
            "shot_tolerance_s": SHOT_TOLERANCE_S,
            "filler_tolerance_s": FILLER_TOLERANCE_S,
            "clipped_share": CLIPPED_SHARE,
            "silence_db": SILENCE_DB,
            "sliver_s": SLIVER_S,
        },
        "workflow": workflow,
        "clips": {clip.name: clip.figures for clip in clips},
        "eval_wall_s": round(time.perf_counter() - began, 1),
    }
    (OUT / "eval.json").write_text(json.dumps(result, indent=2) + "\n")
    write_doc(markdown(result))
    print(
        f"wrote {DOC.relative_to(REPO)} and bench/out/eval.json in {result['eval_wall_s']} s", file=sys.stderr
    )


if __name__ == "__main__":
    main()
