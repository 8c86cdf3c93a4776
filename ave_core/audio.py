"""The audio stage: EBU R128 loudness, Silero VAD speech/silence, envelope and peaks, from the WAVs that the
one decode of the source wrote (ave_core.timebase)."""

from __future__ import annotations

import math
import re
import wave
from pathlib import Path
from typing import Literal

import numpy as np

from .config import AudioConfig, VadConfig
from .errors import InputError, ToolError
from .models import (
    AudioAnalysis,
    AudioPeak,
    Envelope,
    Loudness,
    MediaInfo,
    Span,
    complement,
    make_producer,
)
from .tools import ffmpeg_binary, run_tool, tool_version

SILENT_LUFS = -70.0  # the absolute gate of EBU R128: nothing measurable below it
ENVELOPE_FLOOR_DB = -100.0
ENVELOPE_BLOCK_WINDOWS = 4096  # envelope windows computed at once
LISTENING_WINDOW_S = 600.0  # the VAD and the recogniser hear at most this much at once (memory)
SPLIT_SEARCH_S = 60.0  # a window ends at the quietest moment of its last minute
QUIET_S = 0.3  # ... measured over this long


# EBU R128 as heard: a mono sound plays on both speakers, so it is measured as dual mono (3 dB above one
# channel alone); sounds of two or more channels are measured as they are
LOUDNESS_FILTER = "ebur128=peak=true:dualmono=true:framelog=verbose"


def measure_loudness(source: str | Path, stream_index: int) -> tuple[Loudness, str]:
    """EBU R128 integrated loudness, loudness range and true peak of one audio stream (ffmpeg ebur128)."""
    ffmpeg = ffmpeg_binary()
    args = [ffmpeg, "-nostdin", "-hide_banner", "-nostats", "-i", str(source)]
    args += ["-map", f"0:{stream_index}", "-vn", "-af", LOUDNESS_FILTER]
    args += ["-f", "null", "-"]
    proc = run_tool(args, what=f"{source}: measuring loudness")
    return ebur128_loudness(proc.stderr, source), tool_version(ffmpeg)


def ebur128_loudness(stderr: str, source: str | Path) -> Loudness:
    """The loudness in the summary ffmpeg's ebur128 filter prints: silence (below EBU R128's absolute gate)
    has no integrated loudness, and a peak of -inf (digital silence) is none either."""
    summary = stderr[stderr.rfind("Summary:") :]
    values: dict[str, float] = {}
    for label in ("I", "LRA", "Peak"):
        match = re.search(rf"^\s*{label}:\s+(-?inf|-?[\d.]+)", summary, re.MULTILINE)
        if match:
            values[label] = float(match.group(1))
    if "I" not in values or "LRA" not in values:
        raise ToolError(f"{source}: ffmpeg printed no loudness summary — check the ffmpeg install")
    peak = values.get("Peak")
    return Loudness(
        integrated_lufs=values["I"] if values["I"] > SILENT_LUFS else None,
        range_lu=values["LRA"],
        true_peak_dbtp=peak if peak is not None and math.isfinite(peak) else None,
    )


READ_BLOCK_FRAMES = 1 << 20  # samples read from a WAV at a time


def read_pcm16(wav_path: str | Path) -> tuple[np.ndarray, int]:
    """Samples as float32 in [-1, 1] and the sample rate of a mono 16-bit WAV."""
    with wave.open(str(wav_path), "rb") as handle:
        if handle.getsampwidth() != 2 or handle.getnchannels() != 1:
            raise InputError(f"{wav_path}: expected 16-bit mono WAV — delete it and rerun")
        rate = handle.getframerate()
        count = handle.getnframes()
        # read block by block into the result: the whole file as bytes, then as float32 twice (the cast and
        # the scaling), held 3.45 GB at the peak for a 6-hour recording instead of the result's 1.38 GB
        samples = np.empty(count, np.float32)
        done = 0
        while done < count:
            block = np.frombuffer(handle.readframes(min(READ_BLOCK_FRAMES, count - done)), dtype="<i2")
            if block.size == 0:  # a header that promises more than the file holds
                samples = samples[:done]
                break
            np.multiply(block, 1 / 32768.0, out=samples[done : done + block.size], casting="unsafe")
            done += block.size
    return samples, rate


