"""Character B-roll: the action library and how it fills clips of any length, names an LLM invents, the
Director's choice of moments, a Blender that is missing, crashes or hangs, and (with bpy) a real clip with
alpha that the render lays over the speaker and over a chart."""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import typing
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from ave_core import character
from ave_core.backends import given
from ave_core.broll import (
    ACCENT,
    RENDERERS,
    BlenderRenderer,
    MovisRenderer,
    RendererSettings,
    render_broll,
    renderers_for,
)
from ave_core.character import (
    ACTIONS,
    REST,
    CharacterError,
    ClipRequest,
    Look,
    RenderSettings,
    fit_action,
    framing,
    idle_keys,
    make_action,
    motion_s,
    resolve_action,
    towards_the_middle,
)
from ave_core.config import BrollConfig, CharacterConfig, DirectorConfig, RenderConfig
from ave_core.director import character_slots, direct, rule_based_plan
from ave_core.media import probe
from ave_core.models import (
    Analysis,
    Broll,
    BrollSlot,
    Cut,
    Plan,
    Retake,
    Span,
    SpokenNumber,
    make_producer,
)
from ave_core.synth import Truth
from ave_core.tools import last_line
from tests.gemini_stub import GeminiStub, Reply
from tests.test_director import PROMPT, context, gemini, proposal, spoken
from tests.test_render import make_plan, render, source_sound

# movis 0.7 converts one-element arrays to floats, which numpy >= 1.25 deprecates; nothing ave can change
pytestmark = pytest.mark.filterwarnings("ignore:Conversion of an array with ndim > 0:DeprecationWarning")

FPS = 25.0
WIDTH, HEIGHT = 320, 180  # small: Blender's software rendering costs per pixel
RED = "#d02020"  # a primary colour that studio light cannot turn into anything else


def look(**changes: object) -> Look:
    values = {"primary": RED, "accent": "#ffb020", "skin": "#f1c7a1", "hair": "#3b2a20", "size": 0.6,
              "side": "right", **changes}  # fmt: skip
    return Look(**values)  # type: ignore[arg-type]


def request(name: str = "wave", frames: int = 25, timeout_s: float = 300.0, **looks: object) -> ClipRequest:
    action = make_action(name, 2)
    settings = RenderSettings("workbench", 8, True, timeout_s, threads=2)
    fitted = fit_action(action, motion_s(frames, FPS))
    return ClipRequest(name, None, frames, FPS, WIDTH, HEIGHT, look(**looks), settings, fitted)


# --- the action library ---------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ACTIONS))
def test_every_action_starts_and_ends_at_rest_and_its_loop_closes(name: str) -> None:
    action = make_action(name, 3)
    assert action.keys[0] == (0.0, {}) and action.keys[-1][1] == {}
    times = [t for t, _ in action.keys]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert set(action.channels) <= set(REST)
    if action.loop is not None:
        poses = dict(action.keys)
        assert poses[action.loop[0]] == poses[action.loop[1]], "the loop would jump where it repeats"
    else:
        assert action.hold_s is not None and 0 < action.hold_s < action.natural_s


@pytest.mark.parametrize("name", sorted(ACTIONS))
@pytest.mark.parametrize("clip_s", [1.5, 3.0, 6.0, 60.0])
def test_any_clip_length_is_filled_cleanly(name: str, clip_s: float) -> None:
    """Longer than the action: looped or held; shorter: quickened. Always from rest to rest, inside the
    clip, between the entrance and the exit, never a jump faster than a frame."""
    motion = fit_action(make_action(name, 3), clip_s)
    times = [t for t, _ in motion.keys]
    assert times[0] == pytest.approx(motion.start_s) and times[-1] <= motion.end_s + 1e-6
    assert min(b - a for a, b in zip(times, times[1:], strict=False)) >= 1 / FPS
    rest = {channel: REST[channel] for channel in motion.keys[0][1]}
    assert motion.keys[0][1] == rest and motion.keys[-1][1] == rest
    if clip_s >= 6.0:
        assert motion.fit.startswith(("looped", "held")), motion.fit
        assert times[-1] > motion.end_s - 1.0, "a long clip should not end in a long still rest"


