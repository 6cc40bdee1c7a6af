"""Exact AMM math: Uniswap V2 constant product (v2) and Uniswap V3 concentrated liquidity (v3_*)."""
