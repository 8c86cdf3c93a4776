import json
from pathlib import Path

from ave_core.context import build_context, read_benchmark
from ave_core.models import (
    AudioAnalysis,
    Fallback,
    MediaInfo,
    SourceFile,
    make_producer,
    write_artifact,
)

BENCHMARK_TSV = (
    "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    "1.7700\t0:00:01\t172.93\t900.1\t150.2\t151.0\t0.00\t2.10\t57.00\t1.01\n"
)


def write_inputs(folder: Path) -> tuple[dict[str, Path], dict[str, Path]]:
    media = MediaInfo(
        producer=make_producer("probe", "ffprobe"),
        source=SourceFile(path="input/a b.mp4", original_name="a b.mp4", slug="a-b", size_bytes=10),
        container="mov,mp4",
        duration_s=4.0,
        video=None,
        audio_streams=[],
    )
    audio = AudioAnalysis(
        producer=make_producer(
            "audio",
            "none",
            fallback=Fallback(wanted="silero-vad", used="none", reason="no audio track"),
            warnings=["audio ends early"],
        ),
        has_audio=False,
        skip_reason="input/a b.mp4: no audio track — speech stages are skipped",
    )
    artifacts = {"media": folder / "media.json", "audio": folder / "audio.json"}
    write_artifact(artifacts["media"], media)
    write_artifact(artifacts["audio"], audio)
    (folder / "audio.tsv").write_text(BENCHMARK_TSV)
    benchmarks = {"audio": folder / "audio.tsv", "probe": folder / "never-ran.tsv"}
    return artifacts, benchmarks


def test_context_assembles_artifacts_figures_and_history(tmp_path: Path) -> None:
    artifacts, benchmarks = write_inputs(tmp_path)
    context = build_context("a-b", artifacts, benchmarks)
    assert context.video == "a-b"
    assert context.content["media"]["source"]["original_name"] == "a b.mp4"
    assert context.content["audio"]["has_audio"] is False
    assert [(s.rule, s.seconds, s.max_rss_mb) for s in context.stages] == [("audio", 1.77, 172.93)]
    kinds = [(e.stage, e.kind) for e in context.history]
    assert kinds == [("audio", "fallback"), ("audio", "warning"), ("audio", "skip")]
    assert "no audio track" in context.history[2].message
    json.loads(context.model_dump_json())  # serialisable


def test_context_without_embedding_lists_paths_only(tmp_path: Path) -> None:
    artifacts, benchmarks = write_inputs(tmp_path)
    context = build_context("a-b", artifacts, benchmarks, embed_artifacts=False)
    assert context.content == {}
    assert context.artifacts == {name: str(path) for name, path in artifacts.items()}


def test_missing_or_empty_benchmark_is_none(tmp_path: Path) -> None:
    assert read_benchmark(tmp_path / "absent.tsv", "x") is None
    (tmp_path / "empty.tsv").write_text("s\tmax_rss\n")
    assert read_benchmark(tmp_path / "empty.tsv", "x") is None
