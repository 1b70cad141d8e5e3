"""The database: an engine behind a URL, its migrations, and sessions.

SQLite (a file under the data dir) is the default; PostgreSQL (`postgresql+psycopg://...`) works
the same way. The schema is created and upgraded by Alembic on every start, so an older data
dir is brought up to date before anything reads it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

ALEMBIC_DIR = Path(__file__).parent / "alembic"


def default_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'server.db'}"


def make_data_dir(data_dir: Path) -> None:
    """The data dir holds the database (password hashes, job names), the admin token, TLS keys
    and the spool: only the server's own user may enter it (0700, tightened on every start for
    dirs an older version made 0755), and the SQLite files are 0600 themselves, so a copy or a
    looser parent later does not expose them."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(data_dir, 0o700)
    for path in data_dir.glob("server.db*"):
        os.chmod(path, 0o600)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets the admin CLI write while the server reads; FULL sync because acks promise
    durability; a busy timeout instead of 'database is locked' errors under contention."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def insert(session: Session, model: type[Any]) -> Any:
    """An INSERT into `model`'s table in the session's dialect, so that ON CONFLICT (DO
    NOTHING, DO UPDATE) is written once for SQLite and PostgreSQL alike: of rows inserted by
    several transactions or processes at once, exactly one is, and the others know it."""
    dialect: Any = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(model)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (a no-op when it is already there)."""
    command.upgrade(alembic_config(engine), "head")


class Store:
    """The engine plus a session factory; one per process."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def migrate(self) -> None:
        migrate(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on any exception."""
        with self._sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def close(self) -> None:
        self.engine.dispose()
