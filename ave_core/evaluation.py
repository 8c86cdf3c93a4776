"""Measures of edit quality used by the tests and the benchmarks: WER, filler recall and precision."""

from __future__ import annotations

import re
from collections.abc import Sequence

_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()  # noqa: E501
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(value: int) -> str:
    """An integer below a million in English words (42 -> "forty two")."""
    if value < 20:
        return _ONES[value]
    if value < 100:
        tens, ones = divmod(value, 10)
        return _TENS[tens] + (f" {_ONES[ones]}" if ones else "")
    if value < 1000:
        hundreds, rest = divmod(value, 100)
        return f"{_ONES[hundreds]} hundred" + (f" {number_words(rest)}" if rest else "")
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
