"""What an IPP printer says about itself (Get-Printer-Attributes, RFC 8011 section 4.2.5).

Delivery asks before sending a job and again after: a printer that is ``stopped`` (a jam, no
paper, a person pressed pause) or not accepting jobs would take the job into its own queue,
where it waits unseen, prints hours later when someone clears the jam, or is lost if the
printer is switched off. So the job waits on this PC instead, where the user can see why
("media-jam-error"), and is aborted with the printer's own reason if the printer stays stopped
longer than ``stopped_timeout``.

A printer that does not answer this request (or answers without ``printer-state``) is not
treated as stopped: its status is unknown, and the Print-Job itself will tell.

The same answer says whether the printer offers IPPS (an ``ipps://`` URI in
``printer-uri-supported``, RFC 8011 5.4.1 and RFC 7472): delivery then sends over TLS.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import IntEnum

import httpx

from services.core import ipp
from services.core.ipp import Attribute, NeedMore, Operation, Tag
from services.delivery.transport import DeliveryError

REQUESTED = (
    "printer-state",
    "printer-state-reasons",
    "printer-state-message",
    "printer-is-accepting-jobs",
    # Whether it offers IPPS: delivery then sends over TLS (pinning.py), never in plain.
    "printer-uri-supported",
)


class PrinterState(IntEnum):
    """printer-state values, RFC 8011 section 5.4.11."""

    IDLE = 3
    PROCESSING = 4
    STOPPED = 5


@dataclass(frozen=True)
class PrinterStatus:
    state: PrinterState
    reasons: tuple[str, ...]
    message: str
    accepting: bool
    # The other attributes the printer answered (what delivery asked of its options).
    offered: dict[str, Attribute] = field(default_factory=dict, compare=False)
    ipps: tuple[str, ...] = ()  # the ipps:// URIs of its printer-uri-supported

    @property
    def stopped(self) -> bool:
        return self.state == PrinterState.STOPPED or not self.accepting

    def describe(self) -> str:
        """One line for the trace and the job's state message: "stopped (media-jam-error:
        Paper jam in tray 2)"."""
        words = self.state.name.lower()
        if not self.accepting:
            words += ", not accepting jobs"
        reasons = [r for r in self.reasons if r != "none"]
        detail = ", ".join(reasons)
        if self.message:
            detail = f"{detail}: {self.message}" if detail else self.message
        return f"{words} ({detail})" if detail else words


class PrinterStopped(DeliveryError):
    """The printer is stopped or refuses jobs: nothing was sent; try again later."""

    def __init__(self, printer_uri: str, status: PrinterStatus) -> None:
        super().__init__("printer-stopped", f"{printer_uri}: {status.describe()}")
        self.status = status


class StatusUnavailable(Exception):
    """The printer could not be asked (connection refused, timed out)."""


async def query(
    client: httpx.AsyncClient,
    url: str,
    printer_uri: str,
    *,
    timeout: httpx.Timeout,
    also: Iterable[str] = (),
) -> PrinterStatus | None:
    """The printer's state, or None when it answers but does not say (not an IPP printer
    that supports the request). Raises ``StatusUnavailable`` when it cannot be reached.
    ``also``: more attributes to ask for in the same request (``offered`` has them)."""
    request = ipp.request(Operation.GET_PRINTER_ATTRIBUTES)
    request.operation.add("printer-uri", Tag.URI, printer_uri)
    request.operation.add("requested-attributes", Tag.KEYWORD, *REQUESTED, *also)
    try:
        reply = await client.post(
            url,
            content=ipp.encode(request),
            headers={"Content-Type": "application/ipp"},
            timeout=timeout,
        )
    except httpx.HTTPError as exc:
        raise StatusUnavailable(f"{printer_uri}: {exc or type(exc).__name__}") from None
    if reply.status_code != 200:
        return None
    return parse(reply.content)


def parse(content: bytes) -> PrinterStatus | None:
    """The status in a Get-Printer-Attributes response; None when it holds none."""
    try:
        message, _ = ipp.parse(content)
    except (NeedMore, ipp.IppError):
        return None
    attributes = message.group(Tag.PRINTER)
    if message.code >= 0x0100 or attributes is None:
        return None
    try:
        state = PrinterState(attributes.get("printer-state"))
    except ValueError:
        return None
    reasons = attributes.attributes.get("printer-state-reasons")
    uris = attributes.attributes.get("printer-uri-supported")
    return PrinterStatus(
        state=state,
        reasons=tuple(str(r) for r in reasons.values) if reasons else (),
        message=str(attributes.get("printer-state-message", "") or ""),
        accepting=attributes.get("printer-is-accepting-jobs", True) is not False,
        offered=dict(attributes.attributes),
        ipps=tuple(str(u) for u in uris.values if str(u).startswith("ipps://")) if uris else (),
    )
