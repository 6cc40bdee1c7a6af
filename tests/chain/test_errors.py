"""web3 and transport errors leave the chain layer as defipm errors."""

from __future__ import annotations

import requests
from web3.exceptions import ContractLogicError, TimeExhausted

from defipm.chain.errors import RpcUnavailableError, TransactionRevertedError, translate_web3_error
from defipm.core.errors import OrderRejectedError, VenueUnavailableError


def test_revert_becomes_order_rejected_with_reason() -> None:
    error = translate_web3_error(ContractLogicError("execution reverted: Too little received"), "swap UNI")
    assert isinstance(error, TransactionRevertedError) and isinstance(error, OrderRejectedError)
    assert error.reason == "Too little received"
    assert "swap UNI" in str(error)


def test_transport_failures_become_unavailable() -> None:
    for exc in (requests.ConnectionError("refused"), TimeExhausted("no receipt"), ConnectionError("reset")):
        error = translate_web3_error(exc, "send")
        assert isinstance(error, RpcUnavailableError) and isinstance(error, VenueUnavailableError)
