"""Protocol adapters from chain state: ``V2Pool``s from ``getReserves`` and ``V3Pool``s from the V3 reader.

``ChainPoolReader(w3, refs)`` reads a fixed set of pools (``PoolRef``: address, "v2" or "v3", the V2 fee) at one
block. ``load_tokens()`` reads every pool's tokens and their ``decimals``/``symbol`` once (they never change);
``refresh(block)`` reads the mutable state of every pool pinned at ``block``: V2 reserves for all pairs in one
JSON-RPC batch (``defipm.chain.batch.read_each``: a pair whose read fails is skipped, the others kept), and each V3 pool through ``defipm.chain.v3_reader`` (the whole tick bitmap on first read, then
only ``refresh_word_radius`` bitmap words around the current tick, merged with the ticks read before).

Nothing here raises for one bad pool: a pool whose read fails (RPC timeout, a reverting call, unknown decimals,
zero reserves) is left out of ``PoolRefresh.pools`` and listed in ``PoolRefresh.skipped`` with the reason, so the
scanner keeps running on the rest. All addresses are lower-case hex, as in the rest of ``defipm.arb``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from defipm.amm.errors import AmmError
from defipm.amm.v3_pool import V3PoolState
from defipm.arb.pools import Pool, Token, V2Pool, V3Pool
from defipm.chain.artifacts import abi_of, to_checksum
from defipm.chain.batch import contract_call, read_each
from defipm.chain.errors import node_errors, translate_web3_error
from defipm.core.errors import DefipmError

if TYPE_CHECKING:
    from web3 import Web3

__all__ = ["ChainPoolReader", "PoolRef", "PoolRefresh", "SkippedPool"]

_ERC20_ABI: list[dict[str, Any]] = [
    {"name": n, "type": "function", "stateMutability": "view", "inputs": [], "outputs": [{"name": "", "type": t}]}
    for n, t in (("decimals", "uint8"), ("symbol", "string"))
]


@dataclass(frozen=True, slots=True)
class PoolRef:
    """A pool to watch: ``address``, ``kind`` ("v2" or "v3") and, for V2 pairs, the swap fee in basis points."""

    address: str
    kind: str
    fee_bps: int = 30


@dataclass(frozen=True, slots=True)
class SkippedPool:
    """A pool left out of a refresh, and why."""

    address: str
    reason: str


@dataclass
class PoolRefresh:
    """Pools read at ``block`` (in ``refs`` order, skipped ones left out) and the skipped ones with reasons."""

    block: int
    pools: list[Pool] = field(default_factory=list)
    skipped: list[SkippedPool] = field(default_factory=list)


class ChainPoolReader:
    """Reads a fixed set of V2 pairs and V3 pools into pool models, one block at a time."""

    def __init__(self, w3: Web3, refs: Sequence[PoolRef], *, refresh_word_radius: int = 2) -> None:
        self.w3 = w3
        self.refs = [PoolRef(r.address.lower(), r.kind, r.fee_bps) for r in refs]
        bad = [r for r in self.refs if r.kind not in ("v2", "v3")]
        if bad:
            raise DefipmError(f"pool {bad[0].address}: unknown kind {bad[0].kind!r} (expected v2 or v3)")
        self.refresh_word_radius = refresh_word_radius
        self.tokens: dict[str, Token] = {}
        self._pair_tokens: dict[str, tuple[str, str]] = {}
        self._static_skips: dict[str, str] = {}
        self._v3_info: dict[str, Any] = {}
        self._v3_ticks: dict[str, dict[int, int]] = {}
        self._loaded = False

    def _contract(self, address: str, abi: list[dict[str, Any]]) -> Any:
        return self.w3.eth.contract(address=to_checksum(address), abi=abi)

    def block_number(self) -> int:
        try:
            return int(self.w3.eth.block_number)
        except node_errors() as exc:
            raise translate_web3_error(exc, "read block number") from exc

    def gas_price(self) -> int:
        """The node's gas price now, wei per gas (raises the translated error when the node cannot tell)."""
        try:
            return int(self.w3.eth.gas_price)
        except node_errors() as exc:
            raise translate_web3_error(exc, "read the gas price") from exc

    def load_tokens(self, block: int | None = None) -> dict[str, Token]:
        """Read each pool's tokens, and each token's decimals and symbol (once). Returns the token table."""
        at = self.block_number() if block is None else block
        self._load_v2_pairs(at)
        self._load_v3_infos()
        wanted = sorted({t for pair in self._pair_tokens.values() for t in pair} - set(self.tokens))
        erc20 = [self._contract(t, _ERC20_ABI) for t in wanted]
        reads = [contract_call(c, name, block=at) for c in erc20 for name in ("decimals", "symbol")]
        answers = read_each(self.w3, reads, f"read decimals and symbols at block {at}")
        for i, t in enumerate(wanted):
            dec, sym = answers[2 * i], answers[2 * i + 1]
            if isinstance(dec, DefipmError):
                continue  # unknown decimals: every pool with this token is skipped below
            symbol = sym if isinstance(sym, str) else t[:10]
            self.tokens[t] = Token(t, symbol, int(dec))
        for address, (t0, t1) in self._pair_tokens.items():
            missing = [t for t in (t0, t1) if t not in self.tokens]
            if missing:
                self._static_skips[address] = f"unknown decimals of token {missing[0]}"
        self._loaded = True
        return self.tokens

    def _load_v2_pairs(self, block: int) -> None:
        pair_abi = abi_of("UniswapV2Pair")
        v2 = [r for r in self.refs if r.kind == "v2"]
        pairs = [self._contract(r.address, pair_abi) for r in v2]
        reads = [contract_call(p, name, block=block) for p in pairs for name in ("token0", "token1")]
        results = read_each(self.w3, reads, f"read V2 pair tokens at block {block}")
        for i, r in enumerate(v2):
            t0, t1 = results[2 * i], results[2 * i + 1]
            if isinstance(t0, DefipmError) or isinstance(t1, DefipmError):
                self._static_skips[r.address] = f"cannot read tokens: {t0 if isinstance(t0, Exception) else t1}"
            else:
                self._pair_tokens[r.address] = (str(t0).lower(), str(t1).lower())

    def _load_v3_infos(self) -> None:
        from defipm.chain.v3_reader import read_pool_info

        for r in self.refs:
            if r.kind != "v3":
                continue
            try:
                info = read_pool_info(self.w3, r.address)
            except DefipmError as exc:
                self._static_skips[r.address] = f"cannot read V3 pool info: {exc}"
                continue
            self._v3_info[r.address] = info
            self._pair_tokens[r.address] = (info.token0.lower(), info.token1.lower())

    def refresh(self, block: int | None = None) -> PoolRefresh:
        """Every pool's state at ``block`` (default: the latest block); failures are skipped with the reason."""
        at = self.block_number() if block is None else block
        if not self._loaded:
            self.load_tokens(at)
        result = PoolRefresh(at)
        reserves = self._v2_reserves(at)
        for ref in self.refs:
            static = self._static_skips.get(ref.address)
            if static is not None:
                result.skipped.append(SkippedPool(ref.address, static))
                continue
            try:
                result.pools.append(self._pool(ref, at, reserves))
            except (DefipmError, AmmError) as exc:
                result.skipped.append(SkippedPool(ref.address, f"{type(exc).__name__}: {exc}"))
        return result

    def _v2_reserves(self, block: int) -> dict[str, Any]:
        """``getReserves`` of every readable V2 pair at ``block``, one batch: the answer or the error per pair."""
        v2 = [r for r in self.refs if r.kind == "v2" and r.address not in self._static_skips]
        pair_abi = abi_of("UniswapV2Pair")
        reads = [contract_call(self._contract(r.address, pair_abi), "getReserves", block=block) for r in v2]
        try:
            answers = read_each(self.w3, reads, f"read V2 reserves at block {block}")
        except DefipmError as exc:
            answers = [exc] * len(v2)
        return {r.address: a for r, a in zip(v2, answers, strict=True)}

    def _pool(self, ref: PoolRef, block: int, reserves: dict[str, Any]) -> Pool:
        t0, t1 = self._pair_tokens[ref.address]
        if ref.kind == "v3":
            return V3Pool(ref.address, t0, t1, self._read_v3(ref.address, block))
        answer = reserves[ref.address]
        if isinstance(answer, DefipmError):
            raise answer
        r0, r1 = int(answer[0]), int(answer[1])
        if r0 <= 0 or r1 <= 0:
            raise AmmError(f"zero reserves ({r0}, {r1})")
        return V2Pool(ref.address, t0, t1, r0, r1, ref.fee_bps)

    def _read_v3(self, address: str, block: int) -> V3PoolState:
        from defipm.chain.v3_reader import read_pool_state

        info = self._v3_info[address]
        known = self._v3_ticks.get(address)
        radius = None if known is None else self.refresh_word_radius
        state = read_pool_state(self.w3, address, info=info, word_radius=radius, block=block)
        if known is not None and radius is not None:
            # ticks outside the re-read window keep their earlier liquidityNet
            spacing = info.tick_spacing
            centre = (state.tick // spacing) >> 8
            lo, hi = (centre - radius) << 8, ((centre + radius + 1) << 8) - 1
            merged = {t: n for t, n in known.items() if not lo <= t // spacing <= hi}
            merged.update(state.ticks)
            state = V3PoolState(state.sqrt_price_x96, state.tick, state.liquidity, state.fee, spacing, merged)
        self._v3_ticks[address] = dict(state.ticks)
        return state
