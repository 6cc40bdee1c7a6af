"""A wallet's own transactions found by nonce bisection, and by reading every block on a node without past state:
both searches give the same transactions (the Uniswap venue's lookups and arbitrage settlement use them)."""

from __future__ import annotations

from web3 import Web3

from defipm.chain.deploy import contract
from defipm.chain.history import WalletHistory
from defipm.chain.local import LocalUniswap
from defipm.testing.chain import ScriptedNode


def test_bisection_and_the_full_scan_find_the_same_transactions(isolated_world: LocalUniswap) -> None:
    world = isolated_world
    wallet, other = world.wallets[7], world.wallets[6]
    start = world.w3.eth.block_number
    mine, theirs = world.sender(wallet), world.sender(other)
    weth = contract(mine, "WETH9", world.deployment.weth.address)
    sent = []
    for i in range(3):
        world.node.rpc("evm_mine")  # blocks without the wallet's transactions between its own
        sent.append(mine.send(weth.functions.deposit(), value=i + 1))
        theirs.send(weth.functions.deposit(), value=1)
    latest = world.w3.eth.block_number
    archive = WalletHistory(world.w3, wallet.address)
    pruned_node = ScriptedNode(world.w3.provider).prune_state(keep_blocks=0)
    pruned = WalletHistory(Web3(pruned_node), wallet.address)

    found = archive.mined(start, latest)
    assert [tx.hash for tx in found] == [o.tx_hash for o in sent]
    assert all(tx.sender == wallet.address.lower() for tx in found)
    assert [tx.hash for tx in pruned.mined(start, latest)] == [tx.hash for tx in found]
    assert sum(m == "eth_getBlockByNumber" for m, _ in pruned_node.requests) == latest - start  # every block read

    second = found[1]
    assert archive.by_nonce(second.nonce, lookback_blocks=latest - start) == second
    assert pruned.by_nonce(second.nonce, lookback_blocks=latest - start) == second
    assert archive.by_nonce(second.nonce + 10) is None  # not mined yet
    assert archive.by_nonce(found[0].nonce, lookback_blocks=latest - found[0].block_number) is None  # before the window
    assert archive.pending() == ([], True)
