"""Studio sound: the speech cleaned before everything that listens to it and before the render.

The chain, in order: a high-pass under the voice, notches at the mains hum and its harmonics when a hum is
found (50 or 60 Hz, measured, never assumed), dereverberation when asked for (WPE from nara_wpe, in blocks),
a speech denoiser (RNNoise by default, its model inside the
pyrnnoise wheel; ffmpeg's afftdn as the alternative), a de-esser and a gentle compressor. Loudness is
normalised later by the render, as before.

Everything streams: ffmpeg decodes and filters, Python runs the denoiser on 10 ms frames between two ffmpeg
processes, so memory stays flat however long the recording is. The enhanced audio keeps the sample clock of
the decode (the denoiser's delay is taken out), so it lines up with audio_16k.wav and with the picture.
"""

from __future__ import annotations

import base64
import math
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

import numpy as np

from .backends import Registry
from .errors import InputError, OutputError, ToolError
from .models import (
    EnhanceFilter,
    Enhancement,
    EnhancePreview,
    HumHarmonic,
    HumReport,
    MediaInfo,
    make_producer,
)
from .publish import atomic_writer, publishing
from .timebase import write_empty_wav
from .tools import ffmpeg_binary, last_line, run_tool, tool_version, write_problem

ENHANCE_RATE = 48000  # RNNoise's rate, and the render's
ANALYSIS_RATE = 16000  # the rate every listening stage reads (audio_16k.wav)
HUM_RATE = (
    8000  # the first pass decodes at this rate: hum lives below 1 kHz, the noise floor in the voice band
)
LEVEL_FRAME_S = 0.02  # frames in which the speech level and the noise floor are measured
# the denoiser lowers the noise until it lies this far under the speech, never further: a clean recording
# (its noise already that far down) passes the denoiser untouched (chosen on the bench's tuning half)
TARGET_SNR_DB = 35.0
SILENT_DB = -70.0  # loud frames quieter than this: silence (EBU R128's gate), nothing to denoise
HUM_RESOLUTION_HZ = 0.25  # periodogram bin width of the hum detector
HUM_HARMONICS = 8  # harmonics of the mains frequency examined (up to 400 / 480 Hz)
# how far (dB) a harmonic's narrow peak must stand above the spectrum around it to count as hum: chosen on the
# bench's tuning half (bench/enhance.py), where speech without hum peaked at most 4.1 dB and the quietest hum
# mixed (-35 dB under the speech) at 13 dB
HUM_MIN_PROMINENCE_DB = 8.0
HUM_MIN_WINDOWS = 4  # a spectrum averaged over fewer windows (~10 s) is too noisy to tell a hum from chance
HUM_MIN_HARMONICS = 2  # a lone peak is a tone in the content; mains hum shows at least two harmonics
HUM_NOTCH_Q = 30.0  # notch quality: 1.7 Hz wide at 50 Hz, narrow enough to leave the voice alone
AFFTDN_DELAY = 156  # samples at 48 kHz by which ffmpeg 5-7 afftdn delays its output
COMPRESSOR_MIN_THRESHOLD_DB = -60.0  # the lowest threshold ffmpeg's acompressor takes, rounded up
PREVIEW_S = 5.0  # length of the before/after preview
PREVIEW_BIN_S = 0.5  # resolution at which the preview's place is chosen
# dereverberation (WPE): STFT of 43 ms frames every 10.7 ms at 48 kHz; the late reverberation is predicted
# from WPE_TAPS frames that end WPE_DELAY frames back (so the first ~32 ms, the direct sound and its early
# reflections, are kept) and subtracted. nara_wpe's defaults for taps, delay and iterations; chosen on the
# bench's tuning half against a 1024/256 STFT with 20 taps and a delay of 2 (no better, more costly)
WPE_FFT_SIZE = 2048
WPE_SHIFT = 512
WPE_TAPS = 10
WPE_DELAY = 3
WPE_ITERATIONS = 3
# only the bins under this frequency are dereverberated: the voice's intelligibility lives there, and the
# cost of WPE grows with the bins (a third of them at 48 kHz); the bins above pass as they are
WPE_MAX_HZ = 8000.0
# WPE estimates its filters on blocks of this length, so memory stays flat however long the recording;
# each block starts WPE_CONTEXT_S earlier (its first frames have no past to predict from) and blocks
# overlap by WPE_FADE_S, crossfaded, so that no seam is heard where the filters change
WPE_BLOCK_S = 20.0
WPE_CONTEXT_S = 1.0
WPE_FADE_S = 0.25


@dataclass(frozen=True)
class Preset:
    """One strength of the enhancement: the settings of every filter of the chain."""

    highpass_hz: float
    highpass_poles: int  # 1: 6 dB per octave, 2: 12
    max_reduction_db: float  # how far the denoiser may lower the noise at most (inf: as far as it can)
    deesser_intensity: float  # ffmpeg deesser i (0-1)
    compressor_ratio: float
    compressor_over_speech_db: float  # threshold, relative to the speech level the survey measured
    compressor_attack_ms: float


