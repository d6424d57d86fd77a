"""Tests of cx_framework.staffing against independent references.

References used here (none shares code with the library):
* Erlang B/C by the textbook Erlang-B recursion B_k = A B_{k-1} / (k + A B_{k-1}) in 50-digit mpmath;
* Erlang A (M/M/N+M) by solving the birth–death chain truncated at a long queue and, for the tagged caller,
  the absorbing Markov chain of its queue position (matrix exponential);
* hand-worked arithmetic for the interval aggregation (written in comments).
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pandas as pd
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from cx_framework.errors import CxError, DataValidationError, InputValueError
from cx_framework.staffing import (
    agents_needed,
    aggregate_service_level,
    asa,
    erlang_a,
    erlang_b,
    erlang_c,
    occupancy,
    required_agents,
    service_level,
    traffic_intensity,
)

mp.mp.dps = 50


# ----------------------------------------------------------------------------------------------- references
def mp_erlang_c(traffic: float, agents: int) -> mp.mpf:
    """Erlang C by the Erlang-B recursion at 50 digits (integer agents, N > A)."""
    a = mp.mpf(traffic)
    b = mp.mpf(1)
    for k in range(1, agents + 1):
        b = a * b / (k + a * b)
    n = mp.mpf(agents)
    return n * b / (n - a * (1 - b))


def mp_service_level(
    calls: float, aht: float, agents: int, answer_s: float = 20.0, interval_s: float = 1800.0
):
    a = mp.mpf(calls) * mp.mpf(aht) / mp.mpf(interval_s)
    if agents <= a:
        return mp.mpf(0), mp.mpf(1)
    c = mp_erlang_c(a, agents)
    return 1 - c * mp.exp(-(agents - a) * mp.mpf(answer_s) / mp.mpf(aht)), c


def chain_erlang_a(calls, aht, n, patience, answer_s, interval_s=1800.0, queue_cap=3000, tagged_cap=400):
    """Erlang A measures from the truncated birth–death chain (exact up to the negligible truncated tail)."""
    lam, mu, theta = calls / interval_s, 1.0 / aht, 1.0 / patience
    k = np.arange(1, n + queue_cap + 1)
    death = np.minimum(k, n) * mu + np.maximum(k - n, 0) * theta
    logp = np.concatenate([[0.0], np.cumsum(np.log(lam / death))])
    p = np.exp(logp - logp.max())
    p /= p.sum()
    p_wait = p[n:].sum()
    abandon = theta * (np.maximum(np.arange(len(p)) - n, 0) @ p) / lam
    # tagged caller finding j callers ahead: moves up at rate n mu + j theta, abandons at rate theta
    m = tagged_cap + 1
    gen = np.zeros((m + 2, m + 2))
    served, lost = m, m + 1
    for j in range(m):
        move = n * mu + j * theta
        gen[j, served if j == 0 else j - 1] += move
        gen[j, lost] += theta
        gen[j, j] = -(move + theta)
    answered_by_t = scipy.linalg.expm(gen * answer_s)[:m, served]
    sl = p[:n].sum() + p[n : n + m] @ answered_by_t
    # mean wait of answered callers: stage i lasts Exp(n mu + (i+1) theta); P(served | j) = x / (x + j + 1)
    x = n * mu / theta
    j = np.arange(len(p) - n)
    stage_means = np.cumsum(1.0 / (n * mu + (j + 1) * theta))
    wait_answered = p[n:] @ (x / (x + j + 1) * stage_means)
    return p_wait, sl, abandon, wait_answered / (1.0 - abandon)


# -------------------------------------------------------------------------------------- Erlang C accuracy
def _random_cases(seed: int, n: int) -> list[tuple[float, float, int]]:
    rng = np.random.default_rng(seed)
    cases = []
    for _ in range(n):
        calls = float(rng.uniform(1, 3000))
        aht = float(rng.uniform(30, 900))
        a = calls * aht / 1800.0
        agents = int(math.floor(a)) + int(rng.integers(1, max(3, int(3 * math.sqrt(a)) + 3)))
        cases.append((calls, aht, agents))
    # the large case: 20,000 calls per half hour at AHT 420 s (A = 4666.7 Erlangs), around the 80/20 point
    for agents in (4667, 4680, 4700, 4720, 4760):
        cases.append((20000.0, 420.0, agents))
    cases += [(30.0, 100.0, 1), (1.0, 1.0, 1), (10.0, 600.0, 4)]
    return cases


def test_erlang_c_and_service_level_match_mpmath_to_1e9():
    cases = _random_cases(0, 40)
    calls = np.array([c[0] for c in cases])
    aht = np.array([c[1] for c in cases])
    agents = np.array([c[2] for c in cases], dtype=float)
    sl = service_level(calls, aht, agents)
    pw = erlang_c(calls * aht / 1800.0, agents)
    for i, (c, h, n) in enumerate(cases):
        ref_sl, ref_pw = mp_service_level(c, h, n)
        assert abs(sl[i] - float(ref_sl)) < 1e-9, (c, h, n)
        assert abs(pw[i] - float(ref_pw)) < 1e-9, (c, h, n)


def test_asa_matches_mpmath():
    for calls, aht, n in _random_cases(1, 10):
        a = calls * aht / 1800.0
        if n <= a:  # e.g. the (30 calls, 100 s, 1 agent) case: A = 1.67 > 1, the queue never clears
            assert asa(calls, aht, n) == math.inf
            continue
        ref = mp_erlang_c(a, n) * aht / (n - mp.mpf(a))
        assert asa(calls, aht, n) == pytest.approx(float(ref), rel=1e-9, abs=1e-9)


def test_erlang_b_matches_recursion_including_overload():
    # overload N < A is needed by Erlang A; B(N, A) from the same 50-digit recursion
    for a, n in [(5.0, 1), (50.0, 10), (4666.67, 4000), (4666.67, 4700), (800.0, 100)]:
        b = mp.mpf(1)
        for k in range(1, n + 1):
            b = mp.mpf(a) * b / (k + mp.mpf(a) * b)
        assert erlang_b(a, n) == pytest.approx(float(b), rel=1e-9)


def test_erlang_b_deep_overload_uses_continued_fraction():
    # Q(50001, 1e5) ~ e^-19300 underflows in double precision; mpmath log-space reference
    a, n = mp.mpf(100000), 50000
    log_b = n * mp.log(a) - a - mp.loggamma(n + 1) - mp.log(mp.gammainc(n + 1, a, mp.inf, regularized=True))
    assert erlang_b(100000.0, n) == pytest.approx(float(mp.exp(log_b)), rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    calls=st.floats(0, 20000),
    aht=st.floats(5, 3000),
    load=st.floats(0, 3),
    patience=st.floats(0.1, 1e7),
    answer=st.floats(0, 300),
)
def test_erlang_a_never_nan_and_ordered(calls, aht, load, patience, answer):
    n = math.floor(load * calls * aht / 1800.0)
    r = erlang_a(calls, aht, n, patience_s=patience, answer_s=answer)
    values = [r.p_wait, r.service_level, r.abandonment_rate]
    assert all(0.0 <= v <= 1.0 for v in values) and not math.isnan(r.asa)
    # answered within T plus abandoned can never exceed all calls
    assert r.service_level + r.abandonment_rate <= 1.0 + 1e-9
    assert r.service_level >= 1.0 - r.p_wait - 1e-9


def test_hundred_thousand_agents_is_finite_and_matches_mpmath():
    # A = 99,000 Erlangs with 100,000 agents; reference via mpmath's 50-digit incomplete gamma (no recursion)
    a, n = mp.mpf(99000), 100000
    b = mp.exp(n * mp.log(a) - a - mp.loggamma(n + 1)) / mp.gammainc(n + 1, a, regularized=True)
    ref = n * b / (n - a * (1 - b))
    assert erlang_c(99000.0, n) == pytest.approx(float(ref), abs=1e-9)
    calls = 99000.0 * 1800.0 / 300.0
    sl = service_level(calls, 300.0, n)
    assert sl == pytest.approx(float(1 - ref * mp.exp(-(n - a) * 20 / mp.mpf(300))), abs=1e-9)


def test_textbook_example_agents_needed():
    # Widely quoted example (e.g. pyworkforce docs / Koole 2013): 100 calls per 30 min, AHT 3 min, 80/20 -> 14 agents,
    # SL(14) = 0.88835, P(wait) = 0.17413
    assert agents_needed(100, 180, target=0.8, answer_s=20) == 14
    assert service_level(100, 180, 14) == pytest.approx(0.8883500, abs=1e-6)
    assert erlang_c(10.0, 14) == pytest.approx(0.1741319, abs=1e-6)


# ------------------------------------------------------------------------------------------ edge semantics
def test_unstable_queue_gives_zero_sl_and_infinite_asa():
    # A = 100 * 180 / 1800 = 10 Erlangs
    for n in (0, 5, 10):
        assert service_level(100, 180, n) == 0.0
        assert asa(100, 180, n) == math.inf
        assert erlang_c(10.0, n) == 1.0
    out = service_level(np.array([100.0, 100.0]), 180, np.array([10, 11]))
    assert out[0] == 0.0 and 0 < out[1] < 1 and not np.isnan(out).any()


def test_zero_calls():
    assert service_level(0, 300, 0) == 1.0
    assert asa(0, 300, 3) == 0.0
    assert agents_needed(0, 300) == 0
    assert erlang_c(0.0, 0) == 0.0
    np.testing.assert_array_equal(agents_needed(np.array([0.0, 0.0]), 300.0), [0, 0])


def test_one_agent_closed_form():
    # M/M/1: P(wait) = rho, SL = 1 - rho exp(-(1 - rho) t / aht), ASA = rho aht / (1 - rho)
    rho, aht = 0.6, 200.0
    calls = rho * 1800.0 / aht
    assert erlang_c(rho, 1) == pytest.approx(rho, abs=1e-14)
    assert service_level(calls, aht, 1) == pytest.approx(1 - rho * math.exp(-(1 - rho) * 20 / aht), abs=1e-14)
    assert asa(calls, aht, 1) == pytest.approx(rho * aht / (1 - rho), rel=1e-12)


def test_occupancy_and_traffic():
    assert traffic_intensity(100, 180) == pytest.approx(10.0)
    assert occupancy(100, 180, 12) == pytest.approx(10 / 12)
    assert occupancy(100, 180, 8) == 1.0
    assert occupancy(0, 180, 8) == 0.0


def test_return_kinds_follow_input():
    s = pd.Series([100.0, 0.0, 250.0], index=["mon", "tue", "wed"])
    out = service_level(s, 180.0, 20)
    assert isinstance(out, pd.Series) and list(out.index) == ["mon", "tue", "wed"]
    assert out["tue"] == 1.0
    need = agents_needed(s, 180.0)
    assert (
        isinstance(need, pd.Series) and need.dtype == np.int64 and list(need.index) == ["mon", "tue", "wed"]
    )
    assert isinstance(service_level(np.array([100.0]), 180.0, 20), np.ndarray)
    assert isinstance(service_level(100.0, 180.0, 20), float)
    assert isinstance(agents_needed(100.0, 180.0), int)
    assert isinstance(erlang_a(100.0, 180.0, 14, patience_s=60.0).service_level, float)


# ----------------------------------------------------------------------------------- hypothesis properties
calls_st = st.floats(min_value=0.5, max_value=5000)
aht_st = st.floats(min_value=20, max_value=1200)


@settings(max_examples=150, deadline=None)
@given(calls=calls_st, aht=aht_st, extra=st.integers(0, 200))
def test_sl_non_decreasing_in_agents(calls, aht, extra):
    a = calls * aht / 1800.0
    n = np.arange(max(0, math.floor(a) - 2), math.floor(a) + extra + 3, dtype=float)
    sl = service_level(calls, aht, n)
    assert np.all(np.diff(sl) >= -1e-12)


@settings(max_examples=150, deadline=None)
@given(calls=calls_st, aht=aht_st, bump=st.floats(1.0001, 3.0), slack=st.floats(1.0, 40.0))
def test_sl_decreasing_in_aht_and_calls(calls, aht, bump, slack):
    a = calls * aht / 1800.0
    n = math.ceil(a * bump + slack)
    base = service_level(calls, aht, n)
    assert service_level(calls, aht * bump, n) <= base + 1e-12
    assert service_level(calls * bump, aht, n) <= base + 1e-12


@settings(max_examples=150, deadline=None)
@given(calls=calls_st, aht=aht_st, target=st.floats(0.05, 0.99), answer=st.floats(0, 120))
def test_agents_needed_is_minimal(calls, aht, target, answer):
    n = agents_needed(calls, aht, target=target, answer_s=answer)
    assert n > calls * aht / 1800.0
    assert service_level(calls, aht, n, answer_s=answer) >= target
    assert service_level(calls, aht, n - 1, answer_s=answer) < target


def test_agents_needed_vectorised_equals_brute_force():
    rng = np.random.default_rng(7)
    calls = rng.uniform(10, 3000, 300)
    aht = rng.uniform(120, 600, 300)
    need = agents_needed(calls, aht, target=0.8, answer_s=20)
    for c, h, n in zip(calls[:60], aht[:60], need[:60], strict=True):
        # brute force: first N from floor(A)+1 upward that meets 80/20 by the mpmath reference
        k = math.floor(c * h / 1800.0) + 1
        while mp_service_level(c, h, k)[0] < 0.8:
            k += 1
        assert n == k
    # and minimality for all 300
    assert np.all(service_level(calls, aht, need) >= 0.8)
    assert np.all(service_level(calls, aht, need - 1) < 0.8)


# ----------------------------------------------------------------------------------------------- Erlang A
ERLANG_A_CASES = [
    (100.0, 180.0, 14, 60.0, 20.0),
    (300.0, 300.0, 40, 120.0, 20.0),  # overloaded (A = 50 > 40): Erlang C has no steady state
    (300.0, 300.0, 55, 200.0, 30.0),
    (50.0, 400.0, 5, 30.0, 20.0),
    (1000.0, 300.0, 150, 180.0, 20.0),
    (200.0, 240.0, 30, 600.0, 0.0),
]


@pytest.mark.parametrize("case", ERLANG_A_CASES)
def test_erlang_a_matches_birth_death_chain(case):
    calls, aht, n, patience, answer = case
    ref = chain_erlang_a(calls, aht, n, patience, answer)
    got = erlang_a(calls, aht, n, patience_s=patience, answer_s=answer)
    assert got.p_wait == pytest.approx(ref[0], abs=1e-9)
    assert got.service_level == pytest.approx(ref[1], abs=1e-9)
    assert got.abandonment_rate == pytest.approx(ref[2], abs=1e-9)
    assert got.asa == pytest.approx(ref[3], rel=1e-8)


def test_service_level_with_patience_is_erlang_a_without_its_asa():
    # service_level(patience_s=...) skips the ASA quadrature: same numbers as erlang_a, same input checks
    calls = np.array([c[0] for c in ERLANG_A_CASES])
    aht = np.array([c[1] for c in ERLANG_A_CASES])
    agents = np.array([c[2] for c in ERLANG_A_CASES])
    for answer in (0.0, 20.0, 30.0):
        patience = pd.Series([c[3] for c in ERLANG_A_CASES], index=list("abcdef"))
        got = service_level(calls, aht, agents, patience_s=patience, answer_s=answer)
        full = erlang_a(calls, aht, agents, patience_s=patience, answer_s=answer).service_level
        assert isinstance(got, pd.Series) and list(got.index) == list("abcdef")
        np.testing.assert_array_equal(got.to_numpy(), full.to_numpy())
        refs = [
            chain_erlang_a(c, h, n, p, answer)[1]
            for c, h, n, p in zip(calls, aht, agents, patience, strict=True)
        ]
        np.testing.assert_allclose(got.to_numpy(), refs, atol=1e-9)
    with pytest.raises(InputValueError, match="patience_s"):
        service_level(100.0, 180.0, 14, patience_s=-1.0)


def test_erlang_a_converges_to_erlang_c_and_is_vectorised():
    n = np.array([12, 14, 16, 20])
    # the gap to Erlang C shrinks linearly in 1/patience (1.3e-6 at 1e8 s, 1.3e-10 at 1e12 s — checked
    # against the birth-death chain), so use a practically infinite patience
    res = erlang_a(100.0, 180.0, n, patience_s=1e12)
    np.testing.assert_allclose(res.service_level, service_level(100.0, 180.0, n), atol=1e-9)
    np.testing.assert_allclose(res.p_wait, erlang_c(10.0, n), atol=1e-9)
    np.testing.assert_allclose(res.asa, asa(100.0, 180.0, n), rtol=1e-7)
    assert service_level(100.0, 180.0, 14, patience_s=60.0) == pytest.approx(
        res_sl := erlang_a(100.0, 180.0, 14, patience_s=60.0).service_level
    )
    assert 0 < res_sl < 1


def test_erlang_a_edges():
    zero_agents = erlang_a(100.0, 180.0, 0, patience_s=60.0)
    assert (zero_agents.p_wait, zero_agents.service_level, zero_agents.abandonment_rate) == (1.0, 0.0, 1.0)
    assert zero_agents.asa == math.inf
    idle = erlang_a(0.0, 180.0, 3, patience_s=60.0)
    assert (idle.p_wait, idle.service_level, idle.abandonment_rate, idle.asa) == (0.0, 1.0, 0.0, 0.0)


def test_agents_needed_with_patience_is_minimal_and_not_above_erlang_c_here():
    calls = np.array([100.0, 500.0, 2000.0])
    aht = np.array([180.0, 300.0, 420.0])
    n_a = agents_needed(calls, aht, patience_s=120.0)
    sl = service_level(calls, aht, n_a, patience_s=120.0)
    sl_less = service_level(calls, aht, n_a - 1, patience_s=120.0)
    assert np.all(sl >= 0.8) and np.all(sl_less < 0.8)
    assert np.all(n_a <= agents_needed(calls, aht))


# ---------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("call", "argument", "index"),
    [
        (lambda: service_level(np.array([10.0, -1.0]), 300, 5), "calls", 1),
        (lambda: service_level(10, np.array([300.0, 0.0, 200.0]), 5), "aht_s", 1),
        (lambda: service_level(10, 300, np.array([3.0, 4.0, -2.0])), "agents", 2),
        (lambda: service_level(np.array([10.0, np.nan]), 300, 5), "calls", 1),
        (lambda: agents_needed(10, 300, target=1.0), "target", None),
        (lambda: agents_needed(10, 300, target=0.0), "target", None),
        (lambda: service_level(10, 300, 5, answer_s=-1), "answer_s", None),
        (lambda: erlang_c(-1.0, 3), "traffic", None),
        (lambda: erlang_a(10, 300, 3, patience_s=np.array([60.0, 0.0])), "patience_s", 1),
    ],
)
def test_bad_input_names_argument_and_index(call, argument, index):
    with pytest.raises(InputValueError) as info:
        call()
    assert isinstance(info.value, CxError) and isinstance(info.value, ValueError)
    assert info.value.argument == argument
    assert f"'{argument}'" in str(info.value)
    assert info.value.index == index
    if index is not None:
        assert f"index {index}" in str(info.value)


def test_bad_series_input_reports_label():
    s = pd.Series([10.0, float("nan")], index=["09:00", "09:30"])
    with pytest.raises(InputValueError, match=r"'calls'.*index 1 \(index label '09:30'\)"):
        agents_needed(s, 300)


# ---------------------------------------------------------------------------------- interval aggregation
def _intervals() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "interval_start": pd.to_datetime(
                ["2026-03-02 09:00", "2026-03-02 09:30", "2026-03-03 09:00", "2026-03-09 09:00"]
            ),
            "queue": ["sales", "sales", "service", "sales"],
            "offered": [10, 90, 50, 0],
            "answered": [10, 80, 40, 0],
            "answered_within_threshold": [10, 45, 30, 0],
            "abandoned": [0, 10, 10, 0],
            "aht_s": [300.0, 300.0, 240.0, np.nan],
            "agents_staffed": [4, 15, 9, 1],
            "threshold_s": [20, 20, 20, 20],
        }
    )


def test_aggregate_is_volume_weighted_not_mean_of_percentages():
    df = _intervals()
    # overall: (10 + 45 + 30 + 0) / (10 + 90 + 50 + 0) = 85 / 150 = 0.5667;
    # the mean of interval percentages (100 %, 50 %, 60 %) would be 0.70 — wrong
    assert aggregate_service_level(df) == pytest.approx(85 / 150)
    assert aggregate_service_level(df) != pytest.approx(np.mean([1.0, 0.5, 0.6]))
    by_day = aggregate_service_level(df, by="day").set_index("day")["service_level"]
    # 2 March: 55 / 100; 3 March: 30 / 50; 9 March: no calls -> 1.0 by convention
    assert by_day[pd.Timestamp("2026-03-02")] == pytest.approx(0.55)
    assert by_day[pd.Timestamp("2026-03-03")] == pytest.approx(0.60)
    assert by_day[pd.Timestamp("2026-03-09")] == 1.0
    by_week = aggregate_service_level(df, by="week").set_index("week")["service_level"]
    # week of Monday 2 March: 85 / 150
    assert by_week[pd.Timestamp("2026-03-02")] == pytest.approx(85 / 150)
    by_queue = aggregate_service_level(df, by=["month", "queue"])
    assert by_queue.set_index("queue").loc["sales", "service_level"] == pytest.approx(55 / 100)


def test_aggregate_definitions():
    df = _intervals()
    # answered: 85 / (10 + 80 + 40) = 85 / 130
    assert aggregate_service_level(df, definition="answered") == pytest.approx(85 / 130)
    with pytest.raises(DataValidationError, match="short_abandons"):
        aggregate_service_level(df, definition="excl_short_abandons")
    df["short_abandons"] = [0, 4, 5, 0]
    # offered minus short abandons: 85 / (150 - 9) = 85 / 141
    assert aggregate_service_level(df, definition="excl_short_abandons") == pytest.approx(85 / 141)
    with pytest.raises(InputValueError, match="definition"):
        aggregate_service_level(df, definition="mean")


def test_aggregate_bad_table():
    df = _intervals().drop(columns="answered_within_threshold")
    with pytest.raises(DataValidationError, match="answered_within_threshold") as info:
        aggregate_service_level(df)
    assert info.value.failures.loc[0, "column"] == "answered_within_threshold"
    df = _intervals()
    df.loc[2, "answered_within_threshold"] = 60  # > answered 40
    with pytest.raises(DataValidationError, match="row 2"):
        aggregate_service_level(df)


def test_required_agents_per_interval():
    df = _intervals()
    out = required_agents(df, target=0.8, shrinkage=0.3)
    expected = [agents_needed(10, 300), agents_needed(90, 300), agents_needed(50, 240), 0]
    assert out["required_agents"].tolist() == expected
    np.testing.assert_allclose(out["required_rostered"], np.array(expected) / 0.7)
    np.testing.assert_array_equal(out["staffing_gap"], df["agents_staffed"] - np.array(expected))
    assert out.loc[1, "modelled_service_level"] == pytest.approx(service_level(90, 300, 15))
    assert out["meets_target"].tolist() == [
        service_level(c, h, n) >= 0.8 for c, h, n in [(10, 300, 4), (90, 300, 15), (50, 240, 9)]
    ] + [True]
    assert out.loc[1, "actual_service_level"] == pytest.approx(0.5)
    # a 60 s threshold needs no more agents than 20 s
    assert (required_agents(df, answer_s=60)["required_agents"] <= out["required_agents"]).all()


# ------------------------------------------------------------------------------------------ figures & CLI
def test_sl_vs_agents_figure_traces_the_model():
    from cx_framework.plots import sl_vs_agents_figure

    fig = sl_vs_agents_figure(100, 180, target=0.8, patience_s=60.0)
    erlang_c_trace, erlang_a_trace = fig.data
    np.testing.assert_allclose(erlang_c_trace.y, service_level(100, 180, np.asarray(erlang_c_trace.x)))
    np.testing.assert_allclose(
        erlang_a_trace.y, service_level(100, 180, np.asarray(erlang_a_trace.x), patience_s=60.0)
    )
    assert [s.y0 for s in fig.layout.shapes if s.y0 == s.y1] == [0.8]  # the target line
    assert [s.x0 for s in fig.layout.shapes if s.x0 == s.x1] == [14]  # the minimum staffing
    assert "(count)" in fig.layout.xaxis.title.text and "20 s" in fig.layout.yaxis.title.text


def test_required_vs_staffed_and_budget_figures():
    from cx_framework.conflicts import staffing_budget_gap
    from cx_framework.plots import budget_sl_by_day_figure, required_vs_staffed_figure

    df = _intervals()
    df.loc[1, "interval_start"] = df.loc[0, "interval_start"]  # two queues in the same interval are summed
    df.loc[1, "queue"] = "service"
    fig = required_vs_staffed_figure(required_agents(df))
    required, staffed = fig.data[0], fig.data[1]
    assert list(staffed.y) == [4 + 15, 9, 1]
    assert list(required.y)[0] == agents_needed(10, 300) + agents_needed(90, 300)
    gap = staffing_budget_gap(df.fillna({"aht_s": 300.0}), 2.0, horizon_weeks=1.0)
    budget = budget_sl_by_day_figure(gap)
    bars = budget.data[0]
    np.testing.assert_allclose(bars.y, gap.by_day()["service_level"])
    # the target's label sits on the bars: on a white box, so it stays readable
    assert budget.layout.annotations[-1].text.startswith("target ") and budget.layout.annotations[-1].bgcolor


def test_cli_staffing_prints_volume_weighted_sl_and_budget(tmp_path):
    from typer.testing import CliRunner

    from cx_framework.cli import app

    path = tmp_path / "intervals.csv"
    _intervals().to_csv(path, index=False)
    runner = CliRunner()
    result = runner.invoke(app, ["staffing", str(path), "--budget-fte", "1.5", "--by", "queue"])
    assert result.exit_code == 0, result.output
    # 85 / 150 = 56.7 % overall; sales 55 / 100 = 55.0 %, service 30 / 50 = 60.0 %
    assert "Realised service level 56.7%" in result.output
    assert "55.0%" in result.output and "60.0%" in result.output
    assert "the budget funds 1.5 FTE" in " ".join(result.output.split())
    bad = runner.invoke(app, ["staffing", str(path), "--by", "hour"])
    assert bad.exit_code == 2 and "--by" in bad.output
    # the default groups by month (a short table), not one row per day
    monthly = runner.invoke(app, ["staffing", str(path)])
    assert monthly.exit_code == 0 and "by month" in monthly.output and "2026-03 " in monthly.output


def test_fractional_agents_interpolate_and_public_exports():
    import cx_framework

    # continuous (incomplete-gamma) extension: between the neighbouring integer values, strictly
    lo, mid, hi = erlang_c(10.0, np.array([12.0, 12.5, 13.0]))
    assert hi < mid < lo
    assert cx_framework.erlang_a is erlang_a and cx_framework.required_agents is required_agents
    assert cx_framework.staffing_budget_gap.__module__ == "cx_framework.conflicts.budget_gap"
