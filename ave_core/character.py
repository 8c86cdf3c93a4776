"""Character B-roll: a presenter built by code, animated by a small library of actions, rendered by Blender.

The presenter (a bust with an armature and a face: brows, eyes that look and blink, a mouth that smiles or
frowns, hands whose fingers count) is built in Blender by `ave_core.blender_scene`, which runs as its own
Python process: a crash or a hang of Blender stops that process, not the broll stage. This module holds
what needs no Blender: the actions as key poses, how an action fills a clip of any length (looped, held or
quickened), the choice of a known action for an unknown name, the render's description as JSON, a cache of
finished clips keyed by everything that changes their pictures, and the run of the Blender process.

Poses are in the character's own space, seen from the camera: x to the right of the screen, y into the
screen, z up. The character faces the camera, so its right arm ("arm.R") is on the screen's left.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import hashlib
import json
import logging
import math
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import blender_scene
from .errors import AveError, OutputError
from .publish import atomic_writer
from .tools import ffmpeg_binary, last_line, write_problem

log = logging.getLogger("ave.character")

Pose = dict[str, Any]

ENTRANCE_S = 0.25  # the character pops in (and out) over this long, shorter in short clips
BLEND_S = 0.3  # the gesture blends in from (and out to) the idle pose over this long
MAX_SPEEDUP = 3.0  # an action quickened more than this to fit a short clip reads as a twitch
BREATH_S = 3.2  # one breath of the idle pose
BLINK_EVERY_S = 2.7
BLINK_S = 0.16
SCENE_MODULE = blender_scene.__name__  # imported, not a string: the broll rule's code hash then covers it
BLENDER_MISSING = 3  # exit status of the Blender process when bpy cannot be imported
FINGERS = ("thumb", "index", "middle", "ring", "pinky")
COUNT_ORDER = ("index", "middle", "ring", "pinky", "thumb")  # the order fingers are raised when counting
MAX_COUNT = len(COUNT_ORDER)


class CharacterError(AveError):
    """A character clip could not be rendered (Blender missing, crashed, too slow, or wrote nothing)."""


# --- poses ----------------------------------------------------------------------------------

# Channels: root [scale]; spine and head [nod, tilt, turn] in degrees (nod: forward/down; tilt: towards the
# screen's right; turn: towards the screen's right); shoulders [raise of the left, of the right] in degrees;
# arm.L / arm.R: directions of the upper arm, forearm and hand, and the palm's normal; fingers.L / fingers.R:
# curl (0 open, 1 fist) per finger in FINGERS order; eyes [look right, look up] (-1..1); lids [closed 0..1];
# brows [raise of the left, of the right] (-1..1); mouth [width, smile] (smile 1, flat 0.25, frown < 0).
REST: Pose = {
    "root": [1.0],
    "spine": [0.0, 0.0, 0.0],
    "head": [0.0, 0.0, 0.0],
    "shoulders": [0.0, 0.0],
    "arm.L": {"upper": [0.25, 0.0, -1.0], "fore": [0.1, -0.3, -1.0], "hand": [0.1, -0.3, -1.0],
              "palm": [-1.0, 0.0, 0.0]},
    "arm.R": {"upper": [-0.25, 0.0, -1.0], "fore": [-0.1, -0.3, -1.0], "hand": [-0.1, -0.3, -1.0],
              "palm": [1.0, 0.0, 0.0]},
    "fingers.L": [0.5, 0.55, 0.6, 0.65, 0.7],
    "fingers.R": [0.5, 0.55, 0.6, 0.65, 0.7],
    "eyes": [0.0, 0.0],
    "lids": [0.0],
    "brows": [0.0, 0.0],
    "mouth": [1.0, 1.0],
}  # fmt: skip
IDLE_CHANNELS = ("root", "spine", "lids")


def full_pose(partial: Mapping[str, Any]) -> Pose:
    """REST with the channels of `partial` put over it (an arm given whole or in part)."""
    pose = copy.deepcopy(REST)
    for channel, value in partial.items():
        if channel not in REST:
            raise ValueError(f"unknown pose channel {channel!r}")
        if isinstance(value, Mapping):
            pose[channel] = {**pose[channel], **copy.deepcopy(dict(value))}
        else:
            pose[channel] = list(value)
    return pose


def mirrored(pose: Mapping[str, Any]) -> Pose:
    """The pose seen in a mirror: left and right swapped, x directions and sideways angles negated."""
    flipped: Pose = {}
    for channel, value in pose.items():
        side = {"arm.L": "arm.R", "arm.R": "arm.L", "fingers.L": "fingers.R", "fingers.R": "fingers.L"}
        target = side.get(channel, channel)
        if channel.startswith("arm."):
            flipped[target] = {part: [-v[0], v[1], v[2]] for part, v in value.items()}
        elif channel in ("spine", "head"):
            flipped[target] = [value[0], -value[1], -value[2]]
        elif channel in ("shoulders", "brows"):
            flipped[target] = [value[1], value[0]]
        elif channel == "eyes":
            flipped[target] = [-value[0], value[1]]
        else:
            flipped[target] = copy.deepcopy(value)
    return flipped


# --- actions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """A gesture as key poses (seconds from its start, the channels it moves), starting and ending at rest.

    `loop` (start, end in seconds, the same pose at both) is repeated to fill a longer clip; an action
    without one holds its pose at `hold_s` instead."""

    name: str
    description: str
    keys: tuple[tuple[float, Pose], ...]
    loop: tuple[float, float] | None = None
    hold_s: float | None = None

    @property
    def natural_s(self) -> float:
        return self.keys[-1][0]

    @property
    def channels(self) -> list[str]:
        return sorted({channel for _, pose in self.keys for channel in pose})


OPEN_HAND = [0.0, 0.0, 0.0, 0.0, 0.0]
POINTING_HAND = [0.9, 0.0, 1.0, 1.0, 1.0]
FIST = [0.9, 1.0, 1.0, 1.0, 1.0]
HAPPY = {"brows": [0.35, 0.35], "mouth": [1.1, 1.0]}


def _wave() -> Action:
    raised = {"upper": [0.95, -0.1, 0.2], "fore": [0.15, -0.15, 1.0], "hand": [0.05, -0.15, 1.0],
              "palm": [0.0, -1.0, 0.0]}  # fmt: skip
    out = {"fore": [0.4, -0.15, 1.0], "hand": [0.5, -0.15, 1.0]}
    back = {"fore": [-0.1, -0.15, 1.0], "hand": [-0.3, -0.15, 1.0]}
    up = {"arm.L": raised, "fingers.L": OPEN_HAND, "head": [0.0, 6.0, 4.0], **HAPPY}
    # the forearm comes up in front of the elbow, not swinging out sideways (out of the box Blender draws)
    rising = {
        "arm.L": {**raised, "upper": [0.7, -0.3, -0.5], "fore": [0.2, -0.6, 0.75], "hand": [0.1, -0.4, 1.0]}
    }
    return Action(
        "wave", "waves hello (or goodbye) with the hand beside the head",
        keys=(
            (0.0, {}),
            (0.22, rising),
            (0.45, up),
            (0.65, {**up, "arm.L": {**raised, **out}}),
            (0.85, {**up, "arm.L": {**raised, **back}}),
            (1.05, {**up, "arm.L": {**raised, **out}}),
            (1.25, up),
            (1.48, rising),  # and goes down the same way
            (1.7, {}),
        ),
        loop=(0.45, 1.25),
    )  # fmt: skip


def _point_left() -> Action:
    arm = {"upper": [-1.0, -0.2, 0.05], "fore": [-1.0, -0.3, 0.2], "hand": [-1.0, -0.3, 0.22],
           "palm": [0.0, 0.0, -1.0]}  # fmt: skip
    look: dict[str, Any] = {
        "head": [0.0, -4.0, -22.0],
        "spine": [0.0, 0.0, -8.0],
        "eyes": [-0.9, 0.0],
        **HAPPY,
    }
    pointing = {"arm.R": arm, "fingers.R": POINTING_HAND, **look}
    jab = {**pointing, "arm.R": {**arm, "fore": [-1.0, -0.2, 0.28], "hand": [-1.0, -0.2, 0.3]}}
    return Action(
        "point_left", "points at something on the screen's left (a chart beside the character)",
        keys=((0.0, {}), (0.4, pointing), (0.8, jab), (1.2, pointing), (1.65, {})),
        loop=(0.4, 1.2),
    )  # fmt: skip


def _point_right() -> Action:
    left = _point_left()
    keys = tuple((t, mirrored(pose)) for t, pose in left.keys)
    return Action("point_right", "points at something on the screen's right", keys=keys, loop=left.loop)


def _think() -> Action:
    chin = {"upper": [0.12, -0.75, -0.65], "fore": [-0.45, -0.2, 1.0], "hand": [-0.35, -0.1, 1.0],
            "palm": [0.0, 1.0, 0.0]}  # fmt: skip
    pondering = {
        "arm.L": chin, "fingers.L": [0.9, 0.35, 1.0, 1.0, 1.0], "head": [-8.0, 8.0, 6.0],
        "eyes": [0.55, 0.85], "brows": [0.9, -0.2], "mouth": [0.6, 0.25],
    }  # fmt: skip
    return Action(
        "think", "hand on the chin, looking up, one brow raised: a question",
        keys=(
            (0.0, {}),
            (0.55, pondering),
            (1.15, {**pondering, "head": [-8.0, 13.0, 3.0]}),
            (1.75, pondering),
            (2.3, {}),
        ),
        loop=(0.55, 1.75),
    )  # fmt: skip


def _count(count: int) -> Action:
    raised = {"upper": [0.55, -0.45, -0.55], "fore": [0.05, -0.35, 1.0], "hand": [0.0, -0.2, 1.0],
              "palm": [0.0, -1.0, 0.0]}  # fmt: skip
    base = {"arm.L": raised, "head": [4.0, 0.0, 6.0], "eyes": [0.3, 0.1], **HAPPY}
    curls = dict(zip(FINGERS, FIST, strict=True))
    keys: list[tuple[float, Pose]] = [(0.0, {}), (0.35, {**base, "fingers.L": list(curls.values())})]
    t = 0.35
    for finger in COUNT_ORDER[:count]:
        t += 0.4
        curls[finger] = 0.0
        keys.append((t, {**base, "fingers.L": list(curls.values())}))
    keys.append((t + 0.35, {**base, "fingers.L": list(curls.values())}))
    keys.append((t + 0.8, {}))
    return Action(
        "count", f"counts to {count} on the fingers of a raised hand: steps, lists",
        keys=tuple(keys), hold_s=t + 0.35,
    )  # fmt: skip


def _nod() -> Action:
    down = {"head": [14.0, 0.0, 0.0], **HAPPY, "lids": [0.3]}
    up = {"head": [-3.0, 0.0, 0.0], **HAPPY}
    return Action(
        "nod", "nods in agreement",
        keys=((0.0, {}), (0.25, down), (0.5, up), (0.75, down), (1.0, up), (1.3, {})),
        loop=(0.25, 0.75),
    )  # fmt: skip


def _shrug() -> Action:
    def arm(sign: float) -> dict[str, list[float]]:
        return {"upper": [sign * 0.45, -0.25, -0.85], "fore": [sign * 0.95, -0.5, 0.1],
                "hand": [sign * 1.0, -0.35, 0.25], "palm": [0.0, 0.0, 1.0]}  # fmt: skip

    shrugging = {
        "shoulders": [14.0, 14.0], "arm.L": arm(1.0), "arm.R": arm(-1.0), "fingers.L": OPEN_HAND,
        "fingers.R": OPEN_HAND, "head": [0.0, 10.0, 0.0], "brows": [0.9, 0.9], "mouth": [0.8, -0.5],
    }  # fmt: skip
    return Action(
        "shrug", "shrugs with open palms: unsure, it depends",
        keys=(
            (0.0, {}),
            (0.45, shrugging),
            (0.65, {**shrugging, "shoulders": [11.0, 11.0]}),
            (1.5, {}),
        ),
        hold_s=0.65,
    )  # fmt: skip


# the library: name -> how to build it (count takes the number to count to)
ACTIONS: dict[str, Callable[[int], Action]] = {
    "wave": lambda count: _wave(),
    "point_left": lambda count: _point_left(),
    "point_right": lambda count: _point_right(),
    "think": lambda count: _think(),
    "count": lambda count: _count(count),
    "nod": lambda count: _nod(),
    "shrug": lambda count: _shrug(),
}
# words an LLM (or a person) may use for an action, mapped to the action
SYNONYMS = {
    "hello": "wave", "greet": "wave", "greeting": "wave", "bye": "wave", "goodbye": "wave",
    "farewell": "wave", "point": "point_left", "pointing": "point_left", "present": "point_left",
    "question": "think", "ponder": "think", "wonder": "think", "list": "count", "steps": "count",
    "enumerate": "count", "agree": "nod", "yes": "nod", "approve": "nod", "unsure": "shrug",
    "doubt": "shrug", "dunno": "shrug",
}  # fmt: skip
DEFAULT_ACTION = "nod"  # when a name resembles nothing: the gesture that fits any moment


def resolve_action(name: str) -> tuple[str, str | None]:
    """A known action for `name`, and a warning when it is not the name itself: a synonym, the closest
    spelling, or DEFAULT_ACTION when nothing is close."""
    wanted = name.strip().lower().replace("-", "_").replace(" ", "_")
    if wanted in ACTIONS:
        return wanted, None
    words = [w for w in wanted.split("_") if w]
    for word in [wanted, *words]:
        if word in SYNONYMS:
            return SYNONYMS[word], f"unknown action {name!r}: {SYNONYMS[word]!r} (its meaning)"
    candidates = [*ACTIONS, *SYNONYMS]
    close = difflib.get_close_matches(wanted, candidates, n=1, cutoff=0.6)
    if close:
        known = SYNONYMS.get(close[0], close[0])
        return known, f"unknown action {name!r}: {known!r} (the nearest name)"
    return DEFAULT_ACTION, f"unknown action {name!r}: {DEFAULT_ACTION!r} (nothing near; the neutral gesture)"


def make_action(name: str, count: int | None = None) -> Action:
    """The action `name` (a known name) counting to `count` (1-5; only `count` uses it)."""
    return ACTIONS[name](count_of(count)[0])


def count_of(count: int | None) -> tuple[int, str | None]:
    """The number the count action shows for a slot's `count` (3 when it gives none), and a warning when
    it lies outside the fingers of one hand."""
    if count is None:
        return 3, None
    shown = min(max(count, 1), MAX_COUNT)
    return shown, None if shown == count else f"count {count} shown as {shown} (one hand: 1-{MAX_COUNT})"


def towards_the_middle(name: str, side: str) -> tuple[str, str | None]:
    """Pointing from the `side` the character stands on goes towards the frame's middle (where a chart is):
    a point out of the frame is turned round, with a warning."""
    outwards = {"right": "point_right", "left": "point_left"}[side]
    if name != outwards:
        return name, None
    inwards = "point_left" if side == "right" else "point_right"
    return inwards, f"'{name}' from the {side} side would point out of the frame: '{inwards}' instead"


# --- filling a clip -------------------------------------------------------------------------


@dataclass(frozen=True)
class Motion:
    """An action fitted to a clip: its keys on the clip's time line and how it was fitted."""

    keys: list[tuple[float, Pose]]
    fit: str  # "as is", "looped 3 times", "held 1.20 s", "quickened 1.4x"
    start_s: float
    end_s: float


