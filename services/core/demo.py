"""``make demo`` / ``pullprint demo``: the product end to end on this machine, narrated.

Starts a raw virtual printer and the pullprint service under supervisord (all in a temporary
directory, on free loopback ports), prints a document with ``pullprint print``, shows the job
delivered with the identical sha256 at the printer, and stops everything it started.
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


def say(text: str) -> None:
    print(f"\n==> {text}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(condition: Callable[[], object], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        time.sleep(0.1)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_config(root: Path, printer_port: int) -> Path:
    config = root / "config.toml"
    config.write_text(
        f'state_dir = "{root}/state"\nrun_dir = "{root}/run"\nlog_dir = "{root}/log"\n'
        f"spooler_port = {free_port()}\napi_port = {free_port()}\n"
        # The demo never touches this machine's own CUPS.
        'os_queues = "none"\n'
        f'[[printers]]\nname = "office"\nkind = "direct"\nhost = "127.0.0.1"\n'
        f'port = {printer_port}\nprotocol = "raw"\n'
    )
    return config


def pullprint(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "services.core.cli", *args]
    return subprocess.run(argv, env=env, cwd=SOURCE_ROOT, capture_output=True, text=True)


def api_healthy(env: dict[str, str]) -> bool:
    port = next(
        line.split("=")[1].strip()
        for line in Path(env["PULLPRINT_CONFIG"]).read_text().splitlines()
        if line.startswith("api_port")
    )
    try:
        return bool(httpx.get(f"http://127.0.0.1:{port}/status", timeout=2).json()["ok"])
    except (httpx.HTTPError, ValueError, KeyError):
        return False


def run() -> int:
    root = Path(tempfile.mkdtemp(prefix="pullprint-demo-"))
    printed = root / "printed"
    printer_port = free_port()
    env = os.environ | {"PULLPRINT_CONFIG": str(write_config(root, printer_port))}
    started: list[subprocess.Popen[bytes]] = []
    ok = False
    try:
        say(f"Starting a raw virtual printer on 127.0.0.1:{printer_port} (jobs land in {printed})")
        started.append(
            _spawn(
                env,
                root / "printer.log",
                "virtual-printer",
                "--port",
                str(printer_port),
                "--dir",
                str(printed),
            )
        )
        say(
            "Starting the pullprint service: supervisord with spooler, sync, delivery, channel, api"
        )
        started.append(_spawn(env, root / "service.log", "service"))
        wait(lambda: api_healthy(env), "all five services to answer")
        print(pullprint(env, "ctl", "status").stdout.rstrip())
        print(pullprint(env, "status").stdout.rstrip())

        document = root / "hello.pdf"
        document.write_bytes(b"%PDF-1.4\n% pullprint demo page\n" + os.urandom(256 * 1024))
        say(f"Printing {document.name} ({document.stat().st_size} bytes) to printer 'office'")
        user = os.environ.get("USER", "demo")
        result = pullprint(env, "print", str(document), "-P", "office", "-U", user)
        print(result.stdout.rstrip() or result.stderr.rstrip())
        if result.returncode != 0:
            return 1
        wait(lambda: list(printed.glob("job-*.prn")), "the printer to receive the job")
        wait(lambda: "completed" in pullprint(env, "jobs", "--all").stdout, "job completed")
        print(pullprint(env, "jobs", "--all").stdout.rstrip())

        received = sorted(printed.glob("job-*.prn"))[0]
        sent, got = sha256(document), sha256(received)
        say("Comparing what we printed with what the printer received")
        print(f"  sent     sha256 {sent}\n  received sha256 {got}  ({received.name})")
        if sent != got:
            print("  MISMATCH: the printer did not receive the same bytes")
            return 1
        print("  identical: the job went spooler -> store -> delivery -> printer intact")
        ok = True
        return 0
    except TimeoutError as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1
    finally:
        say("Stopping everything the demo started")
        for process in reversed(started):
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        if ok:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"logs kept in {root / 'log'}")
        print("done.")


def _spawn(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "services.core.cli", *args],
            env=env,
            cwd=SOURCE_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


if __name__ == "__main__":
    sys.exit(run())
