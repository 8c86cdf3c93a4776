"""Locating and running the external programs ave needs (ffmpeg, ffprobe)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import WRITE_PROBLEM_TEXTS, OutputError, ToolError


def ffmpeg_binary() -> str:
    """The system ffmpeg, else the binary that imageio-ffmpeg ships."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except Exception as exc:  # any failure means: not available
        raise ToolError(
            "ffmpeg not found — install it (apt-get install ffmpeg) or pip install imageio-ffmpeg"
        ) from exc


def ffprobe_binary() -> str:
    """The system ffprobe (imageio-ffmpeg ships none)."""
    found = shutil.which("ffprobe")
    if not found:
        raise ToolError("ffprobe not found — install ffmpeg (apt-get install ffmpeg)")
    return found


def run_tool(
    args: Sequence[str | Path], *, what: str, writes: str | Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a program with an argument list (never a shell string) and capture its output.

    Raises ToolError naming `what` with the last line of stderr when it fails, and OutputError naming the
    file it `writes` (else `what`) when it could not write (a full disk, a read-only folder), even where it
    exits 0: ffmpeg does when it cannot write an MP4's index at the end.
    """
    argv = [str(a) for a in args]
    proc = subprocess.run(argv, capture_output=True, text=True, errors="replace", check=False)
    problem = write_problem(proc.stderr)
    if problem:
        raise OutputError(f"{writes if writes is not None else what}: {problem}")
    if proc.returncode != 0:
        last = last_line(proc.stderr) or f"exit code {proc.returncode}"
        raise ToolError(f"{what}: {Path(argv[0]).name} failed: {last}")
    return proc


def run_tool_fed(
    args: Sequence[str | Path], blocks: Iterable[np.ndarray], *, what: str, writes: str | Path | None = None
) -> str:
    """Run a program that reads raw samples on its stdin, feeding it `blocks` one at a time (memory stays
    bounded by a block), and return its stderr; failures are reported as run_tool reports them."""
    argv = [str(a) for a in args]
    with tempfile.TemporaryFile() as errors:  # a file, not a pipe: a chatty program cannot block us
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors)
        assert proc.stdin is not None
        try:
            for block in blocks:
                proc.stdin.write(np.ascontiguousarray(block, dtype="<f4").tobytes())
        except BrokenPipeError:
            pass  # it stopped reading: its exit code and stderr say why
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            with contextlib.suppress(BrokenPipeError):
                proc.stdin.close()
        code = proc.wait()
        errors.seek(0)
        stderr = errors.read().decode("utf-8", errors="replace")
    problem = write_problem(stderr)
    if problem:
        raise OutputError(f"{writes if writes is not None else what}: {problem}")
    if code != 0:
        last = last_line(stderr) or f"exit code {code}"
        raise ToolError(f"{what}: {Path(argv[0]).name} failed: {last}")
    return stderr


def write_problem(stderr: str) -> str | None:
    """What a program's complaint that it could not write (a full disk, a read-only folder) means, or None."""
    return next((problem for text, problem in WRITE_PROBLEM_TEXTS.items() if text in stderr), None)


def last_line(text: str) -> str:
    """The last non-empty line of a program's output."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def tool_version(binary: str) -> str:
    """The version string an ffmpeg-family binary reports (`ffmpeg version 5.1.4 ...`)."""
    proc = subprocess.run([binary, "-version"], capture_output=True, text=True, check=False)
    first = proc.stdout.splitlines()[0] if proc.stdout else ""
    parts = first.split()
    return parts[2] if len(parts) > 2 else "unknown"


def float_or_none(value: Any) -> float | None:
    """A field of ffprobe's output as a float, None when it is missing or not a number ("N/A")."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def int_or_none(value: Any) -> int | None:
    """A field of ffprobe's output as an int, None when it is missing or not a number."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
