"""The Hyperliquid package keeps the house's size rule: no function over 60 lines (a reader sees each whole)."""

from __future__ import annotations

import ast
from pathlib import Path

import defipm.venues.hyperliquid as package

MAX_LINES = 60


def test_no_function_in_the_hyperliquid_package_is_over_60_lines():
    root = Path(package.__file__).parent
    long = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_LINES:
                    long.append(f"{path.relative_to(root)}:{node.lineno} {node.name} ({lines} lines)")
    assert not long, long


def test_the_transfers_do_not_know_the_venue():
    """``flows.py`` works on the narrow ``UsdcAccount`` protocol: no import of the venue (no import cycle)."""
    tree = ast.parse((Path(package.__file__).parent / "flows.py").read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "defipm.venues.hyperliquid.venue" not in imported
