"""The planner's guarantees, as properties over random books, prices and targets."""

from decimal import Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from defipm import InstrumentRules, PlannerConfig, Weights, plan_rebalance
from defipm.core.orders import Side, SkipReason

SYMBOLS = ["A", "B", "C", "D", "E"]
RULES = {
    "A": InstrumentRules(size_step=Decimal("0.001"), min_notional=Decimal(10), taker_fee=Decimal("0.0005")),
    "B": InstrumentRules(size_step=Decimal("1"), min_notional=Decimal(10)),
    "C": InstrumentRules(size_step=Decimal("0.01"), min_notional=Decimal(0)),
    "D": InstrumentRules(size_step=Decimal("0.1"), min_notional=Decimal(5)),
    "E": InstrumentRules(size_step=Decimal("0.00001"), min_notional=Decimal(1)),
}

prices_st = st.fixed_dictionaries(
    {s: st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100_000), places=2) for s in SYMBOLS}
)
positions_st = st.dictionaries(
    st.sampled_from(SYMBOLS), st.decimals(min_value=-50, max_value=50, places=3).filter(lambda d: d != 0), max_size=5
)
weights_st = st.dictionaries(st.sampled_from(SYMBOLS), st.floats(min_value=-0.5, max_value=0.5), max_size=5)


def apply(positions, plan):
    out = dict(positions)
    for o in plan.orders:
        out[o.symbol] = out.get(o.symbol, Decimal(0)) + o.signed_quantity
    return out


@settings(max_examples=300, deadline=None)
@given(positions_st, prices_st, weights_st, st.sampled_from([0.0, 0.01]))
def test_planner_properties(positions, prices, weights, band):
    equity = Decimal(50_000)
    target = Weights(weights)
    plan = plan_rebalance(positions, prices, equity, target, RULES, PlannerConfig(no_trade_band=band))

    # reductions strictly before increases
    kinds = [o.reduce_only for o in plan.orders]
    assert kinds == sorted(kinds, reverse=True)
    for o in plan.orders:
        r = RULES[o.symbol]
        assert o.quantity > 0
        assert o.quantity % r.size_step == 0 or (o.reduce_only and o.quantity == abs(positions.get(o.symbol, 0)))
        assert o.quantity * prices[o.symbol] >= r.min_notional
        if o.reduce_only:
            cur = positions[o.symbol]
            assert (cur > 0 and o.side is Side.SELL) or (cur < 0 and o.side is Side.BUY)
            assert o.quantity <= abs(cur)

    after = apply(positions, plan)
    skipped = {s.symbol for s in plan.skipped}
    for s in SYMBOLS:
        q = after.get(s, Decimal(0))
        w = target.get(s, 0.0)
        if s in skipped:
            continue
        # never above the target size in absolute terms, never on the wrong side
        limit = abs(Decimal(repr(w))) * equity / prices[s]
        assert abs(q) <= limit + Decimal("1e-18")
        if q:
            assert (q > 0) == (w > 0)
        if w == 0:
            assert q == 0  # positions absent from the target are closed


def test_gross_never_above_target_after_rounding():
    prices = {"A": Decimal("33333.33"), "B": Decimal("7.77")}
    target = Weights({"A": 0.5, "B": 0.5})
    plan = plan_rebalance({}, prices, Decimal(10_000), target, RULES)
    after = apply({}, plan)
    gross = sum(abs(q) * prices[s] for s, q in after.items())
    assert gross <= Decimal(10_000)
    assert after["A"] == Decimal("0.149")  # 5000/33333.33 = 0.15000..., reserve for fees takes it below 0.150
    assert after["B"] == Decimal("643")


def test_flip_is_a_close_then_an_open_and_band_and_min_notional_are_reported():
    prices = {"A": Decimal(100), "E": Decimal(100), "C": Decimal(100), "D": Decimal(1)}
    positions = {"A": Decimal("2"), "E": Decimal("1.00"), "C": Decimal("0.05")}
    target = Weights({"A": -0.02, "E": 0.0101, "D": 0.0004})
    plan = plan_rebalance(
        positions, prices, Decimal(10_000), target, RULES, PlannerConfig(no_trade_band=0.001, reserve_fees=False)
    )
    a = [o for o in plan.orders if o.symbol == "A"]
    assert [(o.side, o.quantity, o.reduce_only) for o in a] == [
        (Side.SELL, Decimal(2), True),
        (Side.SELL, Decimal(2), False),
    ]
    reasons = {s.symbol: s.reason for s in plan.skipped}
    assert reasons["E"] is SkipReason.NO_TRADE_BAND
    small = plan_rebalance(
        {}, prices, Decimal(10_000), Weights({"D": 0.0004}), RULES, PlannerConfig(reserve_fees=False)
    )
    assert not small.orders
    assert small.skipped[0].reason is SkipReason.MIN_NOTIONAL
    assert "below minimum notional 5" in small.skipped[0].detail  # 4 units x $1 < D's $5 minimum
    # C is not in the target: it is closed (0.05 x 100 = 5 >= C's minimum of 0)
    assert any(o.symbol == "C" and o.reduce_only and o.quantity == Decimal("0.05") for o in plan.orders)


