"""Structured logging: one event per line, `event key=value ...`, never a secret in it."""

from __future__ import annotations

import logging
import sys
from typing import Any

logger = logging.getLogger("pullprint.server")


def setup(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root = logging.getLogger("pullprint")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def _value(value: Any) -> str:
    """One token of one line: a job name with a newline must not forge an event, nor an escape
    sequence rewrite an operator's terminal, so what is not printable is written escaped."""
    text = str(value)
    if not text or any(c.isspace() or c in '"=' or not c.isprintable() for c in text):
        quoted = text.replace("\\", "\\\\").replace('"', '\\"')
        return '"' + "".join(c if c.isprintable() else repr(c)[1:-1] for c in quoted) + '"'
    return text


def event(name: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log `name` with fields; callers pass ids and sizes, never tokens or passwords."""
    if not logger.isEnabledFor(level):
        return
    parts = [name] + [f"{k}={_value(v)}" for k, v in fields.items() if v is not None]
    logger.log(level, " ".join(parts))
