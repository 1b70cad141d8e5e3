"""``make demo`` / ``pullprint demo``: the product end to end on this machine, narrated.

Starts the reference server (self-signed TLS), a raw virtual printer and the pullprint service
under supervisord in local storage mode, all in a temporary directory on free loopback ports.
Then: a job printed to a direct port arrives at once; a job printed to a pull port is held on
this PC until the user "authenticates at the printer" (the server's release), and only then
arrives; both with the identical sha256. Everything it started is stopped at the end.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

SOURCE_ROOT = Path(__file__).resolve().parents[2]
USER = "ada"


def say(text: str) -> None:
    print(f"\n==> {text}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(condition: Callable[[], object], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        time.sleep(0.2)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Demo:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.printed = root / "printed"
        self.printer_port = free_port()
        self.http_port, self.gateway_port = free_port(), free_port()
        self.api_port = free_port()
        self.server_data = root / "server"
        self.ca_file = self.server_data / "tls" / "dev-cert.pem"
        self.server_url = f"https://127.0.0.1:{self.http_port}"
        self.env = os.environ | {"PULLPRINT_CONFIG": str(self.write_config())}
        self.started: list[subprocess.Popen[bytes]] = []

    def write_config(self) -> Path:
        config = self.root / "config.toml"
        config.write_text(
            f'mode = "local"\nstate_dir = "{self.root}/state"\nrun_dir = "{self.root}/run"\n'
            f'log_dir = "{self.root}/log"\nspooler_port = {free_port()}\n'
            f"api_port = {self.api_port}\n"
            f'server_url = "{self.server_url}"\nca_file = "{self.ca_file}"\n'
            f'gateway = "127.0.0.1:{self.gateway_port}"\n'
            # The demo never touches this machine's own CUPS.
            'os_queues = "none"\nsync_interval = 30\n'
        )
        return config

    def spawn(self, log: str, argv: list[str]) -> None:
        with (self.root / log).open("wb") as out:
            self.started.append(
                subprocess.Popen(
                    argv, env=self.env, cwd=SOURCE_ROOT, stdout=out, stderr=subprocess.STDOUT
                )
            )

    def pullprint(self, *args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "services.core.cli", *args]
        return subprocess.run(argv, env=self.env, cwd=SOURCE_ROOT, capture_output=True, text=True)

    def admin(self) -> httpx.Client:
        token = (self.server_data / "admin.token").read_text().strip()
        return httpx.Client(
            base_url=self.server_url,
            verify=str(self.ca_file),
            timeout=30,
            headers={"Authorization": f"Bearer {token}"},
        )

    def server_ready(self) -> bool:
        try:
            with self.admin() as admin:
                return admin.get("/api/v1/health").status_code == 200
        except (httpx.HTTPError, OSError):
            return False

    def start_server(self) -> None:
        say(
            f"Starting the reference server on https://127.0.0.1:{self.http_port} "
            f"(gateway {self.gateway_port}, self-signed certificate)"
        )
        self.spawn(
            "server.log",
            [
                sys.executable,
                "-m",
                "server.cli",
                "run",
                "--data",
                str(self.server_data),
                "--http-port",
                str(self.http_port),
                "--gateway-port",
                str(self.gateway_port),
                "--dev-tls",
            ],
        )
        wait(self.server_ready, "the server to answer")
        with self.admin() as admin:
            admin.post("/api/v1/admin/users", json={"name": USER, "password": "demo"})
            for name in ("floor1",):
                admin.post(
                    "/api/v1/admin/printers",
                    json={
                        "name": name,
                        "host": "127.0.0.1",
                        "port": self.printer_port,
                        "protocol": "raw",
                    },
                ).raise_for_status()
            admin.post(
                "/api/v1/admin/ports",
                json={"name": "office", "kind": "direct", "printers": ["floor1"]},
            ).raise_for_status()
            admin.post(
                "/api/v1/admin/ports",
                json={"name": "secure", "kind": "pull", "printers": ["floor1"]},
            ).raise_for_status()
        print(f"  user '{USER}', printer 'floor1' (raw, 127.0.0.1:{self.printer_port}),")
        print("  input ports 'office' (direct to floor1) and 'secure' (pull: held until release)")

    def start_client(self) -> None:
        say(f"Starting a raw virtual printer 'floor1' (jobs land in {self.printed})")
        self.spawn(
            "printer.log",
            [
                sys.executable,
                "-m",
                "services.core.cli",
                "virtual-printer",
                "--port",
                str(self.printer_port),
                "--dir",
                str(self.printed),
            ],
        )
        say("Starting the pullprint service (supervisord: spooler, sync, delivery, channel, api)")
        self.spawn("service.log", [sys.executable, "-m", "services.core.cli", "service"])
        wait(lambda: self.pending_endpoint() is not None, "the client to register")
        endpoint_id = self.pending_endpoint()
        say(f"The client registered as endpoint {endpoint_id}; the admin authorizes it")
        with self.admin() as admin:
            admin.post(f"/api/v1/admin/endpoints/{endpoint_id}/authorize").raise_for_status()
        wait(lambda: "online" in self.pullprint("status").stdout, "the channel to be online")
        wait(lambda: "secure" in self.printers(), "the server's ports to be synced")
        print(self.pullprint("ctl", "status").stdout.rstrip())
        print(self.pullprint("status").stdout.rstrip())

    def pending_endpoint(self) -> int | None:
        with self.admin() as admin:
            endpoints = admin.get("/api/v1/admin/endpoints").json()
        return next((e["id"] for e in endpoints if e["state"] == "pending"), None)

    def printers(self) -> str:
        status = httpx.get(f"http://127.0.0.1:{self.api_port}/status", timeout=5).json()
        return str(status["services"]["spooler"].get("printers", []))

    def print_file(self, name: str, printer: str) -> Path:
        document = self.root / name
        document.write_bytes(b"%PDF-1.4\n% pullprint demo\n" + os.urandom(128 * 1024))
        say(f"{USER} prints {name} ({document.stat().st_size} bytes) to '{printer}'")
        result = self.pullprint("print", str(document), "-P", printer, "-U", USER)
        print("  " + (result.stdout.strip() or result.stderr.strip()))
        return document

    def received(self) -> list[Path]:
        return sorted(self.printed.glob("job-*.prn"))

    def compare(self, document: Path, received: Path) -> bool:
        sent, got = sha256(document), sha256(received)
        print(f"  sent     sha256 {sent}\n  received sha256 {got}  ({received.name})")
        print("  identical" if sent == got else "  MISMATCH")
        return sent == got

    def run(self) -> bool:
        self.start_server()
        self.start_client()
        direct = self.print_file("memo.pdf", "office")
        wait(lambda: len(self.received()) == 1, "the direct job at the printer")
        print("  printed at once:")
        ok = self.compare(direct, self.received()[0])

        held = self.print_file("payslip.pdf", "secure")
        wait(lambda: "pending-held" in self.pullprint("jobs").stdout, "the job held")
        print(self.pullprint("jobs").stdout.rstrip())
        print(f"  the printer still has {len(self.received())} job; payslip.pdf waits on this PC")
        say(f"{USER} authenticates at printer floor1 (the server's release)")
        with self.admin() as admin:
            reply = admin.post("/api/v1/release", json={"user": USER, "printer": "floor1"})
        print(f"  released: {reply.json()['job_ids']}")
        wait(lambda: len(self.received()) == 2, "the released job at the printer")
        print(self.pullprint("jobs", "--all").stdout.rstrip())
        return self.compare(held, self.received()[1]) and ok

    def stop(self) -> None:
        say("Stopping everything the demo started")
        for process in reversed(self.started):
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


def run() -> int:
    root = Path(tempfile.mkdtemp(prefix="pullprint-demo-"))
    demo = Demo(root)
    ok = False
    try:
        ok = demo.run()
    except (TimeoutError, httpx.HTTPError) as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
    finally:
        demo.stop()
        if ok:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"logs kept in {root}")
        print("done.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(run())
