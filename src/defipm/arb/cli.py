"""``defipm arb``: the arbitrage engine's command line (a typer sub-app the main CLI mounts).

``scan --snapshot FILE`` loads a pool snapshot offline, indexes every cycle up to ``--max-len``, optionally adds
long cycles by compound search through ``--start`` tokens, and prints the best opportunities with their sizes,
gross and net profit (after the flash-loan premium and gas) in a rich table. Skipped rows are counted with
reasons; nothing in a snapshot can crash the scan.

``run --rpc URL --pools FILE`` drives ``ArbRunner``: every new block it refreshes the pools, detects, validates
(risk limits, re-quote on the latest block), executes the best opportunity with the flash-loan executor
(``--executor``) or the wallet's own tokens through the routers (``--engine capital``), and records everything in
the store. Executions are journalled (``defipm.arb.journal``) and the risk state persists under the run's name, so a
restart first settles what was in flight (waits for a pending transaction, unwinds a half-done capital cycle) and
keeps the breaker and the day's loss. ``--config FILE`` holds the run's settings (``defipm.arb.settings``); a
mainnet needs ``allow_mainnet = true`` there and ``--mainnet``. Ctrl-C (or SIGTERM) stops it after the current
round; ``--max-iterations`` bounds it for tests.

``demo`` starts a local chain with Uniswap V2/V3 deployed, creates a mispricing across V2 and V3 pools, detects it,
executes it with a flash loan and prints the realised profit next to the estimate.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from defipm.arb.costs import PriceBook
from defipm.arb.graph import PoolGraph
from defipm.arb.native_usd import native_usd_quote
from defipm.arb.opportunity import CostModel
from defipm.arb.scanner import Scanner
from defipm.arb.settings import ArbRunSettings, check_mainnet_opt_in, load_arb_settings
from defipm.arb.snapshot import SnapshotLoad, load_snapshot
from defipm.cli_errors import CliConsole, err_console, fail
from defipm.config_schema import is_address
from defipm.core.errors import DefipmError
from defipm.core.redaction import hide_in_logs, redact_text, redact_url

if TYPE_CHECKING:
    from rich.progress import TaskID
    from web3 import Web3

    from defipm.arb.chain_pools import PoolRef as PoolRefLike
    from defipm.arb.execution.capital import CapitalEngine
    from defipm.arb.execution.report import ExecutionReport
    from defipm.arb.local_world import ArbLocalWorld, Scenario
    from defipm.arb.opportunity import Opportunity
    from defipm.arb.pools import Token
    from defipm.arb.recorder import ArbRecorder
    from defipm.arb.runner import ArbRunner, ExecutionEngine, StepReport
    from defipm.chain.transactions import TransactionSender
    from defipm.store import Store

app = typer.Typer(
    help="Cross-DEX arbitrage: scan pool snapshots, run against a chain, or watch a local demo.", no_args_is_help=True
)

WETH = "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"
USDC = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"


@app.callback()
def _root() -> None:
    """Arbitrage engine commands."""


MAX_SCAN_LEN = 5
"""The longest ``--max-len`` ``arb scan`` enumerates: every cycle is indexed up front, and their number grows
several times over per extra edge (the 2020-10 mainnet snapshot: length 3 in 2 s and 80 MB, 4 in 3 s and 150 MB,
5 in 16 s and 1 GB; 9 never finished). Longer cycles come from ``--compound-len`` (a beam search from the
``--start`` tokens), which stays bounded."""

MAX_POLL_SECONDS = 3600.0
"""The longest ``arb run --poll-interval``: an hour between looks at the chain."""

MAX_RPC_TIMEOUT_SECONDS = 600.0
"""The longest ``arb run --rpc-timeout`` (the socket's timeout must be a positive, finite number of seconds)."""

MAX_GAS_PRICE_GWEI = 1_000_000.0
"""The highest ``arb scan --gas-price-gwei`` (1,000,000 gwei = 0.001 native token per gas: far above any chain's
price); the gas price becomes an integer of wei, which an unbounded float (inf) cannot."""

MAX_NATIVE_USD = 1e9
"""The highest ``arb scan --native-usd`` (dollars per native token), so that a net in dollars is a number."""


MAX_COMPOUND_LEN = 16
"""The longest ``--compound-len``: the float profit bound's error is checked for folds up to 16 hops."""


@app.command()
def scan(
    snapshot: Path = typer.Option(..., "--snapshot", help="Pool snapshot JSON file."),
    max_len: int = typer.Option(
        3,
        min=2,
        help=f"Longest cycle (edges) to enumerate exhaustively, at most {MAX_SCAN_LEN} (longer: --compound-len).",
    ),
    compound_len: int = typer.Option(
        0, max=MAX_COMPOUND_LEN, help="If > max-len, also compound-search cycles up to this length."
    ),
    start: list[str] = typer.Option([WETH, USDC], help="Start token addresses (profit is counted in these)."),
    native: str = typer.Option(WETH, help="Native (gas) token address; prices come from the pools."),
    gas_price_gwei: float = typer.Option(30.0, min=0, max=MAX_GAS_PRICE_GWEI, help="Gas price in gwei."),
    native_usd: float | None = typer.Option(
        None,
        min=0,
        max=MAX_NATIVE_USD,
        help="US dollars per native token (display); default: the snapshot's deepest native/stablecoin pool.",
    ),
    no_flash: bool = typer.Option(False, "--no-flash", help="Trade own capital: no loan premium or flash gas."),
    top: int = typer.Option(15, min=1, help="Rows to print."),
) -> None:
    """Offline scan of a snapshot: best cycles with sizes and net profit."""
    console = CliConsole()
    _check_scan_len(max_len)
    try:
        load = load_snapshot(snapshot)
        starts = _snapshot_starts(load.tokens, start)
    except DefipmError as exc:
        raise fail(exc) from None
    if native.lower() not in load.tokens:
        raise fail(f"--native {native}: not a token of the snapshot {snapshot}")
    usd, source = _native_usd(load, native.lower(), native_usd)
    graph = PoolGraph(load.pools, load.tokens)
    costs = CostModel.for_engine(  # the gas `arb run` charges with the same engine, fitted on the local chain
        not no_flash, gas_price_wei=int(gas_price_gwei * 10**9), native_price_usd=usd or 0.0
    )
    with scan_progress(err_console) as step:
        step(f"indexing every cycle of 2 to {max_len} edges")
        prices = PriceBook.from_graph(graph, native.lower())
        scanner = Scanner(graph, max_len, costs=costs, prices=prices, preferred_starts=starts)
        step(f"screening and sizing {scanner.n_cycles:,} cycles")
        result = scanner.scan()
        if compound_len > max_len:
            step(f"compound search up to {compound_len} edges from {len(starts)} start token(s)")
            scanner.compound(starts, compound_len, top=top)
        step(f"sizing the best {top}")
        best = scanner.best(top)
    _print_scan(console, load, scanner, result.reasons, top)
    console.print(f"native USD: {source}", highlight=False, soft_wrap=True)
    console.print(_best_cycles(best, graph, load.tokens, usd))
    console.print(
        "[dim]Snapshot profits are only as real as the snapshot: rows from different blocks and rebasing "
        "tokens show cycles that never existed.[/dim]"
    )


def _check_scan_len(max_len: int) -> None:
    """Refuse a ``--max-len`` above what an exhaustive scan enumerates, naming the compound search instead."""
    if max_len > MAX_SCAN_LEN:
        raise fail(
            f"--max-len {max_len}: above the limit of {MAX_SCAN_LEN} edges an exhaustive scan enumerates (every cycle "
            f"is indexed up front; length 5 already takes seconds and a gigabyte on a mainnet snapshot); for longer "
            f"cycles give --max-len {min(max_len - 1, MAX_SCAN_LEN)} --compound-len {max_len} (a beam search from "
            "the --start tokens)"
        )


def _native_usd(load: SnapshotLoad, native: str, given: float | None) -> tuple[float | None, str]:
    """US dollars per native token and where it comes from: ``--native-usd`` when given, else the mid price of the
    snapshot's deepest native/stablecoin pool (``arb.native_usd``), else unknown (net USD left blank)."""
    symbol = load.tokens[native].symbol
    if given is not None:
        return given, f"{symbol} = ${given:,.2f} (--native-usd)"
    quote = native_usd_quote(load.pools, load.tokens, native)
    if quote is None:
        return None, f"unknown: the snapshot has no {symbol}/stablecoin pool (give --native-usd)"
    return quote.usd, quote.describe(symbol) + "; --native-usd overrides"


def _print_scan(console: Console, load: SnapshotLoad, scanner: Scanner, reasons: Counter[str], top: int) -> None:
    """The scan's counts: pools, tokens, cycles, opportunities, rows skipped and candidates dropped, and why."""
    unsized = f" ({len(scanner.pending)} more long cycles left unsized: none can enter the top {top})"
    console.print(
        f"{len(load.pools)} pools, {len(load.tokens)} tokens, {scanner.n_cycles} cycles; "
        f"{len(scanner.opportunities)} opportunities after fees, premium and gas{unsized if scanner.pending else ''}"
    )
    if load.skipped:
        why = Counter(s.reason.split(":")[0].split("(")[0].strip() for s in load.skipped)
        console.print(f"skipped {len(load.skipped)} rows: " + "; ".join(f"{n} x {r}" for r, n in why.most_common(5)))
    if reasons:
        console.print("dropped: " + ", ".join(f"{r}: {n}" for r, n in reasons.most_common()))


@contextmanager
def scan_progress(console: Console) -> Iterator[Callable[[str], None]]:
    """A rich progress display on ``console`` (stderr) while a scan runs: each ``step(description)`` ends the step
    before it (its time kept on screen) and starts a spinner with the time elapsed. Shown on a terminal only;
    nothing is written to a pipe or a log."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(finished_text="done"), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, disable=not console.is_terminal) as progress:
        current: list[TaskID] = []

        def step(description: str) -> None:
            if current:
                progress.update(current[-1], total=1, completed=1)
            current.append(progress.add_task(description, total=None))

        yield step
        if current:
            progress.update(current[-1], total=1, completed=1)


def _best_cycles(
    best: list[Opportunity], graph: PoolGraph, tokens: dict[str, Token], native_usd: float | None
) -> Table:
    """The scan's best cycles: path, size, gross, gas and net profit in the start token, net in US dollars (blank
    when the native token's dollar price is unknown)."""
    table = Table(title="Best cycles")
    for col in ("#", "path", "hops", "size", "gross", "gas", "net", "net USD"):
        table.add_column(col, justify="right" if col not in ("path",) else "left")
    for i, o in enumerate(best, 1):
        tok = tokens.get(o.start_token)
        dec = tok.decimals if tok else 0
        known = o.net_profit_native is not None and native_usd is not None
        usd = f"{o.net_profit_native / 1e18 * native_usd:,.2f}" if known else ""  # type: ignore[operator]
        table.add_row(
            str(i),
            " > ".join(graph.symbol(t) for t in o.tokens),
            str(len(o.edges)),
            f"{o.amount_in / 10**dec:,.6g} {graph.symbol(o.start_token)}",
            f"{o.gross_profit / 10**dec:,.6g}",
            "?" if o.gas_cost is None else f"{o.gas_cost / 10**dec:,.4g}",
            "?" if o.net_profit is None else f"{o.net_profit / 10**dec:,.6g}",
            usd,
        )
    return table


def _snapshot_starts(tokens: dict[str, Token], start: list[str]) -> list[str]:
    """``--start`` values as token addresses: an address of the snapshot, or a symbol it lists once."""
    by_symbol: dict[str, str | None] = {}
    for a, t in tokens.items():  # a symbol two tokens share names neither
        by_symbol[t.symbol.upper()] = None if t.symbol.upper() in by_symbol else a
    starts = []
    for s in start:
        address = s.lower() if s.lower() in tokens else by_symbol.get(s.upper())
        if address is None:
            raise DefipmError(
                f"--start {s}: not a token of the snapshot, or a symbol several tokens share (give its address)"
            )
        starts.append(address)
    return starts


def _check_addresses(given: dict[str, list[str]]) -> None:
    """Refuse an option's value that is not a 20-byte hex address (``0x`` and 40 hex digits), naming the option;
    an empty value is an option left out."""
    for option, values in given.items():
        for value in values:
            if value and not is_address(value):
                raise DefipmError(f"{option} {value!r}: not an address (0x and 40 hex digits)")


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
    max_len: int = typer.Option(4, min=2, max=MAX_SCAN_LEN, help="Longest cycle (edges)."),
    engine: str = typer.Option("flash", help="flash (ArbExecutor + Aave flash loan) or capital (wallet + routers)."),
    executor: str = typer.Option("", help="ArbExecutor address (flash engine), owned by the wallet."),
    v2_router: str = typer.Option("", help="Uniswap V2 Router02 address (capital engine; also unwinds)."),
    v3_router: str = typer.Option("", help="Uniswap V3 SwapRouter address (capital engine; also unwinds)."),
    key_env: str = typer.Option("DEFIPM_PRIVATE_KEY", help="Environment variable holding the wallet's private key."),
    config: Path | None = typer.Option(None, "--config", help="TOML settings: run name, allow_mainnet, gas, risk."),
    mainnet: bool = typer.Option(False, "--mainnet", help="Confirm trading on mainnet; the config must opt in too."),
    db: str = typer.Option("", help="Store URL for the records (default: defipm.db in the current directory)."),
    min_profit_wei: int = typer.Option(0, min=0, help="Least net profit to trade, in wei of the native token."),
    max_iterations: int = typer.Option(0, min=0, help="Stop after this many rounds (0 = until Ctrl-C)."),
    poll_interval: float = typer.Option(
        1.0, min=0, max=MAX_POLL_SECONDS, help="Seconds between polls for a new block."
    ),
    rpc_timeout: float = typer.Option(
        10.0, min=0.001, max=MAX_RPC_TIMEOUT_SECONDS, help="Seconds before an RPC request times out."
    ),
    metrics_port: int = typer.Option(0, min=0, max=65535, help="Serve Prometheus /metrics on 127.0.0.1:PORT (0: off)."),
) -> None:
    """Watch a chain: detect, validate, execute and record arbitrage every new block (journalled: a restart settles
    what was in flight first)."""
    import signal

    from defipm.store import Store

    console = CliConsole()
    try:
        _check_addresses({"--native": [native], "--start": start, "--executor": [executor],
                          "--v2-router": [v2_router], "--v3-router": [v3_router]})  # fmt: skip
        settings = load_arb_settings(config)
        refs = _load_pool_refs(pools)
        hide_in_logs(rpc)  # web3 and urllib3 log each request's URL, API key included
        w3, sender = _sender(rpc, rpc_timeout, key_env, settings, mainnet)
        chosen, unwinder = _engines(sender, engine, executor, v2_router, v3_router)
        store = Store(db or None)
    except DefipmError as exc:
        raise fail(exc, rpc) from None
    runner = _runner(store, settings, w3, refs, chosen, unwinder, native, start, max_len, min_profit_wei)
    exporter = _metrics(metrics_port, store, runner, console)
    signal.signal(signal.SIGTERM, lambda *_: runner.stop())
    console.print(
        f"watching {len(refs)} pools on {redact_url(rpc)} with the {engine} engine as {sender.address}; Ctrl-C stops"
    )
    tally = _Tally(console, rpc)
    try:
        runner.run(max_iterations or None, poll_interval, history=settings.history, on_step=tally.print)
    except KeyboardInterrupt:
        console.print("interrupted")
    finally:
        exporter.close()
        store.close()
    console.print(
        f"stopped after {tally.rounds} rounds, {tally.executed} executions, profit {tally.profit} (start-token units)"
    )


