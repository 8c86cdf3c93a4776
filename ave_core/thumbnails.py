"""Thumbnails: one PNG per strategy from the video's best real frames, graded, with the plan's hook on it.

Each strategy (emotional, curiosity, authority) gets its own frame, grade and lettering. Every thumbnail is
checked as a phone shows it in a list (168x94): the WCAG contrast between the text colour and the picture
behind the text, and the height of a capital letter in pixels. One that fails is laid out again with wider,
larger text and then with a band behind the text, until it passes.

Backgrounds come from backgrounds.py: the real frame by default (procedural), or an image model (Imagen, or
a Gemini image model) through google-genai; a failed generator falls back to the frame, recorded.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import logging
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont

from .backends import Choice
from .backgrounds import (
    BACKGROUNDS,
    PROCEDURAL,
    BackgroundError,
    BackgroundGenerator,
    BackgroundRequest,
    FrameBackground,
)
from .models import (
    Fallback,
    MediaInfo,
    Plan,
    Scenes,
    Thumbnail,
    ThumbnailConcept,
    Thumbnails,
    make_producer,
)
from .publish import atomic_writer
from .text import shorten
from .tools import ffmpeg_binary, tool_version

log = logging.getLogger("ave.thumbnails")
FRAMES: Choice[BackgroundGenerator] = Choice(None)  # no generator chosen: the video's frames

Strategy = Literal["emotional", "curiosity", "authority"]
STRATEGIES: tuple[Strategy, ...] = ("emotional", "curiosity", "authority")

PREVIEW_SIZE = (168, 94)  # YouTube's smallest list thumbnail on a phone, pixels
MIN_CONTRAST = 4.5  # WCAG AA for normal text
MIN_CAP_HEIGHT_PX = 7.0  # height of a capital at PREVIEW_SIZE below which words blur into a smear
CONTRAST_PERCENTILE = 10  # the contrast that 90% of the picture behind the text reaches or beats
WIDTH_STEPS = (0.60, 0.75, 0.90)  # share of the thumbnail's width the text may take, tried in turn
BAND_STEPS = (0.0, 0.85, 1.0)  # opacity of the band behind the text, tried in turn
MAX_LINES = 2
LINE_SPACING = 1.08  # line pitch as a multiple of the font size
MARGIN = 0.05  # space left at the thumbnail's edges, as a share of its width
FACE_WINDOW_S = 1.0  # a face sample this close to the frame's time steers the crop
MIN_FRAME_GAP_S = 1.0  # two thumbnails should not show frames closer than this
MAX_HOOK_CHARS = 48  # a hook short enough for two large lines
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",  # Debian, Ubuntu
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans-Bold.ttf",  # Fedora
    "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",  # Arch
    "/Library/Fonts/Arial Bold.ttf",
    "/System/Library/Fonts/Supplemental/Arial Bold.ttf",
    "C:/Windows/Fonts/arialbd.ttf",
)


@dataclass(frozen=True)
class Look:
    """How one strategy's thumbnail is graded and lettered."""

    warmth: float  # > 0 adds red and removes blue (warmer), < 0 the reverse; about a share of each channel
    contrast: float  # PIL ImageEnhance factors: 1 leaves the picture as it is
    saturation: float
    brightness: float
    vignette: float  # darkening at the corners, 0 (none) to 1 (black)
    sharpen: bool
    text_rgb: tuple[int, int, int]
    band_rgb: tuple[int, int, int]
    vertical: Literal["top", "bottom"]


LOOKS: dict[str, Look] = {
    # warm, punchy, saturated; yellow letters low in the frame
    "emotional": Look(0.08, 1.30, 1.15, 1.00, 0.25, False, (255, 221, 51), (120, 16, 16), "bottom"),
    # darker with a strong vignette; white letters at the top, like a question hanging over the picture
    "curiosity": Look(-0.02, 1.15, 0.90, 0.78, 0.60, False, (255, 255, 255), (12, 12, 16), "top"),
    # cool, clean and crisp; white letters on navy when a band is needed
    "authority": Look(-0.06, 1.10, 0.85, 1.04, 0.0, True, (255, 255, 255), (11, 37, 69), "bottom"),
}


