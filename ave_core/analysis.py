"""The analyze stage: key concepts, themes, numbers, emotional peaks and chapters, all offline.

Text analysis uses YAKE (keyphrases) and VADER (sentiment); chapters come from lexical cohesion between
transcript segments (TextTiling-like); music is analysed from its audio with librosa (beats, sections).
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .audio import read_pcm16
from .backends import Registry
from .config import AnalysisConfig
from .errors import ArtifactError
from .models import (
    Analysis,
    AudioAnalysis,
    AudioPeak,
    Chapter,
    Concept,
    EmotionalPeak,
    SpokenNumber,
    Transcript,
    Word,
    make_producer,
)
from .text import ONES, TENS, fold_plural, is_content_word, stopwords, title_case, token

ContentType = Literal["educational", "music", "general"]
NumberKind = Literal["percent", "money", "year", "count", "other"]


MAX_THEMES = 5
MAX_TITLE_WORDS = 6
PEAK_SPACING_S = 5.0  # at most one emotional peak in this many seconds
PEAK_REACH_S = 0.5  # an audio peak this close to a segment belongs to it
PEAK_SCALE_FLOOR_DB = 12.0  # a video whose loudest peak is below this gets no full audio score
COHESION_WINDOW_FLOOR_S = 90.0  # shortest stretch compared on each side of a possible chapter boundary
MIN_BOUNDARY_DEPTH = 0.1  # a cohesion valley shallower than this is noise, not a topic change
MUSIC_HOP = 256  # 16 ms at 16 kHz: fine enough that 120 BPM is not rounded to 117
MUSIC_KERNEL_S = 8  # seconds of sound compared on each side of a possible section change
MIN_SECTION_NOVELTY = 5.0  # MFCC distance (dB-like units) below which the sound has not changed

# fused emotional score = weighted sum of cues; the audio weight is dropped when there is no audio
WEIGHT_AUDIO = 0.4
WEIGHT_SENTIMENT = 0.3
WEIGHT_EXCLAMATION = 0.15
WEIGHT_EMPHASIS = 0.15
SENTIMENT_CUE = 0.3  # |VADER compound| from which sentiment is listed as a cue

EMPHASIS_WORDS = frozenset(
    "amazing incredible unbelievable never always huge massive important crucial critical essential "
    "remember really love hate wow awesome absolutely fantastic terrible horrible shocking insane "
    "biggest best worst secret mistake perfect beautiful totally seriously exactly must".split()
)

_UNITS = {w: i for i, w in enumerate(ONES[:10])}
_TEENS = {w: i for i, w in enumerate(ONES) if i >= 10}
_TENS = {w: 20 + 10 * i for i, w in enumerate(TENS)}
_SCALES = {"hundred": 100.0, "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_PERCENT_WORDS = {"percent", "percentage", "%"}
_MONEY_WORDS = {"dollar", "dollars", "euro", "euros", "pound", "pounds", "cent", "cents", "bucks", "quid"}
_YEAR_LEAD_WORDS = {"in", "since", "until", "till", "by", "from", "before", "after", "year"}
_DIGITS = re.compile(r"^([$€£])?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(%)?$")
_CLAUSE_END = re.compile(r"[.,!?;:]$")
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*$")


@dataclass(frozen=True)
class _Unit:
    """A stretch of speech (a transcript segment) and its spoken, non-filler words."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...]

    def content_counts(self) -> Counter[str]:
        """Stemmed content words, for cohesion."""
        return Counter(fold_plural(t) for t in map(token, (w.word for w in self.words)) if is_content_word(t))


def _units(transcript: Transcript, spoken: Sequence[Word]) -> list[_Unit]:
    """The transcript's segments with their spoken words; sentences when there are no segments."""
    if not spoken:
        return []
    spans = [(s.start, s.end, s.text) for s in sorted(transcript.segments, key=lambda s: s.start)]
    if not spans:
        spans = [(ws[0].start, ws[-1].end, _join(ws)) for ws in _sentences(spoken)]
    starts = [start for start, _, _ in spans]
    grouped: list[list[Word]] = [[] for _ in spans]
    for word in spoken:
        grouped[max(0, bisect_right(starts, word.start) - 1)].append(word)
    return [_Unit(s, max(e, s), text, tuple(ws)) for (s, e, text), ws in zip(spans, grouped, strict=True)]


