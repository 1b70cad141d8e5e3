"""Cluster secrets (issue 22, finding 5): the sha256 of the admin token every server process
on this database accepts. Nothing to carry over: the first process to start after the upgrade
records its data dir's token, so a single server's token keeps working.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cluster_secrets",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("cluster_secrets")
