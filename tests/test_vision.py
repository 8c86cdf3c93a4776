import json
from fractions import Fraction
from pathlib import Path

import cv2
import pytest

from ave_core.config import ScenesConfig
from ave_core.errors import InputError
from ave_core.evaluation import shot_boundary_f1
from ave_core.media import probe
from ave_core.models import FaceBox, Scenes, read_artifact, write_artifact
from ave_core.synth import Truth
from ave_core.vision import (
    DETECTORS,
    analyze_scenes,
    cut_times,
    effective_threshold,
)
from tests.conftest import ffmpeg

# face_recognition's expected box for obama.jpg (dlib HOG), see faces/face_recognition/EXPECTED.txt
OBAMA_TOP_RIGHT_BOTTOM_LEFT = (142, 617, 409, 349)


def analyze(path: Path, results: Path, **settings: object) -> Scenes:
    return analyze_scenes(path, probe(path, slug=path.stem), ScenesConfig(**settings), results / "frames")


def iou(box: FaceBox, top_right_bottom_left: tuple[int, int, int, int]) -> float:
    top, right, bottom, left = top_right_bottom_left
    width = max(0, min(box.x + box.w, right) - max(box.x, left))
    height = max(0, min(box.y + box.h, bottom) - max(box.y, top))
    inter = width * height
    return inter / (box.w * box.h + (right - left) * (bottom - top) - inter)


def assert_covers(scenes: Scenes, duration: float, frame_s: float) -> None:
    shots = scenes.shots
    assert shots[0].start == 0.0 and shots[0].start_frame == 0
    assert shots[-1].end == pytest.approx(duration, abs=frame_s)
    assert shots[-1].end_frame == scenes.frame_count
    for before, after in zip(shots, shots[1:], strict=False):
        assert (before.end, before.end_frame) == (after.start, after.start_frame)
        assert before.start < before.end and before.start_frame < before.end_frame


def jpeg_size(results: Path, keyframe: str | None) -> tuple[int, int]:
    assert keyframe is not None
    path = results / keyframe
    assert path.read_bytes()[:3] == b"\xff\xd8\xff", f"{path} is not a JPEG"
    image = cv2.imread(str(path))
    assert image is not None
    return image.shape[1], image.shape[0]


@pytest.fixture(scope="module")
def obama_video(shared_dev: Path, media_dir: Path) -> Path:
    """A 2 s 25 fps video of obama.jpg (910x1137, padded to 910x1138)."""
    path = media_dir / "obama.mp4"
    image = shared_dev / "faces" / "face_recognition" / "obama.jpg"
    ffmpeg(
        *("-loop", "1", "-framerate", "25", "-t", "2", "-i", str(image), "-vf", "pad=910:1138"),
        *("-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", str(path)),
    )
    return path


@pytest.fixture(scope="module")
def talk_scenes(talk: tuple[Path, Truth], tmp_path_factory: pytest.TempPathFactory) -> tuple[Scenes, Path]:
    results = tmp_path_factory.mktemp("talk-results")
    return analyze(talk[0], results), results


def test_generated_cuts_are_found_exactly(talk: tuple[Path, Truth], talk_scenes: tuple[Scenes, Path]) -> None:
    path, truth = talk
    scenes, results = talk_scenes
    assert shot_boundary_f1(cut_times(scenes), truth.shot_cuts, 0.2) == (1.0, 1.0, 1.0)
    assert cut_times(scenes) == pytest.approx(truth.shot_cuts, abs=0.5 / truth.fps)
    assert scenes.frame_count == probe(path, slug="talk").video.frame_count
    assert (scenes.width, scenes.height) == (640, 360)
    assert_covers(scenes, truth.duration, 1 / truth.fps)
    assert scenes.detector == "adaptive" and scenes.threshold == 3.0
    assert scenes.producer.backend == "pyscenedetect-adaptive+opencv-haar"
    assert scenes.producer.versions["scenedetect"] == "0.7.2"


def test_every_shot_has_an_upright_keyframe_and_quality(talk_scenes: tuple[Scenes, Path]) -> None:
    scenes, results = talk_scenes
    for number, shot in enumerate(scenes.shots, start=1):
        assert shot.keyframe == f"frames/shot-{number:03d}.jpg"
        assert jpeg_size(results, shot.keyframe) == (640, 360)
        assert shot.keyframe_time is not None and shot.start <= shot.keyframe_time < shot.end
        assert shot.sharpness is not None and shot.sharpness > 0
        assert shot.brightness is not None and 0 < shot.brightness < 255
        assert shot.contrast is not None and shot.contrast > 0
        assert shot.colourfulness is not None and shot.colourfulness >= 0
    # the shots are different test pictures, so their quality figures differ
    assert len({round(s.colourfulness or 0, 1) for s in scenes.shots}) == len(scenes.shots)


