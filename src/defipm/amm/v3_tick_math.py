"""Uniswap V3 TickMath in exact integers: tick <-> sqrt price (Q64.96) conversions.

``get_sqrt_ratio_at_tick`` is a line-by-line port of the Solidity library (same magic constants, same
rounding), so its results equal the contract's bit for bit. ``get_tick_at_sqrt_ratio`` returns the greatest
tick whose sqrt ratio is <= the input, which is the contract's specification; it is computed from a float
estimate corrected with the exact forward function.
"""

from __future__ import annotations

import math
from functools import lru_cache

from defipm.amm.errors import AmmError

MIN_TICK = -887272
MAX_TICK = 887272
MIN_SQRT_RATIO = 4295128739
MAX_SQRT_RATIO = 1461446703485210103287273052203988822378723970342
Q96 = 1 << 96
MAX_UINT256 = (1 << 256) - 1

_FACTORS = (
    (0x2, 0xFFF97272373D413259A46990580E213A),
    (0x4, 0xFFF2E50F5F656932EF12357CF3C7FDCC),
    (0x8, 0xFFE5CACA7E10E4E61C3624EAA0941CD0),
    (0x10, 0xFFCB9843D60F6159C9DB58835C926644),
    (0x20, 0xFF973B41FA98C081472E6896DFB254C0),
    (0x40, 0xFF2EA16466C96A3843EC78B326B52861),
    (0x80, 0xFE5DEE046A99A2A811C461F1969C3053),
    (0x100, 0xFCBE86C7900A88AEDCFFC83B479AA3A4),
    (0x200, 0xF987A7253AC413176F2B074CF7815E54),
    (0x400, 0xF3392B0822B70005940C7A398E4B70F3),
    (0x800, 0xE7159475A2C29B7443B29C7FA6E889D9),
    (0x1000, 0xD097F3BDFD2022B8845AD8F792AA5825),
    (0x2000, 0xA9F746462D870FDF8A65DC1F90E061E5),
    (0x4000, 0x70D869A156D2A1B890BB3DF62BAF32F7),
    (0x8000, 0x31BE135F97D08FD981231505542FCFA6),
    (0x10000, 0x9AA508B5B7A84E1C677DE54F3E99BC9),
    (0x20000, 0x5D6AF8DEDB81196699C329225EE604),
    (0x40000, 0x2216E584F5FA1EA926041BEDFE98),
    (0x80000, 0x48A170391F7DC42444E8FA2),
)


@lru_cache(maxsize=65536)
def get_sqrt_ratio_at_tick(tick: int) -> int:
    """sqrt(1.0001 ** tick) * 2**96, rounded up like the contract. AmmError outside [MIN_TICK, MAX_TICK]."""
    abs_tick = -tick if tick < 0 else tick
    if abs_tick > MAX_TICK:
        raise AmmError(f"tick {tick} outside [{MIN_TICK}, {MAX_TICK}]")
    ratio = 0xFFFCB933BD6FAD37AA2D162D1A594001 if abs_tick & 0x1 else 0x100000000000000000000000000000000
    for bit, factor in _FACTORS:
        if abs_tick & bit:
            ratio = (ratio * factor) >> 128
    if tick > 0:
        ratio = MAX_UINT256 // ratio
    return (ratio >> 32) + (0 if ratio % (1 << 32) == 0 else 1)


def get_tick_at_sqrt_ratio(sqrt_price_x96: int) -> int:
    """The greatest tick ``t`` with ``get_sqrt_ratio_at_tick(t) <= sqrt_price_x96`` (as the contract)."""
    if not MIN_SQRT_RATIO <= sqrt_price_x96 < MAX_SQRT_RATIO:
        raise AmmError(f"sqrt price {sqrt_price_x96} outside [MIN_SQRT_RATIO, MAX_SQRT_RATIO)")
    estimate = math.floor(2 * math.log(sqrt_price_x96 / Q96) / math.log(1.0001))
    tick = max(MIN_TICK, min(MAX_TICK, estimate))
    while tick > MIN_TICK and get_sqrt_ratio_at_tick(tick) > sqrt_price_x96:
        tick -= 1
    while tick < MAX_TICK and get_sqrt_ratio_at_tick(tick + 1) <= sqrt_price_x96:
        tick += 1
    return tick
