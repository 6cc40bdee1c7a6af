"""A fixed cost per order (gas on a chain venue) in the planner: kept back like fees, and orders whose cost is above
``max_cost_share`` of their notional are skipped, saying why."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from defipm import InstrumentRules, Weights, plan_rebalance
from defipm.core.orders import SkipReason

SYMBOLS = ["A", "B", "C"]


@settings(max_examples=200, deadline=None)
@given(
    cost=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(500), places=2),
    share=st.sampled_from([Decimal("0.001"), Decimal("0.01"), Decimal("0.05")]),
    weights=st.fixed_dictionaries({s: st.floats(min_value=0.0, max_value=0.3) for s in SYMBOLS}),
    held=st.fixed_dictionaries({s: st.decimals(min_value=0, max_value=20, places=3) for s in SYMBOLS}),
)
def test_no_order_costs_more_than_its_share(cost, share, weights, held) -> None:
    prices = {"A": Decimal(100), "B": Decimal(2_000), "C": Decimal("0.5")}
    rules = InstrumentRules(size_step=Decimal("0.001"), order_cost=cost, max_cost_share=share)
    positions = {s: q for s, q in held.items() if q}
    equity = Decimal(10_000) + sum(q * prices[s] for s, q in positions.items())
    plan = plan_rebalance(positions, prices, equity, Weights(weights), {s: rules for s in SYMBOLS})
    for order in plan.orders:
        assert cost <= share * order.quantity * prices[order.symbol]  # gas never above its share of the order
    for skipped in plan.skipped:
        if skipped.reason is SkipReason.ORDER_COST:
            assert cost > share * abs(skipped.signed_quantity) * prices[skipped.symbol]


def test_the_same_orders_without_a_cost_are_sent() -> None:
    prices = {"A": Decimal(100)}
    target = Weights({"A": 0.01})  # a 100-unit order
    cheap = InstrumentRules(size_step=Decimal("0.001"))
    dear = InstrumentRules(size_step=Decimal("0.001"), order_cost=Decimal(2), max_cost_share=Decimal("0.01"))
    assert len(plan_rebalance({}, prices, Decimal(10_000), target, {"A": cheap}).orders) == 1
    plan = plan_rebalance({}, prices, Decimal(10_000), target, {"A": dear})
    assert not plan.orders
    (skipped,) = plan.skipped
    assert skipped.symbol == "A" and skipped.reason is SkipReason.ORDER_COST
    assert "order cost 2 above 1.00% of notional" in skipped.detail
    # without a share the cost never skips an order, and a fully invested book keeps it back from its cash
    kept = InstrumentRules(size_step=Decimal("0.001"), order_cost=Decimal(2))
    (order,) = plan_rebalance({}, prices, Decimal(10_000), Weights({"A": 1.0}), {"A": kept}).orders
    assert order.quantity * prices["A"] <= Decimal(10_000) - 2
