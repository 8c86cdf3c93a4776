"""Rendering the plan: the picture with ffmpeg, one filter graph per chunk, chunks joined without re-encoding;
the sound once for the whole edit from the source's sound decoded by its time base (ave_core.timebase),
measured and normalised to a static gain and encoded to AAC once; and an integrity check of duration and
audio/video sync at every join.

Keep ranges are snapped to the output frame grid first, and the sound's pieces are cut at the samples of
the same edited frame boundaries, so picture and sound stay together however many joins there are.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator, Sequence
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
from .review import COPY_KEYFRAME_S, concat_path, small_picture_codec, small_picture_filter
from .timebase import SOURCE_AUDIO_RATE, SPEECH_RATE, SourceAudio, edit_audio_blocks, opened_sound
from .timemap import EditMap, FrameGrid, output_fps
from .tools import ffmpeg_binary, ffprobe_binary, run_tool, run_tool_fed, tool_version

AUDIO_RATE = SOURCE_AUDIO_RATE  # the render's sound is the source's, at the rate it was decoded to
SEEK_MARGIN_S = 1.0  # a chunk opens the source this long before its first piece
SYNC_WINDOW_S = 1.0  # audio compared after each join
SYNC_SEARCH_S = 0.25  # largest offset searched for
SYNC_MIN_WINDOW_S = 0.25  # a stretch between two joins shorter than this is not checked
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
    piece: Piece, index: int, fps: float, size: tuple[int, int], origin_s: float, lead_s: float,
    config: RenderConfig,
) -> str:  # fmt: skip
    """One piece's picture. The input was opened at `origin_s` (its timestamps start there); a picture that
    starts `lead_s` after the sound holds its first frame until then (only when opened at 0)."""
    start, end = piece.seconds(fps)
    width, height = size
    chain = ["[0:v]"]
    if origin_s == 0 and lead_s > 0.5 / fps:  # hold the first picture until it comes
        chain = [f"[0:v]setpts=PTS-STARTPTS,tpad=start_mode=clone:start_duration={lead_s:.6f},"]
    chain[0] += f"trim=start={start - origin_s:.6f}:end={end - origin_s:.6f}"
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


def chunk_origin_s(pieces: Sequence[Piece], fps: float, lead_s: float) -> float:
    """Where a chunk opens the source: a little before its first piece, so that ffmpeg seeks there rather
    than decoding everything before it; 0 while the picture's start (held until it comes) is that near."""
    first = min(p.start_frame for p in pieces) / fps
    origin = first - SEEK_MARGIN_S
    return 0.0 if origin <= lead_s + SEEK_MARGIN_S else round(origin, 6)


def audio_spans(pieces: Sequence[Piece], fps: float, rate: int = AUDIO_RATE) -> list[tuple[int, int, bool]]:
    """(source start sample, samples, fade) of each piece's sound. A piece's length is cut at the samples of
    its edited frame boundaries, so the sound never drifts from the picture (at 29.97 fps a frame is 1601.6
    samples); a piece that continues the previous one in the source joins it without a fade."""
    spans = []
    edited_frames = 0
    for index, piece in enumerate(pieces):
        first = round(edited_frames / fps * rate)
        edited_frames += piece.frames
        count = round(edited_frames / fps * rate) - first
        continues = index > 0 and pieces[index - 1].end_frame == piece.start_frame
        spans.append((round(piece.start_frame / fps * rate), count, not continues))
    return spans


def _pieces_blocks(
    audio: SourceAudio, pieces: Sequence[Piece], media: MediaInfo, config: RenderConfig
) -> Iterator[np.ndarray]:
    """The sound of `pieces` joined as the render joins them, as float32 blocks at AUDIO_RATE of the
    sound's own channels (mono stays mono)."""
    if audio.rate != AUDIO_RATE:
        raise RenderError(f"{audio.path}: {audio.rate} Hz, expected {AUDIO_RATE} — delete it and rerun")
    spans = audio_spans(pieces, output_fps(media))
    fade_s = config.join_fade_ms / 1000 if config.join_fade_ms else 0.0
    return edit_audio_blocks(audio, spans, fade_s, channels=_edit_channels(audio))


def _edit_channels(audio: SourceAudio) -> int:
    """The edit's channels: a mono sound stays mono (a stereo copy of it would be the same sound at twice
    the encoding work), anything else is stereo."""
    return 1 if audio.channels == 1 else 2


def _raw_input(channels: int) -> list[str]:
    return ["-f", "f32le", "-ar", str(AUDIO_RATE), "-ac", str(channels), "-i", "pipe:0"]


