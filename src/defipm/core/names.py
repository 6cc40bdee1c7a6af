"""Names in messages: the near miss of a misspelled name and a short listing of the names there are.

``near_miss`` is the one wording of every "did you mean X?" (config keys, component kinds, variables, categories,
symbols); ``listing`` names what a venue or a table has without flooding the line.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Sequence

LISTED = 12
"""How many names a listing shows before "and N more"."""


def near_miss(name: str, choices: Sequence[str], cutoff: float = 0.6) -> str:
    """``did you mean X? `` for the choice closest to a misspelled ``name`` (``difflib``), or empty when none is
    close (similarity below ``cutoff``). Of equally close choices the first in sorted order is named, whatever
    order ``choices`` came in."""
    scored = [(difflib.SequenceMatcher(None, str(name), c).ratio(), c) for c in sorted(set(choices))]
    best = max(scored, key=lambda item: item[0], default=(0.0, ""))
    return f"did you mean {best[1]}? " if best[0] >= cutoff else ""


def listing(names: Collection[str]) -> str:
    """``A, B, C and 9 more``: the first ``LISTED`` of ``names`` in sorted order, ``nothing`` when empty."""
    ordered = sorted(names)
    shown = ", ".join(ordered[:LISTED]) or "nothing"
    return shown + (f" and {len(ordered) - LISTED} more" if len(ordered) > LISTED else "")


def unlisted(symbol: str, where: str, names: Collection[str]) -> str:
    """``SYMBOL: not listed on WHERE (did you mean X? it lists A, B, ...)``."""
    return f"{symbol}: not listed on {where} ({near_miss(symbol, list(names))}it lists {listing(names)})"
