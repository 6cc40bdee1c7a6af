"""A cycle that resends an interrupted cycle's orders after a restart: the table, the line per cycle, ``--json`` and
the store give the same orders, fees, slippage and turnover (the table said ``orders 0, fees 0.00`` while the
store held the resent order's fee)."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from defipm.cli import app
from defipm.core.orders import Order, Side
from defipm.journal import SqlJournal
from defipm.store import Store
from defipm.store.models import OrderRecord

runner = CliRunner()
RESENT_QTY = Decimal(25)


def interrupted_portfolio(tmp_path: Path) -> tuple[Path, Store]:
    """A paper portfolio (fee and fixed slippage) whose journal holds one intent that a killed process never sent:
    a buy of SYN000 far past the target, so the restart's own rebalance sells part of it back."""
    db = tmp_path / "db.sqlite"
    cfg = tmp_path / "defipm.toml"
    cfg.write_text(
        f'run = "t"\ndatabase = "sqlite:///{db}"\n[oracle]\nkind = "static"\n[oracle.params]\n'
        'weights = { SYN000 = 0.1, SYN001 = 0.1 }\n[venue]\nkind = "paper"\n[venue.params]\ntaker_fee = 0.001\n'
        "[venue.params.slippage]\nfixed_bps = 20\n[market]\nn_assets = 2\n"
    )
    store = Store(f"sqlite:///{db}")
    SqlJournal(store, "t").record_intents(
        [Order("SYN000", Side.BUY, RESENT_QTY, reference_price=Decimal(100))], "killed-cycle"
    )
    return cfg, store


def stored_cycle(cfg: Path, store: Store) -> tuple[dict, Decimal, Decimal]:
    """The newest stored cycle as ``status --json`` shows it, and the slippage and fill notional of the order rows
    it sent (the journal's own record: reference price against average fill price)."""
    status = runner.invoke(app, ["status", "-c", str(cfg), "--json"])
    assert status.exit_code == 0, status.output
    cycle = json.loads(status.stdout)["recent_cycles"][0]
    with store.engine.connect() as conn:
        rows = conn.execute(select(OrderRecord).where(OrderRecord.sent_cycle_id == cycle["cycle_id"])).all()
    slippage = notional = Decimal(0)
    for o in rows:
        sign = 1 if o.side == "buy" else -1
        slippage += sign * (o.average_price - o.reference_price) * o.filled_quantity
        notional += o.average_price * o.filled_quantity
    assert any(o.quantity == RESENT_QTY and o.cycle_id == "killed-cycle" for o in rows)  # the resent order counts
    return cycle, slippage, notional


def test_the_json_cycle_counts_the_resent_order_as_the_store_does(tmp_path: Path) -> None:
    cfg, store = interrupted_portfolio(tmp_path)
    result = runner.invoke(app, ["rebalance", "-c", str(cfg), "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    stored, slippage, notional = stored_cycle(cfg, store)
    resent = [o for o in record["orders"] if o["resent"]]
    assert [Decimal(o["quantity"]) for o in resent] == [RESENT_QTY]
    assert record["orders_sent"] == stored["orders_sent"] == len(record["orders"]) >= 2
    assert Decimal(record["fees"]) == Decimal(stored["fees"]) == sum(Decimal(o["fees"]) for o in record["orders"])
    assert Decimal(record["slippage"]) == slippage > 0
    assert record["turnover"] == stored["turnover"] == pytest.approx(float(notional / Decimal(10_000)), rel=1e-3)


def test_the_line_per_cycle_counts_the_resent_order_as_the_store_does(tmp_path: Path) -> None:
    cfg, store = interrupted_portfolio(tmp_path)
    result = runner.invoke(app, ["run", "-c", str(cfg), "--every", "1s", "--max-cycles", "1"])
    assert result.exit_code == 0, result.output
    line = dict(f.split("=", 1) for f in result.stdout.split() if "=" in f)
    stored, slippage, _ = stored_cycle(cfg, store)
    assert int(line["orders"]) == stored["orders_sent"] >= 2
    assert Decimal(line["fees"]) == Decimal(stored["fees"]) > 0
    assert Decimal(line["slippage"]) == slippage > 0
    assert float(line["turnover"]) == stored["turnover"] > 0


def test_the_cycle_table_counts_the_resent_order_as_the_store_does(tmp_path: Path) -> None:
    cfg, store = interrupted_portfolio(tmp_path)
    result = runner.invoke(app, ["rebalance", "-c", str(cfg)])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if re.match(r"\W*\d{4}-\d\d-\d\d \d\d:\d\d", line))
    cells = [c.strip() for c in re.split(r"[│┃|]", row) if c.strip()]
    _, status, _, orders, fees, slip, turnover, _ = cells
    stored, slippage, _ = stored_cycle(cfg, store)
    assert status == "traded" and int(orders) == stored["orders_sent"] >= 2
    assert fees == f"{float(stored['fees']):,.2f}" != "0.00"
    assert slip == f"{float(slippage):,.2f}" != "0.00"
    assert turnover == f"{stored['turnover']:.1%}" != "0.0%"
