"""Rendering: exact duration, A/V sync at every join, loudness, chunks identical to one piece, punch-ins."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from ave_core.config import RenderConfig
from ave_core.corpus import write_wav
from ave_core.errors import AveError
from ave_core.media import probe
from ave_core.models import Cut, Emphasis, MediaInfo, Plan, Span, make_producer
from ave_core.render import (
    RenderError,
    check_render,
    chunk_jobs,
    decode_mono,
    join_chunks,
    output_fps,
    plan_pieces,
    render_audio,
    render_chunk,
    sync_offset,
)
from ave_core.synth import Truth
from ave_core.timebase import SourceAudio, decode_source_audio
from tests.conftest import ffmpeg


def make_plan(duration: float, cuts: list[tuple[float, float]], emphasis: tuple[float, ...] = ()) -> Plan:
    from ave_core.director import keep_ranges

    cut_models = [Cut(start=a, end=b, reason="silence") for a, b in cuts]
    return Plan(
        producer=make_producer("direct", "test"), backend="test", keep=keep_ranges(cut_models, duration),
        cuts=cut_models, emphasis=[Emphasis(time=t) for t in emphasis],
    )  # fmt: skip


def source_sound(source: Path, media: MediaInfo, out: Path) -> tuple[Path, Path]:
    """The source's sound decoded by its time base, as extract_audio writes it: the 48 and 16 kHz WAVs."""
    full, speech = out / "audio_48k.wav", out / "audio_16k.wav"
    if not full.exists():
        decode_source_audio(source, media, full, speech)
    return full, speech


def render(source: Path, media: MediaInfo, plan: Plan, config: RenderConfig, out: Path) -> Path:
    """The render as the workflow runs it: the sound once (render_audio), the picture in chunks, the join."""
    out.mkdir(parents=True, exist_ok=True)
    full, _ = source_sound(source, media, out)
    render_audio(full, media, plan, config, out / "audio.m4a")
    videos = []
    for job in chunk_jobs(plan, media, config, None, out):
        video = out / f"chunk-{job.index}.mp4"
        render_chunk(source, media, job, config, video)
        videos.append(video)
    final = out / "final.mp4"
    join_chunks(videos, out / "audio.m4a", final)
    return final


@pytest.fixture(scope="module")
def talk_media(talk: tuple[Path, Truth], tmp_path_factory) -> tuple[Path, MediaInfo, Truth, Path]:
    path, truth = talk
    media = probe(path, slug="talk")
    _, wav = source_sound(path, media, tmp_path_factory.mktemp("talk-sound"))
    return path, media, truth, wav


@pytest.fixture(scope="module")
def cuts_of_talk(talk_media) -> list[tuple[float, float]]:
    _, _, truth, _ = talk_media
    # every pause longer than 0.5 s, less 0.1 s each side, and the fillers: many joins
    cuts = [(a + 0.1, b - 0.1) for a, b in truth.pauses if b - a > 0.5]
    cuts += [(u.start - 0.05, u.end + 0.05) for u in truth.fillers]
    merged: list[tuple[float, float]] = []
    for a, b in sorted(cuts):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def test_pieces_lie_on_the_frame_grid(talk_media, cuts_of_talk) -> None:
    _, media, truth, _ = talk_media
    plan = make_plan(truth.duration, cuts_of_talk, emphasis=(2.0,))
    pieces = plan_pieces(plan, media, RenderConfig())
    fps = output_fps(media)
    assert fps == 25.0
    assert len(pieces) >= len(plan.keep)
    assert any(p.zoom for p in pieces) and not all(p.zoom for p in pieces)
    for piece, span in zip([p for p in pieces if not p.zoom], plan.keep, strict=False):
        assert abs(piece.start_frame / fps - span.start) <= 0.5 / fps + 1e-9


