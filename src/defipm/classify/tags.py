"""Category tags: which tokens are meme coins, stablecoins, wrapped or pegged, DeFi, layer 1, ...

defipm ships a maintained table (``tags.csv`` in this package, one token a line, ``symbol,categories`` with the
categories separated by ``;``); users extend or override it from their config with a mapping or a file in the
same format. Tokens are named by their asset (``PEPE``), not by a venue's contract (``1000PEPE``, ``kPEPE``): the
classifier looks a data symbol up as itself first, then as its asset (``defipm.data.contracts``).

A malformed table is an error naming the file and line (or the config key) and the fix; a table entry that names
no token of the data is a warning (``TagTable.unknown``), since a config may be shared between data sets.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType

from defipm.config_schema import missing_file, near_miss
from defipm.core.errors import ConfigError

CATEGORIES: Mapping[str, str] = MappingProxyType(
    {
        "l1": "a layer-1 chain's native token",
        "l2": "a rollup's, sidechain's or layer-2 network's token",
        "defi": "a decentralised-finance protocol: exchange, lending, derivatives, staking, yield",
        "meme": "a meme coin",
        "stablecoin": "pegged to a fiat currency (or once pegged: USTC)",
        "wrapped": "wrapped or pegged to another asset (PAXG: gold)",
        "synthetic": "a price that is not one token (ETHBTC: ETH priced in BTC)",
        "exchange": "a centralised exchange's token",
        "gaming": "games, metaverse, NFT markets",
        "ai": "AI and compute",
        "infrastructure": "oracles, bridges, storage, data, DePIN, identity, wallets",
        "payments": "payments and transfers",
        "privacy": "privacy coins and networks",
        "rwa": "real-world assets",
        "social": "social, fan, creator and community tokens",
    }
)
"""Every category a tag table may use, with what it means."""

SHIPPED = "tags.csv"


@dataclass(frozen=True, slots=True)
class TagTable:
    """Token -> its categories. ``source`` names where the entries came from, for messages."""

    tags: Mapping[str, frozenset[str]]
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", MappingProxyType(dict(self.tags)))

    def __len__(self) -> int:
        return len(self.tags)

    def categories(self, *names: str) -> frozenset[str] | None:
        """The categories of the first of ``names`` the table knows (symbol, then asset); None when none."""
        for name in names:
            found = self.tags.get(name)
            if found is not None:
                return found
        return None

    def merged(self, other: TagTable) -> TagTable:
        """This table with ``other``'s entries on top (an entry of ``other`` replaces this table's)."""
        return TagTable({**self.tags, **other.tags}, f"{self.source} + {other.source}")

    def unknown(self, tokens: Iterable[str]) -> list[str]:
        """One warning per entry naming none of ``tokens`` (data symbols and their assets), with a suggestion."""
        known = sorted(set(tokens))
        out = []
        for name in sorted(set(self.tags) - set(known)):
            close = near_miss(name, known).strip()
            hint = f" ({close})" if close else ""
            out.append(f"{self.source}: {name} is not a token of the data{hint}; its tags are unused")
        return out


def parse_categories(text: str, where: str) -> frozenset[str]:
    """``"meme;l1"`` -> {"meme", "l1"}; an unknown or missing category is a ``ConfigError`` naming ``where``."""
    names = [c.strip().lower() for c in text.replace(",", ";").split(";") if c.strip()]
    return check_categories(names, where)


def check_categories(names: Iterable[str], where: str) -> frozenset[str]:
    """The categories as a set; each must be one of ``CATEGORIES`` (a ``ConfigError`` names ``where`` otherwise)."""
    found = [str(n).strip().lower() for n in names]
    if not found:
        raise ConfigError(f"{where}: no category (use one or more of {', '.join(CATEGORIES)})")
    for name in found:
        if name not in CATEGORIES:
            hint = near_miss(name, list(CATEGORIES))
            raise ConfigError(f"{where}: unknown category {name!r} ({hint}known: {', '.join(CATEGORIES)})")
    return frozenset(found)


def read_tag_table(text: str, source: str) -> TagTable:
    """Parse a tag table: a header ``symbol,categories``, then one token a line; ``#`` starts a comment line."""
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    lines = [(n, line) for n, line in lines if not line.lstrip().startswith("#")]
    if not lines:
        raise ConfigError(f"{source}: empty tag table (expected a header 'symbol,categories' and one token a line)")
    header_line, header = lines[0]
    if [h.strip().lower() for h in header.split(",")] != ["symbol", "categories"]:
        raise ConfigError(
            f"{source} line {header_line}: the header must be 'symbol,categories', got {header.strip()!r}"
        )
    tags: dict[str, frozenset[str]] = {}
    for n, line in lines[1:]:
        try:
            fields = next(csv.reader(io.StringIO(line)))
        except csv.Error as exc:
            raise ConfigError(f"{source} line {n}: not a CSV line: {exc}") from None
        if len(fields) != 2:
            raise ConfigError(
                f"{source} line {n}: expected 2 fields 'symbol,categories' (categories separated by ';'), "
                f"got {len(fields)}: {line.strip()!r}"
            )
        symbol = fields[0].strip()
        if not symbol:
            raise ConfigError(f"{source} line {n}: empty symbol")
        if symbol in tags:
            raise ConfigError(f"{source} line {n}: {symbol} is tagged twice; keep one line per token")
        tags[symbol] = parse_categories(fields[1], f"{source} line {n} ({symbol})")
    return TagTable(tags, source)


def load_tag_file(path: str | Path) -> TagTable:
    """A tag table from a file (the shipped format); errors name the file and line."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(missing_file("tag file", p)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read the tag file: {exc}") from None
    return read_tag_table(text, str(p))


def tags_from_mapping(mapping: Mapping[str, Iterable[str] | str], source: str) -> TagTable:
    """A tag table from a config mapping ``{"NEWCOIN": ["meme"], "OTHER": "defi;l1"}``; errors name the key."""
    tags: dict[str, frozenset[str]] = {}
    for symbol, value in mapping.items():
        where = f"{source}.{symbol}"
        if not str(symbol).strip():
            raise ConfigError(f"{source}: empty symbol")
        if isinstance(value, str):
            tags[str(symbol)] = parse_categories(value, where)
        elif isinstance(value, Iterable):
            tags[str(symbol)] = check_categories([str(v) for v in value], where)
        else:
            raise ConfigError(f"{where}: expected a list of categories, got {value!r}")
    return TagTable(tags, source)


@cache
def shipped_tags() -> TagTable:
    """defipm's maintained table (parsed once per process)."""
    text = resources.files("defipm.classify").joinpath(SHIPPED).read_text(encoding="utf-8")
    return read_tag_table(text, f"defipm/classify/{SHIPPED}")
