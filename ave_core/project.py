"""The project directory: finding the videos in input/ and giving each a safe slug."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError


@dataclass(frozen=True)
class InputVideo:
    """A video the user dropped into the project, and the slug the workflow calls it by."""

    slug: str
    path: str  # relative to the project directory, as given
    original_name: str


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

    Hidden files are ignored. Two files whose names slug to the same name are an error naming both.
    """
    root = Path(folder)
    if not root.is_dir():
        return []
    wanted = {ext.lower().lstrip(".") for ext in extensions}
    videos: dict[str, InputVideo] = {}
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(".") or not entry.is_file():
            continue
        if entry.suffix.lower().lstrip(".") not in wanted:
            continue
        slug = slugify(entry.stem)
        if slug in videos:
            raise InputError(
                f"{videos[slug].path} and {entry}: both names become '{slug}' in results/ "
                "— rename one of them"
            )
        videos[slug] = InputVideo(slug=slug, path=str(entry), original_name=entry.name)
    return list(videos.values())
