"""The Oracle interface: something that knows the optimal portfolio at a point in time.

An oracle answers ``fetch_portfolio_weights(timestamp, universe)`` using only information available at
``timestamp`` (that is what lets the backtester replay it), and checks weights with ``validate_weights``.
Notes an oracle wants in the cycle report (e.g. "N shrunk from 10 to 4") go through ``note``. A config builds
one through ``config_model`` and ``from_config`` (``defipm.component``). An oracle whose answer depends on what
the account holds (a learned policy observes its current weights) sets ``reads_account``: the manager then hands
it the account's snapshot (``observe_account``) before asking for weights.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from defipm.component import Configurable
from defipm.core.account import AccountSnapshot
from defipm.core.errors import ConfigError
from defipm.core.validation import WeightConstraints, check_weights
from defipm.core.weights import Weights

if TYPE_CHECKING:
    from defipm.data.view import MarketView


def refuse_left_out(symbols: Iterable[str], market: MarketView | None, key: str) -> None:
    """Refuse, before any replay, symbols an oracle is set to hold (by its param ``key``) that the data holds but
    a backtest's ``--symbols`` left out: ``ConfigError`` naming them and both fixes, never the later "not in the
    venue's universe" that would blame the data."""
    if market is None or not market.left_out:
        return
    from defipm.data.panel import left_out_note  # numpy: not at import (a live venue's start-up needs none)

    excluded = [s for s in symbols if s in market.left_out]
    if excluded:
        them = "it" if len(excluded) == 1 else "them"
        raise ConfigError(f"{key}: {left_out_note(excluded, f'remove {them} from {key}')}")


@dataclass(frozen=True, slots=True)
class Rotation:
    """The oracle replaced the set of symbols it holds (e.g. a re-classification), for reports.

    timestamp: when the new set took effect. held: the new set. added / dropped: against the previous set.
    summary: one line on why (e.g. how many tokens each rule excluded).
    """

    timestamp: datetime
    held: tuple[str, ...]
    added: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    summary: str = ""


class Oracle(Configurable, ABC):
    """Base class of every oracle. Subclasses implement ``fetch_portfolio_weights``."""

    name: str = "oracle"
    constraints: WeightConstraints = WeightConstraints()
    """What this oracle's weights must satisfy; the manager checks them with the venue's universe."""

    reads_account: ClassVar[bool] = False
    """Whether the manager calls ``observe_account`` before every ``fetch_portfolio_weights``."""

    def __init__(self) -> None:
        self._notes: list[str] = []

    def observe_account(self, snapshot: AccountSnapshot) -> None:
        """The account as it stands before this cycle's ``fetch_portfolio_weights`` (called by the manager when
        ``reads_account`` is set; the base class ignores it)."""

    @abstractmethod
    def fetch_portfolio_weights(self, timestamp: datetime, universe: Sequence[str]) -> Weights:
        """Target weights at ``timestamp`` over symbols of ``universe`` (signed fractions of equity)."""

    def problems(self, weights: Weights, universe: Sequence[str] | None = None) -> list[str]:
        """Every way ``weights`` break this oracle's constraints (empty when valid)."""
        return check_weights(weights, universe, self.constraints)

    def validate_weights(self, weights: Weights) -> bool:
        """True when ``weights`` satisfy this oracle's constraints."""
        return not self.problems(weights)

    def note(self, message: str) -> None:
        """Record a remark for the current cycle's report."""
        if not hasattr(self, "_notes"):
            self._notes = []
        self._notes.append(message)

    def publication(self, timestamp: datetime) -> datetime | None:
        """When the signal this oracle would use at ``timestamp`` was published (a rebalance policy's
        ``on_publication`` trades when it changes); None for an oracle without a published signal."""
        return None

    def rotations(self) -> Sequence[Rotation]:
        """Every change of the held set so far, oldest first (empty for oracles without one)."""
        return ()

    def pop_notes(self) -> list[str]:
        notes = getattr(self, "_notes", [])
        self._notes = []
        return notes
