"""Arbitrage risk: pre-trade validation, size and loss limits, a circuit breaker and an emergency pause.

``ArbRiskManager.check(opportunity, requote)`` re-quotes the cycle on the latest state (``requote`` returns the
fresh ``Opportunity`` or a ``Rejection``) and approves it only when every rule passes: not paused, breaker closed,
net profit >= ``min_profit_native``, size <= the per-trade and per-token limits, daily loss not exhausted. Each
call returns a ``Decision`` with its reason and is appended to ``decisions`` (and published as a ``RiskAlert`` when
refused). ``record_execution`` feeds results back: losses count against the daily limit, and ``breaker_failures``
failed or losing executions in a row open the breaker for ``breaker_cooldown_s`` seconds. Gas dearer than
``max_gas_price_wei`` refuses every trade until it falls.

With a ``state`` store (``defipm.arb.risk_state.StoredRiskState``) the pause, the breaker and the day's loss are
saved on every change and restored on construction, so a restart neither resets the breaker nor the daily loss;
the stored pause is read again before every check, so a pause set by another process (the service) holds.
``decisions`` keeps the last ``DECISIONS_KEPT`` verdicts.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from defipm.arb.events import EventBus, RiskAlert
from defipm.arb.opportunity import Opportunity, Rejection

__all__ = ["DECISIONS_KEPT", "ArbRiskConfig", "ArbRiskManager", "Decision", "RiskStateStore"]

DECISIONS_KEPT = 1_000
"""Verdicts ``ArbRiskManager.decisions`` keeps (oldest dropped first): a long run must not grow without bound."""
DEFAULT_MAX_GAS_PRICE_WEI = 300 * 10**9
"""300 gwei."""


class ArbRiskConfig(BaseModel):
    """Risk limits of the arbitrage loop. Amounts in raw units (wei for the native token)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_profit_native: int = Field(default=0, ge=0, description="Least net profit (wei of native) to trade.")
    max_trade_native: int | None = Field(default=None, ge=0, description="Largest trade, valued in native wei.")
    max_trade_per_token: dict[str, int] = Field(
        default_factory=dict, description="Largest input per start token address, raw units."
    )
    daily_loss_limit_native: int = Field(default=10**18, ge=0, description="Stop after losing this much in a UTC day.")
    breaker_failures: int = Field(
        default=3, ge=1, description="Failed or losing executions in a row that open the breaker."
    )
    breaker_cooldown_s: float = Field(default=300.0, ge=0, description="Seconds the breaker stays open.")
    max_gas_price_wei: int | None = Field(
        default=DEFAULT_MAX_GAS_PRICE_WEI, gt=0, description="No trade while gas costs more per unit (wei)."
    )

    @field_validator("max_trade_per_token")
    @classmethod
    def _addresses_in_lower_case(cls, limits: dict[str, int]) -> dict[str, int]:
        """Token addresses as the engine spells them (lower case), so a checksummed key still applies."""
        out: dict[str, int] = {}
        for address, cap in limits.items():
            if cap < 0:
                raise ValueError(f"max_trade_per_token[{address}] must be >= 0, got {cap}")
            out[address.lower()] = cap
        return out


@dataclass(frozen=True, slots=True)
class Decision:
    """A validation verdict: ``approved`` and why, with the re-quoted opportunity when there is one."""

    at: datetime
    approved: bool
    reason: str
    opportunity: Opportunity | None = None


class RiskStateStore(Protocol):
    """Where the risk manager keeps its state across restarts (a JSON-able mapping)."""

    def load(self) -> dict[str, Any] | None: ...

    def save(self, state: dict[str, Any]) -> None: ...


