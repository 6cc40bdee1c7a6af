"""``defipm rebalance --dry-run`` and the confirmation before an interactive rebalance: the plan as a table, or as
plain data for ``--json`` (``plan_record``).

Orders in execution order with size, reference price, notional and expected fee (the venue's ``taker_fee`` of
the notional, plus its fixed ``order_cost``); the skipped trades with their ``SkipReason`` and detail; totals with
the expected slippage: the venue's own estimate (``Venue.expected_slippage``: the paper venue's fill model) when
it has one for every order, else what the planner reserves for it (``PlannerConfig.cost_reserve_bps`` of the
notional). Nothing here sends or records anything."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from defipm.core.orders import Plan
from defipm.core.planner import PlannerConfig
from defipm.core.reports import CycleReport


def plan_costs(portfolio: Any, plan: Plan) -> tuple[list[tuple[Any, Decimal, Decimal]], Decimal, Decimal]:
    """(order, notional, expected fee) per order, the total notional and the expected slippage (quote currency)."""
    rows = []
    for order in plan.orders:
        rules = portfolio.venue.get_rules(order.symbol)
        notional = abs(order.quantity * (order.reference_price or Decimal(0)))
        rows.append((order, notional, notional * Decimal(str(rules.taker_fee)) + rules.order_cost))
    total = sum((n for _, n, _ in rows), Decimal(0))
    modelled = [portfolio.venue.expected_slippage(order) for order in plan.orders]
    if all(m is not None for m in modelled):  # the venue's own cost model, order by order
        return rows, total, sum((m for m in modelled if m is not None), Decimal(0))
    planner = portfolio.manager.planner or portfolio.venue.planner or PlannerConfig()
    return rows, total, total * Decimal(repr(planner.cost_reserve_bps)) / 10_000


def plan_record(portfolio: Any, report: CycleReport, plan: Plan) -> dict[str, Any]:
    """The plan as plain data (``defipm rebalance --dry-run --json``): equity; orders in execution order with
    symbol, side, quantity, reference price, notional and expected fee; skipped trades with their signed quantity,
    ``SkipReason`` value and detail; the totals (notional, expected fees, expected slippage); notes and the risk
    limits that acted. Amounts are Decimals (``print_json`` writes them as exact text); nothing was sent."""
    rows, total, slippage = plan_costs(portfolio, plan)
    return {
        "equity": report.equity,
        "sent": False,
        "orders": [
            {"symbol": o.symbol, "side": o.side.value, "quantity": o.quantity, "price": o.reference_price,
             "notional": notional, "fee": fee}
            for o, notional, fee in rows
        ],
        "skipped": [
            {"symbol": s.symbol, "quantity": s.signed_quantity, "reason": s.reason.value, "detail": s.detail}
            for s in plan.skipped
        ],
        "notional": total,
        "expected_fees": sum((fee for _, _, fee in rows), Decimal(0)),
        "expected_slippage": slippage,
        "notes": list(report.notes),
        "risk": [{"limit": b.limit, "detail": b.detail, "action": b.action} for b in report.breaches],
    }  # fmt: skip


def print_plan(console: Console, portfolio: Any, report: CycleReport, plan: Plan) -> None:
    """The plan of one cycle: orders, skipped trades, risk limits that acted, notes and the totals."""
    rows, total, slippage = plan_costs(portfolio, plan)
    table = Table(title=f"Plan (equity {report.equity:,.2f}): nothing sent yet")
    for col in ("symbol", "side", "quantity", "price", "notional", "fee"):
        table.add_column(col, justify="left" if col in ("symbol", "side") else "right")
    for order, notional, fee in rows:
        price = f"{order.reference_price:,.6g}" if order.reference_price is not None else "-"
        table.add_row(order.symbol, order.side.value, f"{order.quantity:f}", price, f"{notional:,.2f}", f"{fee:,.4f}")
    console.print(table)
    for skipped in plan.skipped:
        console.print(
            f"  skipped {skipped.symbol} {skipped.signed_quantity:f}: {skipped.reason.value} ({escape(skipped.detail)})",
            highlight=False,
        )
    for line in report.notes + [f"risk {b.limit}: {b.detail} ({b.action})" for b in report.breaches]:
        console.print(f"  {escape(line)}", highlight=False, soft_wrap=True)
    fees = sum((fee for _, _, fee in rows), Decimal(0))
    console.print(
        f"{len(rows)} order(s), notional {total:,.2f}, expected fees {fees:,.4f}, expected slippage {slippage:,.4f}"
        f" ({len(plan.skipped)} skipped)",
        highlight=False,
    )
