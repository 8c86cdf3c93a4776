"""The NLE timeline: a clip per keep range on whole frames, markers at the joins, files NLE adapters read."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
import pytest

from ave_core.models import (
    BrollSlot,
    Cut,
    Emphasis,
    MediaInfo,
    Plan,
    complement,
    make_producer,
    read_artifact,
)
from ave_core.timeline import EXPORTS, build_timeline, write_timeline
from ave_core.timemap import EditMap, output_fps

NTSC = 30000 / 1001


def make_media(fps: float, duration_s: float, audio: bool = True, variable: bool = False) -> MediaInfo:
    """A media.json for a 1280x720 H.264 file, as the probe stage writes it."""
    return MediaInfo.model_validate(
        {
            "producer": make_producer("probe", "test").model_dump(),
            "source": {"path": "input/lesson 1.mp4", "original_name": "lesson 1.mp4", "slug": "lesson-1"}
            | {"size_bytes": 1000},
            "container": "mov,mp4",
            "duration_s": duration_s,
            "video": {
                "index": 0,
                "codec": "h264",
                "width": 1280,
                "height": 720,
                "display_width": 1280,
                "display_height": 720,
                "rotation": 0,
                "fps": fps,
                "nominal_fps": fps,
                "variable_frame_rate": variable,
                "frame_interval_spread": 0.0,
            },
            "audio_streams": [{"index": 1, "codec": "aac", "channels": 2, "sample_rate": 48000}]
            if audio
            else [],
        }
    )


def lesson_plan() -> Plan:
    """Twenty seconds with five cuts, two emphases and two B-roll slots (one of them cut away entirely)."""
    cuts = [
        Cut(start=0.0, end=0.63, reason="silence", rationale="0.6 s without speech", confidence=0.95),
        Cut(start=3.217, end=3.9, reason="filler", rationale='filler word "um"', confidence=0.9),
        Cut(start=7.5, end=9.25, reason="retake", rationale="said again at 9.3 s", confidence=0.8),
        Cut(start=12.01, end=12.3, reason="silence", rationale="0.3 s without speech", confidence=0.95),
        Cut(start=19.1, end=20.0, reason="silence", rationale="0.9 s without speech", confidence=0.95),
    ]
    return Plan(
        producer=make_producer("direct", "test"),
        backend="rules",
        keep=complement(cuts, 20.0),
        cuts=cuts,
        emphasis=[
            Emphasis(time=5.0, reason="emotional peak", rationale="loud", confidence=0.7),
            Emphasis(time=15.55, reason="emotional peak", rationale="smile", confidence=0.6),
        ],
        broll=[
            BrollSlot(start=10.0, end=13.0, kind="chart", text="60 %", reason="spoken percent"),
            BrollSlot(start=7.6, end=9.0, kind="title_card", text="Gone", reason="key concept"),
        ],
    )


@pytest.fixture(params=["lesson 25 fps", "workflow talk"])
def case(request: pytest.FixtureRequest) -> tuple[str, Plan, MediaInfo]:
    """(label, plan, media): a hand-made lesson, and the talk as the whole workflow edited it."""
    if request.param == "lesson 25 fps":
        return request.param, lesson_plan(), make_media(25.0, 20.0)
    results = request.getfixturevalue("finished_talk") / "results" / "talk"
    plan = read_artifact(results / "plan.json", Plan)
    return request.param, plan, read_artifact(results / "media.json", MediaInfo)


def markers_of(track: otio.schema.Track, kind: str | None = None) -> list[otio.schema.Marker]:
    return [m for _, m in clip_markers(track, kind)]


def clip_markers(
    track: otio.schema.Track, kind: str | None = None
) -> list[tuple[otio.schema.Clip, otio.schema.Marker]]:
    """(clip, marker) for every marker on the track's clips, of one `ave` kind or all."""
    pairs = [(clip, m) for clip in track for m in clip.markers]
    return [(c, m) for c, m in pairs if kind is None or m.metadata["ave"]["kind"] == kind]


def edited_frame(clip: otio.schema.Clip, marker: otio.schema.Marker) -> int:
    """Where a clip's marker lies in the timeline, in frames."""
    record_in = clip.range_in_parent().start_time.to_frames()
    return record_in + marker.marked_range.start_time.to_frames() - clip.source_range.start_time.to_frames()


