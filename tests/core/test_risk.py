"""``apply_risk_limits`` as properties: every cap holds on what it returns, a breach is reported exactly when a
limit acted, and the turnover cap holds unless the book it starts from is itself beyond a cap."""

from __future__ import annotations

import math

from hypothesis import example, given, settings
from hypothesis import strategies as st

from defipm.core.risk import RiskLimits, apply_risk_limits
from defipm.core.weights import Weights

SYMBOLS = ["A", "B", "C", "D"]
EPS = 1e-9
books = st.dictionaries(st.sampled_from(SYMBOLS), st.floats(-1.5, 1.5, allow_nan=False), max_size=4)
limit = st.none() | st.floats(0.05, 2.0)


def _gross(w: dict[str, float]) -> float:
    return math.fsum(abs(v) for v in w.values())


def _turnover(a: dict[str, float], b: dict[str, float]) -> float:
    return math.fsum(abs(a.get(s, 0.0) - b.get(s, 0.0)) for s in set(a) | set(b))


def _within(w: dict[str, float], cap_weight: float | None, cap_gross: float | None) -> bool:
    return (cap_weight is None or all(abs(v) <= cap_weight + EPS for v in w.values())) and (
        cap_gross is None or _gross(w) <= cap_gross * (1 + EPS)
    )


@settings(max_examples=150, deadline=None)
@given(target=books, current=books, max_weight=limit, max_gross=limit, max_turnover=limit)
@example(target={"A": 0.25}, current={"A": 1.0}, max_weight=None, max_gross=0.25, max_turnover=0.5)  # caps undo the cap
def test_every_cap_holds_and_every_breach_is_a_limit_that_acted(target, current, max_weight, max_gross, max_turnover):
    target = dict(Weights(target).items())
    limits = RiskLimits(max_gross_leverage=max_gross, max_weight=max_weight, max_turnover=max_turnover)
    decision = apply_risk_limits(Weights(target), Weights(current), limits)
    out = dict(decision.weights.items())
    acted = {b.limit for b in decision.breaches}
    assert not decision.halt and acted <= {"max_weight", "max_gross_leverage", "max_turnover"}
    assert _within(out, max_weight, max_gross)  # the caps are hard limits, whatever turnover allowed
    assert (not decision.breaches) == (out == target)  # nothing reported iff nothing changed

    # each limit is reported exactly when it acts on the target (or again on the turnover cap's result)
    over_weight = max_weight is not None and any(abs(w) > max_weight for w in target.values())
    clipped = {s: math.copysign(min(abs(w), max_weight), w) for s, w in target.items()} if max_weight else target
    over_gross = max_gross is not None and _gross(clipped) > max_gross
    capped = {s: w * max_gross / _gross(clipped) for s, w in clipped.items()} if over_gross else clipped
    over_turnover = max_turnover is not None and _turnover(capped, current) > max_turnover
    # from a book beyond the caps, the caps may undo the turnover cap (the capped target is the way back inside):
    # then nothing acted in the end and nothing is reported
    undone = over_turnover and all(
        math.isclose(out.get(s, 0.0), capped.get(s, 0.0), rel_tol=1e-9, abs_tol=1e-12) for s in set(out) | set(capped)
    )
    assert ("max_turnover" in acted) == (over_turnover and not undone)
    if not over_turnover or undone:
        assert ("max_weight" in acted, "max_gross_leverage" in acted) == (over_weight, over_gross)
    else:
        assert over_weight <= ("max_weight" in acted) and over_gross <= ("max_gross_leverage" in acted)

    # turnover: within the cap, unless the book it starts from is itself beyond a cap (getting back inside needs more)
    if max_turnover is not None and _turnover(out, current) > max_turnover * (1 + EPS):
        assert over_turnover and not _within(current, max_weight, max_gross)


@settings(max_examples=60, deadline=None)
@given(target=books, current=books, dd=st.floats(0.0, 0.99), limit_dd=st.floats(0.01, 0.99))
def test_the_breaker_halts_exactly_at_its_drawdown_and_keeps_the_book(target, current, dd, limit_dd):
    limits = RiskLimits(max_drawdown=limit_dd, max_weight=0.1)
    decision = apply_risk_limits(Weights(target), Weights(current), limits, equity=100.0 * (1 - dd), peak_equity=100.0)
    tripped = 1 - (100.0 * (1 - dd)) / 100.0 >= limit_dd
    assert decision.halt == tripped
    if tripped:
        assert [b.limit for b in decision.breaches] == ["max_drawdown"]
        assert dict(decision.weights.items()) == dict(Weights(current).items())  # the breaker's policy acts on it
