"""``ClassifierOracle``: hold the tokens the classifier keeps, and rotate into a fresh set at the end of each period.

At its first cycle, and whenever ``period_days`` have passed since the last rotation, the oracle classifies the
data at t (``defipm.classify``: point in time, the same code for live and backtests) and fixes the kept set for
the next period. Within a period the set does not change; each cycle returns its weights, so the manager's daily
rebalance brings drifted positions back to them. Weights are equal (``gross / n``), or those of another oracle
(``weighting = {kind = "momentum", params = {...}}``) asked with the set as its universe and restricted to it.
The portfolio rotates through the same ``PortfolioManager`` and planner as every other oracle: dropped tokens are
sold before new ones are bought (the planner orders reductions first).

An empty set is a valid answer: the period is held in cash, and the cycle notes how many tokens each rule
excluded. While the data before t is shorter than the screen's windows, the oracle holds cash and says until when.

Every rotation is kept in ``rotations()`` (the backtest report marks them) and, with a store, recorded there with
the whole classification table (``defipm.classify.records``); a restarted live portfolio resumes the stored
period instead of re-classifying early.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from defipm.classify.config import ScreenConfig
from defipm.classify.result import Classification
from defipm.classify.screen import Classifier, InsufficientHistoryError
from defipm.core.errors import ConfigError
from defipm.core.validation import WeightConstraints
from defipm.core.weights import Weights
from defipm.data.contracts import ContractTable, contract_of, read_contracts
from defipm.data.view import MarketView
from defipm.extras import install_hint
from defipm.oracles.base import Oracle, Rotation
from defipm.oracles.symbols import VENUE_MAPS, SymbolMap


class WeightingConfig(BaseModel):
    """Another oracle whose weights are used, restricted to the classified set: ``kind`` and its ``params``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    params: dict[str, Any] = Field(default_factory=dict)


class ClassifierConfig(ScreenConfig):
    """The screen's settings (``ScreenConfig``) plus the rotation's.

    period_days: days a classified set is held before the next classification (30). The learned allocator's
        rotation loop sets it to its training window.
    gross: total long weight of an equal-weight set (1.0 = fully invested).
    weighting: another oracle to weight the set with (None: equal weight).
    data: folder of OHLCV files to screen when no market view is given (live and paper trading); a backtest
        screens its own data.
    bar_label: what the folder's file times mean, "open" (daily dates) or "close".
    symbol_map: venue id of the map from the data's tokens to the venue's symbols (``hyperliquid``: PEPE ->
        kPEPE); None: the venue's map when trading on Hyperliquid, else the data's own symbols.
    """

    period_days: int = Field(default=30, ge=1)
    gross: float = Field(default=1.0, gt=0, allow_inf_nan=False)
    weighting: WeightingConfig | None = None
    data: Path | None = None
    bar_label: Literal["open", "close"] = "open"
    symbol_map: str | None = None

    def screen(self) -> ScreenConfig:
        """The screen's part of the settings."""
        return ScreenConfig(**{k: getattr(self, k) for k in ScreenConfig.model_fields})


