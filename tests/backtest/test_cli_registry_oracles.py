"""`defipm backtest` builds any registered oracle the way a config would (params validated by the oracle),
and hands price-reading oracles the point-in-time view."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from defipm.cli import app
from defipm.data import synthetic_panel, write_synthetic_csv

pytest.importorskip("pandas")
runner = CliRunner()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    panel = synthetic_panel(8, 120, seed=4, symbols=["BTC", "ETH", "SOL", "ADA", "XRP", "DOGE", "LINK", "LTC"])
    write_synthetic_csv(tmp_path / "prices", panel)
    return tmp_path / "prices"


def run(args: list[str]):
    return runner.invoke(
        app, ["backtest", "--bar-label", "close", "--benchmark", "none", *args], env={"COLUMNS": "150"}
    )


def test_tbn_from_a_local_meta_model_file(tmp_path: Path, data: Path):
    from defipm.testing.numerai import synthetic_meta_model

    meta = tmp_path / "meta.csv"
    synthetic_meta_model(["BTC", "ETH", "SOL", "ADA", "XRP", "DOGE", "LINK", "LTC"], date(2019, 12, 1), 200).to_csv(
        meta, index=False
    )
    out = tmp_path / "out"
    result = run(["--data", str(data), "--oracle", "tbn", "-p", "n=2", "-p", f'file="{meta}"', "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["oracle"] == "tbn"
    assert summary["metrics"]["gross_exposure"] == pytest.approx(1.0, abs=0.02)
    assert abs(summary["metrics"]["net_exposure"]) < 0.02


def test_momentum_gets_the_market_view_and_bad_params_are_named(tmp_path: Path, data: Path):
    ok = run(["--data", str(data), "--oracle", "momentum", "-p", "lookback=10", "-p", "n_long=2", "-p", "n_short=2",
              "--out", str(tmp_path / "m")])  # fmt: skip
    assert ok.exit_code == 0, ok.output
    bad = run(["--data", str(data), "--oracle", "tbn", "-p", "n=2", "-p", "fiel=1", "--out", str(tmp_path / "b")])
    assert bad.exit_code == 1 and "fiel" in bad.output


def test_backtest_replays_a_trading_config(tmp_path: Path, data: Path):
    cfg = tmp_path / "defipm.toml"
    cfg.write_text(
        """
[oracle]
kind = "static"
[oracle.params]
weights = { BTC = 0.9, ETH = -0.1 }
[risk]
max_weight = 0.5
[planner]
no_trade_band = 0.01
"""
    )
    out = tmp_path / "cfg"
    result = run(["--data", str(data), "-c", str(cfg), "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["oracle"] == "static"
    # the config's risk limit clipped BTC from 0.9 to 0.5 every cycle
    assert summary["metrics"]["gross_exposure"] == pytest.approx(0.6, abs=0.05)


def test_backtest_replays_a_trading_configs_paper_venue(tmp_path: Path, data: Path):
    """The config's [venue.params] used to be dropped without a word: a spot config replayed as perp (its shorts
    traded), its fee and cash replaced by the defaults. Now they are replayed, the command line overrides them,
    and a paper param the backtest cannot replay is refused by name."""
    cfg = tmp_path / "defipm.toml"
    body = """
