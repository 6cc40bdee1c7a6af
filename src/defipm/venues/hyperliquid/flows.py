"""USDC flows of a Hyperliquid account: withdrawable perp margin and ``usdClassTransfer`` between the spot and
perp balances (signed with the SDK's ``sign_usd_class_transfer_action``).

The portfolio lives in the perp account, so spot -> perp is a deposit into it and perp -> spot a withdrawal.
Every transfer, refused ones included, becomes a ``FlowRecord``; ``FlowRecord.store_args`` is what the store's
``record_flow(run, timestamp, amount, kind, note)`` takes, so performance stays time-weighted.
``HyperliquidVenue.deposit``/``withdraw`` (used by ``PortfolioManager.deposit``/``withdraw``) go through here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from defipm.core.errors import OrderRejectedError, VenueError, VenueUnavailableError

if TYPE_CHECKING:
    from defipm.venues.hyperliquid.venue import HyperliquidVenue


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


@dataclass
class UsdcFlows:
    """Transfers for one connected ``HyperliquidVenue``; ``records`` keeps every attempt in order."""

    venue: HyperliquidVenue
    records: list[FlowRecord] = field(default_factory=list)

    def withdrawable(self) -> Decimal:
        """USDC that can leave the perp account now (``clearinghouseState.withdrawable``)."""
        self.venue.refresh()
        return self.venue.withdrawable()

    def transfer(self, amount: Decimal | str | int, *, to_perp: bool) -> FlowRecord:
        """Move ``amount`` USDC; raises the translated error on refusal (after recording the attempt)."""
        value = Decimal(amount)
        kind = FlowKind.SPOT_TO_PERP if to_perp else FlowKind.PERP_TO_SPOT
        if value <= 0:
            raise OrderRejectedError(f"usdClassTransfer: amount must be positive, got {value}")
        now = datetime.now(UTC)
        client = self.venue.client
        before = client.spot_usdc()
        nonce = client.new_nonce()
        try:
            client.usd_class_transfer(value, to_perp, nonce)
        except VenueUnavailableError as exc:
            # No answer: the transfer may have happened. The spot balance only moves by transfers (and spot
            # trades, which defipm does not make), so it tells; a retry before knowing could move the money twice.
            if self._landed(before, value, to_perp):
                record = FlowRecord(now, kind, value, True, nonce)
                self.records.append(record)
                return record
            error = (
                f"{exc}; the spot balance did not move within {self.settle_secs:.0f}s, so the transfer "
                f"(nonce {nonce}) is taken as not executed: check the account before retrying"
            )
            self.records.append(FlowRecord(now, kind, value, False, nonce, error))
            raise VenueUnavailableError(f"usdClassTransfer: {error}") from exc
        except VenueError as exc:
            self.records.append(FlowRecord(now, kind, value, False, nonce, str(exc)))
            raise
        finally:
            self.venue.mark_stale()
        record = FlowRecord(now, kind, value, True, nonce)
        self.records.append(record)
        return record

    @property
    def settle_secs(self) -> float:
        """How long to watch the spot balance after a transfer went unanswered."""
        return max(2.0, 2 * self.venue.config.timeout_secs)

    def _landed(self, before: Decimal, amount: Decimal, to_perp: bool) -> bool:
        expected = before - amount if to_perp else before + amount
        deadline = time.monotonic() + self.settle_secs
        while True:
            try:
                if self.venue.client.spot_usdc() == expected:
                    return True
            except VenueError:
                pass
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.2)
