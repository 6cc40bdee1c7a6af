"""Gas of arbitrage executions on the local chain (2..5 hops, flash loan and capital) and the fitted gas models.

    python benchmarks/bench_arb_gas.py [--json]     (``--quick`` is accepted and changes nothing: the chain sets the pace)

Prints every measured execution, the least-squares fit (``GasModel.fit``) and the constants kept in
``defipm.arb.costs`` with their error on each sample. Needs anvil and the npm packages (``npm install``).
"""

from __future__ import annotations

import sys

from figures import Figure, arguments, report

from defipm.arb.costs import CAPITAL_GAS_MODEL, FLASH_GAS_MODEL, GasModel
from defipm.arb.gas_fit import measure_gas
from defipm.arb.local_world import ArbLocalWorld
from defipm.chain.local import LocalUniswap

MODEL_ERROR_TARGET = {True: 5.0, False: 15.0}
"""Largest model error (percent of measured gas) the constants claim: flash loan 5%, capital 15%."""


def main() -> int:
    args = arguments(__doc__.splitlines()[0]).parse_args()
    figures = []
    with LocalUniswap.start() as world:
        arb = ArbLocalWorld.setup(world)
        for flash, constant in ((True, FLASH_GAS_MODEL), (False, CAPITAL_GAS_MODEL)):
            samples = measure_gas(arb, flash)
            fitted = GasModel.fit(samples)
            engine = "flash loan" if flash else "capital"
            if not args.json:
                print(f"\n{engine}: fitted {fitted}")
                print(f"  constant {constant}")
            worst = 0.0
            for kinds, f, gas in samples:
                predicted = constant.estimate(kinds, f)
                worst = max(worst, abs(predicted - gas) / gas * 100)
                if not args.json:
                    print(
                        f"  {'-'.join(kinds):<20} measured {gas:>9,}  model {predicted:>9,}  "
                        f"{(predicted - gas) / gas:+.1%}"
                    )
            figures.append(Figure(f"{engine} gas model, largest error", worst, "%", MODEL_ERROR_TARGET[flash]))
    report("arbitrage gas", figures, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