def _sentences(words: Sequence[Word]) -> list[list[Word]]:
    """Words split after sentence-ending punctuation."""
    sentences: list[list[Word]] = [[]]
    for word in words:
        sentences[-1].append(word)
        if _SENTENCE_END.search(word.word):
            sentences.append([])
    return [s for s in sentences if s]


def _join(words: Iterable[Word]) -> str:
    return " ".join(w.word for w in words)


# --- key concepts and themes ------------------------------------------------------------------


def yake_phrases(text: str, top: int) -> list[tuple[str, float]]:
    """YAKE keyphrases of up to three words, best first, with YAKE's raw (lower-is-better) score."""
    import yake

    if not text.strip():
        return []
    extractor = yake.KeywordExtractor(lan="en", n=3, dedup_lim=0.7, top=top, stopwords=set(stopwords()))
    return [(str(phrase), float(score)) for phrase, score in extractor.extract_keywords(text)]


def _phrase_tokens(phrase: str) -> tuple[str, ...] | None:
    """The phrase's tokens, or None when it is no concept (numbers, stop words only, fragments)."""
    parts = tuple(token(p) for p in phrase.split())
    if not parts or any(not p or any(c.isdigit() for c in p) for p in parts):
        return None
    if parts[0] in stopwords() or parts[-1] in stopwords() or not any(is_content_word(p) for p in parts):
        return None
    return parts


def _offset(short: tuple[str, ...], long: tuple[str, ...]) -> int | None:
    """Where `short` lies inside `long` as a contiguous run, or None."""
    for i in range(len(long) - len(short) + 1):
        if long[i : i + len(short)] == short:
            return i
    return None


def _overlaps(key: tuple[str, ...], kept: Iterable[tuple[str, ...]]) -> bool:
    """Whether `key` equals, contains or is contained in a kept phrase."""
    return any(_offset(key, k) is not None or _offset(k, key) is not None for k in kept)


def _occurrences(key: tuple[str, ...], stems: Sequence[str]) -> list[int]:
    """Word indices where the phrase is said, plural or not (fillers already removed)."""
    size = len(key)
    return [i for i in range(len(stems) - size + 1) if tuple(stems[i : i + size]) == key]


@dataclass
class _Candidate:
    """A keyphrase: its words as YAKE gave them, stemmed key, raw YAKE score and where it is said."""

    parts: tuple[str, ...]
    key: tuple[str, ...]
    raw: float
    positions: list[int]

    def mostly_inside(self, longer: _Candidate) -> bool:
        """Whether at least half the times this phrase is said, it is part of `longer`."""
        offset = _offset(self.key, longer.key)
        if offset is None or len(self.key) >= len(longer.key):
            return False
        spots = set(longer.positions)
        return 2 * sum(p - offset in spots for p in self.positions) >= len(self.positions)


def _add_candidate(kept: list[_Candidate], new: _Candidate) -> None:
    """Keep one name per concept: "electric car" replaces "electric" when that is mostly said in it."""
    if any(k.key == new.key or new.mostly_inside(k) for k in kept):
        return
    absorbed = [i for i, k in enumerate(kept) if k.mostly_inside(new)]
    if absorbed:
        # the longer name takes the rank and score of the best word it absorbs
        kept[absorbed[0]] = _Candidate(new.parts, new.key, kept[absorbed[0]].raw, new.positions)
        for i in reversed(absorbed[1:]):
            del kept[i]
    elif len(new.positions) >= 2 or not any(set(k.key) & set(new.key) for k in kept):
        # a phrase said once around a concept's words ("house loses heat") adds nothing to it
        kept.append(new)


def _display_forms(spoken: Sequence[Word]) -> dict[str, str]:
    """Capitalised forms of names and acronyms: tokens never said in lowercase mid-sentence."""
    forms: dict[str, str] = {}
    lowercase: set[str] = set()
    for i, word in enumerate(spoken):
        surface = re.sub(r"^\W+|\W+$", "", word.word)
        key = token(surface)
        sentence_start = i == 0 or bool(_SENTENCE_END.search(spoken[i - 1].word))
        if surface[:1].isupper() and not sentence_start:
            forms.setdefault(key, re.sub(r"['\u2019]s$", "", surface))
        elif surface[:1].islower():
            lowercase.add(key)
    return {k: v for k, v in forms.items() if k not in lowercase}


