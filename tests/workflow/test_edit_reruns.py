"""Edit by text in the workflow: the creator's edits/{video}.md is an input of the plan, so saving it reruns
the plan and what follows and nothing before; the render, captions and review page follow it; a bad edit file
stops only its own video, in one line."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from ave_core.edits import EditContext, follow_edit_script
from ave_core.editscript import parse_edit_script, script_words
from ave_core.models import MediaInfo, Plan, Transcript, read_artifact
from ave_core.synth import Truth
from ave_core.timemap import EditMap, FrameGrid
from tests.browser import Browser
from tests.workflow.conftest import SHORT, error_lines, planned_jobs, run_workflow
from tests.workflow.test_hostile import assert_nothing_half_written
from tests.workflow.test_workflow import OUTPUTS

pytestmark = pytest.mark.workflow

AFTER_THE_PLAN = {("direct", "talk"), ("context", "talk")} | {(rule, "talk") for rule in OUTPUTS}
TALK = "lecon-1-draft"  # the talk's slug in the batch project
SILENT = "no-audio"
SENTENCE = "Turn the thermostat down by one degree."


def copy(project: Path, where: Path) -> Path:
    shutil.copytree(project, where, symlinks=True)
    return where


def test_saving_an_edit_plans_the_plan_and_what_follows_only(finished_talk: Path, tmp_path: Path) -> None:
    project = copy(finished_talk, tmp_path / "project")
    script = project / "results" / "talk" / "edit.md"
    edits = project / "edits"
    edits.mkdir()
    shutil.copyfile(script, edits / "talk.md")
    assert planned_jobs(project) == AFTER_THE_PLAN  # never probe, audio, transcribe, scenes or analyze
    text = (edits / "talk.md").read_text()
    (edits / "talk.md").write_text(re.sub(r"~~(\[[\d.]+ s pause\])~~", r"\1", text, count=1))
    assert planned_jobs(project) == AFTER_THE_PLAN
    (edits / "talk.md").unlink()
    assert planned_jobs(project) == set(), "without the file the plan is the machine's, as it was"
    (edits / "Talk.md").write_text(text)  # named after the input file rather than its slug
    assert planned_jobs(project) == AFTER_THE_PLAN


def test_an_unedited_copy_of_a_real_plan_changes_nothing(finished_talk: Path) -> None:
    results = finished_talk / "results" / "talk"
    plan = read_artifact(results / "plan.json", Plan)
    words = read_artifact(results / "transcript.json", Transcript).words
    media = read_artifact(results / "media.json", MediaInfo)
    context = EditContext("talk", words, media.duration_s, FrameGrid.of(media), 0.15, 0.25, "input/talk.mp4")
    followed = follow_edit_script(plan, context, (results / "edit.md").read_bytes(), "edits/talk.md")
    assert followed.model_dump(exclude={"edits"}) == plan.model_dump(exclude={"edits"})
    assert followed.edits.decisions == [] and followed.edits.transcript == "same"


def restore_a_filler_and_cut_a_sentence(
    script: str, words: list, sentence: tuple[float, float]
) -> tuple[str, int, tuple[float, float]]:
    """The creator's edit: the first struck filler unstruck, the line that holds `sentence` deleted.
    Returns the new text, the line deleted (1-based) and the restored filler's times."""
    lines = script.split("\n")
    tokens = parse_edit_script(script.encode(), "x", TALK).tokens
    ordered = script_words(words)
    restored = None
    for token, word in zip([t for t in tokens if t.kind == "word"], ordered, strict=True):
        line = lines[token.line - 1]
        if not (token.struck and word.is_filler):
            continue
        if f"~~{token.text}~~" in line:  # struck alone
            lines[token.line - 1] = line.replace(f"~~{token.text}~~", token.text, 1)
        elif f"~~{token.text} " in line:  # struck with the pause after it: that stays struck
            lines[token.line - 1] = line.replace(f"~~{token.text} ", f"{token.text} ~~", 1)
        else:
            continue
        restored = (word.start, word.end)
        break
    assert restored, "the talk's plan cuts no filler word on its own"
    middle = (sentence[0] + sentence[1]) / 2
    times = {t.line: t.line_time for t in tokens if t.line_time is not None}
    deleted = max(line for line, time in times.items() if time <= middle)
    del lines[deleted - 1]
    return "\n".join(lines), deleted, restored


@pytest.fixture(scope="module")
def edited(batch, talk: tuple[Path, Truth], tmp_path_factory: pytest.TempPathFactory):
    """The batch project rerun with the creator's edits: the talk's (a filler restored, a sentence deleted),
    a broken one for the silent video, and one that names no video."""
    project = copy(batch[0], tmp_path_factory.mktemp("edited") / "my channel")
    results = project / "results" / TALK
    before = {
        "plan": read_artifact(results / "plan.json", Plan),
        "captions": (results / "captions.srt").read_text(),
        "render": json.loads((results / "render.json").read_text()),
    }
    words = read_artifact(results / "transcript.json", Transcript).words
    utterance = next(u for u in talk[1].utterances if u.text == SENTENCE)
    text, deleted, restored = restore_a_filler_and_cut_a_sentence(
        (results / "edit.md").read_text(), words, (utterance.start, utterance.end)
    )
    (project / "edits").mkdir()
    (project / "edits" / f"{TALK}.md").write_text(text)
    silent = (project / "results" / SILENT / "edit.md").read_text()
    (project / "edits" / f"{SILENT}.md").write_text(silent.replace("[", "~~[", 1))
    (project / "edits" / "ghost.md").write_text("- `0:00.0` nothing\n")
    proc = run_workflow(project, "--keep-going", *SHORT)
    return project, proc, before, words, (utterance.start, utterance.end), deleted, restored


