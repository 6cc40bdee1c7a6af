"""`defipm rebalance` / `status` from a config file against the local Hyperliquid exchange (real SDK, signed
requests), the key coming from the environment; mainnet needs both opt-ins."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from defipm.cli import app

pytest.importorskip("hyperliquid")
eth_account = pytest.importorskip("eth_account")
from defipm.venues.hyperliquid.sim import LocalExchange  # noqa: E402

runner = CliRunner()


def config(tmp_path: Path, url: str, extra: str = "") -> Path:
    path = tmp_path / "defipm.toml"
    path.write_text(
        f"""
run = "hl"
database = "sqlite:///{tmp_path / "db.sqlite"}"
[oracle]
kind = "static"
[oracle.params]
weights = {{ BTC = 0.3, ETH = -0.2, SOL = 0.1 }}
[venue]
kind = "hyperliquid"
[venue.params]
base_url = "{url}"
default_leverage = 3
{extra}
"""
    )
    return path


def test_rebalance_and_status_from_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    wallet = eth_account.Account.create()
    secret = wallet.key.hex()
    monkeypatch.setenv("DEFIPM_HL_TESTNET_SECRET_KEY", secret)
    monkeypatch.setenv("DEFIPM_HL_TESTNET_ACCOUNT_ADDRESS", wallet.address)
    monkeypatch.setenv("COLUMNS", "200")
    with LocalExchange(accounts={wallet.address: 50_000}) as ex:
        cfg = config(tmp_path, ex.url)
        log = tmp_path / "rebalance.log"
        result = runner.invoke(app, ["-vv", "--log-file", str(log), "rebalance", "-c", str(cfg)])
        assert result.exit_code == 0, result.output
        assert "traded" in result.output
        assert ex.stats.by_type["metaAndAssetCtxs"] == ex.stats.by_type["meta"] == 1  # read once by the process
        status = runner.invoke(app, ["status", "-c", str(cfg)])
        assert status.exit_code == 0, status.output
        assert "ETH" in status.output and "-20.00%" in status.output
    logged = log.read_text()
    assert "defipm.manager: cycle" in logged and "hyperliquid: order" in logged  # the log has the cycle and orders
    for text in (result.output, status.output, logged):
        assert secret not in text and secret.removeprefix("0x") not in text


def test_mainnet_needs_both_opt_ins(tmp_path: Path):
    cfg = config(tmp_path, "http://127.0.0.1:9", 'network = "mainnet"\nallow_mainnet = true')
    result = runner.invoke(app, ["rebalance", "-c", str(cfg)])
    assert result.exit_code == 1 and "pass --mainnet" in result.output
    cfg = config(tmp_path, "http://127.0.0.1:9", 'network = "mainnet"')
    result = runner.invoke(app, ["rebalance", "-c", str(cfg), "--mainnet"])
    assert result.exit_code == 1 and "mainnet" in result.output  # the config's own opt-in is missing


def test_config_typo_in_venue_params(tmp_path: Path):
    cfg = config(tmp_path, "http://127.0.0.1:9", "slipage = 0.02")
    result = runner.invoke(app, ["rebalance", "-c", str(cfg)])
    assert result.exit_code == 1 and "venue.params.slipage: unknown key" in result.output


def test_paper_trading_at_live_hyperliquid_mids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("COLUMNS", "200")
    with LocalExchange(accounts={}) as ex:
        cfg = tmp_path / "paper.toml"
        cfg.write_text(
            f"""
