"""The fill model keeps every fill price positive and bounded, caps participation with partial fills, and gives the
same numbers through its scalar path (the paper venue) and its array path (a vectorised simulator)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from defipm import OrderStatus, PaperVenue, SlippageModel
from defipm.venues.paper.fill_model import FillCosts, FillCostTable, fill_costs

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def test_zero_volume_bar_fills_within_the_cap_not_at_a_negative_price():
    """Issue 11.3: impact 0.1 on a zero-volume hourly bar used to sell BTC at -108,113.88 and buy at 208,113.88
    (a move of 0.1 x sqrt(1,000 / 1) = 316%). The move is capped at 10% (the default 1,000 bps)."""
    model = SlippageModel(impact=0.1)
    v = PaperVenue(initial_cash=Decimal(10_000), slippage=model, taker_fee=0)
    v.update_market(T0, {"BTC": 50_000.0}, {"BTC": 0.0})
    buy = v.execute_trade("BTC", "0.02")
    sell = v.execute_trade("BTC", "-0.02")
    assert buy.status is sell.status is OrderStatus.FILLED
    assert buy.fills[0].price == Decimal("55000.00")
    assert sell.fills[0].price == Decimal("45000.00")
    assert v.get_cash() == Decimal(10_000) - Decimal("0.02") * 10_000


def test_impact_charges_what_the_docstring_says():
    """impact 0.1: a fill of 1% of the bar's volume costs 0.1 x sqrt(0.01) = 1% (100 bps), 0.01% costs 10 bps."""
    model = SlippageModel(impact=0.1)
    assert fill_costs(model, 10_000.0, 1_000_000.0).slippage == pytest.approx(0.01, rel=1e-12)
    assert fill_costs(model, 100.0, 1_000_000.0).slippage == pytest.approx(0.001, rel=1e-12)
    assert fill_costs(model, 100.0, None).slippage == 0.0  # unknown volume: no impact term


def test_fee_is_charged_on_the_filled_notional_at_the_fill_price():
    costs = fill_costs(SlippageModel(fixed_bps=10), 1_000.0, None, fee_rate=0.0005)
    assert costs == FillCosts(1_000.0, 0.001, 0.0005 * 1_000.0 * 1.001)


def test_participation_cap_fills_part_of_an_order_and_refuses_on_a_bar_without_volume():
    model = SlippageModel(max_participation=0.1)
    v = PaperVenue(initial_cash=Decimal(100_000), slippage=model, taker_fee=0)
    v.update_market(T0, {"ETH": 2_000.0, "SOL": 100.0}, {"ETH": 100_000.0, "SOL": 0.0})
    result = v.execute_trade("ETH", 10)  # 20,000 asked, 10% of 100,000 = 10,000 fills
    assert result.status is OrderStatus.PARTIALLY_FILLED
    assert result.filled_quantity == Decimal(5) and v.get_positions() == {"ETH": Decimal(5)}
    nothing = v.execute_trade("SOL", 1)
    assert nothing.status is OrderStatus.REJECTED and "nothing fills" in nothing.error
    assert "SOL" not in v.get_positions()


@dataclass(frozen=True, slots=True)
class BrokenModel(SlippageModel):
    """A custom model answering whatever it is told to: the venue must refuse an impossible fill."""

    answer: float = 0.0

    def costs(self, notional, volume, fee_rate=0.0, noise=0.0):  # type: ignore[no-untyped-def,override]
        return FillCosts(notional, self.answer, 0.0)


@pytest.mark.parametrize("answer", [1.0, 1.5, math.nan, math.inf, -0.5])
def test_the_venue_refuses_a_fill_price_that_is_not_positive_and_finite_whatever_the_model(answer):
    v = PaperVenue(initial_cash=Decimal(10_000), slippage=BrokenModel(fixed_bps=1, answer=answer))
    v.update_market(T0, {"BTC": 50_000.0})
    result = v.execute_trade("BTC", "-0.01")
    assert result.status is OrderStatus.REJECTED
    assert v.get_positions() == {} and v.get_cash() == Decimal(10_000)


@pytest.mark.parametrize(
    ("field", "value"),
    [("max_slippage_bps", 10_000), ("max_slippage_bps", 0), ("max_participation", 0), ("max_participation", 1.5),
     ("impact", math.nan), ("volume_floor", math.inf), ("fixed_bps", True)],
)  # fmt: skip
def test_model_settings_out_of_range_are_refused_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        SlippageModel(**{field: value})


