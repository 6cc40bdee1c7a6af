"""The configs ``defipm init --template NAME`` writes, each one that works as written for its path.

- ``paper``: the paper venue on a synthetic market (offline, no data needed).
- ``backtest``: an equal-weight BTC/ETH/SOL portfolio, backtested on, then paper-traded at the latest bar of, the
  folder ``defipm data download`` fills (``data/hyperliquid``).
- ``hyperliquid``: the same portfolio on Hyperliquid perps: the local exchange of ``defipm hl-sim sim`` by default
  (its ``base_url``), the testnet without it; the key from ``DEFIPM_HL_TESTNET_SECRET_KEY``.
- ``uniswap``: WETH-based spot on Uniswap V3, on the local chain of ``defipm chain up`` (the
  deployment it records in ``defipm-chain.json``); the key from ``DEFIPM_PRIVATE_KEY`` (``defipm chain key 1``).

``tests/cli/test_readme_path.py`` runs the README's path over them; ``tests/test_config.py`` loads each one.
"""

from __future__ import annotations

DOWNLOAD_FOLDER = "data/hyperliquid"
"""Where ``defipm data download`` writes by default, and where the ``backtest`` template reads."""

_HEADER = """\
# defipm configuration ({name} template: `defipm init --template {name}`). Every key is optional; unknown keys are
# errors. Environment variables override this file: DEFIPM_RUN=..., DEFIPM_RISK__MAX_DRAWDOWN=0.2, ...
"""

_LIMITS = """\
[risk]
max_gross_leverage = 1.5           # sum |w| cap: weights scaled down
max_weight = 0.5                   # single |w| cap: clipped
max_turnover = 2.0                 # sum |dw| per cycle
max_drawdown = 0.3                 # halt trading 30% below the equity peak

[planner]
no_trade_band = 0.002              # skip changes under 0.2% of equity
cost_reserve_bps = 5               # keep back expected slippage
order_type = "market"              # market | limit_ioc
"""

PAPER = """\
# defipm configuration. Every key is optional; unknown keys are errors.
# Environment variables override this file: DEFIPM_RUN=..., DEFIPM_RISK__MAX_DRAWDOWN=0.2, ...

run = "default"                    # name of this portfolio in the database
database = "sqlite:///defipm.db"   # or postgresql+psycopg://user@localhost/defipm

[oracle]                           # who decides the weights
kind = "static"                    # static | equal_weight | momentum | tbn | <entry point name>
[oracle.params]
weights = { SYN000 = 0.4, SYN001 = 0.3, SYN002 = -0.2 }   # or: path = "weights.toml" (TOML, JSON or CSV)

[venue]                            # where orders go
kind = "paper"                     # paper | hyperliquid | uniswap | <entry point name>
[venue.params]
initial_cash = 10000               # USDC a NEW paper account opens with (a stored one keeps its books)
mode = "perp"                      # perp (long/short) or spot (long only)
taker_fee = 0.00045                # fraction of notional
max_leverage = 3

[market]                           # prices for the paper venue when paper trading
source = "synthetic"               # synthetic (seeded random walk, labelled as such) | csv | hyperliquid (live mids)
n_assets = 8
seed = 0

[risk]
max_gross_leverage = 1.5           # sum |w| cap: weights scaled down
max_weight = 0.5                   # single |w| cap: clipped
max_turnover = 2.0                 # sum |dw| per cycle
max_drawdown = 0.3                 # halt trading 30% below the equity peak

[planner]
no_trade_band = 0.002              # skip changes under 0.2% of equity
cost_reserve_bps = 5               # keep back expected slippage
order_type = "market"              # market | limit_ioc
"""

BACKTEST = (
    _HEADER.format(name="backtest")
    + f"""
run = "majors"                     # name of this portfolio in the database
database = "sqlite:///defipm.db"   # or postgresql+psycopg://user@localhost/defipm

[oracle]                           # the same weights in `defipm backtest -c`, `rebalance` and `run`
kind = "equal_weight"
[oracle.params]
symbols = ["BTC", "ETH", "SOL"]
gross = 1.0

[venue]
kind = "paper"
[venue.params]
initial_cash = 10000               # USDC a NEW paper account opens with (a stored one keeps its books)
mode = "perp"                      # perp (long/short) or spot (long only)
taker_fee = 0.00045                # fraction of notional
max_leverage = 3

[market]                           # paper trading prices: the latest bar of each file
source = "csv"
path = "{DOWNLOAD_FOLDER}"         # what `defipm data download` writes
"""
    + _LIMITS
)

HYPERLIQUID = (
    _HEADER.format(name="hyperliquid")
    + """
run = "majors-hl"                  # one run per account: its journal and history belong to it
database = "sqlite:///defipm-hl.db"

[oracle]
kind = "equal_weight"
[oracle.params]
symbols = ["BTC", "ETH", "SOL"]
gross = 1.0                        # the backtest template's portfolio, as it was backtested

[venue]
kind = "hyperliquid"               # the key: DEFIPM_HL_TESTNET_SECRET_KEY (never in this file)
[venue.params]
network = "testnet"
base_url = "http://127.0.0.1:3001" # `defipm hl-sim sim`: the local exchange; delete the line for the public testnet
default_leverage = 2
slippage = 0.01                    # cap of the aggressive IOC orders, fraction of the mid
"""
    + _LIMITS
)

UNISWAP = (
    _HEADER.format(name="uniswap")
    + """
run = "weth-spot"
database = "sqlite:///defipm-uni.db"

[oracle]
kind = "static"
[oracle.params]
weights = { USDC = 0.5 }             # the rest stays in the base token, WETH

[venue]
kind = "uniswap"                   # the key: DEFIPM_PRIVATE_KEY (never in this file)
[venue.params]
deployment = "defipm-chain.json"   # what `defipm chain up` (run in this folder) records: its URL and addresses
base_token = "WETH"                # (or set rpc_url, tokens, factory, swap_router yourself for another chain)
"""
    + _LIMITS
)

TEMPLATES: dict[str, str] = {"paper": PAPER, "backtest": BACKTEST, "hyperliquid": HYPERLIQUID, "uniswap": UNISWAP}
"""Template name -> the TOML ``defipm init --template`` writes."""

EXAMPLE_CONFIG = PAPER
"""The default template (``defipm init`` without ``--template``)."""
