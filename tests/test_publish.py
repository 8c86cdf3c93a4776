"""Publishing files atomically (ave_core/publish.py): whole or not at all, for our writers and tools."""

import errno
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ave_core.models import EditLoudness, Loudness, make_producer, read_artifact, write_artifact
from ave_core.publish import atomic_writer, partial_path, publishing, write_text_atomic

REPO = Path(__file__).resolve().parents[1]


def test_atomic_write_leaves_the_old_file_when_interrupted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.json"
    write_text_atomic(path, '{"old": true}')

    def interrupted(fd: int) -> None:  # the process dies after writing, before the rename
        raise KeyboardInterrupt

    monkeypatch.setattr("ave_core.publish.os.fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_text_atomic(path, '{"new": true}')
    assert json.loads(path.read_text()) == {"old": True}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]  # no temp file left


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
@pytest.mark.parametrize("shared", [False, True])
def test_written_files_follow_the_umask_like_any_other(
    tmp_path: Path, umask: int, mode: int, shared: bool
) -> None:
    previous = os.umask(umask)
    try:
        write_text_atomic(tmp_path / "a.json", "{}", shared=shared)
        with atomic_writer(tmp_path / "b.png", binary=True, shared=shared) as handle:
            handle.write(b"\x89PNG")
        (tmp_path / "plain.txt").write_text("")
    finally:
        os.umask(previous)
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    assert modes == {"a.json": mode, "b.png": mode, "plain.txt": mode}


KILLED_WRITER = """
import os, signal, sys
import ave_core.publish as publish

def killed(fd):  # the job is killed mid-write: its partial file has data, the rename never happens
    os.kill(os.getpid(), signal.SIGKILL)

publish.os.fsync = killed
publish.write_text_atomic(sys.argv[1], '{"new": true}')
"""


def test_a_killed_writer_leaves_one_partial_file_that_the_rerun_replaces(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    write_text_atomic(path, '{"old": true}')
    for _ in range(2):  # killed twice: still one leftover, not one per kill
        proc = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(path)], cwd=REPO)
        assert proc.returncode == -9
    assert sorted(p.name for p in tmp_path.iterdir()) == [".plan.partial.json", "plan.json"]
    assert partial_path(path).read_text() == '{"new": true}'
    assert json.loads(path.read_text()) == {"old": True}

    write_text_atomic(path, '{"rerun": true}')
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]
    assert json.loads(path.read_text()) == {"rerun": True}


def test_shared_writers_of_one_file_do_not_trip_over_each_other(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "entry.json"
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(25):
                write_text_atomic(path, json.dumps({"writer": n, "i": i, "pad": "x" * 50_000}), shared=True)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert json.loads(path.read_text())["i"] == 24  # whole, and some writer's last
    assert [p.name for p in path.parent.iterdir()] == ["entry.json"]


def test_a_failed_write_names_the_file_not_its_hidden_partial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open

    def full_disk(path: str | os.PathLike[str], flags: int, mode: int = 0o777) -> int:
        if ".partial" in str(path):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real_open(path, flags, mode)

    monkeypatch.setattr("ave_core.publish.os.open", full_disk)
    with pytest.raises(OSError) as raised:
        write_text_atomic(tmp_path / "plan.json", "{}")
    assert (raised.value.errno, raised.value.filename) == (errno.ENOSPC, str(tmp_path / "plan.json"))
    assert list(tmp_path.iterdir()) == []


def test_a_tool_writes_the_partials_and_both_outputs_appear_together(tmp_path: Path) -> None:
    video, audio = tmp_path / "out" / "chunk-0.mp4", tmp_path / "out" / "chunk-0.wav"
    with publishing(video, audio) as (video_partial, audio_partial):
        assert (video_partial.name, audio_partial.suffix) == (".chunk-0.partial.mp4", ".wav")  # tools read it
        video_partial.write_bytes(b"video")
        audio_partial.write_bytes(b"audio")
        assert not video.exists() and not audio.exists()
    assert (video.read_bytes(), audio.read_bytes()) == (b"video", b"audio")
    assert sorted(p.name for p in video.parent.iterdir()) == ["chunk-0.mp4", "chunk-0.wav"]


def test_a_failed_tool_leaves_the_old_outputs_and_no_partial(tmp_path: Path) -> None:
    video, audio = tmp_path / "final.mp4", tmp_path / "final.wav"
    video.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="ffmpeg failed"):
        with publishing(video, audio) as (video_partial, audio_partial):
            video_partial.write_bytes(b"half")
            raise RuntimeError("ffmpeg failed")
    assert [p.name for p in tmp_path.iterdir()] == ["final.mp4"] and video.read_bytes() == b"old"


def test_silence_has_no_loudness_figure_and_is_written_as_standard_json(tmp_path: Path) -> None:
    silent = EditLoudness(
        producer=make_producer("render_audio", "ffmpeg"),
        loudness=Loudness(integrated_lufs=None, range_lu=0.0, true_peak_dbtp=None),
    )
    write_artifact(tmp_path / "loudness.json", silent)
    json.loads((tmp_path / "loudness.json").read_text(), parse_constant=pytest.fail)  # no -Infinity, NaN
    assert read_artifact(tmp_path / "loudness.json", EditLoudness) == silent
    with pytest.raises(ValueError, match="finite"):
        Loudness(integrated_lufs=float("-inf"), range_lu=0.0)  # never written as null, read back as nothing