def key_concepts(spoken: Sequence[Word], max_concepts: int) -> list[Concept]:
    """The top YAKE phrases with score in (0, 1] (1 = the video's best) and the times they are said."""
    stems = [fold_plural(token(w.word)) for w in spoken]
    kept: list[_Candidate] = []
    for phrase, raw in yake_phrases(_join(spoken), top=max_concepts * 4):
        parts = _phrase_tokens(phrase)
        if parts is None:
            continue
        key = tuple(fold_plural(p) for p in parts)
        positions = _occurrences(key, stems)
        if positions:
            _add_candidate(kept, _Candidate(parts, key, raw, positions))
        if len(kept) == max_concepts:
            break
    forms = _display_forms(spoken)
    best = min((c.raw for c in kept), default=1.0)
    return [
        Concept(
            term=" ".join(forms.get(p, p) for p in c.parts),
            # YAKE's score is lower-is-better and unbounded; relative to the best it is comparable
            score=round(max(best, 1e-12) / max(c.raw, 1e-12), 4),
            times=[round(spoken[i].start, 3) for i in c.positions],
        )
        for c in kept
    ]


def _theme_terms(words: Sequence[Word]) -> Iterable[tuple[str, str, float]]:
    """(stemmed key, surface, time) of each content word and each pair of consecutive content words."""
    previous: tuple[str, str, float] | None = None
    for word in words:
        surface = token(word.word)
        if not is_content_word(surface):
            previous = None
            continue
        yield fold_plural(surface), surface, word.start
        if previous is not None:
            yield f"{previous[0]} {fold_plural(surface)}", f"{previous[1]} {surface}", previous[2]
        previous = None if _CLAUSE_END.search(word.word) else (fold_plural(surface), surface, word.start)


def themes(spoken: Sequence[Word], chapters: Sequence[Chapter], limit: int = MAX_THEMES) -> list[str]:
    """The most said content words and pairs, favouring those that recur across chapters."""
    bounds = [c.start for c in chapters] or [0.0]
    counts: Counter[str] = Counter()
    spread: defaultdict[str, set[int]] = defaultdict(set)
    surfaces: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for key, surface, time in _theme_terms(spoken):
        counts[key] += 1
        spread[key].add(bisect_right(bounds, time))
        surfaces[key][surface] += 1
    # a pair counts double: said as often as its words, it is the better name for the topic
    weight = {k: n * (1 + k.count(" ")) * math.sqrt(len(spread[k]) / len(bounds)) for k, n in counts.items()}
    ranked = sorted((k for k, n in counts.items() if n >= 2), key=lambda k: (-weight[k], k))
    chosen: list[tuple[str, ...]] = []
    for key in ranked:
        if len(chosen) < limit and not _overlaps(tuple(key.split()), chosen):
            chosen.append(tuple(key.split()))
    return [surfaces[" ".join(k)].most_common(1)[0][0] for k in chosen]


# --- numbers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Reading:
    """A number read from the words at [first, end)."""

    first: int
    end: int
    value: float
    spelled: bool
    currency: bool = False
    percent: bool = False
    year_form: bool = False  # four plain digits or "nineteen sixty-nine": may be a year
    closed: bool = False  # punctuation after the last word: nothing after it belongs to the number


def _read_digits(words: Sequence[Word], i: int) -> _Reading | None:
    """ "60", "60%", "$300", "1,200", "3.5", optionally followed by a scale word ("2 million")."""
    raw = words[i].word
    match = _DIGITS.match(re.sub(r"^[\"'(]+|[\"')\].,!?;:]+$", "", raw))
    if match is None:
        return None
    sign, whole, fraction, percent = match.groups()
    value = float(whole.replace(",", "") + (fraction or ""))
    end, closed = i + 1, bool(_CLAUSE_END.search(raw))
    if not closed and end < len(words) and token(words[end].word) in _SCALES:
        value *= _SCALES[token(words[end].word)]
        closed = bool(_CLAUSE_END.search(words[end].word))
        end += 1
    plain = sign is None and percent is None and fraction is None and len(whole) == 4 and end == i + 1
    return _Reading(i, end, value, False, sign is not None, percent is not None, plain, closed)


