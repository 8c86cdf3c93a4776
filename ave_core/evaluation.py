"""Measures of quality that the tests and the benchmarks share: WER, edit scores against a recording's known
pauses and fillers, events and shot cuts found against the truth, seconds covered, and whether the words of
a video line up with its picture (sync marks)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from .text import ONES, TENS


def number_words(value: int) -> str:
    """An integer below a million in English words (42 -> "forty two")."""
    if value < 20:
        return ONES[value]
    if value < 100:
        tens, ones = divmod(value, 10)
        return TENS[tens - 2] + (f" {ONES[ones]}" if ones else "")
    if value < 1000:
        hundreds, rest = divmod(value, 100)
        return f"{ONES[hundreds]} hundred" + (f" {number_words(rest)}" if rest else "")
    thousands, rest = divmod(value, 1000)
    return f"{number_words(thousands)} thousand" + (f" {number_words(rest)}" if rest else "")


def normalise_text(text: str) -> str:
    """Lowercase words without punctuation, digits spelled out ("60%" -> "sixty percent")."""
    text = text.lower().replace("%", " percent").replace("$", " dollars ")
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)
    text = re.sub(
        r"\d+", lambda m: f" {number_words(int(m.group()))} " if len(m.group()) < 7 else m.group(), text
    )
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    return " ".join(text.split())


def word_error_rate(reference: str, hypothesis: str) -> float:
    """WER after normalise_text on both sides (jiwer)."""
    import jiwer

    return float(jiwer.wer(normalise_text(reference), normalise_text(hypothesis)))


def match_events(
    found: Sequence[tuple[float, float]], truth: Sequence[tuple[float, float]], tolerance_s: float = 0.3
) -> tuple[float, float]:
    """Precision and recall of time spans: a found span matches an unmatched true one it overlaps or
    lies within `tolerance_s` of. Empty against empty counts as perfect."""
    unmatched = list(truth)
    hits = 0
    for start, end in found:
        for candidate in unmatched:
            if start - tolerance_s <= candidate[1] and candidate[0] <= end + tolerance_s:
                unmatched.remove(candidate)
                hits += 1
                break
    precision = hits / len(found) if found else 1.0
    recall = hits / len(truth) if truth else 1.0
    return precision, recall


def covered(start: float, end: float, spans: Sequence[tuple[float, float]]) -> float:
    """Seconds of [start, end] that the spans cover (spans must not overlap)."""
    return sum(max(0.0, min(end, b) - max(start, a)) for a, b in spans)


def edit_scores(
    cuts: Sequence[tuple[float, float]], truth: dict, min_pause_s: float = 0.7, natural_pause_s: float = 0.4
) -> dict[str, float]:
    """How a plan's cuts treat a recording's known pauses, fillers and speech (a synth truth file).

    - dead_air_removed: of the pauses longer than `min_pause_s`, the share of their time beyond a
      natural pause of `natural_pause_s` that the cuts remove (an edit keeps a short breath at a join)
    - pause_time_removed: the share of those pauses' whole time that the cuts remove
    - long_pauses_shortened: share of those pauses left at most `natural_pause_s` long
    - fillers_cut: share of the fillers at least 80 % inside a cut
    - retakes_cut: the same for the false starts
    - utterances_clipped: spoken phrases (not fillers or retakes) that a cut touches by more than 20 ms
    - speech_clipped_ms: total speech time inside cuts
    """
    pauses = [(a, b) for a, b in truth["pauses"] if b - a > min_pause_s]
    pause_time = sum(b - a for a, b in pauses) or 1.0
    dead_air = sum(max(0.0, b - a - natural_pause_s) for a, b in pauses) or 1.0
    removed = sum(covered(a, b, cuts) for a, b in pauses)
    spoken = [u for u in truth["utterances"] if not u["is_filler"] and not u.get("is_retake")]
    clipped = [covered(u["start"], u["end"], cuts) for u in spoken]

    def share_cut(items: list[dict]) -> float:
        hits = [covered(i["start"], i["end"], cuts) >= 0.8 * (i["end"] - i["start"]) for i in items]
        return sum(hits) / len(hits) if hits else 1.0

    return {
        "dead_air_removed": round(min(1.0, removed / dead_air), 3),
        "pause_time_removed": round(removed / pause_time, 3),
        "long_pauses_shortened": round(
            sum((b - a) - covered(a, b, cuts) <= natural_pause_s + 1e-6 for a, b in pauses)
            / (len(pauses) or 1),
            3,
        ),
        "fillers_cut": round(share_cut(truth["fillers"]), 3),
        "retakes_cut": round(share_cut(truth.get("retakes", [])), 3),
        "utterances_clipped": float(sum(c > 0.02 for c in clipped)),
        "speech_clipped_ms": round(1000 * sum(clipped), 1),
        "utterances": float(len(spoken)),
    }


def shot_boundary_f1(
    found: Sequence[float], truth: Sequence[float], tolerance_s: float = 0.2
) -> tuple[float, float, float]:
    """Precision, recall and F1 of cut times; each true cut matches at most one found cut within tolerance."""
    if not found and not truth:
        return 1.0, 1.0, 1.0
    matched = _count_matches(sorted(found), sorted(truth), tolerance_s)
    precision = matched / len(found) if found else 0.0
    recall = matched / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _count_matches(found: list[float], truth: list[float], tolerance_s: float) -> int:
    """Most one-to-one pairs within tolerance; a sweep over both sorted lists finds the maximum."""
    matched = i = j = 0
    while i < len(found) and j < len(truth):
        if abs(found[i] - truth[j]) <= tolerance_s:
            matched, i, j = matched + 1, i + 1, j + 1
        elif found[i] < truth[j]:
            i += 1
        else:
            j += 1
    return matched


# --- sync marks: do the words of a video line up with its picture? --------------------------------

ONSET_DB = -40.0  # a word is sound rising above this (dBFS, 5 ms windows); it starts where it left ...
QUIET_DB = -55.0  # ... this level, after QUIET_BEFORE_S below it
QUIET_BEFORE_S = 0.08
ONSET_WINDOW_S = 0.005


def sync_mark_times(path: str | Path, box: tuple[int, int, int, int]) -> list[float]:
    """Times (seconds from the file's start) of the first frame of each sync mark that ave_core.synth paints
    with `markers=True`: a box whose left half is white and right half black."""
    import av

    x, y, w, h = box
    times: list[float] = []
    marked_before = False
    with av.open(str(path)) as container:
        origin = container.start_time / av.time_base if container.start_time is not None else 0.0
        for frame in container.decode(video=0):
            grey = frame.to_ndarray(format="gray")
            left, right = grey[y : y + h, x : x + w // 2], grey[y : y + h, x + w // 2 : x + w]
            marked = float(left.mean()) > 200 and float(right.mean()) < 50
            if marked and not marked_before and frame.time is not None:
                times.append(round(float(frame.time) - origin, 4))
            marked_before = marked
    return times


def sound_onsets(path: str | Path, follow_timestamps: bool = True) -> list[float]:
    """Times (seconds from the file's start) where sound starts after a pause, decoded by the time base (or,
    `follow_timestamps` False, by counting samples, as a naive decode does)."""
    import subprocess

    import numpy as np

    from .timebase import timestamp_filter
    from .tools import ffmpeg_binary

    rate = 16000
    placement = timestamp_filter(rate) if follow_timestamps else f"aresample={rate}"
    proc = subprocess.run(
        [ffmpeg_binary(), "-nostdin", "-v", "error", "-i", str(path), "-map", "0:a:0", "-af",
         f"{placement},aformat=channel_layouts=mono", "-f", "f32le", "-"],
        capture_output=True, check=True,
    )  # fmt: skip
    samples = np.frombuffer(proc.stdout, dtype="<f4")
    window = int(ONSET_WINDOW_S * rate)
    count = samples.size // window
    rms = np.sqrt(np.mean(samples[: count * window].reshape(count, window) ** 2, axis=1))
    with np.errstate(divide="ignore"):
        level = 20 * np.log10(np.maximum(rms, 1e-10))
    quiet = int(QUIET_BEFORE_S / ONSET_WINDOW_S)
    onsets: list[float] = []
    for rise in np.flatnonzero((level[1:] > ONSET_DB) & (level[:-1] <= ONSET_DB)) + 1:
        start = int(rise)
        while start > 0 and level[start - 1] > QUIET_DB:
            start -= 1
        if start >= quiet and level[start - quiet : start].max() < QUIET_DB:
            onsets.append(round(start * ONSET_WINDOW_S, 4))
    return sorted(set(onsets))


def sync_mark_lags(
    path: str | Path, box: tuple[int, int, int, int], search_s: float = 0.5, follow_timestamps: bool = True
) -> list[float]:
    """For each sync mark, the nearest onset of sound minus the mark's time (seconds), where one lies within
    `search_s`. In the generated source every lag lies in [0, 1 frame): the mark's frame holds the onset."""
    onsets = sound_onsets(path, follow_timestamps)
    lags = []
    for mark in sync_mark_times(path, box):
        nearest = min(onsets, key=lambda onset: abs(onset - mark), default=None)
        if nearest is not None and abs(nearest - mark) <= search_s:
            lags.append(round(nearest - mark, 4))
    return lags
