"""USDC flows of a Hyperliquid account: withdrawable perp margin and ``usdClassTransfer`` between the spot and
perp balances (signed with the SDK's ``sign_usd_class_transfer_action``).

The portfolio lives in the perp account, so spot -> perp is a deposit into it and perp -> spot a withdrawal.
Every transfer, refused ones included, becomes a ``FlowRecord``; ``FlowRecord.store_args`` is what the store's
``record_flow(run, timestamp, amount, kind, note)`` takes, so performance stays time-weighted.
``UsdcFlows`` works on any ``UsdcAccount`` (the client is one), so it does not know the venue; the venue's
``deposit``/``withdraw`` (used by ``PortfolioManager.deposit``/``withdraw``) go through it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from defipm.core.errors import OrderRejectedError, VenueError, VenueUnavailableError


class FlowKind(StrEnum):
    SPOT_TO_PERP = "spot_to_perp"
    PERP_TO_SPOT = "perp_to_spot"


@dataclass(frozen=True, slots=True)
class FlowRecord:
    """One transfer. ``amount`` is positive USDC; ``signed_perp_amount`` is its effect on the perp equity."""

    timestamp: datetime
    kind: FlowKind
    amount: Decimal
    ok: bool
    nonce: int | None = None
    error: str | None = None

    @property
    def signed_perp_amount(self) -> Decimal:
        return self.amount if self.kind is FlowKind.SPOT_TO_PERP else -self.amount

    def store_args(self) -> tuple[datetime, Decimal, str, str]:
        """(timestamp, amount, kind, note) for ``Store.record_flow``: deposit (+) / withdrawal (-)."""
        kind = "deposit" if self.kind is FlowKind.SPOT_TO_PERP else "withdrawal"
        return (
            self.timestamp,
            self.signed_perp_amount,
            kind,
            f"hyperliquid usdClassTransfer {self.kind} nonce={self.nonce}",
        )


class UsdcAccount(Protocol):
    """What transfers need from an account: its two USDC balances and one signed transfer. The client
    (``HyperliquidClient``) is one; nothing here knows about venues."""

    def spot_usdc(self) -> Decimal:
        """The spot side's USDC balance, read now."""
        ...

    def perp_withdrawable(self) -> Decimal:
        """USDC that can leave the perp account now (``clearinghouseState.withdrawable``)."""
        ...

    def new_nonce(self) -> int:
        """A fresh action nonce: the transfer's id."""
        ...

    def usd_class_transfer(self, amount: Decimal, to_perp: bool, nonce: int | None = None) -> int:
        """Sign and send one ``usdClassTransfer``; raises ``VenueUnavailableError`` when the outcome is unknown."""
        ...


@dataclass
class UsdcFlows:
    """Transfers of one account; ``records`` keeps every attempt in order.

    account: the balances and the transfer action. settle_secs: how long to watch the spot balance after a
    transfer went unanswered. on_change: called after every attempt (the venue re-reads its account state).
    """

    account: UsdcAccount
    settle_secs: float = 2.0
    on_change: Callable[[], None] = lambda: None
    records: list[FlowRecord] = field(default_factory=list)

    def withdrawable(self) -> Decimal:
        """USDC that can leave the perp account now."""
        return self.account.perp_withdrawable()

    def transfer(self, amount: Decimal | str | int, *, to_perp: bool) -> FlowRecord:
        """Move ``amount`` USDC; raises the translated error on refusal (after recording the attempt)."""
        value = Decimal(amount)
        kind = FlowKind.SPOT_TO_PERP if to_perp else FlowKind.PERP_TO_SPOT
        if not value.is_finite() or value <= 0:
            raise OrderRejectedError(f"usdClassTransfer: amount must be a finite number above 0, got {value}")
        now = datetime.now(UTC)
        before = self.account.spot_usdc()
        nonce = self.account.new_nonce()
        try:
            self.account.usd_class_transfer(value, to_perp, nonce)
        except VenueUnavailableError as exc:
            return self._unanswered(exc, FlowRecord(now, kind, value, True, nonce), before)
        except VenueError as exc:
            self.records.append(FlowRecord(now, kind, value, False, nonce, str(exc)))
            raise
        finally:
            self.on_change()
        record = FlowRecord(now, kind, value, True, nonce)
        self.records.append(record)
        return record

    def _unanswered(self, exc: VenueUnavailableError, record: FlowRecord, before: Decimal) -> FlowRecord:
        """No answer: the transfer may have happened. The spot balance only moves by transfers (and spot trades,
        which defipm does not make), so it tells; a retry before knowing could move the money twice."""
        if self._landed(before, record.amount, record.kind is FlowKind.SPOT_TO_PERP):
            self.records.append(record)
            return record
        error = (
            f"{exc}; the spot balance did not move within {self.settle_secs:.0f}s, so the transfer "
            f"(nonce {record.nonce}) is taken as not executed: check the account before retrying"
        )
        self.records.append(replace(record, ok=False, error=error))
        raise VenueUnavailableError(f"usdClassTransfer: {error}") from exc

    def _landed(self, before: Decimal, amount: Decimal, to_perp: bool) -> bool:
        expected = before - amount if to_perp else before + amount
        deadline = time.monotonic() + self.settle_secs
        while True:
            try:
                if self.account.spot_usdc() == expected:
                    return True
            except VenueError:
                pass
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.2)
