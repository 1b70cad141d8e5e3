"""``GET /printers``, ``POST /printers/{name}/reset`` and ``POST /sync``: the printers this
client serves, retrying one printer's stuck jobs now, and "sync now"."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy import select

from services.api.audit import entry
from services.api.auth import AdminDep, Caller, TokenCallerDep
from services.api.context import Facade, FacadeDep
from services.api.errors import ApiError, responses
from services.api.models import Ok, PrinterInfo, PrinterReset
from services.core import jobs
from services.core.bus import RequestFailed
from services.core.messages import WakeRequest
from services.core.store import Printer

router = APIRouter(tags=["printers"])
PrinterName = Annotated[str, Path(min_length=1, max_length=127)]


def _printers(facade: Facade) -> list[PrinterInfo]:
    with facade.store.session() as session:
        return [
            PrinterInfo(
                name=p.name,
                kind=p.kind,
                host=p.host,
                port=p.port,
                protocol=p.protocol,
                source=p.source,
            )
            for p in session.scalars(select(Printer).order_by(Printer.name))
        ]


@router.get("/printers")
async def list_printers(facade: FacadeDep) -> list[PrinterInfo]:
    """Every printer (input port) this client serves, from the config and from the server."""
    return await asyncio.to_thread(_printers, facade)


def _reset(facade: Facade, name: str, caller: Caller) -> list[str]:
    with facade.store.session() as session:
        if session.get(Printer, name) is None and not jobs.stopped_at(session, name):
            raise ApiError(404, "no-such-printer", f"no printer {name}")
        retried = jobs.reset_printer(session, name, caller.user)
        detail = f"{len(retried)} stuck job(s) retried now"
        entry(caller, "printer.reset", name, detail).add(session)
        session.commit()
        return jobs.uuids(session, retried)


@router.post("/printers/{name}/reset", responses=responses(401, 403, 404))
async def reset_printer(name: PrinterName, facade: FacadeDep, caller: AdminDep) -> PrinterReset:
    """Retry every job stuck waiting for this printer now, its backoff cleared, and wake
    delivery; no process restarts. Root or the admin token only: it acts on every user's
    jobs at that printer."""
    retried = await asyncio.to_thread(_reset, facade, name, caller)
    facade.log.info("printer.reset", printer=name, user=caller.user, retried=",".join(retried))
    await facade.wake("delivery")
    return PrinterReset(printer=name, retried=retried)


@router.post("/sync", responses=responses(401, 503))
async def sync_now(facade: FacadeDep, caller: TokenCallerDep) -> Ok:
    """Ask sync to fetch the printers now; its progress shows in ``GET /status``."""
    try:
        await facade.ask("sync", WakeRequest(), timeout=1.0)
    except RequestFailed as exc:
        raise ApiError(503, "sync-unavailable", f"sync did not take the request: {exc}") from None
    facade.log.info("sync.requested", user=caller.user)
    return Ok()
