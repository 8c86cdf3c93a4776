"""Blocking calls that must end in time: run in a daemon thread, abandoned when late."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

R = TypeVar("R")


class Late(TimeoutError):
    """The call had no result within its deadline; its thread was left to finish on its own."""


def call_within(function: Callable[[], R], deadline_s: float, name: str) -> R:
    """`function()`'s result, or its exception re-raised here; Late when it is still running after
    `deadline_s` seconds. A library's own timeout often bounds each network read, not the whole call."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = function()
        except BaseException as exc:  # handed to the caller's thread below
            outcome["error"] = exc

    worker = threading.Thread(target=run, name=name, daemon=True)
    worker.start()
    worker.join(deadline_s)
    if worker.is_alive():
        raise Late(f"no result within {deadline_s:g} s")
    if "error" in outcome:
        raise outcome["error"]
    result: R = outcome["result"]
    return result