def _edit_pieces(plan: Plan, media: MediaInfo, config: RenderConfig) -> list[Piece]:
    pieces = plan_pieces(plan, media, config)
    if not pieces:
        raise RenderError(f"{media.source.path}: the plan keeps nothing — check plan.json")
    return pieces


def measure_edit_loudness(sound: Path, media: MediaInfo, plan: Plan, config: RenderConfig) -> EditLoudness:
    """First pass over the whole edited sound: its EBU R128 loudness, which the second pass needs.

    Only the sound is read (the source's sound decoded by its time base), never the video.
    """
    return measure_pieces_loudness(sound, media, _edit_pieces(plan, media, config), config)


def measure_pieces_loudness(
    sound: Path, media: MediaInfo, pieces: Sequence[Piece], config: RenderConfig
) -> EditLoudness:
    """The EBU R128 loudness of the sound of `pieces` joined as the render joins them, read from `sound`: the
    source's sound decoded by its time base (audio_48k.wav), or the studio sound on the same time base."""
    with opened_sound(sound) as audio:
        return _measure(audio, media, pieces, config)


def _measure(
    audio: SourceAudio, media: MediaInfo, pieces: Sequence[Piece], config: RenderConfig
) -> EditLoudness:
    from .audio import LOUDNESS_FILTER, ebur128_loudness

    args = [ffmpeg_binary(), "-nostdin", "-hide_banner", "-nostats", *_raw_input(_edit_channels(audio))]
    args += ["-af", LOUDNESS_FILTER, "-f", "null", "-"]
    blocks = _pieces_blocks(audio, pieces, media, config)
    stderr = run_tool_fed(args, blocks, what=f"{audio.path}: measuring the edit's loudness")
    producer = make_producer("render_audio", "ffmpeg", extra_versions={"ffmpeg": tool_version(args[0])})
    return EditLoudness(producer=producer, loudness=ebur128_loudness(stderr, audio.path))


def render_audio(sound: Path, media: MediaInfo, plan: Plan, config: RenderConfig, out: Path) -> EditLoudness:
    """The edit's sound, once for the whole video: measured, brought to the target loudness by one static
    gain and a peak limiter, encoded to AAC at `out` (an .m4a the join copies). Returns the measurement.

    `sound` is audio_48k.wav (the source's sound by its time base) or, with studio sound on, enhanced.flac
    (the same time base): only the sound is read, never the video."""
    return encode_pieces_sound(sound, media, _edit_pieces(plan, media, config), config, out)


def encode_pieces_sound(
    sound: Path, media: MediaInfo, pieces: Sequence[Piece], config: RenderConfig, out: Path
) -> EditLoudness:
    """The sound of `pieces` measured, normalised with one static gain and encoded to AAC at `out`, whole or
    not at all; returns the measurement."""
    with opened_sound(sound) as audio:
        measured = _measure(audio, media, pieces, config)
        channels = _edit_channels(audio)
        args = [ffmpeg_binary(), "-nostdin", "-v", "error", "-y", *_raw_input(channels)]
        gain = _loudnorm(measured.loudness, config)
        layout = "mono" if channels == 1 else "stereo"
        args += ["-af", f"{gain},aformat=sample_fmts=fltp:channel_layouts={layout}"]
        with publishing(out) as (partial,):
            args += ["-c:a", "aac", "-b:a", config.audio_bitrate, "-f", "mp4", str(partial)]
            run_tool_fed(
                args, _pieces_blocks(audio, pieces, media, config), what=f"{out}: encoding the edit's sound",
                writes=out,
            )  # fmt: skip
    return measured


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
class BrollPlacement:
    """A B-roll clip's part in one chunk: from `skip_s` into the clip, shown `shown_s` from `at_s` (edited
    seconds from the chunk's start). A clip that runs over a chunk's end goes on in the next chunk."""

    path: str
    at_s: float
    shown_s: float
    has_alpha: bool
    skip_s: float = 0.0


