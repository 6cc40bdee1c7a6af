"""``defipm rl``: train, evaluate, search and list the learned allocator's models.

    defipm rl train --data ../shared/data/prices/daily --symbols BTC,ETH,SOL --name majors --every 48h
    defipm rl evaluate majors --data ../shared/data/prices/daily --benchmark BTC --risk-free 0.04
    defipm rl search --data ../shared/data/prices/hourly --grid 24h,48h,72h,96h,120h,168h,360h --metric sortino
    defipm rl models

Every setting of the training plan is a ``--param`` (``-p env.window=60``, ``-p costs.max_participation=0.05``,
``-p ppo.learning_rate=0.0001``); each is checked before anything runs, and a bad one is one line naming it.
Nothing here imports torch until a command runs, and a missing ``rl`` extra is one line naming
``scripts/bootstrap rl``.

Output follows the other commands: tables through a ``CliConsole`` (nothing truncated off a terminal), progress
and warnings on stderr, durations in the duration grammar (``1d``, ``48h``), and ``--json`` on every command: one
JSON document on stdout and nothing else there (``cli_output.print_json``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from json import JSONDecodeError, dumps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from defipm.cli_errors import CliConsole
from defipm.cli_output import JsonOption, print_json
from defipm.core.errors import ConfigError, DefipmError
from defipm.rl.registry import DEFAULT_REGISTRY
from defipm.rl.split import Span

if TYPE_CHECKING:
    from defipm.data.panel import PricePanel
    from defipm.rl.evaluation import Benchmark
    from defipm.rl.market import MarketArrays
    from defipm.rl.model import ModelCard, Period
    from defipm.rl.pipeline import TrainingPlan
    from defipm.rl.registry import ModelRegistry

app = typer.Typer(help="The learned allocator: train, evaluate, search and list PPO models.", no_args_is_help=True)
console = CliConsole()
err_console = CliConsole(stderr=True)

DataOption = Annotated[Path, typer.Option(help="Folder of <SYMBOL>.csv/.parquet OHLCV files.")]
SymbolsOption = Annotated[str | None, typer.Option(help="Comma-separated symbols (default: every file).")]
BarLabelOption = Annotated[str, typer.Option(help="What a file's time means: open (daily dates) or close.")]
RegistryOption = Annotated[Path, typer.Option(help="The model registry's folder.")]
DatabaseOption = Annotated[
    str | None, typer.Option(help="Store URL for the registry's rows (default: sqlite:///defipm.db).")
]
ParamOption = Annotated[
    list[str] | None, typer.Option("--param", "-p", help="Plan setting SECTION.KEY=VALUE (env., costs., ppo.).")
]
EveryOption = Annotated[str, typer.Option(help="Rebalancing interval (a whole number of bars): 24h, 2d, ...")]


@contextmanager
def _one_line_errors() -> Iterator[None]:
    """Any defipm error (and a ``ValueError`` naming a bad value) as one line on stderr and exit code 1."""
    try:
        yield
    except (DefipmError, ValueError) as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def _progress() -> Progress:
    from defipm.cli_output import progress_bar

    return progress_bar(err_console)  # type: ignore[no-any-return]  # stderr: with --json stdout holds the JSON


def _param_tree(params: list[str] | None) -> dict[str, Any]:
    """The ``--param SECTION.KEY=VALUE`` items as a tree of sections (a value is JSON, else the bare text)."""
    from defipm.config_schema import strict_json

    tree: dict[str, Any] = {}
    for item in params or []:
        key, sep, value = item.partition("=")
        section, dot, name = key.strip().partition(".")
        if not sep or not section or not value.strip() or (dot and not name):
            raise ConfigError(f"--param {item!r}: expected SECTION.KEY=VALUE (e.g. env.window=60)")
        try:
            parsed = strict_json(value)
        except JSONDecodeError:
            parsed = value.strip()
        except ValueError as exc:
            raise ConfigError(f"--param {key}: {exc}") from None
        target = tree.setdefault(section, {}) if dot else tree
        if not isinstance(target, dict) or (name or section) in target:
            raise ConfigError(f"--param {key.strip()} is given twice or clashes with another: give it once")
        target[name or section] = parsed
    return tree


TRAIN_FLAGS = {
    "name": "--name",
    "env.window": "--window",
    "ppo.timesteps": "--timesteps",
    "ppo.seed": "--seed",
    "risk_free": "--risk-free",
}
"""The training plan's keys that ``defipm rl train`` sets by a dedicated option: a bad value names that option."""