class ClassifierOracle(Oracle):
    """Rotating portfolio of classified tokens.

    market: the point-in-time view (backtests); None with ``config.data`` for live trading.
    weighting: an oracle built from ``config.weighting`` (or given) whose weights are restricted to the set.
    store / run: where rotations are recorded (None: kept in memory only).
    """

    name = "classifier"
    config_model = ClassifierConfig

    def __init__(
        self,
        market: MarketView | None,
        config: ClassifierConfig | None = None,
        *,
        weighting: Oracle | None = None,
        store: Any = None,
        run: str = "default",
        symbol_map: SymbolMap | None = None,
    ) -> None:
        super().__init__()
        missing = [m for m in ("duckdb", "pandas", "pyarrow") if importlib.util.find_spec(m) is None]
        if missing:
            raise ConfigError(f"the classifier oracle needs {', '.join(missing)}: {install_hint('backtest')}")
        self.config = config or ClassifierConfig()
        if market is None and self.config.data is None:
            raise ConfigError(
                "oracle.params.data: the classifier needs market data: set data = a folder of OHLCV files, "
                "or run it in a backtest"
            )
        if market is None and self.config.data is not None and not self.config.data.is_dir():
            raise ConfigError(f"oracle.params.data: no such data folder {self.config.data}")
        self.market = market
        self.weighting = weighting
        self.store = store
        self.run = run
        self.symbol_map = symbol_map
        self._classifier: Classifier | None = None
        self._contracts: ContractTable | None = None
        self._held: tuple[str, ...] = ()
        self._period_end: datetime | None = None
        self._rotations: list[Rotation] = []
        self._resumed = False
        self.last_classification: Classification | None = None
        """The newest classification (None before the first)."""
        gross = self.config.gross
        if weighting is not None:
            self.constraints = dataclasses.replace(weighting.constraints, allow_empty=True)
        else:
            self.constraints = WeightConstraints(long_only=True, max_gross=gross + 1e-9, allow_empty=True)
        if market is not None and self.config.data is not None:
            self.note(f"classifier: data = {self.config.data} not read: the backtest's own data is screened")

    @classmethod
    def from_config(cls, config: Any, context: Any = None) -> ClassifierOracle:  # type: ignore[override]
        """Registry hook (``kind = "classifier"``): ``[oracle.params]`` already checked by ``ClassifierConfig``."""
        market = getattr(context, "market", None)
        weighting = None
        if config.weighting is not None:
            from defipm.registry import build_oracle

            if config.weighting.kind == cls.name:
                raise ConfigError("oracle.params.weighting.kind: the classifier cannot weight its set by itself")
            try:
                weighting = build_oracle(config.weighting.kind, config.weighting.params, context)
            except ConfigError as exc:
                raise ConfigError(f"oracle.params.weighting: {exc}") from None
        venue = getattr(context, "venue", None)
        map_id = config.symbol_map or ("hyperliquid" if venue == "hyperliquid" else "none")
        if map_id not in VENUE_MAPS:
            raise ConfigError(f"oracle.params.symbol_map: unknown map {map_id!r} (known: {', '.join(VENUE_MAPS)})")
        symbol_map = None if map_id in ("none", "paper") else SymbolMap.for_venue(map_id)
        store = getattr(context, "store", None)
        run = getattr(context, "run", "default")
        return cls(market, config, weighting=weighting, store=store, run=run, symbol_map=symbol_map)

    # -- the rotation -----------------------------------------------------------------------------------------
    def rotations(self) -> Sequence[Rotation]:
        return tuple(self._rotations)

    @property
    def held(self) -> tuple[str, ...]:
        """The venue symbols of the current period's set."""
        return self._held

    def fetch_portfolio_weights(self, timestamp: datetime, universe: Sequence[str]) -> Weights:
        if not self._resumed:
            self._resume(timestamp)
        if self._period_end is None or timestamp >= self._period_end:
            self._rotate(timestamp)
        listed = set(universe)
        members = [s for s in self._held if s in listed]
        missing = [s for s in self._held if s not in listed]
        if missing:
            self.note(f"classifier: not listed now, left out of the set: {', '.join(missing)}")
        if not members:
            return Weights({})
        if self.weighting is None:
            return Weights.equal(members, self.config.gross)
        weights = self.weighting.fetch_portfolio_weights(timestamp, members)
        for remark in self.weighting.pop_notes():
            self.note(remark)
        inside = set(members)
        outside = sorted(s for s in weights if s not in inside)
        if outside:
            self.note(f"classifier: {self.weighting.name} weights outside the set dropped: {', '.join(outside)}")
        return Weights({s: w for s, w in weights.items() if s in inside})

    def _resume(self, timestamp: datetime) -> None:
        """A restarted live portfolio keeps the stored period's set until that period ends."""
        self._resumed = True
        if self.store is None:
            return
        from defipm.classify.records import latest_rotation

        stored = latest_rotation(self.store, self.run, self.name)
        if stored is None or stored.period_end is None or not stored.timestamp <= timestamp < stored.period_end:
            return
        if stored.params != self.config.screen().model_dump(mode="json"):
            self.note(f"classifier: settings changed since the rotation of {stored.timestamp:%Y-%m-%d}: re-classifying")
            return
        self._held, self._period_end = stored.held, stored.period_end
        self.note(
            f"classifier: resuming the set of {stored.timestamp:%Y-%m-%d} ({len(stored.held)} token(s)) until "
            f"{stored.period_end:%Y-%m-%d}"
        )

    def _rotate(self, timestamp: datetime) -> None:
        try:
            classification = self._classify(timestamp)
        except InsufficientHistoryError as exc:
            self._held, self._period_end = (), exc.ready_at
            self.note(
                f"classifier: holding cash until {exc.ready_at:%Y-%m-%d}: the data before then is shorter than "
                f"the screen's {exc.needs}"
            )
            return
        self.last_classification = classification
        held = self._venue_symbols(classification.kept)
        previous = set(self._held)
        added = tuple(s for s in held if s not in previous)
        dropped = tuple(sorted(previous - set(held)))
        self._held = held
        self._period_end = classification.at + timedelta(days=self.config.period_days)
        summary = classification.summary()
        self._rotations.append(Rotation(classification.at, held, added, dropped, summary))
        if self.store is not None:
            from defipm.classify.records import record_rotation

            record_rotation(
                self.store,
                run=self.run,
                oracle=self.name,
                classification=classification,
                period_end=self._period_end,
                added=added,
                dropped=dropped,
            )
        change = f" (+{len(added)} -{len(dropped)})" if self._rotations[:-1] else ""
        self.note(f"classifier rotation{change}: {summary}; next {self._period_end:%Y-%m-%d}")
        if not held:
            self.note(f"classifier: no token passed the screen: holding cash until {self._period_end:%Y-%m-%d}")

    def _classify(self, timestamp: datetime) -> Classification:
        if self.market is not None:
            if self._classifier is None:
                self._classifier = self._new_classifier(self.market)
            return self._classifier.classify(timestamp)
        from defipm.data.cache import load_prices

        assert self.config.data is not None
        panel = load_prices(self.config.data, bar_label=self.config.bar_label)
        view = MarketView(panel, max(panel.index_at_or_before(timestamp), 0))
        if timestamp - view.now > 3 * panel.interval:
            self.note(f"classifier: the newest bar in {self.config.data} closed {view.now:%Y-%m-%d %H:%M}, before t")
        classifier = self._new_classifier(view)
        try:
            return classifier.classify(min(timestamp, view.now))
        finally:
            classifier.close()

    def _new_classifier(self, view: MarketView) -> Classifier:
        source = Path(view.source) if view.source else None
        self._contracts = read_contracts(source) if source is not None and source.is_dir() else None
        classifier = Classifier(view, self.config.screen(), contracts=self._contracts)
        for warning in classifier.warnings:
            self.note(f"warning: {warning}")
        return classifier

    def _venue_symbols(self, symbols: Sequence[str]) -> tuple[str, ...]:
        if self.symbol_map is None:
            return tuple(symbols)
        out: list[str] = []
        for symbol in symbols:
            venue = self.symbol_map.to_venue(contract_of(symbol, self._contracts).asset)
            if venue is not None and venue not in out:
                out.append(venue)
        return tuple(out)
