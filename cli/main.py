"""The ``pullprint`` command. Each subcommand is one function; its docstring is its help."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import zmq.asyncio
from sqlalchemy import select

from cli.ipp_client import IppRequestFailed, print_file
from protocol.states import TERMINAL, JobState
from services.core import audit, endpoint, ipp, jobs, proxy, users
from services.core.bus import RequestFailed, request
from services.core.config import CONFIG_ENV, ROOT_ENV, ConfigError, Settings, load_settings
from services.core.messages import Message, StatusRequest, WakeRequest
from services.core.store import Job, Printer, Store

SOURCE_ROOT = Path(__file__).resolve().parents[2]
SUPERVISORD_CONF = SOURCE_ROOT / "deploy" / "supervisord.conf"
# How long --wait (status, print) and sync wait by default: a channel registers, a sync or a
# small job completes in seconds; a minute says something is wrong, and why.
WAIT_TIMEOUT = 60.0


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


def cmd_print(args: argparse.Namespace, settings: Settings) -> int:
    """Print a file to one of our printers, like lp (IPP Print-Job to the spooler)."""
    path = Path(args.file)
    if not path.is_file():
        print(f"pullprint: {path}: no such file", file=sys.stderr)
        return 1
    uri = f"ipp://127.0.0.1:{settings.spooler_port}/printers/{args.printer}"
    try:
        reply = print_file(uri, path, user=args.user, document_format=args.format)
    except IppRequestFailed as exc:
        print(f"pullprint: {exc}", file=sys.stderr)
        return 1
    status = _status_keyword(reply.code)
    if reply.code >= 0x0400:
        message = reply.operation.get("status-message", "")
        print(f"pullprint: {args.printer} refused the job: {status} {message}", file=sys.stderr)
        return 1
    job = reply.group(ipp.Tag.JOB)
    job_id = job.get("job-id") if job else "?"
    state = JobState(job.get("job-state")).keyword if job else "?"
    print(f"job {job_id} stored on {args.printer} ({state})")
    if args.wait and isinstance(job_id, int):
        return _wait_printed(Store(settings.db_path), job_id, args.timeout)
    return 0


def _wait_printed(store: Store, job_id: int, timeout: float) -> int:
    """``print --wait``: 0 once the job is printed; 1 when it ended otherwise or still waits
    at the timeout, saying why (the printer's or the server's reason)."""

    def ended() -> bool:
        with store.session() as session:
            job = session.get(Job, job_id)
            return job is None or job.state in TERMINAL

    in_time = _poll(ended, timeout) is not None
    with store.session() as session:
        job = session.get(Job, job_id)
        # Where and how it went, as its trace says ("printed at lobby (raw host:port) ...").
        delivered = [e.detail for e in jobs.trace(session, job_id) if e.event == "delivered"]
    if job is not None and job.state == JobState.COMPLETED:
        print(f"job {job_id} {delivered[-1] if delivered else 'completed'}")
        return 0
    state = JobState(job.state).keyword if job else "gone"
    state = state if in_time else f"still {state} after {timeout:g} s"
    why = f": {job.state_message}" if job and job.state_message else ""
    print(f"pullprint: job {job_id} is {state}{why}", file=sys.stderr)
    return 1


def _poll(condition: Callable[[], object], timeout: float) -> Any:
    """What ``condition`` returns once it is truthy, or None after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.25)
    return result


def cmd_jobs(args: argparse.Namespace, settings: Settings) -> int:
    """List jobs from the store, newest last (all states with --all); --trace ID shows what
    happened to one job."""
    store = Store(settings.db_path)
    if args.trace is not None:
        return _print_trace(store, args.trace)
    with store.session() as session:
        query = select(Job).order_by(Job.id)
        if not args.all:
            query = query.where(Job.state.not_in([int(JobState.COMPLETED)]))
        rows = list(session.scalars(query))
    print(f"{'ID':>5}  {'PRINTER':<16} {'OWNER':<12} {'STATE':<19} {'SIZE':>10}  NAME")
    for job in rows:
        line = (
            f"{job.id:>5}  {job.printer:<16} {job.owner:<12} "
            f"{JobState(job.state).keyword:<19} {job.size:>10}  {job.name}"
        )
        if job.state_message:
            line += f"  ({job.state_message})"
        print(line)
    return 0


def _print_trace(store: Store, job_id: int) -> int:
    with store.session() as session:
        job = session.get(Job, job_id)
        if job is None:
            print(f"pullprint: no job {job_id}", file=sys.stderr)
            return 1
        events = jobs.trace(session, job_id)
    state = JobState(job.state).keyword
    print(f"job {job.id} {job.name!r} of {job.owner} on {job.printer}: {state}")
    for e in events:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.at))
        print(f"  {stamp}.{int(e.at % 1 * 1000):03d}  {e.event:<15} {e.detail}")
    if not events:
        print("  (no trace: the job is older than the trace)")
    return 0


def cmd_printer(args: argparse.Namespace, settings: Settings) -> int:
    """Operate one printer: ``reset NAME`` retries its stuck jobs now (no process restarts)."""
    store = Store(settings.db_path)
    with store.session() as session:
        if session.get(Printer, args.name) is None and not jobs.stopped_at(session, args.name):
            print(f"pullprint: no printer {args.name}", file=sys.stderr)
            return 1
        retried = jobs.reset_printer(session, args.name, getpass.getuser())
        detail = f"{len(retried)} stuck job(s) retried now"
        audit.record(session, getpass.getuser(), "printer.reset", "cli", args.name, detail)
        session.commit()
    _wake(settings, "delivery")
    print(f"printer {args.name} reset; {len(retried)} job(s) retried now")
    return 0


