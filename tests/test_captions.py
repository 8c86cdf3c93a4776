"""Captions: kept words re-timed to the edited video, readable cues, SRT/WebVTT that parse back."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ave_core.asr import parse_captions
from ave_core.captions import Cue, make_cues, to_srt, to_vtt, wrap_lines, write_captions
from ave_core.models import Cut, Plan, Transcript, Word, complement, make_producer, read_artifact
from ave_core.timemap import EditMap

FILLER = "filler"

# (word, start, end[, "filler"]) in source seconds
LESSON = [
    ("Hello", 0.50, 0.80),
    ("everyone,", 0.80, 1.30),
    ("welcome", 1.35, 1.70),
    ("back.", 1.70, 2.00),
    ("Um,", 2.20, 2.60, FILLER),  # cut
    ("today", 2.80, 3.10),
    ("we", 3.10, 3.25),
    ("talk", 3.25, 3.50),
    ("about", 3.50, 3.80),
    ("captions.", 3.80, 4.50),
    # 2 s of silence, 1.8 s of it cut
    ("Every", 6.50, 6.70),
    ("caption", 6.70, 7.00),
    ("has", 7.00, 7.20),
    ("to", 7.20, 7.30),
    ("fit", 7.30, 7.50),
    ("on", 7.50, 7.60),
    ("two", 7.60, 7.80),
    ("short", 7.80, 8.10),
    ("lines", 8.10, 8.40),
    ("of", 8.40, 8.50),
    ("at", 8.50, 8.60),
    ("most", 8.60, 8.90),
    ("forty", 8.90, 9.20),
    ("two", 9.20, 9.40),
    ("characters", 9.40, 10.00),
    ("so", 10.00, 10.20),
    ("that", 10.20, 10.40),
    ("viewers", 10.40, 10.80),
    ("can", 10.80, 11.00),
    ("read", 11.00, 11.30),
    ("them", 11.30, 11.50),
    ("comfortably.", 11.50, 12.20),
    ("uh", 12.40, 12.60, FILLER),  # left in the video, but not in the captions
    ("Yes.", 13.50, 13.70),  # 0.2 s on its own
    ("The", 14.50, 14.70),  # its middle is cut (a retake)
    ("the", 14.70, 14.90),  # its start is cut, its middle kept
    ("end", 14.90, 15.30),
    ("is", 15.30, 15.50),
    ("near.", 15.50, 16.00),
    ("Bye.", 16.80, 17.00),  # 0.2 s at the very end of the video
]
LESSON_CUTS = [(2.15, 2.70, "filler"), (4.60, 6.40, "silence"), (14.45, 14.75, "retake")]
LESSON_DURATION = 17.0
REMOVED_BEFORE = {"Hello": 0.0, "Today": 0.55, "Every": 2.35, "The end": 2.65}
LESSON_TEXT = (
    "Hello everyone, welcome back. Today we talk about captions. Every caption has to fit on two short "
    "lines of at most forty two characters so that viewers can read them comfortably. Yes. "
    "The end is near. Bye."
)


def transcript_of(words: list[tuple]) -> Transcript:
    return Transcript(
        producer=make_producer("transcribe", "test"),
        language="en",
        text=" ".join(w[0] for w in words),
        segments=[],
        words=[
            Word(word=w[0], start=w[1], end=w[2], probability=0.9, is_filler=FILLER in w[3:]) for w in words
        ],
        backend="none",
        model="hand-made",
    )


def plan_of(cuts: list[tuple[float, float, str]], duration: float) -> Plan:
    cut_models = [Cut(start=a, end=b, reason=reason, rationale=f"test {reason}") for a, b, reason in cuts]
    return Plan(
        producer=make_producer("direct", "test"),
        backend="test",
        keep=complement(cut_models, duration),
        cuts=cut_models,
    )


def check_cues(cues: list[Cue], duration: float, max_chars: int = 42, max_lines: int = 2) -> None:
    """The rules every caption file must keep."""
    assert cues, "no cues"
    for cue in cues:
        assert all(0 < len(line) <= max_chars for line in cue.lines), cue
        assert 1 <= len(cue.lines) <= max_lines, cue
        assert cue.end - cue.start >= 0.7 - 1e-6, cue
        assert 0 <= cue.start and cue.end <= duration + 1e-6, (cue, duration)
    for before, after in zip(cues, cues[1:], strict=False):
        assert before.end <= after.start, (before, after)


def lesson_cues(**limits: int) -> list[Cue]:
    return make_cues(transcript_of(LESSON), plan_of(LESSON_CUTS, LESSON_DURATION), **limits)


def test_lesson_cues_drop_fillers_and_cut_words_and_keep_the_rules() -> None:
    cues = lesson_cues()
    text = " ".join(cue.text for cue in cues)
    assert text == LESSON_TEXT
    assert not re.search(r"\b(um|uh)\b", text, re.IGNORECASE)
    check_cues(cues, LESSON_DURATION - 0.55 - 1.8 - 0.3)


def test_lesson_cue_times_shift_by_the_seconds_removed_before_them() -> None:
    cues = lesson_cues()
    source_start = {"Hello": 0.50, "Today": 2.80, "Every": 6.50, "The end": 14.75}
    for opening, removed in REMOVED_BEFORE.items():
        cue = next(c for c in cues if c.text.startswith(opening))
        assert cue.start == pytest.approx(source_start[opening] - removed, abs=1e-6), cue


def test_short_cues_are_lengthened_into_the_gaps_without_passing_the_end() -> None:
    cues = lesson_cues()
    edited_duration = LESSON_DURATION - 2.65
    yes = next(c for c in cues if c.text == "Yes.")
    assert yes.start == pytest.approx(13.50 - 2.35) and yes.end == pytest.approx(yes.start + 0.7)
    bye = cues[-1]
    assert bye.text == "Bye."
    # "Bye." ends the video, so it starts earlier instead of running past the end
    assert bye.end == pytest.approx(edited_duration) and bye.start == pytest.approx(edited_duration - 0.7)


def test_a_long_sentence_is_split_into_even_cues_on_two_lines() -> None:
    cues = lesson_cues()
    parts = [c for c in cues if c.start >= 4.15 - 1e-9 and c.end <= 12.20 - 2.35 + 1e-9]
    assert " ".join(c.text for c in parts).startswith("Every caption") and len(parts) == 2
    lengths = [len(c.text) for c in parts]
    assert max(lengths) - min(lengths) < 25, lengths


@pytest.mark.parametrize("max_chars, max_lines", [(42, 2), (20, 1), (32, 3), (12, 2)])
def test_line_limits_are_respected(max_chars: int, max_lines: int) -> None:
    cues = lesson_cues(max_chars=max_chars, max_lines=max_lines)
    check_cues(cues, LESSON_DURATION - 2.65, max_chars, max_lines)
    assert " ".join(c.text for c in cues) == LESSON_TEXT


def test_lines_are_balanced() -> None:
    assert wrap_lines(["word"] * 10, 42, 2) == ["word word word word word"] * 2
    assert wrap_lines(["short", "line"], 42, 2) == ["short line"]
    assert wrap_lines(["x" * 30, "y" * 30, "z" * 30], 42, 2) is None


def test_a_short_cue_boxed_in_by_neighbours_merges_or_borrows_but_never_overlaps() -> None:
    long_a = [(f"alpha{i}", 1.0 + 0.25 * i, 1.25 + 0.25 * i) for i in range(13)]  # 90 chars: two cues
    words = [*long_a[:-1], ("done.", 4.0, 4.25), ("Yes.", 4.3, 4.4), ("Then", 4.45, 4.7)]
    words += [(f"beta{i}", 4.7 + 0.25 * i, 4.95 + 0.25 * i) for i in range(16)]
    words[-1] = ("end.", words[-1][1], words[-1][2])
    cues = make_cues(transcript_of(words), plan_of([], 9.0))
    check_cues(cues, 9.0)
    assert " ".join(c.text for c in cues).split() == [w[0] for w in words]


def test_a_short_cue_that_cannot_merge_borrows_time_from_its_neighbours() -> None:
    words = [("Seventeen", 1.0, 1.7), ("sheep.", 1.7, 2.5), ("Yes.", 2.55, 2.65)]
    words += [("Eighteen", 2.7, 3.4), ("donkeys.", 3.4, 4.2)]
    cues = make_cues(transcript_of(words), plan_of([], 5.0), max_chars=20, max_lines=1)
    check_cues(cues, 5.0, max_chars=20, max_lines=1)
    assert [c.text for c in cues] == ["Seventeen sheep.", "Yes.", "Eighteen donkeys."]
    assert cues[1].start == pytest.approx(2.5) and cues[2].start == pytest.approx(3.2)


def test_words_longer_than_a_line_are_cut_into_line_sized_pieces() -> None:
    url = "https://example.com/" + "a" * 70
    cues = make_cues(
        transcript_of([("See", 1.0, 1.3), (url, 1.3, 3.0), ("now.", 3.0, 3.4)]), plan_of([], 4.0)
    )
    check_cues(cues, 4.0)
    assert "".join(" ".join(c.text for c in cues).split()) == "See" + url + "now."


def test_no_words_make_empty_but_valid_files(tmp_path: Path) -> None:
    cues = make_cues(transcript_of([("um", 1.0, 1.4, FILLER)]), plan_of([], 3.0))
    assert cues == [] and to_srt(cues) == "" and to_vtt(cues) == "WEBVTT\n\n"


def test_srt_and_vtt_formats() -> None:
    cues = [Cue(0.0, 1.5, ["One line"]), Cue(3661.042, 3662.5, ["Two", "lines & <more>"])]
    assert to_srt(cues) == (
        "1\n00:00:00,000 --> 00:00:01,500\nOne line\n\n"
        "2\n01:01:01,042 --> 01:01:02,500\nTwo\nlines & <more>\n\n"
    )
    assert to_vtt(cues) == (
        "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nOne line\n\n"
        "01:01:01.042 --> 01:01:02.500\nTwo\nlines &amp; &lt;more&gt;\n\n"
    )


def round_trip(transcript: Transcript, plan: Plan, folder: Path) -> list[Cue]:
    """Write both files and check that asr.parse_captions reads back exactly the cues."""
    srt, vtt = folder / "captions.srt", folder / "captions.vtt"
    cues = write_captions(transcript, plan, srt, vtt, 42, 2)
    expected = [(c.start, c.end, c.text) for c in cues]
    for path in (srt, vtt):
        parsed = parse_captions(path)
        assert [text for *_, text in parsed] == [text for *_, text in expected], path
        assert [t for s, e, _ in parsed for t in (s, e)] == pytest.approx(
            [t for s, e, _ in expected for t in (s, e)], abs=1e-6
        ), path
    assert sorted(p.name for p in folder.iterdir()) == ["captions.srt", "captions.vtt"], "files left behind"
    return cues


def test_lesson_round_trips_through_parse_captions(tmp_path: Path) -> None:
    cues = round_trip(transcript_of(LESSON), plan_of(LESSON_CUTS, LESSON_DURATION), tmp_path)
    assert len(cues) >= 6


def test_the_workflows_captions_keep_the_rules_and_round_trip(finished_talk: Path, tmp_path: Path) -> None:
    results = finished_talk / "results" / "talk"
    transcript = read_artifact(results / "transcript.json", Transcript)
    plan = read_artifact(results / "plan.json", Plan)
    edit_map = EditMap.from_keep(plan.keep)
    cues = round_trip(transcript, plan, tmp_path)
    check_cues(cues, edit_map.duration, plan.captions.max_chars_per_line, plan.captions.max_lines)
    kept = [
        w
        for w in transcript.words
        if not w.is_filler and edit_map.to_edited((w.start + w.end) / 2) is not None and w.word.strip()
    ]
    words = " ".join(c.text for c in cues).split()
    # a lone punctuation token ("60", "%") is written onto the word before it
    assert len(words) == len([w for w in kept if any(ch.isalnum() for ch in w.word)])
    assert all(not w.is_filler or w.word.strip(",.").lower() not in words for w in transcript.words)
    first = kept[0]
    assert cues[0].start == pytest.approx(edit_map.to_edited(first.start) or 0.0, abs=1e-3)
