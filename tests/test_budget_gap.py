"""staffing_budget_gap: hand-checked small cases (arithmetic in comments), Erlang C values from 50-digit mpmath."""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pandas as pd
import pytest

from cx_framework.conflicts import StaffingBudgetGap, staffing_budget_gap
from cx_framework.errors import DataValidationError, InputValueError

mp.mp.dps = 50


def mp_sl(calls: float, aht: float, agents: int, answer_s: float = 20.0) -> float:
    """Erlang C service level by the Erlang-B recursion in mpmath (independent of the library)."""
    a = mp.mpf(calls) * aht / 1800
    if agents <= a:
        return 0.0
    b = mp.mpf(1)
    for k in range(1, agents + 1):
        b = a * b / (k + a * b)
    c = agents * b / (agents - a * (1 - b))
    return float(1 - c * mp.exp(-(agents - a) * answer_s / mp.mpf(aht)))


def mp_needed(calls: float, aht: float, target: float = 0.8) -> int:
    n = int(calls * aht / 1800) + 1
    while mp_sl(calls, aht, n) < target:
        n += 1
    return n


def _forecast() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "interval_start": pd.to_datetime(["2026-03-02 09:00", "2026-03-02 09:30", "2026-03-03 09:00"]),
            "queue": ["sales", "sales", "sales"],
            "offered": [100.0, 50.0, 0.0],
            "aht_s": [180.0, 180.0, np.nan],  # no calls -> AHT irrelevant
        }
    )


def test_hand_checked_budget_gap():
    fc = _forecast()
    # traffic: 100*180/1800 = 10 E, 50*180/1800 = 5 E, 0 E  -> workload shares 10/15, 5/15, 0
    # budget 18 productive agent-half-hours = 9 on-phone hours = 9/0.7 paid hours; over 1 week of 37.5 h:
    budget = 9 / 0.7 / 37.5  # 0.342857 FTE
    gap = staffing_budget_gap(fc, budget, target=0.8, shrinkage=0.3, hours_per_fte=37.5, horizon_weeks=1.0)
    assert isinstance(gap, StaffingBudgetGap)
    np.testing.assert_allclose(gap.intervals["funded_agents"], [12.0, 6.0, 0.0])
    need_1, need_2 = mp_needed(100, 180), mp_needed(50, 180)
    assert gap.intervals["required_agents"].tolist() == [need_1, need_2, 0]
    assert need_1 == 14  # the textbook 100 calls / 3 min / 80-20 example
    # FTE needed = (14 + need_2) half-hours * 0.5 h / 0.7 / 37.5 h
    assert gap.fte_needed == pytest.approx((need_1 + need_2) * 0.5 / 0.7 / 37.5, rel=1e-12)
    assert gap.fte_gap == pytest.approx(gap.fte_needed - budget)
    sl_1, sl_2 = mp_sl(100, 180, 12), mp_sl(50, 180, 6)
    np.testing.assert_allclose(gap.intervals["service_level"], [sl_1, sl_2, 1.0], atol=1e-9)
    # volume-weighted over the horizon: (100 sl_1 + 50 sl_2 + 0) / 150 — not the mean of the three rows
    assert gap.achieved_service_level == pytest.approx((100 * sl_1 + 50 * sl_2) / 150, abs=1e-9)
    assert gap.failing_intervals["offered"].tolist() == [100.0, 50.0]  # 0.640 and 0.36 < 0.8
    daily = gap.by_day().set_index("day")
    assert daily.loc[pd.Timestamp("2026-03-02"), "service_level"] == pytest.approx(gap.achieved_service_level)
    assert bool(daily.loc[pd.Timestamp("2026-03-03"), "meets_target"])
    assert "short by" in gap.summary()


def test_default_horizon_counts_calendar_days():
    fc = _forecast()
    # 2 and 3 March -> 2 calendar days -> 2/7 week; fte_needed scales with 1 / horizon_weeks
    gap = staffing_budget_gap(fc, 1.0)
    one_week = staffing_budget_gap(fc, 1.0, horizon_weeks=1.0)
    assert gap.horizon_weeks == pytest.approx(2 / 7)
    assert gap.fte_needed == pytest.approx(one_week.fte_needed * 3.5)


def test_full_budget_meets_target_everywhere_with_requirement_allocation():
    fc = _forecast()
    need = staffing_budget_gap(fc, 0.0, horizon_weeks=1.0)
    assert need.achieved_service_level == pytest.approx(0.0)  # nothing funded, every call missed
    full = staffing_budget_gap(fc, need.fte_needed, horizon_weeks=1.0, allocation="requirement")
    # funding exactly the requirement, shared by requirement, gives each interval its required agents
    np.testing.assert_allclose(full.intervals["funded_agents"], full.intervals["required_agents"])
    assert full.failing_intervals.empty and full.fte_gap == pytest.approx(0.0, abs=1e-12)
    assert full.achieved_service_level >= 0.8


def test_budget_gap_bad_input():
    with pytest.raises(DataValidationError, match="aht_s"):
        staffing_budget_gap(_forecast().drop(columns="aht_s"), 1.0)
    bad = _forecast()
    bad.loc[1, "offered"] = -3
    with pytest.raises(DataValidationError, match="'offered'.*row 1"):
        staffing_budget_gap(bad, 1.0)
    with pytest.raises(InputValueError, match="'shrinkage'"):
        staffing_budget_gap(_forecast(), 1.0, shrinkage=1.0)
    with pytest.raises(InputValueError, match="'budget_fte'"):
        staffing_budget_gap(_forecast(), -1.0)


def test_validate_false_gives_the_same_gap_on_validated_rows():
    """The app's slider path skips re-validating the Analysis' (validated) forecast: same result, field by field."""
    from cx_framework import load_sample

    intervals = load_sample().intervals
    fc = intervals[intervals["interval_start"] >= intervals["interval_start"].max() - pd.Timedelta(days=28)]
    fc = fc[["interval_start", "queue", "offered", "aht_s"]]
    for target, patience in ((0.85, None), (0.8, 120.0)):
        checked = staffing_budget_gap(fc, 20.0, target=target, patience_s=patience)
        trusted = staffing_budget_gap(fc, 20.0, target=target, patience_s=patience, validate=False)
        assert (
            trusted.fte_needed == checked.fte_needed
            and trusted.achieved_service_level == checked.achieved_service_level
        )
        pd.testing.assert_frame_equal(trusted.intervals, checked.intervals)
    with pytest.raises(DataValidationError, match="aht_s"):
        staffing_budget_gap(fc.drop(columns="aht_s"), 20.0, validate=False)
