"""Scale: planning time for a big project, cluster submissions with and without groups, SLURM against local.

    .venv/bin/python -m bench.scale [--videos 1000] [--grouped-videos 100]

- Planning: `snakemake --dry-run` on a project of N videos (hard links to one tiny clip) against one video.
- Submissions: how many cluster jobs a project of M videos becomes. Without groups every job is one
  submission; with profiles/slurm's `groups`, Snakemake joins a video's connected jobs of one group into one
  component, and packs `group-components` of them (if the profile sets any) into one submission. Job counts
  come from Snakemake's dry run, components from its `--rulegraph`. The render's chunks follow the `direct`
  checkpoint, which a dry run cannot see, so one chunk per video is assumed (true for edits up to
  render.chunk_s). The model is checked against the submissions the two-video SLURM run made
  (`make test-slurm` records them).
- SLURM against local: wall times of the same two-video project from `make test-slurm`, when it has run.
Writes bench/out/scale.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import yaml

from bench.common import OUT, REPO, snakemake
from bench.stages import planning_figures

PROFILE = REPO / "profiles" / "slurm" / "config.yaml"
SLURM_RUN = OUT / "slurm-run.json"
# jobs Snakemake runs itself on the submit host, never submitted
LOCAL_RULES = {"all"}
# jobs after the `direct` checkpoint, one each per video when the edit fits in one render chunk
AFTER_CHECKPOINT = {"render_audio": 1, "render_chunk": 1}
STATS_ROW = re.compile(r"^(\w+)\s+(\d+)$")
EDGE = re.compile(r"^\s*(\d+) -> (\d+)")
NODE = re.compile(r'^\s*(\d+)\[label = "(\w+)"')


def project_of(videos: int) -> Path:
    """A project of `videos` hard links to the tiny clip planning_figures() made."""
    project = OUT / f"plan-{videos}"
    if not (project / "input").is_dir() or len(list((project / "input").iterdir())) != videos:
        shutil.rmtree(project, ignore_errors=True)
        (project / "input").mkdir(parents=True)
        for index in range(videos):
            os.link(OUT / "tiny.mp4", project / "input" / f"lesson {index:03d}.mp4")
    return project


def job_counts(project: Path) -> dict[str, int]:
    """Jobs per rule that a dry run plans, plus the render jobs behind the checkpoint."""
    proc = subprocess.run(snakemake(project, "--dry-run"), capture_output=True, text=True, check=True)
    text = proc.stdout + proc.stderr
    table = text[text.index("Job stats:") :].split("total")[0]
    counts = {
        m.group(1): int(m.group(2)) for line in table.splitlines() if (m := STATS_ROW.match(line.strip()))
    }
    videos = counts["probe"]
    for rule, per_video in AFTER_CHECKPOINT.items():
        counts[rule] = videos * per_video
    return {rule: count for rule, count in counts.items() if rule not in LOCAL_RULES}


def rule_edges(project: Path) -> set[tuple[str, str]]:
    """(upstream rule, downstream rule) pairs of the workflow, from Snakemake's --rulegraph."""
    proc = subprocess.run(snakemake(project, "--rulegraph"), capture_output=True, text=True, check=True)
    names: dict[str, str] = {}
    edges: set[tuple[str, str]] = set()
    for line in proc.stdout.splitlines():
        if node := NODE.match(line):
            names[node.group(1)] = node.group(2)
        elif edge := EDGE.match(line):
            edges.add((edge.group(1), edge.group(2)))
    return {(names[a], names[b]) for a, b in edges}


def components_per_video(rules: set[str], edges: set[tuple[str, str]]) -> int:
    """Connected components of one video's jobs of a group (each rule runs once per video)."""
    parent = {rule: rule for rule in rules}

    def root(rule: str) -> str:
        while parent[rule] != rule:
            rule = parent[rule]
        return rule

    for a, b in edges:
        if a in rules and b in rules:
            parent[root(a)] = root(b)
    return len({root(rule) for rule in rules})


def submissions(counts: dict[str, int], videos: int, edges: set[tuple[str, str]]) -> dict[str, object]:
    """Cluster submissions without groups and with the SLURM profile's groups."""
    profile = yaml.safe_load(PROFILE.read_text())
    groups: dict[str, set[str]] = defaultdict(set)
    for rule, group in profile["groups"].items():
        groups[group].add(rule)
    grouped_rules = set().union(*groups.values())
    # Snakemake packs the components that are ready together: all videos' at best, one video's at worst
    best, worst = {}, {}
    for group, rules in sorted(groups.items()):
        per_video = components_per_video(rules, edges)
        size = profile.get("group-components", {}).get(group, 1)
        best[group] = math.ceil(per_video * videos / size)
        worst[group] = math.ceil(per_video / size) * videos
    ungrouped = sum(count for rule, count in counts.items() if rule not in grouped_rules)
    return {
        "videos": videos,
        "without_groups": sum(counts.values()),
        "with_groups_at_least": ungrouped + sum(best.values()),
        "with_groups_at_most": ungrouped + sum(worst.values()),
        "ungrouped_jobs": ungrouped,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--videos", type=int, default=1000, help="videos in the planning project")
    parser.add_argument("--grouped-videos", type=int, default=100, help="videos in the submissions project")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)

    planning = planning_figures(args.videos)
    edges = rule_edges(project_of(1))
    model = {
        count: submissions(job_counts(project_of(count)), count, edges) for count in (2, args.grouped_videos)
    }
    figures: dict[str, object] = {"planning": planning, "submissions": model[args.grouped_videos]}
    if SLURM_RUN.exists():
        run = json.loads(SLURM_RUN.read_text())
        figures["slurm_run"] = {
            **run,
            "model_range": [model[2]["with_groups_at_least"], model[2]["with_groups_at_most"]],
        }
    (OUT / "scale.json").write_text(json.dumps(figures, indent=2))

    m = model[args.grouped_videos]
    print("| figure | value |\n|---|---|")
    print(f"| dry run, 1 video | {planning['dry_run_1_video_s']} s |")
    print(
        f"| dry run, {args.videos} videos | {planning[f'dry_run_{args.videos}_videos_s']} s "
        f"({planning['ratio_to_1_video']}x one video, {planning['per_extra_video_ms']} ms per extra video) |"
    )
    print(f"| cluster submissions, {m['videos']} videos, no groups | {m['without_groups']} |")
    print(
        f"| cluster submissions, {m['videos']} videos, profiles/slurm groups | "
        f"{m['with_groups_at_least']} to {m['with_groups_at_most']} |"
    )
    if "slurm_run" in figures:
        run = figures["slurm_run"]
        print(
            f"| two-video run, SLURM / local wall time | {run['slurm_s']} s / {run['local_s']} s = "
            f"{run['slurm_s'] / run['local_s']:.2f} |"
        )
        low, high = run["model_range"]
        print(f"| two-video run, submissions made (model) | {run['slurm_jobs']} ({low} to {high}) |")


if __name__ == "__main__":
    main()
