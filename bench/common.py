"""Helpers the benchmarks share: paths, the ASR model, timing, Snakemake runs and filler counting."""

from __future__ import annotations

import csv
import resource
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ave_core.asr import bundled_models
from ave_core.text import squashed

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DEV = SHARED / "media" / "dev"
OUT = REPO / "bench" / "out"

T = TypeVar("T")


def model_path() -> str:
    """whisper tiny.en: the shared copy when there is one, else the one ave finds offline."""
    shared = SHARED / "models" / "whisper-tiny.en-ct2"
    return str(shared if shared.is_dir() else bundled_models()["tiny.en"])


def decode_16k(source: Path, folder: Path) -> Path:
    """The audio of `source` as a 16 kHz mono WAV in `folder`."""
    wav = folder / f"{source.stem}.16k.wav"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(source), "-ac", "1", "-ar", "16000", str(wav)],
        check=True,
    )
    return wav


def timed(function: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T, float]:
    """A call's result and its wall-clock seconds."""
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def run_timed(command: list[str], cwd: Path | None = None) -> float:
    """Wall-clock seconds of a command that must succeed."""
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def cpu_timed(function: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T, float, float]:
    """A call's result, its wall-clock seconds and the CPU seconds of this process (all threads) meanwhile."""
    cpu = time.process_time()
    result, wall = timed(function, *args, **kwargs)
    return result, wall, time.process_time() - cpu


def ffmpeg_decode_s(path: Path) -> tuple[float, float]:
    """Wall-clock and CPU seconds ffmpeg takes to decode every stream of `path` to nothing: the time
    reference."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = run_timed(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"])
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def snakemake(project: Path, *args: str, cores: int = 2) -> list[str]:
    """The command line that runs ave's workflow on a project directory."""
    snakefile = str(REPO / "Snakefile")
    return [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        snakefile,
        "-d",
        str(project),
        "--cores",
        str(cores),
        *args,
    ]


def benchmark_row(path: Path) -> dict[str, float]:
    """Seconds, peak resident memory (MB) and CPU seconds from a Snakemake `benchmark:` file."""
    with path.open() as handle:
        row = next(csv.DictReader(handle, delimiter="\t"))

    def number(key: str) -> float:
        try:
            return float(row.get(key, "") or 0.0)
        except ValueError:  # "NA" where psutil could not measure
            return 0.0

    return {"seconds": number("s"), "max_rss_mb": number("max_rss"), "cpu_time_s": number("cpu_time")}


def filler_tokens(text: str, lexicon: set[str]) -> Counter[str]:
    """How often each filler of `lexicon` occurs in `text`."""
    return Counter(t for t in (squashed(w) for w in text.split()) if t in lexicon)


def count_match(found: Counter[str], truth: Counter[str]) -> tuple[float, float]:
    """Precision and recall of filler counts per word, for references with no times (AMI)."""
    hits = sum((found & truth).values())
    total_found, total_truth = sum(found.values()), sum(truth.values())
    return (hits / total_found if total_found else 1.0), (hits / total_truth if total_truth else 1.0)
