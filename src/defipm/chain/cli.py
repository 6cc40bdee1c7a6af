"""``defipm chain``: the local Uniswap world in the foreground (typer sub-app ``app``).

    defipm chain up                 # anvil + WETH, tokens, Uniswap V3 and V2; prints addresses, Ctrl-C stops
    defipm chain up --port 8545 --fund 100
    defipm chain key 1              # the private key of test account 1 (public test mnemonic; local chains only)

Test accounts are anvil's defaults (public test mnemonic); their mnemonic is printed only with ``--show-keys``.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import typer

from defipm.chain.deployment_file import DEPLOYMENT_FILE, deployment_record

app = typer.Typer(help="Local EVM chain with Uniswap deployed (anvil, loopback only).", no_args_is_help=True)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


@app.callback()
def main() -> None:
    """Local chain commands (mounted by the main CLI as ``defipm chain``)."""


@app.command()
def up(
    port: int = typer.Option(0, min=0, max=65535, help="Loopback port for the node (0 = a free one)."),
    fund: int = typer.Option(100, min=0, help="WETH (whole) wrapped for each test account, plus tokens worth as much."),
    accounts: int = typer.Option(10, min=2, help="Number of funded anvil accounts (account 0 deploys)."),
    show_keys: bool = typer.Option(False, help="Also print the public test mnemonic the account keys derive from."),
    write_json: Path = typer.Option(
        Path(DEPLOYMENT_FILE), "--json", help="Where to record the deployment (rpc_url, addresses) for configs."
    ),
) -> None:
    """Start anvil, deploy the Uniswap world, fund the test accounts, print everything and wait for Ctrl-C."""
    from fractions import Fraction

    from defipm.chain.deploy import WorldSpec
    from defipm.chain.errors import ChainError
    from defipm.chain.local import LocalUniswap
    from defipm.cli_errors import fail

    spec = WorldSpec()
    typer.echo("starting anvil and deploying Uniswap ...", err=True)
    try:
        world = LocalUniswap.start(spec, accounts=accounts, port=port or None)
    except ChainError as exc:
        raise fail(exc) from None
    try:
        dep = world.deployment
        for wallet in world.wallets[1:]:
            world.fund(
                wallet,
                weth=fund * 10**18,
                tokens={t.symbol: int(fund / Fraction(t.price_weth) * 10**t.decimals) for t in spec.tokens},
            )
        typer.echo(f"RPC URL   {world.url}")
        typer.echo(f"chain id  {dep.chain_id}")
        for label, address in dep.describe():
            typer.echo(f"{label:<34}{address}")
        typer.echo(f"\nfunded test accounts ({fund} WETH + {fund} WETH worth of each token; 10000 ETH for gas):")
        for i, wallet in enumerate(world.wallets):
            role = " (deployer)" if i == 0 else ""
            typer.echo(f"  [{i}] {wallet.address}{role}")
        if show_keys:
            from defipm.chain.anvil import ANVIL_MNEMONIC

            typer.echo(f"\ntest mnemonic: {ANVIL_MNEMONIC}  (public; never use it with real funds)")
        record = deployment_record(world.url, dep, [w.address for w in world.wallets])
        write_json.write_text(json.dumps(record, indent=2))
        typer.echo(f'\ndeployment recorded in {write_json} (`deployment = "{write_json}"` in [venue.params])')
        signal.signal(signal.SIGTERM, _interrupt)  # a supervisor's stop must not leave anvil running
        typer.echo("\nrunning; Ctrl-C to stop", err=True)
        while world.node.process.poll() is None:
            time.sleep(0.5)
        typer.echo("anvil exited", err=True)
    except KeyboardInterrupt:
        typer.echo("stopping", err=True)
    finally:
        world.stop()


@app.command()
def key(
    index: int = typer.Argument(1, min=0, help="Test account number, as `defipm chain up` lists them (0 deploys)."),
) -> None:
    """Print the private key of anvil test account INDEX (from the public test mnemonic: local chains only, never
    real funds), e.g. ``export DEFIPM_PRIVATE_KEY=$(defipm chain key 1)``."""
    from eth_account import Account

    from defipm.chain.anvil import ANVIL_MNEMONIC

    Account.enable_unaudited_hdwallet_features()
    account = Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
    typer.echo("0x" + bytes(account.key).hex())
