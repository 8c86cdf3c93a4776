"""The outputs, end to end, each figure against a reference measured in the same run.

    .venv/bin/python -m bench.outputs [--eval]   (after `make demo`)

- The demo talk's final.mp4 re-transcribed with the same tiny.en model and filler-keeping prompt: fillers
  left, share of the source's content words still present, duration against the kept ranges.
- Render time (loudness pass + chunks + join) / a plain x264 encode of the same length at the same preset.
- Chunked rendering: two chunks rendered at once on 2 cores against one chunk.
- With --eval: the whole workflow over every clip of ../shared/media/eval, reporting what each got.
Writes bench/out/outputs.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ave_core.asr import FasterWhisperRecognizer
from ave_core.config import AsrConfig, RenderConfig
from ave_core.models import Broll, MediaInfo, Plan, RenderReport, Transcript, read_artifact
from ave_core.render import chunk_jobs, join_chunks, render_audio, render_chunk
from ave_core.text import squashed
from bench.common import OUT, REPO, model_path

DEMO = REPO / "examples" / "demo"
FILLERS = {"um", "uh", "umm", "uhm", "erm", "er"}


def retranscribe(results: Path) -> dict[str, object]:
    """Fillers left in final.mp4 and the source's content words still in it."""
    from ave_core.audio import read_pcm16

    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "final.wav"
        subprocess.run(
            ["ffmpeg", "-v", "error", "-i", str(results / "final.mp4"), "-ac", "1", "-ar", "16000", str(wav)],
            check=True,
        )
        samples, _ = read_pcm16(wav)
    speech = FasterWhisperRecognizer(AsrConfig(model=model_path()), 2).recognize(samples)
    final_words = [squashed(w.word) for s in speech.segments for w in s.words]
    source = read_artifact(results / "transcript.json", Transcript)
    retakes = [(r.start, r.end) for r in source.retakes]
    content = [
        squashed(w.word)
        for w in source.words
        if not w.is_filler and not any(a <= w.start < b for a, b in retakes) and squashed(w.word)
    ]
    present = Counter(final_words)
    kept = sum(min(n, present[word]) for word, n in Counter(content).items())
    report = read_artifact(results / "render.json", RenderReport)
    return {
        "fillers_left": sorted(w for w in final_words if w in FILLERS),
        "content_words_present": round(kept / len(content), 3),
        "content_words": len(content),
        "duration_s": report.duration_s,
        "kept_ranges_s": report.expected_duration_s,
        "max_join_offset_ms": round(report.max_offset_s * 1000, 1),
        "loudness_lufs": report.loudness_lufs,
    }


def render_speed(results: Path, source: Path) -> dict[str, object]:
    """The render against a plain encode of the same length; two chunks at once against one."""
    media = read_artifact(results / "media.json", MediaInfo)
    plan = read_artifact(results / "plan.json", Plan)
    broll = read_artifact(results / "broll" / "broll.json", Broll)
    config = RenderConfig()
    duration = read_artifact(results / "render.json", RenderReport).duration_s
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(source), "-t", f"{duration:.3f}",
             "-c:v", "libx264", "-preset", config.preset, "-crf", str(config.crf), "-c:a", "aac",
             "-b:a", config.audio_bitrate, str(folder / "plain.mp4")],
            check=True,
        )  # fmt: skip
        plain = time.perf_counter() - start

        def full_render(chunk_s: float, workers: int) -> float:
            settings = config.model_copy(update={"chunk_s": chunk_s})
            began = time.perf_counter()
            sound = folder / f"c{chunk_s}.m4a"
            # the sound the workflow's render played: the studio sound when the demo made one
            played = results / "enhanced.flac"
            played = played if played.exists() else results / "audio_48k.wav"
            render_audio(played, media, plan, settings, sound)
            jobs = chunk_jobs(plan, media, settings, broll, results)
            outs = [folder / f"c{chunk_s}-{j.index}.mp4" for j in jobs]
            with ThreadPoolExecutor(workers) as pool:
                list(
                    pool.map(
                        lambda jo: render_chunk(source, media, jo[0], settings, jo[1]),
                        zip(jobs, outs, strict=True),
                    )
                )
            join_chunks(outs, sound, folder / f"final-{chunk_s}.mp4")
            return time.perf_counter() - began

        one = full_render(1e9, 1)
        two = full_render(duration / 2 + 0.5, 2)
    return {
        "edited_s": duration,
        "plain_encode_s": round(plain, 2),
        "render_one_chunk_s": round(one, 2),
        "ratio_to_plain_encode": round(one / plain, 2),
        "render_two_chunks_parallel_s": round(two, 2),
        "chunked_speedup": round(one / two, 2),
        "broll_clips_overlaid": len(broll.clips),
    }


def eval_package() -> dict[str, object]:
    """The whole workflow over ../shared/media/eval; what every clip got."""
    folder = REPO.parent / "shared" / "media" / "eval"
    project = OUT / "eval-project"
    shutil.rmtree(project, ignore_errors=True)
    (project / "input").mkdir(parents=True)
    for clip in sorted(folder.iterdir()):
        os.symlink(clip, project / "input" / clip.name)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(project), "--cores", "2",
         "--keep-going"], capture_output=True, text=True,
    )  # fmt: skip
    wall = time.perf_counter() - start
    results = {}
    for clip in sorted((project / "input").iterdir()):
        if clip.suffix.lower() not in {".mp4", ".mpg"}:
            continue
        out = project / "results" / clip.stem.lower()
        results[clip.name] = {
            "final.mp4": (out / "final.mp4").is_file(),
            "thumbnails": len(list((out / "thumbnails").glob("*.png")))
            if (out / "thumbnails").is_dir()
            else 0,
            "metadata": (out / "metadata.json").is_file(),
            "context": (out / "context.json").is_file(),
        }
    errors = [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("ave ")]
    return {"wall_s": round(wall, 1), "exit_code": proc.returncode, "clips": results, "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", action="store_true", help="also run the workflow over ../shared/media/eval")
    args = parser.parse_args()
    results = DEMO / "results" / "talk"
    if not (results / "final.mp4").exists():
        sys.exit("run `make demo` first: bench.outputs reads examples/demo/results/talk/")
    result: dict[str, object] = {
        "demo_retranscribed": retranscribe(results),
        "render_speed": render_speed(results, DEMO / "input" / "talk.mp4"),
    }
    if args.eval:
        result["eval_package"] = eval_package()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "outputs.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
