"""The server's audit trail: logins (and failed ones) and logouts, releases and cancels,
endpoint registration, authorization and revocation, users disabled and enabled, settings,
profiles, groups and their assignments, with who, when and from where.

Each row is written in the session of the change it describes, so it commits or rolls back
with it; a failed login changes nothing else, and its row is the whole transaction. "Who" is
the user, `admin`, or an endpoint's hostname; "from where" is the client's address as the
connection shows it (`request.client.host`), or `cli (<OS user>)` for `pullprint-server
admin`. Passwords and tokens never get here: callers pass names, and a setting whose key looks
secret is written as `***` (the same key rule as the client's services/api/redact.py, which
the server may not import: DESIGN.md 8).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from server import admin
from server.models import AuditEntry, now

MASK = "***"
_SECRET_KEY = re.compile(r"token|passw|secret|auth|credential|api_?key|private", re.I)
LIMIT_MAX = 5000


@dataclass(frozen=True)
class Who:
    actor: str
    origin: str


def address(request: Request) -> str:
    """The client's address as this connection shows it (a proxy in front shows itself)."""
    return request.client.host if request.client is not None else "unknown"


def admin_at(request: Request) -> Who:
    return Who("admin", address(request))


def record(session: Session, who: Who, action: str, subject: str = "", detail: str = "") -> None:
    """Add one row in the caller's session; it commits (or rolls back) with the change."""
    session.add(
        AuditEntry(
            at=now(),
            actor=who.actor[:255],
            action=action[:64],
            subject=subject[:255],
            origin=who.origin[:255],
            detail=detail[:1024],
        )
    )


def shown(key: str, value: Any) -> str:
    """A value as the trail may show it: JSON, or `***` when its key looks secret."""
    return MASK if _SECRET_KEY.search(key) else json.dumps(value, default=str)


def set_setting(session: Session, who: Who, key: str, value: Any) -> dict[str, Any]:
    """`admin.set_setting` with its row: the key and its old -> new value."""
    old = admin.get_settings(session).get(key)
    result = admin.set_setting(session, key, value)
    record(session, who, "setting.set", key, f"{shown(key, old)} -> {shown(key, value)}")
    return result


def recent(
    session: Session, limit: int = 100, actor: str | None = None, action: str | None = None
) -> list[dict[str, Any]]:
    """The newest rows first, optionally of one actor or one action."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    if actor is not None:
        query = query.where(AuditEntry.actor == actor)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    rows = session.scalars(query.limit(max(1, min(limit, LIMIT_MAX))))
    return [
        {
            "id": r.id,
            "at": r.at,
            "actor": r.actor,
            "action": r.action,
            "subject": r.subject,
            "origin": r.origin,
            "detail": r.detail,
        }
        for r in rows
    ]