def test_the_plan_follows_the_creators_edit(edited) -> None:
    project, proc, before, words, sentence, deleted, restored = edited
    results = project / "results" / TALK
    plan = read_artifact(results / "plan.json", Plan)
    assert plan.edits is not None and plan.edits.path == f"edits/{TALK}.md", proc.stdout + proc.stderr
    assert plan.edits.machine_cuts == before["plan"].cuts
    in_sentence = [w for w in words if sentence[0] - 0.05 <= (w.start + w.end) / 2 <= sentence[1] + 0.05]
    assert in_sentence
    keep = EditMap.from_keep(plan.keep)
    assert all(keep.to_edited((w.start + w.end) / 2) is None for w in in_sentence), "the deleted line is cut"
    assert keep.to_edited(sum(restored) / 2) is not None, "the restored filler is kept"
    how = {(d.how, d.creator) for d in plan.edits.decisions}
    assert ("unstruck", "keep") in how and ("deleted", "cut") in how
    assert any(c.source == "creator" for c in plan.cuts)
    # the render follows: final.mp4 is as long as the new keep ranges (render.json checks it to the frame)
    render = json.loads((results / "render.json").read_text())
    assert render["duration_s"] == render["expected_duration_s"]
    assert abs(render["duration_s"] - keep.duration) < 0.05
    assert abs(render["duration_s"] - before["render"]["duration_s"]) > 0.5
    # the captions follow: the sentence's words are gone from them
    captions = (results / "captions.srt").read_text()
    gone = {w.word.strip(".,").lower() for w in in_sentence} - {
        w.word.strip(".,").lower() for w in words if w not in in_sentence
    }
    assert gone and not any(re.search(rf"\b{re.escape(word)}\b", captions.lower()) for word in gone), gone
    assert captions != before["captions"]
    # edit.md now shows the creator's decisions; copied again, it changes nothing
    script = (results / "edit.md").read_text()
    assert "kept by you; the machine cut it" in script


def test_a_bad_edit_file_stops_only_its_video_in_one_line(edited) -> None:
    project, proc, *_ = edited
    assert proc.returncode != 0 and "Traceback" not in proc.stdout + proc.stderr
    # one line, said once per attempt (direct has a retry, for the network)
    lines = sorted({line for line in error_lines(proc) if line.startswith("ave direct:")})
    assert len(lines) == 1, error_lines(proc)
    assert re.match(
        rf"ave direct: error: edits/{SILENT}\.md:\d+: a strike '~~' is opened and never closed — ", lines[0]
    ), lines[0]
    assert not (project / "results" / SILENT / "plan.json").exists(), "no plan from a file that failed"
    assert not (project / "results" / SILENT / "edit.md").exists()
    assert (project / "results" / TALK / "context.json").stat().st_mtime > (
        project / "edits" / f"{TALK}.md"
    ).stat().st_mtime, "the other video finished"
    warning = "ave: edits/ghost.md: no video 'ghost' in the project, so nothing follows it — rename it"
    assert warning in proc.stdout + proc.stderr
    assert_nothing_half_written(project / "results")


def test_the_review_page_plays_every_cut_in_a_browser(edited, tmp_path: Path) -> None:
    project, *_ = edited
    results = project / "results" / TALK
    plan = read_artifact(results / "plan.json", Plan)
    page = results / "report" / "review.html"
    with Browser() as browser:
        browser.open(page)
        entries = browser.evaluate(
            "[...document.querySelectorAll('li.entry')].map(e => [e.id, e.dataset.reason, e.dataset.source])"
        )
        states = browser.media_states()
        browser.screenshot(tmp_path / "review-edited-phone.png")
    assert [e[0] for e in entries] == [f"cut-{n}" for n in range(1, len(plan.cuts) + 1)]
    assert [(e[1], e[2]) for e in entries] == [(c.reason, c.source) for c in plan.cuts]
    assert len(states) == 2 * len(plan.cuts)
    assert all(s["ready"] >= 1 and s["duration"] > 0 and s["error"] is None for s in states), states


def test_once_the_bad_file_is_fixed_only_its_video_is_planned(edited, tmp_path: Path) -> None:
    project = copy(edited[0], tmp_path / "project")
    broken = project / "edits" / f"{SILENT}.md"
    broken.write_text(broken.read_text().replace("~~[", "[", 1))
    planned = planned_jobs(project)
    assert not any(video == TALK for _, video in planned), planned
    assert ("direct", SILENT) in planned


def test_review_settings_rerun_only_the_review_page(finished_talk: Path) -> None:
    assert planned_jobs(finished_talk, "--config", "review={context_s: 2.5}") == {("review", "talk")}
