"""Hyperliquid perpetuals through the official SDK (``hyperliquid-python-sdk``), and its local exchange."""
