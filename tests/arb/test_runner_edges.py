"""Edges of the arbitrage loop found in review: the flash premium rounds up as Aave V3.4+ does, size limits apply
(per trade in native wei, per token whatever the address case), broken snapshot rows are skipped, a rebuilt scanner
and a falling gas price trigger a full scan, and an engine fault never stops the loop.
The pools are scripted here; tests/arb/test_chain_e2e.py and tests/arb/test_journal_chain.py run the engines on anvil."""

from __future__ import annotations

import pytest

from defipm.arb.execution.report import ExecutionReport
from defipm.arb.graph import PoolGraph
from defipm.arb.opportunity import Opportunity
from defipm.arb.pools import Token, V2Pool
from defipm.arb.risk import ArbRiskConfig, ArbRiskManager
from defipm.arb.runner import ArbRunner
from defipm.arb.scanner import Scanner
from defipm.arb.sizing import premium_of
from defipm.arb.snapshot import parse_rows
from defipm.testing.arb import ScriptedPoolReader

WETH = "0x" + "1" * 40
X = "0x" + "2" * 40
Y = "0x" + "3" * 40
Z = "0x" + "4" * 40
E18 = 10**18


def _addr(i: int) -> str:
    return "0x" + f"{0xA000 + i:040x}"


def _triangle() -> list[V2Pool]:
    """WETH -> X -> Y -> WETH priced 1:1:1 except Y/WETH, which pays ~5% too much WETH: a profitable cycle."""
    return [
        V2Pool(_addr(1), WETH, X, 1000 * E18, 1000 * E18),
        V2Pool(_addr(2), X, Y, 1000 * E18, 1000 * E18),
        V2Pool(_addr(3), WETH, Y, 1050 * E18, 1000 * E18),
    ]


TOKENS = {t: Token(t, s, 18) for t, s in ((WETH, "WETH"), (X, "X"), (Y, "Y"), (Z, "Z"))}


def scripted(rounds: list[tuple[int, list[V2Pool], list[str]]], gas_prices: tuple[int, ...] = ()) -> ScriptedPoolReader:
    """The runner's pools, block by block (``defipm.testing.arb``)."""
    return ScriptedPoolReader(rounds, TOKENS, gas_prices)


class FakeEngine:
    name = "flash"
    flash_loan = True
    sender = None

    def __init__(self) -> None:
        self.plans = []

    def execute(self, plan, log=None):
        self.plans.append(plan)
        return ExecutionReport(self.name, True, plan.expected_profit, 300_000, 300_000)


# --- the flash-loan premium rounds up (percentMulCeil) ----------------------------------------------------------


