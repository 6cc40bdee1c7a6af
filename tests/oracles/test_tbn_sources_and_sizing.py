"""TB-N on any signal (Numerai, CrowdCent's meta-model through its client, a mapped local file) and its sizing
(schemes of ``defipm.allocation``, long and short counts, a target net, a signal lag), with the bad input of each."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pd = pytest.importorskip("pandas")
pytest.importorskip("crowdcent_challenge")

from defipm.core.errors import ConfigError, DataError  # noqa: E402
from defipm.data.crowdcent import CrowdCentSource  # noqa: E402
from defipm.data.numerai import MetaModelHistory  # noqa: E402
from defipm.data.panel import PricePanel  # noqa: E402
from defipm.data.signals import ColumnMap, read_signal_file  # noqa: E402
from defipm.data.view import MarketView  # noqa: E402
from defipm.oracles.tbn import TBNConfig, TBNOracle, market_returns  # noqa: E402
from defipm.registry import build_oracle  # noqa: E402
from defipm.testing.crowdcent import FakeCrowdCentServer, synthetic_crowdcent_meta_model  # noqa: E402

COINS = ["BTC", "ETH", "SOL", "AVAX", "LINK", "DOGE", "ARB", "OP"]
T = datetime(2024, 1, 10)


def _parquet(frame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf)
    return buf.getvalue()


@pytest.fixture
def crowdcent(monkeypatch):
    frame = synthetic_crowdcent_meta_model(COINS, date(2024, 1, 1), 12, seed=4)
    with FakeCrowdCentServer({"hyperliquid-ranking": _parquet(frame)}) as server:
        monkeypatch.setenv("CROWDCENT_API_KEY", server.api_key)
        monkeypatch.setenv("CROWDCENT_API_URL", server.url)
        yield server, frame


def _picks(frame, column: str, when: datetime, n: int = 2) -> tuple[set[str], set[str]]:
    day = frame[frame["release_date"] == f"{when - timedelta(days=1):%Y-%m-%d}"].sort_values([column, "id"])
    return set(day["id"].tail(n)), set(day["id"].head(n))


@pytest.mark.parametrize("prediction", ["pred_10d", "pred_30d"])
def test_crowdcent_meta_model_through_its_client(crowdcent, tmp_path, prediction):
    server, frame = crowdcent
    config = TBNConfig(n=2, source="crowdcent", columns={"date": "release_date", "asset": "id",
                       "prediction": prediction}, cache_dir=tmp_path, symbol_map="none")  # fmt: skip
    oracle = TBNOracle.from_config(config)
    weights = oracle.fetch_portfolio_weights(T, COINS)
    longs, shorts = _picks(frame, prediction, T)
    assert set(weights.longs()) == longs and set(weights.shorts()) == shorts
    oracle.fetch_portfolio_weights(T + timedelta(days=1), COINS)
    assert server.downloads == ["hyperliquid-ranking"]  # the cached file is reused while fresh


def test_crowdcent_prediction_column_defaults_to_pred_10d(crowdcent, tmp_path):
    _, frame = crowdcent
    oracle = build_oracle("tbn", {"n": 2, "source": "crowdcent", "cache_dir": str(tmp_path), "symbol_map": "none"})
    longs, _ = _picks(frame, "pred_10d", T)
    assert set(oracle.fetch_portfolio_weights(T, COINS).longs()) == longs


def test_crowdcent_bad_key_missing_key_and_unknown_challenge_are_clear_errors(crowdcent, tmp_path, monkeypatch):
    server, _ = crowdcent
    with pytest.raises(DataError, match="refused the API key in CROWDCENT_API_KEY"):
        CrowdCentSource(tmp_path / "a", api_key="wrong").load()
    with pytest.raises(DataError, match="no meta-model for challenge 'nope'"):
        CrowdCentSource(tmp_path / "b", challenge="nope").load()
    monkeypatch.delenv("CROWDCENT_API_KEY")
    with pytest.raises(DataError, match="no API key: set CROWDCENT_API_KEY"):
        CrowdCentSource(tmp_path / "c").load()
    server.state.fail_with = 503
    with pytest.raises(DataError, match="downloading the hyperliquid-ranking meta-model failed"):
        CrowdCentSource(tmp_path / "d", api_key=server.api_key).load()
    assert not list((tmp_path / "d").rglob("*.parquet"))  # nothing half-written is kept


def test_a_crowdcent_file_missing_its_prediction_column_is_refused_and_the_cache_kept(crowdcent, tmp_path):
    server, frame = crowdcent
    source = CrowdCentSource(tmp_path, max_age=timedelta(0))
    good = source.fetch()
    server.files["hyperliquid-ranking"] = _parquet(frame.drop(columns=["pred_10d"]))
    with pytest.raises(DataError, match=r"no column 'pred_10d' \(the prediction column, columns.prediction"):
        source.fetch(now=datetime(2030, 1, 1))
    assert good.path.exists() and read_signal_file(good.path, source.columns)


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_any_local_file_with_a_column_mapping(tmp_path, suffix):
    frame = pd.DataFrame(
        [(f"2024-01-0{d}", c, float(i) - 3.5 + d) for d in (1, 2) for i, c in enumerate(COINS)],
        columns=["day", "coin", "expected_return"],
    )  # predictions outside [0, 1]: any finite number ranks
    path = tmp_path / f"preds.{suffix}"
    frame.to_csv(path, index=False) if suffix == "csv" else frame.to_parquet(path)
    params = {"n": 2, "file": str(path), "symbol_map": "none",
              "columns": {"date": "day", "asset": "coin", "prediction": "expected_return"}}  # fmt: skip
    oracle = build_oracle("tbn", params)
    weights = oracle.fetch_portfolio_weights(datetime(2024, 1, 3), COINS)
    assert set(weights.longs()) == {"ARB", "OP"} and set(weights.shorts()) == {"BTC", "ETH"}
    missing = {**params, "columns": {"date": "day", "asset": "ticker", "prediction": "expected_return"}}
    with pytest.raises(DataError, match=rf"preds.{suffix}: no column 'ticker' \(the asset column, columns.asset.*day, "
                       r"coin, expected_return"):  # fmt: skip
        build_oracle("tbn", missing)


def test_source_options_that_contradict_are_config_errors(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("date,symbol,meta_model\n2024-01-01,BTC,0.5\n")
    with pytest.raises(ConfigError, match='source "file" needs file'):
        build_oracle("tbn", {"n": 1, "source": "file"})
    with pytest.raises(ConfigError, match="file is set beside source 'crowdcent'"):
        build_oracle("tbn", {"n": 1, "source": "crowdcent", "file": str(path)})
    with pytest.raises(ConfigError, match=r"net 1.5 is outside \[-gross, gross\]"):
        build_oracle("tbn", {"n": 1, "file": str(path), "net": 1.5})
    with pytest.raises(ConfigError, match=r"long-only \(n_short = 0\) book has net = gross"):
        build_oracle("tbn", {"n": 1, "file": str(path), "n_short": 0})
    with pytest.raises(ConfigError, match=r"weighting 'hrp' needs price history.*risk_prices"):
        build_oracle("tbn", {"n": 1, "file": str(path), "weighting": "hrp"})
    with pytest.raises(ConfigError, match="Numerai's meta-model has its own"):
        TBNOracle.from_config(TBNConfig(n=1, columns={"prediction": "x"}))


# --------------------------------------------------------------------------------------------- sizing


def _history(scores: dict[str, float], day: str = "2024-01-09") -> MetaModelHistory:
    rows = [(day, s, v) for s, v in scores.items()]
    return MetaModelHistory.from_frame(pd.DataFrame(rows, columns=["date", "symbol", "meta_model"]))


SCORES = {c: (i + 1) / 10 for i, c in enumerate(COINS)}  # OP strongest, BTC weakest


def test_separate_long_and_short_counts_at_a_target_net():
    oracle = TBNOracle(2, history=_history(SCORES), n_long=3, n_short=1, net=0.2)
    w = oracle.fetch_portfolio_weights(T, COINS)
    assert set(w.longs()) == {"OP", "ARB", "DOGE"} and set(w.shorts()) == {"BTC"}
    assert w.gross == pytest.approx(1.0) and w.net == pytest.approx(0.2)
    assert w["OP"] == pytest.approx(0.2) and w["BTC"] == pytest.approx(-0.4)
    assert oracle.validate_weights(w)


def test_fewer_names_than_the_counts_shrink_both_sides_and_say_so():
    oracle = TBNOracle(2, history=_history(SCORES), n_long=6, n_short=3)
    w = oracle.fetch_portfolio_weights(T, COINS[:6])
    assert (len(w.longs()), len(w.shorts())) == (4, 2)  # 6 names for 6 + 3: two thirds each
    assert oracle.pop_notes() == [
        "TB-N: only 6 symbol(s) in both the meta-model and the universe; longs/shorts shrunk from 6/3 to 4/2"
    ]


def test_a_long_only_book_from_the_top_names():
    oracle = TBNOracle(1, history=_history(SCORES), n_long=2, n_short=0, net=1.0)
    assert oracle.fetch_portfolio_weights(T, COINS) == {"OP": 0.5, "ARB": 0.5}


@pytest.mark.parametrize("power", [0.0, 1.0, 2.0])
def test_rank_weighting_leans_on_the_strongest_names(power):
    oracle = TBNOracle(3, history=_history(SCORES), weighting="rank", rank_power=power)
    w = oracle.fetch_portfolio_weights(T, COINS)
    ranks = np.array([1.0, 2.0, 3.0]) ** power
    expected = ranks / ranks.sum() * 0.5
    assert [w["DOGE"], w["ARB"], w["OP"]] == pytest.approx(list(expected))  # weakest to strongest long
    assert [-w["SOL"], -w["ETH"], -w["BTC"]] == pytest.approx(list(expected))  # BTC is the strongest short
    assert w.gross == pytest.approx(1.0) and abs(w.net) < 1e-12


def _panel(returns: dict[str, np.ndarray]) -> PricePanel:
    """Daily closes following ``returns`` (one array per symbol), from 100."""
    days = len(next(iter(returns.values()))) + 1
    times = np.arange(days) * np.timedelta64(1, "D") + np.datetime64("2023-10-02")
    closes = np.column_stack([100 * np.cumprod(np.concatenate(([1.0], 1 + r))) for r in returns.values()])
    return PricePanel.from_arrays(times, list(returns), closes)


@pytest.fixture
def view() -> MarketView:
    rng = np.random.default_rng(2)
    vols = {c: 0.01 * (i + 1) for i, c in enumerate(COINS)}
    panel = _panel({c: rng.normal(0, v, 100) for c, v in vols.items()})
    return MarketView(panel, len(panel) - 1)


def test_inverse_volatility_sizes_each_side_by_its_risk(view):
    oracle = TBNOracle(2, history=_history(SCORES), weighting="inverse_volatility", returns=market_returns(view),
                       risk_lookback_days=90)  # fmt: skip
    w = oracle.fetch_portfolio_weights(view.now, COINS)
    assert w["ARB"] > w["OP"] > 0  # OP is the most volatile long
    assert -w["BTC"] > -w["ETH"] > 0  # BTC the calmest short
    assert w.gross == pytest.approx(1.0) and abs(w.net) < 1e-9 and oracle.validate_weights(w)


@pytest.mark.parametrize("scheme", ["min_variance", "hrp"])
def test_covariance_schemes_through_skfolio(view, scheme):
    pytest.importorskip("skfolio")
    oracle = TBNOracle(3, history=_history(SCORES), weighting=scheme, returns=market_returns(view))
    w = oracle.fetch_portfolio_weights(view.now, COINS)
    assert len(w.longs()) >= 1 and len(w.shorts()) >= 1
    assert w.gross == pytest.approx(1.0) and abs(w.net) < 1e-9 and oracle.validate_weights(w)
    assert oracle.pop_notes() == []


def test_a_singular_covariance_falls_back_and_says_so():
    pytest.importorskip("skfolio")
    rng = np.random.default_rng(5)
    base = rng.normal(0, 0.02, 100)
    panel = _panel(
        {
            c: base * (1 + 0.1 * i) if c in ("OP", "ARB", "DOGE") else rng.normal(0, 0.02, 100)
            for i, c in enumerate(COINS)
        }
    )  # fmt: skip  (the three longs move as one: a singular estimate)
    view = MarketView(panel, len(panel) - 1)
    oracle = TBNOracle(3, history=_history(SCORES), weighting="min_variance", returns=market_returns(view))
    w = oracle.fetch_portfolio_weights(view.now, COINS)
    notes = oracle.pop_notes()
    assert any("long side" in n and "singular" in n for n in notes), notes
    assert w.gross == pytest.approx(1.0) and set(w.longs()) == {"OP", "ARB", "DOGE"}


def test_the_signal_lag_trades_the_signal_as_it_stood_days_earlier():
    rows = [(f"2024-01-0{d}", c, ((i * d) % 8 + 1) / 10) for d in range(1, 10) for i, c in enumerate(COINS)]
    history = MetaModelHistory.from_frame(pd.DataFrame(rows, columns=["date", "symbol", "meta_model"]))
    lagged = TBNOracle(2, history=history, signal_lag=timedelta(days=3))
    plain = TBNOracle(2, history=history)
    assert lagged.fetch_portfolio_weights(T, COINS) == plain.fetch_portfolio_weights(T - timedelta(days=3), COINS)
    assert lagged.fetch_portfolio_weights(T, COINS) != plain.fetch_portfolio_weights(T, COINS)


def test_a_stale_signal_trades_nothing_with_a_clear_error(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("d,a,p\n2024-01-01,BTC,1\n2024-01-01,ETH,2\n")
    oracle = build_oracle("tbn", {"n": 1, "file": str(path), "columns": {"date": "d", "asset": "a", "prediction": "p"},
                                  "max_staleness_days": 2, "symbol_map": "none"})  # fmt: skip
    with pytest.raises(DataError, match=r"stale meta-model data at 2024-01-10.*newest usable date is 2024-01-01"):
        oracle.fetch_portfolio_weights(T, ["BTC", "ETH"])
    assert read_signal_file(path, ColumnMap("d", "a", "p")).last_date == datetime(2024, 1, 1)


@settings(max_examples=25, deadline=None)
@given(
    scores=st.lists(st.floats(0, 1), min_size=len(COINS), max_size=len(COINS), unique=True),
    n_long=st.integers(1, 4),
    n_short=st.integers(1, 4),
    gross=st.floats(0.1, 3.0),
    net_share=st.floats(-0.9, 0.9),
    weighting=st.sampled_from(["equal", "rank"]),
    power=st.floats(0.0, 3.0),
)
def test_every_book_is_at_its_gross_and_net_with_the_top_names_long(
    scores, n_long, n_short, gross, net_share, weighting, power
):
    signal = dict(zip(COINS, scores, strict=True))
    net = net_share * gross
    oracle = TBNOracle(1, gross=gross, history=_history(signal), n_long=n_long, n_short=n_short, net=net,
                       weighting=weighting, rank_power=power)  # fmt: skip
    w = oracle.fetch_portfolio_weights(T, COINS)
    ranked = sorted(COINS, key=signal.__getitem__)
    assert set(w.longs()) == set(ranked[-n_long:]) and set(w.shorts()) == set(ranked[:n_short])
    assert w.gross == pytest.approx(gross) and w.net == pytest.approx(net, abs=1e-9)
    assert oracle.validate_weights(w)
