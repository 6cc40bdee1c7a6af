"""What an engine tells the journal about each transaction it is about to send.

An engine calls ``TxLog.signed(tx, step)`` after signing and before broadcasting every transaction (approvals,
swap hops, the flash-loan call, unwinding swaps): ``tx`` carries the nonce and the hash, ``step`` what the
transaction is for. The journal (``defipm.arb.journal``) writes it down, so a restarted process finds every
transaction that may have reached the chain by its hash. When ``signed`` raises, nothing is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from defipm.chain.transactions import SignedTx

__all__ = ["TxLog", "TxStep"]


@dataclass(frozen=True, slots=True)
class TxStep:
    """What a transaction does. ``purpose``: approve, hop, flash or unwind; ``hop``: index of the plan's hop for a
    swap of the cycle; tokens lower-case addresses; ``amount_in`` raw units of ``token_in``."""

    purpose: str
    hop: int | None = None
    token_in: str | None = None
    token_out: str | None = None
    amount_in: int | None = None


class TxLog(Protocol):
    """Receives every signed transaction before it is broadcast."""

    def signed(self, tx: SignedTx, step: TxStep) -> None: ...
