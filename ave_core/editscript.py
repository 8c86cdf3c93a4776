"""The edit script: the plan as Markdown a person reads and edits, `results/{video}/edit.md`.

One line per sentence or caption-length phrase, with its source time; every word the plan cuts is struck
through (`~~um~~`), every pause that is cut, or long enough to matter, is a token with its length
(`[2.4 s pause]`), and each cut's reason and confidence sit beside it in an HTML comment, which GitHub,
VS Code, Obsidian and Typora hide in their previews and a text editor shows in place.

The creator's copy (`edits/{video}.md`) is read back by `parse_edit_script`: struck tokens are cut, unstruck
ones kept, deleted words cut. The transcript's words and the gaps between them are the script's elements;
`element_states` says which of them a list of cuts removes, by one rule that writing and reading share.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from .errors import AveError
from .models import Chapter, Cut, Plan, Word
from .text import shorten

PAUSE_SHOWN_S = 0.4  # a kept pause at least this long gets a token, so the creator can strike it
STRUCK_SHARE = 0.25  # a pause counts as cut when the cuts remove this share of it...
STRUCK_MIN_S = 0.1  # ...and at least this many seconds (a struck word's pad never reaches that far)
LONG_PAUSE_S = 1.0  # a pause this long ends a line
BREAK_PAUSE_S = 0.5  # a pause this long ends a line that holds PAUSE_BREAK_CHARS characters of words
PAUSE_BREAK_CHARS = 40
LINE_CHARS = 60  # or at a comma after this many
MAX_LINE_CHARS = 100  # and ends at the next word after this many
SENTENCE_END = (".", "?", "!", "…")
CLAUSE_END = (",", ";", ":", "—")
CLOSING = "\"')]}»”’"
MARKER = "ave-edit-script"
FORMAT_VERSION = 1
ESCAPED = set("\\`*_~[]<>&")
PAUSE_TOKEN = re.compile(r"\[\s*(\d+(?:[.,]\d+)?)\s*s\s+(?:pause|silence|sound)\s*\]", re.IGNORECASE)
TIME_CODE = re.compile(r"`\s*(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)\s*`")
LIST_MARKER = re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)])(?:\s+|$)")
HEADING = re.compile(r"^\s{0,3}#{1,6}(?:\s|$)")
THEMATIC_BREAK = re.compile(r"^\s{0,3}(?:(?:-\s*){3,}|(?:\*\s*){3,}|(?:_\s*){3,})$")
COMMENT = re.compile(r"<!--.*?-->")


class EditError(AveError):
    """The creator's edit file cannot be followed; the message names the file, the line and the fix."""


# --- elements: the words and the gaps between them --------------------------------------------------


@dataclass(frozen=True)
class Element:
    """A word of the transcript, or the gap before word `index` (index == number of words: after the last).

    Elements alternate, gap 0, word 0, gap 1, word 1, ..., gap n, so element 2i is gap i and 2i+1 word i.
    """

    kind: Literal["word", "pause"]
    index: int
    start: float
    end: float
    text: str

    @property
    def duration(self) -> float:
        return self.end - self.start


def script_words(words: Sequence[Word]) -> list[Word]:
    """The transcript's words in time order, as the script lists them."""
    return sorted(words, key=lambda w: (w.start, w.end))


def build_elements(words: Sequence[Word], duration: float) -> list[Element]:
    """Gap 0, word 0, gap 1, ..., gap n over [0, duration]; words sorted by time (see script_words)."""
    elements: list[Element] = []
    reached = 0.0
    for index, word in enumerate(words):
        gap_end = max(reached, min(word.start, duration))
        elements.append(Element("pause", index, reached, gap_end, pause_text(gap_end - reached)))
        elements.append(Element("word", index, word.start, word.end, word.word.strip()))
        reached = max(reached, min(word.end, duration))
    tail_end = max(reached, duration)
    elements.append(Element("pause", len(words), reached, tail_end, pause_text(tail_end - reached)))
    return elements


def pause_text(duration_s: float) -> str:
    return f"[{duration_s:.1f} s pause]"


