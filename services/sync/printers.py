"""Reconciling the printers table with what this client should serve, incrementally.

Rows have a ``source``: ``config`` ([[printers]] of the config file) or ``server`` (input ports
from the server). Each source only ever changes its own rows, and a row whose values did not
change is left alone, so a sync of 1,000 ports touches only what changed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from protocol.rest import InputPort
from services.core.config import PrinterConfig
from services.core.store import Printer, Store

FIELDS = ("kind", "host", "port", "protocol", "path", "server_id")


def from_config(printers: list[PrinterConfig]) -> dict[str, dict[str, Any]]:
    return {
        p.name: {
            "kind": p.kind,
            "host": p.host,
            "port": p.port,
            "protocol": p.protocol,
            "path": p.path,
            "server_id": None,
        }
        for p in printers
    }


def from_server(ports: list[InputPort]) -> dict[str, dict[str, Any]]:
    """Direct ports carry their target printer; pull ports get one at release time."""
    wanted = {}
    for port in ports:
        target = port.target if port.kind == "direct" else None
        wanted[port.name] = {
            "kind": port.kind,
            "host": target.host if target else "",
            "port": target.port if target else 0,
            "protocol": target.protocol if target else "raw",
            "path": target.path if target else "",
            "server_id": port.id,
        }
    return wanted


def apply(store: Store, source: str, wanted: dict[str, dict[str, Any]]) -> int:
    """Insert, update and delete rows of ``source`` so they match ``wanted``; returns how many
    rows changed. A name already taken by the other source is left to it."""
    changed = 0
    with store.session() as session:
        rows = {row.name: row for row in session.scalars(select(Printer))}
        for name, values in wanted.items():
            row = rows.get(name)
            if row is None:
                session.add(Printer(name=name, source=source, **values))
                changed += 1
            elif row.source != source:
                continue
            elif any(getattr(row, f) != values[f] for f in FIELDS):
                for field in FIELDS:
                    setattr(row, field, values[field])
                # Another printer (or kind): what the old one could do is no longer true. Sync
                # reads the new one next (capabilities.py); an unchanged row keeps its cache.
                row.capabilities = row.capabilities_at = None
                changed += 1
        gone = [n for n, row in rows.items() if row.source == source and n not in wanted]
        if gone:
            session.execute(delete(Printer).where(Printer.name.in_(gone)))
            changed += len(gone)
        session.commit()
    return changed


def names(store: Store) -> list[str]:
    with store.session() as session:
        return list(session.scalars(select(Printer.name).order_by(Printer.name)))