def _metrics(port: int, store: Store, runner: ArbRunner, console: Console) -> ExitStack:
    """With a port, the runner's live metrics served on loopback (closed with the returned stack)."""
    stack = ExitStack()
    if port:
        from defipm.arb.metrics import ArbMetrics
        from defipm.service.exporter import serve_arb_metrics

        metrics = ArbMetrics()
        runner.metrics = metrics
        metrics.attach(runner.bus)
        try:
            stack.enter_context(serve_arb_metrics(port, store, metrics))
        except DefipmError as exc:
            store.close()
            raise fail(exc) from None
        console.print(f"metrics on http://127.0.0.1:{port}/metrics")
    return stack


def _sender(
    rpc: str, timeout: float, key_env: str, settings: ArbRunSettings, mainnet: bool
) -> tuple[Web3, TransactionSender]:
    """The node and the wallet's sender, refusing a mainnet without both opt-ins (before anything is signed)."""
    from defipm.chain.errors import node_errors, translate_web3_error
    from defipm.chain.node import connect
    from defipm.chain.transactions import GasPolicy, TransactionSender
    from defipm.chain.wallet import Wallet

    w3 = connect(rpc, timeout=timeout)
    try:
        chain_id = int(w3.eth.chain_id)
    except node_errors() as exc:
        raise translate_web3_error(exc, "read chain id") from exc
    wallet = Wallet.from_env(key_env, allow_mainnet=check_mainnet_opt_in(chain_id, settings, mainnet))
    return w3, TransactionSender(w3, wallet, GasPolicy(max_fee_per_gas_wei=settings.max_fee_per_gas_wei))