[oracle]
kind = "static"
[oracle.params]
weights = {{ BTC = 0.5, ETH = {eth} }}
[venue]
kind = "paper"
[venue.params]
mode = "spot"
taker_fee = 0.01
initial_cash = 500
{extra}
"""
    cfg.write_text(body.format(eth="-0.2", extra=""))
    short = run(["--data", str(data), "-c", str(cfg), "--out", str(tmp_path / "short")])
    assert short.exit_code == 1 and "ETH: negative weight -0.2 in a long-only portfolio" in short.output
    cfg.write_text(body.format(eth="0.2", extra=""))
    out = tmp_path / "spot"
    assert run(["--data", str(data), "-c", str(cfg), "--out", str(out)]).exit_code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["mode"], summary["initial_cash"], summary["costs"]["taker_fee"]) == ("spot", 500.0, 0.01)
    out = tmp_path / "override"
    assert run(["--data", str(data), "-c", str(cfg), "--fee", "0.001", "--out", str(out)]).exit_code == 0
    assert json.loads((out / "summary.json").read_text())["costs"]["taker_fee"] == 0.001
    cfg.write_text(body.format(eth="0.2", extra="maintenance_margin = 0.1\n[venue.params.slippage]\nnoise_bps = 2"))
    refused = run(["--data", str(data), "-c", str(cfg), "--out", str(tmp_path / "refused")])
    assert refused.exit_code == 1
    assert "venue.params maintenance_margin, slippage.noise_bps: a backtest does not replay them" in refused.output
    cfg.write_text(body.format(eth="0.2", extra="max_leverage = 2000"))  # out of the one bound: named as given
    refused = run(["--data", str(data), "-c", str(cfg), "--out", str(tmp_path / "refused")])
    assert refused.exit_code == 1 and "venue.params.max_leverage: at most 1000" in refused.output


def test_a_trading_config_on_a_spot_venue_is_replayed_in_spot_mode(tmp_path: Path, data: Path):
    pytest.importorskip("web3")
    zero = "0x" + "00" * 19 + "01"
    cfg = tmp_path / "defipm.toml"
    cfg.write_text(
        f"""
[oracle]
kind = "static"
[oracle.params]
weights = {{ BTC = 0.5, ETH = -0.2 }}
[venue]
kind = "uniswap"
[venue.params]
rpc_url = "http://127.0.0.1:8545"
tokens = {{ WETH = "{zero}", BTC = "{zero}", ETH = "{zero}" }}
factory = "{zero}"
swap_router = "{zero}"
"""
    )
    refused = run(["--data", str(data), "-c", str(cfg), "--out", str(tmp_path / "u")])
    assert refused.exit_code == 1 and "ETH: negative weight -0.2 in a long-only portfolio" in refused.output
    assert run(["--data", str(data), "-c", str(cfg), "--mode", "perp", "--out", str(tmp_path / "p")]).exit_code == 0


def test_the_configs_oracle_params_are_kept_under_its_own_kind_and_a_replacement_is_named(tmp_path: Path, data: Path):
    """``--oracle static`` with a config whose oracle is static dropped the config's weights (the run failed on a
    missing param); another kind replaced them without a word, and a set [market] was ignored silently."""
    cfg = tmp_path / "defipm.toml"
    cfg.write_text('[oracle]\nkind = "static"\n[oracle.params]\nweights = { BTC = 0.3 }\n[market]\nn_assets = 3\n')
    out = tmp_path / "same"
    same = run(["--data", str(data), "-c", str(cfg), "--oracle", "static", "--out", str(out)])
    assert same.exit_code == 0, same.output
    assert json.loads((out / "summary.json").read_text())["metrics"]["gross_exposure"] == pytest.approx(0.3, abs=0.02)
    assert "[market] (source = 'synthetic') is not used" in same.output
    other = run(["--data", str(data), "-c", str(cfg), "--oracle", "equal_weight", "--out", str(tmp_path / "o")])
    assert other.exit_code == 0, other.output
    assert "--oracle equal_weight replaces the config's oracle 'static'; its params (weights) are not used" in (
        " ".join(other.output.split())
    )


def test_a_parameter_of_the_wrong_kind_is_named() -> None:
    from defipm.core.errors import ConfigError
    from defipm.data.synthetic import synthetic_panel
    from defipm.data.view import MarketView
    from defipm.registry import BuildContext, build_oracle

    context = BuildContext(market=MarketView(synthetic_panel(3, 40), 10))
    for params, message in (
        ({"lookback": "abc"}, "oracle.params.lookback: expected a whole number, got 'abc'"),
        ({"lookback": True}, "oracle.params.lookback: expected a whole number, got True"),
        ({"gross": "1x"}, "oracle.params.gross: expected a number, got '1x'"),
    ):
        with pytest.raises(ConfigError) as failed:
            build_oracle("momentum", params, context)
        assert str(failed.value) == message
    assert build_oracle("momentum", {"lookback": 10, "gross": 1}, context).name == "momentum"
