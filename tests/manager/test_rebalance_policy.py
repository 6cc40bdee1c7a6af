"""The manager with a rebalance policy: it checks every cycle and trades when a rebalance is due (its schedule, a
new signal publication, drift), remembering the last rebalance across a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from defipm import CycleStatus, PaperVenue, PortfolioManager, StaticOracle, Store
from defipm.core.triggers import RebalancePolicy

T0 = datetime(2024, 1, 1, tzinfo=UTC)
PRICES = {"BTC": 40_000.0, "ETH": 2_000.0}
TARGET = {"BTC": 0.5, "ETH": -0.5}


class CountingOracle(StaticOracle):
    def __init__(self, weights, published=None):
        super().__init__(weights)
        self.calls = 0
        self.published = published

    def fetch_portfolio_weights(self, timestamp, universe):
        self.calls += 1
        return super().fetch_portfolio_weights(timestamp, universe)

    def publication(self, timestamp):
        return self.published


def venue(store=None) -> PaperVenue:
    v = PaperVenue(initial_cash=Decimal(10_000), store=store)
    v.update_market(T0, PRICES)
    return v


def test_nothing_due_is_a_waiting_cycle_that_asks_no_oracle_and_sends_nothing(store: Store):
    oracle, v = CountingOracle(TARGET), venue(store)
    m = PortfolioManager(oracle, v, store=store, rebalance=RebalancePolicy(every=timedelta(days=7), drift=0.05))
    first = m.manage_portfolio(T0)
    assert first.status is CycleStatus.TRADED and "rebalance: first rebalance" in first.notes
    fills = v.fill_count
    v.update_market(T0 + timedelta(days=1), {"BTC": 40_400.0, "ETH": 2_000.0})  # 1% move: little drift
    waiting = m.manage_portfolio(T0 + timedelta(days=1))
    assert waiting.status is CycleStatus.WAITING and waiting.ok and waiting.rebalance is None
    assert oracle.calls == 1 and v.fill_count == fills
    assert store.recent_cycles("default")[0].status == "waiting"


def test_drift_beyond_the_threshold_rebalances(store: Store):
    oracle, v = CountingOracle(TARGET), venue(store)
    m = PortfolioManager(oracle, v, store=store, rebalance=RebalancePolicy(drift=0.05))
    m.manage_portfolio(T0)
    v.update_market(T0 + timedelta(hours=1), {"BTC": 56_000.0, "ETH": 2_000.0})  # BTC +40%: 0.58 of equity
    report = m.manage_portfolio(T0 + timedelta(hours=1))
    assert report.status is CycleStatus.TRADED and any("drift: " in n and "from its target" in n for n in report.notes)
    assert abs(report.rebalance.weights_after["BTC"] - 0.5) < 0.01


def test_a_new_publication_rebalances(store: Store):
    oracle, v = CountingOracle(TARGET, published=datetime(2024, 1, 1)), venue(store)
    m = PortfolioManager(oracle, v, store=store, rebalance=RebalancePolicy(on_publication=True))
    m.manage_portfolio(T0)
    assert m.manage_portfolio(T0 + timedelta(hours=1)).status is CycleStatus.WAITING
    oracle.published = datetime(2024, 1, 2)
    report = m.manage_portfolio(T0 + timedelta(hours=2))
    assert report.status is CycleStatus.TRADED and any("new signal published 2024-01-02" in n for n in report.notes)


def test_the_last_rebalance_survives_a_restart(store: Store):
    policy = RebalancePolicy(every=timedelta(days=1))
    PortfolioManager(CountingOracle(TARGET), venue(store), store=store, rebalance=policy).manage_portfolio(T0)
    oracle = CountingOracle(TARGET)
    restarted = PortfolioManager(oracle, venue(store), store=store, rebalance=policy)
    assert restarted.manage_portfolio(T0 + timedelta(hours=5)).status is CycleStatus.WAITING
    assert oracle.calls == 0
    assert restarted.manage_portfolio(T0 + timedelta(days=1)).status is CycleStatus.TRADED


def test_the_rebalance_section_of_a_config_builds_tranches_and_the_policy(tmp_path):
    import pytest

    from defipm.assembly import build_portfolio
    from defipm.config import load_settings
    from defipm.core.errors import ConfigError
    from defipm.oracles.tranches import TranchedOracle

    path = tmp_path / "defipm.toml"
    body = f"""
database = "sqlite:///{tmp_path / "db.sqlite"}"
[oracle]
kind = "static"
[oracle.params]
weights = {{ SYN000 = 0.5 }}
[rebalance]
tranches = 3
drift = 0.05
on_publication = true
"""
    path.write_text(body)
    with build_portfolio(load_settings(path)) as portfolio:
        assert isinstance(portfolio.oracle, TranchedOracle) and portfolio.oracle.tranches == 3
        assert portfolio.manager.rebalance == RebalancePolicy(on_publication=True, drift=0.05)
    path.write_text(body.replace("drift = 0.05", "drift = 0"))
    with pytest.raises(ConfigError, match=r"rebalance\.drift"):
        load_settings(path)
