"""Every message on the bus, defined once, with the one encode/decode path.

Frames are ``[topic, msgpack(envelope)]`` and the envelope is ``{v, id, ts, src, type, body}``.
Bus messages are notifications ("look at the store again"), never the only copy of anything,
so a receiver that cannot decode one logs it and carries on.

One job, one id: a message names a job by ``job_id``, which is always the job's uuid (the
store's ``Job.uuid``), the same string the gateway and channel wires, the server, the spool file
and the facade use, so one job can be followed from the spooler to the server by one id. The
store's integer row id (``Job.id``) never leaves the store except as the IPP job-id the spooler
hands out (RFC 8011 wants an integer there); where a person needs that number next to the uuid
it is called ``ipp_job_id`` (the facade's ``JobInfo``). A body from an older build that still
carried the row id fails the ``str`` check and is dropped like any malformed message.
"""

from __future__ import annotations

import dataclasses
import time
import typing
import uuid
from dataclasses import dataclass
from typing import Any, ClassVar

import msgpack

VERSION = 1


class MessageError(Exception):
    """A frame that is not a message we know, in the version we speak."""


@dataclass(frozen=True)
class Message:
    TYPE: ClassVar[str] = ""

    def body(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# --- events (PUB/SUB) -------------------------------------------------------------------------


@dataclass(frozen=True)
class JobStored(Message):
    """spooler -> delivery, channel: a job's document and row are committed."""

    TYPE: ClassVar[str] = "job.stored"
    job_id: str  # the job's uuid
    printer: str
    state: int


@dataclass(frozen=True)
class JobStateChanged(Message):
    """delivery -> channel, api: a job moved to another state (the store has the details)."""

    TYPE: ClassVar[str] = "job.state"
    job_id: str  # the job's uuid
    state: int
    reasons: str


@dataclass(frozen=True)
class PrintersChanged(Message):
    """sync -> spooler, delivery: the printers table changed."""

    TYPE: ClassVar[str] = "printers.changed"
    count: int


@dataclass(frozen=True)
class ChannelStatus(Message):
    """channel -> api, tray: the connection to the server changed (online, offline, ...)."""

    TYPE: ClassVar[str] = "channel.status"
    state: str
    server: str
    reason: str


@dataclass(frozen=True)
class SyncRequested(Message):
    """channel -> sync: the server says the printers changed; sync now."""

    TYPE: ClassVar[str] = "sync.requested"


@dataclass(frozen=True)
class SyncStatus(Message):
    """sync -> api, tray: a sync started (running), finished (ok) or failed (with reason)."""

    TYPE: ClassVar[str] = "sync.status"
    state: str
    reason: str


# --- requests (DEALER -> ROUTER) --------------------------------------------------------------


@dataclass(frozen=True)
class StatusRequest(Message):
    """Ask a service how it is; every service answers it."""

    TYPE: ClassVar[str] = "status"


@dataclass(frozen=True)
class WakeRequest(Message):
    """Look at the store now (``pullprint release`` after it changed a job)."""

    TYPE: ClassVar[str] = "wake"


TYPES: dict[str, type[Message]] = {
    cls.TYPE: cls
    for cls in (
        JobStored,
        JobStateChanged,
        PrintersChanged,
        ChannelStatus,
        SyncRequested,
        SyncStatus,
        StatusRequest,
        WakeRequest,
    )
}


@dataclass(frozen=True)
class Envelope:
    id: str
    ts: float
    src: str
    message: Message


def encode(message: Message, src: str) -> list[bytes]:
    """The two frames for ``message``: topic (its type) and the msgpack envelope."""
    envelope = {
        "v": VERSION,
        "id": uuid.uuid4().hex,
        "ts": time.time(),
        "src": src,
        "type": message.TYPE,
        "body": message.body(),
    }
    return [message.TYPE.encode(), msgpack.packb(envelope)]


def decode(frames: list[bytes]) -> Envelope:
    """Parse and check two frames; ``MessageError`` for anything we would not act on."""
    if len(frames) != 2:
        raise MessageError(f"expected 2 frames, got {len(frames)}")
    try:
        envelope = msgpack.unpackb(frames[1])
    except Exception as exc:  # msgpack raises several unrelated types for garbage
        raise MessageError(f"not msgpack: {exc}") from None
    if not isinstance(envelope, dict) or envelope.get("v") != VERSION:
        raise MessageError("not a version 1 envelope")
    cls = TYPES.get(envelope.get("type", ""))
    if cls is None:
        raise MessageError(f"unknown message type {envelope.get('type')!r}")
    message = _build(cls, envelope.get("body"))
    try:
        return Envelope(str(envelope["id"]), float(envelope["ts"]), str(envelope["src"]), message)
    except (KeyError, TypeError, ValueError) as exc:
        raise MessageError(f"bad envelope: {exc}") from None


def _build(cls: type[Message], body: object) -> Message:
    if not isinstance(body, dict):
        raise MessageError(f"{cls.TYPE}: body is not a map")
    hints = typing.get_type_hints(cls)
    values = {}
    for field in dataclasses.fields(cls):
        if field.name not in body:
            raise MessageError(f"{cls.TYPE}: missing {field.name}")
        value = body[field.name]
        if not isinstance(value, hints[field.name]):
            raise MessageError(f"{cls.TYPE}: {field.name} is not {hints[field.name].__name__}")
        values[field.name] = value
    return cls(**values)


# --- replies: one shape for every request ------------------------------------------------------


def ok(body: dict[str, Any]) -> bytes:
    return msgpack.packb({"ok": True, "body": body})


def error(code: str, message: str) -> bytes:
    return msgpack.packb({"ok": False, "error": {"code": code, "message": message}})


def decode_reply(payload: bytes) -> dict[str, Any]:
    try:
        reply = msgpack.unpackb(payload)
    except Exception as exc:
        raise MessageError(f"reply is not msgpack: {exc}") from None
    if not isinstance(reply, dict) or not isinstance(reply.get("ok"), bool):
        raise MessageError("reply has no ok flag")
    return reply