@pytest.mark.parametrize("chunk_s", [1000.0, 4.0])
def test_render_matches_kept_ranges_in_duration_and_sync(
    talk_media, cuts_of_talk, tmp_path: Path, chunk_s: float
) -> None:
    source, media, truth, wav = talk_media
    plan = make_plan(truth.duration, cuts_of_talk)
    config = RenderConfig(chunk_s=chunk_s, preset="ultrafast")
    final = render(source, media, plan, config, tmp_path)
    chunks = len(chunk_jobs(plan, media, config, None, tmp_path))
    assert (chunks == 1) == (chunk_s > 100) and chunks >= 1
    report = check_render(final, wav, media, plan, config, chunks)
    kept = sum(s.duration_s for s in plan.keep)
    assert report.duration_s == pytest.approx(kept, abs=1 / 25)
    assert report.duration_s == report.expected_duration_s
    assert len([j for j in report.joins if j.correlation > 0.5]) >= 3
    assert report.max_offset_s <= 1 / 25
    assert report.loudness_lufs == pytest.approx(
        config.target_lufs, abs=1.5
    )  # 15 s of speech: short for R128
    info = probe(final, slug="final")
    assert info.video and info.video.fps == pytest.approx(25, abs=0.01)
    assert [a.codec for a in info.audio_streams] == ["aac"]


def test_one_chunk_and_many_chunks_give_the_same_audio(talk_media, cuts_of_talk, tmp_path: Path) -> None:
    source, media, truth, _ = talk_media
    plan = make_plan(truth.duration, cuts_of_talk)
    one = render(source, media, plan, RenderConfig(chunk_s=1000, preset="ultrafast"), tmp_path / "one")
    many = render(source, media, plan, RenderConfig(chunk_s=3, preset="ultrafast"), tmp_path / "many")
    a, b = decode_mono(one), decode_mono(many)
    assert abs(a.size - b.size) <= 16000 / 25
    n = min(a.size, b.size)
    assert np.corrcoef(a[:n], b[:n])[0, 1] > 0.98  # same sound at the same times


def _channels_and_heard_loudness(sound: Path) -> tuple[int, float]:
    """The sound's channel count, and its loudness played on two speakers (a mono sound at full level on
    both, as browsers play it)."""
    channels = probe(sound, slug="sound").audio_streams[0].channels
    both = "pan=stereo|c0=c0|c1=c0," if channels == 1 else ""
    proc = subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-i", str(sound), "-af", f"{both}ebur128",
         "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    summary = proc.stderr[proc.stderr.rfind("Summary:") :]
    return channels, float(summary.split("I:")[1].split("LUFS")[0])


def test_a_mono_sound_stays_mono_and_is_as_loud_as_its_stereo_copy(
    talk_media, cuts_of_talk, tmp_path: Path
) -> None:
    """The talk's mono sound and the same sound on both channels of a stereo file: the first is encoded
    mono (half the work), the second stereo, and both play equally loud on two speakers."""
    source, media, truth, _ = talk_media
    plan = make_plan(truth.duration, cuts_of_talk)
    config = RenderConfig()
    mono_wav, _ = source_sound(source, media, tmp_path)
    stereo_wav = tmp_path / "stereo.wav"
    ffmpeg("-i", str(mono_wav), "-ac", "2", "-c:a", "pcm_s16le", str(stereo_wav))
    assert SourceAudio.open(mono_wav).channels == 1 and SourceAudio.open(stereo_wav).channels == 2
    render_audio(mono_wav, media, plan, config, tmp_path / "mono.m4a")
    render_audio(stereo_wav, media, plan, config, tmp_path / "stereo.m4a")
    mono_channels, mono_lufs = _channels_and_heard_loudness(tmp_path / "mono.m4a")
    stereo_channels, stereo_lufs = _channels_and_heard_loudness(tmp_path / "stereo.m4a")
    assert (mono_channels, stereo_channels) == (1, 2)
    assert mono_lufs == pytest.approx(stereo_lufs, abs=0.2)
    assert mono_lufs == pytest.approx(config.target_lufs, abs=1.0)


def test_joins_do_not_click(talk_media, tmp_path: Path) -> None:
    source, media, truth, _ = talk_media
    # cut in the middle of speech on purpose: the hardest join
    middle = truth.utterances[0]
    cut = (middle.start + 0.5, middle.start + 0.9)
    plan = make_plan(truth.duration, [cut])
    final = render(source, media, plan, RenderConfig(preset="ultrafast"), tmp_path)
    samples = decode_mono(final, 48000)
    join = int(round(cut[0] * 25) / 25 * 48000)
    around = np.abs(np.diff(samples[join - 240 : join + 240]))
    elsewhere = np.abs(np.diff(samples[join - 48000 : join - 24000]))
    assert around.max() <= max(3 * np.percentile(elsewhere, 99.9), 0.05)


