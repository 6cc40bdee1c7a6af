"""Target portfolio weights: an immutable symbol -> fraction-of-equity map with gross, net and cash helpers.

A weight is the signed share of account equity held in a symbol: 0.25 is a long worth a quarter of equity,
-0.1 a short worth a tenth. Weights may hold NaN or infinities so that validation can name them; building a
``Weights`` never silently fixes anything.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from decimal import Context, Decimal
from typing import TypeVar, overload

_T = TypeVar("_T")


_NO_TRAPS = Context(traps=[])


def exact_sum(values: Iterable[float]) -> float:
    """The correctly rounded sum of floats (``math.fsum``), never raising: where fsum raises (a partial sum past
    the float range, 1e308 + 1e308; or inf - inf), the exact decimal sum is rounded instead (to inf, back into
    range, or NaN)."""
    values = list(values)
    try:
        return math.fsum(values)
    except (OverflowError, ValueError):
        total = Decimal(0)
        for v in values:
            total = _NO_TRAPS.add(total, Decimal(v))
        return float(total)


class Weights(Mapping[str, float]):
    """Immutable mapping of symbol to target weight (signed fraction of equity)."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, float] | None = None, /, **kwargs: float) -> None:
        merged: dict[str, float] = {}
        for source in (data or {}, kwargs):
            for symbol, weight in source.items():
                if not isinstance(symbol, str) or not symbol:
                    raise TypeError(f"weight keys must be non-empty symbol strings, got {symbol!r}")
                if isinstance(weight, bool | str | bytes) or weight is None:
                    raise TypeError(f"{symbol}: weight must be a number, got {weight!r}")
                merged[symbol] = float(weight)
        self._data = merged

    def __getitem__(self, symbol: str) -> float:
        return self._data[symbol]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    # Delegate to the dict: Mapping's generic versions go through __getitem__ for every key (hot in backtests).
    def __contains__(self, symbol: object) -> bool:
        return symbol in self._data

    @overload
    def get(self, symbol: str, /) -> float | None: ...
    @overload
    def get(self, symbol: str, default: float, /) -> float: ...
    @overload
    def get(self, symbol: str, default: _T, /) -> float | _T: ...
    def get(self, symbol: str, default: object = None, /) -> object:
        return self._data.get(symbol, default)

    def items(self):  # type: ignore[no-untyped-def]
        return self._data.items()

    def keys(self):  # type: ignore[no-untyped-def]
        return self._data.keys()

    def values(self):  # type: ignore[no-untyped-def]
        return self._data.values()

    def __repr__(self) -> str:
        inner = ", ".join(f"{s!r}: {w:.6g}" for s, w in self._data.items())
        return f"Weights({{{inner}}})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self._data) == dict(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._data.items())))

    @property
    def gross(self) -> float:
        """Sum of absolute weights: total exposure as a multiple of equity (inf when it passes the float range)."""
        return exact_sum(abs(w) for w in self._data.values())

    @property
    def net(self) -> float:
        """Sum of signed weights: long exposure minus short exposure."""
        return exact_sum(self._data.values())

    @property
    def cash(self) -> float:
        """Share of equity not deployed in positions (``1 - gross``); negative when levered."""
        return 1.0 - self.gross

    @property
    def is_long_only(self) -> bool:
        return all(w >= 0 for w in self._data.values())

    def longs(self) -> Weights:
        return Weights({s: w for s, w in self._data.items() if w > 0})

    def shorts(self) -> Weights:
        return Weights({s: w for s, w in self._data.items() if w < 0})

    def nonzero(self) -> Weights:
        return Weights({s: w for s, w in self._data.items() if w != 0})

    def to_dict(self) -> dict[str, float]:
        return dict(self._data)

    @classmethod
    def equal(cls, symbols: list[str] | tuple[str, ...], gross: float = 1.0) -> Weights:
        """Equal long weights over ``symbols`` summing to ``gross``."""
        if not symbols:
            return cls({})
        for s in symbols:
            if not isinstance(s, str) or not s:
                raise TypeError(f"weight keys must be non-empty symbol strings, got {s!r}")
        out = cls()
        out._data = dict.fromkeys(symbols, float(gross) / len(symbols))
        return out
