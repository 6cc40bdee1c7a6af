"""Weight constraints and the check that lists every way a set of weights breaks them.

``check_weights`` returns readable problems (one line each, naming the symbol and the limit); the manager turns
a non-empty list into one ``InvalidWeightsError`` before anything is traded.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from numbers import Real

from defipm.core.errors import InvalidWeightsError
from defipm.core.names import listing, near_miss
from defipm.core.weights import Weights, exact_sum


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
    keys: the config key that sets each limit (``{"max_gross": "[oracle.params] max_gross", "symbols":
      "[oracle.params] weights"}``), named in a problem as its fix; a limit without a key is named alone.
    """

    long_only: bool = False
    max_gross: float = 1.0
    target_net: float | None = None
    net_tolerance: float = 1e-6
    target_gross: float | None = None
    gross_tolerance: float = 1e-6
    max_weight: float | None = None
    allow_empty: bool = False
    keys: Mapping[str, str] = field(default_factory=dict)

    def fix(self, limit: str) -> str:
        """`` (edit KEY)`` for a limit a config key sets, else empty."""
        key = self.keys.get(limit)
        return f" (edit {key})" if key else ""


def check_weights(
    weights: Weights,
    universe: Collection[str] | None = None,
    constraints: WeightConstraints | None = None,
) -> list[str]:
    """Return every problem with ``weights`` (empty list when valid), one line each naming the symbol or the
    limit. Pure; never raises, whatever the values (NaN, infinities, 1e308). When some weights are not finite,
    the gross limit is still checked on the finite ones (it is exceeded whatever the others are); the target
    gross and net are only checked on a fully finite target."""
    c = constraints or WeightConstraints()
    problems: list[str] = []
    finite = _finite_within_limits(weights, c)
    if finite is None:  # some weight breaks a per-weight rule: name each
        finite = _per_weight_problems(weights, c, problems)
    if universe is not None:
        universe_set = universe if isinstance(universe, set | frozenset) else set(universe)
        if not universe_set.issuperset(weights):  # the usual case, checked at C speed
            unknown = sorted(s for s, w in weights.items() if s not in universe_set and w != 0)
            for symbol in unknown:
                hint = f"{near_miss(symbol, list(universe_set))}it lists {listing(universe_set)}"
                problems.append(f"{symbol}: not in the venue's universe ({hint}){c.fix('symbols')}")
    if not any(map(bool, weights.values())) and not c.allow_empty:  # floats: bool(w) is w != 0
        problems.append("empty portfolio: no non-zero weight (set allow_empty to go flat on purpose)")
    all_finite = len(finite) == len(weights)
    gross = exact_sum(map(abs, finite))
    if gross > c.max_gross + 1e-9:
        of = "" if all_finite else " of the finite weights"
        problems.append(f"gross exposure{of} {gross:.6g} above max_gross {c.max_gross:.6g}{c.fix('max_gross')}")
    if all_finite and weights:
        _check_totals(gross, exact_sum(finite), c, problems)
    return problems


def _finite_within_limits(weights: Weights, c: WeightConstraints) -> list[float] | None:
    """Every weight, when all are finite and within the per-weight rules (checked in C-level passes: a manager
    checks its oracle's weights every cycle); None when any is not, for ``_per_weight_problems`` to name."""
    values = list(weights.values())
    if not values:
        return values
    try:
        if not math.isfinite(math.fsum(values)):  # NaN or an infinity (inf - inf raises)
            return None
    except (OverflowError, ValueError):
        return None
    if c.long_only and min(values) < 0:
        return None
    if c.max_weight is not None and max(map(abs, values)) > c.max_weight + 1e-12:
        return None
    return values


def _per_weight_problems(weights: Weights, c: WeightConstraints, problems: list[str]) -> list[float]:
    """The finite weights; appends a line for each weight that is not finite or breaks a per-weight rule."""
    finite: list[float] = []
    for symbol, w in weights.items():
        if not math.isfinite(w):
            problems.append(f"{symbol}: weight is {w} (must be a finite number)")
            continue
        finite.append(w)
        if c.long_only and w < 0:
            problems.append(f"{symbol}: negative weight {w:.6g} in a long-only portfolio{c.fix('long_only')}")
        if c.max_weight is not None and abs(w) > c.max_weight + 1e-12:
            problems.append(f"{symbol}: |weight| {abs(w):.6g} above max_weight {c.max_weight:.6g}{c.fix('max_weight')}")
    return finite


def _check_totals(gross: float, net: float, c: WeightConstraints, problems: list[str]) -> None:
    """Appends the target gross and target net problems of a fully finite target."""
    if c.target_gross is not None and not abs(gross - c.target_gross) <= c.gross_tolerance:
        problems.append(
            f"gross exposure {gross:.6g} differs from target_gross {c.target_gross:.6g} "
            f"by more than {c.gross_tolerance:.3g}{c.fix('target_gross')}"
        )
    if c.target_net is not None and not abs(net - c.target_net) <= c.net_tolerance:
        problems.append(
            f"net exposure {net:.6g} differs from target_net {c.target_net:.6g} by more than {c.net_tolerance:.3g}"
            f"{c.fix('target_net')}"
        )


def _as_float(w: Real | Decimal) -> float:
    """A number as a float: beyond the float range it is an infinity, a signaling NaN is NaN (``check_weights``
    names both)."""
    if isinstance(w, int) and abs(w) >= 2**1024:
        return math.inf if w > 0 else -math.inf
    try:
        return float(w)
    except ValueError:  # Decimal("sNaN")
        return math.nan
    except OverflowError:  # a Fraction or the like beyond the float range
        return -math.inf if w < 0 else math.inf


def weights_from(answer: object) -> Weights:
    """An oracle's answer as ``Weights``: ``Weights`` as they are, a mapping of symbol to number converted.
    Raises ``InvalidWeightsError`` naming every key that is not a symbol name and every value that is not a
    number (a boolean, text or None is never taken as a weight)."""
    if isinstance(answer, Weights):
        return answer
    if not isinstance(answer, Mapping):
        raise InvalidWeightsError([f"expected a mapping of symbol to weight, got {type(answer).__name__}"])
    problems: list[str] = []
    data: dict[str, float] = {}
    for symbol, w in answer.items():
        if not isinstance(symbol, str) or not symbol:
            problems.append(f"{symbol!r}: not a symbol name (weights need non-empty text keys)")
        elif isinstance(w, bool) or not isinstance(w, Real | Decimal):
            problems.append(f"{symbol}: weight {w!r} is not a number")
        else:
            data[symbol] = _as_float(w)
    if problems:
        raise InvalidWeightsError(problems)
    return Weights(data)


def ensure_valid(
    weights: Weights,
    universe: Collection[str] | None = None,
    constraints: WeightConstraints | None = None,
) -> None:
    """Raise ``InvalidWeightsError`` naming every problem, or return None."""
    problems = check_weights(weights, universe, constraints)
    if problems:
        raise InvalidWeightsError(problems)
