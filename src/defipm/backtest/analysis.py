"""What a backtest's records imply, for its report and exports: positions, trades and each asset's P&L.

``BacktestResult`` keeps, per bar, the equity and the weights after that bar's trades; with the bar closes the
replay marked them at (``closes_for``), the holdings follow: ``quantity = weight * equity / close``. The trades are
the replay's own fills (``BacktestResult.fills``): each with its fill price, the close it was sized at, its fee and
its slippage, so they add up to the per-bar ``traded_notional``, ``fees`` and ``slippage``. Funding is a per-bar
total, reported beside the assets' price P&L. Nothing here trades or re-prices: it reads the records.

Accounting identity the tests pin: the assets' price P&L minus fees, slippage and funding equals the equity's
change, up to a ``residual`` (liquidation penalties, float rounding) that is reported, not hidden.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from defipm.backtest.result import BacktestResult
from defipm.data.panel import PricePanel


def closes_for(result: BacktestResult, panel: PricePanel) -> NDArray[np.float64]:
    """The closes of ``panel`` on the result's bars, in its symbol order (bars x symbols; NaN where unlisted).

    Raises ``ValueError`` naming the first bar or symbol of the result the panel lacks."""
    rows = np.searchsorted(panel.timestamps, result.timestamps)
    if (rows >= len(panel)).any() or (panel.timestamps[np.minimum(rows, len(panel) - 1)] != result.timestamps).any():
        raise ValueError("the price panel does not hold every bar of the backtest: pass the panel it replayed")
    missing = [s for s in result.symbols if s not in panel.symbols]
    if missing:
        raise ValueError(f"the price panel lacks symbol {missing[0]!r} of the backtest: pass the panel it replayed")
    cols = np.array([panel.column(s) for s in result.symbols], dtype=np.int64)
    return np.asarray(panel.close[np.ix_(rows, cols)], dtype=np.float64)


def positions(result: BacktestResult, closes: NDArray[np.float64]) -> NDArray[np.float64]:
    """Quantities held after each bar (bars x symbols): ``weight * equity / close`` (0 where there is no price)."""
    px = np.nan_to_num(closes, nan=0.0)
    held = result.weights * result.equity[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(px > 0, held / np.where(px > 0, px, 1.0), 0.0)


@dataclass(frozen=True, slots=True)
class Trade:
    """One fill of the replay (quote currency amounts)."""

    bar: int
    symbol: str
    quantity: float
    """Signed: positive bought, negative sold."""
    fill_price: float
    """What it filled at: the close moved by the fill model's slippage."""
    close: float
    """The bar close it was sized at (the order's reference price; a liquidation's mark)."""
    fee: float
    slippage: float
    """What the fill cost against ``close`` (positive = paid): ``(fill_price - close) * quantity``."""
    liquidation: bool = False
    """A liquidation's closing fill (not an order of a rebalance)."""

    @property
    def side(self) -> str:
        return "buy" if self.quantity > 0 else "sell"

    @property
    def notional(self) -> float:
        """The fill notional: ``|quantity| * fill_price`` (what ``traded_notional`` sums)."""
        return abs(self.quantity) * self.fill_price


def trades(result: BacktestResult) -> list[Trade]:
    """Every fill of the run (``BacktestResult.fills``), in the order they happened: a rebalance's orders and a
    liquidation's closes alike. Per bar their notional, fees and slippage sum to the result's ``traded_notional``,
    ``fees`` and ``slippage``."""
    f = result.fills
    names = result.symbols
    return [
        Trade(int(k), names[j], q, p, c, fee, slip, bool(liq))
        for k, j, q, p, c, fee, slip, liq in zip(
            f.bar.tolist(), f.symbol.tolist(), f.quantity.tolist(), f.price.tolist(), f.mark.tolist(),
            f.fee.tolist(), f.slippage.tolist(), f.liquidation.tolist(), strict=True,
        )
    ]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Attribution:
    """Where the run's P&L came from, in quote currency: each asset's price P&L, the costs, what is left over."""

    by_asset: dict[str, float]
    """Symbol -> sum over bars of ``quantity held before the bar * (close - previous close)``."""
    fees: float
    slippage: float
    funding: float
    """Paid (negative = received)."""
    total: float
    """Final equity minus initial cash."""

    @property
    def residual(self) -> float:
        """What the assets and costs do not explain (liquidation penalties, rounding)."""
        return self.total - (sum(self.by_asset.values()) - self.fees - self.slippage - self.funding)


def attribution(result: BacktestResult, closes: NDArray[np.float64]) -> Attribution:
    """Each asset's price P&L and the run's costs; see the module doc for the identity they satisfy."""
    q = positions(result, closes)
    px = np.nan_to_num(closes, nan=0.0)
    held_before = np.vstack((np.zeros((1, q.shape[1])), q[:-1]))
    moves = np.diff(px, axis=0, prepend=px[:1])
    pnl = (held_before * moves).sum(axis=0)
    return Attribution(
        by_asset={s: float(pnl[j]) for j, s in enumerate(result.symbols) if held_before[:, j].any() or q[:, j].any()},
        fees=float(result.fees.sum()),
        slippage=float(result.slippage.sum()),
        funding=float(result.funding.sum()),
        total=float(result.equity[-1] - result.config.initial_cash),
    )


def top_weights(
    weights: NDArray[np.float64], symbols: tuple[str, ...], n: int
) -> list[tuple[str, NDArray[np.float64]]]:
    """The ``n`` symbols with the largest mean absolute weight (largest first), then "other": the rest summed
    (only when there is a rest that ever held anything). Each entry is (name, weights per bar)."""
    size = np.abs(weights).mean(axis=0) if weights.size else np.zeros(len(symbols))
    order = [int(j) for j in np.argsort(-size, kind="stable") if size[j] > 0]
    shown = [(symbols[j], weights[:, j]) for j in order[:n]]
    rest = order[n:]
    if rest:
        shown.append(("other", weights[:, rest].sum(axis=1)))
    return shown