def _number_word_kind(part: str) -> str | None:
    if part in _UNITS:
        return "unit"
    if part in _TEENS:
        return "teen"
    if part in _TENS:
        return "tens"
    if part == "hundred":
        return "hundred"
    if part in _SCALES:
        return "scale"
    return "and" if part == "and" else None


# which kind of number word may follow which: "three hundred and five", "two thousand twenty"
_FOLLOWS = {
    "start": {"unit", "teen", "tens"},
    "unit": {"hundred", "scale"},
    "teen": {"hundred", "scale"},
    "tens": {"unit", "hundred", "scale"},
    "hundred": {"unit", "teen", "tens", "scale", "and"},
    "scale": {"unit", "teen", "tens", "and"},
    "and": {"unit", "teen", "tens"},
}


def _number_parts(words: Sequence[Word], i: int) -> list[tuple[str, str, int]]:
    """(part, kind, word index) for the run of number words from i, hyphenated words split."""
    parts: list[tuple[str, str, int]] = []
    for j in range(i, len(words)):
        pieces = [token(p) for p in words[j].word.split("-")]
        kinds = [_number_word_kind(p) for p in pieces]
        if any(k is None for k in kinds):
            break
        parts += [(p, str(k), j) for p, k in zip(pieces, kinds, strict=True)]
        if _CLAUSE_END.search(words[j].word):
            break
    return parts


def _read_spelled(words: Sequence[Word], i: int) -> _Reading | None:
    """ "sixty", "three hundred", "two thousand and five", and year pairs like "nineteen sixty-nine"."""
    parts = _number_parts(words, i)
    total, current, state, used = 0.0, 0.0, "start", 0
    year_head: float | None = None
    for part, kind, _ in parts:
        pair = year_head is None and state in ("teen", "tens") and kind in ("teen", "tens") and used == 1
        if pair and 11 <= current <= 20:
            year_head, current = current, 0.0
        elif kind not in _FOLLOWS[state] or (year_head is not None and kind not in ("unit", "teen", "tens")):
            break
        if kind in ("unit", "teen", "tens"):
            current += _UNITS.get(part, _TEENS.get(part, _TENS.get(part, 0)))
        elif kind == "hundred":
            current = (current or 1.0) * 100
        elif kind == "scale":
            total, current = total + (current or 1.0) * _SCALES[part], 0.0
        state, used = kind, used + 1
    while used and parts[used - 1][1] == "and":
        used -= 1
    if used == 0:
        return None
    end = parts[used - 1][2] + 1
    value = year_head * 100 + current if year_head is not None else total + current
    closed = bool(_CLAUSE_END.search(words[end - 1].word))
    return _Reading(i, end, value, True, year_form=year_head is not None, closed=closed)


def _unit_after(words: Sequence[Word], reading: _Reading) -> tuple[NumberKind | None, int]:
    """The kind a unit word after the number gives ("percent", "per cent", "dollars"), and where it ends."""
    j = reading.end
    if reading.closed or j >= len(words):
        return None, j
    first = token(words[j].word) or words[j].word.strip()
    if first in _PERCENT_WORDS:
        return "percent", j + 1
    if first == "per" and j + 1 < len(words) and token(words[j + 1].word) == "cent":
        return "percent", j + 2
    if first in _MONEY_WORDS:
        return "money", j + 1
    return None, j


def _noun_after(words: Sequence[Word], reading: _Reading) -> bool:
    """Whether a content word (likely a noun, "300 students") follows the number directly."""
    if reading.closed or reading.end >= len(words):
        return False
    following = token(words[reading.end].word)
    return is_content_word(following) and not following.endswith("ly") and following not in EMPHASIS_WORDS


def _classify(words: Sequence[Word], reading: _Reading) -> tuple[NumberKind, int]:
    """The number's kind and the end of its spoken text (unit or noun included)."""
    unit, end = _unit_after(words, reading)
    if reading.percent or unit == "percent":
        return "percent", end
    if reading.currency or unit == "money":
        return "money", end
    whole_year = reading.value.is_integer() and 1900 <= reading.value <= 2099
    led = reading.first > 0 and token(words[reading.first - 1].word) in _YEAR_LEAD_WORDS
    if whole_year and (led or (reading.year_form and not _noun_after(words, reading))):
        return "year", reading.end
    if _noun_after(words, reading):
        return "count", reading.end + 1
    return "other", reading.end


