"""Orders, fills and order results are values: built once, never changed (a changed copy is a new value)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from defipm.core.orders import Fill, Order, OrderResult, OrderStatus, Side


def test_order_values_refuse_changes_during_the_suite() -> None:
    order = Order("BTC", Side.BUY, Decimal("0.5"), client_order_id="0x01")
    fill = Fill("BTC", Side.BUY, Decimal("0.5"), Decimal(100), Decimal("0.02"), "0x01")
    result = OrderResult(order, OrderStatus.FILLED, fills=(fill,))
    for value, field in ((order, "quantity"), (fill, "price"), (result, "status")):
        with pytest.raises(dataclasses.FrozenInstanceError, match=field):
            setattr(value, field, getattr(value, field))
        with pytest.raises(dataclasses.FrozenInstanceError):
            delattr(value, field)
    changed = dataclasses.replace(result, status=OrderStatus.REJECTED, error="no")
    assert (result.status, changed.status, changed.order) == (OrderStatus.FILLED, OrderStatus.REJECTED, order)


def test_an_order_needs_a_positive_quantity() -> None:
    with pytest.raises(ValueError, match="BTC: order quantity must be positive"):
        Order("BTC", Side.SELL, Decimal(0))
