"""One time base for every decode of a source's sound.

A recording joined from parts with `-c copy` carries each part's AAC priming again at every join; screen
recorders drop packets; phones start the picture after the sound. Where the sound's timestamps and its
decoded samples disagree, a decode that counts samples and one that follows timestamps place the same
sound at different times (23 ms per join of a camera's split files). So the mapping is decided once, at
ingest, and every consumer reads the result:

- `scan_time_base` (the probe) reads the sound's packet timestamps and records in media.json where they
  jump ahead (gaps), step back (overlaps), how far a sample count would drift (skew), and where picture and
  sound start and end.
- `decode_source_audio` (extract_audio) is the one decode: it places every decoded frame at its timestamp
  from the file's start (0 s), fills gaps with silence and trims overlaps (ffmpeg's `aresample` with hard
  compensation beyond `tolerance_s`), pads to `end_s`, and writes the full-band 48 kHz WAV and the 16 kHz
  mono WAV from the same decode. Sample k of either file lies at k / rate seconds of the file's time.
- `SourceAudio` reads that WAV sample-exactly in bounded memory; `edit_audio_blocks` streams the edit's
  sound from it, piece by piece, for the render (and shorts).

A later stage that changes the sound (enhancement) writes a WAV of the same rate and length; anything that
reads a `SourceAudio` reads it alike.
"""

from __future__ import annotations

import contextlib
import os
import struct
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError, ToolError
from .models import MediaInfo, TimeBase, TimeShift
from .publish import publishing
from .tools import ffmpeg_binary, float_or_none, int_or_none, run_tool

SOURCE_AUDIO_RATE = 48000  # the full-band WAV, and the render's rate
SPEECH_RATE = 16000  # the WAV that VAD, ASR and the sync checks read
# timestamps and samples that disagree by less than this are left alone: it is above any container's timestamp
# rounding (1 ms in Matroska), and an eighth of a frame at 25 fps
TOLERANCE_S = 0.005
# a sound that starts this much after the file, or ends this much before the picture, is worth a warning
WARN_MISSING_SOUND_S = 0.25
MERGE_SHIFTS_S = 0.1  # shifts closer together than this are one event
MAX_LISTED_SHIFTS = 100  # media.json lists this many gaps and overlaps; the totals count all of them
# codecs whose every packet decodes to the same number of samples, whatever duration its timestamp claims
FIXED_FRAME_CODECS = {"aac", "aac_latm", "mp1", "mp2", "mp3", "ac3", "eac3"}
BLOCK_FRAMES = 1 << 18  # samples per channel read at once (5.5 s at 48 kHz)


# --- ingest: what the timestamps say ----------------------------------------------------------------


def scan_time_base(
    ffprobe: str,
    source: Path,
    media: MediaInfo,
    audio_raw: dict[str, Any] | None,
    container_start_s: float,
    tolerance_s: float = TOLERANCE_S,
) -> TimeBase:
    """Where the main audio stream's timestamps and decoded samples disagree, and where picture and sound
    start and end, in seconds from the file's start. `audio_raw` is ffprobe's description of that stream."""
    video = media.video
    picture_start = video.start_s if video else None
    picture_end = None
    if video is not None:
        picture_end = round(video.start_s + (video.duration_s or media.duration_s), 6)
    end_s = media.duration_s
    base: dict[str, Any] = {
        "tolerance_s": tolerance_s,
        "end_s": end_s,
        "picture_start_s": picture_start,
        "picture_end_s": picture_end,
    }
    stream = media.main_audio()
    if stream is None or audio_raw is None:
        return TimeBase(**base)
    packets = _audio_packets(ffprobe, source, stream.index)
    time_base = _fraction(audio_raw.get("time_base")) or Fraction(1, stream.sample_rate or 1)
    walk = _walk_packets(packets, time_base, container_start_s, stream.codec, tolerance_s)
    if walk is None:  # no packet with a timestamp: trust the stream's start and length
        start = max(0.0, (float_or_none(audio_raw.get("start_time")) or 0.0) - container_start_s)
        walk = _Walk(start, start + (stream.duration_s or end_s), [], [])
    audio_start, audio_end = round(max(0.0, walk.start_s), 6), round(walk.end_s, 6)
    warnings = _missing_sound(audio_start, audio_end, picture_start, picture_end)
    gap_total = sum(g.duration_s for g in walk.gaps)
    overlap_total = sum(o.duration_s for o in walk.overlaps)
    found = []
    if walk.gaps:
        found.append(f"{len(walk.gaps)} gap(s) ({gap_total * 1000:.0f} ms, filled with silence)")
    if walk.overlaps:
        found.append(f"{len(walk.overlaps)} overlap(s) ({overlap_total * 1000:.0f} ms, trimmed)")
    if found:
        warnings.append(
            f"the sound's timestamps have {' and '.join(found)}; every stage places the sound by its "
            f"timestamps (counting samples would drift {(overlap_total - gap_total) * 1000:+.0f} ms)"
        )
    return TimeBase(
        **base,
        audio_start_s=audio_start,
        audio_end_s=audio_end,
        picture_offset_s=round(picture_start - audio_start, 6) if picture_start is not None else None,
        gaps=walk.gaps[:MAX_LISTED_SHIFTS],
        overlaps=walk.overlaps[:MAX_LISTED_SHIFTS],
        gap_count=len(walk.gaps),
        overlap_count=len(walk.overlaps),
        gap_total_s=round(gap_total, 6),
        overlap_total_s=round(overlap_total, 6),
        skew_s=round(overlap_total - gap_total, 6),
        warnings=warnings,
    )


