"""Admin page sessions (issue 19, finding 11): the admin token opens a session once, and the
cookie carries the session's random id, never the token.

The token never expires and opens the admin REST API too; a cookie holding it was that token,
for good, wherever the cookie went. A session id is worth `admin_session_ttl` seconds at most
and nothing after sign-out, and only its sha256 is stored, so a database dump opens nothing.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from server import auth
from server.models import AdminSession, now


def open_session(session: Session, ttl: float) -> str:
    """A new session id (returned in clear, once), valid for `ttl` seconds."""
    current = now()
    # Expired sessions go now, so the table holds only live ones.
    session.execute(delete(AdminSession).where(AdminSession.expires_at <= current))
    token = auth.new_token()
    session.add(
        AdminSession(
            token_hash=auth.token_hash(token), created_at=current, expires_at=current + ttl
        )
    )
    return token


def is_open(session: Session, token: str) -> bool:
    expires_at = session.scalar(
        select(AdminSession.expires_at).where(AdminSession.token_hash == auth.token_hash(token))
    )
    return expires_at is not None and expires_at > now()


def end(session: Session, token: str) -> bool:
    """Sign out: the id opens nothing any more. False when it named no session."""
    result = session.execute(
        delete(AdminSession).where(AdminSession.token_hash == auth.token_hash(token))
    )
    return bool(getattr(result, "rowcount", 0))
