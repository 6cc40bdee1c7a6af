"""defipm: run crypto portfolios on decentralized exchanges.

An ``Oracle`` knows the target portfolio, a ``Venue`` (the design's DEX interface) executes it, and the
``PortfolioManager`` runs the loop ``manage_portfolio(timestamp)`` for live trading, paper trading and backtests.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from defipm.config import Settings, load_settings
    from defipm.core.errors import (
        ConfigError,
        DataError,
        DefipmError,
        InsufficientMarginError,
        InvalidWeightsError,
        JournalError,
        LookAheadError,
        MissingPriceError,
        OrderRejectedError,
        TradingHaltedError,
        UnknownSymbolError,
        VenueError,
        VenueUnavailableError,
    )
    from defipm.core.instruments import InstrumentRules
    from defipm.core.orders import Fill, Order, OrderResult, OrderStatus, OrderType, Side
    from defipm.core.planner import PlannerConfig, plan_rebalance
    from defipm.core.reports import CycleReport, CycleStatus, RebalanceReport, RiskBreach
    from defipm.core.risk import RiskLimits
    from defipm.core.validation import WeightConstraints, check_weights
    from defipm.core.weights import Weights
    from defipm.journal import SqlJournal
    from defipm.manager import PortfolioManager
    from defipm.oracles.base import Oracle
    from defipm.oracles.equal_weight import EqualWeightOracle
    from defipm.oracles.static import StaticOracle
    from defipm.store.database import Store
    from defipm.venues.base import DEXInterface, Venue
    from defipm.venues.paper import PaperVenue, SlippageModel

__version__ = "0.1.0"

_LAZY = {
    "Settings": "defipm.config",
    "load_settings": "defipm.config",
    "ConfigError": "defipm.core.errors",
    "DataError": "defipm.core.errors",
    "DefipmError": "defipm.core.errors",
    "InsufficientMarginError": "defipm.core.errors",
    "InvalidWeightsError": "defipm.core.errors",
    "JournalError": "defipm.core.errors",
    "LookAheadError": "defipm.core.errors",
    "MissingPriceError": "defipm.core.errors",
    "OrderRejectedError": "defipm.core.errors",
    "TradingHaltedError": "defipm.core.errors",
    "UnknownSymbolError": "defipm.core.errors",
    "VenueError": "defipm.core.errors",
    "VenueUnavailableError": "defipm.core.errors",
    "InstrumentRules": "defipm.core.instruments",
    "Fill": "defipm.core.orders",
    "Order": "defipm.core.orders",
    "OrderResult": "defipm.core.orders",
    "OrderStatus": "defipm.core.orders",
    "OrderType": "defipm.core.orders",
    "Side": "defipm.core.orders",
    "PlannerConfig": "defipm.core.planner",
    "plan_rebalance": "defipm.core.planner",
    "CycleReport": "defipm.core.reports",
    "CycleStatus": "defipm.core.reports",
    "RebalanceReport": "defipm.core.reports",
    "RiskBreach": "defipm.core.reports",
    "RiskLimits": "defipm.core.risk",
    "WeightConstraints": "defipm.core.validation",
    "check_weights": "defipm.core.validation",
    "Weights": "defipm.core.weights",
    "SqlJournal": "defipm.journal",
    "PortfolioManager": "defipm.manager",
    "Oracle": "defipm.oracles.base",
    "EqualWeightOracle": "defipm.oracles.equal_weight",
    "StaticOracle": "defipm.oracles.static",
    "Store": "defipm.store.database",
    "DEXInterface": "defipm.venues.base",
    "Venue": "defipm.venues.base",
    "PaperVenue": "defipm.venues.paper",
    "SlippageModel": "defipm.venues.paper",
}
"""Each public name and the module that defines it: imported on first use (PEP 562), so ``import defipm.cli``
and ``defipm --help`` do not pay for SQLAlchemy, NumPy and every venue (issue 19, start-up)."""


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'defipm' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "ConfigError",
    "CycleReport",
    "CycleStatus",
    "DEXInterface",
    "DataError",
    "DefipmError",
    "EqualWeightOracle",
    "Fill",
    "InstrumentRules",
    "InsufficientMarginError",
    "InvalidWeightsError",
    "JournalError",
    "LookAheadError",
    "MissingPriceError",
    "Oracle",
    "Order",
    "OrderRejectedError",
    "OrderResult",
    "OrderStatus",
    "OrderType",
    "PaperVenue",
    "PlannerConfig",
    "PortfolioManager",
    "RebalanceReport",
    "RiskBreach",
    "RiskLimits",
    "Settings",
    "Side",
    "SlippageModel",
    "SqlJournal",
    "StaticOracle",
    "Store",
    "TradingHaltedError",
    "UnknownSymbolError",
    "Venue",
    "VenueError",
    "VenueUnavailableError",
    "WeightConstraints",
    "Weights",
    "__version__",
    "check_weights",
    "load_settings",
    "plan_rebalance",
]