def test_scenes_survive_writing_and_reading(talk_scenes: tuple[Scenes, Path], tmp_path: Path) -> None:
    scenes, _ = talk_scenes
    write_artifact(tmp_path / "scenes.json", scenes)
    assert read_artifact(tmp_path / "scenes.json", Scenes) == scenes


def test_faces_are_sampled_at_the_configured_rate(
    talk_scenes: tuple[Scenes, Path], talk: tuple[Path, Truth]
) -> None:
    scenes, _ = talk_scenes
    times = [sample.time for sample in scenes.faces]
    assert len(times) == pytest.approx(talk[1].duration * 2, abs=1.5)
    assert all(0.4 <= b - a <= 0.6 for a, b in zip(times, times[1:], strict=False))
    # test pictures have no faces
    assert sum(len(sample.faces) for sample in scenes.faces) <= 1


@pytest.mark.parametrize("name", DETECTORS.names)
def test_each_detector_runs_with_its_default_threshold(
    talk: tuple[Path, Truth], tmp_path: Path, name: str
) -> None:
    path, truth = talk
    scenes = analyze(path, tmp_path, detector=name)
    assert scenes.detector == name
    assert scenes.threshold == effective_threshold(ScenesConfig(detector=name))
    assert_covers(scenes, truth.duration, 1 / truth.fps)
    if name != "threshold":  # the threshold detector finds fades to black, and the clip has none
        assert shot_boundary_f1(cut_times(scenes), truth.shot_cuts)[2] == 1.0


def test_threshold_reaches_the_detector(talk: tuple[Path, Truth], tmp_path: Path) -> None:
    # the adaptive ratio is capped at 255, so no cut can pass 1000
    scenes = analyze(talk[0], tmp_path, detector="adaptive", threshold=1000.0)
    assert scenes.threshold == 1000.0 and len(scenes.shots) == 1


def test_min_shot_length_is_in_seconds(talk: tuple[Path, Truth], tmp_path: Path) -> None:
    path, truth = talk
    first_cut = truth.shot_cuts[0]
    # the first shot is now too short, so its cut goes; the second cut is far enough from the start
    scenes = analyze(path, tmp_path, min_shot_s=first_cut + 0.2)
    assert cut_times(scenes) == pytest.approx(truth.shot_cuts[1:], abs=0.02)


def test_variable_frame_rate_cut_time_comes_from_timestamps(media_dir: Path, tmp_path: Path) -> None:
    vfr = media_dir / "vfr-cut.mp4"
    # 50 frames at 25 fps, then 10 fps; the picture changes at frame 75, which is shown at 4.5 s
    graph = "[0:v][1:v]concat=n=2:v=1:a=0,setpts='if(lt(N,50),N/25,2+(N-50)/10)/TB'[v]"
    ffmpeg(
        *("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=3"),
        *("-f", "lavfi", "-i", "smptehdbars=size=320x240:rate=25:duration=3"),
        *("-filter_complex", graph, "-map", "[v]", "-fps_mode", "passthrough"),
        *("-c:v", "libx264", "-preset", "ultrafast", str(vfr)),
    )
    media = probe(vfr, slug="vfr")
    assert media.video is not None and media.video.variable_frame_rate
    scenes = analyze_scenes(vfr, media, ScenesConfig(), tmp_path / "frames")
    assert scenes.frame_count == 150
    assert [s.start_frame for s in scenes.shots] == [0, 75]
    assert cut_times(scenes) == pytest.approx([4.5], abs=0.2)
    # a frame count over the average rate would put it at ~6 s
    assert 75 / media.video.fps > 5.5
    assert scenes.shots[-1].end == pytest.approx(12.0, abs=0.11)


def test_short_shot_gets_its_middle_frame(media_dir: Path, tmp_path: Path) -> None:
    clip = media_dir / "short-shot.mp4"
    # 2.2 s, 0.32 s, 2 s: sampling once a second never lands inside the middle shot
    ffmpeg(
        *("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2.2"),
        *("-f", "lavfi", "-i", "color=c=red:size=320x240:rate=25:duration=0.32"),
        *("-f", "lavfi", "-t", "2", "-i", "mandelbrot=size=320x240:rate=25"),
        *("-filter_complex", "[0:v][1:v][2:v]concat=n=3:v=1:a=0[v]", "-map", "[v]"),
        *("-c:v", "libx264", "-preset", "ultrafast", str(clip)),
    )
    scenes = analyze(clip, tmp_path, face_sample_hz=1.0, min_shot_s=0.1)
    assert [s.start_frame for s in scenes.shots] == [0, 55, 63]
    short = scenes.shots[1]
    assert not [f for f in scenes.faces if short.start <= f.time < short.end]
    assert short.keyframe_time == pytest.approx(2.36, abs=0.05)
    assert short.colourfulness is not None and short.colourfulness > 80  # pure red: 0.3 * hypot(255, 127)
    image = cv2.imread(str(tmp_path / str(short.keyframe)))
    blue, green, red = (float(image[:, :, c].mean()) for c in range(3))
    assert red > 200 and blue < 60 and green < 60


