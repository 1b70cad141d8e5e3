"""``make demo`` keeps working: it is the first thing a newcomer runs, and it must leave nothing
running behind it, whether it passes, fails or is interrupted."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import psutil

from support import ROOT

DEMO = [sys.executable, "-m", "cli.demo"]
WORK_DIR = re.compile(r"everything runs in (\S+), on loopback ports")


def work_dir(output: str) -> Path:
    match = WORK_DIR.search(output)
    assert match, output
    return Path(match[1])


def processes_of(root: Path) -> list[str]:
    """Processes started for the demo in ``root``: by their command line (printers, server) or
    by the config they were given (supervisord and the services)."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        try:
            config = process.environ().get("PULLPRINT_CONFIG", "")
        except (psutil.AccessDenied, psutil.NoSuchProcess, OSError):
            config = ""
        cmdline = " ".join(process.info["cmdline"] or [])
        if str(root) in cmdline or str(root) in config:
            found.append(f"{process.info['pid']} {cmdline}")
    return found


def ipp_printer_expected() -> bool:
    """As root with ippeveprinter installed the demo must include the IPP printer (it can start
    dbus and avahi itself); elsewhere it may leave it out, saying why."""
    return os.geteuid() == 0 and all(
        shutil.which(b, path="/usr/sbin:/usr/bin:/sbin:/bin")
        for b in ("ippeveprinter", "dbus-daemon", "avahi-daemon")
    )


def test_demo_releases_prints_via_gateway_verifies_bytes_and_stops_everything():
    result = subprocess.run(DEMO, cwd=ROOT, capture_output=True, text=True, timeout=300)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "memo.pdf: sha256 identical at floor1" in out  # direct port
    assert "2  secure   pending-held" in out  # the pull job waited on this PC
    assert "payslip.pdf: sha256 identical at floor1" in out  # released, then printed
    assert "route=gateway mode=local" in out  # the tray's switch, through the facade
    assert "this PC: job 4 completed, route=gateway" in out
    # The PC and the server name the job by the same id: one id on every wire.
    here = re.search(r"this PC: job 4 completed, route=gateway, id (\w{8})\.\.\.", out)
    there = re.search(r"server: job (\w{8})\.\.\. stored on the server", out)
    assert here and there and here.group(1) == there.group(1), out
    assert "stored on the server, printed on floor1: completed" in out  # Document Output
    assert "contract.pdf: sha256 identical at floor1" in out
    if ipp_printer_expected():
        assert "report.pdf: sha256 identical at floor2" in out
    else:
        assert "report.pdf: sha256 identical at floor2" in out or "IPP printer left out" in out
    assert "Stopping everything the demo started" in out
    root = work_dir(out)
    assert processes_of(root) == []
    assert not root.exists()  # a passing demo cleans up its directory


def test_ctrl_c_stops_everything_and_exits_non_zero_naming_the_step():
    demo = subprocess.Popen(
        DEMO,
        cwd=ROOT,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert demo.stdout is not None
    seen = ""
    for line in demo.stdout:  # every wait in the demo is bounded, so lines keep coming
        seen += line
        if "It registered with the server" in line:  # supervisord and the service are up
            break
    demo.send_signal(signal.SIGINT)  # what Ctrl-C sends (the children have sessions of their own)
    out, err = demo.communicate(timeout=120)
    assert demo.returncode == 130, seen + out + err
    assert "demo interrupted (SIGINT) at step 3. pullprint starts" in err
    assert "Stopping everything the demo started" in out
    root = work_dir(seen)
    assert processes_of(root) == []
    assert f"Logs kept in {root}" in err
    shutil.rmtree(root, ignore_errors=True)
