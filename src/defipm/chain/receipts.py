"""What a mined transaction did to tokens, read from its receipt's ERC-20 ``Transfer`` logs with web3's event ABI.

``transfers(w3, receipt)`` decodes every log that is an ERC-20 ``Transfer`` (any emitting contract; other logs, and
ERC-721 transfers, whose token id is indexed, are skipped) into ``Transfer(token, sender, recipient, value)``,
addresses lower-case, values in the token's base units. ``wallet_flows`` nets them per token for one wallet (the
arbitrage engines and their settlement); ``transferred`` sums one token's transfers from or to an address (the
Uniswap venue's paid and received amounts). A process that restarts rebuilds an outcome from the same receipts, so
both agree to the unit.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from defipm.chain.artifacts import abi_of

if TYPE_CHECKING:
    from web3 import Web3

__all__ = ["Transfer", "transferred", "transfers", "wallet_flows"]


@dataclass(frozen=True, slots=True)
class Transfer:
    """One ERC-20 ``Transfer`` log: the token contract, from, to (lower-case addresses) and the amount."""

    token: str
    sender: str
    recipient: str
    value: int


@cache
def _erc20_abi() -> tuple[Any, ...]:
    return tuple(abi_of("TestERC20"))


def transfers(w3: Web3, receipt: Any) -> list[Transfer]:
    """The receipt's ERC-20 transfers, in log order."""
    from web3.logs import DISCARD

    event = w3.eth.contract(abi=list(_erc20_abi())).events.Transfer()
    return [
        Transfer(str(log["address"]).lower(), str(log["args"]["from"]).lower(), str(log["args"]["to"]).lower(),
                 int(log["args"]["value"]))
        for log in event.process_receipt(receipt, errors=DISCARD)
    ]  # fmt: skip


def wallet_flows(w3: Web3, receipt: Any, wallet: str) -> dict[str, int]:
    """Token (lower-case address) -> the wallet's net change in base units in ``receipt``; zero changes left out."""
    me = wallet.lower()
    flows: dict[str, int] = defaultdict(int)
    for t in transfers(w3, receipt):
        if t.recipient == me:
            flows[t.token] += t.value
        if t.sender == me:
            flows[t.token] -= t.value
    return {token: v for token, v in flows.items() if v}


def transferred(w3: Web3, receipt: Any, token: str, *, sender: str | None = None, recipient: str | None = None) -> int:
    """The total of ``token`` moved in ``receipt`` from ``sender`` and to ``recipient`` (None: anyone)."""
    token, src, dst = token.lower(), (sender or "").lower(), (recipient or "").lower()
    return sum(
        t.value for t in transfers(w3, receipt)
        if t.token == token and (not src or t.sender == src) and (not dst or t.recipient == dst)
    )  # fmt: skip
