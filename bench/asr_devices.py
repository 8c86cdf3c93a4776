"""Transcription speed on each device this machine has: real-time factor on the CPU and, when CTranslate2 sees
one, on CUDA, for the same model and the same audio.

    .venv/bin/python -m bench.asr_devices [--minutes 15] [--model PATH_OR_NAME]

RTF = transcription seconds / audio seconds (lower is faster); the CUDA figure is also given as a ratio to the
CPU's, measured in the same run. The clip is the generated talk bench.stages uses. Writes
bench/out/asr_devices.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ave_core.asr import FasterWhisperRecognizer, cuda_available
from ave_core.audio import read_pcm16
from ave_core.config import AsrConfig
from bench.common import OUT, decode_16k, model_path, timed
from bench.stages import long_clip


def measure(device: str, model: str, samples, seconds: float) -> dict[str, float | str]:
    recognizer = FasterWhisperRecognizer(AsrConfig(model=model, device=device))
    recognizer.recognize(samples[: 16000 * 30])  # warm-up: CUDA kernels, allocator
    speech, elapsed = timed(recognizer.recognize, samples)
    return {
        "device": device,
        "compute_type": "float16" if device == "cuda" else "int8",
        "seconds": round(elapsed, 2),
        "rtf": round(elapsed / seconds, 4),
        "words": sum(len(segment.words) for segment in speech.segments),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=15)
    parser.add_argument("--model", default=None, help="default: whisper tiny.en, offline")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    wav = decode_16k(long_clip(args.minutes), OUT)
    samples = read_pcm16(wav)[0]
    seconds = len(samples) / 16000
    model = args.model or model_path()
    devices = ["cpu"] + (["cuda"] if cuda_available() else [])
    rows = [measure(device, model, samples, seconds) for device in devices]
    figures = {"audio_s": round(seconds, 1), "model": Path(model).name, "runs": rows}
    if len(rows) == 2:
        figures["cuda_speedup"] = round(rows[0]["seconds"] / rows[1]["seconds"], 1)
    (OUT / "asr_devices.json").write_text(json.dumps(figures, indent=2))
    print(f"{seconds:.0f} s of audio, model {figures['model']}\n")
    print("| device | compute | seconds | RTF | words |\n|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['device']} | {row['compute_type']} | {row['seconds']} | {row['rtf']} | {row['words']} |"
        )
    if len(rows) == 1:
        print("\nno CUDA device found by CTranslate2: only the CPU was measured")
    else:
        print(f"\nCUDA is {figures['cuda_speedup']}x faster than the CPU")


if __name__ == "__main__":
    main()
