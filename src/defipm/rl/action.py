"""How the policy's answer becomes weights: one value per asset plus one for cash, in [-1, 1], mapped to long-only
weights summing to 1 by a softmax (``w = exp(s a) / sum exp(s a)``, ``s`` the ``action_scale``).

Long only, because execution is spot (Uniswap). The scale sets how far the policy can concentrate: with ``s = 5``
one entry can outweigh another by up to ``exp(10)``, so a single asset (or all cash) is reachable, while an
untrained policy's actions near 0 start close to equal weight.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def action_weights(action: NDArray[np.floating], scale: float) -> NDArray[np.float64]:
    """Weights of the assets (the cash entry, the last, is ``1 - sum``), from an action of ``assets + 1`` values.
    Values outside [-1, 1] are clipped; a NaN counts as 0."""
    e = np.array(action, dtype=np.float64)  # a copy the operations below write into (few numpy calls a step)
    np.maximum(e, -1.0, out=e)
    np.minimum(e, 1.0, out=e)
    np.multiply(e, scale, out=e)
    np.exp(e, out=e)
    total = np.add.reduce(e)  # at most (assets + 1) x exp(50): no overflow, so no shift by the maximum is needed
    if not total > 0:  # a NaN in the action (NaN propagates through max and exp)
        return action_weights(np.nan_to_num(np.asarray(action, dtype=np.float64), nan=0.0), scale)
    shares: NDArray[np.float64] = np.divide(e[:-1], total)
    return shares
