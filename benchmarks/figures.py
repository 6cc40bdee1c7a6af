"""What every benchmark script reports, and how: named figures against their targets, as text or one JSON line.

A script collects ``Figure`` rows and ends with ``report(name, figures, args.json)``. With ``--json`` it prints one
line ``{"benchmark": name, "figures": [...]}`` (the last line of its output) for ``benchmarks/run_all`` to read;
without, an aligned table. ``paired`` times several callables in turns (warm, same conditions for each round)
and returns the per-callable medians and the median of the per-round ratios against the first: the way every
ratio here is taken, because the machine's load moves between rounds, not within one.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

__all__ = ["Figure", "arguments", "paired", "report"]


@dataclass(frozen=True)
class Figure:
    """One measured number. ``target`` is the goal in the same unit; ``higher_is_better`` says which side wins."""

    name: str
    value: float
    unit: str
    target: float | None = None
    higher_is_better: bool = False

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.value >= self.target if self.higher_is_better else self.value <= self.target


def arguments(description: str) -> argparse.ArgumentParser:
    """The common flags: ``--quick`` (a small size that runs in seconds) and ``--json`` (machine-readable)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="small size and few repeats (for run_all and CI)")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the figures")
    return parser


def paired(fns: Sequence[Callable[[], object]], repeats: int) -> tuple[list[float], list[float]]:
    """Run ``fns`` in turn ``repeats`` times after one warm-up each.

    Returns (median seconds of each fn, median over rounds of ``time(fn_i) / time(fn_0)`` for each fn).
    """
    for fn in fns:
        fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t = time.perf_counter()
            fn()
            times[i].append(time.perf_counter() - t)
    medians = [statistics.median(ts) for ts in times]
    ratios = [statistics.median(a / b for a, b in zip(ts, times[0], strict=True)) for ts in times]
    return medians, ratios


def report(benchmark: str, figures: Sequence[Figure], as_json: bool) -> None:
    """Print the figures: a table, or one JSON line when ``as_json``."""
    if as_json:
        rows = [{**asdict(f), "met": f.met} for f in figures]
        print(json.dumps({"benchmark": benchmark, "figures": rows}))
        return
    print(f"\n{benchmark}:")
    for f in figures:
        target = "" if f.target is None else f" (target {'>=' if f.higher_is_better else '<='} {f.target:g} {f.unit})"
        verdict = {True: "  ok", False: "  MISSED", None: ""}[f.met]
        print(f"  {f.name}: {f.value:.4g} {f.unit}{target}{verdict}")
