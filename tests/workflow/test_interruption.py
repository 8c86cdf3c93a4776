"""SIGKILL in the middle of a run, then Snakemake's own recovery: the result matches an uninterrupted run.

One project is killed three times, each time at a moment a file on disk gives away: while transcribing (the
rule's log has appeared), while rendering a chunk (ffmpeg's hidden partial output has data in it) and while
joining the render (final.mp4 is there, render.json is not yet). After each kill the documented recovery is
used: `snakemake --unlock` (a killed Snakemake leaves its lock behind), then the same command, which reruns
the incomplete jobs (the default profile sets rerun-incomplete). The finished project is compared with an
uninterrupted run of the same clip.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from ave_core.synth import Truth
from tests.workflow.conftest import SNAKEFILE, planned_jobs, run_workflow

pytestmark = pytest.mark.workflow

# research would search the web when it can; offline keeps both runs' inputs the same
OFFLINE = ("--config", "research={backend: offline}")
FPS = 25  # the talk fixture's frame rate
RUN_TIMEOUT_S = 600


@dataclass
class Kill:
    """What a killed run left behind."""

    moment: str
    after_s: float
    results: set[str]  # files under results/talk, relative to it
    incomplete: set[str]  # outputs Snakemake had marked as being written
    output: str


def make_project(root: Path, video: Path) -> Path:
    (root / "input").mkdir(parents=True)
    shutil.copyfile(video, root / "input" / "talk.mp4")
    return root


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def incomplete_outputs(project: Path) -> set[str]:
    """Outputs of jobs that started and did not finish: Snakemake 9 keeps one marker file per output in
    .snakemake/incomplete, named by the output path in base64."""
    folder = project / ".snakemake" / "incomplete"
    if not folder.is_dir():
        return set()
    return {base64.urlsafe_b64decode(p.name).decode() for p in folder.iterdir() if p.is_file()}


def live_members(group: int) -> list[int]:
    """Processes of a process group that are still running; zombies (dead, waiting for a parent that may
    never reap them, as in a container without an init) do not count."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after "pid (command name)"
        except (OSError, IndexError):
            continue  # exited while we looked
        state, process_group = fields[0], int(fields[2])
        if process_group == group and state not in ("Z", "X"):
            alive.append(int(stat.parent.name))
    return alive


def wait_until_group_is_gone(group: int, timeout_s: float = 30.0) -> None:
    """Every process of the killed run (Snakemake, job scripts, ffmpeg) has exited."""
    deadline = time.monotonic() + timeout_s
    while live_members(group):
        if time.monotonic() > deadline:
            pytest.fail(f"processes {live_members(group)} of the killed run are alive after {timeout_s:g} s")
        time.sleep(0.05)


def run_and_kill(project: Path, moment: str, seen: Callable[[], bool]) -> Kill:
    """Run the workflow and SIGKILL its whole process group as soon as `seen()` is true."""
    command = [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "-d", str(project)]
    command += ["--cores", "2", *OFFLINE]
    log = project.parent / f"run-killed-{moment.replace(' ', '-')}.log"
    started = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, cwd=project.parent, start_new_session=True
        )
        try:
            while not seen():
                if proc.poll() is not None:
                    pytest.fail(
                        f"the run ended (exit {proc.returncode}) before {moment}:\n{log.read_text()[-4000:]}"
                    )
                if time.monotonic() - started > RUN_TIMEOUT_S:
                    pytest.fail(f"no sign of {moment} within {RUN_TIMEOUT_S} s")
                time.sleep(0.005)
            after_s = time.monotonic() - started
            os.killpg(proc.pid, signal.SIGKILL)
        finally:
            if proc.poll() is None:  # a failed wait must not leave the run going
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    wait_until_group_is_gone(proc.pid)
    return Kill(
        moment=moment,
        after_s=after_s,
        results=files_under(project / "results" / "talk"),
        incomplete=incomplete_outputs(project),
        output=log.read_text(),
    )


def unlock(project: Path) -> None:
    """The documented first step after a killed run: remove the lock the dead Snakemake left."""
    proc = run_workflow(project, "--unlock", *OFFLINE)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def has_data(pattern: str, folder: Path) -> Callable[[], bool]:
    def seen() -> bool:
        for path in folder.glob(pattern):
            try:
                if path.stat().st_size > 0:
                    return True
            except FileNotFoundError:  # renamed into place between the glob and the stat
                continue
        return False

    return seen


