"""A batch (``PaperVenue.submit_orders``, how ``send_intents`` hands the paper venue each phase of a plan) fills or
refuses every order exactly as sending the same orders one at a time would: the same results, the same books, the
same margin. The batch skips the per-order margin check only when no order could breach it (issue 19), so the
cases here include batches that do breach it, reduce-only orders that do not reduce, off-step sizes, an unlisted
symbol, slippage and spot accounts."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from defipm import Order, OrderStatus, PaperVenue, Side, SlippageModel
from defipm.core.journal import MemoryJournal

T0 = datetime(2024, 1, 1, tzinfo=UTC)
PRICES = {"BTC": 40_000.0, "ETH": 2_000.0, "SOL": 100.0, "DOGE": 0.1234}

order_st = st.builds(
    Order,
    symbol=st.sampled_from([*PRICES, "NOPE"]),
    side=st.sampled_from(Side),
    quantity=st.sampled_from(["0.001", "0.5", "3", "12.5", "0.000000015", "400", "90000"]).map(Decimal),
    reduce_only=st.booleans(),
)
position_st = st.dictionaries(
    st.sampled_from(list(PRICES)), st.sampled_from(["-2", "-0.25", "0.1", "1", "5"]).map(Decimal), max_size=4
)
venue_st = st.fixed_dictionaries(
    {
        "mode": st.sampled_from(["perp", "spot"]),
        "max_leverage": st.sampled_from(["1", "3"]),
        "slippage": st.sampled_from([None, SlippageModel(fixed_bps=5), SlippageModel(fixed_bps=2, impact=0.1)]),
        "initial_cash": st.sampled_from(["1000", "10000", "250000"]),
    }
)


def _venue(params: dict, positions: dict[str, Decimal]) -> PaperVenue:
    v = PaperVenue(**params)
    if v.mode == "spot":
        positions = {s: q for s, q in positions.items() if q > 0}
    v.update_market(T0, PRICES, {s: 1e7 for s in PRICES})
    for s, q in positions.items():  # build the starting book through fills, as a run would
        v.submit_order(Order(s, Side.BUY if q > 0 else Side.SELL, abs(q), client_order_id=f"open-{s}"))
    return v


def _outcome(results: list, v: PaperVenue) -> tuple:
    rows = [
        (r.status, r.error, tuple((f.symbol, f.side, f.quantity, f.price, f.fee) for f in r.fills)) for r in results
    ]
    return rows, v.cash, v.get_positions(), v._exposure(), v.get_equity(), v.fill_count  # (value, gross) as margin uses


@settings(max_examples=300, deadline=None)
@given(venue_st, position_st, st.lists(order_st, min_size=1, max_size=8))
def test_a_batch_fills_and_refuses_exactly_as_one_order_at_a_time(params, positions, orders):
    batched, single = _venue(params, positions), _venue(params, positions)
    orders = [
        Order(o.symbol, o.side, o.quantity, reduce_only=o.reduce_only, client_order_id=f"o{i}")
        for i, o in enumerate(orders)
    ]
    in_batch = batched.submit_orders(orders)
    one_by_one = []
    for o in orders:
        try:
            one_by_one.append(single.submit_order(o))
        except Exception as exc:  # what send_intents does with a single order's venue error: looked up, unknown
            one_by_one.append(single._failed_send(o, exc))
    assert _outcome(in_batch, batched) == _outcome(one_by_one, single)
    assert [batched.lookup_order(o.client_order_id) for o in orders] == in_batch


@settings(max_examples=150, deadline=None)
@given(venue_st, position_st, st.lists(st.sampled_from(["0.1", "0.5", "1"]).map(Decimal), min_size=4, max_size=4))
def test_a_plan_s_phases_as_batches_leave_the_books_and_margin_of_one_order_at_a_time(params, positions, cuts):
    """A rebalance's reductions (all reduce-only, tracked cheaply), then its increases (margin bound, or checked)."""
    batched, single = _venue(params, positions), _venue(params, positions)
    held = batched.get_positions()
    reductions = [
        Order(s, Side.SELL if q > 0 else Side.BUY, abs(q) * cut, reduce_only=True, client_order_id=f"r-{s}")
        for (s, q), cut in zip(sorted(held.items()), cuts, strict=False)
    ]
    increases = [Order(s, Side.BUY, Decimal("0.3"), client_order_id=f"i-{s}") for s in ("SOL", "ETH", "DOGE")]
    for phase in (reductions, increases):
        in_batch = batched.submit_orders(phase) if phase else []
        one_by_one = [single.submit_order(o) for o in phase]
        assert _outcome(in_batch, batched) == _outcome(one_by_one, single)


def test_a_batch_that_would_breach_the_margin_checks_each_order_and_refuses_the_one_past_it():
    v = _venue({"initial_cash": "10000", "max_leverage": "1"}, {})
    results = v.submit_orders([Order("SOL", Side.BUY, Decimal(60)), Order("ETH", Side.BUY, Decimal(3))])
    assert [r.status for r in results] == [OrderStatus.FILLED, OrderStatus.REJECTED]
    assert "needs margin" in (results[1].error or "")
    assert v.get_positions() == {"SOL": Decimal(60)}


def test_a_rebalance_sends_each_phase_of_its_plan_as_one_batch():
    v = _venue({"initial_cash": "10000"}, {"BTC": Decimal("0.1"), "ETH": Decimal(1)})
    sent: list[list[str]] = []
    submit = v.submit_orders

    def spy(orders):
        sent.append([o.symbol for o in orders])
        return submit(orders)

    v.submit_orders = spy  # type: ignore[method-assign]
    report = v.set_portfolio_weights({"BTC": 0.1, "SOL": 0.3}, journal=MemoryJournal())
    assert report.ok
    assert sent == [["BTC", "ETH"], ["SOL"]]  # the reductions, then the increases


@pytest.mark.parametrize("mode", ["perp", "spot"])
def test_a_subclass_that_overrides_submit_order_sees_every_order(mode):
    seen = []

    class Spy(PaperVenue):
        def submit_order(self, order):
            seen.append(order.symbol)
            return super().submit_order(order)

    v = Spy(initial_cash=Decimal(10_000), mode=mode)
    v.update_market(T0, PRICES)
    assert not v.batch_orders
    v.set_portfolio_weights({"BTC": 0.2, "ETH": 0.2})
    assert sorted(seen) == ["BTC", "ETH"]
