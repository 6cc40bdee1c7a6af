"""No secret in anything defipm writes. Secrets are planted where defipm reads them (a Hyperliquid key and a wallet key
in the environment, an RPC URL with an API key in its path and its query, a database password in the store's URL),
the main commands run on the paper venue, the local Hyperliquid exchange and Uniswap on anvil (reachable and not),
and then stdout, stderr, log records, every row of the store, every file written and the reprs of the config and
venue objects are searched for them."""

from __future__ import annotations

import http.client
import json
import logging
import os
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import MetaData, create_engine, select
from typer.testing import CliRunner

from defipm.cli import app

eth_account = pytest.importorskip("eth_account")
tomli_w = pytest.importorskip("tomli_w")
pytest.importorskip("hyperliquid")

PATH_KEY = "pathkey" + secrets.token_hex(12)
QUERY_KEY = "querykey" + secrets.token_hex(12)
DB_PASSWORD = "dbpass" + secrets.token_hex(12)
HL_WALLET = eth_account.Account.create()
CHAIN_WALLET = eth_account.Account.create()
SECRETS = {
    "RPC path key": PATH_KEY,
    "RPC query key": QUERY_KEY,
    "database password": DB_PASSWORD,
    "Hyperliquid key": HL_WALLET.key.hex().removeprefix("0x"),
    "wallet key": CHAIN_WALLET.key.hex().removeprefix("0x"),
}