@dataclass
class _Walk:
    start_s: float
    end_s: float
    gaps: list[TimeShift]
    overlaps: list[TimeShift]


def _audio_packets(ffprobe: str, source: Path, index: int) -> list[tuple[int | None, int | None]]:
    """(pts, duration) of every packet of one stream, in stream time-base ticks, in file order."""
    args = [ffprobe, "-v", "error", "-select_streams", str(index), "-show_entries", "packet=pts,duration"]
    args += ["-of", "csv=p=0", "--", str(source)]
    proc = subprocess.run(args, capture_output=True, text=True, errors="replace", check=False)
    if proc.returncode != 0:
        raise InputError(f"{source}: its sound's packets cannot be read — re-export the file")
    packets = []
    for line in proc.stdout.splitlines():
        fields = line.strip().split(",")
        if len(fields) >= 2:
            packets.append((int_or_none(fields[0]), int_or_none(fields[1])))
    return packets


def _walk_packets(
    packets: Sequence[tuple[int | None, int | None]],
    time_base: Fraction,
    origin_s: float,
    codec: str,
    tolerance_s: float,
) -> _Walk | None:
    """Follow the packets as the decode does: each decodes to its frame's samples at its timestamp; where
    the next timestamp lies more than `tolerance_s` after (before) the sound so far, that is a gap (an
    overlap), and the sound continues from the timestamp."""
    durations = [d for _, d in packets if d]
    if not durations:
        return None
    # a priming packet or a join can claim a duration of 1 tick; the decoder still gives a whole frame
    frame = Counter(durations).most_common(1)[0][0] if codec in FIXED_FRAME_CODECS else None
    tick = float(time_base)
    gaps: list[TimeShift] = []
    overlaps: list[TimeShift] = []
    start_s: float | None = None
    expected_s = end_s = 0.0
    for pts, duration in packets:
        length = (frame or duration or 0) * tick
        if pts is None:  # no timestamp: it follows the sound so far
            expected_s += length
            end_s = expected_s
            continue
        at_s = pts * tick - origin_s
        if start_s is None:
            start_s = expected_s = at_s
        delta = at_s - expected_s
        if delta > tolerance_s:
            _add_shift(gaps, max(0.0, expected_s), delta)
            expected_s = at_s
        elif delta < -tolerance_s:
            _add_shift(overlaps, max(0.0, at_s), -delta)
            expected_s = at_s
        expected_s += length
        # a packet's own duration says where its sound ends (the last AAC frame's padding is not sound)
        end_s = at_s + (duration * tick if duration else length)
    if start_s is None:
        return None
    return _Walk(start_s, end_s, gaps, overlaps)


def _add_shift(shifts: list[TimeShift], at_s: float, duration_s: float) -> None:
    """Record a gap or overlap; one within MERGE_SHIFTS_S of the last is the same event (a join's priming
    packet and the packet after it, a run of packets a muxer nudged one tick apart)."""
    if shifts and at_s - shifts[-1].at_s <= MERGE_SHIFTS_S:
        shifts[-1].duration_s = round(shifts[-1].duration_s + duration_s, 6)
    else:
        shifts.append(TimeShift(at_s=round(at_s, 6), duration_s=round(duration_s, 6)))


