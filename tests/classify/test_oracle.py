"""``ClassifierOracle``: built by the registry, rotates at period ends through the one manager loop, holds cash on
an empty set, records rotations in the store and resumes them after a restart, and shows them in the report."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from defipm.backtest import BacktestConfig, run_backtest
from defipm.backtest.report import write_html, write_json
from defipm.classify.records import latest_rotation, rotation_table, rotations_of
from defipm.core.errors import ConfigError
from defipm.core.orders import Side
from defipm.data.panel import PricePanel
from defipm.data.synthetic import synthetic_panel, write_synthetic_csv
from defipm.data.view import MarketView, ReplayClock
from defipm.manager import PortfolioManager
from defipm.oracles.classifier import ClassifierOracle
from defipm.registry import BuildContext, available_oracles, build_oracle
from defipm.store import Store
from defipm.venues.paper import PaperVenue

SCREEN = {"window_days": 10, "trend_short_days": 3, "trend_long_days": 6, "min_history_bars": 15, "period_days": 10}
NAMES = ["BTC", "ETH", "SOL", "ADA", "XRP", "LINK", "AVAX", "DOT"]


def swinging_panel(n_bars: int = 90) -> PricePanel:
    """Tokens whose leaders change every few weeks (phase-shifted waves on a noisy walk)."""
    k = np.arange(n_bars)[:, None]
    phase = np.arange(len(NAMES))[None, :] * 0.8
    rng = np.random.default_rng(3)
    log = 0.25 * np.sin(k / 6.0 + phase) + np.cumsum(rng.normal(0, 0.01, (n_bars, len(NAMES))), axis=0)
    noisy = synthetic_panel(len(NAMES), n_bars, seed=3, symbols=NAMES)
    return PricePanel.from_arrays(
        noisy.timestamps, NAMES, 100 * np.exp(log), volume=noisy.volume, interval=noisy.interval, source="test waves"
    )


def build(view: MarketView, store: Store | None = None, **params) -> ClassifierOracle:  # type: ignore[no-untyped-def]
    oracle = build_oracle("classifier", {**SCREEN, **params}, BuildContext(store=store, run="rot", market=view))
    assert isinstance(oracle, ClassifierOracle)
    return oracle


def test_the_registry_knows_the_classifier_and_refuses_unknown_params():
    assert available_oracles()["classifier"] == "defipm.oracles.classifier:ClassifierOracle"
    view = MarketView(swinging_panel(), 0)
    with pytest.raises(ConfigError, match=r"oracle.params.period: unknown key \(did you mean period_days\? accepted: "):
        build(view, period=30)
    with pytest.raises(ConfigError, match="needs market data"):
        build_oracle("classifier", {}, BuildContext())
    with pytest.raises(ConfigError, match=r"oracle.params.weighting.kind"):
        build(view, weighting={"kind": "classifier"})
    with pytest.raises(ConfigError, match=r"oracle.params.data: no such data folder /nowhere"):
        build_oracle("classifier", {"data": "/nowhere"}, BuildContext())
    with pytest.raises(
        ConfigError, match=r"oracle.params.symbol_map: unknown map 'binance' \(known: hyperliquid, bybit"
    ):
        build(view, symbol_map="binance")
    with pytest.raises(ConfigError, match=r"oracle.params.weighting: oracle: unknown kind 'momentm'"):
        build(view, weighting={"kind": "momentm"})


def test_a_backtest_rotates_at_each_period_end_and_holds_the_set_equally_within_it(tmp_path: Path):
    panel = swinging_panel()
    result = run_backtest(
        panel,
        lambda view: build(view, volume_threshold=0),
        BacktestConfig(schedule="1bars", benchmark=None, costs=_no_costs()),
    )
    rotations = result.rotations
    assert len(rotations) >= 5
    first = panel.start + timedelta(days=14)  # min_history_bars=15 bars: ready 14 days after the first close
    assert rotations[0].timestamp == first
    gaps = {(b.timestamp - a.timestamp).days for a, b in itertools.pairwise(rotations)}
    assert gaps == {10}
    assert any(r.added and r.dropped for r in rotations), "the waves change the leaders"
    times = result.timestamps.astype("datetime64[us]").astype(object)
    for a, b in zip(rotations, [*rotations[1:], None], strict=False):
        start = np.searchsorted(result.timestamps, np.datetime64(a.timestamp.replace(tzinfo=None), "ns"))
        stop = (
            len(times)
            if b is None
            else np.searchsorted(result.timestamps, np.datetime64(b.timestamp.replace(tzinfo=None), "ns"))
        )
        held = {result.symbols.index(s) for s in a.held}
        block = result.weights[start:stop]
        outside = [j for j in range(len(result.symbols)) if j not in held]
        assert np.abs(block[:, outside]).max(initial=0) < 1e-9, "nothing outside the period's set is held"
        if held:
            inside = block[:, sorted(held)]
            np.testing.assert_allclose(inside, 1.0 / len(held), atol=2e-3)  # rebalanced to equal weight every bar
    assert (
        result.weights[: np.searchsorted(result.timestamps, result.timestamps[0] + np.timedelta64(14, "D"))] == 0
    ).all()
    html = write_html(result, tmp_path / "report.html").read_text()
    assert f"Rotations ({len(rotations)})" in html and '"name":"rotations"' in html
    summary = json.loads(write_json(result, tmp_path / "summary.json").read_text())
    assert [r["held"] for r in summary["rotations"]] == [list(r.held) for r in rotations]


def _no_costs():  # type: ignore[no-untyped-def]
    from defipm.backtest import CostModel

    return CostModel(taker_fee=0.0)


def test_at_a_rotation_dropped_tokens_are_sold_before_new_ones_are_bought():
    panel = swinging_panel()
    clock = ReplayClock(panel)
    view = clock.view()
    oracle = build(view, volume_threshold=0)
    venue = PaperVenue(initial_cash=100_000, mode="spot")
    manager = PortfolioManager(oracle, venue)
    checked = 0
    for i in range(len(panel)):
        clock.advance(i)
        ts = panel.datetime_at(i)
        venue.update_market(ts, view.prices())
        before = len(oracle.rotations())
        report = manager.manage_portfolio(ts)
        rotated = oracle.rotations()[before:]
        if rotated and rotated[0].added and rotated[0].dropped and report.rebalance is not None:
            sides = [r.order.side for r in report.rebalance.results]
            symbols = [r.order.symbol for r in report.rebalance.results]
            assert sides == sorted(sides, key=lambda s: s is Side.BUY), "every sell comes before every buy"
            assert set(rotated[0].dropped) <= {s for s, side in zip(symbols, sides, strict=True) if side is Side.SELL}
            checked += 1
    assert checked >= 2


def test_an_empty_set_holds_cash_and_says_what_each_rule_excluded():
    panel = swinging_panel()
    result = run_backtest(
        panel, lambda view: build(view, volume_threshold=1e9), BacktestConfig(schedule="1bars", benchmark=None)
    )
    assert all(not r.held for r in result.rotations) and result.rotations
    assert result.traded_notional.sum() == 0 and result.equity[-1] == result.config.initial_cash
    notes = "\n".join(result.notes)
    assert "no token passed the screen: holding cash until" in notes
    for rotation in result.rotations:
        assert rotation.summary.startswith("0 of 8 token(s) kept")
        counts = dict(part.rsplit(" ", 1) for part in rotation.summary.split("excluded: ")[1].split(", "))
        assert sum(map(int, counts.values())) == 8 and int(counts["volume"]) > 0
    assert "holding cash until" in result.notes[0] and "min_history_bars=15" in result.notes[0]


def test_rotations_are_recorded_in_the_store_and_a_restart_resumes_the_period(store: Store):
    panel = swinging_panel()
    clock = ReplayClock(panel)
    oracle = build(clock.view(), store, volume_threshold=0)
    universe = list(panel.symbols)
    for i in range(0, 40):
        clock.advance(i)
        oracle.fetch_portfolio_weights(panel.datetime_at(i), universe)
    stored = rotations_of(store, "rot")
    assert [(r.timestamp, r.held) for r in stored] == [(r.timestamp, r.held) for r in oracle.rotations()]
    assert len(stored) == 3 and stored[0].period_end == stored[1].timestamp
    table = rotation_table(store, stored[-1].id)
    assert len(table) == len(NAMES) and sum(r["kept"] for r in table) == len(stored[-1].held)
    assert {r["reason"] for r in table if not r["kept"]} <= {"return", "trend", "category"}
    assert sum(stored[-1].excluded.values()) == len(NAMES) - len(stored[-1].held)

    restarted = build(MarketView(panel, 40), store, volume_threshold=0)  # same run, mid-period
    weights = restarted.fetch_portfolio_weights(panel.datetime_at(40), universe)
    assert set(weights) == set(stored[-1].held) and restarted.rotations() == ()
    assert any("resuming the set" in n for n in restarted.pop_notes())
    latest = latest_rotation(store, "rot", "classifier")
    assert latest is not None and latest.id == stored[-1].id and latest.params["window_days"] == 10

    changed = build(MarketView(panel, 40), store, volume_threshold=0, window_days=12)  # new settings: no resume
    changed.fetch_portfolio_weights(panel.datetime_at(40), universe)
    assert len(changed.rotations()) == 1 and any("settings changed" in n for n in changed.pop_notes())


def test_weights_of_another_oracle_are_restricted_to_the_set():
    panel = swinging_panel()
    view = MarketView(panel, 30)
    oracle = build(
        view, volume_threshold=0, weighting={"kind": "momentum", "params": {"lookback": 3, "n_long": 1, "n_short": 0}}
    )
    weights = oracle.fetch_portfolio_weights(panel.datetime_at(30), list(panel.symbols))
    assert len(weights) == 1 and next(iter(weights)) in oracle.held and next(iter(weights.values())) == 1.0
    assert oracle.constraints.allow_empty


def test_live_trading_screens_a_data_folder(tmp_path: Path):
    panel = swinging_panel()
    write_synthetic_csv(tmp_path / "prices", panel)
    oracle = build_oracle(
        "classifier",
        {**SCREEN, "volume_threshold": 0, "data": str(tmp_path / "prices"), "bar_label": "close"},
        BuildContext(run="live"),
    )
    assert isinstance(oracle, ClassifierOracle)
    backtested = build(MarketView(panel, 60), volume_threshold=0)
    t = panel.datetime_at(60)
    live = oracle.fetch_portfolio_weights(t, list(panel.symbols))
    assert live == backtested.fetch_portfolio_weights(t, list(panel.symbols))  # the same screen live and replayed
    later = oracle.fetch_portfolio_weights(panel.end + timedelta(days=5), list(panel.symbols))
    assert later is not None and any("newest bar" in n for n in oracle.pop_notes())


def test_bundle_contracts_map_to_the_venues_names(daily_panel):  # type: ignore[no-untyped-def]
    k = np.arange(30, dtype=float)
    panel = daily_panel({"1000PEPE": list(100 * 1.05**k), "BTC": list(100 + k), "ETH": list(100 - k)})
    view = MarketView(panel, len(panel) - 1)
    params = {**SCREEN, "include_meme": True, "volume_threshold": 0}
    on_hl = build_oracle("classifier", params, BuildContext(market=view, venue="hyperliquid"))
    assert on_hl.fetch_portfolio_weights(panel.end, ["kPEPE", "BTC"]) == {"kPEPE": 1.0}
    on_paper = build_oracle("classifier", params, BuildContext(market=view, venue="paper"))
    assert on_paper.fetch_portfolio_weights(panel.end, ["1000PEPE", "BTC"]) == {"1000PEPE": 1.0}


def test_a_window_longer_than_the_data_holds_cash_and_says_until_when():
    from defipm.oracles.equal_weight import EqualWeightOracle

    panel = swinging_panel()
    result = run_backtest(panel, lambda view: build(view, window_days=400), BacktestConfig(benchmark=None))
    assert result.rotations == () and result.traded_notional.sum() == 0
    assert result.notes == [
        f"{panel.start:%Y-%m-%d %H:%M}: classifier: holding cash until 2021-02-04: the data before then is shorter "
        "than the screen's 400-day window"
    ]
    assert run_backtest(panel, EqualWeightOracle(), BacktestConfig(benchmark=None)).rotations == ()
