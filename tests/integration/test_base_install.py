"""The base package alone, as ``pip install pullprint`` gives it to a PC: no extras.

The client service must run on its base dependencies (the extras are the server, the tray and
development tools); a dependency the service imports but only an extra brings showed up as a
spooler dying with ModuleNotFoundError. So this test builds a fresh venv from
requirements/client.txt, installs the project into it as a wheel (not editable: the package
must carry every file the service reads, deploy/supervisord.conf among them), starts
``pullprint service`` from it and prints a job through it.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import venv
from pathlib import Path

import httpx
import pytest

from support import ROOT
from support.client import config_toml
from support.ports import free_port
from support.printers import VirtualPrinter
from support.process import Process
from support.waiting import wait_for

# What the base package must not pull in: each belongs to one extra.
EXTRAS_ONLY = ("PySide6_Essentials", "argon2_cffi", "alembic", "psycopg", "pytest")
NOT_SOURCE = (".venv", ".git", "*.egg-info", "__pycache__", "build", "dist", ".*_cache",
              ".hypothesis", "demo-run", "tests", "benchmarks", "docs")  # fmt: skip


def pip(python: Path, *args: str) -> None:
    result = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope="module")
def base_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with the locked base dependencies and the project built as a wheel."""
    where = tmp_path_factory.mktemp("base")
    source = where / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    venv.create(where / "venv", with_pip=True)
    python = where / "venv" / "bin" / "python"
    pip(python, "--require-hashes", "-r", str(ROOT / "requirements" / "client.txt"))
    pip(python, "--no-build-isolation", str(source))
    return where / "venv"


def test_the_base_package_holds_no_extra(base_venv: Path) -> None:
    site = next((base_venv / "lib").glob("python3*/site-packages"))
    found = [name for name in EXTRAS_ONLY if list(site.glob(f"{name}-*.dist-info"))]
    assert found == []


def test_the_service_runs_and_prints_from_the_base_package(base_venv: Path, tmp_path: Path):
    printer = VirtualPrinter(tmp_path / "printed")
    printer.start()
    # A short path: the bus sockets live in run_dir, and ipc paths are limited to ~100 bytes.
    root = Path(tempfile.mkdtemp(prefix="pp-base-"))
    api_port = free_port()
    values = {
        "state_dir": str(root / "state"),
        "run_dir": str(root / "run"),
        "log_dir": str(root / "log"),
        "spooler_port": free_port(),
        "api_port": api_port,
        "os_queues": "none",
    }
    config = root / "config.toml"
    config.write_text(config_toml(values, [{"name": "office", "port": printer.port}]))
    # Nothing of the test's own venv or source tree: the installed package alone.
    env = {"PATH": f"{base_venv / 'bin'}:/usr/bin:/bin", "PULLPRINT_CONFIG": str(config)}
    (root / "log").mkdir()
    service = Process("service", [str(base_venv / "bin" / "pullprint"), "service"], env,
                      root / "log" / "service.out")  # fmt: skip
    try:
        status = wait_for(lambda: _status(api_port), 60, "the service's /status to be ok")
        assert sorted(status["services"]) == ["api", "channel", "delivery", "spooler", "sync"]
        document = tmp_path / "page.pdf"
        document.write_bytes(b"%PDF-1.4 base package\n" * 1000)
        printed = subprocess.run(
            [str(base_venv / "bin" / "pullprint"), "print", str(document), "-P", "office"],
            env=env,
            cwd="/",
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert printed.returncode == 0, printed.stderr
        assert printed.stdout.startswith("job 1 stored on office")
        wait_for(printer.jobs, 30, "the job at the printer")
        assert printer.jobs()[0].read_bytes() == document.read_bytes()
    finally:
        service.stop()
        printer.stop()
        shutil.rmtree(root, ignore_errors=True)


def _status(port: int) -> dict | None:
    try:
        status = httpx.get(f"http://127.0.0.1:{port}/status", timeout=5).json()
    except httpx.HTTPError:
        return None
    return status if status.get("ok") else None
