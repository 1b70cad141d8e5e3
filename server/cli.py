"""`pullprint-server run ...` and `pullprint-server admin ...`.

Admin commands work directly on the database (the same functions the admin REST API uses), so
they also work while the server is stopped; a running server picks their effects up on its
next channel tick (printers.changed, revocations). Results are printed as JSON.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from server import admin, auth, logs
from server.store import Store, default_url


def _run(args: argparse.Namespace) -> int:
    """Serve HTTPS (REST, channel, pages) and the TLS gateway until SIGTERM/SIGINT."""
    from server import app, tls
    from server.gateway import Limits
    from server.output import RetryPolicy

    if args.dev_tls:
        cert, key = tls.dev_certificate(args.data, args.host)
    elif args.cert and args.key:
        cert, key = args.cert, args.key
    else:
        print("error: give --cert and --key, or --dev-tls", file=sys.stderr)
        return 2
    opts = app.RunOptions(
        data_dir=args.data,
        cert=cert,
        key=key,
        host=args.host,
        http_port=args.http_port,
        gateway_port=args.gateway_port,
        db_url=args.db,
        heartbeat=args.heartbeat,
        output_poll=args.output_poll,
        expiry_interval=args.expiry_interval,
        limits=Limits(header_timeout=args.header_timeout, read_timeout=args.read_timeout),
        retry=RetryPolicy(initial=args.retry_initial, max_attempts=args.retry_attempts),
    )
    app.run(opts)
    return 0


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if args.password is not None:
        return args.password
    return getpass.getpass(f"Password for {args.name}: ")


ADMIN_COMMANDS: dict[tuple[str, str], Callable[[Any, argparse.Namespace], Any]] = {
    ("user", "add"): lambda s, a: admin.add_user(s, a.name, _password(a)),
    ("user", "list"): lambda s, a: admin.list_users(s),
    ("printer", "add"): lambda s, a: admin.add_printer(
        s, a.name, a.host, a.port, a.protocol, a.path
    ),
    ("printer", "list"): lambda s, a: admin.list_printers(s),
    ("port", "add"): lambda s, a: admin.add_port(s, a.name, a.kind, a.printer),
    ("port", "list"): lambda s, a: [p.model_dump() for p in admin.list_ports(s)],
    ("endpoint", "list"): lambda s, a: admin.list_endpoints(s),
    ("endpoint", "authorize"): lambda s, a: admin.authorize_endpoint(s, a.id),
    ("endpoint", "revoke"): lambda s, a: admin.revoke_endpoint(s, a.id),
    ("setting", "list"): lambda s, a: admin.get_settings(s),
    ("setting", "set"): lambda s, a: admin.set_setting(s, a.key, json.loads(a.value)),
}


def _admin(args: argparse.Namespace) -> int:
    """Run one admin operation in one transaction and print its result as JSON."""
    if args.object == "token":
        print(auth.admin_token(args.data))
        return 0
    store = Store(args.db or default_url(args.data))
    try:
        store.migrate()
        with store.session() as session:
            result = ADMIN_COMMANDS[(args.object, args.action)](session, args)
    except admin.AdminError as exc:
        print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    except json.JSONDecodeError as exc:
        print(f"error: value is not JSON: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    print(json.dumps(result, indent=2))
    return 0


def _run_parser(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help=_run.__doc__, description=_run.__doc__)
    run.add_argument("--host", default="127.0.0.1", help="listen address (default loopback)")
    run.add_argument("--http-port", type=int, default=8443)
    run.add_argument("--gateway-port", type=int, default=7300)
    run.add_argument("--cert", type=Path, help="PEM certificate chain")
    run.add_argument("--key", type=Path, help="PEM private key")
    run.add_argument("--dev-tls", action="store_true", help="self-signed pair under DIR/tls")
    tuning = run.add_argument_group("tuning (defaults suit production; tests shorten them)")
    tuning.add_argument("--heartbeat", type=float, default=10.0, help="channel heartbeat, s")
    tuning.add_argument("--header-timeout", type=float, default=10.0, help="gateway header, s")
    tuning.add_argument("--read-timeout", type=float, default=30.0, help="gateway body stall, s")
    tuning.add_argument("--retry-initial", type=float, default=1.0, help="output backoff, s")
    tuning.add_argument("--retry-attempts", type=int, default=10, help="output attempts")
    tuning.add_argument("--output-poll", type=float, default=1.0, help="output rescan, s")
    tuning.add_argument("--expiry-interval", type=float, default=60.0, help="held-job expiry, s")
    run.set_defaults(func=_run)


def _admin_parser(sub: argparse._SubParsersAction) -> None:
    adm = sub.add_parser("admin", help="users, printers, input ports, endpoints, settings")
    objects = adm.add_subparsers(dest="object", required=True)
    objects.add_parser("token", help="print the admin token for the REST API")
    user = objects.add_parser("user").add_subparsers(dest="action", required=True)
    add = user.add_parser("add", help="create a user (password prompted unless given)")
    add.add_argument("name")
    add.add_argument("--password", help="visible in the process list; prefer the prompt")
    add.add_argument("--password-stdin", action="store_true", help="read it from stdin")
    user.add_parser("list")
    printer = objects.add_parser("printer").add_subparsers(dest="action", required=True)
    add = printer.add_parser("add", help="a printer Document Output and endpoints can use")
    add.add_argument("name")
    add.add_argument("--host", required=True)
    add.add_argument("--port", type=int, required=True)
    add.add_argument("--protocol", choices=["raw", "ipp"], required=True)
    add.add_argument("--path", default="", help="IPP resource, e.g. /ipp/print")
    printer.add_parser("list")
    port = objects.add_parser("port").add_subparsers(dest="action", required=True)
    add = port.add_parser("add", help="an input port; pull: --printer may repeat (none = any)")
    add.add_argument("name")
    add.add_argument("--kind", choices=["pull", "direct"], required=True)
    add.add_argument("--printer", action="append", default=[], help="printer name")
    port.add_parser("list")
    endpoint = objects.add_parser("endpoint").add_subparsers(dest="action", required=True)
    endpoint.add_parser("list")
    for action in ("authorize", "revoke"):
        endpoint.add_parser(action).add_argument("id", type=int)
    setting = objects.add_parser("setting").add_subparsers(dest="action", required=True)
    setting.add_parser("list")
    set_ = setting.add_parser("set", help="VALUE is JSON, e.g. 3600 or '\"text\"'")
    set_.add_argument("key")
    set_.add_argument("value")
    adm.set_defaults(func=_admin, action=None)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="pullprint-server", description=__doc__)
    top.add_argument("--log-level", default="INFO")
    sub = top.add_subparsers(dest="command", required=True)
    _run_parser(sub)
    _admin_parser(sub)
    for name in ("run", "admin"):
        sub.choices[name].add_argument("--data", type=Path, required=True, help="data dir")
        sub.choices[name].add_argument("--db", help="database URL (default SQLite in DIR)")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logs.setup(args.log_level)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
