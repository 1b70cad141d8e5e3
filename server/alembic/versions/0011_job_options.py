"""A job's options on its row (issue 21): what a gateway upload carries (copies, sides,
colour, paper ...), so Document Output prints the job with them, after a restart too. Jobs
from before this revision have none, which is how they were printed.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("options", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("options")
