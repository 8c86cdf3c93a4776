"""Assembling context.json: every artifact of a video, the rules' benchmark figures, and the history."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path

from .models import (
    ARTIFACT_MODELS,
    ContentContext,
    HistoryEvent,
    StageFigures,
    make_producer,
    read_artifact,
)


def read_benchmark(path: str | Path, rule: str) -> StageFigures | None:
    """A Snakemake `benchmark:` TSV as StageFigures (the first repeat); None if absent or empty."""
    source = Path(path)
    if not source.is_file():
        return None
    with source.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    if not rows:
        return None
    row = rows[0]
    return StageFigures(
        rule=rule,
        seconds=_number(row.get("s")) or 0.0,
        max_rss_mb=_number(row.get("max_rss")),
        cpu_time_s=_number(row.get("cpu_time")),
    )


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "", "-", "NA") else None
    except ValueError:
        return None


def build_context(
    video: str,
    artifacts: Mapping[str, str | Path],
    benchmarks: Mapping[str, str | Path],
    embed_artifacts: bool = True,
) -> ContentContext:
    """The ContentContext of one video from the artifacts that exist.

    `artifacts` maps a name to a file: artifacts (keys of ARTIFACT_MODELS) are validated and assembled,
    other outputs (captions, timeline, the video) are listed by path. `benchmarks` maps a rule to its TSV.
    """
    content: dict[str, object] = {}
    history: list[HistoryEvent] = []
    files = {name: str(path) for name, path in artifacts.items() if name not in ARTIFACT_MODELS}
    artifacts = {name: path for name, path in artifacts.items() if name in ARTIFACT_MODELS}
    for name, path in artifacts.items():
        artifact = read_artifact(path, ARTIFACT_MODELS[name])
        producer = artifact.producer
        if producer.fallback is not None:
            fb = producer.fallback
            history.append(
                HistoryEvent(
                    stage=producer.stage,
                    kind="fallback",
                    message=f"{fb.wanted} -> {fb.used}: {fb.reason}",
                )
            )
        history.extend(
            HistoryEvent(stage=producer.stage, kind="warning", message=w) for w in producer.warnings
        )
        skip_reason = getattr(artifact, "skip_reason", None)
        if skip_reason:
            history.append(HistoryEvent(stage=producer.stage, kind="skip", message=skip_reason))
        if embed_artifacts:
            content[name] = json.loads(artifact.model_dump_json())
    stages = [f for rule, p in benchmarks.items() if (f := read_benchmark(p, rule)) is not None]
    return ContentContext(
        producer=make_producer("context", "assemble"),
        video=video,
        artifacts={name: str(path) for name, path in artifacts.items()},
        files=files,
        content=content,
        stages=stages,
        history=history,
    )
