"""The deployment record ``defipm chain up`` writes (``defipm-chain.json`` in the folder it runs in), and the
Uniswap venue settings read back from it (``[venue.params] deployment = "defipm-chain.json"``).

Shape (JSON object): ``rpc_url``, ``chain_id``, ``addresses`` (label -> address, every contract, for people),
``accounts`` (funded test accounts), and ``uniswap_v3``: ``tokens`` (symbol -> address, WETH included),
``factory``, ``swap_router``, ``quoter_v2`` (for the venue config).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from defipm.chain.deploy import UniswapDeployment

DEPLOYMENT_FILE = "defipm-chain.json"
"""Where ``defipm chain up`` records its deployment by default (in the current folder)."""

_VENUE_KEYS = ("tokens", "factory", "swap_router", "quoter_v2")


def deployment_record(rpc_url: str, deployment: UniswapDeployment, accounts: list[str]) -> dict[str, Any]:
    """The JSON object written for ``deployment`` served at ``rpc_url``."""
    tokens = {deployment.weth.symbol: deployment.weth.address}
    tokens.update({s: t.address for s, t in deployment.tokens.items()})
    return {
        "rpc_url": rpc_url,
        "chain_id": deployment.chain_id,
        "addresses": dict(deployment.describe()),
        "accounts": accounts,
        "uniswap_v3": {"tokens": tokens, "factory": deployment.v3_factory, "swap_router": deployment.swap_router,
                       "quoter_v2": deployment.quoter_v2},
    }  # fmt: skip


def uniswap_settings(path: Path) -> dict[str, Any]:
    """``rpc_url``, ``chain_id``, ``tokens``, ``factory``, ``swap_router``, ``quoter_v2`` from the record at
    ``path``. Raises ValueError naming the file and the fix (start ``defipm chain up`` in that folder)."""
    hint = f"start `defipm chain up` in {path.parent.resolve()} (it writes {path.name}) and keep it running"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"deployment file {path} not found: {hint}") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"deployment file {path} unreadable ({type(exc).__name__}): {hint}") from None
    v3 = data.get("uniswap_v3") if isinstance(data, dict) else None
    if not isinstance(v3, dict) or any(k not in v3 for k in _VENUE_KEYS) or "rpc_url" not in data:
        raise ValueError(f"deployment file {path} lacks rpc_url or uniswap_v3 {list(_VENUE_KEYS)}: {hint}")
    return {"rpc_url": data["rpc_url"], "chain_id": data.get("chain_id"), **{k: v3[k] for k in _VENUE_KEYS}}
