"""Shorts: choosing the moments, the crop that follows the speaker, word-by-word captions, the rendered clip,
and bad inputs. The talks are generated with a drawn face that OpenCV's Haar cascade finds, so the real
scenes stage places the faces the crop follows."""

from __future__ import annotations

import json
import subprocess
import wave
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from ave_core.analysis import analyze_content
from ave_core.audio import analyze_audio
from ave_core.backends import given
from ave_core.config import (
    AnalysisConfig,
    AudioConfig,
    DirectorConfig,
    ScenesConfig,
    ShortsLook,
    ShortsMoments,
    VadConfig,
)
from ave_core.director import DirectorInput, rule_based_plan
from ave_core.llm import GeminiLLM
from ave_core.media import probe
from ave_core.models import (
    FaceBox,
    FaceSample,
    Retake,
    Scenes,
    ShortCrop,
    ShortWord,
    Shot,
    Transcript,
    Word,
    make_producer,
)
from ave_core.reframe import (
    CropSettings,
    crop_filters,
    follow_axis,
    grey_decoder,
    plan_crop,
    second_difference,
    short_frames,
)
from ave_core.render import Piece
from ave_core.shorts import (
    Sentence,
    Token,
    by_score,
    candidate_windows,
    edit_of,
    hook_kinds,
    render_short,
    score_candidates,
    select_shorts,
    shortlist,
    split_sentences,
)
from ave_core.synth import (
    SAMPLE_RATE,
    FaceMove,
    FaceShot,
    FaceTruth,
    Utterance,
    build_speech,
    make_face_talk,
    truth_transcript,
)
from ave_core.timebase import decode_source_audio
from ave_core.timemap import FrameGrid
from ave_core.vision import analyze_scenes
from ave_core.word_captions import ass_document, safe_area, word_frame
from tests.conftest import ffmpeg
from tests.gemini_stub import GeminiStub, Reply, Status

# hooks of every kind, sentences that lean on the one before, and pauses to cut a short in
SCRIPT = [
    ("Why do heating bills keep going up?", 0.7),
    ("Heating uses about 60 percent of the energy in a house.", 0.6),
    ("That is more than everything else together.", 0.9),
    ("The biggest mistake is heating empty rooms.", 0.6),
    ("So turn the thermostat down by one degree.", 0.8),
    ("It saves 10 percent on the bill.", 0.9),
    ("Thanks for watching.", 0.6),
]
SMALL = {"width": 270}  # 270x480: the same graph as 1080x1920 at a sixteenth of the pixels, for speed


class Talk:
    """A generated talk and every artifact the shorts read, made by the real stages."""

    def __init__(self, folder: Path, truth: FaceTruth, transcript: Transcript | None = None) -> None:
        self.source = folder / "talk.mp4"
        self.truth = truth
        self.media = probe(self.source, slug="talk")
        self.wav, self.sound = folder / "talk.wav", folder / "talk_48k.wav"
        decode_source_audio(self.source, self.media, self.sound, self.wav)
        self.audio = analyze_audio(self.sound, self.wav, self.media, VadConfig(), AudioConfig())
        self.transcript = transcript or truth_transcript(truth)
        self.analysis = analyze_content(
            self.transcript, self.audio, AnalysisConfig(), wav_path=self.wav, duration_s=self.media.duration_s
        )
        self.scenes = analyze_scenes(self.source, self.media, ScenesConfig(), folder / "frames")
        context = DirectorInput(
            self.media.duration_s,
            self.audio,
            self.transcript,
            self.analysis,
            self.scenes,
            FrameGrid.of(self.media),
        )
        self.plan = rule_based_plan(context, DirectorConfig())

    def select(self, llm=None, scenes: Scenes | None = None, **moments):
        video = self.media.video
        size = (video.display_width, video.display_height) if video else (2, 2)
        return select_shorts(
            self.plan, self.media, self.transcript, self.analysis, self.audio, scenes or self.scenes,
            ShortsMoments(**moments), given(llm) if llm else None, decode=grey_decoder(self.source, size),
        )  # fmt: skip


def make_talk(folder: Path, script=SCRIPT, **options) -> Talk:
    folder.mkdir(parents=True, exist_ok=True)
    truth = make_face_talk(folder / "talk.mp4", script, **options)
    return Talk(folder, truth)


