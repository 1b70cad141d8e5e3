"""The wire format shared by the pullprint client and the reference server.

Everything that crosses the network between a client machine and the server is defined here
once: the gateway framing (TLS TCP, port 7300), the channel messages (WebSocket JSON) and the
REST payloads. Both sides import this module; it depends on the standard library, msgpack and
pydantic only, so the server can use it without pulling in any client service.
docs/protocol.md describes the same thing in prose.
"""

from __future__ import annotations

import asyncio
import struct
import uuid
from typing import Any, Literal

import msgpack
from pydantic import BaseModel, ConfigDict, Field, ValidationError

PROTOCOL_VERSION = 1

# Job ids are chosen by the client (a UUID in practice) and become file names on the server, so
# they are restricted to characters that are safe in a path component.
JOB_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"

# RFC 8011 job-state keywords, in the order of their IPP enum values (3 .. 9).
JOB_STATES = (
    "pending",
    "pending-held",
    "processing",
    "processing-stopped",
    "canceled",
    "aborted",
    "completed",
)
JobStateName = Literal[
    "pending",
    "pending-held",
    "processing",
    "processing-stopped",
    "canceled",
    "aborted",
    "completed",
]
TERMINAL_STATES = frozenset({"canceled", "aborted", "completed"})

# ---------------------------------------------------------------------------------------------
# Gateway framing: [4-byte big-endian length][msgpack map] in both directions.
# ---------------------------------------------------------------------------------------------

LENGTH_PREFIX = struct.Struct(">I")
# A header is a few hundred bytes; 64 KiB leaves room for long names and still stops a peer
# from making the server allocate whatever length it claims.
MAX_HEADER_SIZE = 64 * 1024
MAX_REPLY_SIZE = 64 * 1024

GatewayCode = Literal[
    "stored",  # the document is on disk and committed
    "duplicate",  # this job id was already stored; nothing was written again
    "bad-header",  # not msgpack, or fields missing / of the wrong type
    "header-too-large",
    "unsupported-version",
    "unauthorized",  # access token unknown or expired, endpoint not authorized or revoked
    "user-disabled",  # the job's owner is a disabled user
    "unknown-port",
    "size-mismatch",  # the connection ended before `size` bytes arrived
    "sha256-mismatch",
    "conflict",  # this job id was stored before with a different sha256
    "busy",  # the same job id is being uploaded on another connection; retry later
    "timeout",
    "internal",
]


class ProtocolError(Exception):
    """A peer broke the framing; `code` is the gateway code to answer with."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Destination(BaseModel):
    """A printer address: raw TCP (`host:port`, usually 9100) or IPP (`ipp://host:port/path`)."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(min_length=1, max_length=255)
    port: int = Field(ge=1, le=65535)
    protocol: Literal["raw", "ipp"]
    path: str = Field(default="", max_length=255)


class UploadHeader(BaseModel):
    """What a client sends before the document bytes on the gateway connection."""

    model_config = ConfigDict(extra="forbid")

    v: int
    token: str = Field(min_length=1, max_length=256)
    job_id: str = Field(pattern=JOB_ID_PATTERN)
    owner: str = Field(min_length=1, max_length=255)
    port_id: int
    name: str = Field(default="", max_length=1024)
    format: str = Field(default="application/octet-stream", max_length=255)
    size: int = Field(ge=0)
    sha256: str = Field(pattern=SHA256_PATTERN)
    deliver_to: Destination | None = None


class UploadReply(BaseModel):
    """The server's single answer, sent only after the document is fsynced and committed."""

    status: Literal["ok", "error"]
    code: str
    message: str = ""


def encode_frame(obj: dict[str, Any]) -> bytes:
    """Length-prefix one msgpack map."""
    payload = msgpack.packb(obj, use_bin_type=True)
    return LENGTH_PREFIX.pack(len(payload)) + payload


def encode_header(header: UploadHeader) -> bytes:
    return encode_frame(header.model_dump(exclude_none=True))


def encode_reply(status: Literal["ok", "error"], code: str, message: str = "") -> bytes:
    return encode_frame({"status": status, "code": code, "message": message})


def decode_map(payload: bytes) -> dict[str, Any]:
    """Unpack a msgpack map, turning every decoding failure into one ProtocolError."""
    try:
        obj = msgpack.unpackb(payload, raw=False, strict_map_key=True)
    except Exception as exc:  # msgpack raises several unrelated exception types
        raise ProtocolError("bad-header", f"not msgpack: {exc.__class__.__name__}") from exc
    if not isinstance(obj, dict):
        raise ProtocolError("bad-header", "header is not a map")
    return obj


