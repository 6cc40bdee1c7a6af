"""Fixtures: the session's local Uniswap world (shared with tests/chain) and a venue on a funded wallet."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from defipm.chain.local import LocalUniswap, shared_local_uniswap


@pytest.fixture
def world() -> Iterator[LocalUniswap]:
    """The shared local world, reverted to its prior state after the test."""
    shared = shared_local_uniswap()
    snapshot = shared.snapshot()
    yield shared
    shared.revert(snapshot)
