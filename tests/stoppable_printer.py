"""An IPP printer whose state the test sets: idle, or stopped with a reason (a jam, no paper).

Debian's ippeveprinter cannot be paused (it answers Pause-Printer with
server-error-operation-not-supported) and never reports ``stopped``, so this small printer
stands in for a real one that jams. It speaks IPP over HTTP on a free loopback port with our
own encoder: Get-Printer-Attributes (printer-state, printer-state-reasons,
printer-state-message, printer-is-accepting-jobs) and Print-Job, which it accepts even while
stopped, as many real printers do, keeping every document in arrival order. That is the point:
a client that does not look before sending would hand its jobs to a jammed printer.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from services.core import ipp
from services.core.ipp import Group, Operation, Status, Tag


@dataclass
class Received:
    name: str
    user: str
    document: bytes
    while_stopped: bool


class StoppablePrinter:
    def __init__(self) -> None:
        self.state = 3  # idle
        self.reasons: tuple[str, ...] = ("none",)
        self.message = ""
        self.received: list[Received] = []
        self.status_queries = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop_printing(self, reason: str, message: str) -> None:
        """Go ``stopped`` the way a printer does at a jam: with a reason and a message."""
        with self._lock:
            self.state, self.reasons, self.message = 5, (reason,), message

    def resume(self) -> None:
        with self._lock:
            self.state, self.reasons, self.message = 3, ("none",), ""

    def documents(self) -> list[bytes]:
        with self._lock:
            return [r.document for r in self.received]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, body: bytes) -> bytes:
        request, offset = ipp.parse(body)
        if request.code == Operation.GET_PRINTER_ATTRIBUTES:
            with self._lock:
                self.status_queries += 1
                reply = ipp.response(request, Status.OK)
                printer = Group(Tag.PRINTER)
                printer.add("printer-state", Tag.ENUM, self.state)
                printer.add("printer-state-reasons", Tag.KEYWORD, *self.reasons)
                if self.message:
                    printer.add("printer-state-message", Tag.TEXT, self.message)
                printer.add("printer-is-accepting-jobs", Tag.BOOLEAN, True)
                reply.groups.append(printer)
            return ipp.encode(reply)
        if request.code == Operation.PRINT_JOB:
            with self._lock:
                self.received.append(
                    Received(
                        name=str(request.operation.get("job-name", "")),
                        user=str(request.operation.get("requesting-user-name", "")),
                        document=body[offset:],
                        while_stopped=self.state == 5,
                    )
                )
                reply = ipp.response(request, Status.OK)
                reply.groups.append(Group(Tag.JOB).add("job-id", Tag.INTEGER, len(self.received)))
            return ipp.encode(reply)
        return ipp.encode(ipp.response(request, Status.SERVER_ERROR_OPERATION_NOT_SUPPORTED))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        printer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                answer = printer._answer(self.rfile.read(length))
                self.send_response(200)
                self.send_header("Content-Type", "application/ipp")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler
