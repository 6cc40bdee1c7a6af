"""``defipm hl-sim``: run the local Hyperliquid exchange in the foreground (typer sub-app ``app``).

defipm hl-sim account            # a fresh test key pair for it: address and key (test only)
defipm hl-sim sim --port 3001 --account 0xYourAddress=100000
defipm hl-sim sim --account 0xLeader=1000 --vault 0xVault=0xLeader:50000 --agent 0xApiWallet=0xLeader
# then point the venue at it: [venue.params] base_url = "http://127.0.0.1:3001"
"""

from __future__ import annotations

import time
from decimal import Decimal, InvalidOperation
from pathlib import Path

import typer

from defipm.cli_errors import fail
from defipm.venues.hyperliquid.config import is_address
from defipm.venues.hyperliquid.sim.roles import RoleError

app = typer.Typer(
    help="The local Hyperliquid exchange (loopback only, verifies every signature).", no_args_is_help=True
)


@app.callback()
def main() -> None:
    """The local Hyperliquid exchange (mounted by the main CLI as ``defipm hl-sim``)."""


def _address(option: str, item: str, address: str) -> str:
    if not is_address(address):
        raise typer.BadParameter(f"{option} {item!r}: {address!r} is not a 0x-prefixed 20-byte hex address")
    return address


def _usdc(option: str, item: str, amount: str) -> Decimal:
    try:
        value = Decimal(amount or "100000")
    except InvalidOperation:
        raise typer.BadParameter(f"{option} {item!r}: {amount!r} is not a USDC amount") from None
    if not value.is_finite() or value < 0:
        raise typer.BadParameter(f"{option} {item!r}: the USDC amount must be a finite number >= 0")
    return value


def _parse_accounts(items: list[str]) -> dict[str, Decimal]:
    accounts = {}
    for item in items:
        address, _, amount = item.partition("=")
        accounts[_address("--account", item, address)] = _usdc("--account", item, amount)
    return accounts


def _parse_vaults(items: list[str]) -> list[tuple[str, str, Decimal]]:
    """``VAULT=LEADER[:USDC]`` -> (vault, leader, usdc)."""
    vaults = []
    for item in items:
        vault, _, rest = item.partition("=")
        leader, _, amount = rest.partition(":")
        vaults.append(
            (_address("--vault", item, vault), _address("--vault", item, leader), _usdc("--vault", item, amount))
        )
    return vaults


def _parse_agents(items: list[str]) -> list[tuple[str, str]]:
    """``AGENT=OWNER`` -> (agent, owner)."""
    out = []
    for item in items:
        agent, _, owner = item.partition("=")
        out.append((_address("--agent", item, agent), _address("--agent", item, owner)))
    return out


@app.command()
def sim(
    port: int = typer.Option(3001, min=0, max=65535, help="TCP port on 127.0.0.1 (0 = any free port)."),
    account: list[str] = typer.Option([], help="ADDRESS=USDC to fund (repeatable); default 100000 USDC."),
    network: str = typer.Option("testnet", help="Which network's signatures to accept: testnet or mainnet."),
    fixtures: Path | None = typer.Option(
        None, help="Recorded responses (vcrpy cassettes) to seed meta and mids from; default: built-in prices."
    ),
    synthetic_assets: int = typer.Option(0, help="Extra synthetic coins SYN000... (for benchmarks)."),
    vault: list[str] = typer.Option([], help="VAULT=LEADER[:USDC]: a vault its leader trades (repeatable)."),
    agent: list[str] = typer.Option([], help="AGENT=OWNER: an agent (API) wallet approved for OWNER (repeatable)."),
) -> None:
    """Serve /info and /exchange on 127.0.0.1 until interrupted."""
    from defipm.venues.hyperliquid.sim import LocalExchange

    if network not in ("testnet", "mainnet"):
        raise typer.BadParameter("--network must be testnet or mainnet")
    if fixtures is not None and not fixtures.is_dir():
        raise typer.BadParameter(f"--fixtures {fixtures}: no such folder of recorded responses")
    ex = LocalExchange(
        network=network, port=port, fixtures=fixtures, synthetic_assets=synthetic_assets,
        accounts=_parse_accounts(account),
    )  # fmt: skip
    for address, leader, usdc in _parse_vaults(vault):
        ex.engine.add_vault(address, leader, usdc)
    for address, owner in _parse_agents(agent):
        try:
            ex.engine.add_agent(address, owner)
        except RoleError as exc:
            raise typer.BadParameter(f"--agent {address}={owner}: {exc}") from None
    try:
        ex.start()
    except OSError as exc:
        raise fail(f"cannot serve on 127.0.0.1:{port}: {exc.strerror or exc}") from None
    typer.echo(f"local Hyperliquid ({network}) on {ex.url}; {len(ex.engine.universe)} perps; Ctrl-C stops", err=False)
    if not account:
        typer.echo("no account funded yet: restart with --account 0xYOUR_ADDRESS=100000 to trade", err=False)
    typer.echo(f'point a venue at it: [venue.params] base_url = "{ex.url}"', err=False)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        ex.stop()


@app.command()
def account() -> None:
    """Create a fresh test account for the local exchange and print it: the address on the first line (give it
    to ``sim --account ADDRESS=100000``), its private key on the second (``export
    DEFIPM_HL_TESTNET_SECRET_KEY=KEY``). TEST ONLY: the key is printed to the terminal; never fund it with real
    money."""
    from eth_account import Account

    wallet = Account.create()
    typer.echo(f"address {wallet.address}")
    typer.echo(f"key     0x{bytes(wallet.key).hex()}")
    typer.echo(
        "test only: a fresh key printed in the clear; for the local exchange (or testnet), never real funds", err=True
    )
