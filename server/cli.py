"""`pullprint-server run ...` (this module) and `pullprint-server admin ...` (admin_cli.py).

Admin commands work directly on the database, so they also work while the server is stopped.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from server import admin_cli, logs
from server.documents import KINDS
from server.logs import event

if TYPE_CHECKING:  # imported where used: `admin` commands need none of the web server
    from server.throttle import ThrottlePolicy
    from server.tokens import TokenPolicy


def _run(args: argparse.Namespace) -> int:
    """Serve HTTPS (REST, channel, pages) and the TLS gateway until SIGTERM/SIGINT."""
    from protocol.http_limits import HttpLimits
    from server import app, tls
    from server.gateway import Limits
    from server.output import RetryPolicy

    if args.dev_tls:
        cert, key = tls.dev_certificate(args.data, args.host)
        # Nothing else tells an admin which file their clients must trust.
        hint = "self-signed: clients need this file as ca_file (pullprint install --ca-file)"
        event("server.dev_tls", certificate=cert.resolve(), clients=hint)
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
        documents=args.documents,
        heartbeat=args.heartbeat,
        presence_lease=args.presence_lease,
        output_poll=args.output_poll,
        expiry_interval=args.expiry_interval,
        limits=Limits(header_timeout=args.header_timeout, read_timeout=args.read_timeout),
        http=HttpLimits(
            header_timeout=args.http_header_timeout,
            body_timeout=args.http_body_timeout,
            idle_timeout=args.http_idle_timeout,
            max_connections=args.max_connections,
        ),
        gateway_max_connections=args.gateway_max_connections,
        retry=RetryPolicy(initial=args.retry_initial, max_attempts=args.retry_attempts),
        tokens=_token_policy(args),
        throttle=_throttle_policy(args),
    )
    app.run(opts)
    return 0


def _token_policy(args: argparse.Namespace) -> TokenPolicy:
    from server.tokens import TokenPolicy

    return TokenPolicy(
        access_ttl=args.access_token_ttl,
        refresh_ttl=args.refresh_token_ttl,
        refresh_grace=args.refresh_grace,
        user_access_ttl=args.user_access_token_ttl,
        user_refresh_ttl=args.user_refresh_token_ttl,
        pending_ttl=args.pending_registration_ttl,
        admin_session_ttl=args.admin_session_ttl,
    )


def _throttle_policy(args: argparse.Namespace) -> ThrottlePolicy:
    from server.throttle import ThrottlePolicy

    return ThrottlePolicy(
        login_user_failures=args.login_user_failures,
        login_address_failures=args.login_address_failures,
        login_window=args.login_window,
        registrations=args.registrations_per_address,
        registration_window=args.registration_window,
    )


def _limit_arguments(run: argparse.ArgumentParser) -> None:
    """Rate limits and lifetimes against guessing and junk (issue 19, findings 8, 9, 11)."""
    limits = run.add_argument_group("limits (counted in the database, across server processes)")
    limits.add_argument(
        "--login-user-failures", type=int, default=10,
        help="failed logins per user name within the login window before 429 (default 10)",
    )  # fmt: skip
    limits.add_argument(
        "--login-address-failures", type=int, default=50,
        help="failed logins (and admin page tokens) per client address in the window (50)",
    )  # fmt: skip
    limits.add_argument("--login-window", type=float, default=900.0, help="seconds (15 min)")
    limits.add_argument(
        "--registrations-per-address", type=int, default=60,
        help="endpoint registrations per client address within the window (default 60)",
    )  # fmt: skip
    limits.add_argument(
        "--registration-window", type=float, default=3600.0, help="seconds (default 1 h)"
    )
    limits.add_argument(
        "--pending-registration-ttl", type=float, default=86400.0,
        help="seconds before a registration no admin authorized is deleted (default 24 h)",
    )  # fmt: skip
    limits.add_argument(
        "--admin-session-ttl", type=float, default=8 * 3600.0,
        help="seconds an admin page sign-in lasts (default 8 h)",
    )  # fmt: skip


def _positive(kind: type[int] | type[float]) -> Callable[[str], int | float]:
    """An argparse type for a limit: 0 or less would refuse or close every connection."""

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
        return value

    return parse


def _run_parser(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help=_run.__doc__, description=_run.__doc__)
    run.add_argument("--host", default="127.0.0.1", help="listen address (default loopback)")
    run.add_argument("--http-port", type=int, default=8443)
    run.add_argument("--gateway-port", type=int, default=7300)
    run.add_argument("--cert", type=Path, help="PEM certificate chain")
    run.add_argument("--key", type=Path, help="PEM private key")
    run.add_argument("--dev-tls", action="store_true", help="self-signed pair under DIR/tls")
    run.add_argument(
        "--documents", choices=KINDS, metavar="{" + ",".join(KINDS) + "}",
        help="where uploaded documents are kept: 'database' (every server process on it "
        "prints every job; the default on PostgreSQL) or 'directory' (DIR/spool, this "
        "process alone; the default on SQLite)",
    )  # fmt: skip
    run.add_argument(
        "--access-token-ttl", type=float, default=900.0,
        help="seconds an endpoint access token is valid (default 15 min)",
    )  # fmt: skip
    run.add_argument(
        "--refresh-token-ttl", type=float, default=90 * 86400.0,
        help="seconds an unused endpoint refresh token is valid (default 90 days)",
    )  # fmt: skip
    run.add_argument(
        "--refresh-grace", type=float, default=60.0,
        help="seconds a used refresh token still works, for a client whose answer was lost",
    )  # fmt: skip
    run.add_argument(
        "--user-access-token-ttl", type=float, default=900.0,
        help="seconds a user access token (login) is valid (default 15 min)",
    )  # fmt: skip
    run.add_argument(
        "--user-refresh-token-ttl", type=float, default=12 * 3600.0,
        help="seconds an unused user refresh token is valid (default 12 h; a session lasts "
        "a week at most)",
    )  # fmt: skip
    _limit_arguments(run)
    tuning = run.add_argument_group("tuning (defaults suit production; tests shorten them)")
    tuning.add_argument("--heartbeat", type=float, default=10.0, help="channel heartbeat, s")
    tuning.add_argument(
        "--presence-lease", type=_positive(float), default=30.0,
        help="s an endpoint of a killed server process may still show online (renewed "
        "every third of it; default 30)",
    )  # fmt: skip
    tuning.add_argument("--header-timeout", type=float, default=10.0, help="gateway header, s")
    tuning.add_argument("--read-timeout", type=float, default=30.0, help="gateway body stall, s")
    tuning.add_argument(
        "--http-header-timeout", type=_positive(float), default=10.0,
        help="HTTPS: a connection's request head must arrive within this, s",
    )  # fmt: skip
    tuning.add_argument(
        "--http-body-timeout", type=_positive(float), default=30.0,
        help="HTTPS: no request body may stall longer than this, s",
    )  # fmt: skip
    tuning.add_argument(
        "--http-idle-timeout", type=_positive(float), default=5.0,
        help="HTTPS: an idle kept-alive connection, or one not reading our answer, s",
    )  # fmt: skip
    tuning.add_argument(
        "--max-connections", type=_positive(int), default=4096,
        help="HTTPS connections at once, channels included; past it: 503 and close",
    )  # fmt: skip
    tuning.add_argument(
        "--gateway-max-connections", type=_positive(int), default=256,
        help="gateway uploads at once; past it: 'busy' and close",
    )  # fmt: skip
    tuning.add_argument("--retry-initial", type=float, default=1.0, help="output backoff, s")
    tuning.add_argument("--retry-attempts", type=int, default=10, help="output attempts")
    tuning.add_argument("--output-poll", type=float, default=1.0, help="output rescan, s")
    tuning.add_argument("--expiry-interval", type=float, default=60.0, help="held-job expiry, s")
    run.set_defaults(func=_run)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="pullprint-server", description=__doc__)
    top.add_argument("--log-level", default="INFO")
    sub = top.add_subparsers(dest="command", required=True)
    _run_parser(sub)
    admin_cli.add_parser(sub)
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
