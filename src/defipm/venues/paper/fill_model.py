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
standard normal draw(s) ``z`` of the seeded noise term (0 without noise), truncated at +-``NOISE_LIMIT`` by
``noise_draw``: the caller owns the random source, so the function is pure and a replay gives the same fills.

``FillCostTable`` prices the fills of a fixed set of assets over a table of bars (a simulator's every step) with
the same array formula, its volume terms computed once for every bar.
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
NOISE_LIMIT = 4.0
"""The noise draw ``z`` is a standard normal truncated at this many standard deviations (``noise_draw``; a draw
beyond it has a probability of 6e-5), so the worst fill a spot account must keep cash for is known
(``worst_slippage``) without reserving the whole ``max_slippage_bps`` cap."""


def noise_draw(rng: random.Random) -> float:
    """One draw ``z`` of the noise term: standard normal from ``rng``, truncated to +-``NOISE_LIMIT``."""
    z = rng.gauss(0.0, 1.0)
    return NOISE_LIMIT if z > NOISE_LIMIT else -NOISE_LIMIT if z < -NOISE_LIMIT else z


def worst_slippage(model: SlippageModel, notional: float, volume: float | None) -> float:
    """The largest adverse move (a fraction of the mid) a fill of ``notional`` (quote currency) on a bar of
    ``volume`` can get under ``model``: ``fill_costs`` itself with the noise at ``NOISE_LIMIT`` (the impact term
    grows with the size, so it also bounds any smaller fill)."""
    return float(fill_costs(model, abs(float(notional)), volume, 0.0, NOISE_LIMIT).slippage)


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
    """``fill_costs`` over arrays: the arguments broadcast to one shape, then ``_priced`` (the formula in numpy's
    element-wise operations, the scalar path's IEEE operations in the same order) with the bar terms of ``volume``.

    An unknown (NaN) volume needs no replacement: ``maximum`` keeps the NaN and ``fmin`` / ``fmax`` drop it, so
    the cap is not applied and the impact term is 0, as the scalar path's infinite volume gives."""
    if (
        type(notional) is np.ndarray
        and type(volume) is np.ndarray
        and type(sell) is np.ndarray
        and type(noise) is float
        and notional.dtype == volume.dtype == np.float64
        and notional.ndim > 0  # a 0-d array's ufunc results are scalars, which take no output
        and notional.shape == volume.shape == sell.shape
    ):  # one shape already (a vectorised simulator's call): no copies
        amount, volumes, shape, flat = notional, volume, notional.shape, notional.shape
        z: float | NDArray[np.float64] = noise
        signs = np.where(sell, -1.0, 1.0)
    else:
        vol = np.nan if volume is None else volume
        shape = np.broadcast_shapes(np.shape(notional), np.shape(vol), np.shape(noise), np.shape(sell))
        flat = (math.prod(shape),)  # computed flat: a 0-d array as one element
        amount, volumes = _owned(notional, shape, flat), _owned(vol, shape, flat)
        signs = np.where(_owned(sell, shape, flat, np.bool_), -1.0, 1.0)
        z = float(noise) if type(noise) is float else _owned(noise, shape, flat)
    depth = np.maximum(volumes, model.volume_floor) if model.impact else None
    capacity = None
    if model.max_participation is not None:
        capacity = np.maximum(volumes, model.participation_floor)
        np.multiply(capacity, model.max_participation, capacity)
    out = np.empty(flat), np.empty(flat), np.empty(flat)
    _priced(_FormulaTerms.of(model, fee_rate), amount, signs, capacity, depth, z, out, np.empty(flat))
    if flat != shape:
        out = out[0].reshape(shape), out[1].reshape(shape), out[2].reshape(shape)
    return _new_costs(FillCosts, out)


def _owned(values: Any, shape: tuple[int, ...], flat: tuple[int], dtype: type = np.float64) -> NDArray[Any]:
    """``values`` broadcast to ``shape``, as a new contiguous 1-d array of ``dtype`` (``flat`` elements)."""
    return np.array(np.broadcast_to(values, shape), dtype=dtype).reshape(flat)


class _FormulaTerms(NamedTuple):
    """The model's numbers as ``_priced`` uses them: floats (``fill_costs``) or arrays over the assets
    (``FillCostTable``: numpy converts a Python float operand on every call, at about the cost of the operation).
    ``impact`` and ``noise`` are None when the model has no such term."""

    zero: Any
    one: Any
    fixed: Any
    impact: Any
    noise: Any
    cap: Any
    fee_rate: Any

    @classmethod
    def of(cls, model: SlippageModel, fee_rate: float, shape: tuple[int, ...] | None = None) -> _FormulaTerms:
        """The terms as floats, or (with ``shape``) as arrays of that shape."""
        values = (
            0.0, 1.0, model.fixed_bps / 1e4, model.impact or None, model.noise_bps / 1e4 or None,
            model.max_slippage_bps / 1e4, float(fee_rate),
        )  # fmt: skip
        if shape is None:
            return cls(*values)
        return cls(*(None if v is None else np.full(shape, v) for v in values))


def _priced(
    k: _FormulaTerms,
    amount: NDArray[np.float64],
    signs: NDArray[np.float64],
    capacity: NDArray[np.float64] | None,
    depth: NDArray[np.float64] | None,
    noise: float | NDArray[np.float64],
    out: tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]],
    work: NDArray[np.float64],
) -> None:
    """The array formula once the bar terms are known, written into ``out`` (filled, slippage, fee; ``work`` is
    scratch): ``capacity`` is ``max_participation x max(volume, participation_floor)`` (None without a cap) and
    ``depth`` ``max(volume, volume_floor)`` (None without impact, when ``k.impact`` is None too), NaN where the
    volume is unknown; the sign of ``signs`` says a sell (-) or a buy (+); nothing asked may have either.

    The same IEEE operations in the same order as the scalar path, so the same numbers; a sell's fee factor
    ``1 + copysign(s, -1)`` is ``1 - s`` exactly (IEEE subtraction is the addition of the negation). One numpy
    call per operation, each output given by position: numpy parses a keyword ``out=`` on every call, at about
    the cost of the operation on a few assets."""
    filled, slip, fee = out
    zero, one, fixed, impact, noise_scale, cap, fee_rate = k
    if capacity is None:
        filled[...] = amount
    else:
        np.fmin(amount, capacity, filled)
    if depth is None:  # no impact term
        slip[...] = fixed
    else:
        np.divide(filled, depth, slip)
        np.fmax(slip, zero, slip)  # unknown volume (NaN): no impact
        np.sqrt(slip, slip)
        np.multiply(slip, impact, slip)
        np.add(slip, fixed, slip)
    if noise_scale is not None:
        np.add(slip, np.multiply(np.abs(noise), noise_scale), slip)
    np.minimum(slip, cap, out=slip)  # (numpy deprecates an output by position for minimum and maximum)
    np.copysign(slip, signs, fee)
    np.add(fee, one, fee)  # the fill price over the mid: 1 + s for a buy, 1 - s for a sell
    np.multiply(filled, fee_rate, work)
    np.multiply(fee, work, fee)


