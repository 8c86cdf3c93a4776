"""Captions: the words that survive the edit, re-timed to the edited video and grouped into cues.

Written as SRT and WebVTT. Fillers and words whose middle was cut are left out. Cues break at sentence
ends, pauses and clause commas, hold at most `max_lines` balanced lines of at most `max_chars`
characters, and last at least `min_duration_s` without ever overlapping the next cue or running past
the end of the edited video.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from .models import Plan, Transcript
from .publish import write_text_atomic
from .text import capitalised
from .timemap import EditMap

SENTENCE_END = (".", "?", "!", "…")
CLAUSE_END = (",", ";", ":", "—")
CLOSING = "\"')]}»”’"
PAUSE_S = 0.5  # a silence this long in the edited video ends a cue
MAX_CUE_S = 7.0  # a cue longer than this is split even mid-sentence
EPSILON_S = 1e-6  # times are whole milliseconds; this absorbs float error in their sums
CLAUSE_BONUS = 0.35  # a break after a comma may be this share of the ideal cue length further from it


@dataclass
class Cue:
    """One caption, shown from `start` to `end` (edited seconds), as one or more lines."""

    start: float
    end: float
    lines: list[str]

    @property
    def text(self) -> str:
        return " ".join(self.lines)

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass
class _Token:
    """A kept word in edited seconds."""

    text: str
    start: float
    end: float


@dataclass
class _Draft:
    """A cue before its timing is final."""

    tokens: list[_Token]
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


def make_cues(
    transcript: Transcript,
    plan: Plan,
    max_chars: int = 42,
    max_lines: int = 2,
    min_duration_s: float = 0.7,
) -> list[Cue]:
    """Caption cues in edited seconds for the words that are not fillers and survive the plan's cuts."""
    edit_map = EditMap.from_keep(plan.keep)
    total_s = math.floor(edit_map.duration * 1000 + 1e-6) / 1000
    tokens = split_long_tokens(kept_tokens(transcript, edit_map), max_chars)
    drafts = [
        _Draft(chunk, chunk[0].start, chunk[-1].end)
        for phrase in phrases(tokens)
        for chunk in chunk_phrase(phrase, max_chars, max_lines)
    ]
    drafts = enforce_min_duration(drafts, min_duration_s, total_s, max_chars, max_lines)
    return [_finish(draft, total_s, max_chars, max_lines) for draft in drafts]


def kept_tokens(transcript: Transcript, edit_map: EditMap) -> list[_Token]:
    """The non-filler words whose middle is kept, in edited seconds, in order and not overlapping."""
    tokens: list[_Token] = []
    removed = False  # whether a filler or a cut word lies between the last kept word and this one
    for word in sorted(transcript.words, key=lambda w: (w.start, w.end)):
        text = word.word.strip().replace("-->", "->")
        timing = None if word.is_filler else _edited_extent(edit_map, word.start, word.end)
        if not text or timing is None:
            removed = removed or bool(text)
            continue
        if removed and (not tokens or _ends_sentence(tokens[-1].text)):
            text = capitalised(text)  # "Um, heating" loses its "Um," and "heating" now starts the sentence
        _append_token(tokens, text, *timing)
        removed = False
    return tokens


def _edited_extent(edit_map: EditMap, start: float, end: float) -> tuple[float, float] | None:
    """Edited (start, end) of a word, or None when its middle was cut."""
    if edit_map.to_edited((start + end) / 2) is None:
        return None
    extent = edit_map.span_to_edited(start, end)
    if extent is None:  # a zero-length word at a keep range's edge
        instant = edit_map.to_edited_clamped(start)
        return instant, instant
    return extent


def _append_token(tokens: list[_Token], text: str, start: float, end: float) -> None:
    """Add a word; punctuation on its own ("%", "—") joins the word before it."""
    previous = tokens[-1] if tokens else None
    if previous is not None and not any(c.isalnum() for c in text):
        previous.text += text
        previous.end = max(previous.end, round(end, 3))
        return
    # whole milliseconds, so that a cue lengthened to exactly the minimum stays that long in the file
    start = round(max(start, previous.end) if previous else start, 3)
    tokens.append(_Token(text, start, max(start, round(end, 3))))


def _ends_sentence(text: str) -> bool:
    return text.rstrip(CLOSING).endswith(SENTENCE_END)


def _ends_clause(text: str) -> bool:
    return text.rstrip(CLOSING).endswith(CLAUSE_END)


