"""Output for pipes and machines (issue 18, items 2 and 6, the new-user review): with ``--json`` stdout holds only
the JSON (notes go to stderr), ``rebalance --dry-run --json`` is the plan as JSON, nothing is cut at 80 columns off
a terminal, one date format, and the backtest summary says why a run halted."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from defipm.backtest.report import run_story
from defipm.backtest.result import BacktestResult, BarEvent
from defipm.cli import app

runner = CliRunner()
NARROW = {"COLUMNS": "40"}  # off a terminal this must not matter


def test_dry_run_json_is_the_plan(static_paper_config: Path) -> None:
    result = runner.invoke(app, ["rebalance", "-c", str(static_paper_config), "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)  # nothing but the JSON on stdout
    assert plan["sent"] is False and {o["side"] for o in plan["orders"]} == {"buy", "sell"}
    for order in plan["orders"]:
        assert set(order) == {"symbol", "side", "quantity", "price", "notional", "fee"}
        notional = float(order["quantity"]) * float(order["price"])
        assert (
            abs(abs(notional) - float(order["notional"])) < 1e-6 and abs(float(order["fee"]) - notional * 1e-3) < 1e-6
        )
    (skip,) = plan["skipped"]
    assert skip["symbol"] == "SYN002" and skip["reason"] == "no_trade_band" and skip["detail"]
    total = sum(float(o["notional"]) for o in plan["orders"])
    assert float(plan["notional"]) == pytest.approx(total)
    assert float(plan["expected_slippage"]) == 0  # the venue's fill model (none here), not the planner's reserve


def test_tables_off_a_terminal_are_never_cut_and_dates_have_the_full_year(static_paper_config: Path) -> None:
    cfg = str(static_paper_config)
    traded = runner.invoke(app, ["rebalance", "-c", cfg, "--yes"], env=NARROW)
    assert traded.exit_code == 0, traded.output
    assert "…" not in traded.stdout and "orders" in traded.stdout and "turnover" in traded.stdout
    assert re.search(r"\b20\d\d-\d\d-\d\d \d\d:\d\d\b", traded.stdout), traded.stdout
    status = runner.invoke(app, ["status", "-c", cfg], env=NARROW)
    assert status.exit_code == 0 and "…" not in status.stdout, status.output
    assert re.search(r"\b20\d\d-\d\d-\d\d \d\d:\d\d\b", status.stdout)


def backtest_config(tmp_path: Path, market: Path, max_drawdown: float | None = None) -> Path:
    path = tmp_path / "bt.toml"
    risk = f'[risk]\nmax_drawdown = {max_drawdown}\non_breach = "freeze"\n' if max_drawdown else ""
    path.write_text(f'[oracle]\nkind = "equal_weight"\n[market]\nsource = "csv"\npath = "{market}"\n{risk}')
    return path


def backtest(tmp_path: Path, prices: Path, cfg: Path, *extra: str):
    args = ["backtest", "-c", str(cfg), "--data", str(prices), "--symbols", "BTC,ETH", "--start", "2024-06-01",
            "--benchmark", "none", "--out", str(tmp_path / f"out{len(list(tmp_path.iterdir()))}"), *extra]  # fmt: skip
    return runner.invoke(app, args, env=NARROW)


def test_backtest_json_is_only_json_and_notes_go_to_stderr(tmp_path: Path, shared_prices: Path) -> None:
    prices = shared_prices / "daily"
    other = backtest(tmp_path, prices, backtest_config(tmp_path, tmp_path), "--json")
    assert other.exit_code == 0, other.output
    assert json.loads(other.stdout)["summary"]["total_return"] is not None
    assert "note: --config [market] (source = 'csv') is not used" in other.stderr
    same = backtest(tmp_path, prices, backtest_config(tmp_path, prices), "--json")
    assert same.exit_code == 0 and "[market]" not in same.output, same.output  # --data is the market's folder
    json.loads(same.stdout)


def test_backtest_summary_says_why_it_halted(tmp_path: Path, shared_prices: Path) -> None:
    prices = shared_prices / "daily"
    result = backtest(tmp_path, prices, backtest_config(tmp_path, prices, max_drawdown=0.05))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "halted cycles" in out and "…" not in out
    halt = re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d  halt: .*drawdown.*", out)
    assert halt and out.index("halted cycles") < halt.start() < out.index("report:"), out


def replay(events: list[BarEvent], notes: list[str]) -> BacktestResult:
    n = 400
    zeros = np.zeros(n)
    stamps = np.arange("2024-01-01", n, dtype="datetime64[D]").astype("datetime64[ns]")
    return BacktestResult(
        timestamps=stamps, symbols=("A",), equity=np.ones(n), cash=zeros, weights=np.zeros((n, 1)),
        traded_notional=zeros, fees=zeros, funding=zeros, slippage=zeros, rebalanced=np.zeros(n, bool),
        periods_per_year=365.0, config=None, oracle="x", notes=notes, events=events,  # type: ignore[arg-type]
    )  # fmt: skip


@pytest.mark.parametrize(("breaches", "notes"), [(0, 0), (3, 2), (200, 0), (200, 50), (0, 50)])
def test_run_story_keeps_the_first_halt_and_counts_the_rest(breaches: int, notes: int) -> None:
    events = [BarEvent(k, "breach", f"max_weight: {k}") for k in range(breaches)]
    events.insert(min(len(events), 150), BarEvent(150, "halt", "drawdown breaker: 30% below peak"))
    result = replay(events, [f"left out: S{k}" for k in range(notes)])
    lines = run_story(result, limit=10)
    assert len(lines) <= 10
    assert any("halt: drawdown breaker: 30% below peak" in line for line in lines)
    shown_events = sum(": " in line and not line.startswith(("note", "...")) for line in lines)
    shown_notes = sum(line.startswith("note: ") for line in lines)
    assert shown_notes >= min(notes, 4)
    left = len(events) + notes - shown_events - shown_notes
    if left:
        assert lines[-1] == f"... and {len(events) - shown_events} more event(s), {notes - shown_notes} more note(s):" \
            " see summary.json and the report"  # fmt: skip
    else:
        assert len(lines) == len(events) + notes


def test_a_console_off_a_terminal_ignores_columns_and_wraps_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    from io import StringIO

    from rich.table import Table

    from defipm.cli_errors import CliConsole

    monkeypatch.setenv("COLUMNS", "40")
    out = StringIO()
    console = CliConsole(file=out)
    table = Table()
    for k in range(8):
        table.add_column(f"orders{k}")
    table.add_row(*["11.123456789"] * 8)
    console.print(table)
    lines = out.getvalue().splitlines()
    assert len(lines) == 5 and "11.123456789" in lines[3] and "…" not in out.getvalue()
    assert CliConsole(file=StringIO(), width=40).width == 40  # an explicit width is kept


def _stderr_lines(result) -> list[str]:  # type: ignore[no-untyped-def]
    return result.stderr.splitlines()


@pytest.mark.parametrize(
    ("given", "fixes"),
    [
        (  # both from the command line: the hint names -p, not the config's [oracle.params]
            ["--oracle", "static", "-p", 'weights={"BTC": 2, "ETH": 2}'],
            ["gross exposure 4 above max_gross 1 (edit -p max_gross=...)"],
        ),
        (
            ["--oracle", "static", "-p", 'weights={"BTC": 0.5, "ZZZ": 0.5}', "-p", "max_gross=2"],
            ["ZZZ: not in the venue's universe (it lists BTC, ETH) (edit -p weights=...)"],
        ),
    ],
)
def test_a_rejected_backtest_cycle_is_one_error_line_naming_where_the_value_came_from(
    tmp_path: Path, shared_prices: Path, given: list[str], fixes: list[str]
) -> None:
    """It was a WARNING log line, a blank line, then the error, whose fix said [oracle.params] for -p values."""
    args = ["backtest", "--data", str(shared_prices / "daily"), "--symbols", "BTC,ETH", "--start", "2024-06-01",
            "--benchmark", "none", "--out", str(tmp_path / "out"), *given]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    (line,) = _stderr_lines(result)  # one line: no log line, no blank line from the progress bar
    assert line.startswith("error: invalid weights at 2024-06-01 00:00 UTC: ")
    assert all(fix in line for fix in fixes) and "[oracle.params]" not in line and line.count(" at 2024") == 1


def test_a_rejected_paper_cycle_is_one_error_line_naming_the_config_key(static_paper_config: Path) -> None:
    text = static_paper_config.read_text().replace("SYN000 = 0.4", "SYN000 = 4.4")
    static_paper_config.write_text(text)
    result = runner.invoke(app, ["rebalance", "-c", str(static_paper_config), "--yes"])
    assert result.exit_code == 1
    lines = [line for line in _stderr_lines(result) if not line.startswith("prices: ")]
    assert lines == ["error: invalid weights: gross exposure 4.7005 above max_gross 1 (edit [oracle.params] max_gross)"]
    ran = runner.invoke(app, ["run", "-c", str(static_paper_config), "--max-cycles", "1"])
    assert [line for line in _stderr_lines(ran) if "invalid weights" in line] == [
        "cycle skipped: invalid weights: gross exposure 4.7005 above max_gross 1 (edit [oracle.params] max_gross)"
    ]


def test_a_weights_file_is_named_as_the_place_to_edit(tmp_path: Path, shared_prices: Path) -> None:
    weights = tmp_path / "weights.toml"
    weights.write_text("[weights]\nBTC = 2\nETH = 2\n")
    cfg = tmp_path / "defipm.toml"
    cfg.write_text(f'[oracle]\nkind = "static"\n[oracle.params]\npath = "{weights}"\nmax_gross = 1.5\n')
    result = backtest(tmp_path, shared_prices / "daily", cfg)
    assert result.exit_code == 1
    assert "above max_gross 1.5 (edit [oracle.params] max_gross)" in result.stderr
    weights.write_text("[weights]\nBTC = 1\nZZZ = 0.5\n")
    result = backtest(tmp_path, shared_prices / "daily", cfg)
    assert (
        f"ZZZ: not in the venue's universe (it lists BTC, ETH) (edit the file {weights}, set by [oracle.params] path)"
        in " ".join(result.stderr.split())
    )


def test_every_command_prints_through_a_cli_console() -> None:
    """A plain ``rich.console.Console`` takes COLUMNS (or 80) off a terminal and cuts cells (``defipm rl train``
    piped showed ``+80…``): every console a command builds is a ``CliConsole`` (only ``cli_errors`` defines it)."""
    import ast

    import defipm

    root = Path(defipm.__file__).parent
    plain = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if name == "Console" and path.name != "cli_errors.py":
                    plain.append(f"{path.relative_to(root)}:{node.lineno}")
    assert plain == []