@dataclass(frozen=True)
class Legibility:
    """What the mobile-size check measured for one thumbnail, and the layout that passed it."""

    contrast_ratio: float  # WCAG ratio, text colour against the picture behind the text at preview size
    cap_height_px: float  # height of a capital letter at preview size, pixels
    preview_width: int
    preview_height: int
    font_px: int  # font size in the full-size thumbnail, pixels
    lines: int
    band_opacity: float  # 0 when the text sits on the picture with an outline and shadow only
    width_share: float  # share of the thumbnail's width the text was allowed
    attempts: int
    passed: bool
    text_box: tuple[int, int, int, int]  # (left, top, right, bottom) of every pixel the lettering changed

    def as_dict(self) -> dict[str, Any]:
        """Plain data for a JSON artifact or a log line."""
        return {
            "contrast_ratio": round(self.contrast_ratio, 2),
            "cap_height_px": round(self.cap_height_px, 2),
            "preview": f"{self.preview_width}x{self.preview_height}",
            "font_px": self.font_px,
            "lines": self.lines,
            "band_opacity": self.band_opacity,
            "width_share": self.width_share,
            "attempts": self.attempts,
            "passed": self.passed,
        }


# --- frames ---------------------------------------------------------------------------------


def load_cover(path: str | os.PathLike[str] | None) -> Image.Image | None:
    """A podcast's cover image as RGB, or None when there is none or it cannot be read."""
    if path is None:
        return None
    try:
        with Image.open(path) as opened:
            return opened.convert("RGB")
    except (OSError, ValueError):
        return None


def extract_frame(video_path: str | os.PathLike[str], time_s: float) -> Image.Image | None:
    """The frame shown at `time_s`, full size and upright (ffmpeg applies the rotation), or None."""
    argv = [
        ffmpeg_binary(), "-nostdin", "-v", "error", "-ss", f"{max(0.0, time_s):.3f}", "-i", str(video_path),
        "-frames:v", "1", "-an", "-sn", "-dn", "-f", "image2pipe", "-c:v", "png", "-pix_fmt", "rgb24", "-",
    ]  # fmt: skip
    proc = subprocess.run(argv, capture_output=True, check=False)
    if proc.returncode != 0 or not proc.stdout:
        return None
    try:
        with Image.open(io.BytesIO(proc.stdout)) as opened:
            return opened.convert("RGB")
    except (OSError, ValueError):
        return None


def concepts_by_strategy(plan: Plan) -> dict[Strategy, ThumbnailConcept]:
    """The plan's concept for each strategy; a missing one gets a hook from the plan's keywords."""
    found: dict[Strategy, ThumbnailConcept] = {}
    for concept in plan.thumbnail_concepts:
        if concept.strategy not in found and concept.hook.strip():
            found[concept.strategy] = concept
    topic = (plan.metadata_strategy.primary_keywords or ["watch this"])[0]
    defaults = {"emotional": topic.upper(), "curiosity": f"{topic}?", "authority": f"{topic}: the facts"}
    for strategy in STRATEGIES:
        if strategy not in found:
            found[strategy] = ThumbnailConcept(
                strategy=strategy, hook=defaults[strategy], reason="not in the plan", confidence=0.3
            )
    return {strategy: found[strategy] for strategy in STRATEGIES}