def _missing_sound(
    audio_start: float, audio_end: float, picture_start: float | None, picture_end: float | None
) -> list[str]:
    warnings = []
    if audio_start > WARN_MISSING_SOUND_S:
        warnings.append(f"the sound starts {audio_start:.1f} s after the file: silence until then")
    if picture_end is not None and picture_end - audio_end > WARN_MISSING_SOUND_S:
        warnings.append(
            f"the sound ends {picture_end - audio_end:.1f} s before the picture: "
            f"silence after {audio_end:.1f} s"
        )
    if picture_start is not None and picture_start - audio_start > WARN_MISSING_SOUND_S:
        warnings.append(
            f"the picture starts {picture_start - audio_start:.1f} s after the sound: "
            "its first frame is held until then"
        )
    return warnings


# --- the one decode ---------------------------------------------------------------------------------


def timestamp_filter(rate: int, tolerance_s: float = TOLERANCE_S) -> str:
    """The ffmpeg filter that places decoded sound by its timestamps from the file's start: silence into
    gaps, overlaps dropped, resampled to `rate`. For any ffmpeg command that must decode a source's sound
    itself; everything in ave reads the WAVs `decode_source_audio` writes instead."""
    return f"aresample={rate}:async=1:min_hard_comp={tolerance_s}:first_pts=0"


def decode_source_audio(
    source: str | Path, media: MediaInfo, full_wav: str | Path, speech_wav: str | Path
) -> None:
    """Decode the main audio stream once, by the time base, into a 48 kHz WAV (mono for a mono source, else
    stereo) and a 16 kHz mono WAV, both covering exactly 0 .. end_s. A video without sound gets two empty
    WAVs (a `SourceAudio` reads silence from them)."""
    full, speech = Path(full_wav), Path(speech_wav)
    stream = media.main_audio()
    with publishing(full, speech) as (full_partial, speech_partial):
        if stream is None:
            write_empty_wav(full_partial, SOURCE_AUDIO_RATE, 1)
            write_empty_wav(speech_partial, SPEECH_RATE, 1)
            return
        time_base = media.time_base
        end_s = time_base.end_s if time_base else media.duration_s
        tolerance = time_base.tolerance_s if time_base else TOLERANCE_S
        layout = "mono" if stream.channels == 1 else "stereo"
        full_n, speech_n = round(end_s * SOURCE_AUDIO_RATE), round(end_s * SPEECH_RATE)
        graph = (
            f"[0:{stream.index}]{timestamp_filter(SOURCE_AUDIO_RATE, tolerance)},"
            f"aformat=sample_fmts=s16:channel_layouts={layout},"
            f"apad=whole_len={full_n},atrim=end_sample={full_n},asplit=2[full][s];"
            f"[s]aformat=channel_layouts=mono,aresample={SPEECH_RATE},aformat=sample_fmts=s16,"
            f"apad=whole_len={speech_n},atrim=end_sample={speech_n}[speech]"
        )
        args = [ffmpeg_binary(), "-nostdin", "-v", "error", "-y", "-i", str(source)]
        args += ["-filter_complex", graph, "-fflags", "+bitexact"]
        args += ["-map", "[full]", "-c:a", "pcm_s16le", "-rf64", "auto", "-f", "wav", str(full_partial)]
        args += ["-map", "[speech]", "-c:a", "pcm_s16le", "-f", "wav", str(speech_partial)]
        try:
            run_tool(args, what=f"{source}: decoding audio", writes=full)
        except ToolError as exc:
            raise InputError(f"{exc} — the audio track may be damaged; re-export the file") from exc


def write_empty_wav(path: Path, rate: int, channels: int) -> None:
    """A 16-bit PCM WAV with no samples: the sound of a recording that has none."""
    block = 2 * channels
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * block, block, 16)
    path.write_bytes(
        b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8) + b"WAVE" + b"fmt " + struct.pack("<I", len(fmt))
        + fmt + b"data" + struct.pack("<I", 0)
    )  # fmt: skip


