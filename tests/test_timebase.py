"""One time base for every decode: recordings joined from parts with `-c copy`, sound with timestamp gaps
and overlaps, a picture that starts after the sound, and sound that is missing at either end. Each is
probed (media.json records what its timestamps hold), decoded once by its time base, rendered as the
workflow renders, and checked: every join within one frame, and the words in final.mp4 on the picture's
sync marks (ave_core.synth paints one where each utterance starts).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ave_core.config import RenderConfig
from ave_core.evaluation import sync_mark_lags
from ave_core.media import probe
from ave_core.models import MediaInfo
from ave_core.render import check_render, chunk_jobs, decode_mono
from ave_core.synth import MARKER_BOX, Truth
from ave_core.timebase import SOURCE_AUDIO_RATE, SPEECH_RATE, SourceAudio, edit_audio_blocks
from ave_core.timemap import EditMap
from tests.conftest import ffmpeg, joined_from_parts, sound_with_a_jump
from tests.test_render import make_plan, render, source_sound

FPS = 25
FRAME_S = 1 / FPS
JUMP_AT_S = 7.0  # inside the second utterance: the jump lands in speech


def late_picture(source: Path, out: Path) -> Path:
    """The picture starting 0.5 s after the sound (frames keep their times), as screen recorders write."""
    ffmpeg("-i", str(source), "-filter_complex", "[0:v]trim=start=0.5[v]", "-map", "[v]", "-map", "0:a",
           "-c:v", "libx264", "-preset", "ultrafast", "-fps_mode", "passthrough", "-c:a", "copy",
           str(out))  # fmt: skip
    return out


def sound_cut(source: Path, out: Path, trim: str) -> Path:
    """`source` with its sound trimmed (`atrim` options; the sound keeps its timestamps)."""
    ffmpeg("-i", str(source), "-map", "0:v", "-map", "0:a", "-c:v", "copy", "-af", f"atrim={trim}",
           "-c:a", "aac", str(out))  # fmt: skip
    return out


# name -> how it is made from the marked talk
MAKERS: dict[str, Callable[[Path, Path], Path]] = {
    "joined from 2 parts": lambda talk, out: joined_from_parts(talk, 2, out),
    "joined from 6 parts": lambda talk, out: joined_from_parts(talk, 6, out),
    "joined from 15 parts": lambda talk, out: joined_from_parts(talk, 15, out),
    "sound with a 200 ms gap": lambda talk, out: sound_with_a_jump(talk, JUMP_AT_S, 0.2, out),
    "sound with a 200 ms overlap": lambda talk, out: sound_with_a_jump(talk, JUMP_AT_S, -0.2, out),
    "picture 0.5 s after the sound": late_picture,
    "sound 2 s shorter than the picture": lambda talk, out: sound_cut(talk, out, "end=30.68"),
    "sound starting 3 s late": lambda talk, out: sound_cut(talk, out, "start=3"),
}
GOOD = [name for name in MAKERS if "shorter" not in name and "late" not in name]


def pause_cuts(truth: Truth) -> list[tuple[float, float]]:
    """Every pause over 0.7 s less 0.25 s each side (what a joined file's few ms of drift cannot reach)."""
    return [(a + 0.25, b - 0.25) for a, b in truth.pauses if b - a > 0.7]


class Rendered:
    """One case: its input, media.json, its render and the render's check."""

    def __init__(self, name: str, talk: tuple[Path, Truth], folder: Path) -> None:
        folder.mkdir(parents=True)
        self.source = MAKERS[name](talk[0], folder / "input.mp4")
        self.media: MediaInfo = probe(self.source, slug="case")
        self.plan = make_plan(self.media.duration_s, pause_cuts(talk[1]))
        self.config = RenderConfig(chunk_s=10.0, preset="ultrafast")
        self.final = render(self.source, self.media, self.plan, self.config, folder)
        _, self.speech_wav = source_sound(self.source, self.media, folder)
        chunks = len(chunk_jobs(self.plan, self.media, self.config, None, folder))
        self.report = check_render(self.final, self.speech_wav, self.media, self.plan, self.config, chunks)


@pytest.fixture(scope="module")
def rendered(marked_talk, tmp_path_factory) -> Callable[[str], Rendered]:
    made: dict[str, Rendered] = {}

    def get(name: str) -> Rendered:
        if name not in made:
            made[name] = Rendered(name, marked_talk, tmp_path_factory.mktemp("timebase") / "case")
        return made[name]

    return get


def test_the_generated_talk_has_its_words_on_its_marks(marked_talk) -> None:
    path, truth = marked_talk
    lags = sync_mark_lags(path, MARKER_BOX)
    assert len(lags) == len(truth.utterances) == 12
    assert all(-0.006 <= lag < FRAME_S + 0.006 for lag in lags), lags


@pytest.mark.parametrize("name", GOOD)
def test_every_join_is_within_a_frame_and_the_words_are_on_the_picture(rendered, name: str) -> None:
    case = rendered(name)
    assert case.report.duration_s == case.report.expected_duration_s
    assert len([j for j in case.report.joins if j.correlation > 0.5]) >= 4
    assert case.report.max_offset_s <= FRAME_S
    lags = sync_mark_lags(case.final, MARKER_BOX)
    assert len(lags) >= 11, f"{len(lags)} of 12 sync marks found with a word: {lags}"
    # in the source each word starts inside its mark's frame: one frame off that, at most
    assert all(-FRAME_S <= lag < 2 * FRAME_S for lag in lags), lags


def test_media_json_records_what_the_timestamps_hold(rendered) -> None:
    for parts in (2, 6, 15):
        time_base = rendered(f"joined from {parts} parts").media.time_base
        assert time_base is not None and time_base.gap_count == 0
        # each join repeats a part's AAC priming (one frame, 21 ms) over the last one's padding: 21-45 ms
        assert time_base.overlap_count == parts - 1, time_base.overlaps
        assert all(0.02 <= o.duration_s <= 0.045 for o in time_base.overlaps), time_base.overlaps
        assert time_base.skew_s == pytest.approx(time_base.overlap_total_s)
        assert any("overlap" in w for w in time_base.warnings)
    gap = rendered("sound with a 200 ms gap").media.time_base
    assert gap is not None and gap.gap_count == 1 and gap.overlap_count == 0
    assert gap.gaps[0].at_s == pytest.approx(JUMP_AT_S, abs=0.05)
    # 200 ms less the AAC frame that ends the sound before it (the generator's, not ave's)
    assert gap.gap_total_s == pytest.approx(0.2, abs=0.045) and gap.skew_s == -gap.gap_total_s
    overlap = rendered("sound with a 200 ms overlap").media.time_base
    assert overlap is not None and overlap.overlap_count == 1 and overlap.gap_count == 0
    assert overlap.overlaps[0].at_s == pytest.approx(JUMP_AT_S, abs=0.05)  # where the muxer put it
    assert overlap.overlap_total_s == pytest.approx(0.2, abs=0.045)
    late = rendered("picture 0.5 s after the sound").media.time_base
    assert late is not None and late.picture_offset_s == pytest.approx(0.5, abs=FRAME_S)
    assert late.gap_count == late.overlap_count == 0


def test_a_decode_that_counts_samples_would_be_late_by_the_last_parts(rendered) -> None:
    """What the time base prevents, on the same file: the test material can fail."""
    source = rendered("joined from 15 parts").source
    naive = sync_mark_lags(source, MARKER_BOX, follow_timestamps=False)
    assert max(naive) > 3 * FRAME_S, naive
    assert all(-0.006 <= lag < FRAME_S + 0.006 for lag in sync_mark_lags(source, MARKER_BOX))


def test_every_decode_is_as_long_as_the_file_and_starts_at_its_start(rendered) -> None:
    case = rendered("sound with a 200 ms overlap")
    full, speech = source_sound(case.source, case.media, case.final.parent)
    for path, rate in ((full, SOURCE_AUDIO_RATE), (speech, SPEECH_RATE)):
        audio = SourceAudio.open(path)
        assert audio.rate == rate and audio.frames == round(case.media.duration_s * rate)
    late = rendered("sound starting 3 s late")
    assert late.media.time_base is not None and late.media.time_base.audio_start_s == pytest.approx(
        3, abs=0.03
    )
    speech_16k = SourceAudio.open(source_sound(late.source, late.media, late.final.parent)[1])
    assert np.abs(speech_16k.read(0, speech_16k.frame(2.9))).max() == 0  # silence where there is no sound
    assert np.abs(speech_16k.read(speech_16k.frame(3.0), speech_16k.frame(6.0))).max() > 0.05


@pytest.mark.parametrize(
    ("name", "silent_from_s", "silent_to_s", "said"),
    [
        ("sound 2 s shorter than the picture", 30.73, None, "the sound ends 2.0 s before the picture"),
        ("sound starting 3 s late", 0.0, 2.95, "the sound starts 3.0 s after the file"),
    ],
)
def test_missing_sound_renders_as_silence_and_says_so(
    rendered, name: str, silent_from_s: float, silent_to_s: float | None, said: str
) -> None:
    case = rendered(name)
    assert case.report.duration_s == case.report.expected_duration_s  # the picture is all there
    assert any(w.startswith(said) for w in case.report.producer.warnings), case.report.producer.warnings
    assert any(w.startswith(said) for w in case.media.producer.warnings)
    edit = EditMap.from_keep(case.plan.keep)
    start = edit.to_edited_clamped(silent_from_s)
    end = edit.to_edited_clamped(silent_to_s) if silent_to_s is not None else edit.duration_s
    sound = decode_mono(case.final, SPEECH_RATE)
    assert end - start > 0.5
    assert np.abs(sound[int(start * SPEECH_RATE) + 160 : int(end * SPEECH_RATE) - 160]).max() < 1e-3
    heard = sound[int(end * SPEECH_RATE) :] if silent_to_s is not None else sound[: int(start * SPEECH_RATE)]
    assert np.abs(heard).max() > 0.05  # and the sound that is there is heard
    lags = sync_mark_lags(case.final, MARKER_BOX)
    assert len(lags) >= 9 and all(-FRAME_S <= lag < 2 * FRAME_S for lag in lags), lags


def test_edit_sound_is_cut_at_the_samples_of_its_frames(tmp_path: Path) -> None:
    """A piece of the edit is its frames' samples, faded only at joins, silence past the file's end."""
    wav = tmp_path / "ramp.wav"
    ffmpeg("-f", "lavfi", "-i", "aevalsrc='t/4':s=48000:d=2", "-c:a", "pcm_s16le", str(wav))
    audio = SourceAudio.open(wav)
    assert (audio.rate, audio.channels, audio.frames) == (48000, 1, 96000)
    blocks = list(edit_audio_blocks(audio, [(48000, 2400, False), (95000, 2000, True)], fade_s=0.005))
    sound = np.concatenate(blocks)
    assert sound.shape == (4400, 2)
    # the first piece: samples 48000 .. 50399 as they are (a mono file is heard on both sides)
    assert sound[0, 0] == pytest.approx(0.25, abs=1e-3) and sound[2399, 1] == pytest.approx(0.2625, abs=1e-3)
    assert sound[2400, 0] == pytest.approx(0.0, abs=0.01)  # the second piece fades in ...
    assert sound[2400 + 500, 0] == pytest.approx(95500 / 48000 / 4, abs=1e-3)
    assert not sound[2400 + 1000 :].any()  # ... and lies past the end of the file: silence
