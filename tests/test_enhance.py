"""Studio sound (ave_core.enhance) on generated speech: hum found and notched only when there, a clean
recording passes nearly unchanged, a noisy one comes out cleaner, the sound keeps its time, and the
render plays the sound it is given (the source's on its time base, or the enhanced one) sample for sample."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from ave_core.config import RenderConfig
from ave_core.enhance import (
    ENHANCE_RATE,
    HUM_MIN_PROMINENCE_DB,
    detect_hum,
    enhance_audio,
    hum_spectrum,
    make_denoiser,
)
from ave_core.errors import ConfigError
from ave_core.media import probe
from ave_core.models import Enhancement, Plan, Span, make_producer
from ave_core.synth import SAMPLE_RATE, build_speech
from tests.conftest import SHORT_SCRIPT

RATE_16K = 16000


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as handle:
        return np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2").astype(np.float32) / 32768


def resample(samples: np.ndarray, source_rate: int, rate: int) -> np.ndarray:
    from scipy.signal import resample_poly

    divisor = np.gcd(source_rate, rate)
    return resample_poly(samples, rate // divisor, source_rate // divisor).astype(np.float32)


@pytest.fixture(scope="session")
def clean_speech() -> np.ndarray:
    """About 14 s of espeak-ng speech with pauses, at 48 kHz: long enough to tell a hum from chance."""
    samples, _, _ = build_speech(SHORT_SCRIPT, lead_in=0.5)
    return resample(samples, SAMPLE_RATE, ENHANCE_RATE) * 0.7


def mains(count: int, frequency_hz: float) -> np.ndarray:
    t = np.arange(count) / ENHANCE_RATE
    wave_ = sum(
        a * np.sin(2 * np.pi * frequency_hz * k * t) for k, a in ((1, 1.0), (2, 0.5), (3, 0.6), (5, 0.3))
    )
    return (wave_ / np.std(wave_)).astype(np.float32)


def pink(count: int, seed: int = 7) -> np.ndarray:
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(count))
    spectrum[1:] /= np.sqrt(np.arange(1, spectrum.size))
    spectrum[0] = 0
    noise = np.fft.irfft(spectrum, count)
    return (noise / noise.std()).astype(np.float32)


def level(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples**2)))


def run_enhance(tmp_path: Path, samples: np.ndarray, name: str, preset: str = "moderate") -> tuple:
    source = write_wav(tmp_path / f"{name}.wav", samples, ENHANCE_RATE)
    media = probe(source, slug=name)
    out, speech = tmp_path / f"{name}.flac", tmp_path / f"{name}_16k.wav"
    record = enhance_audio(source, media, preset, "rnnoise", out, speech, tmp_path / f"{name}.html")
    return record, read_wav(speech)


def sample_count(path: Path) -> int:
    proc = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=duration_ts", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return int(proc.stdout.strip())


def tone_level_db(samples: np.ndarray, rate: int, frequency_hz: float) -> float:
    """Level of one frequency (a 0.5 Hz wide bin of the whole signal's spectrum), dB."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    freqs = np.fft.rfftfreq(samples.size, 1 / rate)
    near = np.abs(freqs - frequency_hz) < 0.5
    return float(20 * np.log10(spectrum[near].max() + 1e-12))


@pytest.mark.parametrize("mains_hz", [50.0, 60.0])
def test_hum_is_found_at_its_mains_frequency_and_notched(
    tmp_path: Path, clean_speech: np.ndarray, mains_hz: float
) -> None:
    hum = 0.1 * level(clean_speech) * mains(clean_speech.size, mains_hz)  # 20 dB under the speech
    record, enhanced = run_enhance(tmp_path, clean_speech + hum, f"hum{mains_hz:.0f}")
    assert record.hum.mains_hz == mains_hz
    notched = [f.settings["f"] for f in record.chain if f.name == "bandreject"]
    assert mains_hz * 2 in notched and mains_hz * 3 in notched
    noisy16 = resample(clean_speech + hum, ENHANCE_RATE, RATE_16K)
    for harmonic in (2, 3):  # above the high-pass, only the notches can take them out
        before = tone_level_db(noisy16, RATE_16K, mains_hz * harmonic)
        after = tone_level_db(enhanced, RATE_16K, mains_hz * harmonic)
        assert after < before - 20, (harmonic, before, after)


def test_no_notch_without_hum(tmp_path: Path, clean_speech: np.ndarray) -> None:
    noisy = clean_speech + 0.05 * level(clean_speech) * pink(clean_speech.size)
    record, _ = run_enhance(tmp_path, noisy, "nohum")
    assert record.hum.mains_hz is None and record.hum.harmonics == []
    assert not [f for f in record.chain if f.name == "bandreject"]


def test_a_tone_in_the_content_is_not_taken_for_hum() -> None:
    """One steady tone at 100 Hz (a note, a fridge) is a single harmonic: mains hum shows two or more."""
    rate = 8000
    t = np.arange(30 * rate) / rate
    tone = np.sin(2 * np.pi * 100 * t) + 0.1 * np.random.default_rng(1).standard_normal(t.size)
    spectrum, windows = hum_spectrum(iter([tone.astype(np.float32)]), rate)
    assert detect_hum(spectrum, windows).mains_hz is None


def test_a_short_clip_is_too_short_to_tell(tmp_path: Path) -> None:
    rate = 8000
    t = np.arange(3 * rate) / rate
    hum = sum(np.sin(2 * np.pi * 50 * k * t) for k in (1, 2, 3))
    spectrum, windows = hum_spectrum(iter([hum.astype(np.float32)]), rate)
    report = detect_hum(spectrum, windows)
    assert report.mains_hz is None and "too short" in (report.note or "")
    assert report.threshold_db == HUM_MIN_PROMINENCE_DB


def pesq_16k(reference: np.ndarray, degraded: np.ndarray) -> float:
    from pesq import pesq

    count = min(reference.size, degraded.size)
    return float(
        pesq(RATE_16K, reference[:count].astype(np.float64), degraded[:count].astype(np.float64), "wb")
    )


def test_a_clean_recording_passes_nearly_unchanged(tmp_path: Path, clean_speech: np.ndarray) -> None:
    record, enhanced = run_enhance(tmp_path, clean_speech, "clean")
    reference = resample(clean_speech, ENHANCE_RATE, RATE_16K)
    assert abs(enhanced.size - reference.size) <= 1  # the sound keeps its length (resamplers round apart)
    assert sample_count(tmp_path / "clean.flac") == clean_speech.size  # and at 48 kHz, sample for sample
    assert pesq_16k(reference, reference) - pesq_16k(reference, enhanced) <= 0.1
    assert record.reduction_db == 0.0, "no noise to lower: the denoiser must not touch a clean recording"


def test_noisy_speech_comes_out_cleaner_and_on_time(tmp_path: Path, clean_speech: np.ndarray) -> None:
    noisy = clean_speech + 10 ** (-10 / 20) * level(clean_speech) * pink(clean_speech.size)  # 10 dB SNR
    record, enhanced = run_enhance(tmp_path, noisy, "noisy")
    reference = resample(clean_speech, ENHANCE_RATE, RATE_16K)
    noisy16 = resample(noisy, ENHANCE_RATE, RATE_16K)
    assert record.reduction_db and record.reduction_db > 10
    assert pesq_16k(reference, enhanced) > pesq_16k(reference, noisy16) + 0.3
    # RNNoise's own delay is taken out: the enhanced speech lines up with the clean speech
    window = reference[RATE_16K : 5 * RATE_16K]
    search = enhanced[RATE_16K - 200 : 5 * RATE_16K + 200]
    lag = int(np.argmax(np.correlate(search, window, mode="valid"))) - 200
    assert abs(lag) <= 1
    page = (tmp_path / "noisy.html").read_text()
    assert page.count("<audio") == 2 and "data:audio/mp4;base64," in page
    assert record.preview and record.preview.end_s - record.preview.start_s == pytest.approx(5.0)


def test_the_record_names_every_filter_with_its_settings(tmp_path: Path, clean_speech: np.ndarray) -> None:
    noisy = clean_speech + 0.03 * level(clean_speech) * pink(clean_speech.size)
    record, _ = run_enhance(tmp_path, noisy, "record", preset="strong")
    names = [f.name for f in record.chain]
    assert names[0] == "highpass" and names[-2:] == ["deesser", "acompressor"] and "rnnoise" in names
    assert all(f.settings for f in record.chain)
    assert Enhancement.model_validate_json(record.model_dump_json()) == record


# --- which sound the render plays -------------------------------------------------------------


def decoded(path: Path) -> np.ndarray:
    proc = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "f32le", "-"],
        capture_output=True, check=True,
    )  # fmt: skip
    return np.frombuffer(proc.stdout, dtype="<f4")


