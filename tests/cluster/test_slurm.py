"""The workflow through Snakemake's SLURM executor, on a one-node SLURM cluster started on this machine.

Opt-in (`make test-slurm`): it installs slurm-wlm and munge when missing, and starts daemons.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ave_core.synth import make_recording
from tests.conftest import require_tools

pytestmark = pytest.mark.slurm

REPO = Path(__file__).resolve().parents[2]
LOCAL_SLURM = REPO / "tools" / "local-slurm.sh"
TIMINGS = REPO / "bench" / "out" / "slurm-run.json"

LESSONS = {
    "lesson one.mp4": [
        ("Welcome to the first lesson about solar power.", 0.9),
        ("um", 0.6),
        ("A panel turns light into electricity.", 1.2),
    ],
    "Lesson 2.MOV": [
        ("In this lesson we measure wind speed.", 0.7),
        ("uh", 0.6),
        ("A small turbine needs about four meters per second.", 1.0),
    ],
}


def daemon_pids(folder: Path) -> dict[str, int]:
    """PIDs of the daemons local-slurm.sh started, from their PID files."""
    files = {
        "slurmd": folder / "slurmd.pid",
        "slurmctld": folder / "slurmctld.pid",
        "munged": folder / "munge" / "munged.pid",
    }
    return {name: int(path.read_text()) for name, path in files.items() if path.is_file()}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    """A running one-node cluster; every daemon it started is stopped afterwards, also on failure."""
    folder = tmp_path_factory.mktemp("slurm")
    env = {**os.environ, "PATH": f"{os.environ['PATH']}:/usr/sbin"}
    try:
        start = subprocess.run(
            ["bash", str(LOCAL_SLURM), "start", str(folder)], capture_output=True, text=True, timeout=900
        )
        if start.returncode != 0:
            pytest.fail(f"local SLURM did not start:\n{start.stdout}{start.stderr}")
        pids = daemon_pids(folder)
        assert set(pids) == {"slurmd", "slurmctld", "munged"}
        yield env
    finally:
        pids = daemon_pids(folder)
        subprocess.run(["bash", str(LOCAL_SLURM), "stop", str(folder)], timeout=120)
        left = [name for name, pid in pids.items() if alive(pid)]
        assert not left, f"daemons still running after stop: {left}"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-video project of short generated lessons."""
    require_tools()
    root = tmp_path_factory.mktemp("channel") / "project"
    (root / "input").mkdir(parents=True)
    for name, script in LESSONS.items():
        make_recording(root / "input" / name, script, width=480, height=270, fps=25, shots=2)
    return root


def memory_mb() -> int:
    """What local-slurm.sh gives the node: three quarters of the machine's memory."""
    with open("/proc/meminfo") as meminfo:
        total_kb = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
    return int(total_kb / 1024 * 0.75)


Run = tuple[subprocess.CompletedProcess[str], float]


def snakemake(project: Path, env: dict[str, str], *args: str) -> Run:
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(project), *args]
    started = time.monotonic()
    proc = subprocess.run(command, cwd=project.parent, env=env, capture_output=True, text=True, timeout=1800)
    return proc, time.monotonic() - started


def slurm_jobs(env: dict[str, str]) -> list[tuple[str, str]]:
    """(name, state) of every job the cluster has seen (finished ones stay for MinJobAge)."""
    out = subprocess.run(
        ["squeue", "-h", "--states=all", "-o", "%j|%T"], env=env, capture_output=True, text=True, check=True
    ).stdout
    return [tuple(line.split("|", 1)) for line in out.splitlines() if line]  # type: ignore[misc]


def test_two_videos_through_the_slurm_executor(cluster: dict[str, str], project: Path) -> None:
    local_copy = project.parent / "local-project"
    shutil.copytree(project, local_copy)
    threads = str(os.cpu_count() or 1)
    proc, slurm_s = snakemake(
        project,
        cluster,
        "--executor",
        "slurm",
        "--workflow-profile",
        str(REPO / "profiles" / "slurm"),
        # the test node is this machine: cap the profile's threads and group jobs at what it has
        "--max-threads",
        threads,
        "--cores",
        threads,
        "--resources",
        f"mem_mb={memory_mb()}",
        # no accounting database here: the executor polls squeue, and no account is asked for
        "--slurm-status-command",
        "squeue",
        "--slurm-no-account",
        "--slurm-init-seconds-before-status-checks",
        "5",
        "--latency-wait",
        "5",
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-8000:]

    for slug in ("lesson-one", "lesson-2"):
        results = project / "results" / slug
        context = json.loads((results / "context.json").read_text())
        assert context["video"] == slug
        render = json.loads((results / "render.json").read_text())
        assert render["duration_s"] > 3
        assert (results / "final.mp4").stat().st_size > 10_000
        assert len(list((results / "thumbnails").glob("thumb-*.png"))) == 3

    jobs = slurm_jobs(cluster)
    assert jobs, "no job reached SLURM"
    assert all(state == "COMPLETED" for _, state in jobs), jobs
    # 18 jobs per video without groups. With profiles/slurm's groups, the 14 grouped jobs of a video are 4
    # group jobs (prepare, decide, pre_render, package), and two videos' components share a submission when
    # they are ready together: at most 4 ungrouped + 4 grouped submissions per video
    assert len(jobs) <= 2 * (4 + 4), f"{len(jobs)} submissions for 2 videos: groups not applied"

    local, local_s = snakemake(local_copy, cluster, "--cores", threads)
    assert local.returncode == 0, local.stderr[-4000:]
    TIMINGS.parent.mkdir(parents=True, exist_ok=True)
    figures = {
        "videos": 2,
        "slurm_s": round(slurm_s, 1),
        "local_s": round(local_s, 1),
        "slurm_jobs": len(jobs),
    }
    TIMINGS.write_text(json.dumps(figures, indent=2))
    print(f"\nSLURM run {slurm_s:.1f} s ({len(jobs)} submissions), local run {local_s:.1f} s")
