"""The ``pullprint`` command. Each subcommand is one function; its docstring is its help."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from pathlib import Path

from cli.account import cmd_login, cmd_logout
from cli.jobs import JOB_HELP, cmd_jobs, cmd_print, cmd_printer, cmd_release
from cli.service import (
    cmd_ctl,
    cmd_demo,
    cmd_install,
    cmd_service,
    cmd_tray,
    cmd_uninstall,
    cmd_virtual_printer,
)
from cli.status import cmd_status, cmd_sync
from cli.waits import WAIT_TIMEOUT
from services.core.config import CONFIG_ENV, ROOT_ENV, ConfigError, Settings, load_settings

Command = Callable[[argparse.Namespace, Settings], int]


# They need no settings (install and uninstall write or remove the config itself: a broken one
# must not stop its repair; the tray reads what it needs itself and shows a broken service).
WITHOUT_SETTINGS = {"install", "uninstall", "virtual-printer", "tray", "demo"}


ROOT_HELP = (
    "use the installation `pullprint install --root DIR` made: DIR/etc/pullprint/config.toml, "
    "with its directories below DIR (for the services too, via PULLPRINT_ROOT)"
)


def use_root(root: str | None) -> None:
    """``--root DIR``: this command and every process it starts (supervisord, the services)
    use the installation below DIR; the command line wins over an inherited PULLPRINT_CONFIG."""
    if root:
        os.environ[ROOT_ENV] = str(Path(root).resolve())
        os.environ.pop(CONFIG_ENV, None)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pullprint", description="pullprint cloud print client")
    sub = p.add_subparsers(dest="command", required=True)

    def add(name: str, func: Command) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=(func.__doc__ or "").strip().split("\n")[0])
        sp.set_defaults(func=func)
        if name not in WITHOUT_SETTINGS:
            sp.add_argument("--root", metavar="DIR", help=ROOT_HELP)
        return sp

    def wait_timeout(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--timeout", type=float, default=WAIT_TIMEOUT, metavar="SECONDS",
                        help=f"how long to wait (default {WAIT_TIMEOUT:g})")  # fmt: skip

    add("service", cmd_service)
    add("ctl", cmd_ctl).add_argument("args", nargs=argparse.REMAINDER)
    sp = add("print", cmd_print)
    sp.add_argument("file")
    sp.add_argument("-P", "--printer", required=True)
    sp.add_argument("-U", "--user", default=getpass.getuser())
    sp.add_argument("--format", default=None, help="document-format (default: from the name)")
    sp.add_argument("--wait", action="store_true", help="until the job is printed, or says why not")
    wait_timeout(sp)
    sp = add("jobs", cmd_jobs)
    sp.add_argument("--all", action="store_true")
    sp.add_argument("--trace", metavar="JOB", help=f"what happened to job JOB: {JOB_HELP}")
    sp = add("printer", cmd_printer)
    sp.add_argument("action", choices=["reset", "forget-certificate"])
    sp.add_argument("name", help="a printer's name (forget-certificate: or HOST:PORT)")
    sp = add("release", cmd_release)
    sp.add_argument("job", help=JOB_HELP)
    sp.add_argument("-P", "--printer", required=True)
    for name, func in (("login", cmd_login), ("logout", cmd_logout)):
        sp = add(name, func)
        if name == "login":
            sp.add_argument("user", nargs="?", help="the server user to print as (custom)")
            sp.add_argument("--password-stdin", action="store_true")
        sp.add_argument("--os-user", default=getpass.getuser(), help="default: you")
    sp = add("sync", cmd_sync)
    sp.add_argument("--wait", action="store_true", help="until it is done, naming the printers")
    wait_timeout(sp)
    sp = add("status", cmd_status)
    sp.add_argument("--wait", metavar="STATE", help="until the channel is STATE, e.g. online")
    wait_timeout(sp)
    sp = add("virtual-printer", cmd_virtual_printer)
    sp.add_argument("--port", type=int, required=True)
    sp.add_argument("--dir", required=True)
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--rate", type=int, default=0, help="bytes per second (0 = unlimited)")
    add("tray", cmd_tray)
    add("demo", cmd_demo)
    sp = add("install", cmd_install)
    sp.add_argument("--mode", choices=["local", "gateway", "hybrid"], default="local")
    sp.add_argument("--server", help="server URL (needed for gateway and hybrid)")
    sp.add_argument("--secondary-server")
    sp.add_argument("--ca-file", help="CA certificate to trust for the server")
    sp.add_argument("--root", default="/", help="install below this directory (tests, images)")
    sp.add_argument("--force", action="store_true", help="replace a different existing config")
    sp = add("uninstall", cmd_uninstall)
    sp.add_argument("--root", default="/")
    sp.add_argument("--purge", action="store_true", help="also remove state (jobs) and logs")
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if args.command in WITHOUT_SETTINGS:
        sys.exit(args.func(args, Settings.model_construct()))
    use_root(args.root)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"pullprint: {exc}", file=sys.stderr)
        sys.exit(2)
    sys.exit(args.func(args, settings))


if __name__ == "__main__":
    main()