def test_a_long_loop_keeps_its_pace() -> None:
    motion = fit_action(make_action("wave"), 60.0)
    speed = float(motion.fit.split(" at ")[1].rstrip("x"))
    assert motion.fit.startswith("looped") and 2 / 3 <= speed <= 1.5


def test_a_clip_too_short_for_the_action_is_refused() -> None:
    with pytest.raises(CharacterError, match="too short"):
        fit_action(make_action("count", 5), 0.8)


def test_pointing_is_a_mirror_image_and_turns_towards_the_middle() -> None:
    left, right = make_action("point_left"), make_action("point_right")
    raised = dict(left.keys)[0.4]["arm.R"]["fore"]
    assert raised[0] < 0 and dict(right.keys)[0.4]["arm.L"]["fore"] == [-raised[0], *raised[1:]]
    assert towards_the_middle("point_right", "right")[0] == "point_left"
    assert towards_the_middle("point_left", "left")[0] == "point_right"
    assert towards_the_middle("point_left", "right") == ("point_left", None)


@pytest.mark.parametrize(
    ("asked", "known", "warned"),
    [
        ("wave", "wave", False),
        ("Point-Left", "point_left", False),
        ("wave_hello", "wave", True),
        ("thinking", "think", True),
        ("count_steps", "count", True),
        ("shurg", "shrug", True),
        ("pointing at the chart", "point_left", True),
        ("juggle", "nod", True),
    ],
)
def test_an_unknown_action_name_becomes_the_nearest_known_with_a_warning(asked, known, warned) -> None:
    name, warning = resolve_action(asked)
    assert name == known and (warning is not None) == warned
    if warning:
        assert repr(asked) in warning and known in warning


def test_the_idle_layer_pops_in_and_out_and_blinks() -> None:
    keys = idle_keys(3.0)
    assert keys[0][0] == 0.0 and set(keys[0][1]) == set(REST) and keys[0][1]["root"] == [0.0]
    assert keys[-1][0] == 3.0 and keys[-1][1]["root"] == [0.0]
    assert any(pose.get("lids") == [1.0] for _, pose in keys), "no blink in 3 s"


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize(("size", "width", "height"), [(0.6, 16, 9), (0.4, 16, 9), (0.8, 4, 3), (0.6, 9, 16)])
def test_the_character_gets_its_size_in_its_corner_and_only_its_box_is_drawn(
    side, size, width, height
) -> None:
    width, height = width * 80, height * 80
    shot = framing(size, side, width, height)
    assert 0 <= shot.box_x and shot.box_x + shot.box_width <= width
    assert 0 <= shot.box_y and shot.box_y + shot.box_height <= height
    per_m = max(shot.box_width, shot.box_height) / shot.ortho_scale
    shown = (character.TOP_Z - character.BOTTOM_Z) * per_m / height
    assert shown == pytest.approx(size, abs=0.01) if width > height else shown < size  # a tall frame: smaller
    middle = shot.box_x + shot.box_width / 2
    if width > height:  # a tall frame is all but filled by the character's reach
        assert middle > width / 2 if side == "right" else middle < width / 2
    assert shot.box_y + shot.box_height > 0.9 * height, "the character stands at the bottom"
    if width / height > 1.5 and size <= 0.6:  # the default's proportions
        assert shot.box_width * shot.box_height < 0.4 * width * height, "Blender draws far more than it needs"
    assert 0 < shot.covered_share <= 1  # a tall frame: the pointing hand may reach past its edge


def test_the_cache_key_follows_what_changes_the_picture() -> None:
    base = character.cache_key(character.scene_description(request()))
    assert base == character.cache_key(character.scene_description(request()))
    for other in (request("nod"), request(frames=30), request(primary="#123456"), request(size=0.5)):
        assert character.cache_key(character.scene_description(other)) != base


# --- the Director's moments -----------------------------------------------------------------


def talk_context(**analysis):
    words = spoken(
        (0.5, "Hello and welcome to the lesson."),
        (5.0, "Why does heat escape so fast?"),
        (12.0, "Heating uses 60 percent of the energy."),
        (20.0, "The first step is the thermostat."),
        (28.0, "The second step is insulation."),
        (50.0, "Thanks for watching, see you soon."),
    )
    number = SpokenNumber(text="60 percent", value=60, kind="percent", context="60 percent", time=13.0)
    return context(words, 55.0, numbers=[number], **analysis)