@dataclass
class ArbRiskManager:
    config: ArbRiskConfig = field(default_factory=lambda: ArbRiskConfig())
    bus: EventBus | None = None
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    paused: bool = False
    decisions: deque[Decision] = field(default_factory=lambda: deque(maxlen=DECISIONS_KEPT))
    consecutive_failures: int = 0
    breaker_open_until: datetime | None = None
    state: RiskStateStore | None = None
    """Persists the pause, the breaker and the day's loss (restored here on construction)."""
    _day: str = ""
    _day_loss: int = 0

    def __post_init__(self) -> None:
        saved = self.state.load() if self.state is not None else None
        if saved:
            self.paused = bool(saved.get("paused", False))
            self.consecutive_failures = int(saved.get("consecutive_failures", 0))
            until = saved.get("breaker_open_until")
            self.breaker_open_until = datetime.fromisoformat(until) if until else None
            self._day = str(saved.get("day", ""))
            self._day_loss = int(saved.get("day_loss", 0))

    def _sync_pause(self) -> None:
        """Take the pause another process may have stored (``risk_state.set_paused``) as this manager's own."""
        if self.state is None:
            return
        stored = self.state.load()
        if stored is not None and bool(stored.get("paused", False)) != self.paused:
            self.paused = bool(stored.get("paused", False))
            self._alert("critical" if self.paused else "info", "pause", "paused" if self.paused else "resumed")

    def _save(self, *, pause_changed: bool = False) -> None:
        if self.state is not None:
            if not pause_changed:
                self._sync_pause()  # never write back an older pause over one set from another process
            until = self.breaker_open_until
            self.state.save(
                {
                    "paused": self.paused,
                    "consecutive_failures": self.consecutive_failures,
                    "breaker_open_until": until.isoformat() if until else None,
                    "day": self._day,
                    "day_loss": str(self._day_loss),
                }
            )

    def pause(self, reason: str = "emergency pause") -> None:
        self.paused = True
        self._save(pause_changed=True)
        self._alert("critical", "pause", reason)

    def resume(self) -> None:
        self.paused = False
        self._save(pause_changed=True)
        self._alert("info", "pause", "resumed")

    def breaker_open(self) -> bool:
        if self.breaker_open_until is None:
            return False
        if self.clock() >= self.breaker_open_until:
            self.breaker_open_until = None
            self.consecutive_failures = 0
            self._save()
            self._alert("info", "circuit_breaker", "closed after cool-down")
            return False
        return True

    def daily_loss(self) -> int:
        self._roll_day()
        return self._day_loss

    def check(
        self,
        opportunity: Opportunity,
        requote: Callable[[Opportunity], Opportunity | Rejection],
        trade_value_native: int | None = None,
        value_native: Callable[[Opportunity], int | None] | None = None,
        gas_price_wei: int | None = None,
    ) -> Decision:
        """Validate an opportunity against the latest state and the limits; records the decision.

        ``max_trade_native`` needs the trade's value in native wei: ``trade_value_native``, or ``value_native``
        applied to the re-quoted opportunity. A trade whose value cannot be told is refused while the limit is set.
        ``gas_price_wei``: the gas price now, checked against ``max_gas_price_wei``."""
        cfg = self.config
        self._sync_pause()
        if self.paused:
            return self._decide(False, "emergency pause is on", opportunity)
        if self.breaker_open():
            return self._decide(False, f"circuit breaker open until {self.breaker_open_until}", opportunity)
        if self.daily_loss() >= cfg.daily_loss_limit_native:
            return self._decide(False, f"daily loss limit reached ({self._day_loss} wei)", opportunity)
        if gas_price_wei is not None and cfg.max_gas_price_wei is not None and gas_price_wei > cfg.max_gas_price_wei:
            return self._decide(
                False,
                f"gas price {gas_price_wei / 10**9:,.2f} gwei above max_gas_price_wei "
                f"({cfg.max_gas_price_wei / 10**9:,.2f} gwei): deferred until gas is cheaper",
                opportunity,
            )
        fresh = requote(opportunity)
        if isinstance(fresh, Rejection):
            return self._decide(False, f"re-quote on latest state: {fresh.reason}", opportunity)
        if fresh.net_profit_native is None:
            return self._decide(False, "start token has no native price: net profit unknown", fresh)
        if fresh.net_profit_native < max(1, cfg.min_profit_native):
            return self._decide(
                False, f"net profit {fresh.net_profit_native} wei below minimum {cfg.min_profit_native}", fresh
            )
        cap = cfg.max_trade_per_token.get(fresh.start_token.lower())
        if cap is not None and fresh.amount_in > cap:
            return self._decide(False, f"size {fresh.amount_in} above the {fresh.start_token} limit {cap}", fresh)
        if cfg.max_trade_native is not None:
            value = trade_value_native
            if value is None and value_native is not None:
                value = value_native(fresh)
            if value is None:
                return self._decide(
                    False,
                    f"trade value in native wei unknown: cannot check max_trade_native {cfg.max_trade_native}",
                    fresh,
                )
            if value > cfg.max_trade_native:
                return self._decide(False, f"trade value {value} wei above limit {cfg.max_trade_native}", fresh)
        return self._decide(True, f"approved: net {fresh.net_profit_native} wei", fresh)

    def record_execution(self, success: bool, profit_native: int) -> None:
        """Feed an execution outcome back (profit net of gas, wei; negative is a loss)."""
        self._roll_day()
        if profit_native < 0:
            self._day_loss += -profit_native
        if success and profit_native >= 0:
            self.consecutive_failures = 0
            self._save()
            return
        self.consecutive_failures += 1
        opened = self.consecutive_failures >= self.config.breaker_failures and self.breaker_open_until is None
        if opened:
            self.breaker_open_until = self.clock() + timedelta(seconds=self.config.breaker_cooldown_s)
        self._save()
        if opened:
            self._alert(
                "critical",
                "circuit_breaker",
                f"opened after {self.consecutive_failures} failed or losing executions",
            )

    def _roll_day(self) -> None:
        day = self.clock().date().isoformat()
        if day != self._day:
            self._day, self._day_loss = day, 0
            self._save()

    def _decide(self, ok: bool, reason: str, opp: Opportunity | None) -> Decision:
        d = Decision(self.clock(), ok, reason, opp)
        self.decisions.append(d)
        if not ok:
            self._alert("warning", "validation", reason)
        return d

    def _alert(self, level: str, check: str, message: str) -> None:
        if self.bus is not None:
            self.bus.publish(RiskAlert(self.clock(), level, check, message))
