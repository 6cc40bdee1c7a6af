"""The chronological train/test split of a model's data, and the check that the data is long enough for it.

Usable bars start where every asset has a price, plus the observation window (the first decision needs a full
window behind it). The first ``train_fraction`` of the decision bars train, the rest test; the two parts share no
bar (the test part's first windows reach back into the training bars, which is history, not training). Each part
must hold at least ``MIN_STEPS`` steps of ``rebalance_every`` bars, or the split is refused naming the symbols,
the bars they cover and what the settings need.
"""

from __future__ import annotations

from dataclasses import dataclass

from defipm.core.errors import DataError
from defipm.rl.market import MarketArrays

MIN_STEPS = 2
"""Fewest steps a part may hold (a single step says nothing about a policy)."""


@dataclass(frozen=True, slots=True)
class Span:
    """Bars ``start .. stop`` (inclusive): decisions from ``start``, the last step reaching at most ``stop``."""

    start: int
    stop: int

    def steps(self, every: int) -> int:
        return (self.stop - self.start) // every


@dataclass(frozen=True, slots=True)
class Split:
    train: Span
    test: Span | None
    """None when the whole usable range trains (the rotation loop tests on the next period, live)."""


def usable_span(market: MarketArrays, window: int, every: int) -> Span:
    """The decision bars where every asset has a full window of prices behind it, to the last bar; refuses data
    that cannot hold ``MIN_STEPS`` steps."""
    first = market.first_complete()
    if first >= len(market):
        raise DataError(f"no bar of {_data(market)} where every one of {', '.join(market.symbols)} has a price")
    span = Span(first + window, len(market) - 1)
    if span.stop - span.start < MIN_STEPS * every:
        raise DataError(
            f"too little data: {', '.join(market.symbols)} all have prices on {len(market) - first} bars "
            f"({market.time(first):%Y-%m-%d %H:%M} to {market.time(len(market) - 1):%Y-%m-%d %H:%M}); a window of "
            f"{window} bars and {MIN_STEPS} steps of {every} bars need {window + MIN_STEPS * every + 1}"
        )
    return span


def chronological_split(market: MarketArrays, window: int, every: int, train_fraction: float = 0.66) -> Split:
    """The first ``train_fraction`` of the usable decision bars train, the rest test (see the module doc)."""
    if not 0 < train_fraction < 1:
        raise DataError(f"train_fraction must be between 0 and 1, got {train_fraction}")
    whole = usable_span(market, window, every)
    bars = whole.stop - whole.start + 1
    cut = whole.start + int(bars * train_fraction)
    split = Split(Span(whole.start, cut - 1), Span(cut, whole.stop))
    assert split.test is not None
    short = [
        f"{name} {part.stop - part.start + 1} bars"
        for name, part in (("train", split.train), ("test", split.test))
        if part.stop - part.start < MIN_STEPS * every
    ]
    if short:
        need = MIN_STEPS * every + 1
        raise DataError(
            f"too little data for the split: {bars} decision bars of {', '.join(market.symbols)} after a "
            f"{window}-bar window ({market.time(whole.start):%Y-%m-%d} to {market.time(whole.stop):%Y-%m-%d}) split "
            f"{train_fraction:.0%}/{1 - train_fraction:.0%} leave {', '.join(short)}; each part needs {need} bars "
            f"({MIN_STEPS} steps of {every}): use more data, a shorter window or a shorter rebalancing interval"
        )
    return split


def _data(market: MarketArrays) -> str:
    return market.source or "the data"
