"""The settings of a learned allocator: the environment's (``EnvSettings``), PPO's (``PPOSettings``) and the
trading costs (``CostSettings``, which build the backtest's own ``CostModel`` and ``PlannerConfig``, so the
environment, a backtest and the paper venue are priced by one model). Each is a ``ConfigModel``: unknown keys and
out-of-range values are one ``ConfigError`` naming the key.
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, model_validator

from defipm.backtest.config import CostModel
from defipm.config_schema import BPS_LIMIT, MAX_AMOUNT, Bps, ConfigModel, FeeRate, Impact, Seed
from defipm.core.planner import PlannerConfig

MAX_WINDOW = 2_000
"""Longest observation window in bars (about 83 days of hourly bars)."""
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


class EnvSettings(ConfigModel):
    """The environment.

    window: bars of history in each observation (log returns, and volumes with ``volume_features``).
    rebalance_every: bars between two decisions (one step of the environment).
    volume_features: show each bar's volume against the window's mean beside the returns.
    action_scale: the softmax scale mapping actions in [-1, 1] to weights (``defipm.rl.action``).
    initial_cash: quote currency an episode starts with, all in cash.
    episode_steps: steps of a training episode (None: from the start to the end of the training part).
    random_start: start training episodes at a random bar of the training part (seeded), instead of its first.
    """

    window: int = Field(default=30, ge=2, le=MAX_WINDOW)
    rebalance_every: int = Field(default=1, ge=1, le=100_000)
    volume_features: bool = True
    action_scale: float = Field(default=5.0, gt=0, le=50, allow_inf_nan=False)
    initial_cash: float = Field(default=10_000.0, gt=0, le=float(MAX_AMOUNT), allow_inf_nan=False)
    episode_steps: int | None = Field(default=None, ge=1)
    random_start: bool = False


class PPOSettings(ConfigModel):
    """Stable-Baselines3 PPO (names and meanings as SB3's ``PPO``); ``timesteps`` is the training length in steps
    of the environment. ``batch_size`` must not exceed ``n_steps``."""

    timesteps: int = Field(default=100_000, ge=1, le=100_000_000)
    learning_rate: float = Field(default=3e-4, gt=0, le=1, allow_inf_nan=False)
    n_steps: int = Field(default=512, ge=2, le=1_000_000)
    batch_size: int = Field(default=64, ge=2, le=1_000_000)
    n_epochs: int = Field(default=10, ge=1, le=1_000)
    gamma: float = Field(default=0.99, gt=0, le=1, allow_inf_nan=False)
    gae_lambda: float = Field(default=0.95, ge=0, le=1, allow_inf_nan=False)
    clip_range: float = Field(default=0.2, gt=0, le=10, allow_inf_nan=False)
    ent_coef: float = Field(default=0.0, ge=0, le=1, allow_inf_nan=False)
    net_arch: tuple[int, ...] = Field(default=(64, 64), min_length=1, max_length=8)
    seed: Seed = 0

    @model_validator(mode="after")
    def _batch_fits(self) -> Self:
        if self.batch_size > self.n_steps:
            raise ValueError(
                f"batch_size {self.batch_size} is above n_steps {self.n_steps}: a batch must fit a rollout"
            )
        if any(width < 1 or width > 4096 for width in self.net_arch):
            raise ValueError(f"net_arch layer widths must be 1..4096, got {list(self.net_arch)}")
        return self


class CostSettings(ConfigModel):
    """Trading costs (the backtest's ``CostModel`` fields, spot) and the planner's cost reserve.

    taker_fee: fee as a fraction of notional. slippage_bps: fixed half-spread. impact / volume_floor: square-root
    impact against the bar's dollar volume. max_slippage_bps: cap on a fill's adverse move. max_participation /
    participation_floor: a trade takes at most this share of the bar's dollar volume (or of the floor, when the bar
    reports less), the rest does not fill. min_notional: smaller trades are skipped. no_trade_band: smaller
    changes (a share of equity) are skipped. cost_reserve_bps: expected slippage kept back besides the fee (the
    planner's reserve): a spot venue refuses a buy the cash cannot pay for, so a fully invested target needs room
    for its slippage; 50 bps covers a spread and moderate impact, raise it with heavy impact.
    """

    taker_fee: FeeRate = 0.003
    slippage_bps: Bps = 0.0
    impact: Impact = 0.0
    volume_floor: float = Field(default=1.0, gt=0, le=float(MAX_AMOUNT), allow_inf_nan=False)
    max_slippage_bps: float = Field(default=1_000.0, gt=0, lt=BPS_LIMIT, allow_inf_nan=False)
    max_participation: float | None = Field(default=None, gt=0, le=1, allow_inf_nan=False)
    participation_floor: float = Field(default=0.0, ge=0, le=float(MAX_AMOUNT), allow_inf_nan=False)
    min_notional: float = Field(default=0.0, ge=0, le=float(MAX_AMOUNT), allow_inf_nan=False)
    no_trade_band: float = Field(default=0.0, ge=0, lt=1, allow_inf_nan=False)
    cost_reserve_bps: Bps = 50.0

    def cost_model(self) -> CostModel:
        """The backtest's cost model with these costs."""
        return CostModel(
            taker_fee=self.taker_fee,
            slippage_bps=self.slippage_bps,
            impact=self.impact,
            volume_floor=self.volume_floor,
            max_slippage_bps=self.max_slippage_bps,
            max_participation=self.max_participation,
            participation_floor=self.participation_floor,
            min_notional=self.min_notional,
        )

    def planner(self) -> PlannerConfig:
        """The planner settings with this band and reserve (fees always reserved, as the backtest's default)."""
        return PlannerConfig(no_trade_band=self.no_trade_band, cost_reserve_bps=self.cost_reserve_bps)