models = st.builds(
    SlippageModel,
    fixed_bps=st.floats(0, 500),
    impact=st.floats(0, 10),
    volume_floor=st.floats(1e-6, 1e9),
    noise_bps=st.floats(0, 500),
    max_slippage_bps=st.floats(1e-3, 9_999.999),
    max_participation=st.none() | st.floats(1e-6, 1.0),
    participation_floor=st.just(0.0) | st.floats(0, 1e9),
)
notionals = st.floats(0, 1e15)
volumes = st.none() | st.just(math.nan) | st.floats(0, 1e15)


@settings(max_examples=300, deadline=None)
@given(
    model=models, notional=notionals, volume=volumes, z=st.floats(-8, 8), mid=st.floats(1e-12, 1e12), sell=st.booleans()
)
def test_every_fill_price_is_positive_and_bounded(model, notional, volume, z, mid, sell):
    c = fill_costs(model, notional, volume, 0.001, z, sell)
    cap = model.max_slippage_bps / 1e4
    assert 0.0 <= c.slippage <= cap < 1.0
    assert 0.0 <= c.filled <= notional
    assert 0.0 < mid * (1 - c.slippage) <= mid <= mid * (1 + c.slippage) <= mid * (1 + cap)
    assert c.fee == pytest.approx(0.001 * c.filled * ((1 - c.slippage) if sell else (1 + c.slippage)))
    if model.max_participation is not None and volume is not None and volume == volume:
        assert c.filled <= model.max_participation * max(volume, model.participation_floor)


def test_the_participation_floor_lets_a_zero_volume_bar_fill_up_to_the_floor_share():
    """Hourly sources report 0 volume on about half the bars: the floor is the volume the cap assumes there."""
    model = SlippageModel(max_participation=0.1, participation_floor=1_000_000.0)
    assert fill_costs(model, 500_000.0, 0.0).filled == 100_000.0
    assert fill_costs(model, 500_000.0, 3_000_000.0).filled == 300_000.0  # above the floor: the bar's own volume
    assert fill_costs(SlippageModel(max_participation=0.1), 500_000.0, 0.0).filled == 0.0  # no floor: nothing


def test_a_sell_pays_its_fee_at_the_lower_fill_price():
    model = SlippageModel(fixed_bps=10)
    assert fill_costs(model, 1_000.0, None, 0.0005, sell=True).fee == 0.0005 * 1_000.0 * (1 - 0.001)
    v = PaperVenue(initial_cash=Decimal(10_000), slippage=model, taker_fee=Decimal("0.0005"), mode="spot")
    v.update_market(T0, {"ETH": 1_000.0})
    v.execute_trade("ETH", 1)
    sold = v.execute_trade("ETH", -1).fills[0]
    assert float(sold.fee) == pytest.approx(fill_costs(model, 1_000.0, None, 0.0005, sell=True).fee, rel=1e-15)


@settings(max_examples=100, deadline=None)
@given(
    model=models,
    rows=st.lists(st.tuples(notionals, volumes, st.floats(-8, 8), st.booleans()), min_size=1, max_size=20),
)
def test_the_array_path_gives_exactly_the_scalar_answers(model, rows):
    """One formula: an RL environment calling it over assets gets bit-for-bit what the paper venue gets per order."""
    notional = np.array([r[0] for r in rows])
    volume = np.array([math.nan if r[1] is None else r[1] for r in rows])
    z = np.array([r[2] for r in rows])
    sells = np.array([r[3] for r in rows])
    arrays = fill_costs(model, notional, volume, 0.00045, z, sells)
    for i, (n, v, zi, sell) in enumerate(rows):
        one = fill_costs(model, n, v, 0.00045, zi, sell)
        assert (arrays.filled[i], arrays.slippage[i], arrays.fee[i]) == (one.filled, one.slippage, one.fee)


@settings(max_examples=40, deadline=None)
@given(
    model=models,
    trades=st.lists(st.tuples(st.sampled_from(["BTC", "DOGE"]), st.decimals(-5, 5, places=2)), max_size=10),
    volume=st.floats(0, 1e7),
)
def test_paper_fills_stay_positive_bounded_and_the_books_balance(model, trades, volume):
    v = PaperVenue(initial_cash=Decimal(1_000_000), slippage=model, max_leverage=10)
    v.update_market(T0, {"BTC": 50_000.0, "DOGE": 0.1}, {"BTC": volume, "DOGE": volume})
    cap = Decimal(repr(model.max_slippage_bps / 1e4))
    for symbol, qty in trades:
        if not qty:
            continue
        result = v.execute_trade(symbol, qty)
        mid = Decimal(50_000) if symbol == "BTC" else Decimal("0.1")
        for f in result.fills:
            assert mid * (1 - cap) <= f.price <= mid * (1 + cap) and f.price > 0
            assert 0 < f.quantity <= abs(qty)
    snap = v.snapshot()
    assert snap.cash + sum(q * snap.prices[s] for s, q in snap.positions.items()) == v.get_equity()


