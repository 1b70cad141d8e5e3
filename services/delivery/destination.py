"""Where a job goes (its destination) and which transport takes it there on the chosen route:
straight to the printer (raw or IPP), or up to the server's gateway."""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass

import httpx

from protocol import PROTOCOL_VERSION
from protocol.gateway import UploadHeader
from services.core import endpoint
from services.core.config import Settings
from services.core.store import Job, Printer
from services.delivery import gateway
from services.delivery.gateway import GatewayTransport
from services.delivery.ipp import IppTransport
from services.delivery.raw import RawTransport
from services.delivery.router import Route
from services.delivery.transport import DeliveryError, Transport


@dataclass(frozen=True)
class Destination:
    """Where a job is sent: its direct port's printer, or where a pull job was released."""

    name: str
    host: str
    port: int
    protocol: str
    path: str

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def destination(job: Job, printer: Printer) -> Destination:
    if job.target:
        target = json.loads(job.target)
        return Destination(
            target["name"],
            target["host"],
            int(target["port"]),
            target["protocol"],
            target.get("path", ""),
        )
    return Destination(printer.name, printer.host, printer.port, printer.protocol, printer.path)


def transport(
    settings: Settings,
    tls: ssl.SSLContext,
    route: Route,
    job: Job,
    printer: Printer,
    where: Destination,
) -> Transport:
    if route == Route.WAIT:
        raise DeliveryError("printer-stopped", f"{where.address} does not answer; will retry")
    if route in (Route.GATEWAY, Route.VIA_SERVER):
        return _upload(settings, tls, route, job, printer, where)
    if where.protocol == "ipp":
        return IppTransport(
            where.host,
            where.port,
            where.path,
            settings.reach_timeout,
            owner=job.owner,
            name=job.name,
            document_format=job.format,
            size=job.size,
        )
    return RawTransport(where.host, where.port, settings.reach_timeout)


def _upload(
    settings: Settings,
    tls: ssl.SSLContext,
    route: Route,
    job: Job,
    printer: Printer,
    where: Destination,
) -> GatewayTransport:
    """To the server: the gateway holds it (GATEWAY) or prints it at once (VIA_SERVER, or
    a job already released to a printer)."""
    token = endpoint.load_token(settings.state_dir)
    if not token:
        raise DeliveryError("service-off-line", "waiting for the server to authorize us")
    if printer.server_id is None:
        raise DeliveryError(
            "service-off-line", f"{printer.name} is not an input port of the server"
        )
    deliver_to = None
    # Via the server, or released at a printer (the release names it): the server prints
    # it there at once. Otherwise the server holds it until its own release.
    if route == Route.VIA_SERVER or job.target:
        deliver_to = gateway.destination(where.host, where.port, where.protocol, where.path)
    header = UploadHeader(
        v=PROTOCOL_VERSION,
        token=token,
        job_id=job.uuid,
        owner=job.owner,
        port_id=printer.server_id,
        name=job.name,
        format=job.format,
        size=job.size,
        sha256=job.sha256,
        deliver_to=deliver_to,
    )
    return GatewayTransport(gateways(settings), tls, header, settings.reach_timeout, settings.proxy)


def gateways(settings: Settings) -> list[str]:
    primary = settings.gateway
    if not primary and settings.server_url:
        primary = f"{httpx.URL(settings.server_url).host}:{gateway.DEFAULT_GATEWAY_PORT}"
    return [a for a in (primary, settings.secondary_gateway) if a]
