"""Thumbnail backgrounds behind one small interface, shaped like llm.py: the generator protocol, the real
generator (an image model through google-genai, every request abandoned after its deadline), the
procedural offline path (the video's own frame), and the registry thumbnails.backend chooses from.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from PIL import Image

from .backends import Backend, Backends, Choice, Unavailable
from .config import ThumbnailsConfig
from .errors import AveError
from .llm import DeadlineClient, api_key_from_env, describe_failure, scrub

PROCEDURAL = "procedural"  # thumbnails.backend's offline value: the video's frames
DEFAULT_IMAGE_MODEL = "gemini-2.5-flash-image"
IMAGE_RETRY_MAX_WAIT_S = 4.0  # the longest the SDK waits between two attempts at one image


class BackgroundError(AveError):
    """A background generator failed; the message is one line and never holds an API key."""


@dataclass(frozen=True)
class BackgroundRequest:
    """What a generator knows about the thumbnail it makes a background for."""

    strategy: str  # emotional, curiosity or authority
    hook: str
    topic: str = ""  # the video's main keywords
    frame: Image.Image | None = None  # the chosen real frame, already cropped to width x height
    width: int = 1280
    height: int = 720
    plain_rgb: tuple[int, int, int] = (12, 12, 16)  # the colour of a plain background when no frame decodes


class BackgroundGenerator(Protocol):
    """Makes the picture behind a thumbnail's text; raises BackgroundError when it cannot."""

    name: str

    def generate(self, request: BackgroundRequest) -> Image.Image:
        """An RGB image; it is cropped to the thumbnail's size, graded and lettered afterwards."""
        ...


class FrameBackground:
    """The procedural background, the offline path: the real frame itself (or a plain gradient when no
    frame decodes)."""

    name = PROCEDURAL

    def generate(self, request: BackgroundRequest) -> Image.Image:
        """The request's frame, else a gradient from its plain colour."""
        if request.frame is not None:
            return request.frame
        return gradient(request.width, request.height, request.plain_rgb)


MOODS = {
    "emotional": "warm, vivid, expressive, golden light, a strong human moment",
    "curiosity": "moody, mysterious, dark edges, one intriguing subject in focus",
    "authority": "clean, bright, professional, cool colours, orderly studio look",
}


def image_prompt(request: BackgroundRequest) -> str:
    """The prompt an image model gets: topic and mood; the hook is drawn by us, so no text is asked for."""
    topic = request.topic or request.hook
    return (
        f"A 16:9 photographic YouTube thumbnail background about {topic}. Mood: {MOODS[request.strategy]}. "
        "Keep the left third calm and uncluttered for a headline. "
        "No text, no letters, no logos, no watermark."
    )


