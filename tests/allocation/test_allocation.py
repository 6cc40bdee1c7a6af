"""The sizing schemes and the book they build: invariants, references computed independently, and fallbacks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from defipm.allocation import Scheme, allocate, book_weights
from defipm.core.errors import ConfigError


def _returns(n: int, t: int = 250, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vols = np.linspace(0.01, 0.05, n)
    common = rng.normal(0, 0.01, (t, 1))
    return common + rng.normal(0, 1, (t, n)) * vols


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 12),
    scheme=st.sampled_from([Scheme.EQUAL, Scheme.RANK, Scheme.INVERSE_VOLATILITY]),
    power=st.floats(0, 4),
    seed=st.integers(0, 10_000),
)
def test_every_scheme_gives_non_negative_weights_summing_to_one(n: int, scheme: Scheme, power: float, seed: int):
    rng = np.random.default_rng(seed)
    out = allocate(scheme, n, strength=rng.normal(size=n), returns=_returns(n, 40, seed), rank_power=power)
    assert out.weights.shape == (n,) and (out.weights >= 0).all()
    assert math.isclose(out.weights.sum(), 1.0, rel_tol=1e-12)


def test_rank_weights_follow_the_power_of_the_rank_and_ties_share():
    out = allocate("rank", 4, strength=[0.1, 0.9, 0.5, 0.5], rank_power=2)
    ranks = np.array([1.0, 4.0, 2.5, 2.5])  # the tied pair shares ranks 2 and 3
    assert np.allclose(out.weights, ranks**2 / (ranks**2).sum())
    assert np.allclose(allocate("rank", 3, strength=[3, 2, 1], rank_power=0).weights, 1 / 3)


def test_inverse_volatility_is_proportional_to_one_over_sigma():
    r = _returns(5)
    sigma = r.std(axis=0, ddof=1)
    assert np.allclose(allocate("inverse_volatility", 5, returns=r).weights, (1 / sigma) / (1 / sigma).sum())


def test_minimum_variance_beats_every_other_scheme_on_the_sample_covariance():
    r = _returns(6)
    cov = np.cov(r, rowvar=False)
    mv = allocate("min_variance", 6, returns=r)
    assert mv.scheme is Scheme.MIN_VARIANCE and mv.note is None
    for other in ("equal", "inverse_volatility", "hrp"):
        w = allocate(other, 6, returns=r).weights
        assert mv.weights @ cov @ mv.weights <= w @ cov @ w + 1e-12


def test_hrp_matches_skfolio_directly():
    from skfolio.optimization import HierarchicalRiskParity

    r = _returns(7, seed=3)
    reference = HierarchicalRiskParity().fit(r).weights_
    assert np.allclose(allocate("hrp", 7, returns=r).weights, reference, atol=1e-9)


@pytest.mark.parametrize("scheme", ["min_variance", "hrp"])
def test_a_singular_or_short_estimate_falls_back_and_says_why(scheme: str):
    r = _returns(3)
    duplicated = np.column_stack([r, r[:, 0]])  # two identical assets: a singular covariance
    out = allocate(scheme, 4, returns=duplicated)
    assert out.scheme is Scheme.INVERSE_VOLATILITY and "singular" in (out.note or "")
    short = allocate(scheme, 3, returns=r[:3])
    assert short.scheme is Scheme.INVERSE_VOLATILITY and "3 usable observations for 3 assets" in (short.note or "")
    flat = allocate(scheme, 2, returns=np.ones((2, 2)))
    assert flat.scheme is Scheme.EQUAL and "equal weight instead" in (flat.note or "")


def test_rows_with_nan_are_dropped_before_estimating():
    r = _returns(3)
    holed = r.copy()
    holed[5, 1] = np.nan
    assert np.allclose(
        allocate("inverse_volatility", 3, returns=holed).weights,
        allocate("inverse_volatility", 3, returns=np.delete(r, 5, axis=0)).weights,
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scheme": "minvar"}, "unknown scheme 'minvar'"),
        ({"scheme": "rank"}, "strength is required"),
        ({"scheme": "rank", "strength": [1.0]}, r"strength has shape \(1,\), expected \(3,\)"),
        ({"scheme": "rank", "strength": [1.0, np.nan, 2.0]}, "NaN or infinite"),
        ({"scheme": "hrp"}, "returns over the risk lookback are required"),
        ({"scheme": "hrp", "returns": np.ones((5, 2))}, r"expected \(T, 3\)"),
        ({"scheme": "rank", "strength": [1, 2, 3], "rank_power": -1}, "rank_power"),
    ],
)
def test_bad_input_is_named(kwargs: dict, message: str):
    scheme = kwargs.pop("scheme")
    with pytest.raises(ConfigError, match=message):
        allocate(scheme, 3, **kwargs)


@settings(max_examples=80, deadline=None)
@given(
    n_long=st.integers(0, 5),
    n_short=st.integers(0, 5),
    gross=st.floats(0.1, 5),
    net_share=st.floats(-1, 1),
)
def test_a_book_has_the_target_gross_and_net_when_both_sides_hold(
    n_long: int, n_short: int, gross: float, net_share: float
):
    net = gross * net_share
    longs = {f"L{i}": 1 / n_long for i in range(n_long)}
    shorts = {f"S{i}": 1 / n_short for i in range(n_short)}
    book = book_weights(longs, shorts, gross=gross, net=net)
    long_sum = math.fsum(w for w in book.values() if w > 0)
    short_sum = -math.fsum(w for w in book.values() if w < 0)
    assert math.isclose(long_sum, (gross + net) / 2 if n_long else 0.0, abs_tol=1e-9)
    assert math.isclose(short_sum, (gross - net) / 2 if n_short else 0.0, abs_tol=1e-9)


def test_a_book_refuses_what_cannot_be_built():
    with pytest.raises(ValueError, match="both the long and the short side: BTC"):
        book_weights({"BTC": 1.0}, {"BTC": 1.0})
    with pytest.raises(ValueError, match="net must be"):
        book_weights({"BTC": 1.0}, {}, gross=1.0, net=1.5)
    with pytest.raises(ValueError, match="sum to 1"):
        book_weights({"BTC": 0.5}, {})
