"""Fixtures: the session's local Uniswap world (shared with tests/chain) and a venue on a funded wallet."""

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


@pytest.fixture
def world() -> Iterator[LocalUniswap]:
    """The shared local world, reverted to its prior state after the test."""
    _require_local_chain()
    shared = shared_local_uniswap()
    snapshot = shared.snapshot()
    yield shared
    shared.revert(snapshot)
