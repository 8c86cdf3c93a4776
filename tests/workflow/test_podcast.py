"""A podcast (an MP3, sound only, with a cover image) through the whole workflow, and what a change of the
studio-sound settings reruns, from Snakemake's own dry run."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import opentimelineio as otio
import pytest
from PIL import Image

from ave_core.media import probe
from ave_core.synth import Truth
from tests.conftest import ffmpeg
from tests.workflow.conftest import make_project, planned_jobs, run_workflow
from tests.workflow.test_workflow import AFTER_AUDIO

pytestmark = pytest.mark.workflow

OFFLINE = ("--config", "research={backend: offline}")
# the edit's sound and what reads it: the podcast's audiogram chunks, the join, and what reads final.mp4
RENDER = {"render_audio", "render_chunk", "render", "export_audio", "review", "context"}


@pytest.fixture(scope="module")
def podcast(tmp_path_factory, talk: tuple[Path, Truth]) -> Path:
    """The talk's sound as a stereo 44.1 kHz MP3 with a little room noise, and a cover image beside it."""
    folder = tmp_path_factory.mktemp("podcast-media")
    mp3 = folder / "episode.mp3"
    ffmpeg(
        "-i", str(talk[0]), "-f", "lavfi", "-i", "anoisesrc=color=pink:amplitude=0.08:seed=3",
        "-filter_complex",
        "[0:a][1:a]amix=inputs=2:duration=first:normalize=0,aformat=channel_layouts=stereo",
        "-ar", "44100", "-c:a", "libmp3lame", "-q:a", "4", str(mp3),
    )  # fmt: skip
    cover = folder / "episode.png"
    Image.new("RGB", (600, 400), (200, 40, 90)).save(cover)
    project = make_project(
        tmp_path_factory.mktemp("podcast") / "show", {"episode.mp3": mp3, "episode.png": cover}
    )
    proc = run_workflow(project, *OFFLINE)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return project


def results(project: Path) -> Path:
    return project / "results" / "episode"


def test_a_podcast_gets_its_edit_as_sound_captions_chapters_and_an_audiogram(podcast: Path) -> None:
    folder = results(podcast)
    context = json.loads((folder / "context.json").read_text())
    render = context["content"]["render"]
    for kind in ("m4a", "mp3"):  # the podcast's own format as well as AAC
        edited = probe(folder / f"final.{kind}", slug="final")
        assert edited.video is None and edited.has_audio
        assert abs(edited.duration_s - render["expected_duration_s"]) < 0.1
    assert render["expected_duration_s"] < context["content"]["media"]["duration_s"] - 1, "nothing was cut"
    assert (folder / "captions.srt").read_text().strip() and (folder / "captions.vtt").is_file()
    assert context["content"]["metadata"]["chapters"], "no chapters"
    audiogram = probe(folder / "final.mp4", slug="final")
    assert audiogram.video is not None and (audiogram.video.width, audiogram.video.height) == (1080, 1080)
    assert render["duration_s"] == render["expected_duration_s"] and render["enhancement"]["denoiser"]
    # the audiogram is the cover, not a plain ground: its corner has the cover's colour
    frame = subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", "1", "-i", str(folder / "final.mp4"), "-frames:v", "1",
         "-vf", "crop=8:8:0:0", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    red, green, blue = frame[0], frame[1], frame[2]
    assert red > 150 and green < 90 and blue < 130, (red, green, blue)


def test_the_stages_that_need_a_picture_say_they_were_skipped(podcast: Path) -> None:
    context = json.loads((results(podcast) / "context.json").read_text())
    skipped = {e["stage"]: e["message"] for e in context["history"] if e["kind"] == "skip"}
    assert "audio only" in skipped["scenes"] and "audio only" in skipped["broll"]
    shorts = context["content"]["shorts"]  # long enough, words to cut around, but no picture for a short
    assert shorts["shorts"] == [] and "no picture" in shorts["skip_reason"], shorts["skip_reason"]
    assert not list((results(podcast) / "shorts").glob("*.mp4"))
    warnings = [e["message"] for e in context["history"] if e["stage"] == "thumbnails"]
    assert any("cover image episode.png" in w for w in warnings), warnings
    assert len(list((results(podcast) / "thumbnails").glob("thumb-*.png"))) == 3
    timeline = otio.adapters.read_from_file(str(results(podcast) / "timeline" / "timeline.otio"))
    assert [track.kind for track in timeline.tracks] == [otio.schema.TrackKind.Audio]
    assert len(timeline.tracks[0]) == len(context["content"]["plan"]["keep"])


def test_the_enhancement_is_recorded_and_can_be_heard(podcast: Path) -> None:
    folder = results(podcast)
    enhancement = json.loads((folder / "enhance.json").read_text())
    assert enhancement["preset"] == "moderate" and enhancement["hum"]["mains_hz"] is None
    assert [f["name"] for f in enhancement["chain"]][-2:] == ["deesser", "acompressor"]
    assert enhancement["reduction_db"] > 0, "pink noise 20 dB under the speech is noise to lower"
    assert (folder / "report" / "enhance.html").read_text().count("<audio") == 2


@pytest.mark.parametrize("change", ["enhance={preset: strong}", "enhance={dereverb: wpe}"])
def test_changing_the_enhancement_reruns_the_enhancement_and_the_render_only(
    podcast: Path, change: str
) -> None:
    planned = planned_jobs(podcast, *OFFLINE, change)
    assert planned == {(rule, "episode") for rule in {"enhance"} | RENDER}


def test_enhance_off_plans_no_enhancement_and_renders_the_source(podcast: Path) -> None:
    planned = planned_jobs(podcast, *OFFLINE, "enhance={preset: off}")
    assert planned == {(rule, "episode") for rule in RENDER}
    # the edit's sound is then cut from the source's sound on its time base, the input of a run without the
    # enhance stage, and the check compares with its 16 kHz twin
    for override, sound, check in (
        ("enhance={preset: off}", "audio_48k.wav", "audio_16k.wav"),
        ("enhance={preset: moderate}", "enhanced.flac", "enhanced_16k.wav"),
    ):
        inputs = job_inputs(podcast, "--forceall", *OFFLINE, override)
        assert f"results/episode/{sound}" in inputs["render_audio"], inputs["render_audio"]
        assert f"results/episode/{check}" in inputs["render"], inputs["render"]


def job_inputs(project: Path, *args: str) -> dict[str, list[str]]:
    """The input files of each rule's job, as a dry run prints them (one video)."""
    proc = run_workflow(project, "--dry-run", *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    inputs: dict[str, list[str]] = {}
    rule = None
    for line in (proc.stdout + proc.stderr).splitlines():
        if line.startswith(("rule ", "checkpoint ", "localrule ")):
            rule = line.split()[1].rstrip(":")
        elif rule and line.strip().startswith("input:"):
            inputs[rule] = line.split(":", 1)[1].strip().split(", ")
    return inputs


def test_listening_to_the_enhanced_sound_reruns_the_analysis(podcast: Path) -> None:
    planned = planned_jobs(podcast, *OFFLINE, "enhance={for_analysis: true}")
    # the plan is made again, so the render's loudness pass and chunks are planned after it (a checkpoint)
    assert planned == {(rule, "episode") for rule in AFTER_AUDIO}