def test_the_render_plays_the_sound_it_is_given_sample_for_sample(
    tmp_path: Path, clean_speech: np.ndarray
) -> None:
    """render_audio reads only the sound it is given, on the source's time base. With enhance off the workflow
    gives it audio_48k.wav (tests/workflow/test_podcast.py checks the dry run), so its output is that of a
    render without the enhance stage; with enhance on it gives it enhanced.flac, which must be read sample
    for sample: the same sound as FLAC and as WAV renders identically, and another sound differently.
    (This replaces the golden ffmpeg commands of the render before the enhance stage: the render's sound is
    no longer an ffmpeg graph over the source.)"""
    from ave_core.render import render_audio

    wav = write_wav(tmp_path / "audio_48k.wav", clean_speech, ENHANCE_RATE)
    flac = tmp_path / "enhanced.flac"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(wav), "-c:a", "flac", str(flac)], check=True
    )
    media = probe(wav, slug="talk")
    plan = Plan(
        producer=make_producer("direct", "test"),
        backend="rules",
        keep=[Span(start=0.0, end=4.0), Span(start=5.2, end=9.0), Span(start=10.0, end=13.0)],
        cuts=[],
    )
    config = RenderConfig()
    from_wav = render_audio(wav, media, plan, config, tmp_path / "wav.m4a")
    from_flac = render_audio(flac, media, plan, config, tmp_path / "flac.m4a")
    assert from_wav.loudness == from_flac.loudness
    heard = decoded(tmp_path / "wav.m4a")
    # 10.8 s kept, mono as the sound it was given (one sample per instant)
    assert heard.size > ENHANCE_RATE * 10.5 and np.array_equal(heard, decoded(tmp_path / "flac.m4a"))
    noisy = clean_speech + 0.3 * level(clean_speech) * pink(clean_speech.size)
    other = write_wav(tmp_path / "other.wav", noisy, ENHANCE_RATE)
    render_audio(other, media, plan, config, tmp_path / "other.m4a")
    assert not np.array_equal(heard, decoded(tmp_path / "other.m4a"))
    assert not list(tmp_path.glob(".*")), "the FLAC's decode and every partial file are gone"


