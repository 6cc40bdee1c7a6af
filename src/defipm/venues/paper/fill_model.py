"""How a simulated fill is priced and how much of it fills: one cost function for the paper venue, the backtest
that drives it, and any vectorised simulator (an RL environment) that must give the same answer.

``fill_costs(model, notional, volume, fee_rate, noise, sell)`` takes the notional asked for and the bar's dollar
volume (floats, or numpy arrays over assets, broadcast together) and returns, for each:

- ``filled``: the notional that fills. With ``max_participation`` set, at most that share of the bar's dollar
  volume, or of ``participation_floor`` when the bar reports less, fills (a partial fill beyond it; with the floor
  at 0, nothing on a bar with zero volume); otherwise all of it.
- ``slippage``: the adverse move of the fill price from the mid, as a fraction (buys pay ``mid x (1 + s)``, sells
  get ``mid x (1 - s)``)::

      s = min(fixed_bps / 1e4 + impact x sqrt(filled / max(volume, volume_floor)) + noise_bps / 1e4 x |z|,
              max_slippage_bps / 1e4)

  The square-root law of market impact (Almgren et al., "Direct estimation of equity market impact", 2005;
  Tóth et al., "Anomalous price impact and the critical nature of liquidity", 2011): with ``impact = 0.1``, a
  fill of 1% of the bar's volume costs ``0.1 x sqrt(0.01) = 1%`` (100 bps), and 0.01% of it costs 10 bps. The
  cap keeps every fill price positive and bounded whatever the volume (hourly sources often report 0), since
  ``max_slippage_bps`` is below 10,000 (100%).
- ``fee``: ``fee_rate x filled x (1 + s)`` for a buy and ``fee_rate x filled x (1 - s)`` for a sell (``sell``),
  the taker fee on the filled notional at the fill price.

An unknown volume (``None``, or NaN in an array) means no impact term and no participation cap. ``noise`` is the
standard normal draw(s) ``z`` of the seeded noise term (0 without noise): the caller owns the random source, so
the function is pure and a replay gives the same fills.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

Amount = float | NDArray[np.float64]
"""A scalar, or an array over assets (numpy broadcasting applies between the arguments)."""

MAX_SLIPPAGE_BPS = 1_000.0
"""Default cap on the adverse move of a fill: 10% of the mid."""


class FillCosts(NamedTuple):
    """What ``fill_costs`` returns, each a float or an array shaped like the broadcast inputs."""

    filled: Any
    """Notional that fills, quote currency (0 <= filled <= notional)."""
    slippage: Any
    """Adverse move of the fill price as a fraction of the mid (0 <= slippage <= max_slippage_bps / 1e4)."""
    fee: Any
    """Taker fee on the filled notional at the fill price, quote currency."""


def fill_costs(
    model: SlippageModel,
    notional: Amount,
    volume: Amount | None,
    fee_rate: float = 0.0,
    noise: Amount = 0.0,
    sell: bool | NDArray[np.bool_] = False,
) -> FillCosts:
    """Filled notional, slippage fraction and fee of fills of ``notional`` (>= 0, quote currency) on bars of
    ``volume`` dollar volume (None or NaN: unknown), under ``model`` and taker ``fee_rate``; ``noise`` is the
    standard normal draw of the noise term; ``sell`` says which fills are sells (their fee is charged at the lower
    fill price). ``SlippageModel.costs`` is this function.

    Numbers in, floats out (the paper venue's per-order path: plain float arithmetic, no numpy); any array in,
    arrays out (broadcast). Both spell the same formula with the same IEEE operations in the same order, so they
    give identical numbers for identical inputs (``tests/venues/paper/test_fill_model.py`` pins it)."""
    if type(notional) is not float or type(noise) is not float or not (volume is None or type(volume) is float):
        if type(notional) is np.ndarray:
            return _array_costs(model, notional, volume, fee_rate, noise, sell)
        if (
            isinstance(notional, np.ndarray)
            or isinstance(volume, np.ndarray)
            or isinstance(noise, np.ndarray)
            or isinstance(sell, np.ndarray)
        ):
            return _array_costs(model, notional, volume, fee_rate, noise, sell)
        notional, noise = float(notional), float(noise)
        volume = None if volume is None else float(volume)
    vol = math.inf if volume is None or volume != volume else volume  # unknown: no impact, no cap
    filled = notional
    if model.max_participation is not None:
        floor = model.participation_floor
        capacity = model.max_participation * (vol if vol > floor else floor)
        if capacity < filled:
            filled = capacity
    slip = model.fixed_bps / 1e4
    if model.impact:
        floor = model.volume_floor
        slip = slip + model.impact * math.sqrt(filled / (vol if vol > floor else floor))
    if model.noise_bps:
        slip = slip + abs(noise) * (model.noise_bps / 1e4)
    cap = model.max_slippage_bps / 1e4
    if slip > cap:
        slip = cap
    return _new_costs(FillCosts, (filled, slip, fee_rate * filled * ((1.0 - slip) if sell else (1.0 + slip))))


def _array_costs(
    model: SlippageModel,
    notional: Amount,
    volume: Amount | None,
    fee_rate: float,
    noise: Amount,
    sell: bool | NDArray[np.bool_],
) -> FillCosts:
    """``fill_costs`` over arrays: the scalar path's formula with numpy's element-wise operations.

    An unknown (NaN) volume needs no replacement: ``maximum`` keeps the NaN and ``fmin`` / ``fmax`` drop it, so
    the cap is not applied and the impact term is 0, as the scalar path's infinite volume gives. Written with few
    numpy calls: a vectorised simulator calls this for every step."""
    if (
        type(notional) is np.ndarray
        and type(volume) is np.ndarray
        and type(sell) is np.ndarray
        and type(noise) is float
        and notional.dtype == volume.dtype == np.float64
        and sell.dtype == np.bool_
        and notional.ndim > 0  # a 0-d array's ufunc results are scalars, which take no ``out=``
        and notional.shape == volume.shape == sell.shape
    ):
        return _same_shape_costs(model, notional, volume, fee_rate, noise, sell)
    amount = np.asarray(notional, dtype=np.float64)
    vol = np.asarray(np.nan if volume is None else volume, dtype=np.float64)
    filled = amount
    if model.max_participation is not None:
        filled = np.fmin(amount, model.max_participation * np.maximum(vol, model.participation_floor))
    slip: Any = np.float64(model.fixed_bps / 1e4)
    if model.impact:
        slip = slip + model.impact * np.sqrt(np.fmax(filled / np.maximum(vol, model.volume_floor), 0.0))
    if model.noise_bps:
        slip = slip + np.abs(np.asarray(noise, dtype=np.float64)) * (model.noise_bps / 1e4)
    slip = np.minimum(slip, model.max_slippage_bps / 1e4)
    if isinstance(sell, np.ndarray):
        factor = np.where(sell, 1.0 - slip, 1.0 + slip)
    else:
        factor = (1.0 - slip) if sell else (1.0 + slip)
    fee = fee_rate * filled * factor
    shape = amount.shape
    if vol.shape != shape or isinstance(noise, np.ndarray) or (isinstance(sell, np.ndarray) and sell.shape != shape):
        shape = np.broadcast_shapes(amount.shape, vol.shape, np.shape(noise), np.shape(sell))
    return FillCosts(_owned(filled, shape, filled is not amount), _owned(slip, shape, True), _owned(fee, shape, True))


def _same_shape_costs(
    model: SlippageModel,
    amount: NDArray[np.float64],
    vol: NDArray[np.float64],
    fee_rate: float,
    noise: float,
    sell: NDArray[np.bool_],
) -> FillCosts:
    """``_array_costs`` for float64 arrays of one shape and a scalar noise draw (the environment's every step): the
    same IEEE operations in the same order, written into fresh arrays in place (``out=``), one numpy call each."""
    if model.max_participation is not None:
        filled = np.maximum(vol, model.participation_floor)
        np.multiply(filled, model.max_participation, out=filled)
        np.fmin(amount, filled, out=filled)
    else:
        filled = amount.copy()
    if model.impact:
        slip = np.maximum(vol, model.volume_floor)
        np.divide(filled, slip, out=slip)
        np.fmax(slip, 0.0, out=slip)
        np.sqrt(slip, out=slip)
        np.multiply(slip, model.impact, out=slip)
        np.add(slip, model.fixed_bps / 1e4, out=slip)
    else:
        slip = np.full(amount.shape, model.fixed_bps / 1e4)
    if model.noise_bps:
        np.add(slip, abs(noise) * (model.noise_bps / 1e4), out=slip)
    np.minimum(slip, model.max_slippage_bps / 1e4, out=slip)
    factor = np.add(slip, 1.0)
    np.subtract(1.0, slip, out=factor, where=sell)
    fee = np.multiply(filled, fee_rate)
    np.multiply(fee, factor, out=fee)
    return _new_costs(FillCosts, (filled, slip, fee))


def _owned(values: Any, shape: tuple[int, ...], fresh: bool) -> NDArray[np.float64]:
    """``values`` as a float64 array of ``shape`` that the caller owns (a new array unless it already is one)."""
    if fresh and isinstance(values, np.ndarray) and values.shape == shape:
        return values
    return np.array(np.broadcast_to(values, shape), dtype=np.float64)


_new_costs = tuple.__new__
"""Builds a ``FillCosts`` without the generated ``__new__``'s argument binding (the venue's per-order path)."""


@dataclass(frozen=True, slots=True)
class SlippageModel:
    """The paper venue's fill model (see the module docstring for the formula).

    fixed_bps: half-spread paid on every fill, in basis points.
    impact: square-root impact coefficient against the bar's dollar volume (0.1: 1% of the volume costs 1%).
    volume_floor: smallest bar volume (quote currency) used in the impact term.
    noise_bps: scale of the seeded half-normal noise, in basis points (noise never improves a fill).
    max_slippage_bps: cap on the whole adverse move, in basis points (0 < cap < 10,000: prices stay positive).
    max_participation: largest share of a bar's dollar volume one order may take (None: no cap); the rest of
        the order does not fill.
    participation_floor: smallest bar dollar volume the participation cap assumes (quote currency; hourly sources
        often report 0, which would block every trade on those bars). 0: a bar without volume fills nothing.
    Raises ``ValueError`` naming the field for a value out of range.
    """

    fixed_bps: float = 0.0
    impact: float = 0.0
    volume_floor: float = 1.0
    noise_bps: float = 0.0
    max_slippage_bps: float = MAX_SLIPPAGE_BPS
    max_participation: float | None = None
    participation_floor: float = 0.0

    def __post_init__(self) -> None:
        for name in ("fixed_bps", "impact", "noise_bps"):
            value = getattr(self, name)
            if not _is_number(value) or not math.isfinite(value) or value < 0:
                raise ValueError(f"slippage {name} must be a finite number >= 0, got {value!r}")
        if not _is_number(self.volume_floor) or not 0 < self.volume_floor < math.inf:
            raise ValueError(f"slippage volume_floor must be a finite number > 0, got {self.volume_floor!r}")
        cap = self.max_slippage_bps
        if not _is_number(cap) or not 0 < cap < 10_000:
            raise ValueError(
                f"slippage max_slippage_bps must be above 0 and below 10000 (a fill price must stay above 0), "
                f"got {cap!r}"
            )
        part = self.max_participation
        if part is not None and (not _is_number(part) or not 0 < part <= 1):
            raise ValueError(f"slippage max_participation must be a fraction in (0, 1], got {part!r}")
        pfloor = self.participation_floor
        if not _is_number(pfloor) or not 0 <= pfloor < math.inf:
            raise ValueError(f"slippage participation_floor must be a finite number >= 0, got {pfloor!r}")

    @property
    def active(self) -> bool:
        """Whether fills can differ from "all of it at the mid" (the venue skips the model otherwise)."""
        return bool(self.fixed_bps or self.impact or self.noise_bps or self.max_participation is not None)

    costs = fill_costs
    """``fill_costs`` with this model: ``model.costs(notional, volume, fee_rate, noise)``."""

    def fraction(self, notional: float, volume: float | None, rng: random.Random | None = None) -> float:
        """Adverse price move as a fraction of the mid for a fill of ``notional`` (the ``slippage`` of
        ``fill_costs``, with the noise drawn from ``rng``)."""
        z = rng.gauss(0.0, 1.0) if self.noise_bps and rng is not None else 0.0
        return float(fill_costs(self, abs(notional), volume, 0.0, z).slippage)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


__all__ = ["MAX_SLIPPAGE_BPS", "FillCosts", "SlippageModel", "fill_costs"]
