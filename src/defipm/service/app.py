"""``create_app``: the FastAPI application of ``defipm serve`` (JSON API, live events, metrics, dashboard).

It reads the store and writes only three things: a run's kill switch, an arbitrage run's pause, and the audit of
those requests. It never builds a venue and never trades.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from defipm.service import api, live, pages
from defipm.service.access import StoreAccess
from defipm.service.access_token import AccessToken
from defipm.service.controls import Controls
from defipm.service.errors import install_error_handlers
from defipm.service.hub import EventHub
from defipm.service.metrics import store_registry
from defipm.service.reports import ReportFolder
from defipm.service.security import SecurityHeaders
from defipm.service.state import ModelCatalog, ServiceState

__all__ = ["ServiceConfig", "create_app"]


@dataclass(frozen=True)
class ServiceConfig:
    """database: store URL. reports: folder of backtest report directories. token_file: the bearer token's file
    (created 0600 on first start). poll_interval: seconds between polls of the store for live events."""

    database: str
    token_file: Path
    reports: Path = Path("reports")
    poll_interval: float = 0.25
    models: ModelCatalog | None = field(default=None, compare=False)


def create_app(config: ServiceConfig) -> FastAPI:
    """The app over ``config.database``. Raises ``ConfigError`` for an unusable token file."""
    token = AccessToken.load_or_create(config.token_file)
    access = StoreAccess(config.database)
    hub = EventHub(access, interval=config.poll_interval)
    state = ServiceState(
        access=access,
        reports=ReportFolder(config.reports),
        controls=Controls(access, token),
        hub=hub,
        registry=store_registry(access.read),
        models=config.models,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await hub.close()
        access.close()

    app = FastAPI(
        title="defipm service",
        summary="Runs, cycles, orders, fills, arbitrage and backtest reports from the store; kill switch and pause.",
        version="1",
        lifespan=lifespan,
    )
    app.state.defipm = state
    app.state.token = token
    app.add_middleware(SecurityHeaders)
    install_error_handlers(app, pages.render_error)
    app.include_router(api.router)
    app.include_router(live.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=pages.STATIC), name="static")
    return app