def test_a_video_without_audio_renders_with_silence(silent_video: Path, tmp_path: Path) -> None:
    media = probe(silent_video, slug="silent")
    plan = make_plan(media.duration_s, [(1.0, 2.0)])
    final = render(silent_video, media, plan, RenderConfig(preset="ultrafast"), tmp_path)
    report = check_render(final, None, media, plan, RenderConfig(), 1)
    assert report.duration_s == pytest.approx(media.duration_s - 1.0, abs=1 / 25)
    assert np.abs(decode_mono(final)).max() < 1e-3


def test_punch_in_zooms_the_picture(talk_media, tmp_path: Path) -> None:
    source, media, truth, _ = talk_media
    plan = make_plan(truth.duration, [], emphasis=(1.0,))
    final = render(source, media, plan, RenderConfig(preset="ultrafast", punch_in_s=1.0), tmp_path)

    def frame(path: Path, t: float) -> np.ndarray:
        raw = subprocess.run(
            ["ffmpeg", "-v", "error", "-ss", str(t), "-i", str(path), "-frames:v", "1", "-f", "rawvideo",
             "-pix_fmt", "gray", "-"], capture_output=True, check=True,
        ).stdout  # fmt: skip
        return np.frombuffer(raw, dtype=np.uint8).reshape(360, 640).astype(float)

    inside, outside = frame(final, 1.5), frame(final, 2.6)
    assert np.abs(inside - frame(source, 1.5)).mean() > 5 * max(
        np.abs(outside - frame(source, 2.6)).mean(), 0.5
    )


def test_a_render_that_does_not_match_the_plan_fails_its_check(
    talk_media, cuts_of_talk, tmp_path: Path
) -> None:
    source, media, truth, wav = talk_media
    plan = make_plan(truth.duration, cuts_of_talk)
    final = render(source, media, plan, RenderConfig(preset="ultrafast"), tmp_path)
    other = make_plan(truth.duration, cuts_of_talk[1:])
    with pytest.raises(RenderError, match="long, the kept ranges add up to"):
        check_render(final, wav, media, other, RenderConfig(), 1)
    shifted = Plan(
        **{**plan.model_dump(), "keep": [Span(start=s.start + 0.2, end=s.end + 0.2) for s in plan.keep]}
    )
    shifted.keep[-1].end = min(shifted.keep[-1].end, truth.duration)
    with pytest.raises(RenderError):
        check_render(final, wav, media, shifted, RenderConfig(), 1)


def test_burned_captions_appear_in_the_picture(talk_media, tmp_path: Path) -> None:
    source, media, truth, _ = talk_media
    plan = make_plan(truth.duration, [(0.2, 0.8)])
    srt = tmp_path / "captions.srt"
    srt.write_text("1\n00:00:00,500 --> 00:00:02,500\nHEATING MATTERS\n")
    config = RenderConfig(preset="ultrafast", burn_captions=True, caption_font_size=24)
    job = chunk_jobs(plan, media, config, None, tmp_path)[0]
    with_text, plain = tmp_path / "with.mp4", tmp_path / "plain.mp4"
    render_chunk(source, media, job, config, with_text, captions=srt)
    render_chunk(source, media, job, config.model_copy(update={"burn_captions": False}), plain, captions=srt)

    def bottom(path: Path, t: float) -> np.ndarray:
        raw = subprocess.run(
            ["ffmpeg", "-v", "error", "-ss", str(t), "-i", str(path), "-frames:v", "1", "-f", "rawvideo",
             "-pix_fmt", "gray", "-"], capture_output=True, check=True,
        ).stdout  # fmt: skip
        return np.frombuffer(raw, dtype=np.uint8).reshape(360, 640)[250:, :].astype(float)

    assert np.abs(bottom(with_text, 1.0) - bottom(plain, 1.0)).mean() > 2.0  # text drawn while the cue shows
    assert np.abs(bottom(with_text, 3.5) - bottom(plain, 3.5)).mean() < 1.0  # and gone after it
    assert not list(tmp_path.glob("*.captions.srt"))


