"""The rules of the house in ``docs/ARCHITECTURE.md``, checked on the source: which package may import which, and
no function over 60 lines outside the documented hot path.

Every ``import`` of a ``defipm`` module counts, wherever it stands (module level, inside a function, under
``TYPE_CHECKING``): a deferred import is still a dependency.
"""

from __future__ import annotations

import ast
import fnmatch
import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "defipm"

ONLY, NEVER = "only", "never"
VENUES = "defipm.venues.*"
"""Stands for each venue package (``defipm.venues.paper``, ...); as a target, for every *other* venue package."""

IMPORT_RULES: dict[str, tuple[str, frozenset[str]]] = {
    # the ground floor: pure, no I/O
    "defipm.core": (ONLY, frozenset({"defipm.core"})),
    "defipm.amm": (ONLY, frozenset({"defipm.amm", "defipm.core.errors"})),
    # infrastructure the adapters may use, never the other way round
    "defipm.store": (ONLY, frozenset({"defipm.store", "defipm.core"})),
    "defipm.data": (NEVER, frozenset({"defipm.oracles", "defipm.venues", "defipm.manager", "defipm.backtest"})),
    "defipm.chain": (NEVER, frozenset({"defipm.oracles", "defipm.venues", "defipm.manager", "defipm.arb"})),
    "defipm.classify": (NEVER, frozenset({"defipm.venues", "defipm.manager", "defipm.backtest"})),
    # adapters never import each other (a venue does not import an oracle) nor the loop that drives them
    "defipm.oracles": (NEVER, frozenset({"defipm.venues", "defipm.manager", "defipm.journal", "defipm.backtest"})),
    VENUES: (NEVER, frozenset({VENUES, "defipm.oracles", "defipm.manager", "defipm.backtest"})),
    # the arbitrage engine has no arrow back up into the portfolio loop
    "defipm.arb": (NEVER, frozenset({"defipm.manager", "defipm.oracles", "defipm.venues"})),
    # network plumbing without trading logic
    "defipm.transport": (ONLY, frozenset({"defipm.transport", "defipm.core"})),
    # the service reads the store and never trades: no venue, oracle, chain or backtest
    "defipm.service": (
        NEVER,
        frozenset({"defipm.venues", "defipm.oracles", "defipm.chain", "defipm.backtest", "defipm.assembly"}),
    ),
}
"""Package -> ("only", what it may import) or ("never", what it must not import), as prefixes of module names."""


