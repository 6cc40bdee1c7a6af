"""Property: every order the venue plans passes the exchange's own checks (size step, price grid, $10, reduce-only,
IOC crossing), or is reported as skipped for a reason that holds (under $10, under one size step, inside the
no-trade band). No HTTP: the venue plans from the engine's views."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from defipm.core.orders import Side, SkipReason
from defipm.core.weights import Weights
from defipm.venues.hyperliquid.config import HyperliquidConfig
from defipm.venues.hyperliquid.rules import price_is_valid, size_is_valid, to_wire
from defipm.venues.hyperliquid.sim.engine import Engine, Position
from defipm.venues.hyperliquid.sim.seed import Seed
from defipm.venues.hyperliquid.venue import HyperliquidVenue

USER = "0x" + "11" * 20


@st.composite
def market(draw):
    coins = []
    for i in range(draw(st.integers(1, 4))):
        d = draw(st.integers(0, 5))
        mantissa = draw(st.integers(1000, 99999))
        exp = draw(st.integers(-(6 - d), 1))
        mid = Decimal(mantissa).scaleb(exp)
        value = draw(st.sampled_from([0, 0, 3, 7, 9.99, 15, 500, 20_000, -4, -12, -8_000]))
        weight = draw(st.sampled_from([0.0, 0.0, 0.00001, 0.0004, 0.05, 0.3, -0.2, -0.0002, 0.9]))
        coins.append((f"C{i}", d, mid, Decimal(repr(value)), weight))
    equity = Decimal(draw(st.integers(50, 2_000_000)))
    assume(sum(abs(c[3]) for c in coins) <= equity * 10)  # the starting book is within 20x margin
    return coins, equity


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(market())
def test_planned_orders_are_accepted_or_skipped_with_reason(case):
    coins, equity = case
    seed = Seed(
        universe=[{"name": n, "szDecimals": d, "maxLeverage": 50} for n, d, *_ in coins],
        mids={n: mid for n, _, mid, *_ in coins},
    )
    engine = Engine(seed)
    engine.add_account(USER, equity)
    acct = engine.accounts[USER]
    for name, d, mid, value, _ in coins:
        size = (value / mid).quantize(Decimal(1).scaleb(-d))
        if size:
            acct.positions[name] = Position(size, mid)
            acct.raw_usd -= size * mid
    venue = HyperliquidVenue(HyperliquidConfig(slippage=0.01))
    venue.load_state(engine.views.info_meta(), engine.views.all_mids(), engine.views.clearinghouse_state(USER))
    target = Weights({n: w for n, *_, w in coins})
    _, plan = venue.plan(target)
    band = Decimal(repr(venue.config.no_trade_band)) * equity
    for skipped in plan.skipped:
        value = abs(skipped.signed_quantity) * engine.mids[skipped.symbol]
        step = Decimal(1).scaleb(-venue.sz_decimals(skipped.symbol))
        assert {
            SkipReason.MIN_NOTIONAL: value < 10,
            SkipReason.STEP_ROUNDING: abs(skipped.signed_quantity) < step,
            SkipReason.NO_TRADE_BAND: value < band,
        }.get(skipped.reason, False), skipped
    for order in plan.orders:
        d = venue.sz_decimals(order.symbol)
        price = venue.aggressive_price(order.symbol, order.side, order.reference_price)
        assert size_is_valid(order.quantity, d), order
        assert price_is_valid(price, d), (order, price)
        assert order.quantity * engine.mids[order.symbol] >= 10, order
        wire = {
            "a": engine.index[order.symbol],
            "b": order.side is Side.BUY,
            "p": to_wire(price),
            "s": to_wire(order.quantity),
            "r": order.reduce_only,
            "t": {"limit": {"tif": "Ioc"}},
        }
        (status,) = engine.place_orders(USER, [wire])
        assert "error" not in status, (order, status)
    # after executing the plan, every targeted coin is near its target or its change was skipped
    venue.load_state(engine.views.info_meta(), engine.views.all_mids(), engine.views.clearinghouse_state(USER))
    held = venue.get_positions()
    skipped_coins = {s.symbol for s in plan.skipped}
    for name, d, mid, _, w in coins:
        if name in skipped_coins:
            continue
        step_value = Decimal(1).scaleb(-d) * mid
        target_value = Decimal(repr(w)) * equity
        assert abs(held.get(name, Decimal(0)) * mid - target_value) <= step_value + equity * Decimal("0.01") + 10
