"""Uniswap V3 spot venue: ``UniswapVenue`` and its ``UniswapConfig``."""

from defipm.venues.uniswap.config import UniswapConfig
from defipm.venues.uniswap.venue import PreparedSwap, SwapExecution, UniswapVenue

__all__ = ["PreparedSwap", "SwapExecution", "UniswapConfig", "UniswapVenue"]
