"""Helpers the benchmarks share: paths, the ASR model, timing, Snakemake runs and filler counting."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import resource
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ave_core.asr import bundled_models
from ave_core.config import AsrConfig
from ave_core.text import squashed

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DEV = SHARED / "media" / "dev"
OUT = REPO / "bench" / "out"

T = TypeVar("T")


def recognition_cache(folder: Path, name: str, config: AsrConfig) -> Path:
    """Where a clip's recognised words are kept between runs: named by the settings that change them, so a
    changed default is heard again rather than read from a run made before it."""
    fields = {"model", "language", "beam_size", "compute_type", "verbatim_prompt", "hallucination_silence_s"}
    settings = json.dumps(config.model_dump(include=fields), sort_keys=True)
    return folder / f"{name}.{hashlib.sha1(settings.encode()).hexdigest()[:10]}.asr.pkl"


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


def workflow_rules(snakefile: Path = REPO / "Snakefile") -> list[str]:
    """The workflow's rules in the order they are defined (the Snakefile's includes in turn), `all` left
    out: the order a table of stages follows."""
    rules: list[str] = []
    for include in re.findall(r'^include: "([^"]+)"', snakefile.read_text(encoding="utf-8"), re.MULTILINE):
        text = (snakefile.parent / include).read_text(encoding="utf-8")
        rules += re.findall(r"^(?:rule|checkpoint) (\w+):", text, re.MULTILINE)
    return [rule for rule in rules if rule != "all"]


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


SECTION_START = re.compile(r"^<!-- ([\w./]+):( ?)begin -->$", re.MULTILINE)


def keep_sections(doc: Path, text: str) -> str:
    """`text` with the sections other benchmarks wrote into `doc` (between `<!-- bench/X.py: begin -->` and
    `<!-- bench/X.py: end -->`, or `<!-- X:begin -->` and `<!-- X:end -->`) appended again, so rewriting the
    file loses none of them; a section `text` has itself is not repeated."""
    old = doc.read_text(encoding="utf-8") if doc.exists() else ""
    kept = []
    for match in SECTION_START.finditer(old):
        closing = f"<!-- {match.group(1)}:{match.group(2)}end -->"
        end = old.find(closing, match.end())
        if end != -1 and match.group(0) not in text:
            kept.append(old[match.start() : end + len(closing)])
    return text.rstrip("\n") + "".join(f"\n\n{section}" for section in kept) + "\n"


def replace_section(doc: Path, markers: tuple[str, str], text: str) -> None:
    """Put `text` (which starts with markers[0] and ends with markers[1]) into `doc` in place of the section
    there, or at its end; the rest of the file stays as it is."""
    old = doc.read_text(encoding="utf-8") if doc.exists() else ""
    if markers[0] in old and markers[1] in old:
        before, rest = old.split(markers[0], 1)
        after = rest.split(markers[1], 1)[1].lstrip("\n")
        new = before + text.rstrip("\n") + "\n" + ("\n" + after if after else "")
    else:
        new = old.rstrip("\n") + ("\n\n" if old else "") + text.rstrip("\n") + "\n"
    doc.write_text(new, encoding="utf-8")


def looped_under_noise(
    talk: Path, out: Path, seconds: float, noise_amplitude: float, codec: list[str]
) -> Path:
    """`talk` said again and again for `seconds` under pink noise, as 44.1 kHz stereo encoded with `codec`
    (ffmpeg output options): a long podcast made in one ffmpeg run."""
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-stream_loop", "-1", "-i", str(talk),
         "-f", "lavfi", "-i", f"anoisesrc=color=pink:amplitude={noise_amplitude}:seed=5", "-filter_complex",
         "[0:a]aresample=44100[s];[s][1:a]amix=inputs=2:duration=first:normalize=0,aformat=channel_layouts=stereo",
         "-t", str(seconds), "-ar", "44100", *codec, str(out)],
        check=True,
    )  # fmt: skip
    return out