def test_the_director_picks_an_action_for_each_moment_and_says_why() -> None:
    slots = character_slots(talk_context())
    found = [(s.start, s.action, s.count) for s in slots]
    # the likeliest four, far enough apart: the question (at 5 s) is too near the greeting
    assert found == [
        (0.5, "wave", None),
        (13.0, "point_left", None),
        (20.0, "count", 1),
        (50.0, "wave", None),
    ]
    assert all(s.kind == "character" and s.reason and s.rationale.startswith('"') for s in slots)
    assert all(known in ACTIONS for _, known, _ in found)
    assert [s.reason.split(":")[0] for s in slots] == [
        "greeting",
        "spoken percent",
        "step 1 of a list",
        "goodbye",
    ]


def test_the_moments_vary_before_they_repeat() -> None:
    # as in the demo: the first step too near the first number, the second clear of it, more numbers later
    words = spoken((0.5, "Welcome!"), (12.0, "The first step is easy."), (20.0, "The second step is easy."),
                   (60.0, "Thanks for watching."))  # fmt: skip
    numbers = [SpokenNumber(text=f"{n} percent", value=n, kind="percent", context="", time=8.0 + 9 * i)
               for i, n in enumerate((10, 20, 30, 40))]  # fmt: skip
    slots = character_slots(context(words, 70.0, numbers=numbers))
    assert [(s.action, s.count) for s in slots] == [("wave", None), ("point_left", None), ("count", 2),
                                                    ("wave", None)]  # fmt: skip


def test_a_moment_whose_start_is_cut_starts_after_the_cut() -> None:
    """The demo's "The second step is ... The second step is insulation": the retake's words are cut, and
    a slot starting in a cut would be dropped by the repair."""
    words = spoken((4.0, "The second step is"), (6.0, "The second step is insulation."))
    retake = Cut(start=4.0, end=5.9, reason="retake")
    [slot] = character_slots(context(words, 20.0), [retake])
    assert (slot.action, slot.count, slot.start) == ("count", 2, 5.95)
    retaken = Retake(start=4.0, end=5.15, text="The second step is", repeated_at=6.0, similarity=1.0)
    plan = rule_based_plan(context(words, 20.0, [retaken]), DirectorConfig(characters=True))
    [kept] = [s for s in plan.broll if s.kind == "character"]  # the repair kept it: it starts in a kept range
    assert kept.action == "count" and any(k.start <= kept.start < k.end for k in plan.keep)


def test_a_question_makes_the_character_think() -> None:
    words = spoken((3.0, "So what is a heat pump?"), (20.0, "It moves heat."))
    assert [(s.action, s.text) for s in character_slots(context(words, 30.0))] == [
        ("think", "What is a heat pump?")
    ]


def test_the_goodbye_is_waved_at_when_it_is_said() -> None:
    """As in the demo's transcript: the recogniser ran the summary and the goodbye into one sentence."""
    words = spoken(
        (0.5, "Today: saving energy."), (40.0, "So remember the three steps, thanks for watching.")
    )
    [slot] = character_slots(context(words, 44.0))
    assert (slot.action, slot.text, slot.start) == ("wave", "Thanks for watching", 41.5)  # "thanks": 5th word


def test_agreement_makes_the_character_nod_and_doubt_makes_it_shrug() -> None:
    words = spoken((3.0, "Yes, exactly that."), (14.0, "Well, it depends on the house."))
    found = [(s.action, s.reason.split(":")[0]) for s in character_slots(context(words, 40.0))]
    assert found == [("nod", "agreement"), ("shrug", "doubt")]


def test_characters_are_planned_only_when_switched_on() -> None:
    off = rule_based_plan(talk_context(), DirectorConfig())
    on = rule_based_plan(talk_context(), DirectorConfig(characters=True))
    assert not [s for s in off.broll if s.kind == "character"]
    assert [s.action for s in on.broll if s.kind == "character"] == ["wave", "point_left", "count", "wave"]
    assert [s.kind for s in on.broll if s.start == 13.0] == ["chart", "character"]  # it points at the chart
    assert [s.start for s in on.broll] == sorted(s.start for s in on.broll), (
        "the timeline's markers follow it"
    )


