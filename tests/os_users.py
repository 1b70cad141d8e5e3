"""Real OS users for identity tests: ``os_user`` creates one for the test and removes it after;
``relay_as`` is a loopback TCP relay that runs as such a user, so a test (root) reaches the real
facade or spooler as that user.

The facade learns who is calling from the kernel: the uid owning the client socket of the
connection (services/core/peer.py). The relay's own connections to the facade are made after it
became ``user``, so for the facade every request through it comes from that user, exactly as
from a tray that user started. Nothing about the caller is claimed in the request.

The relay is a child interpreter started as root that imports what it needs, then drops to
``user`` before it opens any socket (a fork of pytest, with Qt's and uvicorn's threads running,
is not safe), then copies bytes both ways, one pair of threads per connection.
"""

from __future__ import annotations

import itertools
import os
import pwd
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

_numbers = itertools.count()

RELAY = r"""
import os, pwd, socket, sys, threading
import encodings.idna  # loaded lazily by getaddrinfo, from a stdlib the new user may not read

target_port, user = int(sys.argv[1]), sys.argv[2]
entry = pwd.getpwnam(user)
os.setgroups([])
os.setgid(entry.pw_gid)
os.setuid(entry.pw_uid)
listener = socket.create_server(("127.0.0.1", 0))
print(listener.getsockname()[1], flush=True)


def pump(source, sink):
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


while True:
    client, _address = listener.accept()
    try:
        upstream = socket.create_connection(("127.0.0.1", target_port))
    except OSError:
        client.close()  # the facade is down: the tray sees a refused connection, as without us
        continue
    for a, b in ((client, upstream), (upstream, client)):
        threading.Thread(target=pump, args=(a, b), daemon=True).start()
"""


def can_switch_user() -> bool:
    return os.geteuid() == 0


@contextmanager
def os_user(prefix: str = "pp") -> Iterator[str]:
    """A new OS user without home or shell, named uniquely for this process; removed after.

    Named ``<prefix><pid>x<n>`` so parallel test workers never collide; useradd and userdel take
    the shadow lock themselves, so concurrent workers only wait for each other.
    """
    name = f"{prefix}{os.getpid()}x{next(_numbers)}"
    subprocess.run(
        ["useradd", "-M", "-s", "/usr/sbin/nologin", name], check=True, capture_output=True
    )
    try:
        yield name
    finally:
        subprocess.run(["userdel", name], capture_output=True)


@contextmanager
def relay_as(user: str, target_port: int) -> Iterator[str]:
    """``http://127.0.0.1:<port>``: a base URL that reaches ``target_port`` as ``user``."""
    pwd.getpwnam(user)  # fail here, clearly, for a user this machine does not have
    process = subprocess.Popen(
        [sys.executable, "-c", RELAY, str(target_port), user],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
