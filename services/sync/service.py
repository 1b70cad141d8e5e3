"""The sync process: makes the printers table match what this client should serve.

Today that is the ``[[printers]]`` of the config file (serverless sites and tests). Printers
from the server and OS queues come in through the same table with ``source = 'server'``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import delete, select

from services.core.config import PrinterConfig, Settings
from services.core.messages import PrintersChanged, SyncRequested
from services.core.runner import Service, every
from services.core.store import Printer, Store

FIELDS = ("kind", "host", "port", "protocol", "path")


class SyncService(Service):
    name = "sync"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.store = Store(settings.db_path)
        self._wake = asyncio.Event()
        self.last_sync: float | None = None
        self.printer_count = 0

    def tasks(self) -> list[Any]:
        return [
            self.wake_on(["channel"], [SyncRequested], self._wake),
            every(self.settings.sync_interval, self._wake, self.sync),
        ]

    async def sync(self) -> None:
        changed = await asyncio.to_thread(apply_config_printers, self.store, self.settings.printers)
        self.last_sync = time.time()
        self.printer_count = len(self.settings.printers)
        if changed:
            self.log.info("printers.changed", count=self.printer_count, changed=changed)
        # Always announce: a spooler that started after our last message must not wait a
        # whole rescan interval to learn the printers.
        await self.publisher.publish(PrintersChanged(self.printer_count))

    async def status(self) -> dict[str, Any]:
        return {"state": "ok", "printers": self.printer_count, "last_sync": self.last_sync}


def apply_config_printers(store: Store, printers: list[PrinterConfig]) -> int:
    """Insert, update and delete ``source = 'config'`` rows so they match the config; returns
    how many rows changed. Incremental, so untouched printers keep their rows."""
    wanted = {p.name: p for p in printers}
    changed = 0
    with store.session() as session:
        existing = {
            row.name: row
            for row in session.scalars(select(Printer).where(Printer.source == "config"))
        }
        for name, conf in wanted.items():
            row = existing.get(name)
            values = {field: getattr(conf, field) for field in FIELDS}
            if row is None:
                session.add(Printer(name=name, source="config", **values))
                changed += 1
            elif any(getattr(row, f) != v for f, v in values.items()):
                for field, value in values.items():
                    setattr(row, field, value)
                changed += 1
        gone = set(existing) - set(wanted)
        if gone:
            session.execute(delete(Printer).where(Printer.name.in_(gone)))
            changed += len(gone)
        session.commit()
    return changed