def element_states(elements: Sequence[Element], cuts: Sequence[Cut]) -> list[bool]:
    """Which elements the cuts remove: a word whose middle is cut (as the captions see it), a pause of which
    the cuts remove at least STRUCK_SHARE and STRUCK_MIN_S."""
    spans = sorted((c.start, c.end) for c in cuts)
    states = []
    for element in elements:
        if element.kind == "word":
            middle = (element.start + element.end) / 2
            states.append(any(start < middle < end for start, end in spans))
        else:
            removed = sum(max(0.0, min(end, element.end) - max(start, element.start)) for start, end in spans)
            states.append(
                element.duration > 0 and removed >= max(STRUCK_MIN_S, STRUCK_SHARE * element.duration) - 1e-9
            )
    return states


def covering_cuts(element: Element, cuts: Sequence[Cut]) -> list[Cut]:
    """The cuts that remove part of an element (for a zero-length word: that contain it)."""
    return [
        c
        for c in cuts
        if (c.start < element.end and c.end > element.start)
        or (element.duration == 0 and c.start < element.start < c.end)
    ]


def transcript_id(words: Sequence[Word]) -> str:
    """A short fingerprint of the words and their times: an edit file made from them carries it."""
    data = json.dumps([[w.word, w.start, w.end] for w in words], ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()[:12]


def match_key(text: str) -> str:
    """A word as alignment compares it: case, accents' composition and punctuation do not count."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    key = re.sub(r"[^\w%$']", "", folded).strip("'")
    return key or folded.strip()


# --- writing ----------------------------------------------------------------------------------------


def displayed(elements: Sequence[Element], states: Sequence[bool]) -> list[bool]:
    """Which elements get a token: every word; a pause that is long, or cut between kept words (a cut
    pause next to a cut word goes with the word)."""
    shown = []
    for position, element in enumerate(elements):
        if element.kind == "word":
            shown.append(True)
            continue
        neighbours = [states[p] for p in (position - 1, position + 1) if 0 <= p < len(elements)]
        shown.append(
            element.duration >= PAUSE_SHOWN_S - 1e-9
            or (states[position] and element.duration > 0 and not any(neighbours))
        )
    return shown


def format_time(seconds: float) -> str:
    """`m:ss.s`, or `h:mm:ss.s` from an hour."""
    tenths = max(0, round(seconds * 10))
    hours, rest = divmod(tenths, 36000)
    minutes, rest = divmod(rest, 600)
    text = f"{minutes:02d}:{rest / 10:04.1f}" if hours else f"{minutes}:{rest / 10:04.1f}"
    return f"{hours}:{text}" if hours else text


def escape(text: str) -> str:
    """A word as Markdown shows it literally."""
    return "".join(f"\\{c}" if c in ESCAPED else c for c in text)


def describe_cut(cut: Cut) -> str:
    """A cut's reason and confidence as the script's comments say them: one line that cannot end an HTML
    comment early."""
    who = "your edit" if cut.source == "creator" else f"{cut.reason} {cut.confidence:.0%}"
    rationale = shorten(cut.rationale.replace("--", "–").replace(">", "›"), 100)
    return f"{who}: {rationale}" if rationale else who


@dataclass(frozen=True)
class ScriptToken:
    """A word or pause as the script shows it: struck when `cut` removes it; `proposal` is the machine's
    cut of a token the creator kept."""

    element: Element
    cut: Cut | None = None
    proposal: Cut | None = None


@dataclass
class ScriptLine:
    """One line of the script: its source time and tokens, or a chapter heading."""

    time: float
    tokens: list[ScriptToken] = field(default_factory=list)
    chapter: Chapter | None = None
    chars: int = 0


def _ends(text: str, marks: tuple[str, ...]) -> bool:
    return text.rstrip(CLOSING).endswith(marks)


def script_lines(
    words: Sequence[Word], plan: Plan, duration: float, chapters: Sequence[Chapter] = ()
) -> list[ScriptLine]:
    """The script's lines: a line per sentence or caption-length phrase (and a heading per chapter), each
    token with the cut that removes it, or, where the creator kept it, the machine's proposal."""
    elements = build_elements(script_words(words), duration)
    states = element_states(elements, plan.cuts)
    machine_cuts = plan.edits.machine_cuts if plan.edits else plan.cuts
    machine = element_states(elements, machine_cuts)
    shown = displayed(elements, states)
    headings = sorted((c for c in chapters if c.title), key=lambda c: c.start)
    lines: list[ScriptLine] = []
    current: ScriptLine | None = None
    pending_break = False
    for position, element in enumerate(elements):
        if not shown[position]:
            continue
        is_word = element.kind == "word"
        chapter = None
        while (is_word or current is None) and headings and element.start >= headings[0].start - 0.05:
            chapter = headings.pop(0)
        if chapter is not None:
            lines.append(ScriptLine(chapter.start, chapter=chapter))
        if current is None or chapter is not None or (is_word and pending_break):
            current = ScriptLine(element.start)
            lines.append(current)
            pending_break = False
        if states[position]:
            current.tokens.append(ScriptToken(element, cut=_first(covering_cuts(element, plan.cuts))))
        elif machine[position]:  # the creator kept what the machine cut
            current.tokens.append(ScriptToken(element, proposal=_first(covering_cuts(element, machine_cuts))))
        else:
            current.tokens.append(ScriptToken(element))
        if is_word:
            current.chars += len(element.text) + 1
            if _ends(element.text, SENTENCE_END) or current.chars >= MAX_LINE_CHARS:
                pending_break = True
            elif current.chars >= LINE_CHARS and _ends(element.text, CLAUSE_END):
                pending_break = True
        elif element.duration >= LONG_PAUSE_S:
            pending_break = True
        elif element.duration >= BREAK_PAUSE_S and current.chars >= PAUSE_BREAK_CHARS:
            pending_break = True
    return lines


def render_edit_script(
    video: str, words: Sequence[Word], plan: Plan, duration: float, chapters: Sequence[Chapter] = ()
) -> str:
    """edit.md for `plan`: the transcript with every cut struck and its reason beside it."""
    lines = script_lines(words, plan, duration, chapters)
    body: list[str] = []
    for line in lines:
        if line.chapter is not None:
            body += [*([""] if body else []), f"## {format_time(line.time)} {escape(line.chapter.title)}", ""]
        else:
            body.append(f"- `{format_time(line.time)}` {_markdown_tokens(line.tokens)}")
    starts = ",".join(f"{line.time:.3f}" for line in lines if line.chapter is None)
    footer = (
        f"<!-- {MARKER} v{FORMAT_VERSION} video={video} transcript={transcript_id(script_words(words))} "
        f"lines={starts} -->"
    )
    return "\n".join([*header(video), "", *body, "", footer, ""])


def _markdown_tokens(tokens: Sequence[ScriptToken]) -> str:
    """A line's tokens: runs removed by one cut struck together, with the cut's comment after them."""
    parts: list[str] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        text = escape(token.element.text) if token.element.kind == "word" else token.element.text
        if token.cut is None:
            if token.proposal is not None:
                text += f"<!-- kept by you; the machine cut it: {describe_cut(token.proposal)} -->"
            parts.append(text)
            index += 1
            continue
        run = [text]
        index += 1
        while index < len(tokens) and tokens[index].cut is token.cut:
            following = tokens[index].element
            run.append(escape(following.text) if following.kind == "word" else following.text)
            index += 1
        parts.append("~~" + " ".join(run) + f"~~<!-- {describe_cut(token.cut)} -->")
    return " ".join(parts)


def _first(cuts: Sequence[Cut]) -> Cut | None:
    return cuts[0] if cuts else None


def header(video: str) -> list[str]:
    """The title and the three lines that say how to use the file."""
    return [
        f"# Edit script: {escape(video)}",
        "",
        "Strike words or pauses to cut them (`~~um~~`), remove the `~~` to keep them, delete a line to cut "
        "it.",
        f"Save your copy as `edits/{escape(video)}.md` in the project and run ave again: only the plan and "
        "what follows it are redone.",
        "Times are the source's; each cut's reason and confidence are in a hidden comment (`<!-- -->`) "
        "beside it.",
    ]


# --- reading ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileToken:
    """A word or pause token of the creator's file."""

    kind: Literal["word", "pause"]
    text: str
    struck: bool
    line: int
    line_time: float | None

    @property
    def key(self) -> str:
        return match_key(self.text)


@dataclass
class EditScript:
    """What the creator's file says: its tokens in order and what its footer records."""

    tokens: list[FileToken]
    video: str | None = None
    transcript: str | None = None
    line_starts: list[float] = field(default_factory=list)
    line_times: list[float] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def decode_text(data: bytes, label: str, video: str) -> tuple[str, list[str]]:
    """The file's text: UTF-8 (with or without a BOM) or UTF-16 with a BOM; anything else is an EditError."""
    notes = []
    if not data.strip():
        raise EditError(
            f"{label}: empty — copy results/{video}/edit.md there and edit it, or delete {label} to keep "
            "the machine's plan"
        )
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise EditError(f"{label}: broken UTF-16 text ({exc.reason}) — save it as UTF-8") from exc
        notes.append(f"{label}: read as UTF-16 — save it as UTF-8, which every tool reads the same way")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            offset = exc.start + (3 if data.startswith(codecs.BOM_UTF8) else 0)
            line = data[:offset].count(b"\n") + 1
            raise EditError(
                f"{label}:{line}: not UTF-8 text (byte 0x{data[offset]:02x}; Latin-1 or another encoding?) "
                "— save the file as UTF-8 in your editor"
            ) from exc
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise EditError(
            f"{label}:{line}: not text (it holds NUL bytes: UTF-16 without a byte-order mark, or a binary "
            "file) — save it as UTF-8 Markdown"
        )
    return text.replace("\r\n", "\n").replace("\r", "\n"), notes


def _blank_comments(text: str, label: str) -> tuple[str, list[str]]:
    """The text with every HTML comment replaced by spaces, and the comments. A comment must close on its
    own line: one left open would hide every word up to the next comment's end, and hidden words are cut."""
    comments: list[str] = []
    lines = []
    for number, line in enumerate(text.split("\n"), start=1):
        found = COMMENT.findall(line)
        comments += found
        cleaned = COMMENT.sub(lambda match: " " * len(match.group(0)), line)
        if "<!--" in cleaned or any("<!--" in comment[4:] for comment in found):
            raise EditError(
                f"{label}:{number}: a comment '<!--' is opened and never closed — close it with '-->' on the "
                "same line"
            )
        lines.append(cleaned)
    return "\n".join(lines), comments


def _parse_time(match: re.Match[str]) -> float:
    hours, minutes, seconds = match.groups()
    return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)


