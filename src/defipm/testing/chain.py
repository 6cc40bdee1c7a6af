"""A fake at the JSON-RPC boundary, for testing code that talks to an Ethereum node: ``ScriptedNode``.

``ScriptedNode`` is a web3 provider (``Web3(ScriptedNode(...))``). Alone, it answers only what it is told; in front
of a real node (``ScriptedNode(LocalUniswap.w3.provider)``, or any web3 provider) it passes every request on and
changes only what the test scripts, so the code under test runs against real contracts with one thing different:

- ``answer("eth_gasPrice", 2_000 * 10**9, 10**9)``: results in turn (the last one repeats);
- ``fail("eth_call", "execution reverted", 3, ScriptedNode.revert_data("too little"))``: a JSON-RPC error for
  that method (here a revert with its reason, as geth and anvil send it);
- ``prune_state(keep_blocks=0)``: state reads at older blocks refused with "missing trie node", as a node that is not
  an archive node answers (``eth_getTransactionCount``, ``eth_getBalance``, ``eth_getCode``, ``eth_getStorageAt``,
  ``eth_call`` at a block number more than ``keep_blocks`` behind the latest);
- ``before(method, action)``: run ``action()`` (e.g. mine a block on the node) the first time a request for
  ``method`` that ``when(params)`` accepts arrives, then pass the request on: something that happens on the chain
  while the code under test is looking.

Every request is recorded in ``requests`` as ``(method, params)``; batches are answered request by request.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from web3.providers.base import JSONBaseProvider

if TYPE_CHECKING:
    from web3.providers.base import BaseProvider
    from web3.types import RPCEndpoint, RPCResponse

__all__ = ["STATE_READS", "ScriptedNode"]

Handler = Callable[[list[Any], Callable[[], "RPCResponse"]], "RPCResponse"]
"""(params, pass it on) -> the answer to one request."""

STATE_READS = {"eth_getTransactionCount": 1, "eth_getBalance": 1, "eth_getCode": 1, "eth_getStorageAt": 2,
               "eth_call": 1}  # fmt: skip
"""Methods that read state at a block, and the position of their block parameter."""


class ScriptedNode(JSONBaseProvider):
    """A web3 provider that answers as scripted and passes everything else on to ``upstream`` (see the module
    docstring); without an upstream, an unscripted method is answered with JSON-RPC's "method not found"."""

    def __init__(self, upstream: BaseProvider | None = None) -> None:
        super().__init__()
        self.upstream = upstream
        self.requests: list[tuple[str, list[Any]]] = []
        self._handlers: dict[str, Handler] = {}
        self._ids = itertools.count(1)

    # -- scripting ---------------------------------------------------------------------------------------------
    def on(self, method: str, handler: Handler) -> ScriptedNode:
        """Answer ``method`` with ``handler(params, pass_on)``; returns the node, so scripts chain."""
        self._handlers[method] = handler
        return self

    def answer(self, method: str, *results: Any) -> ScriptedNode:
        """Answer ``method`` with ``results`` in turn (JSON values as the node would send them; an int is sent as
        a hex quantity); the last one is repeated."""
        if not results:
            raise ValueError(f"answer({method!r}) needs at least one result")
        queue = list(results)

        def scripted(params: list[Any], pass_on: Callable[[], RPCResponse]) -> RPCResponse:
            value = queue.pop(0) if len(queue) > 1 else queue[0]
            return self._result(hex(value) if isinstance(value, int) and not isinstance(value, bool) else value)

        return self.on(method, scripted)

    def fail(self, method: str, message: str, code: int = -32000, data: str | None = None) -> ScriptedNode:
        """Answer every ``method`` request with a JSON-RPC error (``data``: e.g. a revert's encoded reason)."""
        return self.on(method, lambda params, pass_on: self._error(message, code, data))

    @staticmethod
    def revert_data(reason: str) -> str:
        """The ``data`` of a revert with ``reason``, as a node sends it: ``Error(string)`` ABI-encoded."""
        from eth_abi import encode

        return "0x08c379a0" + encode(["string"], [reason]).hex()

    def prune_state(self, keep_blocks: int = 0) -> ScriptedNode:
        """Refuse state reads at block numbers more than ``keep_blocks`` behind the latest (a pruned node)."""
        for method, position in STATE_READS.items():

            def pruned(params: list[Any], pass_on: Callable[[], RPCResponse], position: int = position) -> RPCResponse:
                block = params[position] if len(params) > position else "latest"
                if isinstance(block, str) and block.startswith("0x") and int(block, 16) < self._latest() - keep_blocks:
                    return self._error("missing trie node")
                return pass_on()

            self.on(method, pruned)
        return self

    def before(self, method: str, action: Callable[[], object], when: Callable[[list[Any]], bool] = lambda p: True) -> ScriptedNode:  # fmt: skip
        """Run ``action()`` once, before passing on the first ``method`` request whose params ``when`` accepts."""
        done = False
        handler = self._handlers.get(method)

        def first_then_pass(params: list[Any], pass_on: Callable[[], RPCResponse]) -> RPCResponse:
            nonlocal done
            if not done and when(params):
                done = True
                action()
            return handler(params, pass_on) if handler is not None else pass_on()

        return self.on(method, first_then_pass)

    # -- the provider --------------------------------------------------------------------------------------------
    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        self.requests.append((str(method), list(params)))
        handler = self._handlers.get(str(method))

        def pass_on() -> RPCResponse:
            return self._pass_on(str(method), list(params))

        return handler(list(params), pass_on) if handler is not None else pass_on()

    def make_batch_request(self, requests: list[tuple[RPCEndpoint, Any]]) -> list[RPCResponse]:
        return [{**self.make_request(method, params), "id": i} for i, (method, params) in enumerate(requests)]  # type: ignore[typeddict-item]

    def is_connected(self, show_traceback: bool = False) -> bool:
        return True

    def _pass_on(self, method: str, params: list[Any]) -> RPCResponse:
        if self.upstream is None:
            return self._error(f"the method {method} does not exist/is not available", -32601)
        return self.upstream.make_request(method, params)  # type: ignore[arg-type]

    def _latest(self) -> int:
        return int(self._pass_on("eth_blockNumber", [])["result"], 16)

    def _result(self, value: Any) -> RPCResponse:
        return {"jsonrpc": "2.0", "id": next(self._ids), "result": value}

    def _error(self, message: str, code: int = -32000, data: str | None = None) -> RPCResponse:
        error: dict[str, Any] = {"code": code, "message": message}
        if data is not None:
            error["data"] = data
        return {"jsonrpc": "2.0", "id": next(self._ids), "error": error}  # type: ignore[typeddict-item]
