"""Shared inputs of the CLI tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def static_paper_config(tmp_path: Path) -> Path:
    """A paper portfolio on the synthetic market with static weights: a long, a short and a target under one
    size step (skipped), a fee, a no-trade band and a cost reserve; its database in ``tmp_path``."""
    path = tmp_path / "defipm.toml"
    path.write_text(f"""
run = "cli"
database = "sqlite:///{tmp_path / "db.sqlite"}"
[oracle]
kind = "static"
[oracle.params]
weights = {{ SYN000 = 0.4, SYN001 = -0.3, SYN002 = 0.0005 }}
[venue]
kind = "paper"
[venue.params]
initial_cash = 10000
taker_fee = 0.001
[planner]
no_trade_band = 0.002
cost_reserve_bps = 10
""")
    return path
