"""Read a Uniswap V3 pool's swap state from chain into an off-chain ``V3PoolState``.

Reads ``slot0``, ``liquidity``, ``fee``, ``tickSpacing``, the tick bitmap words and each initialized tick's
``liquidityNet``, in JSON-RPC batches pinned to one block so the snapshot is consistent. By default every bitmap
word of the pool is read (the whole tick range); ``word_radius`` limits the scan to that many words on each side
of the current tick (a simulation that walks past the scanned words would be wrong, so keep it generous).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from defipm.amm.v3_pool import V3PoolState
from defipm.amm.v3_tick_math import MAX_TICK, MIN_TICK
from defipm.chain.artifacts import abi_of, to_checksum
from defipm.chain.errors import RpcUnavailableError, translate_web3_error

if TYPE_CHECKING:
    from web3 import Web3

_BATCH = 500


@dataclass(frozen=True, slots=True)
class PoolInfo:
    """Immutable facts of a pool: its tokens (checksummed), fee (pips) and tick spacing."""

    address: str
    token0: str
    token1: str
    fee: int
    tick_spacing: int


def batch_call(w3: Web3, contract: Any, calls: Sequence[tuple[str, Sequence[Any]]], block: int | str) -> list[Any]:
    """``eth_call`` each (function name, args) on ``contract`` at ``block`` (a number, or a tag such as
    ``"pending"``), in JSON-RPC batches; decoded."""
    from eth_abi import decode

    results: list[Any] = []
    tag = hex(block) if isinstance(block, int) else block
    for start in range(0, len(calls), _BATCH):
        chunk = calls[start : start + _BATCH]
        requests = []
        output_types = []
        for name, args in chunk:
            fn = contract.get_function_by_name(name)
            output_types.append([o["type"] for o in fn.abi["outputs"]])
            data = contract.encode_abi(name, args=list(args))
            requests.append(("eth_call", [{"to": contract.address, "data": data}, tag]))
        responses = w3.provider.make_batch_request(requests)  # type: ignore[attr-defined]
        if isinstance(responses, dict):  # the whole batch failed
            raise RpcUnavailableError(f"batch eth_call failed: {responses.get('error')}")
        by_id = sorted(responses, key=lambda r: r["id"])
        for response, types in zip(by_id, output_types, strict=True):
            if "error" in response:
                raise RpcUnavailableError(f"eth_call failed: {response['error']}")
            values = decode(types, bytes.fromhex(response["result"][2:]))
            results.append(values[0] if len(values) == 1 else values)
    return results


def read_pool_info(w3: Web3, pool_address: str) -> PoolInfo:
    """Tokens, fee and tick spacing of a pool (they never change)."""
    pool = w3.eth.contract(address=to_checksum(pool_address), abi=abi_of("UniswapV3Pool"))
    try:
        calls: list[tuple[str, Sequence[Any]]] = [("token0", ()), ("token1", ()), ("fee", ()), ("tickSpacing", ())]
        token0, token1, fee, spacing = batch_call(w3, pool, calls, w3.eth.block_number)
    except Exception as exc:
        raise translate_web3_error(exc, f"read V3 pool {pool_address}") from exc
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
    try:
        at = block if block is not None else w3.eth.block_number
        slot0, liquidity = batch_call(w3, pool, [("slot0", ()), ("liquidity", ())], at)
        spacing = info.tick_spacing
        min_word = (MIN_TICK // spacing) >> 8
        max_word = (MAX_TICK // spacing) >> 8
        current_word = (int(slot0[1]) // spacing) >> 8
        if word_radius is not None:
            min_word = max(min_word, current_word - word_radius)
            max_word = min(max_word, current_word + word_radius)
        words = list(range(min_word, max_word + 1))
        bitmaps = batch_call(w3, pool, [("tickBitmap", (w,)) for w in words], at)
        ticks: list[int] = []
        for word, bitmap in zip(words, bitmaps, strict=True):
            bits = int(bitmap)
            while bits:
                low = bits & -bits
                ticks.append(((word << 8) + low.bit_length() - 1) * spacing)
                bits ^= low
        infos = batch_call(w3, pool, [("ticks", (t,)) for t in ticks], at)
    except Exception as exc:
        raise translate_web3_error(exc, context) from exc
    nets = {t: int(i[1]) for t, i in zip(ticks, infos, strict=True)}
    return V3PoolState(
        sqrt_price_x96=int(slot0[0]),
        tick=int(slot0[1]),
        liquidity=int(liquidity),
        fee=info.fee,
        tick_spacing=spacing,
        ticks=nets,
    )
