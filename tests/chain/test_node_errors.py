"""The chain layer's error contract, against scripted JSON-RPC answers (no node needed): what the node or the network
cause becomes a defipm error, anything else propagates; reads in one batch fail all together or one by one as the
caller asks; reads are retried on transient HTTP failures, a broadcast never is."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from web3 import Web3

from defipm.chain.artifacts import abi_of
from defipm.chain.batch import contract_call, read_all, read_each
from defipm.chain.errors import RpcUnavailableError, TransactionRevertedError
from defipm.chain.node import connect
from defipm.chain.transactions import GasPolicy
from defipm.chain.wallet import Wallet
from defipm.core.errors import DefipmError, VenueError
from defipm.testing.chain import ScriptedNode
from defipm.transport.retry import RetryPolicy
from defipm.venues.uniswap.client import UniswapClient

TOKEN = "0x" + "ab" * 20
ONE = "0x" + "00" * 31 + "01"


def _client(node: ScriptedNode) -> UniswapClient:
    node.answer("eth_chainId", 31337)
    return UniswapClient(
        Web3(node), Wallet("0x" + "11" * 32), GasPolicy(), "0x" + "01" * 20, "0x" + "02" * 20, "SwapRouter"
    )


def test_node_answers_become_defipm_errors_and_our_bugs_propagate() -> None:
    node = ScriptedNode()
    client = _client(node)
    node.fail("eth_call", "execution reverted: not today", 3, ScriptedNode.revert_data("not today"))
    with pytest.raises(TransactionRevertedError, match="not today"):
        client.decimals(TOKEN)
    node.answer("eth_call", "0x")  # no contract at the address
    with pytest.raises(VenueError, match=f"decimals of {TOKEN}"):
        client.decimals(TOKEN)
    node.fail("eth_call", "header not found")
    with pytest.raises(RpcUnavailableError):
        client.balances({"A": TOKEN}, client.address)

    def broken(params: list[object], pass_on: object) -> dict[str, object]:
        raise KeyError("a bug in our own code, not the node's answer")

    node.on("eth_call", broken)
    with pytest.raises(KeyError):
        client.decimals(TOKEN)
    with pytest.raises(KeyError):
        client.balances({"A": TOKEN}, client.address)


def test_batched_reads_fail_together_or_one_by_one() -> None:
    node = ScriptedNode()
    w3 = Web3(node)
    erc20 = w3.eth.contract(address=Web3.to_checksum_address(TOKEN), abi=abi_of("TestERC20"))
    answers = iter([{"result": ONE}, {"error": {"code": 3, "message": "execution reverted"}}, {"result": "0x"}])
    node.on("eth_call", lambda params, pass_on: {"jsonrpc": "2.0", "id": 1, **next(answers)})
    reads = [contract_call(erc20, "balanceOf", Web3.to_checksum_address("0x" + f"{i:040x}"), block=7) for i in range(3)]
    first, reverted, empty = read_each(w3, reads, "read balances")
    assert first == 1
    assert isinstance(reverted, TransactionRevertedError) and isinstance(empty, VenueError)
    assert "balanceOf on" in str(empty) and "undecodable" in str(empty)
    assert node.requests[0] == ("eth_call", [{"to": erc20.address, "data": reads[0].params[0]["data"]}, "0x7"])
    answers = iter([{"result": ONE}, {"error": {"code": 3, "message": "execution reverted"}}, {"result": ONE}])
    with pytest.raises(TransactionRevertedError, match="read balances"):
        read_all(w3, reads, "read balances")
    node.fail("eth_call", "batch too large")
    assert all(isinstance(a, DefipmError) for a in read_each(w3, reads, "read balances"))


class _Flaky(BaseHTTPRequestHandler):
    """A node behind a gateway that fails the first two requests with 503."""

    seen: list[str] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        methods = [r["method"] for r in body] if isinstance(body, list) else [body["method"]]
        self.seen.append(",".join(methods))
        if len(self.seen) <= 2:
            self.send_response(503)
            self.send_header("Retry-After", "0")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        answer = json.dumps({"jsonrpc": "2.0", "id": body["id"], "result": "0x5"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def flaky() -> Iterator[tuple[str, type[_Flaky]]]:
    handler = type("Handler", (_Flaky,), {"seen": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", handler
    httpd.shutdown()
    httpd.server_close()


def test_reads_are_retried_and_a_broadcast_is_sent_once(flaky: tuple[str, type[_Flaky]]) -> None:
    url, handler = flaky
    fast = RetryPolicy(attempts=3, first_delay_s=0.01, max_delay_s=0.05, jitter_s=0.01)
    w3 = connect(url, timeout=5, policy=fast)
    assert w3.eth.block_number == 5
    assert handler.seen == ["eth_blockNumber"] * 3
    handler.seen.clear()
    with pytest.raises(requests.HTTPError, match="503"):  # as web3 leaves it: the chain layer translates it
        w3.eth.send_raw_transaction(b"\x01")
    assert handler.seen == ["eth_sendRawTransaction"], "a broadcast must never be sent twice"
