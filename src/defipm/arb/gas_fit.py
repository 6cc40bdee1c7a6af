"""Gas measured on the local chain, and the gas models fitted to it.

``measure_gas(arb_world, flash_loan)`` executes every mispriced scenario of ``defipm.arb.local_world`` (2 to 5
hops, V2 and V3 mixed) with the flash-loan or the capital engine, each inside an anvil snapshot, and returns
``(hop kinds, flash_loan, gas used)`` samples; ``GasModel.fit`` turns them into per-hop costs. The fitted values
are kept as constants in ``defipm.arb.costs`` (``FLASH_GAS_MODEL``, ``CAPITAL_GAS_MODEL``); a chain test
re-measures them and checks the constants still predict the measured gas within a tolerance, and
``benchmarks/bench_arb_gas.py`` prints a fresh fit.
"""

from __future__ import annotations

from collections.abc import Sequence

from defipm.arb.chain_pools import ChainPoolReader
from defipm.arb.execution.capital import CapitalEngine
from defipm.arb.execution.flash import FlashLoanEngine
from defipm.arb.local_world import SCENARIOS, ArbLocalWorld
from defipm.arb.opportunity import CostModel
from defipm.arb.runner import ArbRunner
from defipm.core.errors import DefipmError

__all__ = ["GasSample", "measure_gas"]

GasSample = tuple[tuple[str, ...], bool, int]
"""(hop kinds, used a flash loan, gas used by the whole execution)."""


def measure_gas(arb: ArbLocalWorld, flash_loan: bool, scenarios: Sequence[str] = SCENARIOS) -> list[GasSample]:
    """Execute each scenario once with the chosen engine (world reverted after each) and collect its gas."""
    world = arb.world
    samples: list[GasSample] = []
    # one second per block, so every V2 swap updates its price accumulators (gas independent of wall-clock time)
    world.node.rpc("anvil_setBlockTimestampInterval", 1)
    try:
        for name in scenarios:
            samples.append(_measure(arb, name, flash_loan))
    finally:
        world.node.rpc("anvil_removeBlockTimestampInterval")
    return samples


def _measure(arb: ArbLocalWorld, name: str, flash_loan: bool) -> GasSample:
    world = arb.world
    dep = world.deployment
    snap = arb.snapshot()
    try:
        scenario = arb.scenario(name)
        if flash_loan:
            engine: FlashLoanEngine | CapitalEngine = FlashLoanEngine(arb.sender, arb.executor)
        else:
            arb.fund_wallet(100 * 10**18)
            capital = CapitalEngine(arb.sender, dep.v2_router, dep.swap_router)
            capital.approve([arb.address(s) for s in ["WETH", *dep.tokens]])
            engine = capital
        runner = ArbRunner(
            ChainPoolReader(world.w3, scenario.pools),
            engine,
            native=arb.address("WETH"),
            max_len=scenario.length,
            costs=CostModel.for_engine(flash_loan),
        )
        report = runner.step()
        execution = report.execution
        if execution is None or not execution.success or report.decision is None:
            why = execution.reason if execution else report.decision.reason if report.decision else "none found"
            raise DefipmError(f"gas measurement of scenario {name} did not execute: {why}")
        assert report.decision.opportunity is not None
        return (report.decision.opportunity.kinds, flash_loan, execution.gas_used)
    finally:
        arb.revert(snap)
