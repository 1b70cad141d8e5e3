"""Real peers for the server tests: the server process, a gateway client, printers, PostgreSQL.

Nothing here imitates a pullprint component: the server runs as `pullprint-server run` in a
subprocess, the gateway client speaks the framing from services/core/protocol.py over real TLS.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import httpx
from websockets.sync.client import ClientConnection, connect

from services.core.protocol import (
    LENGTH_PREFIX,
    PROTOCOL_VERSION,
    UploadReply,
    decode_reply,
    encode_frame,
)

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition: Callable[[], T], timeout: float = 30.0, what: str = "condition") -> T:
    """Poll until `condition()` is truthy; the timeout only bounds a failing test."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def server_command() -> list[str]:
    script = Path(sys.executable).parent / "pullprint-server"
    return [str(script)] if script.exists() else [sys.executable, "-m", "server.cli"]


class ServerProcess:
    """`pullprint-server run` on free loopback ports, with trustme certificates."""

    def __init__(
        self,
        data_dir: Path,
        cert: Path,
        key: Path,
        ca: ssl.SSLContext,
        db_url: str | None,
        extra: list[str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.cert, self.key, self.ca = cert, key, ca
        self.db_url = db_url
        self.extra = extra or []
        self.http_port = free_port()
        self.gateway_port = free_port()
        self.base_url = f"https://127.0.0.1:{self.http_port}"
        self.log_path = data_dir.parent / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def db_args(self) -> list[str]:
        return ["--db", self.db_url] if self.db_url else []

    def start(self) -> None:
        args = [
            *server_command(),
            "run",
            "--data",
            str(self.data_dir),
            *self.db_args(),
            "--host",
            "127.0.0.1",
            "--http-port",
            str(self.http_port),
            "--gateway-port",
            str(self.gateway_port),
            "--cert",
            str(self.cert),
            "--key",
            str(self.key),
            *self.extra,
        ]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        wait_for(self._ready, 60, "server health")

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"server exited {self.proc.returncode}:\n{self.logs()}")
        try:
            with self.http() as client:
                return client.get("/api/v1/health").status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def spool_dir(self) -> Path:
        return self.data_dir / "spool"

    @property
    def admin_token(self) -> str:
        return (self.data_dir / "admin.token").read_text().strip()

    def http(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.base_url, verify=self.ca, headers=headers, timeout=30)

    def admin(self) -> httpx.Client:
        return self.http(self.admin_token)

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """`pullprint-server admin --data DIR ...` against this server's database."""
        command = [*server_command(), "admin", "--data", str(self.data_dir), *self.db_args()]
        return subprocess.run(
            [*command, *args], input=stdin, capture_output=True, text=True, cwd=REPO, timeout=60
        )

    def jobs(self) -> list[dict[str, Any]]:
        with self.admin() as client:
            return client.get("/api/v1/jobs").raise_for_status().json()["jobs"]

    def job(self, job_id: str) -> dict[str, Any] | None:
        return next((j for j in self.jobs() if j["id"] == job_id), None)

    def spool_files(self) -> list[str]:
        return sorted(p.name for p in self.spool_dir.iterdir())

    def rss_peak_kb(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise AssertionError("no VmHWM")


def header(token: str, job_id: str, port_id: int, body: bytes, **extra: Any) -> dict[str, Any]:
    fields = {
        "v": PROTOCOL_VERSION,
        "token": token,
        "job_id": job_id,
        "owner": "alice",
        "port_id": port_id,
        "name": "report.pdf",
        "format": "application/octet-stream",
        "size": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
    }
    fields.update(extra)
    return fields


class GatewayClient:
    """One TLS connection to the gateway, verified against the test CA."""

    def __init__(self, port: int, ca: ssl.SSLContext) -> None:
        raw = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.sock = ca.wrap_socket(raw, server_hostname="127.0.0.1")

    def send_raw(self, data: bytes) -> bool:
        """False when the server already hung up (it may refuse before reading the body)."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            return False

    def reply(self) -> UploadReply | None:
        """The server's reply, or None when it closed without one."""
        try:
            prefix = self._exactly(LENGTH_PREFIX.size)
            (length,) = LENGTH_PREFIX.unpack(prefix)
            return decode_reply(self._exactly(length))
        except (EOFError, ConnectionResetError, ssl.SSLError, TimeoutError):
            return None

    def _exactly(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


def upload(
    port: int, ca: ssl.SSLContext, head: dict[str, Any], body: Iterable[bytes] | bytes
) -> UploadReply | None:
    client = GatewayClient(port, ca)
    try:
        if client.send_raw(encode_frame(head)):
            for chunk in [body] if isinstance(body, bytes) else body:
                if not client.send_raw(chunk):
                    break
        return client.reply()
    finally:
        client.close()


class RawSink:
    """A raw TCP (port 9100 style) printer: each connection's bytes become one file."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.listener.settimeout(0.2)
        self.count = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.count += 1
            threading.Thread(target=self._receive, args=(conn, self.count), daemon=True).start()

    def _receive(self, conn: socket.socket, number: int) -> None:
        part = self.directory / f".job-{number}.part"
        with conn, part.open("wb") as f:
            while chunk := conn.recv(256 * 1024):
                f.write(chunk)
        part.rename(self.directory / f"job-{number}.bin")  # complete only after the peer's EOF

    def documents(self) -> list[bytes]:
        return [p.read_bytes() for p in sorted(self.directory.glob("job-*.bin"))]

    def stop(self) -> None:
        self.stopping.set()
        self.listener.close()
        self.thread.join(5)


def pg_bindir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


class PostgresServer:
    """A throwaway PostgreSQL cluster (initdb + pg_ctl) in a temp dir, on loopback TCP."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        # Not under pytest's tmp dir: that is 0700 root, and postgres refuses to run as root.
        self.root = Path(os.path.realpath(__import__("tempfile").mkdtemp(prefix="pp-pg-")))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.root, "postgres")

    def run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self.run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        )
        # fsync=off: only this throwaway test cluster; the server's own code is unchanged.
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "pg.log"),
            "-o",
            options,
            "-w",
            "start",
        )

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self.run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def authorized_endpoint(server: ServerProcess, hostname: str = "pc-1") -> tuple[int, str]:
    """Register, authorize as admin, poll: the endpoint id and its token."""
    with server.http() as client:
        reg = client.post("/api/v1/endpoints", json={"hostname": hostname, "os": "linux"})
        endpoint_id, secret = reg.json()["endpoint_id"], reg.json()["secret"]
        with server.admin() as admin:
            admin.post(f"/api/v1/admin/endpoints/{endpoint_id}/authorize").raise_for_status()
        token = client.post(f"/api/v1/endpoints/{endpoint_id}/token", json={"secret": secret})
        return endpoint_id, token.json()["token"]


