"""``EqualWeightOracle``: the same long weight on every symbol of the universe (or of a chosen subset)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from defipm.core.errors import DataError
from defipm.core.validation import WeightConstraints
from defipm.core.weights import Weights
from defipm.oracles.base import Oracle


class EqualWeightOracle(Oracle):
    """``gross / n`` on each of the ``n`` symbols of ``symbols`` that the venue lists (all of them by default).

    exclude: symbols never held (e.g. stablecoins).
    """

    name = "equal_weight"

    def __init__(self, symbols: Sequence[str] | None = None, gross: float = 1.0, exclude: Sequence[str] = ()) -> None:
        super().__init__()
        if not gross > 0:
            raise ValueError(f"gross must be positive, got {gross}")
        self.symbols = list(symbols) if symbols is not None else None
        self.gross = gross
        self.exclude = set(exclude)
        self.constraints = WeightConstraints(long_only=True, max_gross=gross, target_gross=gross)

    def fetch_portfolio_weights(self, timestamp: datetime, universe: Sequence[str]) -> Weights:
        listed = set(universe)
        chosen = [s for s in (self.symbols if self.symbols is not None else sorted(listed)) if s not in self.exclude]
        available = [s for s in chosen if s in listed]
        missing = [s for s in chosen if s not in listed]
        if missing:
            self.note(f"equal weight: not listed now, left out: {', '.join(missing)}")
        if not available:
            raise DataError("equal weight: none of the chosen symbols is in the venue's universe")
        return Weights.equal(available, self.gross)