def _worth_a_graphic(reading: _Reading, kind: NumberKind) -> bool:
    # spelled "one" is mostly a pronoun and "two or three" an aside; digits were chosen by the speaker
    if not reading.spelled or kind in ("percent", "money", "year"):
        return True
    return reading.value > 1 and (kind == "count" or reading.value >= 10)


def _context(sentences: Sequence[tuple[int, int]], words: Sequence[Word], index: int) -> str:
    """The sentence around word `index`, cut to 12 words either side when it runs on."""
    for first, end in sentences:
        if first <= index < end:
            return _join(words[max(first, index - 12) : min(end, index + 13)])
    return ""


def spoken_numbers(spoken: Sequence[Word]) -> list[SpokenNumber]:
    """Numbers worth a graphic, in digits or words, with kind, value, sentence and time."""
    sentences, cursor = [], 0
    for sentence in _sentences(spoken):
        sentences.append((cursor, cursor + len(sentence)))
        cursor += len(sentence)
    numbers: list[SpokenNumber] = []
    i = 0
    while i < len(spoken):
        reading = _read_digits(spoken, i) or _read_spelled(spoken, i)
        if reading is None:
            i += 1
            continue
        kind, end = _classify(spoken, reading)
        if _worth_a_graphic(reading, kind):
            text = re.sub(r"[.,!?;:]+$", "", _join(spoken[i:end]))
            context = _context(sentences, spoken, i)
            numbers.append(
                SpokenNumber(
                    text=text, value=reading.value, kind=kind, context=context, time=round(spoken[i].start, 3)
                )
            )
        i = max(reading.end, i + 1)
    return numbers


# --- emotional peaks --------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _sentiment_analyzer() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def _peak_scale_db(peaks: Sequence[AudioPeak]) -> float:
    """The prominence that scores 1: the video's most prominent peak, but no less than the floor."""
    return max([p.prominence_db for p in peaks] + [PEAK_SCALE_FLOOR_DB])


def _spaced(peaks: Iterable[EmotionalPeak], gap_s: float) -> list[EmotionalPeak]:
    """The strongest peaks with at least `gap_s` between any two, in time order."""
    kept: list[EmotionalPeak] = []
    for peak in sorted(peaks, key=lambda p: -p.score):
        if all(abs(peak.time - k.time) >= gap_s for k in kept):
            kept.append(peak)
    return sorted(kept, key=lambda p: p.time)


def _segment_peak(unit: _Unit, audio: AudioAnalysis, scale_db: float) -> EmotionalPeak:
    """Audio peak near the segment fused with its sentiment, exclamation and emphasis words."""
    near = [p for p in audio.peaks if unit.start - PEAK_REACH_S <= p.time <= unit.end + PEAK_REACH_S]
    loudest = max(near, key=lambda p: p.prominence_db, default=None)
    compound = float(_sentiment_analyzer().polarity_scores(unit.text)["compound"])
    exclaimed = "!" in unit.text
    emphatic = [w for w in unit.words if token(w.word) in EMPHASIS_WORDS]
    audio_score = min(1.0, loudest.prominence_db / scale_db) if loudest else 0.0
    text_score = (
        WEIGHT_SENTIMENT * abs(compound)
        + WEIGHT_EXCLAMATION * exclaimed
        + WEIGHT_EMPHASIS * min(1.0, len(emphatic) / 2)
    )
    # without an audio track only the text can speak, so it gets the whole scale
    score = WEIGHT_AUDIO * audio_score + text_score if audio.has_audio else text_score / (1 - WEIGHT_AUDIO)
    cues = [f"audio peak +{loudest.prominence_db:.0f} dB"] if loudest else []
    cues += [f"sentiment {compound:+.1f}"] if abs(compound) >= SENTIMENT_CUE else []
    cues += ["exclamation"] if exclaimed else []
    cues += [f"emphasis: {', '.join(dict.fromkeys(token(w.word) for w in emphatic))}"] if emphatic else []
    time = loudest.time if loudest else (emphatic[0].start if emphatic else unit.start)
    return EmotionalPeak(time=round(time, 3), score=round(min(1.0, score), 4), cues=cues)


