"""The weights-to-orders planner: a pure function from account state, prices, target weights and venue rules to
an ordered list of orders plus the trades it chose to skip (each with a ``SkipReason`` and a sentence).

Guarantees (tested as properties):
- reductions (and the closing half of a flip) come before increases, so margin is freed before it is used;
- target sizes are rounded toward zero, reductions are rounded up (never past zero), so rounding never leaves
  gross exposure above the target;
- changes smaller than ``no_trade_band`` x equity are skipped, except closing a position the target drops;
- a target, or a change, of less than one size step is skipped and reported (``SkipReason.STEP_ROUNDING``);
- orders under the venue's minimum notional are skipped and reported, and so are orders whose fixed cost
  (``InstrumentRules.order_cost``, e.g. gas) is above ``max_cost_share`` of their notional;
- a size that exact arithmetic cannot represent (more than 28 significant digits of size steps, e.g. at a price
  of 1e-17) is skipped and reported, never an error;
- positions absent from the target are closed;
- with ``spot_slippage_cap_bps`` or ``spot_slippage`` set (a spot, cash-only account), the buys' worst-case cost
  (the price moved by the cap, or by each order's own worst slippage, plus the taker fee and fixed order cost) never
  exceeds the cash plus the sells' worst-case proceeds: the buys are scaled down together (each floored to its size
  step) when a fully invested target leaves no room.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import ROUND_FLOOR, Decimal, InvalidOperation, localcontext

from defipm.core.amounts import format_amount
from defipm.core.errors import MissingPriceError
from defipm.core.instruments import DEFAULT_RULES, InstrumentRules
from defipm.core.orders import Order, OrderType, Plan, Side, SkippedOrder, SkipReason
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
    spot_slippage_cap_bps: for a spot (cash-only) account, the worst adverse fill move in basis points (the venue's
        slippage cap, 0 without slippage); the buys are then fitted into the cash left after the sells, fees and
        this move. None: no cash check (a margin account).
    spot_slippage: for a spot account, each order's worst adverse fill move as a fraction of its reference price
        (the venue's fill model at the order's size), in place of one cap for all; turns the cash check on.
    """

    no_trade_band: float = 0.0
    reserve_fees: bool = True
    cost_reserve_bps: float = 0.0
    order_type: OrderType = OrderType.MARKET
    limit_slippage: float | None = None
    spot_slippage_cap_bps: float | None = None
    spot_slippage: Callable[[Order], float] | None = None


_DEFAULT = PlannerConfig()
_BAND = SkipReason.NO_TRADE_BAND


def _below_one_step(symbol: str, change: Decimal, step: Decimal) -> SkippedOrder:
    """The skip of a change smaller than one size step (it rounds to no order)."""
    return SkippedOrder(
        symbol,
        change,
        SkipReason.STEP_ROUNDING,
        f"{symbol}: a change of {format_amount(change, 6)} is less than one size step {format_amount(step)}",
    )


def _too_small(
    symbol: str, size: Decimal, price: Decimal, r: InstrumentRules, closes: bool, buy: bool
) -> SkippedOrder | None:
    """The skip of an order below the minimum notional (a full close only under ``min_notional_on_close``) or whose
    fixed cost is above ``max_cost_share`` of its notional; None when it may be sent."""
    notional = size * price
    if notional < r.min_notional and (not closes or r.min_notional_on_close):
        detail = f"notional {notional:.2f} below minimum notional {format_amount(r.min_notional)}"
        return SkippedOrder(symbol, size if buy else -size, SkipReason.MIN_NOTIONAL, detail)
    if r.max_cost_share is not None and r.order_cost > notional * r.max_cost_share:
        detail = f"order cost {r.order_cost:.6g} above {r.max_cost_share:.2%} of notional {notional:.2f}"
        return SkippedOrder(symbol, size if buy else -size, SkipReason.ORDER_COST, detail)
    return None


