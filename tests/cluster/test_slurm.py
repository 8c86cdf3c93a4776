"""The workflow through Snakemake's SLURM executor, on a one-node SLURM cluster started on this machine.

Opt-in (`make test-slurm`): it installs slurm-wlm and munge when missing, and starts daemons.
"""

from __future__ import annotations

import json
import os
import re
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
RUN_LOG = REPO / "bench" / "out" / "slurm-run.log"  # the SLURM run's whole output, kept for a failure
SUBMITTED = re.compile(r"Job (\S+) has been submitted with SLURM jobid (\d+) \(log: (.+?)\)\.?$", re.M)
FINISHED = re.compile(r"^Finished jobid: (\d+) \(Rule: (\w+)\)", re.M)

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


def slurm_jobs(env: dict[str, str]) -> list[tuple[str, str, str]]:
    """(id, name, state) of every job the cluster has seen (finished ones stay for MinJobAge)."""
    command = ["squeue", "-h", "--states=all", "-o", "%i|%j|%T"]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    return [tuple(line.split("|", 2)) for line in out.splitlines() if line]  # type: ignore[misc]


def failed_job_logs(output: str, states: dict[str, str], tail_lines: int = 60) -> str:
    """The SLURM logs of the submissions that failed, to print when the run fails: those SLURM did not report
    COMPLETED, and those Snakemake reported an error about (a group whose outputs went missing is COMPLETED
    to SLURM). Without either, the last three submissions' logs."""
    submitted = {key: (slurm_id, Path(log)) for key, slurm_id, log in SUBMITTED.findall(output)}
    blamed: set[str] = set()
    lines = output.splitlines()
    for index, line in enumerate(lines):
        if "Error postprocessing group job" in line:
            blamed.add(line.rstrip(".").split()[-1])
        elif line.startswith("Error in rule") or line.startswith("Error in group"):
            for detail in lines[index + 1 : index + 20]:
                found = re.match(r"\s+(?:jobid|external_jobid): (\S+)", detail)
                if found:
                    blamed.add(found.group(1))
    failed = [
        (key, slurm_id, log)
        for key, (slurm_id, log) in submitted.items()
        if states.get(slurm_id, "COMPLETED") != "COMPLETED" or key in blamed or slurm_id in blamed
    ] or [(key, slurm_id, log) for key, (slurm_id, log) in list(submitted.items())[-3:]]
    parts = []
    for key, slurm_id, log in failed:
        text = log.read_text(errors="replace") if log.is_file() else "(no log file)"
        tail = "\n".join(text.splitlines()[-tail_lines:])
        state = states.get(slurm_id, "not in squeue")
        parts.append(f"--- SLURM job {slurm_id} ({key}; {state}): {log}\n{tail}")
    return "\n".join(parts)


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
    output = proc.stdout + proc.stderr
    RUN_LOG.parent.mkdir(parents=True, exist_ok=True)
    RUN_LOG.write_text(output)
    jobs = slurm_jobs(cluster)
    states = {slurm_id: state for slurm_id, _, state in jobs}
    assert proc.returncode == 0, (
        f"{proc.stderr[-6000:]}\n\nthe failed jobs' SLURM logs:\n{failed_job_logs(output, states)}\n"
        f"(the whole output: {RUN_LOG})"
    )
    # every job ran once: a job in two group submissions is what lost the render's temp() chunks
    finished = FINISHED.findall(output)
    repeated = sorted({job for job in finished if finished.count(job) > 1})
    assert not repeated, f"jobs reported finished more than once: {repeated}"

    for slug in ("lesson-one", "lesson-2"):
        results = project / "results" / slug
        context = json.loads((results / "context.json").read_text())
        assert context["video"] == slug
        render = json.loads((results / "render.json").read_text())
        assert render["duration_s"] > 3
        assert (results / "final.mp4").stat().st_size > 10_000
        assert len(list((results / "thumbnails").glob("thumb-*.png"))) == 3
        # the submissions counted below have no short_render: each lesson is shorter than shorts.min_s
        shorts = json.loads((results / "shorts" / "shorts.json").read_text())
        assert shorts["shorts"] == [] and shorts["skip_reason"], shorts
        assert (results / "final.m4a").stat().st_size > 1_000
        assert (results / "report" / "review.html").is_file()

    assert jobs, "no job reached SLURM"
    assert all(state == "COMPLETED" for _, _, state in jobs), jobs
    # The submissions, from the workflow's rules (default config) and profiles/slurm's groups. A video's jobs
    # outside any group: scenes, transcribe, direct, broll, captions, render_audio, one render chunk (a lesson
    # of ~5 s), render, export_audio (final.m4a), shorts_select and shorts (no short_render: a ~5 s lesson is
    # shorter than shorts.min_s, asserted above): 11. Its group jobs, one per connected part of a group:
    # prepare (probe -> extract_audio -> enhance, audio), decide (analyze -> research), and package in two
    # parts, because review shares no file with the others: {thumbnails -> metadata -> report_pages ->
    # context <- timeline} and {review}: 4. (23 jobs a video without the groups.)
    single_jobs, group_jobs = 11, 4
    assert len(jobs) == 2 * (single_jobs + group_jobs), f"{len(jobs)} submissions for 2 videos: {jobs}"

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
