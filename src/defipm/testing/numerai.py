"""A local stand-in for Numerai's API, and synthetic meta-model tables with the real schema.

``FakeNumeraiServer`` is a real HTTP server on 127.0.0.1: it answers numerapi's GraphQL queries
(``listDatasets`` and ``dataset``) and serves the file URL it hands out, so numerapi, requests and urllib3 all
run unchanged and only the network is missing. Point ``NumeraiCryptoSource(api_url=server.url)`` at it.

``synthetic_meta_model`` builds a (date, symbol, meta_model) table for tests and demos of your own oracles.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import quote, unquote

import numpy as np

from defipm.testing.loopback import LoopbackServer


@dataclass
class _Served:
    files: dict[str, bytes] = field(default_factory=dict)
    graphql: list[dict[str, Any]] = field(default_factory=list)
    downloads: list[str] = field(default_factory=list)
    fail_graphql_with: int | None = None
    graphql_errors: list[str] = field(default_factory=list)


class FakeNumeraiServer(LoopbackServer):
    """Serve ``files`` (dataset name -> bytes) the way Numerai does: a GraphQL endpoint and file URLs.

    Use as a context manager. ``graphql`` records each query body; ``downloads`` each downloaded name.
    Set ``fail_graphql_with`` to an HTTP status to make the endpoint fail, or ``graphql_errors`` to answer
    with GraphQL errors.
    """

    def __init__(self, files: dict[str, bytes] | None = None) -> None:
        self.state = _Served(files=dict(files or {}))
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

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                state.graphql.append(body)
                if state.fail_graphql_with is not None:
                    self._send(state.fail_graphql_with, b"server error", "text/plain")
                    return
                if state.graphql_errors:
                    answer: dict[str, Any] = {"errors": [{"message": m} for m in state.graphql_errors]}
                else:
                    answer = self._answer(body.get("query", ""), body.get("variables") or {})
                self._send(200, json.dumps(answer).encode(), "application/json")

            def _answer(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
                if "listDatasets" in query:
                    return {"data": {"listDatasets": sorted(state.files)}}
                if "dataset(" in query:
                    name = variables.get("filename", "")
                    if name not in state.files:
                        return {"errors": [{"message": f"dataset {name} not found"}]}
                    host = self.headers.get("Host", "127.0.0.1")
                    return {"data": {"dataset": f"http://{host}/files/{quote(name, safe='')}?sig=x"}}
                return {"errors": [{"message": "unsupported query"}]}

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if not path.startswith("/files/"):
                    self._send(404, b"not found", "text/plain")
                    return
                name = unquote(path[len("/files/") :])
                if name not in state.files:
                    self._send(404, b"not found", "text/plain")
                    return
                state.downloads.append(name)
                self._send(200, state.files[name], "application/octet-stream")

        super().__init__(Handler)

    @property
    def files(self) -> dict[str, bytes]:
        return self.state.files

    @property
    def graphql(self) -> list[dict[str, Any]]:
        return self.state.graphql

    @property
    def downloads(self) -> list[str]:
        return self.state.downloads


def synthetic_meta_model(
    symbols: Sequence[str],
    start: date | datetime,
    days: int,
    *,
    seed: int = 0,
) -> Any:
    """A meta-model table with the real schema: one row per day and symbol, ``meta_model`` uniform in (0, 1).

    Returns a pandas DataFrame with columns ``date`` (``YYYY-MM-DD`` strings, as Numerai's CSV has them),
    ``symbol`` and ``meta_model``.
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    first = start.date() if isinstance(start, datetime) else start
    rows = []
    for i in range(days):
        day = (first + timedelta(days=i)).isoformat()
        for s in symbols:
            rows.append((day, s, float(rng.uniform(0.01, 0.99))))
    return pd.DataFrame(rows, columns=["date", "symbol", "meta_model"])
