"""Benchmark of edit by text: time from saving edits/talk.md to a new final.mp4 against a full run, and
whether the re-rendered video says what the edit asked for.

    python -m bench.edits [--minutes 15] [--repeats 2] [--long-repeats 1] [--skip-long]

For the 64 s demo talk and a long talk (the demo script said over and over, `--minutes` long), each round is
A) a full run from an empty results/ (probe to final.mp4), then B) the creator's edit saved (the first filler
the machine cut restored, one sentence's line deleted) and the same target run again; A B A B on the demo (A B
on the long talk by default: a full run of it takes long on a shared machine), so each ratio B / A compares
runs made minutes apart on the same machine. Then the demo's edited final.mp4 is
transcribed again (tiny.en) and its words, mapped back to source time through the plan, are compared with the
source transcript: the restored filler must be heard between its kept neighbours (and, stricter, within
0.3 s of its source time), the deleted sentence not, and every other kept word at its place. The machine's
own render is transcribed the same way, as the reference for what tiny.en finds. `--voice` and `--rate`
make the demo talk in another espeak-ng voice.
Writes bench/out/edits.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
from pathlib import Path

from ave_core.asr import FasterWhisperRecognizer
from ave_core.audio import read_pcm16
from ave_core.config import AsrConfig
from ave_core.editscript import match_key, parse_edit_script, script_words
from ave_core.models import Plan, Transcript, Word, read_artifact
from ave_core.synth import DEMO_SCRIPT, make_recording
from ave_core.timemap import EditMap
from bench.common import OUT, benchmark_row, decode_16k, model_path, snakemake
from bench.common import run_timed as timed

SCRIPT_SECONDS = 64.4  # one pass of DEMO_SCRIPT
SENTENCE = "Double glazing keeps the heat inside and the noise outside."
PLACE_TOLERANCE_S = 0.3  # a re-heard word is "where it was" within this (tiny.en's word times are this rough)
FILLERS = {"um", "uh", "erm", "er", "ah", "hmm"}
MACHINE_RENDER = "machine-final.mp4"  # kept beside the project by the last round
MACHINE_PLAN = "machine-plan.json"


def talk(name: str, minutes: float, voice: str = "en-us", words_per_minute: int = 160) -> Path:
    """The demo talk (one pass of its script) or a long one (the script said again and again)."""
    clip = OUT / "edits" / f"{name}.mp4"
    if not clip.exists():
        repeat = max(1, round(minutes * 60 / SCRIPT_SECONDS))
        make_recording(
            clip,
            DEMO_SCRIPT,
            repeat=repeat,
            shots=max(5, int(minutes * 2)),
            voice=voice,
            words_per_minute=words_per_minute,
        )
    return clip


def creator_edit(script: str, words: list[Word], truth: dict) -> tuple[str, Word, list[Word]]:
    """edit.md with the first filler the machine cut unstruck and the line of SENTENCE (its first saying)
    deleted; the restored filler and the deleted sentence's words."""
    lines = script.split("\n")
    tokens = parse_edit_script(script.encode(), "bench", "talk").tokens
    ordered = script_words(words)
    word_tokens = [t for t in tokens if t.kind == "word"]
    restored = None
    for token, word in zip(word_tokens, ordered, strict=True):
        line = lines[token.line - 1]
        if token.struck and word.is_filler and f"~~{token.text}" in line:
            if f"~~{token.text}~~" in line:
                lines[token.line - 1] = line.replace(f"~~{token.text}~~", token.text, 1)
            else:
                lines[token.line - 1] = line.replace(f"~~{token.text} ", f"{token.text} ~~", 1)
            restored = word
            break
    sentence = next(u for u in truth["utterances"] if u["text"] == SENTENCE)
    middle = (sentence["start"] + sentence["end"]) / 2
    times = {t.line: t.line_time for t in tokens if t.line_time is not None}
    line = max(number for number, time_s in times.items() if time_s <= middle)
    deleted = [w for token, w in zip(word_tokens, ordered, strict=True) if token.line == line]
    del lines[line - 1]
    assert restored is not None, "the plan cuts no filler on its own"
    return "\n".join(lines), restored, deleted


def heard(video: Path, plan: Plan, folder: Path) -> list[tuple[str, float]]:
    """The words tiny.en hears in a render, each with its start mapped back to source time."""
    samples = read_pcm16(decode_16k(video, folder))[0]
    speech = FasterWhisperRecognizer(AsrConfig(model=model_path())).recognize(samples)
    edit_map = EditMap.from_keep(plan.keep)
    return [(match_key(w.word), edit_map.to_source(w.start)) for s in speech.segments for w in s.words]