def _music_peak(peak: AudioPeak, scale_db: float) -> EmotionalPeak:
    score = min(1.0, peak.prominence_db / scale_db)
    return EmotionalPeak(
        time=round(peak.time, 3), score=round(score, 4), cues=[f"audio peak +{peak.prominence_db:.0f} dB"]
    )


# --- chapters -----------------------------------------------------------------------------------


def _cosine(a: Counter[str], b: Counter[str]) -> float:
    dot = sum(n * b[k] for k, n in a.items() if k in b)
    norm = math.sqrt(sum(n * n for n in a.values()) * sum(n * n for n in b.values()))
    return dot / norm if norm else 0.0


def cohesion(units: Sequence[_Unit], window_s: float) -> list[float]:
    """Similarity of the words in `window_s` before and after each boundary between units (1 .. n-1)."""
    counts = [u.content_counts() for u in units]
    starts = [u.start for u in units]
    scores = []
    for gap in range(1, len(units)):
        before: Counter[str] = Counter()
        after: Counter[str] = Counter()
        for c in counts[bisect_right(starts, starts[gap] - window_s - 1e-9) : gap]:
            before.update(c)
        for c in counts[gap : bisect_right(starts, starts[gap] + window_s - 1e-9)]:
            after.update(c)
        scores.append(_cosine(before, after))
    return scores


def _climb(values: Sequence[float], i: int, step: int) -> float:
    """The top of the slope that rises from values[i] in direction `step`."""
    top = values[i]
    while 0 <= i + step < len(values) and values[i + step] >= top:
        i += step
        top = values[i]
    return top


def _depths(scores: Sequence[float]) -> list[float]:
    """TextTiling depth of each valley of the smoothed scores: how far it lies below the peaks either side."""
    if not scores:
        return []
    smooth = np.convolve(np.pad(scores, 1, mode="edge"), np.ones(3) / 3, mode="valid").tolist()
    depths = []
    for i, s in enumerate(smooth):
        is_valley = (i == 0 or smooth[i - 1] >= s) and (i == len(smooth) - 1 or smooth[i + 1] >= s)
        depths.append(_climb(smooth, i, -1) + _climb(smooth, i, 1) - 2 * s if is_valley else 0.0)
    return depths


def _pick_boundaries(
    times: Sequence[float], strengths: Sequence[float], end_s: float, settings: AnalysisConfig
) -> list[float]:
    """The strongest boundary times that keep every chapter at least min_chapter_s long."""
    candidates = [(s, t) for s, t in zip(strengths, times, strict=True) if s > 0]
    if not candidates:
        return []
    values = np.array([s for s, _ in candidates])
    # TextTiling's cut-off: valleys deeper than mean - sd/2 of all valleys
    cutoff = max(MIN_BOUNDARY_DEPTH, float(values.mean() - values.std() / 2))
    chosen: list[float] = []
    for strength, at in sorted(candidates, reverse=True):
        if len(chosen) == settings.max_chapters - 1 or strength < cutoff:
            break
        edges = [0.0, end_s, *chosen]
        if all(abs(at - e) >= settings.min_chapter_s for e in edges):
            chosen.append(at)
    return sorted(chosen)


def _chapters_at(starts: Sequence[float], end_s: float, titles: Sequence[str]) -> list[Chapter]:
    ends = [*starts[1:], end_s]
    return [
        Chapter(start=round(s, 3), end=round(max(e, s), 3), title=t)
        for s, e, t in zip(starts, ends, titles, strict=True)
    ]


def _chapter_titles(spoken: Sequence[Word], starts: Sequence[float]) -> list[str]:
    """The best key concept of each chapter not already used by an earlier one, title-cased."""
    bounds = [*starts[1:], math.inf]
    used: set[str] = set()
    titles = []
    for number, (start, end) in enumerate(zip(starts, bounds, strict=True), start=1):
        words = [w for w in spoken if start <= w.start < end]
        names = (
            title_case(" ".join(c.term.split()[:MAX_TITLE_WORDS]))
            for c in key_concepts(words, max_concepts=8)
        )
        title = next((n for n in names if n.lower() not in used), f"Part {number}")
        used.add(title.lower())
        titles.append(title)
    return titles


# --- music ------------------------------------------------------------------------------------


