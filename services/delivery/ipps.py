"""IPPS for IPP delivery: when to use TLS, where, and with which trust.

A printer record that says ``ipps`` is only ever spoken to over TLS. One that says ``ipp`` is
asked for its status in plain first (the question delivery asks before every job anyway); if
its ``printer-uri-supported`` lists an ``ipps://`` URI, the job goes over TLS there. Plain IPP
only where the printer has none, or where its IPPS never completed a handshake with us (an old
printer's TLS 1.0: it was printed to in plain before, and the trace says why it still is). A
printer whose certificate is pinned once is never sent a job in plain again, whatever an
unauthenticated plain answer claims (a downgrade is refused, not followed). The trust is the
pin (``services/core/pinning.py``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from services.core import pinning
from services.core.store import Store
from services.delivery.transport import DeliveryError

IPPS_DEFAULT_PORT = 631  # RFC 7472: ipps:// without a port is 631, like ipp://


class NeedsAdmin(DeliveryError):
    """Nothing was sent, and waiting alone may not help: the printer's TLS is not what was
    pinned. Not final: the job waits until an administrator decides (or the printer is back
    as it was); delivery's status lists it meanwhile. ``log`` is for the log line."""

    def __init__(self, message: str, **log: str) -> None:
        super().__init__("printer-stopped", message)
        self.log = log


class PinRefused(NeedsAdmin):
    """The printer showed a certificate other than the pinned one."""

    def __init__(self, changed: pinning.CertificateChanged) -> None:
        super().__init__(
            changed.describe(), address=changed.address, pinned=changed.pinned, now=changed.now
        )


class NoTls(DeliveryError):
    """The printer's IPPS port did not complete a TLS handshake (refused, timed out, a TLS
    version or cipher too old for us); ``why`` is what happened."""

    def __init__(self, why: str) -> None:
        super().__init__("printer-stopped", f"{why}; not sent without TLS; will retry")
        self.why = why


def offered(ipps_uris: tuple[str, ...], port: int, path: str) -> tuple[int, str]:
    """Where the printer offers IPPS: the port and path of its ``ipps://`` URI for our path if
    it lists one, else of its first. The host stays ours: a printer names itself by a name
    (``printer.local``) that need not resolve here, and we pin what we connect to."""
    parts = [urlsplit(uri) for uri in ipps_uris]
    chosen = next((p for p in parts if p.path == path), parts[0])
    try:
        found = chosen.port
    except ValueError:  # a port that is not a number: take the printer's own address
        found = port
    return found or IPPS_DEFAULT_PORT, chosen.path or path


def downgrade(host: str, pinned: list[str]) -> NeedsAdmin:
    """A printer whose certificate we pinned now claims to have no TLS: that answer came in
    plain and may be anyone's, so the job waits rather than go out unencrypted."""
    return NeedsAdmin(
        f"{host} offered IPPS before (certificate pinned for {', '.join(pinned)}) but now "
        "says it has none; not sent without TLS",
        address=", ".join(pinned),
    )


def moved(host: str, pinned: list[str], port: int) -> NeedsAdmin:
    """The plain answer sends us to an IPPS port other than the pinned one: whoever answered
    in plain could pick a port it controls and have its certificate pinned there."""
    return NeedsAdmin(
        f"{host} offered IPPS at {', '.join(pinned)} before and now names port {port}; not sent; "
        f"if that is expected, an administrator accepts it with: pullprint printer "
        f"forget-certificate {pinned[0]}",
        address=", ".join(pinned),
    )


async def trust(store: Store, host: str, port: int, timeout: float) -> pinning.Pinned:
    """The pinned trust for a TLS connection to ``host:port``, as delivery's errors."""
    try:
        return await pinning.pinned_context(store, host, port, timeout)
    except pinning.CertificateChanged as exc:
        raise PinRefused(exc) from None
    except pinning.TlsUnavailable as exc:
        raise NoTls(str(exc)) from None
