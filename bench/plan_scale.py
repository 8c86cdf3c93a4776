"""The rule-based Director on long recordings: does its time grow with the length, or faster?

    python -m bench.plan_scale [RESULTS_DIR] [--times 1 4 12 24]

RESULTS_DIR is a finished project's results/{video}/ (default: the one `python -m bench.floor` leaves,
bench/out/floor-project/results/talk, a 15-minute talk). Its transcript, VAD and analysis are laid end to end
N times (every time shifted by the recording's length), and `rule_based_plan` plans the whole; the CPU
seconds of each, and each against N times the single copy's (1.0: the time grows with the length).
Writes bench/out/plan_scale.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from ave_core.config import DirectorConfig
from ave_core.director import DirectorInput, rule_based_plan
from ave_core.models import Analysis, AudioAnalysis, MediaInfo, Transcript, read_artifact
from bench.common import OUT

DEFAULT = OUT / "floor-project" / "results" / "talk"


def shifted(item: Any, seconds: float) -> Any:
    """A timed item (word, span, disfluency, retake) moved later by `seconds`."""
    update = {
        name: getattr(item, name) + seconds
        for name in ("start", "end", "start_raw", "end_raw", "repeated_at")
        if getattr(item, name, None) is not None
    }
    return item.model_copy(update=update)


def laid_end_to_end(results: Path, times: int) -> DirectorInput:
    """The recording's Director input said `times` times in a row."""
    transcript = read_artifact(results / "transcript.json", Transcript)
    audio = read_artifact(results / "audio.json", AudioAnalysis)
    duration = read_artifact(results / "media.json", MediaInfo).duration_s

    def repeat(items: list[Any]) -> list[Any]:
        return [shifted(item, k * duration) for k in range(times) for item in items]

    long_transcript = transcript.model_copy(
        update={
            name: repeat(getattr(transcript, name))
            for name in ("words", "disfluencies", "retakes", "unlabelled_speech")
        }
    )
    long_audio = audio.model_copy(
        update={
            "speech": repeat(audio.speech),
            "silences": repeat(audio.silences),
            "duration_s": duration * times,
        }
    )
    return DirectorInput(
        duration_s=duration * times,
        audio=long_audio,
        transcript=long_transcript,
        analysis=read_artifact(results / "analysis.json", Analysis),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--times", type=int, nargs="+", default=[1, 4, 12, 24])
    args = parser.parse_args()
    rows = []
    for times in args.times:
        ctx = laid_end_to_end(args.results, times)
        started = time.process_time()
        plan = rule_based_plan(ctx, DirectorConfig())
        cpu = time.process_time() - started
        hours = round(ctx.duration_s / 3600, 2)
        words = len(ctx.transcript.words)
        rows.append(
            {"times": times, "hours": hours, "words": words, "cuts": len(plan.cuts), "cpu_s": round(cpu, 3)}
        )
        print(rows[-1], flush=True)
    single = next((r["cpu_s"] / r["times"] for r in rows if r["times"] == min(args.times)), None)
    for row in rows:
        row["against_length"] = round(row["cpu_s"] / (row["times"] * single), 2) if single else None
    result = {"command": "python -m bench.plan_scale", "results": str(args.results), "rows": rows}
    (OUT / "plan_scale.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
