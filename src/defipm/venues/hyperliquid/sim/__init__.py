"""A local Hyperliquid exchange for tests, demos and users: the real HTTP API on loopback, real signature checks.

from defipm.venues.hyperliquid.sim import LocalExchange
with LocalExchange(accounts={"0xabc...": 100_000}) as ex:
    ...  # point the SDK (or HyperliquidVenue) at ex.url
"""

from defipm.venues.hyperliquid.sim.engine import BookConfig, Engine
from defipm.venues.hyperliquid.sim.seed import Seed, builtin_seed, load_seed
from defipm.venues.hyperliquid.sim.server import Fault, LocalExchange

__all__ = ["BookConfig", "Engine", "Fault", "LocalExchange", "Seed", "builtin_seed", "load_seed"]
