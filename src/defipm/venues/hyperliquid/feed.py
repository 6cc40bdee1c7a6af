"""Live Hyperliquid mid prices as a feed for the paper venue: paper trading at real prices, no key needed.

Only public ``/info`` reads are made (``meta`` once, ``allMids`` per call), so reading mainnet prices is allowed
without the mainnet trading opt-in: this feed cannot sign anything.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from defipm.venues.hyperliquid.client import HyperliquidClient
from defipm.venues.hyperliquid.config import HyperliquidConfig


class HyperliquidMidsFeed:
    """``feed()`` -> (now, {coin: mid}, None) for every listed perp (delisted coins and spot pairs left out)."""

    def __init__(
        self,
        network: Literal["testnet", "mainnet"] = "mainnet",
        base_url: str | None = None,
        timeout_secs: float = 10.0,
    ) -> None:
        config = HyperliquidConfig(
            network=network, allow_mainnet=network == "mainnet", base_url=base_url, timeout_secs=timeout_secs
        )
        self.client = HyperliquidClient(config)  # no credentials: reads only
        self.label = f"Hyperliquid {network} mids ({config.url}), paper fills"
        self._listed = {a["name"] for a in self.client.meta["universe"] if not a.get("isDelisted")}

    def __call__(self) -> tuple[datetime, dict[str, float], None]:
        mids = self.client.read("allMids", self.client.info.all_mids)
        prices = {coin: float(px) for coin, px in mids.items() if coin in self._listed and float(px) > 0}
        return datetime.now(UTC), prices, None