class ImageModelBackground:
    """Backgrounds from an image model through google-genai.

    `model` names an Imagen model (`imagen-*`, asked through `client.models.generate_images`; google-genai
    3.x serves that only on Vertex AI) or a Gemini image model (`gemini-*-image*`, asked through
    `generate_content` with image output, which works with a Gemini API key). The key comes from
    `api_key_from_env()` only. `attempts` is the tries per image and `timeout_s` the seconds each network
    read of a try may wait; whatever the server does, an image is abandoned after `attempts` x `timeout_s`
    plus the waits between tries (at most IMAGE_RETRY_MAX_WAIT_S each).
    """

    name = "image-model"

    def __init__(
        self,
        api_key: str,
        model: str = DEFAULT_IMAGE_MODEL,
        *,
        base_url: str | None = None,
        timeout_s: float = 60.0,
        attempts: int = 2,
        client: Any = None,
    ) -> None:
        if not api_key or not api_key.strip():
            raise BackgroundError("image model: no API key — set GEMINI_API_KEY or GOOGLE_API_KEY")
        self.model = model
        self._api_key = api_key.strip()
        attempts = max(1, attempts)
        deadline_s = attempts * timeout_s + (attempts - 1) * IMAGE_RETRY_MAX_WAIT_S
        self._requests = DeadlineClient(
            functools.partial(self._make_client, base_url, timeout_s, attempts),
            deadline_s,
            client=client,
            name="ave-imagen",
        )

    def _make_client(self, base_url: str | None, timeout_s: float, attempts: int) -> Any:
        try:
            from google import genai
            from google.genai import types
        except ImportError as exc:
            raise BackgroundError(
                "image model: google-genai is not installed — pip install google-genai, "
                "or use the procedural thumbnails"
            ) from exc
        http_options = types.HttpOptions(
            base_url=base_url or None,
            timeout=max(1, round(timeout_s * 1000)),  # milliseconds
            retry_options=types.HttpRetryOptions(attempts=attempts, max_delay=IMAGE_RETRY_MAX_WAIT_S),
        )
        try:
            return genai.Client(api_key=self._api_key, vertexai=False, http_options=http_options)
        except Exception as exc:
            raise BackgroundError(
                f"image model: cannot create the client: {scrub(str(exc), self._api_key)}"
            ) from None

    def generate(self, request: BackgroundRequest) -> Image.Image:
        prompt = image_prompt(request)
        try:
            if self.model.startswith("imagen"):
                data = self._imagen(prompt)
            else:
                data = self._gemini_image(prompt)
        except BackgroundError:
            raise
        except Exception as exc:
            raise BackgroundError(f"{self.model}: {describe_failure(exc, self._api_key)}") from None
        try:
            with Image.open(io.BytesIO(data)) as opened:
                return opened.convert("RGB")
        except (OSError, ValueError) as exc:
            raise BackgroundError(
                f"{self.model}: the answer is not an image ({type(exc).__name__})"
            ) from None

    def _imagen(self, prompt: str) -> bytes:
        from google.genai import types

        config = types.GenerateImagesConfig(number_of_images=1, aspect_ratio="16:9")
        try:
            response = self._requests.call(
                lambda client: client.models.generate_images(model=self.model, prompt=prompt, config=config)
            )
        except ValueError as exc:
            if "only supported" not in str(exc):
                raise
            raise BackgroundError(
                f"{self.model}: this google-genai serves Imagen only on Vertex AI, not with an API key "
                f"— use a Gemini image model such as {DEFAULT_IMAGE_MODEL}"
            ) from None
        images = response.generated_images or []
        if not images or images[0].image is None or not images[0].image.image_bytes:
            reason = images[0].rai_filtered_reason if images else None
            raise BackgroundError(f"{self.model}: no image returned" + (f" ({reason})" if reason else ""))
        return bytes(images[0].image.image_bytes)

    def _gemini_image(self, prompt: str) -> bytes:
        from google.genai import types

        config = types.GenerateContentConfig(
            response_modalities=["IMAGE"],
            image_config=types.ImageConfig(aspect_ratio="16:9"),
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        )
        response = self._requests.call(
            lambda client: client.models.generate_content(model=self.model, contents=prompt, config=config)
        )
        for candidate in response.candidates or []:
            parts = candidate.content.parts if candidate.content is not None else None
            for part in parts or []:
                if part.inline_data is not None and part.inline_data.data:
                    return bytes(part.inline_data.data)
        finish = response.candidates[0].finish_reason if response.candidates else None
        raise BackgroundError(f"{self.model}: no image in the answer (finish reason {finish})")


def gradient(width: int, height: int, rgb: tuple[int, int, int]) -> Image.Image:
    """A vertical gradient from `rgb` to near black: the background when no frame can be decoded."""
    ramp = np.linspace(1.0, 0.25, height, dtype=np.float32)[:, None, None]
    pixels = np.broadcast_to(np.array(rgb, dtype=np.float32) * ramp, (height, width, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


# --- the registry -----------------------------------------------------------------------------


def _image_model(config: ThumbnailsConfig) -> BackgroundGenerator:
    key = api_key_from_env()
    if key is None:
        raise Unavailable(BACKGROUNDS["image-model"].missing())
    try:
        return ImageModelBackground(key, config.model, base_url=config.base_url, timeout_s=config.timeout_s)
    except BackgroundError as exc:
        raise Unavailable(str(exc)) from None


BACKGROUNDS: Backends[ThumbnailsConfig, BackgroundGenerator] = Backends(
    "thumbnails.backend",
    [
        Backend(
            "image-model",
            needs="GEMINI_API_KEY or GOOGLE_API_KEY in the environment",
            make=_image_model,
            packages=("google-genai",),
            available=lambda config: api_key_from_env() is not None,
        )
    ],
    offline=PROCEDURAL,
)


def make_background(config: ThumbnailsConfig) -> Choice[BackgroundGenerator]:
    """The generator thumbnails.backend asks for, or none (the frames) with the reason."""
    return BACKGROUNDS.choose(config.backend, config)