run = "paper-hl"
database = "sqlite:///{tmp_path / "db.sqlite"}"
[oracle]
kind = "static"
[oracle.params]
weights = {{ BTC = 0.5, ETH = -0.3 }}
[venue]
kind = "paper"
[market]
source = "hyperliquid"
base_url = "{ex.url}"
"""
        )
        result = runner.invoke(app, ["rebalance", "-c", str(cfg)])
        assert result.exit_code == 0, result.output
        assert "Hyperliquid mainnet mids" in result.output and "traded" in result.output
        from defipm.venues.hyperliquid.feed import HyperliquidMidsFeed

        _, mids, _ = HyperliquidMidsFeed(base_url=ex.url)()
    from defipm import PaperVenue, Store

    venue = PaperVenue(store=Store(f"sqlite:///{tmp_path / 'db.sqlite'}"), account="paper-hl")
    assert venue.get_prices()["BTC"] == Decimal(repr(mids["BTC"]))  # marked at the exchange's mid
    assert venue.get_positions()["ETH"] < 0


def test_hl_account_orders_history_cancel_and_close_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    wallet = eth_account.Account.create()
    monkeypatch.setenv("DEFIPM_HL_TESTNET_SECRET_KEY", wallet.key.hex())
    monkeypatch.setenv("DEFIPM_HL_TESTNET_ACCOUNT_ADDRESS", wallet.address)
    monkeypatch.setenv("COLUMNS", "250")
    with LocalExchange(accounts={wallet.address: 50_000}) as ex:
        cfg = config(tmp_path, ex.url, "[venue.params.stop_loss]\nfraction = 0.2")
        assert runner.invoke(app, ["rebalance", "-c", str(cfg)]).exit_code == 0
        acct = runner.invoke(app, ["hl", "account", "-c", str(cfg)])
        assert acct.exit_code == 0, acct.output
        assert "4.50 bps" in acct.output and "1.50 bps" in acct.output  # userFees
        assert all(c in acct.output for c in ("BTC", "ETH", "SOL")) and "-20.00%" in acct.output
        orders = runner.invoke(app, ["hl", "orders", "-c", str(cfg)])
        assert orders.exit_code == 0 and orders.output.count("Stop Market") == 3, orders.output
        hist = runner.invoke(app, ["hl", "history", "-c", str(cfg), "--days", "1"])
        assert hist.exit_code == 0 and "3 fill(s)" in hist.output, hist.output
        assert runner.invoke(app, ["hl", "history", "-c", str(cfg), "--days", "0"]).exit_code == 2  # bad input

        dry = runner.invoke(app, ["hl", "close-all", "-c", str(cfg)])
        assert dry.exit_code == 1 and "pass --yes" in dry.output and len(ex.engine.order_log) == 6
        done = runner.invoke(app, ["hl", "close-all", "-c", str(cfg), "--yes"])
        assert done.exit_code == 0, done.output
        assert "flat" in done.output
        state = ex.engine.views.clearinghouse_state(wallet.address)
        assert state["assetPositions"] == [] and ex.engine.views.frontend_open_orders(wallet.address) == []
        cancel = runner.invoke(app, ["hl", "cancel", "-c", str(cfg)])
        assert cancel.exit_code == 0 and "cancelled 0 open order(s)" in cancel.output


def test_hl_commands_refuse_a_config_of_another_venue(tmp_path: Path):
    cfg = tmp_path / "paper.toml"
    cfg.write_text(f'database = "sqlite:///{tmp_path / "db.sqlite"}"\n[venue]\nkind = "paper"\n')
    result = runner.invoke(app, ["hl", "orders", "-c", str(cfg)])
    assert result.exit_code == 1 and "'paper'" in result.output and 'kind = "hyperliquid"' in result.output


def test_hl_cancel_and_close_all_clear_resting_orders_even_under_the_refuse_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    wallet = eth_account.Account.create()
    monkeypatch.setenv("DEFIPM_HL_TESTNET_SECRET_KEY", wallet.key.hex())
    monkeypatch.setenv("DEFIPM_HL_TESTNET_ACCOUNT_ADDRESS", wallet.address)
    with LocalExchange(accounts={wallet.address: 50_000}) as ex:
        resting = config(tmp_path, ex.url, 'order_type = "limit"\nlimit_offset = 0.01')
        assert runner.invoke(app, ["rebalance", "-c", str(resting)]).exit_code == 0
        assert len(ex.engine.views.frontend_open_orders(wallet.address)) == 3  # three limits rest, far away
        refuse = config(tmp_path, ex.url, 'open_orders = "refuse"')
        blocked = runner.invoke(app, ["rebalance", "-c", str(refuse)])
        assert blocked.exit_code != 0 and "defipm hl cancel" in blocked.output, blocked.output
        cancel = runner.invoke(app, ["hl", "cancel", "-c", str(refuse)])
        assert cancel.exit_code == 0 and "cancelled 3 open order(s)" in cancel.output, cancel.output
        assert ex.engine.views.frontend_open_orders(wallet.address) == []
        assert runner.invoke(app, ["rebalance", "-c", str(refuse)]).exit_code == 0  # positions now, nothing rests
        stops = config(tmp_path, ex.url, "[venue.params.stop_loss]\nfraction = 0.2")
        assert runner.invoke(app, ["rebalance", "-c", str(stops)]).exit_code == 0  # three stops rest
        assert len(ex.engine.views.frontend_open_orders(wallet.address)) == 3
        refuse = config(tmp_path, ex.url, 'open_orders = "refuse"')
        done = runner.invoke(app, ["hl", "close-all", "-c", str(refuse), "--yes"])
        assert done.exit_code == 0 and "flat" in done.output, done.output
        assert ex.engine.views.frontend_open_orders(wallet.address) == []
        assert ex.engine.views.clearinghouse_state(wallet.address)["assetPositions"] == []


def test_hl_sim_starts_from_the_built_in_prices_without_a_fixtures_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The README's ``defipm hl-sim sim --account ...`` needs no recorded responses on disk (none in the product's
    defaults); only an explicitly given ``--fixtures`` folder must exist."""
    import socket

    from defipm.venues.hyperliquid.sim.seed import builtin_seed

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    with LocalExchange(accounts={}) as ex:
        assert ex.engine.mids == builtin_seed().mids
    with socket.socket() as busy:  # the command gets past its options and fails only to bind the taken port
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = runner.invoke(app, ["hl-sim", "sim", "--port", str(port), "--account", f"0x{'1' * 40}=100000"])
    assert result.exit_code == 1, result.output
    assert f"cannot serve on 127.0.0.1:{port}" in result.output
    assert "fixtures" not in result.output
    missing = tmp_path / "no-such-recordings"
    result = runner.invoke(app, ["hl-sim", "sim", "--port", "0", "--fixtures", str(missing)])
    assert result.exit_code == 2
    assert "no such folder" in result.output and "no-such-recordings" in result.output