def fit_action(action: Action, clip_s: float) -> Motion:
    """The action placed in a clip of `clip_s` seconds, between the entrance and the exit: quickened (its
    loop left out first) when the clip is shorter than the action, its loop repeated (at most 1.5x slower
    or faster) when it is longer, or its hold pose held when it has no loop. It starts and ends at rest."""
    entrance = entrance_s(clip_s)
    start, end = entrance, clip_s - entrance
    room = end - start
    if room <= 0:
        raise CharacterError(f"a {clip_s:.2f} s clip has no time for '{action.name}'")
    keys = list(action.keys)
    loop = action.loop
    if room < action.natural_s - 1e-9 and loop is not None:
        keys, loop = without_loop(action), None
    natural = keys[-1][0]
    if room < natural - 1e-9:
        speed = natural / room
        if speed > MAX_SPEEDUP:
            raise CharacterError(
                f"a {clip_s:.2f} s clip is too short for '{action.name}' ({natural:.2f} s, at most "
                f"{MAX_SPEEDUP}x faster)"
            )
        timed = [(t / speed, pose) for t, pose in keys]
        fit = f"quickened {speed:.2f}x" + (" without its loop" if loop != action.loop else "")
    elif loop is not None and room - natural >= 0.25 * (loop[1] - loop[0]):
        timed, fit = _looped(action, room)
    elif room - natural > 1e-9 and action.hold_s is not None:
        extra = room - natural
        timed = [(t, pose) for t, pose in keys if t <= action.hold_s]
        held = next(pose for t, pose in reversed(keys) if t <= action.hold_s)
        timed.append((action.hold_s + extra, held))
        timed += [(t + extra, pose) for t, pose in keys if t > action.hold_s]
        fit = f"held {extra:.2f} s"
    else:
        # a little room (less than a quarter loop): the action at its own pace, resting a moment after it
        timed, fit = keys, "as is"
    placed = [(round(start + t, 4), full_channels(pose, action.channels)) for t, pose in timed]
    return Motion(placed, fit, start, end)


