"""Commands about jobs: print (like lp), jobs (with --trace), printer (reset,
forget-certificate), release."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from cli.certificates import forget_certificate
from cli.ipp_client import IppRequestFailed, print_file
from cli.status import wake
from cli.waits import poll
from protocol.states import TERMINAL, JobState
from services.core import audit, ipp, jobs
from services.core.config import Settings
from services.core.logs import printable
from services.core.store import Job, Printer, Store

# How a person names a job on the command line: either id ``pullprint jobs`` lists.
JOB_HELP = "its IPP job-id (the number lp and pullprint print showed) or its uuid"


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
    status = status_keyword(reply.code)
    if reply.code >= 0x0400:
        message = reply.operation.get("status-message", "")
        print(f"pullprint: {args.printer} refused the job: {status} {message}", file=sys.stderr)
        return 1
    job = reply.group(ipp.Tag.JOB)
    job_id = job.get("job-id") if job else "?"
    state = JobState(job.get("job-state")).keyword if job else "?"
    print(f"job {job_id} stored on {args.printer} ({state})")
    if args.wait and isinstance(job_id, int):
        return wait_printed(Store(settings.db_path), job_id, args.timeout)
    return 0


def wait_printed(store: Store, job_id: int, timeout: float) -> int:
    """``print --wait``: 0 once the job is printed; 1 when it ended otherwise or still waits
    at the timeout, saying why (the printer's or the server's reason)."""

    def ended() -> bool:
        with store.session() as session:
            job = session.get(Job, job_id)
            return job is None or job.state in TERMINAL

    in_time = poll(ended, timeout) is not None
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


def find_job(session: Session, job: str) -> Job | None:
    """The job named by its IPP job-id (all digits: the number lp showed) or by its uuid (the
    id the facade, the logs and the server use; never all digits, so the two cannot clash)."""
    job = str(job).strip()
    if job.isascii() and job.isdigit():
        return session.get(Job, int(job)) if len(job) <= 18 else None
    return session.scalars(select(Job).where(Job.uuid == job)).one_or_none()


def cmd_jobs(args: argparse.Namespace, settings: Settings) -> int:
    """List jobs from the store, newest last (all states with --all), by IPP job-id and uuid;
    --trace JOB shows what happened to one job."""
    store = Store(settings.db_path)
    if args.trace is not None:
        return print_trace(store, args.trace)
    with store.session() as session:
        query = select(Job).order_by(Job.id)
        if not args.all:
            query = query.where(Job.state.not_in([int(JobState.COMPLETED)]))
        rows = list(session.scalars(query))
    print(
        f"{'ID':>5}  {'UUID':<36}  {'PRINTER':<16} {'OWNER':<12} {'STATE':<19} {'SIZE':>10}  NAME"
    )
    for job in rows:
        line = (
            f"{job.id:>5}  {job.uuid:<36}  {job.printer:<16} {printable(job.owner):<12} "
            f"{JobState(job.state).keyword:<19} {job.size:>10}  {printable(job.name)}"
        )
        if job.state_message:
            line += f"  ({job.state_message})"
        print(line)
    return 0


def print_trace(store: Store, name: str) -> int:
    with store.session() as session:
        job = find_job(session, name)
        if job is None:
            print(f"pullprint: no job {name}", file=sys.stderr)
            return 1
        events = jobs.trace(session, job.id)
    state = JobState(job.state).keyword
    print(f"job {job.id} {job.name!r} of {job.owner} on {job.printer}: {state}")
    print(f"  uuid {job.uuid} (its id in the facade, the logs and on the server)")
    for e in events:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.at))
        print(f"  {stamp}.{int(e.at % 1 * 1000):03d}  {e.event:<15} {e.detail}")
    if not events:
        print("  (no trace: the job is older than the trace)")
    return 0


def cmd_printer(args: argparse.Namespace, settings: Settings) -> int:
    """Operate one printer: ``reset NAME`` retries its stuck jobs now (no process restarts);
    ``forget-certificate NAME|HOST:PORT`` accepts an IPPS printer's new certificate (root)."""
    if getattr(args, "action", "reset") == "forget-certificate":
        return forget_certificate(args, settings)
    store = Store(settings.db_path)
    with store.session() as session:
        if session.get(Printer, args.name) is None and not jobs.stopped_at(session, args.name):
            print(f"pullprint: no printer {args.name}", file=sys.stderr)
            return 1
        retried = jobs.reset_printer(session, args.name, getpass.getuser())
        detail = f"{len(retried)} stuck job(s) retried now"
        audit.record(session, getpass.getuser(), "printer.reset", "cli", args.name, detail)
        session.commit()
    wake(settings, "delivery")
    print(f"printer {args.name} reset; {len(retried)} job(s) retried now")
    return 0


def cmd_release(args: argparse.Namespace, settings: Settings) -> int:
    """Release a held job to a configured printer (serverless sites; with a server, users
    release at the printer)."""
    store = Store(settings.db_path)
    with store.session() as session:
        job = find_job(session, args.job)
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
            # What it can do, so delivery tells it the job's options (or says it could not).
            "capabilities": printer.capabilities,
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
        audit.record(session, getpass.getuser(), "job.release", "cli", job.uuid, detail)
        released = f"job {job.id} ({job.uuid})"
        session.commit()
    wake(settings, "delivery")
    print(f"{released} released to {args.printer}")
    return 0


def status_keyword(code: int) -> str:
    try:
        return ipp.Status(code).keyword
    except ValueError:
        return f"status {code:#06x}"
