"""The tray's only way to talk to the pullprint service: a small HTTP client for the facade.

Every method returns a ``Result`` instead of raising, because these calls are made from Qt slots
and an exception escaping a slot is printed and lost, leaving the tray in a half-updated state.
A ``Result`` always says what happened in words the tray can show to a person.

The facade listens on loopback only, so the timeouts are short: when it does not answer within a
couple of seconds the service is hung or gone, and the tray should say so instead of waiting.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

DEFAULT_API_PORT = 8637
DEFAULT_CONFIG_PATH = Path("/etc/pullprint/config.toml")
# Connect fails at once on loopback when nothing listens; the read timeout covers a hung service.
TIMEOUT = httpx.Timeout(5.0, connect=2.0)
# The support bundle zips days of logs, which may take a while on a slow disk.
BUNDLE_TIMEOUT = httpx.Timeout(120.0, connect=2.0)


@dataclass(frozen=True)
class Result:
    """What one request gave: ``data`` when ``ok``, else an error ``code`` and ``message``."""

    ok: bool
    data: Any = None
    code: str = ""
    message: str = ""
    status: int = 0

    @property
    def unreachable(self) -> bool:
        """True when the facade did not answer at all (as opposed to answering with an error)."""
        return self.code == "unreachable"


def config_file() -> Path:
    """The client's config file, found the same way the service finds it (DESIGN.md 11)."""
    return Path(os.environ.get("PULLPRINT_CONFIG", DEFAULT_CONFIG_PATH))


def read_config_value(key: str) -> Any:
    """One key from the environment (``PULLPRINT_<KEY>``) or the config file, else None.

    The tray reads the file itself rather than importing the service's settings, so that it
    starts (and shows the error icon) even when the service's own code or config is broken.
    """
    env = os.environ.get("PULLPRINT_" + key.upper())
    if env:
        return env
    try:
        with config_file().open("rb") as f:
            return tomllib.load(f).get(key)
    except (OSError, tomllib.TOMLDecodeError):
        return None


def api_base_url() -> str:
    """``http://127.0.0.1:<api_port>`` with the port from the environment or the config file."""
    try:
        port = int(read_config_value("api_port") or DEFAULT_API_PORT)
    except ValueError:
        port = DEFAULT_API_PORT
    return f"http://127.0.0.1:{port}"


class Facade:
    """Client for the facade's JSON API; one method per endpoint the tray uses.

    Safe to use from the tray's worker threads: httpx's connection pool is thread-safe, and the
    only other shared state is the cached token, replaced by a single assignment.
    """

    def __init__(self, base_url: str | None = None) -> None:
        self.base_url = base_url or api_base_url()
        self._token: str | None = None
        # One client for the app's life: building one costs an SSL context (~50 ms) per call.
        self._client = httpx.Client(base_url=self.base_url, timeout=TIMEOUT)

    def close(self) -> None:
        self._client.close()

    # -- reading -------------------------------------------------------------------------------

    def status(self) -> Result:
        return self._request("GET", "/status", auth=False)

    def session(self) -> Result:
        return self._request("GET", "/session", auth=False)

    def jobs(self) -> Result:
        """This user's own jobs, also when the tray runs as root (who could see all)."""
        return self._request("GET", "/jobs", params={"mine": "true"})

    def job_trace(self, job_id: str) -> Result:
        """What happened to one of this user's jobs (``JobTrace``: the job and its events);
        ``job_id`` is the job's ``id`` as listed (its uuid), never its ``ipp_job_id``."""
        return self._request("GET", f"/jobs/{job_id}/trace")

    def printers(self) -> Result:
        return self._request("GET", "/printers")

    def config(self) -> Result:
        return self._request("GET", "/config")

    def route(self) -> Result:
        return self._request("GET", "/route")

    def language(self) -> Result:
        return self._request("GET", "/language")

    def about(self) -> Result:
        return self._request("GET", "/about")

    def support_bundle(self, days: int) -> Result:
        """The zip's bytes in ``data``."""
        return self._request(
            "GET", "/support-bundle", params={"days": days}, timeout=BUNDLE_TIMEOUT, raw=True
        )

    # -- changing ------------------------------------------------------------------------------

    def cancel_job(self, job_id: str) -> Result:
        """Cancel one of this user's jobs, by its ``id`` as listed (its uuid)."""
        return self._request("POST", f"/jobs/{job_id}/cancel")

    def sync(self) -> Result:
        return self._request("POST", "/sync")

    def login(self, user: str | None = None, password: str | None = None) -> Result:
        """Custom login maps this OS user to ``user``; os login (no arguments) signs the
        machine in again after a logout."""
        body = {} if user is None else {"user": user, "password": password}
        return self._request("POST", "/login", json=body)

    def logout(self) -> Result:
        return self._request("POST", "/logout")

    def set_config(self, values: dict[str, Any]) -> Result:
        return self._request("PUT", "/config", json=values)

    def set_route(self, route: str) -> Result:
        return self._request("PUT", "/route", json={"route": route})

    def set_language(self, language: str) -> Result:
        return self._request("PUT", "/language", json={"language": language})

    # -- plumbing ------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        auth: bool = True,
        timeout: httpx.Timeout = TIMEOUT,
        raw: bool = False,
        **kwargs: Any,
    ) -> Result:
        """Send one request; on 401 read the token again once (the service may have made a new
        one since we read it) and retry."""
        result = self._send(method, path, auth, timeout, raw, kwargs)
        if auth and result.status == 401:
            self._token = None
            result = self._send(method, path, auth, timeout, raw, kwargs)
        return result

    def _send(
        self,
        method: str,
        path: str,
        auth: bool,
        timeout: httpx.Timeout,
        raw: bool,
        kwargs: dict[str, Any],
    ) -> Result:
        headers = {}
        if auth and (token := self._load_token()):
            headers["Authorization"] = f"Bearer {token}"
        try:
            response = self._client.request(
                method, path, headers=headers, timeout=timeout, **kwargs
            )
        except httpx.HTTPError as exc:
            return Result(False, code="unreachable", message=_describe_transport_error(exc))
        if response.is_success:
            if raw:
                return Result(True, response.content, status=response.status_code)
            try:
                return Result(True, response.json(), status=response.status_code)
            except ValueError:
                return Result(True, None, status=response.status_code)
        return _error_result(response)

    def _load_token(self) -> str | None:
        """This OS user's token: ``/session`` names a 0600 file only this user can read."""
        if self._token is not None:
            return self._token
        session = self._send("GET", "/session", False, TIMEOUT, False, {})
        if not session.ok or not isinstance(session.data, dict):
            return None
        try:
            self._token = Path(session.data["token_file"]).read_text().strip() or None
        except (KeyError, TypeError, OSError):
            return None
        return self._token


def _error_result(response: httpx.Response) -> Result:
    """The facade's ``{"detail": {"code", "message"}}``, or a plain description of the status."""
    code, message = f"http-{response.status_code}", response.reason_phrase
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    if isinstance(detail, dict):
        code = str(detail.get("code") or code)
        message = str(detail.get("message") or message)
    elif isinstance(detail, str):
        message = detail
    elif isinstance(detail, list) and detail:
        # FastAPI's own request validation errors: a list of {loc, msg}.
        first = detail[0]
        message = str(first.get("msg", message)) if isinstance(first, dict) else message
    return Result(False, code=code, message=message, status=response.status_code)


def _describe_transport_error(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return "connection refused"
    if isinstance(exc, httpx.TimeoutException):
        return "no answer in time"
    return str(exc) or type(exc).__name__
