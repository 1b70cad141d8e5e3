"""Cross-process nudges through PostgreSQL LISTEN/NOTIFY.

Several server processes may share one PostgreSQL database; the one holding an endpoint's
channel must learn at once when another process (or the admin CLI) queued a command for that
endpoint or revoked it. A NOTIFY sent in the same transaction is delivered only on commit,
so a listener never acts on a change it cannot see yet. On SQLite (one machine, usually one
process) this is a no-op and the channel's heartbeat tick picks changes up instead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import make_url, text
from sqlalchemy.orm import Session

from server.logs import event

CHANNEL = "pullprint_endpoint"


def endpoint_changed(session: Session, endpoint_id: int) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": str(endpoint_id)})


class Listener:
    """A thread with its own connection, LISTENing and calling back with endpoint ids."""

    def __init__(self, url: str, callback: Callable[[int], None]) -> None:
        self.conninfo = make_url(url).set(drivername="postgresql").render_as_string(False)
        self.callback = callback
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="pg-listen", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        import psycopg

        while not self.stopping.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    while not self.stopping.is_set():
                        for note in conn.notifies(timeout=1.0):
                            self._deliver(note.payload)
            except psycopg.Error as exc:
                event("notify.reconnect", error=exc.__class__.__name__)
                self.stopping.wait(1.0)

    def _deliver(self, payload: str) -> None:
        try:
            self.callback(int(payload))
        except ValueError:
            event("notify.bad_payload")

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(5)
