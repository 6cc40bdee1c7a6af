"""Numerai-to-venue symbol maps: the venue quirks a signal's tickers must pass through before they can trade.

A map is a plain ``dict[str, str | None]`` from a Numerai symbol to the venue's symbol; ``None`` means "do not
trade this one" (delisted, migrated away, or a reused ticker). Symbols absent from the map pass through unchanged.
Users extend a map from their config with a plain dict merge (``{**base, **overrides}``), so an override can
rename, add or drop any entry.

What the maintained maps hold:

- ``RENAMES``: token migrations every venue follows (RNDR -> RENDER, MATIC -> POL, FTM -> S).
- ``HYPERLIQUID``: Hyperliquid lists some low-priced coins as 1,000-unit contracts with a ``k`` prefix
  (``kPEPE`` is 1,000 PEPE), so their price is 1,000 times the coin's. Weights are fractions of equity, so the
  contract size changes nothing for the oracle; only the name differs.
- ``DELISTED``: tickers that must never trade even if a venue lists the same letters.
- ``BYBIT``: Bybit's USDT perpetuals quote some coins in bundles (``1000PEPE`` is 1,000 PEPE, ``SHIB1000`` 1,000
  SHIB; the list is ``defipm.data.contracts.VENUE_BUNDLES["bybit"]``). A data folder's own contract manifest
  (``symbols.csv``) gives the same through ``SymbolMap.from_contracts``.

Keep these in step with the venues' announcements; an entry that goes out of date only costs overlap, because
the oracle also intersects with the venue's live universe.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from defipm.core.errors import ConfigError
from defipm.data.contracts import VENUE_BUNDLES, ContractTable

RENAMES: Mapping[str, str | None] = MappingProxyType(
    {
        "RNDR": "RENDER",  # Render Network migrated its token (2023); venues list RENDER
        "MATIC": "POL",  # Polygon's MATIC -> POL migration (2024)
        "FTM": "S",  # Fantom -> Sonic migration (2024-2025)
    }
)

DELISTED: Mapping[str, str | None] = MappingProxyType(
    {
        "UST": None,  # TerraUSD collapsed in 2022; the ticker is reused by unrelated tokens
        "LUNA": None,  # Numerai history before 2022-05 means Terra Classic (now LUNC); never map to Terra 2.0
    }
)

HYPERLIQUID_KILO = ("PEPE", "SHIB", "BONK", "FLOKI", "LUNC", "NEIRO")
"""Coins Hyperliquid trades as 1,000-unit contracts named ``k<COIN>``."""

HYPERLIQUID: Mapping[str, str | None] = MappingProxyType(
    {**RENAMES, **DELISTED, **{coin: f"k{coin}" for coin in HYPERLIQUID_KILO}}
)

BYBIT: Mapping[str, str | None] = MappingProxyType({**RENAMES, **DELISTED, **VENUE_BUNDLES["bybit"].bundles()})
"""Bybit's USDT perpetuals: the renames, the delistings and the bundle contracts (PEPE -> 1000PEPE)."""

GENERIC: Mapping[str, str | None] = MappingProxyType({**RENAMES, **DELISTED})
"""For venues without ticker quirks (the paper venue, Uniswap by token symbol)."""

VENUE_MAPS: Mapping[str, Mapping[str, str | None]] = MappingProxyType(
    {
        "hyperliquid": HYPERLIQUID,
        "bybit": BYBIT,
        "generic": GENERIC,
        "paper": MappingProxyType({}),
        "none": MappingProxyType({}),
    }
)
"""Maintained maps by venue id. ``paper`` and ``none`` pass every symbol through unchanged: paper trading and
backtests run on price files named as the coin was named then (e.g. ``MATIC.csv``), where a rename would lose
the symbol."""


@dataclass(frozen=True, slots=True)
class SymbolMap:
    """Translate Numerai symbols to a venue's symbols.

    mapping: Numerai symbol -> venue symbol, or None to drop the symbol. Unlisted symbols pass through.
    """

    mapping: Mapping[str, str | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        bad = [k for k, v in self.mapping.items() if not isinstance(k, str) or not k or v == ""]
        if bad:
            raise ConfigError(f"symbol map: empty or non-string entries for {sorted(map(str, bad))}")
        object.__setattr__(self, "mapping", MappingProxyType(dict(self.mapping)))

    @classmethod
    def for_venue(cls, venue: str, overrides: Mapping[str, str | None] | None = None) -> SymbolMap:
        """The maintained map of ``venue`` (see ``VENUE_MAPS``) merged with ``overrides`` (overrides win)."""
        try:
            base = VENUE_MAPS[venue]
        except KeyError:
            raise ConfigError(f"no symbol map for venue {venue!r}; known: {', '.join(sorted(VENUE_MAPS))}") from None
        return cls({**base, **(overrides or {})})

    @classmethod
    def from_contracts(cls, contracts: ContractTable, base: Mapping[str, str | None] | None = None) -> SymbolMap:
        """A map from each bundle contract's asset to its symbol (``PEPE -> 1000PEPE``), from a data folder's
        manifest, on top of ``base`` (e.g. ``GENERIC``)."""
        return cls({**(base or {}), **contracts.bundles()})

    def merged(self, overrides: Mapping[str, str | None]) -> SymbolMap:
        """A new map with ``overrides`` merged on top (a plain dict merge)."""
        return SymbolMap({**self.mapping, **overrides})

    def to_venue(self, symbol: str) -> str | None:
        """The venue's name for a Numerai ``symbol``, or None when it must not trade."""
        if symbol in self.mapping:
            return self.mapping[symbol]
        return symbol

    def translate(self, symbols: Iterable[str]) -> dict[str, str]:
        """Numerai symbol -> venue symbol for every symbol that maps to something."""
        out: dict[str, str] = {}
        for s in symbols:
            venue = self.to_venue(s)
            if venue is not None:
                out[s] = venue
        return out

    def underlying(self, venue_symbol: str) -> str:
        """The asset behind a venue symbol, for spotting one asset under two names (``kPEPE`` and ``PEPE``)."""
        for numerai, venue in self.mapping.items():
            if venue == venue_symbol:
                return numerai
        return venue_symbol
