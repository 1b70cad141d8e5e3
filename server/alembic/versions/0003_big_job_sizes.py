"""Job sizes as 64-bit integers: PostgreSQL's INTEGER stops at 2 GiB, print jobs need not.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.alter_column("size", type_=sa.BigInteger(), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.alter_column("size", type_=sa.Integer(), existing_nullable=False)
