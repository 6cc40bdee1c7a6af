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
    terms = ActionTerms(len(action) - 1, scale)
    total = terms.update(action)
    shares: NDArray[np.float64] = np.divide(terms.assets, total)
    return shares


class ActionTerms:
    """``action_weights`` before its division, for actions of ``assets + 1`` values, in one buffer with the bounds
    and the scale as arrays (numpy converts a Python float operand on every call): ``update(action)`` writes
    ``exp(s a)`` into ``assets`` (the asset entries; the cash entry, the last, is left out) and returns the sum
    over all entries, so the weights are ``assets / total``. The buffer is overwritten by the next update."""

    __slots__ = ("_high", "_low", "_scale", "_terms", "assets")

    def __init__(self, assets: int, scale: float) -> None:
        self._terms = np.empty(assets + 1)
        self._low, self._high, self._scale = np.full(assets + 1, -1.0), np.ones(assets + 1), np.full(assets + 1, scale)
        self.assets = self._terms[:-1]

    def update(self, action: NDArray[np.floating]) -> float:
        """``exp(scale x clip(action, -1, 1))`` into the buffer; returns its sum (a list's sum: a tenth of numpy's
        call cost). At most (assets + 1) x exp(50): no overflow, so no shift by the maximum is needed."""
        e = self._terms
        e[...] = action  # as float64 first: a maximum of float32 and float64 costs numpy a cast loop
        np.maximum(e, self._low, out=e)
        np.minimum(e, self._high, out=e)
        np.exp(np.multiply(e, self._scale, e), e)  # outputs by position: numpy parses a keyword ``out=`` each call
        total = sum(e.tolist())
        if not total > 0:  # a NaN in the action (NaN propagates through max and exp): it counts as 0
            return self.update(np.nan_to_num(np.asarray(action, dtype=np.float64), nan=0.0))
        return total
