"""What the policy sees: a window of log returns (and relative volumes) of its assets, plus its current weights.

For a decision at bar t with a window of W bars, ``window_features`` reads the closes and volumes of bars
t-W .. t (W + 1 rows, nothing after t) and gives, per bar and asset:

- the log return ``log(close[b] / close[b-1])``, clipped to +-``RETURN_CLIP``;
- with volume features, ``log1p(volume[b] / max(mean volume over the window, VOLUME_FLOOR))``, clipped to
  ``[0, VOLUME_CLIP]``: how busy the bar was against the window's usual (0 on a bar without volume).

The observation is those features (row-major: bars, then assets, then features) followed by the current weight
of each asset and the cash weight, as float32. The environment and the oracle both build it with this module,
on arrays of the same shape, so they compute the same numbers. A close that is missing, not finite or not
positive inside the window is a ``DataError`` naming the symbol and the bar: a policy never sees a made-up price.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from defipm.core.errors import DataError
from defipm.data.panel import to_datetime

RETURN_CLIP = 1.0
"""Largest log return shown (a bar that more than doubles or loses 63% is shown at the clip)."""
VOLUME_CLIP = 5.0
VOLUME_FLOOR = 1.0
"""Smallest mean window volume (quote currency) a bar's volume is compared with."""


def features_per_asset(volume_features: bool) -> int:
    return 2 if volume_features else 1


def observation_size(window: int, assets: int, volume_features: bool) -> int:
    """Length of the observation: the window's features plus ``assets + 1`` weights (the last one cash)."""
    return window * assets * features_per_asset(volume_features) + assets + 1


def observation_bounds(window: int, assets: int, volume_features: bool) -> tuple[NDArray[np.float32], ...]:
    """(low, high) of every entry of the observation."""
    per_bar = [(-RETURN_CLIP, RETURN_CLIP)] + ([(0.0, VOLUME_CLIP)] if volume_features else [])
    low = np.tile(np.array([lo for lo, _ in per_bar], dtype=np.float32), window * assets)
    high = np.tile(np.array([hi for _, hi in per_bar], dtype=np.float32), window * assets)
    weights_low, weights_high = np.zeros(assets + 1, np.float32), np.ones(assets + 1, np.float32)
    return np.concatenate((low, weights_low)), np.concatenate((high, weights_high))


def window_features(
    close: NDArray[np.float64],
    volume: NDArray[np.float64],
    *,
    volume_features: bool,
    symbols: Sequence[str],
    times: NDArray[np.datetime64],
) -> NDArray[np.float32]:
    """The features of one window, flattened: ``close`` and ``volume`` are ``(W + 1, assets)`` (bars t-W .. t),
    ``times`` their bar times (for the error). Raises ``DataError`` naming a symbol and bar without a usable close."""
    bad = ~(np.isfinite(close) & (close > 0))
    if bad.any():
        row, col = (int(x) for x in np.argwhere(bad)[0])
        raise DataError(
            f"{symbols[col]}: no usable close at {to_datetime(times[row]).isoformat()} (got {close[row, col]!r}) inside "
            f"the observation window of {len(close) - 1} bars ending {to_datetime(times[-1]).isoformat()}: the policy "
            "needs every asset priced on every bar of its window"
        )
    returns = np.clip(np.log(close[1:] / close[:-1]), -RETURN_CLIP, RETURN_CLIP)
    if not volume_features:
        return returns.astype(np.float32).ravel()
    vol = np.nan_to_num(volume[1:], nan=0.0)
    usual = np.maximum(vol.mean(axis=0), VOLUME_FLOOR)
    busy = np.clip(np.log1p(vol / usual), 0.0, VOLUME_CLIP)
    return np.stack((returns, busy), axis=-1).astype(np.float32).ravel()


def observation(features: NDArray[np.float32], weights: NDArray[np.float64], cash: float) -> NDArray[np.float32]:
    """The policy's input: window features, then each asset's weight and the cash weight."""
    return fill_observation(np.empty(len(features) + len(weights) + 1, np.float32), features, weights, cash)


def fill_observation(
    out: NDArray[np.float32], features: NDArray[np.float32], weights: NDArray[np.float64], cash: float
) -> NDArray[np.float32]:
    """``observation`` written into ``out``. Weights of a long-only book lie in [0, 1]; float32 keeps about 7
    digits of them."""
    out[: len(features)] = features
    out[weight_slots(len(weights))] = weights
    out[-1] = cash
    return out


def weight_slots(assets: int) -> slice:
    """Where the asset weights sit in an observation (after the features; the cash weight is the last entry): the
    environment keeps each bar's features in place and writes only the weights."""
    return slice(-assets - 1, -1)
