"""service: audit of write requests, cycles' write time, and the indexes the service's reads need

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

INDEXES = {  # keyset pages: the filter columns, then every ordering key (no sort left for the planner to choose)
    "cycles": [("ix_cycles_run_timestamp", ["run", "timestamp", "id"])],
    "orders": [
        ("ix_orders_run_created_at", ["run", "created_at", "client_order_id"]),
        ("ix_orders_run_symbol_created_at", ["run", "symbol", "created_at", "client_order_id"]),
        ("ix_orders_run_status", ["run", "status"]),
    ],
    "fills": [
        ("ix_fills_run_id", ["run", "id"]),
        ("ix_fills_run_symbol_id", ["run", "symbol", "id"]),
        ("ix_fills_run_timestamp", ["run", "timestamp"]),
    ],
    "arbitrage_executions": [
        ("ix_arbitrage_executions_updated_at", ["updated_at"]),
        ("ix_arbitrage_executions_run_created_at", ["run", "created_at"]),
    ],
}


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("run", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
    with op.batch_alter_table("cycles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_cycles_recorded_at"), ["recorded_at"], unique=False)
    for table, indexes in INDEXES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, columns in indexes:
                batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    for table, indexes in INDEXES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, _ in indexes:
                batch_op.drop_index(name)
    with op.batch_alter_table("cycles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cycles_recorded_at"))
        batch_op.drop_column("recorded_at")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
    op.drop_table("audit_log")
