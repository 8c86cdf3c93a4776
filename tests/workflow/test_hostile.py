"""Hostile inputs, all generated here. Each ends in a one-line error naming the file (or config key) and the
fix, or in a degradation whose reason an artifact records; the rest of the batch finishes; nothing
half-written stays in results/; and once the input is fixed, a rerun plans only the missing work.

The odd-but-good videos and the broken files run as one batch project, as a user's folder of recordings
would (one Snakemake run; --keep-going comes from profiles/default).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ave_core.director import NOTHING_SPOKEN
from ave_core.evaluation import covered, sound_onsets, sync_mark_lags, sync_mark_times
from ave_core.media import probe
from ave_core.project import slugify
from ave_core.synth import DEMO_SCRIPT, MARKER_BOX, SAMPLE_RATE, make_recording, speak
from ave_core.transcript import NO_SPEECH
from tests.conftest import ffmpeg, joined_from_parts
from tests.workflow.conftest import error_lines, make_project, planned_jobs, run_workflow
from tests.workflow.test_workflow import AFTER_TRANSCRIPT, STAGES

pytestmark = pytest.mark.workflow

OFFLINE = ("--config", "research={backend: offline}")  # the corpus is about inputs, not web searches
SPOKEN = "Heating uses sixty percent of the energy."
THREE_HOURS_S = 3 * 3600
ODD_NAME = "Leçon [1] $(touch pwned) ; & 'x'.mp4"  # unicode, spaces, glob and shell characters
CAPTIONS = "1\n00:00:00,300 --> 00:00:02,400\nHeating uses sixty percent of the energy.\n"
BAD_CAPTIONS = "1\n00:00:00,300 --> 00:00:01,000\nHello.\n\n2\n00:00:0x,000 --> 00:00:02,000\nBroken.\n"

# input name -> clip, for the videos that are odd but fine: each must give the whole package
GOOD = {
    "vfr.mp4": "vfr",
    "rotated.mp4": "rotated",
    "tiny 2x2.mp4": "tiny",
    "uhd 4k.mp4": "uhd",
    "one second.mp4": "one_second",
    "silence 3h.mp4": "silence",
    "surround 5.1.mp4": "surround",
    "two tracks.mkv": "two_tracks",
    "matroska inside.mp4": "matroska",  # a Matroska file named .mp4
    "日本語 講義.mov": "plain_mp4",  # an MP4 named .mov, and a name without a letter in ASCII
    ODD_NAME: "plain_mp4",
    # a camera's split files joined with -c copy: each join repeats a part's AAC priming (the time base)
    "camera parts.mp4": "joined",
    # podcasts: sound only, each edited like a video, with an audiogram for final.mp4
    "voice only.mp4": "voice_only",
    "phone 8k.wav": "phone",
    "stereo talk.mp3": "stereo_mp3",
    "podcast 5.1.flac": "surround_flac",
}
PODCASTS = {"voice only.mp4", "phone 8k.wav", "stereo talk.mp3", "podcast 5.1.flac"}
# input name -> (bad_inputs key, the start of the one line its probe must stop with)
BROKEN = {
    "empty.mp4": ("zero", "empty file (0 bytes) — "),
    "notes.mp4": ("text", "cannot be read as media (not a recognised audio/video format — "),
    "cut 10.mp4": ("truncated_10", "truncated ("),
    "cut 50.mp4": ("truncated", "truncated ("),
    "cut 90.mp4": ("truncated_90", "truncated ("),
    "cut tail.mp4": ("truncated_tail", "truncated ("),
    "cut index.mp4": ("truncated_index_at_end", "cannot be read as media (no index (moov atom): "),
    "empty podcast.mp3": ("zero", "empty file (0 bytes) — "),
    "notes podcast.mp3": ("text", "cannot be read as media (not a recognised audio/video format — "),
    "picture.mp4": ("still_image", "a still picture (png), not a video — "),
}
CLASHING = ("My Talk.mp4", "my-talk.mkv")  # both become results/my-talk/
ARTIFACTS = {
    "media", "audio", "transcript", "scenes", "analysis", "research", "plan", "broll", "render",
    "thumbnails", "metadata", "shorts",
}  # fmt: skip


def slug_of(name: str) -> str:
    return slugify(Path(name).stem)


# --- generated media ------------------------------------------------------------------------


def write_speech(path: Path) -> None:
    """SPOKEN between two 0.3 s pauses, as a mono WAV."""
    pause = np.zeros(int(0.3 * SAMPLE_RATE), dtype=np.float32)
    samples = np.concatenate([pause, speak(SPOKEN), pause])
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(SAMPLE_RATE)
        handle.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())


@pytest.fixture(scope="module")
def clips(media_dir: Path) -> dict[str, Path]:
    """The odd-but-good clips, each a few seconds of SPOKEN over a test picture (the silence: 3 hours)."""
    folder = media_dir / "hostile"
    folder.mkdir()
    speech = folder / "speech.wav"
    write_speech(speech)
    x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    aac = ["-c:a", "aac", "-b:a", "64k"]

    def talking(picture: str = "testsrc2=size=320x240:rate=25", *args: str) -> list[str]:
        """SPOKEN over a lavfi picture, H.264 and AAC, as long as the speech."""
        return ["-f", "lavfi", "-i", picture, "-i", str(speech), *args, *x264, *aac, "-shortest"]

    def make(name: str, *args: str) -> Path:
        path = folder / name
        ffmpeg(*args, str(path))
        return path

    made = {
        "plain_mp4": make("plain.mp4", *talking(), "-f", "mp4"),
        "matroska": make("matroska.mkv", *talking(), "-f", "matroska"),
        "one_second": make("one second.mp4", *talking(), "-t", "1"),
        "uhd": make("uhd.mp4", *talking("testsrc2=size=3840x2160:rate=25"), "-t", "1"),
        "tiny": make("tiny.mp4", *talking("color=c=orange:size=2x2:rate=25")),
        # frames 17 and 23 ms off the 25 fps grid by turns: variable, averaging 25 fps as a phone's do
        "vfr": make(
            "vfr.mp4", *talking(
                "testsrc2=size=320x240:rate=25",
                "-vf", "settb=1/1000,setpts=(N+0.45*mod(N\\,2))/25/TB", "-fps_mode:v", "passthrough",
                "-enc_time_base:v", "1/1000", "-video_track_timescale", "1000",
            ),
        ),
        "surround": make(
            "surround.mp4", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-i", str(speech),
            "-filter_complex", "[1:a]pan=5.1|FC=c0|FL=0.2*c0|FR=0.2*c0[a]", "-map", "0:v", "-map", "[a]",
            *x264, "-c:a", "aac", "-shortest",
        ),
        # a French tone first, the English speech second and the default: the default is the one to edit
        "two_tracks": make(
            "two tracks.mkv", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
            "-f", "lavfi", "-i", "sine=frequency=440", "-i", str(speech),
            "-map", "0:v", "-map", "1:a", "-map", "2:a", "-metadata:s:a:0", "language=fre",
            "-metadata:s:a:1", "language=eng", "-disposition:a:0", "0", "-disposition:a:1", "default",
            *x264, *aac, "-shortest",
        ),
        # three hours cost little at 32x32 pixels, one frame a second and 8 kHz silence
        "silence": make(
            "silence.mp4", "-f", "lavfi", "-i", "color=c=gray:size=32x32:rate=1",
            "-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", str(THREE_HOURS_S),
            *x264, "-g", "600", "-c:a", "aac", "-b:a", "16k",
        ),
    }  # fmt: skip
    made["voice_only"] = make("voice only.mp4", "-i", str(speech), *aac)
    # a telephone line: 8 kHz, 300-3400 Hz
    made["phone"] = make(
        "phone.wav", "-i", str(speech), "-af", "highpass=f=300,lowpass=f=3400", "-ar", "8000"
    )
    made["stereo_mp3"] = make("stereo.mp3", "-i", str(speech), "-ac", "2", "-c:a", "libmp3lame")
    made["surround_flac"] = make(
        "surround.flac", "-i", str(speech), "-af", "pan=5.1|FC=c0|FL=0.2*c0|FR=0.2*c0", "-c:a", "flac"
    )
    made["rotated"] = make(
        "rotated.mp4", "-i", str(made["plain_mp4"]), "-c", "copy", "-metadata:s:v:0", "rotate=90"
    )
    # the demo's lesson with a sync mark where each utterance starts: one take of each sentence, so the edit
    # keeps most marks (conftest's marked talk says its passage twice, and the edit rightly keeps one take)
    lesson = folder / "marked lesson.mp4"
    make_recording(lesson, DEMO_SCRIPT, width=320, height=180, fps=25, shots=3, markers=True)
    made["joined"] = joined_from_parts(lesson, 15, folder / "joined.mp4")
    return made


# --- the batch --------------------------------------------------------------------------------


@dataclass
class Batch:
    project: Path
    proc: subprocess.CompletedProcess[str]
    elsewhere: Path

    @property
    def output(self) -> str:
        return self.proc.stdout + self.proc.stderr

    def results(self, name: str) -> Path:
        return self.project / "results" / slug_of(name)

    def context(self, name: str) -> dict:
        return json.loads((self.results(name) / "context.json").read_text())


@pytest.fixture(scope="module")
def batch(tmp_path_factory, clips: dict[str, Path], bad_inputs: dict[str, Path]) -> Batch:
    files = {name: clips[clip] for name, clip in GOOD.items()}
    files |= {name: bad_inputs[key] for name, (key, _) in BROKEN.items()}
    files |= {"bad captions.mp4": clips["plain_mp4"], CLASHING[0]: clips["one_second"]}
    files[CLASHING[1]] = clips["matroska"]
    slugs = [slug_of(name) for name in files if name != CLASHING[1]]
    assert len(set(slugs)) == len(slugs), "only CLASHING may share a slug: name the others apart"
    project = make_project(tmp_path_factory.mktemp("hostile") / "my channel", files)
    (project / "input" / "bad captions.srt").write_text(BAD_CAPTIONS)
    (project / "input" / Path(ODD_NAME).with_suffix(".srt")).write_text(CAPTIONS)
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    proc = run_workflow(project, "--keep-going", *OFFLINE, cwd=elsewhere, timeout_s=1800)
    return Batch(project, proc, elsewhere)


@pytest.mark.parametrize("name", list(GOOD))
def test_odd_but_good_video_gets_the_whole_package(batch: Batch, name: str) -> None:
    results = batch.results(name)
    assert (results / "context.json").is_file(), f"{name}: no context.json\n" + "\n".join(
        error_lines(batch.proc)
    )
    context = batch.context(name)
    assert set(context["artifacts"]) == ARTIFACTS
    assert set(context["files"]) == {"video", "captions", "timeline", "report"}
    assert context["content"]["media"]["source"]["original_name"] == name
    render = context["content"]["render"]
    final = probe(results / "final.mp4", slug="final")
    assert final.video is not None and final.has_audio
    assert (final.video.display_width, final.video.display_height) == (render["width"], render["height"])
    assert abs(final.duration_s - render["expected_duration_s"]) < 0.1
    assert not final.video.variable_frame_rate, "the render must have a constant frame rate"
    assert len(list((results / "thumbnails").glob("thumb-*.png"))) == 3
    for other in (
        "captions.srt",
        "captions.vtt",
        "timeline/timeline.otio",
        "report/timeline.png",
        "final.m4a",
    ):
        assert (results / other).is_file(), other
    if name in PODCASTS:
        assert context["content"]["media"]["video"] is None and (render["width"], render["height"]) == (
            1080,
            1080,
        )
        assert_the_speech_was_heard(context["content"])  # not the words: tiny.en mishears 8 kHz sound
        own = Path(name).suffix.lower()
        if own != ".mp4":  # the edit in the podcast's own format too
            assert probe(results / f"final{own}", slug="own").video is None


@pytest.mark.parametrize("name", [name for name in GOOD if name != "camera parts.mp4"])
def test_odd_but_good_video_gets_no_short_and_a_reason(batch: Batch, name: str) -> None:
    # every clip is shorter than shorts.min_s; the three hours of silence hold no word to cut around; a
    # podcast has no picture to cut a short from (said first: however long it is, it gets none)
    shorts = batch.context(name)["content"]["shorts"]
    assert shorts["shorts"] == [] and shorts["skip_reason"]
    expected = "no speech" if name == "silence 3h.mp4" else "shorter than shorts.min_s"
    if name in PODCASTS:
        expected = "no picture"
    assert expected in shorts["skip_reason"], shorts["skip_reason"]


def test_variable_frame_rate_is_noticed_and_rendered_constant(batch: Batch) -> None:
    video = batch.context("vfr.mp4")["content"]["media"]["video"]
    assert video["variable_frame_rate"] and video["frame_interval_spread"] > 0.5
    assert abs(video["fps"] - 25) < 0.5  # the average, whatever rate the container declares
    render = batch.context("vfr.mp4")["content"]["render"]
    # conformed to the standard rate nearest its average, not the declared 50 (which only duplicates frames),
    # so every NLE format can be written too
    assert video["nominal_fps"] == 50 and render["fps"] == 25.0
    timeline = batch.results("vfr.mp4") / "timeline"
    assert {path.suffix for path in timeline.iterdir()} >= {".otio", ".edl", ".xml", ".fcpxml"}


def test_rotated_video_is_edited_upright(batch: Batch) -> None:
    content = batch.context("rotated.mp4")["content"]
    video = content["media"]["video"]
    assert video["rotation"] in (90, 270) and (video["display_width"], video["display_height"]) == (240, 320)
    assert (content["render"]["width"], content["render"]["height"]) == (240, 320)
    for shot in content["scenes"]["shots"]:
        with Image.open(batch.results("rotated.mp4") / shot["keyframe"]) as keyframe:
            assert keyframe.height > keyframe.width, "keyframes must be upright (portrait)"


@pytest.mark.parametrize(("name", "size"), [("tiny 2x2.mp4", (2, 2)), ("uhd 4k.mp4", (3840, 2160))])
def test_extreme_sizes_keep_their_size(batch: Batch, name: str, size: tuple[int, int]) -> None:
    content = batch.context(name)["content"]
    assert (content["render"]["width"], content["render"]["height"]) == size
    for thumbnail in content["thumbnails"]["thumbnails"]:
        with Image.open(batch.results(name) / thumbnail["path"]) as image:
            assert image.size == (1280, 720)


def test_one_second_video_is_not_cut_to_nothing(batch: Batch) -> None:
    content = batch.context("one second.mp4")["content"]
    assert abs(content["media"]["duration_s"] - 1.0) < 0.05
    assert content["render"]["duration_s"] > 0.9


def test_three_hours_of_silence_are_kept_whole_with_the_reasons_recorded(batch: Batch) -> None:
    context = batch.context("silence 3h.mp4")
    content = context["content"]
    assert content["media"]["duration_s"] == THREE_HOURS_S
    assert content["audio"]["speech"] == [] and content["audio"]["loudness"]["integrated_lufs"] is None
    assert content["transcript"]["words"] == [] and content["transcript"]["skip_reason"] == NO_SPEECH
    assert content["plan"]["keep"] == [{"start": 0.0, "end": THREE_HOURS_S}]
    assert content["render"]["duration_s"] == THREE_HOURS_S
    history = {(event["stage"], event["kind"], event["message"]) for event in context["history"]}
    assert ("transcribe", "skip", NO_SPEECH) in history  # no words hallucinated into hours of silence
    assert ("direct", "warning", NOTHING_SPOKEN) in history
    assert any(stage == "audio" and "silent" in message for stage, _, message in history), history
    seconds = {stage["rule"]: stage["seconds"] for stage in context["stages"]}
    assert seconds["transcribe"] < 60, "speech recognition must not run over silence"
    assert sum(seconds.values()) < 900, f"three hours of silence took {seconds}"


def test_parts_joined_with_copy_are_heard_where_they_are_seen(batch: Batch) -> None:
    name = "camera parts.mp4"
    content = batch.context(name)["content"]
    assert content["media"]["time_base"]["overlap_count"] == 14  # a repeated priming at every join
    # the sound every stage hears (VAD, transcript, analysis read this WAV) has each word on its sync mark
    marks = sync_mark_times(batch.project / "input" / name, MARKER_BOX)
    onsets = sound_onsets(batch.results(name) / "audio_16k.wav")
    lags = [min(onsets, key=lambda onset: abs(onset - mark)) - mark for mark in marks]
    assert len(marks) == len(DEMO_SCRIPT) and all(-0.006 <= lag < 0.046 for lag in lags), lags
    # and so does the edit: the render's joins, and its words against its picture (marks under B-roll or
    # a punch-in are not seen, and the plan cuts the fillers' ones)
    assert content["render"]["max_offset_s"] <= 1 / 25
    final_lags = sync_mark_lags(batch.results(name) / "final.mp4", MARKER_BOX)
    assert len(final_lags) >= 5 and all(-1 / 25 <= lag < 2 / 25 for lag in final_lags), final_lags
    # the demo's lesson is long enough for a short, cut from the same time base and checked the same way
    shorts = content["shorts"]
    assert shorts["skip_reason"] is None and shorts["shorts"], shorts["skip_reason"]
    assert all(s["render"]["max_offset_s"] <= 1 / 25 for s in shorts["shorts"])


def assert_the_speech_was_heard(content: dict) -> None:
    """The stage analysed SPOKEN: the VAD hears speech over most of its stretch (write_speech puts it between
    two 0.3 s pauses), and the recogniser's words lie there. Not the words themselves: tiny.en writes
    different ones for the same espeak sentence in MP4 and in Matroska."""
    spoken = (0.3, content["media"]["duration_s"] - 0.3)
    heard_s = covered(*spoken, [(s["start"], s["end"]) for s in content["audio"]["speech"]])
    assert heard_s >= 0.8 * (spoken[1] - spoken[0]), (heard_s, content["audio"]["speech"])
    words = content["transcript"]["words"]
    assert len(words) >= 4, content["transcript"]["text"]
    assert all(spoken[0] - 0.3 <= w["start"] <= w["end"] <= spoken[1] + 0.3 for w in words), words


def test_five_one_sound_is_mixed_down_and_transcribed(batch: Batch) -> None:
    content = batch.context("surround 5.1.mp4")["content"]
    assert [s["channels"] for s in content["media"]["audio_streams"]] == [6]
    assert_the_speech_was_heard(content)


def test_the_default_audio_track_is_the_one_edited(batch: Batch) -> None:
    content = batch.context("two tracks.mkv")["content"]
    streams = content["media"]["audio_streams"]
    assert [(s["language"], s["is_default"]) for s in streams] == [("fre", False), ("eng", True)]
    assert content["audio"]["stream_index"] == streams[1]["index"]
    assert_the_speech_was_heard(content)  # the first track is a 440 Hz tone: no speech, no words
    video = content["media"]["video"]
    assert not video["variable_frame_rate"], "Matroska's stream durations are tags; the rate is constant"


def test_files_are_read_by_content_not_by_extension(batch: Batch) -> None:
    assert "matroska" in batch.context("matroska inside.mp4")["content"]["media"]["container"]
    context = batch.context("日本語 講義.mov")
    assert context["content"]["media"]["container"].startswith("mov,mp4")
    assert context["video"] == slug_of("日本語 講義.mov") and context["video"].startswith("video-")


def test_shell_and_glob_characters_in_names_are_only_names(batch: Batch) -> None:
    context = batch.context(ODD_NAME)
    assert context["video"] == "lecon-1-touch-pwned-x"
    assert context["content"]["media"]["source"]["path"] == f"input/{ODD_NAME}"
    transcript = context["content"]["transcript"]
    assert transcript["backend"] == "sidecar" and transcript["model"].endswith("'x'.srt")  # found by glob
    assert not (batch.project / "pwned").exists() and not (batch.elsewhere / "pwned").exists()


@pytest.mark.parametrize("name", list(BROKEN))
def test_broken_file_fails_in_one_line_and_leaves_nothing(batch: Batch, name: str) -> None:
    start = f"ave probe: error: input/{name}: {BROKEN[name][1]}"
    lines = [line for line in error_lines(batch.proc) if line.startswith(f"ave probe: error: input/{name}:")]
    assert len(lines) == 1 and lines[0].startswith(start), (start, lines)
    assert " — " in lines[0], "the line must say what to do"
    assert (
        lines[0].split("error: ", 1)[1] in (batch.project / "logs" / slug_of(name) / "probe.log").read_text()
    )
    assert not any(batch.results(name).glob("*")), f"partial output for {name}"


def test_truncated_tail_is_found_in_the_sound(batch: Batch) -> None:
    (line,) = [line for line in error_lines(batch.proc) if "input/cut tail.mp4" in line]
    assert re.search(r"truncated \(\d+ of \d+ audio frames present\)", line), line


def test_malformed_captions_fail_their_transcript_naming_file_and_line(batch: Batch) -> None:
    start = "ave transcribe: error: input/bad captions.srt:6: bad cue timing"
    lines = [line for line in error_lines(batch.proc) if "bad captions" in line]
    assert len(lines) == 1 and lines[0].startswith(start), lines
    results = batch.results("bad captions.mp4")
    assert (results / "scenes.json").is_file(), "the captions' error must not stop the other stages"
    assert not (results / "transcript.json").exists() and not (results / "plan.json").exists()


def test_names_that_slug_alike_are_refused_while_the_rest_goes_on(batch: Batch) -> None:
    line = (
        f"ave probe: error: input/{CLASHING[0]} and input/{CLASHING[1]}: both names become 'my-talk' "
        "in results/ — rename one of them"
    )
    assert error_lines(batch.proc).count(line) == 1, error_lines(batch.proc)
    assert not any(batch.results(CLASHING[0]).glob("*"))


def test_the_batch_reports_only_one_liners_and_leaves_nothing_half_written(batch: Batch) -> None:
    assert batch.proc.returncode != 0
    assert "Traceback" not in batch.output
    expected = len(BROKEN) + 2  # the broken files, the captions, the clash
    assert len(error_lines(batch.proc)) == expected, error_lines(batch.proc)
    assert_nothing_half_written(batch.project / "results")


def assert_nothing_half_written(results: Path) -> None:
    """No partial or temporary file, and every artifact there reads back whole."""
    hidden = [p for p in results.rglob(".*") if p.name != ".snakemake_timestamp"]
    assert hidden == [], hidden
    for path in results.rglob("*.json"):
        json.loads(path.read_text())
    for path in results.rglob("*.png"):
        with Image.open(path) as image:
            image.load()


# --- reruns after the fix ---------------------------------------------------------------------


def clone(project: Path, where: Path) -> Path:
    """A copy of `project` made of hard links (instant, however big): replace files, never write into them."""
    shutil.copytree(project, where, copy_function=os.link)
    return where


def replace(path: Path, source: Path) -> None:
    path.unlink(missing_ok=True)  # a hard link: writing through it would change the original too
    shutil.copyfile(source, path)


def missing_work() -> set[tuple[str, str]]:
    """The jobs of the batch that could not run: every stage of the refused files, the captions' rest."""
    refused = [slug_of(name) for name in BROKEN] + ["my-talk"]
    return {(rule, slug) for slug in refused for rule in STAGES} | {
        (rule, "bad-captions") for rule in AFTER_TRANSCRIPT
    }