def _footer(comments: Sequence[str]) -> dict[str, str]:
    for comment in comments:
        if MARKER in comment:
            return dict(re.findall(r"(\w+)=(\S+)", comment.removesuffix("-->")))
    return {}


def parse_edit_script(data: bytes, label: str, video: str) -> EditScript:
    """The tokens of the creator's file, each struck or not, with its line; EditError for malformed input.

    The preamble (title, how-to) ends at the first list item or time code; after it, every line that is not
    blank, a heading or a comment holds words and pause tokens.
    """
    text, notes = decode_text(data, label, video)
    cleaned, comments = _blank_comments(text, label)
    footer = _footer(comments)
    script = EditScript(tokens=[], warnings=notes)
    script.video = footer.get("video")
    script.transcript = footer.get("transcript")
    try:
        script.line_starts = [float(t) for t in footer.get("lines", "").split(",") if t]
    except ValueError:
        script.line_starts = []
    in_body = False
    for number, raw in enumerate(cleaned.split("\n"), start=1):
        if not raw.strip() or HEADING.match(raw) or THEMATIC_BREAK.match(raw):
            continue
        marker = LIST_MARKER.match(raw)
        rest = raw[marker.end() :] if marker else raw
        time = TIME_CODE.match(rest.lstrip())
        if not (in_body or marker or time):
            continue  # the preamble
        in_body = True
        line_time = None
        if time:
            line_time = _parse_time(time)
            script.line_times.append(line_time)
            rest = rest.lstrip()[time.end() :]
        script.tokens += _line_tokens(rest, number, line_time, label, script.warnings)
    if script.video is not None and script.video != video:
        raise EditError(
            f"{label}: this is the edit script of '{script.video}', not of '{video}' — copy "
            f"results/{video}/edit.md there instead, or rename the file to {script.video}.md"
        )
    return script


