"""Malformed exchange answers: one bad field anywhere (NaN, sNaN, 1e-400, text, null, a boolean...) is a
``MalformedAnswerError`` (a ``VenueError``) naming the coin and the field, never ``decimal.InvalidOperation``, a
``KeyError`` or a silently wrong number; arbitrary JSON never raises anything else."""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from defipm.core.errors import VenueError
from defipm.core.orders import Order, Side
from defipm.venues.hyperliquid.orders import status_outcome
from defipm.venues.hyperliquid.parsing import (
    MalformedAnswerError,
    parse_asset_contexts,
    parse_filled,
    parse_fills,
    parse_frontend_open_orders,
    parse_l2,
    parse_meta,
    parse_mids,
    parse_order_status,
    parse_spot_usdc,
    parse_user_fees,
    parse_user_state,
)
from defipm.venues.hyperliquid.sim import Engine, Fault, builtin_seed


def _engine_with_positions() -> tuple[Engine, str]:
    engine, user = Engine(builtin_seed()), "0x" + "11" * 20
    engine.add_account(user, 100_000)
    wires = [
        {"a": engine.index["BTC"], "b": True, "p": "31000", "s": "0.5", "r": False, "t": {"limit": {"tif": "Ioc"}},
         "c": "0x" + "01" * 16},
        {"a": engine.index["ETH"], "b": False, "p": "1800", "s": "3", "r": False, "t": {"limit": {"tif": "Ioc"}}},
    ]  # fmt: skip
    assert all("filled" in s for s in engine.place_orders(user, wires))
    stop = {"a": engine.index["BTC"], "b": False, "p": "25000", "s": "0.5", "r": True,
            "t": {"trigger": {"isMarket": True, "triggerPx": "27000", "tpsl": "sl"}}}  # fmt: skip
    assert "resting" in engine.place_orders(user, [stop])[0]
    return engine, user


ENGINE, USER = _engine_with_positions()
STATE = ENGINE.views.clearinghouse_state(USER)
MIDS = ENGINE.views.all_mids()
FILLS = ENGINE.views.user_fills(USER)
ORDER = ENGINE.views.order_status(USER, "0x" + "01" * 16)
FILLED = {"filled": {"totalSz": "0.5", "avgPx": "30141.03", "oid": 1000000}}
CONTEXTS = ENGINE.views.meta_and_asset_ctxs()
FEES = ENGINE.views.user_fees(USER)
OPEN = ENGINE.views.frontend_open_orders(USER)
RESTING = {"resting": {"oid": 1000002}}
BTC_ORDER = Order("BTC", Side.BUY, Decimal("0.5"))
_CTX_BTC = CONTEXTS[0]["universe"].index(next(a for a in CONTEXTS[0]["universe"] if a["name"] == "BTC"))

_BTC = next(i for i, p in enumerate(STATE["assetPositions"]) if p["position"]["coin"] == "BTC")
_ETH_FILL = next(i for i, f in enumerate(FILLS) if f["coin"] == "ETH")
CASES: list[tuple[Callable[[Any], Any], Any, tuple[Any, ...], tuple[str, ...]]] = [
    (parse_mids, MIDS, ("BTC",), ("allMids", "BTC", "mid")),
    (parse_mids, MIDS, ("kPEPE",), ("kPEPE", "mid")),
    (parse_user_state, STATE, ("assetPositions", _BTC, "position", "szi"), ("BTC", "szi")),
    (parse_user_state, STATE, ("assetPositions", _BTC, "position", "positionValue"), ("BTC", "positionValue")),
    (parse_user_state, STATE, ("assetPositions", _BTC, "position", "leverage", "value"), ("BTC", "leverage")),
    (parse_user_state, STATE, ("marginSummary", "accountValue"), ("accountValue",)),
    (parse_user_state, STATE, ("marginSummary", "totalRawUsd"), ("totalRawUsd",)),
    (parse_user_state, STATE, ("withdrawable",), ("withdrawable",)),
    (parse_fills, FILLS, (_ETH_FILL, "px"), ("ETH", "px")),
    (parse_fills, FILLS, (_ETH_FILL, "sz"), ("ETH", "sz")),
    (parse_fills, FILLS, (_ETH_FILL, "fee"), ("ETH", "fee")),
    (parse_fills, FILLS, (_ETH_FILL, "time"), ("ETH", "time")),
    (parse_fills, FILLS, (_ETH_FILL, "oid"), ("ETH", "oid")),
    (parse_order_status, ORDER, ("order", "order", "origSz"), ("BTC", "origSz")),
    (parse_order_status, ORDER, ("order", "order", "limitPx"), ("BTC", "limitPx")),
    (parse_order_status, ORDER, ("order", "order", "timestamp"), ("BTC", "timestamp")),
    (lambda body: parse_filled(body, "BTC"), FILLED, ("filled", "totalSz"), ("BTC", "totalSz")),
    (lambda body: parse_filled(body, "BTC"), FILLED, ("filled", "avgPx"), ("BTC", "avgPx")),
    (parse_user_state, STATE, ("assetPositions", _BTC, "position", "entryPx"), ("BTC", "entryPx")),
    (parse_asset_contexts, CONTEXTS, (1, _CTX_BTC, "openInterest"), ("metaAndAssetCtxs", "BTC", "openInterest")),
    (parse_asset_contexts, CONTEXTS, (1, _CTX_BTC, "markPx"), ("BTC", "markPx")),
    (parse_asset_contexts, CONTEXTS, (1, _CTX_BTC, "dayNtlVlm"), ("BTC", "dayNtlVlm")),
    (parse_asset_contexts, CONTEXTS, (1, _CTX_BTC, "funding"), ("BTC", "funding")),
    (parse_user_fees, FEES, ("userCrossRate",), ("userFees", "userCrossRate")),
    (parse_user_fees, FEES, ("userAddRate",), ("userFees", "userAddRate")),
    (parse_frontend_open_orders, OPEN, (0, "triggerPx"), ("BTC", "triggerPx")),
    (parse_frontend_open_orders, OPEN, (0, "sz"), ("BTC", "sz")),
    (parse_frontend_open_orders, OPEN, (0, "oid"), ("BTC", "oid")),
    (lambda body: status_outcome(body, BTC_ORDER), FILLED, ("filled", "totalSz"), ("BTC", "totalSz")),
    (lambda body: status_outcome(body, BTC_ORDER), RESTING, ("resting", "oid"), ("BTC", "oid")),
]
BAD = st.one_of(
    st.sampled_from(["NaN", "-nan", "sNaN", "Infinity", "-Infinity", "1e-400", "-1E-13", "1e400", "1e18"]),
    st.sampled_from(["", " ", "abc", "1_000", "0x10", "1.5.2", "½", "١٢"]),
    st.sampled_from([None, True, False, [], {}, [1], {"px": "1"}]),
    st.floats().filter(lambda x: not math.isfinite(x)),
)