def _engines(
    sender: TransactionSender, engine: str, executor: str, v2_router: str, v3_router: str
) -> tuple[ExecutionEngine, CapitalEngine | None]:
    """The execution engine, and the capital engine that unwinds half-done cycles (when routers are given)."""
    from defipm.arb.execution.capital import CapitalEngine
    from defipm.arb.execution.flash import FlashLoanEngine

    unwinder = CapitalEngine(sender, v2_router, v3_router) if v2_router and v3_router else None
    if engine == "flash":
        if not executor:
            raise DefipmError("--executor is required with the flash engine")
        return FlashLoanEngine(sender, executor), unwinder
    if engine == "capital":
        if unwinder is None:
            raise DefipmError("--v2-router and --v3-router are required with the capital engine")
        return unwinder, unwinder
    raise DefipmError(f"unknown engine {engine!r} (flash or capital)")


def _runner(
    store: Store, settings: ArbRunSettings, w3: Web3, refs: list[PoolRefLike], engine: ExecutionEngine,
    unwinder: CapitalEngine | None, native: str, start: list[str], max_len: int, min_profit_wei: int,
) -> ArbRunner:  # fmt: skip
    """The runner with its journal, records and risk state in ``store`` under the settings' run name."""
    from defipm.arb.chain_pools import ChainPoolReader
    from defipm.arb.events import EventBus
    from defipm.arb.journal import ArbJournal
    from defipm.arb.recorder import ArbRecorder
    from defipm.arb.risk import ArbRiskManager
    from defipm.arb.risk_state import StoredRiskState
    from defipm.arb.runner import ArbRunner

    bus = EventBus()
    ArbRecorder(store).attach(bus)
    limits = settings.risk
    if min_profit_wei:
        limits = limits.model_copy(update={"min_profit_native": min_profit_wei})
    if settings.max_fee_per_gas_wei is not None and limits.max_gas_price_wei is not None:
        limits = limits.model_copy(update={"max_gas_price_wei": min(limits.max_gas_price_wei,
                                                                    settings.max_fee_per_gas_wei)})  # fmt: skip
    risk = ArbRiskManager(limits, bus=bus, state=StoredRiskState(store, settings.run))
    return ArbRunner(
        ChainPoolReader(w3, refs), engine, native=native, starts=tuple(start), max_len=max_len, risk=risk, bus=bus,
        journal=ArbJournal(store, settings.run), unwinder=unwinder, unwind_slippage_bps=settings.unwind_slippage_bps,
    )  # fmt: skip