def test_an_llm_plans_characters_only_when_they_are_on(tmp_path: Path) -> None:
    answer = proposal([])
    answer["broll"] = [{"start": 1.0, "end": 4.0, "kind": "character", "action": "juggle", "text": "Hi"}]
    for enabled in (False, True):
        with GeminiStub([Reply(data=answer)]) as stub:
            llm, config = gemini(stub, tmp_path / str(enabled), characters=enabled)
            plan = direct(talk_context(), config, PROMPT, given(llm))
        kinds = [s.kind for s in plan.broll]
        assert ("character" in kinds) == enabled, plan.repairs
        assert enabled or "character slots dropped: director.characters is off" in plan.repairs


def test_the_demo_project_turns_characters_on_and_its_talk_gets_them() -> None:
    """`make demo` shows the presenter: the demo's own config.yaml turns characters on over the project
    defaults (where they stay off), and the Director finds moments for it in the demo talk's script."""
    import yaml

    from ave_core.analysis import spoken_numbers
    from ave_core.config import deep_merge, load_config
    from ave_core.synth import DEMO_SCRIPT

    repo = Path(__file__).resolve().parents[1]
    defaults = yaml.safe_load((repo / "config" / "config.yaml").read_text(encoding="utf-8"))
    demo = yaml.safe_load((repo / "examples" / "demo" / "config.yaml").read_text(encoding="utf-8"))
    assert not load_config(defaults).director.characters, "characters are on for every project"
    config = load_config(deep_merge(defaults, demo))
    assert config.director.characters and config.broll.character == "blender"
    phrases, at_s = [], 0.5
    for text, pause_s in DEMO_SCRIPT:
        phrases.append((at_s, text))
        at_s += 0.3 * len(text.split()) + pause_s
    words = spoken(*phrases)
    plan = rule_based_plan(context(words, at_s + 1.0, numbers=spoken_numbers(words)), config.director)
    actions = {s.action for s in plan.broll if s.kind == "character"}
    assert {"wave", "point_left", "count"} <= actions, actions


# --- a Blender that is missing, crashes or hangs (no bpy needed) -----------------------------


def fake_python(folder: Path, body: str) -> str:
    """An executable standing in for the Python that runs Blender: argv is `-m MODULE SCENE FRAMES`."""
    path = folder / "python"
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return str(path)


@pytest.fixture
def scratch_temp(tmp_path: Path, monkeypatch) -> Path:
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    return temp


def test_a_crashing_blender_leaves_no_partial_clip(tmp_path: Path, scratch_temp: Path) -> None:
    crash = fake_python(tmp_path, 'printf "not quite a PNG" > "$4/frame_0001.png"\nkill -SEGV $$')
    out, cache = tmp_path / "results" / "broll-01-character.mov", tmp_path / "cache"
    with pytest.raises(CharacterError, match="Blender failed"):
        character.render_clip(request(), out, cache, python=crash)
    assert not out.parent.exists() or not list(out.parent.iterdir())
    assert not cache.exists() or not list(cache.iterdir())
    assert not list(scratch_temp.iterdir()), "the frames folder was left behind"


def test_a_hanging_blender_is_stopped_at_the_time_limit(tmp_path: Path, scratch_temp: Path) -> None:
    pid_file = tmp_path / "pid"
    hang = fake_python(tmp_path, f'echo $$ > "{pid_file}"\nexec sleep 60')
    started = time.monotonic()
    with pytest.raises(CharacterError, match="character.timeout_s"):
        character.render_clip(request(timeout_s=1.0), tmp_path / "clip.mov", tmp_path / "cache", python=hang)
    assert time.monotonic() - started < 20
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)
    assert not (tmp_path / "clip.mov").exists() and not list(scratch_temp.iterdir())


def plan_of(*slots: BrollSlot, keep: list[Span] | None = None) -> Plan:
    return Plan(
        producer=make_producer("direct", "test"), backend="test", keep=keep or [], cuts=[], broll=list(slots)
    )


