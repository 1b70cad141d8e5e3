"""Gateway framing (TLS TCP, port 7300): [4-byte big-endian length][msgpack map] both ways.

A client sends one header, then exactly `size` document bytes; the server answers once, only
after its own fsync and commit.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Any, Literal

import msgpack
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from protocol import JOB_ID_PATTERN, PROTOCOL_VERSION, job_options

# The first version whose header may carry `options`.
OPTIONS_VERSION = 3

SHA256_PATTERN = r"^[0-9a-f]{64}$"

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
    "unknown-printer",  # `deliver_to` names no printer the server knows
    "printer-not-allowed",  # the job's input port does not print at that printer
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
    """A printer address: raw TCP (`host:port`, usually 9100) or IPP (`ipp://host:port/path`).
    Only ever taken from the server's own printers table, never from an upload."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(min_length=1, max_length=255)
    port: int = Field(ge=1, le=65535)
    protocol: Literal["raw", "ipp", "ipps"]
    path: str = Field(default="", max_length=255)
    # What a raw printer can do, from its record at the time the job was given it (it cannot
    # be asked): which of a job's options a PJL header may tell it. Absent in older rows: a
    # monochrome, one-sided printer without PJL, as every port assumed.
    color: bool = False
    duplex: bool = False
    media: list[str] = Field(default_factory=list, max_length=64)
    media_default: str = Field(default="", max_length=64)
    pjl: bool = False


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
    # The server printer (by its id) to print at once, for a job released at it or sent via
    # the server; the job's input port must allow it. Never an address: the server sends
    # only to printers its admin configured.
    deliver_to: int | None = Field(default=None, ge=1)
    # The job's options (protocol/job_options.py's JSON), for the server to print with.
    options: str | None = Field(default=None, max_length=job_options.MAX_JSON)

    @field_validator("options")
    @classmethod
    def _options_in_wire_form(cls, text: str | None) -> str | None:
        if text is not None:
            job_options.parse(text)  # BadOptions is a ValueError: pydantic names the field
        return text


def version_for(options: str | None) -> int:
    """The version a header is sent with: the oldest that carries it, so a server that
    predates options still takes a job without any."""
    return PROTOCOL_VERSION if options else OPTIONS_VERSION - 1


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
    if obj.get("v") not in range(1, PROTOCOL_VERSION + 1):
        raise ProtocolError("unsupported-version", f"expected v={PROTOCOL_VERSION}")
    if obj["v"] < OPTIONS_VERSION and "options" in obj:
        raise ProtocolError(
            "unsupported-version", f"options need v={OPTIONS_VERSION}, the header says v={obj['v']}"
        )
    if obj["v"] == 1 and "deliver_to" in obj:
        raise ProtocolError(
            "unsupported-version",
            "v=1 deliver_to (an address) is no longer accepted; "
            f"v={PROTOCOL_VERSION} names a printer by its id",
        )
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