@pytest.fixture(scope="module")
def talk(media_dir: Path) -> Talk:
    """About 25 s of SCRIPT over one face crossing the picture from left to right."""
    return make_talk(media_dir / "shorts-face", shots=[FaceShot(1.0, (70, 90, 80), [FaceMove(0.15, 0.85)])])


@pytest.fixture(scope="module")
def selection(talk: Talk):
    return talk.select(min_s=6, max_s=14, **SMALL)


def frames_of(path: Path, size: tuple[int, int], *times: float) -> list[np.ndarray]:
    """RGB frames of a video at `times` seconds."""
    frames = []
    for time in times:
        raw = subprocess.run(
            ["ffmpeg", "-v", "error", "-ss", f"{time:.3f}", "-i", str(path), "-frames:v", "1",
             "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
            capture_output=True, check=True,
        ).stdout  # fmt: skip
        frames.append(np.frombuffer(raw, np.uint8).reshape(size[1], size[0], 3))
    return frames


def stream(path: Path) -> dict:
    proc = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries",
         "stream=width,height,nb_read_frames", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(proc.stdout)["streams"][0]


# --- choosing the moments ----------------------------------------------------------------------------


def tokens(*sentences: tuple[str, float, float]) -> list[Token]:
    """Tokens of sentences given as (text, start, end), each word an equal share of its sentence."""
    result = []
    for text, start, end in sentences:
        words = text.split()
        step = (end - start) / len(words)
        result += [
            Token(w, round(start + i * step, 3), round(start + (i + 1) * step, 3))
            for i, w in enumerate(words)
        ]
    return result


def test_hooks_are_questions_numbers_and_strong_claims_not_back_references() -> None:
    def kinds(text: str) -> list[str]:
        return hook_kinds(Sentence(tokens((text, 0.0, 2.0))), [])

    assert kinds("Why do bills go up?") == ["question"]
    assert kinds("Heating uses 60 percent of the energy.") == ["number"]
    assert kinds("Heating uses sixty percent of the energy.") == ["number"]
    assert kinds("The biggest mistake is heating empty rooms.") == ["claim"]
    assert kinds("That saves 10 percent on the bill.") == []  # leans on the sentence before
    assert kinds("So the house gets warm.") == []
    assert kinds("The house gets warm.") == []


def test_candidates_start_on_hooks_end_on_sentences_with_no_word_clipped(talk: Talk) -> None:
    edit = edit_of(talk.plan, talk.media, talk.transcript)
    sentences = split_sentences(edit.tokens)
    candidates = candidate_windows(edit, sentences, [], 6, 14)
    assert candidates
    for candidate in candidates:
        start_s, end_s = candidate.start_frame / edit.fps, candidate.end_frame / edit.fps
        assert 6 - 1e-6 <= end_s - start_s <= 14 + 1e-6
        assert hook_kinds(sentences[candidate.first], [])
        assert sentences[candidate.last].complete
        # every word heard in the edit (fillers kept by the plan too) is wholly inside or wholly outside
        for word_start, word_end in edit.audible:
            inside = start_s - 0.005 <= word_start and word_end <= end_s + 0.005
            outside = word_end <= start_s + 0.005 or word_start >= end_s - 0.005
            assert inside or outside, (word_start, word_end, start_s, end_s)


def test_shorts_do_not_overlap_and_record_their_score_parts(selection) -> None:
    assert selection.skip_reason is None and len(selection.shorts) >= 2
    spans = sorted((s.start_frame, s.end_frame) for s in selection.shorts)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))
    for short in selection.shorts:
        assert set(short.score_parts) == {
            "hook",
            "concepts",
            "emotion",
            "numbers",
            "speech_rate",
            "energy",
            "ending",
        }
        assert all(0 <= v <= 1 for v in short.score_parts.values())
        assert short.hook_kinds and short.text.startswith(short.hook)
        assert short.title and short.hook_line and short.hashtags[0] == "#Shorts" and len(short.hashtags) >= 3
    scores = [s.score for s in selection.shorts]
    assert scores == sorted(scores, reverse=True)  # short-1 is the best
    assert selection.ranking == "score" and selection.producer.fallback is None  # no LLM offered, none wanted


