"""The one typed settings object every process reads.

Values come from a TOML file (``/etc/pullprint/config.toml`` or ``$PULLPRINT_CONFIG``), and any
key can be overridden by ``PULLPRINT_<KEY>`` in the environment so that supervisord, tests and
admins can change one value without editing the file. A bad value never reaches a service loop:
``load_settings`` turns it into a ``ConfigError`` whose one-line message names the key, where it
came from and what is allowed. A file someone named that is not there is such an error too;
only the system default being absent means all defaults (a serverless machine nobody set up).

An installation made with ``pullprint install --root DIR`` is used in place through
``$PULLPRINT_ROOT``, which the ``--root DIR`` of the other ``pullprint`` commands sets for
every process they start: its config is ``DIR/etc/pullprint/config.toml``, and the directories
in it (or their defaults) are read below DIR, as with DESTDIR.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from protocol.channel import RawPrinterFacts
from protocol.http_limits import HttpLimits
from services.core import config_secrets as secrets
from services.core.proxy import PROXY_URL_PATTERN, check_proxy_url

DEFAULT_CONFIG_PATH = Path("/etc/pullprint/config.toml")
ENV_PREFIX = "PULLPRINT_"
CONFIG_ENV = ENV_PREFIX + "CONFIG"
ROOT_ENV = ENV_PREFIX + "ROOT"
# The keys naming directories of the installed tree: the ones read below an install root.
ROOTED_KEYS = ("state_dir", "run_dir", "log_dir")
# Printer names become URL path segments and OS queue names: keep them to what both accept.
PRINTER_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,126}$"
# The server is always spoken to over TLS; a typo here must stop start-up, not leak jobs.
HTTPS_URL_PATTERN = r"^https://[^\s/?#]+(/[^\s]*)?$"
HOST_PORT_PATTERN = r"^(\[[0-9A-Fa-f:]+\]|[^\s:\[\]/]+)(:[0-9]{1,5})?$"


class ConfigError(Exception):
    """A configuration problem, worded for the person who has to fix the file."""


class PrinterConfig(RawPrinterFacts):
    """A printer (input port) configured locally, for serverless sites and tests."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=PRINTER_NAME_PATTERN)
    kind: Literal["direct", "pull"] = "direct"
    host: str = "127.0.0.1"
    port: int = Field(default=9100, ge=1, le=65535)
    protocol: Literal["raw", "ipp", "ipps"] = "raw"
    path: str = "/ipp/print"
    # And, for a raw printer, what it can do (color, duplex, media ...: RawPrinterFacts).


SPELLING_CONFLICT = "spelling_conflict"  # the error type of a server list both spellings name


