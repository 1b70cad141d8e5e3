"""``pullprint printer forget-certificate NAME|HOST:PORT``: accept an IPPS printer's new
certificate by forgetting the pinned one (services/core/pinning.py).

Only root: which certificate is the printer's decides who gets every job printed there. The
pin's removal is audited with the fingerprint it had, in the same transaction; the jobs that
waited for that printer are tried at once, and their next connection pins the certificate the
printer shows then.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from cli.status import wake
from protocol.states import JobState
from services.core import audit, jobs, pinning
from services.core.config import Settings
from services.core.store import Job, Printer, Store


def forget_certificate(args: argparse.Namespace, settings: Settings) -> int:
    """Forget the pinned certificate of a printer (its name, or HOST:PORT as the job's message
    says); its waiting jobs go out, pinning the certificate it shows now."""
    if os.geteuid() != 0:
        print("pullprint: only root may forget a printer's certificate", file=sys.stderr)
        return 1
    store = Store(settings.db_path)
    who = getpass.getuser()
    with store.session() as session:
        addresses = _addresses(session, args.name)
        if addresses is None:
            print(f"pullprint: no printer {args.name} (give NAME or HOST:PORT)", file=sys.stderr)
            return 1
        forgotten = [(a, p) for a in addresses if (p := pinning.forget(session, a)) is not None]
        if not forgotten:
            print(f"pullprint: no certificate is pinned for {args.name}", file=sys.stderr)
            return 1
        host = forgotten[0][0].rpartition(":")[0]
        detail = f"certificate of {args.name} forgotten by {who}: retrying now"
        waiting = _waiting_for(session, host)
        retried = [
            j for j in waiting if jobs.retry_now(session, j, "certificate-forgotten", detail)
        ]
        for address, pin in forgotten:
            what = f"sha256 {pin.sha256}; {len(retried)} job(s) retried"
            audit.record(session, who, "printer.forget_certificate", "cli", address, what)
        session.commit()
    wake(settings, "delivery")
    for address, pin in forgotten:
        print(f"forgot the certificate of {address} (sha256 {pinning.short(pin.sha256)})")
    print(f"the next connection pins the one it shows; {len(retried)} job(s) retried now")
    return 0


def _addresses(session: Session, name: str) -> list[str] | None:
    """The pinned addresses NAME means: HOST:PORT itself, or every pin of a printer's host (a
    printer that offers IPPS on another port than its IPP one is pinned there). None when
    NAME is neither."""
    printer = session.get(Printer, name)
    if printer is not None:
        return pinning.pinned_at(session, printer.host)
    host, _, port = name.rpartition(":")
    if host and port.isdigit():
        return [name]
    return None


def _waiting_for(session: Session, host: str) -> list[int]:
    """The processing-stopped jobs whose printer is on ``host``: a direct port's own, or the
    printer a pull job was released at."""
    target_host = func.json_extract(Job.target, "$.host")
    query = (
        select(Job.id)
        .join(Printer, Printer.name == Job.printer)
        .where(Job.state == int(JobState.PROCESSING_STOPPED))
        .where(or_(target_host == host, (Job.target.is_(None)) & (Printer.host == host)))
        .order_by(Job.id)
    )
    return list(session.scalars(query))
