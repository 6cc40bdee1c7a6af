"""Weight constraints and the check that lists every way a set of weights breaks them.

``check_weights`` returns readable problems (one line each, naming the symbol and the limit); the manager turns
a non-empty list into one ``InvalidWeightsError`` before anything is traded.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass

from defipm.core.errors import InvalidWeightsError
from defipm.core.weights import Weights


@dataclass(frozen=True, slots=True)
class WeightConstraints:
    """What a valid target looks like.

    long_only: forbid negative weights (spot venues).
    max_gross: upper bound on sum |w| (1.0 = no leverage).
    target_net: required sum of signed weights, or None for no requirement.
    net_tolerance: allowed absolute distance of net from ``target_net``.
    target_gross: required gross, or None; checked with ``gross_tolerance``.
    max_weight: upper bound on any single |w|, or None.
    allow_empty: whether an all-zero / empty target (go flat) is acceptable.
    """

    long_only: bool = False
    max_gross: float = 1.0
    target_net: float | None = None
    net_tolerance: float = 1e-6
    target_gross: float | None = None
    gross_tolerance: float = 1e-6
    max_weight: float | None = None
    allow_empty: bool = False


def check_weights(
    weights: Weights,
    universe: Collection[str] | None = None,
    constraints: WeightConstraints | None = None,
) -> list[str]:
    """Return every problem with ``weights`` (empty list when valid). Pure; never raises on bad values."""
    c = constraints or WeightConstraints()
    problems: list[str] = []
    finite = True
    for symbol, w in weights.items():
        if not math.isfinite(w):
            problems.append(f"{symbol}: weight is {w} (must be a finite number)")
            finite = False
            continue
        if c.long_only and w < 0:
            problems.append(f"{symbol}: negative weight {w:.6g} in a long-only portfolio")
        if c.max_weight is not None and abs(w) > c.max_weight + 1e-12:
            problems.append(f"{symbol}: |weight| {abs(w):.6g} above max_weight {c.max_weight:.6g}")
    if universe is not None:
        universe_set = universe if isinstance(universe, set | frozenset) else set(universe)
        unknown = sorted(s for s, w in weights.items() if s not in universe_set and w != 0)
        for symbol in unknown:
            problems.append(f"{symbol}: not in the venue's universe")
    if not any(w != 0 for w in weights.values()) and not c.allow_empty:
        problems.append("empty portfolio: no non-zero weight (set allow_empty to go flat on purpose)")
    if finite:
        gross, net = weights.gross, weights.net
        if gross > c.max_gross + 1e-9:
            problems.append(f"gross exposure {gross:.6g} above max_gross {c.max_gross:.6g}")
        if c.target_gross is not None and abs(gross - c.target_gross) > c.gross_tolerance and weights:
            problems.append(
                f"gross exposure {gross:.6g} differs from target_gross {c.target_gross:.6g} "
                f"by more than {c.gross_tolerance:.3g}"
            )
        if c.target_net is not None and abs(net - c.target_net) > c.net_tolerance and weights:
            problems.append(
                f"net exposure {net:.6g} differs from target_net {c.target_net:.6g} by more than {c.net_tolerance:.3g}"
            )
    return problems


def ensure_valid(
    weights: Weights,
    universe: Collection[str] | None = None,
    constraints: WeightConstraints | None = None,
) -> None:
    """Raise ``InvalidWeightsError`` naming every problem, or return None."""
    problems = check_weights(weights, universe, constraints)
    if problems:
        raise InvalidWeightsError(problems)