@pytest.fixture(scope="module")
def baseline(tmp_path_factory, talk: tuple[Path, Truth]) -> Path:
    """The same clip, run once without interruption."""
    project = make_project(tmp_path_factory.mktemp("uninterrupted") / "project", talk[0])
    proc = run_workflow(project, *OFFLINE)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return project


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory, talk: tuple[Path, Truth]) -> tuple[Path, list[Kill], float]:
    """A project killed while transcribing, while rendering a chunk and while joining, recovered each
    time; returns the project, what each kill left, and the seconds the final recovery took."""
    project = make_project(tmp_path_factory.mktemp("interrupted") / "project", talk[0])
    results = project / "results" / "talk"
    kills = [run_and_kill(project, "transcribing", (project / "logs" / "talk" / "transcribe.log").exists)]
    locked = run_workflow(project, *OFFLINE)  # what the README says a user sees first
    assert locked.returncode != 0 and "Directory cannot be locked" in locked.stderr, locked.stderr
    unlock(project)
    kills.append(run_and_kill(project, "rendering a chunk", has_data(".chunk-*", results / "render")))
    unlock(project)
    kills.append(run_and_kill(project, "joining the render", (results / "final.mp4").exists))
    unlock(project)
    started = time.monotonic()
    proc = run_workflow(project, *OFFLINE)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return project, kills, time.monotonic() - started


def read(project: Path, name: str) -> dict:
    return json.loads((project / "results" / "talk" / name).read_text())


def durations(video: Path) -> dict[str, float]:
    """ffprobe's durations of the container and of each stream, and the video's frame count."""
    proc = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_type,duration,nb_frames",
         "-of", "json", str(video)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    probed = json.loads(proc.stdout)
    found = {"format": float(probed["format"]["duration"])}
    for stream in probed["streams"]:
        found[stream["codec_type"]] = float(stream["duration"])
        if stream["codec_type"] == "video":
            found["frames"] = float(stream["nb_frames"])
    return found


def test_each_kill_caught_its_job_mid_write(interrupted) -> None:
    _, (transcribing, chunk, join), _ = interrupted

    # transcript.json is written whole or not at all, and Snakemake knows the job did not finish
    assert "transcript.json" not in transcribing.results, transcribing.output
    assert "results/talk/transcript.json" in transcribing.incomplete

    # the first recovery got through transcription; the chunk's ffmpeg was writing its hidden partials
    assert "transcript.json" in chunk.results
    assert any(name.startswith("render/.chunk-0.part") for name in chunk.results), chunk.results
    # a chunk is picture only since the time base: the edit's sound is render_audio's, one file for the video
    assert "render/chunk-0.mp4" not in chunk.results
    assert "results/talk/render/chunk-0.mp4" in chunk.incomplete

    # final.mp4 was there before its integrity check had written render.json: it must not count as done
    assert "final.mp4" in join.results and "render.json" not in join.results
    assert {"results/talk/final.mp4", "results/talk/render.json"} <= join.incomplete


def test_recovered_render_matches_the_uninterrupted_one(interrupted, baseline: Path) -> None:
    project, _, _ = interrupted
    frame_s = 1.0 / FPS
    got = durations(project / "results" / "talk" / "final.mp4")
    want = durations(baseline / "results" / "talk" / "final.mp4")
    assert got["frames"] == want["frames"]
    for part in ("format", "video", "audio"):
        assert abs(got[part] - want[part]) <= frame_s + 1e-6, (part, got, want)
    assert abs(got["audio"] - got["video"]) <= frame_s + 1e-6  # A/V ends together

    render, reference = read(project, "render.json"), read(baseline, "render.json")
    for key in ("duration_s", "expected_duration_s", "fps", "width", "height", "chunks"):
        assert render[key] == reference[key], key
    assert render["duration_s"] == render["expected_duration_s"]
    assert [j["edited_time"] for j in render["joins"]] == [j["edited_time"] for j in reference["joins"]]
    for mine, theirs in zip(render["joins"], reference["joins"], strict=True):
        assert abs(mine["offset_s"] - theirs["offset_s"]) <= 0.001, (mine, theirs)
    assert render["max_offset_s"] <= frame_s
    assert render["loudness_lufs"] == pytest.approx(reference["loudness_lufs"], abs=0.2)


def test_recovered_artifacts_match_the_uninterrupted_ones(interrupted, baseline: Path) -> None:
    project, _, _ = interrupted

    def words(p: Path) -> list[tuple]:
        return [
            (w["word"], w["start"], w["end"], w["is_filler"]) for w in read(p, "transcript.json")["words"]
        ]

    assert words(project) and words(project) == words(baseline)
    assert read(project, "plan.json")["cuts"] == read(baseline, "plan.json")["cuts"]
    for name in ("captions.srt", "captions.vtt"):
        assert (project / "results" / "talk" / name).read_text() == (
            baseline / "results" / "talk" / name
        ).read_text()
    context = read(project, "context.json")
    assert context["content"]["render"]["duration_s"] == read(baseline, "render.json")["duration_s"]
    assert files_under(project / "results") == files_under(baseline / "results")


def test_recovery_leaves_no_partial_files_and_nothing_to_do(interrupted) -> None:
    project, _, _ = interrupted
    assert incomplete_outputs(project) == set()
    # ffmpeg's partial outputs and our temporary JSON files start with "."; Snakemake marks directory()
    # outputs with its own timestamp file
    hidden = [p for p in (project / "results").rglob(".*") if p.name != ".snakemake_timestamp"]
    assert hidden == []
    assert not list((project / "results" / "talk" / "render").glob("chunk-*"))  # temp(): removed
    assert planned_jobs(project, *OFFLINE) == set()
