"""Queueing server -> endpoint channel commands (release, cancel, printers.changed, ...).

A command is a row first and a WebSocket frame second: the channel sends every unacked row of
an endpoint when it connects and whenever it is nudged, and marks the row on the ack. So a
command queued by the admin CLI (another process) or while the endpoint is offline still
arrives, at least once; endpoints treat them idempotently by job id.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from protocol.channel import PrinterInfo
from protocol.gateway import Destination
from server import notify
from server.models import Command, Endpoint, Printer, now


def printer_info(printer: Printer) -> PrinterInfo:
    return PrinterInfo(
        id=printer.id,
        name=printer.name,
        host=printer.host,
        port=printer.port,
        protocol=printer.protocol,  # type: ignore[arg-type]
        path=printer.path,
        color=bool(printer.color),
        duplex=bool(printer.duplex),
        media=list(printer.media or []),
        media_default=printer.media_default or "",
        resolution=printer.resolution or 600,
        pjl=bool(printer.pjl),
    )


def destination(printer: Printer) -> dict[str, Any]:
    """Where Document Output sends a job, as stored in the job row's `target`."""
    return Destination(
        host=printer.host,
        port=printer.port,
        protocol=printer.protocol,  # type: ignore[arg-type]
        path=printer.path,
        color=bool(printer.color),
        duplex=bool(printer.duplex),
        media=list(printer.media or []),
        media_default=printer.media_default or "",
        pjl=bool(printer.pjl),
    ).model_dump()


def queue(session: Session, endpoint_id: int, type_: str, body: dict[str, Any]) -> Command:
    command = Command(id=uuid.uuid4().hex, endpoint_id=endpoint_id, type=type_, body=body)
    session.add(command)
    notify.endpoint_changed(session, endpoint_id)
    return command


def broadcast(session: Session, type_: str, body: dict[str, Any]) -> int:
    """Queue one command for every authorized endpoint; returns how many."""
    ids = session.scalars(select(Endpoint.id).where(Endpoint.state == "authorized")).all()
    for endpoint_id in ids:
        queue(session, endpoint_id, type_, body)
    return len(ids)


def unacked(session: Session, endpoint_id: int) -> list[Command]:
    return list(
        session.scalars(
            select(Command)
            .where(Command.endpoint_id == endpoint_id, Command.acked_at.is_(None))
            .order_by(Command.created_at)
        )
    )


def mark_acked(session: Session, endpoint_id: int, command_id: str, ok: bool) -> bool:
    command = session.get(Command, command_id)
    if command is None or command.endpoint_id != endpoint_id or command.acked_at is not None:
        return False
    command.acked_at = now()
    command.ok = ok
    return True
