"""The creator's decisions as an input of the plan: an edit script (`edits/{video}.md`, a copy of
`results/{video}/edit.md` with words struck or unstruck) or a timeline exported from an NLE after trimming
ave's edit (`edits/{video}.otio`, `.fcpxml` or `.xml`).

The machine's plan is computed as always; the creator's file then overrides it. Only the stretches the
creator changed are re-cut (between the nearest words both keep), so every other cut stays exactly the
machine's, an unedited copy gives the machine's plan back, and `repair_plan` still keeps every cut out of
the words the creator keeps. plan.json records which cuts the creator made and keeps the machine's proposal.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

from .config import DirectorConfig
from .director import MIN_CUT_S, DirectorInput, plan_metrics, repair_plan
from .editscript import (
    PAUSE_SHOWN_S,
    STRUCK_MIN_S,
    EditError,
    EditScript,
    Element,
    FileToken,
    build_elements,
    covering_cuts,
    element_states,
    match_key,
    parse_edit_script,
    render_edit_script,
    script_words,
    transcript_id,
)
from .fcpxml import FcpxmlError, read_fcpxml_clips
from .models import Cut, EditDecision, MediaInfo, Plan, PlanEdits, Span, Word, complement
from .project import slugify
from .text import shorten
from .timemap import FrameGrid

EDITS_FOLDER = "edits"
SCRIPT_SUFFIX = ".md"
TIMELINE_ADAPTERS = {".otio": "otio_json", ".xml": "fcp_xml"}  # .fcpxml: ave_core.fcpxml (exact times)
EDIT_SUFFIXES = (SCRIPT_SUFFIX, *TIMELINE_ADAPTERS, ".fcpxml")
PAD_S = 0.02  # a struck word's cut reaches this far into a kept pause beside it (less than STRUCK_MIN_S)
PAUSE_KEEP_SHARE = 0.2  # a struck pause with a token keeps at most this share of itself next to a kept word
KEPT_STRUCK_SHARE = 0.5  # a struck pause re-cut with the machine's breath still loses this share of itself
HIDDEN_KEEP_SHARE = 0.5  # a short pause cut with the words beside it keeps up to half of itself as breath
LINE_TIME_TOLERANCE_S = 3.0  # a re-anchored word may lie this far outside the times of its line
SIMILAR_WORD = 0.6  # two differing words at the same place in both transcripts are the same word
CREATOR = "creator"


# --- finding the files ------------------------------------------------------------------------------


def _edit_files(folder: str | Path) -> list[Path]:
    root = Path(folder)
    if not root.is_dir():
        return []
    return sorted(
        entry
        for entry in root.iterdir()
        if entry.is_file() and not entry.name.startswith(".") and entry.suffix.lower() in EDIT_SUFFIXES
    )


def find_edits(folder: str | Path, slug: str) -> list[str]:
    """The creator's edit files of a video: edits/NAME.md (or .otio, .fcpxml, .xml) whose name is the video's
    slug, or its original name ("Leçon 1.md" edits lecon-1)."""
    return [str(path) for path in _edit_files(folder) if slugify(path.stem) == slug]


def orphan_edits(folder: str | Path, slugs: Sequence[str]) -> list[str]:
    """One line for each edit file that names no video of the project."""
    known = ", ".join(sorted(slugs)) or "none"
    return [
        f"ave: {path}: no video '{slugify(path.stem)}' in the project, so nothing follows it — rename it to "
        f"the video it edits (one of: {known})"
        for path in _edit_files(folder)
        if slugify(path.stem) not in slugs
    ]


# --- the plan, following the creator ------------------------------------------------------------------


@dataclass(frozen=True)
class EditContext:
    """What following an edit needs to know about the video and the director's settings."""

    video: str
    words: Sequence[Word]
    duration_s: float
    grid: FrameGrid | None
    margin_s: float
    min_keep_s: float
    source_video: str = ""


def creator_plan(
    plan: Plan,
    director: DirectorInput,
    config: DirectorConfig,
    media: MediaInfo,
    video: str,
    edit_paths: Sequence[str],
) -> tuple[Plan, str]:
    """The machine's plan with the creator's edit file applied (when there is one), and its edit script."""
    words = director.transcript.words
    context = EditContext(
        video, words, media.duration_s, director.grid, config.margin_s, config.min_keep_s, media.source.path
    )
    followed = follow_creator(plan, context, edit_paths)
    return followed, render_edit_script(video, words, followed, media.duration_s, director.analysis.chapters)


