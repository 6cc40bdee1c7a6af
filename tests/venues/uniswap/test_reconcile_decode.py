"""Which of the wallet's transactions count as its tagged swaps and approvals (decoded with the contracts' ABI):
exactly the ABI encoding of ``exactInputSingle`` to the wallet followed by the 16-byte tag, nothing more or less."""

from __future__ import annotations

from web3 import Web3

from defipm.chain.history import WalletTx
from defipm.chain.transactions import GasPolicy
from defipm.chain.wallet import Wallet
from defipm.core.journal import new_client_order_id
from defipm.testing.chain import ScriptedNode
from defipm.venues.uniswap.client import MAX_UINT256, MULTICALL_WITH_DEADLINE, Swap, UniswapClient
from defipm.venues.uniswap.reconcile import SwapFinder, cloid_tag

ROUTER = "0x" + "02" * 20
TOKEN_IN, TOKEN_OUT = Web3.to_checksum_address("0x" + "aa" * 20), Web3.to_checksum_address("0x" + "bb" * 20)


def _finder(kind: str = "SwapRouter") -> SwapFinder:
    node = ScriptedNode().answer("eth_chainId", 31337)
    client = UniswapClient(Web3(node), Wallet("0x" + "11" * 32), GasPolicy(), "0x" + "01" * 20, ROUTER, kind)
    return SwapFinder(client, lookback_blocks=10)


def _tx(finder: SwapFinder, data: bytes, *, sender: str | None = None, to: str = ROUTER) -> WalletTx:
    me = finder.client.address.lower()
    return WalletTx("0x" + "cd" * 32, 7, 12, sender or me, to.lower(), data)


def _swap_data(finder: SwapFinder, recipient: str | None = None) -> bytes:
    params = (TOKEN_IN, TOKEN_OUT, 3000, recipient or finder.client.address, 99, 10**18, 5 * 10**17, 0)
    return bytes.fromhex(finder.client.router.encode_abi("exactInputSingle", args=[params])[2:])


def test_a_tagged_swap_is_decoded_with_its_amounts_and_tag() -> None:
    finder = _finder()
    tag = cloid_tag(new_client_order_id())
    call = finder.decode_swap(_tx(finder, _swap_data(finder) + tag))
    assert call is not None and call.tag == tag and (call.nonce, call.block_number) == (7, 12)
    assert (call.token_in, call.token_out, call.fee) == (TOKEN_IN, TOKEN_OUT, 3000)
    assert (call.amount_in, call.amount_out_minimum) == (10**18, 5 * 10**17)


def test_anything_but_an_exact_tagged_swap_of_the_wallet_is_not_one() -> None:
    finder = _finder()
    tag = cloid_tag(new_client_order_id())
    body = _swap_data(finder)
    other = "0x" + "99" * 20
    for data, kwargs in [
        (body, {}),  # untagged
        (body + tag + b"\x00", {}),  # a byte too many: not exactly the encoding followed by the tag
        (body[:-1] + tag, {}),  # a byte short
        (_swap_data(finder, recipient=Web3.to_checksum_address(other)) + tag, {}),  # pays someone else
        (body + tag, {"sender": other}),  # sent by another wallet
        (body + tag, {"to": other}),  # to another contract
        (b"\x12\x34\x56\x78" + body[4:] + tag, {}),  # another function
    ]:
        assert finder.decode_swap(_tx(finder, data, **kwargs)) is None, data.hex()


def test_approvals_are_decoded_and_other_calls_are_not() -> None:
    finder = _finder()
    erc20 = finder.client.erc20(TOKEN_IN)
    approve = bytes.fromhex(erc20.encode_abi("approve", args=[Web3.to_checksum_address(ROUTER), MAX_UINT256])[2:])
    assert finder.decode_approval(_tx(finder, approve, to=TOKEN_IN)) == (TOKEN_IN, Web3.to_checksum_address(ROUTER),
                                                                         MAX_UINT256)  # fmt: skip
    transfer = bytes.fromhex(erc20.encode_abi("transfer", args=[Web3.to_checksum_address(ROUTER), 5])[2:])
    assert finder.decode_approval(_tx(finder, transfer, to=TOKEN_IN)) is None
    assert finder.decode_approval(_tx(finder, approve + b"\x00", to=TOKEN_IN)) is None
    assert finder.decode_approval(_tx(finder, b"\xde\xad", to=TOKEN_IN)) is None


def _router02_swap(finder: SwapFinder, recipient: str | None = None) -> bytes:
    """SwapRouter02's ``exactInputSingle`` (no deadline among its parameters)."""
    params = (TOKEN_IN, TOKEN_OUT, 500, recipient or finder.client.address, 10**18, 5 * 10**17, 0)
    return bytes.fromhex(finder.client.router.encode_abi("exactInputSingle", args=[params])[2:])


def _multicall(finder: SwapFinder, calls: list[bytes], deadline: int = 99) -> bytes:
    return bytes.fromhex(finder.client.router.encode_abi(MULTICALL_WITH_DEADLINE, args=[deadline, calls])[2:])


def test_a_swap_router02_swap_is_its_exact_input_single_alone_in_a_multicall_with_deadline() -> None:
    finder = _finder("SwapRouter02")
    tag = cloid_tag(new_client_order_id())
    swap = _router02_swap(finder)
    call = finder.decode_swap(_tx(finder, _multicall(finder, [swap]) + tag))
    assert call is not None and call.tag == tag
    assert (call.token_in, call.token_out, call.fee, call.amount_in, call.amount_out_minimum) == (
        TOKEN_IN, TOKEN_OUT, 500, 10**18, 5 * 10**17,
    )  # fmt: skip
    # what the client sends is what the finder reads
    sent = finder.client.swap_call(Swap(TOKEN_IN, TOKEN_OUT, 500, 10**18, 5 * 10**17, 99))
    assert bytes.fromhex(sent._encode_transaction_data()[2:]) == _multicall(finder, [swap])

    router = finder.client.router
    no_deadline = bytes.fromhex(router.encode_abi("multicall(bytes[])", args=[[swap]])[2:])
    other = Web3.to_checksum_address("0x" + "99" * 20)
    for data in [
        _multicall(finder, [swap]),  # untagged
        swap + tag,  # not inside the multicall: no deadline
        no_deadline + tag,  # the multicall that checks no deadline
        _multicall(finder, [swap, swap]) + tag,  # two swaps in one transaction
        _multicall(finder, []) + tag,  # none
        _multicall(finder, [_router02_swap(finder, recipient=other)]) + tag,  # pays someone else
        _multicall(finder, [swap + b"\x00"]) + tag,  # the inner call is not exactly the encoding
        _multicall(finder, [swap]) + tag + b"\x00",  # a byte too many
        _multicall(finder, [_swap_data(_finder())]) + tag,  # SwapRouter's call inside SwapRouter02's multicall
    ]:
        assert finder.decode_swap(_tx(finder, data)) is None, data.hex()
