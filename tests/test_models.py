import json
from pathlib import Path

import pytest

from ave_core.errors import ArtifactError
from ave_core.models import (
    ARTIFACT_MODELS,
    AudioAnalysis,
    Cut,
    Plan,
    Span,
    make_producer,
    read_artifact,
    write_artifact,
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
        "loudness",
        "shorts",
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