def as_machine(plan: Plan) -> Plan:
    """The plan as the machine proposed it: every cut marked as the machine's."""
    if all(c.source == "machine" for c in plan.cuts):
        return plan
    return plan.model_copy(update={"cuts": [c.model_copy(update={"source": "machine"}) for c in plan.cuts]})


def follow_creator(plan: Plan, context: EditContext, edit_paths: Sequence[str]) -> Plan:
    """The plan with the creator's edit file applied (the machine's plan when there is none)."""
    machine = as_machine(plan)
    if not edit_paths:
        return machine
    if len(edit_paths) > 1:
        names = " and ".join(edit_paths)
        raise EditError(f"{names}: two edits of '{context.video}' — keep one of them in {EDITS_FOLDER}/")
    path = Path(edit_paths[0])
    data = path.read_bytes()
    if path.suffix.lower() == SCRIPT_SUFFIX:
        return follow_edit_script(machine, context, data, str(path))
    return follow_timeline(machine, context, data, str(path))


@dataclass
class _Decided:
    """The creator's target state of every element, and which elements the file decided explicitly."""

    target: list[bool]
    how: dict[int, str] = field(default_factory=dict)
    line: dict[int, int | None] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def follow_edit_script(plan: Plan, context: EditContext, data: bytes, label: str) -> Plan:
    """The plan with the edit script `data` (read from `label`) applied."""
    words = script_words(context.words)
    elements = build_elements(words, context.duration_s)
    machine = element_states(elements, plan.cuts)
    script = parse_edit_script(data, label, context.video)
    same = script.transcript == transcript_id(words)
    decided = decide(elements, machine, script, same, label, context.video)
    record = PlanEdits(
        path=label,
        kind="edit-script",
        sha256=hashlib.sha256(data).hexdigest(),
        transcript="same" if same else "re-anchored",
        machine_cuts=plan.cuts,
    )
    changed = [p for p, state in enumerate(decided.target) if state != machine[p]]
    if not changed:
        return _with_record(plan, record, decided.warnings)
    spans = regions(elements, machine, decided.target, changed)
    cuts = recut(plan.cuts, elements, machine, decided.target, spans, changed, context, label, decided)
    keep_words = _protected_words(words, elements, decided.target, spans)
    followed = _repaired(plan, cuts, context, keep_words)
    creator_cut = [p for p in changed if decided.target[p]]
    followed = _attribute(followed, plan.cuts, elements, creator_cut)
    record.decisions = _decisions(elements, machine, decided, plan.cuts)
    return _finish(followed, plan, record, decided.warnings, context, label)


def decide(
    elements: Sequence[Element],
    machine: Sequence[bool],
    script: EditScript,
    same: bool,
    label: str,
    video: str,
) -> _Decided:
    """Each element's state as the file says: matched tokens as struck or not, deleted words cut, the rest
    (pauses the file does not show, words it never saw) as the machine or their neighbours decide."""
    decided = _Decided(target=list(machine), warnings=list(script.warnings))
    word_count = (len(elements) - 1) // 2
    file_words = [t for t in script.tokens if t.kind == "word"]
    pairs = align(file_words, elements, same, label, video)
    matched_word = {id(file_words[i]): j for i, j in pairs}
    if not same:
        decided.warnings.append(
            f"{label}: the transcript changed since this file was made: its edits were re-anchored to the "
            f"new words ({len(pairs)} of {len(file_words)} words found)"
        )
        _report_unmatched(script.tokens, matched_word, label, decided.warnings)
    explicit: set[int] = set()

    def set_state(position: int, state: bool, how: str, line: int | None) -> None:
        if position in explicit and decided.target[position] != state:
            decided.warnings.append(
                f"{label}:{line}: a second token for the same pause — the last one counts"
            )
        explicit.add(position)
        decided.target[position] = state
        if state != machine[position]:
            decided.how[position], decided.line[position] = how, line
        else:
            decided.how.pop(position, None)

    previous_word: int | None = None  # the word index the last word token matched; None if it did not
    seen_word = False
    for index, token in enumerate(script.tokens):
        if token.kind == "word":
            seen_word = True
            previous_word = matched_word.get(id(token))
            if previous_word is not None:
                set_state(2 * previous_word + 1, token.struck, _how(token), token.line)
            continue
        gap = _gap_of(index, script.tokens, matched_word, previous_word, seen_word)
        if gap is not None:  # else its word was not found: reported with the other words of its line
            set_state(2 * gap, token.struck, _how(token), token.line)
    deleted = _deleted_words(elements, explicit, script, same, label, decided.warnings)
    for word in deleted:
        set_state(2 * word + 1, True, "deleted", None)
        if 2 * word + 2 not in explicit and word + 1 <= word_count:
            set_state(2 * word + 2, True, "deleted", None)
    for position in range(0, len(elements), 2):  # pauses the file did not decide follow their words
        if position in explicit:
            continue
        neighbours = [p for p in (position - 1, position + 1) if 0 <= p < len(elements)]
        if any(decided.target[p] != machine[p] for p in neighbours):
            decided.target[position] = elements[position].duration_s > 0 and any(
                decided.target[p] for p in neighbours
            )
    return decided


