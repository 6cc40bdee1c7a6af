"""TB-N oracle: picks, look-ahead, lags, symbol maps, shrinking N, validation and bad input."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pd = pytest.importorskip("pandas")

from defipm.core.errors import ConfigError, DataError  # noqa: E402
from defipm.core.weights import Weights  # noqa: E402
from defipm.data.numerai import MetaModelHistory  # noqa: E402
from defipm.oracles.symbols import SymbolMap  # noqa: E402
from defipm.oracles.tbn import TBNConfig, TBNOracle  # noqa: E402
from defipm.testing.numerai import synthetic_meta_model  # noqa: E402

SYMBOLS = ["ADA", "BTC", "DOGE", "ETH", "LINK", "SOL", "XRP", "DOT"]


def history_of(rows: list[tuple[str, str, float]]) -> MetaModelHistory:
    return MetaModelHistory.from_frame(pd.DataFrame(rows, columns=["date", "symbol", "meta_model"]), "test")


def day(d: str, hour: int = 0, minute: int = 0) -> datetime:
    return datetime.fromisoformat(d).replace(hour=hour, minute=minute)


@pytest.fixture
def ranked() -> MetaModelHistory:
    """One date; scores rise with the position in SYMBOLS."""
    return history_of([("2024-01-01", s, (i + 1) / 10) for i, s in enumerate(SYMBOLS)])


def test_top_and_bottom_n_equal_weights(ranked):
    oracle = TBNOracle(2, history=ranked)
    w = oracle.fetch_portfolio_weights(day("2024-01-02"), SYMBOLS)
    assert w == {"DOT": 0.25, "XRP": 0.25, "ADA": -0.25, "BTC": -0.25}
    assert w.gross == pytest.approx(1.0) and w.net == pytest.approx(0.0)
    assert oracle.validate_weights(w)
    assert oracle.pop_notes() == []


def test_gross_target(ranked):
    oracle = TBNOracle(3, gross=2.0, history=ranked)
    w = oracle.fetch_portfolio_weights(day("2024-01-02"), SYMBOLS)
    assert len(w.longs()) == len(w.shorts()) == 3
    assert w.gross == pytest.approx(2.0) and abs(w.net) < 1e-12
    assert oracle.validate_weights(w)


def test_ties_break_by_symbol():
    h = history_of([("2024-01-01", s, 0.5) for s in ["E", "C", "A", "D", "B", "F"]])
    w = TBNOracle(2, history=h).fetch_portfolio_weights(day("2024-01-02"), list("FEDCBA"))
    assert set(w.longs()) == {"A", "B"} and set(w.shorts()) == {"C", "D"}


def test_universe_filters_symbols(ranked):
    w = TBNOracle(1, history=ranked).fetch_portfolio_weights(day("2024-01-02"), ["BTC", "ETH", "SOL", "PEPE"])
    assert w == {"SOL": 0.5, "BTC": -0.5}


# --------------------------------------------------------------------------------------------- look-ahead


def two_days() -> MetaModelHistory:
    rows = [("2024-01-01", s, (i + 1) / 10) for i, s in enumerate(SYMBOLS)]
    rows += [("2024-01-02", s, 1 - (i + 1) / 10) for i, s in enumerate(SYMBOLS)]  # reversed ranking
    return history_of(rows)


def test_rows_dated_d_are_not_seen_on_day_d():
    oracle = TBNOracle(1, history=two_days())
    day1 = {"DOT": 0.5, "ADA": -0.5}
    for t in (day("2024-01-02"), day("2024-01-02", 12), day("2024-01-02", 23, 59)):
        assert oracle.fetch_portfolio_weights(t, SYMBOLS) == day1
    assert oracle.fetch_portfolio_weights(day("2024-01-03"), SYMBOLS) == {"ADA": 0.5, "DOT": -0.5}


def test_before_the_first_publication_is_an_error():
    oracle = TBNOracle(1, history=two_days())
    with pytest.raises(DataError, match=r"no meta-model data published by 2024-01-01 23:59.*first date.*2024-01-01"):
        oracle.fetch_portfolio_weights(day("2024-01-01", 23, 59), SYMBOLS)
    with pytest.raises(DataError, match="no meta-model data published"):
        oracle.fetch_portfolio_weights(day("2023-06-01"), SYMBOLS)


def test_publication_delay_is_configurable():
    oracle = TBNOracle(1, history=two_days(), publication_delay=timedelta(hours=30))
    assert oracle.fetch_portfolio_weights(day("2024-01-03", 5), SYMBOLS) == {"DOT": 0.5, "ADA": -0.5}
    assert oracle.fetch_portfolio_weights(day("2024-01-03", 6), SYMBOLS) == {"ADA": 0.5, "DOT": -0.5}


def test_timezone_aware_timestamps_are_compared_in_utc():
    oracle = TBNOracle(1, history=two_days())
    cet = timezone(timedelta(hours=1))
    # 2024-01-03 00:30 CET is 2024-01-02 23:30 UTC: day 2 not yet published
    assert oracle.fetch_portfolio_weights(datetime(2024, 1, 3, 0, 30, tzinfo=cet), SYMBOLS) == {
        "DOT": 0.5,
        "ADA": -0.5,
    }
    assert oracle.fetch_portfolio_weights(datetime(2024, 1, 3, tzinfo=UTC), SYMBOLS) == {"ADA": 0.5, "DOT": -0.5}


@settings(max_examples=40, deadline=None)
@given(minutes=st.integers(min_value=24 * 60, max_value=20 * 24 * 60), lags=st.integers(1, 4))
def test_same_answer_as_with_the_future_cut_off(minutes, lags):
    """Weights at t from the full history equal those from only the rows published by t."""
    frame = synthetic_meta_model(SYMBOLS, date(2024, 1, 1), 20, seed=7)
    t = datetime(2024, 1, 1) + timedelta(minutes=minutes)
    past = frame[pd.to_datetime(frame["date"]) + timedelta(days=1) <= t]
    full = TBNOracle(2, lags, history=MetaModelHistory.from_frame(frame), max_staleness=None)
    cut = TBNOracle(2, lags, history=MetaModelHistory.from_frame(past), max_staleness=None)
    assert full.fetch_portfolio_weights(t, SYMBOLS) == cut.fetch_portfolio_weights(t, SYMBOLS)


# --------------------------------------------------------------------------------------------- lags


def test_lags_average_the_last_dates():
    h = history_of(
        [
            ("2024-01-01", "A", 0.0),
            ("2024-01-01", "B", 0.0),  # outside the window: ignored
            ("2024-01-02", "A", 0.9),
            ("2024-01-02", "B", 0.1),
            ("2024-01-03", "A", 0.1),
            ("2024-01-03", "B", 0.5),
        ]
    )
    oracle = TBNOracle(1, lags=2, history=h)
    assert oracle.scores(day("2024-01-04"), h) == pytest.approx({"A": 0.5, "B": 0.3})
    assert oracle.fetch_portfolio_weights(day("2024-01-04"), ["A", "B"]) == {"A": 0.5, "B": -0.5}
    assert TBNOracle(1, lags=1, history=h).fetch_portfolio_weights(day("2024-01-04"), ["A", "B"]) == {
        "B": 0.5,
        "A": -0.5,
    }


def test_fewer_dates_than_lags_is_noted():
    h = history_of([("2024-01-01", "A", 0.9), ("2024-01-01", "B", 0.1)])
    oracle = TBNOracle(1, lags=3, history=h)
    oracle.fetch_portfolio_weights(day("2024-01-02"), ["A", "B"])
    assert any("only 1 of lags=3" in n for n in oracle.pop_notes())


# --------------------------------------------------------------------------------------------- shrinking N


@pytest.mark.parametrize(("universe_size", "expected_n"), [(8, 4), (7, 3), (5, 2), (3, 1), (2, 1)])
def test_n_shrinks_symmetrically_and_says_so(ranked, universe_size, expected_n):
    oracle = TBNOracle(4, history=ranked)
    w = oracle.fetch_portfolio_weights(day("2024-01-02"), SYMBOLS[:universe_size])
    assert len(w.longs()) == len(w.shorts()) == expected_n
    assert w.gross == pytest.approx(1.0) and abs(w.net) < 1e-12
    notes = oracle.pop_notes()
    if expected_n < 4:
        assert notes == [
            f"TB-N: only {universe_size} symbol(s) in both the meta-model and the universe; N shrunk from 4 to "
            f"{expected_n}"
        ]
    else:
        assert notes == []


def test_one_common_symbol_is_no_trade(ranked):
    with pytest.raises(DataError, match="shares 1 symbol"):
        TBNOracle(2, history=ranked).fetch_portfolio_weights(day("2024-01-02"), ["BTC", "PEPE"])


def test_no_overlap_is_an_error(ranked):
    with pytest.raises(DataError, match=r"shares 0 symbol.*universe: kBONK, kPEPE"):
        TBNOracle(2, history=ranked).fetch_portfolio_weights(day("2024-01-02"), ["kPEPE", "kBONK"])
    with pytest.raises(DataError, match="universe: empty"):
        TBNOracle(2, history=ranked).fetch_portfolio_weights(day("2024-01-02"), [])


def test_stale_data_is_an_error(ranked):
    oracle = TBNOracle(2, history=ranked, max_staleness=timedelta(days=3))
    oracle.fetch_portfolio_weights(day("2024-01-05"), SYMBOLS)
    with pytest.raises(DataError, match=r"stale meta-model data.*2024-01-01"):
        oracle.fetch_portfolio_weights(day("2024-01-05", 0, 1), SYMBOLS)
    assert TBNOracle(2, history=ranked, max_staleness=None).fetch_portfolio_weights(day("2024-06-01"), SYMBOLS)


# --------------------------------------------------------------------------------------------- symbols


def test_hyperliquid_map_renames_and_drops():
    h = history_of(
        [
            ("2024-01-01", "PEPE", 0.9),
            ("2024-01-01", "RNDR", 0.8),
            ("2024-01-01", "UST", 0.99),  # delisted: never traded
            ("2024-01-01", "BTC", 0.2),
            ("2024-01-01", "SHIB", 0.1),
        ]
    )
    oracle = TBNOracle(2, history=h, symbol_map=SymbolMap.for_venue("hyperliquid"))
    universe = ["kPEPE", "RENDER", "BTC", "kSHIB", "UST", "PEPE", "SHIB"]
    assert oracle.fetch_portfolio_weights(day("2024-01-02"), universe) == {
        "kPEPE": 0.25,
        "RENDER": 0.25,
        "kSHIB": -0.25,
        "BTC": -0.25,
    }


def test_two_names_for_one_asset_are_averaged():
    h = history_of(
        [
            ("2024-01-01", "RNDR", 0.9),
            ("2024-01-01", "RENDER", 0.5),
            ("2024-01-01", "BTC", 0.6),
            ("2024-01-01", "ETH", 0.1),
        ]
    )
    oracle = TBNOracle(1, history=h)
    assert oracle.venue_scores(oracle.scores(day("2024-01-02"), h), ["RENDER", "BTC", "ETH"]) == pytest.approx(
        {"RENDER": 0.7, "BTC": 0.6, "ETH": 0.1}
    )


def test_user_overrides_merge_over_the_maintained_map():
    m = SymbolMap.for_venue("hyperliquid", {"PEPE": None, "WIF": "kWIF", "BTC": "UBTC"})
    assert m.to_venue("PEPE") is None and m.to_venue("WIF") == "kWIF" and m.to_venue("BTC") == "UBTC"
    assert m.to_venue("BONK") == "kBONK" and m.to_venue("RNDR") == "RENDER" and m.to_venue("ETH") == "ETH"
    assert {c: SymbolMap.for_venue("hyperliquid").to_venue(c) for c in ["SHIB", "FLOKI", "LUNC", "NEIRO"]} == {
        "SHIB": "kSHIB",
        "FLOKI": "kFLOKI",
        "LUNC": "kLUNC",
        "NEIRO": "kNEIRO",
    }
    with pytest.raises(ConfigError, match="no symbol map for venue 'binance'"):
        SymbolMap.for_venue("binance")


# --------------------------------------------------------------------------------------------- validation


def test_validate_uses_absolute_gross(ranked):
    oracle = TBNOracle(2, history=ranked)
    # signed sum is 0 and would "pass" a gross check without abs(); the gross is 0.4, not 1
    assert oracle.problems(Weights({"A": 0.2, "B": -0.2})) == [
        "gross exposure 0.4 differs from target_gross 1 by more than 1e-09"
    ]


def test_validate_net_and_gross(ranked):
    oracle = TBNOracle(1, history=ranked)
    assert oracle.validate_weights(Weights({"A": 0.5, "B": -0.5}))
    problems = oracle.problems(Weights({"A": 0.7, "B": -0.3}))
    assert problems == ["net exposure 0.4 differs from target_net 0 by more than 1e-09"]
    assert any("above max_gross" in p for p in oracle.problems(Weights({"A": 1.0, "B": -1.0})))
    assert not oracle.validate_weights(Weights({}))


def test_validate_rejects_one_asset_long_and_short():
    oracle = TBNOracle(1, history=history_of([("2024-01-01", "A", 0.5)]), symbol_map=SymbolMap.for_venue("hyperliquid"))
    problems = oracle.problems(Weights({"kPEPE": 0.25, "PEPE": -0.25, "BTC": 0.25, "ETH": -0.25}))
    assert problems == ["PEPE: both long (kPEPE) and short (PEPE)"]


@settings(max_examples=60, deadline=None)
@given(
    scores=st.dictionaries(
        st.text("ABCDEFGHIJ", min_size=1, max_size=3), st.floats(0, 1, allow_nan=False), min_size=2, max_size=30
    ),
    n=st.integers(1, 12),
    gross=st.floats(0.1, 3.0),
)
def test_invariants(scores, n, gross):
    h = history_of([("2024-01-01", s, v) for s, v in scores.items()])
    oracle = TBNOracle(n, gross=gross, history=h)
    w = oracle.fetch_portfolio_weights(day("2024-01-02"), list(scores))
    k = min(n, len(scores) // 2)
    assert len(w.longs()) == len(w.shorts()) == k
    assert w.gross == pytest.approx(gross) and abs(w.net) < 1e-9
    assert min(scores[s] for s in w.longs()) >= max(scores[s] for s in w.shorts())
    assert oracle.validate_weights(w)
    assert oracle.fetch_portfolio_weights(day("2024-01-02"), list(reversed(list(scores)))) == w


# --------------------------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    "kwargs", [{"n": 0}, {"n": 2, "lags": 0}, {"n": 2, "gross": 0.0}, {"n": 2, "gross": float("nan")}]
)
def test_bad_parameters(ranked, kwargs):
    with pytest.raises(ConfigError):
        TBNOracle(history=ranked, **kwargs)


def test_from_config_with_a_local_file(tmp_path):
    path = tmp_path / "mm.parquet"
    synthetic_meta_model(["PEPE", "BTC", "ETH", "SOL"], date(2024, 1, 1), 5).to_parquet(path)
    config = TBNConfig(n=1, lags=2, file=path, symbol_map="hyperliquid", symbol_overrides={"SOL": None})
    oracle = TBNOracle.from_config(config)
    w = oracle.fetch_portfolio_weights(day("2024-01-06"), ["kPEPE", "BTC", "ETH", "SOL"])
    assert len(w) == 2 and "SOL" not in w
    with pytest.raises(ValueError, match="extra"):
        TBNConfig(n=1, nn=2)


def test_history_provider_is_asked_every_cycle(ranked):
    calls = []

    def provider() -> MetaModelHistory:
        calls.append(1)
        return ranked

    oracle = TBNOracle(1, history=provider)
    oracle.fetch_portfolio_weights(day("2024-01-02"), SYMBOLS)
    oracle.fetch_portfolio_weights(day("2024-01-03"), SYMBOLS)
    assert len(calls) == 2


def test_registry_builds_tbn_from_config_params(tmp_path):
    from defipm.registry import build_oracle

    path = tmp_path / "mm.csv"
    synthetic_meta_model(["BTC", "ETH", "SOL", "XRP"], date(2024, 1, 1), 3).to_csv(path, index=False)
    oracle = build_oracle("tbn", {"n": 1, "file": str(path), "symbol_map": "paper"})
    assert isinstance(oracle, TBNOracle) and oracle.n == 1
    assert len(oracle.fetch_portfolio_weights(day("2024-01-04"), ["BTC", "ETH", "SOL"])) == 2
    with pytest.raises(ConfigError, match=r"oracle.params.top_n: unknown key \(accepted: n, lags, gross, file"):
        build_oracle("tbn", {"top_n": 1})
    with pytest.raises(ConfigError, match=r"oracle\.params\.n: input should be greater than or equal to 1"):
        build_oracle("tbn", {"n": 0, "file": str(path)})


def test_history_may_be_a_path_or_a_dataframe_and_defaults_to_numerai(tmp_path):
    from datetime import UTC, date, datetime

    from defipm.data.numerai import NumeraiCryptoSource
    from defipm.testing.numerai import synthetic_meta_model

    frame = synthetic_meta_model(["BTC", "ETH", "SOL", "ADA"], date(2024, 1, 1), 30, seed=3)
    path = tmp_path / "meta.csv"
    frame.to_csv(path, index=False)
    t = datetime(2024, 1, 20, tzinfo=UTC)
    from_path = TBNOracle(1, history=str(path)).fetch_portfolio_weights(t, ["BTC", "ETH", "SOL", "ADA"])
    from_frame = TBNOracle(1, history=frame).fetch_portfolio_weights(t, ["BTC", "ETH", "SOL", "ADA"])
    assert from_path == from_frame and from_path.gross == pytest.approx(1.0) and len(from_path) == 2
    default = TBNOracle(3)
    assert isinstance(getattr(default._history, "__self__", None), NumeraiCryptoSource)


def _mm(rows):  # type: ignore[no-untyped-def]
    import pandas as pd

    return pd.DataFrame(rows, columns=["date", "symbol", "meta_model"])


def test_a_symbol_numerai_no_longer_scores_is_not_traded_on_an_old_score() -> None:
    rows = [("2024-01-01", s, v) for s, v in [("OLD", 0.99), ("BTC", 0.6), ("ETH", 0.5), ("SOL", 0.1)]]
    rows += [("2024-01-02", s, v) for s, v in [("BTC", 0.9), ("ETH", 0.5), ("SOL", 0.1)]]
    oracle = TBNOracle(1, lags=2, history=_mm(rows))
    weights = oracle.fetch_portfolio_weights(datetime(2024, 1, 3), ["OLD", "BTC", "ETH", "SOL"])
    assert dict(weights) == {"BTC": 0.5, "SOL": -0.5}
    assert any("absent from the newest meta-model date 2024-01-02" in n and "OLD" in n for n in oracle.pop_notes())


def test_stale_data_is_an_error_naming_the_date_and_the_file() -> None:
    from datetime import timedelta

    h = MetaModelHistory.from_frame(_mm([("2024-01-01", "A", 0.1), ("2024-01-01", "B", 0.9)]), "/data/mm.parquet")
    oracle = TBNOracle(1, history=h, max_staleness=timedelta(days=3))
    with pytest.raises(DataError, match=r"newest usable date is 2024-01-01 in /data/mm.parquet"):
        oracle.fetch_portfolio_weights(datetime(2024, 2, 1), ["A", "B"])


def test_a_nan_score_is_never_picked_even_from_an_unvalidated_history() -> None:
    import pandas as pd

    df = _mm([("2024-01-01", "A", float("nan")), ("2024-01-01", "B", 0.9), ("2024-01-01", "C", 0.1),
              ("2024-01-01", "D", 0.5)])  # fmt: skip
    df["date"] = pd.to_datetime(df["date"])
    oracle = TBNOracle(1, history=lambda: MetaModelHistory(df, "provider"))
    weights = oracle.fetch_portfolio_weights(datetime(2024, 1, 2), ["A", "B", "C", "D"])
    assert dict(weights) == {"B": 0.5, "C": -0.5}


def test_dates_mixing_naive_and_utc_spellings_are_read_and_offsets_refused() -> None:
    from defipm.data.numerai import validate_meta_model_frame

    clean, _ = validate_meta_model_frame(_mm([("2024-01-31", "A", 0.1), ("2024-02-01T00:00:00Z", "B", 0.2)]), "mm")
    assert [str(d.date()) for d in clean["date"]] == ["2024-01-31", "2024-02-01"]
    with pytest.raises(DataError, match=r"mm\.csv: dates must be calendar days"):
        validate_meta_model_frame(_mm([("2024-01-31", "A", 0.1), ("2024-02-01T00:00:00+05:00", "B", 0.2)]), "mm.csv")


def test_the_symbol_map_defaults_to_the_venue_the_portfolio_trades_on(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from defipm.registry import BuildContext, build_oracle

    path = tmp_path / "mm.csv"
    synthetic_meta_model(["BTC", "PEPE", "SOL", "XRP"], date(2024, 1, 1), 3).to_csv(path, index=False)
    on_hl = build_oracle("tbn", {"n": 2, "file": str(path)}, BuildContext(venue="hyperliquid"))
    assert isinstance(on_hl, TBNOracle)
    weights = on_hl.fetch_portfolio_weights(day("2024-01-04"), ["BTC", "kPEPE", "SOL", "XRP"])
    assert "kPEPE" in weights and "PEPE" not in weights  # PEPE trades as Hyperliquid's 1000x contract
    elsewhere = build_oracle("tbn", {"n": 2, "file": str(path)}, BuildContext(venue="uniswap"))
    assert isinstance(elsewhere, TBNOracle)
    assert "kPEPE" not in elsewhere.fetch_portfolio_weights(day("2024-01-04"), ["BTC", "PEPE", "SOL", "XRP"])


# --------------------------------------------------------------------------------------------- exact averages


def _lagged(per_symbol: dict[str, list[float]]) -> MetaModelHistory:
    return history_of(
        [(f"2024-01-{d + 1:02d}", s, v) for s, values in per_symbol.items() for d, v in enumerate(values)]
    )


def test_equal_exact_means_tie_and_rank_by_symbol() -> None:
    """Issue 8 item 10: both average exactly 9/20; a float mean made B's 0.45 beat A's 0.44999999999999996."""
    h = _lagged({"A": [0.7, 0.61, 0.04], "B": [0.5, 0.22, 0.63], "Y": [0.1] * 3, "Z": [0.1] * 3})
    oracle = TBNOracle(1, lags=3, history=h)
    exact = oracle.exact_scores(day("2024-01-04"), h)
    assert exact["A"] == exact["B"] == Fraction(9, 20)
    assert oracle.fetch_portfolio_weights(day("2024-01-04"), ["B", "Z", "A", "Y"]) == {"A": 0.5, "Y": -0.5}


def test_means_a_float_cannot_tell_apart_are_ranked_exactly() -> None:
    """(0.1 + 0.2) / 2 is 0.15 exactly, below 0.15000000000000002; in floats both are 0.15000000000000002."""
    h = _lagged({"A": [0.1, 0.2], "B": [0.15000000000000002] * 2, "Z": [0.0, 0.0]})
    w = TBNOracle(1, lags=2, history=h).fetch_portfolio_weights(day("2024-01-03"), ["A", "B", "Z"])
    assert w == {"B": 0.5, "Z": -0.5}


@settings(max_examples=60, deadline=None)
@given(
    cents=st.lists(st.integers(0, 100), min_size=2, max_size=5),
    order=st.randoms(use_true_random=False),
    n_symbols=st.integers(2, 6),
)
def test_symbols_with_the_same_scores_in_any_order_tie_exactly(cents, order, n_symbols) -> None:
    """Every symbol gets the same decimal scores over the lags, each in its own order: their means are equal, so
    the longs are the first symbols by name and the shorts the next ones, whatever the float sums say."""
    per_symbol = {}
    for s in [f"S{i}" for i in range(n_symbols)]:
        values = [c / 100 for c in cents]
        order.shuffle(values)
        per_symbol[s] = values
    h = _lagged(per_symbol)
    oracle = TBNOracle(n_symbols // 2, lags=len(cents), history=h)
    at = day(f"2024-01-{len(cents) + 1:02d}")
    assert len(set(oracle.exact_scores(at, h).values())) == 1
    w = oracle.fetch_portfolio_weights(at, list(reversed(per_symbol)))
    names = sorted(per_symbol)
    k = n_symbols // 2
    assert sorted(w.longs()) == names[:k] and sorted(w.shorts()) == names[k : 2 * k]
