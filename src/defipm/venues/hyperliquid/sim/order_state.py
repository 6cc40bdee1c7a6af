"""The status of an order on the local exchange."""

from __future__ import annotations

from enum import StrEnum


class OrderState(StrEnum):
    """An order's status on the local exchange, spelled as Hyperliquid's ``orderStatus`` answers it."""

    OPEN = "open"
    FILLED = "filled"
    CANCELED = "canceled"
    TRIGGERED = "triggered"
    REDUCE_ONLY_CANCELED = "reduceOnlyCanceled"
    MARGIN_CANCELED = "marginCanceled"
