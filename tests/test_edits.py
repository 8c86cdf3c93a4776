"""Edit by text: edit.md written from the plan, the creator's copy read back as decisions, re-anchored when
the transcript changes, timelines from an NLE, and one-line errors for every kind of bad file."""

from __future__ import annotations

import codecs
import json
import re
from pathlib import Path

import opentimelineio as otio
import pytest

from ave_core.captions import make_cues
from ave_core.config import DirectorConfig
from ave_core.director import DirectorInput, rule_based_plan
from ave_core.edits import EditContext, find_edits, follow_creator, orphan_edits
from ave_core.editscript import (
    EditError,
    parse_edit_script,
    render_edit_script,
    script_words,
)
from ave_core.models import Chapter, Cut, Plan, Retake, Word, complement
from ave_core.timeline import build_timeline, export, fcpxml_text
from ave_core.timemap import EditMap, FrameGrid
from tests.test_director import context, spoken
from tests.test_timeline import make_media

VIDEO = "lesson-1"
LABEL = "edits/lesson-1.md"
DURATION = 16.0
FPS = 25.0


@pytest.fixture
def lesson() -> DirectorInput:
    words = spoken(
        (1.0, "Welcome to the lesson."),  # ends 2.15
        (3.0, "um"),  # a filler between two pauses
        (3.6, "Heating is the biggest cost"),  # ends 5.05
        (5.55, "in a house."),  # after a pause the machine keeps; ends 6.4
        (7.5, "The second step is"),  # a false start
        (8.9, "The second step is insulation."),  # ends 10.35
        (13.0, "Thanks for watching."),  # after 2.65 s of dead air
    )
    retake = Retake(start=7.5, end=8.65, text="The second step is", repeated_at=8.9, similarity=1.0)
    ctx = context(words, DURATION, [retake], chapters=[Chapter(start=0.0, title="Heating")])
    ctx.grid = FrameGrid(FPS, round(DURATION * FPS))
    return ctx


@pytest.fixture
def machine(lesson: DirectorInput) -> Plan:
    return rule_based_plan(lesson, DirectorConfig())


def edit_context(ctx: DirectorInput, words: list[Word] | None = None) -> EditContext:
    return EditContext(
        VIDEO, words or ctx.transcript.words, DURATION, ctx.grid, 0.15, 0.25, "input/lesson 1.mp4"
    )


def follow(
    machine: Plan, ctx: DirectorInput, text: str | bytes, words: list[Word] | None = None, tmp=None
) -> Plan:
    from ave_core.edits import follow_edit_script

    data = text.encode("utf-8") if isinstance(text, str) else text
    return follow_edit_script(machine, edit_context(ctx, words), data, LABEL)


def script(ctx: DirectorInput, plan: Plan) -> str:
    return render_edit_script(VIDEO, ctx.transcript.words, plan, DURATION, ctx.analysis.chapters)


def line_with(text: str, needle: str) -> int:
    """The index of the first line that holds `needle`."""
    return next(i for i, line in enumerate(text.split("\n")) if needle in line)


def edit_line(text: str, needle: str, old: str, new: str) -> str:
    lines = text.split("\n")
    index = line_with(text, needle)
    assert old in lines[index], (old, lines[index])
    lines[index] = lines[index].replace(old, new, 1)
    return "\n".join(lines)


def word_cut(plan: Plan, word: Word) -> bool:
    middle = (word.start + word.end) / 2
    return any(c.start < middle < c.end for c in plan.cuts)


def words_named(ctx: DirectorInput, text: str) -> list[Word]:
    return [w for w in ctx.transcript.words if w.word.strip(".,").lower() == text]


def assert_no_cut_inside_kept_words(plan: Plan, words: list[Word]) -> None:
    for word in words:
        if word_cut(plan, word):
            continue
        for cut in plan.cuts:
            assert not (word.start < cut.start < word.end or word.start < cut.end < word.end), (word, cut)


# --- writing -----------------------------------------------------------------------------------------


def test_the_script_strikes_every_cut_and_says_why(lesson: DirectorInput, machine: Plan) -> None:
    text = script(lesson, machine)
    lines = text.split("\n")
    assert lines[0] == f"# Edit script: {VIDEO}"
    how_to = [line for line in lines[1:6] if line.strip()]
    assert len(how_to) == 3 and "~~um~~" in how_to[0] and f"edits/{VIDEO}.md" in how_to[1]
    body = [line for line in lines if line.startswith("- `")]
    assert all(re.match(r"- `\d+:\d\d\.\d` ", line) for line in body)
    assert "## 0:00.0 Heating" in text
    # every word the plan cuts is struck, every kept word is not; pauses the plan cuts are struck tokens
    parsed = parse_edit_script(text.encode(), LABEL, VIDEO)
    words = script_words(lesson.transcript.words)
    file_words = [t for t in parsed.tokens if t.kind == "word"]
    assert [t.text for t in file_words] == [w.word for w in words]
    assert [t.struck for t in file_words] == [word_cut(machine, w) for w in words]
    assert any(t.struck for t in file_words) and not all(t.struck for t in file_words)
    pauses = [t for t in parsed.tokens if t.kind == "pause" and t.struck]
    assert len(pauses) >= sum("silence" in c.reason for c in machine.cuts)
    # each cut's reason and confidence beside it, hidden from a Markdown preview
    for cut in machine.cuts:
        assert f"{cut.reason} {cut.confidence:.0%}" in text
    assert (
        '~~um~~<!-- silence+filler 90%: 0.9 s without speech; filler "um" (the recogniser wrote it) -->'
        in text
    )
    assert '~~The second step is~~<!-- retake 90%: said again at 8.9 s: "The second step is" -->' in text