def test_the_join_keeps_its_scratch_beside_the_output_and_clears_a_killed_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(system_tmp))  # where tempfile would put its folders
    video, audio = tmp_path / "render" / "chunk-0.mp4", tmp_path / "render" / "audio.m4a"
    video.parent.mkdir()
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x64:rate=25:duration=1", "-pix_fmt", "yuv420p", str(video))
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-ar", "48000", "-c:a", "aac", str(audio))
    final = tmp_path / "final.mp4"
    killed = tmp_path / ".final.join"  # what a join killed midway leaves
    killed.mkdir()
    (killed / "videos.txt").write_text("file 'gone.mp4'\n")

    join_chunks([video], audio, final)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["final.mp4", "render", "system-tmp"]
    assert probe(final, slug="final").duration_s == pytest.approx(1.0, abs=0.1)

    with pytest.raises(AveError):  # ffmpeg cannot read a chunk that is not there
        join_chunks([video.with_name("missing.mp4")], audio, tmp_path / "other.mp4")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["final.mp4", "render", "system-tmp"]
    assert list(system_tmp.iterdir()) == []


def test_the_sync_check_compares_only_the_stretch_before_the_next_join(tmp_path: Path) -> None:
    """A retake said exactly as the first take (synthetic speech does), its first take cut: a short quiet
    piece before the join into the second take must not be compared past that join, where the second take
    matches the source's first take 0.15 s away and fakes an offset."""
    rate = 16000
    rng = np.random.default_rng(7)
    source = rng.normal(0, 1e-4, 4 * rate).astype(np.float32)  # a quiet room
    take = rng.normal(0, 0.3, int(0.6 * rate)).astype(np.float32)
    for at in (1.0, 2.3):  # the same words twice
        source[int(at * rate) : int(at * rate) + take.size] = take
    kept = [(0.0, 0.5), (0.72, 1.0), (2.15, 4.0)]  # the first take cut from its first sample
    rendered = np.concatenate([source[int(a * rate) : int(b * rate)] for a, b in kept])
    write_wav(tmp_path / "source.wav", source, rate)
    write_wav(tmp_path / "final.wav", rendered, rate)
    source_audio, final_audio = (
        SourceAudio.open(tmp_path / "source.wav"),
        SourceAudio.open(tmp_path / "final.wav"),
    )
    fooled = sync_offset(final_audio, source_audio, 0.5, 0.72)  # a whole second: into the second take
    assert fooled is not None and abs(fooled.offset_s) > 0.1 and fooled.correlation > 0.5
    assert sync_offset(final_audio, source_audio, 0.5, 0.72, length_s=0.28) is None  # quiet: nothing to tell
    after = sync_offset(final_audio, source_audio, 0.78, 2.15, length_s=1.85)
    assert after is not None and abs(after.offset_s) < 1e-3 and after.correlation > 0.9


