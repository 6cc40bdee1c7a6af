"""The connection to an Ethereum node: one way to make a ``Web3`` client, with read retries and hidden secrets.

``connect(url)`` returns a ``Web3`` on ``RetryingHTTPProvider``: read-only JSON-RPC methods (``READ_METHODS``, and
batches made only of them) that fail with a transient transport error are sent again under ``defipm.transport.retry``
(jittered, capped backoff; a ``Retry-After`` of a 429/503 answer obeyed). Anything that signs, broadcasts or changes
the node (``eth_sendRawTransaction``, ``anvil_*``, ``evm_*``) is sent once: a broadcast that timed out may have
reached the node, and the journal finds it again instead. web3's own retry is switched off so there is one policy.
The URL's secret parts (a hosted node's API key) are hidden from log records (``hide_in_logs``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from web3 import HTTPProvider

from defipm.core.redaction import hide_in_logs
from defipm.transport.retry import DEFAULT_POLICY, RetryPolicy, call_with_retry

if TYPE_CHECKING:
    from web3 import Web3
    from web3.types import RPCEndpoint, RPCResponse

__all__ = ["READ_METHODS", "RetryingHTTPProvider", "connect"]

READ_METHODS = frozenset({
    "eth_blockNumber", "eth_chainId", "net_version", "web3_clientVersion", "eth_syncing",
    "eth_gasPrice", "eth_maxPriorityFeePerGas", "eth_feeHistory",
    "eth_getBalance", "eth_getCode", "eth_getStorageAt", "eth_getTransactionCount",
    "eth_call", "eth_estimateGas", "eth_getLogs",
    "eth_getBlockByNumber", "eth_getBlockByHash",
    "eth_getTransactionByHash", "eth_getTransactionReceipt",
    "txpool_content",
})  # fmt: skip
"""JSON-RPC methods that only read, so asking again cannot do anything twice."""


class RetryingHTTPProvider(HTTPProvider):
    """web3's HTTP provider whose reads are retried under ``policy`` (see the module docstring)."""

    def __init__(self, url: str, *, timeout: float = 60.0, policy: RetryPolicy = DEFAULT_POLICY) -> None:
        super().__init__(url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None)
        self.policy = policy

    def _make_request(self, method: RPCEndpoint, request_data: bytes) -> bytes:
        send = super()._make_request
        if method not in READ_METHODS:
            return send(method, request_data)
        return call_with_retry(lambda: send(method, request_data), self.policy)

    def make_batch_request(self, batch_requests: list[tuple[RPCEndpoint, Any]]) -> list[RPCResponse] | RPCResponse:
        send = super().make_batch_request
        if any(method not in READ_METHODS for method, _ in batch_requests):
            return send(batch_requests)
        return call_with_retry(lambda: send(batch_requests), self.policy)


def connect(url: str, *, timeout: float = 60.0, policy: RetryPolicy = DEFAULT_POLICY) -> Web3:
    """A ``Web3`` client on the node at ``url`` (requests time out after ``timeout`` seconds; reads retried under
    ``policy``); the URL's secret parts never appear in log records."""
    from web3 import Web3

    hide_in_logs(url)
    return Web3(RetryingHTTPProvider(url, timeout=timeout, policy=policy))
