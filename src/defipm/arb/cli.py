"""``defipm arb``: the arbitrage engine's command line (a typer sub-app the main CLI mounts).

``scan --snapshot FILE`` loads a pool snapshot offline, indexes every cycle up to ``--max-len``, optionally adds
long cycles by compound search through ``--start`` tokens, and prints the best opportunities with their sizes,
gross and net profit (after the flash-loan premium and gas) in a rich table. Skipped rows are counted with
reasons; nothing in a snapshot can crash the scan.

``run --rpc URL --pools FILE`` watches a chain: every new block it refreshes the pools, detects, validates (risk
limits, re-quote on the latest block), executes the best opportunity with the flash-loan executor (``--executor``)
or the wallet's own tokens through the routers (``--engine capital``), and records everything in the store.
Ctrl-C (or SIGTERM) stops it after the current round; ``--max-iterations`` bounds it for tests.

``demo`` starts a local chain with Uniswap V2/V3 deployed, creates a mispricing across V2 and V3 pools, detects it,
executes it with a flash loan and prints the realised profit next to the estimate.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from defipm.arb.costs import PriceBook
from defipm.arb.graph import PoolGraph
from defipm.arb.opportunity import CostModel
from defipm.arb.scanner import Scanner
from defipm.arb.snapshot import load_snapshot
from defipm.core.errors import DefipmError
from defipm.core.redaction import hide_in_logs, redact_text, redact_url

if TYPE_CHECKING:
    from defipm.arb.chain_pools import PoolRef as PoolRefLike

app = typer.Typer(
    help="Cross-DEX arbitrage: scan pool snapshots, run against a chain, or watch a local demo.", no_args_is_help=True
)

WETH = "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"
USDC = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"


@app.callback()
def _root() -> None:
    """Arbitrage engine commands."""


@app.command()
def scan(
    snapshot: Path = typer.Option(..., "--snapshot", help="Pool snapshot JSON file."),
    max_len: int = typer.Option(3, min=2, help="Longest cycle (edges) to enumerate exhaustively."),
    compound_len: int = typer.Option(0, help="If > max-len, also compound-search cycles up to this length."),
    start: list[str] = typer.Option([WETH, USDC], help="Start token addresses (profit is counted in these)."),
    native: str = typer.Option(WETH, help="Native (gas) token address; prices come from the pools."),
    gas_price_gwei: float = typer.Option(30.0, min=0, help="Gas price in gwei."),
    native_usd: float = typer.Option(2000.0, min=0, help="US dollars per native token (display)."),
    no_flash: bool = typer.Option(False, "--no-flash", help="Trade own capital: no loan premium or flash gas."),
    top: int = typer.Option(15, min=1, help="Rows to print."),
) -> None:
    """Offline scan of a snapshot: best cycles with sizes and net profit."""
    console = Console()
    try:
        load = load_snapshot(snapshot)
    except DefipmError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    by_symbol: dict[str, str | None] = {}
    for a, t in load.tokens.items():  # a symbol two tokens share names neither
        by_symbol[t.symbol.upper()] = None if t.symbol.upper() in by_symbol else a
    starts = []
    for s in start:  # an address of the snapshot, or a symbol it lists once
        address = s.lower() if s.lower() in load.tokens else by_symbol.get(s.upper())
        if address is None:
            console.print(
                f"[red]error:[/red] --start {s}: not a token of the snapshot, or a symbol several tokens share "
                "(give its address)"
            )
            raise typer.Exit(1)
        starts.append(address)
    if native.lower() not in load.tokens:
        console.print(f"[red]error:[/red] --native {native}: not a token of the snapshot")
        raise typer.Exit(1)
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


def _load_pool_refs(path: Path) -> list[PoolRefLike]:
    """Pool list file: a JSON list of {"address": "0x..", "kind": "v2"|"v3", "fee_bps": 30}."""
    from defipm.arb.chain_pools import PoolRef

    try:
        rows = json.loads(path.read_text())
        return [PoolRef(str(r["address"]).lower(), str(r["kind"]), int(r.get("fee_bps", 30))) for r in rows]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DefipmError(f"cannot read pool list {path}: {exc}") from exc


@app.command()
def run(
    rpc: str = typer.Option(..., "--rpc", help="JSON-RPC URL of the node."),
    pools: Path = typer.Option(..., "--pools", help='JSON list of pools: [{"address", "kind": "v2"|"v3", "fee_bps"}].'),
    native: str = typer.Option(WETH, help="Wrapped native token address (gas is priced through it)."),
    start: list[str] = typer.Option([], help="Start tokens (profit is counted in these; default: the native token)."),
    max_len: int = typer.Option(4, help="Longest cycle (edges)."),
    engine: str = typer.Option("flash", help="flash (ArbExecutor + Aave flash loan) or capital (wallet + routers)."),
    executor: str = typer.Option("", help="ArbExecutor address (flash engine), owned by the wallet."),
    v2_router: str = typer.Option("", help="Uniswap V2 Router02 address (capital engine)."),
    v3_router: str = typer.Option("", help="Uniswap V3 SwapRouter address (capital engine)."),
    key_env: str = typer.Option("DEFIPM_PRIVATE_KEY", help="Environment variable holding the wallet's private key."),
    allow_mainnet: bool = typer.Option(False, help="Allow signing on a known mainnet chain id."),
    db: str = typer.Option("", help="Store URL for the records (default: defipm.db in the current directory)."),
    min_profit_wei: int = typer.Option(0, help="Least net profit to trade, in wei of the native token."),
    max_iterations: int = typer.Option(0, help="Stop after this many rounds (0 = until Ctrl-C)."),
    poll_interval: float = typer.Option(1.0, help="Seconds between polls for a new block."),
    rpc_timeout: float = typer.Option(10.0, help="Seconds before an RPC request times out."),
) -> None:
    """Watch a chain: detect, validate, execute and record arbitrage every new block."""
    import signal

    from web3 import Web3

    from defipm.arb.chain_pools import ChainPoolReader
    from defipm.arb.events import EventBus
    from defipm.arb.execution.capital import CapitalEngine
    from defipm.arb.execution.flash import FlashLoanEngine
    from defipm.arb.recorder import ArbRecorder
    from defipm.arb.risk import ArbRiskConfig, ArbRiskManager
    from defipm.arb.runner import ArbRunner, ExecutionEngine
    from defipm.chain.transactions import TransactionSender
    from defipm.chain.wallet import Wallet
    from defipm.store import Store

    console = Console()
    try:
        refs = _load_pool_refs(pools)
        hide_in_logs(rpc)  # web3 and urllib3 log each request's URL, API key included
        w3 = Web3(Web3.HTTPProvider(rpc, request_kwargs={"timeout": rpc_timeout}))
        sender = TransactionSender(w3, Wallet.from_env(key_env, allow_mainnet=allow_mainnet))
        chosen: ExecutionEngine
        if engine == "flash":
            if not executor:
                raise DefipmError("--executor is required with the flash engine")
            chosen = FlashLoanEngine(sender, executor)
        elif engine == "capital":
            if not (v2_router and v3_router):
                raise DefipmError("--v2-router and --v3-router are required with the capital engine")
            chosen = CapitalEngine(sender, v2_router, v3_router)
        else:
            raise DefipmError(f"unknown engine {engine!r} (flash or capital)")
        store = Store(db or None)
    except DefipmError as exc:
        console.print(f"[red]error:[/red] {escape(redact_text(str(exc), rpc))}")
        raise typer.Exit(1) from exc
    bus = EventBus()
    ArbRecorder(store).attach(bus)
    risk = ArbRiskManager(ArbRiskConfig(min_profit_native=min_profit_wei), bus=bus)
    runner = ArbRunner(
        ChainPoolReader(w3, refs), chosen, native=native, starts=tuple(start), max_len=max_len, risk=risk, bus=bus
    )
    signal.signal(signal.SIGTERM, lambda *_: runner.stop())
    console.print(
        f"watching {len(refs)} pools on {redact_url(rpc)} with the {engine} engine as {sender.address}; Ctrl-C stops"
    )
    rounds = executed = 0
    profit = 0
    try:
        while not runner.stop_requested:
            report = runner.step()
            rounds += 1
            if report.error:
                console.print(f"[yellow]round {rounds}:[/yellow] {escape(redact_text(report.error, rpc))}")
            elif report.new_block:
                line = f"block {report.block}: {report.pools} pools, {len(report.opportunities)} opportunities"
                if report.skipped:
                    line += f", {len(report.skipped)} skipped ({report.skipped[0].reason})"
                if report.decision is not None:
                    line += f"; {report.decision.reason}"
                if report.execution is not None:
                    executed += 1
                    profit += report.execution.profit if report.execution.success else 0
                    ok = "ok" if report.execution.success else report.execution.reason
                    line += f"; executed: {ok}, profit {report.execution.profit}, gas {report.execution.gas_used}"
                console.print(line)
            if max_iterations and rounds >= max_iterations:
                break
            runner.wait(poll_interval)
    except KeyboardInterrupt:
        console.print("interrupted")
    finally:
        store.close()
    console.print(f"stopped after {rounds} rounds, {executed} executions, profit {profit} (start-token units)")


@app.command()
def demo(
    scenario: str = typer.Option(
        "triangle", help="Mispricing: two-hop, two-hop-v3, triangle, triangle-v3, four-hop, five-hop."
    ),
    port: int = typer.Option(0, min=0, max=65535, help="Loopback port for the local node (0 = a free one)."),
    db: str = typer.Option("", help="Store URL to record the run in (default: an in-memory SQLite)."),
) -> None:
    """Local chain, a mispricing across V2 and V3 pools, detected and executed with a flash loan."""
    from defipm.arb.chain_pools import ChainPoolReader
    from defipm.arb.events import EventBus
    from defipm.arb.execution.flash import FlashLoanEngine
    from defipm.arb.local_world import SCENARIOS, ArbLocalWorld
    from defipm.arb.recorder import ArbRecorder
    from defipm.arb.runner import ArbRunner
    from defipm.chain.local import LocalUniswap
    from defipm.store import Store

    console = Console()
    if scenario not in SCENARIOS:
        console.print(f"[red]error:[/red] unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
        raise typer.Exit(2)
    console.print("starting a local chain with Uniswap V2 and V3 ...")
    try:
        world = LocalUniswap.start(port=port or None)
    except DefipmError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    store: Store | None = None
    try:
        store = Store(db or "sqlite://")
        arb = ArbLocalWorld.setup(world)
        ring = arb.scenario(scenario)
        console.print(
            f"mispricing {scenario!r} created across {len(ring.pools)} pools ({', '.join(p.kind for p in ring.pools)})"
        )
        bus = EventBus()
        recorder = ArbRecorder(store)
        recorder.attach(bus)
        engine = FlashLoanEngine(arb.sender, arb.executor)
        runner = ArbRunner(
            ChainPoolReader(world.w3, ring.pools), engine, native=arb.address("WETH"), max_len=ring.length, bus=bus
        )
        eth_before = int(world.w3.eth.get_balance(arb.wallet.address))  # type: ignore[arg-type]
        weth_before = arb.balance("WETH")
        report = runner.step()
        weth_gain = arb.balance("WETH") - weth_before
        eth_spent = eth_before - int(world.w3.eth.get_balance(arb.wallet.address))  # type: ignore[arg-type]
        decision, execution = report.decision, report.execution
        if decision is None or execution is None or decision.opportunity is None:
            why = decision.reason if decision else "no opportunity found"
            console.print(f"[red]nothing executed:[/red] {why}")
            raise typer.Exit(1)
        o = decision.opportunity
        symbols = {t.address: t.symbol for t in runner.reader.tokens.values()}
        table = Table(title=f"Flash-loan arbitrage at block {execution.block_number}")
        table.add_column("", style="bold")
        table.add_column("value", justify="right")
        rows = [
            ("path", " > ".join(symbols.get(t, t[:10]) for t in o.tokens)),
            ("pools", ", ".join(o.kinds)),
            ("borrowed", f"{o.amount_in / 1e18:.6f} WETH"),
            ("flash-loan premium", f"{o.premium / 1e18:.8f} WETH"),
            ("estimated profit (exact quote)", f"{o.gross_profit / 1e18:.8f} WETH"),
            ("realised profit (wallet WETH)", f"{weth_gain / 1e18:.8f} WETH"),
            ("difference", f"{weth_gain - o.gross_profit} wei"),
            ("gas used (model)", f"{execution.gas_used:,} ({o.gas_units:,})"),
            ("gas paid", f"{eth_spent / 1e18:.8f} ETH"),
            ("net of gas", f"{(weth_gain - eth_spent) / 1e18:.8f} ETH"),
            ("transaction", execution.tx_hash or "-"),
            ("recorded", f"{len(recorder.opportunities())} opportunity, {len(recorder.executions())} execution"),
        ]
        for k, v in rows:
            table.add_row(k, v)
        console.print(table)
        if not execution.success:
            console.print(f"[red]execution failed:[/red] {execution.reason}")
            raise typer.Exit(1)
    except DefipmError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    finally:
        if store is not None:
            store.close()
        world.stop()
