"""The configuration's secrets live in a file of their own, root's and 0600: ``secrets.toml``
beside ``config.toml`` (issue 19, finding 9).

``config.toml`` stays readable by everyone, because the tray, running as the desktop user,
reads ``api_port`` and ``language`` from it; a password in it (the proxy's
``http://user:password@host:port``, or a server URL with one) was readable by every local
user. So a value carrying a password is never written to ``config.toml``: every writer
(``PUT /config``, ``pullprint install``) splits the settings with ``split`` and the loader
(``config.py``) reads both files as one. A config written before this, with a password in it,
is moved over the first time its owner (root, starting a service) loads it: ``migrate``.
"""

from __future__ import annotations

import fcntl
import os
import re
import tomllib
from pathlib import Path
from typing import Any

from services.core import tomlfile

FILE_NAME = "secrets.toml"
MODE = 0o600
# A URL with a user and password before the host: scheme://user:password@...
_URL_PASSWORD = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@\s]*:[^/@\s]*@", re.I)


def path_for(config: Path) -> Path:
    """The secrets file that goes with ``config``: beside it."""
    return config.with_name(FILE_NAME)


def is_secret(value: Any) -> bool:
    """A value that must not be in a file other users can read: a URL with a password, or a
    list holding one (``servers``: the whole list moves, so its order stays one value)."""
    if isinstance(value, list):
        return any(is_secret(item) for item in value)
    return isinstance(value, str) and bool(_URL_PASSWORD.match(value))


def split(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``data`` as (what goes to config.toml, what goes to secrets.toml)."""
    secret = {key: value for key, value in data.items() if is_secret(value)}
    public = {key: value for key, value in data.items() if key not in secret}
    return public, secret


def others_may_read(path: Path) -> bool:
    return bool(path.stat().st_mode & 0o077)


def write(config: Path, data: dict[str, Any]) -> None:
    """Write the settings ``data`` as the two files: secrets first (0600), so that a crash in
    between leaves a secret in both files, which the next load moves again, never nowhere."""
    public, secret = split(data)
    secrets = path_for(config)
    if secret or secrets.exists():
        tomlfile.write_text(secrets, tomlfile.to_toml(secret), MODE)
    tomlfile.write_text(config, tomlfile.to_toml(public))


def migrate(config: Path) -> list[str]:
    """Move the secrets of an older ``config`` into its secrets file; the keys moved. Only the
    file's owner does (root, for the installed one): a user reading it changes nothing.

    Every service loads its settings as it starts, all at once under supervisord: a lock on
    the config file lets one of them move the secrets, and the others then read the result."""
    try:
        handle = config.open("rb")
    except OSError:
        return []  # the loader says what is wrong with the file
    with handle:
        if os.fstat(handle.fileno()).st_uid != os.geteuid():
            return []
        fcntl.flock(handle, fcntl.LOCK_EX)
        data = tomllib.loads(config.read_text())  # again, by name: another may have moved them
        moved = sorted(split(data)[1])
        if moved:
            write(config, read(path_for(config)) | data)
        return moved


def read(secrets: Path) -> dict[str, Any]:
    """The secrets file's table; empty when there is none."""
    try:
        with secrets.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        return {}