def numbers() -> Analysis:
    said = SpokenNumber(text="60 %", value=60, kind="percent", context="Heating uses 60 %.", time=2.0)
    return Analysis(producer=make_producer("analyze", "test"), numbers=[said])


@pytest.mark.parametrize("hidden_from", ["the stage", "the Blender process"])
def test_without_blender_the_slot_becomes_a_title_card_and_broll_json_says_so(
    hidden_from: str, tmp_path: Path, monkeypatch
) -> None:
    if hidden_from == "the stage":  # the broll stage finds no bpy: Blender is never started
        monkeypatch.setattr(
            "importlib.util.find_spec", lambda name, *a: None if name == "bpy" else real(name)
        )
    else:  # found, but the Blender process cannot import it (a `bpy` that fails comes first)
        shadow = tmp_path / "no-bpy"
        shadow.mkdir()
        (shadow / "bpy.py").write_text("raise ImportError(\"No module named 'bpy' (hidden by the test)\")\n")
        monkeypatch.setenv("PYTHONPATH", str(shadow))
    renderers = renderers_for(BrollConfig(), RendererSettings(CharacterConfig(), tmp_path / "cache"))
    slot = BrollSlot(start=1.0, end=3.0, kind="character", action="wave", text="Welcome", reason="greeting")
    broll = render_broll(plan_of(slot), numbers(), tmp_path / "broll", WIDTH, HEIGHT, FPS, renderers)
    [clip] = broll.clips
    assert (clip.kind, clip.backend, clip.path) == ("title_card", "movis", "broll/broll-01-title_card.mp4")
    assert clip.fallback is not None and (clip.fallback.wanted, clip.fallback.used) == ("blender", "movis")
    assert "bpy" in clip.fallback.reason and "make setup" in clip.fallback.reason
    assert broll.producer.fallback == clip.fallback
    assert not list((tmp_path / "broll").glob("*.mov")) and (tmp_path / clip.path).is_file()
    Broll.model_validate_json(broll.model_dump_json())  # what broll.json holds


def test_a_clip_is_made_to_fit_where_the_edited_video_ends(tmp_path: Path) -> None:
    """A goodbye said just before the end: its clip ends with the video (the character pops out before
    it), rather than being cut off by the end of the video in mid-gesture; a slot with room keeps its
    length."""
    crash = fake_python(tmp_path, "exit 1")  # the title card Blender's failure gives is sized the same way
    renderers = {"character": given(BlenderRenderer(CharacterConfig(), tmp_path, python=crash))}
    slots = [
        BrollSlot(start=1.0, end=4.0, kind="title_card", text="Heat pumps"),
        BrollSlot(start=11.0, end=14.0, kind="character", action="wave", text="Thanks for watching"),
    ]
    keep = [Span(start=0.0, end=5.0), Span(start=6.0, end=13.0)]  # the edit ends 2 s after the goodbye
    broll = render_broll(plan_of(*slots, keep=keep), numbers(), tmp_path / "broll", WIDTH, HEIGHT, FPS,
                         renderers)  # fmt: skip
    assert [(c.start, c.duration) for c in broll.clips] == [(1.0, 3.0), (11.0, 2.0)]
    assert len(frames_of(tmp_path / broll.clips[1].path)) == 50


real = importlib.util.find_spec


def test_the_renderers_serve_exactly_the_config_values() -> None:
    for kind, field in BrollConfig.model_fields.items():
        assert set(typing.get_args(field.annotation)) <= set(RENDERERS.names), kind
    assert set(typing.get_args(BrollConfig.model_fields["character"].annotation)) == set(RENDERERS.names)


