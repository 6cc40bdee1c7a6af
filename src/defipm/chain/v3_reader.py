"""Read a Uniswap V3 pool's swap state from chain into an off-chain ``V3PoolState``.

Reads ``slot0``, ``liquidity``, ``fee``, ``tickSpacing``, the tick bitmap words and each initialized tick's
``liquidityNet``, in JSON-RPC batches (``defipm.chain.batch.read_all``) pinned to one block so the snapshot is
consistent; a failed read fails the whole snapshot (translated: ``RpcUnavailableError``, a revert, ...). By default every bitmap
word of the pool is read (the whole tick range); ``word_radius`` limits the scan to that many words on each side
of the current tick (a simulation that walks past the scanned words would be wrong, so keep it generous).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from defipm.amm.v3_pool import V3PoolState
from defipm.amm.v3_tick_math import MAX_TICK, MIN_TICK
from defipm.chain.artifacts import abi_of, to_checksum
from defipm.chain.batch import contract_call, read_all
from defipm.chain.errors import node_errors, translate_web3_error

if TYPE_CHECKING:
    from web3 import Web3


@dataclass(frozen=True, slots=True)
class PoolInfo:
    """Immutable facts of a pool: its tokens (checksummed), fee (pips) and tick spacing."""

    address: str
    token0: str
    token1: str
    fee: int
    tick_spacing: int


def read_pool_info(w3: Web3, pool_address: str) -> PoolInfo:
    """Tokens, fee and tick spacing of a pool (they never change)."""
    pool = w3.eth.contract(address=to_checksum(pool_address), abi=abi_of("UniswapV3Pool"))
    reads = [contract_call(pool, name) for name in ("token0", "token1", "fee", "tickSpacing")]
    token0, token1, fee, spacing = read_all(w3, reads, f"read V3 pool {pool_address}")
    return PoolInfo(
        pool.address, w3.to_checksum_address(token0), w3.to_checksum_address(token1), int(fee), int(spacing)
    )


def read_pool_state(
    w3: Web3,
    pool_address: str,
    *,
    info: PoolInfo | None = None,
    word_radius: int | None = None,
    block: int | None = None,
) -> V3PoolState:
    """The pool's ``V3PoolState`` at ``block`` (default: the latest block, pinned for every read)."""
    info = info or read_pool_info(w3, pool_address)
    pool = w3.eth.contract(address=to_checksum(pool_address), abi=abi_of("UniswapV3Pool"))
    context = f"read V3 pool state {pool_address}"
    if block is None:
        try:
            block = int(w3.eth.block_number)
        except node_errors() as exc:
            raise translate_web3_error(exc, context) from exc
    slot0, liquidity = read_all(w3, [contract_call(pool, n, block=block) for n in ("slot0", "liquidity")], context)
    words = _bitmap_words(info.tick_spacing, int(slot0[1]), word_radius)
    bitmaps = read_all(w3, [contract_call(pool, "tickBitmap", w, block=block) for w in words], context)
    ticks = [
        tick for word, bitmap in zip(words, bitmaps, strict=True) for tick in _initialized(word, int(bitmap), info.tick_spacing)
    ]  # fmt: skip
    infos = read_all(w3, [contract_call(pool, "ticks", t, block=block) for t in ticks], context)
    return V3PoolState(
        sqrt_price_x96=int(slot0[0]),
        tick=int(slot0[1]),
        liquidity=int(liquidity),
        fee=info.fee,
        tick_spacing=info.tick_spacing,
        ticks={t: int(i[1]) for t, i in zip(ticks, infos, strict=True)},
    )


def _bitmap_words(spacing: int, tick: int, word_radius: int | None) -> list[int]:
    """The tick-bitmap words to read: every word of the pool's tick range, or ``word_radius`` on each side of the
    word holding ``tick``."""
    min_word = (MIN_TICK // spacing) >> 8
    max_word = (MAX_TICK // spacing) >> 8
    if word_radius is not None:
        current = (tick // spacing) >> 8
        min_word, max_word = max(min_word, current - word_radius), min(max_word, current + word_radius)
    return list(range(min_word, max_word + 1))


def _initialized(word: int, bitmap: int, spacing: int) -> list[int]:
    """The initialized ticks a bitmap word marks (bit i of word w is tick (256 w + i) x spacing)."""
    ticks = []
    while bitmap:
        low = bitmap & -bitmap
        ticks.append(((word << 8) + low.bit_length() - 1) * spacing)
        bitmap ^= low
    return ticks