# --- reading it -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceAudio:
    """A 16-bit PCM WAV written by `decode_source_audio` (or a stage after it), read sample-exactly: sample
    k lies at k / rate seconds of the source's time, and reading outside the file gives silence."""

    path: Path
    rate: int
    channels: int
    frames: int
    data_offset: int

    @classmethod
    def open(cls, path: str | Path) -> SourceAudio:
        """Read the WAV's header (RIFF or RF64); raise ArtifactError-like InputError when it is not one."""
        wav = Path(path)
        with wav.open("rb") as handle:
            head = handle.read(12)
            if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
                raise InputError(f"{wav}: not a WAV file — delete it and rerun")
            big_data_size = None
            fmt: tuple[int, ...] | None = None
            while True:
                header = handle.read(8)
                if len(header) < 8:
                    raise InputError(f"{wav}: no sound data in the WAV — delete it and rerun")
                kind, size = header[:4], struct.unpack("<I", header[4:])[0]
                if kind == b"ds64":
                    big_data_size = struct.unpack("<Q", handle.read(16)[8:16])[0]
                    handle.seek(size - 16, os.SEEK_CUR)
                elif kind == b"fmt ":
                    fmt = struct.unpack("<HHIIHH", handle.read(16))
                    handle.seek(size - 16 + size % 2, os.SEEK_CUR)
                elif kind == b"data":
                    offset = handle.tell()
                    if size == 0xFFFFFFFF and big_data_size is not None:
                        size = big_data_size
                    break
                else:
                    handle.seek(size + size % 2, os.SEEK_CUR)
        if fmt is None or fmt[5] != 16 or fmt[0] not in (1, 0xFFFE):
            raise InputError(f"{wav}: expected 16-bit PCM — delete it and rerun")
        channels, rate = fmt[1], fmt[2]
        available = wav.stat().st_size - offset
        return cls(wav, rate, channels, min(size, available) // (2 * channels), offset)

    @property
    def duration_s(self) -> float:
        """Length of the sound in the file, seconds."""
        return self.frames / self.rate

    def frame(self, time_s: float) -> int:
        """The sample index of a source instant."""
        return round(time_s * self.rate)

    def read(self, start: int, end: int, channels: int | None = None) -> np.ndarray:
        """Samples [start, end) as float32 shaped (samples, channels), silence where the file has none;
        `channels` 1 mixes down, 2 duplicates a mono file."""
        count = max(0, end - start)
        out = np.zeros((count, self.channels), dtype=np.float32)
        first, last = max(0, start), min(self.frames, end)
        if last > first:
            with self.path.open("rb") as handle:
                handle.seek(self.data_offset + first * 2 * self.channels)
                raw = np.fromfile(handle, dtype="<i2", count=(last - first) * self.channels)
            out[first - start : first - start + raw.size // self.channels] = raw.reshape(
                -1, self.channels
            ) / np.float32(32768.0)
        wanted = channels or self.channels
        if wanted == self.channels:
            return out
        if wanted == 1:
            return out.mean(axis=1, keepdims=True)
        return np.repeat(out[:, :1], wanted, axis=1) if self.channels == 1 else out[:, :wanted]


@contextlib.contextmanager
def opened_sound(path: str | Path) -> Iterator[SourceAudio]:
    """A sound on the source's time base, read sample-exactly: a WAV as it is; any other file (the studio
    sound's FLAC) decoded first, sample for sample, to a WAV in a hidden folder beside it, removed after."""
    sound = Path(path)
    if sound.suffix.lower() == ".wav":
        yield SourceAudio.open(sound)
        return
    with tempfile.TemporaryDirectory(dir=sound.parent, prefix=f".{sound.stem}.") as scratch:
        wav = Path(scratch) / f"{sound.stem}.wav"
        args = [ffmpeg_binary(), "-nostdin", "-v", "error", "-y", "-i", str(sound), "-map", "0:a:0"]
        args += ["-c:a", "pcm_s16le", "-rf64", "auto", "-f", "wav", str(wav)]
        run_tool(args, what=f"{sound}: decoding it", writes=wav)
        yield SourceAudio.open(wav)


def edit_audio_blocks(
    audio: SourceAudio,
    spans: Sequence[tuple[int, int, int]],
    fade_s: float = 0.0,
    channels: int = 2,
    block_frames: int = BLOCK_FRAMES,
) -> Iterator[np.ndarray]:
    """The sound of an edit, as float32 blocks of shape (samples, channels), in bounded memory.

    `spans` are (source start sample, samples, whether to fade) in edit order; a faded span ramps in and
    out over `fade_s` (at most a quarter of its length) so that joins do not click.
    """
    for start, count, fade in spans:
        ramp = min(int(round(fade_s * audio.rate)), count // 4) if fade else 0
        for offset in range(0, count, block_frames):
            block = audio.read(start + offset, start + min(count, offset + block_frames), channels)
            if ramp:
                _apply_fades(block, offset, count, ramp)
            yield block


def _apply_fades(block: np.ndarray, offset: int, count: int, ramp: int) -> None:
    """Linear fade in over the span's first `ramp` samples and out over its last, on the part in `block`."""
    index = np.arange(offset, offset + block.shape[0])
    gain = np.minimum(1.0, np.minimum((index + 1) / ramp, (count - index) / ramp)).astype(np.float32)
    block *= gain[:, None]


def _fraction(value: Any) -> Fraction | None:
    try:
        fraction = Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        return None
    return fraction if fraction > 0 else None
