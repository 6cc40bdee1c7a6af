"""``defipm rebalance --dry-run`` (issue 18 item 8): the plan with sizes, notional, skipped trades and their
reasons, expected fees and slippage; nothing sent, nothing recorded; the real cycle then sends that plan."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from defipm.cli import app
from defipm.store import Store

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


def test_dry_run_prints_the_plan_and_changes_nothing(tmp_path: Path, static_paper_config: Path):
    cfg = static_paper_config
    result = invoke("rebalance", "-c", str(cfg), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "SYN000" in result.output and "buy" in result.output and "sell" in result.output
    assert "skipped SYN002" in result.output and "no_trade_band" in result.output
    summary = next(line for line in result.output.splitlines() if "order(s), notional" in line)
    assert summary.startswith("2 order(s)") and "(1 skipped)" in summary
    notional, fees, slippage = (
        float(re.search(rf"{label} ([\d,.]+\d)", summary).group(1).replace(",", ""))  # type: ignore[union-attr]
        for label in ("notional", "expected fees", "expected slippage")
    )
    assert notional > 0 and abs(fees - notional * 0.001) < 0.01 and slippage == 0  # the venue models no slippage
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    assert store.recent_cycles("cli", 10) == []  # nothing recorded (run "cli": the config's)
    store.close()
    real = invoke("rebalance", "-c", str(cfg), "--yes")
    assert real.exit_code == 0, real.output
    assert "traded" in real.output
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    assert len(store.recent_cycles("cli", 10)) == 1  # the same run's store: the dry run's empty answer counted
    store.close()


def test_dry_run_while_halted_says_so(static_paper_config: Path):
    cfg = static_paper_config
    assert invoke("kill-switch", "on", "-c", str(cfg), "--reason", "maintenance").exit_code == 0
    result = invoke("rebalance", "-c", str(cfg), "--dry-run")
    assert result.exit_code == 1 and "trading halted: maintenance" in result.output


def test_a_changed_initial_cash_is_refused_naming_the_account_and_the_fix(tmp_path: Path, static_paper_config: Path):
    cfg = static_paper_config
    assert invoke("rebalance", "-c", str(cfg), "--yes").exit_code == 0
    cfg.write_text(cfg.read_text().replace("initial_cash = 10000", "initial_cash = 25000"))
    again = invoke("rebalance", "-c", str(cfg), "--yes")
    assert again.exit_code != 0
    assert "opened with 10000 cash" in again.output and "initial_cash = 25000" in again.output
    assert "remove initial_cash" in again.output and "Traceback" not in again.output
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    assert len(store.recent_cycles("cli", 10)) == 1  # the refused run recorded no cycle
    store.close()
    cfg.write_text(cfg.read_text().replace("initial_cash = 25000\n", ""))
    assert invoke("rebalance", "-c", str(cfg), "--yes").exit_code == 0  # left out: the stored books go on


def test_a_cycle_that_sends_no_order_says_nothing_to_trade(static_paper_config: Path):
    cfg = static_paper_config
    first = invoke("rebalance", "-c", str(cfg), "--yes")
    assert first.exit_code == 0 and "traded" in first.output and "nothing to trade" not in first.output
    again = invoke("rebalance", "-c", str(cfg), "--yes")  # already at target: every change inside the band
    assert again.exit_code == 0, again.output
    assert "nothing to trade" in again.output and "traded" not in again.output


def test_the_dry_run_expects_the_slippage_the_cycle_then_pays(tmp_path: Path, static_paper_config: Path):
    """The plan's expected slippage is the paper venue's own fill model (spread and square-root impact on the bar's
    volume), not the planner's reserve: without noise the real cycle pays exactly it."""
    cfg = static_paper_config
    cfg.write_text(
        cfg.read_text().replace(
            "taker_fee = 0.001\n", "taker_fee = 0.001\n[venue.params.slippage]\nfixed_bps = 5\nimpact = 0.5\n"
        )
    )
    plan = json.loads(invoke("rebalance", "-c", str(cfg), "--dry-run", "--json").stdout)
    expected = Decimal(plan["expected_slippage"])
    notional = sum(Decimal(o["notional"]) for o in plan["orders"])
    assert expected > notional * Decimal("0.0005")  # more than the spread alone: the impact term counts
    real = json.loads(invoke("rebalance", "-c", str(cfg), "--yes", "--json").stdout)
    assert abs(Decimal(real["slippage"]) - expected) <= expected * Decimal("1e-9")
