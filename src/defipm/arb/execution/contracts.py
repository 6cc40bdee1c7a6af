"""defipm's arbitrage contracts: the compiled ``ArbExecutor`` and ``MockAaveV3Pool`` and their deployment.

The Solidity sources and their artifacts (ABI + creation bytecode, compiled by the npm ``solc`` package with
``npm run build:contracts``, i.e. ``node src/defipm/arb/contracts/compile.js``) ship in ``defipm/arb/contracts``.
A test recompiles the sources and checks the bytecode is unchanged, so the artifacts cannot drift from the source.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from defipm.chain.artifacts import Artifact, to_checksum
from defipm.chain.errors import ChainError

if TYPE_CHECKING:
    from web3.contract import Contract

    from defipm.chain.transactions import TransactionSender

__all__ = ["CONTRACTS_DIR", "CONTRACT_NAMES", "bind", "deploy_executor", "deploy_mock_lender", "erc20", "load"]

CONTRACTS_DIR = Path(__file__).resolve().parent.parent / "contracts"
CONTRACT_NAMES = ("ArbExecutor", "MockAaveV3Pool")
AAVE_PREMIUM_BPS = 5
"""Aave V3's flash-loan premium (0.05%), the mock lender's default."""


@cache
def load(name: str) -> Artifact:
    """The shipped artifact of ``name`` (one of ``CONTRACT_NAMES``)."""
    if name not in CONTRACT_NAMES:
        raise ChainError(f"unknown arbitrage contract {name!r}; known: {', '.join(CONTRACT_NAMES)}")
    path = CONTRACTS_DIR / f"{name}.json"
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ChainError(f"cannot read artifact {path}: {exc}") from exc
    return Artifact(name=name, abi=raw["abi"], bytecode=raw["bytecode"])


def bind(sender: TransactionSender, name: str, address: str) -> Contract:
    """A web3 contract object for a deployed ``name`` at ``address``."""
    return sender.w3.eth.contract(address=to_checksum(address), abi=load(name).abi)


def _deploy(sender: TransactionSender, name: str, *args: Any) -> str:
    from defipm.chain.deploy import deploy_artifact

    return deploy_artifact(sender, load(name), *args).lower()


def deploy_mock_lender(sender: TransactionSender, premium_bps: int = AAVE_PREMIUM_BPS) -> str:
    """Deploy a ``MockAaveV3Pool`` charging ``premium_bps``; fund it by transferring tokens to its address."""
    return _deploy(sender, "MockAaveV3Pool", premium_bps)


def deploy_executor(sender: TransactionSender, lender: str) -> str:
    """Deploy an ``ArbExecutor`` owned by ``sender``'s wallet that borrows from ``lender`` (an Aave V3 pool)."""
    return _deploy(sender, "ArbExecutor", to_checksum(lender))


def erc20(sender: TransactionSender, address: str) -> Contract:
    """A standard ERC-20 interface (balanceOf, allowance, approve, transfer) at ``address``."""
    from defipm.chain.artifacts import abi_of

    return sender.w3.eth.contract(address=to_checksum(address), abi=abi_of("TestERC20"))
