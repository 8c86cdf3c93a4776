import subprocess
from pathlib import Path

import pytest

from ave_core.errors import InputError
from ave_core.media import probe
from ave_core.synth import Truth
from tests.conftest import SHARED_MEDIA, ffmpeg


def frame_size(path: Path, scratch: Path) -> tuple[int, int]:
    """Width and height of a frame as ffmpeg decodes it (rotation applied)."""
    png = scratch / f"{path.stem}.frame.png"
    ffmpeg("-i", str(path), "-frames:v", "1", str(png))
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "stream=width,height",
            "-of",
            "csv=p=0",
            str(png),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    width, height = out.split(",")
    return int(width), int(height)


def test_probe_describes_a_generated_clip(talk: tuple[Path, Truth]) -> None:
    path, truth = talk
    media = probe(path, slug="talk", original_name="Talk 1.mp4")
    assert media.source.original_name == "Talk 1.mp4" and media.source.slug == "talk"
    assert media.duration_s == pytest.approx(truth.duration, abs=0.05)
    assert media.video is not None
    assert (media.video.width, media.video.height) == (640, 360)
    assert media.video.fps == pytest.approx(25, abs=0.05)
    assert not media.video.variable_frame_rate
    assert media.video.rotation == 0
    assert media.video.frame_count == pytest.approx(truth.duration * 25, abs=2)
    assert [(a.codec, a.channels, a.sample_rate) for a in media.audio_streams] == [("aac", 1, 48000)]
    assert media.main_audio() is media.audio_streams[0]
    assert media.producer.versions["ffprobe"] != "unknown"


def test_rotation_swaps_the_display_size(talk: tuple[Path, Truth], media_dir: Path) -> None:
    rotated = media_dir / "rotated.mp4"
    ffmpeg("-i", str(talk[0]), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(rotated))
    video = probe(rotated, slug="rotated").video
    assert video is not None and video.rotation in (90, 270)
    assert (video.width, video.height) == (640, 360)
    assert (video.display_width, video.display_height) == frame_size(rotated, media_dir) == (360, 640)


def test_variable_frame_rate_is_detected(media_dir: Path) -> None:
    vfr = media_dir / "vfr.mp4"
    # 50 frames at 25 fps, then 50 frames at 10 fps
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25:duration=4",
        "-vf",
        "setpts='if(lt(N,50),N/25,2+(N-50)/10)/TB'",
        "-fps_mode",
        "passthrough",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        str(vfr),
    )
    video = probe(vfr, slug="vfr").video
    assert video is not None and video.variable_frame_rate
    assert video.frame_count == 100
    assert video.fps == pytest.approx(100 / 7, rel=0.05)  # frames / duration, not the nominal rate


def test_video_without_audio_has_no_audio_streams(silent_video: Path) -> None:
    media = probe(silent_video, slug="no-audio")
    assert media.audio_streams == [] and not media.has_audio and media.main_audio() is None


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("zero", "empty file (0 bytes)"),
        ("text", "not a recognised audio/video format"),
        ("truncated_10", "truncated ("),
        ("truncated", "truncated ("),
        ("truncated_90", "truncated ("),
        ("truncated_tail", "truncated ("),
        ("truncated_index_at_end", "no index (moov atom): the file is truncated"),
        ("still_image", "a still picture (png), not a video"),
    ],
)
def test_bad_input_fails_with_one_line_naming_the_file(
    bad_inputs: dict[str, Path], case: str, message: str
) -> None:
    with pytest.raises(InputError) as error:
        probe(bad_inputs[case], slug=case)
    text = str(error.value)
    assert text.startswith(str(bad_inputs[case]) + ":")
    assert message in text and "\n" not in text and " — " in text  # says what to do


@pytest.mark.parametrize(
    ("name", "source", "channels", "rate"),
    [
        ("voice.mp4", ["-f", "lavfi", "-i", "sine=duration=2", "-c:a", "aac"], 1, 44100),
        (
            "phone.wav",
            ["-f", "lavfi", "-i", "sine=duration=2:sample_rate=8000", "-c:a", "pcm_s16le"],
            1,
            8000,
        ),
        ("show.mp3", ["-f", "lavfi", "-i", "sine=duration=2", "-ac", "2", "-c:a", "libmp3lame"], 2, 44100),
        (
            "surround.flac",
            ["-f", "lavfi", "-i", "sine=duration=2", "-af", "pan=5.1|FC=c0|FL=c0|FR=c0", "-c:a", "flac"],
            6,
            44100,
        ),
    ],
)
def test_a_recording_without_picture_is_a_podcast(
    media_dir: Path, name: str, source: list[str], channels: int, rate: int
) -> None:
    path = media_dir / name
    ffmpeg(*source, str(path))
    media = probe(path, slug="podcast")
    assert media.video is None and abs(media.duration_s - 2.0) < 0.1
    assert [(s.channels, s.sample_rate) for s in media.audio_streams] == [(channels, rate)]


def test_an_mp3_with_cover_art_is_still_a_podcast(media_dir: Path) -> None:
    cover, path = media_dir / "cover.png", media_dir / "with cover.mp3"
    ffmpeg("-f", "lavfi", "-i", "color=c=red:size=64x64", "-frames:v", "1", str(cover))
    ffmpeg("-f", "lavfi", "-i", "sine=duration=2", "-i", str(cover), "-map", "0:a", "-map", "1:v",
           "-c:a", "libmp3lame", "-c:v", "png", "-disposition:v", "attached_pic", str(path))  # fmt: skip
    assert probe(path, slug="cover").video is None


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.mp3", b"", "empty file (0 bytes) — "),
        ("notes.mp3", b"These are my notes, not a recording.\n", "not a recognised audio/video format — "),
        ("notes.wav", b"RIFF not really a wave file", "cannot be read as media ("),
    ],
)
def test_a_broken_audio_file_fails_in_one_line(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError) as error:
        probe(path, slug="broken")
    text = str(error.value)
    assert text.startswith(f"{path}:") and message in text and "\n" not in text


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"absent.mp4: file not found"):
        probe(tmp_path / "absent.mp4", slug="absent")


def test_real_shot_test_video(shared_dev: Path) -> None:
    media = probe(shared_dev / "cuts" / "testvideo.mp4", slug="testvideo")
    assert media.video is not None
    assert (media.video.width, media.video.height) == (1280, 720)
    assert media.video.fps == pytest.approx(29.97, abs=0.01)
    assert not media.video.variable_frame_rate
    assert media.duration_s == pytest.approx(24.02, abs=0.05)
    assert media.audio_streams == []


def test_every_eval_clip_probes_without_error(tmp_path: Path) -> None:
    folder = SHARED_MEDIA / "eval"
    if not folder.is_dir():
        pytest.skip(f"eval recordings not found at {folder} (a user's clone has none)")
    videos = sorted(p for p in folder.iterdir() if p.suffix in {".mp4", ".mpg"})
    assert videos, "eval folder holds no videos"
    results = {p.name: probe(p, slug=p.stem) for p in videos}
    rotated = [n for n, m in results.items() if m.video and m.video.rotation]
    variable = [n for n, m in results.items() if m.video and m.video.variable_frame_rate]
    silent = [n for n, m in results.items() if not m.has_audio]
    # the README promises rotated, variable-frame-rate and no-audio clips among them
    assert rotated and variable and silent
    for name in rotated:
        video = results[name].video
        assert video is not None
        assert (video.display_width, video.display_height) == frame_size(folder / name, tmp_path)
