"""The channel: WebSocket /api/v1/channel, JSON text frames {type, id, body}.

One persistent connection per endpoint; the server sends commands (release, cancel, ...), the
client reports its jobs. Commands are acked by id.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from protocol import JOB_ID_PATTERN
from protocol.states import Keyword

CLIENT_MESSAGES = frozenset({"hello", "job.stored", "job.state", "report", "heartbeat", "ack"})
SERVER_MESSAGES = frozenset(
    {
        "release",
        "cancel",
        "job.outcome",
        "printers.changed",
        "config.changed",
        "user.disabled",
        "heartbeat",
        "ack",
    }
)
MessageType = Literal[
    "hello",
    "job.stored",
    "job.state",
    "report",
    "release",
    "cancel",
    "job.outcome",
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


class StoredJob(BaseModel):
    """A client captured a job and holds it (pull port) or will print it (direct port)."""

    job_id: str = Field(pattern=JOB_ID_PATTERN)
    owner: str = Field(min_length=1, max_length=255)
    port_id: int | None = None
    name: str = Field(default="", max_length=1024)
    format: str = Field(default="application/octet-stream", max_length=255)
    size: int = Field(default=0, ge=0)
    state: Keyword = "pending-held"


class JobStateChange(BaseModel):
    job_id: str = Field(pattern=JOB_ID_PATTERN)
    state: Keyword
    reasons: list[str] = Field(default_factory=list)
    printer: str | None = None


class Report(BaseModel):
    """Accounting for a finished job, sent once it reached a terminal state."""

    job_id: str = Field(pattern=JOB_ID_PATTERN)
    owner: str = Field(min_length=1, max_length=255)
    state: Keyword
    port_id: int | None = None
    printer: str | None = None
    size: int = Field(default=0, ge=0)
    name: str = Field(default="", max_length=1024)
    created_at: float | None = None
    completed_at: float | None = None


# A paper size as PWG 5101.1 self-describing names spell it ("iso_a5_148x210mm").
MEDIA_NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
MAX_MEDIA = 64


class RawPrinterFacts(BaseModel):
    """What a raw printer can do, which it cannot be asked (an IPP printer is asked, and these
    are unused): colour, a duplex unit, its paper (empty = A4 and Letter; ``media_default``
    empty = the first), its resolution in dpi, and whether it reads a PJL job header, without
    which no per-job option reaches it. Absent (an older server): a monochrome one-sided
    printer. The server's printer records and a client's ``[[printers]]`` both say it."""

    color: bool = False
    duplex: bool = False
    media: list[Annotated[str, Field(pattern=MEDIA_NAME_PATTERN)]] = Field(
        default_factory=list, max_length=MAX_MEDIA
    )
    media_default: str = Field(default="", pattern=r"^$|" + MEDIA_NAME_PATTERN)
    resolution: int = Field(default=600, ge=72, le=9600)
    pjl: bool = False


class PrinterInfo(RawPrinterFacts):
    """A printer as the server's record has it."""

    id: int
    name: str
    host: str
    port: int
    protocol: Literal["raw", "ipp", "ipps"]
    path: str = ""


class Release(BaseModel):
    job_ids: list[str]
    printer: PrinterInfo


class Cancel(BaseModel):
    job_ids: list[str]


class JobOutcome(BaseModel):
    """How a job an endpoint handed to the server (uploaded through the gateway) ended: the
    server's Document Output printed it (completed), gave up (aborted, with why), or the job was
    canceled there. Until this arrives the endpoint shows the job ``processing``, never
    ``completed`` (docs/DESIGN.md 6). Also the answer of ``POST /api/v1/endpoint/jobs/outcomes``
    for endpoints without a channel."""

    job_id: str = Field(pattern=JOB_ID_PATTERN)
    state: Keyword
    reasons: list[str] = Field(default_factory=list, max_length=16)
    message: str = Field(default="", max_length=1024)
    printer: str | None = Field(default=None, max_length=255)


class ConfigChanged(BaseModel):
    config: dict[str, Any]


class UserDisabled(BaseModel):
    """An admin disabled this server user: log out every OS user who prints as them."""

    user: str = Field(min_length=1, max_length=255)
