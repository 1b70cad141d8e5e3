"""Rate limits and admin page sessions: `attempts` counts failed logins (per user name and per
address) and registrations (per address) where every server process sees them;
`admin_sessions` holds hashed, expiring ids for the admin pages' cookie, which used to be the
admin token itself (issue 19, findings 8, 9 and 11).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attempts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("bucket", sa.String(32), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
    )
    op.create_index("ix_attempts_at", "attempts", ["at"])
    # The limit check counts one bucket and key within a window.
    op.create_index("ix_attempts_bucket_key_at", "attempts", ["bucket", "key", "at"])
    op.create_table(
        "admin_sessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("admin_sessions")
    op.drop_index("ix_attempts_bucket_key_at", "attempts")
    op.drop_index("ix_attempts_at", "attempts")
    op.drop_table("attempts")
