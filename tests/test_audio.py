import wave
from pathlib import Path

import numpy as np
import pytest

from ave_core.audio import (
    analyze_audio,
    detect_speech,
    energy_envelope,
    find_peaks,
    measure_loudness,
    read_pcm16,
    silences_between,
)
from ave_core.config import AudioConfig, VadConfig
from ave_core.evaluation import covered
from ave_core.media import probe
from ave_core.models import Span
from ave_core.synth import Truth
from ave_core.timebase import decode_source_audio
from tests.conftest import ffmpeg


def overlap(a: tuple[float, float], spans: list[Span]) -> float:
    """Seconds of `a` that the spans cover (ave_core.evaluation.covered, the benchmarks' measure)."""
    return covered(*a, [(s.start, s.end) for s in spans])


def decode_16k(source: Path, scratch: Path) -> tuple[np.ndarray, int]:
    wav = scratch / f"{source.stem}.16k.wav"
    ffmpeg("-i", str(source), "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le", str(wav))
    return read_pcm16(wav)


@pytest.fixture(scope="module")
def talk_audio(talk: tuple[Path, Truth], media_dir: Path):
    path, truth = talk
    media = probe(path, slug="talk")
    full, wav = media_dir / "talk_48k.wav", media_dir / "talk_16k.wav"
    decode_source_audio(path, media, full, wav)
    return analyze_audio(full, wav, media, VadConfig(), AudioConfig()), truth, wav


def test_wav_is_16k_mono_and_as_long_as_the_video(talk_audio) -> None:
    _, truth, wav = talk_audio
    with wave.open(str(wav)) as handle:
        assert (handle.getframerate(), handle.getnchannels(), handle.getsampwidth()) == (
            16000,
            1,
            2,
        )
        assert handle.getnframes() / 16000 == pytest.approx(truth.duration, abs=0.06)


def test_vad_finds_every_utterance_of_the_truth(talk_audio) -> None:
    analysis, truth, _ = talk_audio
    for utterance in truth.utterances:
        heard_s = overlap((utterance.start, utterance.end), analysis.speech)
        assert heard_s >= 0.8 * (utterance.end - utterance.start), utterance


def test_vad_leaves_the_known_pauses_silent(talk_audio) -> None:
    analysis, truth, _ = talk_audio
    for start, end in truth.pauses:
        if end - start >= 0.5:
            assert overlap((start, end), analysis.silences) >= 0.75 * (end - start), (start, end)
    speech_total = sum(u.end - u.start for u in truth.utterances)
    assert analysis.speech_ratio == pytest.approx(speech_total / truth.duration, abs=0.08)


def test_silences_complement_speech(talk_audio) -> None:
    analysis, _, _ = talk_audio
    covered = sum(s.duration_s for s in analysis.speech) + sum(s.duration_s for s in analysis.silences)
    assert covered == pytest.approx(analysis.duration_s, abs=0.01)
    assert silences_between([Span(start=1, end=2)], 3.0) == [
        Span(start=0, end=1),
        Span(start=2, end=3),
    ]


def test_loudness_matches_ebu_r128_reference(media_dir: Path) -> None:
    # EBU Tech 3341: a stereo 997 Hz sine at -23 dBFS reads -23.0 LUFS
    tone = media_dir / "tone.mp4"
    level = 10 ** (-23 / 20)
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        f"aevalsrc={level}*sin(2*PI*997*t)|{level}*sin(2*PI*997*t):s=48000:d=8",
        "-c:a",
        "pcm_s16le",
        str(tone.with_suffix(".wav")),
    )
    loudness, _ = measure_loudness(tone.with_suffix(".wav"), 0)
    assert loudness.integrated_lufs == pytest.approx(-23.0, abs=0.2)
    assert loudness.range_lu == pytest.approx(0.0, abs=0.5)
    assert loudness.true_peak_dbtp == pytest.approx(-23.0, abs=0.5)


def test_envelope_and_peaks_find_a_known_burst() -> None:
    rate = 16000
    samples = np.full(rate * 6, 0.001, dtype=np.float32)  # -60 dBFS floor
    samples[int(3.0 * rate) : int(3.2 * rate)] = 0.5  # a loud 200 ms burst at 3.0 s
    envelope = energy_envelope(samples, rate, 10.0)
    assert envelope.rate_hz == 10.0 and len(envelope.rms_db) == 60
    assert envelope.rms_db[0] == pytest.approx(-60.0, abs=0.1)
    assert envelope.rms_db[30] == pytest.approx(-6.02, abs=0.1)
    peaks = find_peaks(envelope, AudioConfig(peak_prominence_db=6.0))
    assert len(peaks) == 1 and 3.0 <= peaks[0].time <= 3.2
    assert peaks[0].prominence_db == pytest.approx(54, abs=1)


