import errno
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ave_core.errors import ArtifactError
from ave_core.models import (
    ARTIFACT_MODELS,
    AudioAnalysis,
    Cut,
    Plan,
    Span,
    atomic_writer,
    make_producer,
    partial_path,
    read_artifact,
    write_artifact,
    write_json_atomic,
)
from ave_core.schemas import artifact_schemas

REPO = Path(__file__).resolve().parents[1]


def sample_plan() -> Plan:
    return Plan(
        producer=make_producer("direct", "rules"),
        backend="rules",
        keep=[Span(start=0, end=4.2), Span(start=5.0, end=9.0)],
        cuts=[Cut(start=4.2, end=5.0, reason="silence", confidence=0.9)],
    )


def test_round_trip_keeps_the_contract_fields(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    write_artifact(path, sample_plan())
    raw = json.loads(path.read_text())
    assert raw["schema_version"] == 1
    assert raw["producer"]["stage"] == "direct" and "ave" in raw["producer"]["versions"]
    assert raw["keep"][1] == {"start": 5.0, "end": 9.0}
    assert raw["cuts"][0]["reason"] == "silence"
    assert read_artifact(path, Plan) == Plan.model_validate(raw)


def test_atomic_write_leaves_the_old_file_when_interrupted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.json"
    write_json_atomic(path, '{"old": true}')

    def interrupted(fd: int) -> None:  # the process dies after writing, before the rename
        raise KeyboardInterrupt

    monkeypatch.setattr("ave_core.models.os.fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_json_atomic(path, '{"new": true}')
    assert json.loads(path.read_text()) == {"old": True}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]  # no temp file left


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
@pytest.mark.parametrize("shared", [False, True])
def test_written_files_follow_the_umask_like_any_other(
    tmp_path: Path, umask: int, mode: int, shared: bool
) -> None:
    previous = os.umask(umask)
    try:
        write_json_atomic(tmp_path / "a.json", "{}", shared=shared)
        with atomic_writer(tmp_path / "b.png", binary=True, shared=shared) as handle:
            handle.write(b"\x89PNG")
        (tmp_path / "plain.txt").write_text("")
    finally:
        os.umask(previous)
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    assert modes == {"a.json": mode, "b.png": mode, "plain.txt": mode}


KILLED_WRITER = """
import os, signal, sys
import ave_core.models as models

def killed(fd):  # the job is killed mid-write: its partial file has data, the rename never happens
    os.kill(os.getpid(), signal.SIGKILL)

models.os.fsync = killed
models.write_json_atomic(sys.argv[1], '{"new": true}')
"""


def test_a_killed_writer_leaves_one_partial_file_that_the_rerun_replaces(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    write_json_atomic(path, '{"old": true}')
    for _ in range(2):  # killed twice: still one leftover, not one per kill
        proc = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(path)], cwd=REPO)
        assert proc.returncode == -9
    assert sorted(p.name for p in tmp_path.iterdir()) == [".plan.json.partial", "plan.json"]
    assert partial_path(path).read_text() == '{"new": true}'
    assert json.loads(path.read_text()) == {"old": True}

    write_json_atomic(path, '{"rerun": true}')
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]
    assert json.loads(path.read_text()) == {"rerun": True}


def test_shared_writers_of_one_file_do_not_trip_over_each_other(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "entry.json"
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(25):
                write_json_atomic(path, json.dumps({"writer": n, "i": i, "pad": "x" * 50_000}), shared=True)
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
        if str(path).endswith(".partial"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real_open(path, flags, mode)

    monkeypatch.setattr("ave_core.models.os.open", full_disk)
    with pytest.raises(OSError) as raised:
        write_json_atomic(tmp_path / "plan.json", "{}")
    assert (raised.value.errno, raised.value.filename) == (errno.ENOSPC, str(tmp_path / "plan.json"))
    assert list(tmp_path.iterdir()) == []


def test_invalid_artifact_is_not_written(tmp_path: Path) -> None:
    plan = sample_plan()
    plan.keep[0].end = -1.0  # bypasses validation on assignment; write must catch it
    with pytest.raises(ValueError):
        write_artifact(tmp_path / "plan.json", plan)
    assert not (tmp_path / "plan.json").exists()


def test_read_errors_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "media.json"
    with pytest.raises(ArtifactError, match=r"media.json: missing"):
        read_artifact(missing, ARTIFACT_MODELS["media"])
    broken = tmp_path / "audio.json"
    broken.write_text("{ not json")
    with pytest.raises(ArtifactError, match=r"audio.json: not valid JSON"):
        read_artifact(broken, AudioAnalysis)
    wrong = tmp_path / "plan.json"
    wrong.write_text(json.dumps({"schema_version": 1, "producer": {"stage": "x", "backend": "y"}}))
    with pytest.raises(ArtifactError, match=r"plan.json: not a valid Plan: backend: Field required"):
        read_artifact(wrong, Plan)


def test_unknown_fields_are_rejected(tmp_path: Path) -> None:
    data = json.loads(sample_plan().model_dump_json())
    data["kepe"] = []
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ArtifactError, match="kepe"):
        read_artifact(path, Plan)


def test_span_end_before_start_is_rejected() -> None:
    with pytest.raises(ValueError, match="before start"):
        Span(start=2.0, end=1.0)


def test_every_design_artifact_has_a_model_and_an_exported_schema() -> None:
    expected = {
        "media",
        "enhance",
        "audio",
        "transcript",
        "broll",
        "render",
        "scenes",
        "analysis",
        "research",
        "plan",
        "thumbnails",
        "metadata",
        "context",
    }
    assert set(ARTIFACT_MODELS) == expected
    for name, text in artifact_schemas().items():
        committed = REPO / "docs" / "schemas" / name
        assert committed.read_text() == text, f"{name} is stale: run python -m ave_core.schemas ."
    transcript = json.loads(artifact_schemas()["transcript.schema.json"])
    word = transcript["$defs"]["Word"]["properties"]
    assert {"word", "start", "end", "probability", "is_filler"} <= set(word)
    shot = json.loads(artifact_schemas()["scenes.schema.json"])["$defs"]["Shot"]["properties"]
    assert {"start", "end", "start_frame", "end_frame", "keyframe"} <= set(shot)
