"""Every metric against empyrical or quantstats on real daily data (BTC, and an equal-weight mix vs BTC)."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from defipm.core import metrics as m

DAILY = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "prices" / "daily"
PPY = 365.0

ep = pytest.importorskip("empyrical")
qs = pytest.importorskip("quantstats")
pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def series():  # type: ignore[no-untyped-def]
    if not DAILY.is_dir():
        pytest.skip(f"real price data not found at {DAILY}")
    frames = {
        s: pd.read_csv(DAILY / f"{s}.csv", index_col="Date", parse_dates=True)["Close"] for s in ("BTC", "ETH", "SOL")
    }
    close = pd.DataFrame(frames).dropna()
    rets = close.pct_change().dropna()
    strategy = rets.mean(axis=1)  # a daily-rebalanced equal-weight mix
    return strategy, rets["BTC"]


def test_return_and_risk_figures_match_empyrical(series) -> None:  # type: ignore[no-untyped-def]
    r, _ = series
    a = r.to_numpy()
    assert m.total_return(a) == pytest.approx(ep.cum_returns_final(r), rel=1e-10)
    assert m.cagr(a, PPY) == pytest.approx(ep.cagr(r, annualization=365), rel=1e-10)
    assert m.annual_volatility(a, PPY) == pytest.approx(ep.annual_volatility(r, annualization=365), rel=1e-10)
    assert m.sharpe(a, PPY) == pytest.approx(ep.sharpe_ratio(r, annualization=365), rel=1e-10)
    assert m.sharpe(a, PPY, 1e-4) == pytest.approx(ep.sharpe_ratio(r, risk_free=1e-4, annualization=365), rel=1e-10)
    assert m.sortino(a, PPY) == pytest.approx(ep.sortino_ratio(r, annualization=365), rel=1e-10)
    assert m.downside_risk(a, PPY) == pytest.approx(ep.downside_risk(r, annualization=365), rel=1e-10)
    assert m.max_drawdown(a) == pytest.approx(ep.max_drawdown(r), rel=1e-10)
    assert m.calmar(a, PPY) == pytest.approx(ep.calmar_ratio(r, annualization=365), rel=1e-10)


def test_capm_alpha_beta_match_empyrical(series) -> None:  # type: ignore[no-untyped-def]
    r, btc = series
    alpha, beta = m.alpha_beta(r.to_numpy(), btc.to_numpy(), PPY)
    ref_alpha, ref_beta = ep.alpha_beta(r, btc, annualization=365)
    assert beta == pytest.approx(ref_beta, rel=1e-10)
    assert alpha == pytest.approx(ref_alpha, rel=1e-10)
    alpha_rf, _ = m.alpha_beta(r.to_numpy(), btc.to_numpy(), PPY, risk_free=1e-4)
    assert alpha_rf == pytest.approx(ep.alpha(r, btc, risk_free=1e-4, annualization=365), rel=1e-10)
    expected = m.capm_expected_return(beta, btc.to_numpy(), PPY, risk_free=1e-4)
    assert expected == pytest.approx(365e-4 + beta * (btc.mean() * 365 - 365e-4), rel=1e-12)


def test_drawdown_duration_and_hit_rate_match_quantstats(series) -> None:  # type: ignore[no-untyped-def]
    r, _ = series
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        details = qs.stats.drawdown_details(qs.stats.to_drawdown_series(r))
        win = qs.stats.win_rate(r, aggregate=None, compounded=True)
    worst = details.sort_values("max drawdown").iloc[0]
    assert m.max_drawdown_duration(r.to_numpy()) == int(worst["days"])
    assert m.max_drawdown(r.to_numpy()) * 100 == pytest.approx(worst["max drawdown"], rel=1e-9)
    assert m.hit_rate(r.to_numpy()) == pytest.approx(win, rel=1e-12)


def test_turnover_exposure_and_summary() -> None:
    equity = np.array([100.0, 110.0, 99.0, 120.0])
    total, annual = m.turnover([0, 50.0, 0, 100.0], equity, PPY)
    assert total == pytest.approx(150 / equity.mean())
    assert annual == pytest.approx(total / (4 / PPY))
    gross, net = m.exposures([[0.5, -0.5], [0.2, 0.3], [np.nan, 1.0]])
    assert gross == pytest.approx((1.0 + 0.5 + 1.0) / 3)
    assert net == pytest.approx((0.0 + 0.5 + 1.0) / 3)
    s = m.summarize(equity, PPY, benchmark_equity=[1, 2, 2, 3], fees=[1, 2], funding=[0.5])
    assert s.total_return == pytest.approx(0.2) and s.fees_paid == 3 and s.funding_paid == 0.5
    assert s.max_drawdown == pytest.approx(99 / 110 - 1) and s.max_drawdown_duration == 1
    assert s.to_dict()["bars"] == 3  # four equity values: the initial capital and three bars
    # one bar that trades the book over once: 1x a bar, 365x a year on daily bars
    one = m.summarize([100.0, 100.0], 365.0, traded_notional=[0.0, 100.0])
    assert one.bars == 1 and one.turnover == pytest.approx(1.0) and one.annual_turnover == pytest.approx(365.0)
    assert m.periods_per_year(__import__("datetime").timedelta(hours=1)) == 8760


def test_an_annual_risk_free_rate_reads_back_as_itself_in_the_capm_figure() -> None:
    rng = np.random.default_rng(3)
    btc = rng.normal(0.001, 0.03, 400)
    r = 0.5 * btc + rng.normal(0.0, 0.01, 400)
    rf = m.per_bar_rate(0.04, PPY)
    _, beta = m.alpha_beta(r, btc, PPY, risk_free=rf)
    assert beta == pytest.approx(np.cov(r, btc, ddof=0)[0, 1] / np.var(btc), rel=1e-12)
    expected = m.capm_expected_return(beta, btc, PPY, risk_free=rf)
    assert expected == pytest.approx(0.04 + beta * (btc.mean() * 365 - 0.04), rel=1e-12)
    assert m.capm_expected_return(0.0, btc, PPY, risk_free=rf) == pytest.approx(0.04, rel=1e-12)


@pytest.mark.parametrize("rate", [float("nan"), float("inf"), -1.0, -2.0])
def test_a_risk_free_rate_that_is_not_a_yearly_fraction_is_refused(rate: float) -> None:
    with pytest.raises(ValueError, match="risk-free rate"):
        m.per_bar_rate(rate, PPY)


def test_a_bar_without_a_return_still_counts_as_time_in_the_growth_rate(series) -> None:  # type: ignore[no-untyped-def]
    """cagr (and calmar through it) dropped NaN bars from the run's length, so a series with gaps grew faster a
    year than the same growth over the same bars: the bars passed; the NaN is a flat bar, as total_return has it
    and empyrical's cagr and calmar_ratio count it."""
    r, _ = series
    gappy = r.copy()
    gappy.iloc[[0, 10, 11, 500, len(r) - 1]] = np.nan
    a = gappy.to_numpy()
    assert m.cagr(a, PPY) == pytest.approx(ep.cagr(gappy, annualization=365), rel=1e-10)
    assert m.calmar(a, PPY) == pytest.approx(ep.calmar_ratio(gappy, annualization=365), rel=1e-10)
    flat = np.nan_to_num(a, nan=0.0)
    assert m.cagr(a, PPY) == pytest.approx(m.cagr(flat, PPY), rel=1e-12)
    assert math.isnan(m.cagr([np.nan, np.nan], PPY))  # no return at all: no growth rate