def _plan(params: list[str] | None, flags: dict[str, str] | None = None, **given: Any) -> TrainingPlan:
    """The training plan from ``--param`` items and the dedicated options (dotted key -> value, None: not given);
    a bad value is a ``ConfigError`` naming the option it came from (``flags``: dotted key -> option), else
    ``--param.SECTION.KEY``."""
    from pydantic import ValidationError

    from defipm.config_schema import describe_error, problems
    from defipm.rl.pipeline import TrainingPlan

    tree = _param_tree(params)
    for dotted, value in given.items():
        if value is not None:
            section, dot, name = dotted.partition(".")
            if dot:
                tree.setdefault(section, {})[name] = value
            else:
                tree[section] = value
    try:
        return TrainingPlan.model_validate(tree)
    except ValidationError as exc:
        lines = problems(exc, TrainingPlan, "--param")
        for i, err in enumerate(exc.errors()):
            dotted = ".".join(map(str, err["loc"]))
            flag = (flags or {}).get(dotted) if given.get(dotted) is not None else None
            if flag is not None:
                lines[i] = f"{flag}: {describe_error(err, TrainingPlan)}"
        raise ConfigError("; ".join(lines)) from None


def _symbols(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [s.strip() for s in text.split(",")]
    if not all(names):
        raise ConfigError(f"--symbols {text!r}: an empty symbol name; give SYM1,SYM2,...")
    return names


def _load(data: Path, symbols: list[str] | None, bar_label: str) -> tuple[PricePanel, MarketArrays]:
    from defipm.data.cache import load_prices
    from defipm.rl.market import MarketArrays

    if bar_label not in ("open", "close"):
        raise ConfigError(f"--bar-label {bar_label!r}: use open or close")
    panel = load_prices(data, symbols, bar_label=bar_label)  # type: ignore[arg-type]
    return panel, MarketArrays.from_panel(panel)


def _bars(every: str, market: MarketArrays) -> int:
    from defipm.core.schedule import parse_duration, spell_duration

    bars, rest = divmod(parse_duration(every, "--every"), market.interval)
    if rest or bars < 1:
        raise ConfigError(f"--every {every}: not a whole number of the data's {spell_duration(market.interval)} bars")
    return int(bars)


def _registry(root: Path, database: str | None) -> ModelRegistry:
    from defipm.rl.registry import ModelRegistry
    from defipm.store.database import Store, default_url

    return ModelRegistry(root, Store(database or default_url()))


def _figures_table(title: str, rows: list[tuple[str, dict[str, Any]]]) -> Table:
    from defipm.rl.report import COLUMNS, cell

    table = Table(title=title)
    table.add_column("")
    for _, heading, _ in COLUMNS:
        table.add_column(heading, justify="right", overflow="fold")  # a narrow terminal folds a number, never cuts it
    for label, figures in rows:
        table.add_row(label, *(cell(figures.get(key), kind) for key, _, kind in COLUMNS))
    return table


def _with_bar(description: str, run: Callable[[Callable[[int, int], None]], Any]) -> Any:
    with _progress() as bar:
        task = bar.add_task(description, total=None)
        return run(lambda done, total: bar.update(task, completed=done, total=total))


@app.command()
def train(
    data: DataOption,
    name: Annotated[str, typer.Option(help="The model's name in the registry.")],
    symbols: SymbolsOption = None,
    every: EveryOption = "24h",
    window: Annotated[int | None, typer.Option(help="Bars of history per observation [30].")] = None,
    timesteps: Annotated[int | None, typer.Option(help="PPO training steps [100000].")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of PPO and the environment [0].")] = None,
    train_fraction: Annotated[float, typer.Option(help="Chronological share of the data that trains.")] = 0.66,
    benchmark: Annotated[str, typer.Option(help="Benchmark symbol or OHLCV file; 'none' for none.")] = "BTC",
    risk_free: Annotated[float | None, typer.Option(help="Annual risk-free rate of the figures [0].")] = None,
    param: ParamOption = None,
    bar_label: BarLabelOption = "open",
    registry: RegistryOption = DEFAULT_REGISTRY,
    database: DatabaseOption = None,
    json: JsonOption = False,
) -> None:
    """Train a PPO model on the training part, report both parts' figures and register it (``--json``: the
    registered model's card, with both parts' figures, and the registry folder)."""
    with _one_line_errors():
        from defipm.rl.evaluation import benchmark_for
        from defipm.rl.extra import require_rl
        from defipm.rl.pipeline import train_model
        from defipm.rl.split import chronological_split

        require_rl("defipm rl train")
        plan = _plan(param, TRAIN_FLAGS, **{"name": name, "env.window": window, "ppo.timesteps": timesteps,
                                            "ppo.seed": seed, "risk_free": risk_free})  # fmt: skip
        panel, market = _load(data, _symbols(symbols), bar_label)
        plan = plan.model_copy(update={"env": plan.env.model_copy(update={"rebalance_every": _bars(every, market)})})
        split = chronological_split(market, plan.env.window, plan.env.rebalance_every, train_fraction)
        assert split.test is not None
        spec = None if benchmark.strip().lower() == "none" else benchmark
        bench = benchmark_for(spec, panel, split.train.start - plan.env.window, split.test.stop, bar_label)
        store_registry = _registry(registry, database)
        model = _with_bar(f"training {name}", lambda p: train_model(market, split, plan, benchmark=bench, progress=p))
        card = store_registry.register(model.card, model.policy)
    if json:
        print_json({"model": _card_record(card), "registry": str(registry)})
        return
    rows = [("train part", card.train_figures), ("test part", card.test_figures)]
    console.print(_figures_table(f"{card.ref} ({', '.join(card.symbols)})", rows))
    console.print(f"registered {card.ref} in {registry}", highlight=False)


@app.command()
def evaluate(
    model: Annotated[str, typer.Argument(help="The model: name, name@version or a model folder.")],
    data: DataOption,
    benchmark: Annotated[str, typer.Option(help="Benchmark symbol or OHLCV file (an index).")] = "BTC",
    risk_free: Annotated[float, typer.Option(help="Annual risk-free rate (0.04 = 4%).")] = 0.0,
    baseline: Annotated[str, typer.Option(help="Covariance baseline: hrp or min_variance.")] = "hrp",
    lookback: Annotated[int, typer.Option(min=2, help="Bars of returns the covariance baseline reads.")] = 90,
    out: Annotated[Path, typer.Option(help="Folder for evaluation.html and evaluation.json.")] = Path("reports/rl"),
    bar_label: BarLabelOption = "open",
    registry: RegistryOption = DEFAULT_REGISTRY,
    json: JsonOption = False,
) -> None:
    """The model against equal weight, buy-and-hold of the benchmark and HRP on its test part, same costs
    (``--json``: evaluation.json's document and the paths written)."""
    with _one_line_errors():
        from defipm.core.metrics import per_bar_rate
        from defipm.rl.evaluation import benchmark_for
        from defipm.rl.evaluation import evaluate as run_evaluation
        from defipm.rl.extra import require_rl
        from defipm.rl.registry import ModelRegistry
        from defipm.rl.report import evaluation_dict, evaluation_table, write_evaluation_html, write_evaluation_json

        require_rl("defipm rl evaluate")
        try:
            per_bar_rate(risk_free, 1.0)  # a rate that is not a yearly fraction, refused before anything runs
        except ValueError as exc:
            raise ConfigError(f"--risk-free: {exc}") from None
        card = ModelRegistry(registry).card(model)
        panel, market = _load(data, list(card.symbols), bar_label)
        loaded = ModelRegistry(registry).load(model, symbols=market.symbols, interval=market.interval, where=str(data))
        span = _test_span(market, card.test, card.ref)
        spec = None if benchmark.strip().lower() == "none" else benchmark
        bench = benchmark_for(spec, panel, span.start - card.env.window, span.stop, bar_label)
        result = run_evaluation(loaded, market, span, benchmark=bench, risk_free=risk_free, scheme=baseline,
                                lookback=lookback)  # fmt: skip
        if market.data_hash(*_hash_range(market, card)) != card.data.hash:
            err_console.print(f"[yellow]warning:[/] the data in {data} differ from what {card.ref} was made from")
        html_path = write_evaluation_html(result, out / "evaluation.html")
        json_path = write_evaluation_json(result, out / "evaluation.json")
    if json:
        print_json(evaluation_dict(result) | {"report": str(html_path), "figures": str(json_path)})
        return
    console.print(evaluation_table(result))
    console.print(f"report: {html_path}\nfigures: {json_path}", highlight=False)


def _test_span(market: MarketArrays, test: Period | None, ref: str) -> Span:
    from defipm.data.panel import to_datetime64

    if test is None:
        raise ConfigError(f"model {ref} has no test part (a rotation model): evaluate it with a walk-forward backtest")
    start = int(market.timestamps.searchsorted(to_datetime64(test.start)))
    stop = int(market.timestamps.searchsorted(to_datetime64(test.end)))
    if stop >= len(market) or market.timestamps[stop] != to_datetime64(test.end) or start >= stop:
        raise ConfigError(
            f"the data do not cover {ref}'s test part ({test.start:%Y-%m-%d} to {test.end:%Y-%m-%d}): give the data "
            "it was trained on"
        )
    return Span(start, stop)


def _hash_range(market: MarketArrays, card: ModelCard) -> tuple[int, int]:
    from defipm.data.panel import to_datetime64

    start = int(market.timestamps.searchsorted(to_datetime64(card.data.start)))
    stop = int(market.timestamps.searchsorted(to_datetime64(card.data.end), side="right"))
    return start, stop


@app.command()
def search(
    data: DataOption,
    symbols: SymbolsOption = None,
    grid: Annotated[str, typer.Option(help="Rebalancing intervals to try.")] = "24h,48h,72h,96h,120h,168h,360h",
    metric: Annotated[
        str, typer.Option(help="Chosen on the training part by: sortino or normalised_return.")
    ] = "sortino",
    train_fraction: Annotated[float, typer.Option(help="Chronological share of the data that trains.")] = 0.66,
    trials: Annotated[int, typer.Option(min=0, help="Optuna trials over PPO's settings at the chosen interval.")] = 0,
    workers: Annotated[int | None, typer.Option(min=1, help="Local processes (1 = inline).")] = None,
    ray_address: Annotated[str | None, typer.Option(help="Ray cluster address ('local' to start one).")] = None,
    benchmark: Annotated[str, typer.Option(help="Benchmark symbol or OHLCV file; 'none' for none.")] = "BTC",
    param: ParamOption = None,
    bar_label: BarLabelOption = "open",
    out: Annotated[Path, typer.Option(help="Folder for search.json.")] = Path("reports/rl"),
    json: JsonOption = False,
) -> None:
    """Search the rebalancing interval (and, with --trials, PPO's settings) on the training part (``--json``:
    search.json's document and its path)."""
    with _one_line_errors():
        from defipm.backtest.report import finite_json
        from defipm.rl.evaluation import benchmark_for
        from defipm.rl.extra import require_rl
        from defipm.rl.search import frequency_search
        from defipm.rl.split import usable_span

        require_rl("defipm rl search")
        plan = _plan(param, name="search")
        panel, market = _load(data, _symbols(symbols), bar_label)
        specs = [s.strip() for s in grid.split(",")]
        whole = usable_span(market, plan.env.window, 1)
        spec = None if benchmark.strip().lower() == "none" else benchmark
        bench = benchmark_for(spec, panel, whole.start - plan.env.window, whole.stop, bar_label)
        result = _with_bar("frequency grid", lambda p: frequency_search(
            market, plan, specs, metric=metric, train_fraction=train_fraction, benchmark=bench, workers=workers,
            ray_address=ray_address, progress=p))  # fmt: skip
        tuning = _tune(market, plan, result.chosen.bars, train_fraction, trials, metric, bench)
        target = out / "search.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        found = finite_json({"frequency": result.to_dict(), "tuning": tuning})
        target.write_text(dumps(found, indent=2, allow_nan=False))
    if json:
        print_json(found | {"path": str(target)})
        return
    rows = [(f"{p.spec} train", p.train) for p in result.points if p.error is None]
    rows += [(f"{p.spec} test", p.test) for p in result.points if p.error is None]
    console.print(_figures_table(f"chosen on the training part by {metric}: {result.chosen.spec}", rows))
    for p in result.points:
        if p.error is not None:
            console.print(f"  {p.spec}: {escape(p.error)}", highlight=False, soft_wrap=True)
    if tuning:
        console.print(f"best PPO settings (validation {metric} {tuning['best_score']:.3f}): {tuning['best']}")
    console.print(f"search results: {target}", highlight=False)


def _tune(
    market: MarketArrays,
    plan: TrainingPlan,
    bars: int | None,
    fraction: float,
    trials: int,
    metric: str,
    bench: Benchmark | None,
) -> dict[str, Any] | None:
    if not trials or bars is None:
        return None
    from defipm.rl.split import chronological_split
    from defipm.rl.tuning import tune

    plan = plan.model_copy(update={"env": plan.env.model_copy(update={"rebalance_every": bars})})
    split = chronological_split(market, plan.env.window, bars, fraction)
    found = _with_bar("optuna trials", lambda p: tune(
        market, split.train, plan, trials=trials, metric=metric, benchmark=bench, progress=p))  # fmt: skip
    return {"best": found.best, "best_score": found.best_score, "trials": found.trials}


@app.command()
def models(
    model: Annotated[str | None, typer.Argument(help="Show one model's card (name or name@version).")] = None,
    registry: RegistryOption = DEFAULT_REGISTRY,
    json: JsonOption = False,
) -> None:
    """List the models of the registry's folder, or show one card (``--json``: the cards, or the one card)."""
    with _one_line_errors():
        from defipm.rl.registry import ModelRegistry

        if model is not None:
            card = ModelRegistry(registry).card(model)
            if json:
                print_json(_card_record(card))
            else:
                console.print_json(card.model_dump_json())
            return
        cards = ModelRegistry(registry).cards()
    if json:
        print_json([_card_record(c) for c in cards])
        return
    console.print(models_table(cards, f"models in {registry}"))


def models_table(cards: list[ModelCard], title: str) -> Table:
    """One row per model card: its bar interval and rebalancing interval in the duration grammar (``1d``,
    ``48h``), the data's span and the test part's return and Sortino ratio."""
    from defipm.core.schedule import spell_duration

    table = Table(title=title)
    for col in ("model", "created", "symbols", "bars", "window", "every", "data", "test return", "test Sortino"):
        table.add_column(col, overflow="fold")
    for c in cards:
        test = c.test_figures
        table.add_row(
            c.ref, f"{c.created_at:%Y-%m-%d %H:%M}", ",".join(c.symbols), spell_duration(c.interval),
            f"{c.env.window} bars", spell_duration(c.interval * c.env.rebalance_every),
            f"{c.data.start:%Y-%m-%d}..{c.data.end:%Y-%m-%d}",
            _fmt(test.get("total_return"), "{:+.2%}"), _fmt(test.get("sortino"), "{:.3f}"),
        )  # fmt: skip
    return table


def _card_record(card: ModelCard) -> Any:
    """A model card as plain JSON data (its own serialisation: times in ISO 8601, figures with NaN as null)."""
    from json import loads

    return loads(card.model_dump_json())


def _fmt(value: Any, pattern: str) -> str:
    return "n/a" if value is None else pattern.format(value)
