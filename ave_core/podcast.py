"""Podcasts: recordings with sound only. Which inputs they are, their cover image, and the edited sound
exported (final.m4a for every recording, and final.mp3 for an MP3 podcast, and so on)."""

from __future__ import annotations

from pathlib import Path

from .errors import AveError
from .publish import publishing
from .tools import ffmpeg_binary, run_tool

# extensions of audio-only recordings, and how the edit is written in each (AAC in MP4 is copied as is)
AUDIO_FORMATS: dict[str, list[str]] = {
    "m4a": ["-c:a", "copy", "-movflags", "+faststart", "-f", "mp4"],
    "mp3": ["-c:a", "libmp3lame", "-q:a", "2", "-f", "mp3"],
    "flac": ["-c:a", "flac", "-f", "flac"],
    "wav": ["-c:a", "pcm_s16le", "-f", "wav"],
    "ogg": ["-c:a", "libvorbis", "-q:a", "5", "-f", "ogg"],
    "opus": ["-c:a", "libopus", "-b:a", "96k", "-f", "opus"],
}
COVER_SUFFIXES = (".jpg", ".jpeg", ".png")


def is_audio_file(path: str | Path) -> bool:
    """Whether a recording's extension is one of the audio-only formats (wav, mp3, m4a, flac, ogg, opus)."""
    return Path(path).suffix.lower().lstrip(".") in AUDIO_FORMATS


def export_formats(path: str | Path) -> list[str]:
    """The formats the edited sound of a recording is exported in: m4a, and a podcast's own where it
    differs (an MP3 gets final.mp3 too)."""
    own = Path(path).suffix.lower().lstrip(".")
    return ["m4a"] + ([own] if own in AUDIO_FORMATS and own != "m4a" else [])


def find_cover(recording: str | Path) -> Path | None:
    """The cover image beside a recording (NAME.jpg, .jpeg or .png, any case), or None."""
    source = Path(recording)
    if not source.parent.is_dir():
        return None
    for entry in sorted(source.parent.iterdir()):
        if entry.stem == source.stem and entry.suffix.lower() in COVER_SUFFIXES and entry.is_file():
            return entry
    return None


def export_audio(final: str | Path, out: str | Path) -> None:
    """The edited sound of final.mp4 written to `out` in the format its extension names, atomically."""
    target = Path(out)
    kind = target.suffix.lower().lstrip(".")
    if kind not in AUDIO_FORMATS:
        raise AveError(f"{target}: no audio export to .{kind} — use one of {', '.join(AUDIO_FORMATS)}")
    args = [ffmpeg_binary(), "-nostdin", "-v", "error", "-y", "-i", str(final), "-map", "0:a:0", "-vn"]
    with publishing(target) as (partial,):
        run_tool(
            [*args, *AUDIO_FORMATS[kind], str(partial)], what=f"{target}: exporting the edit", writes=target
        )
