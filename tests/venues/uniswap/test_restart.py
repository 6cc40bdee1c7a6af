"""Restarts on the Uniswap venue: every swap carries its client order id in its calldata, so a fresh process finds
it on chain (mined, reverted or pending) and the journal never sends an intent twice.

The crash test runs ``PortfolioManager`` + ``SqlJournal`` (SQLite) + ``UniswapVenue`` in a subprocess that kills
itself with SIGKILL right after its k-th swap is mined, then restarts it on the same database and chain.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from web3 import Web3

from defipm.chain.artifacts import to_checksum
from defipm.chain.local import LocalUniswap
from defipm.core.journal import new_client_order_id
from defipm.core.orders import Order, OrderStatus, Side
from defipm.journal import SqlJournal
from defipm.store import Store
from defipm.testing.chain import ScriptedNode
from defipm.venues.uniswap import UniswapConfig, UniswapVenue
from defipm.venues.uniswap.client import Swap
from defipm.venues.uniswap.reconcile import SWAP_TAG_BYTES, cloid_tag

pytestmark = pytest.mark.chain

TRADER = 8


def _venue(
    world: LocalUniswap, wallet_index: int = TRADER, *, node: ScriptedNode | None = None, **overrides: object
) -> UniswapVenue:
    """A venue reading one tick-bitmap word around each pool's price (every position of the test world but the
    full-range one: quotes stay exact for these trade sizes, and connecting is fast); through ``node`` if given."""
    config = UniswapConfig.from_deployment(world.deployment, world.url, **{"tick_word_radius": 1, **overrides})
    w3 = Web3(node) if node is not None else world.w3
    venue = UniswapVenue(config, wallet=world.wallets[wallet_index], w3=w3)
    venue.connect()
    return venue


def _fresh(world: LocalUniswap) -> UniswapVenue:
    """A new venue object on the same wallet (a restarted process), for lookups only: no tick maps read."""
    return _venue(world, tick_word_radius=0)


def _tags_sent(world: LocalUniswap, sender: str, after_block: int) -> Counter[str]:
    """Independent count of the router calls ``sender`` made after ``after_block``, by their trailing 16 bytes."""
    router = to_checksum(world.deployment.swap_router)
    tags: Counter[str] = Counter()
    for number in range(after_block + 1, world.w3.eth.block_number + 1):
        for tx in world.w3.eth.get_block(number, full_transactions=True)["transactions"]:
            if tx["from"] == sender and tx["to"] == router:
                tags["0x" + bytes(tx["input"])[-SWAP_TAG_BYTES:].hex()] += 1
    return tags


def test_cloid_tag_is_the_cloid_itself() -> None:
    cloid = new_client_order_id()
    assert cloid_tag(cloid) == bytes.fromhex(cloid[2:]) and len(cloid_tag(cloid)) == SWAP_TAG_BYTES
    assert cloid_tag(cloid.upper().replace("0X", "0x")) == cloid_tag(cloid)
    assert len(cloid_tag("0x1")) == SWAP_TAG_BYTES and cloid_tag("0x1") != cloid_tag("0x2")  # other ids: hashed


def test_tagged_swap_executes_like_untagged_and_a_fresh_venue_finds_it(world: LocalUniswap) -> None:
    trader = world.wallets[TRADER]
    world.fund(trader, weth=5 * 10**18, tokens={"UNI": 3_000 * 10**18})
    venue = _venue(world)
    client = venue.client
    prices = venue.get_prices()
    orders = [
        Order("UNI", Side.SELL, Decimal(1_000), reference_price=prices["UNI"], client_order_id=new_client_order_id()),
        Order("LINK", Side.BUY, Decimal(100), reference_price=prices["LINK"], client_order_id=new_client_order_id()),
    ]
    start_block = world.w3.eth.block_number

    for order in orders:
        prepared = venue.prepare_swap(order)
        token_in = world.deployment.token(prepared.symbol_in).address
        token_out = world.deployment.token(prepared.symbol_out).address
        # the same swap without a tag, on a throwaway branch of the chain
        branch = world.snapshot()
        client.approve(token_in, venue.config.swap_router, prepared.amount_in)
        deadline = client.deadline(venue.config.deadline_secs)
        plain = client.exact_input_single(Swap(token_in, token_out, prepared.fee, prepared.amount_in,
                                               prepared.amount_out_minimum, deadline))  # fmt: skip
        world.revert(branch)
        client.sender.resync_nonce()

        result = venue.send_swap(prepared)
        assert result.status is OrderStatus.FILLED, result.error
        tagged = venue.executions[order.client_order_id or ""]
        assert (tagged.amount_in, tagged.amount_out) == (plain.amount_in, plain.amount_out)
        assert 0 < tagged.gas_used - plain.tx.gas_used <= 16 * SWAP_TAG_BYTES  # calldata gas of the tag only
        sent = world.w3.eth.get_transaction(tagged.tx_hash or "")
        assert bytes(sent["input"])[-SWAP_TAG_BYTES:] == cloid_tag(order.client_order_id or "")
        assert tagged.approval_gas_cost_wei > 0  # exact approvals: approval sent before each swap (untagged)

        # a new process: nothing in memory, found on chain with the same exact amounts and gas
        fresh = _fresh(world)
        found = fresh.lookup_order(order.client_order_id or "")
        assert found is not None and found.status is OrderStatus.FILLED
        assert found.order.symbol == order.symbol and found.order.side is order.side
        assert replace(found, order=result.order) == result  # fills (quantity, price), tx hash, network fee
        again = fresh.executions[order.client_order_id or ""]
        assert (again.amount_in, again.amount_out, again.gas_used, again.gas_cost_wei, again.approval_gas_cost_wei) == (
            tagged.amount_in, tagged.amount_out, tagged.gas_used, tagged.gas_cost_wei, tagged.approval_gas_cost_wei,
        )  # fmt: skip

    assert _tags_sent(world, trader.address, start_block) == Counter({o.client_order_id: 1 for o in orders})
    assert _fresh(world).lookup_order(new_client_order_id()) is None  # never sent

    # a node without past state (no nonce history): the scan reads every block of the window instead
    pruned = ScriptedNode(world.w3.provider).prune_state(keep_blocks=0)
    no_archive = _venue(world, node=pruned, tick_word_radius=0)
    found = no_archive.lookup_order(orders[0].client_order_id or "")
    assert found is not None and found.status is OrderStatus.FILLED
    latest = world.w3.eth.block_number
    window = latest - max(latest - no_archive.config.reconcile_lookback_blocks, -1)
    assert sum(method == "eth_getBlockByNumber" for method, _ in pruned.requests) >= window
    # the search is bounded: a swap older than reconcile_lookback_blocks is not looked for
    world.node.rpc("anvil_mine", 20)
    assert (
        _venue(world, tick_word_radius=0, reconcile_lookback_blocks=10).lookup_order(orders[0].client_order_id or "")
        is None
    )


def test_reverted_tagged_swap_is_found_as_rejected_with_its_gas(world: LocalUniswap) -> None:
    trader = world.wallets[TRADER]
    world.fund(trader, weth=5 * 10**18)
    venue = _venue(world, simulate_before_send=False)
    order = Order("UNI", Side.BUY, Decimal(100), reference_price=venue.get_prices()["UNI"],
                  client_order_id=new_client_order_id())  # fmt: skip
    prepared = replace(venue.prepare_swap(order), amount_out_minimum=(1 << 128))  # cannot be met: reverts on chain
    result = venue.send_swap(prepared)
    assert result.status is OrderStatus.REJECTED and result.venue_order_id

    found = _fresh(world).lookup_order(order.client_order_id or "")
    assert found is not None and found.status is OrderStatus.REJECTED
    assert found.venue_order_id == result.venue_order_id
    assert found.network_fee == result.network_fee > 0  # swap gas + the approval before it
    assert not found.fills


def test_pending_tagged_swap_is_unknown_and_the_journal_keeps_it_open(world: LocalUniswap, tmp_path: Path) -> None:
    trader = world.wallets[TRADER]
    world.fund(trader, weth=5 * 10**18)
    world.approve_all(trader, world.deployment.swap_router)
    venue = _venue(world)
    journal = SqlJournal(Store(f"sqlite:///{tmp_path / 'j.db'}"), "pending")
    [order] = journal.record_intents([Order("UNI", Side.BUY, Decimal(100), reference_price=venue.get_prices()["UNI"])])
    cloid = order.client_order_id or ""
    journal.mark_sent(cloid)
    prepared = venue.prepare_swap(order)
    client = venue.client
    dep = world.deployment
    world.node.rpc("evm_setAutomine", False)
    try:
        tx, _ = client.build_swap(Swap(dep.weth.address, dep.token("UNI").address, prepared.fee, prepared.amount_in,
                                       prepared.amount_out_minimum, client.deadline(300), cloid_tag(cloid)))  # fmt: skip
        tx["nonce"] = client.sender.next_nonce()
        tx_hash = world.w3.eth.send_raw_transaction(trader.sign_transaction(tx, chain_id=client.chain_id)).to_0x_hex()

        found = _fresh(world).lookup_order(cloid)
        assert found is not None and found.status is OrderStatus.UNKNOWN and found.venue_order_id == tx_hash
        rec = journal.reconcile(_fresh(world))
        assert not rec.unsent and not rec.confirmed and [r.order.client_order_id for r in rec.unknown] == [cloid]
        assert [o.status for o in journal.orders()] == ["unknown"]  # still open, never resent
    finally:
        world.node.rpc("evm_mine")
        world.node.rpc("evm_setAutomine", True)
    rec = journal.reconcile(_fresh(world))
    assert [(r.status, r.venue_order_id) for r in rec.confirmed] == [(OrderStatus.FILLED, tx_hash)]
    assert [o.status for o in journal.orders()] == ["filled"]
    journal.store.close()


CRASHING_REBALANCE = """
import json, os, signal, sys
from defipm.core.planner import PlannerConfig
from defipm.manager import PortfolioManager
from defipm.oracles.static import StaticOracle
from defipm.store.database import Store
from defipm.venues.uniswap import UniswapConfig, UniswapVenue

