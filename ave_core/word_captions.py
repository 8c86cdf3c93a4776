"""Word-by-word captions for shorts: short phrases in the lower middle of the picture with the word being
spoken highlighted, written as an ASS subtitle file that libass (ffmpeg's `ass` filter) burns in.

Every change of the caption falls on the frame where its word starts: ASS counts centiseconds, so each event
starts at the first centisecond after the frame before (libass shows an event from its start, and ffmpeg asks
for each frame at its timestamp in milliseconds). The text stays inside the platforms' safe area, clear of the
title, the description and the buttons they draw over a short.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .captions import CLAUSE_END, SENTENCE_END, wrap_lines
from .models import ShortWord

# the part of a 1080x1920 frame that Shorts, Reels and TikTok leave uncovered (their published safe zones,
# taking the largest of the three): a margin on the left, the buttons on the right, the account name above
# and the title, description and music line below
SAFE_LEFT, SAFE_RIGHT, SAFE_TOP, SAFE_BOTTOM = 60 / 1080, 180 / 1080, 250 / 1920, 480 / 1920
CAPTION_BOTTOM = 0.72  # the captions' last line ends here (share of the height): the lower middle third
GLYPH_WIDTH_EM = 0.66  # DejaVu Sans Bold's widest common letters, for the line length
PAUSE_S = 0.5  # a pause this long starts a new phrase
HOLD_S = 0.4  # a phrase stays this long after its last word when nothing follows at once
FONT = "DejaVu Sans"


@dataclass(frozen=True)
class Phrase:
    """Words shown together, from frame `start_frame` to `end_frame` (exclusive) of the short."""

    words: tuple[ShortWord, ...]
    start_frame: int
    end_frame: int


def safe_area(width: int, height: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the platforms' safe area in a frame of this size, pixels."""
    return (
        round(SAFE_LEFT * width),
        round(SAFE_TOP * height),
        round(width - SAFE_RIGHT * width),
        round(height - SAFE_BOTTOM * height),
    )


def font_pixels(font_size: int, height: int) -> int:
    """The caption's font size in pixels of a frame `height` high (the setting is for 1920)."""
    return max(8, round(font_size * height / 1920))


def max_line_chars(width: int, height: int, font_size: int) -> int:
    """Characters that fit on one line of the safe area at this font size."""
    left, _, right, _ = safe_area(width, height)
    return max(4, math.floor((right - left) / (GLYPH_WIDTH_EM * font_pixels(font_size, height))))


def word_frame(seconds: float, fps: float) -> int:
    """The frame of the short where a word that starts (or ends) at `seconds` is shown to start (end)."""
    return round(seconds * fps + 1e-9)


def make_phrases(
    words: Sequence[ShortWord], fps: float, total_frames: int, max_words: int, max_chars: int
) -> list[Phrase]:
    """Words grouped into phrases of at most `max_words` that fit on two lines; a phrase ends at a sentence
    end, a clause end or a pause, and stays up until the next one starts (or HOLD_S after its last word)."""
    groups: list[list[ShortWord]] = []
    for word in words:
        last = groups[-1] if groups else None
        if (
            last is not None
            and len(last) < max_words
            and not last[-1].text.endswith(SENTENCE_END + CLAUSE_END)
            and word.start - last[-1].end < PAUSE_S
            and wrap_lines([w.text for w in [*last, word]], max_chars, 2) is not None
        ):
            last.append(word)
        else:
            groups.append([word])
    phrases: list[Phrase] = []
    for index, group in enumerate(groups):
        start = min(total_frames, word_frame(group[0].start, fps))
        if phrases:
            start = max(start, phrases[-1].end_frame)
        following = word_frame(groups[index + 1][0].start, fps) if index + 1 < len(groups) else total_frames
        end = min(
            max(word_frame(group[-1].end, fps) + round(HOLD_S * fps), start + 1), following, total_frames
        )
        if end > start:
            phrases.append(Phrase(tuple(group), start, end))
    return phrases


