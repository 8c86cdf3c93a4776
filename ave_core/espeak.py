"""espeak-ng through its own library, with the sample-exact time of every word it speaks.

The command line `espeak-ng -w` gives audio only. The library (libespeak-ng, installed with espeak-ng)
reports an event at the start of every phoneme, with the sample it starts at and the character position
of the word it belongs to; a word spans from its first phoneme to the next phoneme or pause, less the
digital silence at its edges (a stop's closure). Those are exact, not estimates: at a pause phoneme the
audio goes silent at exactly the sample the event gives (checked by `check_word_times`).

    samples, words = speak_timed("It is, um, really quite nice.", Voice("en-gb+f3", 150, 60))
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from dataclasses import dataclass

import numpy as np

from .errors import ToolError

SAMPLE_RATE = 22050  # espeak-ng's native rate
_EVENT_LIST_TERMINATED, _EVENT_PHONEME, _EVENT_SAMPLERATE = 0, 7, 8
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS = 0x0001
_CHARS_UTF8, _SSML, _PHONEMES = 1, 0x10, 0x100
_RATE, _PITCH, _RANGE = 1, 3, 4
EDGE_SILENCE = 1e-4  # |sample| at or below this at a word's edge is espeak's digital silence, not the word


@dataclass(frozen=True)
class Voice:
    """An espeak-ng voice setting: voice name (with +variant), words per minute, pitch 0-99."""

    name: str = "en-us"
    words_per_minute: int = 160
    pitch: int = 50
    pitch_range: int = 50

    @property
    def label(self) -> str:
        return f"{self.name} {self.words_per_minute}wpm p{self.pitch}"


@dataclass
class SpokenWord:
    """One word as espeak spoke it: character span in the input text, sample span in the audio."""

    char_start: int  # 0-based position of the word in the text given to espeak
    start_sample: int
    end_sample: int
    phonemes: str

    def seconds(self, rate: int = SAMPLE_RATE) -> tuple[float, float]:
        return self.start_sample / rate, self.end_sample / rate


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)
_LOCK = threading.Lock()  # the library keeps one global state
_STATE: dict[str, object] = {}


def _library() -> ctypes.CDLL:
    if "lib" not in _STATE:
        name = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
        try:
            lib = ctypes.CDLL(name)
        except OSError as exc:
            raise ToolError(
                f"libespeak-ng not found ({exc}) — install espeak-ng (apt-get install espeak-ng)"
            ) from exc
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, None, _INITIALIZE_PHONEME_EVENTS)
        if rate != SAMPLE_RATE:
            raise ToolError(f"libespeak-ng speaks at {rate} Hz, expected {SAMPLE_RATE} Hz")
        _STATE["lib"] = lib
    return _STATE["lib"]  # type: ignore[return-value]


def speak_timed(
    text: str, voice: Voice = Voice(), ssml: bool | None = None
) -> tuple[np.ndarray, list[SpokenWord]]:
    """float32 samples at SAMPLE_RATE and the words espeak spoke, in order, with exact sample spans.

    `text` may hold SSML (`<prosody rate="40%">um</prosody>`, `<break time="300ms"/>`) and phoneme
    mnemonics in double brackets (`[[m:]]`); each word's `char_start` indexes `text` as given."""
    chunks: list[np.ndarray] = []
    phonemes: list[tuple[int, int, str]] = []  # (text position, sample, phoneme)

    def collect(wav: ctypes._Pointer, count: int, events: ctypes._Pointer) -> int:
        if count > 0:
            chunks.append(np.ctypeslib.as_array(wav, (count,)).copy())
        index = 0
        while events[index].type != _EVENT_LIST_TERMINATED:
            event = events[index]
            if event.type == _EVENT_PHONEME:
                name = event.id.string.decode("ascii", errors="replace").rstrip("\x00")
                phonemes.append((event.text_position, event.sample, name))
            index += 1
        return 0

    encoded = text.encode("utf-8")
    flags = (
        _CHARS_UTF8
        | _PHONEMES
        | (_SSML if (ssml if ssml is not None else text.lstrip().startswith("<")) else 0)
    )
    with _LOCK:
        lib = _library()
        callback = _CALLBACK(collect)
        lib.espeak_SetSynthCallback(callback)
        if lib.espeak_SetVoiceByName(voice.name.encode()) != 0:
            raise ToolError(f"espeak-ng has no voice {voice.name!r} — see espeak-ng --voices")
        lib.espeak_SetParameter(_RATE, int(voice.words_per_minute), 0)
        lib.espeak_SetParameter(_PITCH, int(voice.pitch), 0)
        lib.espeak_SetParameter(_RANGE, int(voice.pitch_range), 0)
        status = lib.espeak_Synth(encoded, len(encoded) + 1, 0, 1, 0, flags, None, None)
        lib.espeak_Synchronize()
        if status != 0:
            raise ToolError(f"espeak-ng could not speak {text[:60]!r} (status {status})")
    samples = (np.concatenate(chunks) if chunks else np.zeros(0, np.int16)).astype(np.float32) / 32768.0
    return samples, _words_from_phonemes(phonemes, samples, encoded)


