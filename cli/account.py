"""Commands about who prints: login (custom login) and logout."""

from __future__ import annotations

import argparse
import getpass
import sys

import httpx

from cli.status import wake
from services.core import audit, endpoint, proxy, reach, users
from services.core.config import Settings
from services.core.store import Store


def cmd_login(args: argparse.Namespace, settings: Settings) -> int:
    """Log in: with custom login print as a server USER (asks for the password); with os login
    bring back the printers a logout removed."""
    store = Store(settings.db_path)
    if settings.login_type == "os" and args.user:
        print(
            f"pullprint: this machine uses os login: {args.os_user} prints as {args.os_user}, "
            f"never as another name; run `pullprint login` without {args.user!r} to bring "
            "the printers back after a logout",
            file=sys.stderr,
        )
        return 1
    if settings.login_type == "custom":
        if not args.user or not settings.server:
            print("pullprint: custom login needs a server (servers) and a USER", file=sys.stderr)
            return 1
        stdin = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
        error = check_password(settings, args.user, stdin or getpass.getpass())
        if error:
            print(f"pullprint: {error}", file=sys.stderr)
            return 1
    detail = f"{args.os_user} prints as {args.user}" if args.user else "os login"
    row = audit.Entry(getpass.getuser(), "user.login", "cli", args.user or args.os_user, detail)
    users.log_in(store, settings.login_type, args.os_user, args.user, row)
    wake(settings, "spooler")
    wake(settings, "sync")
    who = f" as {args.user}" if settings.login_type == "custom" else ""
    print(f"OS user {args.os_user} logged in{who}")
    return 0


def cmd_logout(args: argparse.Namespace, settings: Settings) -> int:
    """Log out; when nobody is left logged in, the server's printers and their queues are
    removed from this machine (stored jobs stay) until the next login."""
    store = Store(settings.db_path)
    if settings.login_type == "custom" and args.os_user not in users.load_map(store):
        print(f"pullprint: {args.os_user} is not logged in", file=sys.stderr)
        return 1
    row = audit.Entry(getpass.getuser(), "user.logout", "cli", args.os_user)
    gone = users.log_out(store, settings.login_type, args.os_user, row)
    wake(settings, "spooler")
    wake(settings, "sync")
    print(f"OS user {args.os_user} logged out" + ("; printers removed" if gone else ""))
    return 0


def check_password(settings: Settings, user: str, password: str) -> str | None:
    """None when the server accepts the password, else what went wrong."""
    url = f"{(settings.server or '').rstrip('/')}/api/v1/login"
    try:
        reply = httpx.post(
            url,
            json={"user": user, "password": password},
            verify=endpoint.tls_context(settings.ca_file),
            timeout=30,
            **proxy.httpx_options(url, settings.proxy),
        )
    except httpx.HTTPError as exc:
        return reach.failure_at(settings.server or url, exc, settings.ca_file)
    if reply.status_code != 200:
        return f"login refused: {error_message(reply)}"
    return None


def error_message(reply: httpx.Response) -> str:
    try:
        return str(reply.json()["detail"]["message"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {reply.status_code}"
