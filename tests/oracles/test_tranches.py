"""Tranches: k staggered books of the same signal, each rebalanced every k periods; the turnover spreads out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

pd = pytest.importorskip("pandas")

from defipm.core.errors import ConfigError  # noqa: E402
from defipm.data.numerai import MetaModelHistory  # noqa: E402
from defipm.oracles.tbn import TBNOracle  # noqa: E402
from defipm.oracles.tranches import TranchedOracle  # noqa: E402
from defipm.testing.numerai import synthetic_meta_model  # noqa: E402

COINS = ["BTC", "ETH", "SOL", "AVAX", "LINK", "DOGE", "ARB", "OP", "XRP", "ADA"]
HISTORY = MetaModelHistory.from_frame(synthetic_meta_model(COINS, datetime(2024, 1, 1), 40, seed=9))


def tbn() -> TBNOracle:
    return TBNOracle(2, history=HISTORY, max_staleness=None)


def day(n: int) -> datetime:
    return datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=n, hours=1)


def test_the_book_is_the_average_of_the_last_k_periods_targets():
    oracle = TranchedOracle(tbn(), 3)
    book = oracle.fetch_portfolio_weights(day(10), COINS)
    plain = tbn()
    parts = [plain.fetch_portfolio_weights(day(10 - j), COINS) for j in range(3)]
    expected = {s: sum(p.get(s, 0.0) for p in parts) / 3 for s in COINS}
    assert dict(book) == pytest.approx({s: w for s, w in expected.items() if w})
    assert book.gross <= 1.0 + 1e-12 and abs(book.net) < 1e-12
    assert oracle.validate_weights(book)


def test_the_turnover_spreads_over_the_tranches():
    def turnover(oracle) -> float:
        books = [oracle.fetch_portfolio_weights(day(d), COINS) for d in range(8, 30)]
        return sum(sum(abs(b.get(s, 0.0) - a.get(s, 0.0)) for s in COINS) for a, b in pairwise(books))

    one, four = turnover(TranchedOracle(tbn(), 1)), turnover(TranchedOracle(tbn(), 4))
    assert four < one / 2  # each period only a quarter of the book takes the new picks


def test_a_restart_derives_the_same_book_without_stored_state():
    first = TranchedOracle(tbn(), 5)
    for d in range(6, 12):
        book = first.fetch_portfolio_weights(day(d), COINS)
    assert TranchedOracle(tbn(), 5).fetch_portfolio_weights(day(11), COINS) == book


def test_before_k_periods_of_signal_the_tranches_are_seeded_or_in_cash():
    seeded = TranchedOracle(tbn(), 4)
    book = seeded.fetch_portfolio_weights(day(1), COINS)  # the signal starts on day 0: usable from day 1
    assert book == tbn().fetch_portfolio_weights(day(1), COINS)
    assert "3 of 4 have no signal of their own yet: they hold the current target" in seeded.pop_notes()[-1]
    cash = TranchedOracle(tbn(), 4, seed_full=False).fetch_portfolio_weights(day(1), COINS)
    assert cash.gross == pytest.approx(0.25)


def test_symbols_that_left_the_universe_are_dropped_and_noted():
    oracle = TranchedOracle(tbn(), 3)
    yesterday = oracle.fetch_portfolio_weights(day(9), COINS)  # the tranche of day 9 holds these
    gone = next(iter(yesterday))
    book = oracle.fetch_portfolio_weights(day(10), [c for c in COINS if c != gone])
    assert gone not in book and any(f"dropped: {gone}" in n for n in oracle.pop_notes())


@pytest.mark.parametrize(("k", "period"), [(0, timedelta(days=1)), (2, timedelta(0)), (2.5, timedelta(days=1))])
def test_bad_tranche_settings_are_refused(k, period):
    with pytest.raises(ConfigError):
        TranchedOracle(tbn(), k, period)  # type: ignore[arg-type]


def test_one_tranche_is_the_inner_book():
    assert TranchedOracle(tbn(), 1).fetch_portfolio_weights(day(10), COINS) == tbn().fetch_portfolio_weights(
        day(10), COINS
    )
