"""Alembic environment: always run programmatically by server.store.migrate, never by hand."""

from alembic import context

from server.models import Base

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    # render_as_batch: SQLite cannot ALTER most things; batch mode rebuilds the table instead.
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