def split_long_tokens(tokens: list[_Token], max_chars: int) -> list[_Token]:
    """Words longer than a line (URLs) cut into line-sized pieces, their time shared in proportion."""
    result: list[_Token] = []
    for token in tokens:
        if len(token.text) <= max_chars:
            result.append(token)
            continue
        pieces = [token.text[i : i + max_chars] for i in range(0, len(token.text), max_chars)]
        step = (token.end - token.start) / len(pieces)
        for index, piece in enumerate(pieces):
            start, end = token.start + index * step, token.start + (index + 1) * step
            result.append(_Token(piece, round(start, 3), round(end, 3)))
    return result


def phrases(tokens: list[_Token]) -> list[list[_Token]]:
    """Runs of words that end at a sentence end or a pause in the edited video."""
    groups: list[list[_Token]] = []
    for token in tokens:
        if groups and not _ends_sentence(groups[-1][-1].text) and token.start - groups[-1][-1].end < PAUSE_S:
            groups[-1].append(token)
        else:
            groups.append([token])
    return groups


def chunk_phrase(phrase: list[_Token], max_chars: int, max_lines: int) -> list[list[_Token]]:
    """A phrase split into the fewest cues that fit, of even length, preferring breaks after commas."""
    chunks: list[list[_Token]] = []
    needed = _greedy_count(phrase, max_chars, max_lines)
    rest = phrase
    while rest:
        longest = _longest_fit(rest, max_chars, max_lines)
        if longest == len(rest):
            chunks.append(rest)
            break
        size = _best_break(rest, longest, _chars(rest) / max(1, needed - len(chunks)))
        chunks.append(rest[:size])
        rest = rest[size:]
    return chunks


def _best_break(tokens: Sequence[_Token], longest: int, target_chars: float) -> int:
    """How many words to put in the next cue: closest to the target length, a comma counting as closer."""

    def distance(count: int) -> float:
        bonus = CLAUSE_BONUS * target_chars if _ends_clause(tokens[count - 1].text) else 0.0
        return abs(_chars(tokens[:count]) - target_chars) - bonus

    return min(range(1, longest + 1), key=distance)


def _chars(tokens: Sequence[_Token]) -> int:
    return len(" ".join(t.text for t in tokens))


def _fits(tokens: Sequence[_Token], max_chars: int, max_lines: int) -> bool:
    if len(tokens) > 1 and tokens[-1].end - tokens[0].start > MAX_CUE_S:
        return False
    return wrap_lines([t.text for t in tokens], max_chars, max_lines) is not None


def _longest_fit(tokens: Sequence[_Token], max_chars: int, max_lines: int) -> int:
    """How many leading words fit in one cue (at least one)."""
    count = 1
    while count < len(tokens) and _fits(tokens[: count + 1], max_chars, max_lines):
        count += 1
    return count


def _greedy_count(tokens: Sequence[_Token], max_chars: int, max_lines: int) -> int:
    """The fewest cues the words need, filling each cue as far as it goes."""
    count, index = 0, 0
    while index < len(tokens):
        index += _longest_fit(tokens[index:], max_chars, max_lines)
        count += 1
    return count


