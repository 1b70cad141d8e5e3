"""Short-lived user access tokens and rotating refresh tokens: expiry and refresh columns on
`sessions`.

A session from before this revision has no refresh token. Its token keeps working for the
default access lifetime from the upgrade (never past the week it was issued for), then its
user logs in again; sessions already past that week are deleted.

Revision ID: 0008
Revises: 0007
"""

import time

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

LEGACY_ACCESS_TTL = 900.0  # the server's default user access lifetime
LEGACY_SESSION_TTL = 7 * 86400.0  # what a user token was valid for before this revision


def upgrade() -> None:
    # Added one by one with a default, not by a batch rebuild: SQLite adds a NOT NULL column
    # in place only when it has one. Uniqueness comes from indexes, as ADD COLUMN cannot.
    op.add_column(
        "sessions", sa.Column("expires_at", sa.Float(), nullable=False, server_default="0")
    )
    op.add_column(
        "sessions",
        sa.Column("refresh_expires_at", sa.Float(), nullable=False, server_default="0"),
    )
    op.add_column("sessions", sa.Column("refresh_hash", sa.String(64), nullable=True))
    op.add_column("sessions", sa.Column("previous_refresh_hash", sa.String(64), nullable=True))
    op.add_column("sessions", sa.Column("rotated_at", sa.Float(), nullable=True))
    op.create_index("ix_sessions_refresh_hash", "sessions", ["refresh_hash"], unique=True)
    op.create_index(
        "ix_sessions_previous_refresh_hash", "sessions", ["previous_refresh_hash"], unique=True
    )
    now = time.time()
    sessions = sa.table(
        "sessions",
        sa.column("created_at", sa.Float),
        sa.column("expires_at", sa.Float),
        sa.column("refresh_expires_at", sa.Float),
    )
    bind = op.get_bind()
    bind.execute(sessions.delete().where(sessions.c.created_at <= now - LEGACY_SESSION_TTL))
    legacy_end = sa.case(
        (
            sessions.c.created_at + LEGACY_SESSION_TTL < now + LEGACY_ACCESS_TTL,
            sessions.c.created_at + LEGACY_SESSION_TTL,
        ),
        else_=now + LEGACY_ACCESS_TTL,
    )
    bind.execute(sessions.update().values(expires_at=legacy_end, refresh_expires_at=legacy_end))


def downgrade() -> None:
    op.drop_index("ix_sessions_previous_refresh_hash", "sessions")
    op.drop_index("ix_sessions_refresh_hash", "sessions")
    with op.batch_alter_table("sessions") as batch:
        for column in (
            "rotated_at",
            "previous_refresh_hash",
            "refresh_hash",
            "refresh_expires_at",
            "expires_at",
        ):
            batch.drop_column(column)
