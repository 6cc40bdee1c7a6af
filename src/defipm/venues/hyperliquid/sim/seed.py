"""What the local exchange starts from: a built-in perpetuals ``meta`` and mid prices, optionally replaced by the
recorded mainnet responses in ``fixtures/hyperliquid/`` (vcrpy cassettes), plus synthetic coins for benchmarks.

The built-in default keeps the exchange usable anywhere (no fixture folder needed at run time). It includes
delisted coins (``isDelisted: true``), as real ``meta`` does, and a kPEPE-style 1000-unit symbol.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

# name, szDecimals, maxLeverage, mid
_BUILTIN: tuple[tuple[str, int, int, str], ...] = (
    ("BTC", 5, 50, "30135.0"),
    ("ETH", 4, 50, "1903.95"),
    ("ATOM", 2, 50, "9.3384"),
    ("MATIC", 1, 50, "0.77389"),
    ("DYDX", 1, 50, "2.11305"),
    ("SOL", 2, 50, "26.516"),
    ("AVAX", 2, 50, "14.1705"),
    ("BNB", 3, 50, "243.135"),
    ("APE", 1, 50, "1.96595"),
    ("OP", 1, 50, "1.45515"),
    ("LTC", 2, 50, "91.832"),
    ("ARB", 1, 50, "1.28895"),
    ("DOGE", 0, 50, "0.069277"),
    ("kPEPE", 0, 50, "0.001565"),
    ("LINK", 1, 50, "6.9123"),
    ("XRP", 0, 50, "0.73862"),
)
_DELISTED: tuple[tuple[str, int, int], ...] = (("LUNA", 1, 10), ("FTT", 1, 10))


@dataclass
class Seed:
    """Perp universe (in asset-index order), which coins are delisted, and the starting mids."""

    universe: list[dict[str, Any]] = field(default_factory=list)
    mids: dict[str, Decimal] = field(default_factory=dict)
    source: str = "builtin"

    @property
    def delisted(self) -> set[str]:
        return {a["name"] for a in self.universe if a.get("isDelisted")}

    def meta(self) -> dict[str, Any]:
        return {"universe": [dict(a) for a in self.universe]}


def builtin_seed() -> Seed:
    universe: list[dict[str, Any]] = [{"name": n, "szDecimals": d, "maxLeverage": lev} for n, d, lev, _ in _BUILTIN]
    universe += [{"name": n, "szDecimals": d, "maxLeverage": lev, "isDelisted": True} for n, d, lev in _DELISTED]
    return Seed(universe=universe, mids={n: Decimal(px) for n, _, _, px in _BUILTIN})


def read_cassette(path: Path) -> list[tuple[dict[str, Any], int, Any]]:
    """(request body, HTTP status, parsed response body) for each interaction of one vcrpy cassette."""
    import yaml  # a dependency of the test tooling; only needed when fixtures are read

    doc = yaml.safe_load(path.read_text())
    out = []
    for it in doc.get("interactions", []):
        body = it["request"].get("body") or "{}"
        req = json.loads(body) if isinstance(body, str) else body
        resp = it["response"]
        out.append((req, int(resp["status"]["code"]), json.loads(resp["body"]["string"])))
    return out


def fixture_seed(folder: Path) -> Seed | None:
    """Meta and mids from the recorded ``test_get_info`` and ``test_get_all_mids`` cassettes, if both parse."""
    info, mids = folder / "test_get_info.yaml", folder / "test_get_all_mids.yaml"
    if not (info.is_file() and mids.is_file()):
        return None
    try:
        meta = next(body for req, _, body in read_cassette(info) if req.get("type") == "meta")
        all_mids = next(body for req, _, body in read_cassette(mids) if req.get("type") == "allMids")
    except (StopIteration, ValueError, KeyError, ImportError):
        return None
    universe = [dict(a) for a in meta["universe"]]
    names = {a["name"] for a in universe}
    universe += [  # real meta lists delisted coins; the 2023 recording has none, keep ours for the tests
        {"name": n, "szDecimals": d, "maxLeverage": lev, "isDelisted": True}
        for n, d, lev in _DELISTED
        if n not in names
    ]
    prices = {c: Decimal(p) for c, p in all_mids.items() if c in names}
    return Seed(universe=universe, mids=prices, source=str(folder))


def recorded_funding(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """The ``fundingHistory`` records of the recorded cassettes, per coin, oldest first and without duplicates
    ({} when the folder holds none): real mainnet hourly rates (BTC, May to July 2023) for backtests with
    funding (``history.funding_frame`` turns them into the ``funding/<COIN>.csv`` layout)."""
    rows: dict[str, dict[int, dict[str, Any]]] = {}
    for path in sorted(folder.glob("test_get_funding_history*.yaml")) if folder.is_dir() else ():
        try:
            interactions = read_cassette(path)
        except (ValueError, KeyError, ImportError):
            continue
        for request, _, body in interactions:
            if request.get("type") == "fundingHistory" and isinstance(body, list):
                for row in body:
                    rows.setdefault(str(row["coin"]), {})[int(row["time"])] = row
    return {coin: [by_time[t] for t in sorted(by_time)] for coin, by_time in rows.items()}


def load_seed(fixtures: Path | None = None, synthetic_assets: int = 0) -> Seed:
    """The fixture seed when ``fixtures`` holds the recordings, else (and by default) the built-in one; plus synthetic coins
    ``SYN000``... (szDecimals 2, mid 10 + i) up to ``synthetic_assets`` extra listed coins."""
    seed = (fixture_seed(fixtures) if fixtures is not None else None) or builtin_seed()
    for i in range(synthetic_assets):
        name = f"SYN{i:03d}"
        seed.universe.append({"name": name, "szDecimals": 2, "maxLeverage": 20})
        seed.mids[name] = Decimal(10 + i)
    return seed