def cmd_release(args: argparse.Namespace, settings: Settings) -> int:
    """Release a held job to a configured printer (serverless sites; with a server, users
    release at the printer)."""
    store = Store(settings.db_path)
    with store.session() as session:
        job = session.get(Job, args.job)
        printer = session.get(Printer, args.printer)
        if job is None:
            print(f"pullprint: no job {args.job}", file=sys.stderr)
            return 1
        if printer is None or printer.kind != "direct":
            print(f"pullprint: {args.printer} is not a configured direct printer", file=sys.stderr)
            return 1
        if job.state != JobState.PENDING_HELD or job.state_reasons == jobs.INCOMING:
            print(
                f"pullprint: job {job.id} is {JobState(job.state).keyword}, not held",
                file=sys.stderr,
            )
            return 1
        target = {
            "name": printer.name,
            "host": printer.host,
            "port": printer.port,
            "protocol": printer.protocol,
            "path": printer.path,
        }
        jobs.transition(
            session,
            job.id,
            JobState.PENDING_HELD,
            JobState.PENDING,
            message=f"released at {printer.name}",
            detail=f"at printer {printer.name} by {getpass.getuser()} (pullprint release)",
            target=json.dumps(target),
        )
        detail = f"at printer {printer.name} for {job.owner}"
        audit.record(session, getpass.getuser(), "job.release", "cli", str(job.id), detail)
        session.commit()
    _wake(settings, "delivery")
    print(f"job {args.job} released to {args.printer}")
    return 0


def cmd_login(args: argparse.Namespace, settings: Settings) -> int:
    """Log in: with custom login print as a server USER (asks for the password); with os login
    bring back the printers a logout removed."""
    store = Store(settings.db_path)
    if settings.login_type == "custom":
        if not args.user or not settings.server_url:
            print("pullprint: custom login needs a server_url and a USER", file=sys.stderr)
            return 1
        stdin = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
        error = _check_password(settings, args.user, stdin or getpass.getpass())
        if error:
            print(f"pullprint: {error}", file=sys.stderr)
            return 1
    detail = f"{args.os_user} prints as {args.user}" if args.user else "os login"
    row = audit.Entry(getpass.getuser(), "user.login", "cli", args.user or args.os_user, detail)
    users.log_in(store, settings.login_type, args.os_user, args.user, row)
    _wake(settings, "spooler")
    _wake(settings, "sync")
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
    _wake(settings, "spooler")
    _wake(settings, "sync")
    print(f"OS user {args.os_user} logged out" + ("; printers removed" if gone else ""))
    return 0


def _check_password(settings: Settings, user: str, password: str) -> str | None:
    """None when the server accepts the password, else what went wrong."""
    url = f"{(settings.server_url or '').rstrip('/')}/api/v1/login"
    try:
        reply = httpx.post(
            url,
            json={"user": user, "password": password},
            verify=endpoint.tls_context(settings.ca_file),
            timeout=30,
            **proxy.httpx_options(url, settings.proxy),
        )
    except httpx.HTTPError as exc:
        return f"the server is not reachable: {exc}"
    if reply.status_code != 200:
        return f"login refused: {_error_message(reply)}"
    return None


def _error_message(reply: httpx.Response) -> str:
    try:
        return str(reply.json()["detail"]["message"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {reply.status_code}"


def _ask(settings: Settings, service: str, message: Message) -> dict[str, Any] | None:
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


def _wake(settings: Settings, service: str) -> bool:
    """Tell a running service to look at the store now; it also does on its own timer."""
    if _ask(settings, service, WakeRequest()) is None:
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
    answered = _wake(settings, "sync")
    if not args.wait:
        print("sync requested")
        return 0
    if not answered:
        return 1

    def finished() -> dict[str, Any] | None:
        # A run that was under way when we asked also ends after `asked`; it read the server
        # after the channel came online, which is what a caller waits for.
        answer = _ask(settings, "sync", StatusRequest()) or {}
        done = answer.get("state") in ("ok", "failed") and (answer.get("last_sync") or 0) >= asked
        return answer if done else None

    answer = _poll(finished, args.timeout)
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
        status = _get_status(url)
        return status if isinstance(status, dict) and _channel(status) == wanted else None

    status = _poll(reached, args.timeout) if wanted else None
    status = status or _get_status(url)
    if isinstance(status, str):
        print(f"pullprint: the service is not reachable at {url}: {status}", file=sys.stderr)
        return 1
    print(f"pullprint {status['version']}  mode={status['mode']}  ok={status['ok']}")
    for name, answer in status["services"].items():
        extra = answer.get("reason", "")
        print(f"  {name:<9} {answer.get('state', '?'):<12} {extra}")
    if wanted and _channel(status) != wanted:
        print(f"pullprint: the channel is not {wanted} after {args.timeout:g} s", file=sys.stderr)
        return 1
    return 0 if status["ok"] else 1


def _get_status(url: str) -> dict[str, Any] | str:
    """The facade's ``GET /status``, or why it did not answer."""
    try:
        # The facade is on loopback: never through an HTTP_PROXY from the environment.
        return dict(httpx.get(url, timeout=5, trust_env=False).json())
    except (httpx.HTTPError, ValueError) as exc:
        return str(exc) or exc.__class__.__name__


def _channel(status: dict[str, Any]) -> str:
    return str(status.get("channel", {}).get("state", ""))


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


def _status_keyword(code: int) -> str:
    try:
        return ipp.Status(code).keyword
    except ValueError:
        return f"status {code:#06x}"


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
    sp.add_argument("--trace", type=int, metavar="ID", help="what happened to job ID")
    sp = add("printer", cmd_printer)
    sp.add_argument("action", choices=["reset"])
    sp.add_argument("name")
    sp = add("release", cmd_release)
    sp.add_argument("job", type=int)
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