# chosen on the bench's tuning half (bench/enhance.py, docs/benchmarks.md). On clean speech a 2-pole 80 Hz
# high-pass alone cost 0.10-0.15 PESQ and a compressor at a fixed -24 dB threshold 0.25: hence one pole, and a
# threshold at the speech's own loud level, so that only its peaks are compressed
PRESETS: dict[str, Preset] = {
    "light": Preset(60.0, 1, 12.0, 0.2, 1.3, 3.0, 50.0),
    "moderate": Preset(70.0, 1, 30.0, 0.3, 1.5, 0.0, 50.0),
    "strong": Preset(80.0, 2, math.inf, 0.5, 2.0, 0.0, 20.0),
}


# --- hum ------------------------------------------------------------------------------------


def hum_spectrum(blocks: Iterator[np.ndarray], rate: int = HUM_RATE) -> tuple[np.ndarray, int]:
    """The mean power spectrum (Welch, Hann window, half overlap) of mono float blocks, bins of
    HUM_RESOLUTION_HZ; streamed, so hours of sound need only one window in memory."""
    window_len = int(round(rate / HUM_RESOLUTION_HZ))
    hop = window_len // 2
    window = np.hanning(window_len).astype(np.float64)
    total = np.zeros(window_len // 2 + 1)
    count = 0
    pending = np.zeros(0, dtype=np.float64)
    for block in blocks:
        pending = np.concatenate([pending, block.astype(np.float64)])
        while pending.size >= window_len:
            segment = pending[:window_len]
            total += np.abs(np.fft.rfft((segment - segment.mean()) * window)) ** 2
            count += 1
            pending = pending[hop:]
    if count == 0 and pending.size:  # shorter than one window: one zero-padded window
        padded = np.zeros(window_len)
        padded[: pending.size] = pending - pending.mean()
        total += np.abs(np.fft.rfft(padded * window)) ** 2
        count = 1
    return total / max(count, 1), count


def harmonic_prominence(spectrum: np.ndarray, frequency_hz: float) -> float:
    """How many dB the strongest bin within the mains' drift of `frequency_hz` stands above the median of
    the spectrum 1.5-6 Hz either side (the voice's own spectrum there is smooth over time)."""
    bin_hz = HUM_RESOLUTION_HZ
    drift = min(2.0, 0.4 * frequency_hz / 50.0)  # mains wander ~0.2 Hz, and harmonic k wanders k times that
    centre = int(round(frequency_hz / bin_hz))
    peak_half = max(1, int(round(drift / bin_hz)))
    near, far = int(round(1.5 / bin_hz)) + peak_half, int(round(6.0 / bin_hz)) + peak_half
    if centre + far >= spectrum.size:
        return 0.0
    peak = spectrum[centre - peak_half : centre + peak_half + 1].max()
    around = np.concatenate([spectrum[centre - far : centre - near], spectrum[centre + near : centre + far]])
    floor = float(np.median(around))
    if peak <= 0 or floor <= 0:
        return 0.0 if peak <= 0 else 60.0
    return float(10 * np.log10(peak / floor))


def detect_hum(
    spectrum: np.ndarray, windows: int, min_prominence_db: float = HUM_MIN_PROMINENCE_DB
) -> HumReport:
    """Mains hum in a spectrum (from hum_spectrum): 50 or 60 Hz, and which harmonics stand out.

    Hum is reported when at least HUM_MIN_HARMONICS harmonics of one mains frequency stand out; the one of
    50 and 60 Hz with the larger summed prominence wins. Nothing is assumed: no hum, no notch; and a spectrum
    of fewer than HUM_MIN_WINDOWS windows is too short to tell.
    """
    if windows < HUM_MIN_WINDOWS:
        return HumReport(
            mains_hz=None,
            threshold_db=min_prominence_db,
            note=f"too short to tell a hum from chance ({windows} of {HUM_MIN_WINDOWS} windows): no notch",
        )
    candidates = {}
    for mains in (50.0, 60.0):
        found = [
            HumHarmonic(
                frequency_hz=mains * k, prominence_db=round(harmonic_prominence(spectrum, mains * k), 2)
            )
            for k in range(1, HUM_HARMONICS + 1)
        ]
        candidates[mains] = found
    scores = {
        mains: sum(h.prominence_db for h in found if h.prominence_db >= min_prominence_db)
        for mains, found in candidates.items()
    }
    best = max(scores, key=lambda mains: scores[mains])
    strong = [h for h in candidates[best] if h.prominence_db >= min_prominence_db]
    if len(strong) < HUM_MIN_HARMONICS:
        return HumReport(mains_hz=None, harmonics=[], threshold_db=min_prominence_db)
    return HumReport(mains_hz=best, harmonics=strong, threshold_db=min_prominence_db)


# --- the denoisers --------------------------------------------------------------------------


class FrameDenoiser(Protocol):
    """A denoiser that runs in Python on 48 kHz mono int16 frames of `frame_size` samples."""

    frame_size: int
    delay_samples: int  # how late its output comes: taken out so the sound keeps its time

    def process(self, frame: np.ndarray) -> np.ndarray:
        """One frame of float32 samples in int16 scale, denoised."""
        ...


class Denoiser(Protocol):
    """A speech denoiser: either an ffmpeg filter, or a frame denoiser run between two ffmpeg processes."""

    name: str
    packages: tuple[str, ...]

    def ffmpeg_filter(self, reduction_db: float) -> str:
        """Its ffmpeg filter lowering the noise by at most `reduction_db`, or "" when it runs in Python."""
        ...

    def frame_denoiser(self) -> FrameDenoiser | None:
        """A fresh frame denoiser, or None when it is an ffmpeg filter."""
        ...


class RnnoiseFrames:
    """RNNoise (the recurrent network of Valin, 2018) through pyrnnoise's C library and model."""

    def __init__(self) -> None:
        try:
            from pyrnnoise import rnnoise
        except (ImportError, OSError) as exc:
            raise ToolError(
                f"pyrnnoise cannot be loaded ({exc}) — pip install pyrnnoise, or set enhance.denoiser: afftdn"
            ) from exc
        import ctypes

        self._lib = rnnoise.lib
        self._state = rnnoise.create()
        self._pointer = ctypes.POINTER(ctypes.c_float)
        self.frame_size = int(rnnoise.FRAME_SIZE)
        # measured on this build (tests/test_enhance.py): the output lags the input by two frames
        self.delay_samples = 2 * self.frame_size

    def process(self, frame: np.ndarray) -> np.ndarray:
        buffer = np.ascontiguousarray(frame, dtype=np.float32).copy()
        pointer = buffer.ctypes.data_as(self._pointer)
        self._lib.rnnoise_process_frame(self._state, pointer, pointer)
        return buffer

    def __del__(self) -> None:
        state = getattr(self, "_state", None)
        if state is not None:
            self._lib.rnnoise_destroy(state)
            self._state = None


class Rnnoise:
    """RNNoise, its model shipped inside the pyrnnoise wheel (no download at run time)."""

    name = "rnnoise"
    packages: tuple[str, ...] = ("pyrnnoise",)

    def ffmpeg_filter(self, reduction_db: float) -> str:
        return ""

    def frame_denoiser(self) -> FrameDenoiser | None:
        return RnnoiseFrames()


class Afftdn:
    """ffmpeg's FFT denoiser, which tracks the noise floor itself (tn=1)."""

    name = "afftdn"
    packages: tuple[str, ...] = ()

    def ffmpeg_filter(self, reduction_db: float) -> str:
        if reduction_db <= 0:
            return ""
        # afftdn's output comes AFFTDN_DELAY samples late at 48 kHz (measured): trimmed, and the end padded
        reduction = min(97.0, reduction_db)
        return (
            f"afftdn=nr={reduction:.1f}:nf=-50:tn=1,atrim=start_sample={AFFTDN_DELAY},"
            f"asetpts=PTS-STARTPTS,apad=pad_len={AFFTDN_DELAY}"
        )

    def frame_denoiser(self) -> FrameDenoiser | None:
        return None


DENOISERS: Registry[Denoiser] = Registry("enhance.denoiser", [Rnnoise(), Afftdn()])


def make_denoiser(name: str) -> Denoiser:
    """The denoiser registered under `name` (enhance.denoiser); a ConfigError names the known ones."""
    return DENOISERS[name]


# --- dereverberation ------------------------------------------------------------------------


class Dereverberator(Protocol):
    """A step that takes the room's reverberation out, streamed on float32 blocks in int16 scale."""

    name: str
    packages: tuple[str, ...]

    def settings(self, rate: int) -> dict[str, str | float | int] | None:
        """Its settings as the chain records them, or None when it changes nothing."""
        ...

    def stream(self, blocks: Iterator[np.ndarray], rate: int) -> Iterator[np.ndarray]:
        """The blocks dereverberated: as many samples out as in, on the same clock (no delay)."""
        ...


class NoDereverb:
    """No dereverberation (the default): the sound passes untouched."""

    name = "none"
    packages: tuple[str, ...] = ()

    def settings(self, rate: int) -> dict[str, str | float | int] | None:
        return None

    def stream(self, blocks: Iterator[np.ndarray], rate: int) -> Iterator[np.ndarray]:
        return blocks


def wpe_block(samples: np.ndarray, rate: int) -> np.ndarray:
    """One block dereverberated by weighted prediction error (nara_wpe's numpy WPE, one channel): the
    same number of samples, the bins above WPE_MAX_HZ untouched."""
    if samples.size == 0:
        return samples
    try:
        from nara_wpe.utils import istft, stft
        from nara_wpe.wpe import wpe_v8
    except ImportError as exc:
        raise ToolError(
            f"nara_wpe cannot be loaded ({exc}) — pip install nara-wpe, or set enhance.dereverb: none"
        ) from exc
    spectrum = stft(samples.astype(np.float64), size=WPE_FFT_SIZE, shift=WPE_SHIFT)  # frames x bins
    bins = min(spectrum.shape[1], int(WPE_MAX_HZ / rate * WPE_FFT_SIZE) + 1)
    # nara_wpe wants bins x channels x frames, and loops over the bins (memory: one bin's statistics)
    low = np.ascontiguousarray(spectrum[:, :bins].T[:, None, :])
    spectrum[:, :bins] = wpe_v8(low, taps=WPE_TAPS, delay=WPE_DELAY, iterations=WPE_ITERATIONS)[:, 0, :].T
    out = istft(spectrum, size=WPE_FFT_SIZE, shift=WPE_SHIFT)[: samples.size]
    if out.size < samples.size:
        out = np.concatenate([out, np.zeros(samples.size - out.size)])
    return out.astype(np.float32)


class Wpe:
    """Weighted prediction error (Nakatani et al. 2010; Yoshioka and Nakatani 2012) from the nara_wpe
    package: the late reverberation predicted from the past frames of each frequency and subtracted."""

    name = "wpe"
    packages: tuple[str, ...] = ("nara-wpe",)

    def settings(self, rate: int) -> dict[str, str | float | int] | None:
        return {
            "fft_size": WPE_FFT_SIZE,
            "shift": WPE_SHIFT,
            "taps": WPE_TAPS,
            "delay": WPE_DELAY,
            "iterations": WPE_ITERATIONS,
            "max_hz": WPE_MAX_HZ,
            "block_s": WPE_BLOCK_S,
            "rate_hz": rate,
        }

    def stream(self, blocks: Iterator[np.ndarray], rate: int) -> Iterator[np.ndarray]:
        return stream_blocks(blocks, rate, wpe_block)


def stream_blocks(
    blocks: Iterator[np.ndarray],
    rate: int,
    process: Callable[[np.ndarray, int], np.ndarray],
    block_s: float = WPE_BLOCK_S,
    context_s: float = WPE_CONTEXT_S,
    fade_s: float = WPE_FADE_S,
) -> Iterator[np.ndarray]:
    """Run a whole-signal process on overlapping blocks of a stream, in bounded memory.

    Each block of `block_s` is processed with `context_s` before it (thrown away: its past) and `fade_s`
    after it, which is crossfaded with the start of the next block. As many samples come out as went in."""
    hop, context, fade = int(block_s * rate), int(context_s * rate), int(fade_s * rate)
    buffer = np.zeros(0, dtype=np.float32)
    buffer_start = 0  # sample index of buffer[0]
    position = 0  # the next sample to emit
    tail = np.zeros(0, dtype=np.float32)  # the previous block's processed overlap, to crossfade

    def run(end: int) -> np.ndarray:
        nonlocal tail
        start = max(0, position - context)
        done = process(buffer[start - buffer_start : end - buffer_start], rate)[position - start :]
        overlap = min(tail.size, done.size)
        if overlap:
            ramp = np.linspace(0.0, 1.0, overlap, endpoint=False, dtype=np.float32)
            done = done.copy()
            done[:overlap] = tail[:overlap] * (1 - ramp) + done[:overlap] * ramp
        return done

    for block in blocks:
        buffer = np.concatenate([buffer, block.astype(np.float32)])
        while buffer_start + buffer.size >= position + hop + fade:
            done = run(position + hop + fade)
            tail = done[hop:]
            yield done[:hop]
            position += hop
            keep = max(0, position - context) - buffer_start
            buffer, buffer_start = buffer[keep:], buffer_start + keep
    if buffer_start + buffer.size > position:
        yield run(buffer_start + buffer.size)


DEREVERBERATORS: Registry[Dereverberator] = Registry("enhance.dereverb", [NoDereverb(), Wpe()])


# --- the chain ------------------------------------------------------------------------------


def filters_before(preset: Preset, hum: HumReport) -> list[EnhanceFilter]:
    """High-pass and hum notches: what runs before the denoiser."""
    chain = [
        EnhanceFilter(name="highpass", settings={"f": preset.highpass_hz, "poles": preset.highpass_poles})
    ]
    for harmonic in hum.harmonics:
        if harmonic.frequency_hz > preset.highpass_hz / 2:  # far under the high-pass there is nothing left
            chain.append(
                EnhanceFilter(
                    name="bandreject",
                    settings={"f": harmonic.frequency_hz, "width_type": "q", "w": HUM_NOTCH_Q},
                )
            )
    return chain


def filters_after(preset: Preset, speech_db: float) -> list[EnhanceFilter]:
    """De-esser and a gentle compressor (its threshold set from the speech level): what runs after the
    denoiser."""
    # ffmpeg's acompressor refuses a threshold under 2^-10 (-60.2 dB): silence (a speech level of -120 dB)
    # would stop the whole chain
    threshold_db = min(-1.0, max(COMPRESSOR_MIN_THRESHOLD_DB, speech_db + preset.compressor_over_speech_db))
    return [
        EnhanceFilter(name="deesser", settings={"i": preset.deesser_intensity, "m": 0.5, "f": 0.5}),
        EnhanceFilter(
            name="acompressor",
            settings={
                "threshold": f"{threshold_db:.1f}dB",
                "ratio": preset.compressor_ratio,
                "attack": preset.compressor_attack_ms,
                "release": 250,
                "knee": 2,
            },
        ),
    ]


def filter_graph(filters: list[EnhanceFilter]) -> str:
    """The ffmpeg filter chain of a list of filters ("anull" when empty)."""
    if not filters:
        return "anull"
    return ",".join(f"{f.name}=" + ":".join(f"{k}={v}" for k, v in f.settings.items()) for f in filters)


def denoiser_filter(denoiser: Denoiser, reduction_db: float) -> EnhanceFilter:
    """The denoiser's place in the recorded chain, with its settings."""
    reduction: float | str = "unlimited" if math.isinf(reduction_db) else round(reduction_db, 2)
    settings: dict[str, str | float | int] = {"max_reduction_db": reduction}
    graph = denoiser.ffmpeg_filter(reduction_db)
    if reduction_db <= 0:
        settings["left_out"] = (
            f"the noise already lies {TARGET_SNR_DB:g} dB under the speech, or there is no sound"
        )
    elif graph:
        settings["ffmpeg"] = graph
    else:
        settings["rate_hz"] = ENHANCE_RATE
    return EnhanceFilter(name=denoiser.name, settings=settings)


def _decode_args(source: str | Path, stream_index: int, rate: int, graph: str, sample_fmt: str) -> list[str]:
    args = [ffmpeg_binary(), "-nostdin", "-v", "error", "-i", str(source), "-map", f"0:{stream_index}"]
    args += ["-vn", "-ac", "1", "-ar", str(rate), "-af", graph, "-f", sample_fmt, "-"]
    return args


def _blocks(stream: IO[bytes], dtype: str, samples: int) -> Iterator[np.ndarray]:
    """Consecutive blocks of `samples` samples (the last one shorter) read from a pipe."""
    width = np.dtype(dtype).itemsize
    while True:
        raw = stream.read(samples * width)
        if not raw:
            return
        yield np.frombuffer(raw[: len(raw) - len(raw) % width], dtype=dtype)


@dataclass(frozen=True)
class Survey:
    """What the first pass measured: the hum, and how far the noise lies under the speech."""

    hum: HumReport
    speech_db: float  # level of the loud frames (95th percentile of 20 ms frames), dBFS
    floor_db: float  # level of the quiet frames (10th percentile): the noise between words, dBFS

    @property
    def snr_db(self) -> float:
        return self.speech_db - self.floor_db

    def reduction_db(self, preset: Preset) -> float:
        """How far the denoiser may lower the noise: down to TARGET_SNR_DB under the speech, at most the
        preset's maximum, and not at all when the noise is already that low or there is no sound at all."""
        if self.speech_db < SILENT_DB:
            return 0.0
        return float(min(preset.max_reduction_db, max(0.0, TARGET_SNR_DB - self.snr_db)))


def frame_levels(blocks: Iterator[np.ndarray], rate: int) -> np.ndarray:
    """RMS level in dBFS of consecutive LEVEL_FRAME_S frames (digital silence at -120)."""
    frame = max(1, int(rate * LEVEL_FRAME_S))
    levels, pending = [], np.zeros(0, dtype=np.float32)
    for block in blocks:
        pending = np.concatenate([pending, block])
        whole = pending.size - pending.size % frame
        if whole:
            power = np.mean(pending[:whole].astype(np.float64).reshape(-1, frame) ** 2, axis=1)
            levels.append((10 * np.log10(np.maximum(power, 1e-12))).astype(np.float32))
            pending = pending[whole:]
    return np.concatenate(levels) if levels else np.zeros(0, dtype=np.float32)


def survey_levels(levels: np.ndarray) -> tuple[float, float]:
    """The speech level and the noise floor of frame levels (dBFS)."""
    if levels.size == 0:
        return -120.0, -120.0
    return float(np.percentile(levels, 95)), float(np.percentile(levels, 10))


def survey_sound(source: str | Path, stream_index: int) -> Survey:
    """Decode the stream once at HUM_RATE: mains hum in its spectrum, speech level and noise floor."""
    args = _decode_args(source, stream_index, HUM_RATE, "anull", "f32le")
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=errors)
        assert proc.stdout is not None
        stdout = proc.stdout
        levels: list[np.ndarray] = []

        def measured_blocks() -> Iterator[np.ndarray]:
            for block in _blocks(stdout, "<f4", HUM_RATE * 10):  # 10 s: whole level frames
                levels.append(frame_levels(iter([block]), HUM_RATE))
                yield block

        spectrum, windows = hum_spectrum(measured_blocks(), HUM_RATE)
        proc.stdout.close()
        code = proc.wait()
        if code != 0:
            errors.seek(0)
            message = last_line(errors.read().decode("utf-8", "replace"))
            raise InputError(f"{source}: decoding audio failed: {message} — the audio track may be damaged")
    speech_db, floor_db = survey_levels(np.concatenate(levels) if levels else np.zeros(0))
    return Survey(detect_hum(spectrum, windows), round(speech_db, 2), round(floor_db, 2))