def without_loop(action: Action) -> list[tuple[float, Pose]]:
    """The action's keys with its loop left out: in, once to the loop's start, and out again."""
    assert action.loop is not None
    loop_start, loop_end = action.loop
    return [(t, pose) for t, pose in action.keys if t <= loop_start] + [
        (t - (loop_end - loop_start), pose) for t, pose in action.keys if t > loop_end
    ]


def _looped(action: Action, room: float) -> tuple[list[tuple[float, Pose]], str]:
    assert action.loop is not None
    loop_start, loop_end = action.loop
    span = loop_end - loop_start
    rest = action.natural_s - span  # the way in and out of the loop
    cycles = max(1, round((room - rest) / span))
    scale = (room - rest) / (cycles * span)
    if not 2 / 3 <= scale <= 1.5:
        cycles = max(1, math.floor((room - rest) / span))
        scale = (room - rest) / (cycles * span)
    inside = [(t - loop_start, pose) for t, pose in action.keys if loop_start <= t < loop_end]
    timed = [(t, pose) for t, pose in action.keys if t < loop_start]
    for cycle in range(cycles):
        timed += [(loop_start + (cycle * span + t) * scale, pose) for t, pose in inside]
    end_of_loops = loop_start + cycles * span * scale
    timed += [(end_of_loops + t - loop_end, pose) for t, pose in action.keys if t >= loop_end]
    return timed, f"looped {cycles} time{'s' if cycles > 1 else ''} at {1 / scale:.2f}x"


