"""Edges of the portfolio loop's safety found in review: the kill switch against a restart's resend, flows and the
drawdown breaker, non-finite input, stale prices, caps after the turnover limit, config mistakes, secrets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from defipm import CycleStatus, PaperVenue, PortfolioManager, RiskLimits, StaticOracle, Store
from defipm.core.orders import Order, OrderType, Side
from defipm.journal import SqlJournal
from defipm.manager import set_kill_switch

T0 = datetime(2024, 1, 1, tzinfo=UTC)
PRICES = {"BTC": 40_000.0, "ETH": 2_000.0, "SOL": 100.0}


@pytest.fixture
def store(tmp_path: Path):
    s = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    yield s
    s.close()


def paper(store=None, **kw):
    v = PaperVenue(initial_cash=Decimal(10_000), store=store, **kw)
    v.update_market(T0, PRICES)
    return v


# -- 1. the kill switch does not stop the restart resend ---------------------------------------------------------
def test_a_restart_under_the_kill_switch_sends_nothing(store):
    """A rebalance crashed after journalling its intents; the operator engages the kill switch before restarting.
    The restarted manager sends nothing while the switch is on (the crashed plan's intents are abandoned)."""
    venue = paper(store)
    SqlJournal(store, "default").record_intents(
        [Order("BTC", Side.BUY, Decimal("0.1"), OrderType.MARKET, reference_price=Decimal(40_000))], "crashed-cycle"
    )
    set_kill_switch(store, "default", "operator: stop everything")

    restarted = PortfolioManager(StaticOracle({"ETH": 0.5}), venue, store=store)
    report = restarted.manage_portfolio(datetime.now(UTC))
    assert report.status is CycleStatus.HALTED
    assert venue.get_positions() == {}, f"an order was sent while the kill switch was on: {venue.get_positions()}"


def test_a_manual_trade_under_the_kill_switch_sends_nothing(store):
    venue = paper(store)
    SqlJournal(store, "default").record_intents(
        [Order("BTC", Side.BUY, Decimal("0.1"), OrderType.MARKET, reference_price=Decimal(40_000))], "crashed-cycle"
    )
    set_kill_switch(store, "default", "operator: stop everything")
    restarted = PortfolioManager(StaticOracle({"ETH": 0.5}), venue, store=store)
    with pytest.raises(Exception, match="halted"):
        restarted.execute_trade("ETH", 1)
    assert venue.get_positions() == {}, f"an order was sent while the kill switch was on: {venue.get_positions()}"


# -- 2. drawdown breaker and flows ------------------------------------------------------------------------------
def _at_loss(store, max_drawdown):
    """A manager whose book has lost 20% from its peak (no fees, no slippage)."""
    venue = paper(store, taker_fee=0)
    m = PortfolioManager(StaticOracle({"BTC": 1.0}), venue, store=store, risk=RiskLimits(max_drawdown=max_drawdown))
    assert m.manage_portfolio(T0).status is CycleStatus.TRADED
    venue.update_market(T0 + timedelta(hours=1), {**PRICES, "BTC": 32_000.0})  # -20%
    assert m.manage_portfolio(T0 + timedelta(hours=1)).status is CycleStatus.TRADED
    return venue, m


def test_a_withdrawal_does_not_trip_the_drawdown_breaker(store):
    """README/ARCHITECTURE: "the drawdown breaker's peak moves with flows, so a withdrawal never trips it".
    At a 20% drawdown (limit 25%), withdrawing half the account must leave the drawdown at 20%."""
    venue, m = _at_loss(store, 0.25)
    half = (venue.get_equity() / 2).quantize(Decimal("0.01"))
    # close the position first so that the cash is withdrawable; that is not a loss (no fee)
    m.oracle = StaticOracle({"BTC": 0.2})
    assert m.manage_portfolio(T0 + timedelta(hours=2)).status is CycleStatus.TRADED
    m.withdraw(half, T0 + timedelta(hours=3))
    report = m.manage_portfolio(T0 + timedelta(hours=4))
    assert report.status is CycleStatus.TRADED, report.error


def test_a_deposit_does_not_hide_a_drawdown(store):
    """ "a deposit never hides a loss": at 20% below the peak, a deposit as big as the account must not halve
    the measured drawdown (limit 15% here: the breaker must trip on the next cycle)."""
    venue = paper(store, taker_fee=0)
    m = PortfolioManager(StaticOracle({"BTC": 1.0}), venue, store=store, risk=RiskLimits(max_drawdown=0.15))
    m.manage_portfolio(T0)
    venue.update_market(T0 + timedelta(hours=1), {**PRICES, "BTC": 32_000.0})  # -20%, no cycle in between
    m.deposit(venue.get_equity(), T0 + timedelta(hours=1))
    report = m.manage_portfolio(T0 + timedelta(hours=2))
    assert report.status is CycleStatus.HALTED, "a 20% loss went unnoticed after a deposit (limit 15%)"


def test_kill_switch_off_from_another_process_releases_a_running_breaker(store):
    """`defipm kill-switch off` (another process: only the database) also releases a tripped drawdown breaker of
    a `defipm run` that is running: it reads the peak from the store each cycle."""
    venue = paper(store, taker_fee=0)
    running = PortfolioManager(StaticOracle({"BTC": 1.0}), venue, store=store, risk=RiskLimits(max_drawdown=0.1))
    running.manage_portfolio(T0)
    venue.update_market(T0 + timedelta(hours=1), {**PRICES, "BTC": 34_000.0})  # -15%
    assert running.manage_portfolio(T0 + timedelta(hours=1)).status is CycleStatus.HALTED

    set_kill_switch(store, "default", None)  # what `defipm kill-switch off` does, from another process

    report = running.manage_portfolio(T0 + timedelta(hours=2))
    assert report.status is CycleStatus.TRADED, report.error


# -- 3. money exactness -----------------------------------------------------------------------------------------
def test_float_deposit_is_recorded_exactly(store):
    """The venue credits Decimal(repr(0.1)); the flow (and the peak) must record the same 0.1, not the binary
    expansion of the float."""
    venue = paper(store)
    m = PortfolioManager(StaticOracle({"BTC": 0.5}), venue, store=store)
    m.deposit(0.1, T0)
    assert venue.get_cash() == Decimal("10000.1")
    [(_, amount)] = store.flows("default")
    assert amount == Decimal("0.1"), f"flow recorded as {amount}"


# -- 4. CLI -----------------------------------------------------------------------------------------------------
def _config(tmp_path: Path) -> Path:
    cfg = tmp_path / "defipm.toml"
    cfg.write_text(
        f"""
run = "test"
database = "sqlite:///{tmp_path / "cli.sqlite"}"
[oracle]
kind = "static"
[oracle.params]
weights = {{ SYN000 = 0.4, SYN001 = 0.3 }}
[venue]
kind = "paper"
[market]
n_assets = 4
"""
    )
    return cfg


def test_cli_trade_with_a_non_numeric_limit_is_a_clear_error(tmp_path: Path):
    result = CliRunner().invoke(app_(), ["trade", "buy", "SYN000", "1", "--limit", "abc", "-c", str(_config(tmp_path))])
    assert result.exit_code in (1, 2), result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), repr(
        result.exception
    )