@dataclass
class _Tally:
    """What streaming the sound through the denoiser measured: energy removed per preview bin."""

    bin_samples: int
    removed: list[float] = field(default_factory=list)
    level: list[float] = field(default_factory=list)

    def add(self, before: np.ndarray, after: np.ndarray, offset: int) -> None:
        difference = (before.astype(np.float64) - after.astype(np.float64)) ** 2
        power = before.astype(np.float64) ** 2
        first = offset // self.bin_samples
        last = (offset + before.size - 1) // self.bin_samples
        while len(self.removed) <= last:
            self.removed.append(0.0)
            self.level.append(0.0)
        positions = (np.arange(before.size) + offset) // self.bin_samples - first
        self.removed[first : last + 1] = [
            a + b
            for a, b in zip(self.removed[first : last + 1], np.bincount(positions, difference), strict=True)
        ]
        self.level[first : last + 1] = [
            a + b for a, b in zip(self.level[first : last + 1], np.bincount(positions, power), strict=True)
        ]


def _run_denoiser(
    frames: FrameDenoiser, mix: float, source: Iterator[np.ndarray], sink: IO[bytes], tally: _Tally
) -> None:
    """Stream float32 blocks in int16 scale from `source` through the frame denoiser to `sink` (int16),
    its delay taken out.

    `mix` (0-1) of the input is added back to the output: the noise then drops by at most 20*log10(mix) dB,
    a lighter touch that keeps a voice from sounding underwater. Input and output are matched sample by
    sample, so the input waits for the output `delay_samples` behind it.
    """
    size, skip = frames.frame_size, frames.delay_samples
    waiting_in = np.zeros(0, dtype=np.float32)
    waiting_out = np.zeros(0, dtype=np.float32)
    emitted = total = 0

    def push(samples: np.ndarray) -> None:
        nonlocal waiting_out, skip
        produced = np.concatenate(
            [frames.process(samples[i : i + size]) for i in range(0, samples.size, size)]
        )
        dropped = min(skip, produced.size)
        skip -= dropped
        waiting_out = np.concatenate([waiting_out, produced[dropped:]])

    def flush() -> None:
        nonlocal waiting_in, waiting_out, emitted
        count = min(waiting_in.size, waiting_out.size, total - emitted)
        if count <= 0:
            return
        before, after = waiting_in[:count], waiting_out[:count]
        out = after + mix * (before - after) if mix else after
        clipped = np.clip(np.round(out), -32768, 32767).astype("<i2")
        tally.add(before / 32768.0, clipped.astype(np.float32) / 32768.0, emitted)
        sink.write(clipped.tobytes())
        emitted += count
        waiting_in, waiting_out = waiting_in[count:], waiting_out[count:]

    pending = np.zeros(0, dtype=np.float32)
    for block in source:
        pending = np.concatenate([pending, block])
        whole = pending.size - pending.size % size
        if whole:
            waiting_in = np.concatenate([waiting_in, pending[:whole]])
            total += whole
            push(pending[:whole])
            pending = pending[whole:]
            flush()
    # the tail: the last partial frame padded with silence, and silence enough to push the delayed output out
    waiting_in = np.concatenate([waiting_in, pending])
    total += pending.size
    padding = (-pending.size) % size + size * math.ceil(frames.delay_samples / size)
    tail = np.concatenate([pending, np.zeros(padding, dtype=np.float32)])
    if tail.size:
        push(tail)
    flush()


