"""The project directory: finding the videos in input/ and giving each a safe slug."""

from __future__ import annotations

import hashlib
import re
import tempfile
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import WRITE_PROBLEMS, OutputError


@dataclass(frozen=True)
class InputVideo:
    """A video the user dropped into the project, and the slug the workflow calls it by."""

    slug: str
    path: str  # relative to the project directory, as given
    original_name: str
    clashes: tuple[str, ...] = ()  # other files whose names give the same slug: probe refuses this one


def name_clash(video: InputVideo) -> str:
    """The one-line error for a video whose slug other files share; "" when it has the slug to itself."""
    if not video.clashes:
        return ""
    *others, last = [video.path, *video.clashes]
    if len(others) == 1:
        return f"{others[0]} and {last}: both names become '{video.slug}' in results/ — rename one of them"
    names = f"{', '.join(others)} and {last}"
    return f"{names}: these names all become '{video.slug}' in results/ — rename all but one of them"


def check_writable(folders: Iterable[str | Path]) -> None:
    """Raise OutputError naming the first folder the workflow cannot write in (read-only, not ours).

    A folder that does not exist yet is judged by the nearest one that does, where it would be made.
    """
    for folder in folders:
        existing = Path(folder)
        while not existing.exists() and existing.parent != existing:
            existing = existing.parent
        try:
            with tempfile.TemporaryFile(dir=existing):
                pass
        except OSError as exc:
            problem = WRITE_PROBLEMS.get(exc.errno or 0, f"{exc.strerror} — make it writable and run again")
            raise OutputError(f"{Path(folder)}/: cannot write there: {problem}") from exc


def slugify(name: str) -> str:
    """A lowercase ASCII name of letters, digits and dashes ("Leçon 3 (final)" -> "lecon-3-final").

    Names with no ASCII letters or digits get a stable hash-based slug.
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    if not slug:
        digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
        slug = f"video-{digest}"
    return slug


def discover_videos(folder: str | Path, extensions: Iterable[str]) -> list[InputVideo]:
    """The videos directly inside `folder` whose extension is in `extensions` (any case).

    Hidden files are ignored. Files whose names slug to the same name share one entry, the first by name,
    which lists the others in `clashes`: probe refuses it (name_clash) while the other videos go on.
    """
    root = Path(folder)
    if not root.is_dir():
        return []
    wanted = {ext.lower().lstrip(".") for ext in extensions}
    by_slug: dict[str, list[Path]] = {}
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(".") or not entry.is_file():
            continue
        if entry.suffix.lower().lstrip(".") not in wanted:
            continue
        by_slug.setdefault(slugify(entry.stem), []).append(entry)
    return [
        InputVideo(
            slug=slug,
            path=str(first),
            original_name=first.name,
            clashes=tuple(str(other) for other in others),
        )
        for slug, (first, *others) in by_slug.items()
    ]
