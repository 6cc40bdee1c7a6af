"""Whose key trades which book: the owner, an approved agent wallet, a vault's leader or the leader's agent.

The venue asks the exchange (``userRole``, ``extraAgents``, ``vaultDetails``) on connect and refuses any other
key before anything is sent; the local exchange enforces the same rules on every signed action, so a venue that
skipped its check would still be refused there."""

from __future__ import annotations

import time
from decimal import Decimal

import eth_account
import pytest
from hyperliquid.exchange import Exchange

from defipm.core.errors import OrderRejectedError
from defipm.core.orders import OrderStatus
from defipm.venues.hyperliquid.authority import SignerNotAllowedError
from defipm.venues.hyperliquid.config import HyperliquidConfig
from defipm.venues.hyperliquid.credentials import Credentials
from defipm.venues.hyperliquid.sim import Fault
from defipm.venues.hyperliquid.venue import HyperliquidVenue

TARGET = {"BTC": 0.2, "ETH": -0.1}


def _venue(exchange, key, account=None, vault=None, connect=True) -> HyperliquidVenue:
    cfg = HyperliquidConfig(base_url=exchange.url, read_retries=0, vault_address=vault)
    creds = Credentials(secret_key=key.key.hex(), account_address=account, source="test")
    venue = HyperliquidVenue(cfg, credentials=creds)
    if connect:
        venue.connect()
    return venue


def _held(exchange, address) -> dict[str, Decimal]:
    state = exchange.engine.views.clearinghouse_state(address)
    return {p["position"]["coin"]: Decimal(p["position"]["szi"]) for p in state["assetPositions"]}


def _approve(exchange, owner, name: str | None = None) -> eth_account.signers.local.LocalAccount:
    """Approve a fresh agent wallet for ``owner`` with the SDK's own ``approve_agent`` (a signed action)."""
    answer, agent_key = Exchange(owner, exchange.url).approve_agent(name)
    assert answer["status"] == "ok", answer
    return eth_account.Account.from_key(agent_key)


def test_key_of_another_funded_account_is_refused_on_connect_naming_both(exchange, wallet):
    stranger = eth_account.Account.create()
    exchange.engine.add_account(stranger.address, 50_000)
    with pytest.raises(SignerNotAllowedError) as err:
        _venue(exchange, stranger, account=wallet.address)
    message = str(err.value)
    assert stranger.address.lower() in message and wallet.address.lower() in message
    assert stranger.key.hex().removeprefix("0x") not in message
    assert exchange.stats.exchange_requests == 0 and exchange.engine.order_log == []


def test_unnamed_agent_trades_its_account_and_reads_only_the_account(exchange, wallet):
    agent = _approve(exchange, wallet)
    venue = _venue(exchange, agent, account=wallet.address)
    assert venue.authority.signer_kind == "agent" and venue.address.lower() == wallet.address.lower()
    report = venue.set_portfolio_weights(TARGET)
    assert report.ok, [r.error for r in report.failures]
    assert _held(exchange, wallet.address).keys() == TARGET.keys()
    assert _held(exchange, agent.address) == {}
    assert exchange.engine.account(agent.address) is None  # the agent never became an account
    asked = {kind: users for kind, users in exchange.stats.users.items() if agent.address.lower() in users}
    assert set(asked) == {"userRole"}  # asked who it is, once; every account read is about the owner


def test_named_agent_found_through_extra_agents(exchange, wallet):
    agent = _approve(exchange, wallet, "rebalancer")
    assert exchange.engine.roles.extra_agents(wallet.address)[0]["name"] == "rebalancer"
    # an exchange whose userRole does not (yet) report the agent: the owner's named agents still vouch for it
    exchange.inject(Fault("info", "userRole", answer={"role": "user"}, times=1))
    venue = _venue(exchange, agent, account=wallet.address)
    assert venue.authority.signer_kind == "agent"
    assert venue.set_portfolio_weights(TARGET).ok


def test_agent_of_another_account_is_refused_by_the_venue_and_by_the_exchange(exchange, wallet):
    other = eth_account.Account.create()
    exchange.engine.add_account(other.address, 10_000)
    agent = _approve(exchange, other)
    with pytest.raises(SignerNotAllowedError, match=wallet.address.lower()):
        _venue(exchange, agent, account=wallet.address)
    # a client that skips the check reaches the exchange, which trades the agent's owner's book, never wallet's:
    # the venue's check is what stops it from reporting someone else's fills as the configured account's
    answer = Exchange(agent, exchange.url).market_open("ETH", True, 0.01)
    assert answer["status"] == "ok" and _held(exchange, wallet.address) == {}


def test_agent_not_approved_and_expired_agent_are_refused(exchange, wallet):
    unknown = eth_account.Account.create()
    with pytest.raises(SignerNotAllowedError):
        _venue(exchange, unknown, account=wallet.address)
    answer = Exchange(unknown, exchange.url).market_open("ETH", True, 0.01)
    assert answer["status"] == "err" and "does not exist" in answer["response"]

    agent = eth_account.Account.create()
    until = int(time.time() * 1000) + 400
    exchange.engine.add_agent(agent.address, wallet.address, f"brief valid_until {until}")
    venue = _venue(exchange, agent, account=wallet.address)
    assert venue.authority.signer_kind == "agent"
    time.sleep(0.5)
    with pytest.raises(SignerNotAllowedError):
        _venue(exchange, agent, account=wallet.address)
    report = venue.set_portfolio_weights(TARGET)  # connected before it expired: the exchange refuses it now
    assert all(r.status is OrderStatus.REJECTED for r in report.results)
    assert _held(exchange, wallet.address) == {}


