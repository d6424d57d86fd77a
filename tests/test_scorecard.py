"""Tests of cx_framework.scorecard: hand-worked scores, roll-ups, alignment, exceptions, correlations."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from cx_framework.config import CxConfig, MetricCatalogue, Scorecard, load_config
from cx_framework.errors import DataValidationError, InputValueError, StatisticalWarning
from cx_framework.scorecard import (
    NO_DATA,
    ScorecardResult,
    UnknownMetricWarning,
    build_values,
    composite,
    contact_metrics,
    control_chart,
    correlate,
    pearson_ci,
    score,
    score_values,
    status_of,
)

ROOT = Path(__file__).resolve().parent.parent
# The tests pin their own scorecard (the hand-worked numbers below depend on it) and take the rest of the
# configuration (catalogue, organisation) from configs/.
_SCORECARD = """
shared:
  - {metric: churn_rate,      threshold: 0.025, target: 0.018, stretch: 0.012, weight: 0.20}
  - {metric: fcr,             threshold: 0.65,  target: 0.75,  stretch: 0.85,  weight: 0.20}
  - {metric: csat,            threshold: 0.70,  target: 0.80,  stretch: 0.90,  weight: 0.15}
  - {metric: service_level,   threshold: 0.70,  target: 0.80,  stretch: 0.90,  weight: 0.15}
  - {metric: e2e_resolution,  threshold: 0.75,  target: 0.85,  stretch: 0.95,  weight: 0.15}
  - {metric: nps,             threshold: 0.0,   target: 20.0,  stretch: 40.0,  weight: 0.10}
  - {metric: complaint_rate,  threshold: 4.0,   target: 2.5,   stretch: 1.5,   weight: 0.05}
local:
  contact_centre:
    - {metric: aht_s,         threshold: 420,  target: 360,  stretch: 300,  weight: 0.35}
    - {metric: own_sla_met,   threshold: 0.70, target: 0.80, stretch: 0.90, weight: 0.25, contributes_to: [service_level]}
    - {metric: occupancy,     threshold: 0.75, target: 0.85, stretch: 0.90, weight: 0.20}
    - {metric: quality_score, threshold: 75,   target: 85,   stretch: 92,   weight: 0.20, contributes_to: [fcr, csat]}
  billing:
    - {metric: own_sla_met,   threshold: 0.80, target: 0.90, stretch: 0.95, weight: 0.50, contributes_to: [e2e_resolution]}
    - {metric: backlog_age_h, threshold: 72,   target: 48,   stretch: 24,   weight: 0.20}
    - {metric: product_sales, threshold: 4,    target: 6,    stretch: 8,    weight: 0.30}
  fulfilment:
    - {metric: backoffice_cycle_time_h, threshold: 60, target: 48, stretch: 36, weight: 0.40, contributes_to: [e2e_resolution]}
    - {metric: own_sla_met,   threshold: 0.80, target: 0.90, stretch: 0.95, weight: 0.40}
    - {metric: product_sales, threshold: 2,    target: 4,    stretch: 6,    weight: 0.20}
  sales:
    - {metric: product_sales,    threshold: 30,   target: 40,   stretch: 50,   weight: 0.40}
    - {metric: sales_conversion, threshold: 0.20, target: 0.25, stretch: 0.30, weight: 0.30}
    - {metric: avg_sales_price,  threshold: 30,   target: 35,   stretch: 40,   weight: 0.30}
  marketing:
    - {metric: nps,             threshold: 0.0,  target: 20.0, stretch: 40.0, weight: 0.40, contributes_to: [nps]}
    - {metric: cross_sell_rate, threshold: 0.05, target: 0.08, stretch: 0.12, weight: 0.30}
    - {metric: avg_sales_price, threshold: 30,   target: 35,   stretch: 40,   weight: 0.30}
