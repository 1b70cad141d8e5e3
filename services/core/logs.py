"""Structured logs: one event per line, ``key=value`` fields, secrets never written.

Every line reads ``2026-11-25T08:00:00.123Z info spooler job.stored job=<uuid> printer=office``,
where ``job`` is the job's uuid (the id it has on every wire, services/core/messages.py), so
``grep job=<uuid>`` over all service logs tells a job's story (the server names it so too). The IPP
job-id a person saw (``lp``, ``pullprint print``) is on the job.created/job.stored lines as
``ipp_job_id``, the way from that number to the uuid.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

# Field names whose values must never reach a log line or a support bundle.
SECRET_FIELDS = frozenset(
    {
        "token",
        "password",
        "secret",
        "authorization",
        "endpoint_token",
        "access_token",
        "refresh_token",
        "credentials",
    }
)


def setup(service: str, level: str = "info") -> None:
    """Send this process's events to stderr, which supervisord writes to the service log."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_EventFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Third-party chatter (uvicorn access lines, httpx requests) stays out unless debugging.
    for noisy in ("uvicorn.access", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class EventLog:
    """A logger that takes an event name and fields instead of a formatted message."""

    def __init__(self, name: str) -> None:
        self._logger = logging.getLogger(name)

    def debug(self, event: str, **fields: Any) -> None:
        self._log(logging.DEBUG, event, fields)

    def info(self, event: str, **fields: Any) -> None:
        self._log(logging.INFO, event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._log(logging.WARNING, event, fields)

    def error(self, event: str, **fields: Any) -> None:
        self._log(logging.ERROR, event, fields)

    def exception(self, event: str, **fields: Any) -> None:
        """An unexpected error: logged with its traceback for the operator, never shown to users."""
        self._logger.error(format_event(event, fields), exc_info=True)

    def _log(self, level: int, event: str, fields: dict[str, Any]) -> None:
        if self._logger.isEnabledFor(level):
            self._logger.log(level, format_event(event, fields))


def get_log(name: str) -> EventLog:
    return EventLog(name)


def format_event(event: str, fields: dict[str, Any]) -> str:
    parts = [event]
    for key, value in fields.items():
        if key.lower() in SECRET_FIELDS:
            value = "***"
        parts.append(f"{key}={_quote(value)}")
    return " ".join(parts)


def _quote(value: Any) -> str:
    """A value as one token of one line: quoted when it holds a space, a quote or ``=``, and
    every character that is not printable (a newline would forge a line, an escape sequence
    would rewrite a terminal) written as its Python escape, so a job name cannot fake an event."""
    text = str(value)
    if text and not any(c in ' "=' or not c.isprintable() for c in text):
        return text
    return '"' + printable(text.replace("\\", "\\\\").replace('"', '\\"')) + '"'


def printable(text: str) -> str:
    """``text`` with every character that is not printable written as its Python escape
    (``\\n``, ``\\x1b``, ``\\u202e``): for names a user chose, shown in a log or a terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class _EventFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        line = (
            f"{stamp}.{int(record.msecs):03d}Z {record.levelname.lower()} "
            f"{self._service} {record.getMessage()}"
        )
        if record.exc_info:
            # Keep one event per line: the traceback is folded into the same line.
            line += " traceback=" + _quote(self.formatException(record.exc_info))
        return line