def test_a_video_without_sound_gets_every_output_and_says_why(tmp_path: Path, silent_video: Path) -> None:
    media = probe(silent_video, slug="silent")
    out, speech, page = tmp_path / "e.flac", tmp_path / "e.wav", tmp_path / "e.html"
    record = enhance_audio(silent_video, media, "moderate", "rnnoise", out, speech, page)
    assert "no audio track" in (record.skip_reason or "")
    assert out.is_file() and read_wav(speech).size == 0 and "No sound" in page.read_text()


def test_the_denoiser_is_chosen_by_name_from_one_registry() -> None:
    assert [make_denoiser(name).name for name in ("rnnoise", "afftdn")] == ["rnnoise", "afftdn"]
    with pytest.raises(
        ConfigError, match=r"enhance.denoiser: unknown value 'deepfilter' — use one of rnnoise, afftdn"
    ):
        make_denoiser("deepfilter")


def test_digital_silence_is_enhanced_without_error(tmp_path: Path) -> None:
    """A track of exact zeros (a 3-hour silent recording in the hostile batch): its speech level is the floor,
    and the compressor's threshold stays within what ffmpeg's acompressor takes (it refused -120 dB)."""
    record, enhanced = run_enhance(tmp_path, np.zeros(3 * ENHANCE_RATE, dtype=np.float32), "silence")
    compressor = next(f for f in record.chain if f.name == "acompressor")
    assert compressor.settings["threshold"] == "-60.0dB"
    assert enhanced.size == 3 * RATE_16K and not enhanced.any()