def _module(path: Path) -> str:
    return ".".join(path.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module.startswith("defipm"):
            yield node.lineno, node.module
        elif isinstance(node, ast.Import):
            yield from ((node.lineno, a.name) for a in node.names if a.name.startswith("defipm"))


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _venue_package(module: str) -> str | None:
    parts = module.split(".")
    return ".".join(parts[:3]) if len(parts) > 2 and parts[1] == "venues" and parts[2] != "base" else None


def _rule_for(module: str) -> tuple[str, str, frozenset[str]] | None:
    """(the package the rule is for, its kind, its prefixes) with ``VENUES`` resolved for ``module``."""
    venue = _venue_package(module)
    for package, (kind, targets) in IMPORT_RULES.items():
        owner = venue if package == VENUES else package
        if owner is not None and _within(module, owner):
            return owner, kind, targets
    return None


def _breaks(owner: str, kind: str, targets: frozenset[str], imported: str) -> bool:
    if kind == ONLY:
        return not any(_within(imported, t) for t in targets)
    for target in targets:
        if target == VENUES:
            other = _venue_package(imported)
            if other is not None and other != owner:
                return True
        elif _within(imported, target):
            return True
    return False


def test_the_rules_table_names_real_packages():
    for package in IMPORT_RULES:
        if package not in (VENUES, "defipm.service"):  # the service package is being built on another branch
            assert (SRC / package.replace(".", "/")).is_dir(), package


def test_no_import_breaks_the_rules_of_the_house():
    broken = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module(path)
        rule = _rule_for(module)
        if rule is None:
            continue
        for line, imported in _imports(path):
            if _breaks(*rule, imported):
                broken.append(
                    f"{path.relative_to(SRC)}:{line} imports {imported} ({rule[0]}: {rule[1]} {sorted(rule[2])})"
                )
    assert not broken, "\n".join(broken)


def test_the_import_check_catches_each_kind_of_break():
    assert _breaks(*_rule_for("defipm.core.planner"), "defipm.venues.base")  # type: ignore[misc]
    assert _breaks(*_rule_for("defipm.amm.v2"), "defipm.core.orders")  # type: ignore[misc]
    assert not _breaks(*_rule_for("defipm.amm.v2"), "defipm.core.errors")  # type: ignore[misc]
    assert _breaks(*_rule_for("defipm.venues.paper.venue"), "defipm.venues.hyperliquid.rules")  # type: ignore[misc]
    assert not _breaks(*_rule_for("defipm.venues.paper.venue"), "defipm.venues.paper.book")  # type: ignore[misc]
    assert not _breaks(*_rule_for("defipm.venues.uniswap.venue"), "defipm.venues.base")  # type: ignore[misc]
    assert _breaks(*_rule_for("defipm.venues.uniswap.venue"), "defipm.oracles.base")  # type: ignore[misc]
    assert _breaks(*_rule_for("defipm.arb.runner"), "defipm.manager")  # type: ignore[misc]
    assert _breaks(*_rule_for("defipm.service.app"), "defipm.venues.paper.venue")  # type: ignore[misc]
    assert not _breaks(*_rule_for("defipm.service.app"), "defipm.store.models")  # type: ignore[misc]


# -- function length ------------------------------------------------------------------------------------------
MAX_LINES = 60
HOT_PATH = {
    "defipm/core/planner.py:plan_rebalance": "runs for every symbol at every rebalance of a backtest: two passes "
    "over locals, no call per symbol (ARCHITECTURE.md, 'The hot path is written for speed')",
}
"""Functions allowed over ``MAX_LINES``, each with why (documented in ARCHITECTURE.md); keep it short."""
FIXED_RECORDS = {
    "defipm/store/migrations/versions/*": "a migration is the record of one schema change: rewriting a released "
    "one to split it would change history, not code",
}
PENDING_OWNERS = {
    "defipm/venues/hyperliquid/sim/engine.py:Engine._place",
    "defipm/venues/paper/venue.py:PaperVenue._fill",
}
"""TEMPORARY: long functions in parts other branches are changing now (p2-edges: arb, chain, the backtest report;
p2-hl: Hyperliquid, still open; p3-speedbt: the paper venue's fill, 63 lines once its refusals print plain amounts). Their owners split them; the integrator empties this set when the branches merge."""


def _functions(path: Path) -> Iterator[tuple[str, int]]:
    """(qualified name, lines from ``def`` to the last line) of every function in ``path``."""

    def walk(node: ast.AST, prefix: str) -> Iterator[tuple[str, int]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                yield f"{prefix}{child.name}", (child.end_lineno or child.lineno) - child.lineno + 1
                yield from walk(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                yield from walk(child, f"{prefix}{child.name}.")
            else:
                yield from walk(child, prefix)

    yield from walk(ast.parse(path.read_text(), str(path)), "")


@functools.cache
def _long_functions() -> dict[str, int]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        where = str(path.relative_to(SRC))
        if any(fnmatch.fnmatch(where, pattern) for pattern in FIXED_RECORDS):
            continue
        for name, lines in _functions(path):
            if lines > MAX_LINES:
                out[f"{where}:{name}"] = lines
    return out


def test_no_function_is_over_60_lines_outside_the_hot_path():
    long = _long_functions()
    unexplained = {f: n for f, n in long.items() if f not in HOT_PATH and f not in PENDING_OWNERS}
    assert not unexplained, f"functions over {MAX_LINES} lines: {unexplained} (split them, or justify a hot path)"


@pytest.mark.parametrize("allowed", sorted(set(HOT_PATH) | PENDING_OWNERS))
def test_every_allowance_is_still_needed(allowed):
    """An allowance outlives its function's length by no commit: a function split (or gone) leaves the list."""
    assert allowed in _long_functions(), f"{allowed} is no longer over {MAX_LINES} lines: remove it from the list"
