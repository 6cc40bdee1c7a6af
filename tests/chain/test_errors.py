"""web3 and transport errors leave the chain layer as defipm errors."""

from __future__ import annotations

import pytest
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


def test_a_local_chain_that_will_not_start_is_not_a_venue_error(monkeypatch, tmp_path) -> None:
    """A setup step (anvil, artifacts, deployment) failing is a ``ChainError``, which the manager never takes for a
    venue's answer; a node's error answer to a read stays a venue error."""
    from defipm.chain.anvil import find_anvil
    from defipm.chain.errors import ChainError
    from defipm.core.errors import DefipmError, VenueError

    monkeypatch.setenv("DEFIPM_ANVIL", str(tmp_path / "no-anvil"))
    with pytest.raises(ChainError, match="does not exist") as err:
        find_anvil()
    assert isinstance(err.value, DefipmError) and not isinstance(err.value, VenueError)
    assert issubclass(RpcUnavailableError, VenueError)


def test_an_artifact_of_a_package_npm_has_not_installed_names_the_package_and_the_fix(monkeypatch, tmp_path) -> None:
    """A node_modules installed before a package was added to package.json (here: only v3-core in it)."""
    from defipm.chain import artifacts
    from defipm.chain.errors import ChainError

    (tmp_path / "@uniswap" / "v3-core").mkdir(parents=True)
    monkeypatch.setenv("DEFIPM_NODE_MODULES", str(tmp_path))
    artifacts.load_artifact.cache_clear()
    try:
        with pytest.raises(ChainError) as err:
            artifacts.load_artifact("SwapRouter02")
    finally:
        artifacts.load_artifact.cache_clear()
    message = str(err.value)
    assert "@uniswap/swap-router-contracts is missing from" in message and str(tmp_path) in message
    assert "run `npm install` in the defipm repository root" in message