def test_reading_commands_need_only_the_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Issue 18: `status` and `list symbols` read the account with its address alone; signing still needs the key,
    and the error names its variable."""
    wallet = eth_account.Account.create()
    monkeypatch.delenv("DEFIPM_HL_TESTNET_SECRET_KEY", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    with LocalExchange(accounts={wallet.address: 50_000}) as ex:
        cfg = config(tmp_path, ex.url)
        no_account = runner.invoke(app, ["status", "-c", str(cfg)])
        assert no_account.exit_code == 1 and "DEFIPM_HL_TESTNET_ACCOUNT_ADDRESS" in no_account.output
        monkeypatch.setenv("DEFIPM_HL_TESTNET_ACCOUNT_ADDRESS", wallet.address)
        status = runner.invoke(app, ["status", "-c", str(cfg)])
        assert status.exit_code == 0, status.output
        assert "50,000" in status.output or "50000" in status.output, status.output
        symbols = runner.invoke(app, ["list", "symbols", "-c", str(cfg)])
        assert symbols.exit_code == 0 and "BTC" in symbols.output, symbols.output
        trade = runner.invoke(app, ["rebalance", "-c", str(cfg)])
        assert trade.exit_code == 1 and "no Hyperliquid testnet key" in trade.output, trade.output
        assert "DEFIPM_HL_TESTNET_SECRET_KEY" in trade.output


def test_run_with_the_venue_down_at_start_keeps_its_schedule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Issue 18: a venue unreachable when `defipm run` starts costs that cycle (said, with the next try's time),
    not the run: the next cycle connects and trades, as after a drop mid-run."""
    import logging

    from defipm.chain.anvil import free_port

    wallet = eth_account.Account.create()
    monkeypatch.setenv("DEFIPM_HL_TESTNET_SECRET_KEY", wallet.key.hex())
    monkeypatch.setenv("COLUMNS", "200")
    port = free_port()
    cfg = config(tmp_path, f"http://127.0.0.1:{port}", "read_retries = 0")
    exchange = LocalExchange(port=port, accounts={wallet.address: 50_000})

    class StartOnFailure(logging.Handler):  # the exchange comes up once the first connection has failed
        def emit(self, record: logging.LogRecord) -> None:
            if "connect failed" in record.getMessage() and not started:
                started.append(exchange.__enter__())

    started: list[object] = []
    handler = StartOnFailure(logging.WARNING)
    logging.getLogger("defipm.venues.hyperliquid.client").addHandler(handler)
    try:
        result = runner.invoke(app, ["run", "-c", str(cfg), "--every", "1s", "--max-cycles", "2"])
    finally:
        logging.getLogger("defipm.venues.hyperliquid.client").removeHandler(handler)
        if started:
            exchange.__exit__(None, None, None)
    assert started and result.exit_code == 0, result.output
    assert "cycle skipped" in result.output and "is the local exchange running" in result.output
    assert "next try at" in result.output and "traded" in result.output


def test_a_run_stays_with_the_account_its_key_first_traded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The account is only known from the key: another key (a typo, another profile's) must not take the run's
    journal and equity peak to another account (its empty book read as a 100% drawdown and tripped the breaker),
    in `rebalance` or `run`; nor may another run trade the account."""
    first, second = eth_account.Account.create(), eth_account.Account.create()
    monkeypatch.setenv("COLUMNS", "200")
    with LocalExchange(accounts={first.address: 50_000, second.address: 50_000}) as ex:
        cfg = config(tmp_path, ex.url)
        monkeypatch.setenv("DEFIPM_HL_TESTNET_SECRET_KEY", first.key.hex())
        assert runner.invoke(app, ["rebalance", "-c", str(cfg)]).exit_code == 0
        monkeypatch.setenv("DEFIPM_HL_TESTNET_SECRET_KEY", second.key.hex())
        for args in (["rebalance"], ["run", "--every", "1s", "--max-cycles", "1"]):
            result = runner.invoke(app, [*args, "-c", str(cfg)])
            assert result.exit_code == 1 and "Traceback" not in result.output, result.output
            assert first.address.lower() in result.output and second.address.lower() in result.output
            assert "run = ..." in result.output
            assert ex.engine.account_or_empty(second.address).fills == []  # nothing traded on the other account
        other = Path(str(cfg).replace("defipm.toml", "other.toml"))
        other.write_text(cfg.read_text().replace('run = "hl"', 'run = "other"'))
        monkeypatch.setenv("DEFIPM_HL_TESTNET_SECRET_KEY", first.key.hex())
        result = runner.invoke(app, ["rebalance", "-c", str(other)])
        assert result.exit_code == 1 and "is traded by run 'hl', not 'other'" in result.output
        assert runner.invoke(app, ["kill-switch", "show", "-c", str(cfg)]).stdout.startswith("kill switch: off")
