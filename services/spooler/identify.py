"""Identify-Printer (PWG 5100.13 section 6.1): the user asks "which one is mine?", and the
printer behind a direct port flashes, beeps or shows a message.

We have no panel to flash: the request is passed on to the IPP printer the port delivers to,
and its answer is ours. Ports with no IPP printer behind them (raw, pull) do not list the
operation (``PrinterObject.operations``), so a client never asks them.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from services.core import ipp, pinning
from services.core.ipp import IppError, Message, NeedMore, Operation, Status, Tag
from services.core.logs import get_log
from services.core.store import Store
from services.spooler.context import Body, Context
from services.spooler.printer import PrinterObject

if TYPE_CHECKING:
    import httpx

log = get_log("spooler")
# The operation attributes PWG 5100.13 defines for the request; nothing else is passed on.
PASSED_ON = ("identify-actions", "message")
# A printer on the local network answers at once; a user waiting for a beep gives up sooner.
TIMEOUT = 10.0


async def identify_printer(
    ctx: Context, request: Message, printer: PrinterObject, _body: Body
) -> Message:
    target = urlsplit(printer.device_uri)
    host, port, path = target.hostname or "", target.port or 631, target.path
    # Never in plain to a printer that has TLS as far as we know: nobody on the network hears
    # the message or the user (services/core/pinning.py).
    pinned = await pinning.pinned_addresses(ctx.store, host)
    tls = pinning.tls_port(target.scheme, host, port, pinned)
    uri = f"ipps://{host}:{tls}{path}" if tls else printer.device_uri
    forwarded = ipp.request(Operation.IDENTIFY_PRINTER)
    forwarded.operation.add("printer-uri", Tag.URI, uri)
    forwarded.operation.add("requesting-user-name", Tag.NAME, ctx.owner(request))
    for name in PASSED_ON:
        if (attr := request.operation.attributes.get(name)) is not None:
            forwarded.operation.attributes[name] = attr
    status, message = await _ask(ctx.store, uri, forwarded)
    log.info("printer.identify", printer=printer.name, device=uri, status=status.keyword)
    if status >= 0x0400:
        raise IppError(status, f"the printer at {uri} refused: {message}")
    return ipp.response(request, Status.OK)


async def _ask(store: Store, uri: str, request: Message) -> tuple[Status, str]:
    """The printer's status for ``request`` and its status-message (or the status keyword);
    over TLS trusting only the printer's pinned certificate when ``uri`` is ipps."""
    # Imported here, not at the top: identify-printer is rare, and an HTTP client loaded at
    # start would cost every spooler its memory and start-up time (issue 23).
    import httpx

    target = urlsplit(uri)
    verify: ssl.SSLContext | bool = True  # plain http: unused
    try:
        if target.scheme == "ipps":
            pinned = await pinning.pinned_context(
                store, target.hostname or "", target.port or 631, TIMEOUT
            )
            verify = pinned.context
        # Printers are on the local network: never through a proxy from the environment.
        async with httpx.AsyncClient(timeout=TIMEOUT, verify=verify, trust_env=False) as client:
            reply = await client.post(
                ("https" if target.scheme == "ipps" else "http") + uri[uri.index(":") :],
                content=ipp.encode(request),
                headers={"Content-Type": "application/ipp"},
            )
    except pinning.CertificateChanged as exc:  # an impostor, or a new printer: an admin decides
        raise IppError(Status.CLIENT_ERROR_NOT_POSSIBLE, exc.describe()) from None
    except (httpx.HTTPError, pinning.TlsUnavailable, OSError) as exc:
        raise IppError(
            Status.SERVER_ERROR_TEMPORARY_ERROR,
            f"the printer at {uri} did not answer ({exc or type(exc).__name__})",
        ) from None
    return _status(uri, reply)


def _status(uri: str, reply: httpx.Response) -> tuple[Status, str]:
    try:
        answer, _ = ipp.parse(reply.content)
    except (NeedMore, IppError):
        raise IppError(
            Status.SERVER_ERROR_TEMPORARY_ERROR,
            f"the printer at {uri} gave no IPP answer (HTTP {reply.status_code})",
        ) from None
    if answer.code < 0x0400:  # successful-ok or one of its variants
        return Status.OK, ""
    try:
        status = Status(answer.code)
    except ValueError:  # a status we have no name for: still a refusal, said as it came
        return Status.CLIENT_ERROR_NOT_POSSIBLE, f"status {answer.code:#06x}"
    return status, str(answer.operation.get("status-message") or status.keyword)
