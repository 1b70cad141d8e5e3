"""``GET /printers`` and ``POST /sync``: the printers this client serves, and "sync now"."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from sqlalchemy import select

from services.api.auth import TokenCallerDep
from services.api.context import Facade, FacadeDep
from services.api.errors import ApiError, responses
from services.api.models import Ok, PrinterInfo
from services.core.bus import RequestFailed
from services.core.messages import WakeRequest
from services.core.store import Printer

router = APIRouter(tags=["printers"])


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


@router.post("/sync", responses=responses(401, 503))
async def sync_now(facade: FacadeDep, caller: TokenCallerDep) -> Ok:
    """Ask sync to fetch the printers now; its progress shows in ``GET /status``."""
    try:
        await facade.ask("sync", WakeRequest(), timeout=1.0)
    except RequestFailed as exc:
        raise ApiError(503, "sync-unavailable", f"sync did not take the request: {exc}") from None
    facade.log.info("sync.requested", user=caller.user)
    return Ok()
