"""B-roll: the plan's B-roll slots drawn as short clips, each kind by the renderer the config names for it
(`RENDERERS`, config `broll.<kind>`): motion graphics by movis, the animated presenter by Blender.

Charts and title cards are full-frame cutaways (H.264, yuv420p, .mp4); lower thirds and characters are
overlays with transparency (QuickTime Animation, argb, .mov) that the render lays over the picture, after
any cutaway at the same time (a character over a chart). Each movis kind is a small builder in `CLIP_KINDS`.
movis keeps a disk cache of frames in the temp folder (one `diskcache-*` folder per composition, up to 1 GB);
every clip's render removes its own cache when it is done.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import math
import os
import re
import shutil
import subprocess
import tempfile
import textwrap
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from .backends import Backend, Backends, Choice, given
from .config import BrollConfig, CharacterConfig
from .errors import AveError, OutputError, ToolError
from .models import Analysis, Broll, BrollClip, BrollSlot, Fallback, Plan, SpokenNumber, make_producer
from .publish import publishing
from .text import sentence_case, shorten
from .timemap import EditMap
from .tools import ffmpeg_binary, last_line, write_problem

if TYPE_CHECKING:
    from movis.layer import Composition, LayerItem, Text

# movis draws with Qt; servers have no display. Set before movis (imported lazily) loads Qt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

log = logging.getLogger("ave.broll")

ClipKindName = Literal["chart", "title_card", "lower_third", "image", "character"]
NumberKind = Literal["percent", "money", "year", "count", "other"]

MIN_CLIP_S = 1.5  # a shorter cutaway reads as a glitch
MAX_CLIP_S = 6.0  # a longer one hides the speaker too long
MAX_BARS = 5
MAX_RATIO = 20.0  # amounts further apart than this make one of the bars invisible
MIN_BAR_SHARE = 0.02  # the shortest bar of a positive value, as a share of the tallest
CAPTION_MAX_CHARS = 110
BACKGROUND = (17, 21, 33)
INK = (245, 246, 250)
MUTED_INK = (178, 186, 204)
ACCENT = (255, 176, 32)  # the bar of the number just said, and the title card's underline
REFERENCE = (92, 104, 134)  # the bars it is compared with
FONT_FAMILIES = ("DejaVu Sans", "Liberation Sans", "Arial", "Helvetica", "Sans Serif")
CURRENCIES = {"€": ("€", "euro"), "£": ("£", "pound"), "¥": ("¥", "yen"), "$": ("$", "dollar")}
NUMBER_PATTERN = re.compile(
    r"(?P<currency>[$€£¥])?\s*(?P<digits>\d[\d,]*(?:\.\d+)?)\s*(?P<percent>%|percent\b|per cent\b)?", re.I
)
H264 = ["-c:v", "libx264", "-preset", "medium", "-tune", "animation", "-crf", "18", "-pix_fmt", "yuv420p"]
ENCODINGS = {  # has_alpha -> file suffix, ffmpeg output arguments
    False: (".mp4", [*H264, "-movflags", "+faststart"]),
    True: (".mov", ["-c:v", "qtrle", "-pix_fmt", "argb"]),
}


@dataclass(frozen=True)
class Canvas:
    """The picture size (pixels), frame rate and length (frames) of one clip, and the shares of its width
    (left, right) to keep clear for an overlay at the same time (a character pointing at a chart)."""

    width: int
    height: int
    fps: float
    frames: int
    keep_clear: tuple[float, float] = (0.0, 0.0)

    @property
    def duration_s(self) -> float:
        return self.frames / self.fps


Builder = Callable[["Composition", BrollSlot, Analysis, Canvas], None]
Content = Callable[[BrollSlot, Analysis], tuple[object, ...]]


@dataclass(frozen=True)
class ClipKind:
    """How one kind of B-roll is drawn (layers added to an empty composition), whether it is an overlay, and
    what its picture depends on (`content`: two slots with equal content on one canvas look the same)."""

    build: Builder
    has_alpha: bool
    content: Content


@dataclass(frozen=True)
class Bar:
    """One bar of a chart: its value, how its label is written, and whether it is the number just said."""

    value: float
    kind: str
    currency: str
    highlight: bool

    def label(self, progress: float = 1.0) -> str:
        """The value label while the bar has grown to `progress` (0-1) of its height."""
        shown = self.value * progress
        return format_number(
            round(shown) if float(self.value).is_integer() else shown, self.kind, self.currency
        )


@dataclass(frozen=True)
class Lettering:
    """Text at a font size (points), with its ink's size and offset from the layer's centre (pixels)."""

    text: str
    size: int
    width: int
    height: int
    dx: float
    dy: float


# --- the stage ------------------------------------------------------------------------------


class SlotNotDrawn(AveError):
    """A renderer could not draw a slot (it is not installed, failed or took too long): the slot falls back
    to a title card drawn by movis, and broll.json says why."""


class Renderer(Protocol):
    """Draws B-roll slots as clip files: motion graphics (movis), a character (Blender)."""

    name: str
    packages: tuple[str, ...]

    def render(
        self,
        slot: BrollSlot,
        analysis: Analysis,
        out_dir: Path,
        index: int,
        canvas: Canvas,
        warnings: list[str],
    ) -> BrollClip | None:
        """Draw `slot` into out_dir/broll-NN-<kind>.<ext>; None (and a warning) when there is nothing to draw.
        Raises SlotNotDrawn when this renderer cannot draw it."""
        ...

    def covers(self, slot: BrollSlot, canvas: Canvas) -> tuple[float, float]:
        """The shares of the frame's width (from the left, from the right) its overlay for `slot` covers,
        which a cutaway shown at the same time keeps clear."""
        ...


class MovisRenderer:
    """Charts, title cards and lower thirds drawn with movis (`CLIP_KINDS`); other kinds as title cards."""

    name = "movis"
    packages: tuple[str, ...] = ("movis", "PySide6")

    def __init__(self) -> None:
        self._drawn: dict[tuple[object, ...], BrollClip] = {}  # a graphic shown again is rendered once

    def render(
        self,
        slot: BrollSlot,
        analysis: Analysis,
        out_dir: Path,
        index: int,
        canvas: Canvas,
        warnings: list[str],
    ) -> BrollClip | None:
        kind, change = drawn_kind(slot, analysis)
        if change:
            warnings.append(f"B-roll slot at {slot.start:.2f} s: {change}")
        if kind is None:
            return None
        spec = CLIP_KINDS[kind]
        key = (kind, canvas, spec.content(slot, analysis))
        if key in self._drawn:
            return self._drawn[key].model_copy(update={"text": slot.text, "start": slot.start})
        path = out_dir / f"broll-{index:02d}-{kind}{ENCODINGS[spec.has_alpha][0]}"
        started = time.perf_counter()
        removed = render_clip(spec, slot, analysis, canvas, path)
        log.info(
            "%s: %.2f s of video in %.2f s; removed %.1f MB of movis frame cache",
            path.name, canvas.duration_s, time.perf_counter() - started, removed / 1e6,
        )  # fmt: skip
        self._drawn[key] = BrollClip(
            path=f"{out_dir.name}/{path.name}", kind=kind, text=slot.text, start=slot.start,
            duration=round(canvas.duration_s, 3), width=canvas.width, height=canvas.height,
            has_alpha=spec.has_alpha, backend=self.name,
        )  # fmt: skip
        return self._drawn[key]

    def covers(self, slot: BrollSlot, canvas: Canvas) -> tuple[float, float]:
        return 0.0, 0.0  # a lower third lies under a cutaway's content, at the bottom


class BlenderRenderer:
    """The animated presenter (ave_core.character), rendered by Blender in a process of its own, with alpha,
    over the speaker (a corner picture-in-picture) or over a chart shown at the same time."""

    name = "blender"
    packages: tuple[str, ...] = ("bpy",)

    def __init__(
        self, config: CharacterConfig, cache_dir: Path, threads: int = 1, python: str | None = None
    ) -> None:
        """`python`: the interpreter to run Blender in (default: this one, where make setup installs bpy)."""
        self.config = config
        self.cache_dir = cache_dir
        self.threads = threads
        self.python = python

    def covers(self, slot: BrollSlot, canvas: Canvas) -> tuple[float, float]:
        from .character import framing

        share = framing(self.config.size, self.config.side, canvas.width, canvas.height).covered_share
        return (share, 0.0) if self.config.side == "left" else (0.0, share)

    def render(
        self,
        slot: BrollSlot,
        analysis: Analysis,
        out_dir: Path,
        index: int,
        canvas: Canvas,
        warnings: list[str],
    ) -> BrollClip | None:
        from . import character

        config = self.config
        where = f"B-roll slot at {slot.start:.2f} s"
        name, unknown = character.resolve_action(slot.action or "nod")
        if unknown:
            warnings.append(f"{where}: {unknown}")
        name, turned = character.towards_the_middle(name, config.side)
        if turned:
            warnings.append(f"{where}: {turned}")
        count, clamped = character.count_of(slot.count)
        if clamped and name == "count":
            warnings.append(f"{where}: {clamped}")
        height = min(canvas.height, config.max_height)
        width = max(2, round(height * canvas.width / canvas.height / 2) * 2)
        look = character.Look(
            primary=config.primary_color, accent=config.accent_color, skin=config.skin_color,
            hair=config.hair_color, size=config.size, side=config.side,
        )  # fmt: skip
        settings = character.RenderSettings(
            config.engine, config.samples, config.denoise, config.timeout_s, self.threads
        )
        path = out_dir / f"broll-{index:02d}-character.mov"
        started = time.perf_counter()
        try:
            motion_s = character.motion_s(canvas.frames, canvas.fps)
            fitted = character.fit_action(character.make_action(name, count), motion_s)
            request = character.ClipRequest(
                name, count if name == "count" else None, canvas.frames, canvas.fps, width, height, look,
                settings, fitted,
            )  # fmt: skip
            cached = character.render_clip(request, path, self.cache_dir, self.python)
        except character.CharacterError as exc:
            raise SlotNotDrawn(str(exc)) from exc
        log.info(
            "%s: %s (%s), %.2f s at %dx%d in %.1f s%s", path.name, name, fitted.fit, canvas.duration_s, width,
            height, time.perf_counter() - started, " from the cache" if cached else "",
        )  # fmt: skip
        return BrollClip(
            path=f"{out_dir.name}/{path.name}", kind="character", text=slot.text, start=slot.start,
            duration=round(canvas.duration_s, 3), width=width, height=height, has_alpha=True,
            backend=self.name, action=name,
        )  # fmt: skip


@dataclass(frozen=True)
class RendererSettings:
    """What a renderer is made from: the presenter's config, the project's clip cache, the stage's threads."""

    character: CharacterConfig
    cache_dir: Path
    threads: int = 1


