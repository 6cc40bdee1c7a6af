"""The arbitrage risk manager's state in the store: pause, circuit breaker and the day's loss survive a restart.

``StoredRiskState(store, run)`` is the ``RiskStateStore`` of ``ArbRiskManager``: one JSON value in the store's
per-run settings (key ``arb_risk``), where the portfolio's kill switch and drawdown peak live too, written in one
committed transaction on every change.

The pause may be set from another process (``set_paused``: the service's pause and resume): the risk manager reads
it back before every check and before saving anything else, so a running loop obeys it within a round and never
writes an older pause over it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from defipm.core.errors import JournalError

if TYPE_CHECKING:
    from defipm.store import Store

__all__ = ["RISK_STATE_KEY", "StoredRiskState", "set_paused"]

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

    def paused(self) -> bool | None:
        """The stored pause (None when nothing is stored)."""
        saved = self.load()
        return None if saved is None else bool(saved.get("paused", False))


def set_paused(store: Store, run: str, paused: bool) -> dict[str, Any]:
    """Pause or resume arbitrage run ``run`` from any process, keeping the rest of its stored state (a run with none
    yet starts with a closed breaker and no loss today); returns the state saved. A running loop obeys it from its
    next check. Raises ``JournalError`` when the stored state is unreadable."""
    state = StoredRiskState(store, run)
    saved = state.load() or {}
    saved["paused"] = paused
    state.save(saved)
    return saved