@pytest.mark.parametrize("amount", [1, 999, 2_001, 10**18 + 999])
def test_premium_rounds_up_like_aave_v3_flashloansimple(amount: int) -> None:
    # aave-v3-origin FlashLoanLogic.executeFlashLoanSimple: totalPremium = amount.percentMulCeil(premium)
    ceil = -(-amount * 5 // 10_000)
    assert premium_of(amount) == ceil


# --- the per-trade size limit, valued in native wei at the latest prices ----------------------------------------


def test_runner_enforces_max_trade_native() -> None:
    pools = _triangle()
    reader = scripted([(1, pools, []), (1, pools, [])])
    engine = FakeEngine()
    risk = ArbRiskManager(ArbRiskConfig(max_trade_native=E18))  # at most 1 WETH per trade
    runner = ArbRunner(reader, engine, native=WETH, risk=risk, gas_price_wei=10**9)  # type: ignore[arg-type]
    report = runner.step()
    assert report.opportunities and report.opportunities[0].amount_in > 5 * E18  # a trade far above the cap
    assert report.decision is not None
    assert not report.decision.approved, f"approved a {report.opportunities[0].amount_in / E18:.1f} WETH trade"
    assert engine.plans == []


# --- the per-token limit applies whatever the case of the address ---------------------------------------------


def _opp(start: str, amount: int) -> Opportunity:
    from datetime import UTC, datetime

    return Opportunity(
        edges=(0, 3),
        tokens=(start, "0xb", start),
        pools=("0xp", "0xq"),
        kinds=("v2", "v2"),
        amount_in=amount,
        amounts=(amount, 5, amount + 10**16),
        premium=0,
        gross_profit=10**16,
        gas_units=1,
        gas_cost=0,
        net_profit=10**16,
        net_profit_native=10**16,
        method="closed-form",
        detected_at=datetime.now(UTC),
        log_rate=0.01,
    )


def test_per_token_limit_applies_to_checksummed_address() -> None:
    weth_checksum = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
    risk = ArbRiskManager(ArbRiskConfig(max_trade_per_token={weth_checksum: E18}))
    # the engine's addresses are lower-case (pools, graph, opportunities)
    d = risk.check(_opp(weth_checksum.lower(), 100 * E18), lambda o: o)
    assert not d.approved, d.reason


# --- a V3 snapshot row with an impossible price is skipped, not a crash --------------------------------------


def test_v3_row_with_zero_sqrt_price_is_skipped_not_crashing() -> None:
    rows = [
        {
            "address": _addr(1),
            "token0": {"address": WETH, "decimal": 18},
            "token1": {"address": X, "decimal": 18},
            "reserve0": str(10 * E18),
            "reserve1": str(10 * E18),
        },
        {
            "address": _addr(2),
            "kind": "v3",
            "token0": {"address": WETH, "decimal": 18},
            "token1": {"address": X, "decimal": 18},
            "sqrt_price_x96": "0",
            "tick": "0",
            "liquidity": "1000",
            "fee": "3000",
            "tick_spacing": "60",
            "ticks": {},
        },
    ]
    load = parse_rows(rows)
    # either the loader skips the broken row with a reason, or the graph copes with it
    if len(load.pools) == 2:
        graph = PoolGraph(load.pools, load.tokens)
        Scanner(graph, 3).scan()
    else:
        assert load.skipped and load.skipped[0].row == 1


# --- after a re-quote rebuilds the graph, the next round scans every cycle -------------------------------------


def test_runner_rescans_after_requote_rebuild() -> None:
    tri = _triangle()
    q1 = V2Pool(_addr(4), WETH, Z, 100 * E18, 100 * E18)
    q2 = V2Pool(_addr(5), WETH, Z, 100 * E18, 100 * E18)
    reader = scripted(
        [
            (1, [*tri, q1], [q2.address]),  # block 1: q2's read times out
            (2, [*tri, q1, q2], []),  # re-quote at block 2: q2 is back -> graph rebuilt
            (3, [*tri, q1, q2], []),
            (4, [*tri, q1, q2], []),
        ]
    )
    engine = FakeEngine()
    runner = ArbRunner(reader, engine, native=WETH, gas_price_wei=10**9)  # type: ignore[arg-type]
    first = runner.step()
    assert first.opportunities  # the triangle is found at block 1
    assert first.decision is not None and not first.decision.approved  # "pool set changed": detect again
    for _ in range(3):
        runner.step()
    assert runner.scanner is not None and runner.graph is not None
    fresh = Scanner(
        runner.graph, runner.max_len, costs=runner.scanner.costs, prices=runner.prices, preferred_starts=runner.starts
    ).scan()
    assert fresh.opportunities, "a full rescan finds the triangle"
    assert runner.scanner.opportunities, "the runner's scanner lost the still-profitable triangle"
    assert engine.plans, "the still-profitable triangle was never traded again"


def test_an_engine_fault_is_recorded_as_a_failed_execution_and_counts_for_the_breaker() -> None:
    class Broken:
        name = "broken"
        flash_loan = True
        sender = None

        def execute(self, plan, log=None):  # type: ignore[no-untyped-def]
            raise RuntimeError("node went away mid-execution")

    reader = scripted([(1, _triangle(), [])])
    risk = ArbRiskManager(ArbRiskConfig(breaker_failures=1))
    runner = ArbRunner(reader, Broken(), native=WETH, risk=risk, gas_price_wei=10**9)  # type: ignore[arg-type]
    report = runner.step()
    assert report.execution is not None and not report.execution.success
    assert "a transaction may have been sent" in report.execution.reason
    assert risk.breaker_open()


# --- a falling gas price brings back the cycles a dearer one had dropped ---------------------------------------


def test_runner_reevaluates_cycles_when_gas_price_drops() -> None:
    # a small mispricing: worth trading at 1 gwei, not at 2000 gwei
    pools = [
        V2Pool(_addr(1), WETH, X, 1000 * E18, 1000 * E18),
        V2Pool(_addr(2), X, Y, 1000 * E18, 1000 * E18),
        V2Pool(_addr(3), WETH, Y, 1020 * E18, 1000 * E18),
    ]
    reader = scripted([(1, pools, []), (2, pools, []), (3, pools, [])], gas_prices=(2000 * 10**9, 10**9))
    engine = FakeEngine()
    runner = ArbRunner(reader, engine, native=WETH)  # type: ignore[arg-type]  # gas price asked every round
    first = runner.step()
    assert not first.opportunities  # too expensive at 2000 gwei
    second = runner.step()  # same pools, gas now 1 gwei
    assert runner.scanner is not None and runner.graph is not None
    fresh = Scanner(
        runner.graph, runner.max_len, costs=runner.scanner.costs, prices=runner.prices, preferred_starts=runner.starts
    ).scan()
    assert fresh.opportunities, "a full rescan at the current gas price finds the cycle"
    assert second.opportunities, "the runner kept the verdicts made at the old gas price"
