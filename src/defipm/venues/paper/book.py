"""The paper venue's persistent books: account cash, positions with their last marks, and the venue's own fill
log keyed by client order id. One transaction per fill, so the books and the fill log never disagree."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection

from defipm.core.orders import Fill, Side
from defipm.store.database import Store
from defipm.store.tables import PAPER_ACCOUNTS, PAPER_FILLS, PAPER_POSITIONS

_INSERT_FILL = insert(PAPER_FILLS)
_UPDATE_ACCOUNT = (
    update(PAPER_ACCOUNTS)
    .where(PAPER_ACCOUNTS.c.name == bindparam("acct"))
    .values(
        cash=bindparam("cash", type_=PAPER_ACCOUNTS.c.cash.type),
        fill_count=bindparam("fills"),
        updated_at=bindparam("now", type_=PAPER_ACCOUNTS.c.updated_at.type),
    )
)
_DELETE_POSITION = delete(PAPER_POSITIONS).where(
    PAPER_POSITIONS.c.account == bindparam("acct"), PAPER_POSITIONS.c.symbol == bindparam("sym")
)
_INSERT_POSITION = insert(PAPER_POSITIONS)


@dataclass(slots=True)
class LoadedBook:
    cash: Decimal
    initial_cash: Decimal | None
    """What the account was opened with (None if opened before the store kept it)."""
    mode: str
    fill_count: int
    positions: dict[str, Decimal]
    marks: dict[str, Decimal]


class PaperBook:
    def __init__(self, store: Store, account: str) -> None:
        self.store = store
        self.account = account

    def load(self) -> LoadedBook | None:
        with self.store.engine.connect() as conn:
            acct = conn.execute(select(PAPER_ACCOUNTS).where(PAPER_ACCOUNTS.c.name == self.account)).first()
            if acct is None:
                return None
            rows = conn.execute(select(PAPER_POSITIONS).where(PAPER_POSITIONS.c.account == self.account)).all()
        return LoadedBook(
            cash=acct.cash,
            initial_cash=acct.initial_cash,
            mode=acct.mode,
            fill_count=acct.fill_count,
            positions={r.symbol: r.quantity for r in rows if r.quantity},
            marks={r.symbol: r.price for r in rows if r.price is not None},
        )

    def create(self, cash: Decimal, mode: str) -> None:
        with self.store.begin() as conn:
            conn.execute(
                insert(PAPER_ACCOUNTS).values(
                    name=self.account, mode=mode, cash=cash, initial_cash=cash, fill_count=0, updated_at=_now()
                )
            )

    def save_fill(self, fill: Fill, cash: Decimal, position: Decimal, mark: Decimal, fill_count: int) -> None:
        now = _now()
        with self.store.begin() as conn:
            conn.execute(
                _INSERT_FILL,
                {
                    "account": self.account,
                    "client_order_id": fill.client_order_id,
                    "symbol": fill.symbol,
                    "side": fill.side.value,
                    "quantity": fill.quantity,
                    "price": fill.price,
                    "fee": fill.fee,
                    "timestamp": fill.timestamp or now,
                },
            )
            conn.execute(_UPDATE_ACCOUNT, {"acct": self.account, "cash": cash, "fills": fill_count, "now": now})
            conn.execute(_DELETE_POSITION, {"acct": self.account, "sym": fill.symbol})
            if position:
                conn.execute(
                    _INSERT_POSITION,
                    {"account": self.account, "symbol": fill.symbol, "quantity": position, "price": mark},
                )

    def save_state(
        self, cash: Decimal, positions: Mapping[str, Decimal], marks: Mapping[str, Decimal], fill_count: int
    ) -> None:
        """Rewrite cash and every position with its mark (after funding, deposits or a market update)."""
        with self.store.begin() as conn:
            self._write_account(conn, cash, fill_count)
            conn.execute(delete(PAPER_POSITIONS).where(PAPER_POSITIONS.c.account == self.account))
            rows = [
                {"account": self.account, "symbol": s, "quantity": q, "price": marks.get(s)}
                for s, q in positions.items()
                if q
            ]
            if rows:
                conn.execute(insert(PAPER_POSITIONS), rows)

    def find_fill(self, client_order_id: str) -> Fill | None:
        with self.store.engine.connect() as conn:
            r = conn.execute(
                select(PAPER_FILLS).where(
                    PAPER_FILLS.c.account == self.account, PAPER_FILLS.c.client_order_id == client_order_id
                )
            ).first()
        if r is None:
            return None
        return Fill(r.symbol, Side(r.side), r.quantity, r.price, r.fee, r.client_order_id, r.timestamp)

    def _write_account(self, conn: Connection, cash: Decimal, fill_count: int) -> None:
        conn.execute(_UPDATE_ACCOUNT, {"acct": self.account, "cash": cash, "fills": fill_count, "now": _now()})


def _now() -> datetime:
    return datetime.now(UTC)
