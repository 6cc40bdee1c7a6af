"""paper accounts keep the cash they started with

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # null for an account opened before this revision: its starting cash was not kept
    with op.batch_alter_table("paper_accounts") as batch:
        batch.add_column(sa.Column("initial_cash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("paper_accounts") as batch:
        batch.drop_column("initial_cash")