def app_():
    from defipm.cli import app

    return app


# -- 5. a NaN limit price is journalled, sent, crashes mid-send and blocks restarts -----------------------------
def test_nan_limit_price_is_refused_before_journalling(store):
    venue = paper(store)
    m = PortfolioManager(StaticOracle({"BTC": 0.5}), venue, store=store)
    with pytest.raises((ValueError, Exception)) as exc:
        m.execute_trade("BTC", Decimal("0.1"), "limit_ioc", limit_price=float("nan"))
    assert "limit" in str(exc.value).lower(), f"unclear error: {exc.value!r}"
    open_rows = [o for o in m.journal.orders() if o.status in ("planned", "sent", "unknown")]
    assert open_rows == [], f"journal left an open intent: {[(o.symbol, o.status) for o in open_rows]}"


def test_a_refused_nan_limit_leaves_nothing_for_a_restart(store):
    """`defipm trade buy BTC 0.1 --limit nan` once left an intent marked SENT that every later `defipm rebalance`
    resent and crashed on."""
    venue = paper(store)
    m = PortfolioManager(StaticOracle({"BTC": 0.5}), venue, store=store)
    with pytest.raises(ValueError, match="limit price"):  # refused before anything is journalled
        m.execute_trade("BTC", Decimal("0.1"), "limit_ioc", limit_price="nan")
    restarted = PortfolioManager(StaticOracle({"BTC": 0.5}), venue, store=store)
    report = restarted.manage_portfolio(datetime.now(UTC))
    assert report.status is CycleStatus.TRADED