def full_channels(pose: Mapping[str, Any], channels: Sequence[str]) -> Pose:
    """The pose's values of `channels`, from REST where it leaves one out."""
    full = full_pose(pose)
    return {channel: full[channel] for channel in channels}


def entrance_s(clip_s: float) -> float:
    """How long the pop-in (and the pop-out) lasts in a clip of `clip_s` seconds."""
    return min(ENTRANCE_S, clip_s / 8)


def idle_keys(clip_s: float) -> list[tuple[float, Pose]]:
    """The idle layer under every gesture: the pop in and out, breathing, and blinks."""
    entrance = entrance_s(clip_s)
    times: dict[float, Pose] = {}

    def key(t: float, **channels: list[float]) -> None:
        times.setdefault(round(t, 4), {}).update(channels)

    times[0.0] = full_pose({"root": [0.0]})  # every channel at rest: the layer under the gesture
    key(entrance * 0.7, root=[1.05])
    key(entrance, root=[1.0])
    key(clip_s - entrance, root=[1.0])
    key(clip_s - entrance * 0.3, root=[1.05])
    key(clip_s, root=[0.0])
    breaths = max(1, round(clip_s / BREATH_S))
    for i in range(2 * breaths + 1):
        key(clip_s * i / (2 * breaths), spine=[1.5 if i % 2 else 0.0, 0.0, 0.0])
    blink = BLINK_EVERY_S * 0.6
    while blink + BLINK_S < clip_s - entrance:
        key(blink - BLINK_S / 2, lids=[0.0])
        key(blink, lids=[1.0])
        key(blink + BLINK_S / 2, lids=[0.0])
        blink += BLINK_EVERY_S
    key(clip_s, lids=[0.0])
    return [(t, pose) for t, pose in sorted(times.items())]


