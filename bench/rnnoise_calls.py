"""Where RNNoise's time goes: ave's per-frame wrapper against bare C calls, A B A B on the same 60 s of noise.

    python -m bench.rnnoise_calls

pyrnnoise has no batched entry point: its C library processes one 10 ms frame (480 samples) per call. This
measures what calling it from Python costs beyond the C work: ave's RnnoiseFrames.process (a copy and a
pointer per frame) against a loop of bare ctypes calls on one buffer (the least Python a call can cost),
alternated twice. Writes bench/out/rnnoise_calls.json.
"""

from __future__ import annotations

import ctypes
import json
import sys
import time

import numpy as np

from ave_core.enhance import ENHANCE_RATE, RnnoiseFrames
from bench.common import OUT

SECONDS = 60


def wrapper_s(samples: np.ndarray) -> float:
    frames = RnnoiseFrames()
    start = time.perf_counter()
    for i in range(0, samples.size, frames.frame_size):
        frames.process(samples[i : i + frames.frame_size])
    return time.perf_counter() - start


def bare_s(samples: np.ndarray) -> float:
    frames = RnnoiseFrames()
    buffer = samples.copy()
    address, pointer = buffer.ctypes.data, ctypes.POINTER(ctypes.c_float)
    process, state = frames._lib.rnnoise_process_frame, frames._state
    start = time.perf_counter()
    for i in range(0, buffer.size, frames.frame_size):
        frame = ctypes.cast(address + 4 * i, pointer)
        process(state, frame, frame)
    return time.perf_counter() - start


def main() -> int:
    samples = (np.random.default_rng(5).standard_normal(SECONDS * ENHANCE_RATE) * 3000).astype(np.float32)
    runs: dict[str, list[float]] = {"wrapper": [], "bare": []}
    for _ in range(2):
        runs["wrapper"].append(wrapper_s(samples))
        runs["bare"].append(bare_s(samples))
    result = {
        "seconds_audio": SECONDS,
        "wrapper_s_per_minute": round(min(runs["wrapper"]) / SECONDS * 60, 3),
        "bare_s_per_minute": round(min(runs["bare"]) / SECONDS * 60, 3),
        "runs": runs,
    }
    result["python_share"] = round(1 - result["bare_s_per_minute"] / result["wrapper_s_per_minute"], 3)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "rnnoise_calls.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
