"""Studio sound (ave_core.enhance) on generated speech: hum found and notched only when there, a clean
recording passes nearly unchanged, a noisy one comes out cleaner, the sound keeps its time, and with
enhance off the render's ffmpeg commands are those of the render before the enhance stage existed."""

from __future__ import annotations

import json
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
GOLDEN = Path(__file__).parent / "data" / "render_without_enhance.json"


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


# --- enhance off: the render as before ------------------------------------------------------


def render_commands(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, enhanced: Path | None
) -> list[list[str]]:
    """The ffmpeg command lines of the loudness pass and of one chunk for a fixed edit, captured, not run."""
    from ave_core import publish, render
    from ave_core.models import AudioStream, MediaInfo, SourceFile, VideoStream

    commands: list[list[str]] = []

    class Done:
        stderr = "Summary:\n  I: -20.0 LUFS\n  Threshold: -30.0 LUFS\n  LRA: 5.0 LU\n  Peak: -3.0 dBFS\n"

    def capture(args, **kwargs):  # noqa: ANN001, ANN003, ANN202
        commands.append([str(a) for a in args])
        return Done()

    monkeypatch.setattr(render, "run_tool", capture)
    monkeypatch.setattr(render, "ffmpeg_binary", lambda: "ffmpeg")
    monkeypatch.setattr(publish.os, "replace", lambda a, b: None)  # nothing was written: nothing to publish
    media = MediaInfo(
        producer=make_producer("probe", "test"),
        source=SourceFile(path="input/talk.mp4", original_name="talk.mp4", slug="talk", size_bytes=1),
        container="mov,mp4",
        duration_s=20.0,
        video=VideoStream(
            index=0, codec="h264", width=640, height=360, display_width=640, display_height=360, rotation=0,
            fps=25.0, nominal_fps=25.0, variable_frame_rate=False, frame_interval_spread=0.0,
        ),
        audio_streams=[AudioStream(index=1, codec="aac", channels=2, sample_rate=48000, is_default=True)],
    )  # fmt: skip
    plan = Plan(
        producer=make_producer("direct", "test"),
        backend="rules",
        keep=[Span(start=0.0, end=4.0), Span(start=5.2, end=12.0), Span(start=13.0, end=20.0)],
        cuts=[],
    )
    config = RenderConfig()
    source = Path("input/talk.mp4")
    measured = render.measure_edit_loudness(source, media, plan, config, enhanced=enhanced)
    job = render.chunk_jobs(plan, media, config, None, tmp_path)[0]
    render.render_chunk(
        source, media, job, measured, config, Path("results/talk/render/chunk-0.mp4"),
        Path("results/talk/render/chunk-0.wav"), threads=2, enhanced=enhanced,
    )  # fmt: skip
    return commands


def test_enhance_off_renders_with_the_commands_of_the_render_before_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """enhance.preset off gives the render no enhanced sound; its ffmpeg commands must then be, argument for
    argument, those main's render ran before the enhance stage existed (recorded from 69f792d in
    tests/data/render_without_enhance.json, its partial files since renamed by publish.partial_path): the same
    commands on the same files give the same bytes."""
    commands = render_commands(monkeypatch, tmp_path, None)
    assert commands == json.loads(GOLDEN.read_text())


def test_with_enhance_the_render_plays_the_enhanced_sound(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    enhanced = Path("results/talk/enhanced.flac")
    loudness, chunk = render_commands(monkeypatch, tmp_path, enhanced)
    for command in (loudness, chunk):
        assert command[command.index("-i", command.index("-i") + 1) + 1] == str(enhanced)
        graph = command[command.index("-filter_complex") + 1]
        assert "[1:a:0]atrim" in graph and "[0:1]" not in graph  # the source's sound is not read


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
