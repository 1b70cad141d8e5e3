"""Keeping each port's capabilities in the store (``printers.capabilities``), for the spooler
to present and check jobs against (core/capabilities.py).

A port's jobs reach one printer (direct port) or any of several (pull port: the printers it
may be released at). An IPP printer is asked (printer_attributes.py), at most once every
``REFRESH_INTERVAL`` while it answers, and at once when a port names a printer we have not
read in this process; a raw printer cannot be asked, so its record says what it does. A pull
port presents the union. A printer that does not answer leaves its ports' stored
capabilities as they are (logged once, not at every sync), so the cache outlives the
printer being switched off and our own restarts.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx
from sqlalchemy import select

from protocol.channel import PrinterInfo
from protocol.rest import InputPort
from services.core import capabilities, pinning
from services.core.capabilities import Capabilities
from services.core.config import PrinterConfig
from services.core.ipp import Group
from services.core.logs import EventLog
from services.core.store import Printer, Store
from services.sync import printer_attributes

# How often a printer that answers is asked again: its paper and duplex unit change rarely,
# and a port whose printer changed is read at once anyway.
REFRESH_INTERVAL = 300.0
# Printers asked at the same time: enough that one sync reads a site's printers within one
# timeout, few enough not to open hundreds of connections at once.
PARALLEL_READS = 16
# The TLS preflight that reads (or checks) an IPPS printer's certificate.
TLS_TIMEOUT = 5.0


@dataclass(frozen=True)
class Source:
    """One printer a port's jobs may go to, as its record (server or config) describes it;
    the fields after ``path`` are what a raw printer's record says it can do."""

    host: str
    port: int
    protocol: str  # raw | ipp
    path: str = ""
    color: bool = False
    duplex: bool = False
    media: tuple[str, ...] = ()
    media_default: str = ""
    resolution: int = 600
    pjl: bool = False

    @property
    def address(self) -> str:
        return printer_attributes.printer_uri(self.host, self.port, self.path)

    def raw_capabilities(self) -> Capabilities:
        return capabilities.for_raw(
            color=self.color,
            duplex=self.duplex,
            media=self.media or (capabilities.A4, capabilities.LETTER),
            media_default=self.media_default or None,
            resolution=self.resolution,
            pjl=self.pjl,
        )


def source_of(printer: PrinterInfo | PrinterConfig) -> Source:
    return Source(
        printer.host,
        printer.port,
        printer.protocol,
        printer.path,
        printer.color,
        printer.duplex,
        tuple(printer.media),
        printer.media_default,
        printer.resolution,
        printer.pjl,
    )


@dataclass(frozen=True)
class Plan:
    """What a port presents is made from: its kind and the printers it reaches."""

    kind: str  # direct | pull
    sources: tuple[Source, ...]