def test_words_that_look_like_markdown_are_written_literally(lesson: DirectorInput) -> None:
    odd = spoken((1.0, "C++ *is* a_b ~5 [sic] <tag> & back\\slash #1 `code`"))
    ctx = context(odd, DURATION)
    ctx.grid = lesson.grid
    plan = rule_based_plan(ctx, DirectorConfig())
    text = render_edit_script(VIDEO, odd, plan, DURATION)
    parsed = parse_edit_script(text.encode(), LABEL, VIDEO)
    assert [t.text for t in parsed.tokens if t.kind == "word"] == [w.word for w in odd]
    assert follow(plan, ctx, text, odd).model_dump(exclude={"edits"}) == plan.model_dump(exclude={"edits"})


# --- reading the creator's copy ------------------------------------------------------------------------


def test_an_unedited_copy_gives_the_machines_plan(lesson: DirectorInput, machine: Plan) -> None:
    followed = follow(machine, lesson, script(lesson, machine))
    assert followed.model_dump(exclude={"edits"}) == machine.model_dump(exclude={"edits"})
    assert followed.edits is not None and followed.edits.decisions == []
    assert followed.edits.transcript == "same" and followed.edits.machine_cuts == machine.cuts
    assert all(c.source == "machine" for c in followed.cuts)


def test_unstriking_a_filler_keeps_it_and_records_the_machines_proposal(
    lesson: DirectorInput, machine: Plan
) -> None:
    (um,) = words_named(lesson, "um")
    assert word_cut(machine, um)
    text = edit_line(script(lesson, machine), "~~um~~<!--", "~~um~~", "um")
    followed = follow(machine, lesson, text)
    assert not word_cut(followed, um)
    (decision,) = followed.edits.decisions
    assert (decision.text, decision.how, decision.creator, decision.machine) == (
        "um",
        "unstruck",
        "keep",
        "cut",
    )
    assert "filler" in decision.machine_reason and decision.machine_confidence == 0.9
    assert decision.line == line_with(text, "` um<!--") + 1
    # only the stretch around the filler changed: every other cut is the machine's, to the microsecond
    elsewhere = [c for c in machine.cuts if c.end < um.start - 1 or c.start > um.end + 1]
    assert all(c in followed.cuts for c in elsewhere)
    assert_no_cut_inside_kept_words(followed, lesson.transcript.words)


def test_striking_a_word_cuts_it_and_only_it(lesson: DirectorInput, machine: Plan) -> None:
    (biggest,) = words_named(lesson, "biggest")
    text = edit_line(script(lesson, machine), "biggest", "biggest", "~~biggest~~")
    followed = follow(machine, lesson, text)
    assert word_cut(followed, biggest)
    creator = [c for c in followed.cuts if c.source == "creator"]
    assert len(creator) == 1 and "creator" in creator[0].reason and creator[0].confidence == 1.0
    assert "biggest" in creator[0].rationale and LABEL in creator[0].rationale
    for word in lesson.transcript.words:  # nothing else changed state
        if word is not biggest:
            assert word_cut(followed, word) == word_cut(machine, word), word
    assert_no_cut_inside_kept_words(followed, lesson.transcript.words)
    assert followed.metrics["cuts_creator"] == 1.0
    assert followed.metrics["removed_s"] > machine.metrics["removed_s"]


def test_deleting_a_line_cuts_it_and_keeps_a_natural_pause(lesson: DirectorInput, machine: Plan) -> None:
    text = script(lesson, machine)
    lines = text.split("\n")
    del lines[line_with(text, "Heating is the biggest")]
    followed = follow(machine, lesson, "\n".join(lines))
    heating = [w for w in lesson.transcript.words if 3.6 <= w.start < 6.5]
    assert all(word_cut(followed, w) for w in heating)
    deleted = [d for d in followed.edits.decisions if d.how == "deleted"]
    assert {d.text for d in deleted if d.kind == "word"} == {w.word for w in heating}
    kept_before = max(w.end for w in lesson.transcript.words if not word_cut(followed, w) and w.end <= 3.6)
    kept_after = min(w.start for w in lesson.transcript.words if not word_cut(followed, w) and w.start >= 6)
    edit_map = EditMap.from_keep(followed.keep)
    pause = edit_map.to_edited(kept_after) - edit_map.to_edited(kept_before)
    assert 0.1 <= pause <= 1.0, f"the join leaves {pause:.2f} s between the sentences"
    assert_no_cut_inside_kept_words(followed, lesson.transcript.words)


