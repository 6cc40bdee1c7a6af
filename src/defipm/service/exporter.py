"""``--metrics-port`` of ``defipm run`` and ``defipm arb run``: Prometheus metrics served by the loop's own process
on loopback (``prometheus_client``'s server in a daemon thread), without the rest of the service.

``defipm run`` serves the store's metrics of its run (``service.metrics.StoreMetrics`` restricted to it);
``defipm arb run`` serves its live ``ArbMetrics`` (scan, pool-update and execution latency included, which only
that process sees) with the store's arbitrage figures. Needs only ``prometheus-client``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, start_http_server

from defipm.core.errors import ConfigError

if TYPE_CHECKING:
    from defipm.arb.metrics import ArbMetrics
    from defipm.store import Store

__all__ = ["LOOPBACK", "serve_arb_metrics", "serve_metrics", "serve_run_metrics"]

LOOPBACK = "127.0.0.1"


@contextmanager
def serve_metrics(port: int, registry: CollectorRegistry) -> Iterator[Any]:
    """Serve ``registry`` at ``http://127.0.0.1:port/metrics`` until the ``with`` block ends. Raises
    ``ConfigError`` naming the port when it cannot be bound."""
    try:
        server, thread = start_http_server(port, addr=LOOPBACK, registry=registry)
    except OSError as exc:
        raise ConfigError(
            f"--metrics-port {port}: cannot listen on {LOOPBACK}:{port} ({exc.strerror or exc})"
        ) from None
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def serve_run_metrics(port: int, store: Store, run: str) -> ExitStack:
    """Serve the store's metrics of portfolio ``run`` on ``port`` until the returned stack is closed."""
    from defipm.service.metrics import store_registry

    stack = ExitStack()
    stack.enter_context(serve_metrics(port, store_registry(store.engine.connect, runs=[run], arbitrage=False)))
    return stack


def serve_arb_metrics(port: int, store: Store, metrics: ArbMetrics) -> ExitStack:
    """Serve the arbitrage process's live ``metrics`` and the store's arbitrage risk state on ``port``."""
    from defipm.service.metrics import StoreMetrics

    metrics.registry.register(StoreMetrics(store.engine.connect, runs=[], arb_state=True))
    stack = ExitStack()
    stack.enter_context(serve_metrics(port, metrics.registry))
    return stack
