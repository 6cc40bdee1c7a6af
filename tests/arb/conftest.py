"""Fixtures for the arbitrage engine's chain tests: the shared local world with the arbitrage contracts deployed."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from defipm.arb.local_world import ArbLocalWorld
from defipm.chain.local import local_chain_missing, shared_local_uniswap


def require_local_chain() -> None:
    """Skip when anvil / the npm packages are absent, unless DEFIPM_REQUIRE_CHAIN is set (CI sets it)."""
    missing = local_chain_missing()
    if missing and not os.environ.get("DEFIPM_REQUIRE_CHAIN"):
        pytest.skip(missing)


@pytest.fixture(scope="module")
def arb_world() -> Iterator[ArbLocalWorld]:
    """The shared local world plus lender and executor; everything reverted when the module ends."""
    require_local_chain()
    world = shared_local_uniswap()
    snapshot = world.snapshot()
    arb = ArbLocalWorld.setup(world)
    yield arb
    arb.revert(snapshot)


@pytest.fixture
def arb(arb_world: ArbLocalWorld) -> Iterator[ArbLocalWorld]:
    """``arb_world`` reverted to its prior state after the test."""
    snapshot = arb_world.snapshot()
    yield arb_world
    arb_world.revert(snapshot)
