"""arbitrage records

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "arbitrage_opportunities",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("strategy_type", sa.String(length=16), nullable=False),
        sa.Column("venues", sa.Text(), nullable=False),
        sa.Column("start_token", sa.String(length=42), nullable=False),
        sa.Column("amount_in", sa.String(length=64), nullable=False),
        sa.Column("estimated_profit", sa.String(length=64), nullable=False),
        sa.Column("confidence_score", sa.Float(), nullable=False),
        sa.Column("metadata", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arbitrage_opportunities")),
    )
    with op.batch_alter_table("arbitrage_opportunities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_arbitrage_opportunities_detected_at"), ["detected_at"], unique=False)

    op.create_table(
        "execution_results",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("opportunity_id", sa.String(length=64), nullable=False),
        sa.Column("executed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("engine", sa.String(length=16), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("actual_profit", sa.String(length=64), nullable=False),
        sa.Column("gas_used", sa.Integer(), nullable=False),
        sa.Column("gas_cost_usd", sa.Float(), nullable=False),
        sa.Column("execution_time_ms", sa.Float(), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["arbitrage_opportunities.id"],
            name=op.f("fk_execution_results_opportunity_id_arbitrage_opportunities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_execution_results")),
    )
    with op.batch_alter_table("execution_results", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_execution_results_opportunity_id"), ["opportunity_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("execution_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_execution_results_opportunity_id"))

    op.drop_table("execution_results")
    with op.batch_alter_table("arbitrage_opportunities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_arbitrage_opportunities_detected_at"))

    op.drop_table("arbitrage_opportunities")