def track_beats(samples: np.ndarray, rate: int) -> tuple[float | None, list[float]]:
    """Tempo in BPM and beat times in seconds (librosa beat tracker)."""
    import librosa

    if samples.size < rate:
        return None, []
    tempo, beats = librosa.beat.beat_track(y=samples, sr=rate, hop_length=MUSIC_HOP, units="time")
    beat_times = [round(float(t), 3) for t in beats]
    if len(beat_times) >= 4:
        # the slope of beat time over beat number is finer than librosa's tempo grid
        spacing = float(np.polyfit(np.arange(len(beat_times)), beat_times, 1)[0])
        return round(60.0 / spacing, 2), beat_times
    estimate = float(np.atleast_1d(tempo)[0])
    return (round(estimate, 2) if estimate > 0 else None), beat_times


def section_novelty(samples: np.ndarray, rate: int) -> tuple[list[float], list[float]]:
    """Once per second, how far the average timbre (MFCC) of the seconds before is from those after."""
    import librosa

    mfcc = librosa.feature.mfcc(y=samples, sr=rate, n_mfcc=13, hop_length=MUSIC_HOP)
    per_s = max(1, int(round(rate / MUSIC_HOP)))
    seconds = mfcc.shape[1] // per_s
    blocks = mfcc[:, : seconds * per_s].reshape(mfcc.shape[0], seconds, per_s).mean(axis=2)
    half = MUSIC_KERNEL_S
    times, novelty = [], []
    # full windows only: a half-empty one at either end of the track differs from anything
    for i in range(half, seconds - half + 1):
        before = blocks[:, i - half : i].mean(axis=1)
        after = blocks[:, i : i + half].mean(axis=1)
        times.append(float(i))
        novelty.append(float(np.linalg.norm(before - after) / math.sqrt(blocks.shape[0])))
    return times, novelty


def _on_beat(at: float, beats: Sequence[float]) -> float:
    """The beat nearest to `at`, when there is one within a second."""
    nearest = min(beats, key=lambda b: abs(b - at), default=at)
    return nearest if abs(nearest - at) <= 1.0 else at


# --- content types --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Inputs:
    """Everything the content-type paths read."""

    spoken: tuple[Word, ...]
    units: tuple[_Unit, ...]
    audio: AudioAnalysis
    settings: AnalysisConfig
    end_s: float
    samples: np.ndarray | None = None
    rate: int = 0
    beats: tuple[float, ...] = ()


def _speech_peaks(inputs: _Inputs) -> list[EmotionalPeak]:
    scale_db = _peak_scale_db(inputs.audio.peaks)
    fused = (_segment_peak(u, inputs.audio, scale_db) for u in inputs.units)
    return _spaced((p for p in fused if p.score > inputs.settings.emotion_threshold), PEAK_SPACING_S)


def _music_peaks(inputs: _Inputs) -> list[EmotionalPeak]:
    scale_db = _peak_scale_db(inputs.audio.peaks)
    scored = (_music_peak(p, scale_db) for p in inputs.audio.peaks)
    return _spaced((p for p in scored if p.score > inputs.settings.emotion_threshold), PEAK_SPACING_S)


def _topic_chapters(inputs: _Inputs) -> list[Chapter]:
    """Chapters where the vocabulary changes, titled by their top keyphrase."""
    if not inputs.units:
        return []
    window_s = max(inputs.settings.min_chapter_s, COHESION_WINDOW_FLOOR_S)
    scores = cohesion(inputs.units, window_s)
    depths = _depths(scores)
    # smoothing finds the valley; the least cohesive gap next to it is where the topic changes
    nearest = [
        min(range(max(0, i - 1), min(len(scores), i + 2)), key=scores.__getitem__) for i in range(len(scores))
    ]
    times = [inputs.units[1 + j].start for j in nearest]
    starts = [0.0, *_pick_boundaries(times, depths, inputs.end_s, inputs.settings)]
    return _chapters_at(starts, inputs.end_s, _chapter_titles(inputs.spoken, starts))


