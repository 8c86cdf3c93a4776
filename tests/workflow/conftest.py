"""Helpers that run the real workflow with Snakemake's command line on generated projects."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ave_core.synth import Truth

REPO = Path(__file__).resolve().parents[2]
SNAKEFILE = REPO / "Snakefile"

JOB_HEADER = re.compile(r"^(?:local)?(?:rule|checkpoint) (\w+):$")
WILDCARDS = re.compile(r"^\s+wildcards: video=([^,\s]+)")  # other wildcards (chunk, format) may follow


def run_workflow(
    project: Path, *args: str, cwd: Path | None = None, timeout_s: float = 600, snakefile: Path = SNAKEFILE
) -> subprocess.CompletedProcess[str]:
    """`snakemake -s REPO/Snakefile -d PROJECT --cores 2 ARGS` from `cwd` (default: the project's parent)."""
    command = [sys.executable, "-m", "snakemake", "-s", str(snakefile), "-d", str(project)]
    command += ["--cores", "2", *args]
    return subprocess.run(
        command, cwd=cwd or project.parent, capture_output=True, text=True, timeout=timeout_s
    )


def planned_jobs(project: Path, *args: str) -> set[tuple[str, str]]:
    """(rule, video) of every job a dry run plans; video "" for project-wide jobs; `all` left out."""
    proc = run_workflow(project, "--dry-run", *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    jobs: dict[int, list[str]] = {}
    for line in (proc.stdout + proc.stderr).splitlines():
        header = JOB_HEADER.match(line)
        if header:
            jobs[len(jobs)] = [header.group(1), ""]
            continue
        wildcards = WILDCARDS.match(line)
        if wildcards and jobs:
            jobs[len(jobs) - 1][1] = wildcards.group(1)
    return {(rule, video) for rule, video in jobs.values() if rule != "all"}


def error_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    """The one-line errors ave printed."""
    return [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("ave ")]


SHORT = ("--config", "shorts={min_s: 5, count: 1}")  # the 15 s talk is long enough for one short of 5 s


def make_project(root: Path, files: dict[str, Path]) -> Path:
    """A project folder whose input/ holds copies of `files` under the given names."""
    (root / "input").mkdir(parents=True)
    for name, source in files.items():
        shutil.copyfile(source, root / "input" / name)
    return root


@pytest.fixture(scope="session")
def batch(tmp_path_factory, talk: tuple[Path, Truth], silent_video: Path):
    """A project of a talk and a video without sound, run once from another folder (tests that change it
    work on a copy). Broken files, odd-but-good videos and bad configs have their own batch in
    test_hostile.py."""
    project = make_project(
        tmp_path_factory.mktemp("batch") / "my channel",
        {"Leçon 1 (draft).MP4": talk[0], "no audio.mov": silent_video},
    )
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    return project, run_workflow(project, "--keep-going", *SHORT, cwd=elsewhere)