def enhance_audio(
    sound: str | Path,
    media: MediaInfo,
    preset_name: str,
    denoiser_name: str,
    out_path: str | Path,
    speech_wav_path: str | Path,
    preview_html: str | Path | None = None,
    dereverb_name: str = "none",
) -> Enhancement:
    """Write the enhanced sound of the main audio stream (48 kHz mono FLAC at `out_path`, and 16 kHz mono WAV
    for the listening stages at `speech_wav_path`) and return what was done, with every filter's settings.

    `sound` is the source's sound decoded by its time base (audio_48k.wav, ave_core.timebase): the enhanced
    sound keeps that time base sample for sample, so it lines up with audio_16k.wav and with the picture."""
    started = time.perf_counter()
    out, speech = Path(out_path), Path(speech_wav_path)
    stream = media.main_audio()
    preset = PRESETS[preset_name]
    denoiser = make_denoiser(denoiser_name)
    dereverb = DEREVERBERATORS[dereverb_name]
    if stream is None:
        _write_silence(out, speech)
        if preview_html is not None:
            write_preview_page(sound, 0, out, None, Path(preview_html), preset_name, denoiser.name)
        return Enhancement(
            producer=make_producer("enhance", "none"),
            preset=preset_name,
            denoiser=denoiser.name,
            dereverb=dereverb.name,
            skip_reason=f"{media.source.path}: no audio track — nothing to enhance",
            hum=HumReport(mains_hz=None, harmonics=[], threshold_db=HUM_MIN_PROMINENCE_DB),
        )
    survey, chain, tally = enhance_stream(sound, 0, preset_name, denoiser, out, speech, dereverb)
    hum = survey.hum
    preview = choose_preview(tally, media.duration_s)
    if preview_html is not None:
        write_preview_page(sound, 0, out, preview, Path(preview_html), preset_name, denoiser.name)
    ffmpeg = ffmpeg_binary()
    warnings = []
    if hum.mains_hz:
        notched = ", ".join(f"{h.frequency_hz:g}" for h in hum.harmonics)
        warnings.append(f"mains hum at {hum.mains_hz:g} Hz: notched at {notched} Hz")
    return Enhancement(
        producer=make_producer(
            "enhance",
            denoiser.name,
            packages=("numpy", *denoiser.packages, *dereverb.packages),
            extra_versions={"ffmpeg": tool_version(ffmpeg)},
            warnings=warnings,
        ),
        preset=preset_name,
        denoiser=denoiser.name,
        dereverb=dereverb.name,
        rate_hz=ENHANCE_RATE,
        stream_index=stream.index,
        hum=hum,
        speech_level_db=survey.speech_db,
        noise_floor_db=survey.floor_db,
        reduction_db=None
        if math.isinf(survey.reduction_db(preset))
        else round(survey.reduction_db(preset), 2),
        chain=chain,
        ffmpeg_before=filter_graph(filters_before(preset, hum)),
        ffmpeg_after=filter_graph(filters_after(preset, survey.speech_db)),
        preview=preview,
        seconds=round(time.perf_counter() - started, 3),
    )