def ass_time(frame: int, fps: float) -> str:
    """The ASS time (centiseconds) at which an event shows from frame `frame` on and not on the frame before.

    ffmpeg renders frame k at floor(k / fps * 1000) ms; the first whole centisecond after frame k-1's time
    is at or before frame k's as long as frames are more than 10 ms apart (below 100 fps)."""
    if frame <= 0:
        centis = 0
    else:
        before_ms = math.floor((frame - 1) * 1000 / fps + 1e-6)
        centis = before_ms // 10 + 1
    hours, rest = divmod(centis, 360000)
    minutes, rest = divmod(rest, 6000)
    seconds, centis = divmod(rest, 100)
    return f"{hours}:{minutes:02d}:{seconds:02d}.{centis:02d}"


def _escape(text: str) -> str:
    """A word as ASS dialogue text: no override blocks, no line-break escapes."""
    return text.replace("\\", "/").replace("{", "(").replace("}", ")")


def _colour(hex_rgb: str) -> str:
    """#RRGGBB as ASS's &HBBGGRR&."""
    red, green, blue = hex_rgb[1:3], hex_rgb[3:5], hex_rgb[5:7]
    return f"&H{blue}{green}{red}&".upper()


def _lines(texts: Sequence[str], max_chars: int) -> list[list[int]]:
    """Word indices per line: the words on at most two balanced lines."""
    wrapped = wrap_lines(list(texts), max_chars, 2) or [" ".join(texts)]
    indices, cursor = [], 0
    for line in wrapped:
        count = len(line.split(" "))
        indices.append(list(range(cursor, cursor + count)))
        cursor += count
    return indices


def ass_document(
    words: Sequence[ShortWord], fps: float, total_frames: int, size: tuple[int, int], *, style: str = "words",
    font_size: int = 80, max_words: int = 4, highlight: str = "#FFD400",
) -> str:  # fmt: skip
    """The ASS subtitle file of a short: its words as phrases, the word being spoken highlighted (style
    "words") or not ("phrases")."""
    width, height = size
    left, _, right, _ = safe_area(width, height)
    pixels = font_pixels(font_size, height)
    max_chars = max_line_chars(width, height, font_size)
    bottom = round(CAPTION_BOTTOM * height)
    outline = max(1, round(pixels / 14))
    header = [
        "[Script Info]",
        "ScriptType: v4.00+",
        f"PlayResX: {width}",
        f"PlayResY: {height}",
        "WrapStyle: 2",
        "ScaledBorderAndShadow: yes",
        "",
        "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, "
        "Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, "
        "Alignment, MarginL, MarginR, MarginV, Encoding",
        f"Style: Word,{FONT},{pixels},&H00FFFFFF,&H00FFFFFF,&H00000000,&H00000000,-1,0,0,0,100,100,0,0,1,"
        f"{outline},0,2,{left},{width - right},{height - bottom},1",
        "",
        "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ]
    position = f"\\an2\\pos({(left + right) // 2},{bottom})"
    events = []
    for phrase in make_phrases(words, fps, total_frames, max_words, max_chars):
        texts = [_escape(w.text) for w in phrase.words]
        lines = _lines(texts, max_chars)
        if style == "phrases":
            spans: list[tuple[int, int, int | None]] = [(phrase.start_frame, phrase.end_frame, None)]
        else:
            starts = [max(phrase.start_frame, word_frame(w.start, fps)) for w in phrase.words]
            starts[0] = phrase.start_frame
            ends = [*starts[1:], phrase.end_frame]
            spans = [
                (a, min(b, phrase.end_frame), i) for i, (a, b) in enumerate(zip(starts, ends, strict=True))
            ]
        longest = max(len(" ".join(texts[i] for i in line)) for line in lines)
        # a word longer than a line (a web address) is narrowed to fit rather than run off the safe area
        narrow = f"\\fscx{100 * max_chars // longest}" if longest > max_chars else ""
        for first, end, lit in spans:
            if end <= first:
                continue
            text = "\\N".join(
                " ".join(
                    f"{{\\c{_colour(highlight)}}}{texts[i]}{{\\r{narrow}}}" if i == lit else texts[i]
                    for i in line
                )
                for line in lines
            )
            events.append(
                f"Dialogue: 0,{ass_time(first, fps)},{ass_time(end, fps)},Word,,0,0,0,,"
                f"{{{position}{narrow}}}{text}"
            )
    return "\n".join([*header, *events]) + "\n"
