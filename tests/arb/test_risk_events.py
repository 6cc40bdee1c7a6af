"""Risk decisions, the circuit breaker, the event bus, metrics and the record tables."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from prometheus_client import generate_latest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from defipm.arb.events import ArbitrageOpportunity, EventBus, ExecutionResult, RiskAlert
from defipm.arb.metrics import ArbMetrics
from defipm.arb.opportunity import Opportunity, Rejection
from defipm.arb.records import ArbitrageOpportunityRecord, ExecutionResultRecord, execution_row, opportunity_row
from defipm.arb.risk import ArbRiskConfig, ArbRiskManager
from defipm.store.models import Base

T0 = datetime(2025, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _opp(net: int = 10**16, amount: int = 10**18) -> Opportunity:
    return Opportunity(
        edges=(0, 3),
        tokens=("0xa", "0xb", "0xa"),
        pools=("0xp", "0xq"),
        kinds=("v2", "v2"),
        amount_in=amount,
        amounts=(amount, 5, amount + net + 10**15),
        premium=0,
        gross_profit=net + 10**15,
        gas_units=100_000,
        gas_cost=10**15,
        net_profit=net,
        net_profit_native=net,
        method="closed-form",
        detected_at=T0,
        log_rate=0.01,
    )


def test_validation_rules_and_reasons() -> None:
    bus = EventBus()
    alerts: list[RiskAlert] = []
    bus.subscribe(RiskAlert, alerts.append)
    risk = ArbRiskManager(
        ArbRiskConfig(min_profit_native=10**15, max_trade_per_token={"0xa": 10**19}), bus=bus, clock=Clock()
    )
    same = lambda o: o  # noqa: E731
    assert risk.check(_opp(), same).approved
    assert "below minimum" in risk.check(_opp(net=10**14), same).reason
    assert "limit" in risk.check(_opp(amount=10**20), same).reason
    gone = risk.check(_opp(), lambda o: Rejection(o.edges, "unprofitable", "no size is profitable"))
    assert not gone.approved and "re-quote" in gone.reason
    risk.pause()
    assert "pause" in risk.check(_opp(), same).reason
    risk.resume()
    assert len(risk.decisions) == 5 and all(d.reason for d in risk.decisions)
    assert any(a.check == "validation" for a in alerts)


def test_circuit_breaker_opens_and_closes_after_cooldown() -> None:
    clock = Clock()
    risk = ArbRiskManager(ArbRiskConfig(breaker_failures=2, breaker_cooldown_s=60), clock=clock)
    same = lambda o: o  # noqa: E731
    risk.record_execution(False, -100)
    assert risk.check(_opp(), same).approved
    risk.record_execution(True, -5)  # a losing success counts as a failure
    assert "circuit breaker" in risk.check(_opp(), same).reason
    clock.now += timedelta(seconds=61)
    assert risk.check(_opp(), same).approved
    assert risk.daily_loss() == 105


def test_daily_loss_limit_resets_next_day() -> None:
    clock = Clock()
    risk = ArbRiskManager(ArbRiskConfig(daily_loss_limit_native=1000, breaker_failures=99), clock=clock)
    risk.record_execution(False, -1000)
    assert "daily loss" in risk.check(_opp(), lambda o: o).reason
    clock.now += timedelta(days=1)
    assert risk.check(_opp(), lambda o: o).approved


def _events() -> tuple[ArbitrageOpportunity, ExecutionResult]:
    opp = ArbitrageOpportunity(
        T0, "op1", "triangular", ("0xa", "0xb", "0xc", "0xa"), ("0xp", "0xq", "0xr"), 10**30, 2**70, 2**65, 0.9
    )
    res = ExecutionResult(
        T0, "op1", "flash", True, "0x" + "1" * 64, 2**69, 250_000, 12.5, 830.0, actual_profit_native=10**17
    )
    return opp, res


def test_bus_metrics_and_a_failing_subscriber() -> None:
    bus = EventBus()
    metrics = ArbMetrics()
    metrics.attach(bus)
    seen: list[object] = []
    bus.subscribe(ArbitrageOpportunity, lambda e: 1 / 0)
    bus.subscribe(ArbitrageOpportunity, seen.append)
    opp, res = _events()
    bus.publish(opp)
    bus.publish(res)
    assert seen == [opp] and len(bus.errors) == 1
    text = generate_latest(metrics.registry).decode()
    assert 'defipm_arb_opportunities_found_total{strategy_type="triangular"} 1.0' in text
    assert "defipm_arb_gas_used_total 250000.0" in text
    assert "defipm_arb_profit_native_total 0.1" in text


def test_records_round_trip_exact_amounts() -> None:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine, tables=[ArbitrageOpportunityRecord.__table__, ExecutionResultRecord.__table__])
    opp, res = _events()
    with Session(engine) as s:
        s.add(opportunity_row(opp))
        s.flush()
        s.add(execution_row(res))
        s.commit()
        row = s.scalars(select(ArbitrageOpportunityRecord)).one()
        assert int(row.estimated_profit) == 2**70 and int(row.amount_in) == 10**30
        ex = s.scalars(select(ExecutionResultRecord)).one()
        assert int(ex.actual_profit) == 2**69 and ex.success and ex.gas_used == 250_000


def test_replace_keeps_opportunity_frozen() -> None:
    o = _opp()
    assert replace(o, net_profit=1).net_profit == 1 and o.net_profit == 10**16
