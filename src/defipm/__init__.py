"""defipm: run crypto portfolios on decentralized exchanges.

An ``Oracle`` knows the target portfolio, a ``Venue`` (the design's DEX interface) executes it, and the
``PortfolioManager`` runs the loop ``manage_portfolio(timestamp)`` for live trading, paper trading and backtests.
"""

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
