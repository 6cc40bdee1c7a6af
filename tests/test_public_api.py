"""The public API is what ``defipm`` exports, exactly; and importing it stays light (no SDKs, web3 or pandas)."""

import subprocess
import sys

import defipm

EXPECTED = {
    "ConfigError", "CycleReport", "CycleStatus", "DEXInterface", "DataError", "DefipmError", "EqualWeightOracle",
    "Fill", "InstrumentRules", "InsufficientMarginError", "InvalidWeightsError", "JournalError", "LookAheadError",
    "MissingPriceError", "Oracle", "Order", "OrderRejectedError", "OrderResult", "OrderStatus", "OrderType",
    "PaperVenue", "PlannerConfig", "PortfolioManager", "RebalanceReport", "RiskBreach", "RiskLimits", "Settings",
    "Side", "SlippageModel", "SqlJournal", "StaticOracle", "Store", "TradingHaltedError", "UnknownSymbolError",
    "Venue", "VenueError", "VenueUnavailableError", "WeightConstraints", "Weights", "__version__",
    "check_weights", "load_settings", "plan_rebalance",
}  # fmt: skip


def test_all_is_exactly_the_public_api():
    assert set(defipm.__all__) == EXPECTED
    for name in EXPECTED:
        assert hasattr(defipm, name), name


def test_design_names_and_aliases():
    assert defipm.DEXInterface is defipm.Venue
    assert defipm.Venue.rebalance_portfolio is defipm.Venue.set_portfolio_weights
    for method in ("connect", "get_universe", "set_portfolio_weights", "execute_trade", "get_positions", "get_prices",
                   "get_equity"):  # fmt: skip
        assert callable(getattr(defipm.Venue, method))
    assert callable(defipm.Oracle.fetch_portfolio_weights) and callable(defipm.Oracle.validate_weights)
    assert callable(defipm.PortfolioManager.manage_portfolio)


def test_import_is_light():
    code = "import sys, defipm; print(sorted(m for m in ('pandas','web3','hyperliquid','numerapi','torch','ray') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