def choose_frame_times(
    concepts: dict[Strategy, ThumbnailConcept], scenes: Scenes, duration_s: float
) -> dict[Strategy, float]:
    """A frame time per strategy: the concept's own, else the best visual highlight or sharpest shot
    keyframe not used yet, else a point spread over the video."""
    latest = max(0.0, duration_s - 0.1)
    candidates = [h.time for h in sorted(scenes.visual_highlights, key=lambda h: -h.score)]
    sharpest = sorted(scenes.shots, key=lambda s: -(s.sharpness or 0.0))
    candidates += [s.keyframe_time for s in sharpest if s.keyframe_time is not None]

    def valid(time_s: float | None) -> bool:
        return time_s is not None and 0.0 <= time_s <= duration_s

    used = [c.frame_time for c in concepts.values() if c.frame_time is not None and valid(c.frame_time)]
    times: dict[Strategy, float] = {}
    for index, (strategy, concept) in enumerate(concepts.items()):
        time_s = concept.frame_time
        if time_s is None or not valid(time_s):
            fresh = (t for t in candidates if all(abs(t - u) >= MIN_FRAME_GAP_S for u in used))
            time_s = next(fresh, duration_s * (0.3 + 0.2 * index))
            used.append(time_s)
        times[strategy] = round(min(max(0.0, time_s), latest), 3)
    return times


def crop_focus(scenes: Scenes, time_s: float) -> tuple[float, float]:
    """Where to centre a crop, as shares of the frame: the largest face near `time_s`, else upper middle."""
    near = [s for s in scenes.faces if s.faces and abs(s.time - time_s) <= FACE_WINDOW_S]
    if not near or scenes.width <= 0 or scenes.height <= 0:
        return 0.5, 0.4
    sample = min(near, key=lambda s: abs(s.time - time_s))
    face = max(sample.faces, key=lambda f: f.w * f.h)
    return (
        min(1.0, max(0.0, (face.x + face.w / 2) / scenes.width)),
        min(1.0, max(0.0, (face.y + face.h / 2) / scenes.height)),
    )


def fill_frame(
    image: Image.Image, width: int, height: int, focus: tuple[float, float] = (0.5, 0.4)
) -> Image.Image:
    """`image` scaled to cover width x height and cropped around `focus` (shares of the image)."""
    scale = max(width / image.width, height / image.height)
    scaled_w = max(width, round(image.width * scale))
    scaled_h = max(height, round(image.height * scale))
    scaled = image.resize((scaled_w, scaled_h), Image.Resampling.LANCZOS)
    left = round(min(max(0.0, focus[0] * scaled_w - width / 2), scaled_w - width))
    top = round(min(max(0.0, focus[1] * scaled_h - height / 2), scaled_h - height))
    return scaled.crop((left, top, left + width, top + height))


# --- grading --------------------------------------------------------------------------------


def grade(image: Image.Image, strategy: str) -> Image.Image:
    """The strategy's colour grade: brightness, contrast, saturation, warmth, vignette, sharpening."""
    look = LOOKS[strategy]
    graded = ImageEnhance.Brightness(image.convert("RGB")).enhance(look.brightness)
    graded = ImageEnhance.Contrast(graded).enhance(look.contrast)
    graded = ImageEnhance.Color(graded).enhance(look.saturation)
    pixels = np.asarray(graded, dtype=np.float32).copy()
    # warmth both scales and shifts red against blue, so that it shows on saturated and on grey pictures
    pixels[..., 0] = pixels[..., 0] * (1.0 + look.warmth) + 128.0 * look.warmth
    pixels[..., 2] = pixels[..., 2] * (1.0 - look.warmth) - 128.0 * look.warmth
    if look.vignette > 0:
        pixels *= _vignette(image.width, image.height, look.vignette)[..., None]
    graded = Image.fromarray(np.clip(pixels + 0.5, 0, 255).astype(np.uint8), "RGB")
    if look.sharpen:
        graded = graded.filter(ImageFilter.UnsharpMask(radius=2, percent=60, threshold=3))
    return graded


@functools.lru_cache(maxsize=8)
def _vignette(width: int, height: int, strength: float) -> np.ndarray:
    y, x = np.ogrid[-1.0 : 1.0 : complex(0, height), -1.0 : 1.0 : complex(0, width)]
    radius = np.sqrt(x * x + y * y) / np.sqrt(2.0)
    return (1.0 - strength * np.clip(radius, 0.0, 1.0) ** 2.2).astype(np.float32)


# --- lettering ------------------------------------------------------------------------------