def test_fillers_and_cut_words_are_never_in_a_short(talk: Talk) -> None:
    # an "um" said in the pause after "rooms." (kept in the edit: fillers not cut) and a false start ("So",
    # cut) before "So turn the thermostat": the short that runs across them shows neither
    words = list(talk.transcript.words)
    after = next(i for i, w in enumerate(words) if w.word == "rooms.")
    gap_s = words[after].end
    spoken = [("um,", gap_s + 0.1, gap_s + 0.25, True), ("So", gap_s + 0.3, gap_s + 0.42, False)]
    extra = [Word(word=t, start=s, end=e, probability=0.9, is_filler=f) for t, s, e, f in spoken]
    again_s = words[after + 1].start
    retake = Retake(start=gap_s + 0.3, end=gap_s + 0.42, text="So", repeated_at=again_s, similarity=1.0)
    transcript = talk.transcript.model_copy(
        update={"words": words[: after + 1] + extra + words[after + 1 :], "retakes": [retake]}
    )
    context = DirectorInput(
        talk.media.duration_s, talk.audio, transcript, talk.analysis, talk.scenes, FrameGrid.of(talk.media)
    )
    plan = rule_based_plan(context, DirectorConfig(cut_fillers=False))
    cut = [any(c.start <= t <= c.end for c in plan.cuts) for t in (gap_s + 0.175, gap_s + 0.36)]
    assert cut == [False, True], plan.cuts  # the filler's middle is heard, the false start's is not
    shorts = select_shorts(
        plan, talk.media, transcript, talk.analysis, talk.audio, talk.scenes, ShortsMoments(min_s=6, max_s=14)
    )
    across = [s for s in shorts.shorts if "rooms. So turn" in s.text]
    assert across, [s.text for s in shorts.shorts]
    for short in across:
        shown = [w.text for w in short.words]
        assert "um," not in shown and shown.count("So") == 1
        assert " ".join(shown) == short.text
        assert "rooms. So turn the thermostat" in " ".join(shown)


def test_a_recording_without_a_picture_gets_no_short_and_a_reason(media_dir: Path) -> None:
    # a podcast (audio only, issue 16): long enough, words to cut around, but nothing to show
    folder = media_dir / "shorts-audio-only"
    folder.mkdir()
    speech, utterances = _speech(media_dir)
    ffmpeg("-i", str(speech), "-c:a", "aac", str(folder / "talk.mp4"))
    talk = Talk(folder, FaceTruth(duration=0, width=0, height=0, fps=25, utterances=utterances))
    assert talk.media.video is None and talk.transcript.words
    shorts = talk.select(min_s=2, max_s=8, **SMALL)
    assert shorts.shorts == [] and "no picture" in shorts.skip_reason and "talk.mp4" in shorts.skip_reason


def test_a_video_shorter_than_min_s_gets_no_short_and_a_reason(talk: Talk) -> None:
    shorts = talk.select(min_s=50, max_s=60)
    assert shorts.shorts == [] and "shorter than shorts.min_s (50 s)" in shorts.skip_reason


def test_the_llm_ranks_the_candidates_through_the_gemini_stand_in(talk: Talk, tmp_path: Path) -> None:
    edit = edit_of(talk.plan, talk.media, talk.transcript)
    sentences = split_sentences(edit.tokens)
    candidates = candidate_windows(edit, sentences, [], 6, 14)
    score_candidates(candidates, edit, sentences, talk.analysis, talk.audio)
    offered = shortlist(candidates)
    underdog = offered[-1]  # the LLM prefers the candidate the score likes least
    assert underdog != by_score(candidates)[0]
    pick = {"id": underdog, "title": "Why your heating bill goes up", "hook_line": "It is not the weather.",
            "hashtags": ["heating bill", "#SaveEnergy"], "reason": "a question everyone asks"}  # fmt: skip
    config = DirectorConfig(backend="gemini", max_retries=1)
    with GeminiStub([Reply(data={"picks": [{"id": 999, "title": "x", "hook_line": "y"}, pick]})]) as stub:
        llm = GeminiLLM(config.model_copy(update={"base_url": stub.base_url}), "key", None, backoff_s=0.01)
        shorts = talk.select(llm=llm, min_s=6, max_s=14, **SMALL)
        prompt = json.dumps(stub.requests[0].body)
    first = shorts.shorts[0]
    assert (first.start_frame, first.end_frame) == (
        candidates[underdog].start_frame,
        candidates[underdog].end_frame,
    )
    assert (
        first.ranked_by == "gemini" and first.title == pick["title"] and first.rank_reason == pick["reason"]
    )
    assert first.hashtags[:3] == ["#Shorts", "#HeatingBill", "#SaveEnergy"]
    assert shorts.ranking == "gemini" and any("999" in w for w in shorts.producer.warnings)
    assert "<candidates>" in prompt and "Why do heating bills keep going up?" in prompt
    with GeminiStub([Status(500)] * 3) as stub:
        llm = GeminiLLM(config.model_copy(update={"base_url": stub.base_url}), "key", None, backoff_s=0.01)
        failed = talk.select(llm=llm, min_s=6, max_s=14, **SMALL)
    assert failed.ranking == "score" and "500" in failed.producer.fallback.reason
    assert [s.start_frame for s in failed.shorts] == [
        s.start_frame for s in talk.select(min_s=6, max_s=14).shorts
    ]


