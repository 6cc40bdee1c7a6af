"""The gas models kept as constants still match gas measured on the local chain (2..5 hops, both engines)."""

from __future__ import annotations

import pytest

from defipm.arb.costs import CAPITAL_GAS_MODEL, FLASH_GAS_MODEL, GasModel
from defipm.arb.gas_fit import measure_gas
from defipm.arb.local_world import ArbLocalWorld

pytestmark = pytest.mark.chain


@pytest.mark.parametrize(
    ("flash_loan", "constant", "tolerance"), [(True, FLASH_GAS_MODEL, 0.06), (False, CAPITAL_GAS_MODEL, 0.16)]
)
def test_fitted_gas_constants_match_a_fresh_measurement(
    arb: ArbLocalWorld, flash_loan: bool, constant: GasModel, tolerance: float
) -> None:
    samples = measure_gas(arb, flash_loan)
    assert sorted(len(kinds) for kinds, _, _ in samples) == [2, 2, 3, 3, 4, 5]
    for kinds, flash, gas in samples:
        predicted = constant.estimate(kinds, flash)
        assert abs(predicted - gas) <= tolerance * gas, (kinds, gas, predicted)
    refit = GasModel.fit(samples)
    for kind in ("v2", "v3"):
        assert refit.per_hop[kind] == pytest.approx(constant.per_hop[kind], rel=0.02)
    assert refit.base == pytest.approx(constant.base, rel=0.02, abs=2_000)
