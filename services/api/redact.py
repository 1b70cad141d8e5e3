"""Keeping secrets out of what the facade hands out (``GET /config``, support bundles).

Settings hold no secrets today (tokens live in their own 0600 files), but a config file may
gain one, and an admin may paste a URL with a password in it; so anything whose key or value
looks like a secret is replaced by ``***`` rather than trusted to be harmless.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "***"
_SECRET_KEY = re.compile(r"token|passw|secret|auth|credential|api_?key|private", re.I)
# A long unbroken run of token characters, as secrets.token_urlsafe and most API keys are.
_TOKEN_VALUE = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_\-+/=]{32,}$")
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.I)
# In log lines: key=value pairs and bearer headers whose values must not leave the machine.
_LOG_SECRET = re.compile(
    r"(?P<key>\b\w*(?:token|password|passwd|secret|authorization)\w*=)(?:\"[^\"]*\"|\S+)", re.I
)
_BEARER = re.compile(r"(Bearer\s+)\S+", re.I)


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key))


def value(item: Any) -> Any:
    """``item`` with secret-looking strings masked, recursing into lists and tables."""
    if isinstance(item, dict):
        return settings(item)
    if isinstance(item, list):
        return [value(v) for v in item]
    if isinstance(item, str):
        if _TOKEN_VALUE.match(item) and not item.startswith("/"):
            return MASK
        return _URL_PASSWORD.sub(lambda m: m.group("scheme") + MASK + "@", item)
    return item


def settings(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of a settings table with secret keys and secret-looking values masked."""
    return {k: MASK if is_secret_key(str(k)) else value(v) for k, v in data.items()}


def log_line(line: str) -> str:
    """A log line with any ``token=...``-style value and bearer token masked (defence in depth:
    the services never log them in the first place)."""
    line = _LOG_SECRET.sub(lambda m: m.group("key") + MASK, line)
    return _BEARER.sub(lambda m: m.group(1) + MASK, line)
