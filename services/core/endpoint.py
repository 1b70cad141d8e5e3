"""This machine's identity at the server: the endpoint id and secret from registration, and
the endpoint token once an admin authorized it. Files in ``state_dir``, 0600, never logged.

The channel registers and writes them; sync and delivery (gateway uploads) read the token.
"""

from __future__ import annotations

import json
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

REGISTRATION_FILE = "endpoint.json"
TOKEN_FILE = "endpoint.token"


@dataclass(frozen=True)
class Registration:
    endpoint_id: int
    secret: str


def _write_private(path: Path, text: str) -> None:
    """Write atomically with mode 0600 from the first byte (no window where others can read)."""
    part = path.with_name(path.name + ".part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(part, path)


def load_registration(state_dir: Path) -> Registration | None:
    try:
        data = json.loads((state_dir / REGISTRATION_FILE).read_text())
        return Registration(int(data["endpoint_id"]), str(data["secret"]))
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None


def save_registration(state_dir: Path, registration: Registration) -> None:
    body = {"endpoint_id": registration.endpoint_id, "secret": registration.secret}
    _write_private(state_dir / REGISTRATION_FILE, json.dumps(body))


def load_token(state_dir: Path) -> str | None:
    try:
        return (state_dir / TOKEN_FILE).read_text().strip() or None
    except FileNotFoundError:
        return None


def save_token(state_dir: Path, token: str) -> None:
    _write_private(state_dir / TOKEN_FILE, token)


def forget(state_dir: Path) -> None:
    """After revocation: the old identity is useless; the next start registers again."""
    for name in (TOKEN_FILE, REGISTRATION_FILE):
        (state_dir / name).unlink(missing_ok=True)


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """Verify the server against ``ca_file`` (or the system store). Never unverified."""
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    return context
