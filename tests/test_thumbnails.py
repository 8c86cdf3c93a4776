"""Thumbnails from real frames: sizes, grading, the hook drawn legibly at phone size, rotation, no audio,
and image-model backgrounds with their fallback."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ave_core.backends import given
from ave_core.backgrounds import (
    BackgroundError,
    BackgroundRequest,
    ImageModelBackground,
    make_background,
)
from ave_core.config import ScenesConfig, ThumbnailsConfig
from ave_core.media import probe
from ave_core.models import (
    MediaInfo,
    MetadataStrategy,
    Plan,
    Scenes,
    Span,
    ThumbnailConcept,
    Thumbnails,
    make_producer,
    read_artifact,
    write_artifact,
)
from ave_core.synth import Truth
from ave_core.thumbnails import (
    MIN_CAP_HEIGHT_PX,
    MIN_CONTRAST,
    PREVIEW_SIZE,
    STRATEGIES,
    Legibility,
    contrast_ratio,
    crop_focus,
    extract_frame,
    fill_frame,
    grade,
    letter_legibly,
    relative_luminance,
    render_thumbnails,
)
from ave_core.vision import analyze_scenes
from tests.conftest import ffmpeg
from tests.gemini_stub import GeminiStub, RawBody, Status

KEY = "test-key-PLANTED-thumbs-42"


def plan_with(*concepts: tuple[str, str, float | None], duration: float = 10.0) -> Plan:
    return Plan(
        producer=make_producer("direct", "test"),
        backend="test",
        keep=[Span(start=0.0, end=duration)],
        cuts=[],
        metadata_strategy=MetadataStrategy(primary_keywords=["saving energy"]),
        thumbnail_concepts=[ThumbnailConcept(strategy=s, hook=h, frame_time=t) for s, h, t in concepts],  # type: ignore[arg-type]
    )


def bare_scenes(media: MediaInfo) -> Scenes:
    """Scenes with no shots, faces or highlights: nothing says which frame is good."""
    assert media.video is not None
    return Scenes(
        producer=make_producer("scenes", "test"), detector="none", frame_count=0,
        width=media.video.display_width, height=media.video.display_height, shots=[],
    )  # fmt: skip


def load(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        assert image.mode == "RGB"
        return np.asarray(image, dtype=np.int16)


def check_set(thumbnails: Thumbnails, figures: dict[str, Legibility], out_dir: Path) -> dict[str, np.ndarray]:
    """Three distinct 1280x720 PNGs, one per strategy, each legible at phone size."""
    assert [t.strategy for t in thumbnails.thumbnails] == list(STRATEGIES)
    pixels = {}
    for thumb in thumbnails.thumbnails:
        path = out_dir.parent / thumb.path
        assert path.name == f"thumb-{thumb.strategy}.png" and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(path) as image:
            assert image.size == (1280, 720)
        pixels[thumb.strategy] = load(path)
        check = figures[thumb.strategy]
        assert check.passed, (thumb.strategy, check)
        assert check.contrast_ratio >= MIN_CONTRAST and check.cap_height_px >= MIN_CAP_HEIGHT_PX
        assert (check.preview_width, check.preview_height) == PREVIEW_SIZE
        assert 1 <= check.lines <= 2
    for a, b in [("emotional", "curiosity"), ("curiosity", "authority"), ("emotional", "authority")]:
        assert np.abs(pixels[a] - pixels[b]).mean() > 5, f"{a} and {b} look the same"
    write_artifact(out_dir / "thumbnails.json", thumbnails)  # validates on write
    return pixels


def assert_hook_drawn(video: Path, scenes: Scenes, thumbnails: Thumbnails, figures, pixels) -> None:
    """The thumbnail is the graded frame everywhere but where the lettering is, and differs there."""
    for thumb in thumbnails.thumbnails:
        assert thumb.frame_time is not None
        frame = extract_frame(video, thumb.frame_time)
        assert frame is not None
        plain = np.asarray(
            grade(fill_frame(frame, 1280, 720, crop_focus(scenes, thumb.frame_time)), thumb.strategy),
            dtype=np.int16,
        )
        x0, y0, x1, y1 = figures[thumb.strategy].text_box
        assert (x1 - x0) * (y1 - y0) < 0.6 * 1280 * 720, "the lettering covers most of the picture"
        outside = np.ones((720, 1280), dtype=bool)
        outside[y0:y1, x0:x1] = False
        diff = np.abs(pixels[thumb.strategy] - plain).max(axis=2)
        assert diff[outside].max() <= 2, f"{thumb.strategy}: the frame is not the graded frame"
        assert diff[~outside].mean() > 25, f"{thumb.strategy}: no text drawn in its box"
        # independently of the module's own figure: at phone size the text box holds strongly contrasting
        # pixels (letters against what is behind them)
        small = np.asarray(
            Image.fromarray(pixels[thumb.strategy].astype(np.uint8)).resize(
                PREVIEW_SIZE, Image.Resampling.LANCZOS
            )
        )
        sx, sy = PREVIEW_SIZE[0] / 1280, PREVIEW_SIZE[1] / 720
        box = small[int(y0 * sy) : int(np.ceil(y1 * sy)), int(x0 * sx) : int(np.ceil(x1 * sx))]
        lum = relative_luminance(box.reshape(-1, 3))
        assert float(contrast_ratio(np.percentile(lum, 95), np.percentile(lum, 5))) >= MIN_CONTRAST


# --- real media -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workflow_talk(finished_talk: Path, tmp_path_factory: pytest.TempPathFactory):
    """Thumbnails of the talk from the plan and scenes the whole workflow made of it."""
    video = finished_talk / "input" / "talk.mp4"
    results = finished_talk / "results" / "talk"
    media = read_artifact(results / "media.json", MediaInfo)
    plan = read_artifact(results / "plan.json", Plan)
    scenes = read_artifact(results / "scenes.json", Scenes)
    out_dir = tmp_path_factory.mktemp("workflow-talk") / "thumbnails"
    thumbnails, figures = render_thumbnails(video, media, plan, scenes, out_dir)
    return video, plan, scenes, out_dir, thumbnails, figures


def test_the_workflows_plan_gets_three_legible_thumbnails_with_its_hooks(workflow_talk) -> None:
    video, plan, scenes, out_dir, thumbnails, figures = workflow_talk
    pixels = check_set(thumbnails, figures, out_dir)
    concepts = {c.strategy: c for c in plan.thumbnail_concepts}
    for thumb in thumbnails.thumbnails:
        assert thumb.hook == concepts[thumb.strategy].hook
        assert thumb.frame_time == pytest.approx(concepts[thumb.strategy].frame_time, abs=1e-3)
    assert thumbnails.producer.backend == "procedural" and thumbnails.producer.fallback is None
    assert_hook_drawn(video, scenes, thumbnails, figures, pixels)


def test_each_strategy_has_its_own_grade(workflow_talk) -> None:
    video, _, _, _, thumbnails, _ = workflow_talk
    real = extract_frame(video, thumbnails.thumbnails[0].frame_time)
    ramp = np.linspace(40, 215, 1280)[None, :, None].repeat(720, axis=0).repeat(3, axis=2)
    grey = Image.fromarray(ramp.astype(np.uint8))  # neutral, nothing clipped

    def warmth(image: Image.Image) -> float:
        pixels = np.asarray(image, dtype=np.float64)
        return float((pixels[..., 0] - pixels[..., 2]).mean())

    def graded(image: Image.Image) -> dict[str, np.ndarray]:
        return {s: np.asarray(grade(image, s), dtype=np.float64) for s in STRATEGIES}

    on_grey = {s: warmth(grade(grey, s)) for s in STRATEGIES}
    assert on_grey["emotional"] > 5 and on_grey["authority"] < -5  # warm and cool on a neutral picture
    assert warmth(grade(real, "emotional")) > warmth(grade(real, "authority")) + 10
    assert graded(grey)["emotional"].std() > np.asarray(grey, dtype=np.float64).std() * 1.15  # more contrast
    curiosity = graded(real)["curiosity"]
    assert curiosity.mean() < np.asarray(real, dtype=np.float64).mean() - 10  # darker
    h, w = curiosity.shape[:2]
    grey_curiosity = graded(grey)["curiosity"]
    top_right = grey_curiosity[: h // 8, -w // 8 :]
    middle_right = grey_curiosity[h // 2 - h // 16 : h // 2 + h // 16, -w // 8 :]
    assert top_right.mean() < middle_right.mean() - 10  # vignette: same columns of the ramp, darker corner


@pytest.fixture(scope="module")
def generated(talk: tuple[Path, Truth], tmp_path_factory: pytest.TempPathFactory):
    video, truth = talk
    results = tmp_path_factory.mktemp("generated")
    media = probe(video, slug="talk")
    scenes = analyze_scenes(video, media, ScenesConfig(), results / "frames")
    plan = plan_with(
        ("emotional", "THREE WAYS TO SAVE", None),
        ("curiosity", "Why is heating so costly?", None),
        ("authority", "60 percent goes to heating", 2.0),
        duration=truth.duration,
    )
    thumbnails, figures = render_thumbnails(video, media, plan, scenes, results / "thumbnails")
    return video, scenes, results / "thumbnails", thumbnails, figures


def test_generated_clip_uses_distinct_highlights(generated) -> None:
    video, scenes, out_dir, thumbnails, figures = generated
    pixels = check_set(thumbnails, figures, out_dir)
    times = {t.strategy: t.frame_time for t in thumbnails.thumbnails}
    assert times["authority"] == 2.0  # the plan's own frame time wins
    highlights = [h.time for h in scenes.visual_highlights]
    assert times["emotional"] in highlights and times["curiosity"] in highlights
    assert abs(times["emotional"] - times["curiosity"]) >= 1.0
    assert_hook_drawn(video, scenes, thumbnails, figures, pixels)


def test_rotated_video_gives_upright_frames(media_dir: Path, tmp_path: Path) -> None:
    coded = media_dir / "red-over-blue.mp4"
    rotated = tmp_path / "rotated-for-thumbnails.mp4"
    if not rotated.exists():
        ffmpeg(
            "-f", "lavfi", "-i", "color=c=red:size=320x180:rate=25:duration=2,"
            "drawbox=x=0:y=90:w=320:h=90:c=blue:t=fill",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(coded),
        )  # fmt: skip
        ffmpeg("-i", str(coded), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(rotated))
    media = probe(rotated, slug="rotated")
    assert media.video is not None and media.video.rotation in (90, 270)
    frame = extract_frame(rotated, 1.0)
    assert frame is not None and frame.size == (180, 320)  # portrait, as a player shows it
    left, right = np.asarray(frame)[160, 20], np.asarray(frame)[160, 160]
    assert {int(np.argmax(left)), int(np.argmax(right))} == {0, 2}  # red and blue side by side, not stacked

    plan = plan_with(
        ("emotional", "UPRIGHT", 1.0), ("curiosity", "Which way?", 1.0), ("authority", "Rotated", 1.0)
    )
    thumbnails, figures = render_thumbnails(rotated, media, plan, bare_scenes(media), tmp_path / "thumbnails")
    pixels = check_set(thumbnails, figures, tmp_path / "thumbnails")
    authority = pixels["authority"]  # text at the bottom: the top row is picture
    colours = {int(np.argmax(authority[20, 60])), int(np.argmax(authority[20, 1220]))}
    assert colours == {0, 2}


def test_black_video_without_audio_still_gets_thumbnails(media_dir: Path, tmp_path: Path) -> None:
    video = media_dir / "black-no-audio.mp4"
    if not video.exists():
        ffmpeg(
            "-f", "lavfi", "-i", "color=c=black:size=320x240:rate=25:duration=3",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(video),
        )  # fmt: skip
    media = probe(video, slug="black")
    assert not media.has_audio
    plan = plan_with(
        ("emotional", "NOTHING TO SEE", None), ("curiosity", "What happened?", None), duration=3.0
    )
    thumbnails, figures = render_thumbnails(video, media, plan, bare_scenes(media), tmp_path / "thumbnails")
    check_set(thumbnails, figures, tmp_path / "thumbnails")
    times = [t.frame_time for t in thumbnails.thumbnails]
    assert len(set(times)) == 3 and all(t is not None and 0 <= t < 3.0 for t in times)
    # the authority concept was missing from the plan: a hook from the plan's keywords stands in
    assert "saving energy" in thumbnails.thumbnails[2].hook


def test_long_hook_is_fitted_on_two_lines_and_still_legible() -> None:
    busy = Image.fromarray(np.random.default_rng(1).integers(0, 256, (720, 1280, 3), dtype=np.uint8))
    hook = "Why nobody tells you about the hidden costs of heating"
    image, check = letter_legibly(busy, hook, "emotional")
    assert image.size == (1280, 720) and check.lines == 2
    assert check.passed and check.band_opacity > 0  # random noise needs a band behind the text
    assert check.attempts >= 2


# --- image-model backgrounds ----------------------------------------------------------------


def png_bytes(colour: tuple[int, int, int], size: tuple[int, int] = (1344, 768)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def image_answer(data: bytes) -> RawBody:
    """A Gemini generateContent answer carrying one inline PNG, as image models send it."""
    part = {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(data).decode()}}
    body = {"candidates": [{"content": {"parts": [part], "role": "model"}, "finishReason": "STOP"}]}
    return RawBody(json.dumps(body).encode())


@pytest.fixture(scope="module")
def small_clip(talk: tuple[Path, Truth]):
    video, truth = talk
    media = probe(video, slug="talk")
    plan = plan_with(
        ("emotional", "WOW", 1.0), ("curiosity", "Really?", 2.0), ("authority", "The facts", 3.0)
    )
    return video, media, plan, bare_scenes(media)


def test_image_model_background_is_used(small_clip, tmp_path: Path) -> None:
    video, media, plan, scenes = small_clip
    with GeminiStub([image_answer(png_bytes((200, 40, 200)))] * 3) as stub:
        generator = ImageModelBackground(KEY, "gemini-2.5-flash-image", base_url=stub.base_url, attempts=1)
        thumbnails, figures = render_thumbnails(
            video, media, plan, scenes, tmp_path / "t", background=given(generator)
        )
        prompts = [json.dumps(r.body) for r in stub.requests]
    assert len(prompts) == 3 and all("saving energy" in p and "No text" in p for p in prompts)
    assert thumbnails.producer.backend == "image-model" and thumbnails.producer.fallback is None
    assert all(t.frame_time is None for t in thumbnails.thumbnails)
    corner = load(tmp_path / "t" / "thumb-authority.png")[20, 1220]
    assert corner[0] > 150 and corner[2] > 150 and corner[1] < 90  # magenta, graded


@pytest.mark.filterwarnings("ignore:The generate_images method is deprecated")
@pytest.mark.parametrize(
    ("model", "script", "reason"),
    [
        ("gemini-2.5-flash-image", [Status(500)], "HTTP 500"),
        ("gemini-2.5-flash-image", [Status(403, f"API key {KEY} not valid")], "HTTP 403"),
        ("gemini-2.5-flash-image", [RawBody(b'{"candidates": []}')], "no image"),
        ("imagen-4.0-generate-001", [], "only on Vertex AI"),  # google-genai 3.x refuses before any request
    ],
)
def test_image_model_failure_falls_back_to_the_frames(
    small_clip, tmp_path: Path, model, script, reason
) -> None:
    video, media, plan, scenes = small_clip
    with GeminiStub(script) as stub:
        generator = ImageModelBackground(KEY, model, base_url=stub.base_url, attempts=1)
        thumbnails, figures = render_thumbnails(
            video, media, plan, scenes, tmp_path / "t", background=given(generator)
        )
    fallback = thumbnails.producer.fallback
    assert thumbnails.producer.backend == "procedural"
    assert fallback is not None and (fallback.wanted, fallback.used) == ("image-model", "procedural")
    assert reason in fallback.reason
    assert KEY not in thumbnails.model_dump_json()
    assert [t.frame_time for t in thumbnails.thumbnails] == [1.0, 2.0, 3.0]
    assert all(f.passed for f in figures.values())


def test_a_generator_that_raises_anything_falls_back(small_clip, tmp_path: Path) -> None:
    class Broken:
        name = "image-model"

        def generate(self, request: BackgroundRequest) -> Image.Image:
            raise BackgroundError("quota exhausted")

    video, media, plan, scenes = small_clip
    thumbnails, _ = render_thumbnails(video, media, plan, scenes, tmp_path / "t", background=given(Broken()))
    assert (
        thumbnails.producer.fallback is not None and thumbnails.producer.fallback.reason == "quota exhausted"
    )


def test_unavailable_image_model_is_recorded(small_clip, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    video, media, plan, scenes = small_clip
    wanted = make_background(ThumbnailsConfig(backend="auto"))
    thumbnails, _ = render_thumbnails(video, media, plan, scenes, tmp_path / "t", background=wanted)
    fallback = thumbnails.producer.fallback
    assert thumbnails.producer.backend == "procedural"
    assert fallback is not None and (fallback.wanted, fallback.used) == ("image-model", "procedural")
    assert fallback.reason == "no GEMINI_API_KEY or GOOGLE_API_KEY in the environment"
    assert make_background(ThumbnailsConfig()).fallback(used="procedural") is None  # procedural: none wanted