def enhance_stream(
    source: str | Path,
    stream_index: int,
    preset_name: str,
    denoiser: Denoiser,
    out: Path,
    speech: Path,
    dereverb: Dereverberator | None = None,
) -> tuple[Survey, list[EnhanceFilter], _Tally]:
    """Survey the sound (hum, noise floor), then write the enhanced sound of one stream (48 kHz FLAC `out`,
    16 kHz WAV `speech`); returns the survey, the chain with its settings, and what changed where.
    `dereverb` (none: off) runs after the high-pass and notches, before the denoiser."""
    dereverb = dereverb or NoDereverb()
    preset = PRESETS[preset_name]
    survey = survey_sound(source, stream_index)
    reduction = survey.reduction_db(preset)
    before, after = filters_before(preset, survey.hum), filters_after(preset, survey.speech_db)
    # no noise to lower: the denoiser is left out rather than run at no strength
    frames = denoiser.frame_denoiser() if reduction > 0 else None
    tally = _Tally(bin_samples=int(PREVIEW_BIN_S * ENHANCE_RATE))
    with publishing(out, speech) as (out_partial, speech_partial):
        _stream_chain(
            source,
            stream_index,
            reduction,
            denoiser,
            frames,
            before,
            after,
            tally,
            out_partial,
            speech_partial,
            dereverb,
        )
    settings = dereverb.settings(ENHANCE_RATE)
    dereverb_filters = [] if settings is None else [EnhanceFilter(name=dereverb.name, settings=settings)]
    return survey, [*before, *dereverb_filters, denoiser_filter(denoiser, reduction), *after], tally


