"""A long podcast through the workflow: peak memory (RSS) and seconds of every stage, against ffmpeg's decode.

    python -m bench.podcast_memory [HOURS] [--target PATH ...]      (default: 6 hours, up to render/audio.m4a)

A podcast of HOURS is generated (a talk spoken by espeak-ng, looped, with pink noise under it, 44.1 kHz
stereo MP3 at 64 kbit/s, as podcasts are published) with captions beside it (NAME.srt, the talk's own
timings looped): the workflow takes those as the transcript (asr.backend auto), so the hours of speech
recognition, whose memory the recogniser's own bench covers, do not hide the stages measured here. Snakemake
runs the workflow on one core (one job at a time, so the figures do not mix) up to the targets (by default the
edit's sound, render/audio.m4a: probe, extract_audio, enhance, audio, transcribe, scenes, analyze, research,
direct, render_audio), and each rule's `benchmark:` file gives its peak RSS (psutil, the job's process tree)
and its seconds. `ffmpeg -i X -f null -` before and after is the time reference. Writes
bench/out/podcast_memory.json (after the run; the project folder is removed).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ave_core.synth import DEMO_SCRIPT, SAMPLE_RATE, build_speech, write_wav
from bench.common import OUT, benchmark_row, ffmpeg_decode_s, looped_under_noise, snakemake

NAME = "podcast"


def srt_time(seconds: float) -> str:
    millis = int(round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d},{rest % 1000:03d}"


def make_podcast(folder: Path, hours: float) -> Path:
    """input/podcast.mp3 of `hours` and input/podcast.srt with the words at their times."""
    samples, utterances, _ = build_speech(DEMO_SCRIPT, lead_in=0.5)
    talk = folder / "talk.wav"
    write_wav(talk, samples, SAMPLE_RATE)
    total_s = hours * 3600
    talk_s = samples.size / SAMPLE_RATE
    cues = []
    for loop in range(math.ceil(total_s / talk_s)):
        for utterance in utterances:
            start, end = loop * talk_s + utterance.start, loop * talk_s + utterance.end
            if end < total_s:
                cues.append(f"{len(cues) + 1}\n{srt_time(start)} --> {srt_time(end)}\n{utterance.text}\n")
    (folder / f"{NAME}.srt").write_text("\n".join(cues), encoding="utf-8")
    out = folder / f"{NAME}.mp3"
    looped_under_noise(talk, out, total_s, 0.03, ["-c:a", "libmp3lame", "-b:a", "64k"])
    talk.unlink()
    return out


def reference_s(path: Path) -> float:
    return ffmpeg_decode_s(path)[0]


def collect(project: Path, hours: float, note: str) -> dict:
    """The figures of the stages that finished in a run that was stopped (its project folder kept)."""
    podcast = project / "input" / f"{NAME}.mp3"
    return {
        "hours": hours,
        "targets": ["stopped before the end: the stages that finished"],
        "mp3_mb": round(podcast.stat().st_size / 1e6, 1),
        "workflow_s": 0.0,
        "ffmpeg_decode_s": round((reference_s(podcast) + reference_s(podcast)) / 2, 2),
        "stages": {
            tsv.stem: benchmark_row(tsv) for tsv in sorted((project / "benchmarks" / NAME).glob("*.tsv"))
        },
        "note": note,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("hours", nargs="?", type=float, default=6.0)
    parser.add_argument("--target", action="append", help="workflow targets (default: the edit's sound)")
    parser.add_argument("--collect", type=Path, help="only collect a stopped run's project folder")
    parser.add_argument("--note", default="", help="with --collect: what was stopped, and what was seen")
    args = parser.parse_args()
    if args.collect:
        result = collect(args.collect, args.hours, args.note)
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / f"podcast_memory_{args.hours:g}h.json").write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result, indent=2))
        return 0
    targets = args.target or [f"results/{NAME}/render/audio.m4a"]
    with tempfile.TemporaryDirectory(prefix="ave-podcast-memory-") as tmp:
        project = Path(tmp) / "show"
        (project / "input").mkdir(parents=True)
        made = time.perf_counter()
        podcast = make_podcast(project / "input", args.hours)
        made_s = time.perf_counter() - made
        (project / "config.yaml").write_text("research: {backend: offline}\ndirector: {backend: rules}\n")
        before = reference_s(podcast)
        start = time.perf_counter()
        proc = subprocess.run(snakemake(project, *targets, cores=1), capture_output=True, text=True)
        workflow_s = time.perf_counter() - start
        after = reference_s(podcast)
        if proc.returncode != 0:
            print(proc.stdout[-3000:], proc.stderr[-3000:])
            return 1
        stages = {
            tsv.stem: benchmark_row(tsv) for tsv in sorted((project / "benchmarks" / NAME).glob("*.tsv"))
        }
        result = {
            "hours": args.hours,
            "targets": targets,
            "mp3_mb": round(podcast.stat().st_size / 1e6, 1),
            "making_s": round(made_s, 1),
            "workflow_s": round(workflow_s, 1),
            "ffmpeg_decode_s": round((before + after) / 2, 2),
            "stages": stages,
            "largest_files_mb": {
                str(path.relative_to(project)): round(path.stat().st_size / 1e6, 1)
                for path in sorted((project / "results").rglob("*"), key=lambda p: -p.stat().st_size)[:6]
                if path.is_file()
            },
        }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"podcast_memory_{args.hours:g}h.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
