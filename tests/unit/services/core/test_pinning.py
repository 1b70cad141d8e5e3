"""Printers' certificates pinned on first use: the first one is kept, a different one later is
refused before a job connection exists, and the job connection trusts exactly the pinned
certificate in the TLS handshake itself (not a CA, not the system's trust, not its dates or
the name in it). Real TLS over loopback sockets with trustme certificates; a real SQLite
store."""

from __future__ import annotations

import asyncio
import datetime
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from services.core import pinning
from services.core.pinning import CertificateChanged, fingerprint
from services.core.store import Pin, Store


class TlsPeer:
    """A loopback TLS server whose certificate the test chooses per connection; it counts
    the application bytes it received (a refused client must have sent none)."""

    def __init__(self, cert: trustme.LeafCert) -> None:
        self.cert = cert
        self.received = 0
        self.handshakes = 0

    @property
    def der(self) -> bytes:
        return ssl.PEM_cert_to_DER_cert(self.cert.cert_chain_pems[0].bytes().decode())

    def context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.cert.configure_cert(context)
        return context

    async def serve(self, conversation):
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.handshakes += 1
            try:
                while data := await reader.read(1024):
                    self.received += len(data)
                    writer.write(b"ok")
            except (ssl.SSLError, ConnectionError):
                pass
            finally:
                writer.close()

        # A fresh context per connection, so the test can swap the certificate between two.
        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=self.context())
        server_port = server.sockets[0].getsockname()[1]
        async with server:
            return await conversation(server, server_port)


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(tmp_path / "pullprint.db")
    yield store
    store.dispose()


def pins(store: Store) -> dict[str, str]:
    with store.session() as session:
        return {p.address: p.sha256 for p in session.query(Pin)}


def test_the_first_certificate_is_pinned_and_then_matched(store, ca):
    peer = TlsPeer(ca.issue_cert("printer.local"))

    async def twice(_server, port):
        first = await pinning.pinned_context(store, "127.0.0.1", port, 5)
        again = await pinning.pinned_context(store, "127.0.0.1", port, 5)
        return port, first, again

    port, first, again = asyncio.run(peer.serve(twice))
    assert pins(store) == {f"127.0.0.1:{port}": fingerprint(peer.der)}
    assert (first.first_use, again.first_use) == (True, False)
    assert "pinned on first use" in first.describe()
    assert peer.received == 0  # the preflight only shook hands


def test_a_different_certificate_is_refused_and_the_pin_kept(store, ca):
    old, new = ca.issue_cert("printer.local"), ca.issue_cert("printer.local")
    peer = TlsPeer(old)

    async def swapped(server, port):
        await pinning.pinned_context(store, "127.0.0.1", port, 5)
        peer.cert = new  # same CA, same name: still not the pinned certificate
        server.close()
        await server.wait_closed()
        again = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", port,
                                           ssl=peer.context())  # fmt: skip
        async with again:
            with pytest.raises(CertificateChanged) as refused:
                await pinning.pinned_context(store, "127.0.0.1", port, 5)
        return port, refused.value

    old_der = peer.der
    port, changed = asyncio.run(peer.serve(swapped))
    address = f"127.0.0.1:{port}"
    assert (changed.address, changed.pinned, changed.now) == (
        address,
        fingerprint(old_der),
        fingerprint(peer.der),
    )
    message = changed.describe()
    assert message.startswith(f"the certificate of {address} changed (pinned sha256 ")
    assert fingerprint(old_der)[:16].upper() in message
    assert fingerprint(peer.der)[:16].upper() in message
    assert "not sent; if the printer really has a new certificate" in message
    assert f"pullprint printer forget-certificate {address}" in message
    assert pins(store) == {address: fingerprint(old_der)}


def test_the_job_connection_trusts_exactly_the_pinned_certificate(ca):
    pinned = TlsPeer(ca.issue_cert("printer.local"))
    other = TlsPeer(ca.issue_cert("printer.local"))
    context = pinning.trusting(pinned.der)

    async def talk(_server, port):
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
        writer.write(b"job")
        await writer.drain()
        answer = await reader.read(2)
        writer.close()
        return answer

    # The name in it (printer.local) is not the address, and no CA is trusted: the pin is.
    assert asyncio.run(pinned.serve(talk)) == b"ok"
    # Another certificate of the same CA fails in the handshake: no byte of the job goes out.
    with pytest.raises(ssl.SSLCertVerificationError):
        asyncio.run(other.serve(talk))
    assert other.received == 0


def test_an_expired_pinned_certificate_is_still_that_certificate(ca):
    """Printers keep expired self-signed certificates for years; the pin is by identity."""
    past = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    peer = TlsPeer(ca.issue_cert("printer.local", not_before=past, not_after=past.replace(month=2)))

    async def talk(_server, port):
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=pinning.trusting(peer.der)
        )
        writer.write(b"job")
        answer = await reader.read(2)
        writer.close()
        return answer

    assert asyncio.run(peer.serve(talk)) == b"ok"


def test_no_tls_on_the_port_is_said_not_pinned(store):
    async def plain() -> None:
        server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            with pytest.raises(pinning.TlsUnavailable, match=f"127.0.0.1:{port}: no TLS"):
                await pinning.pinned_context(store, "127.0.0.1", port, 5)

    asyncio.run(plain())
    assert pins(store) == {}


def test_pins_are_found_by_exact_host_and_forgotten_one_by_one(store):
    with store.session() as session:
        for address in ("10.0.0.1:631", "10.0.0.1:443", "10.0.0.10:631"):
            session.add(Pin(address=address, sha256="ab" * 32, first_seen=0.0))
        session.commit()
        assert sorted(pinning.pinned_at(session, "10.0.0.1")) == ["10.0.0.1:443", "10.0.0.1:631"]
        forgotten = pinning.forget(session, "10.0.0.1:631")
        assert forgotten is not None and forgotten.sha256 == "ab" * 32
        assert pinning.forget(session, "10.0.0.1:631") is None
        session.commit()
    assert set(pins(store)) == {"10.0.0.1:443", "10.0.0.10:631"}


def test_tls_is_chosen_for_an_ipps_record_or_a_pinned_host_and_plain_only_otherwise(store):
    """The one rule sync's read, Identify-Printer and delivery's first step follow: a printer
    whose record says ipps, or whose host has a pinned certificate, is never asked in plain."""
    with store.session() as session:
        for address in ("10.0.0.1:443", "10.0.0.10:631"):
            session.add(Pin(address=address, sha256="ab" * 32, first_seen=0.0))
        session.commit()
    pinned = asyncio.run(pinning.pinned_addresses(store, "10.0.0.1"))

    assert pinned == ["10.0.0.1:443"]  # not 10.0.0.10's
    assert pinning.tls_port("ipps", "10.0.0.2", 631, []) == 631  # the record says so
    assert pinning.tls_port("ipp", "10.0.0.1", 443, pinned) == 443  # pinned at that address
    assert pinning.tls_port("ipp", "10.0.0.1", 631, pinned) == 443  # pinned at its IPPS port
    assert pinning.tls_port("ipp", "10.0.0.2", 631, []) is None  # no TLS known: plain
