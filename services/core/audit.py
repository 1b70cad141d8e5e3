"""The client's audit trail: who released, canceled, logged in or out, changed the
configuration, the mode or the route, or reset a printer on this machine, when and from where.

A row is written in the caller's transaction, next to the change it describes (as
``jobs.record`` does for the job trace), so the trail never claims a change the store does not
show, nor misses one it does. The configuration file is the exception: it is not in the store,
so its row follows the file's atomic rename (services/api/config.py).

Callers pass key names and old -> new values, never a secret's value: the facade masks them
with ``services/api/redact.py`` before they get here, and the support bundle masks the rows
once more on the way out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from services.core.store import AuditEntry

# Who acts when no person does: the server's commands over the channel, and the service's own
# housekeeping (held jobs expiring after the retention period).
SERVER = "server"
SYSTEM = "system"


def record(
    session: Session, actor: str, action: str, origin: str, subject: str = "", detail: str = ""
) -> None:
    """Add one row to the audit trail, in the caller's transaction (the caller commits)."""
    session.execute(
        insert(AuditEntry).values(
            at=time.time(),
            actor=actor[:255],
            action=action[:64],
            subject=subject[:255],
            origin=origin[:255],
            detail=detail[:1024],
        )
    )


@dataclass(frozen=True)
class Entry:
    """A row to write later, inside a helper's own transaction (``users.log_in``,
    ``switches.write_value``): the helper calls ``add`` before it commits."""

    actor: str
    action: str
    origin: str
    subject: str = ""
    detail: str = ""

    def add(self, session: Session, more: str = "") -> None:
        """Write the row; ``more`` is what only the helper knows (appended to the detail)."""
        detail = "; ".join(part for part in (self.detail, more) if part)
        record(session, self.actor, self.action, self.origin, self.subject, detail)


def recent(session: Session, limit: int = 100) -> list[AuditEntry]:
    """The newest ``limit`` rows, newest first."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(max(0, limit))
    return list(session.scalars(query))


def as_dict(row: AuditEntry) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": row.at,
        "actor": row.actor,
        "action": row.action,
        "subject": row.subject,
        "origin": row.origin,
        "detail": row.detail,
    }
