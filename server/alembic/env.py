"""Alembic environment: always run programmatically by server.store.migrate, never by hand."""

from alembic import context
from sqlalchemy import text

from server.models import Base

MIGRATION_LOCK = 7300_0001  # any constant; the same in every pullprint server process

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    if connection.dialect.name == "postgresql":
        # Several server processes may start at once against one database: one migrates,
        # the others wait here and then find the schema already at head.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    # render_as_batch: SQLite cannot ALTER most things; batch mode rebuilds the table instead.
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
