"""``StaticOracle``: fixed target weights from a TOML, JSON or CSV file (or a dict).

TOML: a ``[weights]`` table (``BTC = 0.5``) or top-level keys; JSON: an object ``{"BTC": 0.5}`` (optionally under
``"weights"``); CSV: two columns ``symbol,weight`` with a header. Symbols the venue does not list are left in, so
validation names them rather than the oracle hiding them.
"""

from __future__ import annotations

import csv
import json
import math
import tomllib
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

from defipm.core.errors import ConfigError
from defipm.core.validation import WeightConstraints
from defipm.core.weights import Weights
from defipm.oracles.base import Oracle


def load_weights_file(path: str | Path) -> Weights:
    """Read weights from a .toml, .json or .csv file; errors name the file and the bad entry."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"weights file not found: {p}")
    suffix = p.suffix.lower()
    try:
        if suffix == ".toml":
            data = tomllib.loads(p.read_text())
            raw = data.get("weights", data)
        elif suffix == ".json":
            data = json.loads(p.read_text())
            raw = data.get("weights", data) if isinstance(data, dict) else data
        elif suffix == ".csv":
            with p.open(newline="") as fh:
                reader = csv.DictReader(fh)
                if reader.fieldnames is None or {"symbol", "weight"} - set(reader.fieldnames):
                    raise ConfigError(f"{p}: CSV needs a header with columns symbol,weight (got {reader.fieldnames})")
                raw = {}
                for line, row in enumerate(reader, start=2):
                    symbol = (row["symbol"] or "").strip()
                    if not symbol:
                        raise ConfigError(f"{p}:{line}: empty symbol")
                    if symbol in raw:
                        raise ConfigError(f"{p}:{line}: duplicate symbol {symbol}")
                    raw[symbol] = row["weight"]
        else:
            raise ConfigError(f"{p}: unsupported weights file type {suffix!r} (use .toml, .json or .csv)")
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{p}: cannot parse: {exc}") from exc
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{p}: expected a table of symbol = weight")
    weights: dict[str, float] = {}
    for symbol, value in raw.items():
        try:
            weights[str(symbol)] = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{p}: weight of {symbol} is {value!r}, expected a number") from None
    return Weights(weights)


class StaticOracle(Oracle):
    """Always the same weights. ``StaticOracle({"BTC": 0.6, "ETH": 0.4})`` or ``StaticOracle.from_file(path)``."""

    name = "static"

    def __init__(
        self,
        weights: Mapping[str, float] | Weights,
        constraints: WeightConstraints | None = None,
        *,
        max_gross: float = 1.0,
    ) -> None:
        """``max_gross``: the leverage these weights may carry (sum |w|); above it they are rejected, not scaled.
        ``constraints`` replaces the default constraints entirely."""
        super().__init__()
        self.weights = weights if isinstance(weights, Weights) else Weights(weights)
        if constraints is not None:
            self.constraints = constraints
        else:
            finite = all(math.isfinite(w) for w in self.weights.values())
            self.constraints = WeightConstraints(
                long_only=self.weights.is_long_only if finite else False, max_gross=max_gross
            )

    @classmethod
    def from_params(cls, params: dict, context: object = None) -> StaticOracle:
        """Config form: ``weights = {BTC = 0.5}`` or ``path = "weights.toml"`` (exactly one), optional ``max_gross``."""
        unknown = sorted(set(params) - {"weights", "path", "max_gross"})
        if unknown:
            raise ConfigError(
                f"oracle.params: unknown key(s) {', '.join(unknown)} for static (use weights or path, max_gross)"
            )
        try:
            max_gross = float(params.get("max_gross", 1.0))
        except (TypeError, ValueError):
            raise ConfigError(f"oracle.params.max_gross: expected a number, got {params['max_gross']!r}") from None
        if ("weights" in params) == ("path" in params):
            raise ConfigError("oracle.params: static needs exactly one of weights or path")
        if "path" in params:
            return cls(load_weights_file(params["path"]), max_gross=max_gross)
        raw = params["weights"]
        if not isinstance(raw, dict):
            raise ConfigError(f"oracle.params.weights: expected a table of symbol = weight, got {raw!r}")
        try:
            weights = {str(k): float(v) for k, v in raw.items()}
        except (TypeError, ValueError):
            raise ConfigError(f"oracle.params.weights: every weight must be a number, got {raw!r}") from None
        return cls(weights, max_gross=max_gross)

    @classmethod
    def from_file(
        cls, path: str | Path, constraints: WeightConstraints | None = None, *, max_gross: float = 1.0
    ) -> StaticOracle:
        return cls(load_weights_file(path), constraints, max_gross=max_gross)

    def fetch_portfolio_weights(self, timestamp: datetime, universe: Sequence[str]) -> Weights:
        return self.weights
