"""Upload claims (issue 22, finding 1): a row per gateway upload in progress, inserted once
(ON CONFLICT DO NOTHING) before the body is read, so two server processes on one database
never both store, and print, the same job id. Nothing to carry over: an upgrade happens with
no upload in flight.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "upload_claims",
        sa.Column("job_id", sa.String(64), primary_key=True),
        sa.Column("instance", sa.String(64), nullable=False),
        sa.Column("token", sa.String(32), nullable=False),
        sa.Column("claimed_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("upload_claims")
