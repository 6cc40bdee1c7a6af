"""The Uniswap venue's gas limits as numbers: the fee ceiling and the gas share of an order's value."""

from __future__ import annotations

from decimal import Decimal

import pytest

from defipm.chain.transactions import FeeQuote
from defipm.venues.uniswap.gas import GasCosting

GWEI = 10**9


def _costing(
    base_gwei: int, *, price: Decimal | None = Decimal(1), share: Decimal | None = Decimal("0.01")
) -> GasCosting:
    fees = FeeQuote(base_gwei * GWEI, 2 * GWEI, base_gwei * 2 * GWEI + 2 * GWEI)
    return GasCosting(fees, 300 * GWEI, 180_000, share, price, "WETH")


def test_fee_ceiling_says_why_and_by_how_much() -> None:
    assert _costing(298).fee_refusal() is None  # 298 + 2 = 300 gwei: at the ceiling, allowed
    reason = _costing(3_000).fee_refusal()
    assert reason is not None and "3,002.00 gwei" in reason and "max_fee_per_gas_gwei 300.00" in reason


@pytest.mark.parametrize(("base", "notional", "refused"), [(98, "1.8", False), (98, "1.79", True), (8, "0.18", False)])
def test_gas_share_of_an_order(base: int, notional: str, refused: bool) -> None:
    costing = _costing(base)  # (base + 2) gwei x 180,000 gas = 0.018 WETH at 98 gwei
    assert costing.order_cost() == Decimal(180_000 * (base + 2)) * Decimal(1).scaleb(-9)
    reason = costing.share_refusal(Decimal(notional))
    assert (reason is not None) is refused
    if refused:
        assert "above max_gas_share 1.00%" in str(reason) and "0.018 WETH" in str(reason)


def test_gas_valued_through_the_native_price_or_refused_when_unpriced() -> None:
    usdc = GasCosting(FeeQuote(10 * GWEI, 0, 20 * GWEI), 300 * GWEI, 100_000, Decimal("0.01"), Decimal(2_000), "USDC")
    assert usdc.order_cost() == Decimal(2)  # 0.001 ETH at 2,000 USDC
    unpriced = _costing(10, price=None)
    assert unpriced.order_cost() is None
    assert "cannot value gas in WETH" in str(unpriced.share_refusal(Decimal(100)))
    assert _costing(10, price=None, share=None).share_refusal(Decimal(1)) is None  # no share limit: nothing to value