def compare(source: list[Word], plan: Plan, found: list[tuple[str, float]]) -> dict[str, float]:
    """How many of the words the plan keeps are heard in the render at their place (and how far off)."""
    edit_map = EditMap.from_keep(plan.keep)
    kept = [w for w in source if edit_map.to_edited((w.start + w.end) / 2) is not None]
    offsets, used = [], set()
    for word in kept:
        key = match_key(word.word)
        candidates = [
            (abs(time_s - word.start), index)
            for index, (text, time_s) in enumerate(found)
            if text == key and index not in used and abs(time_s - word.start) <= PLACE_TOLERANCE_S
        ]
        if candidates:
            offset, index = min(candidates)
            used.add(index)
            offsets.append(offset)
    return {
        "kept_words": len(kept),
        "heard_in_place": len(offsets),
        "share_in_place": round(len(offsets) / len(kept), 3) if kept else 1.0,
        "median_offset_s": round(statistics.median(offsets), 3) if offsets else 0.0,
        "max_offset_s": round(max(offsets), 3) if offsets else 0.0,
    }


def heard_near(found: list[tuple[str, float]], keys: set[str], start: float, end: float) -> list[str]:
    return [text for text, time_s in found if text in keys and start - PLACE_TOLERANCE_S <= time_s <= end]


def heard_between(
    found: list[tuple[str, float]], source: list[Word], plan: Plan, keys: set[str], start: float, end: float
) -> list[str]:
    """The words of `keys` heard, in order, between the nearest kept words either side of [start, end] that
    are heard at their place: a test of what is said there that does not rest on the recogniser's times of
    a short filler (tiny.en dates one up to a second late, next to the word after it)."""
    edit_map = EditMap.from_keep(plan.keep)
    kept = [
        w
        for w in source
        if not w.is_filler and edit_map.to_edited((w.start + w.end) / 2) is not None and match_key(w.word)
    ]

    def located(word: Word) -> int | None:
        key = match_key(word.word)
        hits = [
            (abs(time_s - word.start), index)
            for index, (text, time_s) in enumerate(found)
            if text == key and abs(time_s - word.start) <= PLACE_TOLERANCE_S
        ]
        return min(hits)[1] if hits else None

    before = (located(w) for w in reversed([w for w in kept if w.end <= start]))
    after = (located(w) for w in kept if w.start >= end)
    first = next((i for i in before if i is not None), -1)
    last = next((i for i in after if i is not None), len(found))
    return [text for text, _ in found[first + 1 : last] if text in keys]


def rounds(name: str, clip: Path, repeats: int) -> dict[str, object]:
    """A B A B on one talk: full runs and edit runs to final.mp4."""
    project = OUT / "edits" / f"project-{name}"
    target = "results/talk/final.mp4"
    full_s, edit_s, review_s, facts = [], [], [], {}
    for _ in range(repeats):
        shutil.rmtree(project, ignore_errors=True)
        (project / "input").mkdir(parents=True)
        (project / "input" / "talk.mp4").hardlink_to(clip)
        full_s.append(timed(snakemake(project, target)))  # A: everything, probe to final.mp4
        results = project / "results" / "talk"
        machine = read_artifact(results / "plan.json", Plan)
        # the machine's render and plan, kept for the words check (which then renders neither again)
        shutil.copyfile(results / "final.mp4", project / MACHINE_RENDER)
        shutil.copyfile(results / "plan.json", project / MACHINE_PLAN)
        words = read_artifact(results / "transcript.json", Transcript).words
        truth = json.loads(clip.with_suffix(".truth.json").read_text())
        text, _, _ = creator_edit((results / "edit.md").read_text(), words, truth)
        (project / "edits").mkdir(exist_ok=True)
        (project / "edits" / "talk.md").write_text(text)  # B: the creator saves, ave runs again
        edit_s.append(timed(snakemake(project, target)))
        review_s.append(timed(snakemake(project)))  # the rest: timeline, metadata, report, review page
        plan = read_artifact(results / "plan.json", Plan)
        page = results / "report" / "review.html"
        facts = {
            "source_s": round(machine.metrics["source_s"], 1),
            "machine_cuts": len(machine.cuts),
            "creator_decisions": len(plan.edits.decisions) if plan.edits else 0,
            "review_page_mb": round(page.stat().st_size / 1e6, 2),
            "review_cuts": len(plan.cuts),
            "review_kb_per_cut": round(page.stat().st_size / 1e3 / max(1, len(plan.cuts)), 1),
            "review_rule_s": benchmark_row(project / "benchmarks" / "talk" / "review.tsv")["seconds"],
        }
    return {
        "full_run_s": [round(s, 1) for s in full_s],
        "edit_to_final_s": [round(s, 1) for s in edit_s],
        "rest_after_edit_s": [round(s, 1) for s in review_s],
        "ratio_edit_over_full": [round(b / a, 3) for a, b in zip(full_s, edit_s, strict=True)],
        **facts,
    }


