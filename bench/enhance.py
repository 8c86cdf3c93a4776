"""Studio sound benchmark: PESQ, STOI and word error rate of noisy vs enhanced speech, hum detection, cost.

    .venv/bin/python bench/enhance.py [--quick]      (needs: pip install pesq pystoi)

Clean speech (../shared/media/dev JFK and GRID, and talks generated with espeak-ng) is mixed with noise made
here, at 20, 10 and 5 dB SNR (speech-active level against noise level): pink noise, a laptop fan (brown noise
with blade tones), 50 Hz mains hum with harmonics over a little pink noise, and a room (a synthetic impulse
response of RT60 0.5 s) with pink noise. Each mix goes through ave's enhancement (every preset, both
denoisers) exactly as the workflow runs it; PESQ (wide band, 16 kHz) and STOI are measured against the clean
speech, and tiny.en transcribes noisy and enhanced. Hum detection is scored on every mix (hum present or not).

The material is split in two: settings (presets, thresholds, the default denoiser) were chosen on the TUNE
half (GRID clips and generated talk A); the figures reported are those of the HELD-OUT half (JFK and generated
talk B), which played no part in the choice. Writes bench/out/enhance.json and prints a Markdown table for
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ave_core.enhance import (  # noqa: E402
    ENHANCE_RATE,
    HUM_RATE,
    PRESETS,
    detect_hum,
    enhance_stream,
    hum_spectrum,
    make_denoiser,
)
from ave_core.evaluation import word_error_rate  # noqa: E402
from ave_core.synth import DEMO_SCRIPT, build_speech  # noqa: E402
from bench.common import DEV, OUT, model_path  # noqa: E402

SNRS_DB = (20, 10, 5)
NOISES = ("pink", "fan", "hum", "room")
RATE = 16000  # PESQ wide band and the recogniser read 16 kHz
SEED = 16


@dataclass
class Clip:
    name: str
    part: str  # "tune" or "held-out"
    samples: np.ndarray  # 48 kHz mono float32
    text: str
    native_hum_hz: float | None = None  # JFK's 1961 recording carries 60 Hz mains hum of its own


def decode(path: Path, rate: int) -> np.ndarray:
    proc = subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-i",
            str(path),
            "-ac",
            "1",
            "-ar",
            str(rate),
            "-f",
            "f32le",
            "-",
        ],
        capture_output=True,
        check=True,
    )
    return np.frombuffer(proc.stdout, dtype="<f4").copy()


def resample(samples: np.ndarray, source_rate: int, rate: int) -> np.ndarray:
    from scipy.signal import resample_poly

    divisor = np.gcd(source_rate, rate)
    return resample_poly(samples, rate // divisor, source_rate // divisor).astype(np.float32)


def talk(script: list[tuple[str, float]]) -> tuple[np.ndarray, str]:
    samples, utterances, _ = build_speech(script, lead_in=0.8)
    return resample(samples, 22050, ENHANCE_RATE), " ".join(u.text for u in utterances)


def material() -> list[Clip]:
    """The clean speech, split into the tuning half and the held-out half."""
    clips = []
    grid = DEV / "grid"
    if grid.is_dir():
        lines = (grid / "transcripts.tsv").read_text().splitlines()
        texts = dict(line.split("\t") for line in lines if line and not line.startswith("#"))
        # the 3 s sentences joined into one clip: a hum needs ~10 s to be told from chance
        names = sorted(texts)
        joined = np.concatenate([decode(grid / name, ENHANCE_RATE) for name in names])
        clips.append(
            Clip(f"grid ({len(names)} sentences)", "tune", joined, " ".join(texts[n] for n in names))
        )
    jfk = DEV / "speech" / "jfk"
    if jfk.is_dir():
        text = (jfk / "jfk.transcript.txt").read_text().strip()
        clips.append(Clip("jfk", "held-out", decode(jfk / "jfk.flac", ENHANCE_RATE), text, 60.0))
    half = len(DEMO_SCRIPT) // 2
    for label, part, script in (("A", "tune", DEMO_SCRIPT[:half]), ("B", "held-out", DEMO_SCRIPT[half:])):
        samples, text = talk(script)
        clips.append(Clip(f"talk {label}", part, samples, text))
    return clips


# --- noise ----------------------------------------------------------------------------------


def pink(count: int, rng: np.random.Generator) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(count))
    freqs = np.fft.rfftfreq(count, 1 / ENHANCE_RATE)
    spectrum[1:] /= np.sqrt(freqs[1:])
    spectrum[0] = 0
    noise = np.fft.irfft(spectrum, count)
    return (noise / noise.std()).astype(np.float32)


def fan(count: int, rng: np.random.Generator) -> np.ndarray:
    """A laptop fan: brown-ish rumble, a broadband whoosh, and blade tones that wander a little."""
    spectrum = np.fft.rfft(rng.standard_normal(count))
    freqs = np.fft.rfftfreq(count, 1 / ENHANCE_RATE)
    shape = 1 / np.maximum(freqs, 20.0) + 0.002 * np.exp(-(((freqs - 2500) / 1500) ** 2))
    noise = np.fft.irfft(spectrum * shape, count)
    noise /= noise.std()
    t = np.arange(count) / ENHANCE_RATE
    blade = 2 * np.pi * (180 * t + 3 * np.sin(2 * np.pi * 0.2 * t))
    tones = 0.3 * np.sin(blade) + 0.15 * np.sin(2 * blade)
    mix = noise + tones
    return (mix / mix.std()).astype(np.float32)


def hum(count: int, rng: np.random.Generator, mains_hz: float = 50.0) -> np.ndarray:
    """Mains hum (a fundamental and odd/even harmonics, as a ground loop gives) over a little pink noise."""
    t = np.arange(count) / ENHANCE_RATE
    wave_ = sum(amplitude * np.sin(2 * np.pi * mains_hz * k * t + k) for k, amplitude in
                ((1, 1.0), (2, 0.5), (3, 0.6), (4, 0.25), (5, 0.3), (6, 0.12), (7, 0.15)))  # fmt: skip
    wave_ = wave_ / np.std(wave_)
    mix = wave_ + 0.3 * pink(count, rng)
    return (mix / mix.std()).astype(np.float32)


def room_response(rng: np.random.Generator, rt60_s: float = 0.5) -> np.ndarray:
    """A synthetic room impulse response: direct sound, then exponentially decaying diffuse noise."""
    length = int(rt60_s * ENHANCE_RATE)
    t = np.arange(length) / ENHANCE_RATE
    tail = rng.standard_normal(length) * np.exp(-6.9 * t / rt60_s) * 0.25
    tail[: int(0.004 * ENHANCE_RATE)] = 0  # the first reflections come a few ms after the direct sound
    tail[0] = 1.0
    return (tail / np.sqrt(np.sum(tail**2))).astype(np.float32)


def speech_level(samples: np.ndarray) -> float:
    """RMS over the active half of 20 ms frames: the level of the speech, not of its pauses."""
    frame = int(0.02 * ENHANCE_RATE)
    usable = samples[: samples.size - samples.size % frame].reshape(-1, frame)
    energies = np.sort(np.mean(usable**2, axis=1))
    return float(np.sqrt(np.mean(energies[energies.size // 2 :])))


def mix(clean: np.ndarray, kind: str, snr_db: float | None, rng: np.random.Generator) -> np.ndarray:
    """The clean speech in a noisy room at `snr_db` (None: the clean speech itself)."""
    if snr_db is None:
        return clean
    speech = clean
    if kind == "room":
        from scipy.signal import fftconvolve

        speech = fftconvolve(clean, room_response(rng))[: clean.size].astype(np.float32)
        speech *= speech_level(clean) / speech_level(speech)
    noise = {"pink": pink, "fan": fan, "hum": hum, "room": pink}[kind](clean.size, rng)
    scale = speech_level(clean) / 10 ** (snr_db / 20)
    mixed = speech + scale * noise
    peak = np.abs(mixed).max()
    return (mixed / peak * 0.9 if peak > 0.99 else mixed).astype(np.float32)


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as handle:
        return np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2").astype(np.float32) / 32768


# --- measures -------------------------------------------------------------------------------


def quality(reference: np.ndarray, degraded: np.ndarray) -> dict[str, float]:
    from pesq import pesq
    from pystoi import stoi

    count = min(reference.size, degraded.size)
    ref, deg = reference[:count].astype(np.float64), degraded[:count].astype(np.float64)
    return {"pesq": float(pesq(RATE, ref, deg, "wb")), "stoi": float(stoi(ref, deg, RATE, extended=False))}


class Recogniser:
    def __init__(self) -> None:
        from faster_whisper import WhisperModel

        self.model = WhisperModel(model_path(), device="cpu", compute_type="int8", cpu_threads=2)

    def wer(self, samples: np.ndarray, text: str) -> float:
        segments, _ = self.model.transcribe(samples, beam_size=5, language="en", vad_filter=False)
        return word_error_rate(text, " ".join(s.text for s in segments))


def speech_frames(samples: np.ndarray) -> np.ndarray:
    """Silero VAD (ave's settings) as a boolean per 10 ms."""
    from ave_core.audio import detect_speech
    from ave_core.config import VadConfig

    flags = np.zeros(int(samples.size / RATE * 100) + 1, dtype=bool)
    for span in detect_speech(samples, RATE, VadConfig()):
        flags[int(span.start * 100) : int(span.end * 100)] = True
    return flags


def vad_agreement(reference: np.ndarray, samples: np.ndarray) -> float:
    """Share of 10 ms frames where the VAD says the same on `samples` as on the clean speech."""
    truth, found = speech_frames(reference), speech_frames(samples)
    count = min(truth.size, found.size)
    return float(np.mean(truth[:count] == found[:count]))


def hum_found(samples_48k: np.ndarray) -> float | None:
    low = resample(samples_48k, ENHANCE_RATE, HUM_RATE)
    return detect_hum(*hum_spectrum(iter([low]), HUM_RATE)).mains_hz


def enhance(noisy: np.ndarray, preset: str, denoiser: str, folder: Path) -> tuple[np.ndarray, float, list]:
    source = folder / "noisy.wav"
    write_wav(source, noisy, ENHANCE_RATE)
    start = time.perf_counter()
    survey, chain, _ = enhance_stream(
        source, 0, preset, make_denoiser(denoiser), folder / "enhanced.flac", folder / "enhanced.wav"
    )
    seconds = time.perf_counter() - start
    return (
        read_wav(folder / "enhanced.wav"),
        seconds,
        [survey.hum.mains_hz, survey.snr_db, survey.reduction_db(PRESETS[preset])],
    )


def run(quick: bool) -> dict:
    rng = np.random.default_rng(SEED)
    clips = material()
    variants = [("moderate", "rnnoise"), ("moderate", "afftdn")]
    if not quick:
        variants += [("light", "rnnoise"), ("strong", "rnnoise")]
    recogniser = Recogniser()
    rows = []
    with tempfile.TemporaryDirectory(prefix="ave-enhance-") as tmp:
        folder = Path(tmp)
        for clip in clips:
            clean16 = resample(clip.samples, ENHANCE_RATE, RATE)
            conditions = [("clean", None)] + [(kind, snr) for kind in NOISES for snr in SNRS_DB]
            if quick:
                conditions = [("clean", None), ("pink", 10), ("hum", 10), ("fan", 10)]
            for kind, snr in conditions:
                noisy = mix(clip.samples, kind, snr, rng)
                noisy16 = resample(noisy, ENHANCE_RATE, RATE)
                row = {"clip": clip.name, "part": clip.part, "noise": kind, "snr_db": snr,
                       "seconds_audio": round(noisy.size / ENHANCE_RATE, 3),
                       "noisy": {**quality(clean16, noisy16), "wer": recogniser.wer(noisy16, clip.text),
                                 "vad": vad_agreement(clean16, noisy16)},
                       "hum_truth": 50.0 if kind == "hum" else clip.native_hum_hz}  # fmt: skip
                row["hum_found"] = hum_found(noisy)
                for preset, denoiser in variants:
                    if preset != "moderate" and snr not in (None, 10):
                        continue  # other strengths at 10 dB and on clean speech only: the machine is small
                    enhanced16, seconds, _ = enhance(noisy, preset, denoiser, folder)
                    row[f"{preset}/{denoiser}"] = {
                        **quality(clean16, enhanced16),
                        "seconds": round(seconds, 3),
                    }
                    if preset == "moderate":  # the recogniser and the VAD on the default strength only
                        row[f"{preset}/{denoiser}"]["wer"] = recogniser.wer(enhanced16, clip.text)
                        row[f"{preset}/{denoiser}"]["vad"] = vad_agreement(clean16, enhanced16)
                rows.append(row)
                print(json.dumps(row), flush=True)
    return {"rows": rows, "variants": [f"{p}/{d}" for p, d in variants]}


def summary(result: dict, part: str) -> list[str]:
    """Markdown rows: mean PESQ, STOI and WER per condition, noisy and each variant, for one half."""
    rows = [r for r in result["rows"] if r["part"] == part]
    lines = []
    conditions = sorted({(r["noise"], r["snr_db"] if r["snr_db"] is not None else 99) for r in rows},
                        key=lambda c: (c[0] != "clean", c[0], -c[1]))  # fmt: skip
    for noise, snr in conditions:
        subset = [r for r in rows if r["noise"] == noise and (r["snr_db"] or 99) == snr]
        cells = []
        for key in ["noisy", *result["variants"]]:
            if key not in subset[0]:
                cells.append("")
                continue
            pesq = statistics.mean(r[key]["pesq"] for r in subset)
            stoi = statistics.mean(r[key]["stoi"] for r in subset)
            if "wer" in subset[0][key]:
                wer = statistics.mean(r[key]["wer"] for r in subset)
                vad = statistics.mean(r[key]["vad"] for r in subset)
                cells.append(f"{pesq:.2f} / {stoi:.2f} / {wer:.2f} / {vad:.2f}")
            else:
                cells.append(f"{pesq:.2f} / {stoi:.2f}")
        label = "clean" if noise == "clean" else f"{noise} {snr} dB"
        lines.append(f"| {label} | {len(subset)} | " + " | ".join(cells) + " |")
    return lines


def hum_scores(result: dict, part: str) -> str:
    rows = [r for r in result["rows"] if r["part"] == part]
    present = [r for r in rows if r["hum_truth"]]
    absent = [r for r in rows if not r["hum_truth"]]
    # a mix of 50 Hz hum into JFK's own 60 Hz: either is right
    hits = sum(r["hum_found"] in (r["hum_truth"], 60.0 if r["clip"] == "jfk" else None) for r in present)
    false = sum(r["hum_found"] is not None for r in absent)
    return f"hum found in {hits}/{len(present)} mixes with hum, in {false}/{len(absent)} without"


def cost(result: dict) -> str:
    parts = []
    for key in result["variants"]:
        rows = [r for r in result["rows"] if key in r]
        seconds = sum(r[key]["seconds"] for r in rows)
        audio = sum(r["seconds_audio"] for r in rows)
        parts.append(f"{key} {seconds / audio * 60:.1f} s per minute of audio")
    return "; ".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 dB pink, hum and fan only, two variants")
    args = parser.parse_args()
    started = time.perf_counter()
    result = run(args.quick)
    result["machine"] = f"{platform.machine()}, {os.cpu_count()} cores (shared: timings are noisy)"
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "enhance.json").write_text(json.dumps(result, indent=2) + "\n")
    header = "| condition | clips | noisy | " + " | ".join(result["variants"]) + " |"
    rule = "|---|---|" + "---|" * (len(result["variants"]) + 1)
    for part in ("held-out", "tune"):
        print(f"\n{part} (PESQ / STOI / WER / VAD agreement)\n{header}\n{rule}")
        print("\n".join(summary(result, part)))
        print(hum_scores(result, part))
    print(cost(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
