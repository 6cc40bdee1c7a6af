"""Compiled contract artifacts (ABI + creation bytecode) from the Uniswap npm packages and defipm's own contracts.

The Uniswap artifacts come from ``node_modules`` (``npm install`` in the repository root installs
``@uniswap/v2-core``, ``v2-periphery``, ``v3-core``, ``v3-periphery``, ``swap-router-contracts``). ``node_modules`` is found from
``DEFIPM_NODE_MODULES``, else by walking up from the current directory and from this package. defipm's own test
token (``TestERC20``) ships compiled beside this module (``contracts/``; rebuild with ``node contracts/compile.js``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from defipm.chain.errors import ChainError

if TYPE_CHECKING:
    from eth_typing import ChecksumAddress

_V3_CORE = "@uniswap/v3-core/artifacts/contracts"
_V3_PERIPHERY = "@uniswap/v3-periphery/artifacts/contracts"

ARTIFACT_PATHS: dict[str, str] = {
    "UniswapV3Factory": f"{_V3_CORE}/UniswapV3Factory.sol/UniswapV3Factory.json",
    "UniswapV3Pool": f"{_V3_CORE}/UniswapV3Pool.sol/UniswapV3Pool.json",
    "NonfungiblePositionManager": (f"{_V3_PERIPHERY}/NonfungiblePositionManager.sol/NonfungiblePositionManager.json"),
    "SwapRouter": f"{_V3_PERIPHERY}/SwapRouter.sol/SwapRouter.json",
    "SwapRouter02": "@uniswap/swap-router-contracts/artifacts/contracts/SwapRouter02.sol/SwapRouter02.json",
    "QuoterV2": f"{_V3_PERIPHERY}/lens/QuoterV2.sol/QuoterV2.json",
    "TickLens": f"{_V3_PERIPHERY}/lens/TickLens.sol/TickLens.json",
    "UniswapV2Factory": "@uniswap/v2-core/build/UniswapV2Factory.json",
    "UniswapV2Pair": "@uniswap/v2-core/build/UniswapV2Pair.json",
    "UniswapV2Router02": "@uniswap/v2-periphery/build/UniswapV2Router02.json",
    "WETH9": "@uniswap/v2-periphery/build/WETH9.json",
}
"""Artifact name -> path inside node_modules."""

BUNDLED_DIR = Path(__file__).parent / "contracts"
POOL_INIT_CODE_HASH = "0xe34f199b19b2b4f47f68442619d555527d244f78a3297ea89325f843f87b8b54"
"""Hardcoded in v3-periphery's PoolAddress library; the v3-core pool bytecode must hash to it."""
V2_PAIR_INIT_CODE_HASH = "0x96e8ac4277198ff8b6f785478aa9a39f403cb768dd02cbee326c3e7da348845f"
"""Hardcoded in v2-periphery's UniswapV2Library.pairFor."""


@dataclass(frozen=True, slots=True)
class Artifact:
    """A compiled contract: its name, ABI and creation bytecode (0x-prefixed hex, unlinked libraries refused)."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str


def find_node_modules() -> Path:
    """The ``node_modules`` directory holding the Uniswap packages; ChainError naming the fix when absent."""
    env = os.environ.get("DEFIPM_NODE_MODULES")
    candidates: list[Path] = [Path(env)] if env else []
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        candidates.extend(p / "node_modules" for p in (start, *start.parents))
    for path in candidates:
        if (path / "@uniswap" / "v3-core").is_dir():
            return path
    raise ChainError(
        "node_modules with @uniswap/v3-core not found (searched DEFIPM_NODE_MODULES, the current directory and "
        "this package's parents): run `npm install` in the defipm repository root"
    )


def _bytecode_of(raw: dict[str, Any]) -> str:
    code = raw.get("bytecode")
    if isinstance(code, dict):
        code = code.get("object")
    if not code and isinstance(raw.get("evm"), dict):
        code = raw["evm"]["bytecode"]["object"]
    if not isinstance(code, str) or not code:
        raise ChainError(f"artifact {raw.get('contractName', '?')} has no bytecode")
    return code if code.startswith("0x") else "0x" + code


@cache
def load_artifact(name: str) -> Artifact:
    """Load one artifact by name (a key of ``ARTIFACT_PATHS`` or a bundled contract such as ``TestERC20``)."""
    bundled = BUNDLED_DIR / f"{name}.json"
    if bundled.is_file():
        path = bundled
    elif name in ARTIFACT_PATHS:
        path = find_node_modules() / ARTIFACT_PATHS[name]
    else:
        known = ", ".join(sorted([*ARTIFACT_PATHS, *(p.stem for p in BUNDLED_DIR.glob("*.json"))]))
        raise ChainError(f"unknown artifact {name!r}; known: {known}")
    if not path.is_file() and name in ARTIFACT_PATHS:  # e.g. a node_modules installed before the package was added
        package = "/".join(ARTIFACT_PATHS[name].split("/")[:2])
        raise ChainError(
            f"artifact {name} not found: the npm package {package} is missing from {find_node_modules()}: run "
            "`npm install` in the defipm repository root"
        )
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ChainError(f"cannot read artifact {name} at {path}: {exc}") from exc
    abi = raw["abi"] if isinstance(raw["abi"], list) else json.loads(raw["abi"])
    bytecode = _bytecode_of(raw)
    if "__" in bytecode:
        raise ChainError(f"artifact {name} needs library linking, which defipm does not do")
    return Artifact(name=name, abi=abi, bytecode=bytecode)


def to_checksum(address: str) -> ChecksumAddress:
    """The EIP-55 checksummed form of a hex address."""
    from eth_utils import to_checksum_address

    return to_checksum_address(address)


def abi_of(name: str) -> list[dict[str, Any]]:
    """Just the ABI of an artifact."""
    return load_artifact(name).abi


def verify_init_code_hashes() -> None:
    """Check the pool bytecodes hash to the constants the periphery contracts hardcode (else routers break)."""
    from eth_utils import keccak

    for name, expected in (("UniswapV3Pool", POOL_INIT_CODE_HASH), ("UniswapV2Pair", V2_PAIR_INIT_CODE_HASH)):
        actual = "0x" + keccak(hexstr=load_artifact(name).bytecode).hex()
        if actual != expected:
            raise ChainError(f"{name} init code hash {actual} != {expected} hardcoded in the periphery")