def test_clips_follow_the_keep_ranges_on_whole_frames(case: tuple[str, Plan, MediaInfo]) -> None:
    label, plan, media = case
    timeline = build_timeline(plan, media, "/projects/talk/input/lesson 1.mp4", label)
    rate = output_fps(media)
    edit_map = EditMap.from_keep(plan.keep)
    video, audio = timeline.video_tracks()[0], timeline.audio_tracks()[0]
    assert len(video) == len(audio) == len(edit_map.keep) == len(plan.keep)
    assert timeline.global_start_time == otio.opentime.RationalTime(0, rate)
    assert abs(video.duration().to_seconds() - edit_map.duration) <= 1 / rate
    assert audio.duration() == video.duration()
    for clip, span in zip(video, edit_map.keep, strict=True):
        assert clip.source_range.start_time.rate == rate
        # both ends within a frame of the keep range, the clips still adding up to the edited length
        assert abs(clip.source_range.start_time.to_seconds() - span.start) < 1 / rate
        assert abs(clip.source_range.end_time_exclusive().to_seconds() - span.end) < 1 / rate
        reference = clip.media_reference
        assert reference.target_url == "file:///projects/talk/input/lesson%201.mp4"
        assert reference.available_range.duration.to_frames() == round(media.duration_s * rate)
        assert clip.source_range.end_time_exclusive() <= reference.available_range.end_time_exclusive()
    for clip, offset in zip(video, edit_map.offsets(), strict=True):
        assert abs(clip.range_in_parent().start_time.to_seconds() - offset) <= 0.5 / rate + 1e-9


def test_markers_sit_at_the_joins_and_keep_the_decisions(case: tuple[str, Plan, MediaInfo]) -> None:
    label, plan, media = case
    timeline = build_timeline(plan, media, "/tmp/lesson.mp4", label)
    rate = output_fps(media)
    edit_map = EditMap.from_keep(plan.keep)
    video = timeline.video_tracks()[0]
    cut_markers = clip_markers(video, "cut")
    assert len(cut_markers) == len(plan.cuts)
    by_source = {
        (m.metadata["ave"]["source_start"], m.metadata["ave"]["source_end"]): (c, m) for c, m in cut_markers
    }
    last_frame = video.duration().to_frames() - 1
    for cut in plan.cuts:
        clip, marker = by_source[(cut.start, cut.end)]
        assert marker.name == cut.reason and marker.color == otio.schema.MarkerColor.RED
        assert marker.metadata["ave"]["rationale"] == cut.rationale
        assert marker.metadata["ave"]["confidence"] == cut.confidence
        assert cut.rationale in marker.comment
        join = min(round(edit_map.to_edited_clamped(cut.start) * rate), last_frame)
        assert edited_frame(clip, marker) == join, (cut, join)
    emphasis = markers_of(video, "emphasis")
    assert len(emphasis) == len(plan.emphasis)
    assert {m.color for m in emphasis} == {otio.schema.MarkerColor.YELLOW}
    broll = markers_of(video, "broll")
    kept_slots = [s for s in plan.broll if edit_map.span_to_edited(s.start, s.end) is not None]
    assert [m.name for m in broll] == [s.text for s in kept_slots]
    assert {m.color for m in broll} == {otio.schema.MarkerColor.CYAN}


def test_lesson_markers_land_on_the_clip_after_each_cut() -> None:
    timeline = build_timeline(lesson_plan(), make_media(25.0, 20.0), "/tmp/lesson.mp4", "lesson")
    video = timeline.video_tracks()[0]
    names = [[m.name for m in clip.markers] for clip in video]
    # keep ranges: 0.63-3.217, 3.9-7.5, 9.25-12.01, 12.3-19.1; the last cut marks the last clip's end
    assert names == [
        ["silence"],
        ["filler", "punch_in"],
        ["retake", "60 %"],
        ["silence", "punch_in", "silence"],
    ]
    clip, chart = clip_markers(video, "broll")[0]
    # 10.0-13.0 s of the source lies across the join at 12.01: the marker stops at its clip's end
    assert chart.marked_range.start_time.to_frames() == 250
    assert chart.marked_range.end_time_exclusive() == clip.source_range.end_time_exclusive()


def read_back(path: str, rate: float) -> otio.schema.Timeline:
    options = {"rate": rate} if path.endswith(".edl") else {}
    return otio.adapters.read_from_file(path, **options)


def test_every_written_file_reads_back(case: tuple[str, Plan, MediaInfo], tmp_path: Path) -> None:
    label, plan, media = case
    timeline = build_timeline(plan, media, str(tmp_path / "input" / "lesson.mp4"), label)
    rate = output_fps(media)
    written = write_timeline(timeline, tmp_path / "timeline")
    assert set(written) == {"otio", *EXPORTS}
    missing = [a for a in EXPORTS.values() if a not in otio.adapters.available_adapter_names()]
    assert not missing, f"adapters missing from the environment: {missing}"
    clips = len(timeline.video_tracks()[0])
    frames = timeline.video_tracks()[0].duration().to_frames()
    markers = len(markers_of(timeline.video_tracks()[0]))
    for kind, path in written.items():
        assert path == str(tmp_path / "timeline" / f"timeline.{kind}"), written
        again = read_back(path, rate)
        video = again.video_tracks()[0]
        assert len(video) == clips, kind
        assert abs(video.duration().to_frames() - frames) <= clips, kind
        assert len(markers_of(video)) == markers, kind
        # an EDL holds the picture only; in FCPXML the picture's clips carry their own sound
        audio = [] if kind in ("edl", "fcpxml") else [clips]
        assert [len(track) for track in again.audio_tracks()] == audio, kind
    assert not list((tmp_path / "timeline").glob(".*tmp")), "temporary files left behind"


