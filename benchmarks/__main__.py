"""``make bench``: each row is ours against a baseline measured in the same run on this machine,
printed as ``name ours baseline ratio`` and written to ``benchmarks/last-run.json``.

Rows so far: IPP capture of a large job (Print-Job into our spooler, which streams, fsyncs and
commits before answering) against the same bytes copied over a loopback socket into an fsynced
file, the machine's limit. The other rows of DESIGN.md 9 come with the benchmarks issue.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from services.core import ipp
from services.core.ipp import Operation, Tag

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024
CHUNK = 256 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_file(path: Path, size: int) -> None:
    block = os.urandom(MB)
    with path.open("wb") as f:
        for _ in range(size // MB):
            f.write(block)


def chunks(path: Path, header: bytes = b""):
    if header:
        yield header
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def socket_copy(path: Path, target: Path) -> float:
    """Baseline: the same bytes over loopback TCP into a file, fsynced."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def receive() -> None:
        conn, _ = server.accept()
        with conn, target.open("wb") as out:
            while data := conn.recv(CHUNK):
                out.write(data)
            out.flush()
            os.fsync(out.fileno())
            conn.sendall(b"ok")

    thread = threading.Thread(target=receive)
    thread.start()
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as conn:
        for chunk in chunks(path):
            conn.sendall(chunk)
        conn.shutdown(socket.SHUT_WR)
        conn.recv(2)
    elapsed = time.perf_counter() - started
    thread.join()
    server.close()
    return elapsed


def ipp_capture(path: Path, work: Path) -> float:
    """Ours: Print-Job to a real spooler process; timed until its successful-ok."""
    port = free_port()
    config = work / "config.toml"
    config.write_text(
        f'state_dir = "{work}/state"\nrun_dir = "{work}/run"\nlog_dir = "{work}/log"\n'
        f'spooler_port = {port}\napi_port = {free_port()}\nos_queues = "none"\n'
        f'[[printers]]\nname = "bench"\nkind = "pull"\n'
    )
    env = os.environ | {"PULLPRINT_CONFIG": str(config)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", f"services.{name}"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name in ("sync", "spooler")
    ]
    try:
        uri = f"ipp://127.0.0.1:{port}/printers/bench"
        request = ipp.request(Operation.PRINT_JOB)
        request.operation.add("printer-uri", Tag.URI, uri)
        request.operation.add("requesting-user-name", Tag.NAME, "bench")
        header = ipp.encode(request)
        _wait_served(port, uri)
        started = time.perf_counter()
        reply = httpx.post(
            f"http://127.0.0.1:{port}/printers/bench",
            content=chunks(path, header),
            headers={
                "Content-Type": "application/ipp",
                "Content-Length": str(len(header) + path.stat().st_size),
            },
            timeout=600,
        )
        elapsed = time.perf_counter() - started
        assert ipp.parse(reply.content)[0].code == 0, "the spooler refused the job"
        return elapsed
    finally:
        for process in processes:
            process.terminate()
            process.wait(15)


def _wait_served(port: int, uri: str) -> None:
    request = ipp.request(Operation.GET_PRINTER_ATTRIBUTES)
    request.operation.add("printer-uri", Tag.URI, uri)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            reply = httpx.post(
                f"http://127.0.0.1:{port}/printers/bench",
                content=ipp.encode(request),
                headers={"Content-Type": "application/ipp"},
            )
            if ipp.parse(reply.content)[0].code == 0:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the spooler did not start")


def main() -> int:
    size = int(os.environ.get("BENCH_MB", "256")) * MB
    rows = []
    with tempfile.TemporaryDirectory(prefix="pullprint-bench-") as tmp:
        work = Path(tmp)
        document = work / "job.bin"
        make_file(document, size)
        baseline = socket_copy(document, work / "copy.bin")
        ours = ipp_capture(document, work)
        # Higher is better for throughput: ratio = our MB/s over the baseline's MB/s.
        rows.append(("ipp_capture_MBps", size / MB / ours, size / MB / baseline))
    print(f"{'name':<22} {'ours':>10} {'baseline':>10} {'ratio':>7}")
    for name, ours_value, base_value in rows:
        print(f"{name:<22} {ours_value:>10.1f} {base_value:>10.1f} {ours_value / base_value:>7.2f}")
    result = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "size_mb": size // MB,
        "rows": [{"name": n, "ours": o, "baseline": b, "ratio": o / b} for n, o, b in rows],
    }
    (ROOT / "benchmarks" / "last-run.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
