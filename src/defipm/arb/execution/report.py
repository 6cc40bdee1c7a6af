"""What an execution attempt did: success, transactions, gas, and the profit measured on chain.

``ExecutionReport.profit`` is the change of the wallet's start-token balance (raw units; negative is a loss),
measured from balances, not taken from the estimate. Gas is paid in the native coin and kept apart
(``gas_used``, ``gas_cost_wei``), so a start token other than WETH is still compared exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ExecutionReport"]


@dataclass(frozen=True, slots=True)
class ExecutionReport:
    """Outcome of one attempt. ``reason`` says why it failed (or "ok"); ``held`` lists tokens left over
    (raw units) when a capital-based execution stopped half-way."""

    engine: str
    success: bool
    profit: int
    gas_used: int
    gas_cost_wei: int
    tx_hashes: tuple[str, ...] = ()
    block_number: int | None = None
    simulated_profit: int | None = None
    elapsed_ms: float = 0.0
    reason: str = "ok"
    held: dict[str, int] = field(default_factory=dict)

    @property
    def tx_hash(self) -> str | None:
        """The last transaction sent (the one that settled the cycle), if any."""
        return self.tx_hashes[-1] if self.tx_hashes else None
