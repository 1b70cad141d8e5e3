"""What a raw printer can do, on its record: colour, duplex, paper, resolution and PJL (issue
21). A raw printer cannot be asked, so the admin says; endpoints present it on the printer's
ports. Printers from before this revision get the defaults of a monochrome, one-sided
printer with A4 and Letter at 600 dpi and no PJL, which is what every port assumed of them.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

COLUMNS = ("color", "duplex", "media", "media_default", "resolution", "pjl")


def upgrade() -> None:
    # Each with a server default, so existing rows get it and SQLite adds the NOT NULL
    # columns in place.
    with op.batch_alter_table("printers") as batch:
        batch.add_column(
            sa.Column("color", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("duplex", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("media", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(
            sa.Column("media_default", sa.String(64), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("resolution", sa.Integer(), nullable=False, server_default="600")
        )
        batch.add_column(sa.Column("pjl", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("printers") as batch:
        for column in reversed(COLUMNS):
            batch.drop_column(column)