def _stream_chain(
    source: str | Path,
    stream_index: int,
    reduction_db: float,
    denoiser: Denoiser,
    frames: FrameDenoiser | None,
    before: list[EnhanceFilter],
    after: list[EnhanceFilter],
    tally: _Tally,
    out: Path,
    speech: Path,
    dereverb: Dereverberator,
) -> None:
    """ffmpeg (decode, filters before) -> dereverberation -> denoiser -> ffmpeg (filters after, the two
    files); an ffmpeg denoiser runs in the first ffmpeg, before the dereverberation."""
    ffmpeg = ffmpeg_binary()
    graph_before = filter_graph(before)
    in_ffmpeg = denoiser.ffmpeg_filter(reduction_db)
    if frames is None and in_ffmpeg:  # the denoiser is an ffmpeg filter: all of it in the first process
        graph_before += "," + in_ffmpeg
    encode = [ffmpeg, "-nostdin", "-v", "error", "-y", "-f", "s16le", "-ar", str(ENHANCE_RATE), "-ac", "1"]
    encode += ["-i", "-", "-filter_complex", f"[0:a]{filter_graph(after)},asplit=2[full][low]"]
    encode += ["-map", "[full]", "-c:a", "flac", "-f", "flac", str(out)]
    encode += ["-map", "[low]", "-ar", str(ANALYSIS_RATE), "-c:a", "pcm_s16le", "-f", "wav", str(speech)]
    decode = _decode_args(source, stream_index, ENHANCE_RATE, graph_before, "s16le")
    with tempfile.TemporaryFile() as decode_errors, tempfile.TemporaryFile() as encode_errors:
        reader = subprocess.Popen(decode, stdout=subprocess.PIPE, stderr=decode_errors)
        writer = subprocess.Popen(encode, stdin=subprocess.PIPE, stderr=encode_errors)
        assert reader.stdout is not None and writer.stdin is not None
        decoded = (block.astype(np.float32) for block in _blocks(reader.stdout, "<i2", ENHANCE_RATE))
        blocks = dereverb.stream(decoded, ENHANCE_RATE)
        try:
            if frames is None:
                offset = 0
                for block in blocks:
                    level = block / 32768.0
                    tally.add(level, level, offset)  # nothing to compare with: the preview goes by level
                    offset += block.size
                    writer.stdin.write(np.clip(np.round(block), -32768, 32767).astype("<i2").tobytes())
            else:
                mix = 0.0 if math.isinf(reduction_db) else 10 ** (-reduction_db / 20)
                _run_denoiser(frames, mix, blocks, writer.stdin, tally)
            writer.stdin.close()
        except BrokenPipeError:
            pass  # the encoder stopped: its own error says why, below
        finally:
            reader.stdout.close()
            read_code, write_code = reader.wait(), writer.wait()
        # the encoder first: when it stops, the decoder fails with a broken pipe that explains nothing
        for code, errors, what in (
            (write_code, encode_errors, "writing"),
            (read_code, decode_errors, "decoding"),
        ):
            errors.seek(0)
            text = errors.read().decode("utf-8", "replace")
            problem = write_problem(text)
            if problem:
                raise OutputError(f"{out}: {problem}")
            if code != 0:
                message = f"{source}: {what} the enhanced audio failed: {last_line(text)}"
                if what == "decoding":
                    raise InputError(f"{message} — the audio track may be damaged; re-export the file")
                raise ToolError(message)