def test_missing_price_for_held_asset_is_an_error():
    import pytest

    from defipm import MissingPriceError

    with pytest.raises(MissingPriceError, match="B"):
        plan_rebalance({"B": Decimal(1)}, {"A": Decimal(1)}, Decimal(100), Weights({"A": 0.5}))


def test_hyperliquid_style_price_rounding():
    r = InstrumentRules(price_sig_figs=5, max_price_decimals=4)
    assert r.round_price(Decimal("1234.5678"), up=True) == Decimal("1234.6")
    assert r.round_price(Decimal("1234.5678"), up=False) == Decimal("1234.5")
    assert r.round_price(Decimal("0.123456789"), up=False) == Decimal("0.1234")
    assert r.round_price(Decimal("123456.7"), up=False) == Decimal("123450")


def test_flip_with_a_dust_position_is_one_order_through_zero():
    prices = {"D": Decimal(1)}
    plan = plan_rebalance(
        {"D": Decimal("2")}, prices, Decimal(1000), Weights({"D": -0.5}), RULES, PlannerConfig(reserve_fees=False)
    )
    assert [(o.side, o.quantity, o.reduce_only) for o in plan.orders] == [(Side.SELL, Decimal(502), False)]


def test_sizes_round_down_exactly_even_past_28_digits():
    # 2.99...9 (28 nines) / 1 rounds to 3 at Decimal's 28 digits: flooring must not round up first
    almost_three = Decimal("2." + "9" * 28)
    assert InstrumentRules(size_step=Decimal(1)).round_size(almost_three) == 2
    prices = {"B": Decimal(1)}
    equity = Decimal("3." + "9" * 27)  # 1 x equity / price = 3.99...9: three whole units, not four
    whole_units = {"B": InstrumentRules(size_step=Decimal(1))}
    plan = plan_rebalance({}, prices, equity, Weights({"B": 1.0}), whole_units, PlannerConfig(reserve_fees=False))
    assert [(o.side, o.quantity) for o in plan.orders] == [(Side.BUY, Decimal(3))]


def test_a_price_too_small_to_size_is_skipped_by_name_not_an_error():
    """Issue 12.4: a price of 1e-17 made the planner's exact floor division raise DivisionImpossible."""
    plan = plan_rebalance(
        {}, {"A": Decimal("1e-17"), "B": Decimal(100)}, Decimal(10_000), Weights({"A": 0.5, "B": 0.5})
    )
    assert [o.symbol for o in plan.orders] == ["B"]
    [skipped] = plan.skipped
    assert skipped.symbol == "A" and skipped.reason is SkipReason.SIZE_OUT_OF_RANGE
    assert "size out of range at price 1E-17" in skipped.detail


@settings(max_examples=200, deadline=None)
@given(
    prices=st.fixed_dictionaries(
        {s: st.decimals(min_value=Decimal("1e-40"), max_value=Decimal("1e40"), allow_nan=False) for s in SYMBOLS}
    ),
    positions=st.dictionaries(st.sampled_from(SYMBOLS), st.decimals(-(10**20), 10**20, allow_nan=False, places=8)),
    weights=st.dictionaries(st.sampled_from(SYMBOLS), st.floats(-1e308, 1e308, allow_nan=False)),
    equity=st.decimals(min_value=Decimal("1e-10"), max_value=Decimal("1e30"), allow_nan=False),
)
def test_the_planner_never_raises_on_extreme_finite_input(prices, positions, weights, equity):
    """Prices, sizes and weights at any finite magnitude: orders or skipped trades, never an arithmetic error."""
    plan = plan_rebalance(positions, prices, equity, Weights(weights), RULES)
    assert all(o.quantity > 0 for o in plan.orders)