def bpy_installed(settings: RendererSettings) -> bool:
    """Whether this Python has Blender's bpy module (found, not imported: importing it takes seconds)."""
    return importlib.util.find_spec("bpy") is not None


# the renderers config `broll.<kind>` names; movis is also the fallback of any slot another cannot draw
FALLBACK_RENDERER = "movis"
RENDERERS: Backends[RendererSettings, Renderer] = Backends(
    "broll.<kind>",
    [
        Backend("movis", needs="movis", make=lambda settings: MovisRenderer(), packages=("movis", "PySide6")),
        Backend(
            "blender",
            needs="bpy (Blender as a Python module) in this Python: `make setup` installs it",
            make=lambda settings: BlenderRenderer(settings.character, settings.cache_dir, settings.threads),
            packages=("bpy",),
            available=bpy_installed,
        ),
    ],
)


def renderers_for(config: BrollConfig, settings: RendererSettings) -> dict[str, Choice[Renderer]]:
    """The renderer of each slot kind as broll.<kind> names it, made (or why it could not be)."""
    return {kind: RENDERERS.choose(name, settings) for kind, name in config.model_dump().items()}


def render_broll(
    plan: Plan, analysis: Analysis, out_dir: Path, width: int = 1280, height: int = 720, fps: float = 25.0,
    renderers: Mapping[str, Choice[Renderer]] | None = None, skip_reason: str | None = None,
) -> Broll:  # fmt: skip
    """One clip per B-roll slot of the plan, written into `out_dir` (results/{video}/broll), each drawn by
    the renderer `renderers` chose for its kind (default, and for kinds it leaves out: movis).

    `width` and `height` are pixels, rounded down to even numbers; `fps` is the render's frame rate. A slot
    whose renderer is missing or cannot draw it becomes a movis title card, with the reason in its clip and
    in the producer. `skip_reason`: why no cut-away can be made (a recording without picture): then none
    is."""
    if skip_reason:
        return Broll(producer=make_producer("broll", "none"), skip_reason=skip_reason, clips=[])
    if width < 2 or height < 2 or not fps > 0:
        raise AveError(f"broll: size {width}x{height} at {fps} fps — width, height and fps must be positive")
    fallback = MovisRenderer()
    warnings: list[str] = []
    clips: list[BrollClip] = []
    used: set[str] = set()
    fallbacks: list[Fallback] = []
    chosen = [(slot, (renderers or {}).get(slot.kind) or given(fallback)) for slot in plan.broll]
    edit = EditMap.from_keep(plan.keep)  # what is shown at the same time is decided in the edit's time
    for index, (slot, choice) in enumerate(chosen, start=1):
        canvas = Canvas(width - width % 2, height - height % 2, fps, clip_frames(shown_s(slot, edit), fps))
        if slot.kind == "chart":
            canvas = replace(canvas, keep_clear=kept_clear(slot, canvas, chosen, edit))
        renderer, failure = choice.backend, choice.reason
        if renderer is not None:
            used.add(renderer.name)
            try:
                clip = renderer.render(slot, analysis, Path(out_dir), index, canvas, warnings)
            except SlotNotDrawn as exc:
                failure = str(exc)
        if renderer is None or failure is not None:
            wanted = choice.wanted or FALLBACK_RENDERER
            log.warning("slot at %.2f s: %s could not draw it: %s", slot.start, wanted, failure)
            reason = Fallback(wanted=wanted, used=fallback.name, reason=failure or "not drawn")
            fallbacks.append(reason)
            where = f"B-roll slot at {slot.start:.2f} s: {wanted} failed ({failure})"
            if any(
                other.kind in ("chart", "title_card") for other, _ in overlapping(slot, chosen, edit, fps)
            ):
                warnings.append(f"{where} — the cutaway shown at the same time stays on its own")
                continue
            warnings.append(f"{where} — a title card")
            title = slot.model_copy(update={"kind": "title_card"})
            clip = fallback.render(title, analysis, Path(out_dir), index, canvas, warnings)
            used.add(fallback.name)
            if clip is not None:
                clip = clip.model_copy(update={"fallback": reason})
        if clip is not None:
            clips.append(clip)
    names = sorted(used) or [fallback.name]
    producer = make_producer(
        "broll", "+".join(names), packages=tuple(p for name in names for p in RENDERERS.packages(name)),
        warnings=warnings, fallback=fallbacks[0] if fallbacks else None,
    )  # fmt: skip
    return Broll(producer=producer, clips=clips)