@pytest.mark.parametrize("together", ["in the source", "only in the edit"])
def test_a_failed_character_over_a_chart_leaves_the_chart_alone(tmp_path: Path, together: str) -> None:
    """The chart keeps the character's side clear, and when Blender fails no title card hides the chart.
    What is shown together is decided in the edit: a cut can bring a later character into a chart."""
    crash = fake_python(tmp_path, "exit 1")
    blender = BlenderRenderer(CharacterConfig(), tmp_path, python=crash)
    renderers = {"chart": given(MovisRenderer()), "character": given(blender)}
    chart = BrollSlot(start=2.0, end=4.0, kind="chart", text="60 %")
    if together == "in the source":
        pointing, keep = (
            BrollSlot(start=2.0, end=4.0, kind="character", action="point_left", text="60 %"),
            None,
        )
    else:  # 2.5-4.5 s cut: the character at 5 s is shown 3 s into the edit, while the chart is
        pointing = BrollSlot(start=5.0, end=7.0, kind="character", action="point_left", text="60 %")
        keep = [Span(start=0.0, end=2.5), Span(start=4.5, end=10.0)]
    plan = plan_of(chart, pointing, keep=keep)
    broll = render_broll(plan, numbers(), tmp_path / "broll", WIDTH, HEIGHT, FPS, renderers)
    assert [c.kind for c in broll.clips] == ["chart"]
    assert broll.producer.fallback is not None and "Blender failed" in broll.producer.fallback.reason
    assert any("the cutaway shown at the same time stays" in w for w in broll.producer.warnings)
    last = frames_of(tmp_path / broll.clips[0].path)[-1]
    bars = np.abs(last[..., :3].astype(int) - np.array(ACCENT)).max(axis=-1) < 40
    assert bars.any() and np.nonzero(bars.any(axis=0))[0].max() < 0.55 * WIDTH, "no room kept for it"


def test_the_benchmark_measures_each_render_in_a_process_of_its_own() -> None:
    """bench.character starts itself again for each measurement (its peak memory is then its own)."""
    from bench.character import measure

    measured = measure("movis", 64, 36, 3)
    assert measured["wall_s"] > 0 and measured["max_rss_mb"] > 20


