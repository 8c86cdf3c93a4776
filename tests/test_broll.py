"""B-roll: clips of the right size, rate and length, drawn (not blank), a chart whose bar grows, text that
fits the frame, a lower third with transparency, and no movis frame cache left in the temp folder."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from ave_core.broll import (
    ACCENT,
    BACKGROUND,
    chart_bars,
    chart_number,
    drawn_kind,
    format_number,
    render_broll,
)
from ave_core.models import Analysis, Broll, BrollSlot, Plan, Span, SpokenNumber, make_producer
from tests.conftest import require_tools

# movis 0.7 converts one-element arrays to floats, which numpy >= 1.25 deprecates; nothing ave can change
pytestmark = pytest.mark.filterwarnings("ignore:Conversion of an array with ndim > 0:DeprecationWarning")

WIDTH, HEIGHT, FPS = 640, 360, 25.0
SLOT_S = 2.0
LONG_TERM = "Thermal bridging through uninsulated cavity walls"


def make_plan(slots: list[BrollSlot]) -> Plan:
    return Plan(
        producer=make_producer("direct", "test"), backend="test", keep=[Span(start=0, end=60)], cuts=[],
        broll=slots,
    )  # fmt: skip


def make_analysis() -> Analysis:
    numbers = [
        SpokenNumber(
            text="60 %", value=60, kind="percent", context="Heating uses about 60 % of it.", time=10.2
        ),
        SpokenNumber(text="$300", value=300, kind="money", context="The loft saves $300 a year.", time=40.0),
        SpokenNumber(
            text="$1,200", value=1200, kind="money", context="A new boiler costs $1,200.", time=50.0
        ),
    ]
    return Analysis(producer=make_producer("analyze", "test"), numbers=numbers)


SLOTS = [
    BrollSlot(start=10.0, end=10.0 + SLOT_S, kind="chart", text="60 %", reason="spoken percent"),
    BrollSlot(start=20.0, end=20.0 + SLOT_S, kind="title_card", text=LONG_TERM, reason="key concept"),
    BrollSlot(start=30.0, end=30.0 + SLOT_S, kind="lower_third", text="Dr Jane Example", reason="speaker"),
]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Broll, Path, list[str], list[str]]:
    """The three slots rendered at 640x360 with a temp folder of their own: broll, results folder, temp
    folder listings before and after."""
    require_tools()
    results = tmp_path_factory.mktemp("results")
    temp = tmp_path_factory.mktemp("temp")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tempfile, "tempdir", str(temp))
        before = sorted(p.name for p in temp.iterdir())
        broll = render_broll(make_plan(SLOTS), make_analysis(), results / "broll", WIDTH, HEIGHT, FPS)
        after = sorted(p.name for p in temp.iterdir())
    return broll, results, before, after


def probe(path: Path) -> dict[str, str]:
    proc = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries",
         "stream=codec_name,pix_fmt,width,height,r_frame_rate,nb_read_frames:format=duration",
         "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    data = json.loads(proc.stdout)
    return {**data["streams"][0], "duration": data["format"]["duration"]}


def frame(path: Path, at: float, channels: int = 3) -> np.ndarray:
    """The frame shown at `at` seconds, RGB (or RGBA with channels=4)."""
    pix_fmt = "rgba" if channels == 4 else "rgb24"
    proc = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-ss", f"{at:.3f}", "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", pix_fmt, "-"],
        capture_output=True, check=True,
    )  # fmt: skip
    return np.frombuffer(proc.stdout, dtype=np.uint8).reshape(HEIGHT, WIDTH, channels)


def near(image: np.ndarray, colour: tuple[int, int, int], tolerance: int = 40) -> np.ndarray:
    return np.abs(image[..., :3].astype(int) - np.array(colour)).max(axis=-1) <= tolerance


def clip_path(broll: Broll, results: Path, kind: str) -> Path:
    return results / next(c.path for c in broll.clips if c.kind == kind)


def test_one_clip_per_slot_with_paths_relative_to_the_results_folder(rendered):
    broll, results, _, _ = rendered
    assert [c.path for c in broll.clips] == [
        "broll/broll-01-chart.mp4",
        "broll/broll-02-title_card.mp4",
        "broll/broll-03-lower_third.mov",
    ]
    assert [c.has_alpha for c in broll.clips] == [False, False, True]
    assert [c.start for c in broll.clips] == [10.0, 20.0, 30.0]
    assert all((results / c.path).is_file() for c in broll.clips)
    assert all((c.width, c.height, c.duration) == (WIDTH, HEIGHT, SLOT_S) for c in broll.clips)
    assert broll.producer.stage == "broll" and broll.producer.warnings == []
    assert set(broll.producer.versions) >= {"movis", "PySide6"}


def test_clips_have_the_size_rate_and_length_asked_for(rendered):
    broll, results, _, _ = rendered
    for clip in broll.clips:
        info = probe(results / clip.path)
        assert (int(info["width"]), int(info["height"])) == (WIDTH, HEIGHT), clip.path
        assert info["r_frame_rate"] == "25/1", clip.path
        assert abs(float(info["duration"]) - SLOT_S) <= 1 / FPS, clip.path
        assert abs(int(info["nb_read_frames"]) - SLOT_S * FPS) <= 1, clip.path
        expected = ("qtrle", "argb") if clip.has_alpha else ("h264", "yuv420p")
        assert (info["codec_name"], info["pix_fmt"]) == expected, clip.path


def test_cutaways_are_drawn_not_blank(rendered):
    broll, results, _, _ = rendered
    for kind in ("chart", "title_card"):
        middle = frame(clip_path(broll, results, kind), SLOT_S / 2)
        assert middle.std() > 10, kind
        assert near(middle, BACKGROUND, 12).mean() > 0.3, f"{kind}: the background is not there"


def test_chart_bar_grows(rendered):
    broll, results, _, _ = rendered
    path = clip_path(broll, results, "chart")
    early, late = (near(frame(path, at), ACCENT).sum() for at in (0.24, 1.6))
    assert late > 500, "no bar in the accent colour at the end"
    assert late > 3 * early


def test_long_title_is_shrunk_to_fit_the_frame(rendered):
    broll, results, _, _ = rendered
    last = frame(clip_path(broll, results, "title_card"), SLOT_S - 1 / FPS)
    ink = ~near(last, BACKGROUND, 24)
    columns = np.nonzero(ink.any(axis=0))[0]
    assert columns.size, "no text on the title card"
    assert columns.min() >= 0.04 * WIDTH and columns.max() <= 0.96 * WIDTH


def test_lower_third_is_an_overlay_with_transparency(rendered):
    broll, results, _, _ = rendered
    middle = frame(clip_path(broll, results, "lower_third"), SLOT_S / 2, channels=4)
    alpha = middle[..., 3]
    assert (alpha == 0).mean() > 0.6, "most of the picture should stay visible"
    opaque = alpha > 200
    assert opaque.any() and opaque[: HEIGHT // 2].sum() == 0, "the strip belongs in the lower part"
    assert middle[opaque][:, :3].std() > 20, "the strip holds text"


def test_no_movis_frame_cache_is_left_in_the_temp_folder(rendered):
    _, _, before, after = rendered
    assert after == before
    assert not [name for name in after if name.startswith("diskcache-")]


def test_a_plan_without_broll_gives_no_clips(tmp_path):
    broll = render_broll(make_plan([]), make_analysis(), tmp_path / "broll", WIDTH, HEIGHT, FPS)
    assert broll.clips == []
    assert not (tmp_path / "broll").exists() or not any((tmp_path / "broll").iterdir())


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        (60, "percent", "60%"),
        (12.5, "percent", "12.5%"),
        (300, "money", "$300"),
        (1200, "money", "$1,200"),
        (4.99, "money", "$4.99"),
        (2_500_000, "money", "$2.5M"),
        (2024, "year", "2024"),
        (1500, "count", "1,500"),
    ],
)
def test_numbers_are_written_as_people_read_them(value, kind, expected):
    assert format_number(value, kind) == expected


def test_money_is_compared_with_the_other_amounts_said():
    slot = BrollSlot(start=40.0, end=43.0, kind="chart", text="$300")
    number = chart_number(slot, make_analysis())
    assert number is not None and number.value == 300
    bars = chart_bars(number, make_analysis())
    assert [(b.label(), b.highlight) for b in bars] == [("$300", True), ("$1,200", False)]
    assert [b.label(0.5) for b in bars] == ["$150", "$600"]


def test_percent_is_compared_with_the_whole():
    number = chart_number(SLOTS[0], make_analysis())
    assert number is not None
    assert [(b.label(), b.highlight) for b in chart_bars(number, make_analysis())] == [
        ("60%", True),
        ("100%", False),
    ]


def test_a_chart_without_a_number_becomes_a_title_card_with_a_warning():
    slot = BrollSlot(start=5.0, end=7.0, kind="chart", text="growth")
    assert drawn_kind(slot, make_analysis())[0] == "title_card"
    empty = BrollSlot(start=5.0, end=7.0, kind="title_card", text=" ")
    assert drawn_kind(empty, make_analysis())[0] is None


def test_a_graphic_shown_again_is_rendered_once(tmp_path):
    """A talk that says the same number or term twice gets one clip file for it, laid at both places."""
    analysis = make_analysis()
    slots = [
        BrollSlot(start=10.0, end=11.0, kind="title_card", text="Insulation", reason="key concept"),
        BrollSlot(start=20.0, end=21.0, kind="title_card", text="Insulation ", reason="said again"),
        BrollSlot(start=30.0, end=31.0, kind="title_card", text="Windows", reason="another term"),
        BrollSlot(start=40.0, end=43.0, kind="title_card", text="Insulation", reason="a longer slot"),
        BrollSlot(start=70.0, end=71.0, kind="chart", text="60 %", reason="a percent"),
        BrollSlot(start=80.0, end=81.0, kind="chart", text="60%", reason="the same percent again"),
    ]
    broll = render_broll(make_plan(slots), analysis, tmp_path / "broll", 160, 90, FPS)
    paths = [clip.path for clip in broll.clips]
    # the same term or number on the same canvas is one file; a longer slot is another clip
    assert paths[0] == paths[1] and paths[4] == paths[5]
    assert len(set(paths)) == 4 and paths[3] != paths[0]
    assert [clip.start for clip in broll.clips] == [10.0, 20.0, 30.0, 40.0, 70.0, 80.0]
    assert [clip.text for clip in broll.clips][:2] == ["Insulation", "Insulation "]
    assert sorted(p.name for p in (tmp_path / "broll").iterdir()) == sorted(Path(p).name for p in set(paths))
