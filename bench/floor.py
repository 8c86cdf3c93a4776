"""The whole workflow on a long 720p talk against the ffmpeg floor, measured in the same run.

    .venv/bin/python -m bench.floor                    # 15-minute 720p30 talk, 2 cores, A B A B
    .venv/bin/python -m bench.floor --repeats 1        # A B only
    .venv/bin/python -m bench.floor --hours 2 --size 320x180 --fps 15 --repeats 1 --no-floor
                                                       # a 2-hour recording: memory stays bounded

The floor is what any edit of the file must at least do: one ffmpeg run that decodes the input and encodes an
output of the same length with x264 at the render's preset and CRF (and AAC at its bit rate), on the same
cores. The workflow is `snakemake --cores N` on a fresh project holding the talk (research offline, rule-based
Director: no network). Floor and workflow alternate (A B A B) so that the machine's load weighs on both alike;
the ratio of each pair is reported with the load averages. Peak RSS is the largest resident set of any
process of the run (Snakemake and every job: getrusage of the waited-for children), and per rule from
Snakemake's benchmark files.

The talk (ave_core.synth, the demo script said again and again, a shot cut every 30 s) is generated once and
cached in bench/out/. Writes bench/out/floor.json and the section of docs/benchmarks.md between its markers.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ave_core.config import RenderConfig
from ave_core.synth import DEMO_SCRIPT, make_recording
from bench.common import OUT, REPO, benchmark_row, replace_section, snakemake

DOC = REPO / "docs" / "benchmarks.md"
SECTION = ("<!-- bench/floor.py: begin -->", "<!-- bench/floor.py: end -->")
SCRIPT_SECONDS = 64.4  # one pass of DEMO_SCRIPT
OFFLINE = "research:\n  backend: offline\ndirector:\n  backend: rules\nthumbnails:\n  backend: procedural\n"


def talk(minutes: float, width: int, height: int, fps: int) -> Path:
    """The generated talk, made once and kept in bench/out/."""
    path = OUT / f"talk-{minutes:g}min-{width}x{height}p{fps}.mp4"
    if not (path.exists() and path.with_suffix(".truth.json").exists()):
        started = time.perf_counter()
        repeat = max(1, round(minutes * 60 / SCRIPT_SECONDS))
        make_recording(path, DEMO_SCRIPT, width=width, height=height, fps=fps, repeat=repeat,
                       shots=max(2, round(minutes * 2)))  # fmt: skip
        print(f"generated {path.name} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return path


def children_usage() -> tuple[float, float]:
    """CPU seconds and the largest resident set (MB) of the children waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def timed_run(command: list[str], cwd: Path | None = None) -> dict[str, float]:
    """Wall and CPU seconds of a command that must succeed."""
    cpu_before, _ = children_usage()
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"{' '.join(command[:4])} ... failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    cpu_after, _ = children_usage()
    return {"wall_s": round(wall, 1), "cpu_s": round(cpu_after - cpu_before, 1)}


def floor(source: Path, cores: int, scratch: Path) -> dict[str, float]:
    """One ffmpeg run: decode the input, encode an output of the same length as the render would."""
    config = RenderConfig()
    out = scratch / "floor.mp4"
    command = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(source), "-c:v", "libx264"]
    command += ["-preset", config.preset, "-crf", str(config.crf), "-pix_fmt", "yuv420p"]
    command += ["-threads", str(cores), "-c:a", "aac", "-b:a", config.audio_bitrate, str(out)]
    figures = timed_run(command)
    out.unlink(missing_ok=True)
    return figures


def workflow(source: Path, cores: int, project: Path) -> dict[str, Any]:
    """The whole workflow on a fresh project holding `source`; its time, memory and per-rule figures."""
    shutil.rmtree(project, ignore_errors=True)
    (project / "input").mkdir(parents=True)
    os.link(source, project / "input" / "talk.mp4")
    (project / "config.yaml").write_text(OFFLINE)
    figures: dict[str, Any] = timed_run(snakemake(project, cores=cores), cwd=project)
    figures["stages"] = stage_table(project / "benchmarks" / "talk")
    figures["peak_job_rss_mb"] = max(s["max_rss_mb"] for s in figures["stages"].values())
    render = json.loads((project / "results" / "talk" / "render.json").read_text())
    figures["edited_s"] = render["duration_s"]
    figures["max_join_offset_ms"] = round(render["max_offset_s"] * 1000, 1)
    figures["joins_checked"] = len(render["joins"])
    return figures