def test_pauses_are_struck_and_unstruck_like_words(lesson: DirectorInput, machine: Plan) -> None:
    text = script(lesson, machine)
    long_pause = re.search(r"~~(\[2\.\d s pause\])~~", text).group(1)  # the dead air before "Thanks"
    kept = edit_line(text, long_pause, f"~~{long_pause}~~", long_pause)
    followed = follow(machine, lesson, kept)
    gap_start = max(w.end for w in lesson.transcript.words if w.end < 13.0)
    assert not any(c.start < 13.0 and c.end > gap_start + 0.2 for c in followed.cuts)
    (decision,) = followed.edits.decisions
    assert (decision.kind, decision.how, decision.machine_reason) == ("pause", "unstruck", "silence")
    # a pause the machine left is cut when struck
    short = re.search(r"(?<!~)(\[0\.5 s pause\])(?!~)", text)
    assert short, text
    struck = edit_line(text, short.group(1), short.group(1), f"~~{short.group(1)}~~")
    followed = follow(machine, lesson, struck)
    (decision,) = followed.edits.decisions
    assert (decision.kind, decision.how, decision.creator) == ("pause", "struck", "cut")
    assert sum(c.duration_s for c in followed.cuts) > sum(c.duration_s for c in machine.cuts)


def test_the_script_of_a_followed_plan_reads_back_to_the_same_plan(
    lesson: DirectorInput, machine: Plan
) -> None:
    text = edit_line(script(lesson, machine), "~~um~~<!--", "~~um~~", "um")
    text = edit_line(text, "biggest", "biggest", "~~biggest~~")
    lines = text.split("\n")
    del lines[line_with(text, "Thanks")]
    followed = follow(machine, lesson, "\n".join(lines))
    again = follow(machine, lesson, script(lesson, followed))
    assert [(c.start, c.end, c.source) for c in again.cuts] == [
        (c.start, c.end, c.source) for c in followed.cuts
    ]
    assert "um<!-- kept by you; the machine cut it: silence+filler 90%" in script(lesson, followed)


def test_a_word_struck_in_part_is_kept_with_a_warning(lesson: DirectorInput, machine: Plan) -> None:
    text = edit_line(script(lesson, machine), "biggest", "biggest", "big~~gest~~")
    followed = follow(machine, lesson, text)
    assert followed.model_dump(exclude={"edits", "producer"}) == machine.model_dump(
        exclude={"edits", "producer"}
    )
    assert any("'biggest' is only partly struck" in w for w in followed.producer.warnings)


def test_captions_follow_the_edit(lesson: DirectorInput, machine: Plan) -> None:
    lines = script(lesson, machine).split("\n")
    del lines[line_with("\n".join(lines), "Heating is the biggest")]
    followed = follow(machine, lesson, "\n".join(lines))
    before = " ".join(cue.text for cue in make_cues(lesson.transcript, machine))
    after = " ".join(cue.text for cue in make_cues(lesson.transcript, followed))
    assert "biggest" in before and "biggest" not in after and "Thanks for watching." in after


# --- re-anchoring when the transcript changes ----------------------------------------------------------


def retranscribed(ctx: DirectorInput) -> list[Word]:
    """The same talk as another model hears it: times shifted a little, one word heard differently, one
    filler it did not write, and a word it adds."""
    words = []
    for word in ctx.transcript.words:
        if word.word == "um":
            continue
        text = "insulating." if word.word == "insulation." else word.word
        words.append(
            word.model_copy(update={"word": text, "start": word.start + 0.04, "end": word.end + 0.04})
        )
    words.insert(2, Word(word="very", start=1.62, end=1.64, probability=0.5))
    return sorted(words, key=lambda w: w.start)


def test_edits_are_re_anchored_to_a_new_transcript(lesson: DirectorInput, machine: Plan) -> None:
    text = edit_line(script(lesson, machine), "biggest", "biggest", "~~biggest~~")
    text = edit_line(text, "~~um~~<!--", "~~um~~", "um")  # the new transcript has no "um": reported
    text = edit_line(text, "insulation", "insulation.", "~~insulation.~~")
    lines = text.split("\n")
    del lines[line_with(text, "Thanks")]
    text = "\n".join(lines)
    new_words = retranscribed(lesson)
    ctx = context(new_words, DURATION, chapters=lesson.analysis.chapters)
    ctx.grid = lesson.grid
    new_machine = rule_based_plan(ctx, DirectorConfig())
    followed = follow(new_machine, ctx, text, new_words)
    assert followed.edits.transcript == "re-anchored"
    by_text = {w.word: w for w in new_words}
    assert word_cut(followed, by_text["biggest"]), "a struck word follows its word into the new transcript"
    assert word_cut(followed, by_text["insulating."]), "a word heard differently is still the same word"
    assert all(word_cut(followed, by_text[w]) for w in ("Thanks", "watching.")), "a deleted line stays cut"
    assert not word_cut(followed, by_text["very"]), "a new word gets the machine's decision"
    warnings = followed.producer.warnings
    um_line = line_with(text, "um<!--") + 1
    assert any(
        w.startswith(f"{LABEL}:{um_line}: not found in the new transcript") and "um" in w for w in warnings
    )
    assert any("re-anchored" in w for w in warnings) and any("new in the transcript" in w for w in warnings)


# --- bad files ------------------------------------------------------------------------------------------


