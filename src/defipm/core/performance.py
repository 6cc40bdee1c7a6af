"""Performance net of cash flows: deposits and withdrawals are not profit.

``time_weighted_returns`` chains period returns ``(E_t - F_t) / E_{t-1} - 1`` where ``F_t`` is the net flow
between the two equity observations (flows are assumed to arrive just before the later observation, which is
how the manager records them: a deposit changes equity immediately).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal


def time_weighted_returns(
    equity: Sequence[tuple[datetime, Decimal]], flows: Sequence[tuple[datetime, Decimal]]
) -> list[tuple[datetime, float]]:
    """Per-period returns between consecutive equity observations, with flows removed."""
    out: list[tuple[datetime, float]] = []
    flows_sorted = sorted(flows, key=lambda f: f[0])
    j = 0
    # flows at or before the first observation are part of the starting capital
    while j < len(flows_sorted) and equity and flows_sorted[j][0] <= equity[0][0]:
        j += 1
    for (_t0, e0), (t1, e1) in itertools.pairwise(equity):
        flow = Decimal(0)
        while j < len(flows_sorted) and flows_sorted[j][0] <= t1:
            flow += flows_sorted[j][1]
            j += 1
        if e0 > 0:
            out.append((t1, float((e1 - flow) / e0) - 1.0))
    return out


def time_weighted_return(
    equity: Sequence[tuple[datetime, Decimal]], flows: Sequence[tuple[datetime, Decimal]]
) -> float:
    """Total time-weighted return over the whole series."""
    total = 1.0
    for _t, r in time_weighted_returns(equity, flows):
        total *= 1.0 + r
    return total - 1.0