class FillCostTable:
    """``fill_costs`` for the fills of one set of assets over a table of bars, prepared once: the terms that depend
    only on a bar's volume (the participation cap's capacity, the impact's depth) for every bar, and the model's
    numbers as arrays over the assets. Pricing one bar's fills is then a dozen numpy calls on arrays, no Python
    number converted (a vectorised simulator's every step). Not for sharing between threads (it has scratch).

    ``volume`` is ``(bars, assets)`` dollar volume (NaN: unknown). ``costs(bar, delta)`` gives, for the signed
    notionals ``delta`` (quote currency: positive buys, negative sells), exactly ``fill_costs(model, |delta|,
    volume[bar], fee_rate, noise, delta < 0)`` (a property test pins it bit for bit), in new arrays."""

    __slots__ = ("_amount", "_capacity", "_depth", "_terms", "_work")

    def __init__(self, model: SlippageModel, volume: NDArray[np.float64], fee_rate: float = 0.0) -> None:
        vol = np.asarray(volume, dtype=np.float64)
        if vol.ndim != 2:
            raise ValueError(f"a fill cost table needs volumes of shape (bars, assets), got {vol.shape}")
        self._terms = _FormulaTerms.of(model, fee_rate, vol.shape[1:])
        self._amount, self._work = np.empty(vol.shape[1:]), np.empty(vol.shape[1:])
        # the rows as a list of views: indexing a list costs less than making a view on every call
        self._depth = list(np.maximum(vol, model.volume_floor)) if model.impact else None
        self._capacity = None
        if model.max_participation is not None:
            capacity = np.maximum(vol, model.participation_floor)
            self._capacity = list(np.multiply(capacity, model.max_participation, capacity))

    def costs(self, bar: int, delta: NDArray[np.float64], noise: float = 0.0) -> FillCosts:
        """Filled notional, slippage fraction and fee (new ``(assets,)`` float64 arrays) of fills of the signed
        notionals ``delta`` on bar ``bar`` of the table; ``noise``: the standard normal draw of the noise term.
        ``delta`` is not modified."""
        cap, depth, n = self._capacity, self._depth, len(delta)
        out = np.empty(n), np.empty(n), np.empty(n)
        amount = np.abs(delta, self._amount)
        _priced(
            self._terms, amount, delta, None if cap is None else cap[bar], None if depth is None else depth[bar],
            noise, out, self._work,
        )  # fmt: skip
        return _new_costs(FillCosts, out)


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
        z = noise_draw(rng) if self.noise_bps and rng is not None else 0.0
        return float(fill_costs(self, abs(notional), volume, 0.0, z).slippage)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


__all__ = ["MAX_SLIPPAGE_BPS", "FillCostTable", "FillCosts", "SlippageModel", "fill_costs"]
