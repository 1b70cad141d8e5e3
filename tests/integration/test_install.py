"""``pullprint install`` and ``uninstall`` into a temporary root (issue 8, "Done when").

Everything runs for real below ``tmp_path`` (the ``--root`` option), so no systemd is needed:
the files, their modes, a config every process can load, a unit ``systemd-analyze verify``
accepts when the tool is here, and an uninstall that leaves the tree exactly as it was,
including the OS queues it removes from a private cupsd.
"""

from __future__ import annotations

import configparser
import os
import plistlib
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cli.install import InstallError, install, uninstall
from protocol.states import JobState
from services.core.config import Settings, load_settings
from services.core.store import Job, Store
from services.sync.queues import CupsBackend, apply, wanted_queues
from support import ROOT
from support.ports import free_port
from support.printers import VirtualPrinter
from support.process import Process
from support.waiting import wait_for
from tests.documents import make_document, sha256_file
from tests.peers import private_cupsd


def snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every path below ``root`` with its mode and (for files) content."""
    tree = {}
    for path in sorted(root.rglob("*")):
        content = path.read_bytes() if path.is_file() else b""
        tree[str(path.relative_to(root))] = (stat.S_IMODE(path.stat().st_mode), content)
    return tree


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """The CLI's environment in these tests: an empty config of its own, never this
    machine's, and no OS queues (never this machine's CUPS)."""
    config = tmp_path / "empty.toml"
    config.write_text("")
    return os.environ | {"PULLPRINT_CONFIG": str(config), "PULLPRINT_OS_QUEUES": "none"}


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A machine root that already has things of its own in the directories we write to."""
    root = tmp_path / "root"
    (root / "etc" / "systemd" / "system").mkdir(parents=True)
    (root / "etc" / "systemd" / "system" / "cups.service").write_text("[Unit]\n")
    (root / "var" / "log").mkdir(parents=True)
    (root / "var" / "log" / "syslog").write_text("earlier\n")
    os.chmod(root / "var" / "log", 0o775)
    return root