# --- the crop -----------------------------------------------------------------------------------------


def test_the_crop_follows_a_face_moving_left_to_right_and_stays_in_the_frame(talk: Talk, selection) -> None:
    width = talk.truth.width
    for short in selection.shorts:
        crop = short.crop
        assert crop.mode == "follow" and crop.speaker == "the only face" and crop.face_share == 1.0
        assert (crop.width, crop.height) == (202, 360)  # 9:16 of a 640x360 picture
        xs = np.array(crop.x)
        assert len(xs) == short.end_frame - short.start_frame
        assert xs.min() >= 0 and xs.max() <= width - crop.width and set(crop.y) == {0.0}
        source_frames = [f for a, b in short.source_frames for f in range(a, b)]
        truth = np.array([talk.truth.faces[f][0] for f in source_frames], dtype=float)
        face_x = truth[:, 0] + truth[:, 2] / 2
        assert np.corrcoef(xs + crop.width / 2, face_x)[0, 1] > 0.95  # it follows the face
        inside = (truth[:, 0] >= xs - 1) & (truth[:, 0] + truth[:, 2] <= xs + crop.width + 1)
        assert inside.mean() >= 0.98, inside.mean()
        assert crop.face_inside == 1.0
        assert crop.jitter_px_per_frame2 < crop.unsmoothed_jitter_px_per_frame2
        assert crop.zoom == [] and crop.zoomed_out_share == 0.0  # a face that fits: the crop fills the short


def noisy_track(count: int, seconds: float, jump_at: float | None = None) -> list[FaceSample]:
    """A face detected at 2 Hz moving right at 40 px/s with ±6 px of detection noise; at `jump_at` it
    jumps 300 px left (a shot change)."""
    random = np.random.default_rng(7)
    samples = []
    for k in range(count):
        t = k * seconds / count
        x = 200 + 40 * t - (300 if jump_at is not None and t >= jump_at else 0) + random.uniform(-6, 6)
        samples.append(
            FaceSample(time=t, faces=[FaceBox(x=round(x), y=300, w=180, h=180)], largest_face_share=0.02)
        )
    return samples


def scenes_with(faces: list[FaceSample], cuts: tuple[float, ...] = (), end: float = 10.0) -> Scenes:
    bounds = [0.0, *cuts, end]
    shots = [
        Shot(start=a, end=b, start_frame=round(a * 25), end_frame=round(b * 25))
        for a, b in zip(bounds, bounds[1:], strict=False)
    ]
    return Scenes(
        producer=make_producer("scenes", "test"), detector="adaptive", frame_count=250, width=1280,
        height=720, shots=shots, faces=faces,
    )  # fmt: skip


def test_the_smoothed_crop_does_not_jitter_and_jumps_only_at_the_shot_change() -> None:
    scenes = scenes_with(noisy_track(20, 10.0, jump_at=6.0), cuts=(6.0,))
    frames = short_frames([Piece(0, 250)], 25.0, [6.0])
    assert frames.cuts == [150]
    crop = plan_crop(frames, 25.0, scenes, (1280, 720), (1080, 1920), CropSettings())
    xs = np.array(crop.x)
    moves = np.abs(np.diff(xs))
    assert moves[149] > 100  # the crop jumps with the picture at the cut...
    assert np.delete(moves, 149).max() < 4  # ...and glides everywhere else
    assert crop.jitter_px_per_frame2 < crop.unsmoothed_jitter_px_per_frame2 / 2
    assert crop.face_inside == 1.0