class _Tally:
    """Prints one line per round of ``arb run`` and counts executions and profit."""

    def __init__(self, console: Console, rpc: str = "") -> None:
        self.console = console
        self.rpc = rpc
        """The node's URL, scrubbed from every message printed (it may carry an API key)."""
        self.rounds = self.executed = self.profit = 0

    def print(self, report: StepReport) -> None:
        self.rounds += 1
        for resolution in report.resolved:  # executions left open by an earlier round or process
            done = resolution.report
            if resolution.final and done is not None and done is not report.execution:
                self.executed += 1
                self.profit += done.profit
                self.console.print(
                    f"settled {resolution.execution_id} ({resolution.status}): profit {done.profit}, gas "
                    f"{done.gas_used}; {escape(resolution.reason)}"
                )
        if report.blocked:
            blocked = redact_text(report.blocked, self.rpc)
            self.console.print(f"[yellow]round {self.rounds}: not trading:[/yellow] {escape(blocked)}")
        elif report.error:
            self.console.print(f"[yellow]round {self.rounds}:[/yellow] {escape(redact_text(report.error, self.rpc))}")
        elif report.new_block:
            line = f"block {report.block}: {report.pools} pools, {len(report.opportunities)} opportunities"
            if report.skipped:
                line += f", {len(report.skipped)} skipped ({report.skipped[0].reason})"
            if report.decision is not None:
                line += f"; {report.decision.reason}"
            if report.execution is not None:
                self.executed += 1
                self.profit += report.execution.profit
                ok = "ok" if report.execution.success else report.execution.reason
                line += f"; executed: {ok}, profit {report.execution.profit}, gas {report.execution.gas_used}"
            self.console.print(escape(line))