class Settings(BaseSettings):
    """Every configuration key of the client; names are a public interface (DESIGN.md 11)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid")

    mode: Literal["local", "gateway", "hybrid"] = "local"
    state_dir: Path = Path("/var/lib/pullprint")
    run_dir: Path = Path("/run/pullprint")
    log_dir: Path = Path("/var/log/pullprint")
    spooler_port: int = Field(default=8631, ge=1, le=65535)
    raw_capture_port: int = Field(default=0, ge=0, le=65535)
    api_port: int = Field(default=8637, ge=1, le=65535)
    # The servers in order of preference (issue 22): the channel uses the first that answers
    # and comes back to an earlier one when it answers again. ``server_url`` and
    # ``secondary_server_url`` are the older spelling of a list of two. Readers use
    # ``server_list`` and ``server`` (the first), whichever spelling the file has; the fields
    # keep the file's own, so GET /config shows, and a form sends back, what the file says.
    server_url: str | None = Field(default=None, pattern=HTTPS_URL_PATTERN)
    secondary_server_url: str | None = Field(default=None, pattern=HTTPS_URL_PATTERN)
    servers: list[Annotated[str, Field(pattern=HTTPS_URL_PATTERN)]] = Field(
        default_factory=list, json_schema_extra={"uniqueItems": True}
    )
    # While the channel is on a later server of the list, how often it first asks the
    # earlier ones whether they answer again (doubling while they do not: channel/failback.py).
    failback_interval: float = Field(default=30, gt=0)
    gateway: str | None = Field(default=None, pattern=HOST_PORT_PATTERN)
    secondary_gateway: str | None = Field(default=None, pattern=HOST_PORT_PATTERN)
    ca_file: Path | None = None
    login_type: Literal["os", "custom"] = "os"
    sync_interval: float = Field(default=300, gt=0)
    retention: float = Field(default=86400, gt=0)
    reach_timeout: float = Field(default=2.0, gt=0)
    language: str = "en"
    max_job_size: int = Field(default=2 * 1024**3, gt=0)
    # The spooler refuses new jobs (server-error-busy) when the spool's disk has less free.
    min_free_disk: int = Field(default=100 * 1024**2, ge=0)
    # raw_capture_port jobs go to this printer (default: the first configured printer).
    raw_capture_printer: str | None = None
    # How often every service rescans the store, so a lost bus notification delays work
    # by at most this long instead of losing it.
    rescan_interval: float = Field(default=30, gt=0)
    # Delivery retries back off exponentially from 1 s up to this cap.
    retry_backoff_max: float = Field(default=60, gt=0)
    # How long a job waits for an IPP printer that reports itself stopped (a jam, no paper)
    # before it is aborted with the printer's reason: long enough to clear a jam, short
    # enough that nobody's pages come out an hour after they gave up.
    stopped_timeout: float = Field(default=900, gt=0)
    # Limits on the spooler's and the facade's HTTP listeners (issue 19, finding 3): a client
    # that connects and sends nothing or half a request head is closed after
    # http_header_timeout; one whose body (or IPP attributes) stalls, after http_body_timeout;
    # a kept-alive connection idle, or one not reading our answer, after http_idle_timeout.
    # Local clients (CUPS, ipptool, the tray) send a request at once, so these only ever meet
    # a stuck or hostile peer. Past http_max_connections a new connection gets 503 and close.
    http_header_timeout: float = Field(default=10, gt=0)
    http_body_timeout: float = Field(default=30, gt=0)
    http_idle_timeout: float = Field(default=5, gt=0)
    http_max_connections: int = Field(default=128, ge=1)
    # One IPP request's attributes (finding 4): real clients send tens of values in a few KiB.
    ipp_max_attributes: int = Field(default=2000, ge=1)
    ipp_max_attribute_bytes: int = Field(default=256 * 1024, ge=1024)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # OS print queues for our printers: "auto" uses CUPS when lpadmin is installed.
    os_queues: Literal["auto", "cups", "none"] = "auto"
    # The CUPS server to manage (host:port or socket path); None = the system's default.
    cups_server: str | None = None
    printers: list[PrinterConfig] = Field(default_factory=list)
    # The HTTP proxy for everything sent to the server (REST, channel, gateway tunnel):
    # "http://host:port"; None or "" = HTTPS_PROXY / NO_PROXY from the environment.
    proxy: str | None = Field(default=None, pattern=PROXY_URL_PATTERN)

    @field_validator("proxy", mode="before")
    @classmethod
    def _proxy_url(cls, value: object) -> object:
        # Before the pattern, so a wrong value gets this message rather than the regex.
        if not isinstance(value, str):
            return value
        return check_proxy_url(value or None)

    @field_validator("servers")
    @classmethod
    def _server_list(cls, urls: list[str], info: ValidationInfo) -> list[str]:
        """No server twice; both spellings at once only when they agree."""
        if not urls:
            return urls  # the older keys, or serverless
        older = [
            u for u in (info.data.get("server_url"), info.data.get("secondary_server_url")) if u
        ]
        if len(set(urls)) != len(urls):
            raise ValueError("a server is listed twice")
        if older and older != urls[: len(older)]:
            # Its own type: the facade answers a change that makes the spellings disagree with
            # 409 (they conflict), not 422 (each value is valid on its own).
            raise PydanticCustomError(
                SPELLING_CONFLICT,
                "server_url/secondary_server_url name other servers; keep one spelling",
            )
        return urls

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment wins over the file (passed in as init values).
        return (env_settings, init_settings)

    @property
    def server_list(self) -> list[str]:
        """The servers in order of preference, from either spelling; [] = serverless."""
        older = [u for u in (self.server_url, self.secondary_server_url) if u]
        return list(self.servers) or older

    @property
    def server(self) -> str | None:
        """The first server: the one sync, the facade and the CLI speak to."""
        return (self.server_list or [None])[0]

    @property
    def db_path(self) -> Path:
        return self.state_dir / "pullprint.db"

    @property
    def spool_dir(self) -> Path:
        return self.state_dir / "spool"

    @property
    def http_limits(self) -> HttpLimits:
        return HttpLimits(
            header_timeout=self.http_header_timeout,
            body_timeout=self.http_body_timeout,
            idle_timeout=self.http_idle_timeout,
            max_connections=self.http_max_connections,
        )


def install_root() -> Path:
    """The root the installation in use was made under: ``/``, or ``$PULLPRINT_ROOT``."""
    return Path(os.environ.get(ROOT_ENV) or "/")


def below_root(path: Path) -> Path:
    """An installed absolute path as it is found on this machine: below the install root."""
    return install_root() / path.relative_to("/") if path.is_absolute() else path


def config_path() -> Path:
    """The file in force: ``$PULLPRINT_CONFIG``, else the installed config below the root."""
    named = os.environ.get(CONFIG_ENV)
    return Path(named) if named else below_root(DEFAULT_CONFIG_PATH)


def load_settings(path: Path | None = None) -> Settings:
    """Read the file and the environment overrides; installed directories go below the root."""
    path = path or config_path()
    data = _with_secrets(path, _read_toml(path))
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path)) from None
    return settings.model_copy(update=_rooted(settings))


def _rooted(settings: Settings) -> dict[str, Path]:
    """The installed directories (the file's or the defaults) below the root. A directory set
    in the environment is this machine's already: ``pullprint service`` hands supervisord the
    run and log directories it found that way, and they must not move down a second time."""
    return {
        key: below_root(getattr(settings, key))
        for key in ROOTED_KEYS
        if not os.environ.get(ENV_PREFIX + key.upper())
    }


def _with_secrets(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    """The config's values over its secrets file's (``config_secrets.py``). A password still in a
    config other users can read is first moved to the secrets file by the file's owner."""
    secret_path = secrets.path_for(path)
    exposed = sorted(secrets.split(data)[1])
    if exposed and path.exists() and secrets.others_may_read(path):
        try:
            moved = secrets.migrate(path)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(
                f"config error in {path}: key '{exposed[0]}' holds a password other users can "
                f"read, and moving it to {secret_path} (0600) failed: {exc}"
            ) from None
        if moved:
            data = _read_toml(path)
    try:
        if secrets.others_may_read(secret_path):
            raise ConfigError(
                f"config error: {secret_path} holds passwords and other users can read it: "
                f"chmod 600 {secret_path}"
            )
        return secrets.read(secret_path) | data
    except FileNotFoundError:
        return data
    except PermissionError:
        if os.geteuid() == 0:
            raise ConfigError(f"{secret_path}: cannot read") from None
        return data  # root's secrets: an ordinary user's command does without them
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{secret_path}: cannot read: {exc}") from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        if path == DEFAULT_CONFIG_PATH and not os.environ.get(CONFIG_ENV):
            return {}  # nobody set this machine up: all defaults, serverless
        raise ConfigError(_missing(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def _missing(path: Path) -> str:
    """Why a missing file is an error: somebody named it, and the defaults would put jobs in
    another installation's store (the system's) without a word."""
    if os.environ.get(CONFIG_ENV):
        return f"config error: {path} does not exist (named by {CONFIG_ENV})"
    if install_root() != Path("/"):
        return f"config error: {path} does not exist: no pullprint installed under {install_root()}"
    return f"config error: {path} does not exist"


def _describe(exc: ValidationError, path: Path) -> str:
    """One line for the first error: the key, its source (file or env var) and what is allowed."""
    error = exc.errors()[0]
    loc = error["loc"]
    key = ".".join(str(part) for part in loc)
    env_name = ENV_PREFIX + str(loc[0]).upper()
    source = f"environment variable {env_name}" if env_name in os.environ else str(path)
    if error["type"] == "extra_forbidden":
        return f"config error in {source}: unknown key '{key}'"
    got = error.get("input")
    shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
    return f"config error in {source}: key '{key}': {error['msg']}{shown}"