def test_a_face_wider_than_the_crop_zooms_out_smoothly_and_only_jumps_at_the_cut() -> None:
    # a face that grows from a third of the 404 px crop to 1.5 times it over 6 s, then a cut to a small face
    samples = []
    for k in range(20):
        t = k / 2
        w = 250 + 350 * t / 6 if t < 6 else 150
        x = 700 - w / 2 if t < 6 else 200
        samples.append(
            FaceSample(
                time=t, faces=[FaceBox(x=round(x), y=60, w=round(w), h=round(w))], largest_face_share=0.1
            )
        )
    crop = plan_crop(
        short_frames([Piece(0, 250)], 25.0, [6.0]), 25.0, scenes_with(samples, cuts=(6.0,)), (1280, 720),
        (1080, 1920), CropSettings(),
    )  # fmt: skip
    assert crop.mode == "follow" and (crop.width, crop.height) == (404, 720)
    zoom, left = np.array(crop.zoom), np.array(crop.x)
    assert zoom[0] == 1.0 and zoom[140] > 1.4 and set(zoom[150:]) == {1.0}  # full-bleed where the face fits
    assert 0.2 < crop.zoomed_out_share < 0.6 and "never cut" in crop.zoom_reason
    assert np.abs(np.diff(zoom))[149] > 0.3  # the zoom jumps back with the picture at the cut...
    assert np.delete(np.abs(np.diff(zoom)), 149).max() < 0.01  # ...and changes gently everywhere else
    assert np.delete(np.abs(np.diff(left)), 149).max() < 4
    times = np.arange(250) / 25
    seen = [s.time for s in samples[:12]]
    face_w = np.interp(times, seen, [s.faces[0].w for s in samples[:12]])
    face_x = np.interp(times, seen, [s.faces[0].x for s in samples[:12]])
    shot = times < 6
    margin = 0.1 * face_w  # the face and a tenth of its width each side are in the window
    window = crop.width * zoom
    assert np.all(left[shot] <= face_x[shot] - margin[shot] + 0.5)
    assert np.all(face_x[shot] + face_w[shot] + margin[shot] <= left[shot] + window[shot] + 0.5)
    assert crop.face_inside == 1.0 and set(crop.y) == {0.0}


def test_a_rendered_close_up_wider_than_the_crop_keeps_the_whole_face(
    media_dir: Path, tmp_path: Path
) -> None:
    # a drawn face 245 px wide in a 640x360 picture, whose 9:16 crop is 202 px wide
    talk = make_talk(
        media_dir / "shorts-close-up", SCRIPT[:3],
        shots=[FaceShot(1.0, (70, 90, 80), [FaceMove(0.42, 0.58, size=0.85)])],
    )  # fmt: skip
    shorts = talk.select(min_s=3, max_s=10, **SMALL)
    short = shorts.shorts[0]
    crop = short.crop
    assert crop.mode == "follow" and crop.width == 202 and crop.zoomed_out_share > 0.9, crop.zoom_reason
    source_frames = [f for a, b in short.source_frames for f in range(a, b)]
    truth = np.array([talk.truth.faces[f][0] for f in source_frames], dtype=float)
    left, window = np.array(crop.x), crop.width * np.array(crop.zoom)
    skin_left, skin_right = truth[:, 0] + 0.1 * truth[:, 2], truth[:, 0] + 0.9 * truth[:, 2]  # drawn_face
    assert np.all((left <= skin_left) & (skin_right <= left + window))
    out = tmp_path / "short-1.mp4"
    render_short(
        talk.source, talk.media, shorts, 1, ShortsLook(caption_style="none"), talk.sound, talk.wav, out
    )
    assert int(stream(out)["nb_read_frames"]) == short.end_frame - short.start_frame
    middle = (short.end_frame - short.start_frame) // 2
    (picture,) = frames_of(out, (270, 480), (middle + 0.5) / shorts.fps)
    skin = np.abs(picture.astype(int) - (225, 180, 150)).max(axis=2) < 25
    columns = np.flatnonzero(skin.sum(axis=0) > 5)
    expected = 0.8 * truth[middle, 2] * 270 / window[middle]  # the skin's width, scaled to the short
    assert columns.size and columns[0] > 0 and columns[-1] < 269  # the face does not touch either edge...
    assert abs((columns[-1] - columns[0] + 1) - expected) <= 0.05 * expected  # ...and is all there
    centre = (truth[middle, 0] + truth[middle, 2] / 2 - left[middle]) * 270 / window[middle]
    assert abs((columns[0] + columns[-1]) / 2 - centre) <= 3  # where the moving window puts it
    rows = np.flatnonzero(skin.sum(axis=1) > 5)
    shown_h = 480 * 202 / window[middle]  # the picture's height in the short; blurred copy above and below
    assert rows[0] > (480 - shown_h) / 2 - 2 and rows[-1] < (480 + shown_h) / 2 + 2