def test_a_curve_growing_at_a_constant_rate_has_no_risk_and_no_risk_ratio() -> None:
    """A book that grows by the same 0.1% every bar (cash earning a fixed rate) has returns equal up to float
    rounding (about 1e-16), and its Sharpe ratio came out near 1e14 (empyrical's too), as did the beta against
    such a benchmark: below the float noise there is no risk, and the ratios are undefined like those of exactly
    constant returns."""
    r = m.returns_from_equity(100.0 * 1.001 ** np.arange(60))
    assert 0 < np.std(r, ddof=1) < 1e-15  # the rounding left in the returns
    assert math.isnan(m.sharpe(r, PPY)) and math.isnan(m.sortino(r, PPY))
    assert np.isnan(m.rolling_sharpe(r, 10, PPY)).all()
    rng = np.random.default_rng(5)
    noisy = rng.normal(0.001, 0.02, r.size)
    assert m.alpha_beta(noisy, r, PPY) == (pytest.approx(math.nan, nan_ok=True), pytest.approx(math.nan, nan_ok=True))
    assert np.isnan(m.rolling_beta(noisy, r, 10)).all()
    tiny = 0.001 + rng.normal(0.0, 1e-9, r.size)  # a small real deviation is still a risk: the ratios are finite
    assert m.sharpe(tiny, PPY) == pytest.approx(np.mean(tiny) / np.std(tiny, ddof=1) * math.sqrt(PPY), rel=1e-12)
    assert m.alpha_beta(2 * tiny, tiny, PPY)[1] == pytest.approx(2.0, rel=1e-3)


def test_a_yearly_risk_free_rate_matches_quantstats_once_compounded_as_it_deannualises(series) -> None:  # type: ignore[no-untyped-def]
    """The documented difference: our per-bar rate is the yearly rate / bars a year, quantstats de-annualises its
    yearly rf geometrically; given the yearly rate that compounds to ours, its Sharpe and Sortino are ours."""
    r, btc = series
    rate = 0.04
    rf_bar = m.per_bar_rate(rate, PPY)
    compounded = (1 + rf_bar) ** PPY - 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert m.sharpe(r.to_numpy(), PPY, rf_bar) == pytest.approx(qs.stats.sharpe(r, rf=compounded, periods=365))
        assert m.sortino(r.to_numpy(), PPY, rf_bar) == pytest.approx(qs.stats.sortino(r, rf=compounded, periods=365))
        assert m.sharpe(r.to_numpy(), PPY, rf_bar) != pytest.approx(qs.stats.sharpe(r, rf=rate, periods=365), rel=1e-6)
        beta = qs.stats.greeks(r, btc, periods=365)["beta"]
    assert m.alpha_beta(r.to_numpy(), btc.to_numpy(), PPY)[1] == pytest.approx(beta, rel=1e-10)


def test_ruin_is_absorbing_a_wiped_out_curve_has_no_gains_after_it():
    """Below zero, raw ratios flip sign (-10 -> -20 reads +100%): the bar that wipes the book out returns -100% and
    every bar after it 0, so a wiped-out book never shows a positive Sharpe ratio or hit rate."""
    from defipm.core.metrics import hit_rate, returns_from_equity, sharpe, total_return

    r = returns_from_equity([100.0, 110.0, -10.0, -20.0, 5.0, 0.0])
    assert r.tolist() == [pytest.approx(0.1), -1.0, 0.0, 0.0, 0.0]
    assert total_return(r) == -1.0
    assert sharpe(r, 365) < 0 and hit_rate(r) == pytest.approx(0.5)  # one gain, one loss; flat bars do not count
    assert returns_from_equity([100.0, 0.0, 0.0]).tolist() == [-1.0, 0.0]  # no division by the zero
    assert np.isnan(returns_from_equity([0.0, 10.0, 20.0])).all()  # no stake to return on
    assert returns_from_equity([100.0, 90.0, 99.0]).tolist() == pytest.approx([-0.1, 0.1])  # untouched above zero