def test_a_broll_clip_over_a_chunk_boundary_goes_on_in_the_next_chunk(
    talk_media, cuts_of_talk, tmp_path: Path
) -> None:
    """A cutaway that starts 1 s before a chunk ends is shown whole: its second half (blue) in the next
    chunk, from where the first chunk left it, not cut off at the join."""
    from ave_core.models import Broll, BrollClip

    source, media, truth, _ = talk_media
    plan = make_plan(truth.duration, cuts_of_talk)
    config = RenderConfig(chunk_s=4.0, preset="ultrafast")
    boundary = chunk_jobs(plan, media, config, None, tmp_path)[1].start_s
    edited, start = 0.0, None  # the source time shown 1 s before the boundary
    for span in plan.keep:
        if start is None and edited + span.duration_s > boundary - 1.0:
            start = span.start + (boundary - 1.0 - edited)
        edited += span.duration_s
    assert start is not None
    clip = tmp_path / "broll" / "red-then-blue.mp4"
    clip.parent.mkdir()
    ffmpeg("-f", "lavfi", "-i", "color=c=red:s=320x180:r=25:d=1", "-f", "lavfi",
           "-i", "color=c=blue:s=320x180:r=25:d=1", "-filter_complex", "[0:v][1:v]concat=n=2:v=1[v]",
           "-map", "[v]", "-pix_fmt", "yuv420p", str(clip))  # fmt: skip
    broll = Broll(
        producer=make_producer("broll", "test"),
        clips=[BrollClip(path="broll/red-then-blue.mp4", kind="title_card", text="x", start=start,
                         duration=2.0, width=320, height=180)],
    )  # fmt: skip
    full, _ = source_sound(source, media, tmp_path)
    render_audio(full, media, plan, config, tmp_path / "audio.m4a")
    videos = []
    for job in chunk_jobs(plan, media, config, broll, tmp_path):
        videos.append(tmp_path / f"chunk-{job.index}.mp4")
        render_chunk(source, media, job, config, videos[-1])
    final = tmp_path / "final.mp4"
    join_chunks(videos, tmp_path / "audio.m4a", final)

    def colour(t: float) -> np.ndarray:
        raw = subprocess.run(
            ["ffmpeg", "-v", "error", "-ss", f"{t:.3f}", "-i", str(final), "-frames:v", "1",
             "-vf", "scale=8:8", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True,
        ).stdout  # fmt: skip
        return np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).mean(axis=0)

    red, blue, after = colour(boundary - 0.5), colour(boundary + 0.5), colour(boundary + 1.5)
    assert red[0] > 150 and red[2] < 80, red
    assert blue[2] > 150 and blue[0] < 80, blue  # the clip's second half, in the next chunk
    assert not (after[2] > 150 and after[0] < 80), after  # and gone when it ends


def test_the_review_copy_is_the_rendered_picture_small_frame_for_frame(
    talk_media, cuts_of_talk, tmp_path: Path
) -> None:
    from ave_core.review import COPY_KEYFRAME_S, make_edit_copy

    source, media, truth, _ = talk_media
    plan = make_plan(truth.duration, cuts_of_talk, emphasis=(2.0,))
    config = RenderConfig(chunk_s=3, preset="ultrafast")
    full, _ = source_sound(source, media, tmp_path)
    render_audio(full, media, plan, config, tmp_path / "audio.m4a")
    videos, copies = [], []
    for job in chunk_jobs(plan, media, config, None, tmp_path):
        videos.append(tmp_path / f"chunk-{job.index}.mp4")
        copies.append(tmp_path / f"review-{job.index}.mp4")
        render_chunk(source, media, job, config, videos[-1], review_copy=copies[-1], review_width=320)
    assert len(copies) >= 3
    final = tmp_path / "final.mp4"
    join_chunks(videos, tmp_path / "audio.m4a", final)
    keyframes = make_edit_copy(copies, final, True, tmp_path / "edit-copy.mp4")
    joined = probe(tmp_path / "edit-copy.mp4", slug="copy")
    assert joined.video is not None and joined.video.display_width == 320 and joined.has_audio
    assert joined.video.frame_count == probe(final, slug="final").video.frame_count
    assert max(np.diff([0.0, *keyframes])) <= COPY_KEYFRAME_S + 1e-3

    def frames(path: Path) -> np.ndarray:
        raw = subprocess.run(
            ["ffmpeg", "-v", "error", "-i", str(path), "-vf", "scale=320:180:flags=area", "-f", "rawvideo",
             "-pix_fmt", "gray", "-"], capture_output=True, check=True,
        ).stdout  # fmt: skip
        return np.frombuffer(raw, dtype=np.uint8).reshape(-1, 180, 320).astype(float)

    small, big = frames(tmp_path / "edit-copy.mp4"), frames(final)
    assert small.shape == big.shape
    # frame for frame: each copy frame is nearest its own frame of final.mp4 (CRF 30 at 320 px: a few
    # grey levels off), not a neighbour's
    moving = [
        k for k in range(2, len(big) - 2) if min(np.abs(big[k] - big[k + d]).mean() for d in (-2, 2)) > 1.0
    ]
    assert len(moving) >= 10, "the talk's picture must change for this test to tell frames apart"
    for k in moving:
        same = np.abs(small[k] - big[k]).mean()
        assert same < 6.0 and same < min(np.abs(small[k] - big[k + d]).mean() for d in (-2, 2)), k
