"""One admin secret for every server process on one database (issue 22, finding 5).

Each data dir keeps the admin token in ``admin.token`` (auth.py), as a single server always
did, and the admin CLI prints it from there. The database keeps its sha256
(``cluster_secrets``): the first process to start records its token, and a process whose file
holds another token, or none, does not start. Why refuse rather than accept both: an admin
token that works on one process and not on the one HAProxy picks next is a puzzle, and two
secrets are twice the exposure. Why only the hash: a copy of the database (a backup) must not
open the admin API. So a second process is set up by copying ``admin.token`` from the first
one's data dir; the message says so, and never shows a token.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from server import auth
from server.models import ClusterSecret, now
from server.store import Store, insert

ADMIN = "admin"


class NotTheClusters(Exception):
    """This data dir's admin token is not the one the database records; worded for the admin."""


def recorded(session: Session) -> str | None:
    """The sha256 of the cluster's admin token; None before any process recorded one."""
    return session.scalar(select(ClusterSecret.hash).where(ClusterSecret.name == ADMIN))


def adopt(store: Store, data_dir: Path) -> str:
    """This data dir's admin token, recorded as the cluster's if none is yet (INSERT ... ON
    CONFLICT DO NOTHING: of two processes starting at once, one wins and the other is
    checked against it). Raises NotTheClusters when the token is not the recorded one."""
    path = data_dir / auth.ADMIN_TOKEN_FILE
    with store.session() as session:
        if recorded(session) is not None and not path.exists():
            raise NotTheClusters(_advice(path, "does not exist"))
    token = auth.admin_token(data_dir)
    with store.session() as session:
        row = {"name": ADMIN, "hash": auth.token_hash(token), "created_at": now()}
        session.execute(insert(session, ClusterSecret).values(**row).on_conflict_do_nothing())
        session.commit()
        check(session, path, token)
    return token


def check(session: Session, path: Path, token: str) -> None:
    """Raise NotTheClusters unless ``token`` (read from ``path``) is the recorded one."""
    expected = recorded(session)
    if expected is not None and not auth.same_secret(auth.token_hash(token), expected):
        raise NotTheClusters(_advice(path, "holds another admin token"))


def _advice(path: Path, what: str) -> str:
    return (
        f"{path} {what}: another server process on this database recorded the admin token "
        f"first. Copy admin.token from that process's data dir here (mode 0600), so every "
        f"process accepts the same one, and start again"
    )