def test_video_without_audio_is_recorded_not_failed(silent_video: Path, media_dir: Path) -> None:
    media = probe(silent_video, slug="no-audio")
    full, wav = media_dir / "silent_48k.wav", media_dir / "silent_16k.wav"
    decode_source_audio(silent_video, media, full, wav)
    samples, rate = read_pcm16(wav)
    assert samples.size == 0 and rate == 16000
    analysis = analyze_audio(full, wav, media, VadConfig(), AudioConfig())
    assert analysis.has_audio is False
    assert "no audio track" in (analysis.skip_reason or "")
    assert str(silent_video) in (analysis.skip_reason or "")
    assert analysis.speech == [] and analysis.loudness is None


def test_real_speech_jfk(shared_dev: Path, tmp_path: Path) -> None:
    samples, rate = decode_16k(shared_dev / "speech" / "jfk" / "jfk.flac", tmp_path)
    speech = detect_speech(samples, rate, VadConfig())
    assert overlap((1.6, 2.0), speech) >= 0.3  # "Americans" is spoken around 1.8 s
    assert sum(s.duration_s for s in speech) / (samples.size / rate) > 0.6


def test_real_isolated_words(shared_dev: Path, tmp_path: Path) -> None:
    # 8 words separated by about 2 s of silence; times are a model's output, not exact
    words = [
        (0.76, 1.46),
        (2.90, 3.68),
        (5.71, 6.27),
        (7.89, 8.94),
        (10.93, 11.69),
        (14.07, 14.77),
        (17.14, 17.78),
        (20.73, 21.37),
    ]
    samples, rate = decode_16k(shared_dev / "speech" / "whisper_timestamped" / "words.wav", tmp_path)
    speech = detect_speech(samples, rate, VadConfig())
    assert len(speech) == len(words)
    for (start, end), found in zip(words, speech, strict=False):
        assert overlap((start, end), [found]) >= 0.5 * (end - start)


def test_real_long_pause_auto_editor_example(shared_dev: Path, tmp_path: Path) -> None:
    # ffmpeg silencedetect finds 17.30-39.97 s silent in this clip (NOTES.txt)
    samples, rate = decode_16k(shared_dev / "speech" / "auto_editor_example" / "example.mp4", tmp_path)
    speech = detect_speech(samples, rate, VadConfig())
    assert overlap((17.6, 39.7), speech) < 0.5
    assert overlap((1.4, 12.9), speech) > 8.0


def test_speech_found_window_by_window_is_the_speech_found_at_once(talk: tuple[Path, Truth], tmp_path: Path):
    """The VAD hears a long recording a window at a time (memory): windows of 5 s, each ending in a pause,
    find the same utterances as one pass over the whole talk, on the same clock."""
    samples, rate = decode_16k(talk[0], tmp_path)
    assert samples.size / rate > 15
    whole = detect_speech(samples, rate, VadConfig())
    windowed = detect_speech(samples, rate, VadConfig(), window_s=5.0)
    assert len(windowed) == len(whole)
    for a, b in zip(whole, windowed, strict=True):
        # Silero's state restarts at each window: edges may move by a few of its 32 ms frames
        assert abs(a.start - b.start) <= 0.1 and abs(a.end - b.end) <= 0.1, (a, b)


def test_the_mapped_samples_read_as_the_loaded_ones(tmp_path: Path) -> None:
    """open_pcm16 maps the WAV instead of loading it (memory on hours): after ffmpeg's LIST chunk, and on a
    file cut short of what its header says, its samples are read_pcm16's, and the audio stage's passes
    over them give the same figures."""
    from ave_core.audio import as_float32, energy_envelope, open_pcm16, quiet_window_bounds, read_pcm16

    wav = tmp_path / "tone.wav"
    ffmpeg(
        "-f", "lavfi", "-i", "sine=f=330:r=16000:d=7,volume=0.5",
        "-f", "lavfi", "-i", "anoisesrc=r=16000:d=7:a=0.05",
        "-filter_complex", "[0][1]amix=inputs=2,volume='if(between(t,3,3.4),0.01,1)':eval=frame",
        "-ac", "1", "-c:a", "pcm_s16le", "-metadata", "title=a LIST chunk", str(wav),
    )  # fmt: skip
    assert b"LIST" in wav.read_bytes()[:200]
    loaded, rate = read_pcm16(wav)
    mapped, mapped_rate = open_pcm16(wav)
    assert mapped.dtype == np.int16 and mapped_rate == rate and np.array_equal(as_float32(mapped[:]), loaded)
    assert energy_envelope(mapped, rate, 20).rms_db == energy_envelope(loaded, rate, 20).rms_db
    bounds = quiet_window_bounds(mapped, rate, window_s=4.0)
    assert bounds == quiet_window_bounds(loaded, rate, window_s=4.0)
    assert 3.0 * rate <= bounds[1] <= 3.4 * rate  # the window is cut in the quiet stretch
    short = tmp_path / "short.wav"
    short.write_bytes(wav.read_bytes()[:-3001])  # the header still promises every sample
    truncated, _ = open_pcm16(short)
    assert truncated.size == (short.stat().st_size - (wav.stat().st_size - 2 * loaded.size)) // 2
    assert np.array_equal(as_float32(truncated[:]), loaded[: truncated.size])
