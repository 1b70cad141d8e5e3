"""``GET /audit``, and what the facade's routes share to write the audit trail
(services/core/audit.py): who the caller is and where the change came from, a configuration
change described without its secrets, and the rows masked once more on the way out.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from fastapi import APIRouter, Query

from services.api import redact
from services.api.auth import AdminDep, Caller
from services.api.context import Facade, FacadeDep
from services.api.errors import responses
from services.api.models import AuditRow
from services.core import audit

router = APIRouter(tags=["audit"])
# A job's uuid, the subject of job.release and job.cancel rows: the job's id on every wire (the
# server has it too), not a secret, though it has a token's length and alphabet.
JOB_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def origin(caller: Caller) -> str:
    """Where a facade change came from: the kernel's word for the caller's uid (peer.py)."""
    return f"facade uid={caller.uid}"


def entry(caller: Caller, action: str, subject: str = "", detail: str = "") -> audit.Entry:
    return audit.Entry(caller.user, action, origin(caller), subject, detail)


def note(facade: Facade, row: audit.Entry) -> None:
    """Write one row in a transaction of its own: for what is not in the store (the
    configuration file, a login the server refused)."""
    with facade.store.session() as session:
        row.add(session)
        session.commit()


def _shown(value: Any) -> str:
    return "default" if value is None else repr(redact.value(value))


def config_detail(diff: dict[str, tuple[Any, Any]]) -> str:
    """``key: old -> new`` for each changed key; a secret key's values are never written,
    and secret-looking values (tokens, passwords in URLs) are masked as in ``GET /config``."""
    parts = []
    for key, (old, new) in sorted(diff.items()):
        if redact.is_secret_key(key):
            parts.append(f"{key}: changed ({redact.MASK})")
        else:
            parts.append(f"{key}: {_shown(old)} -> {_shown(new)}")
    return "; ".join(parts)


def masked(row: dict[str, Any]) -> dict[str, Any]:
    """A row as it may leave the machine: every text passes the redaction again (defence in
    depth: the writers never put a secret in)."""
    out = {k: _masked(v) if isinstance(v, str) else v for k, v in row.items()}
    subject = row.get("subject")
    if str(row.get("action")).startswith("job.") and JOB_UUID.fullmatch(str(subject)):
        out["subject"] = subject
    return out


def _masked(text: str) -> str:
    return redact.log_line(redact.value(text))


def rows(facade: Facade, limit: int) -> list[dict[str, Any]]:
    with facade.store.session() as session:
        return [masked(audit.as_dict(row)) for row in audit.recent(session, limit)]


@router.get("/audit", responses=responses(401, 403))
async def get_audit(
    facade: FacadeDep,
    caller: AdminDep,
    limit: int = Query(default=100, ge=1, le=5000, description="the newest N rows"),
) -> list[AuditRow]:
    """The audit trail, newest first: releases, cancels, logins, logouts, configuration, mode
    and route changes and printer resets, with who, when and from where. Root or the admin
    token only: it names every user of this machine."""
    found = await asyncio.to_thread(rows, facade, limit)
    return [AuditRow(**row) for row in found]