def test_agent_key_without_its_account_configured_is_refused_with_the_fix(exchange, wallet):
    agent = _approve(exchange, wallet)
    with pytest.raises(SignerNotAllowedError, match=f"account_address = {wallet.address.lower()}"):
        _venue(exchange, agent)


def test_agent_cannot_move_usdc_or_approve_agents(exchange, wallet):
    agent = _approve(exchange, wallet)
    venue = _venue(exchange, agent, account=wallet.address)
    sent = exchange.stats.exchange_requests
    with pytest.raises(OrderRejectedError, match="owner's key"):
        venue.deposit(Decimal(10))
    assert exchange.stats.exchange_requests == sent  # refused before signing anything
    # and the exchange refuses both from an agent key
    answer = Exchange(agent, exchange.url).usd_class_transfer(10.0, True)
    assert answer["status"] == "err" and "must be signed by the user" in answer["response"]
    answer, _ = Exchange(agent, exchange.url).approve_agent("sub")
    assert answer["status"] == "err"


@pytest.mark.parametrize("signer", ["leader", "agent"])
def test_vault_is_traded_by_its_leader_or_the_leaders_agent(exchange, wallet, signer):
    vault = eth_account.Account.create().address
    exchange.engine.add_vault(vault, wallet.address, 40_000)
    key = wallet if signer == "leader" else _approve(exchange, wallet)
    venue = _venue(exchange, key, vault=vault)
    assert venue.address.lower() == vault.lower() and venue.authority.owner == wallet.address.lower()
    assert venue.get_equity() == Decimal(40_000)  # the vault's book, not the leader's 100,000
    report = venue.set_portfolio_weights(TARGET)
    assert report.ok, [r.error for r in report.failures]
    assert _held(exchange, vault).keys() == TARGET.keys() and _held(exchange, wallet.address) == {}
    assert {o["user"] for o in exchange.engine.order_log} == {vault.lower()}
    assert abs(report.weights_after["BTC"] - 0.2) < 0.002  # sized on the vault's equity


def test_vault_refuses_a_key_that_is_not_its_leader(exchange, wallet):
    vault = eth_account.Account.create().address
    exchange.engine.add_vault(vault, wallet.address, 40_000)
    stranger = eth_account.Account.create()
    exchange.engine.add_account(stranger.address, 10_000)
    with pytest.raises(SignerNotAllowedError) as err:
        _venue(exchange, stranger, vault=vault)
    assert stranger.address.lower() in str(err.value) and wallet.address.lower() in str(err.value)
    with pytest.raises(SignerNotAllowedError, match="not the leader"):
        _venue(exchange, stranger, account=stranger.address, vault=vault)
    # the exchange refuses such an order too
    answer = Exchange(stranger, exchange.url, vault_address=vault).market_open("ETH", True, 0.01)
    assert answer["status"] == "err" and "not the leader" in answer["response"]
    assert _held(exchange, vault) == {} and exchange.engine.order_log == []


def test_vault_address_that_is_no_vault_and_a_vault_as_account_are_refused(exchange, wallet):
    with pytest.raises(SignerNotAllowedError, match="not a vault or sub-account"):
        _venue(exchange, wallet, vault=eth_account.Account.create().address)
    vault = eth_account.Account.create().address
    exchange.engine.add_vault(vault, wallet.address, 1_000)
    with pytest.raises(SignerNotAllowedError, match=f"set vault_address = {vault.lower()}"):
        _venue(exchange, wallet, account=vault)


def test_sub_account_is_traded_and_funded_by_its_master(exchange, wallet):
    sub = eth_account.Account.create().address
    exchange.engine.add_vault(sub, wallet.address, 5_000, sub_account=True)
    exchange.engine.account(sub).spot_usdc = Decimal(1_000)
    venue = _venue(exchange, wallet, vault=sub)
    assert venue.authority.vault_kind == "subAccount"
    venue.deposit(Decimal("250.5"))  # usdClassTransfer on the sub-account (" subaccount:0x..." as the SDK writes)
    assert exchange.engine.account(sub).spot_usdc == Decimal("749.5")
    assert venue.get_equity() == Decimal("5250.5")
    assert venue.set_portfolio_weights({"ETH": 0.5}).ok
    assert _held(exchange, sub).keys() == {"ETH"} and _held(exchange, wallet.address) == {}


def test_vault_has_no_usdc_transfer(exchange, wallet):
    vault = eth_account.Account.create().address
    exchange.engine.add_vault(vault, wallet.address, 1_000)
    venue = _venue(exchange, wallet, vault=vault)
    with pytest.raises(OrderRejectedError, match="vault"):
        venue.withdraw(Decimal(10))
    assert exchange.stats.exchange_requests == 0
