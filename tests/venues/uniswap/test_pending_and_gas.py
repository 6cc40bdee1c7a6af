"""Pending means wait, and gas has a ceiling, on the Uniswap venue (anvil with block production paused, with a block
time, and with an expensive base fee).

- balances and allowances are read in the pending state, so a swap still in the mempool has already spent its input;
- above ``max_fee_per_gas_gwei`` nothing is sent (planned orders are skipped, direct trades refused, each saying
  why); under it, an order whose expected gas is above ``max_gas_share`` of its value is skipped by the planner;
- a restarted rebalance with a swap still pending sends nothing until the swap is mined, then finishes the cycle
  with every intent executed once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from defipm.chain.local import LocalUniswap
from defipm.core.journal import new_client_order_id
from defipm.core.orders import Order, OrderStatus, Side, SkipReason
from defipm.journal import SqlJournal
from defipm.store import Store
from defipm.venues.uniswap import UniswapConfig, UniswapVenue
from defipm.venues.uniswap.client import MAX_UINT256, Swap
from defipm.venues.uniswap.reconcile import cloid_tag

pytestmark = pytest.mark.chain

TRADER = 9
WEI = 10**18
GWEI = 10**9


def _venue(world: LocalUniswap, **overrides: object) -> UniswapVenue:
    config = UniswapConfig.from_deployment(world.deployment, world.url, **{"tick_word_radius": 1, **overrides})
    venue = UniswapVenue(config, wallet=world.wallets[TRADER], w3=world.w3)
    venue.connect()
    return venue


def test_balances_and_allowances_are_read_in_the_pending_state(world: LocalUniswap) -> None:
    trader = world.wallets[TRADER]
    world.fund(trader, weth=5 * WEI)
    world.approve_all(trader, world.deployment.swap_router)
    venue = _venue(world)
    client, dep = venue.client, world.deployment
    weth, router = dep.weth.address, dep.swap_router
    order = Order("UNI", Side.BUY, Decimal(1), reference_price=venue.get_prices()["UNI"],
                  client_order_id=new_client_order_id())  # fmt: skip
    world.node.rpc("evm_setAutomine", False)
    try:
        swap, _ = client.build_swap(Swap(weth, dep.token("UNI").address, 3000, 2 * WEI, 1, client.deadline(300),
                                         cloid_tag(order.client_order_id or "")))  # fmt: skip
        approve, _ = client.sender.build(client.erc20(weth).functions.approve(router, 7))
        for tx in (swap, approve):  # both wait in the mempool
            signed = client.sender.sign(tx)
            world.w3.eth.send_raw_transaction(signed.raw)
            client.sender.resync_nonce()
        assert client.balances({"WETH": weth}, trader.address, "latest")["WETH"] == 5 * WEI
        assert venue.get_cash() == 3  # the pending swap has spent its 2 WETH
        assert venue.get_positions()["UNI"] > 0  # and bought its UNI
        assert client.allowance(weth, router) == 7  # the pending approval, not the mined unlimited one
        assert client.erc20(weth).functions.allowance(trader.address, router).call() == MAX_UINT256
        big = Order("UNI", Side.BUY, Decimal(10**6), reference_price=order.reference_price, client_order_id="0x1")
        assert venue.prepare_swap(big).amount_in == 3 * WEI  # sized on what the wallet will hold
    finally:
        world.node.rpc("evm_mine")
        world.node.rpc("evm_setAutomine", True)


def test_gas_above_the_ceiling_sends_nothing_and_an_order_not_worth_its_gas_is_skipped(world: LocalUniswap) -> None:
    trader = world.wallets[TRADER]
    world.fund(trader, weth=10 * WEI)
    venue = _venue(world)
    with world.base_fee(3_000 * GWEI):
        venue.refresh()
        _gas_caps(world, venue)


def _gas_caps(world: LocalUniswap, venue: UniswapVenue) -> None:
    node, w3, trader = world.node, world.w3, world.wallets[TRADER]
    nonce = w3.eth.get_transaction_count(trader.address, "pending")

    report = venue.set_portfolio_weights({"UNI": 0.4, "LINK": 0.4})
    assert not report.results and {s.symbol for s in report.skipped} == {"UNI", "LINK"}
    assert all(
        s.reason is SkipReason.GAS_PRICE and "above max_fee_per_gas_gwei 300.00: deferred" in s.detail
        for s in report.skipped
    )
    direct = venue.execute_trade("UNI", 10)  # used directly, the venue refuses too
    assert direct.status is OrderStatus.REJECTED and "max_fee_per_gas_gwei" in (direct.error or "")
    assert w3.eth.get_transaction_count(trader.address, "pending") == nonce  # nothing signed

    # 100 gwei: under the ceiling, but 180,000 gas (0.018 WETH) is 3.6% of a 0.5 WETH order and 0.45% of a 4 WETH one
    node.rpc("anvil_setNextBlockBaseFeePerGas", hex(100 * GWEI))  # undone by ``base_fee`` on the way out
    node.rpc("evm_mine")
    venue.refresh()
    report = venue.set_portfolio_weights({"UNI": 0.05, "LINK": 0.4})
    assert [(r.order.symbol, r.status) for r in report.results] == [("LINK", OrderStatus.FILLED)]
    (skipped,) = report.skipped
    assert skipped.symbol == "UNI" and skipped.reason is SkipReason.ORDER_COST
    assert "above 1.00% of notional" in skipped.detail
    for execution in venue.executions.values():  # what the swap paid per gas stayed under the ceiling
        assert execution.gas_cost_wei <= execution.gas_used * 300 * GWEI


REBALANCE = """
import json, sys
from dataclasses import replace
from defipm.core.planner import PlannerConfig
from defipm.manager import PortfolioManager
from defipm.oracles.static import StaticOracle
from defipm.store.database import Store
from defipm.venues.uniswap import UniswapConfig, UniswapVenue