@dataclass(frozen=True)
class ChunkJob:
    """One render chunk: which pieces, where it starts in the edit, and where B-roll goes in it (cutaways
    before overlays)."""

    index: int
    pieces: tuple[Piece, ...]
    start_s: float
    broll: tuple[BrollPlacement, ...]


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
            BrollPlacement(
                path,
                max(at, cursor) - cursor,
                min(at + duration, cursor + length) - max(at, cursor),
                has_alpha,
                skip_s=max(0.0, cursor - at),
            )  # fmt: skip
            for path, at, duration, has_alpha in placements
            if at < cursor + length and at + duration > cursor + 0.5 / fps
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
    pieces: Sequence[Piece], media: MediaInfo, size: tuple[int, int], config: RenderConfig,
    origin_s: float = 0.0,
) -> list[str]:  # fmt: skip
    """Filter chains producing [vcat]: the pieces' pictures at `size`, on the frame grid, concatenated; the
    source is opened at `origin_s` (chunk_origin_s)."""
    fps = output_fps(media)
    lead = media.video.start_s if media.video else 0.0
    chains = [_video_chain(p, i, fps, size, origin_s, lead, config) for i, p in enumerate(pieces)]
    chains.append("".join(f"[v{i}]" for i in range(len(pieces))) + f"concat=n={len(pieces)}:v=1:a=0[vcat]")
    return chains


def render_chunk(
    source: Path, media: MediaInfo, job: ChunkJob, config: RenderConfig, video_out: Path,
    captions: Path | None = None, threads: int = 0, sound: Path | None = None, cover: Path | None = None,
    review_copy: Path | None = None, review_width: int = 320,
) -> None:  # fmt: skip
    """Render one chunk's picture as H.264 (the sound is rendered once for the whole edit: render_audio).

    The source is opened a little before the chunk's first piece, so a chunk decodes only its own stretch.
    `threads` caps the encoder's threads (0: ffmpeg's choice, all cores): a cluster job keeps to its CPUs.
    A recording without picture becomes an audiogram: `cover` (or a plain ground), the waveform of `sound`
    (the edit's finished sound, render/audio.m4a), captions. `review_copy`, when given, receives the same
    picture `review_width` across, as the review page's excerpts are made (a second output of the same
    frames: the review then needs no decode of final.mp4).
    """
    fps = output_fps(media)
    width, height = output_size(media) if media.video is not None else audiogram_size(config)
    pieces = list(job.pieces)
    frames = sum(p.frames for p in pieces)
    lead = media.video.start_s if media.video else 0.0
    origin = 0.0
    extra_inputs: list[str] = []
    audiogram = media.video is None
    if audiogram:  # a podcast: the picture is the cover image (or a plain ground) with the sound's waveform
        if sound is None:
            raise RenderError(f"{source}: an audiogram is drawn from the edit's sound — render/audio.m4a")
        extra_inputs += ["-i", str(sound)]
        cover_input = 2 if cover is not None else None
        if cover is not None:
            extra_inputs += ["-loop", "1", "-framerate", f"{fps:.6f}", "-i", str(cover)]
        chains = [_chunk_sound_chain(1, job, fps, frames)]
        chains += _audiogram_chains(fps, (width, height), cover_input, frames)
    else:
        origin = chunk_origin_s(pieces, fps, lead)
        chains = piece_chains(pieces, media, (width, height), config, origin)
    label = "vcat"
    first_broll = 1 + extra_inputs.count("-i")
    for k, placed in enumerate(job.broll):
        extra_inputs += ["-i", placed.path]
        stream, at, shown = k + first_broll, placed.at_s, placed.shown_s
        # an overlay of another size is scaled to the picture, any border around it transparent
        border = "black@0" if placed.has_alpha else "black"
        chains.append(
            f"[{stream}:v]fps={fps:.6f},scale={width}:{height}:force_original_aspect_ratio=decrease,"
            f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:color={border},setsar=1,"
            f"trim=start={placed.skip_s:.6f}:duration={shown:.6f},setpts=PTS-STARTPTS+{at:.6f}/TB[b{k}]"
        )
        chains.append(
            f"[{label}][b{k}]overlay=eof_action=pass:enable='between(t,{at:.6f},{at + shown:.6f})'[o{k}]"
        )
        label = f"o{k}"
    burned = video_out.with_name(f"{video_out.stem}.captions.srt")
    video_out.parent.mkdir(parents=True, exist_ok=True)
    burn = config.burn_captions or audiogram  # an audiogram is watched without sound: it carries its captions
    if captions is not None and burn and chunk_captions(captions, job, frames / fps, burned):
        style = f"FontSize={config.caption_font_size},Outline=2,Shadow=0,MarginV=24"
        # the file name is ours (no quotes or colons in it), escaped for the filter graph all the same
        chains.append(f"[{label}]subtitles=filename='{filter_path(burned)}':force_style='{style}'[subs]")
        label = "subs"
    try:
        encode_picture(
            source, media, frames, chains, label, config, video_out, origin_s=origin,
            extra_inputs=extra_inputs, threads=threads, what=f"{source}: rendering chunk {job.index}",
            small_copy=(review_copy, review_width) if review_copy is not None else None,
        )  # fmt: skip
    finally:
        burned.unlink(missing_ok=True)