class Written:
    """Everything the product wrote, by where it went."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []

    def add(self, where: str, text: str) -> None:
        self.texts.append((where, text))

    def cli(self, args: list[str], *, ok: bool | None = True) -> Any:
        result = CliRunner().invoke(app, args, env={"COLUMNS": "300"})
        where = "defipm " + " ".join(args[:2])
        self.add(f"{where}: stdout", result.stdout)
        self.add(f"{where}: stderr", result.stderr)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            self.add(f"{where}: exception", repr(result.exception))
        if ok is not None:
            assert (result.exit_code == 0) is ok, result.output
        return result

    def store_rows(self, url: str) -> None:
        engine = create_engine(url)
        meta = MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            for table in meta.sorted_tables:
                rows = conn.execute(select(table)).all()
                self.add(f"store {table.name}", "\n".join(str(tuple(r)) for r in rows))
        engine.dispose()

    def files(self, folder: Path, planted: set[Path]) -> None:
        for path in folder.rglob("*"):
            if path.is_file() and path not in planted:
                self.add(f"file {path.name}", path.read_bytes().decode("utf-8", "replace"))

    def assert_clean(self) -> None:
        leaks = [
            f"{name} in {where}"
            for where, text in self.texts
            for name, secret in SECRETS.items()
            if secret.lower() in text.lower()
        ]
        assert leaks == []


class HostedNode:
    """A stand-in for a hosted JSON-RPC endpoint: answers only at /v2/<key>?apikey=<key>, forwarding to anvil."""

    def __init__(self, upstream: str) -> None:
        expected = f"/v2/{PATH_KEY}?apikey={QUERY_KEY}"
        target = urlsplit(upstream)
        local = threading.local()

        def forward(body: bytes) -> bytes:
            if getattr(local, "conn", None) is None:
                local.conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
            local.conn.request("POST", "/", body, {"Content-Type": "application/json"})
            return local.conn.getresponse().read()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as hosted nodes do
            disable_nagle_algorithm = True  # headers and body go out as two writes

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                data = forward(body) if self.path == expected else b""
                self.send_response(200 if self.path == expected else 401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{expected}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _database(postgres_url: str, name: str) -> str:
    """A fresh database on the throwaway server, reached through a URL carrying the (planted) password."""
    from sqlalchemy import text

    base = postgres_url.rsplit("/", 1)[0]
    admin = create_engine(base + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    user_host = base.split("://", 1)[1]
    user, host = user_host.split("@", 1)
    return f"postgresql+psycopg://{user}:{DB_PASSWORD}@{host}/{name}"


def _config(path: Path, database: str, oracle: dict[str, Any], venue: dict[str, Any], **extra: Any) -> Path:
    path.write_text(tomli_w.dumps({"run": "secrets", "database": database, "oracle": oracle, "venue": venue, **extra}))
    return path


def _reprs(written: Written, config: Path) -> None:
    from defipm.assembly import build_portfolio
    from defipm.config import load_settings

    settings = load_settings(config)
    written.add("repr settings", repr(settings) + str(settings))
    with build_portfolio(settings, allow_mainnet=False) as portfolio:
        venue = portfolio.venue
        shown = [repr(portfolio), repr(venue), str(venue), repr(getattr(venue, "config", None))]
        shown += [repr(getattr(venue, "client", None)), repr(portfolio.store), repr(portfolio.lock)]
        written.add(f"reprs {settings.venue.kind}", "\n".join(shown))


@pytest.fixture
def written(caplog: pytest.LogCaptureFixture) -> Iterator[Written]:
    caplog.set_level(logging.DEBUG)
    w = Written()
    yield w
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    w.add("log records", "\n".join(formatter.format(r) for r in caplog.get_records("call")))
    w.assert_clean()


@pytest.mark.slow
def test_paper_commands_and_reports(written: Written, postgres_url: str, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db = _database(postgres_url, "secrets_paper")
    cfg = _config(
        tmp_path / "paper.toml",
        db,
        {"kind": "static", "params": {"weights": {"SYN000": 0.4, "SYN001": -0.2}}},
        {"kind": "paper", "params": {"initial_cash": 10_000}},
        market={"n_assets": 3, "seed": 2},
    )
    c = str(cfg)
    written.cli(["rebalance", "-c", c])
    written.cli(["run", "-c", c, "--every", "1s", "--max-cycles", "1"])
    written.cli(["trade", "buy", "SYN002", "1", "-c", c])
    written.cli(["deposit", "100", "-c", c])
    written.cli(["kill-switch", "on", "-c", c])
    written.cli(["rebalance", "-c", c], ok=False)  # halted: the error names the reason, not the database
    written.cli(["kill-switch", "off", "-c", c])
    written.cli(["status", "-c", c])
    bars = tmp_path / "bars"
    from defipm.data.synthetic import synthetic_panel, write_synthetic_csv

    write_synthetic_csv(bars, synthetic_panel(3, 60, seed=4))
    written.cli(["backtest", "--data", str(bars), "--config", c, "--oracle", "equal_weight", "--benchmark", "none",
                 "--bar-label", "close", "--out", str(tmp_path / "r")])  # fmt: skip
    down = _config(tmp_path / "down.toml", db.rsplit("@", 1)[0] + "@127.0.0.1:1/x", {"kind": "equal_weight"},
                   {"kind": "paper"})  # fmt: skip
    written.cli(["status", "-c", str(down)], ok=False)  # the database is unreachable
    written.cli(["kill-switch", "show", "-c", str(down)], ok=False)
    _reprs(written, cfg)
    written.store_rows(db.replace(DB_PASSWORD, "x"))
    written.files(tmp_path, {cfg, down})


@pytest.mark.slow
def test_hyperliquid_commands(written: Written, postgres_url: str, tmp_path: Path, monkeypatch):
    from defipm.venues.hyperliquid.sim import LocalExchange

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DEFIPM_HL_TESTNET_SECRET_KEY", HL_WALLET.key.hex())
    monkeypatch.setenv("DEFIPM_HL_TESTNET_ACCOUNT_ADDRESS", HL_WALLET.address)
    db = _database(postgres_url, "secrets_hl")
    with LocalExchange(accounts={HL_WALLET.address: 50_000}) as ex:
        cfg = _config(
            tmp_path / "hl.toml",
            db,
            {"kind": "static", "params": {"weights": {"BTC": 0.3, "ETH": -0.2}}},
            {"kind": "hyperliquid", "params": {"base_url": ex.url, "default_leverage": 3}},
        )
        c = str(cfg)
        written.cli(["rebalance", "-c", c])
        written.cli(["trade", "sell", "BTC", "0.001", "-c", c])
        written.cli(["trade", "buy", "BTC", "1000", "-c", c], ok=False)  # refused: not enough margin
        written.cli(["status", "-c", c])
        _reprs(written, cfg)
    written.cli(["rebalance", "-c", c], ok=False)  # the exchange is gone
    written.store_rows(db.replace(DB_PASSWORD, "x"))
    written.files(tmp_path, {cfg})


@pytest.mark.slow
@pytest.mark.chain
def test_uniswap_and_arbitrage_commands(written: Written, postgres_url: str, tmp_path: Path, monkeypatch):
    from defipm.chain.local import local_chain_missing, shared_local_uniswap
    from defipm.chain.wallet import Wallet

    if local_chain_missing() and not os.environ.get("DEFIPM_REQUIRE_CHAIN"):
        pytest.skip(str(local_chain_missing()))
    world = shared_local_uniswap()
    snapshot = world.snapshot()
    node = HostedNode(world.url)
    try:
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("DEFIPM_PRIVATE_KEY", CHAIN_WALLET.key.hex())
        world.node.rpc("anvil_setBalance", CHAIN_WALLET.address, hex(100 * 10**18))
        world.fund(Wallet(CHAIN_WALLET.key.hex()), weth=10 * 10**18)
        dep = world.deployment
        db = _database(postgres_url, "secrets_uni")
        venue = {
            "rpc_url": node.url,
            "chain_id": dep.chain_id,
            "base_token": dep.weth.symbol,
            "tokens": {dep.weth.symbol: dep.weth.address} | {s: t.address for s, t in dep.tokens.items()},
            "factory": dep.v3_factory,
            "swap_router": dep.swap_router,
            "tick_word_radius": 2,
        }
        oracle = {"kind": "static", "params": {"weights": {"USDC": 0.3, "WBTC": 0.2}}}
        cfg = _config(tmp_path / "uni.toml", db, oracle, {"kind": "uniswap", "params": venue})
        written.cli(["rebalance", "-c", str(cfg)])
        written.cli(["status", "-c", str(cfg)])
        _reprs(written, cfg)
        unreachable = f"http://127.0.0.1:1/v2/{PATH_KEY}?apikey={QUERY_KEY}"
        down = _config(
            tmp_path / "down.toml", db, oracle, {"kind": "uniswap", "params": venue | {"rpc_url": unreachable}}
        )
        written.cli(["rebalance", "-c", str(down)], ok=False)
        from defipm.core.errors import DefipmError
        from defipm.venues.uniswap import UniswapConfig, UniswapVenue

        with pytest.raises(DefipmError) as refused:  # the venue itself, without the command line around it
            UniswapVenue(UniswapConfig.model_validate(venue | {"rpc_url": unreachable})).connect()
        written.add("UniswapVenue.connect error", f"{refused.value} {refused.value!r}")

        pools = tmp_path / "pools.json"
        pools.write_text(json.dumps([{"address": a, "kind": "v2", "fee_bps": 30} for a in dep.v2_pairs.values()]))
        arb = ["arb", "run", "--pools", str(pools), "--native", dep.weth.address, "--engine", "capital",
               "--v2-router", dep.v2_router, "--v3-router", dep.swap_router, "--db", db, "--max-iterations", "2",
               "--poll-interval", "0.1"]  # fmt: skip
        written.cli([*arb, "--rpc", node.url])
        written.cli([*arb, "--rpc", unreachable], ok=False)
        written.store_rows(db.replace(DB_PASSWORD, "x"))
        written.files(tmp_path, {cfg, down})
    finally:
        node.close()
        world.revert(snapshot)
