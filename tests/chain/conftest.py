"""Fixtures for tests on the local Uniswap world (one anvil + deployment per test session)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from defipm.chain.local import LocalUniswap, shared_local_uniswap


@pytest.fixture(scope="session")
def uniswap_world() -> LocalUniswap:
    """The session's local Uniswap world (anvil + WETH, tokens, V3 and V2). Shared: revert what you change."""
    return shared_local_uniswap()


@pytest.fixture
def isolated_world(uniswap_world: LocalUniswap) -> Iterator[LocalUniswap]:
    """The shared world, reverted to its prior state after the test."""
    snapshot = uniswap_world.snapshot()
    yield uniswap_world
    uniswap_world.revert(snapshot)