def test_set_up_names_the_libraries_blender_needs_without_failing(tmp_path: Path) -> None:
    """make setup's system step checks the libraries bpy links and draws with (those the Dockerfile
    installs); a user who cannot install them is told which, and the set-up goes on (character slots then
    become title cards)."""
    repo = Path(__file__).resolve().parents[1]
    script = (repo / "tools" / "system-packages.sh").read_text(encoding="utf-8")
    listed = script.split("BLENDER_PACKAGES=(", 1)[1].split(")", 1)[0].split()
    dockerfile = (repo / "Dockerfile").read_text(encoding="utf-8").split()
    assert "libegl-mesa0" in listed and set(listed) <= set(dockerfile)
    shims = tmp_path / "bin"
    shims.mkdir()
    for name, body in (("dpkg-query", "exit 1"), ("id", "echo 1000")):  # nothing installed; not root
        (shims / name).write_text(f"#!/bin/sh\n{body}\n")
        (shims / name).chmod(0o755)
    env = {**os.environ, "PATH": f"{shims}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(["bash", str(repo / "tools" / "system-packages.sh")], capture_output=True,
                          text=True, env=env, timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "character B-roll" in proc.stderr and "libegl-mesa0" in proc.stderr


# --- with Blender -------------------------------------------------------------------------


@functools.cache
def bpy_problem() -> str | None:
    proc = subprocess.run([sys.executable, "-c", "import bpy"], capture_output=True, text=True, timeout=300)
    return None if proc.returncode == 0 else last_line(proc.stderr) or f"exit status {proc.returncode}"


@pytest.fixture(scope="session")
def blender() -> None:
    problem = bpy_problem()
    if problem:
        pytest.skip(f"Blender (bpy) cannot be imported here: {problem} — `make setup` installs it")


def frames_of(path: Path, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    proc = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgba", "-"],
        capture_output=True, check=True,
    )  # fmt: skip
    return np.frombuffer(proc.stdout, dtype=np.uint8).reshape(-1, height, width, 4)


def box(alpha: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.nonzero(alpha > 0)
    return int(cols.min()), int(rows.min()), int(cols.max()), int(rows.max())


@pytest.fixture(scope="session")
def wave_clip(blender: None, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, float]:
    """A 1 s wave at 320x180 rendered by Blender: the clip, the cache folder, and the seconds it took."""
    folder = tmp_path_factory.mktemp("character")
    started = time.monotonic()
    hit = character.render_clip(request("wave"), folder / "wave.mov", folder / "cache")
    assert not hit
    return folder / "wave.mov", folder / "cache", time.monotonic() - started


def test_a_one_second_clip_renders_with_alpha_and_the_gesture_moves(wave_clip) -> None:
    path, _, _ = wave_clip
    frames = frames_of(path)
    assert len(frames) == 25
    alpha = frames[..., 3]
    assert (alpha[0] > 0).mean() < 0.01 and (alpha[-1] > 0).mean() < 0.01, "it pops in and out"
    middle = frames[12]
    assert (middle[..., 3] == 0).mean() > 0.6, "most of the picture stays transparent"
    inside = middle[..., 3] > 0
    body = ndimage.binary_erosion(inside, iterations=3)  # less the soft outline around it
    assert body.sum() > 1000 and (middle[..., 3][body] == 255).mean() > 0.95, "the character is not opaque"
    rgb = middle[..., :3].astype(int)
    red = (rgb[..., 0] > rgb[..., 1] + 60) & (rgb[..., 0] > rgb[..., 2] + 60)
    assert red[inside].mean() > 0.15, "the jacket is not in the channel's primary colour"
    shot = framing(0.6, "right", WIDTH, HEIGHT)  # Blender drew this box of the frame, the rest is padding
    drawn = (shot.box_x, shot.box_y, shot.box_x + shot.box_width - 1, shot.box_y + shot.box_height - 1)
    boxes = [box(a) for a in alpha[3:-3]]
    assert all(b[0] > drawn[0] and b[1] > drawn[1] and b[2] < drawn[2] and b[3] < drawn[3] for b in boxes), (
        "the character reached the edge of the box Blender draws: something was cut off"
    )
    for left, top, right, bottom in boxes:
        assert left > 0 and top > 0 and right < WIDTH - 1 and bottom < HEIGHT - 1, "cut by the frame"
        assert left > WIDTH / 2, "the character stands in the right-hand part"
    moved = max(abs(a - b) for a, b in zip(boxes[0], boxes[len(boxes) // 2], strict=True))
    assert moved >= 4, f"the wave did not move the character's outline ({boxes[0]} vs the middle)"


def test_the_same_clip_comes_from_the_cache_without_blender(wave_clip, tmp_path: Path) -> None:
    path, cache, _ = wave_clip
    out = tmp_path / "again.mov"
    assert character.render_clip(request("wave"), out, cache, python="/nonexistent/python") is True
    assert out.read_bytes() == path.read_bytes()


@pytest.fixture(scope="module")
def pointing_at_a_chart(blender: None, talk: tuple[Path, Truth], tmp_path_factory) -> tuple[Broll, Path]:
    """The test talk's B-roll: a chart at 2 s with the character pointing at it, and an LLM's misspelt
    wave at 6 s, drawn at the talk's size (characters at half its height)."""
    results = tmp_path_factory.mktemp("results")
    config = CharacterConfig(max_height=180, primary_color=RED)
    renderers = renderers_for(BrollConfig(), RendererSettings(config, results / "cache", threads=2))
    slots = [
        BrollSlot(start=2.0, end=3.5, kind="chart", text="60 %"),
        BrollSlot(start=2.0, end=3.5, kind="character", action="point_left", text="60 %"),
        BrollSlot(start=6.0, end=7.5, kind="character", action="wavve", text="Hello"),
    ]
    broll = render_broll(plan_of(*slots), numbers(), results / "broll", 640, 360, FPS, renderers)
    return broll, results


def test_a_chart_keeps_clear_the_side_the_character_points_from(pointing_at_a_chart) -> None:
    broll, results = pointing_at_a_chart
    assert [(c.kind, c.action) for c in broll.clips] == [("chart", None), ("character", "point_left"),
                                                         ("character", "wave")]  # fmt: skip
    assert any("unknown action 'wavve': 'wave'" in w for w in broll.producer.warnings)
    assert [(c.width, c.height, c.has_alpha) for c in broll.clips[1:]] == [(320, 180, True)] * 2
    chart = frames_of(results / broll.clips[0].path, 640, 360)[-1]
    bars = np.abs(chart[..., :3].astype(int) - np.array(ACCENT)).max(axis=-1) < 40
    columns = np.nonzero(bars.any(axis=0))[0]
    assert columns.size and columns.max() < 0.55 * 640, "a bar stands where the character points from"


def test_a_character_slot_appears_in_the_final_video_at_its_time(
    pointing_at_a_chart, talk: tuple[Path, Truth], tmp_path: Path
) -> None:
    broll, results = pointing_at_a_chart
    source = talk[0]
    media = probe(source, slug="talk")
    plan = make_plan(media.duration_s, [])
    config = RenderConfig()
    # the plain edit, and the edit with the B-roll (the render reads the clips beside broll.json)
    plain = render(source, media, plan, config, tmp_path / "plain")
    from ave_core.render import chunk_jobs, join_chunks, render_audio, render_chunk

    full, _ = source_sound(source, media, tmp_path)
    render_audio(full, media, plan, config, tmp_path / "audio.m4a")
    videos = []
    for job in chunk_jobs(plan, media, config, broll, results):
        video = tmp_path / f"chunk-{job.index}.mp4"
        render_chunk(source, media, job, config, video)
        videos.append(video)
    final = tmp_path / "final.mp4"
    join_chunks(videos, tmp_path / "audio.m4a", final)

    def difference(at_s: float) -> tuple[np.ndarray, np.ndarray]:
        edited = frame_at(final, at_s)
        return np.abs(edited - frame_at(plain, at_s)).mean(axis=-1), edited

    for quiet in (1.0, 9.0):
        assert difference(quiet)[0].mean() < 2, f"B-roll at {quiet} s, outside its time"
    over_speaker, _ = difference(6.7)
    assert (over_speaker[:, 400:] > 40).mean() > 0.05, "no character over the speaker at 6.7 s"
    assert over_speaker[:, :200].mean() < 2, "the picture-in-picture covers more than its corner"
    over_chart, edited = difference(2.8)
    assert (over_chart[:, :200] > 40).mean() > 0.3, "no chart at 2.8 s"
    red = (edited[..., 0] > edited[..., 1] + 60) & (edited[..., 0] > 120)
    assert red[:, 400:].sum() > 200, "no character over the chart at 2.8 s"


def frame_at(path: Path, at_s: float, width: int = 640, height: int = 360) -> np.ndarray:
    """The RGB frame shown at `at_s` seconds, as ints."""
    proc = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-ss", f"{at_s:.3f}", "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True, check=True,
    )  # fmt: skip
    return np.frombuffer(proc.stdout, dtype=np.uint8).reshape(height, width, 3).astype(int)


def test_character_clips_are_quicktime_animation_with_alpha(wave_clip) -> None:
    path, _, _ = wave_clip
    info = json.loads(
        subprocess.run(
            ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name,pix_fmt",
             "-of", "json", str(path)], capture_output=True, text=True, check=True,
        ).stdout
    )["streams"][0]  # fmt: skip
    assert (info["codec_name"], info["pix_fmt"]) == ("qtrle", "argb")


def test_the_report_contact_sheet_shows_a_frame_of_each_character_clip(wave_clip, tmp_path: Path) -> None:
    from PIL import Image

    from ave_core.models import BrollClip, Scenes
    from ave_core.report import contact_sheet

    path, _, _ = wave_clip
    (tmp_path / "broll").mkdir()
    (tmp_path / "broll" / path.name).write_bytes(path.read_bytes())
    clip = BrollClip(
        path=f"broll/{path.name}", kind="character", text="Hello", start=3.0, duration=1.0, width=WIDTH,
        height=HEIGHT, has_alpha=True, backend="blender", action="wave",
    )  # fmt: skip
    scenes = Scenes.model_construct(shots=[])
    sheets = {}
    for name, broll in (
        ("without", None),
        ("with", Broll(producer=make_producer("broll", "test"), clips=[clip])),
    ):
        contact_sheet(scenes, tmp_path, tmp_path / f"{name}.png", broll=broll)
        sheets[name] = np.asarray(Image.open(tmp_path / f"{name}.png").convert("RGB")).astype(int)
    assert sheets["with"].shape[0] > sheets["without"].shape[0], "no row for the character clips"
    red = (sheets["with"][..., 0] > sheets["with"][..., 1] + 60) & (sheets["with"][..., 0] > 120)
    assert red.sum() > 100, "the character's frame is not on the sheet"