def encode_picture(
    source: Path, media: MediaInfo, frames: int, chains: Sequence[str], label: str, config: RenderConfig,
    video_out: Path, *, origin_s: float = 0.0, extra_inputs: Sequence[str] = (), threads: int = 0, what: str,
    small_copy: tuple[Path, int] | None = None,
) -> None:  # fmt: skip
    """Encode the picture the filter `chains` leave at [label] as H.264, exactly `frames` frames, whole or
    not at all. The source (input 0) is opened at `origin_s`: ffmpeg seeks there, and the chains count from
    it. `small_copy` (a path and a width): the same frames also as the review's excerpts are made, with a
    keyframe every review.COPY_KEYFRAME_S."""
    fps = output_fps(media)
    seek = ["-ss", f"{origin_s:.6f}"] if origin_s > 0 else []
    args = [ffmpeg_binary(), "-nostdin", "-v", "error", "-y", *seek, "-i", str(source), *extra_inputs]
    outputs = [video_out]
    if small_copy is not None:
        copy_out, copy_width = small_copy
        chains = [
            *chains,
            f"[{label}]split=2[picture][small]",
            f"[small]{small_picture_filter(copy_width)}[copy]",
        ]
        label = "picture"
        outputs.append(copy_out)
    args += ["-filter_complex", ";".join(chains), "-map", f"[{label}]", "-frames:v", str(frames)]
    args += ["-c:v", "libx264", "-preset", config.preset, "-crf", str(config.crf), "-pix_fmt", "yuv420p"]
    with publishing(*outputs) as partials:
        args += ["-threads", str(threads), "-r", f"{fps:.6f}", "-an", str(partials[0])]
        if small_copy is not None:
            keyframe_every = max(1, round(fps * COPY_KEYFRAME_S))
            args += ["-map", "[copy]", "-frames:v", str(frames), *small_picture_codec(keyframe_every)]
            args += ["-threads", "1", "-r", f"{fps:.6f}", "-an", "-f", "mp4", str(partials[1])]
        run_tool(args, what=what, writes=video_out)


def _chunk_sound_chain(sound_input: int, job: ChunkJob, fps: float, frames: int) -> str:
    """[awave]: the chunk's stretch of the edit's finished sound (render/audio.m4a, the edit's time), cut at
    the samples of the chunk's edited frame boundaries as render_audio cut it."""
    first_frame = round(job.start_s * fps)
    start = round(first_frame / fps * AUDIO_RATE)
    end = round((first_frame + frames) / fps * AUDIO_RATE)
    return (
        f"[{sound_input}:a:0]aresample={AUDIO_RATE},atrim=start_sample={start}:end_sample={end},"
        "asetpts=PTS-STARTPTS[awave]"
    )


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


def join_chunks(videos: Sequence[Path], audio: Path, out: Path) -> None:
    """final.mp4: the chunks' pictures concatenated as they are, with the edit's sound (already AAC)."""
    # ffmpeg's concat list goes in a folder beside the output, named after it: a join killed midway leaves
    # it in the project (not in /tmp, for ever), and the next join clears it
    scratch = out.with_name(f".{out.stem}.join")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        listing = scratch / "videos.txt"
        write_text_atomic(listing, "".join(f"file '{concat_path(v)}'\n" for v in videos))
        args = [ffmpeg_binary(), "-nostdin", "-v", "error", "-y"]
        args += ["-f", "concat", "-safe", "0", "-i", str(listing), "-i", str(audio)]
        with publishing(out) as (partial,):
            args += ["-map", "0:v", "-map", "1:a", "-c", "copy", "-movflags", "+faststart", str(partial)]
            run_tool(args, what=f"{out}: joining {len(videos)} chunks", writes=out)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


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
    rendered: SourceAudio,
    source: SourceAudio,
    edited_t: float,
    source_t: float,
    length_s: float = SYNC_WINDOW_S,
) -> JoinCheck | None:
    """How far the rendered sound after a join lies from the source sound it carries (cross-correlation of
    SYNC_WINDOW_S, or of the `length_s` the source runs on until the next join when that is shorter, against
    the source around where it should be); None where it is too quiet or too short to tell. The sound after
    the next join is not the source's continuation: compared too, it can match the source elsewhere (a
    retake said the same way) and fake an offset."""
    rate = source.rate
    if length_s < SYNC_MIN_WINDOW_S:
        return None
    window = int(min(SYNC_WINDOW_S, length_s) * rate)
    search = int(SYNC_SEARCH_S * rate)
    start = int(round(edited_t * rate))
    part = rendered.read(start, min(start + window, rendered.frames), 1)[:, 0]
    origin = int(round(source_t * rate))
    first = max(0, origin - search)
    reference = source.read(first, min(origin + window + search, source.frames), 1)[:, 0]
    if part.size < window // 2 or reference.size < part.size or np.sqrt(np.mean(part**2)) < SYNC_MIN_RMS:
        return None
    part = (part - part.mean()) / (part.std() + 1e-9)
    scores = np.correlate(reference - reference.mean(), part, mode="valid")
    norms = np.sqrt(np.convolve((reference - reference.mean()) ** 2, np.ones(part.size), mode="valid")) + 1e-9
    correlation = scores / norms / np.sqrt(part.size)
    best = int(np.argmax(correlation))
    lag = best - (origin - first)
    return JoinCheck(
        edited_time=round(edited_t, 3),
        offset_s=round(-lag / rate, 4),
        correlation=round(float(correlation[best]), 3),
    )


