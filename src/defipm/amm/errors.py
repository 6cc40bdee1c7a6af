"""Errors of the pure AMM maths: a swap or quote the pool itself would refuse.

DefipmError
 └── AmmError                       a pool maths precondition failed (mirrors a Solidity require)
      └── InsufficientLiquidityError  the pool cannot fill the requested amount before its price limit
"""

from __future__ import annotations

from defipm.core.errors import DefipmError


class AmmError(DefipmError, ValueError):
    """A pool maths precondition failed: the on-chain contract would revert on the same input."""


class InsufficientLiquidityError(AmmError):
    """The pool runs out of liquidity (or reaches the price limit) before filling the requested amount."""
