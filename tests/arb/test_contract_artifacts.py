"""The shipped ArbExecutor / MockAaveV3Pool artifacts are what the sources compile to, and the contracts refuse
callers they do not trust."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from defipm.arb.execution.contracts import CONTRACT_NAMES, CONTRACTS_DIR, bind, load
from defipm.arb.local_world import ArbLocalWorld
from defipm.chain.artifacts import find_node_modules, to_checksum
from defipm.chain.errors import ChainError

pytestmark = pytest.mark.chain


def test_recompiling_the_sources_gives_the_shipped_bytecode(tmp_path: Path) -> None:
    node = shutil.which("node")
    try:
        modules = find_node_modules()
    except ChainError:
        modules = None
    if node is None or modules is None or not (modules / "solc").is_dir():
        if os.environ.get("DEFIPM_REQUIRE_CHAIN"):
            pytest.fail("node and node_modules/solc are needed to recompile the contracts")
        pytest.skip("node or the npm solc package is missing")
    subprocess.run(
        [node, str(CONTRACTS_DIR / "compile.js"), str(tmp_path)], cwd=modules.parent, check=True, capture_output=True
    )
    for name in CONTRACT_NAMES:
        fresh = json.loads((tmp_path / f"{name}.json").read_text())
        assert fresh["bytecode"] == load(name).bytecode, f"{name}.json is stale: run npm run build:contracts"
        assert fresh["abi"] == load(name).abi


def test_executor_refuses_untrusted_callers(arb: ArbLocalWorld) -> None:
    from web3.exceptions import ContractLogicError

    executor = bind(arb.sender, "ArbExecutor", arb.executor)
    stranger = {"from": arb.world.wallets[3].address}
    weth = to_checksum(arb.address("WETH"))
    with pytest.raises(ContractLogicError, match="not owner"):
        executor.functions.execute(weth, 10**18, [], 0).call(stranger)
    with pytest.raises(ContractLogicError, match="untrusted flash loan"):
        executor.functions.executeOperation(weth, 1, 0, to_checksum(arb.executor), b"").call(stranger)
    with pytest.raises(ContractLogicError, match="unexpected callback"):
        executor.functions.uniswapV3SwapCallback(1, 0, b"").call(stranger)
    lender = bind(arb.sender, "MockAaveV3Pool", arb.lender)
    assert lender.functions.FLASHLOAN_PREMIUM_TOTAL().call() == 5
