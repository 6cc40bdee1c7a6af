"""One rebalance of a spot book in arrays: the planner's targets, priced by the paper venue's cost function.

The environment must charge what a backtest of the same policy would be charged, so this follows, in floats over
all assets at once, what ``PortfolioManager`` -> ``plan_rebalance`` -> ``PaperVenue`` do in exact decimals
order by order (``tests/rl/test_backtest_parity.py`` checks the equity of both to 1e-6):

1. Equity ``E = cash + sum(units x price)``. With the planner's fee reserve, the expected costs
   ``sum |w E - value| x (taker_fee + cost_reserve_bps / 1e4)`` are kept back: targets are ``w x (E - reserve)``.
2. Trades smaller than the no-trade band (a share of ``E``) are skipped unless they close a position; trades
   below the minimum notional are skipped.
3. Every trade is priced by the paper venue's cost function (``defipm.venues.paper.fill_model``: ``fill_costs``,
   through its ``FillCostTable`` of the bars' volume terms) over the arrays: the filled notional (participation
   cap, partial fills), the slippage (bounded) and the fee at the fill price.
4. Sells first (their proceeds are cash), then buys in symbol order; a buy the cash cannot pay for is refused
   whole, as the spot venue refuses it.

The quantities differ from the venue's only by its rounding of sizes to whole steps (1e-8 by default).

``Rebalancer`` prepares the bars of a span once (the environment's every step); ``rebalance`` is one step at one
bar's prices.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from defipm.backtest.config import CostModel
from defipm.core.planner import PlannerConfig
from defipm.venues.paper.fill_model import FillCostTable, SlippageModel


@dataclass(frozen=True, slots=True)
class ExecutionModel:
    """The cost and planning settings a rebalance is priced with (read from the backtest's own settings)."""

    slippage: SlippageModel
    taker_fee: float
    reserve_rate: float
    """Share of traded notional kept back for costs: taker fee + ``cost_reserve_bps`` (0 without a reserve)."""
    no_trade_band: float = 0.0
    min_notional: float = 0.0

    @classmethod
    def of(cls, costs: CostModel, planner: PlannerConfig | None = None) -> ExecutionModel:
        """The execution a backtest with ``costs`` and ``planner`` gets from the paper venue."""
        plan = planner or PlannerConfig()
        reserve = costs.taker_fee + plan.cost_reserve_bps / 1e4 if plan.reserve_fees else 0.0
        return cls(costs.slippage_model(), costs.taker_fee, reserve, plan.no_trade_band, costs.min_notional)


class Trade(NamedTuple):
    """What one rebalance cost and moved, per asset, in quote currency (summed where they are reported: the
    environment's steps skip the sums)."""

    fees: NDArray[np.float64]
    slippage: NDArray[np.float64]
    """What fills cost against the mid (filled notional x slippage)."""
    traded: NDArray[np.float64]
    """Filled notional, buys and sells."""


@dataclass(slots=True)
class Book:
    """A spot book: units held per asset and cash (quote currency)."""

    units: NDArray[np.float64]
    cash: float

    @classmethod
    def empty(cls, assets: int, cash: float) -> Book:
        return cls(np.zeros(assets), float(cash))

    def equity(self, prices: NDArray[np.float64]) -> float:
        return self.cash + float(self.units @ prices)

    def weights(self, prices: NDArray[np.float64]) -> tuple[NDArray[np.float64], float]:
        """(asset weights, cash weight) of the book at ``prices``; all zero when equity is not positive."""
        values = self.units * prices
        equity = self.cash + float(values.sum())
        if equity <= 0:
            return np.zeros_like(values), 0.0
        return values / equity, self.cash / equity


class Rebalancer:
    """Rebalances of books over a table of bars, prepared once: the bars' closes, the fill costs' volume terms of
    every bar (``FillCostTable``, the paper venue's cost function), the model's few numbers and scratch arrays.
    ``prices`` and ``volumes`` are ``(bars, assets)`` (volume NaN: unknown); ``order`` is the asset order buys are
    sent in (by symbol). A rebalance is then some 25 numpy calls on arrays, outputs given by position (the
    environment makes one every step; see ``fill_model._priced`` for why). Not for sharing between threads."""

    __slots__ = ("_costs", "_delta", "_prices", "_scale", "_work", "_zero", "model", "order")

    def __init__(
        self, model: ExecutionModel, prices: NDArray[np.float64], volumes: NDArray[np.float64], order: Sequence[int]
    ) -> None:
        self.model, self.order = model, order
        self._prices = list(prices)  # rows as views made once
        self._costs = FillCostTable(model.slippage, volumes, model.taker_fee)
        assets = prices.shape[1:]
        self._delta, self._scale, self._work = np.empty(assets), np.empty(assets), np.empty(assets)
        self._zero = np.zeros(assets)

    def __call__(
        self,
        book: Book,
        bar: int,
        target: NDArray[np.float64],
        values: NDArray[np.float64],
        equity: float,
        total: float = 1.0,
    ) -> Trade:
        """Move ``book`` toward the weights ``target / total`` (long only, summing to at most 1) at the closes of
        ``bar``; ``values`` and ``equity`` are the book's position values and equity there. Mutates ``book`` (its
        ``units`` become a new array) and returns the costs (new arrays)."""
        if not equity > 0:
            return no_trade(len(values))
        model, delta, scale, work = self.model, self._delta, self._scale, self._work
        scale.fill(equity / total)  # an array operand: numpy converts a Python float on every call
        np.subtract(np.multiply(target, scale, delta), values, delta)
        if model.reserve_rate:
            investable = equity - sum(np.abs(delta, work).tolist()) * model.reserve_rate
            if investable > 0:
                scale.fill(investable / total)
                np.subtract(np.multiply(target, scale, delta), values, delta)
            else:
                np.negative(values, delta)
        if model.min_notional or model.no_trade_band:
            delta = _without_small(delta, target, values, equity, model)
        filled, slip, fee = self._costs.costs(bar, delta)
        n = len(delta)
        moved, signed = np.multiply(filled, slip, np.empty(n)), np.copysign(filled, delta, np.empty(n))
        outflow = np.add(np.add(signed, moved, work), fee, work)  # a buy's filled + slippage + fee; minus a sell's
        change = -sum(outflow.tolist())  # filled - slippage - fee (a list's sum: a tenth of numpy's call cost)
        if book.cash + change < 0:  # sells come first and buys only spend: all are paid for unless the end is short
            filled, flow = _affordable(book.cash, filled, -outflow, delta < 0, self.order)
            moved, fee, change = filled * slip, np.where(filled > 0, fee, 0.0), sum(flow.tolist())
            signed = np.copysign(filled, delta)
        book.cash += change
        units = np.add(np.divide(signed, self._prices[bar], signed), book.units, signed)  # units + signed / prices
        book.units = np.maximum(units, self._zero, out=units)
        return _new_trade(Trade, (fee, moved, filled))


def rebalance(
    book: Book,
    prices: NDArray[np.float64],
    volumes: NDArray[np.float64],
    target: NDArray[np.float64],
    model: ExecutionModel,
    order: Sequence[int],
) -> Trade:
    """One ``Rebalancer`` step of ``book`` toward ``target`` weights at one bar's ``prices`` and ``volumes``
    (``(assets,)``; volume NaN: unknown). Mutates ``book`` and returns the costs."""
    values = book.units * prices
    equity = book.cash + sum(values.tolist())
    return Rebalancer(model, prices[np.newaxis], volumes[np.newaxis], order)(book, 0, target, values, equity)


_new_trade = tuple.__new__
"""Builds a ``Trade`` without the generated ``__new__``'s argument binding (the environment's every step)."""


def no_trade(assets: int) -> Trade:
    zero = np.zeros(assets)
    return Trade(zero, zero, zero)


def _without_small(
    delta: NDArray[np.float64],
    target: NDArray[np.float64],
    values: NDArray[np.float64],
    equity: float,
    model: ExecutionModel,
) -> NDArray[np.float64]:
    """``delta`` with the planner's skipped trades at 0: below the minimum notional, or inside the no-trade band
    unless they close a position."""
    size = np.abs(delta)
    skip = size < model.min_notional
    if model.no_trade_band > 0:
        closing = (target == 0) & (values > 0)
        skip |= (size < model.no_trade_band * equity) & ~closing
    return np.where(skip, 0.0, delta)


def _affordable(
    cash: float,
    filled: NDArray[np.float64],
    flow: NDArray[np.float64],
    sell: NDArray[np.bool_],
    order: Sequence[int],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The fills and cash flows once the buys the cash cannot pay for are refused: sells first, then buys in
    ``order``; a buy costing more than the cash left is refused whole (the spot venue's rule). In plain floats:
    a loop over numpy scalars would cost more than the whole rebalance."""
    fills, flows, sells = filled.tolist(), flow.tolist(), sell.tolist()
    left = cash + sum(f for f, s in zip(flows, sells, strict=True) if s)
    for i in order:
        if sells[i] or not fills[i]:
            continue
        if left + flows[i] < 0:
            fills[i] = flows[i] = 0.0
        else:
            left += flows[i]
    return np.array(fills), np.array(flows)