def test_the_otio_file_is_identical_after_a_round_trip(tmp_path: Path) -> None:
    timeline = build_timeline(lesson_plan(), make_media(25.0, 20.0), "/tmp/lesson.mp4", "lesson")
    written = write_timeline(timeline, tmp_path)
    again = otio.adapters.read_from_file(written["otio"])
    assert again.is_equivalent_to(timeline)
    assert otio.adapters.write_to_string(again, "otio_json") == Path(written["otio"]).read_text()
    assert again.tracks[0][1].markers[0].metadata["ave"]["reason"] == "filler"


def test_fcpxml_describes_the_source_with_its_sound_and_size(tmp_path: Path) -> None:
    timeline = build_timeline(lesson_plan(), make_media(NTSC, 20.0), "/tmp/lesson.mp4", "lesson")
    frames = timeline.video_tracks()[0].duration().to_frames()
    written = write_timeline(timeline, tmp_path)
    root = ET.parse(written["fcpxml"]).getroot()
    fmt, asset = root.find("resources/format"), root.find("resources/asset")
    assert fmt is not None and asset is not None
    assert fmt.get("frameDuration") == "1001/30000s"
    assert (fmt.get("width"), fmt.get("height")) == ("1280", "720")
    assert (asset.get("hasAudio"), asset.get("hasVideo")) == ("1", "1")
    clips = root.findall(".//asset-clip")
    assert len(clips) == len(lesson_plan().keep)
    total = sum(Fraction(c.get("duration", "0s").rstrip("s")) for c in clips)
    assert total == Fraction(frames * 1001, 30000)


def test_ntsc_rate_survives_fcp_xml_and_otio(tmp_path: Path) -> None:
    timeline = build_timeline(lesson_plan(), make_media(29.97, 20.0), "/tmp/lesson.mp4", "lesson")
    assert timeline.global_start_time.rate == pytest.approx(NTSC, abs=1e-9)
    written = write_timeline(timeline, tmp_path)
    frames = timeline.video_tracks()[0].duration().to_frames()
    for kind in ("otio", "xml"):
        video = read_back(written[kind], NTSC).video_tracks()[0]
        assert video.duration().to_frames() == frames and video.duration().rate == pytest.approx(NTSC)
    edl = read_back(written["edl"], NTSC).video_tracks()[0]
    assert len(edl) == len(lesson_plan().keep) and abs(edl.duration().to_frames() - frames) <= len(edl)


@pytest.mark.parametrize(
    "fps, variable, expected",
    [
        (25.0, False, 25.0),
        (29.97, False, NTSC),
        (23.976, False, 24000 / 1001),
        (29.6, True, NTSC),
        (12.5, False, 12.5),
        # a variable-rate clip is conformed to the standard rate nearest its average, not its declared one
        (25.3, True, 25.0),
        (27.0, True, 25.0),
    ],
)
def test_the_output_rate_snaps_to_standard_rates(fps: float, variable: bool, expected: float) -> None:
    assert output_fps(make_media(fps, 10.0, variable=variable)) == pytest.approx(expected, abs=1e-9)


def test_a_source_without_sound_has_no_audio_track(tmp_path: Path) -> None:
    timeline = build_timeline(lesson_plan(), make_media(25.0, 20.0, audio=False), "/tmp/lesson.mp4", "mute")
    assert len(timeline.audio_tracks()) == 0 and len(timeline.video_tracks()[0]) == 4
    written = write_timeline(timeline, tmp_path)
    root = ET.parse(written["fcpxml"]).getroot()
    assert root.find("resources/asset").get("hasAudio") == "0"


def test_a_format_the_adapter_cannot_write_is_skipped_with_its_reason(tmp_path: Path) -> None:
    timeline = build_timeline(lesson_plan(), make_media(25.0, 20.0), "/tmp/lesson.mp4", "two pictures")
    second = timeline.video_tracks()[0].deepcopy()
    second.name = "Video 2"
    timeline.tracks.append(second)  # CMX 3600 holds a single picture track
    (tmp_path / "timeline.edl").write_text("stale EDL of an earlier run\n")
    written = write_timeline(timeline, tmp_path)
    assert written["edl"].startswith("skipped: cmx_3600 cannot write this timeline: ")
    reread = otio.adapters.read_from_file(written["otio"])
    recorded = reread.metadata["ave"]["exports"]
    assert recorded["edl"] == written["edl"], "the skip reason is in the .otio, not only in the log"
    assert recorded["fcpxml"] == "timeline.fcpxml"
    assert "\n" not in written["edl"] and "video track" in written["edl"]
    assert not (tmp_path / "timeline.edl").exists()
    assert Path(written["xml"]).exists() and Path(written["otio"]).exists()