def _how(token: FileToken) -> str:
    return "struck" if token.struck else "unstruck"


def _gap_of(
    index: int,
    tokens: Sequence[FileToken],
    matched_word: dict[int, int],
    previous_word: int | None,
    seen_word: bool,
) -> int | None:
    """The gap a pause token stands for: the one after the word before it, else (at the start of the file)
    the one before the word after it."""
    if seen_word:
        return previous_word + 1 if previous_word is not None else None
    following = next((t for t in tokens[index + 1 :] if t.kind == "word"), None)
    if following is None:
        return 0
    word = matched_word.get(id(following))
    return word if word is not None else None


def align(
    file_words: Sequence[FileToken], elements: Sequence[Element], same: bool, label: str, video: str
) -> list[tuple[int, int]]:
    """(file word, transcript word) pairs by sequence alignment of the words (not of line numbers).

    From the same transcript, every word of the file must be found in order (a missing one was deleted);
    after the transcript changed, words that differ in place are paired when they look alike, and pairs far
    from the times of their line are dropped.
    """
    words = [e for e in elements if e.kind == "word"]
    file_keys = [t.key for t in file_words]
    keys = [match_key(e.text) for e in words]
    pairs: list[tuple[int, int]] = []
    matcher = SequenceMatcher(a=file_keys, b=keys, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pairs += zip(range(i1, i2), range(j1, j2), strict=True)
        elif same and tag in ("replace", "delete"):
            token = file_words[i1]
            raise EditError(
                f"{label}:{token.line}: '{token.text}' is not in the transcript here — ave cuts and keeps "
                f"words but cannot add or change them: undo that change (or copy results/{video}/edit.md "
                "again); put notes in a comment <!-- -->"
            )
        elif tag == "replace":
            pairs += _similar_pairs(file_keys, keys, i1, i2, j1, j2)
    if same:
        return pairs
    windows = _line_windows(file_words)
    return [(i, j) for i, j in sorted(pairs) if windows[i][0] <= words[j].start <= windows[i][1]]


def _similar_pairs(
    file_keys: Sequence[str], keys: Sequence[str], i1: int, i2: int, j1: int, j2: int
) -> list[tuple[int, int]]:
    """Words that differ between the file and the transcript in the same place, paired in order where they
    are alike ("colour" and "color")."""
    pairs = []
    j = j1
    for i in range(i1, i2):
        for candidate in range(j, j2):
            if SequenceMatcher(a=file_keys[i], b=keys[candidate]).ratio() >= SIMILAR_WORD:
                pairs.append((i, candidate))
                j = candidate + 1
                break
    return pairs


def _line_windows(file_words: Sequence[FileToken]) -> list[tuple[float, float]]:
    """For each word of the file, the times its line covers (from the line's time to the next line's),
    widened by LINE_TIME_TOLERANCE_S; unbounded where the file gives no time."""
    windows: list[tuple[float, float]] = []
    next_line_time = float("inf")
    for index in reversed(range(len(file_words))):
        token = file_words[index]
        if token.line_time is None:
            windows.append((float("-inf"), float("inf")))
            continue
        windows.append((token.line_time - LINE_TIME_TOLERANCE_S, next_line_time + LINE_TIME_TOLERANCE_S))
        if index > 0 and file_words[index - 1].line != token.line:
            next_line_time = token.line_time
    return windows[::-1]


def _report_unmatched(
    tokens: Sequence[FileToken], matched_word: dict[int, int], label: str, warnings: list[str]
) -> None:
    """One warning per line for the file's words (and pauses beside them) not found in the transcript."""
    by_line: dict[int, list[FileToken]] = {}
    previous_matched = True
    for token in tokens:
        if token.kind == "word":
            previous_matched = id(token) in matched_word
            if not previous_matched:
                by_line.setdefault(token.line, []).append(token)
        elif not previous_matched:
            by_line.setdefault(token.line, []).append(token)
    for line, lost in by_line.items():
        text = shorten(" ".join(f"~~{t.text}~~" if t.struck else t.text for t in lost), 80)
        warnings.append(
            f"{label}:{line}: not found in the new transcript, so not applied: {text} — redo that edit in a "
            "fresh copy of edit.md"
        )


def _deleted_words(
    elements: Sequence[Element],
    explicit: set[int],
    script: EditScript,
    same: bool,
    label: str,
    warnings: list[str],
) -> list[int]:
    """Words the creator deleted: from the same transcript, every word missing from the file; after it
    changed, the missing words inside the time of a line the file no longer has (its footer lists them)."""
    missing = [e.index for e in elements if e.kind == "word" and 2 * e.index + 1 not in explicit]
    if same or not missing:
        return missing
    if not script.line_starts:
        warnings.append(
            f"{label}: {len(missing)} words of the transcript are not in the file, which has no ave footer "
            "to tell deleted lines from new words: the machine decides them — copy edit.md again to edit them"
        )
        return []
    present = script.line_times
    ends = [*script.line_starts[1:], float("inf")]
    deleted_lines = [
        (start, end)
        for start, end in zip(script.line_starts, ends, strict=True)
        if not any(abs(start - t) < 0.05 for t in present)
    ]
    deleted = [w for w in missing if any(s <= elements[2 * w + 1].start < e for s, e in deleted_lines)]
    new = [w for w in missing if w not in deleted]
    if new:
        sample = shorten(" ".join(elements[2 * w + 1].text for w in new), 60)
        warnings.append(
            f"{label}: {len(new)} words are new in the transcript and not in the file ({sample}): the "
            "machine decides them"
        )
    return deleted


# --- cutting what the creator changed ------------------------------------------------------------------


def regions(
    elements: Sequence[Element], machine: Sequence[bool], target: Sequence[bool], changed: Sequence[int]
):
    """The stretches to re-cut: around each changed element, from the nearest word before it that both
    the machine and the creator keep to the nearest such word after it (element positions, exclusive)."""
    anchors = [
        p for p in range(1, len(elements), 2) if not machine[p] and not target[p]
    ]  # kept by both, so unchanged
    spans: list[tuple[int, int]] = []
    for position in changed:
        before = max((a for a in anchors if a < position), default=-1)
        after = min((a for a in anchors if a > position), default=len(elements))
        if spans and before < spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], after))
        else:
            spans.append((before, after))
    return spans


