"""Gas of arbitrage executions on the local chain (2..5 hops, flash loan and capital) and the fitted gas models.

    .venv/bin/python benchmarks/bench_arb_gas.py

Prints every measured execution, the least-squares fit (``GasModel.fit``) and the constants kept in
``defipm.arb.costs`` with their error on each sample. Needs anvil and the npm packages (``npm install``).
"""

from __future__ import annotations

from defipm.arb.costs import CAPITAL_GAS_MODEL, FLASH_GAS_MODEL, GasModel
from defipm.arb.gas_fit import measure_gas
from defipm.arb.local_world import ArbLocalWorld
from defipm.chain.local import LocalUniswap


def main() -> None:
    with LocalUniswap.start() as world:
        arb = ArbLocalWorld.setup(world)
        for flash, constant in ((True, FLASH_GAS_MODEL), (False, CAPITAL_GAS_MODEL)):
            samples = measure_gas(arb, flash)
            fitted = GasModel.fit(samples)
            print(f"\n{'flash loan' if flash else 'capital'}: fitted {fitted}")
            print(f"  constant {constant}")
            for kinds, f, gas in samples:
                predicted = constant.estimate(kinds, f)
                print(
                    f"  {'-'.join(kinds):<20} measured {gas:>9,}  model {predicted:>9,}  {(predicted - gas) / gas:+.1%}"
                )


if __name__ == "__main__":
    main()