def decode_header(payload: bytes) -> UploadHeader:
    obj = decode_map(payload)
    if obj.get("v") != PROTOCOL_VERSION:
        raise ProtocolError("unsupported-version", f"expected v={PROTOCOL_VERSION}")
    try:
        return UploadHeader.model_validate(obj)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
        raise ProtocolError("bad-header", f"invalid fields: {fields}") from exc


def decode_reply(payload: bytes) -> UploadReply:
    try:
        return UploadReply.model_validate(decode_map(payload))
    except ValidationError as exc:
        raise ProtocolError("bad-header", "malformed reply") from exc


async def read_frame(reader: asyncio.StreamReader, limit: int) -> bytes:
    """Read one length-prefixed frame; refuse a length above `limit` before reading it."""
    try:
        prefix = await reader.readexactly(LENGTH_PREFIX.size)
    except asyncio.IncompleteReadError as exc:
        raise ProtocolError("bad-header", "connection closed before the header") from exc
    (length,) = LENGTH_PREFIX.unpack(prefix)
    if length > limit:
        raise ProtocolError("header-too-large", f"header of {length} bytes, limit {limit}")
    try:
        return await reader.readexactly(length)
    except asyncio.IncompleteReadError as exc:
        raise ProtocolError("bad-header", "connection closed inside the header") from exc


# ---------------------------------------------------------------------------------------------
# Channel: WebSocket /api/v1/channel, JSON text frames {type, id, body}.
# ---------------------------------------------------------------------------------------------

CLIENT_MESSAGES = frozenset({"hello", "job.stored", "job.state", "report", "heartbeat", "ack"})
SERVER_MESSAGES = frozenset(
    {"release", "cancel", "printers.changed", "config.changed", "user.disabled", "heartbeat", "ack"}
)
MessageType = Literal[
    "hello",
    "job.stored",
    "job.state",
    "report",
    "release",
    "cancel",
    "printers.changed",
    "config.changed",
    "user.disabled",
    "heartbeat",
    "ack",
]
HEARTBEAT_INTERVAL = 10.0  # seconds; three missed heartbeats mean the peer is offline
CLOSE_UNAUTHORIZED = 4401  # close code: the endpoint was revoked (its tokens are void)
CLOSE_PROTOCOL = 4400  # close code: the peer sent something that is not a channel message


class ChannelMessage(BaseModel):
    """One channel frame. `id` is unique per sender; an ack carries the id it acknowledges."""

    model_config = ConfigDict(extra="forbid")

    type: MessageType
    id: str = Field(min_length=1, max_length=128)
    body: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def new(cls, type: MessageType, body: dict[str, Any] | None = None) -> ChannelMessage:
        return cls(type=type, id=uuid.uuid4().hex, body=body or {})

    def ack(self, ok: bool = True, code: str = "ok", message: str = "") -> ChannelMessage:
        return ChannelMessage(
            type="ack", id=self.id, body={"ok": ok, "code": code, "message": message}
        )


class Hello(BaseModel):
    hostname: str = ""
    version: str = ""
    held_jobs: list[str] = Field(default_factory=list)


class JobStored(BaseModel):
    """A client captured a job and holds it (pull port) or will print it (direct port)."""

    job_id: str = Field(pattern=JOB_ID_PATTERN)
    owner: str = Field(min_length=1, max_length=255)
    port_id: int | None = None
    name: str = Field(default="", max_length=1024)
    format: str = Field(default="application/octet-stream", max_length=255)
    size: int = Field(default=0, ge=0)
    state: JobStateName = "pending-held"


class JobStateChange(BaseModel):
    job_id: str = Field(pattern=JOB_ID_PATTERN)
    state: JobStateName
    reasons: list[str] = Field(default_factory=list)
    printer: str | None = None


class Report(BaseModel):
    """Accounting for a finished job, sent once it reached a terminal state."""

    job_id: str = Field(pattern=JOB_ID_PATTERN)
    owner: str = Field(min_length=1, max_length=255)
    state: JobStateName
    port_id: int | None = None
    printer: str | None = None
    size: int = Field(default=0, ge=0)
    name: str = Field(default="", max_length=1024)
    created_at: float | None = None
    completed_at: float | None = None


class PrinterInfo(BaseModel):
    id: int
    name: str
    host: str
    port: int
    protocol: Literal["raw", "ipp"]
    path: str = ""


class Release(BaseModel):
    job_ids: list[str]
    printer: PrinterInfo


class Cancel(BaseModel):
    job_ids: list[str]


class ConfigChanged(BaseModel):
    config: dict[str, Any]


class UserDisabled(BaseModel):
    """An admin disabled this server user: log out every OS user who prints as them."""

    user: str = Field(min_length=1, max_length=255)


# ---------------------------------------------------------------------------------------------
# REST payloads (/api/v1/...). Errors are {"detail": {"code": ..., "message": ...}}.
# ---------------------------------------------------------------------------------------------


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