def _line_tokens(
    text: str, number: int, line_time: float | None, label: str, warnings: list[str]
) -> list[FileToken]:
    """The tokens of one line: strikes resolved (a strike must close on its line), escapes undone."""
    chars: list[str] = []
    struck_flags: list[bool] = []
    escaped_flags: list[bool] = []
    struck = False
    index = 0
    while index < len(text):
        char = text[index]
        if (
            char == "\\"
            and index + 1 < len(text)
            and not text[index + 1].isalnum()
            and text[index + 1] != " "
        ):
            chars.append(text[index + 1])
            struck_flags.append(struck)
            escaped_flags.append(True)
            index += 2
            continue
        if char == "~":
            run = len(text[index:]) - len(text[index:].lstrip("~"))
            if run > 2:
                raise EditError(
                    f"{label}:{number}: '{'~' * run}' is not a strike — strike with two tildes: ~~word~~"
                )
            struck = not struck
            index += run
            continue
        chars.append(char)
        struck_flags.append(struck)
        escaped_flags.append(False)
        index += 1
    if struck:
        raise EditError(
            f"{label}:{number}: a strike '~~' is opened and never closed — close it with '~~' on the same "
            "line (a strike cannot span lines)"
        )
    plain = "".join(chars)
    tokens: list[tuple[int, FileToken]] = []
    taken = [False] * len(plain)
    for match in PAUSE_TOKEN.finditer(plain):
        if escaped_flags[match.start()]:
            continue
        state = _struck(plain, struck_flags, match.start(), match.end(), number, label, warnings)
        tokens.append((match.start(), FileToken("pause", match.group(0), state, number, line_time)))
        for position in range(match.start(), match.end()):
            taken[position] = True
    for position, char in enumerate(plain):
        if char in "[]" and not escaped_flags[position] and not taken[position]:
            raise EditError(
                f"{label}:{number}: '{char}' outside a pause token — a pause reads [2.4 s pause]; to cut or "
                "keep it only add or remove '~~' around it (a bracket in a word is written \\[)"
            )
    for match in re.finditer(r"\S+", plain):
        spans = [p for p in range(match.start(), match.end()) if not taken[p]]
        if not spans:
            continue
        for start, end in _runs(spans):
            word = plain[start:end]
            state = _struck(plain, struck_flags, start, end, number, label, warnings)
            tokens.append((start, FileToken("word", word, state, number, line_time)))
    return [token for _, token in sorted(tokens, key=lambda item: item[0])]


def _runs(positions: Sequence[int]) -> list[tuple[int, int]]:
    """Consecutive positions as (start, end) pairs."""
    runs: list[tuple[int, int]] = []
    for position in positions:
        if runs and runs[-1][1] == position:
            runs[-1] = (runs[-1][0], position + 1)
        else:
            runs.append((position, position + 1))
    return runs


def _struck(
    plain: str, flags: Sequence[bool], start: int, end: int, number: int, label: str, warnings: list[str]
) -> bool:
    """Whether a token is struck: all of its letters and digits (all of it when it has none); a token
    struck only in part is kept, with a warning."""
    significant = [flags[p] for p in range(start, end) if plain[p].isalnum()] or list(flags[start:end])
    if all(significant):
        return True
    if any(significant):
        warnings.append(
            f"{label}:{number}: '{plain[start:end]}' is only partly struck: kept — strike whole words"
        )
    return False