def kept_clear(
    slot: BrollSlot, canvas: Canvas, chosen: Sequence[tuple[BrollSlot, Choice[Renderer]]], edit: EditMap
) -> tuple[float, float]:
    """The shares of the width (left, right) a cutaway keeps clear for the overlays shown while it is."""
    covered = [
        choice.backend.covers(other, canvas)
        for other, choice in overlapping(slot, chosen, edit, canvas.fps)
        if choice.backend is not None
    ]
    return max((c[0] for c in covered), default=0.0), max((c[1] for c in covered), default=0.0)


def overlapping(
    slot: BrollSlot, chosen: Sequence[tuple[BrollSlot, Choice[Renderer]]], edit: EditMap, fps: float
) -> list[tuple[BrollSlot, Choice[Renderer]]]:
    """The other slots (and their renderers) whose clips the edit shows while it shows `slot`'s: the render
    places each clip where its slot starts in the edit, for the clip's length (cuts inside do not count)."""

    def shown(one: BrollSlot) -> tuple[float, float]:
        at = edit.to_edited(one.start) if edit.keep else None
        start = one.start if at is None else at
        return start, start + clip_frames(one.duration_s, fps) / fps

    start, end = shown(slot)
    return [(o, r) for o, r in chosen if o is not slot and shown(o)[0] < end and start < shown(o)[1]]


