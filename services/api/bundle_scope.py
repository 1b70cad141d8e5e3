"""Whose rows a support bundle may hold: everyone's for an admin, else only the caller's own.

The logs and the audit trail name every user of the machine (who printed what, who logged in,
which job was canceled by whom), which ``GET /audit`` shows to admins only; a support bundle
an ordinary user downloads must not be a way around that (issue 19, finding 6). So for an
ordinary caller the bundle keeps a log line only when one of its fields names them (their OS
user, the server user they print as, their uid) or one of their jobs, and an audit row only
when they acted or it is about them or one of their jobs. A line that names nobody (a service
starting, a printer's status) is left out too: it may be about another user's job by its
printer, and "only your own rows" is a promise the user can check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from services.api import audit
from services.api.auth import Caller
from services.api.context import Facade
from services.api.jobs import owners
from services.core import audit as trail
from services.core.store import AuditEntry, Job

# The log fields (services/core/logs.py) whose value is a person: facade callers, job owners,
# logins and logouts.
PERSON_FIELDS = frozenset({"user", "os_user", "owner", "server_user", "actor"})
# ``key=value`` as logs.format_event writes it: a quoted value may hold spaces and ``=``, so a
# job name cannot pose as a field of its own.
_FIELD = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


@dataclass(frozen=True)
class Scope:
    """``names`` None: everyone's rows (an admin). Else the caller's names (OS user, and the
    server user custom login maps them to) and their uid."""

    user: str
    uid: int
    names: frozenset[str] | None

    @property
    def everyone(self) -> bool:
        return self.names is None

    def describe(self) -> dict[str, Any]:
        """``scope.json``: says in the bundle itself what it holds."""
        if self.names is None:
            return {"scope": "all", "user": self.user, "note": "every user's rows (admin)"}
        return {
            "scope": "own",
            "user": self.user,
            "note": f"only the log lines and audit rows of {self.user}; an admin's bundle "
            "holds every user's",
        }


def scope_of(facade: Facade, caller: Caller) -> Scope:
    names = owners(facade, caller)
    return Scope(caller.user, caller.uid, None if names is None else frozenset(names))


def own_jobs(session: Session, scope: Scope) -> frozenset[str]:
    """The uuids of the caller's jobs, which name them in lines that name no person."""
    if scope.names is None:
        return frozenset()
    return frozenset(session.scalars(select(Job.uuid).where(Job.owner.in_(scope.names))))


def line_is_theirs(line: str, scope: Scope, jobs: frozenset[str]) -> bool:
    if scope.names is None:
        return True
    for key, raw in _FIELD.findall(line):
        value = raw[1:-1] if raw.startswith('"') else raw
        if key in PERSON_FIELDS and value in scope.names:
            return True
        if (key == "uid" and value == str(scope.uid)) or (key == "job" and value in jobs):
            return True
    return False


def audit_rows(facade: Facade, scope: Scope, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` rows the scope may see, masked as ``GET /audit`` masks them."""
    if scope.names is None:
        return audit.rows(facade, limit)
    with facade.store.session() as session:
        theirs = select(Job.uuid).where(Job.owner.in_(scope.names))
        query = (
            select(AuditEntry)
            .where(
                or_(
                    AuditEntry.actor.in_(scope.names),
                    AuditEntry.subject.in_(scope.names),
                    AuditEntry.subject.in_(theirs),
                )
            )
            .order_by(AuditEntry.id.desc())
            .limit(limit)
        )
        return [audit.masked(trail.as_dict(row)) for row in session.scalars(query)]
