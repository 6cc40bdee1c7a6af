"""The arbitrage risk manager's state in the store: pause, circuit breaker and the day's loss survive a restart.

``StoredRiskState(store, run)`` is the ``RiskStateStore`` of ``ArbRiskManager``: one JSON value in the store's
per-run settings (key ``arb_risk``), where the portfolio's kill switch and drawdown peak live too, written in one
committed transaction on every change.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from defipm.core.errors import JournalError

if TYPE_CHECKING:
    from defipm.store import Store

__all__ = ["RISK_STATE_KEY", "StoredRiskState"]

RISK_STATE_KEY = "arb_risk"


class StoredRiskState:
    """Loads and saves the risk state of arbitrage run ``run``."""

    def __init__(self, store: Store, run: str = "arb") -> None:
        self.store = store
        self.run = run

    def load(self) -> dict[str, Any] | None:
        text = self.store.get_setting(self.run, RISK_STATE_KEY)
        if text is None:
            return None
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            raise JournalError(
                f"stored arbitrage risk state of run {self.run!r} (setting {RISK_STATE_KEY}) is unreadable: "
                "delete that setting to start with a closed breaker and no loss today"
            )
        return value

    def save(self, state: dict[str, Any]) -> None:
        self.store.set_setting(self.run, RISK_STATE_KEY, json.dumps(state))