def shown_s(slot: BrollSlot, edit: EditMap) -> float:
    """How long a slot's clip can be shown: its length, or less where the edited video ends first (a goodbye
    said just before the end: its clip is made to fit, not cut off by the end of the video)."""
    at = edit.to_edited(slot.start)
    return slot.duration_s if at is None else min(slot.duration_s, edit.duration_s - at)


def clip_frames(slot_s: float, fps: float) -> int:
    """Frames of a clip for a slot of `slot_s` seconds, clamped to MIN_CLIP_S-MAX_CLIP_S."""
    return max(1, round(min(max(slot_s, MIN_CLIP_S), MAX_CLIP_S) * fps))


def drawn_kind(slot: BrollSlot, analysis: Analysis) -> tuple[ClipKindName | None, str]:
    """The kind movis draws a slot as (None: skipped), and why it differs from the plan's, if it does."""
    if slot.kind == "chart" and chart_number(slot, analysis) is not None:
        return "chart", ""
    if not slot.text.strip():
        return None, f"{slot.kind} with no text — skipped"
    if slot.kind == "chart":
        return "title_card", f"no number found in '{slot.text}' — drawn as a title card"
    if slot.kind not in CLIP_KINDS:
        return "title_card", f"no {slot.kind} renderer in movis — drawn as a title card"
    return slot.kind, ""


