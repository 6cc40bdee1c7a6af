"""A scripted pool source for testing the arbitrage loop without a node: ``ScriptedPoolReader``.

``ArbRunner`` reads pools through a ``PoolReader`` (``ChainPoolReader`` on a real node). ``ScriptedPoolReader``
answers each ``refresh`` with the next scripted round ``(block, pools, skipped)`` (the last round repeats) and the
node's gas price from ``gas_prices`` in turn (the last repeats; none scripted: the node cannot tell, as when it is
down). ``skipped`` lists pool addresses a round could not read (reason ``"RPC timeout"``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from defipm.arb.chain_pools import PoolRefresh, SkippedPool
from defipm.arb.pools import Pool, Token
from defipm.core.errors import VenueUnavailableError

__all__ = ["Round", "ScriptedPoolReader"]

Round = tuple[int, Sequence[Pool], Sequence[str]]
"""(block number, pools read at it, addresses of pools that could not be read)."""


class ScriptedPoolReader:
    """A ``PoolReader`` that replays ``rounds`` (see the module docstring)."""

    def __init__(self, rounds: Sequence[Round], tokens: Mapping[str, Token], gas_prices: Sequence[int] = ()) -> None:
        if not rounds:
            raise ValueError("ScriptedPoolReader needs at least one round")
        self.rounds = list(rounds)
        self.tokens = dict(tokens)
        self.gas_prices = list(gas_prices)
        self.refreshes = 0
        """How many rounds were read."""

    def _current(self) -> Round:
        return self.rounds[min(self.refreshes, len(self.rounds) - 1)]

    def block_number(self) -> int:
        return self._current()[0]

    def refresh(self, block: int | None = None) -> PoolRefresh:
        number, pools, skipped = self._current()
        self.refreshes += 1  # the next read sees the next round
        return PoolRefresh(number, list(pools), [SkippedPool(a, "RPC timeout") for a in skipped])

    def gas_price(self) -> int:
        if not self.gas_prices:
            raise VenueUnavailableError("no gas price scripted: the node cannot tell")
        return self.gas_prices.pop(0) if len(self.gas_prices) > 1 else self.gas_prices[0]
