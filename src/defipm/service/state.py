"""What every route of one service shares: the store, the reports folder, the write controls, the live hub, the
metrics registry and the catalogue of learned models."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import Request
from prometheus_client import CollectorRegistry

from defipm.service.access import StoreAccess
from defipm.service.controls import Controls
from defipm.service.hub import EventHub
from defipm.service.reports import ReportFolder

__all__ = ["ModelCatalog", "ServiceState", "service_state"]


class ModelCatalog(Protocol):
    """The learned allocator's model registry, as ``/api/models`` lists it (the RL issue provides one; until then
    the service has none and says so). ``models()`` returns JSON-ready descriptions, newest first."""

    def models(self) -> list[dict[str, Any]]: ...


@dataclass
class ServiceState:
    access: StoreAccess
    reports: ReportFolder
    controls: Controls
    hub: EventHub
    registry: CollectorRegistry
    models: ModelCatalog | None = None


def service_state(request: Request) -> ServiceState:
    """The running app's state (a FastAPI dependency)."""
    state: ServiceState = request.app.state.defipm
    return state
