"""A change to the library reruns exactly the rules whose scripts import the changed module.

Each ave_core module is edited in turn in a copy of the repository, and Snakemake decides, over a finished
project, which jobs' params changed (tests/workflow/params_changes.py: its params rerun trigger, asked for
every job in one process). Those must be the rules whose scripts import the module, directly or not, as
the standard library's ModuleFinder (not the code under test) finds them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_code_hash import finder_modules, rule_scripts

pytestmark = pytest.mark.workflow

REPO = Path(__file__).resolve().parents[2]
# what a run of the workflow reads from the repository
WORKFLOW_PARTS = ("Snakefile", "rules", "scripts", "ave_core", "config", "envs", "report", "profiles")
# rules reached only through render's temp() chunks: once the chunks are joined and deleted, Snakemake plans
# them only when render reruns, so render's param hashes their scripts too
BEHIND_TEMP = {"render_chunk"}
# jobs that exist only when a video has a short: the finished talk is shorter than shorts.min_s, so there is
# no short_render job to plan (test_code_hash checks its param hashes its own script like every rule's)
NO_JOB_HERE = {"short_render"}


def copy_workflow(target: Path) -> Path:
    target.mkdir(parents=True)
    for part in WORKFLOW_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, target / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / part)
    return target


def test_editing_a_module_reruns_exactly_the_rules_that_import_it(
    finished_talk: Path, tmp_path: Path
) -> None:
    repo = copy_workflow(tmp_path / "repo")
    project = tmp_path / "project"
    shutil.copytree(finished_talk, project, symlinks=True)
    modules = sorted(
        ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        for path in (REPO / "ave_core").rglob("*.py")
    )
    proc = subprocess.run(
        [sys.executable, "-m", "tests.workflow.params_changes", str(repo), str(project), *modules],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    planned = {module: set(rules) for module, rules in json.loads(proc.stdout.splitlines()[-1]).items()}

    scripts = rule_scripts()
    imports = {
        rule: set().union(*(finder_modules(REPO / "scripts" / f"{name}.py", REPO) for name in names))
        for rule, names in scripts.items()
    }
    expected = {
        m: {rule for rule in scripts if m in imports[rule]} - BEHIND_TEMP - NO_JOB_HERE for m in modules
    }
    assert planned.pop("") == set(), "an unchanged copy of the workflow must plan nothing"
    assert planned == expected
    assert expected["ave_core.models"] >= {"probe", "direct", "render", "context"}, "the test sees the rules"
