"""Benchmark of the spine: probe + audio stage time on a long 720p clip, and Snakemake planning time.

    .venv/bin/python -m bench.stages [--minutes 15] [--videos 100]

Figures are ratios against references measured in the same run:
- probe + extract_audio + audio (Snakemake `benchmark:` seconds) / `ffmpeg -i X -f null -`
- dry-run planning time of a project of N videos / of a project of one video
Writes bench/out/stages.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from ave_core.evaluation import covered
from ave_core.synth import DEMO_SCRIPT, make_recording
from bench.common import OUT, benchmark_row, snakemake
from bench.common import run_timed as timed

SCRIPT_SECONDS = 64.4  # one pass of DEMO_SCRIPT


def long_clip(minutes: float) -> Path:
    clip = OUT / f"talk-{minutes:g}min.mp4"
    if not clip.exists():
        repeat = max(1, round(minutes * 60 / SCRIPT_SECONDS))
        shots = max(2, int(minutes * 2))
        started = time.perf_counter()
        make_recording(clip, DEMO_SCRIPT, repeat=repeat, shots=shots)
        print(f"generated {clip.name} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return clip


def stage_figures(clip: Path) -> dict[str, object]:
    project = OUT / "stages-project"
    shutil.rmtree(project, ignore_errors=True)
    (project / "input").mkdir(parents=True)
    os.link(clip, project / "input" / "talk.mp4")
    reference = timed(["ffmpeg", "-nostdin", "-v", "error", "-i", str(clip), "-f", "null", "-"])
    workflow = timed(snakemake(project, "--until", "audio"))
    stages = {
        rule: benchmark_row(project / "benchmarks" / "talk" / f"{rule}.tsv")
        for rule in ("probe", "extract_audio", "audio")
    }
    total = sum(s["seconds"] for s in stages.values())
    audio = json.loads((project / "results/talk/audio.json").read_text())
    truth = json.loads(clip.with_suffix(".truth.json").read_text())
    return {
        "vad_against_truth": vad_agreement(audio["speech"], truth),
        "clip_seconds": json.loads((project / "results/talk/media.json").read_text())["duration_s"],
        "ffmpeg_null_decode_s": round(reference, 2),
        "stages": stages,
        "stages_total_s": round(total, 2),
        "ratio_to_ffmpeg_decode": round(total / reference, 3),
        "workflow_wall_s": round(workflow, 2),
    }


def vad_agreement(speech: list[dict[str, float]], truth: dict) -> dict[str, float]:
    """Share of the truth's speech found as speech, and of its pauses (>= 0.5 s) left silent."""
    found = [(s["start"], s["end"]) for s in speech]
    spoken = [(u["start"], u["end"]) for u in truth["utterances"]]
    pauses = [(a, b) for a, b in truth["pauses"] if b - a >= 0.5]
    speech_time = sum(b - a for a, b in spoken)
    pause_time = sum(b - a for a, b in pauses)
    return {
        "speech_recall": round(sum(covered(a, b, found) for a, b in spoken) / speech_time, 4),
        "pause_silence_share": round(1 - sum(covered(a, b, found) for a, b in pauses) / pause_time, 4),
        "utterances": len(spoken),
        "pauses_over_half_second": len(pauses),
    }


def planning_figures(videos: int) -> dict[str, object]:
    tiny = OUT / "tiny.mp4"
    if not tiny.exists():
        subprocess.run(
            [
                "ffmpeg",
                "-nostdin",
                "-v",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=160x120:rate=10:duration=1",
                str(tiny),
            ],
            check=True,
        )
    figures: dict[str, float] = {}
    for count in (1, videos):
        project = OUT / f"plan-{count}"
        shutil.rmtree(project, ignore_errors=True)
        (project / "input").mkdir(parents=True)
        for index in range(count):
            os.link(tiny, project / "input" / f"lesson {index:03d}.mp4")
        timed(snakemake(project, "--dry-run"))  # warm the source cache once
        figures[str(count)] = min(timed(snakemake(project, "--dry-run")) for _ in range(3))
    return {
        "videos": videos,
        "dry_run_1_video_s": round(figures["1"], 2),
        f"dry_run_{videos}_videos_s": round(figures[str(videos)], 2),
        "ratio_to_1_video": round(figures[str(videos)] / figures["1"], 2),
        "per_extra_video_ms": round(1000 * (figures[str(videos)] - figures["1"]) / (videos - 1), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--videos", type=int, default=100)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    result = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "stages": stage_figures(long_clip(args.minutes)),
        "planning": planning_figures(args.videos),
    }
    (OUT / "stages.json").write_text(json.dumps(result, indent=2) + "\n")
    s, p = result["stages"], result["planning"]
    print("| figure | value |\n|---|---|")
    print(f"| clip | {s['clip_seconds']:.0f} s, 1280x720 25 fps |")
    print(f"| ffmpeg -i X -f null - | {s['ffmpeg_null_decode_s']} s |")
    for rule, fig in s["stages"].items():
        print(f"| {rule} | {fig['seconds']:.2f} s, max RSS {fig['max_rss_mb']:.0f} MB |")
    print(f"| probe+audio / ffmpeg decode | {s['ratio_to_ffmpeg_decode']} |")
    vad = s["vad_against_truth"]
    print(
        f"| VAD speech recall / pause time left silent | {vad['speech_recall']} "
        f"/ {vad['pause_silence_share']} |"
    )
    print(f"| dry run, 1 video | {p['dry_run_1_video_s']} s |")
    many = p[f"dry_run_{p['videos']}_videos_s"]
    print(
        f"| dry run, {p['videos']} videos | {many} s "
        f"({p['ratio_to_1_video']}x one video, {p['per_extra_video_ms']} ms per extra video) |"
    )


if __name__ == "__main__":
    main()