def test_install_writes_config_dirs_unit_and_autostart(root: Path, tmp_path: Path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    messages: list[str] = []

    install(
        root,
        "hybrid",
        "https://print.example:8443",
        "https://b.example:8443",
        ca,
        say=messages.append,
    )

    config = root / "etc" / "pullprint" / "config.toml"
    settings = load_settings(config)
    assert (settings.mode, settings.server_url, settings.secondary_server_url) == (
        "hybrid",
        "https://print.example:8443",
        "https://b.example:8443",
    )
    assert settings.ca_file == ca.resolve()
    assert settings.state_dir == Path("/var/lib/pullprint")  # paths of the installed system
    assert mode_of(config) == 0o644
    assert mode_of(root / "var" / "lib" / "pullprint") == 0o700
    assert mode_of(root / "var" / "log" / "pullprint") == 0o750
    assert mode_of(root / "run" / "pullprint") == 0o755
    assert mode_of(root / "var" / "log") == 0o775  # an existing directory keeps its mode

    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.read(root / "etc" / "systemd" / "system" / "pullprint.service")
    exec_start = unit["Service"]["ExecStart"].split()
    assert exec_start[-1] == "service" and Path(exec_start[0]).is_absolute()
    assert unit["Service"]["Restart"] == "always"
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    desktop = configparser.ConfigParser(interpolation=None)
    desktop.read(root / "etc" / "xdg" / "autostart" / "pullprint-tray.desktop")
    assert desktop["Desktop Entry"]["Exec"].endswith(" tray")
    assert any("skipped enabling pullprint.service" in m for m in messages)


def test_installed_unit_passes_systemd_analyze_verify(root: Path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not installed")
    install(root, "local", None, say=lambda message: None)

    unit = root / "etc" / "systemd" / "system" / "pullprint.service"
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr


def test_uninstall_leaves_the_tree_as_it_was(root: Path):
    before = snapshot(root)
    install(root, "local", None, say=lambda message: None)
    assert snapshot(root) != before
    (root / "run" / "pullprint" / "spooler.pub").write_bytes(b"")  # left by a stopped service

    uninstall(root, say=lambda message: None)

    assert snapshot(root) == before


def test_uninstall_keeps_state_with_jobs_unless_purged(root: Path):
    """As Debian's remove and purge: held jobs survive a plain uninstall, and a later
    ``--purge`` still removes them and everything install made."""
    before = snapshot(root)
    install(root, "local", None, say=lambda message: None)
    (root / "var" / "lib" / "pullprint" / "pullprint.db").write_bytes(b"held jobs")
    messages: list[str] = []

    uninstall(root, say=messages.append)

    assert (root / "var" / "lib" / "pullprint" / "pullprint.db").exists()
    assert any("kept" in m and "--purge" in m for m in messages)
    assert not (root / "etc" / "pullprint" / "config.toml").exists()
    assert not (root / "etc" / "systemd" / "system" / "pullprint.service").exists()

    uninstall(root, purge=True, say=lambda message: None)
    assert snapshot(root) == before


def test_uninstall_removes_our_os_queues_and_only_ours(root: Path):
    with private_cupsd() as cups:
        backend = CupsBackend(cups.server)
        assert (
            cups.run("lpadmin", "-p", "theirs", "-E", "-v", "socket://127.0.0.1:9101").returncode
            == 0
        )
        install(root, "local", None, say=lambda message: None)
        apply(backend, wanted_queues(8631, ["office", "lobby"]))
        seen: list[Settings] = []

        def remove_queues(settings: Settings) -> None:
            seen.append(settings)
            apply(backend, {})

        uninstall(root, remove_queues=remove_queues, say=lambda message: None)

        assert backend.list_ours() == {}
        assert "theirs" in cups.run("lpstat", "-v").stdout
        assert seen[0].state_dir == Path("/var/lib/pullprint")  # the installed settings


def test_a_different_existing_config_needs_force(root: Path):
    install(root, "local", None, say=lambda message: None)
    install(root, "local", None, say=lambda message: None)  # the same again is fine

    with pytest.raises(InstallError, match="--force"):
        install(root, "hybrid", "https://print.example", say=lambda message: None)
    install(root, "hybrid", "https://print.example", force=True, say=lambda message: None)

    assert load_settings(root / "etc" / "pullprint" / "config.toml").mode == "hybrid"


def test_launchd_layout_for_macos(root: Path):
    before = snapshot(root)
    install(root, "local", None, platform="darwin", say=lambda message: None)

    plist_path = root / "Library" / "LaunchDaemons" / "org.pullprint.service.plist"
    plist = plistlib.loads(plist_path.read_bytes())
    assert plist["ProgramArguments"][-1] == "service"
    assert plist["KeepAlive"] is True and plist["RunAtLoad"] is True
    assert plist["EnvironmentVariables"]["PULLPRINT_CONFIG"] == "/etc/pullprint/config.toml"
    assert load_settings(root / "etc" / "pullprint" / "config.toml").mode == "local"
    assert not (root / "etc" / "systemd" / "system" / "pullprint.service").exists()

    uninstall(root, platform="darwin", say=lambda message: None)
    assert snapshot(root) == before


def test_cli_install_and_uninstall(root: Path, cli_env: dict[str, str]):
    before = snapshot(root)

    result = run_cli(
        cli_env,
        "install",
        "--mode",
        "gateway",
        "--server",
        "https://p.example",
        "--root",
        str(root),
    )
    assert result.returncode == 0, result.stderr
    assert load_settings(root / "etc" / "pullprint" / "config.toml").mode == "gateway"

    result = run_cli(cli_env, "uninstall", "--root", str(root))
    assert result.returncode == 0, result.stderr
    assert snapshot(root) == before


def test_cli_says_what_is_wrong_without_a_traceback(root: Path, cli_env: dict[str, str]):
    result = run_cli(cli_env, "install", "--mode", "gateway", "--root", str(root))

    assert result.returncode == 1
    assert result.stderr.strip() == (
        "pullprint: install failed: mode gateway sends jobs through a server: give --server URL"
    )
    result = run_cli(cli_env, "uninstall", "--root", str(root))
    assert result.returncode == 1
    assert "no pullprint installation under" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def short_root() -> Iterator[Path]:
    """A machine root with a short path: the bus's ipc socket paths below it are limited to
    about 100 characters, which pytest's tmp_path would exceed."""
    root = Path(tempfile.mkdtemp(prefix="pp-"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


def facade_status(api_port: int) -> dict | None:
    try:
        reply = httpx.get(f"http://127.0.0.1:{api_port}/status", timeout=5, trust_env=False)
    except httpx.HTTPError:
        return None
    return reply.json() if reply.status_code == 200 and reply.json()["ok"] else None


def test_the_start_command_install_prints_runs_the_installed_service(
    short_root: Path, cli_env: dict[str, str], raw_printer: VirtualPrinter, tmp_path: Path
):
    """Issue 17: `install --root DIR` said "run `pullprint service`", which read another
    config. Exactly the command it prints now starts the service installed below DIR: it
    answers, and a job printed to it is stored below DIR and printed."""
    result = run_cli(cli_env, "install", "--root", str(short_root))
    assert result.returncode == 0, result.stderr
    printed = re.search(r"run `(.+)` to start", result.stdout)
    assert printed, result.stdout
    # What an admin adds to the installed config: a printer. The ports are the test's own
    # (other tests run at the same time), through the environment as any key can be.
    with (short_root / "etc" / "pullprint" / "config.toml").open("a") as config:
        config.write(f'[[printers]]\nname = "office"\nport = {raw_printer.port}\n')
    api_port = free_port()
    env = cli_env | {
        "PULLPRINT_SPOOLER_PORT": str(free_port()),
        "PULLPRINT_API_PORT": str(api_port),
    }
    service = Process("service", shlex.split(printed[1]), env, tmp_path / "service.out")
    try:
        status = wait_for(lambda: facade_status(api_port), 60, "the installed service's facade")
        assert status["mode"] == "local"
        rooted = ["--root", str(short_root)]
        result = run_cli(env, "sync", "--wait", *rooted)
        assert (result.returncode, result.stdout) == (0, "synchronized; printers: office\n")
        document = tmp_path / "page.prn"
        digest = make_document(document, 100_000)

        result = run_cli(env, "print", str(document), "-P", "office", "--wait", *rooted)

        assert result.returncode == 0, result.stderr + (tmp_path / "service.out").read_text()
        assert result.stdout.startswith("job 1 stored on office (pending)\njob 1 printed at office")
        assert [sha256_file(p) for p in raw_printer.jobs()] == [digest]
        store = Store(short_root / "var" / "lib" / "pullprint" / "pullprint.db")
        with store.session() as session:
            assert session.get(Job, 1).state == JobState.COMPLETED
        store.dispose()
    finally:
        service.stop()
    assert not (short_root / "run" / "pullprint" / "supervisor.sock").exists()
