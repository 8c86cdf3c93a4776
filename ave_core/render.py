"""Rendering the plan with ffmpeg: one filter graph per chunk, chunks joined without re-encoding the video,
two-pass loudness normalisation, and an integrity check of duration and audio/video sync at every join.

Keep ranges are snapped to the output frame grid first, so that video (whole frames) and audio (samples)
of every piece have exactly the same length and nothing drifts however many joins there are.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import RenderConfig
from .errors import AveError
from .models import (
    Broll,
    EditLoudness,
    JoinCheck,
    Loudness,
    MediaInfo,
    Plan,
    RenderReport,
    make_producer,
)
from .publish import publishing, write_text_atomic
from .timemap import EditMap, FrameGrid, output_fps
from .tools import ffmpeg_binary, ffprobe_binary, run_tool, tool_version

AUDIO_RATE = 48000
SYNC_WINDOW_S = 1.0  # audio compared after each join
SYNC_SEARCH_S = 0.25  # largest offset searched for
SYNC_MIN_RMS = 0.003  # quieter windows carry no timing information


class RenderError(AveError):
    """The render failed or did not pass its integrity check."""


@dataclass(frozen=True)
class Piece:
    """A stretch of the source shown in the edit, on the output frame grid (frame indices)."""

    start_frame: int
    end_frame: int
    zoom: bool = False
    fade_in: bool = False
    fade_out: bool = False

    def seconds(self, fps: float) -> tuple[float, float]:
        return self.start_frame / fps, self.end_frame / fps

    @property
    def frames(self) -> int:
        return self.end_frame - self.start_frame


def plan_pieces(plan: Plan, media: MediaInfo, config: RenderConfig, effects: bool = True) -> list[Piece]:
    """The keep ranges on the frame grid, split where a punch-in starts or ends and where chapters turn.

    The director puts the plan's cuts on this grid already (FrameGrid), so the keep ranges map to frames
    exactly and captions, chapters and the timeline, which read the plan, match the picture. Without
    `effects` the pieces are the bare keep ranges (no punch-ins, no dips to black): the shorts' cut.
    """
    grid = FrameGrid.of(media)
    bounds = [(grid.frame(s.start), min(grid.frame(s.end), grid.end_frame)) for s in plan.keep]
    zooms = [(grid.frame(e.time), grid.frame(e.time + config.punch_in_s)) for e in plan.emphasis]
    turns = {grid.frame(t.time) for t in plan.transitions} if config.transition_s > 0 else set()
    if not effects:
        zooms, turns = [], set()
    pieces: list[Piece] = []
    for start, end in bounds:
        if end <= start:
            continue
        cuts = sorted(
            {
                start,
                end,
                *(f for z in zooms for f in z if start < f < end),
                *(f for f in turns if start < f < end),
            }
        )
        for a, b in zip(cuts, cuts[1:], strict=False):
            zoom = any(z0 <= a and b <= z1 for z0, z1 in zooms)
            pieces.append(Piece(a, b, zoom=zoom, fade_in=a in turns, fade_out=b in turns))
    return pieces


def window_pieces(pieces: Sequence[Piece], start_frame: int, end_frame: int) -> list[Piece]:
    """The pieces that show edited frames [start_frame, end_frame), cut to that window: a stretch of the
    edit on the same frame grid, so its picture and sound match the edit's to the frame."""
    window: list[Piece] = []
    offset = 0
    for piece in pieces:
        first = max(start_frame, offset)
        last = min(end_frame, offset + piece.frames)
        if last > first:
            window.append(Piece(piece.start_frame + first - offset, piece.start_frame + last - offset))
        offset += piece.frames
    return window


def chunk_pieces(pieces: Sequence[Piece], fps: float, chunk_s: float) -> list[list[Piece]]:
    """Pieces grouped into chunks of about `chunk_s` edited seconds (never splitting a piece)."""
    chunks: list[list[Piece]] = [[]]
    length = 0.0
    for piece in pieces:
        if chunks[-1] and length + piece.frames / fps > chunk_s:
            chunks.append([])
            length = 0.0
        chunks[-1].append(piece)
        length += piece.frames / fps
    return [c for c in chunks if c]