def wrap_lines(words: Sequence[str], max_chars: int, max_lines: int) -> list[str] | None:
    """Words on the fewest lines of at most `max_chars`, as even as possible; None when they do not fit."""
    if not words or len(" ".join(words)) > max_chars * max_lines:
        return None
    widths = [len(w) for w in words]

    @cache
    def best(first: int, lines: int) -> tuple[int, int, tuple[int, ...]] | None:
        """(longest line, first line, break indices) for words[first:] on exactly `lines` lines."""
        if lines == 1:
            width = sum(widths[first:]) + len(widths) - first - 1
            return (width, width, ()) if width <= max_chars else None
        options = []
        for split in range(first + 1, len(words) - lines + 2):
            head = sum(widths[first:split]) + split - first - 1
            if head > max_chars:
                break
            tail = best(split, lines - 1)
            if tail is not None:
                options.append((max(head, tail[0]), head, (split, *tail[2])))
        return min(options) if options else None

    for lines in range(1, min(max_lines, len(words)) + 1):
        found = best(0, lines)
        if found is not None:
            bounds = [0, *found[2], len(words)]
            return [" ".join(words[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)]
    return None


def enforce_min_duration(
    drafts: list[_Draft], min_s: float, total_s: float, max_chars: int, max_lines: int
) -> list[_Draft]:
    """Lengthen short cues into the gaps around them, else merge them with a neighbour, else borrow time."""
    index = 0
    while index < len(drafts):
        draft = drafts[index]
        if draft.duration >= min_s - EPSILON_S:
            index += 1
            continue
        _extend_into_gaps(drafts, index, min_s, total_s)
        if draft.duration >= min_s - EPSILON_S:
            index += 1
            continue
        merged_into = _merge_with_neighbour(drafts, index, max_chars, max_lines)
        if merged_into is not None:
            index = merged_into  # check the merged cue again
            continue
        _borrow_from_neighbours(drafts, index, min_s)
        index += 1
    return drafts


def _extend_into_gaps(drafts: list[_Draft], index: int, min_s: float, total_s: float) -> None:
    draft = drafts[index]
    next_start = drafts[index + 1].start if index + 1 < len(drafts) else total_s
    previous_end = drafts[index - 1].end if index > 0 else 0.0
    draft.end = max(draft.end, min(draft.start + min_s, next_start))
    draft.start = min(draft.start, max(draft.end - min_s, previous_end))


def _merge_with_neighbour(drafts: list[_Draft], index: int, max_chars: int, max_lines: int) -> int | None:
    """Merge the cue with the closer neighbour whose words fit with it; the merged cue's index, or None."""
    draft = drafts[index]
    candidates = []
    if index > 0:
        candidates.append((draft.start - drafts[index - 1].end, index - 1))
    if index + 1 < len(drafts):
        candidates.append((drafts[index + 1].start - draft.end, index))
    for _, first in sorted(candidates):
        a, b = drafts[first], drafts[first + 1]
        tokens = a.tokens + b.tokens
        if wrap_lines([t.text for t in tokens], max_chars, max_lines) is not None:
            drafts[first : first + 2] = [_Draft(tokens, a.start, b.end)]
            return first
    return None


def _borrow_from_neighbours(drafts: list[_Draft], index: int, min_s: float) -> None:
    """Move the boundaries with the neighbours so that this cue gets min_s and they keep at least min_s."""
    draft = drafts[index]
    if index + 1 < len(drafts):
        following = drafts[index + 1]
        end = min(draft.start + min_s, following.end - min_s)
        if end > draft.end:
            draft.end = end
            following.start = max(following.start, end)
    if draft.duration < min_s - EPSILON_S and index > 0:
        preceding = drafts[index - 1]
        start = max(draft.end - min_s, preceding.start + min_s)
        if start < draft.start:
            draft.start = start
            preceding.end = min(preceding.end, start)


def _finish(draft: _Draft, total_s: float, max_chars: int, max_lines: int) -> Cue:
    """The cue with its lines wrapped and its times in whole milliseconds, ending by `total_s`."""
    lines = wrap_lines([t.text for t in draft.tokens], max_chars, max_lines)
    assert lines is not None, "cues are only ever built from words that fit"
    end = min(round(draft.end, 3), total_s)
    return Cue(min(round(draft.start, 3), end), end, lines)


def _timestamp(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def to_srt(cues: Sequence[Cue]) -> str:
    """SubRip text: numbered cues from 1, HH:MM:SS,mmm times."""
    blocks = [
        f"{number}\n{_timestamp(cue.start, ',')} --> {_timestamp(cue.end, ',')}\n" + "\n".join(cue.lines)
        for number, cue in enumerate(cues, start=1)
    ]
    return "".join(block + "\n\n" for block in blocks)


def to_vtt(cues: Sequence[Cue]) -> str:
    """WebVTT text: a WEBVTT header, HH:MM:SS.mmm times, with &, < and > escaped as the format requires."""
    blocks = [
        f"{_timestamp(cue.start, '.')} --> {_timestamp(cue.end, '.')}\n"
        + "\n".join(map(_vtt_escape, cue.lines))
        for cue in cues
    ]
    return "WEBVTT\n\n" + "".join(block + "\n\n" for block in blocks)


def _vtt_escape(line: str) -> str:
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_captions(
    transcript: Transcript,
    plan: Plan,
    srt_path: str | os.PathLike[str],
    vtt_path: str | os.PathLike[str],
    max_chars: int = 42,
    max_lines: int = 2,
    min_duration_s: float = 0.7,
) -> list[Cue]:
    """Write the edited video's captions as SRT and WebVTT, each atomically; return the cues."""
    cues = make_cues(transcript, plan, max_chars, max_lines, min_duration_s)
    write_text_atomic(srt_path, to_srt(cues))
    write_text_atomic(vtt_path, to_vtt(cues))
    return cues
