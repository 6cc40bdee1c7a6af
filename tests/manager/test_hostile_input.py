"""Hostile input at the loop's boundaries (issue 12.4): a price feed answering anything, an oracle answering anything.
A bad price skips that cycle with a reason (FAILED, nothing sent); bad weights are one ``InvalidWeightsError``
naming them; nothing else ever comes out of ``manage_portfolio``."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from defipm import CycleStatus, InvalidWeightsError, PaperVenue, PortfolioManager, StaticOracle
from defipm.oracles.base import Oracle

PRICES = {"BTC": 40_000.0, "ETH": 2_000.0}
anything = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.integers(-(10**400), 10**400),
    st.booleans(),
    st.none(),
    st.text(max_size=4),
    st.lists(st.floats(), max_size=2),
)


def usable(p: object) -> bool:
    if isinstance(p, bool) or not isinstance(p, int | float | Decimal):
        return False
    if isinstance(p, Decimal):
        return p.is_finite() and p > 0
    return 0 < p < float("inf")


class ScriptedFeed:
    label = "scripted feed"

    def __init__(self) -> None:
        self.prices: dict[str, Any] = dict(PRICES)

    def __call__(self) -> tuple[datetime, dict[str, Any], None]:
        return datetime.now(UTC), self.prices, None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bad=st.dictionaries(st.sampled_from(["BTC", "ETH"]), anything, min_size=1))
def test_any_single_bad_price_skips_the_cycle_with_a_reason(bad):
    feed = ScriptedFeed()
    venue = PaperVenue(initial_cash=Decimal(10_000), feed=feed, max_price_age=60)
    m = PortfolioManager(StaticOracle({"BTC": 0.5, "ETH": 0.3}), venue)
    assert m.manage_portfolio().ok
    held = venue.get_positions()
    feed.prices = {**PRICES, **bad}
    report = m.manage_portfolio()  # never raises
    if not all(map(usable, bad.values())):
        assert report.status is CycleStatus.FAILED and "refused" in report.error
        assert any(f"{s}=" in report.error for s in bad)
        assert venue.get_positions() == held
    feed.prices = dict(PRICES)
    assert m.manage_portfolio().status is not CycleStatus.FAILED  # the next good price trades again


class Anything(Oracle):
    name = "anything"

    def __init__(self, answer: object) -> None:
        super().__init__()
        self.answer = answer

    def fetch_portfolio_weights(self, timestamp, universe):  # type: ignore[no-untyped-def]
        return self.answer


@settings(max_examples=150, deadline=None)
@given(
    answer=st.one_of(
        st.dictionaries(st.one_of(st.sampled_from(["BTC", "ETH", "", "XYZ"]), st.integers()), anything, max_size=3),
        anything,
    )
)
def test_any_oracle_answer_is_traded_or_refused_by_name(answer):
    venue = PaperVenue(initial_cash=Decimal(10_000))
    venue.update_market(datetime(2024, 1, 1, tzinfo=UTC), PRICES)
    m = PortfolioManager(Anything(answer), venue)
    try:
        report = m.manage_portfolio(datetime(2024, 1, 1, tzinfo=UTC))
    except InvalidWeightsError as exc:
        assert exc.problems and venue.get_positions() == {}
        return
    assert report.status is CycleStatus.TRADED


def test_defipm_run_survives_a_bad_price_by_skipping_that_cycle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from defipm.cli import app
    from defipm.data.feeds import SyntheticFeed

    real = SyntheticFeed.__call__
    calls = {"n": 0}

    def flaky(self):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        ts, prices, volumes = real(self)
        if calls["n"] == 2:  # the second cycle's quotes carry a null
            prices = {**prices, "SYN001": None}
        return ts, prices, volumes

    monkeypatch.setattr(SyntheticFeed, "__call__", flaky)
    cfg = tmp_path / "defipm.toml"
    cfg.write_text(
        f'run = "flaky"\ndatabase = "sqlite:///{tmp_path / "db.sqlite"}"\n'
        '[oracle]\nkind = "static"\n[oracle.params]\nweights = { SYN000 = 0.4, SYN001 = 0.3 }\n'
        '[venue]\nkind = "paper"\n[market]\nn_assets = 3\n'
    )
    result = CliRunner().invoke(app, ["run", "-c", str(cfg), "--every", "0.01s", "--max-cycles", "3"])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "stopped after 3 cycle(s)" in flat
    assert "SYN001=missing" in flat and "None" not in flat and "failed" in flat
    from defipm import Store

    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    statuses = [c.status for c in reversed(store.recent_cycles("flaky"))]
    store.close()
    assert statuses == ["traded", "failed", "traded"]
