"""``EqualWeightOracle``: the same long weight on every symbol of the universe (or of a chosen subset)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Self

from pydantic import Field, field_validator

from defipm.component import BuildContext
from defipm.config_schema import ConfigModel, Gross, Symbol
from defipm.core.errors import DataError
from defipm.core.validation import WeightConstraints
from defipm.core.weights import Weights
from defipm.oracles.base import Oracle, refuse_left_out


def unique_symbols(symbols: list[str] | None) -> list[str] | None:
    """``symbols`` unchanged, or ``ValueError`` naming the ones given twice."""
    if symbols is None:
        return None
    twice = sorted({s for s in symbols if symbols.count(s) > 1})
    if twice:
        raise ValueError(f"listed twice: {', '.join(twice)}")
    return symbols


class EqualWeightConfig(ConfigModel):
    """``[oracle.params]`` of ``kind = "equal_weight"``.

    symbols: the symbols to hold (default: every symbol the venue lists). gross: sum |w| (1.0 = no leverage).
    exclude: symbols never held (e.g. stablecoins).
    """

    symbols: list[Symbol] | None = Field(default=None, min_length=1)
    gross: Gross = 1.0
    exclude: list[Symbol] = Field(default_factory=list)

    @field_validator("symbols", "exclude")
    @classmethod
    def _unique(cls, symbols: list[str] | None) -> list[str] | None:
        return unique_symbols(symbols)


class EqualWeightOracle(Oracle):
    """``gross / n`` on each of the ``n`` symbols of ``symbols`` that the venue lists (all of them by default).

    exclude: symbols never held (e.g. stablecoins).
    """

    name = "equal_weight"
    config_model = EqualWeightConfig

    def __init__(self, symbols: Sequence[str] | None = None, gross: float = 1.0, exclude: Sequence[str] = ()) -> None:
        super().__init__()
        if not gross > 0:
            raise ValueError(f"gross must be positive, got {gross}")
        self.symbols = list(symbols) if symbols is not None else None
        self.gross = gross
        self.exclude = set(exclude)
        self.constraints = WeightConstraints(long_only=True, max_gross=gross, target_gross=gross)

    @classmethod
    def from_config(cls, config: EqualWeightConfig, context: BuildContext | None = None) -> Self:
        """Build from checked params; over a backtest's data, a chosen symbol ``--symbols`` left out is refused."""
        refuse_left_out(config.symbols or (), context.market if context is not None else None, "symbols")
        return cls(config.symbols, config.gross, config.exclude)

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