BAD = {
    "unclosed strike": (
        lambda t: edit_line(t, "biggest", "biggest", "~~biggest"),
        ":{line}: a strike '~~' is opened",
    ),
    "unclosed comment": (
        lambda t: edit_line(t, "biggest", "biggest", "<!-- note"),
        ":{line}: a comment '<!--'",
    ),
    "broken pause": (
        lambda t: re.sub(r"\[(2\.\d s pause)\]", r"[\1", t, count=1),
        ":{line}: '[' outside a pause",
    ),
    "word not in transcript": (
        lambda t: edit_line(t, "biggest", "biggest", "largest"),
        ":{line}: 'largest' is not",
    ),
    "three tildes": (
        lambda t: edit_line(t, "biggest", "biggest", "~~~biggest~~~"),
        ":{line}: '~~~' is not a strike",
    ),
}


@pytest.mark.parametrize("kind", list(BAD))
def test_malformed_edits_fail_in_one_line_naming_file_line_and_fix(
    lesson: DirectorInput, machine: Plan, kind: str
) -> None:
    change, expected = BAD[kind]
    text = change(script(lesson, machine))
    line = next(
        i + 1
        for i, (a, b) in enumerate(zip(text.split("\n"), script(lesson, machine).split("\n"), strict=False))
        if a != b
    )
    with pytest.raises(EditError) as failure:
        follow(machine, lesson, text)
    message = str(failure.value)
    assert message.startswith(LABEL + expected.format(line=line)), message
    assert " — " in message and "\n" not in message


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", f"{LABEL}: empty — copy results/{VIDEO}/edit.md there"),
        (b"   \n\n", f"{LABEL}: empty — "),
        ("- `0:01.0` Welcome to the lessön.\n".encode("latin-1"), f"{LABEL}:1: not UTF-8 text (byte 0xf6"),
        ("- `0:01.0` Welcome.\n".encode("utf-16-le"), f"{LABEL}:1: not text (it holds NUL bytes"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", f"{LABEL}:1: not UTF-8 text (byte 0x89"),
    ],
)
def test_unreadable_files_fail_in_one_line(
    lesson: DirectorInput, machine: Plan, data: bytes, expected: str
) -> None:
    with pytest.raises(EditError) as failure:
        follow(machine, lesson, data)
    assert str(failure.value).startswith(expected), str(failure.value)
    assert " — " in str(failure.value)


