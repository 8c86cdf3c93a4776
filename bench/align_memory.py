"""Memory of the word alignment on a long recording: the whole at once against one listening window at a time.

    python -m bench.align_memory [--minutes 60]

A talk of MINUTES (the demo script spoken by espeak-ng, said again and again) is aligned with its words
(each utterance's words spread over its time, as a recogniser would give them) by `align_words` over the
whole recording and by `align_in_windows` over the listening windows the transcribe stage uses, each in a
fresh child process whose peak RSS (VmHWM) and seconds are recorded; the loading of the samples is
measured alone as the floor. The two results are compared word edge by word edge. Writes
bench/out/align_memory.json and prints it.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np

from ave_core.corpus import resample
from ave_core.synth import DEMO_SCRIPT, SAMPLE_RATE, build_speech, write_wav
from bench.common import OUT

SCRIPT_SECONDS = 64.4


def make_talk(minutes: float) -> tuple[Path, Path]:
    """bench/out/align-talk-Nmin.wav (16 kHz) and its words as JSON."""
    wav = OUT / f"align-talk-{minutes:g}min.wav"
    words_path = wav.with_suffix(".words.json")
    if not wav.exists() or not words_path.exists():
        repeat = max(1, round(minutes * 60 / SCRIPT_SECONDS))
        samples, utterances, _ = build_speech(DEMO_SCRIPT, repeat=repeat)
        words = []
        for utterance in utterances:
            tokens = utterance.text.split()
            step = (utterance.end - utterance.start) / len(tokens)
            for k, token in enumerate(tokens):
                start = utterance.start + k * step
                words.append({"word": token, "start": round(start, 3), "end": round(start + step, 3)})
        OUT.mkdir(parents=True, exist_ok=True)
        write_wav(wav, resample(samples, SAMPLE_RATE, 16000), 16000)  # as the transcribe stage hears it
        words_path.write_text(json.dumps(words))
    return wav, words_path


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike getrusage's, it starts afresh at exec, so a child
    does not inherit the peak of the process that started it)."""
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1]) / 1024


def _run(kind: str, wav: str, words_path: str, queue: multiprocessing.Queue) -> None:
    from ave_core.align import align_in_windows, align_words
    from ave_core.audio import quiet_window_bounds, read_pcm16
    from ave_core.models import Word

    start = time.perf_counter()
    samples, rate = read_pcm16(wav)
    words = [Word(probability=1.0, **w) for w in json.loads(Path(words_path).read_text())]
    spans = None
    if kind == "whole":
        alignment = align_words(words, samples, rate)
        spans = alignment.spans_s if alignment else None
    elif kind == "windows":
        alignment = align_in_windows(words, samples, quiet_window_bounds(samples, rate), rate)
        spans = alignment.spans_s if alignment else None
    peak_mb = peak_rss_mb()
    seconds = round(time.perf_counter() - start, 1)
    queue.put({"seconds": seconds, "peak_rss_mb": round(peak_mb), "spans": spans})


def measure(kind: str, wav: Path, words_path: Path) -> dict:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_run, args=(kind, str(wav), str(words_path), queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    args = parser.parse_args()
    wav, words_path = make_talk(args.minutes)
    runs = {kind: measure(kind, wav, words_path) for kind in ("load", "windows", "whole")}
    whole, windows = runs["whole"].pop("spans"), runs["windows"].pop("spans")
    runs["load"].pop("spans")
    result: dict = {"minutes": args.minutes, "words": len(json.loads(words_path.read_text())), **runs}
    if whole and windows:
        moved = np.abs(np.array(windows) - np.array(whole)).ravel()
        result["edge_difference_ms"] = {
            "median": round(float(np.median(moved)) * 1000, 1),
            "p95": round(float(np.percentile(moved, 95)) * 1000, 1),
            "share_within_20ms": round(float(np.mean(moved <= 0.02 + 1e-9)), 3),
        }
    (OUT / f"align_memory_{args.minutes:g}min.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