def test_a_zooming_crop_fills_the_short_at_the_crops_width_and_shows_a_wider_window_over_blur(
    tmp_path: Path,
) -> None:
    source = tmp_path / "pattern.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2", "-c:v", "libx264", "-crf", "0",
           "-pix_fmt", "yuv444p", str(source))  # fmt: skip
    crop = ShortCrop(
        mode="follow", reason="test", width=134, height=240, x=[92.0] * 25 + [50.0] * 25, y=[0.0] * 50,
        zoom=[1.0] * 25 + [1.6] * 25,
    )  # fmt: skip
    chain = crop_filters(crop, (320, 240), (270, 480), 25.0, tmp_path / "crop.cmd")

    def frames(graph: str) -> np.ndarray:
        raw = subprocess.run(
            ["ffmpeg", "-v", "error", "-i", str(source), "-filter_complex", f"[0:v]{graph}[v]", "-map", "[v]",
             "-f", "rawvideo", "-pix_fmt", "gray", "-"],
            capture_output=True, check=True,
        ).stdout  # fmt: skip
        return np.frombuffer(raw, np.uint8).reshape(50, 480, 270).astype(float)

    short = frames(chain)
    full = frames("crop=134:240:92:0,scale=270:480")  # the crop at its own width fills the short
    assert np.abs(short[10] - full[10]).mean() < 6
    shown_h = 2 * round(240 * 270 / (134 * 1.6) / 2)  # the wider window, 214 px of source to 270 of short
    top = (480 - shown_h) // 2
    wide = frames(f"crop=214:240:50:0,scale=270:{shown_h},pad=270:480:0:{top}")
    assert np.abs(short[40, top + 4 : top + shown_h - 4] - wide[40, top + 4 : top + shown_h - 4]).mean() < 6
    band = short[40, : top - 2]  # above it, the blurred copy: no sharp edges
    assert np.abs(np.diff(band, axis=1)).mean() < 0.25 * np.abs(np.diff(full[40, :top], axis=1)).mean()


def test_a_face_the_detector_loses_for_a_while_is_not_jumped_to_when_it_comes_back() -> None:
    # one face, 320 px wide in a 404 px crop, missed for 2 s (two tracks), found again 40 px to the right
    samples = [
        FaceSample(
            time=k / 2,
            faces=[] if 8 < k < 13 else [FaceBox(x=300 if k <= 8 else 340, y=60, w=320, h=320)],
            largest_face_share=0.1,
        )
        for k in range(20)
    ]
    crop = plan_crop(
        short_frames([Piece(0, 250)], 25.0, []), 25.0, scenes_with(samples), (1280, 720), (1080, 1920),
        CropSettings(),
    )  # fmt: skip
    assert crop.zoom == [] and crop.face_inside == 1.0
    assert np.abs(np.diff(crop.x)).max() < 4  # no cut, so no jump: the crop glides to the face's new place


def test_a_face_that_stays_inside_the_dead_zone_leaves_the_crop_still() -> None:
    wobble = np.array([640 + 15 * np.sin(k / 3) for k in range(100)])
    path = follow_axis(wobble, 202, 1078, dead_zone_px=40, sigma_frames=12)
    assert np.ptp(path) < 1e-6
    assert second_difference(path, []) == 0.0


def test_no_face_falls_back_as_configured_and_says_so(talk: Talk) -> None:
    faceless = talk.scenes.model_copy(
        update={"faces": [f.model_copy(update={"faces": []}) for f in talk.scenes.faces]}
    )
    for fallback in ("centre", "letterbox"):
        shorts = talk.select(scenes=faceless, no_face=fallback, min_s=6, max_s=14, **SMALL)
        crop = shorts.shorts[0].crop
        assert crop.mode == fallback and "a face in 0% of the frames" in crop.reason
    assert set(crop.x) == set() and crop.width == 640
    centre = talk.select(scenes=faceless, no_face="centre", min_s=6, max_s=14).shorts[0].crop
    assert set(centre.x) == {(640 - 202) / 2}