def render_clip(spec: ClipKind, slot: BrollSlot, analysis: Analysis, canvas: Canvas, path: Path) -> int:
    """Draw and encode one clip; returns the bytes of movis frame cache removed afterwards."""
    import movis as mv

    composition = mv.layer.Composition(size=(canvas.width, canvas.height), duration=canvas.duration_s)
    try:
        spec.build(composition, slot, analysis, canvas)
        encode(composition, canvas, path, spec.has_alpha)
    finally:
        removed = remove_frame_cache(composition)
    return removed


def encode(composition: Composition, canvas: Canvas, path: Path, has_alpha: bool) -> None:
    """Pipe the composition's RGBA frames into ffmpeg, which writes `path` (published when it is whole)."""
    rate = str(Fraction(canvas.fps).limit_denominator(1001))
    args = [ffmpeg_binary(), "-nostdin", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgba"]
    args += ["-s", f"{canvas.width}x{canvas.height}", "-r", rate, "-i", "-", *ENCODINGS[has_alpha][1]]
    with publishing(path) as (partial,):
        returncode, message = pipe_frames([*args, str(partial)], composition, canvas)
        problem = write_problem(message)  # ffmpeg exits 0 when a full disk stops it writing the file's end
        if problem:
            raise OutputError(f"{path}: {problem}")
        if returncode != 0:
            raise ToolError(f"{path}: ffmpeg failed encoding the B-roll clip: {last_line(message)}")


def pipe_frames(argv: list[str], composition: Composition, canvas: Canvas) -> tuple[int, str]:
    """Run ffmpeg with every frame of `composition` on its stdin; its exit status and error output."""
    with subprocess.Popen(argv, stdin=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdin is not None and proc.stderr is not None
        try:
            for frame_index in range(canvas.frames):
                proc.stdin.write(np.ascontiguousarray(composition(frame_index / canvas.fps)).tobytes())
        except BrokenPipeError:
            pass  # ffmpeg stopped early; its message says why
        except BaseException:
            proc.kill()
            raise
        finally:
            with contextlib.suppress(BrokenPipeError):
                proc.stdin.close()
        message = proc.stderr.read().decode(errors="replace")
    return proc.returncode, message


def remove_frame_cache(composition: Composition) -> int:
    """Delete the diskcache folder movis made in the temp folder for `composition`; its size in bytes."""
    cache: Any = getattr(composition, "_cache", None)  # movis 0.7 has no public handle on it
    directory = getattr(cache, "directory", None)
    if directory is None:
        return 0
    folder = Path(directory).resolve()
    if folder.parent != Path(tempfile.gettempdir()).resolve() or not folder.name.startswith("diskcache-"):
        log.warning("movis frame cache %s is outside the temp folder; left in place", folder)
        return 0
    cache.close()
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    shutil.rmtree(folder)
    return size


# --- numbers --------------------------------------------------------------------------------


def format_number(value: float, kind: str, currency: str = "$") -> str:
    """A number as a viewer reads it: '60%', '$300', '$1,200', '$2.5M', '1,500', '2024'."""
    if kind == "percent":
        return f"{_trimmed(value, 1)}%"
    if kind == "year":
        return f"{value:.0f}"
    if kind == "money":
        return ("-" if value < 0 else "") + currency + _grouped(abs(value), decimals=2)
    return _grouped(value, decimals=1)


def _grouped(value: float, decimals: int) -> str:
    for scale, suffix in ((1e9, "B"), (1e6, "M")):
        if abs(value) >= scale:
            return _trimmed(value / scale, 1) + suffix
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.{decimals}f}"


def _trimmed(value: float, decimals: int) -> str:
    text = f"{value:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def currency_of(text: str) -> str:
    """The currency sign a spoken amount uses, '$' unless it names another."""
    lowered = text.lower()
    for sign, (symbol, word) in CURRENCIES.items():
        if symbol in text or word in lowered:
            return sign
    return "$"


def chart_number(slot: BrollSlot, analysis: Analysis) -> SpokenNumber | None:
    """The number a chart slot shows: said during the slot (same text first), else read from its text."""
    valued = [n for n in analysis.numbers if n.value is not None]
    during = [n for n in valued if slot.start - 1.0 <= n.time <= slot.end]
    same_text = [n for n in during or valued if _squashed(n.text) == _squashed(slot.text)]
    pool = same_text or during
    if pool:
        return min(pool, key=lambda n: abs(n.time - slot.start))
    return parse_number(slot.text, slot.rationale, slot.start)


def _squashed(text: str) -> str:
    return re.sub(r"\s+", "", text.lower())


def parse_number(text: str, context: str, at: float) -> SpokenNumber | None:
    """The first number written in `text` ('60 %', '$300', '1,200'), or None."""
    match = NUMBER_PATTERN.search(text)
    if match is None:
        return None
    value = float(match["digits"].replace(",", ""))
    kind: NumberKind
    if match["percent"]:
        kind = "percent"
    elif match["currency"] or any(word in text.lower() for _, word in CURRENCIES.values()):
        kind = "money"
    elif re.fullmatch(r"(19|20)\d\d", match["digits"]):
        kind = "year"
    else:
        kind = "count"
    return SpokenNumber(text=text, value=value, kind=kind, context=context, time=at)


def chart_bars(number: SpokenNumber, analysis: Analysis) -> list[Bar]:
    """The number as a bar, with what it is compared with: 100 % for a percent, the other amounts of money."""
    value = float(number.value or 0.0)
    said = Bar(value, number.kind, currency_of(number.text), highlight=True)
    if number.kind == "percent":
        return [said, Bar(100.0, "percent", "", highlight=False)]
    if number.kind != "money":
        return [said]
    others: dict[float, SpokenNumber] = {}
    for other in analysis.numbers:
        if other.kind == "money" and other.value and other.value != value and other.value not in others:
            if currency_of(other.text) == said.currency and comparable(value, other.value):
                others[other.value] = other
    timed = [(number.time, said)] + [
        (o.time, Bar(v, "money", currency_of(o.text), highlight=False))
        for v, o in list(others.items())[: MAX_BARS - 1]
    ]
    return [bar for _, bar in sorted(timed, key=lambda pair: pair[0])]


def comparable(value: float, other: float) -> bool:
    """Whether two amounts belong on one chart: same sign, within MAX_RATIO of each other."""
    return value * other > 0 and 1 / MAX_RATIO <= other / value <= MAX_RATIO


def caption_text(number: SpokenNumber, slot: BrollSlot) -> str:
    """The sentence the number was said in, shortened at a word to CAPTION_MAX_CHARS."""
    return shorten(sentence_case(number.context or slot.rationale or number.text), CAPTION_MAX_CHARS)


# --- lettering ------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def font() -> tuple[str, str | None]:
    """A sans-serif font family Qt has here, and its bold style if it has one."""
    import movis as mv

    available = mv.layer.Text.available_fonts()
    family = next((f for f in FONT_FAMILIES if f in available), "Sans Serif")
    styles = mv.layer.Text.available_styles(family) if family in available else []
    return family, ("Bold" if "Bold" in styles else None)


def text_layer(text: str | Callable[[float], str], size: int, color: tuple[int, int, int]) -> Text:
    """A centred movis Text layer in the bold sans-serif font."""
    import movis as mv

    family, style = font()
    return mv.layer.Text(
        text, font_size=size, font_family=family, font_style=style, color=color, line_spacing=line_pitch(size)
    )


@lru_cache(maxsize=64)
def line_pitch(size: int) -> int:
    """Baseline-to-baseline distance in pixels for `size` points (movis's default is about twice that)."""
    import movis as mv

    family, style = font()
    image = mv.layer.Text("Hg", font_size=size, font_family=family, font_style=style, color=INK)(0.0)
    rows = np.nonzero(image[..., 3].any(axis=1))[0] if image is not None else np.zeros(1)
    return max(1, round(1.2 * (rows.max() - rows.min() + 1)))


def measure(text: str, size: int) -> Lettering:
    """Draw `text` once and measure its ink."""
    image = text_layer(text, size, INK)(0.0)
    alpha = np.zeros((1, 1)) if image is None else image[..., 3]
    rows, cols = np.nonzero(alpha > 0)
    if rows.size == 0:
        return Lettering(text, size, 0, 0, 0.0, 0.0)
    height, width = alpha.shape
    return Lettering(
        text, size, int(cols.max() - cols.min() + 1), int(rows.max() - rows.min() + 1),
        (cols.min() + cols.max() + 1) / 2 - width / 2, (rows.min() + rows.max() + 1) / 2 - height / 2,
    )  # fmt: skip


def fit_text(text: str, max_width: float, max_size: int, max_lines: int = 1) -> Lettering:
    """The largest lettering of `text` (up to `max_lines` lines, `max_size` points) within `max_width` px."""
    best: Lettering | None = None
    for lines in range(1, max_lines + 1):
        wrapped = wrap_lines(text, lines)
        if wrapped is None:
            break
        lettering = shrink_to_width(wrapped, max_width, max_size)
        if best is None or lettering.size > best.size * 1.1:  # a second line only for clearly larger type
            best = lettering
    assert best is not None  # one line always wraps
    return best


def wrap_lines(text: str, lines: int) -> str | None:
    """`text` broken at spaces into `lines` lines of even length; None when it has too few words."""
    words = text.split()
    if lines > 1 and len(words) < lines:
        return None
    width = math.ceil(len(" ".join(words)) / lines)
    while len(wrapped := textwrap.wrap(" ".join(words), width)) > lines:
        width += 1
    return "\n".join(wrapped)


def shrink_to_width(text: str, max_width: float, size: int) -> Lettering:
    """Lettering of `text` from `size` points down until its ink is no wider than `max_width` pixels."""
    lettering = measure(text, size)
    while lettering.width > max_width and lettering.size > 1:
        smaller = min(lettering.size - 1, int(lettering.size * max_width / lettering.width))
        lettering = measure(text, max(1, smaller))
    return lettering


def place_text(
    composition: Composition, lettering: Lettering, x: float, y: float, color: tuple[int, int, int]
) -> LayerItem:
    """Add `lettering` with its ink centred on (x, y)."""
    layer = text_layer(lettering.text, lettering.size, color)
    return composition.add_layer(layer, position=(x - lettering.dx, y - lettering.dy))


# --- drawing --------------------------------------------------------------------------------


def ease_out(t: float) -> float:
    """Cubic ease-out: fast start, gentle landing (0 -> 0, 1 -> 1)."""
    return 1.0 - (1.0 - t) ** 3


def progress(t: float, start: float, end: float) -> float:
    """Eased progress (0-1) of an animation running from `start` to `end` seconds."""
    return ease_out(min(max((t - start) / (end - start), 0.0), 1.0))


def add_background(composition: Composition, canvas: Canvas) -> None:
    """A plain full-frame background."""
    import movis as mv

    composition.add_layer(mv.layer.Rectangle(size=(canvas.width, canvas.height), color=BACKGROUND))


def slide_in(
    item: LayerItem, canvas: Canvas, dx: float = 0.0, dy: float = 0.0, fade_out: bool = False
) -> None:
    """Fade `item` in while it slides by (dx, dy) pixels into place; optionally fade it out at the end."""
    x, y = (float(v) for v in item.position(0.0))
    intro = min(0.6, canvas.duration_s / 3)
    item.position.enable_motion().extend([0.0, intro], [(x - dx, y - dy), (x, y)], [ease_out])
    times, values = [0.0, intro * 0.8], [0.0, 1.0]
    if fade_out:
        outro = min(0.4, canvas.duration_s / 4)
        times += [canvas.duration_s - outro, canvas.duration_s]
        values += [1.0, 0.0]
    item.opacity.enable_motion().extend(times, values)


def build_chart(composition: Composition, slot: BrollSlot, analysis: Analysis, canvas: Canvas) -> None:
    """Bars that grow with ease-out for the number said and what it compares with, under its sentence."""
    import movis as mv

    number = chart_number(slot, analysis)
    assert number is not None  # drawn_kind checked
    w, h = canvas.width, canvas.height
    add_background(composition, canvas)
    caption = fit_text(caption_text(number, slot), 0.86 * w, max(1, round(0.042 * h)), max_lines=2)
    place_text(composition, caption, w / 2, 0.16 * h, MUTED_INK)
    bars = chart_bars(number, analysis)
    baseline, tallest = 0.86 * h, 0.46 * h
    left, right = canvas.keep_clear[0] * w, (1 - canvas.keep_clear[1]) * w  # the bars' part of the width
    span = right - left
    composition.add_layer(
        mv.layer.Rectangle(size=(0.84 * span, max(2, h // 240)), color=REFERENCE),
        position=((left + right) / 2, baseline + 1),
    )
    peak = max(max(b.value for b in bars), 1e-9)
    column = 0.8 * span / len(bars)
    size = min(fit_text(b.label(), 0.9 * column, max(1, round(0.062 * h))).size for b in bars)
    for i, bar in enumerate(bars):
        x = left + 0.1 * span + column * (i + 0.5)
        height = max(bar.value / peak, MIN_BAR_SHARE) * tallest if bar.value > 0 else 0.0
        add_bar(composition, bar, measure(bar.label(), size), canvas, (x, baseline), height, column, i)


def add_bar(
    composition: Composition, bar: Bar, label: Lettering, canvas: Canvas, foot: tuple[float, float],
    height: float, column: float, order: int,
) -> None:  # fmt: skip
    """One bar growing up from `foot` (x, baseline), with its value `label` counting up on top of it."""
    import movis as mv

    x, baseline = foot
    w, h = canvas.width, canvas.height
    start = min(0.2, 0.1 * canvas.duration_s) + order * min(0.15, 0.05 * canvas.duration_s)
    end = start + min(1.0, 0.45 * canvas.duration_s)
    bar_width = min(0.55 * column, 0.16 * w)
    colour = ACCENT if bar.highlight else REFERENCE
    shape = mv.layer.Rectangle(size=(bar_width, 0), radius=min(8.0, bar_width / 10), color=colour)
    composition.add_layer(shape, position=(x, baseline), origin_point="bottom_center")
    shape.size.enable_motion().extend([start, end], [(bar_width, 0), (bar_width, height)], [ease_out])
    gap = 0.02 * h + label.height / 2
    text = text_layer(lambda t: bar.label(progress(t, start, end)), label.size, INK)
    x, y = x - label.dx, baseline - gap - label.dy
    item = composition.add_layer(text, position=(x, y))
    item.position.enable_motion().extend([start, end], [(x, y), (x, y - height)], [ease_out])


def build_title_card(composition: Composition, slot: BrollSlot, analysis: Analysis, canvas: Canvas) -> None:
    """The key term in large type, fading and sliding up into place, over an underline that draws itself."""
    import movis as mv

    w, h = canvas.width, canvas.height
    add_background(composition, canvas)
    term = fit_text(slot.text.strip(), 0.84 * w, max(1, round(0.12 * h)), max_lines=2)
    centre_y = 0.46 * h
    slide_in(place_text(composition, term, w / 2, centre_y, INK), canvas, dy=-0.05 * h)
    thickness = max(3, round(h / 110))
    underline = mv.layer.Rectangle(size=(0, thickness), radius=thickness / 2, color=ACCENT)
    composition.add_layer(underline, position=(w / 2, centre_y + term.height / 2 + 0.05 * h))
    draw = min(0.8, canvas.duration_s / 2)
    underline.size.enable_motion().extend(
        [0.15 * draw, draw], [(0, thickness), (min(term.width, 0.84 * w), thickness)], [ease_out]
    )


def build_lower_third(composition: Composition, slot: BrollSlot, analysis: Analysis, canvas: Canvas) -> None:
    """A name/term strip in the lower third on transparency, sliding in from the left and fading out."""
    import movis as mv

    w, h = canvas.width, canvas.height
    term = fit_text(slot.text.strip(), 0.62 * w, max(1, round(0.045 * h)), max_lines=2)
    pad, accent_width = 0.028 * h, max(4.0, 0.01 * h)
    strip_w, strip_h = term.width + 2 * pad + accent_width, term.height + 2 * pad
    left, centre_y = 0.06 * w, 0.8 * h
    panel = mv.layer.Rectangle(
        size=(strip_w, strip_h), radius=6.0, contents=[mv.layer.FillProperty(BACKGROUND, 0.88)]
    )
    items = [
        composition.add_layer(panel, position=(left + strip_w / 2, centre_y)),
        composition.add_layer(
            mv.layer.Rectangle(size=(accent_width, strip_h), color=ACCENT),
            position=(left + accent_width / 2, centre_y),
        ),
        place_text(composition, term, left + accent_width + pad + term.width / 2, centre_y, INK),
    ]
    for item in items:
        slide_in(item, canvas, dx=0.05 * w, fade_out=True)


def chart_content(slot: BrollSlot, analysis: Analysis) -> tuple[object, ...]:
    """What a chart shows: its sentence and its bars."""
    number = chart_number(slot, analysis)
    assert number is not None  # drawn_kind checked
    return caption_text(number, slot), tuple(chart_bars(number, analysis))


def term_content(slot: BrollSlot, analysis: Analysis) -> tuple[object, ...]:
    """What a title card or a lower third shows: its term."""
    return (slot.text.strip(),)


CLIP_KINDS: dict[ClipKindName, ClipKind] = {
    "chart": ClipKind(build_chart, has_alpha=False, content=chart_content),
    "title_card": ClipKind(build_title_card, has_alpha=False, content=term_content),
    "lower_third": ClipKind(build_lower_third, has_alpha=True, content=term_content),
}
