"""Running one stage from a workflow script: logging to the rule's log, one-line errors for users."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

from .errors import WRITE_PROBLEMS, AveError


@contextmanager
def stage_logging(log_path: str | Path, stage: str) -> Iterator[logging.Logger]:
    """Log the stage to `log_path`; an AveError becomes one line on stderr and in the log, exit 1."""
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger(f"ave.{stage}")
    logger.setLevel(logging.INFO)
    handler = logging.FileHandler(log_path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    try:
        yield logger
    except AveError as exc:
        _fail(logger, f"ave {stage}: error: {exc}")
    except OSError as exc:
        if exc.errno not in WRITE_PROBLEMS:
            logger.exception("%s failed with an unexpected error", stage)
            raise
        # a full disk or a read-only folder: the user's to fix, and one line says how
        where = os.path.relpath(exc.filename) if exc.filename else "results/"
        _fail(logger, f"ave {stage}: error: {where}: {WRITE_PROBLEMS[exc.errno]}")
    except Exception:
        logger.exception("%s failed with an unexpected error", stage)
        raise
    finally:
        logger.removeHandler(handler)
        handler.close()


def _fail(logger: logging.Logger, line: str) -> NoReturn:
    logger.error(line)
    print(line, file=sys.stderr, flush=True)
    sys.exit(1)
