"""Fixtures: a funded wallet, the local exchange on loopback (stopped after each test), a connected venue."""

from __future__ import annotations

from collections.abc import Iterator

import eth_account
import pytest

from defipm.venues.hyperliquid.config import HyperliquidConfig
from defipm.venues.hyperliquid.credentials import Credentials
from defipm.venues.hyperliquid.sim import LocalExchange
from defipm.venues.hyperliquid.venue import HyperliquidVenue

pytest.importorskip("hyperliquid")

START_USDC = 100_000


@pytest.fixture
def wallet() -> eth_account.signers.local.LocalAccount:
    return eth_account.Account.create()


@pytest.fixture
def exchange(wallet) -> Iterator[LocalExchange]:
    with LocalExchange(accounts={wallet.address: START_USDC}) as ex:
        yield ex


def _make_venue(url: str, wallet, **config) -> HyperliquidVenue:
    values = {"read_retries": 2, "retry_backoff_secs": 0.01, "timeout_secs": 5.0, **config}
    cfg = HyperliquidConfig(base_url=url, **values)
    creds = Credentials(secret_key=wallet.key.hex(), account_address=wallet.address, source="test")
    venue = HyperliquidVenue(cfg, credentials=creds)
    venue.connect()
    return venue


@pytest.fixture
def venue(exchange, wallet) -> HyperliquidVenue:
    return _make_venue(exchange.url, wallet)


@pytest.fixture
def make_venue():
    """Build and connect another venue: ``make_venue(url, wallet, **config)``."""
    return _make_venue


@pytest.fixture
def start_usdc() -> int:
    return START_USDC
