"""Live routes: the Server-Sent Events stream of the store's changes (``/api/events``) and ``/metrics``.

``/api/events?run=NAME&kinds=cycle,fill`` streams ``StoreEvent``s (``service.feed``) written after the client
connected, by this or any other process: each as an SSE event named by its kind, its id and its data as JSON.
A ``ping`` comment every 15 s keeps proxies from closing an idle stream. ``/metrics`` answers in Prometheus' text
format (``service.metrics``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sse_starlette.sse import EventSourceResponse

from defipm.service.feed import EVENT_KINDS, StoreEvent
from defipm.service.refusals import BadField
from defipm.service.state import ServiceState, service_state

__all__ = ["router"]

router = APIRouter()
State = Annotated[ServiceState, Depends(service_state)]


def _kinds(text: str | None) -> set[str]:
    if text is None:
        return set(EVENT_KINDS)
    asked = {k.strip() for k in text.split(",") if k.strip()}
    unknown = sorted(asked - set(EVENT_KINDS))
    if unknown or not asked:
        raise BadField("kinds", f"unknown kind(s) {', '.join(unknown) or '(none)'}; known: {', '.join(EVENT_KINDS)}")
    return asked


def _wanted(event: StoreEvent, run: str | None, kinds: set[str]) -> bool:
    if event.kind in ("error", "closed"):
        return True
    return event.kind in kinds and (run is None or event.run in (None, run))


@router.get("/api/events", summary="Server-Sent Events: cycles, fills, risk, opportunities and executions as written")
async def events(
    state: State,
    run: Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[^\s]+$")] = None,
    kinds: Annotated[str | None, Query(description=f"comma-separated: {', '.join(EVENT_KINDS)}")] = None,
) -> EventSourceResponse:
    wanted = _kinds(kinds)
    await state.hub.ready()  # before answering: a missing database is a 503, not a broken stream

    async def stream() -> AsyncIterator[dict[str, Any]]:
        async with state.hub.subscribe() as queue:
            yield {"event": "ready", "data": json.dumps({"run": run, "kinds": sorted(wanted)})}
            while True:
                event = await queue.get()
                if event.kind == "closed":
                    return
                if _wanted(event, run, wanted):
                    yield {"event": event.kind, "id": event.id, "data": json.dumps(event.data)}

    return EventSourceResponse(stream(), ping=15)


@router.get("/metrics", summary="Prometheus metrics of both loops", response_class=Response)
async def metrics(state: State) -> Response:
    body = await anyio.to_thread.run_sync(generate_latest, state.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