def _interval(
    elements: Sequence[Element],
    machine: Sequence[bool],
    target: Sequence[bool],
    position: int,
    machine_cuts: Sequence[Cut],
    margin_s: float,
) -> tuple[float, float]:
    """What cutting one element removes: a word with a hair of the kept pauses beside it, a pause less a
    breath next to each kept word (next to a word nobody changed, the breath the machine left)."""
    element = elements[position]
    before = elements[position - 1] if position > 0 else None
    after = elements[position + 1] if position + 1 < len(elements) else None
    if element.kind == "word":
        pad_before = 0.0 if before is None or target[position - 1] else min(PAD_S, before.duration_s / 4)
        pad_after = 0.0 if after is None or target[position + 1] else min(PAD_S, after.duration_s / 4)
        return element.start - pad_before, element.end + pad_after
    # a pause with a token must stay struck when read back (see editscript.STRUCK_SHARE); a short one
    # cut with a struck word beside it keeps a natural breath
    share = PAUSE_KEEP_SHARE if element.duration_s >= PAUSE_SHOWN_S else HIDDEN_KEEP_SHARE
    breath = min(margin_s, share * element.duration_s)
    keep_before = breath if before is not None and not target[position - 1] else 0.0
    keep_after = breath if after is not None and not target[position + 1] else 0.0
    proposed = [c for c in machine_cuts if c.start < element.end and c.end > element.start]
    if machine[position] and proposed:
        machine_before, machine_after = keep_before, keep_after
        if before is not None and not target[position - 1] and not machine[position - 1]:
            machine_before = max(0.0, min(c.start for c in proposed) - element.start)
        if after is not None and not target[position + 1] and not machine[position + 1]:
            machine_after = max(0.0, element.end - max(c.end for c in proposed))
        # the machine's breath, unless the pause would then no longer read as struck
        if element.duration_s - machine_before - machine_after >= KEPT_STRUCK_SHARE * element.duration_s:
            keep_before, keep_after = machine_before, machine_after
    return element.start + keep_before, element.end - keep_after


