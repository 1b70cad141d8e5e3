"""The spooler process: captures jobs through its IPP endpoint, one printer object per input
port in the store, and tells the bus about every job it stored."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import uvicorn
from sqlalchemy import select
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from protocol.http_limits import uvicorn_options
from protocol.states import JobState
from services.core import capabilities, listen, users
from services.core.capabilities import Capabilities
from services.core.config import Settings
from services.core.messages import JobStateChanged, Message, PrintersChanged, WakeRequest
from services.core.runner import Service, every
from services.core.spool import Spool
from services.core.store import Job, Printer, Store
from services.core.switches import route_switch
from services.spooler.capture import abort_abandoned
from services.spooler.context import Context
from services.spooler.http import IppApp
from services.spooler.printer import MULTIPLE_OPERATION_TIMEOUT, PrinterObject
from services.spooler.raw import RawCapture


class SpoolerService(Service):
    name = "spooler"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.store = Store(settings.db_path)
        self.spool = Spool(settings.spool_dir, key_dir=settings.state_dir)
        self.printers: dict[str, PrinterObject] = {}
        self._wake = asyncio.Event()
        self._clean_spool()
        self.ipp_ctx = ctx = Context(
            store=self.store,
            spool=self.spool,
            max_job_size=settings.max_job_size,
            min_free_disk=settings.min_free_disk,
            port=settings.spooler_port,
            publish=self.publisher.publish,
            max_attributes=settings.ipp_max_attributes,
            max_attribute_bytes=settings.ipp_max_attribute_bytes,
            attributes_timeout=settings.http_header_timeout,
        )
        config = uvicorn.Config(
            IppApp(ctx, self.printer),
            host="127.0.0.1",  # loopback only: OS queues on this machine are our clients
            port=settings.spooler_port,
            log_config=None,
            access_log=False,
            # uvicorn believes X-Forwarded-For from 127.0.0.1 by default; nothing proxies us,
            # so a client must not choose the address our logs and checks see.
            proxy_headers=False,
            lifespan="off",
            **uvicorn_options(AutoHTTPProtocol, settings.http_limits, self.log.info),
        )
        self.http = uvicorn.Server(config)
        self.http.install_signal_handlers = lambda: None  # the runner owns signals
        # Bound here, not by uvicorn: a taken port is one line naming its holder (listen.py).
        self.socket = listen.bind("127.0.0.1", settings.spooler_port)

    def _clean_spool(self) -> None:
        """Remove what a crash left: ``.part`` files and documents whose row never committed.

        Safe only here, before we accept anything: no capture is in flight.
        """
        partials = self.spool.remove_partials()
        with self.store.session() as session:
            known = set(session.scalars(select(Job.uuid)))
        orphans = self.spool.documents() - known
        for orphan in orphans:
            self.spool.delete(orphan)
        if partials or orphans:
            self.log.info("spool.cleaned", partials=partials, orphans=len(orphans))

    async def printer(self, name: str) -> PrinterObject | None:
        """Look a printer up; a miss re-reads the store, in case sync just added it."""
        if name not in self.printers:
            await self._load_printers()
        return self.printers.get(name)

    async def _load_printers(self) -> None:
        """Printers, the custom-login user map and the route switch, from the store."""
        self.ipp_ctx.user_map = await asyncio.to_thread(users.load_map, self.store)
        switch = await asyncio.to_thread(route_switch, self.store)
        rows = await asyncio.to_thread(self._read_printers)
        self.printers = {
            row.name: PrinterObject(
                row.name,
                row.kind,
                self.settings.spooler_port,
                self.settings.mode,
                switch,
                capabilities=stored_capabilities(row),
                device_uri=device_uri(row),
            )
            for row in rows
        }

    def _read_printers(self) -> list[Printer]:
        with self.store.session() as session:
            return list(session.scalars(select(Printer)))

    def handlers(self) -> dict[type[Message], Any]:
        return super().handlers() | {WakeRequest: self._wake_now}

    async def _wake_now(self, _message: Message) -> dict[str, Any]:
        """A login, a logout or the route switch changed what the store says: reload now."""
        await self._load_printers()
        return {}

    def tasks(self) -> list[Any]:
        tasks = [
            self.http.serve(sockets=[self.socket]),
            self.wake_on(["sync"], [PrintersChanged], self._wake),
            every(self.settings.rescan_interval, self._wake, self._load_printers),
            every(self.settings.rescan_interval, asyncio.Event(), self._abort_abandoned),
        ]
        if self.settings.raw_capture_port:
            raw = RawCapture(
                self.ipp_ctx,
                self.settings.raw_capture_port,
                self._raw_printer,
                self.printer,
                self.settings.http_body_timeout,
                self.settings.http_max_connections,
            )
            tasks.append(raw.serve())
        return tasks

    def _raw_printer(self) -> str | None:
        if self.settings.raw_capture_printer:
            return self.settings.raw_capture_printer
        if self.settings.printers:
            return self.settings.printers[0].name
        return min(self.printers, default=None)

    async def _abort_abandoned(self) -> None:
        """Create-Job jobs whose Send-Document never came: abort them, nothing to deliver."""
        cutoff = time.time() - MULTIPLE_OPERATION_TIMEOUT
        aborted = await asyncio.to_thread(abort_abandoned, self.store, cutoff)
        for job_uuid in aborted:
            self.log.info("job.aborted", job=job_uuid, reason="no document arrived")
            await self.publisher.publish(
                JobStateChanged(job_uuid, int(JobState.ABORTED), "aborted-by-system")
            )

    async def status(self) -> dict[str, Any]:
        return {
            "state": "running" if self.http.started else "starting",
            "port": self.settings.spooler_port,
            "printers": sorted(self.printers),
        }


def stored_capabilities(row: Printer) -> Capabilities:
    """What sync last read of the port's printer; what any raw printer does until it has."""
    return Capabilities.from_json(row.capabilities) if row.capabilities else capabilities.for_raw()


def device_uri(row: Printer) -> str:
    if row.kind != "direct" or not row.host:
        return ""
    if row.protocol == "raw":
        return f"socket://{row.host}:{row.port}"
    return f"{row.protocol}://{row.host}:{row.port}{row.path or '/ipp/print'}"