config_file, db, target, receipt_timeout = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), float(sys.argv[4])
venue = UniswapVenue(UniswapConfig.model_validate_json(open(config_file).read()))  # key from DEFIPM_PRIVATE_KEY
venue.connect()
venue.client.sender.gas = replace(venue.client.sender.gas, receipt_timeout_s=receipt_timeout)
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

TARGET = {"USDC": 0.3, "UNI": 0.25, "LINK": 0.2}


def _private_key(index: int) -> str:
    from eth_account import Account

    from defipm.chain.anvil import ANVIL_MNEMONIC

    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}").key.hex()


@pytest.mark.slow
def test_restart_with_a_pending_swap_sends_nothing_until_it_is_mined(world: LocalUniswap, tmp_path: Path) -> None:
    trader = world.wallets[TRADER]
    world.fund(trader, weth=20 * WEI)
    world.approve_all(trader, world.deployment.swap_router)  # the first transaction of the rebalance is a swap
    config = tmp_path / "uniswap.json"
    config.write_text(UniswapConfig.from_deployment(world.deployment, world.url, slippage_bps=100,
                                                    tick_word_radius=1).model_dump_json())  # fmt: skip
    script, db = tmp_path / "rebalance.py", tmp_path / "defipm.db"
    script.write_text(REBALANCE)
    env = {**os.environ, "DEFIPM_PRIVATE_KEY": _private_key(TRADER)}
    node, w3, me = world.node, world.w3, trader.address

    def rebalance(receipt_timeout: float) -> dict[str, object]:
        args = [sys.executable, str(script), str(config), str(db), json.dumps(TARGET), str(receipt_timeout)]
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))

    start_block = w3.eth.block_number
    node.rpc("evm_setAutomine", False)  # block production paused
    try:
        args = [sys.executable, str(script), str(config), str(db), json.dumps(TARGET), "600"]
        first = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while w3.eth.get_transaction_count(me, "pending") == w3.eth.get_transaction_count(me, "latest"):
            assert time.monotonic() < deadline and first.poll() is None, first.communicate()
            time.sleep(0.1)
        first.send_signal(signal.SIGKILL)  # killed while its first swap waits in the mempool
        first.wait()
        journal = SqlJournal(Store(f"sqlite:///{db}"), "uni")
        assert [o.status for o in journal.orders()] == ["sent"] + ["planned"] * (len(TARGET) - 1)

        waiting = rebalance(5)  # restarted while the swap is still pending
        assert w3.eth.get_transaction_count(me, "pending") == w3.eth.get_transaction_count(me, "latest") + 1
        assert (waiting["unknown"], waiting["new_orders"], waiting["ok"]) == (1, 0, False), waiting

        node.rpc("evm_setIntervalMining", 1)  # a block time: the pending swap is mined
        while w3.eth.get_transaction_count(me, "latest") < w3.eth.get_transaction_count(me, "pending"):
            time.sleep(0.2)
        resumed = rebalance(60)
        assert (resumed["confirmed"], resumed["unknown"], resumed["ok"]) == (1, 0, True), resumed
    finally:
        node.rpc("evm_setIntervalMining", 0)
        node.rpc("evm_setAutomine", True)
    orders = journal.orders()
    # the pending swap filled; the never-sent intents were either sent once after it (recent) or abandoned
    assert orders[0].status == "filled" and {o.status for o in orders} <= {"filled", "cancelled"}, orders
    filled = [o for o in orders if o.status == "filled"]
    tags: Counter[str] = Counter()
    for number in range(start_block + 1, w3.eth.block_number + 1):
        for tx in w3.eth.get_block(number, full_transactions=True)["transactions"]:
            if tx["from"] == me and tx["to"] == world.deployment.swap_router:
                tags["0x" + bytes(tx["input"])[-16:].hex()] += 1
    assert tags == Counter({"0x" + cloid_tag(o.client_order_id).hex(): 1 for o in filled})  # each intent once
    journal.store.close()
