"""Short-lived access tokens and rotating refresh tokens for endpoints; disabled users.

Every endpoint token issued before this revision becomes a refresh token (valid for the
default refresh lifetime from now), so a client upgraded in place exchanges the token it has
for a pair instead of registering again. The old column is cleared, not dropped: SQLite cannot
drop a UNIQUE column without rebuilding `endpoints`, and a rebuild with foreign keys on would
cascade into `commands`.

Revision ID: 0005
Revises: 0004
"""

import time

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

LEGACY_REFRESH_TTL = 90 * 86400.0  # the server's default refresh lifetime


def upgrade() -> None:
    op.create_table(
        "endpoint_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "endpoint_id",
            sa.Integer(),
            sa.ForeignKey("endpoints.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("rotated_at", sa.Float(), nullable=True),
    )
    op.create_index("ix_endpoint_tokens_endpoint_id", "endpoint_tokens", ["endpoint_id"])
    with op.batch_alter_table("endpoints") as batch:
        batch.add_column(sa.Column("credentials_issued_at", sa.Float(), nullable=True))
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    now = time.time()
    endpoints = sa.table(
        "endpoints",
        sa.column("id", sa.Integer),
        sa.column("state", sa.String),
        sa.column("token_hash", sa.String),
        sa.column("authorized_at", sa.Float),
        sa.column("credentials_issued_at", sa.Float),
    )
    tokens = sa.table(
        "endpoint_tokens",
        sa.column("endpoint_id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("token_hash", sa.String),
        sa.column("created_at", sa.Float),
        sa.column("expires_at", sa.Float),
    )
    bind = op.get_bind()
    issued = bind.execute(
        sa.select(endpoints.c.id, endpoints.c.state, endpoints.c.token_hash).where(
            endpoints.c.token_hash.is_not(None)
        )
    ).all()
    for endpoint_id, state, digest in issued:
        if state == "authorized":
            bind.execute(
                tokens.insert().values(
                    endpoint_id=endpoint_id,
                    kind="refresh",
                    token_hash=digest,
                    created_at=now,
                    expires_at=now + LEGACY_REFRESH_TTL,
                )
            )
        bind.execute(
            endpoints.update()
            .where(endpoints.c.id == endpoint_id)
            .values(token_hash=None, credentials_issued_at=now)
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("disabled")
    with op.batch_alter_table("endpoints") as batch:
        batch.drop_column("credentials_issued_at")
    op.drop_index("ix_endpoint_tokens_endpoint_id", "endpoint_tokens")
    op.drop_table("endpoint_tokens")
