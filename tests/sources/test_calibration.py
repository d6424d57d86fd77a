"""Model fit on observed data: patience estimate and the Erlang C / Erlang A calibration."""

from __future__ import annotations

import heapq

import numpy as np
import pandas as pd
import pytest

from cx_framework.sources.derive import intervals_from_contacts
from cx_framework.staffing.calibration import estimate_patience, fit_queue_models


def simulate_mmnm(
    rng: np.random.Generator,
    *,
    blocks: list[tuple[int, float]],
    intervals_per_block: int,
    aht_s: float,
    patience_s: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """FCFS M/M/N+M call centre, simulated call by call (an independent reference for Erlang A).

    ``blocks`` = (agents, calls per 30-minute interval), each held for ``intervals_per_block`` intervals. A caller
    whose offered wait (time until an agent frees up for them) exceeds their exponential patience abandons at
    that patience and takes no agent; under FCFS the agents' free times in a heap give each caller's wait.
    """
    interval_s = 1800.0
    start = pd.Timestamp("2024-01-01")
    rows = []
    sessions = []
    t0 = 0.0
    for agents, calls in blocks:
        free = [t0] * agents
        span = intervals_per_block * interval_s
        n = rng.poisson(calls * intervals_per_block)
        arrivals = np.sort(rng.uniform(t0, t0 + span, n))
        patience = rng.exponential(patience_s, n)
        service = rng.exponential(aht_s, n)
        for i in range(n):
            begin = max(arrivals[i], free[0])
            wait = begin - arrivals[i]
            if wait > patience[i]:
                rows.append((arrivals[i], patience[i], 0.0, True))
            else:
                heapq.heapreplace(free, begin + service[i])
                rows.append((arrivals[i], wait, service[i], False))
        sessions.extend((f"A{k}", t0, t0 + span) for k in range(agents))
        t0 += span
    arrival, wait, handle, abandoned = map(np.array, zip(*rows, strict=True))
    n = len(arrival)
    contacts = pd.DataFrame(
        {
            "contact_id": [f"K{i}" for i in range(n)],
            "customer_id": "C",
            "timestamp": start + pd.to_timedelta(arrival, unit="s"),
            "channel": "phone",
            "queue": "general",
            "reason": "r",
            "wait_s": wait,
            "handle_s": handle,
            "abandoned": abandoned.astype(bool),
            "resolved_first_contact": True,
            "agent_id": np.where(abandoned.astype(bool), None, "A0"),
        }
    )
    agent_sessions = pd.DataFrame(
        {
            "agent_id": [s[0] for s in sessions],
            "queue": "general",
            "start": start + pd.to_timedelta([s[1] for s in sessions], unit="s"),
            "end": start + pd.to_timedelta([s[2] for s in sessions], unit="s"),
        }
    )
    return contacts, agent_sessions


@pytest.fixture(scope="module")
def simulated():
    rng = np.random.default_rng(7)
    # offered load 60 calls x 240 s / 1800 s = 8 Erlangs: 7 agents (overloaded, Erlang C says SL 0) to 10
    blocks = [(7, 60.0), (8, 60.0), (9, 60.0), (10, 60.0)]
    return simulate_mmnm(rng, blocks=blocks, intervals_per_block=60, aht_s=240.0, patience_s=120.0)


def test_patience_estimate_recovers_the_planted_patience(simulated):
    contacts, _ = simulated
    patience = estimate_patience(contacts=contacts)
    # MLE for exponential patience; ~1,500 abandons give a standard error of ~2.6 %
    assert patience["(all)"] == pytest.approx(120.0, rel=0.08)
    assert patience["general"] == patience["(all)"]


def test_calibration_recommends_erlang_a_on_erlang_a_data(simulated):
    contacts, sessions = simulated
    intervals = intervals_from_contacts(contacts, agent_sessions=sessions)
    assert not intervals["agents_staffed_estimated"].any()
    assert intervals["agents_staffed"].round(9).isin([7.0, 8.0, 9.0, 10.0]).all()
    fit = fit_queue_models(intervals, contacts=contacts)
    assert fit.recommended == "erlang_a"
    overall = fit.overall
    # Erlang A is close on both measures; Erlang C misses abandonment by the whole abandonment rate
    assert overall.loc["erlang_a", "abandonment_mae"] < overall.loc["erlang_c", "abandonment_mae"] / 2
    assert abs(overall.loc["erlang_a", "sl_bias"]) < 0.05
    assert abs(overall.loc["erlang_a", "abandonment_bias"]) < 0.02
    assert overall.loc["erlang_c", "sl_mae"] > overall.loc["erlang_a", "sl_mae"]
    # patience from the intervals' wait_s_total equals the call-level estimate
    assert estimate_patience(intervals=intervals)["(all)"] == pytest.approx(
        estimate_patience(contacts=contacts)["(all)"], rel=1e-9
    )


def test_calibration_table_by_hour_of_day(simulated):
    contacts, sessions = simulated
    fit = fit_queue_models(intervals_from_contacts(contacts, agent_sessions=sessions), contacts=contacts)
    table = fit.calibration
    assert set(table["model"]) == {"erlang_c", "erlang_a"}
    hours = table[table["hour"] != "all"]
    # each hour's offered calls add up to the overall row
    for model, part in hours.groupby("model"):
        assert (
            part["offered"].sum()
            == table[(table["model"] == model) & (table["hour"] == "all")]["offered"].item()
        )
    # Erlang C predicts no abandonment: its bias is minus the observed rate
    observed = (
        fit.intervals["abandoned_share"]
        if "abandoned_share" in fit.intervals
        else fit.intervals["observed_abandonment"]
    )
    w = fit.intervals["offered"]
    assert fit.overall.loc["erlang_c", "abandonment_bias"] == pytest.approx(-(observed * w).sum() / w.sum())
    assert "Recommended model: Erlang A" in fit.summary()


def test_estimated_agents_are_flagged(simulated):
    contacts, _ = simulated
    intervals = intervals_from_contacts(contacts)
    assert intervals["agents_staffed_estimated"].all()
    fit = fit_queue_models(intervals, contacts=contacts)
    assert fit.agents_estimated and "ESTIMATED" in fit.summary()


def test_no_abandonment_means_erlang_a_equals_erlang_c():
    contacts = pd.DataFrame(
        {
            "contact_id": ["1", "2"],
            "customer_id": "C",
            "timestamp": pd.to_datetime(["2024-01-01 09:00", "2024-01-01 09:40"]),
            "channel": "phone",
            "queue": "q",
            "reason": "r",
            "wait_s": [5.0, 30.0],
            "handle_s": [200.0, 300.0],
            "abandoned": False,
            "resolved_first_contact": True,
            "agent_id": "A",
        }
    )
    fit = fit_queue_models(intervals_from_contacts(contacts), contacts=contacts)
    assert np.isinf(fit.patience_s["(all)"])
    np.testing.assert_allclose(
        fit.intervals["erlang_a_service_level"], fit.intervals["erlang_c_service_level"]
    )
