"""The JSON API (``/api/...``), described by the app's OpenAPI document (``/openapi.json``, ``/docs``).

Reads: runs and a run's status, equity series, cycles, orders, fills and flows (keyset pages: ``limit``,
``cursor`` from the previous page's ``next_cursor``, ``since``/``until`` as ISO times with a zone, ``symbol``,
``status``), the arbitrage overview, opportunities, execution results and journal, backtest reports, learned
models and the audit of writes. Writes (``POST``, bearer token): a run's kill switch, an arbitrage run's pause.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from defipm.service.arbitrage import arb_overview, execution_detail, journal_page, opportunities_page, results_page
from defipm.service.audit import recent_audit
from defipm.service.controls import KillSwitchRequest, PauseRequest, UnreadableBody, WriteRequest
from defipm.service.ledger import cycles_page, equity_series, fills_page, flows_page, orders_page
from defipm.service.overview import runs_overview
from defipm.service.paging import Window
from defipm.service.refusals import BadField
from defipm.service.runs import run_status
from defipm.service.state import ServiceState, service_state

__all__ = ["router"]

router = APIRouter(prefix="/api")
State = Annotated[ServiceState, Depends(service_state)]
Name = Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[^\s]+$")]


def _aware(field: str, value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise BadField(field, f"{value.isoformat()} has no time zone: add one (e.g. {value.isoformat()}Z)")
    return value


def window(
    cursor: Annotated[str | None, Query(max_length=512, description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="rows per page")] = 100,
    since: Annotated[datetime | None, Query(description="from this time (inclusive, with a zone)")] = None,
    until: Annotated[datetime | None, Query(description="before this time (exclusive, with a zone)")] = None,
    symbol: Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[^\s]+$")] = None,
    status: Annotated[str | None, Query(min_length=1, max_length=20, pattern=r"^[a-z_]+$")] = None,
    strategy: Annotated[str | None, Query(min_length=1, max_length=16, pattern=r"^[a-z0-9_\-]+$")] = None,
) -> Window:
    return Window(cursor, limit, _aware("since", since), _aware("until", until), symbol, status, strategy)


Page = Annotated[Window, Depends(window)]


@router.get("/runs", summary="Portfolio runs with their latest equity, cycle, kill switch and lock holder")
def get_runs(state: State) -> dict[str, Any]:
    with state.access.read() as conn:
        return {"runs": runs_overview(conn)}


@router.get("/runs/{run}", summary="A run's status: equity, positions vs targets, risk, lock holder, last cycles")
def get_run(state: State, run: str, cycles: Annotated[int, Query(ge=1, le=100)] = 10) -> dict[str, Any]:
    with state.access.read() as conn:
        return run_status(conn, run, cycles=cycles)


@router.get("/runs/{run}/equity", summary="Equity series, oldest first, with flow-adjusted drawdown")
def get_equity(
    state: State,
    run: str,
    since: Annotated[datetime | None, Query()] = None,
    until: Annotated[datetime | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100_000, description="latest points at most")] = 5_000,
) -> dict[str, Any]:
    span = Window(limit=limit, since=_aware("since", since), until=_aware("until", until))
    with state.access.read() as conn:
        return equity_series(conn, run, span)


@router.get("/runs/{run}/cycles", summary="Cycles, newest first (filters: since, until, status)")
def get_cycles(state: State, run: str, page: Page) -> dict[str, Any]:
    with state.access.read() as conn:
        return cycles_page(conn, run, page).to_json()


@router.get("/runs/{run}/orders", summary="Journalled orders, newest first (filters: since, until, symbol, status)")
def get_orders(state: State, run: str, page: Page) -> dict[str, Any]:
    with state.access.read() as conn:
        return orders_page(conn, run, page).to_json()


@router.get("/runs/{run}/fills", summary="Fills, newest first (filters: since, until, symbol)")
def get_fills(state: State, run: str, page: Page) -> dict[str, Any]:
    with state.access.read() as conn:
        return fills_page(conn, run, page).to_json()


@router.get("/runs/{run}/flows", summary="Deposits and withdrawals, newest first")
def get_flows(state: State, run: str, page: Page) -> dict[str, Any]:
    with state.access.read() as conn:
        return flows_page(conn, run, page).to_json()


@router.get("/arb", summary="Arbitrage runs' risk state and journal, profit and gas per strategy")
def get_arb(state: State) -> dict[str, Any]:
    with state.access.read() as conn:
        return arb_overview(conn)


@router.get("/arb/opportunities", summary="Opportunities, newest first (filters: since, until, strategy)")
def get_opportunities(state: State, page: Page) -> dict[str, Any]:
    with state.access.read() as conn:
        return opportunities_page(conn, page).to_json()


@router.get("/arb/executions", summary="Execution results, newest first (filters: since, until, strategy)")
def get_executions(state: State, page: Page) -> dict[str, Any]:
    with state.access.read() as conn:
        return results_page(conn, page).to_json()


@router.get("/arb/journal", summary="The execution journal, newest first (filters: since, until, run, status)")
def get_journal(state: State, page: Page, run: Name | None = None) -> dict[str, Any]:
    with state.access.read() as conn:
        return journal_page(conn, replace(page, run=run)).to_json()


@router.get("/arb/journal/{execution_id}", summary="One journalled execution with its plan and transactions")
def get_journal_entry(state: State, execution_id: str) -> dict[str, Any]:
    with state.access.read() as conn:
        return execution_detail(conn, execution_id)


@router.get("/reports", summary="Backtest reports in the reports folder")
def get_reports(state: State) -> dict[str, Any]:
    return {"folder": str(state.reports.root), "reports": state.reports.listing()}


@router.get("/reports/{name:path}", summary="One backtest report's summary")
def get_report(state: State, name: str) -> dict[str, Any]:
    return state.reports.summary(name)


@router.get("/models", summary="Learned models of the allocator's registry")
def get_models(state: State) -> dict[str, Any]:
    if state.models is None:
        return {"registry": None, "models": [], "note": "no model registry is installed yet (the RL allocator's)"}
    return {"registry": type(state.models).__name__, "models": state.models.models()}


@router.get("/audit", summary="The latest write requests, done or refused")
def get_audit(state: State, limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> dict[str, Any]:
    with state.access.read() as conn:
        return {"entries": recent_audit(conn, limit)}


async def _write_request(request: Request, run: str) -> WriteRequest:
    try:
        body: Any = await request.json()
    except ValueError as exc:  # refused by Controls, which audits it
        body = UnreadableBody(str(exc) or "empty")
    client = f"{request.client.host}:{request.client.port}" if request.client else "unknown"
    return WriteRequest(run, body, request.headers.get("authorization"), client)


def _body(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI request body of a write (its JSON is parsed by ``Controls``, so refusals are audited)."""
    schema = model.model_json_schema()
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


@router.post(
    "/runs/{run}/kill-switch",
    openapi_extra=_body(KillSwitchRequest),
    summary='Engage ({"engaged": true, "reason": "..."}) or release ({"engaged": false}) the kill switch',
    responses={401: {"description": "missing or wrong bearer token"}, 404: {"description": "unknown run"}},
)
async def post_kill_switch(state: State, run: str, request: Request) -> dict[str, Any]:
    asked = await _write_request(request, run)
    return await anyio.to_thread.run_sync(state.controls.kill_switch, asked)


@router.post(
    "/arb/{run}/pause",
    openapi_extra=_body(PauseRequest),
    summary='Pause ({"paused": true}) or resume ({"paused": false}) an arbitrage run',
    responses={401: {"description": "missing or wrong bearer token"}, 404: {"description": "unknown run"}},
)
async def post_pause(state: State, run: str, request: Request) -> dict[str, Any]:
    asked = await _write_request(request, run)
    return await anyio.to_thread.run_sync(state.controls.pause, asked)