def _write_silence(out: Path, speech: Path) -> None:
    """Empty files of the right kinds for a source without sound."""
    ffmpeg = ffmpeg_binary()
    with publishing(out) as (partial,):
        args = [
            ffmpeg,
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"anullsrc=r={ENHANCE_RATE}:cl=mono",
        ]
        args += ["-t", "0", "-c:a", "flac", "-f", "flac", str(partial)]
        run_tool(args, what=f"{out}: writing an empty sound", writes=out)
    with publishing(speech) as (partial,):
        write_empty_wav(partial, ANALYSIS_RATE, 1)


def choose_preview(tally: _Tally, duration_s: float) -> EnhancePreview | None:
    """The PREVIEW_S seconds where the enhancement changed the sound most, relative to its level: where
    the creator hears the difference."""
    if not tally.removed:
        return None
    removed, level = np.asarray(tally.removed), np.asarray(tally.level)
    width = max(1, int(round(PREVIEW_S / PREVIEW_BIN_S)))
    if removed.size <= width:
        return EnhancePreview(start_s=0.0, end_s=round(min(duration_s, removed.size * PREVIEW_BIN_S), 3))
    # energy removed over 5 s windows, where there is sound at all (a fully silent stretch shows nothing)
    kernel = np.ones(width)
    removed_sum = np.convolve(removed, kernel, mode="valid")
    level_sum = np.convolve(level, kernel, mode="valid")
    score = np.where(level_sum > 0, removed_sum, -1.0)
    start = int(np.argmax(score)) * PREVIEW_BIN_S
    return EnhancePreview(start_s=round(start, 3), end_s=round(min(duration_s, start + PREVIEW_S), 3))