def test_utf16_with_a_byte_order_mark_is_read_with_a_warning(lesson: DirectorInput, machine: Plan) -> None:
    text = edit_line(script(lesson, machine), "biggest", "biggest", "~~biggest~~")
    followed = follow(machine, lesson, codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    (biggest,) = words_named(lesson, "biggest")
    assert word_cut(followed, biggest)
    assert any("read as UTF-16 — save it as UTF-8" in w for w in followed.producer.warnings)


def test_an_edit_script_of_another_video_is_refused(lesson: DirectorInput, machine: Plan) -> None:
    text = script(lesson, machine).replace(f"video={VIDEO}", "video=lesson-2")
    with pytest.raises(
        EditError, match=rf"^{LABEL}: this is the edit script of 'lesson-2', not of '{VIDEO}' — "
    ):
        follow(machine, lesson, text)


def test_cutting_everything_is_refused(lesson: DirectorInput, machine: Plan) -> None:
    text = script(lesson, machine)
    body = "\n".join(line for line in text.split("\n") if not line.startswith("- `"))
    with pytest.raises(
        EditError, match=rf"^{LABEL}: these edits cut the whole video — keep at least one line"
    ):
        follow(machine, lesson, body)


def test_edit_files_are_found_by_video_and_strays_named(tmp_path: Path) -> None:
    folder = tmp_path / "edits"
    folder.mkdir()
    for name in ("Lesson 1.md", "lesson-2.otio", "ghost.md", "notes.txt", ".hidden.md"):
        (folder / name).write_text("x")
    assert find_edits(folder, VIDEO) == [str(folder / "Lesson 1.md")]
    assert find_edits(folder, "lesson-2") == [str(folder / "lesson-2.otio")]
    assert find_edits(tmp_path / "none", VIDEO) == []
    (line,) = orphan_edits(folder, [VIDEO, "lesson-2"])
    assert line == (
        f"ave: {folder / 'ghost.md'}: no video 'ghost' in the project, so nothing follows it — rename it to "
        "the video it edits (one of: lesson-1, lesson-2)"
    )


def test_two_edit_files_for_one_video_are_refused(
    lesson: DirectorInput, machine: Plan, tmp_path: Path
) -> None:
    paths = [str(tmp_path / f"{VIDEO}.md"), str(tmp_path / f"{VIDEO}.otio")]
    with pytest.raises(EditError, match=r"two edits of 'lesson-1' — keep one of them in edits/"):
        follow_creator(machine, edit_context(lesson), paths)


# --- timelines from an NLE ------------------------------------------------------------------------------

FORMATS = {"otio": "otio_json", "xml": "fcp_xml", "fcpxml": "fcpxml"}


def exported(timeline: otio.schema.Timeline, folder: Path, suffix: str) -> Path:
    """The timeline written as an NLE would hand it back, through the same adapters ave exports with."""
    path = folder / f"{VIDEO}.{suffix}"
    if suffix == "otio":
        path.write_text(otio.adapters.write_to_string(timeline, adapter_name="otio_json"))
    elif suffix == "fcpxml":
        path.write_text(fcpxml_text(timeline))
    else:
        assert export(timeline, path, "fcp_xml") == str(path)
    return path


def ave_timeline(
    ctx: DirectorInput, plan: Plan, source: str = "/videos/lesson 1.mp4"
) -> otio.schema.Timeline:
    return build_timeline(plan, make_media(FPS, DURATION), source, VIDEO)


def trimmed(timeline: otio.schema.Timeline, clip_index: int, frames: int) -> otio.schema.Timeline:
    """The timeline with one clip's end trimmed by `frames` (on every track), as an editor would."""
    trimmed = timeline.deepcopy()
    for track in trimmed.tracks:
        clip = [c for c in track if isinstance(c, otio.schema.Clip)][clip_index]
        source = clip.source_range
        clip.source_range = otio.opentime.TimeRange(
            source.start_time,
            otio.opentime.RationalTime(source.duration.value - frames, source.duration.rate),
        )
    return trimmed


@pytest.mark.parametrize("suffix", list(FORMATS))
def test_a_timeline_trimmed_in_an_nle_becomes_the_plan(
    lesson: DirectorInput, machine: Plan, tmp_path: Path, suffix: str
) -> None:
    context_ = edit_context(lesson)
    untouched = follow_creator(
        machine, context_, [str(exported(ave_timeline(lesson, machine), tmp_path, suffix))]
    )
    assert [(c.start, c.end) for c in untouched.cuts] == [(c.start, c.end) for c in machine.cuts]
    assert untouched.keep == machine.keep and untouched.edits.decisions == []
    # the editor shortens the second clip by 10 frames (0.4 s)
    path = exported(trimmed(ave_timeline(lesson, machine), 1, 10), tmp_path, suffix)
    followed = follow_creator(machine, context_, [str(path)])
    assert followed.edits.kind == "timeline" and followed.edits.path == str(path)
    second = machine.keep[1]
    assert any(
        abs(k.start - second.start) < 1e-6 and abs(k.end - (second.end - 0.4)) < 1e-6 for k in followed.keep
    )
    assert (
        abs(sum(k.duration_s for k in followed.keep) - (sum(k.duration_s for k in machine.keep) - 0.4)) < 1e-6
    )
    creator = [c for c in followed.cuts if c.source == "creator"]
    assert len(creator) == 1 and abs(creator[0].start - (second.end - 0.4)) < 1e-6
    assert all(d.how == "timeline" for d in followed.edits.decisions)
    # captions follow: a word inside the trimmed 0.4 s is gone from them
    lost = [w for w in lesson.transcript.words if second.end - 0.4 < (w.start + w.end) / 2 < second.end]
    after = " ".join(cue.text for cue in make_cues(lesson.transcript, followed))
    for word in lost:
        assert not word_cut(machine, word) and word_cut(followed, word)
    assert lost, "the trim should remove a word"
    assert " ".join(cue.text for cue in make_cues(lesson.transcript, machine)) != after


def test_a_timeline_of_another_video_is_refused_naming_its_line(
    lesson: DirectorInput, machine: Plan, tmp_path: Path
) -> None:
    path = exported(ave_timeline(lesson, machine, "/videos/holiday.mov"), tmp_path, "otio")
    with pytest.raises(EditError) as failure:
        follow_creator(machine, edit_context(lesson), [str(path)])
    line = line_with(path.read_text(), '"target_url": "file:///videos/holiday.mov"') + 1
    assert str(failure.value).startswith(f"{path}:{line}: clip 1 plays 'holiday.mov', not 'lesson 1.mp4' — ")


@pytest.mark.parametrize(
    ("suffix", "text", "expected"),
    [
        ("otio", '{"OTIO_SCHEMA": "Timeline.1",\n "name": }', ":2: not valid JSON"),
        ("xml", "<xmeml>\n<sequence>\n</xmeml>", ":3: not valid XML"),
        ("fcpxml", "", ": empty — export the timeline"),
        ("otio", json.dumps({"OTIO_SCHEMA": "Timeline.1", "tracks": None}), ": the timeline holds no clip"),
        (
            "otio",
            json.dumps({"OTIO_SCHEMA": "Clip.2", "name": "x"}),
            ": OpenTimelineIO cannot read it as otio",
        ),
        ("otio", json.dumps({"OTIO_SCHEMA": "Nothing.9"}), ": OpenTimelineIO cannot read it as a timeline"),
    ],
)
def test_unreadable_timelines_fail_in_one_line(
    lesson: DirectorInput, machine: Plan, tmp_path: Path, suffix: str, text: str, expected: str
) -> None:
    path = tmp_path / f"{VIDEO}.{suffix}"
    path.write_text(text)
    with pytest.raises(EditError) as failure:
        follow_creator(machine, edit_context(lesson), [str(path)])
    assert str(failure.value).startswith(f"{path}{expected}"), str(failure.value)


def test_a_pause_left_struck_stays_struck_when_the_machine_cut_little_of_it(
    lesson: DirectorInput, machine: Plan
) -> None:
    """Seen on a real talk: the machine cut under half of the pause before a filler (it kept a long breath
    after the sentence); restoring the filler must not leave that pause reading as kept."""
    (um,) = words_named(lesson, "um")
    cuts = [c for c in machine.cuts if not c.start < um.start < c.end]
    narrow = Cut(start=2.72, end=3.44, reason="silence+filler", rationale="narrow", confidence=0.9)
    narrow_plan = machine.model_copy(update={"cuts": sorted([*cuts, narrow], key=lambda c: c.start)})
    narrow_plan = narrow_plan.model_copy(update={"keep": complement(narrow_plan.cuts, DURATION)})
    text = script(lesson, narrow_plan)
    assert "~~[0.9 s pause]~~" in text
    followed = follow(narrow_plan, lesson, edit_line(text, "~~um~~<!--", "~~um~~", "um"))
    assert not word_cut(followed, um)
    again = script(lesson, followed)
    assert "~~[0.9 s pause]~~" in again, again
    assert [(c.start, c.end) for c in follow(narrow_plan, lesson, again).cuts] == [
        (c.start, c.end) for c in followed.cuts
    ]


def test_a_re_anchored_word_must_lie_near_its_lines_time(lesson: DirectorInput, machine: Plan) -> None:
    """Alignment pairs words by text; a pair far from the time of the word's line is not the same word (a
    phrase said twice), so words a minute away from where the file had them do not take its edits along."""
    text = edit_line(script(lesson, machine), "biggest", "biggest", "~~biggest~~")
    moved = [w.model_copy(update={"start": w.start + 60, "end": w.end + 60}) for w in retranscribed(lesson)]
    ctx = context(moved, DURATION + 61, chapters=lesson.analysis.chapters)
    ctx.grid = FrameGrid(FPS, round((DURATION + 61) * FPS))
    new_machine = rule_based_plan(ctx, DirectorConfig())
    context_ = EditContext(VIDEO, moved, DURATION + 61, ctx.grid, 0.15, 0.25, "input/lesson 1.mp4")
    from ave_core.edits import follow_edit_script

    followed = follow_edit_script(new_machine, context_, text.encode(), LABEL)
    (biggest,) = [w for w in moved if w.word == "biggest"]
    assert not word_cut(followed, biggest)
    line = line_with(text, "~~biggest~~") + 1
    assert any(
        w.startswith(f"{LABEL}:{line}: not found") and "~~biggest~~" in w for w in followed.producer.warnings
    )


def premiere_xml(ranges: list[tuple[int, int]], timebase: int = 25, ntsc: bool = False) -> str:
    """An FCP 7 XML (xmeml 4) in the shape Premiere Pro exports: the file described in full in the first clip
    and referred to by id after it, a Windows path under file://localhost/, the camera's timecode starting
    at 1:00:00:00, each video clip linked to its sound on an audio track. `ranges` are kept source frames."""
    rate = f"<rate><timebase>{timebase}</timebase><ntsc>{'TRUE' if ntsc else 'FALSE'}</ntsc></rate>"
    hour = timebase * 3600 - (timebase * 3600 // 1000 if ntsc else 0)
    full_file = f"""<file id="file-1">
              <name>lesson 1.mp4</name>
              <pathurl>file://localhost/C%3a/Users/me/Videos/lesson%201.mp4</pathurl>
              {rate}
              <duration>{round(DURATION * timebase)}</duration>
              <timecode>{rate}<string>01:00:00:00</string><frame>{hour}</frame>
                <displayformat>NDF</displayformat></timecode>
              <media><video><samplecharacteristics>{rate}<width>1920</width><height>1080</height>
                </samplecharacteristics></video>
                <audio><samplecharacteristics><depth>16</depth><samplerate>48000</samplerate>
                </samplecharacteristics><channelcount>2</channelcount></audio></media>
            </file>"""

    def items(kind: str, first_id: int) -> str:
        out, record = [], 0
        for index, (first, end) in enumerate(ranges):
            own, other = (
                first_id + index,
                (len(ranges) if kind == "video" else -len(ranges)) + first_id + index,
            )
            described = full_file if index == 0 and kind == "video" else '<file id="file-1"/>'
            out.append(
                f"""<clipitem id="clipitem-{own}">
            <masterclipid>masterclip-1</masterclipid><name>lesson 1.mp4</name><enabled>TRUE</enabled>
            <duration>{round(DURATION * timebase)}</duration>{rate}
            <start>{record}</start><end>{record + end - first}</end><in>{first}</in><out>{end}</out>
            <pproTicksIn>{first * 254016000000 // timebase}</pproTicksIn>
            {described}
            <link><linkclipref>clipitem-{own}</linkclipref><mediatype>{kind}</mediatype>
              <trackindex>1</trackindex><clipindex>{index + 1}</clipindex></link>
            <link><linkclipref>clipitem-{other}</linkclipref>
              <mediatype>{"audio" if kind == "video" else "video"}</mediatype>
              <trackindex>1</trackindex><clipindex>{index + 1}</clipindex></link>
          </clipitem>"""
            )
            record += end - first
        return "\n".join(out)

    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE xmeml>
<xmeml version="4">
  <sequence id="sequence-1" TL.SQAudioVisibleBase="0" TL.SQVideoVisibleBase="0" explodedTracks="true">
    <uuid>5a1e0f3c-0000-4000-8000-000000000001</uuid>
    <duration>{sum(end - first for first, end in ranges)}</duration>{rate}
    <name>{VIDEO} trimmed</name>
    <media>
      <video>
        <format><samplecharacteristics>{rate}<width>1920</width><height>1080</height></samplecharacteristics>
        </format>
        <track TL.SQTrackShy="0" MZ.TrackTargeted="1">
          {items("video", 1)}
        </track>
      </video>
      <audio>
        <numOutputChannels>2</numOutputChannels>
        <track premiereTrackType="Stereo">
          {items("audio", 1 + len(ranges))}
        </track>
      </audio>
    </media>
    <timecode>{rate}<string>00:00:00:00</string><frame>0</frame><displayformat>NDF</displayformat></timecode>
  </sequence>
</xmeml>
"""


def fcpxml_export(
    ranges: list[tuple[int, int]],
    frame: tuple[int, int] = (1, 25),
    *,
    camera_timecode: bool = False,
    timeline_at_hour: bool = True,
    lane: bool = False,
    media: str = "file:///C:/Users/me/Videos/lesson%201.mp4",
) -> str:
    """An FCPXML 1.9 written here rather than through OpenTimelineIO: times as fractions of the frame duration
    (`frame`: 1001/30000s at 29.97), the media path in a media-rep. `camera_timecode`: the file's timecode
    starts at 1:00:00:00, so a clip's start is an hour past its first frame (Final Cut); `timeline_at_hour`:
    the timeline starts at 01:00:00:00 (Resolve); `lane`: the clips on track V2, connected to a gap on the
    empty V1 (Resolve). `ranges` are kept (first, end) source frames."""
    step, scale = frame

    def time(frames: int) -> str:
        return f"{frames * step}/{scale}s"

    hour = round(3600 * scale / step)
    whole = time(round(DURATION * scale / step))
    source_start = hour if camera_timecode else 0
    timeline_start = hour if timeline_at_hour else 0
    on_lane = ' lane="1"' if lane else ""
    clips, record = [], timeline_start
    for first, end in ranges:
        clips.append(
            f'<asset-clip{on_lane} ref="r1" offset="{time(record)}" name="lesson 1.mp4" '
            f'start="{time(source_start + first)}" duration="{time(end - first)}" format="r0" '
            'tcFormat="NDF" enabled="1">\n  <adjust-transform anchor="0 0" scale="1 1" position="0 0"/>\n'
            "</asset-clip>"
        )
        record += end - first
    body = "\n".join(clips)
    if lane:
        length = time(record - timeline_start)
        span = f'offset="{time(timeline_start)}" start="{time(timeline_start)}" duration="{length}"'
        body = f'<gap name="Gap" {span}>\n{body}\n</gap>'
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE fcpxml>

<fcpxml version="1.9">
    <resources>
        <format id="r0" name="FFVideoFormat1080p" frameDuration="{step}/{scale}s" width="1920" height="1080"/>
        <asset id="r1" name="lesson 1.mp4" start="{time(source_start)}" duration="{whole}"
            hasVideo="1" format="r0" hasAudio="1" audioSources="1" audioChannels="2" audioRate="48000">
            <media-rep kind="original-media" src="{media}"/>
        </asset>
    </resources>
    <library>
        <event name="ave">
            <project name="{VIDEO} trimmed">
                <sequence format="r0" duration="{time(record - timeline_start)}"
                    tcStart="{time(timeline_start)}" tcFormat="NDF">
                    <spine>
{body}
                    </spine>
                </sequence>
            </project>
        </event>
    </library>
</fcpxml>
"""


def final_cut_pro_xml(ranges: list[tuple[int, int]]) -> str:
    """In Final Cut Pro's shape: the camera's timecode from 1:00:00:00, the timeline from zero, a Mac path."""
    return fcpxml_export(
        ranges, camera_timecode=True, timeline_at_hour=False, media="file:///Users/me/Movies/lesson%201.mp4"
    )


def resolve_fcpxml(
    ranges: list[tuple[int, int]], frame: tuple[int, int] = (1, 25), lane: bool = False
) -> str:
    """In DaVinci Resolve's shape: the timeline from 01:00:00:00, a Windows path, maybe on V2 over a gap."""
    return fcpxml_export(ranges, frame, lane=lane)


def test_a_timeline_in_final_cuts_own_shape_is_followed(
    lesson: DirectorInput, machine: Plan, tmp_path: Path
) -> None:
    frames = [(round(k.start * FPS), round(k.end * FPS)) for k in machine.keep if k.duration_s > 0]
    assert len(frames) >= 3
    frames[1] = (frames[1][0], frames[1][1] - 10)  # the second clip's end trimmed by 10 frames
    path = tmp_path / f"{VIDEO}.fcpxml"
    path.write_text(final_cut_pro_xml(frames))
    followed = follow_creator(machine, edit_context(lesson), [str(path)])
    assert [(round(k.start * FPS, 6), round(k.end * FPS, 6)) for k in followed.keep] == frames
    (creator,) = [c for c in followed.cuts if c.source == "creator"]
    assert abs(creator.start - frames[1][1] / FPS) < 1e-6


# --- timelines in the shapes Premiere and Resolve export ----------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "write"),
    [
        ("xml", lambda frames: premiere_xml(frames)),
        ("fcpxml", lambda frames: resolve_fcpxml(frames)),
        ("fcpxml", lambda frames: resolve_fcpxml(frames, lane=True)),
    ],
    ids=["premiere", "resolve", "resolve-on-V2"],
)
def test_timelines_in_premieres_and_resolves_shape_are_followed(
    lesson: DirectorInput, machine: Plan, tmp_path: Path, suffix: str, write
) -> None:
    frames = [(round(k.start * FPS), round(k.end * FPS)) for k in machine.keep if k.duration_s > 0]
    frames[1] = (frames[1][0], frames[1][1] - 10)  # the second clip's end trimmed by 10 frames
    path = tmp_path / f"{VIDEO}.{suffix}"
    path.write_text(write(frames))
    followed = follow_creator(machine, edit_context(lesson), [str(path)])
    assert [(round(k.start * FPS, 6), round(k.end * FPS, 6)) for k in followed.keep] == frames
    # the trim may cut into words (said so); nothing else is to be said of an ordinary export
    new = [w for w in followed.producer.warnings if w not in machine.producer.warnings]
    assert all(": the timeline cuts into the word " in w for w in new), new


@pytest.mark.parametrize(
    ("suffix", "text"),
    [
        ("xml", premiere_xml([(30, 90), (300, 330), (9000, 9030)], timebase=30, ntsc=True)),
        ("fcpxml", resolve_fcpxml([(30, 90), (300, 330), (9000, 9030)], frame=(1001, 30000))),
        ("fcpxml", resolve_fcpxml([(30, 90), (300, 330), (9000, 9030)], frame=(1001, 30000), lane=True)),
    ],
    ids=["premiere", "resolve", "resolve-on-V2"],
)
def test_ntsc_timelines_keep_their_exact_times(suffix: str, text: str) -> None:
    """At 29.97 fps frame 9000 starts at 300.3 s; OpenTimelineIO's FCPXML adapters counted 29 frames a
    second and put it at 290.3 s."""
    from ave_core.edits import read_timeline_ranges

    ranges, warnings = read_timeline_ranges(text.encode(), f"edits/{VIDEO}.{suffix}", "lesson 1.mp4", VIDEO)
    expected = [
        (first * 1001 / 30000, end * 1001 / 30000) for first, end in [(30, 90), (300, 330), (9000, 9030)]
    ]
    assert [t for r in ranges for t in (r.start, r.end)] == pytest.approx(
        [t for pair in expected for t in pair], abs=1e-6
    )
    assert warnings == []


def test_an_fcpxml_clip_with_its_media_inside_and_a_compound_clip(tmp_path: Path) -> None:
    """Final Cut writes some media as a <clip> holding a <video> whose own offset and start place the
    clip's window in the file; a compound clip (ref-clip) cannot be followed and says so."""
    from ave_core.edits import read_timeline_ranges

    base = resolve_fcpxml([(25, 75)])
    wrapped = base.replace(
        '<asset-clip ref="r1" offset="90000/25s" name="lesson 1.mp4" start="25/25s" duration="50/25s"',
        '<clip name="lesson 1" offset="90000/25s" start="7/1s" duration="50/25s"><video ref="r1" '
        'offset="5s" start="1s" duration="16s"/></clip><asset-clip ref="r1" offset="0s" start="0s" '
        'duration="0s" lane="2"',
    )
    assert "<clip " in wrapped
    ranges, _ = read_timeline_ranges(wrapped.encode(), f"edits/{VIDEO}.fcpxml", "lesson 1.mp4", VIDEO)
    # 7 s into the clip is 1 + (7 - 5) s into the file
    assert [(r.start, r.end) for r in ranges] == [(3.0, 5.0)]
    compound = (
        base.replace("<asset-clip ", "<ref-clip ")
        .replace('name="lesson 1.mp4" start', 'name="Compound 1" start')
        .replace("</asset-clip>", "</ref-clip>")
    )
    path = tmp_path / f"{VIDEO}.fcpxml"
    with pytest.raises(EditError) as failure:
        read_timeline_ranges(compound.encode(), str(path), "lesson 1.mp4", VIDEO)
    assert str(failure.value).startswith(f"{path}: it plays a compound clip ('Compound 1'); break it apart")


def test_an_fcpxml_clip_without_a_start_plays_from_the_start_of_its_media() -> None:
    from ave_core.edits import read_timeline_ranges

    text = final_cut_pro_xml([(0, 50), (100, 150)])  # the camera's timecode: the asset starts at 3600 s
    text = text.replace(' start="90000/25s" duration="50/25s"', ' duration="50/25s"', 1)
    assert text.count(' start="90000/25s"') == 1  # the asset's own start is left
    ranges, _ = read_timeline_ranges(text.encode(), f"edits/{VIDEO}.fcpxml", "lesson 1.mp4", VIDEO)
    assert [(r.start, r.end) for r in ranges] == [(0.0, 2.0), (4.0, 6.0)]