@app.command()
def demo(
    scenario: str = typer.Option(
        "triangle", help="Mispricing: two-hop, two-hop-v3, triangle, triangle-v3, four-hop, five-hop."
    ),
    port: int = typer.Option(0, min=0, max=65535, help="Loopback port for the local node (0 = a free one)."),
    db: str = typer.Option("", help="Store URL to record the run in (default: an in-memory SQLite)."),
) -> None:
    """Local chain, a mispricing across V2 and V3 pools, detected and executed with a flash loan."""
    from defipm.arb.local_world import SCENARIOS, ArbLocalWorld
    from defipm.chain.local import LocalUniswap
    from defipm.store import Store

    console = CliConsole()
    if scenario not in SCENARIOS:
        raise fail(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    console.print("starting a local chain with Uniswap V2 and V3 ...")
    try:
        world = LocalUniswap.start(port=port or None)
    except DefipmError as exc:
        raise fail(exc) from None
    store: Store | None = None
    try:
        store = Store(db or "sqlite://")
        arb = ArbLocalWorld.setup(world)
        ring = arb.scenario(scenario)
        console.print(
            f"mispricing {scenario!r} created across {len(ring.pools)} pools ({', '.join(p.kind for p in ring.pools)})"
        )
        runner, recorder = _demo_runner(arb, ring, store)
        eth_before = int(world.w3.eth.get_balance(arb.wallet.address))  # type: ignore[arg-type]
        weth_before = arb.balance("WETH")
        report = runner.step()
        weth_gain = arb.balance("WETH") - weth_before
        eth_spent = eth_before - int(world.w3.eth.get_balance(arb.wallet.address))  # type: ignore[arg-type]
        decision, execution = report.decision, report.execution
        if decision is None or execution is None or decision.opportunity is None:
            why = decision.reason if decision else "no opportunity found"
            raise fail(f"nothing executed: {why}")
        symbols = {t.address: t.symbol for t in runner.reader.tokens.values()}
        recorded = f"{len(recorder.opportunities())} opportunity, {len(recorder.executions())} execution"
        console.print(_demo_table(decision.opportunity, execution, symbols, weth_gain, eth_spent, recorded))
        if not execution.success:
            raise fail(f"execution failed: {execution.reason}")
    except DefipmError as exc:
        raise fail(exc) from None
    finally:
        if store is not None:
            store.close()
        world.stop()


def _demo_runner(arb: ArbLocalWorld, ring: Scenario, store: Store) -> tuple[ArbRunner, ArbRecorder]:
    """The demo's runner over the scenario's pools with the flash-loan engine, recording into ``store``."""
    from defipm.arb.chain_pools import ChainPoolReader
    from defipm.arb.events import EventBus
    from defipm.arb.execution.flash import FlashLoanEngine
    from defipm.arb.journal import ArbJournal
    from defipm.arb.recorder import ArbRecorder
    from defipm.arb.runner import ArbRunner

    bus = EventBus()
    recorder = ArbRecorder(store)
    recorder.attach(bus)
    runner = ArbRunner(
        ChainPoolReader(arb.world.w3, ring.pools), FlashLoanEngine(arb.sender, arb.executor), native=arb.address("WETH"),
        max_len=ring.length, bus=bus, journal=ArbJournal(store, "demo"),
    )  # fmt: skip
    return runner, recorder


def _demo_table(
    o: Opportunity, execution: ExecutionReport, symbols: dict[str, str], weth_gain: int, eth_spent: int, recorded: str
) -> Table:
    """The demo's result: the cycle, the estimate next to the realised profit, gas."""
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
        ("recorded", recorded),
    ]
    for k, v in rows:
        table.add_row(k, v)
    return table
