"""The baseline receiver: ``python -m benchmarks.sink DIR`` prints its loopback port, then
writes every connection's bytes into a new file in DIR, fsyncs it and answers ``ok``: the least
any durable receiver must do, one thread per connection as a plain server would."""

from __future__ import annotations

import itertools
import os
import socketserver
import sys
from pathlib import Path

CHUNK = 256 * 1024


def serve(directory: Path) -> None:
    numbers = itertools.count(1)

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            with (directory / f"{next(numbers)}.bin").open("wb") as out:
                while data := self.request.recv(CHUNK):
                    out.write(data)
                out.flush()
                os.fsync(out.fileno())
            self.request.sendall(b"ok")

    socketserver.ThreadingTCPServer.daemon_threads = True
    socketserver.ThreadingTCPServer.request_queue_size = 128
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler) as server:
        print(server.server_address[1], flush=True)
        server.serve_forever()


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
