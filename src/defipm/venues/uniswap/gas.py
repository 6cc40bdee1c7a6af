"""What gas an order of the Uniswap venue is expected to cost, and when that is too much to send it.

Two limits of ``UniswapConfig``: ``max_fee_per_gas_gwei`` (the fee per gas, latest base fee + tip, above which
nothing is sent) and ``max_gas_share`` (the expected gas cost of one order, ``gas_per_order`` units at that fee,
as a share of the order's value). ``GasCosting`` holds one reading of the fees with the base token's price of gas,
and answers both: the planner gets the cost of an order (``InstrumentRules.order_cost``) and skips orders whose gas
is above the share; the venue refuses a swap that breaks either limit at sending time. Each refusal names the
figures and the setting that decides it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from defipm.chain.transactions import FeeQuote

__all__ = ["GasCosting"]

WEI = Decimal(1).scaleb(-18)
"""One wei in whole native coins."""


@dataclass(frozen=True, slots=True)
class GasCosting:
    """One reading of the fees and of the base token's price of gas.

    fees: the fee quote (wei per gas). ceiling_wei: max fee per gas, or None. gas_per_order: gas units of one
    order. max_share: largest gas cost of an order as a share of its value, or None.
    base_per_native: base-token units per whole native coin (1 when the base is the wrapped native coin), None
    when the venue cannot price the native coin.
    """

    fees: FeeQuote
    ceiling_wei: int | None
    gas_per_order: int
    max_share: Decimal | None
    base_per_native: Decimal | None
    base_symbol: str

    def fee_refusal(self) -> str | None:
        """Why nothing may be sent at this fee per gas, or None."""
        per_gas = self.fees.expected_per_gas
        if self.ceiling_wei is None or per_gas <= self.ceiling_wei:
            return None
        return (
            f"gas at {_gwei(per_gas)} gwei (base fee {_gwei(self.fees.base_fee_wei)} + tip "
            f"{_gwei(self.fees.priority_fee_wei)}) is above max_fee_per_gas_gwei {_gwei(self.ceiling_wei)}: deferred "
            "until gas is cheaper"
        )

    def order_cost(self) -> Decimal | None:
        """Expected gas cost of one order in base-token units (None when the native coin has no price)."""
        if self.base_per_native is None:
            return None
        return Decimal(self.gas_per_order * self.fees.expected_per_gas) * WEI * self.base_per_native

    def share_refusal(self, notional: Decimal) -> str | None:
        """Why an order worth ``notional`` (base-token units) costs too much gas to send, or None."""
        if self.max_share is None:
            return None
        cost = self.order_cost()
        if cost is None:
            return (
                f"cannot value gas in {self.base_symbol}: list the wrapped native token (e.g. WETH) among the "
                "venue's tokens, or set max_gas_share = none"
            )
        if cost <= self.max_share * notional:
            return None
        share = cost / notional if notional > 0 else Decimal("Infinity")
        return (
            f"expected gas {cost.normalize():.6g} {self.base_symbol} ({self.gas_per_order} gas at "
            f"{_gwei(self.fees.expected_per_gas)} gwei) is {share:.2%} of the order's value {notional.normalize():.6g}, "
            f"above max_gas_share {self.max_share:.2%}"
        )


def _gwei(wei: int) -> str:
    return f"{Decimal(wei).scaleb(-9):,.2f}"
