"""Joining a long side and a short side into one signed book at a target gross and net exposure."""

from __future__ import annotations

import math
from collections.abc import Mapping

from defipm.core.weights import Weights


def book_weights(
    longs: Mapping[str, float], shorts: Mapping[str, float], *, gross: float = 1.0, net: float = 0.0
) -> Weights:
    """Signed weights: ``longs`` scaled to ``(gross + net) / 2`` and ``shorts`` to ``-(gross - net) / 2``.

    ``longs`` and ``shorts`` are relative weights of each side (non-negative, each side summing to 1, as
    ``allocate`` returns them). Each side keeps its own share whatever the other holds: an empty short side leaves
    a net-neutral book half invested rather than levering the long side up (a long-only book is
    ``book_weights(longs, {}, gross=g, net=g)``). Raises ``ValueError`` when ``gross`` is
    not positive, ``|net| > gross``, a symbol is on both sides, or a side's weights are negative or do not sum
    to 1 (to 1e-9).
    """
    if not (math.isfinite(gross) and gross > 0):
        raise ValueError(f"gross must be a finite number above 0, got {gross}")
    if not (math.isfinite(net) and abs(net) <= gross):
        raise ValueError(f"net must be a number within [-gross, gross] = [{-gross}, {gross}], got {net}")
    both = sorted(set(longs) & set(shorts))
    if both:
        raise ValueError(f"on both the long and the short side: {', '.join(both)}")
    for name, side in (("long", longs), ("short", shorts)):
        if side and (any(w < 0 for w in side.values()) or abs(math.fsum(side.values()) - 1.0) > 1e-9):
            raise ValueError(f"the {name} side's relative weights must be >= 0 and sum to 1")
    long_total, short_total = (gross + net) / 2, (gross - net) / 2
    out = {s: w * long_total for s, w in longs.items() if w}
    out.update({s: -w * short_total for s, w in shorts.items() if w})
    return Weights(out)
