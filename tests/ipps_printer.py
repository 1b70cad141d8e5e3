"""A real IPPS printer for tests, and a tap on the wire in front of it.

``IppsPrinter`` is Debian's ippeveprinter with its own certificate directory (``-K``): it
answers IPP and IPPS on one port, lists ``ipps://`` in printer-uri-supported, makes a
self-signed certificate the first time (as printers do) and logs "Connection now encrypted"
for every TLS connection. ``new_certificate`` restarts it on the same port with a fresh
directory, so it shows another certificate: what a replaced printer, or an impostor, shows.
It runs with ``-r off`` (no DNS-SD), so it needs neither dbus nor avahi.

``WireTap`` forwards a loopback port to the printer and keeps every byte the client sent, so a
test can read what went over the wire: TLS records, or our document in clear.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import subprocess
import threading
from pathlib import Path

from support.waiting import wait_for
from tests.server.peers import IppEvePrinter


class IppsPrinter(IppEvePrinter):
    def __init__(self, root: Path) -> None:
        super().__init__(root)
        # Job ids start again at 1 after a restart: the copies get names of their own.
        self.script.write_text(
            f'#!/bin/sh\ncp "$1" "{self.printed}/$(date +%s%N)-$(basename "$1")"\n'
        )
        self.generation = 0

    def start(self) -> None:
        self.generation += 1
        keys = self.spool.parent / f"keys-{self.generation}"  # a fresh one: a new certificate
        keys.mkdir()
        with self.log.open("ab") as log:  # appended: each start's connections count
            self.proc = subprocess.Popen(
                ["ippeveprinter", "-r", "off", "-K", str(keys), "-p", str(self.port),
                 "-d", str(self.spool), "-k", "-c", str(self.script),
                 "-f", "application/pdf,application/octet-stream", "-n", "localhost",
                 f"pullprint-ipps-{self.port}"],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_for(self._listening, 30, "ippeveprinter port")
        # ippeveprinter makes its certificate at the first TLS connection, and two first
        # connections at once (sync's read and delivery's preflight) can each get another one
        # made on the spot: a real printer has its certificate before anyone asks. Two equal
        # answers in a row mean it is made and kept.
        wait_for(lambda: self.certificate_der() == self.certificate_der(), 30, "its certificate")

    def new_certificate(self) -> None:
        """The same printer, same port, another certificate."""
        self.stop()
        self.start()

    def certificate_der(self) -> bytes:
        """What it shows now, read as any client would before trusting it."""
        pem = ssl.get_server_certificate(("127.0.0.1", self.port), timeout=10)
        return ssl.PEM_cert_to_DER_cert(pem)

    def encrypted_connections(self) -> int:
        return self.log.read_text(errors="replace").count("Connection now encrypted")


class WireTap:
    """A loopback port that forwards each connection to ``target`` and keeps, per connection,
    every byte the client sent through it."""

    def __init__(self, target: int) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.sent: list[bytearray] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def connections(self) -> list[bytes]:
        with self._lock:
            return [bytes(b) for b in self.sent]

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                printer = socket.create_connection(("127.0.0.1", self.target), 10)
            except OSError:
                client.close()
                continue
            kept = bytearray()
            with self._lock:
                self.sent.append(kept)
            threading.Thread(target=_pipe, args=(client, printer, kept), daemon=True).start()
            threading.Thread(target=_pipe, args=(printer, client, None), daemon=True).start()


def _pipe(source: socket.socket, sink: socket.socket, kept: bytearray | None) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            if kept is not None:
                kept += data
            sink.sendall(data)
    for sock in (source, sink):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
