"""Chain-layer errors and the one place web3 / RPC exceptions are translated into defipm's hierarchy.

    DefipmError
     ├── ChainError                        a local-chain setup step failed (anvil, artifacts, deployment)
     ├── ConfigError
     │    ├── WalletError                  no key, wrong keystore password, malformed key
     │    └── MainnetSigningRefusedError   a known mainnet chain id and the config did not opt in
     ├── ChainError                        a local-chain setup step failed (anvil, artifacts, deployment): not a
     │                                     venue's answer, so never taken for one by the manager
     └── VenueError
          ├── OrderRejectedError
          │    ├── TransactionRevertedError  the transaction reverted (in simulation or on chain)
          │    └── GasPriceTooHighError      the fee per gas is above the configured ceiling: nothing sent
          └── VenueUnavailableError
               └── RpcUnavailableError     the node is unreachable or timed out; the outcome may be unknown

``translate_web3_error`` maps an exception raised by web3.py (or requests) to one of these; callers re-raise it
``from`` the original so the traceback keeps both. They catch only ``node_errors()``: what a node or the network
between us can cause. Anything else (a ``TypeError`` in our code, an ABI that does not match our call) is a bug and
propagates as it is, so it is never taken for "the node failed, the outcome is unknown".
"""

from __future__ import annotations

from functools import cache

from defipm.core.errors import (
    ConfigError,
    DefipmError,
    OrderRejectedError,
    VenueError,
    VenueUnavailableError,
)
from defipm.core.redaction import redact_text


class WalletError(ConfigError):
    """A signing key could not be loaded (missing, malformed, wrong keystore password)."""


class MainnetSigningRefusedError(ConfigError):
    """Signing on a known mainnet chain id without ``allow_mainnet`` in the config."""


class ChainError(DefipmError):
    """A local-chain step failed: anvil would not start, an artifact is missing, a deployment failed. Not a venue
    error: nothing was traded, the installation or the test world is at fault."""


class TransactionRevertedError(OrderRejectedError):
    """A transaction reverted. ``reason`` is the decoded revert string when there is one; ``tx_hash`` is set
    when the revert happened on chain (gas was paid) and None when it was caught in simulation."""

    def __init__(self, message: str, *, reason: str | None = None, tx_hash: str | None = None) -> None:
        self.reason = reason
        self.tx_hash = tx_hash
        super().__init__(message)


class GasPriceTooHighError(OrderRejectedError):
    """The network's fee per gas (base fee + tip) is above the configured ceiling; nothing was signed or sent.
    ``fee_per_gas_wei`` and ``ceiling_wei`` give both figures."""

    def __init__(self, message: str, *, fee_per_gas_wei: int, ceiling_wei: int) -> None:
        self.fee_per_gas_wei = fee_per_gas_wei
        self.ceiling_wei = ceiling_wei
        super().__init__(message)


class RpcUnavailableError(VenueUnavailableError):
    """The RPC node is unreachable, timed out or answered with a server error."""


@cache
def transport_errors() -> tuple[type[BaseException], ...]:
    """Failures to reach the node or to get its answer: refused or reset connections, timeouts, HTTP errors (rate
    limits, gateways), a receipt that did not come in time."""
    import requests
    from web3.exceptions import ProviderConnectionError, TimeExhausted, TooManyRequests

    return (ConnectionError, TimeoutError, requests.RequestException, ProviderConnectionError, TooManyRequests,
            TimeExhausted)  # fmt: skip


@cache
def node_errors() -> tuple[type[BaseException], ...]:
    """``transport_errors()`` and the node's own answers that are errors: a JSON-RPC error (``Web3RPCError``, which
    covers an unknown transaction or block), a revert, output that does not decode as the function's ABI (no
    contract at the address, another interface), a malformed response."""
    from web3.exceptions import (
        BadFunctionCallOutput,
        BadResponseFormat,
        BlockNumberOutOfRange,
        ContractLogicError,
        InsufficientData,
        Web3RPCError,
    )

    return (*transport_errors(), Web3RPCError, ContractLogicError, BadFunctionCallOutput, BadResponseFormat,
            BlockNumberOutOfRange, InsufficientData)  # fmt: skip


NODE_HINT = "is the node running (the local chain: `defipm chain up`)? Its address is [venue.params] rpc_url"
"""The fix an unreachable node's error names (the library's text before it gives the host and port)."""


def translate_web3_error(exc: BaseException, context: str) -> DefipmError:
    """The defipm error for an exception raised while doing ``context`` (e.g. "swap USDC->WETH"). The library's text
    goes through ``redact_text``: an HTTP error names the node's URL, whose path or query carries its API key."""
    from web3.exceptions import ContractCustomError, ContractLogicError, TimeExhausted, Web3RPCError

    if isinstance(exc, DefipmError):
        return exc
    text = redact_text(str(exc))
    if isinstance(exc, ContractCustomError):
        return TransactionRevertedError(f"{context}: reverted with custom error {exc.data}", reason=str(exc.data))
    if isinstance(exc, ContractLogicError):
        reason = exc.message or str(exc)
        reason = reason.removeprefix("execution reverted: ").removeprefix("execution reverted")
        return TransactionRevertedError(f"{context}: reverted ({reason or 'no reason'})", reason=reason or None)
    if isinstance(exc, TimeExhausted):
        return RpcUnavailableError(f"{context}: timed out waiting for the node ({text})")
    if isinstance(exc, Web3RPCError):
        message = text
        if "revert" in message.lower():
            return TransactionRevertedError(f"{context}: reverted ({message})", reason=message)
        if "nonce" in message.lower() or "insufficient funds" in message.lower():
            return OrderRejectedError(f"{context}: node refused the transaction ({message})")
        return RpcUnavailableError(f"{context}: RPC error ({message})")
    if isinstance(exc, ConnectionError | TimeoutError | OSError):
        return RpcUnavailableError(f"{context}: node unreachable ({type(exc).__name__}: {text}); {NODE_HINT}")
    try:
        import requests

        if isinstance(exc, requests.RequestException):
            return RpcUnavailableError(f"{context}: node unreachable ({type(exc).__name__}: {text}); {NODE_HINT}")
    except ImportError:  # pragma: no cover - requests ships with web3
        pass
    return VenueError(f"{context}: {type(exc).__name__}: {text}")
