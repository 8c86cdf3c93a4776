"""Character B-roll: what Blender costs against movis, measured in the same run.

    .venv/bin/python -m bench.character [--seconds 2] [--repeats 2] [--sizes 640x360,1280x720]
                                        [--engines workbench,cycles] [--eevee]

For each size, alternately (A B A B ...): a character clip of `--seconds` (the wave, at 25 fps) rendered by
Blender from nothing (no cache: a Python process started, bpy imported, the presenter built, every frame
rendered and encoded), and a movis chart of the same length and size (ave's existing B-roll). Each runs in
a process of its own, so its peak memory (max RSS) is its own: Blender's is that of the process broll starts.
Blender's fixed cost (start, import, build, first frame) is measured with a one-frame clip in the same way.
Also: a cache hit, and the size of the extra on disk (bpy and what it brings). Writes bench/out/character.json
(character-TAG.json with --tag) and prints a table; the machine is shared, so only the ratios within one run
mean much. The figures in the README came from:

    python -m bench.character --seconds 2 --repeats 2 --sizes 640x360,1280x720 --engines workbench
    python -m bench.character --seconds 1 --repeats 1 --sizes 640x360 --engines cycles,eevee --tag engines
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

from bench.common import OUT

FPS = 25.0
EXTRA = ("bpy", "Cython", "zstandard")  # what `pip install ave[character]` adds to the rest of ave


def one_blender(
    engine: str, width: int, height: int, frames: int, samples: int, only_first: bool = False
) -> dict[str, float]:
    """Render one character clip from nothing (or only its first frame: the fixed cost); its wall seconds
    and the Blender process's max RSS."""
    from ave_core import character

    action = character.make_action("wave")
    settings = character.RenderSettings(engine, samples, True, 3600.0, threads=2)
    look = character.Look("#2f5fd0", "#ffb020", "#f1c7a1", "#3b2a20", 0.6, "right")
    fitted = character.fit_action(action, character.motion_s(frames, FPS))
    request = character.ClipRequest("wave", None, frames, FPS, width, height, look, settings, fitted)
    description = character.scene_description(request)
    if only_first:
        description["frames"] = 1
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        frames_made = character.run_blender(description, Path(folder), settings)
        character.encode_frames(frames_made, FPS, Path(folder) / "clip.mov")
        wall = time.perf_counter() - started
    return {"wall_s": wall, "max_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def one_movis(width: int, height: int, frames: int) -> dict[str, float]:
    """Render one movis chart of the same length; its wall seconds and this process's max RSS."""
    from ave_core.broll import render_broll
    from ave_core.models import Analysis, BrollSlot, Plan, SpokenNumber, make_producer

    slot_s = frames / FPS
    plan = Plan(
        producer=make_producer("direct", "bench"), backend="bench", keep=[], cuts=[],
        broll=[BrollSlot(start=1.0, end=1.0 + slot_s, kind="chart", text="60 %")],
    )  # fmt: skip
    said = SpokenNumber(text="60 %", value=60, kind="percent", context="Heating uses 60 % of it.", time=1.0)
    analysis = Analysis(producer=make_producer("analyze", "bench"), numbers=[said])
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        render_broll(plan, analysis, Path(folder), width, height, FPS)
        wall = time.perf_counter() - started
    return {"wall_s": wall, "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def measure(kind: str, *args: object) -> dict[str, float]:
    """Run one measurement in a fresh Python process."""
    command = [sys.executable, __file__, "--one", kind, *map(str, args)]
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} {args} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def extra_size_mb() -> dict[str, float]:
    """Installed size of each distribution the character extra brings, in MB."""
    sizes = {}
    for name in EXTRA:
        try:
            files = metadata.distribution(name).files or []
        except metadata.PackageNotFoundError:
            continue
        sizes[name] = sum(f.locate().stat().st_size for f in files if f.locate().is_file()) / 1e6
    return sizes


def cache_hit_s(tmp: Path) -> float:
    """Seconds for a clip the cache holds (rendered once first, at 320x180)."""
    from ave_core import character

    look = character.Look("#2f5fd0", "#ffb020", "#f1c7a1", "#3b2a20", 0.6, "right")
    settings = character.RenderSettings("workbench", 8, True, 3600.0, threads=2)
    fitted = character.fit_action(character.make_action("nod"), character.motion_s(25, FPS))
    request = character.ClipRequest("nod", None, 25, FPS, 320, 180, look, settings, fitted)
    character.render_clip(request, tmp / "first.mov", tmp / "cache")
    started = time.perf_counter()
    assert character.render_clip(request, tmp / "second.mov", tmp / "cache")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--sizes", default="640x360,1280x720")
    parser.add_argument("--engines", default="workbench,cycles")
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument(
        "--eevee", action="store_true", help="also Eevee (slow here: shaders compile on the CPU)"
    )
    parser.add_argument("--tag", default="", help="written to bench/out/character[-TAG].json")
    parser.add_argument("--one", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        kind, *rest = args.one
        if kind in ("blender", "blender-first"):
            engine, width, height, frames, samples = rest
            measured = one_blender(
                engine, int(width), int(height), int(frames), int(samples), kind != "blender"
            )
            print(json.dumps(measured))
        else:
            width, height, frames = rest
            print(json.dumps(one_movis(int(width), int(height), int(frames))))
        return

    frames = round(args.seconds * FPS)
    engines = args.engines.split(",") + (["eevee"] if args.eevee else [])
    rows = []
    started = time.perf_counter()
    for size in args.sizes.split(","):
        width, height = (int(v) for v in size.split("x"))
        for engine in engines:
            fixed = measure("blender-first", engine, width, height, frames, args.samples)
            for repeat in range(args.repeats):
                blender = measure("blender", engine, width, height, frames, args.samples)
                movis = measure("movis", width, height, frames)
                row = {
                    "size": size, "engine": engine, "repeat": repeat, "clip_s": frames / FPS,
                    "blender_s": round(blender["wall_s"], 2), "movis_s": round(movis["wall_s"], 2),
                    "blender_s_per_clip_s": round(blender["wall_s"] / (frames / FPS), 2),
                    "movis_s_per_clip_s": round(movis["wall_s"] / (frames / FPS), 2),
                    "ratio": round(blender["wall_s"] / movis["wall_s"], 2),
                    "blender_fixed_s": round(fixed["wall_s"], 2),
                    "blender_s_per_frame": round((blender["wall_s"] - fixed["wall_s"]) / (frames - 1), 3),
                    "blender_max_rss_mb": round(blender["max_rss_mb"]),
                    "movis_max_rss_mb": round(movis["max_rss_mb"]),
                }  # fmt: skip
                rows.append(row)
                print(json.dumps(row), flush=True)
    with tempfile.TemporaryDirectory() as folder:
        hit = cache_hit_s(Path(folder))
    sizes = extra_size_mb()
    result = {
        "machine": f"{platform.processor() or platform.machine()}, shared by other developers' jobs",
        "load_average": list(__import__("os").getloadavg()),
        "bpy": metadata.version("bpy") if "bpy" in sizes else "not installed",
        "rows": rows,
        "cache_hit_s": round(hit, 3),
        "extra_installed_mb": {k: round(v, 1) for k, v in sizes.items()},
        "took_s": round(time.perf_counter() - started, 1),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    name = f"character-{args.tag}.json" if args.tag else "character.json"
    (OUT / name).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    columns = ["size", "engine", "blender_s_per_clip_s", "movis_s_per_clip_s", "ratio", "blender_fixed_s",
               "blender_s_per_frame", "blender_max_rss_mb", "movis_max_rss_mb"]  # fmt: skip
    print("\n| " + " | ".join(columns) + " |\n" + "|---" * len(columns) + "|")
    for row in rows:
        print("| " + " | ".join(str(row[c]) for c in columns) + " |")
    total = sum(sizes.values())
    print(f"\ncache hit: {hit:.3f} s; extra on disk: {total:.0f} MB {result['extra_installed_mb']}")
    print(f"load average {result['load_average']}")


if __name__ == "__main__":
    main()
