"""Performance metrics of an equity curve: pure functions over numpy arrays, no I/O and no pandas.

Holds: ``returns_from_equity``, ``total_return``, ``cagr``, ``annual_volatility``, ``sharpe``, ``sortino``,
``drawdown``, ``max_drawdown``, ``max_drawdown_duration``, ``calmar``, ``hit_rate``, ``alpha_beta``,
``capm_expected_return``, ``per_bar_rate``, ``turnover``, ``exposures``, ``periods_per_year`` and ``summarize``
(all of them at once, as a ``PerformanceSummary``); over time: ``rolling_volatility``, ``rolling_sharpe``,
``rolling_beta``, ``returns_by_period`` (calendar months or years) and ``drawdown_periods`` (the worst drawdowns,
start to recovery).

Conventions (those of empyrical(-reloaded), which the tests compare against to 1e-10):
- ``returns`` are simple per-bar returns (``equity[t] / equity[t-1] - 1``); NaNs are ignored where noted.
- ``periods_per_year`` annualises: 365 daily bars a year for crypto, 8,760 hourly bars (``periods_per_year``
  derives it from the bar interval).
- ``risk_free`` is a per-bar rate; ``per_bar_rate`` turns a yearly rate into one arithmetically (rate / bars a
  year). quantstats takes a yearly ``rf`` and de-annualises it geometrically (``(1 + rf) ** (1 / periods) - 1``),
  so its Sharpe and Sortino with a risk-free rate differ from ours in the third decimal; give it
  ``rf = (1 + r / periods) ** periods - 1`` to compare.
- ``max_drawdown`` is negative (-0.25 = a 25% fall from the peak); durations are in bars (quantstats counts
  calendar days: the same for daily bars).
- Sharpe and volatility use the sample standard deviation (ddof=1); Sortino's downside risk is the root mean
  square of the returns below the target over all bars (Sortino and Price 1994; empyrical and quantstats alike),
  not the standard deviation of the losing bars alone.
- A ratio whose risk is zero (below ``RISK_FLOOR``) is NaN, where empyrical returns +-inf: undefined, and the
  JSON summary writes it as null. The parameter search ranks such a run as best when it made money.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import timedelta

import numpy as np
from numpy.typing import ArrayLike, NDArray

DAYS_PER_YEAR = 365.0
"""Crypto trades every day: a year is 365 days of bars."""

FloatArray = NDArray[np.float64]

RISK_FLOOR = 1e-12
"""A per-bar standard deviation (or downside deviation) at or below this is no risk: the ratios that divide by it
(Sharpe, Sortino, beta's benchmark variance, its square) are undefined, NaN, as for exactly constant returns. Each
return computed from an equity curve carries about 1e-16 of float rounding, so a curve growing at a constant rate
shows a deviation near 1e-16 and, divided by it, a Sharpe ratio near 1e14 (what empyrical and quantstats report);
any real book's deviation is many orders above the floor."""


def periods_per_year(interval: timedelta, days_per_year: float = DAYS_PER_YEAR) -> float:
    """Bars per year for a bar ``interval`` (1 day -> 365, 1 hour -> 8,760)."""
    seconds = interval.total_seconds()
    if seconds <= 0:
        raise ValueError(f"bar interval must be positive, got {interval}")
    return days_per_year * 86_400.0 / seconds


def per_bar_rate(annual_rate: float, periods_per_year: float) -> float:
    """The per-bar ``risk_free`` of an annual rate (0.04 = 4% a year): ``annual_rate / periods_per_year``, the
    arithmetic convention ``capm_expected_return`` annualises back with, so a 4% rate reads as 4% in the CAPM
    figure. Raises ``ValueError`` for a rate that is not finite or not above -1, or a non-positive year."""
    if not math.isfinite(annual_rate) or annual_rate <= -1:
        raise ValueError(f"the risk-free rate must be a finite yearly fraction above -1 (0.04 = 4%), got {annual_rate}")
    if not periods_per_year > 0:
        raise ValueError(f"periods_per_year must be positive, got {periods_per_year}")
    return annual_rate / periods_per_year


def _arr(values: ArrayLike) -> FloatArray:
    return np.asarray(values, dtype=np.float64).reshape(-1)


def returns_from_equity(equity: ArrayLike) -> FloatArray:
    """Simple per-bar returns of an equity curve (one fewer element than ``equity``).

    Ruin is absorbing: the bar on which equity first falls to zero or below returns -1 (the whole stake; what is
    owed beyond it is debt, not a return), and every bar after it returns 0, whatever the curve does next. Raw
    ratios of a curve below zero flip sign (-10 to -20 would read +100%) and after a zero they divide by it, which
    gave a positive Sharpe ratio and hit rate to a wiped-out book. A curve that starts at or below zero has no
    returns to speak of: all NaN."""
    eq = _arr(equity)
    if eq.size < 2:
        return np.empty(0)
    if not eq[0] > 0:
        return np.full(eq.size - 1, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = eq[1:] / eq[:-1] - 1.0
    ruined = np.flatnonzero(eq[1:] <= 0)
    if ruined.size:
        k = int(ruined[0])
        r[k] = -1.0
        r[k + 1 :] = 0.0
    return r


def equity_from_returns(returns: ArrayLike, start: float = 1.0) -> FloatArray:
    """Compounded equity curve of ``returns`` including the starting value (one more element)."""
    r = np.nan_to_num(_arr(returns), nan=0.0)
    return start * np.concatenate(([1.0], np.cumprod(1.0 + r)))


def total_return(returns: ArrayLike) -> float:
    """Compounded return over the whole series (0.5 = +50%)."""
    r = _arr(returns)
    r = r[~np.isnan(r)]
    return float(np.prod(1.0 + r) - 1.0) if r.size else 0.0


def cagr(returns: ArrayLike, periods_per_year: float) -> float:
    """Compound annual growth rate: ``(1 + total_return) ** (periods_per_year / len(returns)) - 1``, -1 when the
    growth is not positive (wiped out), NaN when no bar has a return.

    The years are ``len(returns) / periods_per_year``, every bar counted: a NaN bar passed without a known move
    and counts as flat, as in ``total_return`` (empyrical's ``cagr``, leading NaN included; quantstats' ``cagr``
    counts only the bars with a return, which shortens a series with gaps and overstates its yearly growth)."""
    r = _arr(returns)
    if r.size == 0 or np.isnan(r).all():
        return math.nan
    growth = 1.0 + total_return(r)
    if growth <= 0:
        return -1.0
    return float(growth ** (periods_per_year / r.size) - 1.0)


def annual_volatility(returns: ArrayLike, periods_per_year: float) -> float:
    """Sample standard deviation of the returns, scaled by ``sqrt(periods_per_year)``."""
    r = _arr(returns)
    r = r[~np.isnan(r)]
    if r.size < 2:
        return math.nan
    return float(np.std(r, ddof=1) * math.sqrt(periods_per_year))


def sharpe(returns: ArrayLike, periods_per_year: float, risk_free: float = 0.0) -> float:
    """Annualised Sharpe ratio of the excess returns: ``mean(r - rf) / std(r - rf, ddof=1) * sqrt(periods_per_year)``
    (empyrical's ``sharpe_ratio``, quantstats' ``sharpe``). NaNs are dropped; NaN with fewer than 2 returns or no
    volatility (``RISK_FLOOR``; empyrical gives inf)."""
    r = _arr(returns) - risk_free
    r = r[~np.isnan(r)]
    if r.size < 2:
        return math.nan
    std = np.std(r, ddof=1)
    if std <= RISK_FLOOR:
        return math.nan
    return float(np.mean(r) / std * math.sqrt(periods_per_year))


def downside_risk(returns: ArrayLike, periods_per_year: float, required_return: float = 0.0) -> float:
    """Annualised downside deviation: ``sqrt(mean(min(r - required_return, 0) ** 2)) * sqrt(periods_per_year)``,
    the mean taken over every bar (a bar above the target counts as 0), as Sortino and Price (1994) define it and
    empyrical's ``downside_risk`` and quantstats' ``sortino`` compute it. NaNs are dropped."""
    r = _arr(returns) - required_return
    r = r[~np.isnan(r)]
    if r.size == 0:
        return math.nan
    below = np.minimum(r, 0.0)
    return float(math.sqrt(float(np.mean(below * below))) * math.sqrt(periods_per_year))


def sortino(returns: ArrayLike, periods_per_year: float, required_return: float = 0.0) -> float:
    """Annualised Sortino ratio: ``mean(r - required_return) * periods_per_year / downside_risk(...)``, the target
    (minimum acceptable return) ``required_return`` a per-bar rate, the same in numerator and downside deviation
    (empyrical's ``sortino_ratio``). NaNs are dropped; NaN with fewer than 2 returns or no bar below the target
    (``RISK_FLOOR``; empyrical gives inf)."""
    r = _arr(returns)
    r = r[~np.isnan(r)]
    if r.size < 2:
        return math.nan
    risk = downside_risk(r, periods_per_year, required_return)
    if not risk > RISK_FLOOR * math.sqrt(periods_per_year):  # no bar below the target (or float noise): undefined
        return math.nan
    return float(np.mean(r - required_return) * periods_per_year / risk)


def drawdown(equity: ArrayLike) -> FloatArray:
    """Drawdown at each point: ``equity / running peak - 1`` (0 at a new high, negative below it)."""
    eq = _arr(equity)
    if eq.size == 0:
        return np.empty(0)
    return eq / np.maximum.accumulate(eq) - 1.0


def max_drawdown(returns: ArrayLike) -> float:
    """Deepest fall from a running peak of the compounded returns (negative; 0 when never under water).

    The peak includes the starting value, so a first-bar loss counts as a drawdown (empyrical's convention).
    """
    r = _arr(returns)
    if r.size == 0:
        return 0.0
    return float(np.min(drawdown(equity_from_returns(r))))


def max_drawdown_duration(returns: ArrayLike) -> int:
    """Bars spent under water in the episode holding the deepest drawdown: ``drawdown_periods``' deepest
    ``DrawdownPeriod.duration`` (0 when never under water), the one definition the report's tables share.

    Counts the bars from the first bar below the peak to the last one before the recovery (or the end of the
    series when it never recovers), as quantstats' ``drawdown_details`` counts days for daily bars.
    """
    r = _arr(returns)
    if r.size == 0:
        return 0
    deepest = drawdown_periods(equity_from_returns(r), top=1)
    return deepest[0].duration if deepest else 0


def calmar(returns: ArrayLike, periods_per_year: float) -> float:
    """CAGR over the absolute maximum drawdown (NaN when there is no drawdown)."""
    mdd = max_drawdown(returns)
    if mdd >= 0:
        return math.nan
    return cagr(returns, periods_per_year) / abs(mdd)


def hit_rate(returns: ArrayLike) -> float:
    """Share of winning bars among the bars that moved: returns of exactly zero and NaN are left out (quantstats'
    ``win_rate``). NaN when no bar moved, where quantstats gives 0: a run that never traded won and lost nothing."""
    r = _arr(returns)
    r = r[~np.isnan(r)]
    moved = r[r != 0]
    if moved.size == 0:
        return math.nan
    return float(np.count_nonzero(moved > 0) / moved.size)


def alpha_beta(
    returns: ArrayLike, benchmark: ArrayLike, periods_per_year: float, risk_free: float = 0.0
) -> tuple[float, float]:
    """CAPM (alpha, beta) of ``returns`` against ``benchmark`` returns of the same bars.

    beta = cov(r, b) / var(b) (population moments); alpha = (1 + mean(r - rf - beta (b - rf)))^periods_per_year - 1
    (annualised, compounded), empyrical's ``alpha_beta``. quantstats' ``greeks`` annualises alpha arithmetically
    (``mean(r - beta b) * periods``, no risk-free rate), which differs for a large alpha. Bars where either series
    is NaN are dropped; (NaN, NaN) with fewer than 2 bars or a benchmark that did not move (``RISK_FLOOR``).
    """
    r, b = _arr(returns), _arr(benchmark)
    if r.shape != b.shape:
        raise ValueError(f"returns ({r.size} bars) and benchmark ({b.size} bars) must cover the same bars")
    keep = ~(np.isnan(r) | np.isnan(b))
    r, b = r[keep], b[keep]
    if r.size < 2:
        return math.nan, math.nan
    b_res = b - b.mean()
    var = float(np.mean(b_res * b_res))
    if var <= RISK_FLOOR**2:  # a benchmark that did not move (or only by float noise)
        return math.nan, math.nan
    beta = float(np.mean(b_res * r)) / var
    excess = (r - risk_free) - beta * (b - risk_free)
    alpha = float((1.0 + np.mean(excess)) ** periods_per_year - 1.0)
    return alpha, beta


def capm_expected_return(beta: float, benchmark: ArrayLike, periods_per_year: float, risk_free: float = 0.0) -> float:
    """CAPM expected annual return (Sharpe 1964): ``rf + beta (E[R_m] - rf)``, with ``E[R_m]`` the benchmark's
    annualised arithmetic mean return (``mean(b) * periods_per_year``) and ``rf`` the per-bar ``risk_free``
    annualised the same way (``per_bar_rate`` inverted). Neither empyrical nor quantstats has this figure."""
    b = _arr(benchmark)
    b = b[~np.isnan(b)]
    if b.size == 0 or math.isnan(beta):
        return math.nan
    market = float(np.mean(b)) * periods_per_year
    rf = risk_free * periods_per_year
    return rf + beta * (market - rf)


def turnover(
    traded_notional: ArrayLike, equity: ArrayLike, periods_per_year: float, bars: int | None = None
) -> tuple[float, float]:
    """(total, annualised) turnover: traded notional summed over the run, over the mean equity.

    ``traded_notional`` and ``equity`` are per bar (zero notional on bars without trades). Two-way: buys and sells
    both count, so buying the book from cash is 1.0 and a full switch from one set of holdings to another 2.0
    (some sources halve it, the one-way turnover). The annual figure divides by the run's length in years:
    ``bars`` bars (default: one per equity value; an equity curve that starts with the initial capital spans one
    bar fewer).
    """
    traded, eq = _arr(traded_notional), _arr(equity)
    mean_equity = float(np.mean(eq)) if eq.size else 0.0
    if mean_equity <= 0 or eq.size == 0:
        return math.nan, math.nan
    total = float(np.sum(traded)) / mean_equity
    years = (eq.size if bars is None else bars) / periods_per_year
    return total, total / years if years > 0 else math.nan


def exposures(weights: ArrayLike) -> tuple[float, float]:
    """(mean gross, mean net) exposure of a bars x assets matrix of signed weights (NaN counts as 0)."""
    w = np.nan_to_num(np.asarray(weights, dtype=np.float64), nan=0.0)
    if w.ndim != 2 or w.shape[0] == 0:
        return 0.0, 0.0
    return float(np.mean(np.abs(w).sum(axis=1))), float(np.mean(w.sum(axis=1)))


def _windows(values: FloatArray, window: int) -> NDArray[np.float64]:
    """``values``' trailing windows of ``window`` bars, one row per bar from bar ``window - 1`` on."""
    if window < 2:
        raise ValueError(f"a rolling window needs at least 2 bars, got {window}")
    return np.lib.stride_tricks.sliding_window_view(values, window)


def _pad(values: FloatArray, n: int) -> FloatArray:
    """``values`` preceded by NaN up to ``n`` elements (the bars before the first full window)."""
    return np.concatenate((np.full(n - values.size, np.nan), values))


def rolling_volatility(returns: ArrayLike, window: int, periods_per_year: float) -> FloatArray:
    """Annualised volatility over the trailing ``window`` bars at each bar:
    ``std(r[t-window+1..t], ddof=1) * sqrt(periods_per_year)``; NaN before the first full window (and in a window
    holding a NaN). Same length as ``returns``."""
    r = _arr(returns)
    if r.size < window:
        return np.full(r.size, np.nan)
    return _pad(np.std(_windows(r, window), axis=1, ddof=1) * math.sqrt(periods_per_year), r.size)


def rolling_sharpe(returns: ArrayLike, window: int, periods_per_year: float, risk_free: float = 0.0) -> FloatArray:
    """Annualised Sharpe ratio over the trailing ``window`` bars at each bar (as ``sharpe``:
    ``mean(r - rf) / std(r - rf, ddof=1) * sqrt(periods_per_year)``); NaN before the first full window and where
    the window has no volatility. Same length as ``returns``."""
    r = _arr(returns) - risk_free
    if r.size < window:
        return np.full(r.size, np.nan)
    w = _windows(r, window)
    std = np.std(w, axis=1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(std > RISK_FLOOR, np.mean(w, axis=1) / std * math.sqrt(periods_per_year), np.nan)
    return _pad(out, r.size)


def rolling_beta(returns: ArrayLike, benchmark: ArrayLike, window: int) -> FloatArray:
    """Beta against ``benchmark`` returns (same bars) over the trailing ``window`` bars at each bar:
    ``cov(r, b) / var(b)`` (population moments, as ``alpha_beta``); NaN before the first full window and where the
    benchmark did not move. Same length as ``returns``."""
    r, b = _arr(returns), _arr(benchmark)
    if r.shape != b.shape:
        raise ValueError(f"returns ({r.size} bars) and benchmark ({b.size} bars) must cover the same bars")
    if r.size < window:
        return np.full(r.size, np.nan)
    wr, wb = _windows(r, window), _windows(b, window)
    b_res = wb - wb.mean(axis=1, keepdims=True)
    var = np.mean(b_res * b_res, axis=1)
    cov = np.mean(b_res * (wr - wr.mean(axis=1, keepdims=True)), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _pad(np.where(var > RISK_FLOOR**2, cov / var, np.nan), r.size)


def returns_by_period(returns: ArrayLike, periods: ArrayLike) -> list[tuple[object, float]]:
    """Compounded return of each period, in order: ``prod(1 + r) - 1`` over the bars labelled with it.

    ``periods`` gives each bar's label (e.g. its calendar year or month, as numpy ``datetime64[Y]``/``[M]``); the
    labels must be sorted, as bar times are. NaN returns count as 0. Returns ``[(label, return), ...]``."""
    r = np.nan_to_num(_arr(returns), nan=0.0)
    labels = np.asarray(periods).reshape(-1)
    if labels.shape != r.shape:
        raise ValueError(f"{labels.size} period labels for {r.size} returns: give one label per bar")
    if r.size == 0:
        return []
    starts = np.concatenate(([0], np.nonzero(labels[1:] != labels[:-1])[0] + 1))
    growth = np.multiply.reduceat(1.0 + r, starts)
    return [(labels[s], float(g - 1.0)) for s, g in zip(starts, growth, strict=True)]


@dataclass(frozen=True, slots=True)
class DrawdownPeriod:
    """One drawdown of an equity curve, as indices into it (the curve's first value is the start capital)."""

    start: int
    """The peak it fell from (the last value at the running high before the fall)."""
    trough: int
    """The lowest value of the episode."""
    recovery: int | None
    """The first value back at (or above) the peak; None when the curve ends under water."""
    depth: float
    """``equity[trough] / equity[start] - 1`` (negative)."""
    duration: int
    """Bars under water: from the first value below the peak to the last one before the recovery, or to the
    curve's end when it never recovers (``max_drawdown_duration`` is the deepest episode's)."""


def drawdown_periods(equity: ArrayLike, top: int = 5) -> list[DrawdownPeriod]:
    """The ``top`` deepest drawdowns of ``equity`` (deepest first; an earlier episode first among equally deep
    ones): each episode runs from a running high to the first value back at that high (or the end of the curve),
    its depth is the trough against that high. The one computation of drawdown episodes: the metrics' duration
    and the report's table of the worst drawdowns both read it."""
    eq = _arr(equity)
    dd = drawdown(eq)
    under = np.concatenate(([False], dd < 0, [False]))
    edges = np.diff(under.astype(np.int8))
    firsts = np.nonzero(edges == 1)[0]  # first value under water of each episode
    if firsts.size == 0:
        return []
    ends = np.nonzero(edges == -1)[0]  # first value back at the high (== dd.size when never recovered)
    depths = np.minimum.reduceat(dd, firsts)  # each segment's minimum lies in its under-water part
    out: list[DrawdownPeriod] = []
    # deepest first; depths equal to 12 decimals are a tie, kept in time order (a curve rebuilt from its returns
    # differs in the last bits, and must name the same episode as the deepest)
    for i in np.argsort(np.round(depths, 12), kind="stable")[:top]:
        first, end = int(firsts[i]), int(ends[i])
        trough = first + int(np.argmin(eq[first:end]))  # the peak is fixed within an episode: exact in equity
        recovery = end if end < dd.size else None
        out.append(DrawdownPeriod(first - 1, trough, recovery, float(dd[trough]), end - first))
    return out


@dataclass(frozen=True, slots=True)
class PerformanceSummary:
    """Every figure of one equity curve. Ratios are fractions (0.12 = 12%); durations are in bars."""

    periods_per_year: float
    bars: int
    """Bars the run spans (returns: one fewer than the equity curve's values, which start with the initial capital)."""
    start_equity: float
    end_equity: float
    total_return: float
    cagr: float
    annual_volatility: float
    sharpe: float
    sortino: float
    max_drawdown: float
    max_drawdown_duration: int
    calmar: float
    hit_rate: float
    turnover: float
    annual_turnover: float
    fees_paid: float
    funding_paid: float
    gross_exposure: float
    net_exposure: float
    alpha: float
    beta: float
    capm_expected_return: float
    benchmark_total_return: float
    benchmark_cagr: float

    def to_dict(self) -> dict[str, float | int | None]:
        """JSON-ready dict: NaN and infinities become None."""
        out: dict[str, float | int | None] = {}
        for key, value in asdict(self).items():
            out[key] = None if isinstance(value, float) and not math.isfinite(value) else value
        return out


def summarize(
    equity: ArrayLike,
    periods_per_year: float,
    *,
    benchmark_equity: ArrayLike | None = None,
    traded_notional: ArrayLike | None = None,
    fees: ArrayLike | None = None,
    funding: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    risk_free: float = 0.0,
) -> PerformanceSummary:
    """All figures of an equity curve (one value per bar, the first being the starting equity).

    ``benchmark_equity`` (same bars) gives alpha, beta and the CAPM expected return; ``traded_notional``,
    ``fees`` and ``funding`` are per-bar amounts in quote currency; ``weights`` a bars x assets matrix.
    """
    eq = _arr(equity)
    if eq.size < 2:
        raise ValueError(f"an equity curve needs at least 2 points, got {eq.size}")
    r = returns_from_equity(eq)
    alpha = beta = capm = bench_total = bench_cagr = math.nan
    if benchmark_equity is not None:
        bench = _arr(benchmark_equity)
        if bench.size != eq.size:
            raise ValueError(f"benchmark has {bench.size} points, equity has {eq.size}")
        b = returns_from_equity(bench)
        alpha, beta = alpha_beta(r, b, periods_per_year, risk_free)
        capm = capm_expected_return(beta, b, periods_per_year, risk_free)
        bench_total, bench_cagr = total_return(b), cagr(b, periods_per_year)
    turn_total, turn_annual = (
        turnover(traded_notional, eq, periods_per_year, bars=eq.size - 1) if traded_notional is not None else (0.0, 0.0)
    )
    gross, net = exposures(weights) if weights is not None else (math.nan, math.nan)
    return PerformanceSummary(
        periods_per_year=periods_per_year,
        bars=int(eq.size) - 1,
        start_equity=float(eq[0]),
        end_equity=float(eq[-1]),
        total_return=total_return(r),
        cagr=cagr(r, periods_per_year),
        annual_volatility=annual_volatility(r, periods_per_year),
        sharpe=sharpe(r, periods_per_year, risk_free),
        sortino=sortino(r, periods_per_year, risk_free),
        max_drawdown=max_drawdown(r),
        max_drawdown_duration=max_drawdown_duration(r),
        calmar=calmar(r, periods_per_year),
        hit_rate=hit_rate(r),
        turnover=turn_total,
        annual_turnover=turn_annual,
        fees_paid=float(np.sum(_arr(fees))) if fees is not None else 0.0,
        funding_paid=float(np.sum(_arr(funding))) if funding is not None else 0.0,
        gross_exposure=gross,
        net_exposure=net,
        alpha=alpha,
        beta=beta,
        capm_expected_return=capm,
        benchmark_total_return=bench_total,
        benchmark_cagr=bench_cagr,
    )
