"""Documents in the database (issue 22, finding 2): `document_chunks` holds a document as
1 MiB rows, staged under its upload claim's token until the job row commits, so any server
process on the database prints any job; `jobs.delivered_by` names the process sending a job,
so only that one's restart retries it. On PostgreSQL the chunks are stored uncompressed
(`STORAGE EXTERNAL`): print documents are mostly compressed already, and trying again costs
CPU on every chunk. Nothing to carry over: existing documents stay in their spool dirs.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "document_chunks",
        sa.Column("job_id", sa.String(64), primary_key=True),
        sa.Column("upload", sa.String(32), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE document_chunks ALTER COLUMN data SET STORAGE EXTERNAL")
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("delivered_by", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("delivered_by")
    op.drop_table("document_chunks")
