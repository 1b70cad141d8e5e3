"""REST payloads (/api/v1/...). Errors are {"detail": {"code": ..., "message": ...}}."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from protocol import JOB_ID_PATTERN
from protocol.channel import HEARTBEAT_INTERVAL, JobOutcome, PrinterInfo, Report


class ErrorBody(BaseModel):
    code: str
    message: str


class RegisterRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hostname: str = Field(min_length=1, max_length=255)
    os: str = Field(default="", max_length=255)
    version: str = Field(default="", max_length=64)


class RegisterResponse(BaseModel):
    endpoint_id: int
    secret: str  # proves on polling that the poller is the machine that registered
    state: Literal["pending"] = "pending"


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    secret: str = Field(min_length=1, max_length=256)


class TokenResponse(BaseModel):
    state: Literal["pending", "authorized"]
    # The first poll after authorization carries the endpoint's credentials, exactly once.
    token: str | None = None  # access token
    refresh_token: str | None = None
    expires_in: float | None = None  # seconds the access token is valid for


class Credentials(BaseModel):
    """An endpoint's token pair: `token` (access, short-lived) opens the endpoint APIs,
    `refresh_token` (long-lived, single use) buys the next pair."""

    token: str
    refresh_token: str
    expires_in: float


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(min_length=1, max_length=256)


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str = Field(min_length=1, max_length=255)
    password: str = Field(min_length=1, max_length=1024)


class LoginResponse(BaseModel):
    """A user's token pair, as `Credentials` is an endpoint's: `token` (access) opens the user
    APIs for `expires_in` seconds; `refresh_token` buys the next pair at
    `POST /api/v1/login/refresh`, once. An older server sends only `token`, valid for a week:
    then `refresh_token` is empty and `expires_in` None."""

    token: str
    user: str
    refresh_token: str = ""
    expires_in: float | None = None


class InputPort(BaseModel):
    id: int
    name: str
    kind: Literal["pull", "direct"]
    printers: list[PrinterInfo] = Field(default_factory=list)  # pull: where it may be released
    target: PrinterInfo | None = None  # direct: where every job goes


class PrintersResponse(BaseModel):
    ports: list[InputPort]


# Configuration profiles: what an admin sets per user, per group or as the default, and what
# an endpoint applies over its own configuration file. Every field is optional: a profile sets
# only what it names, and the effective profile is merged field by field.
PROFILE_FIELDS = (
    "log_level",
    "allow_local_configuration",
    "sync_interval",
    "retention",
    "default_color",
    "default_duplex",
    "default_paper",
)
PROFILE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$"


class ProfileSettings(BaseModel):
    """The settings of a profile; None = not set by this profile."""

    model_config = ConfigDict(extra="forbid")

    log_level: Literal["debug", "info", "warning", "error"] | None = None
    # False: the endpoint's facade refuses configuration changes and the tray shows them
    # read-only.
    allow_local_configuration: bool | None = None
    sync_interval: int | None = Field(default=None, ge=10, le=86400)  # seconds
    retention: int | None = Field(default=None, ge=60, le=365 * 86400)  # seconds
    # Defaults of the OS queues (IPP print-color-mode, sides, media as PWG self-describing
    # names or their short forms such as "a4" and "letter").
    default_color: Literal["color", "monochrome"] | None = None
    default_duplex: Literal["one-sided", "two-sided-long-edge", "two-sided-short-edge"] | None = (
        None
    )
    default_paper: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class EffectiveProfile(BaseModel):
    """The profile in force for one endpoint: ``name`` is the highest-ranking profile that
    applies; ``sources`` names, for each field set, the profile it came from."""

    name: str
    settings: ProfileSettings = Field(default_factory=ProfileSettings)
    sources: dict[str, str] = Field(default_factory=dict)


class EndpointConfig(BaseModel):
    heartbeat_interval: float = HEARTBEAT_INTERVAL
    gateway: str = ""  # host:port of the TLS gateway
    retention: int = 86400
    settings: dict[str, Any] = Field(default_factory=dict)
    # None: no profile applies to this endpoint's users (or an older server).
    profile: EffectiveProfile | None = None


class ReleaseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str = Field(min_length=1, max_length=255)
    printer: str = Field(min_length=1, max_length=255)  # printer name


class ReleaseResponse(BaseModel):
    printer: str
    job_ids: list[str]


class ReportsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reports: list[Report] = Field(max_length=1000)


# How many jobs one outcomes request may ask about: a gateway-mode endpoint asks about the
# jobs it uploaded and has no end of yet, normally a handful.
MAX_OUTCOME_QUERIES = 500


class OutcomesRequest(BaseModel):
    """``POST /api/v1/endpoint/jobs/outcomes``: the jobs this endpoint uploaded and still shows
    ``processing``, asked about by endpoints that have no channel to hear ``job.outcome``."""

    model_config = ConfigDict(extra="forbid")

    job_ids: list[Annotated[str, Field(pattern=JOB_ID_PATTERN)]] = Field(
        max_length=MAX_OUTCOME_QUERIES
    )


class OutcomesResponse(BaseModel):
    """The asked-about jobs this endpoint uploaded, each with its state on the server (and,
    once it ended, why); jobs of other endpoints and unknown ids are left out."""

    outcomes: list[JobOutcome] = Field(default_factory=list)
