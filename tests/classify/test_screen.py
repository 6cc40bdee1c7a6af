"""The screen's rules on bars whose answer is known, against an independent numpy reference, and point in time."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from defipm.classify import Classifier, InsufficientHistoryError, ScreenConfig
from defipm.core.errors import LookAheadError
from defipm.core.metrics import RISK_FLOOR
from defipm.data.panel import STALE_AFTER_BARS, PricePanel
from defipm.data.synthetic import synthetic_panel
from defipm.data.view import MarketView

SMALL = {"window_days": 10, "trend_short_days": 3, "trend_long_days": 6, "min_history_bars": 15}  # 30-bar panels


def classify(panel: PricePanel, index: int | None = None, **params):  # type: ignore[no-untyped-def]
    view = MarketView(panel, len(panel) - 1 if index is None else index)
    return Classifier(view, ScreenConfig(**{**SMALL, **params})).classify()


def test_each_rule_excludes_what_it_should_and_reports_the_first_failure(known):
    result = classify(known)
    reasons = dict(zip(result.table["symbol"], result.table["reason"], strict=True))
    assert reasons == {
        "BTC": None, "ETH": "volume", "SOL": "trend", "UNI": "return", "ADA": "return",
        "DOGE": "category", "USDC": "category", "NEAR": "history",
    }  # fmt: skip
    assert result.kept == ("BTC",)
    assert result.excluded_counts == {
        "history": 1, "category": 2, "return": 2, "trend": 1, "volume": 1, "sortino": 0, "top_n": 0,
    }  # fmt: skip
    row = result.table.set_index("symbol")
    assert row.loc["BTC", "return"] == pytest.approx(158 / 138 - 1, rel=1e-12)  # the close 10 days before t
    assert row.loc["BTC", "ma_short"] == pytest.approx((154 + 156 + 158) / 3)
    assert row.loc["BTC", "volume"] == pytest.approx(1_000_000.0)  # dollars a day over the window
    assert row.loc["NEAR", "bars"] == 10 and row.loc["BTC", "bars"] == 30
    candidates = ["BTC", "ETH", "SOL", "UNI", "ADA"]  # DOGE, USDC (category) and NEAR (history) are not averaged
    assert result.candidates == 5
    assert result.means["return"] == pytest.approx(row.loc[candidates, "return"].mean(), rel=1e-12)
    assert result.means["volume"] == pytest.approx((4 * 1_000_000 + 1000) / 5)
    assert list(result.table["kept"]) == [r is None for r in result.table["reason"]]


def test_meme_coins_are_candidates_only_when_asked(known):
    result = classify(known, include_meme=True)
    reasons = dict(zip(result.table["symbol"], result.table["reason"], strict=True))
    assert reasons["DOGE"] is None and result.candidates == 6
    assert (
        classify(known, exclude_categories=["meme"], include_meme=True).table.set_index("symbol").loc["DOGE", "reason"]
        == "category"
    )


def test_turning_rules_off_and_the_optional_rules(known):
    no_trend = classify(known, trend=False)
    assert no_trend.table.set_index("symbol").loc["SOL", "reason"] is None
    no_volume = classify(known, volume_threshold=0)
    assert no_volume.table.set_index("symbol").loc["ETH", "reason"] is None
    both = classify(known, volume_threshold=0, top_n=1)
    reasons = dict(zip(both.table["symbol"], both.table["reason"], strict=True))
    assert both.kept == ("BTC",) and reasons["ETH"] == "top_n"  # same return: ties go by symbol
    sortino = classify(known, volume_threshold=0, sortino_threshold=1.0)
    sortino_rows = sortino.table.set_index("symbol")
    assert sortino_rows.loc["BTC", "sortino"] != sortino_rows.loc["BTC", "sortino"]  # no losing day: undefined
    assert sortino_rows.loc["BTC", "reason"] == "sortino"


def test_no_token_passing_is_a_valid_empty_answer(known):
    result = classify(known, volume_threshold=1e6)
    assert result.kept == ()
    assert result.excluded_counts["volume"] == 2 and sum(result.excluded_counts.values()) == 8
    assert "0 of 8 token(s) kept" in result.summary()


def test_a_token_that_stopped_trading_is_excluded_by_history(daily_panel):
    k = np.arange(30, dtype=float)
    close = {"BTC": list(100 + 2 * k), "UNI": list(100 + k)}
    panel = daily_panel(close)
    stopped = panel.close.copy()
    stopped[-(STALE_AFTER_BARS + 1) :, 0] = np.nan  # BTC's last bar is 4 days before t
    panel = PricePanel.from_arrays(panel.timestamps, panel.symbols, stopped, volume=panel.volume.copy())
    row = classify(panel).table.set_index("symbol").loc["BTC"]
    assert row["reason"] == "history" and row["bars"] == 26


def test_windows_are_days_on_hourly_bars():
    panel = synthetic_panel(3, 24 * 20, seed=3, interval=timedelta(hours=1), symbols=["BTC", "ETH", "SOL"])
    result = classify(panel, window_days=3, trend_short_days=1, trend_long_days=2, min_history_bars=100)
    row = result.table.set_index("symbol").loc["BTC"]
    close = panel.close[:, 0]
    assert row["return"] == pytest.approx(close[-1] / close[-1 - 72] - 1, rel=1e-12)
    assert row["ma_long"] == pytest.approx(close[-48:].mean(), rel=1e-12)
    assert row["volume"] == pytest.approx(panel.volume[-72:, 0].sum() / 3, rel=1e-12)


def test_the_history_rule_is_six_months_at_any_bar_interval():
    """The default needs about six months of bars: 180 daily bars, but 4,320 hourly ones (180 hourly bars would be
    a week and a half). ``min_history_days`` sets it in days, ``min_history_bars`` as a count; not both."""
    hourly = synthetic_panel(3, 24 * 200, seed=4, interval=timedelta(hours=1), symbols=["BTC", "ETH", "SOL"])
    close = hourly.close.copy()
    close[: 24 * 200 - 24 * 20, 2] = np.nan  # SOL: listed 20 days (480 hourly bars) before t
    hourly = PricePanel.from_arrays(hourly.timestamps, hourly.symbols, close, volume=hourly.volume.copy())
    windows = {"window_days": 3, "trend_short_days": 1, "trend_long_days": 2}
    view = MarketView(hourly, len(hourly) - 1)

    default = Classifier(view, ScreenConfig(**windows)).classify()
    assert default.min_bars == 4_320
    rows = default.table.set_index("symbol")
    assert rows.loc["SOL", "reason"] == "history" and rows.loc["SOL", "bars"] == 480
    sol = next(row for row in default.rows() if row["symbol"] == "SOL")
    assert default.explain(sol) == "480 bar(s) at t; needs 4320"
    assert rows.loc["BTC", "reason"] != "history"  # 200 days of hourly bars

    in_days = Classifier(view, ScreenConfig(**windows, min_history_days=10)).classify()
    assert in_days.min_bars == 240 and in_days.table.set_index("symbol").loc["SOL", "reason"] != "history"
    in_bars = Classifier(view, ScreenConfig(**windows, min_history_bars=481)).classify()
    assert in_bars.table.set_index("symbol").loc["SOL", "reason"] == "history"

    # on daily bars the default is the 180 bars it always was
    assert ScreenConfig().min_bars(timedelta(days=1)) == 180
    with pytest.raises(ValueError, match=r"min_history_days \(10\) and min_history_bars \(15\) both set"):
        ScreenConfig(min_history_days=10, min_history_bars=15)
    with pytest.raises(InsufficientHistoryError, match=r"min_history_days=300 \(7,200 bars\)"):
        Classifier(view, ScreenConfig(**windows, min_history_days=300)).classify()


def test_a_window_longer_than_the_data_names_the_window_and_when_it_would_fit(known):
    panel = known
    with pytest.raises(InsufficientHistoryError, match=r"40-day window.*classify at 2024-02-10 or later") as exc:
        classify(panel, window_days=40)
    assert exc.value.ready_at == panel.start + timedelta(days=40)
    with pytest.raises(InsufficientHistoryError, match="min_history_bars=100"):
        classify(panel, min_history_bars=100)


def test_asking_past_the_clock_is_look_ahead(known):
    panel = known
    view = MarketView(panel, 20)
    classifier = Classifier(view, ScreenConfig(**SMALL))
    with pytest.raises(LookAheadError):
        classifier.classify(panel.datetime_at(21))


# -- against an independent reference -------------------------------------------------------------------------


def reference(panel: PricePanel, end: int, c: ScreenConfig, category_ok: np.ndarray) -> pd.DataFrame:
    """The same screen in plain numpy, token by token (what the SQL must agree with)."""
    day, interval = np.timedelta64(1, "D"), np.timedelta64(int(panel.interval.total_seconds()), "s")
    now = panel.timestamps[end]
    ts = panel.timestamps[: end + 1]
    scan = ts > now - c.longest_window_days * day - (STALE_AFTER_BARS + 2) * interval
    rows = []
    for j, symbol in enumerate(panel.symbols):
        real = panel.has_bar[: end + 1, j]
        sel = real & scan
        t, close, vol = ts[sel], panel.close[: end + 1, j][sel], panel.volume[: end + 1, j][sel]
        m = {"symbol": symbol, "bars": int(real.sum()) if sel.any() else 0, "ok": bool(category_ok[j])}
        if sel.sum() < 1:
            rows.append({**m, "return": np.nan, "ma_short": np.nan, "ma_long": np.nan, "volume": np.nan,
                         "sortino": np.nan, "history_ok": False})  # fmt: skip
            continue
        start = t <= now - c.window_days * day
        ret = close[-1] / close[start][-1] - 1 if start.any() else np.nan
        real_idx = np.nonzero(sel)[0]
        prev_idx = [np.nonzero(real[:i])[0] for i in real_idx]  # the token's previous real bar, however far back
        prev = np.array([panel.close[p[-1], j] if len(p) else np.nan for p in prev_idx])
        steps = close / prev - 1
        r = steps[(t > now - c.sortino_window_days * day) & ~np.isnan(prev)]
        down = math.sqrt(np.mean(np.minimum(r, 0) ** 2)) if r.size else 0.0
        m.update(
            {
                "return": ret,
                "ma_short": close[t > now - c.trend_short_days * day].mean(),  # NaN without a bar: as SQL's NULL
                "ma_long": close[t > now - c.trend_long_days * day].mean(),
                "volume": vol[t > now - c.window_days * day].sum() / c.window_days,
                "sortino": r.mean() / down * math.sqrt(panel.periods_per_year) if down > RISK_FLOOR else np.nan,
                "history_ok": bool(
                    m["bars"] >= c.min_history_bars
                    and (t <= now - c.longest_window_days * day).any()
                    and t[-1] >= now - STALE_AFTER_BARS * interval
                    and not np.isnan(ret)
                ),
            }
        )
        rows.append(m)
    frame = pd.DataFrame(rows)
    cand = frame["history_ok"] & frame["ok"]
    mean_ret, mean_vol = frame.loc[cand, "return"].mean(), frame.loc[cand, "volume"].mean()
    mean_sortino = frame.loc[cand, "sortino"].mean()

    def rule(row: pd.Series) -> str | None:
        if not row["history_ok"]:
            return "history"
        if not row["ok"]:
            return "category"
        if not row["return"] > mean_ret + c.return_margin:
            return "return"
        if c.trend and not row["ma_short"] > row["ma_long"]:
            return "trend"
        if c.volume_threshold > 0 and not row["volume"] > c.volume_threshold * mean_vol:
            return "volume"
        if c.sortino_threshold is not None and not row["sortino"] > mean_sortino * c.sortino_threshold:
            return "sortino"
        return None

    frame["reason"] = pd.Series([rule(row) for _, row in frame.iterrows()], index=frame.index, dtype=object)
    if c.top_n is not None:
        passing = frame[frame["reason"].isna()].sort_values(["return", "symbol"], ascending=[False, True])
        frame.loc[passing.index[c.top_n :], "reason"] = "top_n"
    return frame.set_index("symbol")


def gappy_panel(seed: int, n_assets: int, n_bars: int, gap: float) -> PricePanel:
    base = synthetic_panel(n_assets, n_bars, seed=seed, ragged=True, annual_volatility=1.2)
    rng = np.random.default_rng(seed)
    close = np.where(rng.random(base.close.shape) < gap, np.nan, np.where(base.has_bar, base.close, np.nan))
    close[0, 0] = base.close[0, 0]
    volume = np.where(base.has_bar, base.volume, np.nan)
    return PricePanel.from_arrays(base.timestamps, base.symbols, close, volume=volume, interval=base.interval)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n_assets=st.integers(2, 7),
    gap=st.sampled_from([0.0, 0.05, 0.3]),
    window=st.integers(3, 15),
    short=st.integers(1, 4),
    long_extra=st.integers(1, 8),
    min_bars=st.integers(2, 40),
    top_n=st.one_of(st.none(), st.integers(1, 3)),
    sortino=st.one_of(st.none(), st.sampled_from([0.0, 0.5, 1.0])),
    volume=st.sampled_from([0.0, 0.5, 1.0]),
    margin=st.sampled_from([0.0, 0.02]),
)
@example(  # a token with bars in the scan but none in the return window: its volume is 0, not unknown
    seed=7655,
    n_assets=6,
    gap=0.3,
    window=3,
    short=1,
    long_extra=1,
    min_bars=2,
    top_n=None,
    sortino=None,
    volume=0.0,
    margin=0.0,
)
def test_the_sql_agrees_with_an_independent_numpy_screen(
    seed, n_assets, gap, window, short, long_extra, min_bars, top_n, sortino, volume, margin
):  # type: ignore[no-untyped-def]
    panel = gappy_panel(seed, n_assets, 90, gap)
    config = ScreenConfig(
        window_days=window, trend_short_days=short, trend_long_days=short + long_extra, min_history_bars=min_bars,
        top_n=top_n, sortino_threshold=sortino, volume_threshold=volume, return_margin=margin,
    )  # fmt: skip
    end = len(panel) - 1 - seed % 10
    if panel.timestamps[end] - panel.timestamps[0] < np.timedelta64(config.longest_window_days, "D"):
        return
    got = Classifier(MarketView(panel, end), config).classify().table.set_index("symbol")
    want = reference(panel, end, config, np.ones(n_assets, dtype=bool))
    for column in ("bars", "return", "ma_short", "ma_long", "volume", "sortino"):
        np.testing.assert_allclose(
            got.loc[want.index, column].astype(float), want[column].astype(float), rtol=1e-9, err_msg=column
        )
    assert got.loc[want.index, "reason"].tolist() == want["reason"].tolist()


# -- point in time ----------------------------------------------------------------------------------------------


def test_the_answer_at_t_is_the_same_on_the_full_data_and_on_the_data_cut_at_t():
    panel = gappy_panel(11, 6, 120, 0.05)
    for end in (60, 85, 119):
        t = panel.datetime_at(end)
        full = Classifier(MarketView(panel, len(panel) - 1), ScreenConfig(**SMALL)).classify(t)
        cut_panel = panel.between(end=t)
        cut = Classifier(MarketView(cut_panel, len(cut_panel) - 1), ScreenConfig(**SMALL)).classify(t)
        pd.testing.assert_frame_equal(full.table, cut.table)
        assert full.at == cut.at == t


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 1000), scale=st.floats(0.01, 100.0))
def test_bars_after_t_never_change_the_answer(seed, scale):  # type: ignore[no-untyped-def]
    panel = gappy_panel(seed, 5, 100, 0.05)
    end = 70
    future = panel.close.copy()
    future[end + 1 :] *= scale * np.random.default_rng(seed).lognormal(size=future[end + 1 :].shape)
    volume = panel.volume.copy()
    volume[end + 1 :] *= 3
    changed = PricePanel.from_arrays(
        panel.timestamps, panel.symbols, np.where(panel.has_bar, future, np.nan), volume=volume
    )
    a = Classifier(MarketView(panel, len(panel) - 1), ScreenConfig(**SMALL)).classify(panel.datetime_at(end))
    b = Classifier(MarketView(changed, len(panel) - 1), ScreenConfig(**SMALL)).classify(panel.datetime_at(end))
    pd.testing.assert_frame_equal(a.table, b.table)


def test_one_classifier_answers_earlier_times_after_later_ones():
    panel = gappy_panel(5, 6, 120, 0.05)
    classifier = Classifier(MarketView(panel, len(panel) - 1), ScreenConfig(**SMALL))
    late = classifier.classify(panel.datetime_at(110))
    early = classifier.classify(panel.datetime_at(60))
    fresh = Classifier(MarketView(panel, 60), ScreenConfig(**SMALL)).classify()
    pd.testing.assert_frame_equal(early.table, fresh.table)
    assert late.at > early.at


def test_real_wide_panel_point_in_time(wide_panel: PricePanel):
    t = wide_panel.datetime_at(len(wide_panel) - 400)
    full = Classifier(MarketView(wide_panel, len(wide_panel) - 1)).classify(t)
    cut_panel = wide_panel.between(end=t)
    cut = Classifier(MarketView(cut_panel, len(cut_panel) - 1)).classify(t)
    pd.testing.assert_frame_equal(full.table, cut.table)
    assert len(full.table) == 329 and 0 < len(full.kept) < 100
    assert set(full.table.loc[full.table["symbol"].isin(["1000PEPE", "DOGE", "USDC", "PAXG"]), "reason"]) == {
        "category"
    }


def test_a_token_without_real_downside_has_no_sortino(daily_panel):
    """Closes that only wobble by rounding (1e-15) have a downside far under ``RISK_FLOOR``: their Sortino ratio is
    undefined (NaN), not a ratio near 1e14 that would top the Sortino rule."""
    k = np.arange(30, dtype=float)
    wobble = [100.0 * (1 + 1e-15 * (i % 2)) for i in range(30)]
    panel = daily_panel({"BTC": list(100 + 2 * k), "UNI": wobble, "ETH": list(100 + k + 3 * np.sin(k))})
    rows = classify(panel, sortino_threshold=0.0, volume_threshold=0).table.set_index("symbol")
    assert np.isnan(rows.loc["UNI", "sortino"]) and np.isfinite(rows.loc["ETH", "sortino"])
