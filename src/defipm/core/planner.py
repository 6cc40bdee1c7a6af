"""The weights-to-orders planner: a pure function from account state, prices, target weights and venue rules to
an ordered list of orders plus the trades it chose to skip (with reasons).

Guarantees (tested as properties):
- reductions (and the closing half of a flip) come before increases, so margin is freed before it is used;
- target sizes are rounded toward zero, reductions are rounded up (never past zero), so rounding never leaves
  gross exposure above the target;
- changes smaller than ``no_trade_band`` x equity are skipped, except closing a position the target drops;
- orders under the venue's minimum notional are skipped and reported;
- positions absent from the target are closed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, Decimal

from defipm.core.errors import MissingPriceError
from defipm.core.instruments import DEFAULT_RULES, InstrumentRules
from defipm.core.orders import Order, OrderType, Plan, Side, SkippedOrder
from defipm.core.weights import Weights

ZERO = Decimal(0)
_BUY, _SELL = Side.BUY, Side.SELL
RulesLookup = Mapping[str, InstrumentRules] | Callable[[str], InstrumentRules]


@dataclass(frozen=True, slots=True)
class PlannerConfig:
    """How targets become orders.

    no_trade_band: skip a change smaller than this share of equity (0.002 = 0.2%).
    reserve_fees: shrink targets by the estimated taker fees so a fully invested spot book stays solvent.
    cost_reserve_bps: shrink targets further by this many basis points of traded notional (expected slippage),
        so that after costs the book does not end above the target gross.
    order_type: order type of every planned order.
    limit_slippage: for LIMIT_IOC orders, the worst price as a fraction away from the mid (0.01 = 1%).
    """

    no_trade_band: float = 0.0
    reserve_fees: bool = True
    cost_reserve_bps: float = 0.0
    order_type: OrderType = OrderType.MARKET
    limit_slippage: float | None = None


def _rules_getter(rules: RulesLookup | None) -> Callable[[str], InstrumentRules]:
    if rules is None:
        return lambda _s: DEFAULT_RULES
    if callable(rules) and not isinstance(rules, Mapping):
        return rules
    mapping: Mapping[str, InstrumentRules] = rules
    return lambda s: mapping.get(s, DEFAULT_RULES)


def _ceil_to_step(quantity: Decimal, step: Decimal) -> Decimal:
    return (quantity / step).to_integral_value(rounding=ROUND_CEILING) * step


def plan_rebalance(
    positions: Mapping[str, Decimal],
    prices: Mapping[str, Decimal],
    equity: Decimal,
    target: Weights,
    rules: RulesLookup | None = None,
    config: PlannerConfig | None = None,
    client_order_id: Callable[[], str] | None = None,
) -> Plan:
    """Orders that move ``positions`` toward ``target`` weights of ``equity``. Pure; raises only on missing prices.

    ``client_order_id``, when given, stamps each order with a fresh id (the journal's id source)."""
    cfg = config or PlannerConfig()
    get_rules = _rules_getter(rules)
    held = {s: q for s, q in positions.items() if q}
    symbols = sorted(set(held) | {s for s, w in target.items() if w})
    missing = [s for s in symbols if not (s in prices and prices[s] > 0)]
    if missing:
        raise MissingPriceError(f"no usable price for: {', '.join(missing)}")

    exact = {s: Decimal(repr(w)) for s, w in target.items() if w}
    rules_of = {s: get_rules(s) for s in symbols}
    investable = equity
    if cfg.reserve_fees and equity > 0:
        est_fees = ZERO
        reserve = Decimal(repr(cfg.cost_reserve_bps)) / 10_000
        for s in symbols:
            trade = abs(exact.get(s, ZERO) * equity - held.get(s, ZERO) * prices[s])
            est_fees += trade * (rules_of[s].taker_fee + reserve)
        investable = equity - est_fees
    band_value = Decimal(repr(cfg.no_trade_band)) * equity if cfg.no_trade_band > 0 else ZERO

    reductions: list[Order] = []
    increases: list[Order] = []
    skipped: list[SkippedOrder] = []
    order_type = cfg.order_type
    limit_slip = (
        Decimal(repr(cfg.limit_slippage))
        if order_type is not OrderType.MARKET and cfg.limit_slippage is not None
        else None
    )
    can_invest = investable > 0

    for s in symbols:
        r = rules_of[s]
        price = prices[s]
        current = held.get(s, ZERO)
        w = exact.get(s, ZERO)
        if w and can_invest:
            steps = ((w if w > 0 else -w) * investable / (price * r.size_step)).to_integral_value(rounding=ROUND_DOWN)
            target_qty = steps * r.size_step if w > 0 else -steps * r.size_step
        else:
            target_qty = ZERO
        delta = target_qty - current
        if not delta:
            continue
        abs_delta = delta if delta > 0 else -delta
        if target_qty and abs_delta * price < band_value:
            skipped.append(SkippedOrder(s, delta, f"inside no-trade band ({cfg.no_trade_band:.4%} of equity)"))
            continue
        abs_current = current if current >= 0 else -current

        legs: list[tuple[Decimal, bool]] = []  # (signed quantity, reduce_only)
        if current and (not target_qty or (current > 0) != (target_qty > 0)):
            if target_qty and r.min_notional_on_close and abs_current * price < r.min_notional:
                # the closing half of this flip is too small to send alone: one order through zero instead
                qty = r.round_size(abs_delta)
                if qty:
                    legs.append((qty if delta > 0 else -qty, False))
            else:
                legs.append((-current, True))  # full close (also the first half of a flip)
                if target_qty:
                    legs.append((target_qty, False))
        elif (target_qty if target_qty >= 0 else -target_qty) < abs_current:
            qty = min(abs_current, _ceil_to_step(abs_delta, r.size_step))
            legs.append((qty if delta > 0 else -qty, True))
        else:
            qty = r.round_size(abs_delta)
            if qty:
                legs.append((qty if delta > 0 else -qty, False))

        for signed_qty, reduce_only in legs:
            size = signed_qty if signed_qty > 0 else -signed_qty
            notional = size * price
            if notional < r.min_notional and (not (reduce_only and size == abs_current) or r.min_notional_on_close):
                skipped.append(
                    SkippedOrder(s, signed_qty, f"notional {notional:.2f} below minimum notional {r.min_notional}")
                )
                continue
            side = _BUY if signed_qty > 0 else _SELL
            limit_price = None
            if limit_slip is not None:
                raw = price * (1 + limit_slip) if side is _BUY else price * (1 - limit_slip)
                limit_price = r.round_price(raw, up=side is _SELL)
            cloid = client_order_id() if client_order_id is not None else None
            order = Order(s, side, size, order_type, limit_price, reduce_only, cloid, price)
            (reductions if reduce_only else increases).append(order)

    return Plan(orders=tuple(reductions + increases), skipped=tuple(skipped))