def _words_from_phonemes(
    phonemes: list[tuple[int, int, str]], samples: np.ndarray, encoded: bytes
) -> list[SpokenWord]:
    """Group phoneme events by the word they belong to; a word ends where the next event starts."""
    words: list[SpokenWord] = []
    for index, (position, sample, name) in enumerate(phonemes):
        end = phonemes[index + 1][1] if index + 1 < len(phonemes) else samples.size
        if name.startswith("_"):  # a pause
            continue
        char_start = len(encoded[: max(0, position - 1)].decode("utf-8", errors="ignore"))
        if words and words[-1].char_start == char_start and words[-1].end_sample == sample:
            words[-1].end_sample = end
            words[-1].phonemes += " " + name
        elif words and words[-1].char_start == char_start:  # the same word after a pause inside it
            words[-1].end_sample = end
            words[-1].phonemes += " " + name
        else:
            words.append(SpokenWord(char_start, sample, end, name))
    for word in words:  # a stop's closure at the edge is digital silence: not part of the audible word
        span = np.flatnonzero(np.abs(samples[word.start_sample : word.end_sample]) > EDGE_SILENCE)
        if span.size:
            word.end_sample = word.start_sample + int(span[-1]) + 1
            word.start_sample += int(span[0])
    _extend_over_ringing(samples, words)
    return words


def _extend_over_ringing(samples: np.ndarray, words: list[SpokenWord], rate: int = SAMPLE_RATE) -> None:
    """Breathy variants (+f2, +f3) let a word ring on past the pause event that ends it: the word ends
    where its sound does, at the first 5 ms that is 30 dB under the speech, never past the next word."""
    frame = max(1, rate // 200)
    level = _quiet_level(samples, words)
    for index, word in enumerate(words):
        limit = words[index + 1].start_sample if index + 1 < len(words) else samples.size
        end = word.end_sample
        while end + frame <= limit and np.sqrt(np.mean(samples[end : end + frame] ** 2)) > level:
            end += frame
        word.end_sample = end


def _quiet_level(samples: np.ndarray, words: list[SpokenWord]) -> float:
    """30 dB under the RMS of the spoken words (and never under espeak's digital silence)."""
    spoken = np.concatenate([samples[w.start_sample : w.end_sample] for w in words]) if words else samples[:0]
    speech_rms = float(np.sqrt(np.mean(spoken**2))) if spoken.size else 0.0
    return max(EDGE_SILENCE, speech_rms * 10 ** (-30 / 20))


def check_word_times(samples: np.ndarray, words: list[SpokenWord], rate: int = SAMPLE_RATE) -> float:
    """How far the word times can be off, in seconds, judged from the audio itself; raises when a word is
    not where its times say. Each word must sound in its first and last 5 ms, and the stretches between
    words must be quiet (30 dB under the speech; breathy variants fill pauses with a little noise): the
    figure is the longest sounding run inside such a gap, 0.0 when every gap is quiet."""
    frame = max(1, rate // 200)
    quiet = _quiet_level(samples, words)
    worst = 0.0
    for before, after in zip(words, words[1:], strict=False):
        gap = samples[before.end_sample : after.start_sample]
        frames = gap[: gap.size // frame * frame].reshape(-1, frame)
        if frames.size:
            loud = np.flatnonzero(np.sqrt(np.mean(frames**2, axis=1)) > quiet)
            if loud.size:
                worst = max(worst, (loud[-1] - loud[0] + 1) * frame / rate)
    for word in words:
        head = samples[word.start_sample : word.start_sample + frame]
        tail = samples[max(word.start_sample, word.end_sample - frame) : word.end_sample]
        if word.end_sample <= word.start_sample or not head.size or np.max(np.abs(head)) <= EDGE_SILENCE:
            raise ToolError(f"espeak word at sample {word.start_sample} is silent at its start")
        if np.max(np.abs(tail)) <= EDGE_SILENCE:
            raise ToolError(f"espeak word at sample {word.start_sample} is silent at its end")
    return worst


def speak_tokens(
    tokens: list[str], voice: Voice = Voice(), breaks_ms: list[int] | None = None
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """float32 samples at SAMPLE_RATE of the tokens said as one utterance, and each token's sample span.

    `breaks_ms[k]` is a pause said after token k (0: none). espeak-ng may say two tokens as one word ("in
    the"): their span is shared out by letters. A token espeak-ng says nothing for gets an empty span at
    the end of the one before."""
    parts, starts = ["<speak>"], []
    cursor = len(parts[0])
    for index, token in enumerate(tokens):
        text = _escape(token)
        starts.append(cursor)
        pause = breaks_ms[index] if breaks_ms else 0
        piece = text + (f' <break time="{pause}ms"/> ' if pause > 0 else " ")
        parts.append(piece)
        cursor += len(piece)
    parts.append("</speak>")
    samples, spoken = speak_timed("".join(parts), voice, ssml=True)
    owned: list[list[SpokenWord]] = [[] for _ in tokens]
    owner = 0
    for word in spoken:
        # espeak's character position can fall a character or two short of its word
        while (
            owner + 1 < len(tokens)
            and word.char_start >= starts[owner + 1] - 2
            and (owned[owner] or word.char_start >= starts[owner + 1])
        ):
            owner += 1
        owned[owner].append(word)
    spans: list[tuple[int, int]] = []
    index = 0
    while index < len(tokens):
        if not owned[index]:
            end = spans[-1][1] if spans else 0
            spans.append((end, end))
            index += 1
            continue
        group = [index]  # this token and the silent ones after it it was said together with
        while group[-1] + 1 < len(tokens) and not owned[group[-1] + 1]:
            group.append(group[-1] + 1)
        first, last = owned[index][0].start_sample, owned[index][-1].end_sample
        letters = np.cumsum([0] + [max(1, len(tokens[k])) for k in group])
        bounds = first + (last - first) * letters / letters[-1]
        spans += [(int(bounds[n]), int(bounds[n + 1])) for n in range(len(group))]
        index = group[-1] + 1
    return samples, spans


def _escape(text: str) -> str:
    return text.replace("&", " and ").replace("<", " ").replace(">", " ")