def recut(
    machine_cuts: Sequence[Cut],
    elements: Sequence[Element],
    machine: Sequence[bool],
    target: Sequence[bool],
    spans: Sequence[tuple[int, int]],
    changed: Sequence[int],
    context: EditContext,
    label: str,
    decided: _Decided,
) -> list[Cut]:
    """The machine's cuts outside the changed stretches, and new cuts of the creator's choice inside them."""
    cuts: list[Cut] = []
    times = [
        (
            elements[lo].end if lo >= 0 else 0.0,
            elements[hi].start if hi < len(elements) else context.duration_s,
        )
        for lo, hi in spans
    ]
    for cut in machine_cuts:
        cuts += _subtract(cut, times)
    changed_set = set(changed)
    for lo, hi in spans:
        intervals: list[tuple[float, float, list[int]]] = []
        for position in range(lo + 1, hi):
            if not target[position]:
                continue
            start, end = _interval(elements, machine, target, position, machine_cuts, context.margin_s)
            start, end = max(0.0, start), min(context.duration_s, end)
            if end < start:
                continue
            if intervals and start <= intervals[-1][1] + 1e-6:
                intervals[-1] = (intervals[-1][0], max(intervals[-1][1], end), [*intervals[-1][2], position])
            else:
                intervals.append((start, end, [position]))
        for start, end, members in intervals:
            if end - start < MIN_CUT_S and not any(elements[p].kind == "word" for p in members):
                continue
            mine = [p for p in members if p in changed_set]
            if mine:
                cuts.append(
                    Cut(
                        start=round(start, 6),
                        end=round(end, 6),
                        reason=CREATOR,
                        rationale=_rationale(elements, mine, decided, label),
                        confidence=1.0,
                        source="creator",
                    )
                )
            else:
                cuts.append(_machine_cut_for(start, end, machine_cuts))
    return sorted(cuts, key=lambda c: c.start)


def _subtract(cut: Cut, spans: Sequence[tuple[float, float]]) -> list[Cut]:
    """The parts of a cut outside the spans, each as long as a cut needs to be."""
    pieces = [(cut.start, cut.end)]
    for lo, hi in spans:
        pieces = [
            part
            for start, end in pieces
            for part in ((start, min(end, lo)), (max(start, hi), end))
            if part[1] - part[0] > 1e-9
        ]
    if pieces == [(cut.start, cut.end)]:
        return [cut]
    return [
        cut.model_copy(update={"start": start, "end": end})
        for start, end in pieces
        if end - start >= MIN_CUT_S
    ]


def _machine_cut_for(start: float, end: float, machine_cuts: Sequence[Cut]) -> Cut:
    """A re-cut stretch the creator did not change (a pause next to their edit) keeps the machine's reason."""
    overlapping = [c for c in machine_cuts if c.start < end and c.end > start] or list(machine_cuts[:1])
    if not overlapping:
        return Cut(start=start, end=end, reason="silence", rationale="a pause next to your edit")
    reasons = "+".join(dict.fromkeys(r for c in overlapping for r in c.reason.split("+")))
    return Cut(
        start=round(start, 6),
        end=round(end, 6),
        reason=reasons,
        rationale="; ".join(dict.fromkeys(c.rationale for c in overlapping if c.rationale)),
        confidence=min(c.confidence for c in overlapping),
    )


def _rationale(elements: Sequence[Element], positions: Sequence[int], decided: _Decided, label: str) -> str:
    """What the creator did, in words: "struck "so" (line 12)"."""
    parts: dict[str, list[str]] = {}
    for position in positions:
        if elements[position].kind == "pause" and elements[position].duration_s < STRUCK_MIN_S:
            continue  # the instant between two words said together
        how = decided.how.get(position, "cut with its words")
        line = decided.line.get(position)
        where = f" (line {line})" if line else ""
        parts.setdefault(f"{how}{where}", []).append(elements[position].text)
    return shorten(f"{label}: " + "; ".join(f"{how}: {' '.join(texts)}" for how, texts in parts.items()), 170)