@pytest.mark.parametrize("qty", [float("nan"), float("inf"), "NaN"])
def test_non_finite_trade_quantity_is_a_clear_error(store, qty):
    venue = paper(store)
    m = PortfolioManager(StaticOracle({"BTC": 0.5}), venue, store=store)
    with pytest.raises(ValueError, match="quantity"):
        m.execute_trade("BTC", qty)
    assert venue.get_positions() == {}


# -- 6. configuration from the environment ----------------------------------------------------------------------
def test_cli_with_malformed_json_env_override_is_a_clear_error_not_a_traceback(tmp_path: Path):
    cfg = _config(tmp_path)
    result = CliRunner().invoke(app_(), ["status", "-c", str(cfg)], env={"DEFIPM_VENUE__PARAMS": "{mode: spot}"})
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)


def test_env_override_with_single_underscore_is_not_silently_ignored(tmp_path: Path, monkeypatch):
    """README: `DEFIPM_RISK__MAX_DRAWDOWN=0.2`; "unknown keys ... are errors that name the key". The natural typo
    DEFIPM_RISK_MAX_DRAWDOWN=0.2 is silently ignored: the operator believes a 20% breaker is armed."""
    from defipm.config import load_settings
    from defipm.core.errors import ConfigError

    monkeypatch.setenv("DEFIPM_RISK_MAX_DRAWDOWN", "0.2")
    try:
        settings = load_settings(_config(tmp_path))
    except ConfigError as exc:
        assert "DEFIPM_RISK_MAX_DRAWDOWN" in str(exc) or "risk" in str(exc).lower()
        return
    assert settings.risk.max_drawdown == 0.2, "DEFIPM_RISK_MAX_DRAWDOWN was silently ignored: no breaker"


def _config_with(tmp_path: Path, venue_params: str) -> Path:
    cfg = _config(tmp_path)
    cfg.write_text(
        cfg.read_text().replace(
            '[venue]\nkind = "paper"\n', f'[venue]\nkind = "paper"\n[venue.params]\n{venue_params}\n'
        )
    )
    return cfg


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ('initial_cash = "10k"', "venue.params.initial_cash"),
        ('taker_fee = "4.5bps"', "venue.params.taker_fee"),
        ('max_leverage = "3x"', "venue.params.max_leverage"),
        ("max_leverage = 0", "venue.params.max_leverage"),
        ("slippage = { fixed_bsp = 2 }", "venue.params.slippage.fixed_bsp: unknown key"),
        ("rules = { SYN000 = { size_step = -1 } }", "venue.params.rules.SYN000.size_step"),
        ("max_price_age = -5", "venue.params.max_price_age"),
        ("slippage = { max_slippage_bps = 10000 }", "venue.params.slippage.max_slippage_bps"),
        ("slippage = { max_participation = 0 }", "venue.params.slippage.max_participation"),
        ("maintenance_margin = -0.1", "venue.params.maintenance_margin"),
        ("maintenance_margin = 0.5", "maintenance_margin"),
    ],
)
def test_cli_bad_paper_venue_param_is_a_config_error_naming_the_key(tmp_path: Path, params, named):
    result = CliRunner().invoke(app_(), ["rebalance", "-c", str(_config_with(tmp_path, params))])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert named in " ".join(result.output.split())


@pytest.mark.parametrize(
    ("params", "built"),
    [
        ("slippage = { fixed_bps = 2 }", lambda v: v.slippage.fixed_bps == 2 and v.planner.cost_reserve_bps == 2),
        ("max_price_age = 600", lambda v: v.max_price_age == 600),
        ('rules = { SYN000 = { size_step = "0.001" } }', lambda v: v.get_rules("SYN000").size_step == Decimal("0.001")),
        (
            "slippage = { impact = 0.1, max_slippage_bps = 500, max_participation = 0.05 }",
            lambda v: (
                (v.slippage.impact, v.slippage.max_slippage_bps, v.slippage.max_participation) == (0.1, 500, 0.05)
            ),
        ),
        ("maintenance_margin = 0.1", lambda v: v.maintenance_margin == Decimal("0.1")),
    ],
)
def test_cli_paper_venue_tables_are_built(tmp_path: Path, params, built):
    """Each ``[venue.params]`` table reaches the venue the commands run on (and a rebalance runs with it)."""
    from defipm.assembly import build_portfolio
    from defipm.config import load_settings

    cfg = _config_with(tmp_path, params)
    with build_portfolio(load_settings(cfg), lock=False) as portfolio:
        assert built(portfolio.venue), params
    result = CliRunner().invoke(app_(), ["rebalance", "-c", str(cfg)])
    assert result.exit_code == 0, result.output


