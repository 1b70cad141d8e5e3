"""Configuration profiles: groups of users, profiles, their assignments (user, group or the
default) and the users each endpoint reports, so a change is pushed to the endpoints it affects.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "groups",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
    )
    op.create_table(
        "group_members",
        sa.Column(
            "group_id",
            sa.Integer(),
            sa.ForeignKey("groups.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
        ),
    )
    op.create_table(
        "profiles",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("log_level", sa.String(16), nullable=True),
        sa.Column("allow_local_configuration", sa.Boolean(), nullable=True),
        sa.Column("sync_interval", sa.Integer(), nullable=True),
        sa.Column("retention", sa.Integer(), nullable=True),
        sa.Column("default_color", sa.String(16), nullable=True),
        sa.Column("default_duplex", sa.String(32), nullable=True),
        sa.Column("default_paper", sa.String(64), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "profile_assignments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "profile_id",
            sa.Integer(),
            sa.ForeignKey("profiles.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=True,
            unique=True,
        ),
        sa.Column(
            "group_id",
            sa.Integer(),
            sa.ForeignKey("groups.id", ondelete="CASCADE"),
            nullable=True,
            unique=True,
        ),
    )
    op.create_table(
        "endpoint_users",
        sa.Column(
            "endpoint_id",
            sa.Integer(),
            sa.ForeignKey("endpoints.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("name", sa.String(255), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("endpoint_users")
    op.drop_table("profile_assignments")
    op.drop_table("profiles")
    op.drop_table("group_members")
    op.drop_table("groups")
