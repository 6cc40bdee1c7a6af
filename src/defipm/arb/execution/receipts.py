"""What a mined transaction did to the wallet's tokens, read from its receipt's ERC-20 ``Transfer`` logs.

``wallet_flows(w3, receipt, wallet)`` decodes the logs with web3's contract event ABI (any emitting contract; logs
that are not an ERC-20 ``Transfer`` are skipped) and returns, per token, what the wallet received minus what it
sent. The engines measure swaps and profits this way, and a restarted process rebuilds an execution's outcome
from the same receipts, so both agree to the unit.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from web3 import Web3

__all__ = ["wallet_flows"]


def wallet_flows(w3: Web3, receipt: Any, wallet: str) -> dict[str, int]:
    """Token (lower-case address) -> the wallet's net change in raw units in ``receipt``; zero changes left out."""
    from web3.logs import DISCARD

    from defipm.chain.artifacts import abi_of

    transfer = w3.eth.contract(abi=abi_of("TestERC20")).events.Transfer()
    me = wallet.lower()
    flows: dict[str, int] = defaultdict(int)
    for log in transfer.process_receipt(receipt, errors=DISCARD):
        token = str(log["address"]).lower()
        value = int(log["args"]["value"])
        if str(log["args"]["to"]).lower() == me:
            flows[token] += value
        if str(log["args"]["from"]).lower() == me:
            flows[token] -= value
    return {t: v for t, v in flows.items() if v}
