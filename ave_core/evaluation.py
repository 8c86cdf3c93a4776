"""Measures of edit quality used by the tests and the benchmarks: WER, filler recall and precision."""

from __future__ import annotations

import re
from collections.abc import Sequence

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
