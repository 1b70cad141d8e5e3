"""Server leases (issue 22, finding 4): a row per running server process, renewed by one
statement every third of its length, so an endpoint whose channel holder died shows offline
within one lease and heartbeats write nothing. Nothing to carry over: holders written before
this revision name no lease, so their endpoints show offline until they reconnect, which every
endpoint does when the upgraded server starts.

Revision ID: 0014
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "server_leases",
        sa.Column("holder", sa.String(255), primary_key=True),
        sa.Column("instance", sa.String(64), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_server_leases_instance", "server_leases", ["instance"])


def downgrade() -> None:
    op.drop_index("ix_server_leases_instance", "server_leases")
    op.drop_table("server_leases")