def chunk_count(plan: Plan, media: MediaInfo, config: RenderConfig) -> int:
    return max(1, len(chunk_pieces(plan_pieces(plan, media, config), output_fps(media), config.chunk_s)))


def edited_offset(pieces: Sequence[Piece], index: int, fps: float) -> float:
    """Edited time at which piece `index` starts."""
    return sum(p.frames for p in pieces[:index]) / fps


def _video_chain(
    piece: Piece, index: int, fps: float, size: tuple[int, int], lead_s: float, config: RenderConfig
) -> str:
    start, end = piece.seconds(fps)
    width, height = size
    chain = ["[0:v]"]
    if lead_s > 0.5 / fps:  # the picture starts after the sound: hold its first frame until then
        chain = [f"[0:v]setpts=PTS-STARTPTS,tpad=start_mode=clone:start_duration={lead_s:.6f},"]
    chain[0] += f"trim=start={start:.6f}:end={end:.6f}"
    chain += ["setpts=PTS-STARTPTS", f"fps={fps:.6f}"]
    chain.append(f"scale={width}:{height}:force_original_aspect_ratio=decrease")
    chain.append(f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,setsar=1")
    if piece.zoom:
        z = config.punch_in_zoom
        chain.append(f"scale=trunc(iw*{z}/2)*2:trunc(ih*{z}/2)*2,crop={width}:{height}")
    half = config.transition_s / 2
    duration = end - start
    if piece.fade_in and half > 0:
        chain.append(f"fade=t=in:st=0:d={min(half, duration / 2):.3f}")
    if piece.fade_out and half > 0:
        chain.append(f"fade=t=out:st={max(0.0, duration - half):.3f}:d={min(half, duration / 2):.3f}")
    # a source that drops frames at its end must not shorten the piece: repeat its last frame
    chain.append(f"setsar=1,tpad=stop_mode=clone:stop={piece.frames},trim=end_frame={piece.frames}")
    chain.append("format=yuv420p")
    return ",".join(chain) + f"[v{index}]"


def _audio_segment(piece: Piece, index: int, fps: float, source: str, fade_s: float) -> str:
    start, end = piece.seconds(fps)
    samples = round(end * AUDIO_RATE) - round(start * AUDIO_RATE)
    chain = [
        f"[{source}]atrim=start={start:.6f}:end={end + 1.0:.6f}",
        "asetpts=PTS-STARTPTS",
        f"aresample={AUDIO_RATE}",
        "aformat=sample_fmts=fltp:channel_layouts=stereo",
        f"atrim=end_sample={samples}",
        "apad",
        f"atrim=end_sample={samples}",
    ]
    if fade_s > 0:  # a few ms in and out: consecutive pieces join without a click and without drift
        duration = samples / AUDIO_RATE
        fade = min(fade_s, duration / 4)
        chain.append(f"afade=t=in:d={fade:.4f},afade=t=out:st={duration - fade:.6f}:d={fade:.4f}")
    return ",".join(chain) + f"[a{index}]"


def _silence_segment(piece: Piece, index: int, fps: float) -> str:
    start, end = piece.seconds(fps)
    samples = round(end * AUDIO_RATE) - round(start * AUDIO_RATE)
    return (
        f"anullsrc=r={AUDIO_RATE}:cl=stereo,atrim=end_sample={samples},"
        f"aformat=sample_fmts=fltp:channel_layouts=stereo[a{index}]"
    )


def audio_graph(
    pieces: Sequence[Piece],
    media: MediaInfo,
    fps: float,
    config: RenderConfig,
    enhanced_input: int | None = None,
) -> list[str]:
    """Filter chains producing [aout]: the pieces' audio (or silence) concatenated sample-exactly.

    The sound is the source's main audio stream, or, when `enhanced_input` is the index of the ffmpeg
    input holding it, the enhanced sound (studio sound, enhance.py), which keeps the source's time.
    """
    stream = media.main_audio()
    source = f"0:{stream.index}" if stream is not None else ""
    if enhanced_input is not None and stream is not None:
        source = f"{enhanced_input}:a:0"
    chains = []
    for i, piece in enumerate(pieces):
        if stream is None:
            chains.append(_silence_segment(piece, i, fps))
        else:
            chains.append(_audio_segment(piece, i, fps, source, config.join_fade_ms / 1000))
    chains.append("".join(f"[a{i}]" for i in range(len(pieces))) + f"concat=n={len(pieces)}:v=0:a=1[aout]")
    return chains


def measure_edit_loudness(
    source: Path, media: MediaInfo, plan: Plan, config: RenderConfig, enhanced: Path | None = None
) -> EditLoudness:
    """First pass over the whole edited audio: its EBU R128 loudness, which the second pass needs.

    ffmpeg's ebur128 filter measures what loudnorm's first pass does several times faster (loudnorm
    resamples to 192 kHz): minutes saved on an hours-long edit.
    """
    pieces = plan_pieces(plan, media, config)
    if not pieces:
        raise RenderError(f"{source}: the plan keeps nothing — check plan.json")
    return measure_pieces_loudness(source, media, pieces, config, enhanced)


def measure_pieces_loudness(
    source: Path,
    media: MediaInfo,
    pieces: Sequence[Piece],
    config: RenderConfig,
    enhanced: Path | None = None,
) -> EditLoudness:
    """The EBU R128 loudness of the sound of `pieces` joined as the render joins them (from `enhanced`, the
    studio sound, when given)."""
    from .audio import ebur128_loudness

    fps = output_fps(media)
    enhanced_input = 1 if enhanced is not None else None
    graph = ";".join([*audio_graph(pieces, media, fps, config, enhanced_input), "[aout]ebur128=peak=true[m]"])
    args = [ffmpeg_binary(), "-nostdin", "-hide_banner", "-nostats", "-i", str(source)]
    args += ["-i", str(enhanced)] if enhanced is not None else []
    args += ["-filter_complex", graph, "-map", "[m]", "-f", "null", "-"]
    proc = run_tool(args, what=f"{source}: measuring the edit's loudness")
    producer = make_producer("render_loudness", "ffmpeg", extra_versions={"ffmpeg": tool_version(args[0])})
    return EditLoudness(producer=producer, loudness=ebur128_loudness(proc.stderr, source))


def _loudnorm(measured: Loudness, config: RenderConfig) -> str:
    """Second pass: one static gain for the whole edit, then a peak limiter at the ceiling.

    The same gain in every chunk keeps chunked and single renders identical; loudnorm's dynamic mode
    would restart its gain curve at each chunk.
    """
    if measured.integrated_lufs is None:  # silence, below EBU R128's absolute gate: nothing to normalise
        return "anull"
    gain = config.target_lufs - measured.integrated_lufs
    ceiling = 10 ** (config.true_peak_db / 20)
    return f"volume={gain:.2f}dB,alimiter=limit={ceiling:.4f}:attack=1:release=50:level=false"


@dataclass(frozen=True)
class ChunkJob:
    """One render chunk: which pieces, where it starts in the edit, and where B-roll goes in it."""

    index: int
    pieces: tuple[Piece, ...]
    start_s: float
    # clip path, edited start within the chunk, duration, whether it has alpha; cutaways before overlays
    broll: tuple[tuple[str, float, float, bool], ...]


def chunk_jobs(
    plan: Plan, media: MediaInfo, config: RenderConfig, broll: Broll | None, results_dir: Path
) -> list[ChunkJob]:
    """Every chunk of the render with the B-roll clips that fall inside it."""
    fps = output_fps(media)
    pieces = plan_pieces(plan, media, config)
    grouped = chunk_pieces(pieces, fps, config.chunk_s)
    edit_map = EditMap.from_keep(plan.keep)
    placements = []
    if broll is not None and config.broll:
        # overlays (lower thirds, characters) go over the cutaways shown at the same time: a character
        # points at the chart rather than hiding behind it
        for clip in sorted(broll.clips, key=lambda c: c.has_alpha):
            at = edit_map.to_edited(clip.start)
            if at is not None:
                placements.append((str(results_dir / clip.path), at, clip.duration, clip.has_alpha))
    jobs, cursor = [], 0.0
    for index, group in enumerate(grouped):
        length = sum(p.frames for p in group) / fps
        inside = tuple(
            (path, at - cursor, min(duration, cursor + length - at), has_alpha)
            for path, at, duration, has_alpha in placements
            if cursor <= at < cursor + length
        )
        jobs.append(ChunkJob(index, tuple(group), cursor, inside))
        cursor += length
    return jobs


def chunk_captions(captions: Path, job: ChunkJob, length_s: float, out: Path) -> bool:
    """The captions that fall in this chunk, re-timed to it, as SRT at `out`; False when there are none."""
    from .asr import parse_captions
    from .captions import Cue, to_srt

    try:
        cues = parse_captions(captions)
    except AveError:
        return False  # an empty caption file: nothing to burn
    inside = [
        Cue(max(0.0, a - job.start_s), min(length_s, b - job.start_s), [text])
        for a, b, text in cues
        if b > job.start_s and a < job.start_s + length_s
    ]
    if not inside:
        return False
    write_text_atomic(out, to_srt(inside))
    return True


def piece_chains(
    pieces: Sequence[Piece], media: MediaInfo, size: tuple[int, int], config: RenderConfig
) -> list[str]:
    """Filter chains producing [vcat]: the pieces' pictures at `size`, on the frame grid, concatenated."""
    fps = output_fps(media)
    lead = media.video.start_s if media.video else 0.0
    chains = [_video_chain(p, i, fps, size, lead, config) for i, p in enumerate(pieces)]
    chains.append("".join(f"[v{i}]" for i in range(len(pieces))) + f"concat=n={len(pieces)}:v=1:a=0[vcat]")
    return chains


def render_chunk(
    source: Path, media: MediaInfo, job: ChunkJob, measured: EditLoudness, config: RenderConfig,
    video_out: Path, audio_out: Path, captions: Path | None = None, threads: int = 0,
    enhanced: Path | None = None, cover: Path | None = None,
) -> None:  # fmt: skip
    """Render one chunk: H.264 video without audio, and its normalised audio as PCM WAV.

    `threads` caps the encoder's threads (0: ffmpeg's choice, all cores): a cluster job keeps to its CPUs.
    `enhanced`: the enhanced sound to use instead of the source's (None: the source's, as it is).
    A recording without picture becomes an audiogram: `cover` (or a plain ground), the waveform, captions.
    """
    fps = output_fps(media)
    width, height = output_size(media) if media.video is not None else audiogram_size(config)
    pieces = list(job.pieces)
    extra_inputs: list[str] = ["-i", str(enhanced)] if enhanced is not None else []
    audiogram = media.video is None
    if audiogram:  # a podcast: the picture is the cover image (or a plain ground) with the sound's waveform
        cover_input = 1 + (enhanced is not None) if cover is not None else None
        if cover is not None:
            extra_inputs += ["-loop", "1", "-framerate", f"{fps:.6f}", "-i", str(cover)]
        chains = _audiogram_chains(fps, (width, height), cover_input, sum(p.frames for p in pieces))
    else:
        chains = piece_chains(pieces, media, (width, height), config)
    label = "vcat"
    first_broll = 1 + extra_inputs.count("-i")
    for k, (path, at, duration, has_alpha) in enumerate(job.broll):
        extra_inputs += ["-i", path]
        stream = k + first_broll
        # an overlay of another size is scaled to the picture, any border around it transparent
        border = "black@0" if has_alpha else "black"
        chains.append(
            f"[{stream}:v]fps={fps:.6f},scale={width}:{height}:force_original_aspect_ratio=decrease,"
            f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:color={border},setsar=1,trim=duration={duration:.3f},"
            f"setpts=PTS-STARTPTS+{at:.6f}/TB[b{k}]"
        )
        chains.append(
            f"[{label}][b{k}]overlay=eof_action=pass:enable='between(t,{at:.6f},{at + duration:.6f})'[o{k}]"
        )
        label = f"o{k}"
    frames = sum(p.frames for p in pieces)
    burned = video_out.with_name(f"{video_out.stem}.captions.srt")
    video_out.parent.mkdir(parents=True, exist_ok=True)
    burn = config.burn_captions or audiogram  # an audiogram is watched without sound: it carries its captions
    if captions is not None and burn and chunk_captions(captions, job, frames / fps, burned):
        style = f"FontSize={config.caption_font_size},Outline=2,Shadow=0,MarginV=24"
        # the file name is ours (no quotes or colons in it), escaped for the filter graph all the same
        chains.append(f"[{label}]subtitles=filename='{filter_path(burned)}':force_style='{style}'[subs]")
        label = "subs"
    try:
        encode_pieces(
            source, media, pieces, chains, label, measured, config, video_out, audio_out,
            extra_inputs=extra_inputs, threads=threads, what=f"{source}: rendering chunk {job.index}",
            enhanced_input=1 if enhanced is not None else None, waveform=audiogram,
        )  # fmt: skip
    finally:
        burned.unlink(missing_ok=True)


def encode_pieces(
    source: Path, media: MediaInfo, pieces: Sequence[Piece], chains: Sequence[str], label: str,
    measured: EditLoudness, config: RenderConfig, video_out: Path, audio_out: Path, *,
    extra_inputs: Sequence[str] = (), threads: int = 0, what: str, enhanced_input: int | None = None,
    waveform: bool = False,
) -> None:  # fmt: skip
    """Encode the picture the filter `chains` leave at [label] as H.264 (exactly the pieces' frames) and
    the pieces' sound, normalised with the static gain of `measured`, as PCM WAV; each whole or not at all.
    `enhanced_input`: the input holding the studio sound to play instead of the source's; `waveform`: the
    finished sound is also given to the picture's chains as [awave] (an audiogram draws it)."""
    fps = output_fps(media)
    chains = [*chains, *audio_graph(pieces, media, fps, config, enhanced_input)]
    split = ",asplit=2[anorm][awave]" if waveform else "[anorm]"
    chains.append(
        f"[aout]{_loudnorm(measured.loudness, config)},aformat=sample_fmts=s16:channel_layouts=stereo{split}"
    )
    video_out.parent.mkdir(parents=True, exist_ok=True)
    frames = sum(p.frames for p in pieces)
    args = [ffmpeg_binary(), "-nostdin", "-v", "error", "-y", "-i", str(source), *extra_inputs]
    args += ["-filter_complex", ";".join(chains), "-map", f"[{label}]", "-frames:v", str(frames)]
    args += ["-c:v", "libx264", "-preset", config.preset, "-crf", str(config.crf), "-pix_fmt", "yuv420p"]
    with publishing(video_out, audio_out) as (video_partial, audio_partial):
        args += ["-threads", str(threads), "-r", f"{fps:.6f}", "-an", str(video_partial)]
        args += ["-map", "[anorm]", "-c:a", "pcm_s16le", "-ar", str(AUDIO_RATE), "-vn", str(audio_partial)]
        run_tool(args, what=what, writes=video_out)


AUDIOGRAM_GROUND = "0x14213d"  # a dark blue behind the waveform when there is no cover image
AUDIOGRAM_WAVE = "0xfca311"


def audiogram_size(config: RenderConfig) -> tuple[int, int]:
    """The picture size of a podcast's audiogram video (render.audiogram)."""
    return (1080, 1080) if config.audiogram == "square" else (1280, 720)


def _audiogram_chains(fps: float, size: tuple[int, int], cover_input: int | None, frames: int) -> list[str]:
    """Filter chains producing [vcat] for a recording without picture: the cover image (cropped to fill) or
    a plain ground, `frames` long, with the waveform of the chunk's finished sound ([awave]) across it."""
    width, height = size
    wave_height = height // 4 - (height // 4) % 2
    if cover_input is not None:
        ground = (
            f"[{cover_input}:v]scale={width}:{height}:force_original_aspect_ratio=increase,"
            f"crop={width}:{height},setsar=1,format=yuv420p,trim=end_frame={frames}[ground]"
        )
    else:
        ground = (
            f"color=c={AUDIOGRAM_GROUND}:s={width}x{height}:r={fps:.6f},format=yuv420p,"
            f"trim=end_frame={frames}[ground]"
        )
    wave = (
        f"[awave]aformat=channel_layouts=mono,showwaves=s={width}x{wave_height}:mode=cline:rate={fps:.6f}"
        f":colors={AUDIOGRAM_WAVE}:scale=sqrt,format=rgba[wave]"
    )
    top = (height - wave_height) // 2  # the middle: the burned captions sit at the foot
    # the picture is the ground's length: showwaves may end a frame or two early, and its last frame stays
    overlay = (
        f"[ground][wave]overlay=0:{top}:eof_action=repeat,setsar=1,format=yuv420p,"
        f"tpad=stop_mode=clone:stop={frames},trim=end_frame={frames}[vcat]"
    )
    return [ground, wave, overlay]


def filter_path(path: Path) -> str:
    """A path as an ffmpeg filter option value: backslashes, colons and quotes escaped."""
    return str(path.resolve()).replace("\\", "\\\\").replace(":", "\\:").replace("'", "\\'")


def output_size(media: MediaInfo) -> tuple[int, int]:
    video = media.video
    width = video.display_width if video else 1280
    height = video.display_height if video else 720
    return width - width % 2, height - height % 2


def join_chunks(videos: Sequence[Path], audios: Sequence[Path], out: Path, config: RenderConfig) -> None:
    """final.mp4: the chunks' video concatenated as is, their audio joined and encoded to AAC once."""
    # ffmpeg's concat lists go in a folder beside the output, named after it: a join killed midway leaves
    # it in the project (not in /tmp, for ever), and the next join clears it
    scratch = out.with_name(f".{out.stem}.join")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        listing = scratch / "videos.txt"
        write_text_atomic(listing, "".join(f"file '{_concat_path(v)}'\n" for v in videos))
        audio_list = scratch / "audios.txt"
        write_text_atomic(audio_list, "".join(f"file '{_concat_path(a)}'\n" for a in audios))
        args = [ffmpeg_binary(), "-nostdin", "-v", "error", "-y"]
        args += [
            "-f",
            "concat",
            "-safe",
            "0",
            "-i",
            str(listing),
            "-f",
            "concat",
            "-safe",
            "0",
            "-i",
            str(audio_list),
        ]
        args += ["-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-b:a", config.audio_bitrate]
        with publishing(out) as (partial,):
            args += ["-movflags", "+faststart", "-shortest", str(partial)]
            run_tool(args, what=f"{out}: joining {len(videos)} chunks")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _concat_path(path: Path) -> str:
    return str(path.resolve()).replace("'", "'\\''")


def _probe_stream(path: Path, selector: str, entries: str) -> dict[str, str]:
    proc = subprocess.run(
        [ffprobe_binary(), "-v", "error", "-select_streams", selector, "-show_entries", entries,
         "-of", "json", str(path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    streams = json.loads(proc.stdout or "{}").get("streams", [])
    return streams[0] if streams else {}


def decode_mono(path: Path, rate: int = 16000, until_s: float | None = None) -> np.ndarray:
    """The audio of a media file (up to `until_s` seconds) as float32 mono samples."""
    limit = ["-t", f"{until_s:.3f}"] if until_s is not None else []
    proc = subprocess.run(
        [ffmpeg_binary(), "-nostdin", "-v", "error", "-i", str(path), *limit, "-ac", "1", "-ar", str(rate),
         "-f", "f32le", "-"],
        capture_output=True, check=False,
    )  # fmt: skip
    return np.frombuffer(proc.stdout, dtype="<f4").copy()


def sync_offset(
    rendered: np.ndarray, source: np.ndarray, rate: int, edited_t: float, source_t: float
) -> JoinCheck | None:
    """How far the rendered audio after a join lies from the source audio it carries (cross-correlation)."""
    window = int(SYNC_WINDOW_S * rate)
    search = int(SYNC_SEARCH_S * rate)
    start = int(round(edited_t * rate))
    part = rendered[start : start + window]
    origin = int(round(source_t * rate))
    reference = source[max(0, origin - search) : origin + window + search]
    if part.size < window // 2 or reference.size < part.size or np.sqrt(np.mean(part**2)) < SYNC_MIN_RMS:
        return None
    part = (part - part.mean()) / (part.std() + 1e-9)
    scores = np.correlate(reference - reference.mean(), part, mode="valid")
    norms = np.sqrt(np.convolve((reference - reference.mean()) ** 2, np.ones(part.size), mode="valid")) + 1e-9
    correlation = scores / norms / np.sqrt(part.size)
    best = int(np.argmax(correlation))
    lag = best - (origin - max(0, origin - search))
    return JoinCheck(
        edited_time=round(edited_t, 3),
        offset_s=round(-lag / rate, 4),
        correlation=round(float(correlation[best]), 3),
    )


def check_render(
    final: Path, source_wav: Path | None, media: MediaInfo, plan: Plan, config: RenderConfig, chunks: int
) -> RenderReport:
    """Measure final.mp4: duration against the kept ranges, A/V sync at every join, loudness."""
    return check_pieces(final, source_wav, media, plan_pieces(plan, media, config), config, chunks)


def check_pieces(
    final: Path, source_wav: Path | None, media: MediaInfo, pieces: Sequence[Piece], config: RenderConfig,
    chunks: int, stage: str = "render",
) -> RenderReport:  # fmt: skip
    """Measure a rendered video of `pieces`: its duration against theirs, its sound against the source's at
    the start of every piece (cross-correlation), its loudness; a RenderError when it is off."""
    fps = output_fps(media)
    expected = sum(p.frames for p in pieces) / fps
    video = _probe_stream(final, "v:0", "stream=width,height,nb_frames,duration")
    frames = int(video.get("nb_frames", 0) or 0)
    duration = frames / fps if frames else float(video.get("duration", 0) or 0)
    if abs(duration - expected) > 1.0 / fps + 1e-6:
        raise RenderError(
            f"{final}: {duration:.3f} s long, the kept ranges add up to {expected:.3f} s — render again"
        )
    joins: list[JoinCheck] = []
    if source_wav is not None and media.has_audio:
        from .audio import read_pcm16

        source, rate = read_pcm16(source_wav)
        starts = [
            (edited_offset(pieces, i, fps), piece.start_frame / fps)
            for i, piece in enumerate(pieces)
            if not (i and pieces[i - 1].end_frame == piece.start_frame)  # else the source runs on
        ]
        # only as much of the rendered sound as the checks read: an uncut edit of hours needs seconds
        rendered = decode_mono(
            final, rate, until_s=max((t for t, _ in starts), default=0.0) + 2 * SYNC_WINDOW_S
        )
        for edited_t, source_t in starts:
            check = sync_offset(rendered, source, rate, edited_t, source_t)
            if check is not None:
                joins.append(check)
    worst = max((abs(j.offset_s) for j in joins if j.correlation > 0.5), default=0.0)
    limit = config.max_sync_offset_frames / fps
    if worst > limit + 1e-6:
        raise RenderError(
            f"{final}: audio is {worst * 1000:.0f} ms off the video at a join (limit {limit * 1000:.0f} ms)"
        )
    from .audio import measure_loudness

    loudness = measure_loudness(final, 1)[0].integrated_lufs if media.has_audio else None
    return RenderReport(
        producer=make_producer(stage, "ffmpeg", extra_versions={"ffmpeg": tool_version(ffmpeg_binary())}),
        path=final.name,
        duration_s=round(duration, 4),
        expected_duration_s=round(expected, 4),
        fps=fps,
        width=int(video.get("width", 0)),
        height=int(video.get("height", 0)),
        chunks=chunks,
        loudness_lufs=loudness,
        target_lufs=config.target_lufs,
        joins=joins,
        max_offset_s=round(worst, 4),
    )


def render_job_from_files(
    source: Path, media: MediaInfo, plan: Plan, broll: Broll | None, results_dir: Path, config: RenderConfig,
    index: int,
) -> ChunkJob:  # fmt: skip
    """The chunk `index` of the render, as the join step will expect it."""
    jobs = chunk_jobs(plan, media, config, broll, results_dir)
    if index >= len(jobs):
        raise RenderError(f"{source}: chunk {index} does not exist (the plan gives {len(jobs)})")
    return jobs[index]
