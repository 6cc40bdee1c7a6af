"""``defipm chain``: the local Uniswap world in the foreground (typer sub-app ``app``).

    defipm chain up                 # anvil + WETH, tokens, Uniswap V3 and V2; prints addresses, Ctrl-C stops
    defipm chain up --port 8545 --fund 100

Test accounts are anvil's defaults (public test mnemonic); their mnemonic is printed only with ``--show-keys``.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import typer

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
    write_json: Path | None = typer.Option(None, "--json", help="Also write the addresses to this JSON file."),
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
        if write_json:
            rows = {label: address for label, address in dep.describe()}
            payload = {"rpc_url": world.url, "chain_id": dep.chain_id, "addresses": rows,
                       "accounts": [w.address for w in world.wallets]}  # fmt: skip
            write_json.write_text(json.dumps(payload, indent=2))
        signal.signal(signal.SIGTERM, _interrupt)  # a supervisor's stop must not leave anvil running
        typer.echo("\nrunning; Ctrl-C to stop", err=True)
        while world.node.process.poll() is None:
            time.sleep(0.5)
        typer.echo("anvil exited", err=True)
    except KeyboardInterrupt:
        typer.echo("stopping", err=True)
    finally:
        world.stop()