def _protected_words(
    words: Sequence[Word],
    elements: Sequence[Element],
    target: Sequence[bool],
    spans: Sequence[tuple[int, int]],
) -> list[Word]:
    """The words no cut may reach into: every word the creator keeps inside the stretches they changed
    (a filler restored too), and elsewhere the kept words the machine protected (fillers it left may
    touch its cuts, as they did)."""
    inside = {p for lo, hi in spans for p in range(lo + 1, hi)}
    return [
        words[elements[p].index]
        for p in range(1, len(elements), 2)
        if not target[p] and (p in inside or not words[elements[p].index].is_filler)
    ]


def _repaired(
    plan: Plan,
    cuts: Sequence[Cut],
    context: EditContext,
    keep_words: Sequence[Word],
    min_keep_s: float | None = None,
) -> Plan:
    """The plan with `cuts`, through the same repair as every plan; only the new repairs are added."""
    repaired = repair_plan(
        plan.model_copy(update={"cuts": list(cuts), "repairs": []}),
        context.words,
        context.duration_s,
        context.min_keep_s if min_keep_s is None else min_keep_s,
        context.grid,
        keep_words=keep_words,
    )
    notes = [note for note in repaired.repairs if note not in plan.repairs]
    return repaired.model_copy(update={"repairs": [*plan.repairs, *notes]})


def _attribute(
    plan: Plan, machine_cuts: Sequence[Cut], elements: Sequence[Element], creator_cut: Sequence[int]
) -> Plan:
    """Each cut marked as the machine's (exactly its proposal, or a pause it proposed) or the creator's
    (it removes something the creator struck)."""
    proposals = {(c.start, c.end, c.reason) for c in machine_cuts}
    marked = []
    for cut in plan.cuts:
        if (cut.start, cut.end, cut.reason) in proposals:
            marked.append(cut.model_copy(update={"source": "machine"}))
            continue
        struck = [elements[p] for p in creator_cut]
        if any(element_states([e], [cut])[0] for e in struck):
            reason = cut.reason if CREATOR in cut.reason.split("+") else f"{CREATOR}+{cut.reason}"
            marked.append(cut.model_copy(update={"source": "creator", "reason": reason, "confidence": 1.0}))
        else:
            reason = "+".join(r for r in cut.reason.split("+") if r != CREATOR) or "silence"
            marked.append(cut.model_copy(update={"source": "machine", "reason": reason}))
    return plan.model_copy(update={"cuts": marked})


def _decisions(
    elements: Sequence[Element], machine: Sequence[bool], decided: _Decided, machine_cuts: Sequence[Cut]
) -> list[EditDecision]:
    """One entry per word or pause the creator decided otherwise than the machine, with its proposal."""
    decisions = []
    for position in sorted(decided.how):
        element = elements[position]
        if (
            element.kind == "pause"
            and element.duration_s < STRUCK_MIN_S
            and decided.line.get(position) is None
        ):
            continue  # the instant between two words said together, not a pause anyone decided on
        proposal = covering_cuts(element, machine_cuts)[:1] if machine[position] else []
        decisions.append(
            EditDecision(
                kind=element.kind,
                text=element.text,
                start=round(element.start, 6),
                end=round(element.end, 6),
                line=decided.line.get(position),
                how=decided.how[position],
                creator="cut" if decided.target[position] else "keep",
                machine="cut" if machine[position] else "keep",
                machine_reason=proposal[0].reason if proposal else "",
                machine_rationale=proposal[0].rationale if proposal else "",
                machine_confidence=proposal[0].confidence if proposal else None,
            )
        )
    return decisions


def _with_record(plan: Plan, record: PlanEdits, warnings: Sequence[str]) -> Plan:
    """The machine's plan, unchanged but for the record of the edit file (and any warnings)."""
    update: dict[str, object] = {"edits": record}
    if warnings:
        producer = plan.producer.model_copy(update={"warnings": [*plan.producer.warnings, *warnings]})
        update["producer"] = producer
    return plan.model_copy(update=update)


def _finish(
    followed: Plan,
    machine: Plan,
    record: PlanEdits,
    warnings: Sequence[str],
    context: EditContext,
    label: str,
) -> Plan:
    if not any(k.duration_s > 0 for k in followed.keep):
        raise EditError(f"{label}: these edits cut the whole video — keep at least one line")
    metrics = {**machine.metrics, **plan_metrics(followed, context.duration_s)}
    metrics["cuts_creator"] = float(sum(c.source == "creator" for c in followed.cuts))
    return _with_record(followed.model_copy(update={"metrics": metrics}), record, warnings)