def test_the_active_speaker_is_the_face_whose_mouth_moves_with_the_sound(media_dir: Path) -> None:
    # the speaker is the smaller face: "the largest" would pick the wrong one
    two = FaceShot(
        1.0, (80, 80, 90), [FaceMove(0.25, 0.25, size=0.55, speaks=False), FaceMove(0.75, 0.75, size=0.45)]
    )
    folder = media_dir / "shorts-two-faces"
    folder.mkdir()
    truth = make_face_talk(folder / "talk.mp4", SCRIPT[:3], shots=[two])
    media = probe(folder / "talk.mp4", slug="talk")
    decode_source_audio(folder / "talk.mp4", media, folder / "talk_48k.wav", folder / "talk.wav")
    audio = analyze_audio(folder / "talk_48k.wav", folder / "talk.wav", media, VadConfig(), AudioConfig())
    scenes = analyze_scenes(folder / "talk.mp4", media, ScenesConfig(), folder / "frames")
    frames = short_frames([Piece(0, round(truth.duration * 25))], 25.0, [])
    crop = plan_crop(
        frames, 25.0, scenes, (640, 360), (1080, 1920), CropSettings(),
        grey_decoder(folder / "talk.mp4", (640, 360)), audio,
    )  # fmt: skip
    assert "mouth moves with the sound" in crop.speaker, crop.speaker
    speaker = truth.faces[0][1]
    assert crop.x[0] <= speaker[0] and speaker[0] + speaker[2] <= crop.x[0] + crop.width


# --- captions ---------------------------------------------------------------------------------------------


def burn(document: str, size: tuple[int, int], fps: float, frames: int, folder: Path) -> np.ndarray:
    """The ASS document burned over black: RGB frames."""
    path = folder / "captions.ass"
    path.write_text(document)
    rate = str(Fraction(fps).limit_denominator(1001))
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"color=black:s={size[0]}x{size[1]}:r={rate}", "-vf",
         f"ass={path}", "-frames:v", str(frames), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, np.uint8).reshape(-1, size[1], size[0], 3)


def highlighted(frames: np.ndarray) -> np.ndarray:
    """Per frame, the x centre of the highlight colour's pixels (NaN where there are none)."""
    rgb = frames.astype(int)
    mask = (rgb[..., 0] > 180) & (rgb[..., 1] > 150) & (rgb[..., 2] < 90)
    return np.array([np.nonzero(m)[1].mean() if m.any() else np.nan for m in mask])


WORDS = [("Heating", 0.113, 0.5), ("uses", 0.52, 0.8), ("sixty", 0.83, 1.2), ("percent.", 1.21, 1.7)]


@pytest.mark.parametrize("fps", [24.0, 25.0, 30000 / 1001, 60.0])
def test_the_highlight_moves_to_each_word_on_the_frame_it_starts(fps: float, tmp_path: Path) -> None:
    words = [ShortWord(text=t, start=s, end=e) for t, s, e in WORDS]
    frames = round(2 * fps)
    centres = highlighted(
        burn(ass_document(words, fps, frames, (270, 480)), (270, 480), fps, frames, tmp_path)
    )
    changes = [k for k in range(1, frames) if not np.isclose(centres[k], centres[k - 1], equal_nan=True)]
    expected = [word_frame(w.start, fps) for w in words]
    assert changes[: len(expected)] == expected  # drift 0: not a frame early or late


def test_captions_stay_in_the_safe_area_in_the_lower_middle(tmp_path: Path) -> None:
    long = [
        ShortWord(text=t, start=i * 0.4, end=i * 0.4 + 0.35)
        for i, t in enumerate("Extraordinarily expensive Thermostats everywhere".split())
    ]
    frames = burn(ass_document(long, 25.0, 10, (1080, 1920)), (1080, 1920), 25.0, 1, tmp_path)
    ys, xs = np.nonzero(frames[0].max(axis=2) > 60)
    left, top, right, bottom = safe_area(1080, 1920)
    assert xs.min() >= left and xs.max() <= right and ys.min() >= top and ys.max() <= bottom
    assert ys.min() > 1920 / 2 and ys.max() < 1920 * 0.8  # below the middle, above the platforms' text


# --- the rendered short -----------------------------------------------------------------------------------