def _rules_getter(rules: RulesLookup | None) -> Callable[[str], InstrumentRules]:
    if rules is None:
        return lambda _s: DEFAULT_RULES
    if callable(rules) and not isinstance(rules, Mapping):
        return rules
    mapping: Mapping[str, InstrumentRules] = rules
    return lambda s: mapping.get(s, DEFAULT_RULES)


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

    ``client_order_id``, when given, stamps each order with a fresh id (the journal's id source).

    This runs for every symbol at every rebalance of a backtest, so it is written for speed: one pass for prices,
    rules and the fee reserve, one for the orders. Sizes are floored with exact ``Decimal`` floor division (the
    properties in ``tests/core/test_planner.py`` pin the guarantees above)."""
    cfg = config or _DEFAULT
    get_rules = _rules_getter(rules)
    held = {s: q for s, q in positions.items() if q}
    wanted = {s: w for s, w in target.items() if w}
    symbols = sorted(held.keys() | wanted.keys())

    converted: dict[float, Decimal] = {}  # oracles often repeat one weight (equal weight, top/bottom N)
    for w in wanted.values():
        if w not in converted:
            converted[w] = Decimal(repr(w))
    reserve = cfg.reserve_fees and equity > 0
    extra = Decimal(repr(cfg.cost_reserve_bps)) / 10_000 if reserve and cfg.cost_reserve_bps else None
    est_fees = ZERO
    rows: list[tuple[str, InstrumentRules, Decimal, Decimal, float | None]] = []
    """(symbol, rules, price, position, target weight) of each priced symbol, in symbol order."""
    missing = []
    for s in symbols:
        p = prices.get(s)
        if p is None or not p > 0:
            missing.append(s)
            continue
        r = get_rules(s)
        current = held.get(s, ZERO)
        wf = wanted.get(s)
        rows.append((s, r, p, current, wf))
        if reserve:  # taker fees (and the expected slippage) on the notional each symbol will trade
            trade = (converted[wf] * equity if wf is not None else ZERO) - current * p
            if trade < ZERO:
                trade = -trade
            est_fees += trade * (r.taker_fee + extra if extra is not None else r.taker_fee)
            if r.order_cost and trade:
                est_fees += r.order_cost
    if missing:
        raise MissingPriceError(f"no usable price for: {', '.join(missing)}")
    investable = equity - est_fees if reserve else equity
    band_value = Decimal(repr(cfg.no_trade_band)) * equity if cfg.no_trade_band > 0 else ZERO
    band_text = f"inside no-trade band ({cfg.no_trade_band:.4%} of equity)"  # formatted once, not per symbol

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
    shares: dict[float, Decimal] = {}  # weight -> weight x investable, once per distinct weight (a float key hashes
    # far faster than a Decimal one)

    for s, r, price, current, wf in rows:
        try:
            step = r.size_step
            target_qty = ZERO
            if wf is not None and can_invest:
                share = shares.get(wf)
                if share is None:
                    share = shares[wf] = converted[wf] * investable
                # whole steps toward zero: Decimal ``//`` truncates toward zero, exactly (``/`` would round to 28
                # digits first, possibly up); ``(-x) * y`` is exactly ``-(x * y)``, so a short rounds as a long
                target_qty = share // (price * step) * step
            delta = target_qty - current
            if not delta:
                if wf is not None and not current and can_invest:  # a target weight smaller than one size step
                    skipped.append(_below_one_step(s, converted[wf] * investable / price, step))
                continue
            buy = delta > ZERO  # comparisons against the ``ZERO`` decimal: an int operand is converted every time
            abs_delta = delta if buy else -delta
            if band_value and target_qty and abs_delta * price < band_value:
                skipped.append(SkippedOrder(s, delta, _BAND, band_text))
                continue

            legs: tuple[tuple[Decimal, bool, bool], ...]  # (size, reduce_only, buy) for this symbol
            if not current or buy is (current > ZERO):  # opening, or adding away from zero: whole steps down
                rem = abs_delta % step  # exact; ``r.round_size(abs_delta)`` inlined (abs_delta > 0)
                legs = (((abs_delta - rem if rem else abs_delta).normalize(), False, buy),)
            elif target_qty and (target_qty > ZERO) is (current > ZERO):  # a reduction: whole steps up, to zero
                rem = abs_delta % step
                if rem:  # off the step (a position other rules left): up to the next step, at most the position
                    up = abs_delta - rem + step
                    abs_current = -current if buy else current
                    legs = ((up if up < abs_current else abs_current, True, buy),)
                else:  # on the step: less than the position, since the target keeps its side
                    legs = ((abs_delta, True, buy),)
            else:  # a close, or a flip through zero
                abs_current = current if current >= ZERO else -current
                if target_qty and r.min_notional_on_close and abs_current * price < r.min_notional:
                    # the closing half of this flip is too small to send alone: one order through zero instead
                    legs = ((r.round_size(abs_delta), False, buy),)
                elif target_qty:
                    abs_target = target_qty if target_qty >= ZERO else -target_qty
                    legs = ((abs_current, True, buy), (abs_target, False, buy))  # full close, then open
                else:
                    legs = ((abs_current, True, buy),)  # full close

            for size, reduce_only, leg_buy in legs:
                if not size:  # a change of less than one size step
                    skipped.append(_below_one_step(s, delta, step))
                    continue
                if r.min_notional or r.max_cost_share is not None:
                    skip = _too_small(s, size, price, r, reduce_only and size == current.copy_abs(), leg_buy)
                    if skip is not None:
                        skipped.append(skip)
                        continue
                limit_price = None
                if limit_slip is not None:
                    raw = price * (1 + limit_slip) if leg_buy else price * (1 - limit_slip)
                    limit_price = r.round_price(raw, up=not leg_buy)
                cloid = client_order_id() if client_order_id is not None else None
                order = Order(s, _BUY if leg_buy else _SELL, size, order_type, limit_price, reduce_only, cloid, price)
                (reductions if reduce_only else increases).append(order)
        except InvalidOperation:  # a size beyond 28 significant digits (e.g. a price of 1e-17): not an order
            skipped.append(
                SkippedOrder(
                    s,
                    ZERO,
                    SkipReason.SIZE_OUT_OF_RANGE,
                    f"{s}: size out of range at price {price} and step {r.size_step} "
                    "(more than 28 significant digits of steps)",
                )
            )

    if (cfg.spot_slippage_cap_bps is not None or cfg.spot_slippage is not None) and increases:
        rules_of = {row[0]: row[1] for row in rows}
        px = {row[0]: row[2] for row in rows}
        cash = equity - sum((held[s] * px[s] for s in held if s in px), ZERO)
        sells = [o for o in reductions + increases if o.side is _SELL]
        buys = [o for o in increases if o.side is _BUY]
        fitted = _fit_buys_to_cash(sells, buys, cash, rules_of, _slippage_of(cfg))
        if fitted is not buys:
            increases = [o for o in increases if o.side is _SELL] + fitted
    return Plan(orders=tuple(reductions + increases), skipped=tuple(skipped))


def _slippage_of(cfg: PlannerConfig) -> Callable[[Order], Decimal]:
    """Each order's worst adverse move as an exact fraction: the config's per-order function, else its flat cap."""
    per_order = cfg.spot_slippage
    if per_order is not None:
        return lambda o: Decimal(repr(per_order(o)))
    cap = Decimal(repr(cfg.spot_slippage_cap_bps or 0.0)) / 10_000
    return lambda _o: cap


def _fit_buys_to_cash(
    sells: list[Order],
    buys: list[Order],
    cash: Decimal,
    rules_of: Mapping[str, InstrumentRules],
    slippage: Callable[[Order], Decimal],
) -> list[Order]:
    """``buys`` scaled down together (each floored to its size step) so that their worst-case cost, at the price
    moved by its ``slippage`` (a fraction) against them plus the taker fee and order cost, fits in ``cash`` plus
    the worst-case proceeds of ``sells`` (all sells of a spot plan). A buy scaled below one step or its minimum
    notional is dropped. (A smaller buy moves the price no more than the full one: its bound still holds.)"""

    def cost(o: Order) -> Decimal:  # what a buy can take from cash at worst
        r = rules_of[o.symbol]
        assert o.reference_price is not None
        return o.quantity * o.reference_price * (1 + slippage(o)) * (1 + r.taker_fee) + r.order_cost

    budget = cash
    for o in sells:
        r = rules_of[o.symbol]
        assert o.reference_price is not None
        budget += o.quantity * o.reference_price * (1 - slippage(o)) * (1 - r.taker_fee) - r.order_cost
    needed = sum(map(cost, buys), ZERO)
    if needed <= budget:
        return buys
    fitted: list[Order] = []
    if budget <= ZERO:
        return fitted
    fixed = sum((rules_of[o.symbol].order_cost for o in buys), ZERO)
    with localcontext() as ctx:
        ctx.rounding = ROUND_FLOOR  # every rounding toward less spending
        scale = (budget - fixed) / (needed - fixed) if budget > fixed else ZERO
        for o in buys:
            r = rules_of[o.symbol]
            size = o.quantity * scale // r.size_step * r.size_step
            assert o.reference_price is not None
            if size > ZERO and size * o.reference_price >= r.min_notional:
                fitted.append(replace(o, quantity=size.normalize()))
    return fitted
