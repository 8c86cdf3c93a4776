"""Publishing files atomically: every file ave writes goes through `publishing`.

A writer (our code, ffmpeg, matplotlib, Pillow) writes a hidden partial file beside each output; when it
is done, each partial replaces its output in one rename. If anything fails, the outputs are left as they
were and no partial stays behind, so a killed or failed job never leaves half a file where a finished one
is expected. The partial keeps the output's suffix (`.final.partial.mp4`), so a tool that picks the format
from the name writes the right one.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

PARTIAL = "partial"


def partial_path(path: str | os.PathLike[str], *, shared: bool = False) -> Path:
    """The hidden file beside `path` that publishing it goes through: `.NAME.partial.SUFFIX`.

    The name is fixed, so a writer killed mid-write leaves one such file, which the next write of `path`
    replaces, rather than one per kill. `shared=True` is for a file that processes may write at the same
    time (a cache entry two jobs both miss): each writer then gets a file of its own, uniquely named.
    """
    target = Path(path)
    tag = f"{secrets.token_hex(6)}.{PARTIAL}" if shared else PARTIAL
    return target.with_name(f".{target.stem}.{tag}{target.suffix}")


@contextlib.contextmanager
def publishing(*paths: str | os.PathLike[str], shared: bool = False) -> Iterator[tuple[Path, ...]]:
    """The partial files to write for `paths`; each replaces its path when the block ends without error.

    If anything fails (the block, or a rename), every partial is removed, and an OSError that names no
    file, or a partial, is made to name the output: a full disk's error then says which file it was.
    """
    targets = [Path(path) for path in paths]
    partials = [partial_path(target, shared=shared) for target in targets]
    for target, partial in zip(targets, partials, strict=True):
        target.parent.mkdir(parents=True, exist_ok=True)
        partial.unlink(missing_ok=True)  # a killed writer's: made afresh, under today's umask
    try:
        yield tuple(partials)
        for partial, target in zip(partials, targets, strict=True):
            os.replace(partial, target)
    except BaseException as exc:
        for partial in partials:
            partial.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            named = {str(partial): str(target) for partial, target in zip(partials, targets, strict=True)}
            if exc.filename is None or str(exc.filename) in named:
                exc.filename = named.get(str(exc.filename), str(targets[0]))
        raise


@contextlib.contextmanager
def atomic_writer(
    path: str | os.PathLike[str], *, binary: bool = False, shared: bool = False
) -> Iterator[IO[Any]]:
    """An open file whose content is published as `path` when the block ends, flushed to disk first.

    The file is created as open() creates one (its mode follows the umask); see `publishing`.
    """
    with publishing(path, shared=shared) as (partial,):
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # 0o666 less the umask
        with os.fdopen(fd, "wb" if binary else "w", encoding=None if binary else "utf-8") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())


def write_text_atomic(path: str | os.PathLike[str], text: str, *, shared: bool = False) -> None:
    """Publish text (UTF-8) as `path` (see atomic_writer)."""
    with atomic_writer(path, shared=shared) as handle:
        handle.write(text)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Publish bytes as `path` (see atomic_writer)."""
    with atomic_writer(path, binary=True) as handle:
        handle.write(data)