def test_a_rendered_short_is_exact_loud_enough_captioned_and_shows_the_face(
    talk: Talk, selection, tmp_path: Path
) -> None:
    short = selection.shorts[0]
    out = tmp_path / "short-1.mp4"
    report = render_short(talk.source, talk.media, selection, 1, ShortsLook(), talk.sound, talk.wav, out)
    info = stream(out)
    frames = short.end_frame - short.start_frame
    assert (info["width"], info["height"]) == (270, 480) and int(info["nb_read_frames"]) == frames
    assert report.duration_s == report.expected_duration_s and report.max_offset_s <= 0.001
    assert abs(report.loudness_lufs - (-14.0)) <= 1.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["short-1.mp4"]  # no scratch left behind
    word = short.words[1]
    (picture,) = frames_of(out, (270, 480), (word.start + word.end) / 2)
    assert not np.isnan(highlighted(picture[None])[0])  # the spoken word is lit
    faces = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    found = faces.detectMultiScale(cv2.cvtColor(picture, cv2.COLOR_RGB2GRAY), 1.1, 5, minSize=(40, 40))
    assert len(found) == 1  # the face is in the short, whole


# --- bad input --------------------------------------------------------------------------------------------


def finished_or_reason(talk: Talk, folder: Path, **moments) -> list[str]:
    """Select and render: every short must render and pass its check, or the selection must say why not.
    Returns the crop modes used."""
    shorts = talk.select(**moments)
    assert shorts.shorts or shorts.skip_reason
    for short in shorts.shorts:
        out = folder / f"short-{short.number}.mp4"
        render_short(talk.source, talk.media, shorts, short.number, ShortsLook(), talk.sound, talk.wav, out)
        assert stream(out)["height"] == shorts.height
    assert all(not p.name.startswith(".") for p in folder.iterdir())  # no partial or scratch file
    return [s.crop.mode for s in shorts.shorts] or [shorts.skip_reason]


def test_a_vertical_source_is_shown_whole(media_dir: Path, tmp_path: Path) -> None:
    talk = make_talk(
        media_dir / "shorts-vertical", SCRIPT[:2], width=360, height=640,
        shots=[FaceShot(1.0, (60, 60, 80), [FaceMove(0.5, 0.5, size=0.3)])],
    )  # fmt: skip
    assert finished_or_reason(talk, tmp_path, min_s=2, max_s=8, **SMALL) == ["full"]


def test_a_2x2_picture_is_letterboxed_with_the_reason(media_dir: Path, tmp_path: Path) -> None:
    folder = media_dir / "shorts-tiny"
    folder.mkdir()
    speech, utterances = _speech(media_dir)
    ffmpeg("-f", "lavfi", "-i", "color=c=orange:size=2x2:rate=25:duration=7", "-i", str(speech),
           "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
           str(folder / "talk.mp4"))  # fmt: skip
    truth = FaceTruth(duration=0, width=2, height=2, fps=25, utterances=utterances)
    talk = Talk(folder, truth)
    shorts = talk.select(min_s=2, max_s=8, **SMALL)
    assert shorts.shorts and "too small to crop" in shorts.shorts[0].crop.reason
    assert finished_or_reason(talk, tmp_path, min_s=2, max_s=8, **SMALL) == ["letterbox"]


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("no audio", "no audio track"),
        ("no speech", "no words"),
        ("one word", "no stretch of"),
    ],
)
def test_a_video_without_words_to_cut_gets_a_reason(
    media_dir: Path, tmp_path: Path, case: str, reason: str
) -> None:
    folder = media_dir / f"shorts-{case.replace(' ', '-')}"
    folder.mkdir()
    picture = ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=6"]
    if case == "no audio":
        ffmpeg(*picture, "-c:v", "libx264", str(folder / "talk.mp4"))
    else:
        sound = "anullsrc=r=48000:cl=mono" if case == "no speech" else "sine=frequency=220"
        ffmpeg(
            *picture,
            "-f",
            "lavfi",
            "-i",
            sound,
            "-c:v",
            "libx264",
            "-c:a",
            "aac",
            "-shortest",
            str(folder / "talk.mp4"),
        )
    utterances = [] if case != "one word" else [_utterance("Hello.", 1.0, 1.5)]
    talk = Talk(folder, FaceTruth(duration=6, width=320, height=240, fps=25, utterances=utterances))
    (result,) = finished_or_reason(talk, tmp_path, min_s=0.5, max_s=5, **SMALL)
    assert reason in result


def _utterance(text: str, start: float, end: float) -> Utterance:
    return Utterance(text, start, end, False)


def _speech(media_dir: Path) -> tuple[Path, list[Utterance]]:
    """The first two sentences of SCRIPT spoken, as a WAV, and their utterances."""
    samples, utterances, _ = build_speech(SCRIPT[:2])
    path = media_dir / "shorts-speech.wav"
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(SAMPLE_RATE)
        handle.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path, utterances
