"""Pictures and pages for `snakemake --report`: a timeline picture of the edit, a contact sheet of the
shots (and of the character clips), and the metadata as HTML."""

from __future__ import annotations

import html
import subprocess
from pathlib import Path

import numpy as np

from .models import Analysis, AudioAnalysis, Broll, Metadata, Plan, Scenes, Thumbnails
from .publish import publishing, write_text_atomic

CUT_COLOURS = {"silence": "#9e9e9e", "filler": "#e53935", "retake": "#fb8c00"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display: render to files only
    import matplotlib.pyplot as plt

    return plt


def timeline_picture(
    audio: AudioAnalysis, plan: Plan, analysis: Analysis, duration: float, out: Path, width_in: float = 14
) -> None:
    """Energy, speech, cuts with reasons, B-roll, emphasis and emotional peaks over the source's time."""
    plt = _pyplot()
    figure, (energy, lanes) = plt.subplots(
        2, 1, figsize=(width_in, 4.6), sharex=True, gridspec_kw={"height_ratios": [2, 3]}
    )
    if audio.envelope and audio.envelope.rms_db:
        levels = np.asarray(audio.envelope.rms_db)
        times = (np.arange(levels.size) + 0.5) / audio.envelope.rate_hz
        energy.fill_between(times, -80, np.maximum(levels, -80), color="#5c6bc0", linewidth=0)
    for peak in analysis.emotional_peaks:
        energy.axvline(peak.time, color="#d81b60", linewidth=1.2)
    energy.set_ylim(-80, 0)
    energy.set_ylabel("dBFS")
    energy.set_title("energy (RMS) and emotional peaks")
    rows = {"speech": 3, "cuts": 2, "B-roll": 1, "emphasis": 0}
    for span in audio.speech:
        lanes.broken_barh([(span.start, span.duration)], (rows["speech"] - 0.35, 0.7), color="#43a047")
    for cut in plan.cuts:
        colour = next((c for r, c in CUT_COLOURS.items() if r in cut.reason), "#616161")
        lanes.broken_barh([(cut.start, cut.duration)], (rows["cuts"] - 0.35, 0.7), color=colour)
    for slot in plan.broll:
        lanes.broken_barh(
            [(slot.start, slot.end - slot.start)], (rows["B-roll"] - 0.35, 0.7), color="#00897b"
        )
        lanes.text(slot.start, rows["B-roll"] + 0.42, slot.text[:18], fontsize=7)
    for emphasis in plan.emphasis:
        lanes.plot([emphasis.time], [rows["emphasis"]], marker="v", color="#8e24aa", markersize=8)
    lanes.set_yticks(list(rows.values()), list(rows))
    lanes.set_xlim(0, max(duration, 1e-3))
    lanes.set_xlabel("source time (s)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in CUT_COLOURS.values()]
    lanes.legend(handles, [f"cut: {r}" for r in CUT_COLOURS], loc="upper right", fontsize=7, ncol=3)
    figure.tight_layout()
    try:
        with publishing(out) as (partial,):
            figure.savefig(partial, format="png", dpi=110)
    finally:
        plt.close(figure)


def contact_sheet(
    scenes: Scenes, results_dir: Path, out: Path, columns: int = 4, broll: Broll | None = None
) -> None:
    """Every shot's keyframe in a grid, labelled with its time range, then a frame of each character clip
    (at its gesture's height, over a checkerboard where it is transparent), labelled with its action."""
    plt = _pyplot()
    keyframes = [(s, results_dir / s.keyframe) for s in scenes.shots if s.keyframe]
    shots = [(shot, keyframe) for shot, keyframe in keyframes if keyframe.is_file()]
    characters = [
        c
        for c in (broll.clips if broll else [])
        if c.kind == "character" and (results_dir / c.path).is_file()
    ]
    shot_rows = max(1, -(-len(shots) // columns))
    rows = shot_rows + -(-len(characters) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(columns * 3.2, rows * 2.1), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, (shot, keyframe) in zip(axes.flat, shots, strict=False):
        axis.imshow(plt.imread(keyframe))
        axis.set_title(f"{shot.start:.1f}-{shot.end:.1f} s", fontsize=8)
    for axis, clip in zip(axes.flat[shot_rows * columns :], characters, strict=False):
        axis.imshow(on_checkerboard(clip_frame(results_dir / clip.path, 0.55 * clip.duration)))
        axis.set_title(f"character: {clip.action} at {clip.start:.1f} s", fontsize=8)
    figure.tight_layout()
    try:
        with publishing(out) as (partial,):
            figure.savefig(partial, format="png", dpi=100)
    finally:
        plt.close(figure)


def clip_frame(path: Path, at_s: float) -> np.ndarray:
    """The RGBA frame of a clip shown at `at_s` seconds."""
    from .tools import ffmpeg_binary, ffprobe_binary, run_tool

    size = run_tool(
        [ffprobe_binary(), "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
         "-of", "csv=p=0", path], what=f"{path}: reading its size",
    ).stdout.strip().split(",")  # fmt: skip
    width, height = int(size[0]), int(size[1])
    proc = subprocess.run(
        [ffmpeg_binary(), "-nostdin", "-v", "error", "-ss", f"{at_s:.3f}", "-i", str(path), "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "rgba", "-"],
        capture_output=True, check=False,
    )  # fmt: skip
    if proc.returncode != 0 or len(proc.stdout) != width * height * 4:
        return np.zeros((height, width, 4), dtype=np.uint8)
    return np.frombuffer(proc.stdout, dtype=np.uint8).reshape(height, width, 4)


def on_checkerboard(rgba: np.ndarray, square: int = 16) -> np.ndarray:
    """An RGBA picture over a grey checkerboard, as editors show transparency."""
    height, width = rgba.shape[:2]
    rows, cols = np.indices((height, width)) // square
    board = np.where(((rows + cols) % 2 == 0)[..., None], 0.62, 0.78) * np.ones(3)
    alpha = rgba[..., 3:4] / 255.0
    return rgba[..., :3] / 255.0 * alpha + board * (1 - alpha)


def metadata_page(metadata: Metadata, thumbnails: Thumbnails, out: Path) -> None:
    """The titles (with the thumbnail each pairs with), description and tags as a small HTML page."""
    titles = "".join(
        f"<li>{html.escape(t.text)} <small>({html.escape(t.strategy)}; thumbnail: {html.escape(t.thumbnail)})"
        "</small></li>"
        for t in metadata.titles
    )
    hooks = "".join(
        f"<li>{html.escape(t.strategy)}: <b>{html.escape(t.hook)}</b> ({html.escape(t.path)})</li>"
        for t in thumbnails.thumbnails
    )
    page = (
        "<html><body><h2>Titles</h2><ul>" + titles + "</ul><h2>Thumbnail hooks</h2><ul>" + hooks + "</ul>"
        "<h2>Description</h2><pre>" + html.escape(metadata.description) + "</pre>"
        "<h2>Tags</h2><p>" + html.escape(", ".join(metadata.tags)) + "</p>"
        "<h2>Hashtags</h2><p>" + html.escape(" ".join(metadata.hashtags)) + "</p></body></html>"
    )
    write_text_atomic(out, page)
