"""Snakemake 9.27 ends a run as a success with a job it never ran when that job waits for its retry while a
checkpoint finishes. rules/guard.smk turns that into a failed run that names the job; this makes it happen."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.workflow.conftest import REPO, error_lines, run_workflow

pytestmark = pytest.mark.workflow

# `fails` holds the only slot when `ready` is done, so `checkpoint` (ready, and first by priority) takes the
# slot when `fails` fails: `fails` waits for its retry while the checkpoint runs and finishes
RACE = """
rule all:
    input: "fails.txt", "after.txt"

rule fails:
    output: "fails.txt"
    retries: 1
    resources: slot=1
    shell: "sleep 1.5; exit 1"

rule ready:
    output: "ready.txt"
    shell: "touch {output}"

checkpoint checkpoint:
    input: "ready.txt"
    output: "checkpoint.txt"
    priority: 10
    resources: slot=1
    shell: "sleep 1; touch {output}"

rule after:
    input: lambda wildcards: checkpoints.checkpoint.get().output
    output: "after.txt"
    shell: "touch {output}"
"""


def race(folder: Path, guarded: bool) -> Path:
    folder.mkdir()
    snakefile = folder / "Snakefile"
    guard = f'\ninclude: "{REPO / "rules" / "guard.smk"}"\n' if guarded else ""
    snakefile.write_text(RACE + guard)
    return snakefile


def test_snakemake_still_forgets_a_job_waiting_for_its_retry(tmp_path: Path) -> None:
    """The bug itself: when a Snakemake release fixes it, this fails, and the guard can go."""
    snakefile = race(tmp_path / "bare", guarded=False)
    proc = run_workflow(snakefile.parent, "--resources", "slot=1", "--keep-going", snakefile=snakefile)
    assert "Trying to restart job" in proc.stderr and proc.stderr.count("Error in rule fails") == 1
    assert proc.returncode == 0 and not (snakefile.parent / "fails.txt").exists()


def test_the_guard_fails_a_run_that_left_a_job_unrun(tmp_path: Path) -> None:
    snakefile = race(tmp_path / "guarded", guarded=True)
    proc = run_workflow(snakefile.parent, "--resources", "slot=1", "--keep-going", snakefile=snakefile)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert error_lines(proc) == [
        "ave workflow: error: Snakemake ended without running all, fails — a Snakemake 9.27 bug drops a job "
        "waiting for its retry when a checkpoint finishes; run the same command again to finish them"
    ], proc.stderr[-2000:]
    assert (snakefile.parent / "after.txt").exists(), "the jobs it did run are kept"