def test_a_target_or_a_change_under_one_size_step_is_reported_not_dropped():
    prices = {"B": Decimal(100)}
    # 0.005 of $1,000 is $5: less than one whole unit (B's step) at $100, so nothing can be bought
    tiny = plan_rebalance({}, prices, Decimal(1_000), Weights({"B": 0.005}), RULES, PlannerConfig(reserve_fees=False))
    (skipped,) = tiny.skipped
    assert not tiny.orders and skipped.reason is SkipReason.STEP_ROUNDING
    assert skipped.symbol == "B" and skipped.signed_quantity == Decimal("0.05")
    # a held 2.5 units off the grid: the target of 3 units is a change of half a step, not an order
    off_grid = plan_rebalance(
        {"B": Decimal("2.5")}, prices, Decimal(1_000), Weights({"B": 0.3}), RULES, PlannerConfig(reserve_fees=False)
    )
    assert not off_grid.orders and [s.reason for s in off_grid.skipped] == [SkipReason.STEP_ROUNDING]
    assert off_grid.skipped[0].signed_quantity == Decimal("0.5")


def test_a_tick_rounds_a_28_digit_price_on_the_right_side() -> None:
    """``price / tick`` rounded to 28 digits before the floor: 9.99...9 (28 digits) on a 0.5 tick rounded *down*
    to 10, above the price; 0.30...01 on a 0.03 tick rounded *up* to 0.3, below it."""
    assert InstrumentRules(price_tick=Decimal("0.5")).round_price(Decimal("9." + "9" * 27), up=False) == Decimal("9.5")
    up = InstrumentRules(price_tick=Decimal("0.03")).round_price(Decimal("0.3" + "0" * 26 + "1"), up=True)
    assert up == Decimal("0.33")


@settings(max_examples=200, deadline=None)
@given(
    digits=st.integers(min_value=1, max_value=10**28 - 1),
    exponent=st.integers(min_value=-30, max_value=-10),
    tick=st.sampled_from(["0.5", "0.03", "0.25", "7", "0.0001"]),
)
def test_a_tick_never_rounds_past_the_price(digits: int, exponent: int, tick: str) -> None:
    price, step = Decimal(digits).scaleb(exponent), Decimal(tick)
    r = InstrumentRules(price_tick=step)
    down, up = r.round_price(price, up=False), r.round_price(price, up=True)
    assert down <= price <= up and up - down <= step
    assert down % step == 0 and up % step == 0


@settings(max_examples=300, deadline=None)
@given(
    digits=st.integers(min_value=1, max_value=10**28 - 1),
    exponent=st.integers(min_value=-40, max_value=40),
    tick=st.sampled_from(["0.5", "0.03", "7", "1E-18", "1E+3"]),
    sig_figs=st.none() | st.integers(min_value=1, max_value=28),
    decimals=st.none() | st.integers(min_value=0, max_value=18),
)
def test_any_price_is_rounded_exactly_or_refused_by_name(
    digits: int, exponent: int, tick: str, sig_figs: int | None, decimals: int | None
) -> None:
    """Past 28 digits of ticks (1e30 on a 0.01 tick) the grid is still exact; a rounded price that needs more than
    28 significant digits is a ``ValueError`` naming the price, never a bare ``decimal.InvalidOperation``."""
    price, step = Decimal(digits).scaleb(exponent), Decimal(tick)
    r = InstrumentRules(price_tick=step, price_sig_figs=sig_figs, max_price_decimals=decimals)
    for up in (False, True):
        try:
            out = r.round_price(price, up=up)
        except ValueError as exc:
            assert str(price) in str(exc) and "28 significant digits" in str(exc)
            continue
        assert len(out.as_tuple().digits) <= 28
        with localcontext(prec=200):
            assert (out >= price) if up else (out <= price)
            if sig_figs is None and decimals is None:
                assert out % step == 0 and abs(out - price) < step


def test_a_price_far_past_28_digits_of_ticks_is_on_the_grid() -> None:
    assert InstrumentRules(price_tick=Decimal("0.01")).round_price(Decimal("1E+30"), up=True) == Decimal("1E+30")
    assert InstrumentRules(max_price_decimals=6).round_price(Decimal("1E+25"), up=False) == Decimal("1E+25")
    with pytest.raises(ValueError, match="positive finite"):
        InstrumentRules().round_price(Decimal("NaN"), up=True)