def _reference_array_costs(model, notional, volume, fee_rate, noise, sell):
    """The array formula as it was written before the environment's in-place path (kept as the reference)."""
    amount = np.asarray(notional, dtype=np.float64)
    vol = np.asarray(volume, dtype=np.float64)
    filled = amount
    if model.max_participation is not None:
        filled = np.fmin(amount, model.max_participation * np.maximum(vol, model.participation_floor))
    slip = np.float64(model.fixed_bps / 1e4)
    if model.impact:
        slip = slip + model.impact * np.sqrt(np.fmax(filled / np.maximum(vol, model.volume_floor), 0.0))
    if model.noise_bps:
        slip = slip + np.abs(np.asarray(noise, dtype=np.float64)) * (model.noise_bps / 1e4)
    slip = np.minimum(slip, model.max_slippage_bps / 1e4)
    fee = fee_rate * filled * np.where(sell, 1.0 - slip, 1.0 + slip)
    return [np.array(np.broadcast_to(x, amount.shape), dtype=np.float64) for x in (filled, slip, fee)]


@settings(max_examples=200, deadline=None)
@given(
    model=models,
    rows=st.lists(st.tuples(notionals, st.just(math.nan) | st.floats(0, 1e15), st.booleans()), min_size=1, max_size=20),
    z=st.floats(-8, 8),
    fee_rate=st.floats(0, 0.01),
)
def test_the_array_path_gives_the_reference_formula_bit_for_bit(model, rows, z, fee_rate):
    """The array path (float64 arrays of one shape, a scalar draw) is written in place with few numpy calls; it must
    give exactly the formula's bits, NaN (unknown) volumes and zero settings included."""
    notional = np.array([r[0] for r in rows])
    volume = np.array([r[1] for r in rows])
    sell = np.array([r[2] for r in rows])
    got = fill_costs(model, notional, volume, fee_rate, z, sell)
    want = _reference_array_costs(model, notional, volume, fee_rate, z, sell)
    for g, w in zip(got, want, strict=True):
        assert type(g) is np.ndarray and g.dtype == np.float64
        assert g.tobytes() == w.tobytes()
    assert notional.tobytes() == np.array([r[0] for r in rows]).tobytes()  # the inputs are left as they were
    n, v, s = notional[0, ...], volume[0, ...], sell[0, ...]  # 0-d arrays: the general path, the same bits
    one = fill_costs(model, n, v, fee_rate, z, s)
    for g, w in zip(one, _reference_array_costs(model, n, v, fee_rate, z, s), strict=True):
        assert g.shape == () and g.tobytes() == w.tobytes()
    broadcast = fill_costs(model, notional, float(volume[0]), fee_rate, np.float64(z), bool(sell[0]))  # one bar
    for g, w in zip(broadcast, _reference_array_costs(model, notional, volume[0], fee_rate, z, sell[0]), strict=True):
        assert g.shape == notional.shape and g.tobytes() == w.tobytes()


@settings(max_examples=200, deadline=None)
@given(
    model=models,
    bars=st.lists(
        st.lists(st.tuples(st.floats(-1e15, 1e15), st.just(math.nan) | st.floats(0, 1e15)), min_size=3, max_size=3),
        min_size=1,
        max_size=4,
    ),
    z=st.floats(-8, 8),
    fee_rate=st.floats(0, 0.01),
)
def test_the_prepared_table_gives_the_reference_formula_bit_for_bit(model, bars, z, fee_rate):
    """A vectorised simulator prices each bar through a table of the bars' volume terms (computed once): signed
    notionals in, exactly the formula's fills of their sizes out, sells (negative) at the lower fill price."""
    deltas = np.array([[d for d, _ in bar] for bar in bars])
    volume = np.array([[v for _, v in bar] for bar in bars])
    table = FillCostTable(model, volume, fee_rate)
    for b in range(len(bars)):
        delta = deltas[b].copy()
        got = table.costs(b, delta, z)
        want = _reference_array_costs(model, np.abs(deltas[b]), volume[b], fee_rate, z, deltas[b] < 0)
        for g, w in zip(got, want, strict=True):
            assert type(g) is np.ndarray and g.dtype == np.float64 and g.shape == (3,)
            assert g.tobytes() == w.tobytes()
        assert delta.tobytes() == deltas[b].tobytes()  # the notionals are left as they were
    assert table.costs(0, deltas[0], z).filled is not table.costs(0, deltas[0], z).filled  # new arrays each call


def test_a_table_needs_volumes_by_bar_and_asset():
    with pytest.raises(ValueError, match=r"shape \(bars, assets\), got \(3,\)"):
        FillCostTable(SlippageModel(), np.ones(3))
