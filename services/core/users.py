"""Custom login (``login_type = "custom"``): which server user each OS user prints as.

On a shared machine (VDI, terminal server) several OS users print through one service; each
logs in once with the server, and from then on their jobs belong to that server user. The map
lives in the store (0600), so it survives restarts and the user's session ending.
"""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from services.core import audit
from services.core.store import State, Store

KEY = "user_map"


def load_map(store: Store) -> dict[str, str]:
    with store.session() as session:
        return _mapping(session)


def _mapping(session: Session) -> dict[str, str]:
    row = session.get(State, KEY)
    return dict(json.loads(row.value)) if row else {}


def _put(session: Session, key: str, value: object) -> None:
    session.merge(State(key=key, value=json.dumps(value, sort_keys=True)))


def set_user(store: Store, os_user: str, server_user: str) -> None:
    with store.session() as session:
        _put(session, KEY, _mapping(session) | {os_user: server_user})
        session.commit()


# --- signing out ---------------------------------------------------------------------------
# "Logout" in the tray removes the printers the server gave this machine (and their OS queues)
# until someone logs in again; jobs already stored stay. Printers configured locally stay too.
SIGNED_OUT_KEY = "signed_out"


def signed_out(store: Store) -> bool:
    with store.session() as session:
        row = session.get(State, SIGNED_OUT_KEY)
        return bool(row and json.loads(row.value))


def log_in(
    store: Store,
    login_type: str,
    os_user: str,
    server_user: str | None,
    note: audit.Entry | None = None,
) -> None:
    """After the password was checked (custom) or straight away (os login). One transaction,
    with ``note`` (its audit row) in it."""
    with store.session() as session:
        if login_type == "custom" and server_user:
            _put(session, KEY, _mapping(session) | {os_user: server_user})
        _put(session, SIGNED_OUT_KEY, False)
        if note is not None:
            note.add(session)
        session.commit()


def log_out(store: Store, login_type: str, os_user: str, note: audit.Entry | None = None) -> bool:
    """Forget the OS user's login; with nobody left logged in, sign the machine out.
    Returns whether the machine is now signed out (its server printers go away). One
    transaction, with ``note`` (its audit row) in it."""
    with store.session() as session:
        gone = True
        if login_type == "custom":
            mapping = _mapping(session)
            if mapping.pop(os_user, None) is not None:
                _put(session, KEY, mapping)
            gone = not mapping
        if gone:
            _put(session, SIGNED_OUT_KEY, True)
        if note is not None:
            note.add(session, "nobody is logged in now: machine signed out" if gone else "")
        session.commit()
    return gone
