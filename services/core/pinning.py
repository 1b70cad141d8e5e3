"""Certificates of IPPS printers, pinned on first use (trust on first use, as SSH does).

Printers make their own certificates: self-signed, naming a hostname we do not use, often
expired. No CA vouches for them, so checking them against one would refuse every printer or,
with verification switched off, accept any impostor. Instead the certificate a printer shows
the first time is remembered (the sha256 of its DER, table ``pins``) and from then on only that
certificate is trusted at that address.

Each connection starts with a preflight handshake that reads the certificate the printer shows
now without trusting it, and sends nothing. A certificate whose sha256 differs from the pin
raises ``CertificateChanged`` before any job connection is made; one that matches becomes the
only trust anchor of the connection that carries the job (``trusting``), so a printer that
swaps certificates between the two handshakes fails the second one, in the handshake itself.
An administrator who knows the new certificate is the printer's own forgets the pin
(``pullprint printer forget-certificate``); the next connection pins the new one.

Shared by delivery (Print-Job, the printer's status), sync (Get-Printer-Attributes) and the
spooler (Identify-Printer), which choose TLS by one rule (``tls_port``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ssl
import time
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.orm import Session

from services.core.store import Pin, Store

# OpenSSL's X509_V_FLAG_NO_CHECK_TIME (Python's VerifyFlags does not name it): a pinned
# certificate is trusted because it is that certificate, not because of its dates, and printers
# keep expired self-signed ones for years.
NO_CHECK_TIME = 0x200000
SHOWN = 16  # hex digits of a fingerprint in messages: enough to compare by eye


class CertificateChanged(Exception):
    """The printer at ``address`` shows a certificate other than the one pinned for it."""

    def __init__(self, address: str, pinned: str, now: str) -> None:
        self.address, self.pinned, self.now = address, pinned, now
        super().__init__(self.describe())

    def describe(self) -> str:
        """The state message and trace line: what changed, that nothing was sent, and how an
        administrator who trusts the new certificate accepts it."""
        return (
            f"the certificate of {self.address} changed (pinned sha256 {short(self.pinned)}, "
            f"now {short(self.now)}); not sent; if the printer really has a new certificate, "
            f"an administrator accepts it with: pullprint printer forget-certificate "
            f"{self.address}"
        )


class TlsUnavailable(Exception):
    """The printer could not be reached over TLS (refused, timed out, no TLS on that port)."""


def fingerprint(der: bytes) -> str:
    """The sha256 of a certificate's DER, as lowercase hex: what is pinned."""
    return hashlib.sha256(der).hexdigest()


def short(sha256: str) -> str:
    """A fingerprint as shown to people: "AB12CD34EF56AB78..."."""
    return sha256[:SHOWN].upper() + "..."


def trusting(der: bytes) -> ssl.SSLContext:
    """A client context that trusts exactly this certificate and nothing else: not the system's
    CAs, and no hostname check (the pin names the printer; its certificate rarely names the
    address we reach it by)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cadata=der)
    # The pinned certificate is a trust anchor even though it is a leaf, not a CA.
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN | NO_CHECK_TIME
    return context


async def peer_certificate(host: str, port: int, timeout: float) -> bytes:
    """The preflight: the DER of the certificate the printer shows, read without trusting it.
    Only a handshake happens; no byte of a job goes over this connection."""
    look = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    look.check_hostname = False
    look.verify_mode = ssl.CERT_NONE  # read, not trusted: ``check`` decides
    try:
        _reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=look), timeout
        )
    except TimeoutError:
        raise TlsUnavailable(f"{host}:{port}: no TLS handshake within {timeout:g} s") from None
    except (OSError, ssl.SSLError) as exc:
        raise TlsUnavailable(f"{host}:{port}: no TLS ({exc})") from None
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()
    if not der:
        raise TlsUnavailable(f"{host}:{port}: showed no certificate")
    return bytes(der)


def check(session: Session, address: str, der: bytes) -> bool:
    """Pin ``der`` for ``address`` if nothing is pinned there yet (True: pinned now), else
    raise ``CertificateChanged`` unless it is the pinned one. The caller commits. Two
    processes pinning at once: the first insert wins, the second compares against it."""
    sha = fingerprint(der)
    new = session.execute(
        insert(Pin)
        .values(address=address, sha256=sha, first_seen=time.time())
        .on_conflict_do_nothing(index_elements=["address"])
    )
    pinned = session.scalar(select(Pin.sha256).where(Pin.address == address))
    if pinned != sha:
        raise CertificateChanged(address, str(pinned), sha)
    return bool(new.rowcount)


def pinned_at(session: Session, host: str) -> list[str]:
    """The addresses of ``host`` with a pinned certificate: a printer that once spoke TLS is
    never sent a job in plain again."""
    addresses = session.scalars(select(Pin.address).where(Pin.address.startswith(f"{host}:")))
    return [a for a in addresses if a.rpartition(":")[0] == host]


async def pinned_addresses(store: Store, host: str) -> list[str]:
    """``pinned_at`` from async code: the addresses of ``host`` with a pinned certificate."""

    def read() -> list[str]:
        with store.session() as session:
            return pinned_at(session, host)

    return await asyncio.to_thread(read)


def tls_port(scheme: str, host: str, port: int, pinned: list[str]) -> int | None:
    """The port to speak to the printer at ``host:port`` over TLS, or None for plain IPP;
    ``pinned`` is ``pinned_at(host)``. A record that says ``ipps``, or a certificate pinned at
    that address: its own port. A certificate pinned at another port of the host (where
    delivery found its IPPS): that port. A printer once pinned is never asked in plain, since
    a plain answer may be anyone's (an impostor's would change what a port presents, or hear
    what is sent). The one rule of sync's read, Identify-Printer and delivery's first step."""
    if scheme == "ipps" or f"{host}:{port}" in pinned:
        return port
    return int(pinned[0].rpartition(":")[2]) if pinned else None


def forget(session: Session, address: str) -> Pin | None:
    """Remove the pin of ``address`` (the caller audits and commits); the pin it was, if any."""
    pin = session.get(Pin, address)
    if pin is not None:
        session.execute(delete(Pin).where(Pin.address == address))
    return pin


@dataclass(frozen=True)
class Pinned:
    """A connection's trust: the context, the certificate's fingerprint, and whether it was
    pinned by this connection (first use) or matched an older pin."""

    context: ssl.SSLContext
    sha256: str
    first_use: bool

    def describe(self) -> str:
        """For the trace: "certificate sha256 AB12... pinned on first use"."""
        how = "pinned on first use" if self.first_use else "as pinned"
        return f"certificate sha256 {short(self.sha256)} {how}"


async def pinned_context(store: Store, host: str, port: int, timeout: float) -> Pinned:
    """The trust for one connection to ``host:port``: preflight, pin on first use or compare
    with the pin (``CertificateChanged``), then trust exactly that certificate."""
    der = await peer_certificate(host, port, timeout)

    def pin() -> bool:
        with store.session() as session:
            first = check(session, f"{host}:{port}", der)
            session.commit()
            return first

    first_use = await asyncio.to_thread(pin)
    return Pinned(trusting(der), fingerprint(der), first_use)
