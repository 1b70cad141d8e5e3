"""The client's TOML files, written: the small writer our settings need (tomllib only reads)
and an atomic replace, so a service starting never reads half a file.

Shared by the facade's ``PUT /config`` and the move of secrets out of the config
(``config_secrets.py``).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any


def write_text(path: Path, text: str, mode: int | None = None) -> None:
    """Replace ``path`` atomically: write a temporary file (0600 from mkstemp, so a secret is
    never readable on the way), fsync, give it ``mode`` (default: the old file's, else 0644),
    rename."""
    if mode is None:
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def to_toml(data: dict[str, Any]) -> str:
    """The TOML our settings need: scalars first, then arrays of tables (``[[printers]]``)."""
    tables = {k: v for k, v in data.items() if _is_table_array(v)}
    lines = [f"{k} = {_toml_value(v)}" for k, v in data.items() if k not in tables]
    for key, rows in tables.items():
        for row in rows:
            lines += ["", f"[[{key}]]"]
            lines += [f"{k} = {_toml_value(v)}" for k, v in row.items() if v is not None]
    return "\n".join(lines) + "\n"


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in value.items())
        return "{" + items + "}"
    # A JSON string is a valid TOML basic string (same escapes, \uXXXX included).
    # DEL is the one character JSON leaves raw that TOML wants escaped.
    return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007f")