def test_after_the_fixes_a_rerun_plans_only_the_missing_work(batch: Batch, tmp_path: Path, clips) -> None:
    project = clone(batch.project, tmp_path / "project")
    assert planned_jobs(project, *OFFLINE) == missing_work()
    for name in BROKEN:
        replace(project / "input" / name, clips["one_second"])
    replace(project / "input" / "bad captions.srt", project / "input" / Path(ODD_NAME).with_suffix(".srt"))
    (project / "input" / CLASHING[1]).rename(project / "input" / "my-talk 2.mkv")
    assert planned_jobs(project, *OFFLINE) == missing_work() | {(rule, "my-talk-2") for rule in STAGES}


# --- the project's config.yaml ------------------------------------------------------------------


@pytest.fixture(scope="module")
def configured(batch: Batch, tmp_path_factory) -> Path:
    """A copy of the batch (which has no config.yaml) whose config.yaml the tests write and remove."""
    return clone(batch.project, tmp_path_factory.mktemp("configured") / "project")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("render:\n  crf: high\n", "config key 'render.crf': 'high' is not of type 'integer' — "),
        ("scenes:\n  treshold: 20\n", "config key 'scenes.treshold' is unknown — remove it or use one of: "),
        (
            "vad:\n  threshold: -0.5\n",
            "config key 'vad.threshold': -0.5 is less than or equal to the minimum",
        ),
        ("vad:\n  threshold: [0.5\n", "config.yaml:3: not valid YAML (expected ',' or ']'"),
        ("- vad\n- threshold\n", "config.yaml: holds a list, not sections such as 'vad:' — "),
    ],
    ids=["wrong type", "unknown key", "negative threshold", "not YAML", "not a mapping"],
)
def test_bad_project_config_stops_in_one_line_and_its_fix_reruns_nothing_more(
    configured: Path, text: str, message: str
) -> None:
    config = configured / "config.yaml"
    config.write_text(text)
    try:
        proc = run_workflow(configured, "--dry-run", *OFFLINE)
    finally:
        config.unlink()
    assert proc.returncode != 0
    lines = (proc.stdout + proc.stderr).splitlines()
    assert len([line for line in lines if line.startswith(message)]) == 1, proc.stdout + proc.stderr
    assert not any(line.startswith("ave ") for line in lines), "no job may have run"
    assert planned_jobs(configured, *OFFLINE) == missing_work()