def _final_sound(final: Path, speech_wav: Path) -> float | None:
    """Decode final.mp4's sound once: its integrated loudness (LUFS; None for silence), and a 16 kHz mono
    WAV of it at `speech_wav` for the sync checks (read a window at a time: hours cost no memory)."""
    from .audio import LOUDNESS_FILTER, ebur128_loudness

    graph = f"[0:a:0]asplit=2[l][s];[l]{LOUDNESS_FILTER}[m];[s]aformat=channel_layouts=mono,"
    graph += f"aresample={SPEECH_RATE},aformat=sample_fmts=s16[speech]"
    args = [ffmpeg_binary(), "-nostdin", "-hide_banner", "-nostats", "-y", "-i", str(final)]
    args += ["-filter_complex", graph, "-map", "[m]", "-f", "null", "-"]
    args += ["-map", "[speech]", "-c:a", "pcm_s16le", "-f", "wav", str(speech_wav)]
    proc = run_tool(args, what=f"{final}: measuring its sound", writes=speech_wav)
    return ebur128_loudness(proc.stderr, final).integrated_lufs


def check_render(
    final: Path, source_wav: Path | None, media: MediaInfo, plan: Plan, config: RenderConfig, chunks: int
) -> RenderReport:
    """Measure final.mp4: duration against the kept ranges, A/V sync at every join (against the 16 kHz WAV
    of the sound the render played, `source_wav`), loudness."""
    return check_pieces(final, source_wav, media, plan_pieces(plan, media, config), config, chunks)


def check_pieces(
    final: Path, source_wav: Path | None, media: MediaInfo, pieces: Sequence[Piece], config: RenderConfig,
    chunks: int, stage: str = "render",
) -> RenderReport:  # fmt: skip
    """Measure a rendered video of `pieces`: its duration against theirs, its sound against the 16 kHz WAV of
    the sound it played (same time base) at the start of every piece (cross-correlation), its loudness; a
    RenderError when it is off."""
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
    loudness = None
    scratch = final.with_name(f".{final.stem}.check")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        rendered_wav = scratch / "final-16k.wav"
        if media.has_audio:
            loudness = _final_sound(final, rendered_wav)
        if source_wav is not None and media.has_audio:
            source, rendered = SourceAudio.open(source_wav), SourceAudio.open(rendered_wav)
            for i, piece in enumerate(pieces):
                if i and pieces[i - 1].end_frame == piece.start_frame:
                    continue  # the source runs on: no join here
                run_end = i + 1
                while run_end < len(pieces) and pieces[run_end - 1].end_frame == pieces[run_end].start_frame:
                    run_end += 1
                length_s = sum(p.frames for p in pieces[i:run_end]) / fps
                check = sync_offset(
                    rendered, source, edited_offset(pieces, i, fps), piece.start_frame / fps, length_s
                )
                if check is not None:
                    joins.append(check)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    worst = max((abs(j.offset_s) for j in joins if j.correlation > 0.5), default=0.0)
    limit = config.max_sync_offset_frames / fps
    if worst > limit + 1e-6:
        raise RenderError(
            f"{final}: audio is {worst * 1000:.0f} ms off the video at a join (limit {limit * 1000:.0f} ms)"
        )
    # a sound that starts late or ends early was rendered as silence there: the report says so too
    warnings = list(media.time_base.warnings) if media.time_base else []
    return RenderReport(
        producer=make_producer(
            stage, "ffmpeg", extra_versions={"ffmpeg": tool_version(ffmpeg_binary())}, warnings=warnings
        ),
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