def rotated_copy(upright: Path, folder: Path) -> tuple[Path, int]:
    """`upright` stored a quarter turn off, with the rotation tag that makes players show it upright."""
    lying, rotated = folder / "lying.mp4", folder / "rotated.mp4"
    rotation = 0
    # ffmpeg versions disagree on which way the old `rotate` tag turns, so ask probe and match it
    for turn in ("clock", "cclock"):
        ffmpeg(
            "-i",
            str(upright),
            "-vf",
            f"transpose={turn}",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            str(lying),
        )
        ffmpeg("-i", str(lying), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(rotated))
        video = probe(rotated, slug="rotated").video
        rotation = video.rotation if video else 0
        if rotation == {"clock": 270, "cclock": 90}[turn]:
            return rotated, rotation
    pytest.fail(f"ffmpeg's rotate tag gave rotation {rotation}")


def test_rotated_video_is_analysed_upright(obama_video: Path, tmp_path: Path) -> None:
    rotated, rotation = rotated_copy(obama_video, tmp_path)
    media = probe(rotated, slug="rotated")
    assert media.video is not None and (media.video.width, media.video.height) == (1138, 910)
    scenes = analyze_scenes(rotated, media, ScenesConfig(), tmp_path / "frames")
    assert (scenes.width, scenes.height) == (910, 1138)
    # the keyframe is the picture ffmpeg shows (it applies the rotation), scaled to 640 wide
    assert jpeg_size(tmp_path, scenes.shots[0].keyframe) == (640, 800)
    shown = tmp_path / "shown.png"
    ffmpeg("-i", str(rotated), "-frames:v", "1", "-vf", "scale=640:800", str(shown))
    ours = cv2.imread(str(tmp_path / str(scenes.shots[0].keyframe))).astype(float)
    assert abs(ours - cv2.imread(str(shown)).astype(float)).mean() < 8, f"rotation {rotation} applied wrongly"
    # a Haar cascade only finds upright faces, and the boxes are in display coordinates
    found = [sample.faces[0] for sample in scenes.faces if sample.faces]
    assert len(found) >= 0.75 * len(scenes.faces)
    assert all(iou(box, OBAMA_TOP_RIGHT_BOTTOM_LEFT) >= 0.5 for box in found)


def test_face_box_matches_the_reference(obama_video: Path, tmp_path: Path) -> None:
    scenes = analyze(obama_video, tmp_path)
    assert (scenes.width, scenes.height) == (910, 1138)
    assert len(scenes.shots) == 1 and scenes.frame_count == 50
    assert len(scenes.faces) == 4
    for sample in scenes.faces:
        assert len(sample.faces) == 1
        assert iou(sample.faces[0], OBAMA_TOP_RIGHT_BOTTOM_LEFT) >= 0.5
        face = sample.faces[0]
        assert sample.largest_face_share == pytest.approx(face.w * face.h / (910 * 1138))
        assert face.smile  # the official portrait smiles
    assert "large sharp face, smiling" in scenes.visual_highlights[0].reason


def test_faces_in_real_recordings(shared_dev: Path, tmp_path: Path) -> None:
    clips = sorted((shared_dev / "grid").glob("*.mpg"))
    assert len(clips) >= 3
    for clip in clips:
        scenes = analyze(clip, tmp_path / clip.stem)
        one_face = [s.faces[0] for s in scenes.faces if len(s.faces) == 1]
        assert len(one_face) >= 0.8 * len(scenes.faces) >= 4, f"{clip.name}: {scenes.faces}"
        for box in one_face:
            # one speaker filling the middle of a 360x288 frame
            assert 0.25 * scenes.width <= box.w <= 0.7 * scenes.width, f"{clip.name}: {box}"
            assert 0.2 * scenes.width <= box.x + box.w / 2 <= 0.8 * scenes.width, f"{clip.name}: {box}"
            assert 0.2 * scenes.height <= box.y + box.h / 2 <= 0.8 * scenes.height, f"{clip.name}: {box}"
        # the speakers read sentences with a straight face
        assert sum(box.smile for box in one_face) <= 0.2 * len(one_face), f"{clip.name}: {one_face}"
        best = scenes.visual_highlights[0]
        assert best.face_share > 0.1 and "large sharp face" in best.reason


