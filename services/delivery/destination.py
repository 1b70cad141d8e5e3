"""Where a job goes (its destination) and which transport takes it there on the chosen route:
straight to the printer (raw or IPP), or up to the server's gateway."""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass
from typing import Any

import httpx

from protocol import job_options
from protocol.gateway import UploadHeader, version_for
from services.core import capabilities, endpoint
from services.core.capabilities import Capabilities, decode_attributes
from services.core.config import Settings
from services.core.store import Job, Printer, Store
from services.delivery import gateway, pjl
from services.delivery.gateway import GatewayTransport
from services.delivery.ipp import IppTransport
from services.delivery.raw import RawTransport
from services.delivery.router import Route
from services.delivery.transport import DeliveryError, Transport


@dataclass(frozen=True)
class Destination:
    """Where a job is sent: its direct port's printer, or where a pull job was released
    (then `printer_id` is the server's id of that printer)."""

    name: str
    host: str
    port: int
    protocol: str
    path: str
    printer_id: int | None = None
    # What the printer can do, where we know it: a direct port's row, or what a release said
    # of its printer. An IPP printer is asked itself at delivery.
    capabilities: Capabilities | None = None

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
            # None for a job released before targets kept the id: uploaded, the server holds
            # it for another release rather than being told an address.
            target.get("id"),
            target_capabilities(target),
        )
    caps = Capabilities.from_json(printer.capabilities) if printer.capabilities else None
    return Destination(
        printer.name, printer.host, printer.port, printer.protocol, printer.path, None, caps
    )


def target_capabilities(target: dict[str, Any]) -> Capabilities | None:
    """What the printer of a release can do: as the release recorded them (``capabilities``,
    a printers row's JSON; or the server's raw printer record: colour, duplex, media,
    resolution, pjl); None when it said nothing."""
    if target.get("capabilities"):
        return Capabilities.from_json(target["capabilities"])
    if "pjl" not in target:
        return None
    return capabilities.for_raw(
        color=bool(target.get("color")),
        duplex=bool(target.get("duplex")),
        media=target.get("media") or (capabilities.A4, capabilities.LETTER),
        media_default=target.get("media_default") or None,
        resolution=int(target.get("resolution") or 600),
        pjl=bool(target["pjl"]),
    )


def transport(
    settings: Settings,
    tls: ssl.SSLContext,
    route: Route,
    job: Job,
    printer: Printer,
    where: Destination,
    failure: str | None = None,
    *,
    pins: Store | None = None,
) -> Transport:
    """How to send this job by this route; on WAIT, the error the reachability check met
    (``failure``), as the attempt's failure. ``pins``: the store holding IPPS printers'
    pinned certificates (the attempt's own; an IPP printer needs it)."""
    if route == Route.WAIT:
        what = failure or "does not answer"
        raise DeliveryError("printer-stopped", f"{where.address} {what}; will retry")
    if route in (Route.GATEWAY, Route.VIA_SERVER):
        return _upload(settings, tls, job, printer, where)
    if where.protocol in ("ipp", "ipps"):
        assert pins is not None, "IPP delivery needs the store of pinned certificates"
        return IppTransport(
            where.host,
            where.port,
            where.path,
            settings.reach_timeout,
            owner=job.owner,
            name=job.name,
            document_format=job.format,
            size=job.size,
            job_options=decode_attributes(job.options),
            pins=pins,
            protocol=where.protocol,
        )
    around = pjl.plan(decode_attributes(job.options), where.capabilities, job.name, job.format)
    return RawTransport(where.host, where.port, settings.reach_timeout, around)


def _upload(
    settings: Settings, tls: ssl.SSLContext, job: Job, printer: Printer, where: Destination
) -> GatewayTransport:
    """To the server, on either route that goes there (GATEWAY, VIA_SERVER): what the server
    does with the job follows from its port and its release, never from the route."""
    token = endpoint.load_token(settings.state_dir)
    if not token:
        raise DeliveryError("service-off-line", "waiting for the server to authorize us")
    if printer.server_id is None:
        raise DeliveryError(
            "service-off-line", f"{printer.name} is not an input port of the server"
        )
    # A job released at a printer names it by the server's id, and the server prints it there
    # at once; a direct port's job names none, the server prints it at the port's target.
    # Anything else the server holds until its own release. The job's options go with it:
    # the server prints with them (issue 21).
    options, _left = job_options.for_upload(job.options)
    if _older_server(settings):
        options = None  # options_left_behind says so in the trace
    header = UploadHeader(
        v=version_for(options),
        token=token,
        job_id=job.uuid,
        owner=job.owner,
        port_id=printer.server_id,
        name=job.name,
        format=job.format,
        size=job.size,
        sha256=job.sha256,
        deliver_to=where.printer_id,
        options=options,
    )
    return GatewayTransport(gateways(settings), tls, header, settings.reach_timeout, settings.proxy)


def options_left_behind(job: Job, settings: Settings) -> str:
    """What an upload cannot carry (an option the wire has no name for, which the spooler
    would not have taken; every option, to a server older than this client), for the trace;
    "" when everything travels. job-hold-until was honoured here, before the upload."""
    options, left = job_options.for_upload(job.options)
    if options is not None and _older_server(settings):
        names = ", ".join(sorted(json.loads(options)))
        older = "the server is older than this client and takes no options"
        return f"{older}: it prints without {names}"
    if not left:
        return ""
    return f"the upload cannot carry: {', '.join(left)}; the server prints without them"


def _older_server(settings: Settings) -> bool:
    """A gateway of ours refused options as an unknown protocol version (gateway.py)."""
    return any(address in gateway.OLDER_SERVERS for address in gateways(settings))


def printed_at_once(printer: Printer, where: Destination) -> bool:
    """Whether the server prints an upload at once (what the trace may say) or holds it until
    a release: the rule of the gateway (server/gateway.py), seen from this side."""
    return printer.kind == "direct" or where.printer_id is not None


def gateways(settings: Settings) -> list[str]:
    """The gateways an upload tries, in order (each upload starts again at the first, so
    uploads come back to it as soon as it answers): ``gateway`` when set, else the gateway
    port of every server in ``servers``, the same list the channel uses; then
    ``secondary_gateway``."""
    listed = [settings.gateway] if settings.gateway else []
    if not listed:
        port = gateway.DEFAULT_GATEWAY_PORT
        listed = [f"{httpx.URL(url).host}:{port}" for url in settings.server_list]
    listed.append(settings.secondary_gateway or "")
    return list(dict.fromkeys(a for a in listed if a))