def open_pcm16(wav_path: str | Path) -> tuple[np.ndarray, int]:
    """The samples of a mono 16-bit WAV as int16, mapped from the file rather than read: a stage that goes
    through them a window at a time holds a window, not the recording (1.38 GB as float32 at 6 hours).
    as_float32 turns a slice into what read_pcm16 gives."""
    with wave.open(str(wav_path), "rb") as handle:
        if handle.getsampwidth() != 2 or handle.getnchannels() != 1:
            raise InputError(f"{wav_path}: expected 16-bit mono WAV — delete it and rerun")
        rate, count = handle.getframerate(), handle.getnframes()
    offset = _wav_data_offset(Path(wav_path))
    available = max(0, (Path(wav_path).stat().st_size - offset) // 2)
    count = min(count, available)  # a header that promises more than the file holds
    if count == 0:
        return np.zeros(0, np.int16), rate
    return np.memmap(wav_path, dtype="<i2", mode="r", offset=offset, shape=(count,)), rate


def _wav_data_offset(path: Path) -> int:
    """Where the sample data of a RIFF WAVE file starts (after its fmt, LIST and other chunks)."""
    with path.open("rb") as handle:
        handle.seek(12)
        while header := handle.read(8):
            if len(header) < 8:
                break
            size = int.from_bytes(header[4:], "little")
            if header[:4] == b"data":
                return handle.tell()
            handle.seek(size + size % 2, 1)
    raise InputError(f"{path}: no data chunk in the WAV — delete it and rerun")


def as_float32(block: np.ndarray) -> np.ndarray:
    """Samples as float32 in [-1, 1]: int16 ones scaled as read_pcm16 does, float ones as they are."""
    if block.dtype == np.int16:
        return block.astype(np.float32) * np.float32(1 / 32768.0)
    return block.astype(np.float32, copy=False)


def quiet_window_bounds(samples: np.ndarray, rate: int, window_s: float = LISTENING_WINDOW_S) -> list[int]:
    """Sample indices where windows of at most `window_s` start, and the end: each window cut at the
    quietest QUIET_S of the SPLIT_SEARCH_S before its limit (a pause, not a word)."""
    bounds, size, quiet = [0], int(window_s * rate), max(1, int(QUIET_S * rate))
    while samples.size - bounds[-1] > size:
        limit = bounds[-1] + size
        window = samples[max(bounds[-1] + 1, limit - int(SPLIT_SEARCH_S * rate)) : limit]
        search = as_float32(window).astype(np.float64)
        running = np.concatenate([[0.0], np.cumsum(search**2)])
        energy = running[quiet:] - running[:-quiet] if search.size > quiet else running[1:]
        bounds.append(limit - search.size + int(np.argmin(energy)) + min(quiet, search.size) // 2)
    return [*bounds, samples.size]


def detect_speech(
    samples: np.ndarray, rate: int, settings: VadConfig, window_s: float = LISTENING_WINDOW_S
) -> list[Span]:
    """Speech segments found by Silero VAD (the model inside the faster-whisper package), a window of at
    most `window_s` at a time (it copies all it is given several times over: gigabytes for hours)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    if samples.size == 0:
        return []
    options = VadOptions(
        threshold=settings.threshold,
        min_speech_duration_ms=settings.min_speech_ms,
        min_silence_duration_ms=settings.min_silence_ms,
        speech_pad_ms=settings.speech_pad_ms,
    )
    duration = samples.size / rate
    spans: list[Span] = []
    bounds = quiet_window_bounds(samples, rate, window_s)
    for first, last in zip(bounds[:-1], bounds[1:], strict=True):
        for chunk in get_speech_timestamps(as_float32(samples[first:last]), options, sampling_rate=rate):
            start, end = (first + chunk["start"]) / rate, min((first + chunk["end"]) / rate, duration)
            spans.append(Span(start=round(start, 3), end=round(end, 3)))
    return spans


def silences_between(speech: list[Span], duration: float) -> list[Span]:
    """The gaps of [0, duration] that are not speech."""
    return complement(speech, duration)


def energy_envelope(samples: np.ndarray, rate: int, envelope_hz: float) -> Envelope:
    """RMS level in dBFS of consecutive windows of 1/envelope_hz seconds."""
    window = max(1, int(round(rate / envelope_hz)))
    count = int(np.ceil(samples.size / window))
    mean_square = np.zeros(count, dtype=np.float64)
    # a block of windows at a time: hours of audio in float64 at once would take gigabytes
    step = ENVELOPE_BLOCK_WINDOWS
    for first in range(0, count, step):
        block = as_float32(samples[first * window : (first + step) * window]).astype(np.float64)
        windows = min(step, count - first)
        padded = np.zeros(windows * window, dtype=np.float64)
        padded[: block.size] = block
        mean_square[first : first + windows] = np.mean(padded.reshape(windows, window) ** 2, axis=1)
    rms = np.sqrt(mean_square)
    with np.errstate(divide="ignore"):
        levels = np.maximum(20.0 * np.log10(rms), ENVELOPE_FLOOR_DB)
    return Envelope(rate_hz=rate / window, rms_db=[round(float(v), 2) for v in levels])


def find_peaks(envelope: Envelope, settings: AudioConfig) -> list[AudioPeak]:
    """Moments where the level rises at least `peak_prominence_db` above its surroundings."""
    from scipy.signal import find_peaks as scipy_find_peaks

    levels = np.asarray(envelope.rms_db)
    if levels.size < 3:
        return []
    distance = max(1, int(round(settings.peak_min_distance_s * envelope.rate_hz)))
    indices, props = scipy_find_peaks(levels, prominence=settings.peak_prominence_db, distance=distance)
    return [
        AudioPeak(
            time=round((i + 0.5) / envelope.rate_hz, 3),
            level_db=float(levels[i]),
            prominence_db=round(float(p), 2),
        )
        for i, p in zip(indices, props["prominences"], strict=False)
    ]


def analyze_audio(
    full_wav: str | Path,
    wav_path: str | Path,
    media: MediaInfo,
    vad: VadConfig,
    energy: AudioConfig,
    analysed_audio: Literal["original", "enhanced"] = "original",
) -> AudioAnalysis:
    """audio.json for one video: loudness of the source's sound, VAD speech/silence, envelope and peaks.

    Both WAVs are on the source's time base (ave_core.timebase): the full-band one for loudness, the 16 kHz
    one for everything else. `analysed_audio` says which sound they hold (the source's, or the enhanced one),
    for the record.
    """
    stream = media.main_audio()
    if stream is None:
        return AudioAnalysis(
            producer=make_producer("audio", "none"),
            has_audio=False,
            skip_reason=f"{media.source.path}: no audio track — speech stages are skipped",
            duration_s=media.duration_s,
        )
    loudness, ffmpeg_version = measure_loudness(full_wav, 0)
    samples, rate = open_pcm16(wav_path)
    duration = samples.size / rate
    # a sound that starts late or ends early is silence there, in every stage: say so here too
    warnings = list(media.time_base.warnings) if media.time_base else []
    if loudness.integrated_lufs is None and samples.size:
        # nothing above the EBU R128 gate: no speech to find, and hours of silence need no VAD pass
        speech: list[Span] = []
        warnings.append(f"the audio is silent (below {SILENT_LUFS:.0f} LUFS throughout): no speech in it")
    else:
        speech = detect_speech(samples, rate, vad)
    envelope = energy_envelope(samples, rate, energy.envelope_hz)
    return AudioAnalysis(
        producer=make_producer(
            "audio",
            "silero-vad+ebur128",
            packages=("faster-whisper", "onnxruntime", "numpy", "scipy"),
            extra_versions={"ffmpeg": ffmpeg_version},
            warnings=warnings,
        ),
        has_audio=True,
        stream_index=stream.index,
        sample_rate=rate,
        duration_s=round(duration, 3),
        loudness=loudness,
        speech=speech,
        silences=silences_between(speech, duration),
        speech_ratio=round(sum(s.duration_s for s in speech) / duration, 4) if duration else 0.0,
        envelope=envelope,
        peaks=find_peaks(envelope, energy),
        analysed_audio=analysed_audio,
    )