# --- the render -----------------------------------------------------------------------------

ENGINES = {"workbench": "BLENDER_WORKBENCH", "cycles": "CYCLES", "eevee": "BLENDER_EEVEE"}
# where the character reaches, in its own space (metres): a waving or shrugging hand sideways, a pointing
# finger (inwards, towards the frame's middle), the bottom of the bust and the top of the hair
REACH_X, POINTING_X, BOTTOM_Z, TOP_Z = 1.2, 1.36, -0.12, 1.74
MARGIN = 0.035  # share of the frame kept between the character and the frame's edges


@dataclass(frozen=True)
class Framing:
    """Where the character goes in the frame, and the orthographic camera that draws only that part.

    Blender draws the box (`box_x`, `box_y`: its top-left corner in the frame, pixels; `box_width` and
    `box_height`) around everything the character can reach, not the whole frame: on a CPU its cost grows
    with the pixels, and the box is about a quarter of them. The encoder pads the box back to the frame with
    transparency. `covered_share` is the share of the frame's width, from the character's side, that a
    pointing finger reaches: what a chart at the same time keeps clear."""

    ortho_scale: float
    camera_x: float
    camera_z: float
    box_x: int
    box_y: int
    box_width: int
    box_height: int
    covered_share: float


def framing(size: float, side: str, width: int, height: int) -> Framing:
    """The character `size` of the frame high (less in a frame too narrow for its reach) in the bottom
    corner of `side` of a `width` x `height` frame."""
    view_h = (TOP_Z - BOTTOM_Z) / size
    view_w = view_h * width / height
    narrowest = 2 * REACH_X / (1 - 2 * MARGIN)  # both hands in: a tall frame shows a smaller character
    if view_w < narrowest:
        view_w, view_h = narrowest, narrowest * height / width
    sign = 1.0 if side == "right" else -1.0
    frame_left = sign * (REACH_X + MARGIN * view_w - view_w / 2) - view_w / 2
    frame_top = BOTTOM_Z - MARGIN * view_h + view_h
    per_m = height / view_h  # pixels per metre, the same across and up
    reach = sorted((sign * REACH_X, -sign * POINTING_X))
    pad = 0.07  # metres around the reach: the pop-in's overshoot (5 %), the outline and anti-aliasing
    x0 = max(0, math.floor((reach[0] - pad - frame_left) * per_m))
    x1 = min(width, math.ceil((reach[1] + pad - frame_left) * per_m))
    y0 = max(0, math.floor((frame_top - TOP_Z - pad) * per_m))
    y1 = min(height, math.ceil((frame_top - BOTTOM_Z + pad) * per_m))
    fingertip = (-sign * POINTING_X - frame_left) * per_m / width
    covered = 1 - fingertip if side == "right" else fingertip
    return Framing(
        ortho_scale=round(max(x1 - x0, y1 - y0) / per_m, 6),
        camera_x=round(frame_left + (x0 + x1) / 2 / per_m, 6),
        camera_z=round(frame_top - (y0 + y1) / 2 / per_m, 6),
        box_x=x0, box_y=y0, box_width=x1 - x0, box_height=y1 - y0,
        covered_share=min(max(covered, 0.0), 1.0),
    )  # fmt: skip


