"""cycle audit trail: which cycle sent each order and fill, and how many orders a cycle sent

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cycles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("orders", sa.Integer(), nullable=True))
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sent_cycle_id", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_orders_sent_cycle_id"), ["sent_cycle_id"], unique=False)
    with op.batch_alter_table("fills", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cycle_id", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_fills_cycle_id"), ["cycle_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("fills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fills_cycle_id"))
        batch_op.drop_column("cycle_id")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_sent_cycle_id"))
        batch_op.drop_column("sent_cycle_id")
    with op.batch_alter_table("cycles", schema=None) as batch_op:
        batch_op.drop_column("orders")
