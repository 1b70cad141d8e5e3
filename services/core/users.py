"""Who is logged in. Custom login (``login_type = "custom"``): which server user each OS user
prints as. Os login: which OS users logged out.

On a shared machine (VDI, terminal server) several OS users print through one service; each
logs in once with the server, and from then on their jobs belong to that server user. The map
lives in the store (0600), so it survives restarts and the user's session ending.

With os login every OS user of the machine is its server user without logging in, so one
user's logout ends only their own session (they are no longer reported to the server as a
user of this machine, and their tray offers to log in again); it never signs the machine out
for the others (issue 19, finding 10). Signing the whole machine out is an admin's logout.
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
# Os login: the OS users who logged out, each for themselves only.
LOGGED_OUT_KEY = "logged_out_users"


def signed_out(store: Store) -> bool:
    with store.session() as session:
        row = session.get(State, SIGNED_OUT_KEY)
        return bool(row and json.loads(row.value))


def logged_out(store: Store) -> set[str]:
    """The OS users who logged out with os login (the machine may still be signed in)."""
    with store.session() as session:
        return _logged_out(session)


def _logged_out(session: Session) -> set[str]:
    row = session.get(State, LOGGED_OUT_KEY)
    return set(json.loads(row.value)) if row else set()


def session_ended(store: Store, os_user: str) -> bool:
    """Whether ``os_user`` is logged out: the machine is signed out, or they logged out."""
    return signed_out(store) or os_user in logged_out(store)


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
        _put(session, LOGGED_OUT_KEY, sorted(_logged_out(session) - {os_user}))
        _put(session, SIGNED_OUT_KEY, False)
        if note is not None:
            note.add(session)
        session.commit()


def log_out(
    store: Store,
    login_type: str,
    os_user: str,
    note: audit.Entry | None = None,
    *,
    machine: bool = True,
) -> bool:
    """Forget the OS user's login; with nobody left logged in, sign the machine out.
    Returns whether the machine is now signed out (its server printers go away). One
    transaction, with ``note`` (its audit row) in it.

    With os login nobody can tell when the last user left, so ``machine`` decides: True (an
    admin: root's CLI, the facade's admin) signs the machine out; False ends ``os_user``'s
    own session only."""
    with store.session() as session:
        gone = machine
        if login_type == "custom":
            mapping = _mapping(session)
            if mapping.pop(os_user, None) is not None:
                _put(session, KEY, mapping)
            gone = not mapping
        else:
            _put(session, LOGGED_OUT_KEY, sorted(_logged_out(session) | {os_user}))
        if gone:
            _put(session, SIGNED_OUT_KEY, True)
        if note is not None:
            note.add(session, "nobody is logged in now: machine signed out" if gone else "")
        session.commit()
    return gone
