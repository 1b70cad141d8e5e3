"""Commands that run or set up the service: service, ctl, install, uninstall, tray, demo and
virtual-printer."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import sys
from pathlib import Path

from services.core.config import Settings

SOURCE_ROOT = Path(__file__).resolve().parents[1]


SUPERVISORD_CONF = SOURCE_ROOT / "deploy" / "supervisord.conf"


def supervisor_env(settings: Settings) -> dict[str, str]:
    """The environment ``deploy/supervisord.conf`` expands, from the settings in force. The
    services find the config as we did, from the same PULLPRINT_CONFIG or PULLPRINT_ROOT
    (or neither: then a missing system config means defaults for them as it did for us)."""
    return os.environ | {
        "PULLPRINT_RUN_DIR": str(settings.run_dir),
        "PULLPRINT_LOG_DIR": str(settings.log_dir),
        "PULLPRINT_PYTHON": sys.executable,
        "PULLPRINT_HOME": str(SOURCE_ROOT),
    }


def cmd_service(args: argparse.Namespace, settings: Settings) -> int:
    """Run the service (supervisord with all five processes) in the foreground."""
    for directory in (settings.state_dir, settings.run_dir, settings.log_dir):
        directory.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.state_dir, 0o700)
    supervisord = shutil.which("supervisord", path=os.path.dirname(sys.executable))
    argv = [supervisord or "supervisord", "-n", "-c", str(SUPERVISORD_CONF)]
    os.execvpe(argv[0], argv, supervisor_env(settings))
    return 0  # not reached


def cmd_ctl(args: argparse.Namespace, settings: Settings) -> int:
    """Operate the running service: supervisorctl on our config (status, restart NAME, ...)."""
    supervisorctl = shutil.which("supervisorctl", path=os.path.dirname(sys.executable))
    argv = [supervisorctl or "supervisorctl", "-c", str(SUPERVISORD_CONF), *args.args]
    os.execvpe(argv[0], argv, supervisor_env(settings))
    return 0  # not reached


def cmd_virtual_printer(args: argparse.Namespace, settings: Settings) -> int:
    """Run a raw TCP (9100-style) virtual printer that stores every job as a file."""
    from cli.virtual_printer import serve
    from services.core import logs

    logs.setup("virtual-printer")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, Path(args.dir), args.rate))
    return 0


def cmd_tray(args: argparse.Namespace, settings: Settings) -> int:
    """Start the tray icon (needs the tray extra: PySide6)."""
    # A process of its own: the tray talks to the facade only, never to service code.
    os.execv(sys.executable, [sys.executable, "-m", "ui"])
    return 0  # not reached


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Run the product end to end on this machine and narrate what happens."""
    from cli.demo import run

    return run()


def cmd_install(args: argparse.Namespace, settings: Settings) -> int:
    """Install as a system service (as root): config, directories, systemd unit or launchd
    daemon, tray autostart; enables the service when systemd runs."""
    from cli.install import InstallError, install

    ca_file = Path(args.ca_file) if args.ca_file else None
    try:
        install(
            Path(args.root),
            args.mode,
            args.server,
            args.secondary_server,
            ca_file,
            force=args.force,
        )
    except (InstallError, OSError) as exc:
        print(f"pullprint: install failed: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_uninstall(args: argparse.Namespace, settings: Settings) -> int:
    """Reverse install: stop the service, remove our OS queues and every file install made
    (state and logs only with --purge)."""
    from cli.install import InstallError, uninstall
    from services.sync.queues import apply, backend_for

    def remove_queues(installed: Settings) -> None:
        print(f"removed {apply(backend_for(installed), {})[2]} OS queue(s)")

    try:
        uninstall(Path(args.root), purge=args.purge, remove_queues=remove_queues)
    except (InstallError, OSError) as exc:
        print(f"pullprint: uninstall failed: {exc}", file=sys.stderr)
        return 1
    return 0