def write_preview_page(
    source: str | Path,
    stream_index: int,
    enhanced: Path,
    preview: EnhancePreview | None,
    page: Path,
    preset_name: str,
    denoiser_name: str,
) -> None:
    """A self-contained HTML page with the same seconds before and after the enhancement, to listen to."""
    if preview is None:
        body = "<p>No sound to compare: the recording has no audio track.</p>"
    else:
        start, length = preview.start_s, preview.end_s - preview.start_s
        clips = [
            ("before (the recording)", _clip_base64(source, stream_index, start, length)),
            (f"after ({preset_name}, {denoiser_name})", _clip_base64(enhanced, 0, start, length)),
        ]
        body = f"<p>{start:.1f}&ndash;{preview.end_s:.1f} s of the source.</p>" + "".join(
            f'<h2>{label}</h2><audio controls preload="auto" src="data:audio/mp4;base64,{data}"></audio>'
            for label, data in clips
        )
    html = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Studio sound: before and after</title>"
        "<style>body{font-family:sans-serif;margin:2em}audio{width:32em}</style></head><body>"
        f"<h1>Studio sound: before and after</h1>{body}</body></html>\n"
    )
    with atomic_writer(page) as handle:
        handle.write(html)


def _clip_base64(path: str | Path, stream_index: int, start_s: float, length_s: float) -> str:
    """`length_s` seconds of one audio stream from `start_s`, as AAC in MP4, base64."""
    with tempfile.TemporaryDirectory() as folder:
        clip = Path(folder) / "clip.m4a"
        args = [
            ffmpeg_binary(),
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-ss",
            f"{start_s:.3f}",
            "-t",
            f"{length_s:.3f}",
        ]
        args += [
            "-i",
            str(path),
            "-map",
            f"0:{stream_index}",
            "-vn",
            "-ac",
            "1",
            "-c:a",
            "aac",
            "-b:a",
            "96k",
        ]
        proc = subprocess.run([*args, str(clip)], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise ToolError(f"{path}: cutting the preview failed: {last_line(proc.stderr)}")
        return base64.b64encode(clip.read_bytes()).decode("ascii")