def add_printer_and_port(
    server: ServerProcess,
    printer: str,
    port: int,
    protocol: str = "raw",
    kind: str = "pull",
    path: str = "",
    port_name: str | None = None,
) -> int:
    """A printer plus an input port for it (via the admin REST API); returns the port id."""
    with server.admin() as admin:
        admin.post(
            "/api/v1/admin/printers",
            json={"name": printer, "host": "127.0.0.1", "port": port, "protocol": protocol,
                  "path": path},
        ).raise_for_status()  # fmt: skip
        created = admin.post(
            "/api/v1/admin/ports",
            json={"name": port_name or f"{kind}-{printer}", "kind": kind, "printers": [printer]},
        ).raise_for_status()
        return created.json()["id"]


def _alive(pid_file: Path) -> bool:
    try:
        os.kill(int(pid_file.read_text().split()[0]), 0)
        return True
    except (OSError, ValueError, IndexError):
        return False


class DnsSd:
    """dbus + avahi, which ippeveprinter needs; started only when absent, and only what we
    started is stopped (TESTING.md)."""

    DBUS_PID = Path("/run/dbus/pid")
    AVAHI_PID = Path("/run/avahi-daemon/pid")

    def __init__(self) -> None:
        self.started: list[int] = []

    def ensure(self) -> None:
        if not _alive(self.DBUS_PID):
            self.DBUS_PID.parent.mkdir(parents=True, exist_ok=True)
            self.DBUS_PID.unlink(missing_ok=True)
            out = subprocess.run(
                ["dbus-daemon", "--system", "--fork", "--print-pid"],
                capture_output=True, text=True, check=True, timeout=30,
            )  # fmt: skip
            self.started.append(int(out.stdout.split()[0]))
        if not _alive(self.AVAHI_PID):
            self.AVAHI_PID.unlink(missing_ok=True)
            subprocess.run(["avahi-daemon", "--no-chroot", "-D", "--no-drop-root"],
                           check=True, capture_output=True, timeout=30)  # fmt: skip
            wait_for(lambda: _alive(self.AVAHI_PID), 30, "avahi pid")
            self.started.append(int(self.AVAHI_PID.read_text().split()[0]))

    def stop(self) -> None:
        for pid in reversed(self.started):
            with contextlib.suppress(OSError):
                os.kill(pid, 15)


class IppEvePrinter:
    """ippeveprinter keeping each printed document in `printed/` via a tiny command."""

    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self.spool = root / "ipp-spool"
        self.printed = root / "printed"
        self.spool.mkdir(parents=True)
        self.printed.mkdir()
        self.script = root / "keep.sh"
        self.script.write_text(f'#!/bin/sh\ncp "$1" "{self.printed}/"\n')
        self.script.chmod(0o755)
        self.log = root / "ippeveprinter.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                ["ippeveprinter", "-p", str(self.port), "-d", str(self.spool), "-k",
                 "-c", str(self.script), "-f", "application/pdf,application/octet-stream",
                 "-n", "localhost", f"pullprint-test-{self.port}"],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_for(self._listening, 30, "ippeveprinter port")

    def _listening(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"ippeveprinter exited: {self.log.read_text(errors='replace')}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 1):
            return True
        return False

    def documents(self) -> list[bytes]:
        return [p.read_bytes() for p in sorted(self.printed.iterdir())]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def unique(prefix: str) -> str:
    """A name no other test on the shared module server uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def open_channel(
    server: ServerProcess, token: str, ca: ssl.SSLContext | None = None
) -> ClientConnection:
    """A WebSocket to /api/v1/channel with a bearer token, verified against the test CA."""
    return connect(
        f"wss://127.0.0.1:{server.http_port}/api/v1/channel",
        ssl=ca or server.ca,
        additional_headers={"Authorization": f"Bearer {token}"},
        open_timeout=10,
    )