def words_check(name: str, render_machine: bool = True) -> dict[str, object]:
    """On a project the rounds left (the creator's edit in edits/talk.md): the machine's render and the
    edited one, each transcribed again and compared with the source transcript. The machine's plan is
    rendered again unless `render_machine` is False and the last round kept its render."""
    project = OUT / "edits" / f"project-{name}"
    results = project / "results" / "talk"
    target = "results/talk/final.mp4"
    edit = project / "edits" / "talk.md"
    if render_machine or not (project / MACHINE_RENDER).is_file():
        text = edit.read_text()
        edit.unlink()  # the machine's plan and render
        timed(snakemake(project, target))
        shutil.copyfile(results / "final.mp4", project / MACHINE_RENDER)
        shutil.copyfile(results / "plan.json", project / MACHINE_PLAN)
        edit.write_text(text)  # the creator's
    timed(snakemake(project, target))  # nothing to do when the round's edit run is current
    machine = read_artifact(project / MACHINE_PLAN, Plan)
    plan = read_artifact(results / "plan.json", Plan)
    words = read_artifact(results / "transcript.json", Transcript).words
    assert plan.edits is not None
    decided = [d for d in plan.edits.decisions if d.kind == "word"]
    restored = next(d for d in decided if d.how == "unstruck")
    deleted = [d for d in decided if d.how == "deleted"]
    deleted_times = {(d.start, d.end) for d in deleted}
    folder = project / "heard"
    folder.mkdir(exist_ok=True)
    edited = heard(results / "final.mp4", plan, folder)
    reference = heard(project / MACHINE_RENDER, machine, folder)
    sentence_keys = {match_key(d.text) for d in deleted} - {
        match_key(w.word) for w in words if (round(w.start, 6), round(w.end, 6)) not in deleted_times
    }
    return {
        "restored_filler": f"{restored.text} at {restored.start:.2f} s",
        "filler_kept_by_the_plan": EditMap.from_keep(plan.keep).to_edited((restored.start + restored.end) / 2)
        is not None,
        "filler_heard_back": heard_near(edited, FILLERS, restored.start, restored.end),
        "filler_heard_in_machine_render": heard_near(reference, FILLERS, restored.start, restored.end),
        "filler_heard_between_its_neighbours": heard_between(
            edited, words, plan, FILLERS, restored.start, restored.end
        ),
        "filler_heard_between_its_neighbours_in_machine_render": heard_between(
            reference, words, machine, FILLERS, restored.start, restored.end
        ),
        "sentence": " ".join(d.text for d in deleted),
        "sentence_words_heard": heard_near(
            edited, sentence_keys, min(w.start for w in deleted), max(w.end for w in deleted)
        ),
        "sentence_words_heard_in_machine_render": heard_near(
            reference, sentence_keys, min(w.start for w in deleted), max(w.end for w in deleted)
        ),
        "edited_render": compare(words, plan, edited),
        "machine_render": compare(words, machine, reference),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--repeats", type=int, default=2, help="A B rounds on the demo")
    parser.add_argument("--long-repeats", type=int, default=1, help="A B rounds on the long talk")
    parser.add_argument("--skip-long", action="store_true")
    parser.add_argument("--check-only", action="store_true", help="only the words check, on the last demo")
    parser.add_argument("--voice", default="en-us", help="espeak-ng voice of the demo talk")
    parser.add_argument("--rate", type=int, default=160, help="its words per minute")
    args = parser.parse_args()
    demo = "demo" if (args.voice, args.rate) == ("en-us", 160) else f"demo-{args.voice}-{args.rate}"
    out = OUT / "edits.json"
    figures = json.loads(out.read_text()) if args.check_only and out.is_file() else {}
    if not args.check_only:
        figures[demo] = rounds(demo, talk(demo, 1, args.voice, args.rate), args.repeats)
        out.write_text(json.dumps(figures, indent=2) + "\n")  # kept if the long talk is stopped
        if not args.skip_long:
            figures[f"talk-{args.minutes:g}min"] = rounds(
                "long", talk(f"talk-{args.minutes:g}min", args.minutes), args.long_repeats
            )
            out.write_text(json.dumps(figures, indent=2) + "\n")
    figures.setdefault(demo, {})["check"] = words_check(demo, render_machine=args.check_only)
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print("| talk | full run to final.mp4 (s) | edit saved to final.mp4 (s) | ratio | review page |")
    print("|---|---|---|---|---|")
    for name, row in figures.items():
        if "full_run_s" not in row:
            continue
        print(
            f"| {name} ({row['source_s']} s) | {row['full_run_s']} | {row['edit_to_final_s']} | "
            f"{row['ratio_edit_over_full']} | {row['review_page_mb']} MB, {row['review_kb_per_cut']} kB/cut |"
        )
    print(json.dumps(figures[demo].get("check"), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