@dataclass(frozen=True)
class Look:
    """How the presenter looks and where it stands: colours as '#rrggbb', its height as a share of the frame
    height, and the side of the frame it stands on."""

    primary: str
    accent: str
    skin: str
    hair: str
    size: float
    side: str


@dataclass(frozen=True)
class RenderSettings:
    """The Blender render: engine, samples (Cycles, Eevee), denoising (Cycles), threads, and a limit."""

    engine: str
    samples: int
    denoise: bool
    timeout_s: float
    threads: int = 1


@dataclass(frozen=True)
class ClipRequest:
    """One character clip: which action, counting to what, how long, and at what size and rate."""

    action: str
    count: int | None
    frames: int
    fps: float
    width: int
    height: int
    look: Look
    settings: RenderSettings
    fitted: Motion = field(compare=False)  # fit_action(action, motion_s(frames, fps))


def motion_s(frames: int, fps: float) -> float:
    """The time from a clip's first frame to its last: what its animation spans (entrance to exit)."""
    return (frames - 1) / fps


def scene_description(request: ClipRequest) -> dict[str, Any]:
    """Everything the Blender process needs, as JSON-ready data (also the cache key's content)."""
    clip_s = motion_s(request.frames, request.fps)
    look = request.look
    return {
        "action": request.action,
        "count": request.count,
        "frames": request.frames,
        "fps": request.fps,
        "width": request.width,
        "height": request.height,
        "colors": {"primary": look.primary, "accent": look.accent, "skin": look.skin, "hair": look.hair},
        "framing": framing(look.size, look.side, request.width, request.height).__dict__,
        "engine": ENGINES[request.settings.engine],
        "samples": request.settings.samples,
        "denoise": request.settings.denoise,
        "rest": REST,
        "idle": idle_keys(clip_s),
        "gesture": request.fitted.keys,
        "blend_s": min(BLEND_S, (request.fitted.end_s - request.fitted.start_s) / 4),
        "gesture_span_s": [request.fitted.start_s, request.fitted.end_s],
    }


