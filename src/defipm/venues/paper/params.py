"""The paper venue's parameters: one set of rules for a config file's ``[venue.params]`` and for code.

``PaperParams`` validates ``[venue.params]`` of a ``kind = "paper"`` venue (its ``config_model``) before anything
is built, so a typo or a value of the wrong kind ("10k", "4.5bps", a leverage of 0, ``true`` for a number) is one
``ConfigError`` naming the key, never a traceback. ``PaperVenue.__init__`` checks the values code passes it with
the same fields (``checked``), so there is one definition of what a valid paper venue is. Bounds and why:
``defipm.config_schema``.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, ValidationError

from defipm.config_schema import (
    BPS_LIMIT,
    MAX_AMOUNT,
    Bps,
    ConfigModel,
    FeeFraction,
    Impact,
    Leverage,
    Money,
    Seconds,
    Symbol,
    problems,
)
from defipm.core.instruments import InstrumentRules
from defipm.venues.paper.fill_model import MAX_SLIPPAGE_BPS, SlippageModel


class PaperMode(StrEnum):
    """What a paper account trades."""

    PERP = "perp"
    """Perpetuals: long and short, margin = gross notional / max_leverage, funding, liquidation."""
    SPOT = "spot"
    """Spot: long only, cash never negative."""


Step = Annotated[Decimal, Field(ge=Decimal("1e-18"), le=Decimal("1e9"), allow_inf_nan=False)]
"""A size or price increment: from 1e-18 (the finest token unit) to 1e9."""


class SlippageParams(ConfigModel):
    """``SlippageModel`` fields: fixed_bps (half-spread), impact (square-root coefficient), volume_floor, noise_bps,
    max_slippage_bps (cap on the adverse move), max_participation (share of a bar's volume one order may take),
    participation_floor (smallest bar dollar volume the cap assumes)."""

    fixed_bps: Bps = 0.0
    """Half-spread in bps, below 10,000 (a 100% half-spread would fill a sell at zero)."""
    impact: Impact = 0.0
    volume_floor: Annotated[float, Field(gt=0, le=float(MAX_AMOUNT), allow_inf_nan=False)] = 1.0
    noise_bps: Bps = 0.0
    max_slippage_bps: Annotated[float, Field(gt=0, lt=BPS_LIMIT, allow_inf_nan=False)] = MAX_SLIPPAGE_BPS
    """Cap on the adverse move, in bps, below 10,000 so a fill price stays positive."""
    max_participation: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] | None = None
    participation_floor: Annotated[float, Field(ge=0, le=float(MAX_AMOUNT), allow_inf_nan=False)] = 0.0
    """Smallest bar dollar volume the participation cap assumes (hourly sources often report 0)."""


class RulesParams(ConfigModel):
    """``InstrumentRules`` of one symbol (fees and leverage come from the venue's own settings)."""

    size_step: Step = Decimal("0.00000001")
    min_notional: Money = Decimal(0)
    price_tick: Step | None = None
    price_sig_figs: Annotated[int, Field(ge=1, le=28)] | None = None
    """At most 28: the precision of the books' decimal arithmetic."""
    max_price_decimals: Annotated[int, Field(ge=0, le=18)] | None = None
    min_notional_on_close: bool = True


class PaperParams(ConfigModel):
    initial_cash: Money | None = None
    """Cash a new account opens with (10,000 when left out). A stored account keeps its books: an initial_cash
    other than the one it was opened with is refused, not ignored."""
    mode: PaperMode = PaperMode.PERP
    taker_fee: FeeFraction = Decimal("0.00045")
    slippage: SlippageParams = Field(default_factory=SlippageParams)
    rules: dict[Symbol, RulesParams] = Field(default_factory=dict)
    """Per-symbol rules; symbols not named here trade with the defaults."""
    max_leverage: Leverage = Decimal(3)
    maintenance_margin: Annotated[Decimal, Field(ge=0, lt=1, allow_inf_nan=False)] | None = None
    """Perp maintenance margin, fraction of gross notional (default: half the initial margin, as on Hyperliquid)."""
    seed: int = 0
    account: str = Field(default="paper", min_length=1, max_length=64)
    max_price_age: Seconds | None = None

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


def checked(name: str, value: Any) -> Any:
    """``value`` as ``PaperParams`` reads the param ``name`` (a float becomes its exact decimal); ``ValueError``
    naming the param and the rule it breaks."""
    try:
        return getattr(PaperParams.model_validate({name: value}), name)
    except ValidationError as exc:
        raise ValueError(f"paper venue {'; '.join(problems(exc, PaperParams))}") from None