def _set(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    out = copy.deepcopy(body)
    target = out
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return out


def _delete(body: Any, path: tuple[Any, ...]) -> Any:
    out = copy.deepcopy(body)
    target = out
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return out


@pytest.mark.parametrize(("parse", "body", "path", "names"), CASES)
def test_the_recorded_shapes_parse(parse, body, path, names):
    parse(body)  # the unmodified answers are good


@settings(max_examples=150, deadline=None, derandomize=True)
@given(case=st.sampled_from(CASES), bad=BAD)
def test_one_bad_field_is_an_error_naming_coin_and_field(case, bad):
    parse, body, path, names = case
    with pytest.raises(MalformedAnswerError) as err:
        parse(_set(body, path, bad))
    assert isinstance(err.value, VenueError)
    assert all(name in str(err.value) for name in names), (str(err.value), names)


OPTIONAL = ("fee", "totalRawUsd", "withdrawable")
"""Read as 0 when absent; a coin absent from allMids has no mid (the venue skips it with a reason)."""


@pytest.mark.parametrize(
    ("parse", "body", "path", "names"), [c for c in CASES if c[2][-1] not in OPTIONAL and c[0] is not parse_mids]
)
def test_a_missing_field_is_an_error_naming_it(parse, body, path, names):
    with pytest.raises(MalformedAnswerError) as err:
        parse(_delete(body, path))
    assert all(name in str(err.value) for name in names if name != "allMids"), str(err.value)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
PARSERS = [parse_meta, parse_mids, parse_user_state, parse_spot_usdc, parse_fills, parse_order_status,
           parse_frontend_open_orders, parse_l2, lambda b: parse_filled(b, "BTC"), parse_asset_contexts,
           parse_user_fees, lambda b: status_outcome(b, BTC_ORDER)]  # fmt: skip


@settings(max_examples=150, deadline=None, derandomize=True)
@given(parse=st.sampled_from(PARSERS), body=JSON)
def test_arbitrary_json_is_parsed_or_refused_never_a_raw_exception(parse, body):
    with contextlib.suppress(MalformedAnswerError):
        parse(body)


@pytest.mark.parametrize("bad", ["NaN", "sNaN", "1e-400", "Infinity", None, True])
def test_the_venue_refuses_a_bad_mid_naming_the_coin_and_keeps_its_prices(venue, exchange, bad):
    before = venue.get_prices()
    exchange.inject(Fault("info", "allMids", answer={**exchange.engine.views.all_mids(), "ETH": bad}))
    with pytest.raises(VenueError, match="allMids: ETH mid"):
        venue.refresh()
    assert venue.get_prices() == before
    exchange.engine.set_mid("ETH", Decimal("1950"))
    venue.refresh()  # the next good answer is taken
    assert venue.get_prices()["ETH"] == Decimal("1950")


def test_a_bad_position_size_from_the_exchange_is_a_venue_error(venue, exchange, wallet):
    venue.set_portfolio_weights({"BTC": 0.2})
    state = exchange.engine.views.clearinghouse_state(wallet.address)
    state["assetPositions"][0]["position"]["szi"] = "sNaN"
    exchange.inject(Fault("info", "clearinghouseState", answer=state))
    with pytest.raises(VenueError, match=r"clearinghouseState: BTC\.szi"):
        venue.refresh()


@settings(max_examples=40, deadline=None, derandomize=True)
@given(bad=BAD, field=st.sampled_from(["t", "o", "h", "l", "c", "v"]))
def test_history_rows_with_a_bad_field_are_refused_naming_coin_and_field(bad, field):
    pytest.importorskip("pandas")
    from defipm.venues.hyperliquid.history import candles_frame, funding_frame
    from defipm.venues.hyperliquid.sim.history import SyntheticHistory

    t = 1_700_000_000_000
    candles = SyntheticHistory(ENGINE).candles("BTC", "1h", t, t + 3 * 3_600_000)
    assert len(candles_frame(candles)) == len(candles)
    with pytest.raises(MalformedAnswerError, match=f"BTC candle {field}"):
        candles_frame(_set(candles, (1, field), bad))
    funding = SyntheticHistory(ENGINE).funding("ETH", t, t + 3 * 3_600_000)
    key = "time" if field in "tv" else "fundingRate"
    with pytest.raises(MalformedAnswerError, match="ETH funding" if key == "time" else "ETH fundingRate"):
        funding_frame(_set(funding, (0, key), bad))
