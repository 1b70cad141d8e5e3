"""Commands that ask the running service: status (with --wait) and sync (with --wait)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

import httpx
import zmq.asyncio
from sqlalchemy import select

from cli.waits import poll
from services.core.bus import RequestFailed, request
from services.core.config import Settings
from services.core.messages import Message, StatusRequest, WakeRequest
from services.core.store import Printer, Store


def ask(settings: Settings, service: str, message: Message) -> dict[str, Any] | None:
    """One request to a running service over the bus; None when it does not answer."""

    async def ask() -> dict[str, Any]:
        ctx = zmq.asyncio.Context()
        try:
            return await request(ctx, settings.run_dir, service, message, src="cli", timeout=1)
        finally:
            ctx.term()

    try:
        return asyncio.run(ask())
    except RequestFailed:
        return None


def wake(settings: Settings, service: str) -> bool:
    """Tell a running service to look at the store now; it also does on its own timer."""
    if ask(settings, service, WakeRequest()) is None:
        print(
            f"pullprint: {service} did not answer; it will pick the change up on its own",
            file=sys.stderr,
        )
        return False
    return True


def cmd_sync(args: argparse.Namespace, settings: Settings) -> int:
    """Synchronize printers now (sync.now); with --wait, wait for that sync (up to --timeout)
    and say which printers this machine serves, or why the sync failed."""
    asked = time.time()
    answered = wake(settings, "sync")
    if not args.wait:
        print("sync requested")
        return 0
    if not answered:
        return 1

    def finished() -> dict[str, Any] | None:
        # A run that was under way when we asked also ends after `asked`; it read the server
        # after the channel came online, which is what a caller waits for.
        answer = ask(settings, "sync", StatusRequest()) or {}
        done = answer.get("state") in ("ok", "failed") and (answer.get("last_sync") or 0) >= asked
        return answer if done else None

    answer = poll(finished, args.timeout)
    if answer is None:
        print(f"pullprint: no sync finished within {args.timeout:g} s", file=sys.stderr)
        return 1
    if answer["state"] == "failed":
        print(f"pullprint: sync failed: {answer.get('reason', '')}", file=sys.stderr)
        return 1
    with Store(settings.db_path).session() as session:
        names = list(session.scalars(select(Printer.name).order_by(Printer.name)))
    print(f"synchronized; printers: {', '.join(names) or 'none'}")
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    """Show the health of every service process, from the facade; with --wait STATE, once
    the channel is in STATE (online, waiting-authorization, ...) or --timeout passed."""
    url = f"http://127.0.0.1:{settings.api_port}/status"
    wanted = args.wait

    def reached() -> dict[str, Any] | None:
        status = get_status(url)
        return status if isinstance(status, dict) and channel_state(status) == wanted else None

    status = poll(reached, args.timeout) if wanted else None
    status = status or get_status(url)
    if isinstance(status, str):
        print(f"pullprint: the service is not reachable at {url}: {status}", file=sys.stderr)
        return 1
    print(f"pullprint {status['version']}  mode={status['mode']}  ok={status['ok']}")
    for name, answer in status["services"].items():
        extra = answer.get("reason", "")
        print(f"  {name:<9} {answer.get('state', '?'):<12} {extra}")
    for problem in status.get("problems", []):
        print(f"  not ok: {problem}")
    if wanted and channel_state(status) != wanted:
        print(f"pullprint: the channel is not {wanted} after {args.timeout:g} s", file=sys.stderr)
        return 1
    # --wait asked for one state, and it came (a machine waiting for authorization is not
    # "ok", yet that is what the caller waited for); without it, the answer is "ok".
    return 0 if wanted or status["ok"] else 1


def get_status(url: str) -> dict[str, Any] | str:
    """The facade's ``GET /status``, or why it did not answer."""
    try:
        # The facade is on loopback: never through an HTTP_PROXY from the environment.
        return dict(httpx.get(url, timeout=5, trust_env=False).json())
    except (httpx.HTTPError, ValueError) as exc:
        return str(exc) or exc.__class__.__name__


def channel_state(status: dict[str, Any]) -> str:
    return str(status.get("channel", {}).get("state", ""))