def cache_key(description: Mapping[str, Any]) -> str:
    """A name for the clip a description renders: its content and the code that draws it, hashed."""
    digest = hashlib.sha256(json.dumps(description, sort_keys=True).encode())
    for module in ("character", "blender_scene"):
        digest.update((Path(__file__).with_name(f"{module}.py")).read_bytes())
    return f"{description['action']}-{digest.hexdigest()[:20]}"


def render_clip(request: ClipRequest, out: Path, cache_dir: Path, python: str | None = None) -> bool:
    """Render `request` as a QuickTime Animation (argb) clip at `out`, from the cache when it holds it.

    Returns whether the cache held it. Raises CharacterError (nothing written at `out`) when Blender is
    missing, fails, runs past the time limit or leaves frames missing."""
    description = scene_description(request)
    cached = cache_dir / f"{cache_key(description)}.mov"
    hit = cached.is_file()
    if not hit:
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="ave-character-") as scratch:
            frames = run_blender(description, Path(scratch), request.settings, python)
            encode_frames(frames, request.fps, cached, pad_to(description["framing"], request))
        log.info(
            "%s: %d frames rendered by Blender in %.1f s", cached.name, request.frames,
            time.perf_counter() - started,
        )  # fmt: skip
    copy_atomically(cached, out)
    return hit


