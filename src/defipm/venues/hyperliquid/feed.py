"""Live Hyperliquid mid prices as a feed for the paper venue: paper trading at real prices, no key needed.

Only public ``/info`` reads are made (``meta`` once, ``allMids`` per call), so reading mainnet prices is allowed
without the mainnet trading opt-in: this feed cannot sign anything.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from defipm.venues.hyperliquid.client import HyperliquidClient
from defipm.venues.hyperliquid.config import HyperliquidConfig
from defipm.venues.hyperliquid.parsing import parse_meta, parse_mids


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
        rules, delisted = parse_meta(self.client.meta)
        self._listed = set(rules) - delisted

    def __call__(self) -> tuple[datetime, dict[str, float], None]:
        """Raises ``MalformedAnswerError`` (a ``VenueError``) naming the coin of a mid that is not a usable price."""
        mids = parse_mids(self.client.post_info("allMids", {"type": "allMids"}))
        prices = {coin: float(px) for coin, px in mids.items() if coin in self._listed}
        return datetime.now(UTC), prices, None
