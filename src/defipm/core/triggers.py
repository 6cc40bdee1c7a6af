"""When a rebalance is due: on a schedule, when the signal publishes anew, or when the book drifts from its target.

A manager with a ``RebalancePolicy`` is asked to run more often than it trades (every bar of a backtest, every
``defipm run --every``); at each cycle the policy says whether to rebalance, and why, from what the last rebalance
left (``LastRebalance``: its time, the target it traded to, the signal publication it used):

- ``every``: this long has passed since the last rebalance (the schedule);
- ``on_publication``: the oracle's signal has a newer publication than the one last traded;
- ``drift``: some weight of the book is further than this from the last target (prices moved it).

With none of them due the cycle trades nothing. The first cycle (nothing traded yet) is always due. Pure: no I/O.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from defipm.core.weights import Weights


@dataclass(frozen=True, slots=True)
class LastRebalance:
    """What the last rebalance left: when, the weights it traded to, and the signal publication it used."""

    timestamp: datetime
    target: Weights
    publication: datetime | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "timestamp": self.timestamp.isoformat(),
                "target": dict(self.target),
                "publication": self.publication.isoformat() if self.publication else None,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> LastRebalance:
        data = json.loads(text)
        published = data.get("publication")
        return cls(
            datetime.fromisoformat(data["timestamp"]),
            Weights({str(s): float(w) for s, w in data["target"].items()}),
            datetime.fromisoformat(published) if published else None,
        )


def drift(actual: Mapping[str, float], target: Mapping[str, float]) -> tuple[float, str | None]:
    """(the largest |actual - target| over the symbols of either, that symbol); (0, None) when they agree."""
    worst, where = 0.0, None
    for symbol in sorted(set(actual) | set(target)):
        gap = abs(actual.get(symbol, 0.0) - target.get(symbol, 0.0))
        if gap > worst:
            worst, where = gap, symbol
    return worst, where


@dataclass(frozen=True, slots=True)
class RebalancePolicy:
    """every: rebalance when this long has passed since the last one (None: no schedule of its own).
    on_publication: rebalance when the signal has published anew. drift: rebalance when a weight is further than
    this (a fraction of equity, e.g. 0.05) from the last target. Raises ``ValueError`` for a policy that can
    never trade again after its first rebalance, or a bound that is not a positive finite number."""

    every: timedelta | None = None
    on_publication: bool = False
    drift: float | None = None

    def __post_init__(self) -> None:
        if self.every is not None and self.every <= timedelta(0):
            raise ValueError(f"rebalance every must be a positive duration, got {self.every}")
        if self.drift is not None and not (math.isfinite(self.drift) and 0 < self.drift < 1000):
            raise ValueError(f"rebalance drift must be a fraction of equity above 0, got {self.drift}")
        if self.every is None and not self.on_publication and self.drift is None:
            raise ValueError("a rebalance policy needs every, on_publication or drift (else it trades once)")

    def due(
        self,
        now: datetime,
        last: LastRebalance | None,
        actual: Mapping[str, float],
        publication: datetime | None = None,
    ) -> str | None:
        """Why a rebalance is due at ``now`` (the book's weights ``actual``, the signal's latest
        ``publication``), or None when none is."""
        if last is None:
            return "first rebalance"
        if self.every is not None and now - last.timestamp >= self.every:
            return f"scheduled: {now - last.timestamp} since the last rebalance (every {self.every})"
        if self.on_publication and publication is not None and publication != last.publication:
            return f"new signal published {publication:%Y-%m-%d %H:%M} (last traded: {_when(last.publication)})"
        if self.drift is not None:
            gap, symbol = drift(actual, last.target)
            if gap > self.drift:
                return f"drift: {symbol} is {gap:.2%} of equity from its target (threshold {self.drift:.2%})"
        return None


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment is not None else "none"
