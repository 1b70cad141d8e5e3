"""Runtime switches kept in the store's ``State`` table, so they survive restarts and every
process reads the same value: the tray's delivery route switch and the UI language.

Values are JSON. The route switch only means something in local mode (DESIGN.md 7): there it
sends every job through the gateway, so pull jobs are no longer held on this PC either.
"""

from __future__ import annotations

import json
from typing import Literal

from services.core import audit
from services.core.store import State, Store

ROUTE_KEY = "delivery_route"
LANGUAGE_KEY = "language"

Switch = Literal["local", "gateway"]


def read_value(store: Store, key: str) -> object:
    with store.session() as session:
        row = session.get(State, key)
        return json.loads(row.value) if row is not None else None


def write_value(store: Store, key: str, value: object, note: audit.Entry | None = None) -> None:
    """Store one switch; ``note``, its audit row, is written in the same transaction."""
    with store.session() as session:
        session.merge(State(key=key, value=json.dumps(value)))
        if note is not None:
            note.add(session)
        session.commit()


def route_switch(store: Store) -> Switch:
    """``gateway`` once the tray switched local mode to the gateway, else ``local``."""
    return "gateway" if read_value(store, ROUTE_KEY) == "gateway" else "local"
