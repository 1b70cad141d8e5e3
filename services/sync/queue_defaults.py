"""Each OS queue's default colour, duplex and paper: its printer's own (what the port
presents, from its stored capabilities), with the profile's defaults over them where the
profile sets any (services/core/profile.py QUEUE_DEFAULTS).

So a print dialog on a colour duplex printer's queue starts at colour, and the queue of a
monochrome printer at monochrome, without an admin choosing either. Like the profile's, a
queue's own defaults are set once when they change (``lpadmin -o``, ``-R`` for one that went)
and what was set is kept in the store, so a sync that changes nothing runs no lpadmin.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import select

from services.core.capabilities import Capabilities
from services.core.profile import QUEUE_DEFAULTS
from services.core.store import Printer, State, Store
from services.sync.queues import valid_option_value

APPLIED_KEY = "queue_port_defaults"
OPTIONS = tuple(QUEUE_DEFAULTS.values())  # print-color-mode-default, sides-default, ...

Defaults = dict[str, str]
Change = dict[str, str | None]


def port_defaults(store: Store, names: list[str]) -> dict[str, Defaults]:
    """Queue name -> its printer's defaults, for the ports whose capabilities are known."""
    out: dict[str, Defaults] = {}
    with store.session() as session:
        rows = session.scalars(select(Printer).where(Printer.name.in_(names)))
        for row in rows:
            if not row.capabilities:
                continue
            caps = Capabilities.from_json(row.capabilities)
            values = {o: caps.default(o.removesuffix("-default")) for o in OPTIONS}
            # From the printer's own answer: a value lpadmin would not take (or would read as
            # a flag) is left out rather than failing the queue at every sync.
            out[row.name] = {
                o: v for o, v in values.items() if isinstance(v, str) and valid_option_value(v)
            }
    return out


def applied(store: Store) -> dict[str, Defaults]:
    with store.session() as session:
        row = session.get(State, APPLIED_KEY)
        return dict(json.loads(row.value)) if row else {}


def save_applied(store: Store, values: dict[str, Defaults]) -> None:
    with store.session() as session:
        session.merge(State(key=APPLIED_KEY, value=json.dumps(values, sort_keys=True)))
        session.commit()


@dataclass
class QueuePlan:
    """What ``queues.apply`` is given for the queues whose own defaults differ."""

    per_queue: dict[str, Change] = field(default_factory=dict)
    refresh: set[str] = field(default_factory=set)


def plan(
    names: list[str],
    profile_change: Change,
    ports: dict[str, Defaults],
    before: dict[str, Defaults],
) -> QueuePlan:
    """``profile_change`` is what the profile sets on every queue now (None = removed); a
    queue with defaults of its own, now or last time, gets them under the profile's, and one
    whose own changed is updated even when nothing else about it did."""
    out = QueuePlan()
    for name in names:
        mine, old = ports.get(name, {}), before.get(name, {})
        if mine != old:
            out.refresh.add(name)
        if not mine and not old:
            continue
        change: Change = {key: None for key in old} | dict(mine)
        for key, value in profile_change.items():
            if value is not None or key not in mine:
                change[key] = value
        out.per_queue[name] = change
    return out
