"""``PPORotationOracle`` (``kind = "ppo_rotation"``): the learned allocator's rotation loop.

At its first cycle, and at the end of every period (``period_days``), it classifies the tokens at t
(``defipm.classify``, point in time), trains a fresh PPO model on the kept tokens over the latest ``train_days``
of bars closed by t (``defipm.rl.pipeline``: nothing after t is read), registers it (``defipm.rl.registry``: the
folder, and the store's rows when the run has a store) and switches its policy to it. In between, each cycle
answers the current model's weights (``PPOOracle``). The running portfolio moves to the new composition through
the same ``PortfolioManager``: the planner sells what the new set drops into the base currency before it buys
what it adds. A kept token without prices over the whole training window is left out, and noted; with no token
left (or none kept, or too little history for the screen) the period is held in cash, and noted.

A walk-forward backtest of the whole loop is ``defipm backtest --oracle ppo_rotation --mode spot`` (each model is
trained on data before its period and traded over the next one); ``benchmarks/bench_rl_rotation.py`` runs one on
the wide daily panel.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self

from pydantic import Field

from defipm.classify.config import ScreenConfig
from defipm.classify.result import Classification
from defipm.classify.screen import Classifier, InsufficientHistoryError
from defipm.component import BuildContext
from defipm.core.account import AccountSnapshot
from defipm.core.weights import Weights
from defipm.data.contracts import read_contracts
from defipm.data.view import MarketView
from defipm.oracles.base import Oracle, Rotation
from defipm.oracles.market_source import MarketSource
from defipm.oracles.ppo import LONG_ONLY, PPOOracle
from defipm.rl.market import MarketArrays
from defipm.rl.model import LoadedModel
from defipm.rl.registry import DEFAULT_REGISTRY, ModelRegistry
from defipm.rl.settings import CostSettings, EnvSettings, PPOSettings
from defipm.rl.split import Split, usable_span

if TYPE_CHECKING:
    from defipm.rl.pipeline import TrainingPlan


class RotationConfig(ScreenConfig):
    """The screen's settings (``ScreenConfig``; ``top_n`` defaults to 8 here) and the loop's.

    period_days: days each model trades before the next classification and training.
    train_days: days of bars (closed by the rotation time) each model trains on.
    name: the registry name of the models (versions count up with every rotation).
    registry: the registry's folder. env / costs / ppo: the training plan (``defipm.rl.settings``).
    data / bar_label: a folder of OHLCV files read at each cycle when no backtest view is given.
    """

    top_n: int | None = Field(default=8, ge=1)
    period_days: int = Field(default=30, ge=1, le=3_660)
    train_days: int = Field(default=365, ge=2, le=36_600)
    name: str = "rotation"
    registry: Path = DEFAULT_REGISTRY
    env: EnvSettings = Field(default_factory=EnvSettings)
    costs: CostSettings = Field(default_factory=CostSettings)
    ppo: PPOSettings = Field(default_factory=lambda: PPOSettings(timesteps=20_000))
    data: Path | None = None
    bar_label: Literal["open", "close"] = "open"

    def screen(self) -> ScreenConfig:
        return ScreenConfig(**{k: getattr(self, k) for k in ScreenConfig.model_fields})

    def plan(self) -> TrainingPlan:
        from defipm.rl.pipeline import TrainingPlan

        return TrainingPlan(name=self.name, env=self.env, costs=self.costs, ppo=self.ppo)


class PPORotationOracle(Oracle):
    """Classify, retrain, register and switch at the end of every period (see the module doc)."""

    name = "ppo_rotation"
    config_model = RotationConfig
    reads_account = True
    constraints = LONG_ONLY

    def __init__(
        self, source: MarketSource, config: RotationConfig, *, store: Any = None, run: str = "default"
    ) -> None:
        super().__init__()
        self.source, self.config, self.run = source, config, run
        self.store = store
        self.registry = ModelRegistry(config.registry, store)
        self.policy: PPOOracle | None = None
        self._classifier: Classifier | None = None
        self._held: tuple[str, ...] = ()
        self._period_end: datetime | None = None
        self._rotations: list[Rotation] = []
        self._account: AccountSnapshot | None = None

    @classmethod
    def from_config(cls, config: RotationConfig, context: BuildContext) -> Self:
        from defipm.rl.extra import require_rl

        require_rl("oracle ppo_rotation")
        market: MarketView | None = context.market
        source = MarketSource(market, config.data, config.bar_label)
        return cls(source, config, store=context.store, run=context.run)

    def rotations(self) -> Sequence[Rotation]:
        return tuple(self._rotations)

    def observe_account(self, snapshot: AccountSnapshot) -> None:
        self._account = snapshot

    def fetch_portfolio_weights(self, timestamp: datetime, universe: Sequence[str]) -> Weights:
        if self._period_end is None or timestamp >= self._period_end:
            self._rotate(timestamp)
        if self.policy is None:
            return Weights({})
        if self._account is not None:
            self.policy.observe_account(self._account)
            self._account = None
        weights = self.policy.fetch_portfolio_weights(timestamp, universe)
        for remark in self.policy.pop_notes():
            self.note(remark)
        return weights

    # -- the rotation -----------------------------------------------------------------------------------------
    def _rotate(self, timestamp: datetime) -> None:
        view, stale = self.source.view_at(timestamp)
        if stale:
            self.note(f"ppo_rotation: {stale}")
        try:
            classification = self._classify(view, timestamp)
        except InsufficientHistoryError as exc:
            self._switch(timestamp, (), None, exc.ready_at, f"holding cash until {exc.ready_at:%Y-%m-%d}: {exc}")
            return
        period_end = classification.at + timedelta(days=self.config.period_days)
        symbols = self._trainable(view, classification.kept)
        if not symbols:
            self._switch(
                timestamp, (), classification, period_end, f"{classification.summary()}; no token to train on: cash"
            )
            return
        model = self._train(view, symbols, classification)
        summary = f"{classification.summary()}; trained {model.card.ref} on {', '.join(symbols)}"
        self.policy = PPOOracle(model, self.source)
        self._switch(timestamp, symbols, classification, period_end, summary)

    def _classify(self, view: MarketView, timestamp: datetime) -> Classification:
        if not self.source.fixed:
            contracts = read_contracts(Path(view.source)) if view.source and Path(view.source).is_dir() else None
            classifier = Classifier(view, self.config.screen(), contracts=contracts)
            try:
                return classifier.classify(min(timestamp, view.now))
            finally:
                classifier.close()
        if self._classifier is None:
            source = Path(view.source) if view.source else None
            contracts = read_contracts(source) if source is not None and source.is_dir() else None
            self._classifier = Classifier(view, self.config.screen(), contracts=contracts)
        return self._classifier.classify(timestamp)

    def _bars(self, view: MarketView, days: int) -> int:
        return max(2, int(timedelta(days=days) / view.interval))

    def _trainable(self, view: MarketView, kept: Sequence[str]) -> tuple[str, ...]:
        """The kept tokens with a price on every bar of the training window (and the observation window)."""
        need = self._bars(view, self.config.train_days) + self.config.env.window + 1
        if view.index + 1 < need:
            self.note(f"ppo_rotation: {view.index + 1} bars up to {view.now:%Y-%m-%d}, training needs {need}")
            return ()
        listed = view.bars_listed()
        usable = tuple(s for s in kept if listed[view.column(s)] >= need)
        left_out = [s for s in kept if s not in usable]
        if left_out:
            self.note(f"ppo_rotation: left out (fewer than {need} bars of prices to train on): {', '.join(left_out)}")
        return usable

    def _train(self, view: MarketView, symbols: tuple[str, ...], classification: Classification) -> LoadedModel:
        from defipm.rl.pipeline import train_model

        plan = self.config.plan()
        lookback = self._bars(view, self.config.train_days) + plan.env.window + 1
        market = MarketArrays.from_view(view, symbols, lookback)
        split = Split(usable_span(market, plan.env.window, plan.env.rebalance_every), None)
        note = f"rotation at {classification.at.isoformat()}: {classification.summary()}"
        trained = train_model(market, split, plan, notes=(note,))
        card = self.registry.register(trained.card, trained.policy)
        return LoadedModel(card, trained.policy)

    def _switch(
        self,
        timestamp: datetime,
        held: tuple[str, ...],
        classification: Classification | None,
        period_end: datetime,
        summary: str,
    ) -> None:
        previous = set(self._held)
        added = tuple(s for s in held if s not in previous)
        dropped = tuple(sorted(previous - set(held)))
        if not held:
            self.policy = None
        self._held, self._period_end = held, period_end
        at = classification.at if classification is not None else timestamp
        self._rotations.append(Rotation(at, held, added, dropped, summary))
        if self.store is not None and classification is not None:
            from defipm.classify.records import record_rotation

            record_rotation(
                self.store, run=self.run, oracle=self.name, classification=classification,
                period_end=period_end, added=added, dropped=dropped,
            )  # fmt: skip
        self.note(f"ppo_rotation: {summary}; next {period_end:%Y-%m-%d}")
