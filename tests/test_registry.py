"""One construction path: a config model validates the params of every oracle and venue, then from_config builds."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from defipm.component import BuildContext
from defipm.config_schema import ConfigModel, mark_booleans
from defipm.core.errors import ConfigError
from defipm.core.weights import Weights
from defipm.oracles.base import Oracle
from defipm.registry import (
    BUILTIN_ORACLES,
    BUILTIN_VENUES,
    _candidates,
    _load_class,
    _spec,
    available_oracles,
    build_oracle,
    build_venue,
)


def _builtins() -> list[tuple[str, type]]:
    """(kind, class) of every built-in whose extra is installed."""
    import importlib

    found = []
    for kind, target in [*BUILTIN_ORACLES.items(), *BUILTIN_VENUES.items()]:
        module, _, name = target.partition(":")
        try:
            found.append((kind, getattr(importlib.import_module(module), name)))
        except ModuleNotFoundError:  # an extra that is not installed
            continue
    return found


@pytest.mark.parametrize(("kind", "cls"), _builtins(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_builtin_declares_a_config_model(kind: str, cls: type):
    assert issubclass(cls.config_model, ConfigModel), f"{kind}: declare a config_model (a ConfigModel)"


def _number_fields(model: type[BaseModel], prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
    """(dotted key, params putting ``true`` there) for every field of ``model`` that reads a number."""
    out = []
    for name, field in model.model_fields.items():
        if isinstance(mark_booleans(field.annotation, True), bool):
            nested = field.annotation
            if isinstance(nested, type) and issubclass(nested, BaseModel):
                out += [(f"{name}.{key}", {name: params}) for key, params in _number_fields(nested)]
            continue
        out.append((f"{prefix}{name}", {name: True}))
    return out


CASES = [
    (kind, key, params)
    for kind, cls in _builtins()
    if kind in ("static", "equal_weight", "momentum", "tbn", "paper", "hyperliquid")
    for key, params in _number_fields(cls.config_model)
]


@pytest.mark.parametrize(("kind", "key", "params"), CASES, ids=[f"{k}.{key}" for k, key, _ in CASES])
def test_a_boolean_for_a_number_is_refused_in_every_builtin(kind: str, key: str, params: dict[str, Any]):
    build = build_venue if kind in BUILTIN_VENUES else build_oracle
    with pytest.raises(ConfigError, match=rf"params\.{key}: expected a (whole )?number, got True"):
        build(kind, params)


def test_unknown_keys_name_the_accepted_ones_and_a_near_miss():
    with pytest.raises(ConfigError) as refused:
        build_venue("paper", {"inital_cash": 5000, "rules": {"BTC": {"size_stp": "0.001"}}})
    message = str(refused.value)
    assert "venue.params.inital_cash: unknown key (did you mean initial_cash? accepted: initial_cash, mode" in message
    assert "venue.params.rules.BTC.size_stp: unknown key (did you mean size_step? accepted: size_step" in message
    with pytest.raises(ConfigError, match=r"oracle: unknown kind 'equalweight' \(did you mean equal_weight\?"):
        build_oracle("equalweight", {})


def test_momentum_outside_a_backtest_says_where_it_runs():
    with pytest.raises(ConfigError, match="momentum reads price history from a backtest's market view"):
        build_oracle("momentum", {"lookback": 5})


def test_amounts_and_symbols_are_bounded_and_say_why():
    with pytest.raises(
        ConfigError, match=r"initial_cash: at most 1000000000000000 \(amounts are kept exact to 28 significant"
    ):
        build_venue("paper", {"initial_cash": 1e23})
    with pytest.raises(ConfigError, match=r"oracle.params.weights: key '': a symbol is a non-empty name"):
        build_oracle("static", {"weights": {"": 0.5}})
    with pytest.raises(ConfigError, match=r"oracle.params.symbols: value error, listed twice: BTC|listed twice: BTC"):
        build_oracle("equal_weight", {"symbols": ["BTC", "ETH", "BTC"]})
    venue = build_venue("paper", {"initial_cash": "1e15"})
    assert venue.get_cash() == Decimal("1E+15")


class _PluginOracle(Oracle):
    """A third-party oracle written against a plain constructor (no config model)."""

    def __init__(self, lookback: int = 3, store: Any = None, *, symbols: list[str] | None = None) -> None:
        super().__init__()
        self.lookback, self.store, self.symbols = lookback, store, symbols

    def fetch_portfolio_weights(self, timestamp: Any, universe: Any) -> Weights:
        return Weights({})


class _OpenPlugin(_PluginOracle):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__()
        self.kwargs = kwargs


def test_a_plugin_without_a_config_model_gets_one_from_its_constructor():
    built = _spec(_PluginOracle, {"lookback": "5", "symbols": ["BTC"]}, "oracle").build(BuildContext(store="the store"))
    assert (built.lookback, built.store, built.symbols) == (5, "the store", ["BTC"])
    for params, message in (
        ({"lookback": "abc"}, "oracle.params.lookback: expected a whole number, got 'abc'"),
        ({"lookback": True}, "oracle.params.lookback: expected a whole number, got True"),
        ({"lookbak": 1}, "oracle.params.lookbak: unknown key (did you mean lookback? accepted: lookback, symbols)"),
    ):
        with pytest.raises(ConfigError) as refused:
            _spec(_PluginOracle, params, "oracle")
        assert str(refused.value) == message
    assert _spec(_OpenPlugin, {"anything": 1}, "oracle").build().kwargs == {"anything": 1}


def test_an_entry_point_that_is_not_an_oracle_is_named():
    with pytest.raises(ConfigError, match=r"oracle 'bad': json:dumps is not a Oracle subclass"):
        _load_class("bad", "oracle", {"bad": "json:dumps"}, Oracle)


def test_a_builtin_kind_is_found_without_scanning_the_installed_packages():
    """A built-in wins over an entry point of its name, so its lookup skips the scan (start-up); any other kind
    is looked up among the built-ins and every entry point."""
    assert _candidates("static", "defipm.oracles", BUILTIN_ORACLES) is BUILTIN_ORACLES
    assert _candidates("paper", "defipm.venues", BUILTIN_VENUES) is BUILTIN_VENUES
    others = _candidates("no_such_kind", "defipm.oracles", BUILTIN_ORACLES)
    assert others == available_oracles() and others.items() >= BUILTIN_ORACLES.items()
    with pytest.raises(ConfigError, match="unknown kind 'statik' \\(did you mean static"):
        build_oracle("statik", {})


PARAM_KEYS = ["initial_cash", "mode", "taker_fee", "max_leverage", "rules", "slippage", "seed", "account",
              "max_price_age", "size_step", "fixed_bps", "weights", "path", "symbols", "gross", "exclude", "n",
              "lags", "lookback", "BTC", "", "x"]  # fmt: skip
PARAM_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=6)
    | st.sampled_from(["perp", "spot", "1e400", "NaN", "-0", "BTC", "/nonexistent.toml"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(PARAM_KEYS), inner, max_size=3),
    max_leaves=10,
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(["paper", "static", "equal_weight", "tbn"]),
    params=st.dictionaries(st.sampled_from(PARAM_KEYS), PARAM_VALUES, max_size=4),
)
def test_fuzzed_params_raise_only_config_errors_naming_a_key(kind: str, params: dict[str, Any]):
    build = build_venue if kind == "paper" else build_oracle
    if kind == "tbn":
        params = {**params, "file": "/nonexistent/meta_model.csv"} if "file" not in params else params
    try:
        build(kind, params)
    except ConfigError as exc:
        message = str(exc)
        assert "params" in message or str(next(iter(params.values()), "")) in message or "file" in message, message
