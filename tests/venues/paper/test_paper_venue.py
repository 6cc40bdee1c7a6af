"""The paper venue keeps exact books: cash plus positions equals equity, margin and spot rules hold, state persists."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from defipm import (
    InsufficientMarginError,
    Order,
    OrderStatus,
    OrderType,
    PaperVenue,
    Side,
    SlippageModel,
    Store,
    UnknownSymbolError,
    Weights,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)
PRICES = {"BTC": 40_000.0, "ETH": 2_000.0, "SOL": 100.0}


def venue(**kw) -> PaperVenue:
    v = PaperVenue(initial_cash=Decimal(10_000), **kw)
    v.update_market(T0, PRICES, {"BTC": 1e9, "ETH": 5e8, "SOL": 1e8})
    return v


def books_balance(v: PaperVenue) -> None:
    snap = v.snapshot()
    value = sum(q * snap.prices[s] for s, q in snap.positions.items())
    assert snap.cash + value == snap.equity == v.get_equity()


def test_rebalance_reports_execution_figures():
    v = venue(slippage=SlippageModel(fixed_bps=5), taker_fee="0.001")
    report = v.set_portfolio_weights(Weights({"BTC": 0.5, "ETH": -0.3, "SOL": 0.2}))
    assert report.ok and len(report.results) == 3
    assert report.fees == sum(f.quantity * f.price * Decimal("0.001") for f in report.fills)
    # 5 bps against the mid on every fill
    expected_slip = sum(f.quantity * Decimal(repr(PRICES[f.symbol])) * Decimal("0.0005") for f in report.fills)
    assert report.slippage_cost == pytest.approx(expected_slip, rel=Decimal("1e-12"))
    assert report.equity_after == Decimal(10_000) - report.fees - report.slippage_cost
    assert report.weights_after["ETH"] < 0
    assert 0.99 < report.turnover < 1.0
    books_balance(v)


def test_spot_mode_forbids_shorts_and_overspending():
    v = venue(mode="spot")
    res = v.execute_trade("ETH", -1)
    assert res.status is OrderStatus.REJECTED and "spot mode forbids shorts" in res.error
    res = v.execute_trade("BTC", 1)
    assert res.status is OrderStatus.REJECTED and "cash is 10000" in res.error
    assert v.get_positions() == {} and v.get_cash() == Decimal(10_000)


def test_perp_margin_limit():
    v = venue(max_leverage=2)
    assert v.execute_trade("BTC", "0.45").status is OrderStatus.FILLED  # 18k notional on 10k equity
    res = v.execute_trade("ETH", 2)  # +4k would take gross to 22k > 2 x ~10k
    assert res.status is OrderStatus.REJECTED and "max_leverage" in res.error
    with pytest.raises(InsufficientMarginError):
        v.withdraw(2_000)  # margin used 9k, free ~1k
    books_balance(v)


def test_refusals_show_amounts_as_plain_decimals():
    """Amounts people read are plain decimals (never ``1E+9`` or ``1E-8``), and the withdrawable amount shown is
    one that can be withdrawn (rounded down to the cent, not up)."""
    from defipm import InstrumentRules

    v = venue(rules={"SOL": InstrumentRules(size_step=Decimal("1E-8"))})
    v.execute_trade("SOL", Decimal("0.33333333"))  # cash left with many decimals
    with pytest.raises(InsufficientMarginError) as caught:
        v.withdraw(Decimal("1E+9"))
    shown = str(caught.value).rsplit(" ", 1)[-1]
    assert "withdrawal of 1000000000 exceeds" in str(caught.value) and "E" not in str(caught.value)
    assert Decimal(shown) <= v.withdrawable()
    v.withdraw(Decimal(shown))  # what it shows can be taken out
    off = v.submit_order(Order("SOL", Side.BUY, Decimal("1.000000001"), client_order_id="off"))
    assert "size 1.000000001 is not a multiple of the size step 0.00000001" in (off.error or "")


def test_a_book_below_its_initial_margin_can_always_reduce_and_close():
    v = venue(max_leverage=2)
    v.execute_trade("BTC", "0.45")
    v.execute_trade("SOL", -10)
    v.update_market(T0 + timedelta(hours=1), {**PRICES, "BTC": 32_000.0})  # equity ~6.4k, gross ~15.4k
    assert v.margin_used() > v.get_equity() > v.margin_used() / 2  # below initial margin, above maintenance
    assert v.liquidations == []
    assert v.execute_trade("ETH", 1).status is OrderStatus.REJECTED  # no new exposure
    assert v.execute_trade("BTC", "-0.2").status is OrderStatus.FILLED  # a reduction
    assert v.execute_trade("BTC", "-0.25").status is OrderStatus.FILLED  # the close
    assert v.execute_trade("SOL", 10).status is OrderStatus.FILLED
    assert v.get_positions() == {}
    books_balance(v)


def test_equity_below_the_maintenance_margin_liquidates_the_book(store: Store):
    """Hyperliquid's rule: maintenance margin = half the initial margin at max leverage, gross / (2 x 2) here.
    BTC 40,000 -> 15,000 on 0.45 BTC long leaves equity far below it (below zero, even): the exchange closes
    everything at the mark, and the account ends at zero, the shortfall absorbed."""
    v = PaperVenue(initial_cash=Decimal(10_000), max_leverage=2, store=store, account="liq")
    v.update_market(T0, PRICES)
    v.execute_trade("BTC", "0.45")
    v.execute_trade("SOL", -10)
    cash_before = v.get_cash()
    v.update_market(T0 + timedelta(hours=1), {**PRICES, "BTC": 15_000.0})
    assert v.get_positions() == {}
    [liq] = v.liquidations
    assert liq.equity == cash_before + Decimal("0.45") * 15_000 - 10 * 100  # marked at the triggering prices
    assert liq.maintenance == (Decimal("0.45") * 15_000 + 10 * 100) / 4
    fees = Decimal("0.45") * 15_000 * Decimal("0.00045") + 10 * 100 * Decimal("0.00045")
    assert liq.shortfall == -(liq.equity - fees) and v.get_cash() == 0 == v.get_equity()
    assert {f.symbol: (f.side, f.quantity) for f in liq.fills} == {
        "BTC": (Side.SELL, Decimal("0.45")),
        "SOL": (Side.BUY, 10),
    }
    assert "liquidated: equity" in v.pop_notices()[0] and v.pop_notices() == []
    restarted = PaperVenue(store=store, account="liq", max_leverage=2)
    assert restarted.get_positions() == {} and restarted.get_cash() == 0


def test_no_liquidation_above_the_maintenance_margin():
    v = venue(max_leverage=3)  # maintenance = gross / 6
    v.execute_trade("BTC", "0.6")  # 24k notional on 10k
    v.update_market(T0 + timedelta(hours=1), {**PRICES, "BTC": 28_500.0})  # equity ~3.1k, maintenance ~2.85k
    assert v.get_positions() == {"BTC": Decimal("0.6")} and v.liquidations == []
    v.update_market(T0 + timedelta(hours=2), {**PRICES, "BTC": 28_000.0})  # equity ~2.8k < maintenance 2.8k
    assert v.get_positions() == {} and len(v.liquidations) == 1


def test_funding_that_drains_equity_below_the_maintenance_margin_liquidates_at_once():
    """Between two marks, funding alone can take equity below the maintenance margin (even below zero): it used
    to leave the book open, valued at -1,613 here, until the next price update."""
    v = venue(max_leverage=3)  # maintenance = gross / 6
    v.execute_trade("BTC", "0.7")  # 28k notional on 10k
    equity = v.get_equity()
    assert v.apply_funding({"BTC": 0.1}) == Decimal("0.7") * 40_000 * Decimal("0.1")  # 2.8k: equity ~7.2k, ok
    assert v.get_positions() == {"BTC": Decimal("0.7")} and v.liquidations == []
    paid = v.apply_funding({"BTC": 0.2})  # 5.6k more: equity ~1.6k < maintenance ~4.67k
    assert paid == Decimal("5600.0")
    [liq] = v.liquidations
    assert (
        liq.equity == equity - Decimal("2800.0") - paid
        and liq.maintenance == Decimal("0.7") * 40_000 * v.maintenance_margin
    )
    assert v.get_positions() == {} and v.get_equity() >= 0
    books_balance(v)


def test_reduce_only_and_unknown_symbol():
    v = venue()
    v.execute_trade("SOL", 10)
    res = v.execute_trade("SOL", 11, reduce_only=True)
    assert res.status is OrderStatus.REJECTED and "reduce-only" in res.error
    with pytest.raises(UnknownSymbolError, match="DOGE"):
        v.execute_trade("DOGE", 1)


def test_ioc_limit_respected():
    v = venue(slippage=SlippageModel(fixed_bps=50))
    res = v.submit_order(
        Order("SOL", Side.BUY, Decimal(1), OrderType.LIMIT_IOC, limit_price=Decimal("100.2"), client_order_id="0x1")
    )
    assert res.status is OrderStatus.REJECTED and "IOC limit" in res.error


def test_funding_moves_cash_not_positions():
    v = venue()
    v.execute_trade("BTC", "0.1")
    v.execute_trade("ETH", -1)
    before = v.get_cash()
    paid = v.apply_funding({"BTC": 0.0001, "ETH": 0.0001})
    # long BTC pays 4000 x 1e-4 = 0.4, short ETH receives 2000 x 1e-4 = 0.2
    assert paid == Decimal("0.2")
    assert v.get_cash() == before - Decimal("0.2")
    books_balance(v)


def test_same_seed_same_fills():
    def run(seed):
        v = venue(slippage=SlippageModel(fixed_bps=1, noise_bps=10), seed=seed)
        return [f.price for f in v.set_portfolio_weights(Weights({"BTC": 0.3, "ETH": 0.3, "SOL": -0.3})).fills]

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_state_persists_across_restart(store: Store):
    v = PaperVenue(initial_cash=Decimal(5_000), store=store, account="acct")
    v.update_market(T0, PRICES)
    v.set_portfolio_weights(Weights({"BTC": 0.4, "SOL": -0.2}))
    v.deposit(1_000)
    restarted = PaperVenue(initial_cash="5000.00", store=store, account="acct")  # the same cash, as text
    assert restarted.get_cash() == v.get_cash()
    assert restarted.get_positions() == v.get_positions()
    assert restarted.get_equity() == v.get_equity()  # marks persisted too
    # the exchange remembers its fills by client order id
    cloid = next(iter(v._results))
    found = restarted.lookup_order(cloid)
    assert found is not None and found.status is OrderStatus.FILLED


def test_a_stored_account_refuses_another_initial_cash_and_changes_nothing(store: Store):
    v = PaperVenue(initial_cash=Decimal(5_000), store=store, account="acct")
    v.update_market(T0, PRICES)
    v.set_portfolio_weights(Weights({"BTC": 0.4}))
    with pytest.raises(ValueError) as err:
        PaperVenue(initial_cash=Decimal(20_000), store=store, account="acct")
    message = str(err.value)
    assert "'acct'" in message and "opened with 5000 cash" in message and "initial_cash = 20000" in message
    assert "remove initial_cash" in message and "account" in message  # the fixes
    left_out = PaperVenue(store=store, account="acct")  # left out: the stored books go on
    assert left_out.get_cash() == v.get_cash() and left_out.get_positions() == v.get_positions()
    fresh = PaperVenue(store=store, account="other")
    assert fresh.get_cash() == Decimal(10_000)  # a new account without initial_cash opens with the default


def test_a_stored_account_refuses_another_mode_naming_the_fix(store: Store):
    PaperVenue(initial_cash=Decimal(5_000), store=store, account="acct")
    with pytest.raises(ValueError, match="stored in perp mode, not spot: set mode = 'perp', or use another account"):
        PaperVenue(store=store, account="acct", mode="spot")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["BTC", "ETH", "SOL"]),
            st.decimals(min_value=-3, max_value=3, places=3).filter(lambda d: d != 0),
            st.floats(min_value=0.5, max_value=2.0),
        ),
        max_size=25,
    )
)
def test_books_always_balance_to_the_cent(trades):
    v = venue(slippage=SlippageModel(fixed_bps=3, impact=0.1), max_leverage=5)
    t = T0
    for symbol, qty, move in trades:
        v.execute_trade(symbol, qty)
        t += timedelta(hours=1)
        v.update_market(t, {s: p * move for s, p in PRICES.items()})
        books_balance(v)
        assert v.get_cash() + sum(q * v.get_prices()[s] for s, q in v.get_positions().items()) == v.get_equity()


def test_costs_never_leave_gross_above_target():
    v = venue(slippage=SlippageModel(fixed_bps=10), taker_fee="0.001")
    report = v.set_portfolio_weights(Weights({"BTC": 0.6, "ETH": -0.4}))
    assert report.weights_after.gross <= 1.0
    assert report.weights_after.gross > 0.99


def test_stale_prices_are_refused():
    from defipm import MissingPriceError

    v = PaperVenue(initial_cash=Decimal(1_000), max_price_age=60)
    v.update_market(datetime.now(UTC) - timedelta(minutes=5), PRICES)
    with pytest.raises(MissingPriceError, match="above max_price_age 60s"):
        v.set_portfolio_weights(Weights({"BTC": 0.5}))
    assert v.get_positions() == {}


def test_marks_persist_with_every_market_update(store: Store):
    v = PaperVenue(initial_cash=Decimal(5_000), store=store, account="marks")
    v.update_market(T0, PRICES)
    v.set_portfolio_weights(Weights({"BTC": 0.4, "SOL": -0.2}))
    v.update_market(T0 + timedelta(hours=1), {s: p * 1.1 for s, p in PRICES.items()})
    restarted = PaperVenue(store=store, account="marks")
    assert restarted.get_equity() == v.get_equity()


def test_recent_results_stay_bounded_and_older_fills_are_found_in_the_store(
    store: Store, monkeypatch: pytest.MonkeyPatch
):
    import defipm.venues.paper.venue as paper

    monkeypatch.setattr(paper, "RECENT_RESULTS", 5)
    v = PaperVenue(initial_cash=Decimal(10_000), store=store, account="bounded")
    v.update_market(T0, PRICES)
    cloids = []
    for i in range(23):
        cloid = f"0x{i:032x}"
        v.submit_order(Order("SOL", Side.BUY if i % 2 == 0 else Side.SELL, Decimal(1), client_order_id=cloid))
        cloids.append(cloid)
        assert len(v._results) < 2 * paper.RECENT_RESULTS
    assert list(v._results)[-1] == cloids[-1]  # the newest stay in memory
    assert cloids[0] not in v._results
    for cloid in (cloids[0], cloids[-1]):
        found = v.lookup_order(cloid)
        assert found is not None and found.status is OrderStatus.FILLED
        assert found.order.client_order_id == cloid and found.fills[0].quantity == 1


def test_an_order_off_the_size_step_or_below_the_minimum_notional_is_refused_as_an_exchange_would():
    """The paper venue filled whatever it was sent: 0.123456789 SOL on a 0.001 step, $5 on a $10 minimum. It
    refuses them now, naming the rule, and changes nothing; closing a whole off-step position stays allowed."""
    from defipm import InstrumentRules

    rules = {"SOL": InstrumentRules(size_step=Decimal("0.001"), min_notional=Decimal(10), min_notional_on_close=False)}
    v = venue(rules=rules)
    off = v.submit_order(Order("SOL", Side.BUY, Decimal("0.123456789"), client_order_id="off"))
    small = v.submit_order(Order("SOL", Side.BUY, Decimal("0.05"), client_order_id="small"))
    assert (off.status, small.status) == (OrderStatus.REJECTED, OrderStatus.REJECTED)
    assert "size 0.123456789 is not a multiple of the size step 0.001" in (off.error or "")
    assert "notional 5 is below the minimum notional 10" in (small.error or "")
    assert v.get_cash() == Decimal(10_000) and not v.positions
    v.positions["SOL"] = Decimal("0.0123456")  # dust left by other rules: a full close goes through
    closed = v.submit_order(Order("SOL", Side.SELL, Decimal("0.0123456"), reduce_only=True, client_order_id="c"))
    assert closed.status is OrderStatus.FILLED and not v.positions


@pytest.mark.parametrize("rate", [float("nan"), Decimal("NaN"), Decimal("sNaN"), float("inf"), True, "0.01", None])
def test_a_funding_rate_that_is_not_a_finite_number_is_refused_by_symbol_and_charges_nothing(rate):
    """A NaN rate made cash NaN (then an InvalidOperation escaped from the margin check); ``True`` charged 100%."""
    v = venue()
    v.execute_trade("BTC", "0.1")
    v.execute_trade("ETH", "1")
    cash = v.get_cash()
    with pytest.raises(ValueError, match="funding rate for ETH: expected a finite number"):
        v.apply_funding({"BTC": 0.001, "ETH": rate})
    assert v.get_cash() == cash