def test_empty_project_config_changes_nothing(configured: Path) -> None:
    config = configured / "config.yaml"
    config.write_text("# every key keeps its default (see config/README.md)\n")
    try:
        assert planned_jobs(configured, *OFFLINE) == missing_work()
    finally:
        config.unlink()


# --- where results/ cannot be written ----------------------------------------------------------


def mount_tmpfs(where: Path, options: str) -> None:
    """Mount a tmpfs at `where`, or skip the test (it needs root)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (run the tests as root, e.g. in the Docker image)")
    if shutil.which("mount") is None:
        pytest.skip("no mount command here to make a small tmpfs with")
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "ave-test", str(where)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs at {where}: {proc.stderr.strip()}")


def unmount(where: Path) -> None:
    if os.path.ismount(where):
        subprocess.run(["umount", str(where)], capture_output=True, check=True)


@pytest.fixture
def small_project(tmp_path: Path, clips: dict[str, Path]) -> Iterator[Path]:
    """A project of one short video whose results/ folder a test may mount something on."""
    project = make_project(tmp_path / "project", {"talk.mp4": clips["one_second"]})
    (project / "results").mkdir()
    yield project
    unmount(project / "results")


def test_read_only_results_folder_stops_at_once_in_one_line(small_project: Path) -> None:
    results = small_project / "results"
    if os.geteuid() == 0:  # root writes through permissions: make the folder a read-only file system
        mount_tmpfs(results, "ro,size=1m")
        message = "results/: cannot write there: read-only file system — make the folder writable"
    else:
        results.chmod(0o555)
        message = "results/: cannot write there: permission denied — make it readable and writable"
    try:
        proc = run_workflow(small_project, *OFFLINE)
    finally:
        unmount(results)
        results.chmod(0o755)
    assert proc.returncode != 0
    lines = (proc.stdout + proc.stderr).splitlines()
    assert len([line for line in lines if line.startswith(message)]) == 1, proc.stdout + proc.stderr
    assert not any(results.iterdir()) and not (small_project / "logs").exists(), "no job may have run"
    assert planned_jobs(small_project, *OFFLINE) == {(rule, "talk") for rule in STAGES}


FINISHED = re.compile(r"^Finished jobid: \d+ \(Rule: (\w+)\)$", re.MULTILINE)
FAILED = re.compile(r"^Error in rule (\w+):$", re.MULTILINE)


def test_full_disk_fails_each_job_in_one_line_and_the_rerun_finishes(small_project: Path) -> None:
    results = small_project / "results"
    mount_tmpfs(results, "size=256k")  # room for the first artifacts, not for thumbnails or the render
    proc = run_workflow(small_project, "--keep-going", *OFFLINE)
    output = proc.stdout + proc.stderr
    failed = FAILED.findall(output)
    assert proc.returncode != 0 and failed, output
    lines = error_lines(proc)
    assert len(lines) == len(failed), (failed, lines)
    assert all("no space left on device — free some space there" in line for line in lines), lines
    # each names the file it could not write, not the input it was reading
    assert all(": error: results/" in line for line in lines), lines
    assert "Traceback" not in output
    assert_nothing_half_written(results)
    finished = set(FINISHED.findall(output)) - {"all"}
    subprocess.run(["mount", "-o", "remount,size=256m", str(results)], check=True)  # space freed
    planned = {rule for rule, _ in planned_jobs(small_project, *OFFLINE)}
    assert planned and not planned & finished, (planned, finished)
    proc = run_workflow(small_project, *OFFLINE)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (results / "talk" / "context.json").is_file() and (results / "talk" / "final.mp4").is_file()
