"""The local exchange's HTTP face: ``POST /info`` and ``POST /exchange`` in Hyperliquid's JSON shapes, on loopback.

``LocalExchange`` owns an ``Engine`` and a ``ThreadingHTTPServer`` bound to 127.0.0.1. Use it as a context manager
(``with LocalExchange() as ex: ex.url``) so the server always stops. ``faults`` injects failures the way real
networks produce them: an HTTP 429 or 5xx before the request is handled, or a slow answer after an
``/exchange`` action was already applied (the client times out, the order exists).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from defipm.venues.hyperliquid.sim.auth import (
    USER_SIGNED_TYPES,
    AuthError,
    NonceBook,
    check_wire_numbers,
    recover_signer,
    recover_signer_elsewhere,
)
from defipm.venues.hyperliquid.sim.engine import BookConfig, Engine, OrderError
from defipm.venues.hyperliquid.sim.history import SyntheticHistory
from defipm.venues.hyperliquid.sim.roles import RoleError
from defipm.venues.hyperliquid.sim.seed import Seed, load_seed

SPOT_META = {
    "universe": [],
    "tokens": [
        {
            "name": "USDC",
            "szDecimals": 8,
            "weiDecimals": 8,
            "index": 0,
            "tokenId": "0x6d1e7cde53ba9467b783cb7c530ce054",
            "isCanonical": True,
        }
    ],
}


@dataclass
class Fault:
    """One injected failure. ``endpoint`` is "info" or "exchange"; ``request_type`` narrows it (e.g. "order",
    "allMids"); ``status`` answers with that HTTP code before handling; ``delay`` sleeps that many seconds after
    handling (with ``status`` unset the request still takes effect); ``times`` is how many requests it hits."""

    endpoint: str
    request_type: str | None = None
    status: int | None = None
    delay: float = 0.0
    times: int = 1
    skip: int = 0
    """Matching requests let through untouched before the fault starts hitting."""
    answer: Any = None
    """Handle the request, then answer this JSON instead of the real answer (an unexpected response shape)."""


@dataclass
class Stats:
    info_requests: int = 0
    exchange_requests: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    users: dict[str, set[str]] = field(default_factory=dict)
    """``/info`` request type -> the (lower-case) ``user`` addresses asked about."""


class LocalExchange:
    """A Hyperliquid-compatible exchange on ``http://127.0.0.1:<port>`` that checks every signature."""

    def __init__(
        self,
        *,
        network: str = "testnet",
        port: int = 0,
        seed: Seed | None = None,
        fixtures: Path | None = None,
        synthetic_assets: int = 0,
        accounts: Mapping[str, Decimal | int | str] | None = None,
        book: BookConfig | None = None,
    ) -> None:
        if network not in ("testnet", "mainnet"):
            raise ValueError(f"network must be 'testnet' or 'mainnet', got {network!r}")
        self.network = network
        self.is_mainnet = network == "mainnet"
        self.engine = Engine(seed or load_seed(fixtures, synthetic_assets), book)
        for address, usdc in (accounts or {}).items():
            self.engine.add_account(address, usdc)
        self.history = SyntheticHistory(self.engine)
        self.nonces = NonceBook()
        self.faults: list[Fault] = []
        self.stats = Stats()
        self._lock = threading.Lock()
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("local exchange is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host.decode() if isinstance(host, bytes) else host}:{port}"

    def start(self) -> LocalExchange:
        handler = type("Handler", (_Handler,), {"exchange": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="hl-sim", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> LocalExchange:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Run in the foreground until interrupted (the ``hl-sim`` command)."""
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                time.sleep(0.5)
        finally:
            self.stop()

    # -- faults ---------------------------------------------------------------------------------------------
    def inject(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    @contextmanager
    def fault(self, fault: Fault) -> Iterator[Fault]:
        self.inject(fault)
        try:
            yield fault
        finally:
            with self._lock:
                if fault in self.faults:
                    self.faults.remove(fault)

    def _take_fault(self, endpoint: str, request_type: str | None) -> Fault | None:
        with self._lock:
            for f in self.faults:
                if f.endpoint == endpoint and f.request_type in (None, request_type) and f.times > 0:
                    if f.skip > 0:
                        f.skip -= 1
                        return None
                    f.times -= 1
                    if f.times == 0:
                        self.faults.remove(f)
                    return f
        return None

    # -- request handling -----------------------------------------------------------------------------------
    def handle(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        if path == "/info":
            self.stats.info_requests += 1
            kind = body.get("type")
            self.stats.by_type[str(kind)] = self.stats.by_type.get(str(kind), 0) + 1
            if isinstance(body.get("user"), str):
                self.stats.users.setdefault(str(kind), set()).add(body["user"].lower())
            return 200, self.info(body)
        if path == "/exchange":
            self.stats.exchange_requests += 1
            return 200, self.exchange(body)
        return 404, {"error": f"unknown path {path}"}

    def info(self, req: dict[str, Any]) -> Any:
        """The answer to one ``/info`` request; unknown types answer null, as the real API does for many."""
        kind = req.get("type")
        handler = self._info_handlers().get(str(kind))
        return handler(req) if handler is not None else None

    def _info_handlers(self) -> dict[str, Any]:
        e, v = self.engine, self.engine.views

        def user(req: dict[str, Any]) -> str:
            return str(req.get("user", ""))

        return {
            "meta": lambda req: v.info_meta(),
            "metaAndAssetCtxs": lambda req: v.meta_and_asset_ctxs(),
            "spotMeta": lambda req: SPOT_META,
            "allMids": lambda req: v.all_mids(),
            "clearinghouseState": lambda req: v.clearinghouse_state(user(req)),
            "spotClearinghouseState": lambda req: v.spot_state(user(req)),
            "openOrders": lambda req: v.open_orders(user(req)),
            "frontendOpenOrders": lambda req: v.frontend_open_orders(user(req)),
            "userFills": lambda req: v.user_fills(user(req)),
            "userFillsByTime": self._fills_by_time,
            "userFees": lambda req: v.user_fees(user(req)),
            "orderStatus": lambda req: v.order_status(user(req), req["oid"]),
            "userRole": lambda req: e.user_role(user(req)),
            "extraAgents": lambda req: e.roles.extra_agents(user(req)),
            "vaultDetails": lambda req: e.roles.vault_details(str(req.get("vaultAddress", ""))),
            "l2Book": lambda req: v.l2_book(str(req.get("coin"))),
            "candleSnapshot": self._candles,
            "fundingHistory": self._funding,
        }

    def _fills_by_time(self, req: dict[str, Any]) -> list[dict[str, Any]]:
        start, end = int(req.get("startTime", 0)), req.get("endTime")
        fills = self.engine.views.user_fills(str(req.get("user", "")))
        return [f for f in fills if f["time"] >= start and (end is None or f["time"] <= int(end))]

    def _candles(self, req: dict[str, Any]) -> list[dict[str, Any]]:
        r = req["req"]
        return self.history.candles(r["coin"], r["interval"], int(r["startTime"]), int(r["endTime"]))

    def _funding(self, req: dict[str, Any]) -> list[dict[str, Any]]:
        end = req.get("endTime")
        return self.history.funding(req["coin"], int(req["startTime"]), int(end) if end is not None else None)

    def exchange(self, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            action = payload["action"]
            kind = action["type"]
            check_wire_numbers(action)
            signer, account = self._authenticate(payload, kind)
        except (AuthError, RoleError, OrderError) as exc:
            return {"status": "err", "response": str(exc)}
        except (KeyError, TypeError, ValueError) as exc:
            return {"status": "err", "response": f"Failed to deserialize the JSON body: {exc}"}
        try:
            return self._apply(kind, action, signer, account)
        except (OrderError, RoleError) as exc:
            return {"status": "err", "response": str(exc)}

    def _authenticate(self, payload: dict[str, Any], kind: str) -> tuple[str, str]:
        """(signer, the account whose book the action acts on), after the signature, role and nonce checks."""
        e = self.engine
        signer = recover_signer(payload, self.is_mainnet)
        user_signed = kind in USER_SIGNED_TYPES
        owner = e.owner_of(signer)
        if user_signed and owner != signer:  # an agent signs for its owner, but only L1 actions
            owner = None
        if owner is None:
            other = recover_signer_elsewhere(payload, self.is_mainnet)
            if other is not None and e.owner_of(other) is not None:
                theirs = "testnet" if self.is_mainnet else "mainnet"
                raise AuthError(f"Wrong network: action was signed for {theirs}, this exchange is {self.network}")
            if user_signed and e.roles.agent_owner(signer) is not None:
                raise AuthError(f"API Wallet {signer} cannot sign {kind}: it must be signed by the user.")
            raise AuthError(f"User or API Wallet {signer} does not exist.")
        vault = payload.get("vaultAddress")
        account = owner if user_signed else e.acting_account(owner, str(vault) if vault else None)
        nonce = int(payload["action"]["nonce"]) if user_signed else int(payload["nonce"])
        self.nonces.check_and_use(signer, nonce)
        return signer, account

    def _apply(self, kind: str, action: dict[str, Any], signer: str, account: str) -> dict[str, Any]:
        e = self.engine
        if kind == "order":
            if action.get("grouping", "na") != "na" or not isinstance(action.get("orders"), list):
                raise OrderError(f"Unsupported order action: grouping {action.get('grouping')!r} (only 'na')")
            statuses = e.place_orders(account, action["orders"])
            return {"status": "ok", "response": {"type": "order", "data": {"statuses": statuses}}}
        if kind in ("cancel", "cancelByCloid"):
            statuses = e.cancel(account, action["cancels"], by_cloid=kind == "cancelByCloid")
            return {"status": "ok", "response": {"type": "cancel", "data": {"statuses": statuses}}}
        if kind == "updateLeverage":
            e.update_leverage(account, int(action["asset"]), bool(action["isCross"]), int(action["leverage"]))
            return {"status": "ok", "response": {"type": "default"}}
        if kind == "usdClassTransfer":
            e.usd_class_transfer(account, str(action["amount"]), bool(action["toPerp"]))
            return {"status": "ok", "response": {"type": "default"}}
        if kind == "approveAgent":
            e.add_agent(str(action["agentAddress"]), account, str(action.get("agentName") or ""))
            return {"status": "ok", "response": {"type": "default"}}
        return {"status": "err", "response": f"Unsupported action type {kind!r} on the local exchange."}


class _Handler(BaseHTTPRequestHandler):
    exchange: LocalExchange
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # headers and body go out in two writes: without NODELAY, Nagle + delayed ACK add ~40 ms per answer
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # requests carry signatures; keep them out of logs
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._send(422, "Failed to deserialize the JSON body into the target type", text=True)
            return
        endpoint = self.path.strip("/")
        kind = body.get("type") if endpoint == "info" else (body.get("action") or {}).get("type")
        fault = self.exchange._take_fault(endpoint, kind)
        if fault is not None and fault.status is not None and not fault.delay:
            self._send(fault.status, "rate limited" if fault.status == 429 else "internal server error", text=True)
            return
        status, out = self.exchange.handle(self.path, body)
        if fault is not None and fault.answer is not None:
            status, out = 200, fault.answer
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
            if fault.status is not None:
                status, out = fault.status, "gateway timeout"
        self._send(status, out, text=isinstance(out, str))

    def _send(self, status: int, body: Any, *, text: bool = False) -> None:
        data = (body if text else json.dumps(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain" if text else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        with suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(data)
