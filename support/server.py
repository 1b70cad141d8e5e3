"""The reference server as a real process: `pullprint-server run` on free loopback ports with
trustme certificates, and the admin steps that make it usable (an authorized endpoint, a
printer with an input port)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Connection, create_engine, text

from server import cli as server_cli
from support import ROOT
from support.ports import free_port
from support.waiting import wait_for


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
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
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

    @contextlib.contextmanager
    def database(self) -> Iterator[Connection]:
        """A connection to this server's database, for what a test reads behind the API."""
        engine = create_engine(self.db_url or f"sqlite:///{self.data_dir / 'server.db'}")
        try:
            with engine.connect() as connection:
                yield connection
        finally:
            engine.dispose()

    def documents(self) -> list[str]:
        """Every document this server reaches, by job id: the files of its spool dir and the
        database's (server/documents.py), a staged upload's named `<job>.part` as a spool
        names its unfinished files. Other processes on the database see the latter too."""
        return sorted(self.spool_files() + [name for name, _ in self.database_documents()])

    def document_sha256(self, job_id: str) -> str:
        """The sha256 of a stored document, read in pieces from the spool or the database."""
        digest = hashlib.sha256()
        path = self.spool_dir / job_id
        if path.exists():
            with path.open("rb") as f:
                while chunk := f.read(1024 * 1024):
                    digest.update(chunk)
            return digest.hexdigest()
        one = text(
            "SELECT data FROM document_chunks WHERE job_id = :job AND complete AND seq = :seq"
        )
        with self.database() as connection:
            for seq in itertools.count():
                data = connection.execute(one, {"job": job_id, "seq": seq}).scalar()
                if data is None:
                    break
                digest.update(data)
        return digest.hexdigest()

    def database_documents(self) -> list[tuple[str, int]]:
        """(name, size) of each upload in the database's `document_chunks`: `<job>` once
        complete, `<job>.part` while staged."""
        query = text(
            "SELECT job_id, complete, SUM(LENGTH(data)) FROM document_chunks"
            " GROUP BY job_id, upload, complete"
        )
        with self.database() as connection:
            rows = connection.execute(query).all()
        return [(job if complete else f"{job}.part", int(size)) for job, complete, size in rows]

    def reset_rss_peak(self) -> int:
        """Start the peak (VmHWM) afresh from the current RSS, so that the peak a test reads
        later is what happened since, not start-up's; returns that starting RSS in kB."""
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")
        return self.rss_peak_kb()

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
    **record: object,
) -> int:
    """A printer plus an input port for it (via the admin REST API); returns the port id.
    ``record``: what a raw printer can do (``color=True, duplex=True, media=[...], pjl=True``)."""
    with server.admin() as admin:
        admin.post(
            "/api/v1/admin/printers",
            json={"name": printer, "host": "127.0.0.1", "port": port, "protocol": protocol,
                  "path": path, **record},
        ).raise_for_status()  # fmt: skip
        created = admin.post(
            "/api/v1/admin/ports",
            json={"name": port_name or f"{kind}-{printer}", "kind": kind, "printers": [printer]},
        ).raise_for_status()
        return created.json()["id"]


def printer_id(server: ServerProcess, name: str) -> int:
    """The server's id of printer ``name``: what a gateway upload's ``deliver_to`` names."""
    with server.admin() as admin:
        printers = admin.get("/api/v1/admin/printers").raise_for_status().json()
    return next(p["id"] for p in printers if p["name"] == name)
