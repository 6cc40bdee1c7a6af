"""A local stand-in for CrowdCent's API, and synthetic Hyperliquid-ranking meta-models with the real schema.

``FakeCrowdCentServer`` is a real HTTP server on 127.0.0.1 answering what ``crowdcent-challenge``'s
``ChallengeClient.download_meta_model`` asks (``GET /challenges/<slug>/meta_model/download/`` with an
``Authorization: Api-Key <key>`` header), in the API's error shape (``{"error": {"code", "message"}}``) for a
wrong key or an unknown challenge, so the client and requests run unchanged and only the network is missing.
Point ``CrowdCentSource(base_url=server.url, api_key=server.api_key)`` at it.

``synthetic_crowdcent_meta_model`` builds a table with the real columns (``id``, ``release_date``, ``pred_10d``,
``pred_30d``) for tests and demos.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

import numpy as np

from defipm.testing.loopback import LoopbackServer

_DOWNLOAD = re.compile(r"^/challenges/([^/]+)/meta_model/download/?$")


@dataclass
class _State:
    files: dict[str, bytes] = field(default_factory=dict)
    api_key: str = "test-key"
    downloads: list[str] = field(default_factory=list)
    fail_with: int | None = None


class FakeCrowdCentServer(LoopbackServer):
    """Serve ``files`` (challenge slug -> meta-model Parquet bytes) the way CrowdCent does. Use as a context
    manager; ``downloads`` records each challenge downloaded; ``fail_with`` makes every request answer that HTTP
    status."""

    def __init__(self, files: dict[str, bytes] | None = None, api_key: str = "test-key") -> None:
        self.state = _State(files=dict(files or {}), api_key=api_key)
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _send(self, status: int, body: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _error(self, status: int, code: str, message: str) -> None:
                self._send(
                    status, json.dumps({"error": {"code": code, "message": message}}).encode(), "application/json"
                )

            def do_GET(self) -> None:
                if state.fail_with is not None:
                    self._error(state.fail_with, "SERVER_ERROR", "injected failure")
                    return
                if self.headers.get("Authorization") != f"Api-Key {state.api_key}":
                    self._error(401, "NOT_AUTHENTICATED", "Invalid API key.")
                    return
                match = _DOWNLOAD.match(self.path.split("?", 1)[0])
                if match is None or match.group(1) not in state.files:
                    self._error(404, "NOT_FOUND", "Challenge or meta-model not found.")
                    return
                state.downloads.append(match.group(1))
                self._send(200, state.files[match.group(1)], "application/octet-stream")

        super().__init__(Handler)

    @property
    def api_key(self) -> str:
        return self.state.api_key

    @property
    def files(self) -> dict[str, bytes]:
        return self.state.files

    @property
    def downloads(self) -> list[str]:
        return self.state.downloads


def synthetic_crowdcent_meta_model(
    assets: Sequence[str],
    start: date | datetime,
    days: int,
    *,
    seed: int = 0,
    closes: Any = None,
    skill: float = 0.0,
    persistence: float = 0.9,
) -> Any:
    """A Hyperliquid-ranking meta-model with the real schema: one row per day and asset, ``pred_10d`` and
    ``pred_30d`` in (0, 1) (rank-like scores). Returns a pandas DataFrame with ``id``, ``release_date``
    (``YYYY-MM-DD`` strings), ``pred_10d`` and ``pred_30d``.

    Without ``closes`` the scores are uniform noise. With ``closes`` (a ``(days, len(assets))`` array of daily
    closes, row ``i`` the close of day ``start + i``) each score mixes the rank of the asset's return over the
    next 10 (30) days, weight ``skill``, with a persistent noise (an AR(1) with ``persistence``, so rankings
    change a little a day, as a meta-model's do), weight ``1 - skill``: a stand-in with a known edge for
    demonstrations, not a claim about the real meta-model (whose history cannot be downloaded without a key)."""
    import pandas as pd

    if not 0.0 <= skill <= 1.0:
        raise ValueError(f"skill must be within [0, 1], got {skill}")
    rng = np.random.default_rng(seed)
    first = start.date() if isinstance(start, datetime) else start
    n = len(assets)
    prices = None if closes is None else np.asarray(closes, dtype=np.float64)
    rows: list[tuple[str, str, float, float]] = []
    state = rng.standard_normal((2, n))
    for i in range(days):
        day = (first + timedelta(days=i)).isoformat()
        if prices is not None:
            state = persistence * state + np.sqrt(1 - persistence**2) * rng.standard_normal((2, n))
        preds = []
        for h, horizon in enumerate((10, 30)):
            if prices is None:
                preds.append(rng.uniform(0.01, 0.99, n))
                continue
            noise = (np.argsort(np.argsort(state[h])) + 1) / (n + 1)
            ahead = prices[min(i + horizon, len(prices) - 1)] / prices[i] - 1
            ranks = (np.argsort(np.argsort(np.nan_to_num(ahead, nan=0.0))) + 1) / (n + 1)
            preds.append(skill * ranks + (1 - skill) * noise)
        rows.extend((a, day, float(preds[0][j]), float(preds[1][j])) for j, a in enumerate(assets))
    return pd.DataFrame(rows, columns=["id", "release_date", "pred_10d", "pred_30d"])