class CapabilityCache:
    """What this process has read of each IPP printer (by address) and when; the store keeps
    the result per port across restarts."""

    def __init__(self, log: EventLog, refresh_interval: float = REFRESH_INTERVAL) -> None:
        self.log = log
        self.refresh_interval = refresh_interval
        self.read: dict[str, Capabilities] = {}
        self.read_at: dict[str, float] = {}
        self.failing: set[str] = set()

    async def refresh(
        self, store: Store, plans: dict[str, Plan], defaults: dict[str, str] | None = None
    ) -> int:
        """Read the IPP printers that are due, then store each port's capabilities where they
        changed; returns how many ports changed. ``defaults`` are the admin's queue defaults
        (profile.queue_options), which a pull port presents where its printers support them."""
        due = {
            s.address: s
            for plan in plans.values()
            for s in plan.sources
            if s.protocol != "raw" and self._due(s.address)
        }
        if due:
            await self._read_all(store, list(due.values()))
        wanted = {}
        for name, plan in plans.items():
            caps = self._port(plan, defaults or {})
            if caps is not None:
                wanted[name] = caps.to_json()
        return await asyncio.to_thread(save, store, wanted)

    def _due(self, address: str) -> bool:
        at = self.read_at.get(address)
        return at is None or time.monotonic() - at >= self.refresh_interval

    async def _read_all(self, store: Store, sources: list[Source]) -> None:
        limit = asyncio.Semaphore(PARALLEL_READS)
        # Printers are on the local network: never through a proxy from the environment.
        async with httpx.AsyncClient(trust_env=False) as client:

            async def one(source: Source) -> None:
                async with limit:
                    await self._read_one(store, client, source)

            await asyncio.gather(*(one(s) for s in sources))

    async def _read_one(self, store: Store, client: httpx.AsyncClient, source: Source) -> None:
        address = source.address
        try:
            pinned = await pinning.pinned_addresses(store, source.host)
            tls_port = pinning.tls_port(source.protocol, source.host, source.port, pinned)
            if tls_port is None:
                group = await printer_attributes.read(client, source.host, source.port, source.path)
            else:
                group = await _read_over_tls(store, source, tls_port)
        except printer_attributes.Unreadable as exc:
            if address not in self.failing:
                self.failing.add(address)
                self.log.warning("capabilities.unreadable", printer=address, reason=str(exc))
            return
        caps = capabilities.prefer_color(capabilities.from_printer(group))
        if address in self.failing or self.read.get(address) != caps:
            self.log.info("capabilities.read", printer=address, attributes=len(caps.attributes))
        self.failing.discard(address)
        self.read[address], self.read_at[address] = caps, time.monotonic()

    def _port(self, plan: Plan, defaults: dict[str, str]) -> Capabilities | None:
        """The port's capabilities, or None while one of its printers has never answered
        (then what the store has stays)."""
        members = [self._source(s) for s in plan.sources]
        if any(m is None for m in members):
            return None
        known = [m for m in members if m is not None]
        if plan.kind == "direct":
            return known[0] if known else None
        return capabilities.union(known, defaults)

    def _source(self, source: Source) -> Capabilities | None:
        if source.protocol == "raw":
            return source.raw_capabilities()
        return self.read.get(source.address)


async def _read_over_tls(store: Store, source: Source, port: int) -> Group:
    """The printer's attributes over IPPS, trusting only its pinned certificate (pinned here
    on first use, as delivery would)."""
    try:
        trust = await pinning.pinned_context(store, source.host, port, TLS_TIMEOUT)
    except (pinning.CertificateChanged, pinning.TlsUnavailable, OSError) as exc:
        where = f"ipps://{source.host}:{port}"
        raise printer_attributes.Unreadable(f"{where}: {exc or type(exc).__name__}") from None
    async with httpx.AsyncClient(verify=trust.context, trust_env=False) as client:
        return await printer_attributes.read(client, source.host, port, source.path, "ipps")


def save(store: Store, wanted: dict[str, str]) -> int:
    """Write each port's capabilities JSON where it differs from the stored one."""
    changed = 0
    with store.session() as session:
        for row in session.scalars(select(Printer).where(Printer.name.in_(list(wanted)))):
            if row.capabilities != wanted[row.name]:
                row.capabilities, row.capabilities_at = wanted[row.name], time.time()
                changed += 1
        session.commit()
    return changed


def plans_from_config(printers: list[PrinterConfig]) -> dict[str, Plan]:
    """A configured direct printer is its own source; a configured pull port may be released
    at any of the configured direct printers."""
    direct = tuple(source_of(p) for p in printers if p.kind == "direct")
    return {
        p.name: Plan("direct", (source_of(p),)) if p.kind == "direct" else Plan("pull", direct)
        for p in printers
    }


def plans_from_server(ports: list[InputPort]) -> dict[str, Plan]:
    """A direct port's source is its target; a pull port's are the printers it may be
    released at, and one that may be released anywhere ("any printer") has every printer
    the server named to us: the closest we know to "any"."""
    every = {}
    for port in ports:
        for printer in [*port.printers, *([port.target] if port.target else [])]:
            every[printer.id] = source_of(printer)
    plans = {}
    for port in ports:
        if port.kind == "direct" and port.target is not None:
            plans[port.name] = Plan("direct", (source_of(port.target),))
        elif port.kind == "pull":
            chosen = tuple(source_of(p) for p in port.printers) or tuple(every.values())
            plans[port.name] = Plan("pull", chosen)
    return plans
