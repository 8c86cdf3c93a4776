"""Studio sound on long podcasts: seconds per minute of audio and peak memory, against ffmpeg's own decode.

    python -m bench.enhance_scale [MINUTES ...]      (default: 2 10 30)

For each length, a podcast is generated (a talk spoken by espeak-ng, looped, with pink noise 15 dB under it,
44.1 kHz stereo WAV), then, in the same run and in the order reference, enhance, reference: `ffmpeg -i X -f
null -` (the time reference) and ave's enhance stage (moderate, rnnoise) in a child process whose peak RSS is
read from the kernel (the ffmpeg processes beside it stream, and their own peak is not measured here: the
kernel's figure for a child includes the Python it was forked from). Memory must not grow with the length:
everything streams. Writes bench/out/enhance_scale.json.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from ave_core.synth import DEMO_SCRIPT, SAMPLE_RATE, build_speech, write_wav
from bench.common import OUT, REPO, ffmpeg_decode_s, looped_under_noise

CHILD = """
import json, resource, sys, time
from ave_core.enhance import enhance_audio
from ave_core.media import probe
source, out = sys.argv[1], sys.argv[2]
start = time.perf_counter()
record = enhance_audio(source, probe(source, slug="long"), "moderate", "rnnoise", out + ".flac", out + ".wav")
print(json.dumps({
    "seconds": time.perf_counter() - start,
    "python_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "reduction_db": record.reduction_db,
}))
"""


def make_podcast(folder: Path, minutes: float) -> Path:
    samples, _, _ = build_speech(DEMO_SCRIPT, lead_in=0.5)
    talk = folder / "talk.wav"
    write_wav(talk, samples, SAMPLE_RATE)
    out = folder / f"podcast-{minutes:g}min.wav"
    looped_under_noise(talk, out, minutes * 60, 0.06, ["-c:a", "pcm_s16le"])
    talk.unlink()
    return out


def reference_s(path: Path) -> float:
    return ffmpeg_decode_s(path)[0]


def main() -> int:
    minutes_list = [float(m) for m in sys.argv[1:]] or [2.0, 10.0, 30.0]
    rows = []
    with tempfile.TemporaryDirectory(prefix="ave-enhance-scale-") as tmp:
        folder = Path(tmp)
        for minutes in minutes_list:
            podcast = make_podcast(folder, minutes)
            before = reference_s(podcast)
            proc = subprocess.run(
                [sys.executable, "-c", CHILD, str(podcast), str(folder / "enhanced")],
                capture_output=True, text=True, check=True, cwd=REPO,
            )  # fmt: skip
            figures = json.loads(proc.stdout.strip().splitlines()[-1])
            after = reference_s(podcast)
            reference = (before + after) / 2
            row = {
                "minutes": minutes,
                **{k: round(v, 2) if isinstance(v, float) else v for k, v in figures.items()},
                "seconds_per_minute": round(figures["seconds"] / minutes, 2),
                "ffmpeg_decode_s": round(reference, 2),
                "ratio_to_decode": round(figures["seconds"] / reference, 1),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
            OUT.mkdir(
                parents=True, exist_ok=True
            )  # after each length: a long run stopped keeps what it measured
            (OUT / "enhance_scale.json").write_text(json.dumps({"rows": rows}, indent=2) + "\n")
            for leftover in folder.iterdir():
                leftover.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