def test_cli_withdraw_with_zero_max_leverage_is_a_clear_error(tmp_path: Path):
    """max_leverage = 0 once made every withdrawal crash with decimal.DivisionByZero. It is refused where it is
    given (config or code), with one line naming the key, before anything is opened or withdrawn."""
    cfg = _config_with(tmp_path, "max_leverage = 0")
    result = CliRunner().invoke(app_(), ["withdraw", "10", "-c", str(cfg)])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    # one line naming the file and the key
    assert " ".join(result.output.split()).startswith(f"error: {cfg}: venue.params.max_leverage"), result.output
    assert not (tmp_path / "cli.sqlite").exists()  # refused before the store was opened: nothing withdrawn
    with pytest.raises(ValueError, match="max_leverage"):
        PaperVenue(max_leverage=0)


# -- 7. a manual trade of unknown outcome is not reconciled before the next cycle -------------------------------
def test_manual_trade_with_unknown_outcome_is_reconciled_before_next_cycle(store):
    """A cycle whose order ends UNKNOWN makes the next cycle reconcile first ("not trading until the venue
    confirms them"). A manual trade of unknown outcome does not: the next cycle plans on top of it and the
    journal keeps the intent UNKNOWN forever (until a restart)."""
    from defipm.core.orders import OrderStatus
    from defipm.testing.faults import FaultyVenue

    venue = FaultyVenue(fail_on={1: "unavailable"}, initial_cash=Decimal(10_000), store=store)
    venue.update_market(T0, PRICES)
    m = PortfolioManager(StaticOracle({"ETH": 0.5}), venue, store=store)
    result = m.execute_trade("BTC", Decimal("0.1"))
    assert result.status is OrderStatus.UNKNOWN
    m.manage_portfolio(T0 + timedelta(minutes=1))
    statuses = {o.symbol: o.status for o in m.journal.orders()}
    assert statuses["BTC"] != "unknown", "the unknown manual order was never reconciled before trading on"


# -- 8. stale prices: the restart resend fills on prices the venue itself calls too old ---------------------------
def test_restart_resend_does_not_trade_on_stale_prices(store):
    venue = PaperVenue(initial_cash=Decimal(10_000), store=store, max_price_age=60)
    venue.update_market(datetime.now(UTC) - timedelta(hours=2), PRICES)  # 2 h old: above max_price_age
    SqlJournal(store, "default").record_intents(
        [Order("BTC", Side.BUY, Decimal("0.1"), OrderType.MARKET, reference_price=Decimal(40_000))], "crashed-cycle"
    )
    m = PortfolioManager(StaticOracle({"BTC": 0.5}), venue, store=store)
    report = m.manage_portfolio(datetime.now(UTC))
    assert report.status is CycleStatus.FAILED and "above max_price_age 60s" in report.error
    assert venue.get_positions() == {}, f"filled on 2-hour-old prices: {venue.get_positions()}"


# -- 9. risk limits: the turnover cap can leave the executed target above max_gross_leverage / max_weight ----------
def test_turnover_cap_keeps_executed_target_within_gross_and_weight_caps():
    from defipm.core.risk import apply_risk_limits
    from defipm.core.weights import Weights

    current = Weights({"BTC": 2.4, "ETH": 0.6})  # prices moved: the book is now 3x levered
    target = Weights({"BTC": 0.5, "ETH": 0.5})
    limits = RiskLimits(max_gross_leverage=1.5, max_weight=0.8, max_turnover=0.5)
    decision = apply_risk_limits(target, current, limits)
    w = decision.weights
    assert w.gross <= 1.5 + 1e-9, f"executed gross {w.gross:.3f} above max_gross_leverage 1.5: {w}"
    assert max(abs(x) for x in w.values()) <= 0.8 + 1e-9, f"executed weight above max_weight 0.8: {w}"


# -- 10. secrets in reprs ---------------------------------------------------------------------------------------
def test_settings_repr_does_not_show_the_database_password(tmp_path: Path):
    """Store's repr redacts the password of its URL; Settings (and the Portfolio dataclass holding it) do not."""
    from defipm.config import settings_from_dict

    settings = settings_from_dict({"database": "postgresql+psycopg://trader:hunter2@db.internal/defipm"})
    assert "hunter2" not in repr(settings), repr(settings)
    assert "hunter2" not in str(settings)
