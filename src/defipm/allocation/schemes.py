"""Sizing schemes: the relative weights of one side of a book (non-negative, summing to 1).

- ``equal``: 1/n each.
- ``rank``: proportional to ``rank ** rank_power``, the strongest signal ranked n, the weakest 1 (power 0 is equal
  weight, larger powers lean harder on the strongest names).
- ``inverse_volatility``: proportional to ``1 / sigma_i``, sigma from the returns over the risk lookback.
- ``min_variance``: the long-only minimum-variance portfolio of the sample covariance (skfolio ``MeanRisk``).
- ``hrp``: hierarchical risk parity (Lopez de Prado, 2016; skfolio ``HierarchicalRiskParity``).

The covariance schemes need more observations than assets and a covariance that is not (numerically) singular;
otherwise they fall back to inverse volatility (or equal weight when volatilities are unusable either) and say so in
``Allocation.note``, so the caller can report it rather than trade on a degenerate estimate.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

from defipm.core.errors import ConfigError

SINGULAR_CONDITION = 1e10
"""Condition number above which a sample covariance is treated as singular (its inverse is mostly noise)."""


class Scheme(StrEnum):
    EQUAL = "equal"
    RANK = "rank"
    INVERSE_VOLATILITY = "inverse_volatility"
    MIN_VARIANCE = "min_variance"
    HRP = "hrp"

    @property
    def needs_returns(self) -> bool:
        return self in (Scheme.INVERSE_VOLATILITY, Scheme.MIN_VARIANCE, Scheme.HRP)


@dataclass(frozen=True, slots=True)
class Allocation:
    """Relative weights of ``n`` assets, in the caller's order (shape ``(n,)``, each >= 0, summing to 1)."""

    weights: NDArray[np.float64]
    scheme: Scheme
    """The scheme that produced the weights (the fallback's, when the asked one could not be used)."""
    note: str | None = None
    """Why the asked scheme was not used, when it was not."""


def allocate(
    scheme: Scheme | str,
    n: int,
    *,
    strength: ArrayLike | None = None,
    returns: ArrayLike | None = None,
    rank_power: float = 1.0,
) -> Allocation:
    """Relative weights of ``n`` assets by ``scheme``.

    strength: shape ``(n,)``, the signal's strength of each asset (larger = stronger), for ``rank``; ties share
        their average rank.
    returns: shape ``(T, n)``, periodic returns over the risk lookback, for the volatility and covariance schemes;
        rows holding a NaN are dropped.
    Raises ``ConfigError`` for an unknown scheme, a missing input or a shape that does not match ``n``.
    """
    kind = _scheme(scheme)
    if n < 0:
        raise ConfigError(f"allocation: the number of assets must be >= 0, got {n}")
    if n == 0:
        return Allocation(np.zeros(0), kind)
    if kind is Scheme.EQUAL:
        return Allocation(np.full(n, 1.0 / n), kind)
    if kind is Scheme.RANK:
        return Allocation(_rank(_vector(strength, n, "strength"), rank_power), kind)
    matrix = _returns(returns, n)
    if kind is Scheme.INVERSE_VOLATILITY:
        return _inverse_volatility(matrix)
    return _covariance_scheme(kind, matrix)


def _scheme(scheme: Scheme | str) -> Scheme:
    try:
        return Scheme(scheme)
    except ValueError:
        known = ", ".join(s.value for s in Scheme)
        raise ConfigError(f"allocation: unknown scheme {scheme!r} (known: {known})") from None


def _vector(values: ArrayLike | None, n: int, name: str) -> NDArray[np.float64]:
    if values is None:
        raise ConfigError(f"allocation: {name} is required")
    out = np.asarray(values, dtype=np.float64)
    if out.shape != (n,):
        raise ConfigError(f"allocation: {name} has shape {out.shape}, expected ({n},)")
    if not np.isfinite(out).all():
        raise ConfigError(f"allocation: {name} holds NaN or infinite values")
    return out


def _returns(values: ArrayLike | None, n: int) -> NDArray[np.float64]:
    if values is None:
        raise ConfigError("allocation: returns over the risk lookback are required by this scheme")
    matrix = np.asarray(values, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[1] != n:
        raise ConfigError(f"allocation: returns have shape {matrix.shape}, expected (T, {n})")
    return matrix[np.isfinite(matrix).all(axis=1)]


def _rank(strength: NDArray[np.float64], power: float) -> NDArray[np.float64]:
    if not np.isfinite(power) or power < 0:
        raise ConfigError(f"allocation: rank_power must be a finite number >= 0, got {power}")
    order = np.argsort(strength, kind="stable")
    ranks = np.empty(len(strength))
    ranks[order] = np.arange(1, len(strength) + 1, dtype=np.float64)
    for value in np.unique(strength):  # ties share their average rank
        tied = strength == value
        ranks[tied] = ranks[tied].mean()
    raw = ranks**power
    return raw / raw.sum()


def _inverse_volatility(matrix: NDArray[np.float64], why: str | None = None) -> Allocation:
    n = matrix.shape[1]
    sigma = matrix.std(axis=0, ddof=1) if len(matrix) >= 2 else np.full(n, np.nan)
    if not (np.isfinite(sigma).all() and (sigma > 0).all()):
        flat = why or "volatility unusable"
        note = f"{flat}; and a volatility is zero or unknown ({len(matrix)} usable rows): equal weight instead"
        return Allocation(np.full(n, 1.0 / n), Scheme.EQUAL, note)
    raw = 1.0 / sigma
    return Allocation(raw / raw.sum(), Scheme.INVERSE_VOLATILITY, why)


def _covariance_scheme(kind: Scheme, matrix: NDArray[np.float64]) -> Allocation:
    n = matrix.shape[1]
    if n == 1:
        return Allocation(np.ones(1), kind)
    if len(matrix) <= n:
        return _inverse_volatility(
            matrix, f"{kind.value}: {len(matrix)} usable observations for {n} assets (needs more than {n})"
        )
    cov = np.cov(matrix, rowvar=False)
    condition = np.linalg.cond(cov)
    if not np.isfinite(condition) or condition > SINGULAR_CONDITION:
        return _inverse_volatility(matrix, f"{kind.value}: the covariance is singular (condition {condition:.3g})")
    weights = _fit(kind, matrix)
    weights = np.clip(weights, 0.0, None)
    return Allocation(weights / weights.sum(), kind)


def _fit(kind: Scheme, matrix: NDArray[np.float64]) -> NDArray[np.float64]:
    try:
        from skfolio import RiskMeasure
        from skfolio.optimization import HierarchicalRiskParity, MeanRisk, ObjectiveFunction
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"allocation scheme {kind.value!r} needs skfolio ({exc.name}): scripts/bootstrap allocation"
        ) from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # skfolio's own notices; singular cases never get here
        if kind is Scheme.MIN_VARIANCE:
            model = MeanRisk(objective_function=ObjectiveFunction.MINIMIZE_RISK, risk_measure=RiskMeasure.VARIANCE)
        else:
            model = HierarchicalRiskParity(risk_measure=RiskMeasure.VARIANCE)
        model.fit(matrix)
    return np.asarray(model.weights_, dtype=np.float64)