def find_font(font_path: str | None = None) -> str | None:
    """`font_path`, else the first bold system font found, else None (Pillow's own scalable font)."""
    if font_path:
        return font_path
    return next((p for p in FONT_CANDIDATES if Path(p).is_file()), None)


@functools.lru_cache(maxsize=256)
def load_font(font_path: str | None, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A font at `size` pixels from `font_path`, or Pillow's built-in scalable font."""
    if font_path:
        return ImageFont.truetype(font_path, size)
    return ImageFont.load_default(size=size)


def relative_luminance(rgb: np.ndarray) -> np.ndarray:
    """WCAG relative luminance of sRGB values 0-255 (last axis: R, G, B)."""
    channels = np.asarray(rgb, dtype=np.float64) / 255.0
    linear = np.where(channels <= 0.04045, channels / 12.92, ((channels + 0.055) / 1.055) ** 2.4)
    return np.asarray(linear @ np.array([0.2126, 0.7152, 0.0722]))


def contrast_ratio(lum_a: np.ndarray | float, lum_b: np.ndarray | float) -> np.ndarray:
    """WCAG contrast ratio of two relative luminances, 1 to 21."""
    high, low = np.maximum(lum_a, lum_b), np.minimum(lum_a, lum_b)
    return np.asarray((high + 0.05) / (low + 0.05))


def _stroke(size: int) -> int:
    return max(2, round(size * 0.06))


def _text_width(line: str, font_path: str | None, size: int) -> float:
    font = load_font(font_path, size)
    left, _, right, _ = font.getbbox(line, stroke_width=_stroke(size))
    return float(right - left)


def _wrappings(words: Sequence[str]) -> list[list[str]]:
    """Every way to set the words in at most MAX_LINES (= 2) lines."""
    options = [[" ".join(words)]]
    for split in range(1, len(words)):
        options.append([" ".join(words[:split]), " ".join(words[split:])])
    return options


def fit_text(
    text: str, font_path: str | None, max_width: float, max_height: float, max_size: int
) -> tuple[list[str], int]:
    """The lines and the largest font size (pixels) that set `text` in at most two lines within the box."""
    words = text.split() or [" "]
    best: tuple[list[str], int] = ([" ".join(words)], 8)
    reference = 100
    for lines in _wrappings(words):
        widest = max(_text_width(line, font_path, reference) for line in lines)
        size = int(
            min(max_size, reference * max_width / max(widest, 1.0), max_height / (LINE_SPACING * len(lines)))
        )
        while size > 8 and max(_text_width(line, font_path, size) for line in lines) > max_width:
            size -= 1
        if size > best[1]:
            best = (lines, size)
    return best


@dataclass(frozen=True)
class _Layout:
    lines: list[str]
    size: int
    origin: tuple[float, float]  # left, first line's baseline
    ink: tuple[int, int, int, int]  # bounding box of the letters


def _layout(
    text: str, font_path: str | None, width: int, height: int, share: float, look: Look, side: str
) -> _Layout:
    margin = MARGIN * width
    lines, size = fit_text(text, font_path, share * width, 0.45 * height, max_size=round(0.2 * height))
    font = load_font(font_path, size)
    ascent, _ = font.getmetrics() if hasattr(font, "getmetrics") else (size, 0)
    pitch = LINE_SPACING * size
    block_h = ascent + pitch * (len(lines) - 1) + 0.22 * size
    widest = max(_text_width(line, font_path, size) for line in lines)
    left = margin if side == "left" else width - margin - widest
    top = 0.07 * height if look.vertical == "top" else height - 0.08 * height - block_h
    origin = (left, top + ascent)
    # ink of each line relative to its own baseline
    boxes = [font.getbbox(line, stroke_width=_stroke(size), anchor="ls") for line in lines]
    ink = (
        round(origin[0] + min(b[0] for b in boxes)),
        round(origin[1] + boxes[0][1]),
        round(origin[0] + max(b[2] for b in boxes)),
        round(origin[1] + pitch * (len(lines) - 1) + boxes[-1][3]),
    )
    return _Layout(lines, size, origin, ink)


def letter(
    background: Image.Image,
    hook: str,
    strategy: str,
    *,
    width_share: float = WIDTH_STEPS[0],
    band_opacity: float = 0.0,
    side: str = "left",
    font_path: str | None = None,
    preview_size: tuple[int, int] = PREVIEW_SIZE,
) -> tuple[Image.Image, Legibility]:
    """`background` with the hook set large on it, and what the mobile-size check measures of it."""
    look = LOOKS[strategy]
    width, height = background.size
    layout = _layout(hook, font_path, width, height, width_share, look, side)
    font = load_font(font_path, layout.size)
    stroke = _stroke(layout.size)
    pitch = LINE_SPACING * layout.size

    band = Image.new("RGBA", background.size, (0, 0, 0, 0))
    if band_opacity > 0:
        pad_x, pad_y = 0.25 * layout.size, 0.16 * layout.size
        x0, y0, x1, y1 = layout.ink
        ImageDraw.Draw(band).rounded_rectangle(
            (x0 - pad_x, y0 - pad_y, x1 + pad_x, y1 + pad_y),
            radius=round(0.12 * layout.size),
            fill=(*look.band_rgb, round(255 * band_opacity)),
        )
    backdrop = Image.alpha_composite(background.convert("RGBA"), band)

    letters = Image.new("RGBA", background.size, (0, 0, 0, 0))
    if band_opacity < 1.0:  # a soft drop shadow lifts the letters off a busy picture
        shadow = Image.new("RGBA", background.size, (0, 0, 0, 0))
        offset = max(2, round(0.045 * layout.size))
        _draw_lines(ImageDraw.Draw(shadow), layout, (offset, offset), font, pitch, (0, 0, 0, 170), stroke)
        letters = Image.alpha_composite(letters, shadow.filter(ImageFilter.GaussianBlur(0.04 * layout.size)))
    _draw_lines(ImageDraw.Draw(letters), layout, (0, 0), font, pitch, (*look.text_rgb, 255), stroke)
    final = Image.alpha_composite(backdrop, letters).convert("RGB")

    changed = Image.alpha_composite(band, letters).getchannel("A").getbbox() or layout.ink
    contrast, cap_height = measure_legibility(
        backdrop.convert("RGB"), layout.ink, look.text_rgb, font, preview_size
    )
    check = Legibility(
        contrast_ratio=contrast,
        cap_height_px=cap_height,
        preview_width=preview_size[0],
        preview_height=preview_size[1],
        font_px=layout.size,
        lines=len(layout.lines),
        band_opacity=band_opacity,
        width_share=width_share,
        attempts=1,
        passed=contrast >= MIN_CONTRAST and cap_height >= MIN_CAP_HEIGHT_PX,
        text_box=(int(changed[0]), int(changed[1]), int(changed[2]), int(changed[3])),
    )
    return final, check


def _draw_lines(
    draw: ImageDraw.ImageDraw,
    layout: _Layout,
    shift: tuple[int, int],
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    pitch: float,
    fill: tuple[int, int, int, int],
    stroke: int,
) -> None:
    for index, line in enumerate(layout.lines):
        xy = (layout.origin[0] + shift[0], layout.origin[1] + index * pitch + shift[1])
        draw.text(
            xy, line, font=font, fill=fill, anchor="ls", stroke_width=stroke, stroke_fill=(0, 0, 0, fill[3])
        )


def measure_legibility(
    backdrop: Image.Image,
    text_box: tuple[int, int, int, int],
    text_rgb: tuple[int, int, int],
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    preview_size: tuple[int, int] = PREVIEW_SIZE,
) -> tuple[float, float]:
    """(contrast ratio, cap height in pixels) of text on `backdrop` when shown at `preview_size`.

    The contrast is the WCAG ratio between the text colour and the picture behind the text box, both
    downscaled; 90% of that picture reaches at least the figure returned. The cap height is the ink
    height of a capital H at the preview's scale.
    """
    scale_x = preview_size[0] / backdrop.width
    scale_y = preview_size[1] / backdrop.height
    small = np.asarray(backdrop.resize(preview_size, Image.Resampling.LANCZOS), dtype=np.float64)
    x0 = min(preview_size[0] - 1, max(0, int(np.floor(text_box[0] * scale_x))))
    y0 = min(preview_size[1] - 1, max(0, int(np.floor(text_box[1] * scale_y))))
    x1 = max(x0 + 1, min(preview_size[0], int(np.ceil(text_box[2] * scale_x))))
    y1 = max(y0 + 1, min(preview_size[1], int(np.ceil(text_box[3] * scale_y))))
    behind = relative_luminance(small[y0:y1, x0:x1])
    ratios = contrast_ratio(behind, float(relative_luminance(np.array(text_rgb, dtype=np.float64))))
    contrast = float(np.percentile(ratios, CONTRAST_PERCENTILE))
    _, top, _, bottom = font.getbbox("H")
    return contrast, float((bottom - top) * scale_y)


def letter_legibly(
    background: Image.Image,
    hook: str,
    strategy: str,
    *,
    side: str = "left",
    font_path: str | None = None,
    preview_size: tuple[int, int] = PREVIEW_SIZE,
) -> tuple[Image.Image, Legibility]:
    """The hook set on `background`, re-laid out (wider and larger, then on a band) until it is legible."""
    width_step, band_step, attempts = 0, 0, 0
    while True:
        attempts += 1
        image, check = letter(
            background, hook, strategy, width_share=WIDTH_STEPS[width_step],
            band_opacity=BAND_STEPS[band_step], side=side, font_path=font_path, preview_size=preview_size,
        )  # fmt: skip
        progressed = False
        if check.cap_height_px < MIN_CAP_HEIGHT_PX and width_step < len(WIDTH_STEPS) - 1:
            width_step, progressed = width_step + 1, True
        if check.contrast_ratio < MIN_CONTRAST and band_step < len(BAND_STEPS) - 1:
            band_step, progressed = band_step + 1, True
        if check.passed or not progressed:
            return image, dataclasses.replace(check, attempts=attempts)


# --- the stage ------------------------------------------------------------------------------


def render_thumbnails(
    video_path: str | os.PathLike[str],
    media: MediaInfo,
    plan: Plan,
    scenes: Scenes,
    out_dir: Path,
    width: int = 1280,
    height: int = 720,
    background: Choice[BackgroundGenerator] = FRAMES,
    *,
    font_path: str | None = None,
    preview_size: tuple[int, int] = PREVIEW_SIZE,
    cover: str | os.PathLike[str] | None = None,
) -> tuple[Thumbnails, dict[str, Legibility]]:
    """thumbnails.json's content and the legibility figures of each thumbnail, with the PNGs written to
    `out_dir` as thumb-<strategy>.png. Backgrounds come from the `background` chosen, else the frames; a
    recording without picture (a podcast) uses its `cover` image (input/NAME.jpg|png), else a plain one."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    font = find_font(font_path)
    concepts = concepts_by_strategy(plan)
    times = choose_frame_times(concepts, scenes, media.duration_s)
    topic = ", ".join(plan.metadata_strategy.primary_keywords[:3])
    warnings: list[str] = []

    requests: dict[Strategy, BackgroundRequest] = {}
    cover_image = load_cover(cover) if media.video is None else None
    if media.video is None:
        warnings.append(
            f"audio only: the thumbnails use the cover image {Path(cover or '').name}"
            if cover_image is not None
            else "audio only and no cover image (input/NAME.jpg or .png): a plain background is used"
        )
    for strategy, concept in concepts.items():
        if media.video is None:
            frame = cover_image
        else:
            frame = extract_frame(video_path, times[strategy])
            if frame is None:  # e.g. a damaged stretch: whatever the start of the video shows
                frame = extract_frame(video_path, 0.0)
        if frame is None and media.video is not None:
            warnings.append(
                f"{strategy}: no frame decodes at {times[strategy]:.2f} s; a plain background is used"
            )
        focus = crop_focus(scenes, times[strategy])
        filled = fill_frame(frame, width, height, focus) if frame is not None else None
        hook = shorten(concept.hook, MAX_HOOK_CHARS)
        plain = LOOKS[strategy].band_rgb
        requests[strategy] = BackgroundRequest(strategy, hook, topic, filled, width, height, plain)

    backgrounds, generated_by, fallback = _backgrounds(requests, background.backend, width, height)
    fallback = fallback or background.fallback(used=PROCEDURAL)
    backend = generated_by.name if generated_by is not None else PROCEDURAL

    thumbnails: list[Thumbnail] = []
    figures: dict[str, Legibility] = {}
    for strategy, request in requests.items():
        side = "right" if crop_focus(scenes, times[strategy])[0] < 0.45 else "left"
        graded = grade(backgrounds[strategy], strategy)
        image, check = letter_legibly(
            graded, request.hook, strategy, side=side, font_path=font, preview_size=preview_size
        )
        if not check.passed:
            warnings.append(
                f"{strategy}: hook not legible at {preview_size[0]}x{preview_size[1]} "
                f"(contrast {check.contrast_ratio:.1f}, cap height {check.cap_height_px:.1f} px)"
            )
        path = out_dir / f"thumb-{strategy}.png"
        save_png(image, path)
        figures[strategy] = check
        thumbnails.append(
            Thumbnail(
                path=path.relative_to(out_dir.parent).as_posix(),
                strategy=strategy,
                hook=request.hook,
                width=width,
                height=height,
                frame_time=times[strategy] if generated_by is None else None,  # a generated picture has none
            )
        )
        log.info("%s: %s", path.name, check.as_dict())

    producer = make_producer(
        "thumbnails",
        backend,
        packages=("Pillow", "numpy", *BACKGROUNDS.packages(backend)),
        extra_versions={"ffmpeg": tool_version(ffmpeg_binary())},
        fallback=fallback,
        warnings=warnings,
    )
    return Thumbnails(producer=producer, thumbnails=thumbnails), figures


def make_thumbnails(
    video_path: str | os.PathLike[str],
    media: MediaInfo,
    plan: Plan,
    scenes: Scenes,
    out_dir: Path,
    width: int = 1280,
    height: int = 720,
    background: Choice[BackgroundGenerator] = FRAMES,
    *,
    font_path: str | None = None,
    cover: str | os.PathLike[str] | None = None,
) -> Thumbnails:
    """thumbnails.json's content, with one PNG per strategy written to `out_dir`."""
    thumbnails, _ = render_thumbnails(
        video_path, media, plan, scenes, out_dir, width, height, background, font_path=font_path, cover=cover
    )
    return thumbnails


def _backgrounds(
    requests: dict[Strategy, BackgroundRequest],
    generator: BackgroundGenerator | None,
    width: int,
    height: int,
) -> tuple[dict[Strategy, Image.Image], BackgroundGenerator | None, Fallback | None]:
    """A background per strategy from `generator`, or all from the frames (None) when there is none or it
    fails once, with the fallback then."""
    procedural = FrameBackground()
    if generator is None:
        return {s: procedural.generate(r) for s, r in requests.items()}, None, None
    try:
        made = {
            s: fill_frame(generator.generate(r).convert("RGB"), width, height, (0.5, 0.5))
            for s, r in requests.items()
        }
        return made, generator, None
    except Exception as exc:  # any failure of an optional generator means: use the frames
        reason = str(exc) if isinstance(exc, BackgroundError) else f"{type(exc).__name__}: {exc}"
        reason = " ".join(reason.split())[:200]
        log.warning("%s failed (%s); using the video's frames", generator.name, reason)
        fallback = Fallback(wanted=generator.name, used=procedural.name, reason=reason)
        return {s: procedural.generate(r) for s, r in requests.items()}, None, fallback


def save_png(image: Image.Image, path: Path) -> None:
    """Publish a PNG (publish.atomic_writer)."""
    with atomic_writer(path, binary=True) as handle:
        image.save(handle, format="PNG", compress_level=4)
