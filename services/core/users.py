"""Custom login (``login_type = "custom"``): which server user each OS user prints as.

On a shared machine (VDI, terminal server) several OS users print through one service; each
logs in once with the server, and from then on their jobs belong to that server user. The map
lives in the store (0600), so it survives restarts and the user's session ending.
"""

from __future__ import annotations

import json

from services.core.store import State, Store

KEY = "user_map"


def load_map(store: Store) -> dict[str, str]:
    with store.session() as session:
        row = session.get(State, KEY)
        return dict(json.loads(row.value)) if row else {}


def _save(store: Store, mapping: dict[str, str]) -> None:
    with store.session() as session:
        session.merge(State(key=KEY, value=json.dumps(mapping, sort_keys=True)))
        session.commit()


def set_user(store: Store, os_user: str, server_user: str) -> None:
    mapping = load_map(store)
    mapping[os_user] = server_user
    _save(store, mapping)


def remove_user(store: Store, os_user: str) -> bool:
    mapping = load_map(store)
    if mapping.pop(os_user, None) is None:
        return False
    _save(store, mapping)
    return True
