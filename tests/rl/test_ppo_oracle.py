"""``PPOOracle`` observes only bars closed by t (the same observation as the environment's, on the full data and on
the data cut at t), runs through the registry and the manager, and refuses what does not fit, naming it."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from defipm.component import BuildContext
from defipm.core.errors import ConfigError, DataError, LookAheadError
from defipm.data import synthetic_panel
from defipm.data.panel import PricePanel
from defipm.data.view import MarketView, ReplayClock
from defipm.manager import PortfolioManager
from defipm.oracles.market_source import MarketSource
from defipm.oracles.ppo import PPOOracle
from defipm.registry import build_oracle
from defipm.rl.evaluation import evaluation_env
from defipm.rl.model import ModelMismatchError
from defipm.rl.observation import observation
from defipm.venues.paper import PaperVenue

from .conftest import SYMBOLS


def test_the_observation_at_t_uses_bars_up_to_t_only_and_is_the_environments(trained: Any, panel: PricePanel) -> None:
    _, model, market, split = trained
    env = evaluation_env(market, split.test, model.card)
    obs, _ = env.reset(options={"start": split.test.start})
    for t in (split.test.start, split.test.start + 10, len(panel) - 1):
        full = PPOOracle(model, MarketSource(MarketView(panel, t)))
        cut = PPOOracle(model, MarketSource(MarketView(panel.slice(0, t + 1), t)))
        at = panel.datetime_at(t)
        features, prices = full.features(full.source.view_at(at)[0], at)
        cut_features, cut_prices = cut.features(cut.source.view_at(at)[0], at)
        assert np.array_equal(features, cut_features) and np.array_equal(prices, cut_prices)
        assert np.array_equal(full.fetch_portfolio_weights(at, SYMBOLS), cut.fetch_portfolio_weights(at, SYMBOLS))
        if t == split.test.start:  # all in cash, as the environment's episode starts
            assert np.array_equal(observation(features, np.zeros(4), 1.0), obs)


def test_asking_past_the_clock_is_a_look_ahead(trained: Any, panel: PricePanel) -> None:
    _, model, _, split = trained
    oracle = PPOOracle(model, MarketSource(MarketView(panel, split.test.start)))
    with pytest.raises(LookAheadError):
        oracle.fetch_portfolio_weights(panel.datetime_at(split.test.start + 1), SYMBOLS)


def test_the_manager_shows_the_oracle_the_account_and_the_policy_reacts_to_it(trained: Any, panel: PricePanel) -> None:
    _, model, _, split = trained
    clock = ReplayClock(panel, split.test.start)
    oracle = PPOOracle(model, MarketSource(clock.view()))
    venue = PaperVenue(initial_cash=Decimal(1_000_000), mode="spot", taker_fee=Decimal("0.003"))
    manager = PortfolioManager(oracle, venue)
    for t in (split.test.start, split.test.start + 2):
        clock.advance(t)
        at = panel.datetime_at(t)
        venue.update_market(at, dict(zip(SYMBOLS, panel.close[t].tolist(), strict=True)))
        shown = PPOOracle(model, MarketSource(MarketView(panel, t)))
        shown.observe_account(venue.snapshot())
        expected = shown.fetch_portfolio_weights(at, SYMBOLS)
        report = manager.manage_portfolio(at)
        assert report.error is None and report.target == expected
    unseen = PPOOracle(model, MarketSource(MarketView(panel, t)))  # assumes cash: another book, another answer
    assert unseen.fetch_portfolio_weights(at, SYMBOLS) != expected


def test_a_model_whose_symbols_the_venue_does_not_list_is_refused_naming_them(trained: Any, panel: PricePanel) -> None:
    _, model, _, split = trained
    oracle = PPOOracle(model, MarketSource(MarketView(panel, split.test.start)))
    with pytest.raises(ModelMismatchError, match=r"not in the venue's universe: SOL, XRP"):
        oracle.fetch_portfolio_weights(panel.datetime_at(split.test.start), ["BTC", "ETH", "DOGE"])


def test_the_registry_builds_it_and_refuses_data_without_the_models_symbols(trained: Any, panel: PricePanel) -> None:
    root = trained[0]
    view = MarketView(panel, 100)
    oracle = build_oracle("ppo", {"model": "tiny", "registry": str(root)}, BuildContext(market=view))
    assert isinstance(oracle, PPOOracle) and oracle.model.card.ref == "tiny@1"
    other = synthetic_panel(3, 50, seed=1, symbols=["BTC", "ETH", "DOGE"])
    with pytest.raises(ConfigError, match=r"not in the data \(.*\): SOL, XRP"):
        build_oracle("ppo", {"model": "tiny", "registry": str(root)}, BuildContext(market=MarketView(other, 10)))
    with pytest.raises(ConfigError, match=r"oracle.params.data: this oracle reads price history"):
        build_oracle("ppo", {"model": "tiny", "registry": str(root)}, BuildContext())
    with pytest.raises(ConfigError, match=r"oracle.params.modle: unknown key"):
        build_oracle("ppo", {"modle": "tiny"}, BuildContext(market=view))


def test_model_symbols_left_out_by_the_symbols_option_are_named_as_such(
    trained: Any, panel: PricePanel, tmp_path: Path
) -> None:
    """SOL and XRP are in the folder; only --symbols BTC,ETH left them out: the error says that and both fixes,
    never that they are not in the data."""
    from defipm.data import write_synthetic_csv
    from defipm.data.cache import load_prices

    write_synthetic_csv(tmp_path / "prices", panel)
    chosen = load_prices(tmp_path / "prices", ["BTC", "ETH"], bar_label="close", cache=False)
    with pytest.raises(ConfigError) as err:
        build_oracle(
            "ppo", {"model": "tiny", "registry": str(trained[0])}, BuildContext(market=MarketView(chosen, 100))
        )
    assert (
        "SOL, XRP: in the data but left out by --symbols (add them to --symbols, or train a model on these symbols)"
        in str(err.value)
    )
    assert "not in the data" not in str(err.value)


def test_a_missing_close_or_too_little_history_before_t_is_named(trained: Any, panel: PricePanel) -> None:
    _, model, _, _ = trained
    early = PPOOracle(model, MarketSource(MarketView(panel, 5)))
    with pytest.raises(DataError, match=r"tiny@1 needs 9 bars up to 2020-01-0.*the data has 6"):
        early.fetch_portfolio_weights(panel.datetime_at(5), SYMBOLS)
    close = panel.close.copy()
    close[:30, 1] = np.nan  # ETH lists at bar 30
    late = PricePanel.from_arrays(panel.timestamps, SYMBOLS, close, volume=panel.volume)
    oracle = PPOOracle(model, MarketSource(MarketView(late, 33)))
    with pytest.raises(DataError, match=r"ETH: no usable close at .* inside the observation window of 8 bars"):
        oracle.fetch_portfolio_weights(late.datetime_at(33), SYMBOLS)


def test_live_it_reads_a_folder_of_ohlcv_files_at_each_cycle(trained: Any, panel: PricePanel, tmp_path: Path) -> None:
    from defipm.data import write_synthetic_csv

    _, model, _, _ = trained
    write_synthetic_csv(tmp_path / "prices", panel)
    live = PPOOracle(model, MarketSource(None, tmp_path / "prices", "close", SYMBOLS))
    backtest = PPOOracle(model, MarketSource(MarketView(panel, 150)))
    at = panel.datetime_at(150)
    assert live.fetch_portfolio_weights(at, SYMBOLS) == pytest.approx(backtest.fetch_portfolio_weights(at, SYMBOLS))


def test_without_the_rl_extra_the_oracle_and_the_cli_say_so_in_one_line(trained: Any, tmp_path: Path) -> None:
    hide = "import sys; sys.modules['torch'] = None; sys.modules['stable_baselines3'] = None; "
    env = {**os.environ, "COLUMNS": "300"}

    def run(code: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", hide + code, *args], capture_output=True, text=True, cwd=tmp_path, env=env
        )

    oracle = run(
        "from defipm.registry import build_oracle\n"
        "try:\n    build_oracle('ppo', {'model': 'tiny', 'registry': sys.argv[1]})\n"
        "except Exception as exc:\n    print(type(exc).__name__, exc)",
        str(trained[0]),
    )
    line = "needs the rl extra, and torch, stable_baselines3 cannot be imported: install it with scripts/bootstrap rl"
    assert oracle.stdout.strip() == f"ConfigError oracle ppo {line}"
    listing = run(
        f"sys.argv = ['defipm', 'rl', 'models', '--registry', {str(trained[0])!r}]; from defipm.cli import main; main()"
    )
    assert listing.returncode == 0 and "tiny" in listing.stdout  # listing needs no torch
    training = run(
        "sys.argv = ['defipm', 'rl', 'train', '--data', '.', '--name', 'x']; from defipm.cli import main; main()"
    )
    assert training.returncode == 1
    assert training.stderr.strip().splitlines() == [f"error: defipm rl train {line}"]
