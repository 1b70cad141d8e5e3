"""``make demo`` / ``pullprint demo``: the whole product on this machine, narrated for a newcomer.

In a temporary directory, on loopback ports: a raw virtual printer and (where Debian's
ippeveprinter is installed) an IPP printer, the reference server (self-signed TLS, its gateway on
7300 when free) and the pullprint service in local mode under supervisord. Then, in numbered
steps: a direct print; a pull print held on this PC until the user "authenticates at the
printer" (the server's release); the same at the IPP printer; the tray's "Store and deliver via
gateway" switch, and a print that goes through the server's gateway and Document Output. Every
document is checked byte for byte (sha256) where the printer stored it. Everything the demo
started is stopped at the end, also after a failure or Ctrl-C; a failed step exits non-zero.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from cli.demo_peers import (
    GATEWAY_PORT,
    DemoFailed,
    Interrupted,
    Processes,
    check_interrupt,
    ensure_dns_sd,
    free_port,
    gateway_port,
    interrupt,
    ipp_printer_missing,
    ippeveprinter_argv,
    listening,
    sha256,
    wait,
)

SOURCE_ROOT = Path(__file__).resolve().parents[1]
USER = "ada"
PYTHON = sys.executable


class Narrator:
    def __init__(self) -> None:
        self.number = 0
        self.current = "setting up"

    def step(self, text: str, last: bool = False) -> None:
        if not last:  # the clean-up step runs after an interruption too
            check_interrupt()
        self.number += 1
        self.current = f"{self.number}. {text.splitlines()[0]}"
        print(f"\n{self.number}. {text}", flush=True)

    @staticmethod
    def note(text: str) -> None:
        print("\n".join(f"   {line}" for line in text.rstrip().splitlines()), flush=True)


class Demo:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.say = Narrator()
        self.raw_dir, self.ipp_dir = root / "printed-floor1", root / "printed-floor2"
        self.raw_port, self.ipp_port = free_port(), free_port()
        self.http_port, self.gateway_port, self.api_port = free_port(), gateway_port(), free_port()
        self.server_data = root / "server"
        self.ca_file = self.server_data / "tls" / "dev-cert.pem"
        self.server_url = f"https://127.0.0.1:{self.http_port}"
        self.env = os.environ | {"PULLPRINT_CONFIG": str(self.write_config())}
        self.processes = Processes(root, self.env, SOURCE_ROOT)
        self.ipp_skipped = ipp_printer_missing()

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

    # --- talking to the pieces -----------------------------------------------------------------

    def pullprint(self, *args: str) -> subprocess.CompletedProcess[str]:
        argv = [PYTHON, "-m", "cli", *args]
        return subprocess.run(argv, env=self.env, cwd=SOURCE_ROOT, capture_output=True, text=True)

    def admin(self) -> httpx.Client:
        """The server's admin API (the admin token the server wrote into its data dir)."""
        token = (self.server_data / "admin.token").read_text().strip()
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.Client(
            base_url=self.server_url, verify=str(self.ca_file), timeout=30, headers=headers
        )

    def facade(self) -> httpx.Client:
        """This PC's facade, as the tray uses it; changes need the token in the state dir."""
        token = (self.root / "state" / "api.token").read_text().strip()
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.Client(
            base_url=f"http://127.0.0.1:{self.api_port}", timeout=10, headers=headers
        )

    def server_ready(self) -> bool:
        try:
            with self.admin() as admin:
                return admin.get("/api/v1/health").status_code == 200
        except (httpx.HTTPError, OSError):
            return False

    def pending_endpoint(self) -> int | None:
        with self.admin() as admin:
            endpoints = admin.get("/api/v1/admin/endpoints").json()
        return next((e["id"] for e in endpoints if e["state"] == "pending"), None)

    def printers(self) -> str:
        status = httpx.get(f"http://127.0.0.1:{self.api_port}/status", timeout=5).json()
        return str(status["services"]["spooler"].get("printers", []))

    def client_job(self, name: str) -> dict[str, Any]:
        with self.facade() as facade:
            jobs = facade.get("/jobs").raise_for_status().json()
        return next((j for j in jobs if j["name"] == name), {})

    def server_job(self, name: str) -> dict[str, Any]:
        with self.admin() as admin:
            jobs = admin.get("/api/v1/jobs", params={"user": USER}).raise_for_status().json()
        return next((j for j in jobs["jobs"] if j["name"] == name), {})

    def wait_held(self, name: str) -> None:
        """Held here, and reported to the server: a release finds only jobs the server knows."""
        wait(lambda: self.client_job(name).get("state") == "pending-held", f"{name} held")
        wait(lambda: self.server_job(name).get("state") == "pending-held", "the server to know")
        job = self.server_job(name)
        self.say.note(f"the server knows job {job['id'][:8]}...: held on the {job['location']}")

    def release(self, printer: str) -> None:
        with self.admin() as admin:
            reply = admin.post("/api/v1/release", json={"user": USER, "printer": printer})
        reply.raise_for_status()
        self.say.note(f"the server released {USER}'s held jobs {reply.json()['job_ids']}")

    def print_file(self, name: str, printer: str) -> Path:
        document = self.root / name
        document.write_bytes(b"%PDF-1.4\n% pullprint demo\n" + os.urandom(128 * 1024))
        size = document.stat().st_size
        self.say.note(f"$ pullprint print {name} -P {printer} -U {USER}   ({size} bytes)")
        result = self.pullprint("print", str(document), "-P", printer, "-U", USER)
        self.say.note(result.stdout.strip() or result.stderr.strip())
        if result.returncode != 0:
            raise DemoFailed(f"printing {name} to {printer} failed")
        return document

    @staticmethod
    def received(directory: Path) -> list[Path]:
        return sorted(directory.glob("*")) if directory.exists() else []

    def verify(self, document: Path, printer: str, directory: Path, count: int) -> None:
        """Wait for the ``count``-th document at the printer; it must be ours, byte for byte."""
        wait(lambda: len(self.received(directory)) >= count, f"{document.name} at {printer}")
        got = self.received(directory)[count - 1]
        sent, printed = sha256(document), sha256(got)
        self.say.note(f"sent     sha256 {sent}\nprinted  sha256 {printed}  ({printer}: {got.name})")
        if sent != printed:
            raise DemoFailed(f"{document.name} arrived at {printer} with other bytes")
        self.say.note(f"{document.name}: sha256 identical at {printer}")

    def show_jobs(self) -> None:
        with self.facade() as facade:
            jobs = facade.get("/jobs").raise_for_status().json()
        # ID is the IPP job-id lp showed; UUID the job's id in the facade and on the server.
        self.say.note(f"{'ID':>3}  {'PORT':<8} {'STATE':<14} {'ROUTE':<8} {'UUID':<11}  NAME")
        for job in jobs:
            route = job["route"] or "-"
            self.say.note(
                f"{job['ipp_job_id']:>3}  {job['printer']:<8} {job['state']:<14} {route:<8} "
                f"{job['id'][:8]}...  {job['name']}"
            )

    # --- the steps -----------------------------------------------------------------------------

    def start_printers(self) -> None:
        self.say.step(
            f"Two printers come up. 'floor1' is a raw virtual printer (port 9100 style) on\n"
            f"   127.0.0.1:{self.raw_port}; it stores every job it prints in {self.raw_dir.name}/."
        )
        argv = ["virtual-printer", "--port", str(self.raw_port), "--dir", str(self.raw_dir)]
        self.processes.spawn("floor1.log", [PYTHON, "-m", "cli", *argv])
        wait(lambda: listening(self.raw_port), "floor1 to listen")
        if self.ipp_skipped:
            self.say.note(f"'floor2' (IPP) is left out: {self.ipp_skipped}.")
            return
        ensure_dns_sd(self.processes)  # ippeveprinter will not start without DNS-SD
        argv = ippeveprinter_argv(self.root, self.ipp_port, self.ipp_dir)
        process = self.processes.spawn("floor2.log", argv)
        wait(lambda: process.poll() is not None or listening(self.ipp_port), "ippeveprinter")
        if process.poll() is not None:
            raise DemoFailed(f"ippeveprinter exited; see {self.root / 'floor2.log'}")
        self.say.note(
            f"'floor2' is Debian's ippeveprinter, an IPP printer on 127.0.0.1:{self.ipp_port};\n"
            f"it keeps every job it prints in {self.ipp_dir.name}/."
        )

    def start_server(self) -> None:
        self.say.step(
            "The organisation's server starts (pullprint-server, self-signed TLS): HTTPS API on\n"
            f"   {self.http_port}, TLS gateway for uploaded jobs on {self.gateway_port}, and "
            "Document Output,\n   which prints the jobs the server stores."
        )
        argv = [PYTHON, "-m", "server.cli", "run", "--data", str(self.server_data),
                "--http-port", str(self.http_port), "--gateway-port", str(self.gateway_port),
                "--dev-tls"]  # fmt: skip
        self.processes.spawn("server.log", argv)
        if self.gateway_port != GATEWAY_PORT:
            self.say.note(
                f"({GATEWAY_PORT}, the gateway's usual port, is taken here: using another.)"
            )
        wait(self.server_ready, "the server to answer")
        self.configure_server()

    def configure_server(self) -> None:
        printers = {"floor1": (self.raw_port, "raw", "")}
        if not self.ipp_skipped:
            printers["floor2"] = (self.ipp_port, "ipp", "/ipp/print")
        with self.admin() as admin:
            admin.post("/api/v1/admin/users", json={"name": USER, "password": "demo"})
            for name, (port, kind, path) in printers.items():
                body = {"name": name, "host": "127.0.0.1", "port": port, "protocol": kind}
                admin.post("/api/v1/admin/printers", json=body | {"path": path}).raise_for_status()
            ports = [("office", "direct", ["floor1"]), ("secure", "pull", list(printers))]
            for name, kind, targets in ports:
                body = {"name": name, "kind": kind, "printers": targets}
                admin.post("/api/v1/admin/ports", json=body).raise_for_status()
        self.say.note(
            f"The admin creates user '{USER}', the printers {', '.join(printers)} and two input "
            "ports:\n'office' (direct: straight to floor1) and 'secure' (pull: held until "
            "released at a printer)."
        )

    def start_client(self) -> None:
        self.say.step(
            "pullprint starts on this PC in local mode: supervisord runs spooler (our IPP "
            "endpoint),\n   sync, delivery, channel (the link to the server) and api (the "
            "tray's facade)."
        )
        self.processes.spawn("service.log", [PYTHON, "-m", "cli", "service"])
        wait(lambda: self.pending_endpoint() is not None, "the client to register")
        endpoint_id = self.pending_endpoint()
        self.say.note(
            f"It registered with the server as endpoint {endpoint_id}; the admin authorizes it."
        )
        with self.admin() as admin:
            admin.post(f"/api/v1/admin/endpoints/{endpoint_id}/authorize").raise_for_status()
        wait(lambda: "online" in self.pullprint("status").stdout, "the channel to be online")
        wait(lambda: "secure" in self.printers(), "the server's ports to be synced")
        self.say.note("The server's input ports are now printers on this PC.")
        self.say.note("$ pullprint status\n" + self.pullprint("status").stdout)

    def print_direct(self) -> None:
        self.say.step("A direct port prints at once: 'office' goes straight to floor1.")
        memo = self.print_file("memo.pdf", "office")
        self.verify(memo, "floor1", self.raw_dir, 1)

    def print_held(self) -> Path:
        self.say.step(
            "A pull port holds the job on this PC until you release it at a printer; the "
            "server\n   learns only that it exists (name, size, owner), never its content."
        )
        payslip = self.print_file("payslip.pdf", "secure")
        self.wait_held("payslip.pdf")
        self.show_jobs()
        self.say.note(
            f"floor1 has printed {len(self.received(self.raw_dir))} job; payslip.pdf waits here."
        )
        return payslip

    def release_at_floor1(self, payslip: Path) -> None:
        self.say.step(
            f"{USER} authenticates at floor1 (the server's release stands in for the badge "
            "reader).\n   The server tells this PC, which sends the job straight to floor1."
        )
        self.release("floor1")
        self.verify(payslip, "floor1", self.raw_dir, 2)

    def release_at_floor2(self) -> None:
        if self.ipp_skipped:
            self.say.step(f"(IPP printer left out: {self.ipp_skipped}.)")
            return
        self.say.step(
            f"The same at the IPP printer: {USER} prints report.pdf to 'secure' and releases "
            "it at\n   floor2; this PC delivers it by IPP Print-Job to ippeveprinter."
        )
        report = self.print_file("report.pdf", "secure")
        self.wait_held("report.pdf")
        self.release("floor2")
        self.verify(report, "floor2", self.ipp_dir, 1)

    def switch_to_gateway(self) -> None:
        self.say.step(
            'The tray\'s "Store and deliver via gateway": from now on jobs leave this PC at '
            "once,\n   uploaded over TLS to the server, which stores them and prints them."
        )
        self.say.note('$ PUT /route {"route": "gateway"}   (the facade, with its token)')
        with self.facade() as facade:
            reply = facade.put("/route", json={"route": "gateway"}).raise_for_status().json()
        self.say.note(f"route={reply['route']} mode={reply['mode']}")
        if reply["route"] != "gateway":
            raise DemoFailed("the facade did not switch the route to gateway")

    def print_via_gateway(self) -> None:
        self.say.step(
            f"{USER} prints contract.pdf to 'office' again. This time it goes up the TLS gateway "
            f"on\n   {self.gateway_port}; the server's Document Output prints it on floor1."
        )
        contract = self.print_file("contract.pdf", "office")
        self.verify(contract, "floor1", self.raw_dir, 3)
        # The PC says completed only once the server says its Document Output printed it.
        wait(
            lambda: self.client_job("contract.pdf").get("state") == "completed",
            "the server's outcome on this PC",
        )
        done = self.client_job("contract.pdf")
        self.say.note(
            f"this PC: job {done['ipp_job_id']} {done['state']}, route={done['route']}, "
            f"id {done['id'][:8]}..."
        )
        wait(lambda: self.server_job("contract.pdf").get("state") == "completed", "the server")
        job = self.server_job("contract.pdf")
        self.say.note(
            f"server: job {job['id'][:8]}... stored on the {job['location']}, printed on "
            f"{job['printer']}: {job['state']}"
        )
        if done["route"] != "gateway" or job["location"] != "server":
            raise DemoFailed("contract.pdf did not go through the gateway")
        self.say.note("contract.pdf: delivered via the gateway and Document Output")
        self.show_jobs()

    def run(self) -> None:
        print(f"pullprint demo: everything runs in {self.root}, on loopback ports.")
        self.start_printers()
        self.start_server()
        self.start_client()
        self.print_direct()
        payslip = self.print_held()
        self.release_at_floor1(payslip)
        self.release_at_floor2()
        self.switch_to_gateway()
        self.print_via_gateway()

    def stop(self) -> None:
        self.say.step("Stopping everything the demo started (client, server, printers).", last=True)
        self.processes.stop()


def run() -> int:
    root = Path(tempfile.mkdtemp(prefix="pullprint-demo-"))
    demo = Demo(root)
    handlers = {s: signal.signal(s, interrupt) for s in (signal.SIGINT, signal.SIGTERM)}
    code = 1
    try:
        demo.run()
        code = 0
    except Interrupted as exc:
        code = 130
        print(f"\ndemo interrupted ({exc}) at step {demo.say.current}", file=sys.stderr)
    except Exception as exc:
        print(f"\ndemo FAILED at step {demo.say.current}\n   {type(exc).__name__}: {exc}",
              file=sys.stderr)  # fmt: skip
    finally:
        for sig in handlers:
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        demo.stop()
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    if code == 0:
        shutil.rmtree(root, ignore_errors=True)
        print("\nDone: every document arrived byte for byte; nothing the demo started still runs.")
    else:
        print(f"\nLogs kept in {root} (server.log, service.log, log/).", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(run())