def _music_chapters(inputs: _Inputs) -> list[Chapter]:
    """Sections where the timbre changes, moved onto beats; numbered, since nothing names them."""
    if inputs.samples is None or not inputs.samples.size:
        return []
    times, novelty = section_novelty(inputs.samples, inputs.rate)
    # only the tops of novelty peaks that stand out from an even track are section changes
    peaks = [
        n if n >= MIN_SECTION_NOVELTY and n == max(novelty[max(0, i - 1) : i + 2]) else 0.0
        for i, n in enumerate(novelty)
    ]
    cuts = _pick_boundaries(times, peaks, inputs.end_s, inputs.settings)
    starts = [0.0, *sorted({_on_beat(t, inputs.beats) for t in cuts})]
    return _chapters_at(starts, inputs.end_s, [f"Part {i}" for i in range(1, len(starts) + 1)])


@dataclass(frozen=True)
class ContentPath:
    """How one content_type is analysed."""

    name: str  # the content_type
    packages: tuple[str, ...]
    find_numbers: bool
    reads_audio: bool  # decodes the WAV for beats and sections
    find_peaks: Callable[[_Inputs], list[EmotionalPeak]]
    find_chapters: Callable[[_Inputs], list[Chapter]]


_SPEECH = ContentPath(
    name="educational",
    packages=("yake", "vaderSentiment", "numpy"),
    find_numbers=True,
    reads_audio=False,
    find_peaks=_speech_peaks,
    find_chapters=_topic_chapters,
)
CONTENT_PATHS: Registry[ContentPath] = Registry(
    "analysis.content_type",
    [
        _SPEECH,
        replace(_SPEECH, name="general"),
        ContentPath(
            name="music",
            packages=("yake", "librosa", "numpy"),
            find_numbers=False,
            reads_audio=True,
            find_peaks=_music_peaks,
            find_chapters=_music_chapters,
        ),
    ],
)


def _end_time(spoken: Sequence[Word], audio: AudioAnalysis, duration_s: float | None) -> float:
    if duration_s:
        return float(duration_s)
    return spoken[-1].end if spoken else audio.duration_s


def _no_words_reason(transcript: Transcript) -> str:
    return transcript.skip_reason or "the transcript has no words"


def _music_samples(wav_path: str | Path | None, audio: AudioAnalysis) -> tuple[np.ndarray | None, int]:
    """The WAV's samples when there is audio to follow; a WAV that should be there and is not is an error."""
    if wav_path is None or not audio.has_audio:
        return None, 0
    if not Path(wav_path).is_file():
        raise ArtifactError(f"{wav_path}: the 16 kHz WAV is missing — rerun the extract_audio rule")
    return read_pcm16(wav_path)


def _no_beats_reason(wav_path: str | Path | None, audio: AudioAnalysis) -> str:
    if not audio.has_audio:
        return audio.skip_reason or "no audio track: no beats to follow"
    if wav_path is None:
        return "no WAV was given: beats and sections were not analysed"
    return f"{wav_path}: no beats found in the audio"


def analyze_content(
    transcript: Transcript,
    audio: AudioAnalysis,
    settings: AnalysisConfig,
    wav_path: str | Path | None = None,
    duration_s: float | None = None,
) -> Analysis:
    """analysis.json for one video: concepts, themes, numbers, emotional peaks and chapters (offline)."""
    path = CONTENT_PATHS[settings.content_type]
    spoken = tuple(w for w in transcript.words if not w.is_filler)
    end_s = _end_time(spoken, audio, duration_s)
    samples, rate = _music_samples(wav_path, audio) if path.reads_audio else (None, 0)
    tempo, beats = track_beats(samples, rate) if samples is not None else (None, [])
    reasons = [] if spoken else [_no_words_reason(transcript)]
    if path.reads_audio and not beats:
        reasons.append(_no_beats_reason(wav_path, audio))
    inputs = _Inputs(
        spoken, tuple(_units(transcript, spoken)), audio, settings, end_s, samples, rate, tuple(beats)
    )
    chapters = path.find_chapters(inputs)
    return Analysis(
        producer=make_producer("analyze", f"offline-{settings.content_type}", packages=path.packages),
        content_type=settings.content_type,
        skip_reason="; ".join(dict.fromkeys(reasons)) or None,
        concepts=key_concepts(spoken, settings.max_concepts) if spoken else [],
        themes=themes(spoken, chapters) if spoken else [],
        numbers=spoken_numbers(spoken) if path.find_numbers else [],
        emotional_peaks=path.find_peaks(inputs),
        chapters=chapters,
        tempo_bpm=tempo,
        beats=beats,
    )