def stage_table(folder: Path) -> dict[str, dict[str, float]]:
    """Seconds, CPU seconds and max RSS per rule; the render's chunks added up (RSS: the largest)."""
    table: dict[str, dict[str, float]] = {}
    for tsv in sorted(folder.glob("*.tsv")):
        rule = "render_chunk" if tsv.stem.startswith("render_chunk-") else tsv.stem
        row = benchmark_row(tsv)
        entry = table.setdefault(rule, {"seconds": 0.0, "cpu_time_s": 0.0, "max_rss_mb": 0.0, "jobs": 0})
        entry["seconds"] = round(entry["seconds"] + row["seconds"], 1)
        entry["cpu_time_s"] = round(entry["cpu_time_s"] + row["cpu_time_s"], 1)
        entry["max_rss_mb"] = max(entry["max_rss_mb"], round(row["max_rss_mb"]))
        entry["jobs"] += 1
    return table


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def measure(args: argparse.Namespace) -> dict[str, Any]:
    width, height = (int(v) for v in args.size.split("x"))
    source = talk(args.hours * 60 if args.hours else args.minutes, width, height, args.fps)
    scratch = OUT / "floor-scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    project = OUT / "floor-project"
    pairs = []
    loads = [load()]
    for repeat in range(args.repeats):
        pair: dict[str, Any] = {}
        if not args.no_floor:
            print(f"[{repeat + 1}/{args.repeats}] floor ...", file=sys.stderr)
            pair["floor"] = floor(source, args.cores, scratch)
        print(f"[{repeat + 1}/{args.repeats}] workflow ...", file=sys.stderr)
        pair["workflow"] = workflow(source, args.cores, project)
        if "floor" in pair:
            pair["ratio"] = round(pair["workflow"]["wall_s"] / pair["floor"]["wall_s"], 2)
        pair["load_after"] = load()
        loads.append(pair["load_after"])
        print(f"   {json.dumps({k: v for k, v in pair.items() if k != 'workflow'})} "
              f"workflow {pair['workflow']['wall_s']} s", file=sys.stderr)  # fmt: skip
        pairs.append(pair)
    shutil.rmtree(scratch, ignore_errors=True)
    _, peak_mb = children_usage()
    media = json.loads((project / "results" / "talk" / "media.json").read_text())
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["python -m bench.floor", *sys.argv[1:]]),
        "machine": {"cpus": os.cpu_count(), "cores_used": args.cores, "python": platform.python_version()},
        "loads": loads,
        "input": {"file": source.name, "duration_s": media["duration_s"], "size": args.size, "fps": args.fps},
        "render": RenderConfig().model_dump(include={"preset", "crf", "chunk_s", "audio_bitrate"}),
        "pairs": pairs,
        "peak_rss_mb": round(peak_mb),
    }


def markdown(result: dict[str, Any]) -> str:
    """The docs/benchmarks.md section."""
    pairs = result["pairs"]
    last = pairs[-1]["workflow"]
    source, machine, render = result["input"], result["machine"], result["render"]
    loads = " → ".join("/".join(str(x) for x in triple) for triple in result["loads"])
    floor_command = (
        f"ffmpeg -i INPUT -c:v libx264 -preset {render['preset']} -crf {render['crf']} -c:a aac "
        f"-b:a {render['audio_bitrate']}"
    )
    lines = [
        SECTION[0],
        "<!-- written by python -m bench.floor; do not edit by hand -->",
        "## The whole workflow against the ffmpeg floor",
        "",
        f"`{result['command']}` on {machine['cpus']} CPUs, {machine['cores_used']} used, {result['date']}. "
        f"Input: `{source['file']}` ({source['duration_s']:.0f} s, {source['size']} at {source['fps']} fps, "
        f"generated by `ave_core.synth`). Floor: one `{floor_command}` over the whole input (a decode and an "
        "encode of the same length) on the same cores; workflow: `snakemake --cores N` on a fresh project "
        "(research offline, rule-based Director). They alternate, A B A B, and the machine was shared with "
        f"other work: compare the ratios, not the seconds. Load averages (1/5/15 min) at the start and after "
        f"each pair: {loads}.",
        "",
        "| pair | floor s (CPU s) | workflow s (CPU s) | workflow / floor |",
        "|---|---|---|---|",
    ]  # fmt: skip
    for index, pair in enumerate(pairs, start=1):
        floor_cell = f"{pair['floor']['wall_s']} ({pair['floor']['cpu_s']})" if "floor" in pair else "–"
        ratio = f"**{pair['ratio']:.2f}x**" if "ratio" in pair else "–"
        work = pair["workflow"]
        lines.append(f"| {index} | {floor_cell} | {work['wall_s']} ({work['cpu_s']}) | {ratio} |")
    lines += [
        "",
        f"Peak RSS of any process of the runs: **{result['peak_rss_mb'] / 1024:.2f} GB** (the largest job: "
        f"{last['peak_job_rss_mb'] / 1024:.2f} GB). The render: {last['edited_s']:.0f} s edited, worst A/V "
        f"offset {last['max_join_offset_ms']} ms over {last['joins_checked']} joins checked.",
        "",
        "Per rule, last workflow run (Snakemake `benchmark:` files; the render chunks added up):",
        "",
        "| rule | jobs | seconds | CPU s | max RSS MB |",
        "|---|---|---|---|---|",
    ]
    for rule, row in sorted(last["stages"].items(), key=lambda item: -item[1]["seconds"]):
        lines.append(
            f"| {rule} | {row['jobs']} | {row['seconds']} | {row['cpu_time_s']} | {row['max_rss_mb']:.0f} |"
        )
    lines.append(SECTION[1])
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=15.0, help="length of the generated talk")
    parser.add_argument("--hours", type=float, default=0.0, help="length in hours (overrides --minutes)")
    parser.add_argument("--size", default="1280x720", help="picture size of the talk, WIDTHxHEIGHT")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2, help="floor/workflow pairs (A B A B)")
    parser.add_argument("--no-floor", action="store_true", help="the workflow only (a memory run)")
    parser.add_argument(
        "--report-only", action="store_true", help="rewrite the doc from bench/out/floor.json"
    )
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    name = "floor.json" if not args.hours else f"floor-{args.hours:g}h.json"
    if args.report_only:
        result = json.loads((OUT / name).read_text())
    else:
        result = measure(args)
        (OUT / name).write_text(json.dumps(result, indent=2) + "\n")
    if args.hours:  # a memory run: its figures go to bench/out only
        print(json.dumps({k: result[k] for k in ("peak_rss_mb", "loads")}), file=sys.stderr)
        return
    replace_section(DOC, SECTION, markdown(result))
    print(f"wrote bench/out/{name} and its section of {DOC.relative_to(REPO)}", file=sys.stderr)


if __name__ == "__main__":
    main()
