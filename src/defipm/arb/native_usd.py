"""The native coin's US dollar price from a pool snapshot's own pools: the mid price of its deepest pool between
the native token (WETH) and a US dollar stablecoin, so a scan's "net USD" prices gas and profit at the snapshot's
own time (the 2020-10 mainnet snapshot prices ETH at about $337), not at a fixed guess.

Stablecoins are known by their mainnet address (``STABLECOINS``); in a snapshot holding none of them (a local
chain's tokens), a token whose symbol is a stablecoin's (``STABLE_SYMBOLS``) counts. Depth is the stablecoin side
of the pool in dollars (a V3 pool's virtual reserve at its active liquidity). Display only: nothing here sizes or
sends a trade.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction

from defipm.arb.pools import Pool, Token, V2Pool, V3Pool

__all__ = ["STABLECOINS", "STABLE_SYMBOLS", "NativeQuote", "native_usd_quote"]

STABLECOINS = {
    "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48": "USDC",
    "0xdac17f958d2ee523a2206206994597c13d831ec7": "USDT",
    "0x6b175474e89094c44da98b954eedeac495271d0f": "DAI",
    "0x4fabb145d64652a948d72533023f6e7a623c7c53": "BUSD",
    "0x0000000000085d4780b73119b644ae5ecd22b376": "TUSD",
    "0x8e870d67f660d95d5be530380d0ec0bd388289e1": "USDP",
    "0x056fd409e1d7a124bd7017459dfea2f387b6d5cd": "GUSD",
}
"""US dollar stablecoins on Ethereum mainnet, by address (lower-case)."""

STABLE_SYMBOLS = frozenset(STABLECOINS.values())
"""Their symbols: a snapshot without any of the addresses (a local chain) is matched by symbol."""


@dataclass(frozen=True, slots=True)
class NativeQuote:
    """US dollars per native token, and the pool it was read from."""

    usd: float
    """Stablecoin units per native token at the pool's mid price (fees left out)."""
    pool: str
    """The pool's address."""
    stablecoin: Token
    depth_usd: float
    """The stablecoin side of the pool, in dollars."""

    def describe(self, native_symbol: str) -> str:
        return (
            f"{native_symbol} = ${self.usd:,.2f} from the {native_symbol}/{self.stablecoin.symbol} pool {self.pool} "
            f"(${self.depth_usd:,.0f} of {self.stablecoin.symbol}, the deepest of the snapshot)"
        )


def native_usd_quote(pools: Iterable[Pool], tokens: Mapping[str, Token], native: str) -> NativeQuote | None:
    """The mid price of the deepest tradable pool between ``native`` and a stablecoin (known addresses first,
    symbols only when the snapshot holds none of them); None when the snapshot has no such pool."""
    by_address = {a for a in tokens if a in STABLECOINS}
    stables = by_address or {a for a, t in tokens.items() if t.symbol.upper() in STABLE_SYMBOLS}
    best: NativeQuote | None = None
    for p in pools:
        if p.inactive_reason is not None or native not in (p.token0, p.token1):
            continue
        stable = p.token1 if p.token0 == native else p.token0
        if stable not in stables or stable == native:
            continue
        quote = _quote(p, tokens[native], tokens[stable])
        if quote is not None and (best is None or quote.depth_usd > best.depth_usd):
            best = quote
    return best


def _quote(pool: Pool, native: Token, stable: Token) -> NativeQuote | None:
    """The pool's mid price in stablecoin units per native token, and its stablecoin side in dollars."""
    native_is0 = pool.token0 == native.address
    if isinstance(pool, V2Pool):
        raw_native, raw_stable = (pool.reserve0, pool.reserve1) if native_is0 else (pool.reserve1, pool.reserve0)
        price = Fraction(raw_stable, raw_native)  # raw stablecoin units per raw native unit
        stable_side = float(raw_stable)
    elif isinstance(pool, V3Pool):
        sqrt_price = Fraction(pool.state.sqrt_price_x96, 2**96)
        token1_per_token0 = sqrt_price * sqrt_price
        if token1_per_token0 <= 0:
            return None
        price = token1_per_token0 if native_is0 else 1 / token1_per_token0
        liquidity = pool.state.liquidity
        stable_side = float(liquidity * sqrt_price) if native_is0 else float(liquidity / sqrt_price)
    else:
        return None
    usd = float(price * Fraction(10**native.decimals, 10**stable.decimals))
    return NativeQuote(usd, pool.address, stable, stable_side / 10**stable.decimals)
