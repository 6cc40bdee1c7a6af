"""The paper venue's configuration as it comes from a config file: typed, checked, unknown keys refused.

``[venue.params]`` of a ``kind = "paper"`` venue is validated here (the registry's ``config_model`` path) before
anything is built, so a typo or a value of the wrong kind ("10k", "4.5bps", a leverage of 0) is one
``ConfigError`` naming the key, never a traceback.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from defipm.core.instruments import InstrumentRules
from defipm.venues.paper.fill_model import MAX_SLIPPAGE_BPS, SlippageModel

Amount = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
Positive = Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SlippageParams(_Strict):
    """``SlippageModel`` fields: fixed_bps (half-spread), impact (square-root coefficient), volume_floor, noise_bps,
    max_slippage_bps (cap on the adverse move), max_participation (share of a bar's volume one order may take)."""

    fixed_bps: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    impact: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    volume_floor: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 1.0
    noise_bps: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    max_slippage_bps: Annotated[float, Field(gt=0, lt=10_000, allow_inf_nan=False)] = MAX_SLIPPAGE_BPS
    max_participation: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] | None = None


class RulesParams(_Strict):
    """``InstrumentRules`` of one symbol (fees and leverage come from the venue's own settings)."""

    size_step: Positive = Decimal("0.00000001")
    min_notional: Amount = Decimal(0)
    price_tick: Positive | None = None
    price_sig_figs: Annotated[int, Field(gt=0)] | None = None
    max_price_decimals: Annotated[int, Field(ge=0)] | None = None
    min_notional_on_close: bool = True


class PaperParams(_Strict):
    initial_cash: Amount = Decimal(10_000)
    mode: Literal["perp", "spot"] = "perp"
    taker_fee: Amount = Decimal("0.00045")
    slippage: SlippageParams = Field(default_factory=SlippageParams)
    rules: dict[str, RulesParams] = Field(default_factory=dict)
    """Per-symbol rules; symbols not named here trade with the defaults."""
    max_leverage: Positive = Decimal(3)
    maintenance_margin: Amount | None = None
    """Perp maintenance margin, fraction of gross notional (default: half the initial margin, as on Hyperliquid)."""
    seed: int = 0
    account: str = "paper"
    max_price_age: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None

    def venue_kwargs(self) -> dict[str, Any]:
        return {
            "initial_cash": self.initial_cash,
            "mode": self.mode,
            "taker_fee": self.taker_fee,
            "slippage": SlippageModel(**self.slippage.model_dump()),
            "rules": {s: InstrumentRules(**r.model_dump()) for s, r in self.rules.items()} or None,
            "max_leverage": self.max_leverage,
            "maintenance_margin": self.maintenance_margin,
            "seed": self.seed,
            "account": self.account,
            "max_price_age": self.max_price_age,
        }
