"""``defipm arb``: the arbitrage engine's command line (a typer sub-app the main CLI mounts).

``scan --snapshot FILE`` loads a pool snapshot offline, indexes every cycle up to ``--max-len``, optionally adds
long cycles by compound search through ``--start`` tokens, and prints the best opportunities with their sizes,
gross and net profit (after the flash-loan premium and gas) in a rich table. Skipped rows are counted with
reasons; nothing in a snapshot can crash the scan.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from defipm.arb.costs import PriceBook
from defipm.arb.graph import PoolGraph
from defipm.arb.opportunity import CostModel
from defipm.arb.scanner import Scanner
from defipm.arb.snapshot import load_snapshot
from defipm.core.errors import DefipmError

app = typer.Typer(help="Cross-DEX arbitrage: scan pool snapshots for profitable cycles.", no_args_is_help=True)

WETH = "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"
USDC = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"


@app.callback()
def _root() -> None:
    """Arbitrage engine commands."""


@app.command()
def scan(
    snapshot: Path = typer.Option(..., "--snapshot", help="Pool snapshot JSON file."),
    max_len: int = typer.Option(3, help="Longest cycle (edges) to enumerate exhaustively."),
    compound_len: int = typer.Option(0, help="If > max-len, also compound-search cycles up to this length."),
    start: list[str] = typer.Option([WETH, USDC], help="Start token addresses (profit is counted in these)."),
    native: str = typer.Option(WETH, help="Native (gas) token address; prices come from the pools."),
    gas_price_gwei: float = typer.Option(30.0, help="Gas price in gwei."),
    native_usd: float = typer.Option(2000.0, help="US dollars per native token (display)."),
    no_flash: bool = typer.Option(False, "--no-flash", help="Trade own capital: no loan premium or flash gas."),
    top: int = typer.Option(15, help="Rows to print."),
) -> None:
    """Offline scan of a snapshot: best cycles with sizes and net profit."""
    console = Console()
    try:
        load = load_snapshot(snapshot)
    except DefipmError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    starts = [s.lower() for s in start]
    graph = PoolGraph(load.pools, load.tokens)
    costs = CostModel(gas_price_wei=int(gas_price_gwei * 10**9), native_price_usd=native_usd, flash_loan=not no_flash)
    prices = PriceBook.from_graph(graph, native.lower())
    scanner = Scanner(graph, max_len, costs=costs, prices=prices, preferred_starts=starts)
    result = scanner.scan()
    if compound_len > max_len:
        scanner.compound(starts, compound_len)
    console.print(
        f"{len(load.pools)} pools, {len(load.tokens)} tokens, {scanner.n_cycles} cycles; "
        f"{len(scanner.opportunities)} opportunities after fees, premium and gas"
    )
    if load.skipped:
        why = Counter(s.reason.split(":")[0].split("(")[0].strip() for s in load.skipped)
        console.print(f"skipped {len(load.skipped)} rows: " + "; ".join(f"{n} x {r}" for r, n in why.most_common(5)))
    if result.reasons:
        console.print("dropped: " + ", ".join(f"{r}: {n}" for r, n in result.reasons.most_common()))
    table = Table(title="Best cycles")
    for col in ("#", "path", "hops", "size", "gross", "gas", "net", "net USD"):
        table.add_column(col, justify="right" if col not in ("path",) else "left")
    for i, o in enumerate(scanner.best(top), 1):
        tok = load.tokens.get(o.start_token)
        dec = tok.decimals if tok else 0
        sym = graph.symbol(o.start_token)
        usd = "" if o.net_profit_native is None else f"{o.net_profit_native / 1e18 * native_usd:,.2f}"
        table.add_row(
            str(i),
            " > ".join(graph.symbol(t) for t in o.tokens),
            str(len(o.edges)),
            f"{o.amount_in / 10**dec:,.6g} {sym}",
            f"{o.gross_profit / 10**dec:,.6g}",
            "?" if o.gas_cost is None else f"{o.gas_cost / 10**dec:,.4g}",
            "?" if o.net_profit is None else f"{o.net_profit / 10**dec:,.6g}",
            usd,
        )
    console.print(table)
    console.print(
        "[dim]Snapshot profits are only as real as the snapshot: rows from different blocks and rebasing "
        "tokens show cycles that never existed.[/dim]"
    )
