"""The dashboard: pages rendered on the server from the same reads as the JSON API, with Plotly charts.

``/`` lists the runs; ``/runs/NAME`` shows a run (equity and drawdown, weights vs target, positions, risk, kill
switch, recent cycles and orders); ``/arb`` the arbitrage engine (runs with breaker and pause and their controls,
profit and gas per strategy, opportunities, executions, journal); ``/reports`` the backtest reports, each report's
own page served sandboxed. Jinja2 escapes every value (autoescape); chart data is embedded as JSON with ``tojson``
(which escapes ``<``, ``>`` and ``&``, so no value can close the block). plotly.js comes from the installed plotly
package's own file: the pages load nothing from another host.
"""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import plotly
from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

from defipm.service.arbitrage import arb_overview, journal_page, opportunities_page, results_page
from defipm.service.ledger import equity_series, orders_page
from defipm.service.overview import runs_overview
from defipm.service.paging import Window
from defipm.service.runs import run_status
from defipm.service.security import REPORT_POLICY
from defipm.service.state import ServiceState, service_state

__all__ = ["PLOTLY_JS", "STATIC", "render_error", "router", "templates"]

HERE = Path(__file__).parent
STATIC = HERE / "static"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
EQUITY_POINTS = 2_000
"""Latest equity points a run page charts (the API serves more)."""

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(HERE / "templates"))
State = Annotated[ServiceState, Depends(service_state)]


def _money(value: Any) -> str:
    if value is None or value == "" or _missing(value):
        return "-"
    try:
        return f"{Decimal(str(value)):,.2f}"
    except InvalidOperation:
        return str(value)


def _missing(value: Any) -> bool:
    """None, or a figure that is not a number (NaN: a ratio of a run without variance): shown as "-"."""
    try:
        return value is None or math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def _percent(value: Any) -> str:
    return "-" if _missing(value) else f"{float(value):+.2%}"


def _number(value: Any) -> str:
    return "-" if _missing(value) else f"{float(value):.2f}"


def _when(value: Any) -> str:
    if not value:
        return "-"
    return datetime.fromisoformat(str(value)).strftime("%Y-%m-%d %H:%M:%S")


templates.env.filters.update(money=_money, percent=_percent, number=_number, when=_when)


def render_error(request: Request, status: int, message: str) -> HTMLResponse:
    return templates.TemplateResponse(request, "error.html", {"status": status, "message": message}, status_code=status)


@router.get("/", response_class=HTMLResponse)
def overview_page(request: Request, state: State) -> HTMLResponse:
    with state.access.read() as conn:
        runs = runs_overview(conn)
        arb = arb_overview(conn)
    context = {"runs": runs, "arb_runs": len(arb["runs"]), "strategies": len(arb["strategies"]),
               "reports": len(state.reports.names()), "reports_folder": str(state.reports.root)}  # fmt: skip
    return templates.TemplateResponse(request, "overview.html", context)


@router.get("/runs/{run}", response_class=HTMLResponse)
def run_page(request: Request, state: State, run: str) -> HTMLResponse:
    with state.access.read() as conn:
        status = run_status(conn, run)
        equity = equity_series(conn, run, Window(limit=EQUITY_POINTS))
        orders = orders_page(conn, run, Window(limit=20)).items
    context = {"s": status, "equity": equity, "weights": status["positions"] or _targets_only(status), "orders": orders}
    return templates.TemplateResponse(request, "run.html", context)


def _targets_only(status: dict[str, Any]) -> list[dict[str, Any]]:
    """Without a book in the store, the chart shows the latest cycle's targets alone."""
    return [{**t, "weight": None} for t in status["targets"]]


@router.get("/arb", response_class=HTMLResponse)
def arb_page(request: Request, state: State) -> HTMLResponse:
    with state.access.read() as conn:
        context = {
            "overview": arb_overview(conn),
            "opportunities": opportunities_page(conn, Window(limit=50)).items,
            "executions": results_page(conn, Window(limit=50)).items,
            "journal": journal_page(conn, Window(limit=20)).items,
        }
    return templates.TemplateResponse(request, "arb.html", context)


@router.get("/reports", response_class=HTMLResponse)
def reports_page(request: Request, state: State) -> HTMLResponse:
    context = {"folder": str(state.reports.root), "reports": state.reports.listing()}
    return templates.TemplateResponse(request, "reports.html", context)


@router.get("/reports/{name}/report.html")
def report_file(state: State, name: str) -> FileResponse:
    """A backtest's own page, sandboxed (``security.REPORT_POLICY``)."""
    return FileResponse(state.reports.html(name), media_type="text/html",
                        headers={"Content-Security-Policy": REPORT_POLICY})  # fmt: skip


@router.get("/static/plotly.min.js")
def plotly_js() -> FileResponse:
    return FileResponse(PLOTLY_JS, media_type="text/javascript")
