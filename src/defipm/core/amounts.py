"""Exact amounts from user input: a number typed, configured or passed in code becomes the ``Decimal`` it reads as.

Floats go through their shortest ``repr`` (``0.1`` is ``Decimal("0.1")``, never its binary expansion), so an
amount a user gave is the amount the books and the orders use.
"""

from __future__ import annotations

from decimal import Decimal


def to_decimal(value: Decimal | float | int | str, what: str = "amount") -> Decimal:
    """``value`` as an exact ``Decimal``. Raises ``ValueError`` naming ``what`` for text that is not a number
    (NaN and infinities are numbers here: ``finite_positive`` refuses them)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    try:
        return Decimal(value)
    except (ArithmeticError, TypeError, ValueError):
        raise ValueError(f"{what} must be a number, got {value!r}") from None


def finite_positive(value: Decimal | float | int | str, what: str) -> Decimal:
    """``to_decimal``, refusing NaN, infinities, zero and negatives with a ``ValueError`` naming ``what``."""
    d = to_decimal(value, what)
    if not d.is_finite() or d <= 0:
        raise ValueError(f"{what} must be a finite number above 0, got {value!r}")
    return d


def format_amount(value: Decimal | float | int | str, digits: int | None = None) -> str:
    """``value`` as people read it: a plain decimal, never in exponent form (``1000``, not ``1E+3``; ``0.00001``,
    not ``1E-5``), without trailing zeros. ``digits``: significant digits to keep (rounded half-even), None for
    all of them. NaN and infinities print as ``NaN`` / ``Infinity``. The one formatter for quantities, prices and
    limits in messages, tables and notes."""
    d = to_decimal(value)
    if not d.is_finite():
        return str(d)
    if digits is not None and d != 0:
        d = d.quantize(Decimal(1).scaleb(d.adjusted() - digits + 1))
    text = f"{d:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