# --- a timeline from an NLE ----------------------------------------------------------------------------


def follow_timeline(plan: Plan, context: EditContext, data: bytes, label: str) -> Plan:
    """The plan whose keep ranges are the clips of a timeline the creator trimmed in an NLE."""
    ranges, warnings = read_timeline_ranges(data, label, Path(context.source_video).name, context.video)
    end = min(context.duration_s, context.grid.end_s) if context.grid else context.duration_s
    keep = _merged(ranges, end, label, warnings)
    tolerance = 1.0 / context.grid.fps + 1e-6 if context.grid else 0.02
    cuts = []
    for gap in complement(keep, end, decimals=6):
        proposal = next(
            (
                c
                for c in plan.cuts
                if abs(c.start - gap.start) <= tolerance and abs(c.end - gap.end) <= tolerance
            ),
            None,
        )
        cuts.append(
            proposal
            or Cut(
                start=gap.start,
                end=gap.end,
                reason=CREATOR,
                rationale=f"{label}: not in the timeline",
                confidence=1.0,
                source="creator",
            )
        )
    # the NLE's trims are the creator's own, to the frame: no word protection, no sliver removal
    followed = _repaired(plan, cuts, context, keep_words=[], min_keep_s=0.0)
    words = script_words(context.words)
    elements = build_elements(words, context.duration_s)
    machine = element_states(elements, plan.cuts)
    after = element_states(elements, followed.cuts)
    decided = _Decided(target=after)
    for position, element in enumerate(elements):
        if after[position] != machine[position] and (element.kind == "word" or element.duration_s >= 0.1):
            decided.how[position] = "timeline"
    for element in elements:
        if element.kind == "word" and element.duration_s > 0:
            inside = [
                c
                for c in followed.cuts
                if element.start < c.start < element.end or element.start < c.end < element.end
            ]
            if inside:
                warnings.append(
                    f"{label}: the timeline cuts into the word '{element.text}' at {element.start:.2f} s"
                )
    record = PlanEdits(
        path=label,
        kind="timeline",
        sha256=hashlib.sha256(data).hexdigest(),
        transcript="same",
        decisions=_decisions(elements, machine, decided, plan.cuts),
        machine_cuts=plan.cuts,
    )
    return _finish(followed, plan, record, warnings, context, label)


def _merged(ranges: Sequence[Span], end: float, label: str, warnings: list[str]) -> list[Span]:
    """The kept ranges in source order, overlaps merged, inside the video; reordering is reported."""
    starts = [r.start for r in ranges]
    if starts != sorted(starts):
        warnings.append(
            f"{label}: the timeline plays parts of the source out of order; ave keeps the source's order"
        )
    merged: list[Span] = []
    for span in sorted(ranges, key=lambda s: s.start):
        start, stop = max(0.0, span.start), min(end, span.end)
        if stop <= start:
            continue
        if merged and start <= merged[-1].end:
            merged[-1] = Span(start=merged[-1].start, end=max(merged[-1].end, stop))
        else:
            merged.append(Span(start=start, end=stop))
    if not merged:
        raise EditError(
            f"{label}: the timeline keeps nothing of the video — export the trimmed timeline again"
        )
    return merged


def _line_of(text: str, needle: str) -> int | None:
    index = text.find(needle)
    return text[:index].count("\n") + 1 if index >= 0 else None


