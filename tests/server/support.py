"""Real peers for the server tests: the server process, a gateway client, printers, PostgreSQL.

Nothing here imitates a pullprint component: the server runs as `pullprint-server run` in a
subprocess, the gateway client speaks the framing from protocol/gateway.py over real TLS.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
from websockets.sync.client import ClientConnection, connect

from protocol import PROTOCOL_VERSION
from protocol.gateway import LENGTH_PREFIX, UploadReply, decode_reply, encode_frame
from server import cli as server_cli
from tests.helpers import free_port

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[2]


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
        self.log_path = data_dir.parent / f"{data_dir.name}-server.log"
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
        """`pullprint-server admin --data DIR ...` against this server's database.

        Run in this process through the ``main`` the console script calls: a fresh
        interpreter per command cost one to two seconds of CPU, dozens of times per run. The
        installed script itself is run as a process by test_server_cli.py.
        """
        argv = ["admin", "--data", str(self.data_dir), *self.db_args(), *args]
        out, err = io.StringIO(), io.StringIO()
        with (
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            _stdin(stdin or ""),
        ):
            try:
                code = server_cli.main(argv)
            except SystemExit as exc:  # argparse refusing the arguments
                code = exc.code if isinstance(exc.code, int) else 1
        return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())

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


@contextlib.contextmanager
def _stdin(text: str) -> Iterator[None]:
    saved, sys.stdin = sys.stdin, io.StringIO(text)
    try:
        yield
    finally:
        sys.stdin = saved


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


def unique(prefix: str) -> str:
    """A name no other test on the shared module server uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def open_channel(
    server: ServerProcess, token: str, ca: ssl.SSLContext | None = None
) -> ClientConnection:
    """A WebSocket to /api/v1/channel with a bearer token, verified against the test CA.

    A generous handshake timeout: on a loaded machine the handshake can take seconds, and
    when websockets' sync client gives up on a TLS handshake it waits for its reader thread,
    which stays blocked in the socket (one run hung there until pytest-timeout).
    """
    return connect(
        f"wss://127.0.0.1:{server.http_port}/api/v1/channel",
        ssl=ca or server.ca,
        additional_headers={"Authorization": f"Bearer {token}"},
        open_timeout=60,
    )
