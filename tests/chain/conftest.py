"""Fixtures for tests on the local Uniswap world (one anvil + deployment per test session)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from defipm.chain.local import LocalUniswap, local_chain_missing, shared_local_uniswap


def _require_local_chain() -> None:
    """Skip when anvil / the npm artifacts are absent, unless DEFIPM_REQUIRE_CHAIN is set (CI sets it)."""
    missing = local_chain_missing()
    if missing and not os.environ.get("DEFIPM_REQUIRE_CHAIN"):
        pytest.skip(missing)


@pytest.fixture(scope="session")
def uniswap_world() -> LocalUniswap:
    """The session's local Uniswap world (anvil + WETH, tokens, V3 and V2). Shared: revert what you change."""
    _require_local_chain()
    return shared_local_uniswap()


@pytest.fixture
def isolated_world(uniswap_world: LocalUniswap) -> Iterator[LocalUniswap]:
    """The shared world, reverted to its prior state after the test."""
    snapshot = uniswap_world.snapshot()
    yield uniswap_world
    uniswap_world.revert(snapshot)