def read_timeline_ranges(
    data: bytes, label: str, source_name: str, video: str
) -> tuple[list[Span], list[str]]:
    """The source ranges (seconds) the clips of a timeline's first video track play, read through
    OpenTimelineIO's adapter for the file's kind (ave's own reader for FCPXML); EditError names the file,
    line and fix when it cannot be followed (not readable, no clips, media of another video)."""
    import opentimelineio as otio

    suffix = Path(label).suffix.lower()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise EditError(f"{label}:{line}: not UTF-8 text — export the timeline from your NLE again") from exc
    if not text.strip():
        raise EditError(f"{label}: empty — export the timeline from your NLE again, or delete the file")
    _check_syntax(text, suffix, label)
    if suffix == ".fcpxml":
        clips = _fcpxml_clips(text, label)
    else:
        clips = _otio_clips(text, suffix, label)
    if not clips:
        raise EditError(f"{label}: the timeline holds no clip — export the edited timeline of {video} again")
    ranges, warnings = [], []
    for number, clip in enumerate(clips, start=1):
        if clip.url:
            name = PurePosixPath(otio.url_utils.filepath_from_url(clip.url).replace("\\", "/")).name
            if name != source_name:
                found = _line_of(text, clip.url) or _line_of(text, name)
                where = f"{label}:{found}" if found else label
                raise EditError(
                    f"{where}: clip {number} plays '{name}', not '{source_name}' — this timeline edits "
                    f"another video: name it after that video, or export the timeline of {video}"
                )
        else:
            warnings.append(f"{label}: clip {number} has no media path; taken as {source_name}")
        if clip.retimed:
            warnings.append(f"{label}: clip {number} is retimed; ave plays it at normal speed")
        ranges.append(
            Span(
                start=max(0.0, round(clip.start_s, 6)), end=max(0.0, round(clip.start_s + clip.duration_s, 6))
            )
        )
    return ranges, warnings


@dataclass(frozen=True)
class _TimelineClip:
    url: str | None
    start_s: float  # from the source file's first frame
    duration_s: float
    retimed: bool = False


def _fcpxml_clips(text: str, label: str) -> list[_TimelineClip]:
    """The clips of the primary storyline (or, when it holds none, of the lowest lane that has some)."""
    try:
        placed = read_fcpxml_clips(text)
    except FcpxmlError as exc:
        raise EditError(f"{label}: {exc} — export the timeline again") from exc
    lanes = sorted({c.lane for c in placed}, key=lambda lane: (lane != 0, lane < 0, abs(lane)))
    chosen = [c for c in placed if lanes and c.lane == lanes[0]]
    return [_TimelineClip(c.url, float(c.source_s), float(c.duration_s), c.retimed) for c in chosen]


def _otio_clips(text: str, suffix: str, label: str) -> list[_TimelineClip]:
    """The clips of a timeline's first video track (or audio track, without video) through OpenTimelineIO."""
    import opentimelineio as otio

    try:
        with contextlib.redirect_stdout(io.StringIO()):  # an adapter prints its progress
            timeline = otio.adapters.read_from_string(text, adapter_name=TIMELINE_ADAPTERS[suffix])
    except Exception as exc:  # each adapter raises its own kinds
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise EditError(
            f"{label}: OpenTimelineIO cannot read it as {suffix[1:]} ({reason}) — export the timeline again"
        ) from exc
    if isinstance(timeline, otio.schema.Timeline):
        timelines = [timeline]
    elif isinstance(timeline, otio.schema.SerializableCollection):
        timelines = [t for t in timeline if isinstance(t, otio.schema.Timeline)]
    else:
        raise EditError(
            f"{label}: OpenTimelineIO cannot read it as a timeline (it holds a {type(timeline).__name__}) — "
            "export the timeline again"
        )
    every = [t for tl in timelines for t in (tl.tracks or [])]
    tracks = [t for t in every if t.kind == otio.schema.TrackKind.Video]
    tracks += [t for t in every if t.kind == otio.schema.TrackKind.Audio]
    clips = next(
        (
            [c for c in track if isinstance(c, otio.schema.Clip)]
            for track in tracks
            if any(isinstance(c, otio.schema.Clip) for c in track)
        ),
        [],
    )
    found = []
    for clip in clips:
        reference = clip.media_reference
        source_range = clip.source_range or clip.available_range()
        available = getattr(reference, "available_range", None)
        offset = available.start_time.to_seconds() if available is not None else 0.0
        found.append(
            _TimelineClip(
                getattr(reference, "target_url", None),
                source_range.start_time.to_seconds() - offset,
                source_range.duration.to_seconds(),
            )
        )
    return found


def _check_syntax(text: str, suffix: str, label: str) -> None:
    """JSON or XML syntax errors with their line, which the adapters do not give."""
    if suffix == ".otio":
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            raise EditError(
                f"{label}:{exc.lineno}: not valid JSON ({exc.msg}) — export the timeline again as .otio"
            ) from exc
        return
    try:
        ElementTree.fromstring(text.encode("utf-8"))
    except ElementTree.ParseError as exc:
        line = exc.position[0]
        message = re.sub(r": line \d+, column \d+$", "", str(exc))
        raise EditError(f"{label}:{line}: not valid XML ({message}) — export the timeline again") from exc