config_file, db, target, crash_after = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4])


class CrashAfterK(UniswapVenue):
    swaps = 0

    def send_swap(self, prepared):
        result = super().send_swap(prepared)  # mined: the chain has it, the journal never hears of it
        CrashAfterK.swaps += 1
        if CrashAfterK.swaps == crash_after:
            os.kill(os.getpid(), signal.SIGKILL)
        return result


venue = CrashAfterK(UniswapConfig.model_validate_json(open(config_file).read()))  # key from DEFIPM_PRIVATE_KEY
manager = PortfolioManager(StaticOracle(target), venue, store=Store("sqlite:///" + db), run="uni",
                           planner=PlannerConfig(no_trade_band=0.02))
report = manager.manage_portfolio()
rec = manager.last_reconciliation
print(json.dumps({
    "ok": report.ok, "error": report.error,
    "confirmed": len(rec.confirmed) if rec else 0, "unsent": len(rec.unsent) if rec else 0,
    "unknown": len(rec.unknown) if rec else 0,
    "new_orders": len(report.rebalance.results) if report.rebalance else 0,
}))
"""

TARGET = {"USDC": 0.3, "WBTC": 0.25, "UNI": 0.2, "LINK": 0.15}


def _private_key(index: int) -> str:
    from eth_account import Account

    from defipm.chain.anvil import ANVIL_MNEMONIC

    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}").key.hex()


def _run(script: Path, config: Path, db: Path, crash_after: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEFIPM_PRIVATE_KEY": _private_key(TRADER)}  # the key by environment, never in argv
    args = [sys.executable, str(script), str(config), str(db), json.dumps(TARGET), str(crash_after)]
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
@pytest.mark.parametrize("k", [2, 4])
def test_sigkill_after_kth_swap_then_restart_executes_each_intent_once(
    world: LocalUniswap, tmp_path: Path, k: int
) -> None:
    trader = world.wallets[TRADER]
    world.fund(trader, weth=20 * 10**18)
    start_block = world.w3.eth.block_number
    config = tmp_path / "uniswap.json"
    config.write_text(
        UniswapConfig.from_deployment(
            world.deployment, world.url, slippage_bps=100, tick_word_radius=1
        ).model_dump_json()
    )
    script, db = tmp_path / "rebalance.py", tmp_path / "defipm.db"
    script.write_text(CRASHING_REBALANCE)

    crashed = _run(script, config, db, k)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    store = Store(f"sqlite:///{db}")
    journal = SqlJournal(store, "uni")
    statuses = [o.status for o in journal.orders()]
    assert len(statuses) == len(TARGET)
    assert statuses == ["filled"] * (k - 1) + ["sent"] + ["planned"] * (len(TARGET) - k)  # k-th mined, unrecorded

    restarted = _run(script, config, db, 0)
    assert restarted.returncode == 0, restarted.stderr
    out = json.loads(restarted.stdout.strip().splitlines()[-1])
    assert (out["confirmed"], out["unsent"], out["unknown"]) == (1, len(TARGET) - k, 0)  # found on chain by cloid
    assert out["ok"] and out["new_orders"] == 0, out  # the resumed intents reached the target

    orders = journal.orders()
    assert [o.status for o in orders] == ["filled"] * len(TARGET)
    assert _tags_sent(world, trader.address, start_block) == Counter(
        {"0x" + cloid_tag(o.client_order_id).hex(): 1 for o in orders}
    )  # every intent executed exactly once on chain
    weights = _fresh(world).snapshot().weights()
    for symbol, w in TARGET.items():
        assert weights.get(symbol, 0.0) == pytest.approx(w, abs=0.01), symbol
    store.close()
