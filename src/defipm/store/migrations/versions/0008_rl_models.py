"""learned allocator model registry

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rl_models",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("symbols", sa.Text(), nullable=False),
        sa.Column("interval_seconds", sa.Float(), nullable=False),
        sa.Column("window", sa.Integer(), nullable=False),
        sa.Column("rebalance_every", sa.Integer(), nullable=False),
        sa.Column("data_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data_hash", sa.String(length=64), nullable=False),
        sa.Column("figures", sa.Text(), nullable=False),
        sa.Column("card", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rl_models")),
        sa.UniqueConstraint("name", "version", name=op.f("uq_rl_models_name")),
    )
    with op.batch_alter_table("rl_models", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rl_models_name"), ["name"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rl_models", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rl_models_name"))
    op.drop_table("rl_models")
