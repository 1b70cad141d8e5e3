from __future__ import annotations

import sqlite3

from services.core import migrations
from services.core.store import SCHEMA_VERSION, Base, Store


def columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def test_migrated_schema_matches_the_models(tmp_path):
    store = Store(tmp_path / "pullprint.db")
    conn = sqlite3.connect(store.path)
    for table in Base.metadata.sorted_tables:
        assert columns(conn, table.name) == {c.name for c in table.columns}, table.name
    conn.close()
    store.dispose()


def test_a_version_1_store_is_upgraded_in_place_keeping_its_jobs(tmp_path):
    path = tmp_path / "pullprint.db"
    conn = sqlite3.connect(path)
    conn.executescript(migrations.V1 + "PRAGMA user_version=1;")
    conn.execute(
        "INSERT INTO jobs VALUES (1, 'u', 'p', 'o', 'n', 'f', 1, 's', NULL, 3, 'none', '', 0, 0,"
        " NULL, 0, 0, NULL)"
    )
    conn.commit()
    conn.close()

    store = Store(path)

    assert store.schema_version() == SCHEMA_VERSION
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT uuid, reported, target FROM jobs").fetchall() == [("u", 0, None)]
    conn.close()
    store.dispose()