def run_blender(
    description: Mapping[str, Any], scratch: Path, settings: RenderSettings, python: str | None = None
) -> list[Path]:
    """Run the Blender process on `description`; the PNG frames it wrote into `scratch`, in order."""
    spec = scratch / "scene.json"
    spec.write_text(json.dumps(description), encoding="utf-8")
    frames_dir = scratch / "frames"
    frames_dir.mkdir()
    argv = [python or sys.executable, "-m", SCENE_MODULE, str(spec), str(frames_dir)]
    # llvmpipe (Mesa's software OpenGL, which Workbench draws with here) takes its threads from LP_NUM_THREADS
    env = {
        **os.environ,
        "LP_NUM_THREADS": str(settings.threads),
        "AVE_BLENDER_THREADS": str(settings.threads),
    }
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[1]), env.get("PYTHONPATH", "")]).strip(
        os.pathsep
    )
    # its own session, so that a timeout ends Blender and anything it started; and ended with the stage,
    # should the stage be killed (Linux)
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        preexec_fn=_die_with_parent,
    ) as proc:  # fmt: skip
        try:
            output, _ = proc.communicate(timeout=settings.timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise CharacterError(
                f"Blender ran past character.timeout_s ({settings.timeout_s:g} s) — raise it, or use a "
                "faster engine or a smaller character.max_height"
            ) from None
        except BaseException:
            _kill_group(proc)
            raise
    text = output.decode(errors="replace")
    if proc.returncode == BLENDER_MISSING:
        raise CharacterError(f"Blender (bpy) is not installed: {last_line(text)} — run `make setup`")
    if proc.returncode != 0:
        log.warning("Blender's output:\n%s", text[-4000:])
        raise CharacterError(f"Blender failed (exit status {proc.returncode}): {last_line(text)}")
    frames = sorted(frames_dir.glob("frame_*.png"))
    if len(frames) != description["frames"]:
        raise CharacterError(f"Blender wrote {len(frames)} of {description['frames']} frames")
    return frames


def _die_with_parent() -> None:
    """In the child, before Blender starts: ask Linux for SIGKILL when the broll stage dies."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: a killed stage leaves Blender to finish (or reach its time limit) on its own


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):  # the group is gone already: nothing left to kill
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def pad_to(shot: Mapping[str, Any], request: ClipRequest) -> str:
    """The ffmpeg filter that puts the rendered box where it belongs in the frame, transparent around it."""
    return f"pad={request.width}:{request.height}:{shot['box_x']}:{shot['box_y']}:color=black@0"


def encode_frames(frames: Sequence[Path], fps: float, out: Path, video_filter: str = "null") -> None:
    """The PNG frames as a QuickTime Animation clip with alpha at `out` (through `video_filter`), written
    whole or not at all (through a partial file of its own: two jobs may render a clip into the cache at
    once)."""
    from fractions import Fraction

    rate = str(Fraction(fps).limit_denominator(1001))
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.stem}.{secrets.token_hex(6)}.partial{out.suffix}")
    argv = [ffmpeg_binary(), "-nostdin", "-v", "error", "-y", "-framerate", rate, "-start_number", "1"]
    argv += ["-i", str(frames[0].parent / "frame_%04d.png"), "-frames:v", str(len(frames))]
    argv += ["-vf", f"format=rgba,{video_filter}", "-c:v", "qtrle", "-pix_fmt", "argb", str(partial)]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, errors="replace", check=False)
        problem = write_problem(proc.stderr)
        if problem:
            raise OutputError(f"{out}: {problem}")
        if proc.returncode != 0:
            raise CharacterError(f"ffmpeg failed encoding the character clip: {last_line(proc.stderr)}")
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)


def copy_atomically(source: Path, out: Path) -> None:
    """Copy `source` to `out` through a partial file and a rename."""
    with atomic_writer(out, binary=True) as handle, source.open("rb") as reader:
        shutil.copyfileobj(reader, handle)
