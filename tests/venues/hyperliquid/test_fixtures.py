"""Every recorded mainnet response in the shared fixtures parses (numbers as strings, signed szi with unsigned
positionValue, kPEPE-style symbols); the local exchange seeds itself from them."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from defipm.venues.hyperliquid.history import candles_frame, funding_frame
from defipm.venues.hyperliquid.parsing import (
    parse_fills,
    parse_frontend_open_orders,
    parse_l2,
    parse_meta,
    parse_mids,
    parse_user_state,
)
from defipm.venues.hyperliquid.sim.seed import fixture_seed, read_cassette

_SHARED = (Path(__file__).resolve().parents[3].parent / "shared", Path("/work/shared"))
FIXTURES = next((p / "fixtures/hyperliquid" for p in _SHARED if (p / "fixtures/hyperliquid").is_dir()), _SHARED[0])
CASSETTES = sorted(FIXTURES.glob("*.yaml")) if FIXTURES.is_dir() else []
pytestmark = pytest.mark.skipif(
    not CASSETTES, reason=f"recorded Hyperliquid responses not found in {FIXTURES} (shared fixtures folder absent)"
)


def _check(kind: str, body) -> None:
    if kind == "meta":
        rules, _ = parse_meta(body)
        assert rules["BTC"].size_step == Decimal("0.00001") and rules["kPEPE"].size_step == 1
        assert rules["BTC"].max_price_decimals == 1
    elif kind == "allMids":
        mids = parse_mids(body)
        assert mids["kPEPE"] == Decimal("0.001565")
    elif kind == "clearinghouseState":
        st = parse_user_state(body)
        assert st.positions["BTC"] < 0 < st.position_values["BTC"]
        raw_plus_marked = st.raw_usd + sum(q * st.mark(c) for c, q in st.positions.items())
        assert abs(raw_plus_marked - st.account_value) < Decimal("0.01")
    elif kind in ("userFills", "userFillsByTime"):
        fills = parse_fills(body)
        assert fills and all(f.quantity > 0 and f.price > 0 for f in fills)
    elif kind in ("openOrders", "frontendOpenOrders"):
        assert all(o.size > 0 for o in parse_frontend_open_orders(body))
    elif kind == "l2Book":
        bids, asks = parse_l2(body)
        assert bids[0][0] < asks[0][0]
    elif kind == "candleSnapshot":
        frame = candles_frame(body)
        assert list(frame.columns[:6]) == ["date", "open", "high", "low", "close", "volume"]
        assert (frame["high"] >= frame["low"]).all()
    elif kind == "fundingHistory":
        frame = funding_frame(body)
        assert frame["date"].is_monotonic_increasing and len(frame) == len(body)
    else:  # other info types: shapes we do not consume; they must still be valid JSON with string numbers
        assert body is not None


@pytest.mark.parametrize("path", CASSETTES, ids=[p.name for p in CASSETTES])
def test_every_recorded_response_parses(path: Path):
    interactions = read_cassette(path)
    assert interactions
    for request, status, body in interactions:
        assert status == 200
        _check(request["type"], body)


def test_local_exchange_seeds_from_recordings():
    seed = fixture_seed(FIXTURES)
    assert seed is not None and seed.mids["BTC"] == Decimal("30135.0")
    assert "kPEPE" in {a["name"] for a in seed.universe}