def test_cuts_match_the_pyscenedetect_golden(shared_dev: Path, tmp_path: Path) -> None:
    video = shared_dev / "cuts" / "testvideo.mp4"
    golden = json.loads(
        (shared_dev / "cuts" / "goldens" / "testvideo.mp4.AdaptiveDetector.default.json").read_text()
    )
    truth = [frame / Fraction(30000, 1001) for frame in golden["cuts"]]
    scenes = analyze(video, tmp_path)
    precision, recall, f1 = shot_boundary_f1(cut_times(scenes), [float(t) for t in truth], 0.2)
    assert f1 >= 0.75, (cut_times(scenes), truth, precision, recall)
    assert scenes.frame_count == 720


def test_video_without_audio(silent_video: Path, tmp_path: Path) -> None:
    scenes = analyze(silent_video, tmp_path)
    assert scenes.frame_count == 100 and (scenes.width, scenes.height) == (320, 240)
    assert_covers(scenes, 4.0, 0.04)
    assert jpeg_size(tmp_path, scenes.shots[0].keyframe) == (320, 240)  # never upscaled


@pytest.mark.parametrize("pix_fmt", ["yuv420p", "yuv444p"])
def test_keyframe_pixels_match_ffmpeg(media_dir: Path, tmp_path: Path, pix_fmt: str) -> None:
    # 4:2:0 goes through OpenCV, other layouts through swscale: both must give ffmpeg's picture
    clip = media_dir / f"still-{pix_fmt}.mp4"
    ffmpeg(
        *("-f", "lavfi", "-i", "testsrc2=size=480x270:rate=25:duration=1"),
        *("-pix_fmt", pix_fmt, "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", str(clip)),
    )
    scenes = analyze(clip, tmp_path, analysis_width=240)
    keyframe = scenes.shots[0]
    assert jpeg_size(tmp_path, keyframe.keyframe) == (240, 136)
    shown = tmp_path / "shown.png"
    at = f"{keyframe.keyframe_time:.3f}"
    ffmpeg("-ss", at, "-i", str(clip), "-frames:v", "1", "-vf", "scale=240:136:flags=area", str(shown))
    ours = cv2.imread(str(tmp_path / str(keyframe.keyframe))).astype(float)
    assert abs(ours - cv2.imread(str(shown)).astype(float)).mean() < 8


def test_video_without_frames_is_an_input_error(media_dir: Path, tmp_path: Path) -> None:
    empty = media_dir / "no frames.mp4"
    # keep the video packets but drop every picture from them
    ffmpeg(
        *(
            "-f",
            "lavfi",
            "-i",
            "sine=duration=2",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=25:duration=2",
        ),
        *("-map", "1:v", "-map", "0:a", "-c:v", "libx264", "-bsf:v", "filter_units=remove_types=1-5"),
        *("-c:a", "aac", str(empty)),
    )
    media = probe(empty, slug="empty")
    assert media.video is not None
    with pytest.raises(InputError, match="no decodable video frames") as caught:
        analyze_scenes(empty, media, ScenesConfig(), tmp_path / "frames")
    assert str(caught.value).startswith(str(empty))


def test_stale_keyframes_are_removed(silent_video: Path, tmp_path: Path) -> None:
    frames = tmp_path / "frames"
    frames.mkdir()
    (frames / "shot-007.jpg").write_bytes(b"old")
    scenes = analyze(silent_video, tmp_path)
    assert sorted(p.name for p in frames.iterdir()) == [Path(s.keyframe or "").name for s in scenes.shots]


def test_visual_highlights(
    talk: tuple[Path, Truth], talk_scenes: tuple[Scenes, Path], tmp_path: Path
) -> None:
    scenes, _ = talk_scenes
    highlights = scenes.visual_highlights
    assert len(highlights) == 6
    scores = [h.score for h in highlights]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    times = sorted(h.time for h in highlights)
    assert all(b - a >= 1.0 for a, b in zip(times, times[1:], strict=False))
    assert all(h.reason and "without a face" in h.reason for h in highlights)
    assert analyze(talk[0], tmp_path, highlights=2).visual_highlights == highlights[:2]
    assert analyze(talk[0], tmp_path, highlights=0).visual_highlights == []


def test_shot_boundary_f1() -> None:
    assert shot_boundary_f1([], []) == (1.0, 1.0, 1.0)
    assert shot_boundary_f1([1.0, 5.0], [1.1, 5.25]) == (0.5, 0.5, 0.5)
    assert shot_boundary_f1([1.0, 5.0], [1.1, 5.25], tolerance_s=0.3) == (1.0, 1.0, 1.0)
    # one found cut cannot match two true ones
    assert shot_boundary_f1([2.0], [1.9, 2.1]) == (1.0, 0.5, pytest.approx(2 / 3))
    assert shot_boundary_f1([1.9, 2.1], [2.0]) == (0.5, 1.0, pytest.approx(2 / 3))
    assert shot_boundary_f1([3.0], []) == (0.0, 0.0, 0.0)
    assert shot_boundary_f1([], [3.0]) == (0.0, 0.0, 0.0)
