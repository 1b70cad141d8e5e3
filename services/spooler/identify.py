"""Identify-Printer (PWG 5100.13 section 6.1): the user asks "which one is mine?", and the
printer behind a direct port flashes, beeps or shows a message.

We have no panel to flash: the request is passed on to the IPP printer the port delivers to,
and its answer is ours. Ports with no IPP printer behind them (raw, pull) do not list the
operation (``PrinterObject.operations``), so a client never asks them.
"""

from __future__ import annotations

import httpx

from services.core import ipp
from services.core.ipp import IppError, Message, NeedMore, Operation, Status, Tag
from services.core.logs import get_log
from services.spooler.context import Body, Context
from services.spooler.printer import PrinterObject

log = get_log("spooler")
# The operation attributes PWG 5100.13 defines for the request; nothing else is passed on.
PASSED_ON = ("identify-actions", "message")
# A printer on the local network answers at once; a user waiting for a beep gives up sooner.
TIMEOUT = 10.0


async def identify_printer(
    ctx: Context, request: Message, printer: PrinterObject, _body: Body
) -> Message:
    forwarded = ipp.request(Operation.IDENTIFY_PRINTER)
    forwarded.operation.add("printer-uri", Tag.URI, printer.device_uri)
    forwarded.operation.add("requesting-user-name", Tag.NAME, ctx.owner(request))
    for name in PASSED_ON:
        if (attr := request.operation.attributes.get(name)) is not None:
            forwarded.operation.attributes[name] = attr
    status, message = await _ask(printer.device_uri, forwarded)
    log.info(
        "printer.identify", printer=printer.name, device=printer.device_uri, status=status.keyword
    )
    if status >= 0x0400:
        raise IppError(status, f"the printer at {printer.device_uri} refused: {message}")
    return ipp.response(request, Status.OK)


async def _ask(device_uri: str, request: Message) -> tuple[Status, str]:
    """The printer's status for ``request`` and its status-message (or the status keyword)."""
    url = "http" + device_uri[len("ipp") :]
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            reply = await client.post(
                url, content=ipp.encode(request), headers={"Content-Type": "application/ipp"}
            )
    except httpx.HTTPError as exc:
        raise IppError(
            Status.SERVER_ERROR_TEMPORARY_ERROR,
            f"the printer at {device_uri} did not answer ({exc or type(exc).__name__})",
        ) from None
    try:
        answer, _ = ipp.parse(reply.content)
    except (NeedMore, IppError):
        raise IppError(
            Status.SERVER_ERROR_TEMPORARY_ERROR,
            f"the printer at {device_uri} gave no IPP answer (HTTP {reply.status_code})",
        ) from None
    if answer.code < 0x0400:  # successful-ok or one of its variants
        return Status.OK, ""
    try:
        status = Status(answer.code)
    except ValueError:  # a status we have no name for: still a refusal, said as it came
        return Status.CLIENT_ERROR_NOT_POSSIBLE, f"status {answer.code:#06x}"
    return status, str(answer.operation.get("status-message") or status.keyword)
