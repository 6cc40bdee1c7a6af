"""``StaticOracle``: fixed target weights from a TOML, JSON or CSV file (or a dict).

TOML: a ``[weights]`` table (``BTC = 0.5``) or top-level keys; JSON: an object ``{"BTC": 0.5}`` (optionally under
``"weights"``); CSV: two columns ``symbol,weight`` with a header. Every entry is checked: a symbol is a non-empty
name, a weight a finite number (not a boolean) of at most ``MAX_LEVERAGE`` in size, and a symbol given twice is
refused in every format (plain JSON would keep the last silently). Symbols the venue does not list are left in, so
validation names them rather than the oracle hiding them.
"""

from __future__ import annotations

import csv
import math
import tomllib
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Self

from pydantic import FilePath, ValidationError, model_validator

from defipm.component import BuildContext
from defipm.config_schema import ConfigModel, Gross, Symbol, Weight, describe_error, missing_file, strict_json
from defipm.core.errors import ConfigError, DataError
from defipm.core.validation import WeightConstraints
from defipm.core.weights import Weights
from defipm.oracles.base import Oracle, refuse_left_out


class WeightsTable(ConfigModel):
    """symbol -> weight, as a file or a config gives it."""

    weights: dict[Symbol, Weight]


def parse_weights(raw: object, where: str) -> Weights:
    """Checked ``Weights`` from a parsed table; ``ConfigError`` naming ``where`` and every bad entry."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a table of symbol = weight, got {type(raw).__name__}")
    try:
        return Weights(WeightsTable(weights=dict(raw)).weights)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = err["loc"]
            what = f"symbol {loc[1]!r}" if loc[-1] == "[key]" else f"weight of {loc[1]}" if len(loc) > 1 else "table"
            lines.append(f"{what}: {describe_error(err, WeightsTable)}")
        raise ConfigError(f"{where}: {'; '.join(lines)}") from None


def _read_csv(p: Path) -> dict[str, str]:
    from defipm.data.cells import number_cell  # numpy: not at import (a live venue's start-up needs none)

    with p.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        columns = [c.strip() for c in reader.fieldnames or []]
        if sorted(columns) != ["symbol", "weight"]:
            raise ConfigError(f"{p}: CSV needs a header with exactly the columns symbol,weight (got {columns})")
        reader.fieldnames = columns
        raw: dict[str, str] = {}
        for line, row in enumerate(reader, start=2):
            if None in row or None in row.values():
                raise ConfigError(f"{p}:{line}: expected two cells, symbol and weight")
            symbol = row["symbol"].strip()
            if symbol in raw:
                raise ConfigError(f"{p}:{line}: duplicate symbol {symbol}")
            raw[symbol] = row["weight"].strip()
            try:  # the one wording of a cell that is not a number (pydantic then checks the weight's bounds)
                number_cell(f"{p} line {line}", f"weight of {symbol}", raw[symbol])
            except DataError as exc:
                raise ConfigError(str(exc)) from None
    return raw


def _table(data: Any, p: Path) -> Any:
    """The weights of a parsed TOML/JSON document: a ``weights`` table alone, or the whole document."""
    if isinstance(data, dict) and "weights" in data:
        others = sorted(set(data) - {"weights"})
        if others:
            raise ConfigError(f"{p}: keys beside the weights table would be ignored: {', '.join(others)}")
        return data["weights"]
    return data


def load_weights_file(path: str | Path) -> Weights:
    """Read weights from a .toml, .json or .csv file; ``ConfigError`` names the file and every bad entry."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(missing_file("weights file", p))
    suffix = p.suffix.lower()
    try:
        if suffix == ".toml":
            raw = _table(tomllib.loads(p.read_text(encoding="utf-8")), p)
        elif suffix == ".json":
            raw = _table(strict_json(p.read_text(encoding="utf-8")), p)
        elif suffix == ".csv":
            raw = _read_csv(p)
        else:
            raise ConfigError(f"{p}: unsupported weights file type {suffix!r} (use .toml, .json or .csv)")
    except (tomllib.TOMLDecodeError, ValueError) as exc:  # JSON syntax, a duplicated key, text that is not UTF-8
        raise ConfigError(f"{p}: cannot parse: {exc}") from None
    except (OSError, csv.Error) as exc:
        raise ConfigError(f"{p}: cannot read: {exc}") from None
    return parse_weights(raw, str(p))


class StaticConfig(ConfigModel):
    """``[oracle.params]`` of ``kind = "static"``: exactly one of ``weights`` and ``path``.

    weights: symbol -> target weight (signed fraction of equity).
    path: a TOML, JSON or CSV weights file (see ``load_weights_file``).
    max_gross: the leverage these weights may carry (sum |w|); above it they are rejected, not scaled.
    """

    weights: dict[Symbol, Weight] | None = None
    path: FilePath | None = None
    max_gross: Gross = 1.0

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.weights is None) == (self.path is None):
            raise ValueError("static needs exactly one of weights (a table) or path (a weights file)")
        return self


class StaticOracle(Oracle):
    """Always the same weights. ``StaticOracle({"BTC": 0.6, "ETH": 0.4})`` or ``StaticOracle.from_file(path)``."""

    name = "static"
    config_model = StaticConfig

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
    def from_config(cls, config: StaticConfig, context: BuildContext | None = None) -> Self:
        """Build from checked params: the weights table, or the file at ``path``. Over a backtest's data
        (``context.market``), a symbol with a weight that ``--symbols`` left out is refused here, naming it."""
        weights = load_weights_file(config.path) if config.path is not None else Weights(config.weights or {})
        market = context.market if context is not None else None
        refuse_left_out((s for s, w in weights.items() if w), market, "path" if config.path else "weights")
        return cls(weights, max_gross=config.max_gross)

    @classmethod
    def from_file(
        cls, path: str | Path, constraints: WeightConstraints | None = None, *, max_gross: float = 1.0
    ) -> StaticOracle:
        return cls(load_weights_file(path), constraints, max_gross=max_gross)

    def fetch_portfolio_weights(self, timestamp: datetime, universe: Sequence[str]) -> Weights:
        return self.weights