"""
_BASE = load_config(ROOT / "configs")
# these tests pin the scoring arithmetic on one or few months, so every metric is final when its month ends here
# (lag_periods 0); time maturity is tested in tests/test_maturity.py on the shipped catalogue
_FINAL = MetricCatalogue(metrics=[m.model_copy(update={"lag_periods": 0}) for m in _BASE.metrics.metrics])
CFG = CxConfig(
    **{
        **_BASE.__dict__,
        "metrics": _FINAL,
        "scorecard": Scorecard.model_validate(yaml.safe_load(_SCORECARD)),
    }
)
P1, P2, P3 = pd.Timestamp("2025-01-01"), pd.Timestamp("2025-02-01"), pd.Timestamp("2025-03-01")


def frame(rows: list[tuple]) -> pd.DataFrame:
    """department_metrics from (period, department, team, metric, value, volume) tuples."""
    return pd.DataFrame(rows, columns=["period", "department", "team", "metric", "value", "volume"])


def quiet_score(*args, **kwargs) -> ScorecardResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        return score(*args, **kwargs)


def row(result: ScorecardResult, card: str, department: str, metric: str, period=P1) -> pd.Series:
    ms = result.metric_scores
    sel = ms[
        ms["card"].eq(card)
        & ms["department"].eq(department)
        & ms["metric"].eq(metric)
        & ms["period"].eq(period)
    ]
    assert len(sel) == 1
    return sel.iloc[0]


# --------------------------------------------------------------------------------------------- scoring
def test_lower_is_better_between_target_and_stretch():
    # AHT: threshold 420 s, target 360 s, stretch 300 s. 330 s is half-way from target to stretch:
    # 100 + 20 * (330 - 360) / (300 - 360) = 100 + 20 * 0.5 = 110, status green (330 <= 360).
    assert score_values(330.0, 420.0, 360.0, 300.0, "lower_is_better") == pytest.approx(110.0)
    assert status_of(330.0, 420.0, 360.0, "lower_is_better")[()] == "green"
    # 390 s between threshold and target: 100 * (390 - 420) / (360 - 420) = 50, amber
    assert score_values(390.0, 420.0, 360.0, 300.0, "lower_is_better") == pytest.approx(50.0)
    assert status_of(390.0, 420.0, 360.0, "lower_is_better")[()] == "amber"
    # beyond threshold (450 s): clipped to 0 and red; beyond stretch (250 s): clipped to 120
    assert score_values(450.0, 420.0, 360.0, 300.0, "lower_is_better") == 0.0
    assert status_of(450.0, 420.0, 360.0, "lower_is_better")[()] == "red"
    assert score_values(250.0, 420.0, 360.0, 300.0, "lower_is_better") == 120.0


def test_higher_is_better_levels_and_boundaries():
    # FCR threshold 0.65, target 0.75, stretch 0.85: 0.70 -> 100 * 0.05 / 0.10 = 50; 0.80 -> 100 + 20 * 0.5 = 110
    s = score_values([0.60, 0.65, 0.70, 0.75, 0.80, 0.85, 0.95], 0.65, 0.75, 0.85)
    np.testing.assert_allclose(s, [0, 0, 50, 100, 110, 120, 120])
    # red < threshold <= amber < target <= green; NaN -> no data
    st_ = status_of([0.6499, 0.65, 0.7499, 0.75, np.nan], 0.65, 0.75)
    assert list(st_) == ["red", "amber", "amber", "green", NO_DATA]
    assert np.isnan(score_values(np.nan, 0.65, 0.75, 0.85))


def test_target_equal_stretch_is_defined():
    # stretch == target: at target 100, beyond target 120 (no division by zero)
    np.testing.assert_allclose(score_values([0.7, 0.8, 0.9], 0.6, 0.8, 0.8), [50, 100, 120])


def test_bad_direction_raises():
    with pytest.raises(InputValueError, match="direction"):
        score_values(1.0, 0.0, 1.0, 2.0, "up")


@settings(max_examples=60, deadline=None)
@given(
    a=st.floats(-1e3, 1e3),
    b=st.floats(-1e3, 1e3),
    thr=st.floats(-100, 100),
    gap1=st.floats(0.01, 100),
    gap2=st.floats(0.0, 100),
    higher=st.booleans(),
)
def test_score_monotone_in_good_direction(a, b, thr, gap1, gap2, higher):
    sign = 1.0 if higher else -1.0
    tgt, stt = thr + sign * gap1, thr + sign * (gap1 + gap2)
    direction = "higher_is_better" if higher else "lower_is_better"
    lo, hi = sorted([a, b])
    better, worse = (hi, lo) if higher else (lo, hi)
    s_better = score_values(better, thr, tgt, stt, direction)
    s_worse = score_values(worse, thr, tgt, stt, direction)
    assert s_better >= s_worse - 1e-9
    assert 0.0 <= s_worse <= 120.0


@settings(max_examples=60, deadline=None)
@given(
    scores=st.lists(st.one_of(st.floats(0, 120), st.just(np.nan)), min_size=1, max_size=8),
    weights=st.lists(st.floats(0.01, 1.0), min_size=8, max_size=8),
)
def test_composite_within_bounds_and_renormalised(scores, weights):
    w = np.array(weights[: len(scores)])
    s = np.array(scores)
    out = composite(pd.DataFrame({"g": 1, "score": s, "weight": w}), ["g"]).iloc[0]
    has = ~np.isnan(s)
    if not has.any():
        assert np.isnan(out["composite"]) and out["status"] == NO_DATA and out["coverage"] == 0
    else:
        assert 0.0 <= out["composite"] <= 120.0
        assert out["composite"] == pytest.approx(np.sum(s[has] * w[has]) / np.sum(w[has]))
        assert out["coverage"] == pytest.approx(w[has].sum() / w.sum())


# --------------------------------------------------------------------------------------------- roll-ups
def test_volume_weighted_not_mean_of_percentages():
    # contact_centre service level from two teams (no department row):
    #   cc_north 0.90 of 100 offered -> 90 within; cc_south 0.50 of 10 offered -> 5 within
    #   correct: (90 + 5) / (100 + 10) = 95 / 110 = 0.863636...; mean of percentages (0.9 + 0.5) / 2 = 0.70
    # shared objective 0.70 / 0.80 / 0.90: score 100 + 20 * (0.863636 - 0.80) / 0.10 = 112.727 (green);
    # the mean of percentages would have scored 0 (amber, exactly at threshold)
    dm = frame(
        [
            (P1, "contact_centre", "cc_north", "service_level", 0.90, 100.0),
            (P1, "contact_centre", "cc_south", "service_level", 0.50, 10.0),
        ]
    )
    r = quiet_score(dm, CFG)
    got = row(r, "shared", "contact_centre", "service_level")
    assert got["value"] == pytest.approx(95 / 110)
    assert got["volume"] == 110
    assert got["score"] == pytest.approx(100 + 20 * (95 / 110 - 0.8) / 0.1)
    assert got["status"] == "green" and got["source"] == "rolled up"
    # organisation = the only department
    assert row(r, "shared", "organisation", "service_level")["value"] == pytest.approx(95 / 110)


def test_department_row_wins_and_rollup_levels():
    # billing reports its own fcr 0.80 (vol 50); its teams' rows (0.6 / 0.7) are drill-down detail only.
    # fulfilment has only team rows: (0.7*30 + 0.9*10) / 40 = (21 + 9) / 40 = 0.75.
    # organisation: (0.80*50 + 0.75*40) / 90 = (40 + 30) / 90 = 0.7777...
    dm = frame(
        [
            (P1, "billing", None, "fcr", 0.80, 50.0),
            (P1, "billing", "billing_ops", "fcr", 0.60, 20.0),
            (P1, "billing", "billing_disputes", "fcr", 0.70, 20.0),
            (P1, "fulfilment", "orders", "fcr", 0.70, 30.0),
            (P1, "fulfilment", "provisioning", "fcr", 0.90, 10.0),
        ]
    )
    r = quiet_score(dm, CFG)
    assert row(r, "shared", "billing", "fcr")["value"] == pytest.approx(0.80)
    assert row(r, "shared", "billing", "fcr")["source"] == "reported"
    assert row(r, "shared", "fulfilment", "fcr")["value"] == pytest.approx(0.75)
    assert row(r, "shared", "organisation", "fcr")["value"] == pytest.approx(70 / 90)
    dd = r.drill_down("fcr", P1)
    teams = dd[dd["level"].eq("team") & dd["department"].eq("fulfilment")]
    assert list(teams["share_of_volume"]) == pytest.approx([0.75, 0.25])  # 30/40, 10/40


def test_employee_rollup_to_team_department_and_drill_down():
    # product_sales (sum): agents e1, e2 in sales/inbound_sales sell 12 and 15, e3 in retention_desk sells 10
    # -> teams 27 and 10, department 37, organisation 37. fcr (ratio): e1 0.8 of 10, e2 0.6 of 30 ->
    # team (8 + 18) / 40 = 0.65.
    employees = pd.DataFrame(
        {
            "employee_id": ["e1", "e2", "e3"],
            "department": ["sales", "sales", "sales"],
            "team": ["inbound_sales", "inbound_sales", "retention_desk"],
            "role": "sales_rep",
            "base_salary": 30000.0,
            "hire_date": pd.Timestamp("2020-01-01"),
            "leave_date": pd.NaT,
        }
    )
    em = pd.DataFrame(
        {
            "period": P1,
            "employee_id": ["e1", "e2", "e3", "e1", "e2"],
            "metric": ["product_sales"] * 3 + ["fcr"] * 2,
            "value": [12.0, 15.0, 10.0, 0.8, 0.6],
            "volume": [1.0, 1.0, 1.0, 10.0, 30.0],
        }
    )
    dm = frame([(P1, "billing", None, "fcr", 0.9, 10.0)])
    r = quiet_score(dm, CFG, employee_metrics=em, employees=employees)
    local = row(r, "local", "sales", "product_sales")
    assert local["value"] == 37 and local["source"] == "rolled up"
    # sales product_sales objective 30 / 40 / 50: 100 * (37 - 30) / 10 = 70, amber
    assert local["score"] == pytest.approx(70.0) and local["status"] == "amber"
    dd = r.drill_down("product_sales", P1, by=("department", "team", "employee"))
    teams = dd[dd["level"].eq("team")].set_index("team")["value"]
    assert teams.to_dict() == {"inbound_sales": 27.0, "retention_desk": 10.0}
    agents = dd[dd["level"].eq("employee")]
    assert sorted(agents["value"]) == [10.0, 12.0, 15.0]
    assert (agents["status"] == "not scored").all()  # a department's sum target does not apply to one agent
    fcr_team = r.values[(r.values["level"] == "team") & (r.values["metric"] == "fcr")]
    assert fcr_team["value"].iloc[0] == pytest.approx(26 / 40)
    # organisation fcr: billing 0.9*10 + sales 0.65*40 -> (9 + 26) / 50 = 0.70
    assert row(r, "shared", "organisation", "fcr")["value"] == pytest.approx(0.70)


@settings(max_examples=20, deadline=None)
@given(
    sales=st.lists(st.integers(0, 100), min_size=4, max_size=4),
    num=st.lists(st.integers(0, 500), min_size=4, max_size=4),
    den=st.lists(st.integers(1, 500), min_size=4, max_size=4),
)
def test_rollups_equal_sum_of_parts(sales, num, den):
    teams = [
        ("billing", "billing_ops"),
        ("billing", "billing_disputes"),
        ("fulfilment", "orders"),
        ("fulfilment", "provisioning"),
    ]
    rows = []
    for (d, t), s, n, m in zip(teams, sales, num, den, strict=True):
        n = min(n, m)
        rows.append((P1, d, t, "product_sales", float(s), 1.0))
        rows.append((P1, d, t, "own_sla_met", n / m, float(m)))
    values = build_values(frame(rows), CFG.metrics.by_id)
    dept = values[values["level"].eq("department")].set_index(["department", "metric"])["value"]
    org = values[values["level"].eq("organisation")].set_index("metric")["value"]
    assert dept[("billing", "product_sales")] == sum(sales[:2])
    assert org["product_sales"] == sum(sales)
    nums = [min(n, m) for n, m in zip(num, den, strict=True)]
    assert dept[("fulfilment", "own_sla_met")] == pytest.approx(sum(nums[2:]) / sum(den[2:]))
    assert org["own_sla_met"] == pytest.approx(sum(nums) / sum(den))


# --------------------------------------------------------------------------------------------- no data & bad input
def test_no_data_excluded_and_weights_renormalised():
    # billing's shared card has only fcr 0.75 (score 100, weight 0.20) and csat 0.90 (score 120, weight 0.15):
    # composite = (0.20*100 + 0.15*120) / 0.35 = 38 / 0.35 = 108.571; coverage = 0.35 / 1.0
    dm = frame([(P1, "billing", None, "fcr", 0.75, 10.0), (P1, "billing", None, "csat", 0.90, 10.0)])
    r = quiet_score(dm, CFG)
    churn = row(r, "shared", "billing", "churn_rate")
    assert churn["status"] == NO_DATA and np.isnan(churn["score"]) and churn["note"]
    s = r.shared_scores.set_index("department").loc["billing"]
    assert s["composite"] == pytest.approx(38 / 0.35)
    assert s["coverage"] == pytest.approx(0.35)
    assert s["n_scored"] == 2 and s["n_metrics"] == 7
    # a department without any shared metric: composite NaN and "no data", not 0
    m = r.shared_scores.set_index("department").loc["marketing"]
    assert np.isnan(m["composite"]) and m["status"] == NO_DATA and m["coverage"] == 0


def test_zero_volume_is_no_data():
    # fcr is a ratio; both teams handled 0 contacts, so the department's fcr is undefined -> "no data"
    dm = frame(
        [
            (P1, "fulfilment", "orders", "fcr", 0.0, 0.0),
            (P1, "fulfilment", "provisioning", "fcr", 0.0, 0.0),
            (P1, "billing", None, "fcr", 0.7, 5.0),
        ]
    )
    r = quiet_score(dm, CFG)
    got = row(r, "shared", "fulfilment", "fcr")
    assert got["status"] == NO_DATA and got["note"] == "zero volume"
    assert row(r, "shared", "organisation", "fcr")["value"] == pytest.approx(0.7)


def test_nan_value_raises_naming_column():
    dm = frame([(P1, "billing", None, "fcr", np.nan, 10.0)])
    with pytest.raises(DataValidationError, match="value") as err:
        score(dm, CFG)
    assert "value" in set(err.value.failures["column"])


def test_duplicate_keys_raise():
    dm = frame([(P1, "billing", None, "fcr", 0.7, 10.0), (P1, "billing", None, "fcr", 0.8, 10.0)])
    with pytest.raises(DataValidationError, match="unique") as err:
        score(dm, CFG)
    assert len(err.value.failures) >= 2


@pytest.mark.filterwarnings("ignore::cx_framework.errors.StatisticalWarning")
def test_unknown_metric_warns_and_is_left_out():
    dm = frame([(P1, "billing", None, "fcr", 0.7, 10.0), (P1, "billing", None, "happiness_index", 3.0, 1.0)])
    with pytest.warns(UnknownMetricWarning, match="happiness_index"):
        r = score(dm, CFG)
    assert "happiness_index" not in set(r.values["metric"])


def test_missing_volume_for_ratio_rollup_raises():
    # volume is optional in the table, but fcr (ratio) cannot be rolled up from teams without its denominator
    dm = frame(
        [
            (P1, "billing", "billing_ops", "fcr", 0.7, 1.0),
            (P1, "billing", "billing_disputes", "fcr", 0.8, 3.0),
        ]
    )
    with pytest.raises(DataValidationError, match="volume") as err:
        score(dm.drop(columns="volume"), CFG)
    assert "fcr" in str(err.value)
    assert list(err.value.failures["row"]) == [0, 1]
    # a sum metric needs no volume
    ok = frame(
        [
            (P1, "billing", "billing_ops", "product_sales", 2.0, 1.0),
            (P1, "billing", "billing_disputes", "product_sales", 3.0, 1.0),
        ]
    )
    assert (
        row(quiet_score(ok.drop(columns="volume"), CFG), "local", "billing", "product_sales")["value"] == 5.0
    )


def test_employee_not_in_register_raises():
    em = pd.DataFrame(
        {"period": [P1], "employee_id": ["ghost"], "metric": ["fcr"], "value": [0.5], "volume": [1.0]}
    )
    employees = pd.DataFrame(
        {
            "employee_id": ["e1"],
            "department": ["sales"],
            "team": ["inbound_sales"],
            "role": ["sales_rep"],
            "base_salary": [1.0],
            "hire_date": [pd.Timestamp("2020-01-01")],
            "leave_date": [pd.NaT],
        }
    )
    with pytest.raises(DataValidationError, match="ghost"):
        score(frame([(P1, "billing", None, "fcr", 0.7, 1.0)]), CFG, employee_metrics=em, employees=employees)
    with pytest.raises(InputValueError, match="together") as err:
        score(frame([(P1, "billing", None, "fcr", 0.7, 1.0)]), CFG, employee_metrics=em)
    assert err.value.argument == "employees"


def test_bad_periods_raise():
    dm = frame([(P1, "billing", None, "fcr", 0.7, 1.0)])
    with pytest.raises(InputValueError, match="2030-01") as err:
        score(dm, CFG, periods="2030-01")
    assert err.value.argument == "periods"
    with pytest.raises(InputValueError, match="month start"):
        score(dm, CFG, periods="2025-01-15")
    with pytest.raises(InputValueError, match="YYYY-MM"):
        score(dm, CFG, periods="not a month")


def test_period_selection_keeps_history_for_signals():
    dm = frame([(p, "billing", None, "fcr", 0.7, 1.0) for p in (P1, P2, P3)])
    r = quiet_score(dm, CFG, periods="2025-03")
    assert set(r.metric_scores["period"]) == {P3}
    assert set(r.control["period"]) == {P1, P2, P3}


# --------------------------------------------------------------------------------------------- alignment
def _billing_rows(period, own_sla, backlog, sales, e2e):
    return [
        (period, "billing", None, "own_sla_met", own_sla, 100.0),
        (period, "billing", None, "backlog_age_h", backlog, 10.0),
        (period, "billing", None, "product_sales", sales, 1.0),
        (period, "billing", None, "e2e_resolution", e2e, 50.0),
    ]


def test_green_inside_red_outside():
    # billing local card: own_sla_met 0.92 -> 100 + 20 * (0.92 - 0.90) / 0.05 = 108 (w 0.5);
    # backlog_age_h 40 h (lower-is-better 72/48/24) -> 100 + 20 * (40 - 48) / (24 - 48) = 106.667 (w 0.2);
    # product_sales 7 (4/6/8) -> 100 + 20 * 1 / 2 = 110 (w 0.3).
    # composite = 0.5*108 + 0.2*106.667 + 0.3*110 = 54 + 21.333 + 33 = 108.333 -> green inside.
    # Its contributes_to metric e2e_resolution is 0.70 < threshold 0.75 on the shared card -> red outside.
    dm = frame(_billing_rows(P1, 0.92, 40.0, 7.0, 0.70))
    r = quiet_score(dm, CFG)
    d = r.department_scores.set_index("department").loc["billing"]
    assert d["composite"] == pytest.approx(54 + 0.2 * (100 + 20 * 8 / 24) + 33)
    assert d["status"] == "green"
    assert bool(d["green_inside_red_outside"]) and d["red_outside"] == "e2e_resolution"
    assert row(r, "shared", "billing", "e2e_resolution")["status"] == "red"
    # the same local card with e2e 0.80 (amber) is not flagged
    r2 = quiet_score(frame(_billing_rows(P1, 0.92, 40.0, 7.0, 0.80)), CFG)
    assert not bool(r2.department_scores.set_index("department").loc["billing", "green_inside_red_outside"])
    a = r.alignment.set_index("department").loc["billing"]
    assert a["periods_green_inside_red_outside"] == 1 and bool(a["green_inside_red_outside_latest"])


def test_weight_alignment_from_config():
    # contact_centre: own_sla_met 0.25 + quality_score 0.20 contribute -> 0.45; billing: own_sla_met 0.5;
    # fulfilment: cycle time 0.4; sales: nothing -> 0; marketing: nps 0.4 (customer-centric and contributing)
    r = quiet_score(frame(_billing_rows(P1, 0.92, 40.0, 7.0, 0.70)), CFG)
    w = r.alignment.set_index("department")["weight_alignment"]
    assert w.to_dict() == pytest.approx(
        {"contact_centre": 0.45, "billing": 0.5, "fulfilment": 0.4, "sales": 0.0, "marketing": 0.4}
    )


def test_empirical_alignment_negative_when_local_moves_against_shared():
    # 8 months: billing pushes own_sla_met up exactly when its e2e_resolution (shared) falls
    rng = np.random.default_rng(3)
    push = rng.normal(0, 1, 8)
    periods = pd.date_range("2024-01-01", periods=8, freq="MS")
    rows = []
    for p, g in zip(periods, push, strict=True):
        rows += _billing_rows(p, 0.85 + 0.03 * g, 50.0, 6.0, 0.85 - 0.04 * g)
    r = quiet_score(frame(rows), CFG)
    a = r.alignment.set_index("department").loc["billing"]
    # reference: the two composites' Pearson r computed independently with numpy, CI with Fisher z by hand
    d = r.department_scores[r.department_scores["department"] == "billing"].sort_values("period")
    ref = np.corrcoef(d["composite"], d["shared_composite"])[0, 1]
    assert a["empirical_r"] == pytest.approx(ref) and a["empirical_r"] < 0
    half = 1.959963984540054 / np.sqrt(8 - 3)
    assert a["ci_low"] == pytest.approx(np.tanh(np.arctanh(ref) - half))
    assert a["ci_high"] == pytest.approx(np.tanh(np.arctanh(ref) + half))
    assert a["n_periods"] == 8


def test_pearson_ci_small_samples():
    r, n, lo, hi, p = pearson_ci(np.array([1.0, 2.0, 3.0]), np.array([1.0, 3.0, 2.0]))
    assert n == 3 and r == pytest.approx(0.5) and np.isnan(lo) and np.isnan(hi)
    assert np.isnan(pearson_ci(np.array([1.0, 1.0, 1.0, 1.0]), np.array([1.0, 2.0, 3.0, 4.0]))[0])


def test_few_periods_warn():
    with pytest.warns(StatisticalWarning, match="fewer than 6 periods"):
        score(frame(_billing_rows(P1, 0.92, 40.0, 7.0, 0.70)), CFG)


# --------------------------------------------------------------------------------------------- exceptions
def _series_values(metric: str, xs: list[float]) -> pd.DataFrame:
    periods = pd.date_range("2023-01-01", periods=len(xs), freq="MS")
    return build_values(
        frame([(p, "billing", None, metric, x, 1.0) for p, x in zip(periods, xs, strict=True)]),
        CFG.metrics.by_id,
    )


def test_xmr_limits_and_rule_1():
    # x = 10,12,10,12,10,12,10,12,10,30 (asa_s, lower is better): mean = (5*10 + 4*12 + 30) / 10 = 12.8;
    # moving ranges: eight of 2 and |30 - 10| = 20 -> mean mR = 36 / 9 = 4; limits 12.8 ± 2.66*4 = [2.16, 23.44];
    # 30 > 23.44 -> Western Electric rule 1 on the last point, in the worse direction
    xs = [10, 12, 10, 12, 10, 12, 10, 12, 10, 30]
    c = control_chart(_series_values("asa_s", xs), CFG.metrics.by_id, levels=("department",))
    assert c["centre"].iloc[0] == pytest.approx(12.8)
    assert c["ucl"].iloc[0] == pytest.approx(12.8 + 2.66 * 4)
    assert c["lcl"].iloc[0] == pytest.approx(12.8 - 2.66 * 4)
    assert list(c["WE1"]) == [False] * 9 + [True]
    assert c["side"].iloc[-1] == "worse"


def test_western_electric_rules_3_and_4():
    # x = 20, 0,1,0,1,0,1,0,1, 20, 20 (fcr-like, higher is better, 11 points): mean = 64/11 = 5.818;
    # moving ranges 20, 1 x7, 19, 0 -> mean mR = 46/10 = 4.6, sigma = 4.6/1.128 = 4.078;
    # z(0) = -1.43, z(1) = -1.18: every low point is beyond 1 sigma below -> rule 3 (4 of 5) first fires on the
    # 4th low point (index 4); rule 4 (8 in a row below centre) first fires on the 8th low point (index 8).
    xs = [20, 0, 1, 0, 1, 0, 1, 0, 1, 20, 20]
    c = control_chart(_series_values("product_sales", xs), CFG.metrics.by_id, levels=("department",))
    assert c["sigma"].iloc[0] == pytest.approx(4.6 / 1.128)
    assert c["WE3"].to_numpy().nonzero()[0].tolist() == [4, 5, 6, 7, 8]
    assert c["WE4"].to_numpy().nonzero()[0].tolist() == [8]
    # the 20s sit at z = (20 - 5.818) / 4.078 = +3.48: rule 1 on indices 0, 9, 10 and rule 2 (2 of 3 beyond
    # 2 sigma) on index 10 — all on the *better* side of a higher-is-better metric, so charted but no exception
    assert c["WE1"].to_numpy().nonzero()[0].tolist() == [0, 9, 10]
    assert c["WE2"].to_numpy().nonzero()[0].tolist() == [10]
    assert set(c.loc[c["WE1"], "side"]) == {"better"}
    from cx_framework.scorecard.exceptions import find_exceptions

    ms = pd.DataFrame(
        columns=["period", "card", "department", "metric", "value", "threshold", "target", "status"]
    )
    ex = find_exceptions(ms, c, CFG.metrics.by_id)
    assert ex["period"].dt.month.tolist() == [9, 8, 7, 6, 5]  # only the low run (WE3/WE4), newest first
    assert ex["rule"].iloc[0] == "WE3, WE4" and ex["severity"].iloc[0] == 1
    # too few points -> no rule evaluation
    short = control_chart(_series_values("product_sales", xs[:5]), CFG.metrics.by_id, levels=("department",))
    assert not short[["WE1", "WE2", "WE3", "WE4"]].to_numpy().any()


def test_exceptions_newest_worst_customer_centric_first():
    # P2: contact_centre aht_s 600 s (local 420/360: (600-420)/60 = 3 bands beyond -> severity 3, internal) and
    # fcr 0.40 on the shared card ((0.65-0.40)/0.10 = 2.5 bands -> severity 3, customer-centric) -> fcr first.
    # P1: a mild own_sla_met breach (0.68 vs threshold 0.70: 0.2 band -> severity 2) comes after all of P2.
    dm = frame(
        [
            (P1, "contact_centre", None, "own_sla_met", 0.68, 100.0),
            (P2, "contact_centre", None, "aht_s", 600.0, 100.0),
            (P2, "contact_centre", None, "fcr", 0.40, 100.0),
        ]
    )
    r = quiet_score(dm, CFG)
    ex = r.exceptions[r.exceptions["department"].eq("contact_centre")]
    assert list(zip(ex["period"], ex["metric"], ex["severity"], strict=True)) == [
        (P2, "fcr", 3),
        (P2, "aht_s", 3),
        (P1, "own_sla_met", 2),
    ]
    first = ex.iloc[0]
    assert (
        first["expected_low"] == 0.65
        and first["expected_high"] == np.inf
        and first["magnitude"] == pytest.approx(2.5)
    )
    assert ex.iloc[1]["expected_high"] == 420 and ex.iloc[1]["expected_low"] == -np.inf


# --------------------------------------------------------------------------------------------- correlate
def _corr_frame():
    periods = pd.date_range("2024-01-01", periods=12, freq="MS")
    rng = np.random.default_rng(7)
    rows = []
    for d in ("billing", "sales", "fulfilment"):
        a = rng.normal(0, 1, 13)
        for i, p in enumerate(periods):
            rows.append((p, d, None, "service_level", 0.8 + 0.01 * a[i], 100.0))
            rows.append(
                (p, d, None, "churn_rate", 0.02 - 0.001 * a[i - 1 if i else 12], 100.0)
            )  # follows SL by 1
    return frame(rows)


def test_correlate_lagged_and_pooled():
    dm = _corr_frame()
    out = correlate(dm, ["service_level", "churn_rate"], lag=[0, 1])
    lag1 = out[(out["lag"] == 1) & (out["metric_a"] == "service_level")].iloc[0]
    # churn at t+1 = 0.02 - 0.001 * a_t, SL at t = 0.8 + 0.01 * a_t -> exactly r = -1 on 3 * 11 = 33 pairs
    assert lag1["r"] == pytest.approx(-1.0) and lag1["n"] == 33
    lag0 = out[out["lag"] == 0].iloc[0]
    wide = dm.pivot_table(index=["department", "period"], columns="metric", values="value")
    assert lag0["r"] == pytest.approx(np.corrcoef(wide["service_level"], wide["churn_rate"])[0, 1])
    # p-value: two-sided t test of r with n - 2 degrees of freedom
    r, n = lag0["r"], lag0["n"]
    t = r * np.sqrt((n - 2) / (1 - r**2))
    assert lag0["p_value"] == pytest.approx(2 * stats.t.sf(abs(t), n - 2))


def test_correlate_by_department_and_errors():
    out = correlate(_corr_frame(), ["service_level", "churn_rate"], by="department", lag=1)
    assert set(out["department"]) == {"billing", "sales", "fulfilment"}
    sl_leads = out[out["metric_a"] == "service_level"]
    assert (sl_leads["n"] == 11).all() and np.allclose(sl_leads["r"], -1.0)
    with pytest.raises(InputValueError, match="nps"):
        correlate(_corr_frame(), ["service_level", "nps"])
    with pytest.raises(InputValueError, match="lag"):
        correlate(_corr_frame(), ["service_level", "churn_rate"], lag=-1)
    with pytest.raises(InputValueError, match="by"):
        correlate(_corr_frame(), ["service_level", "churn_rate"], by="channel")


# --------------------------------------------------------------------------------------------- contacts -> metrics
def test_contact_metrics_by_hand(tmp_path):
    # January, queue billing -> department billing: 4 phone calls, waits 10, 30, 15 s (answered) and one
    # abandoned; 1 email. Within 20 s: 2 of 4 offered phone calls -> SL 0.5; abandon 1/4; ASA (10+30+15)/3 = 18.33;
    # handled = 3 phone + 1 email = 4, handle (100+200+300+400)/4 = 250 s; FCR 3 of 4 handled resolved.
    ts = pd.Timestamp("2025-01-10 09:00")
    contacts = pd.DataFrame(
        {
            "contact_id": list("abcde"),
            "customer_id": "c1",
            "timestamp": ts,
            "channel": ["phone", "phone", "phone", "phone", "email"],
            "queue": "billing",
            "reason": "bill_query",
            "wait_s": [10.0, 30.0, 15.0, 90.0, 0.0],
            "handle_s": [100.0, 200.0, 300.0, 0.0, 400.0],
            "abandoned": [False, False, False, True, False],
            "resolved_first_contact": [True, True, False, False, True],
            "agent_id": ["a1", "a1", "a2", None, "a2"],
        }
    )
    path = tmp_path / "contacts.parquet"
    contacts.to_parquet(path)
    for source in (contacts, path):
        m = contact_metrics(source, department_of={"billing": "billing"}).set_index("metric")
        assert m.loc["service_level", "value"] == pytest.approx(0.5) and m.loc["service_level", "volume"] == 4
        assert m.loc["abandon_rate", "value"] == pytest.approx(0.25)
        assert m.loc["asa_s", "value"] == pytest.approx(55 / 3) and m.loc["asa_s", "volume"] == 3
        assert m.loc["aht_s", "value"] == pytest.approx(250.0)
        assert m.loc["fcr", "value"] == pytest.approx(0.75)
        assert m.loc["offered_volume", "value"] == 5
        assert (m["period"] == pd.Timestamp("2025-01-01")).all()
    # the output is a valid department_metrics table the scorecard takes as is
    r = quiet_score(contact_metrics(contacts, department_of={"billing": "billing"}), CFG)
    assert row(r, "shared", "billing", "service_level")["value"] == pytest.approx(0.5)
    with pytest.raises(DataValidationError, match="does not exist"):
        contact_metrics(tmp_path / "missing.parquet")


# --------------------------------------------------------------------------------------------- result views
def test_trend_views_and_plots():
    periods = pd.date_range("2024-01-01", periods=9, freq="MS")
    rows = []
    for i, p in enumerate(periods):
        rows += _billing_rows(p, 0.85 + 0.01 * (i % 3), 50.0, 6.0, 0.80 + 0.01 * i)
    r = quiet_score(frame(rows), CFG)
    t = r.trend("e2e_resolution", department="billing")
    assert len(t) == 9 and t["value"].iloc[-1] == pytest.approx(0.88)
    assert t["centre"].iloc[0] == pytest.approx(np.mean([0.80 + 0.01 * i for i in range(9)]))
    d = r.trend("billing")
    assert list(d["period"]) == list(periods)
    assert d["shared_composite"].notna().all()
    with pytest.raises(InputValueError, match="neither"):
        r.trend("nowhere")
    text = r.summary()
    assert "billing" in text and "2024-09" in text
    for kind, kw in (
        ("heatmap", {}),
        ("alignment", {}),
        ("trend", {"metric": "e2e_resolution"}),
        ("drill_down", {"metric": "e2e_resolution"}),
    ):
        fig = r.plot(kind, **kw)
        assert len(fig.data) >= 1


# --------------------------------------------------------------------------------------------- planted truth
def _assert_planted_misalignment(org) -> None:
    r = score(
        org.department_metrics,
        ROOT / "configs",
        employee_metrics=org.employee_metrics,
        employees=org.employees,
    )
    a = r.alignment.set_index("department")
    bad = list(org.truth.misaligned_departments)
    good = [d for d in a.index if d not in bad]
    assert bad == ["billing", "sales"]
    # the generator makes billing's and sales' local pushes hurt their customers: r < 0 there, > 0 elsewhere,
    # and the misaligned departments are the least aligned of all
    assert (a.loc[bad, "empirical_r"] < 0).all(), a["empirical_r"]
    assert (a.loc[good, "empirical_r"] > 0).all(), a["empirical_r"]
    assert a.loc[bad, "empirical_r"].max() < a.loc[good, "empirical_r"].min()
    # every month but the last: its churn, CSAT, NPS, FCR and end-to-end resolution need the next month's data
    assert (a["n_periods"] == org.department_metrics["period"].nunique() - 1).all()


def test_planted_misalignment_in_sample(sample_org):
    _assert_planted_misalignment(sample_org)


@pytest.mark.slow
def test_planted_misalignment_in_fresh_organisation(small_org):
    assert small_org.truth.scheme == "siloed"
    _assert_planted_misalignment(small_org)


# --------------------------------------------------------------------------------------------- figures
def test_heatmap_and_drill_down_colours_follow_status():
    from cx_framework.plots import STATUS_COLOURS, drill_down_chart, scorecard_heatmap, scorecard_trend_chart

    # billing: fcr 0.60 (red, score 0), csat 0.85 (green, 100 + 20 * 0.5 = 110); everything else no data
    dm = frame([(P1, "billing", None, "fcr", 0.60, 10.0), (P1, "billing", None, "csat", 0.85, 10.0)])
    r = quiet_score(dm, CFG)
    fig = scorecard_heatmap(r, card="shared")
    heat = fig.data[0]
    y, x = list(heat.y), list(heat.x)
    assert y[0] == "organisation"
    codes = {"red": 0, "amber": 1, "green": 2, "no data": 3}
    i = y.index("billing")
    assert heat.z[i][x.index("fcr")] == codes["red"] and heat.text[i][x.index("fcr")] == 0
    assert heat.z[i][x.index("csat")] == codes["green"] and heat.text[i][x.index("csat")] == 110
    assert heat.z[i][x.index("nps")] == codes["no data"]
    # the colour scale maps each code to its STATUS_COLOURS entry: with zmin -0.5 and zmax 3.5 code k sits at
    # (k + 0.5) / 4, inside the flat band [k / 4, (k + 1) / 4] coloured STATUS_COLOURS[status]
    assert (heat.zmin, heat.zmax) == (-0.5, 3.5)
    for status, k in codes.items():
        (lo, c_lo), (hi, c_hi) = heat.colorscale[2 * k], heat.colorscale[2 * k + 1]
        assert lo <= (k + 0.5) / 4 <= hi and c_lo == c_hi == STATUS_COLOURS[status]
    bars = drill_down_chart(r, "fcr", period=P1, by="department").data[0]
    assert list(bars.x) == ["billing"] and list(bars.marker.color) == [STATUS_COLOURS["red"]]
    # trend: the WE1 point of the XmR example is the one flagged
    periods = pd.date_range("2023-01-01", periods=10, freq="MS")
    xs = [10, 12, 10, 12, 10, 12, 10, 12, 10, 30]
    r2 = quiet_score(
        frame([(p, "billing", None, "asa_s", float(v), 1.0) for p, v in zip(periods, xs, strict=True)]), CFG
    )
    trend = scorecard_trend_chart(r2, "asa_s", department="billing")
    signal = next(t for t in trend.data if t.name == "signal")
    assert list(signal.y) == [30.0] and list(signal.text) == ["WE1"]
    # title and axis name the metric (a loop over the limit lines once overwrote it with "lower limit")
    asa_name = CFG.metrics.by_id["asa_s"].name
    assert trend.layout.title.text.startswith(asa_name + " — ")
    assert trend.layout.yaxis.title.text.startswith(asa_name)
    assert r2.exceptions.iloc[0]["rule"] == "WE1" and r2.exceptions.iloc[0]["expected_high"] == pytest.approx(
        23.44
    )
