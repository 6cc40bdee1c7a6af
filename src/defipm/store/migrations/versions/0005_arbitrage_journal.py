"""arbitrage execution journal

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("execution_results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("gas_cost_wei", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("actual_profit_native", sa.String(length=64), nullable=True))

    op.create_table(
        "arbitrage_executions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("run", sa.String(length=64), nullable=False),
        sa.Column("engine", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("start_token", sa.String(length=42), nullable=False),
        sa.Column("amount_in", sa.String(length=64), nullable=False),
        sa.Column("expected_profit", sa.String(length=64), nullable=False),
        sa.Column("plan", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("profit", sa.String(length=64), nullable=True),
        sa.Column("profit_native", sa.String(length=64), nullable=True),
        sa.Column("gas_used", sa.Integer(), nullable=True),
        sa.Column("gas_cost_wei", sa.String(length=64), nullable=True),
        sa.Column("held", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arbitrage_executions")),
    )
    with op.batch_alter_table("arbitrage_executions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_arbitrage_executions_run"), ["run"], unique=False)
        batch_op.create_index(batch_op.f("ix_arbitrage_executions_status"), ["status"], unique=False)

    op.create_table(
        "arbitrage_transactions",
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("execution_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("hop", sa.Integer(), nullable=True),
        sa.Column("nonce", sa.Integer(), nullable=False),
        sa.Column("to_address", sa.String(length=42), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("replaced_by", sa.String(length=66), nullable=True),
        sa.Column("token_in", sa.String(length=42), nullable=True),
        sa.Column("token_out", sa.String(length=42), nullable=True),
        sa.Column("amount_in", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("block_number", sa.Integer(), nullable=True),
        sa.Column("gas_used", sa.Integer(), nullable=True),
        sa.Column("gas_cost_wei", sa.String(length=64), nullable=True),
        sa.Column("flows", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["arbitrage_executions.id"],
            name=op.f("fk_arbitrage_transactions_execution_id_arbitrage_executions"),
        ),
        sa.PrimaryKeyConstraint("tx_hash", name=op.f("pk_arbitrage_transactions")),
    )
    with op.batch_alter_table("arbitrage_transactions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_arbitrage_transactions_execution_id"), ["execution_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("arbitrage_transactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_arbitrage_transactions_execution_id"))
    op.drop_table("arbitrage_transactions")
    with op.batch_alter_table("arbitrage_executions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_arbitrage_executions_status"))
        batch_op.drop_index(batch_op.f("ix_arbitrage_executions_run"))
    op.drop_table("arbitrage_executions")
    with op.batch_alter_table("execution_results", schema=None) as batch_op:
        batch_op.drop_column("actual_profit_native")
        batch_op.drop_column("gas_cost_wei")
