"""Behaviour simulation (cx_framework.conflicts.behaviour): hand-worked response model and planted direction."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cx_framework.config import load_config
from cx_framework.config.models import CausalGraph, Edge
from cx_framework.conflicts.behaviour import customer_lifetime_value_factor, simulate_behaviour
from cx_framework.errors import DataValidationError, InputValueError

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.fixture(scope="module")
def cfg():
    return load_config(CONFIGS)


@pytest.fixture(scope="module")
def org():
    from cx_framework.synthetic import generate_organisation

    return generate_organisation(seed=5, customers=3000, employees=200, months=4)


def _tiny_org() -> dict[str, pd.DataFrame]:
    period = pd.Timestamp("2024-03-01")
    employees = pd.DataFrame(
        {
            "employee_id": ["E1"],
            "department": ["contact_centre"],
            "team": ["cc_north"],
            "role": ["agent"],
            "base_salary": [30_000.0],
            "hire_date": [pd.Timestamp("2020-01-01")],
            "leave_date": [pd.NaT],
        }
    )
    employee_metrics = pd.DataFrame(
        {
            "period": period,
            "employee_id": "E1",
            "metric": ["aht_s", "own_sla_met", "product_sales", "quality_score"],
            "value": [345.0, 0.90, 2.0, 85.0],
            "volume": [100.0, 100.0, 1.0, 4.0],
        }
    )
    department_metrics = pd.DataFrame(
        {
            "period": period,
            "department": "contact_centre",
            "team": None,
            "metric": ["fcr", "churn_rate", "offered_volume"],
            "value": [0.75, 0.02, 1000.0],
            "volume": [100.0, 100.0, 1.0],
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3", "C4"],
            "segment": "consumer",
            "product": "mobile",
            "start_date": pd.Timestamp("2023-01-01"),
            "monthly_revenue": [20.0, 30.0, 40.0, 50.0],
            "churn_date": [pd.NaT, pd.NaT, pd.NaT, pd.Timestamp("2024-01-15")],
        }
    )
    intervals = pd.DataFrame(
        {
            "interval_start": pd.date_range("2024-03-01 08:00", periods=4, freq="30min"),
            "queue": "general",
            "offered": [10, 20, 30, 40],
            "answered": [10, 19, 28, 36],
            "answered_within_threshold": [9, 16, 22, 25],
            "abandoned": [0, 1, 2, 4],
            "aht_s": [300.0, 300.0, 300.0, 300.0],
            "agents_staffed": [3, 5, 7, 8],
        }
    )
    return {
        "employees": employees,
        "employee_metrics": employee_metrics,
        "department_metrics": department_metrics,
        "customers": customers,
        "intervals": intervals,
    }


def test_hand_worked_effort_allocation_payout_and_propagation(cfg):
    siloed = cfg.schemes["siloed"]
    small = dataclasses.replace(
        cfg, causal_graph=CausalGraph(edges=[Edge(source="aht_s", target="fcr", elasticity=0.35)])
    )
    r = simulate_behaviour(siloed, _tiny_org(), small, responsiveness_cv=0.0, effort_budget=0.10)
    # Arc slopes over a 10 % budget (payout multiplier of the target bonus per unit effort):
    #   aht_s 345 s (lower is better): curve(345) = 1 + 0.5·(360−345)/60 = 1.125;
    #         curve(345·0.9 = 310.5) = 1 + 0.5·49.5/60 = 1.4125 → g = 0.35·0.2875/0.1 = 1.00625
    #   product_sales 2 → 2.2, still below the threshold 4 → g = 0
    #   own_sla_met 0.90 (= target, 1.0) → 0.99 (above stretch, 1.5) → g = 0.30·0.5/0.1 = 1.5
    # effort ∝ g: aht 0.1·1.00625/2.50625 = 0.0401496, own SLA 0.1·1.5/2.50625 = 0.0598504
    e_aht = 0.1 * 1.00625 / 2.50625
    e_sla = 0.1 * 1.5 / 2.50625
    shifts = r.metric_shifts.set_index("metric")
    assert shifts.loc["aht_s", "pct_change"] == pytest.approx(-e_aht, rel=1e-9)
    assert shifts.loc["own_sla_met", "pct_change"] == pytest.approx(e_sla, rel=1e-9)
    assert shifts.loc["product_sales", "pct_change"] == pytest.approx(0.0)
    assert shifts.loc["aht_s", "scheme"] == pytest.approx(345 * (1 - e_aht))
    # payout: target bonus 30 000 · 10 % / 12 = 250 per month
    # baseline 250·(0.35·1.125 + 0 + 0.30·1.0) = 173.4375
    # scheme aht 345·(1 − e_aht) = 331.1484 → curve 1 + 0.5·(360 − 331.1484)/60; own SLA 0.9539 ≥ stretch → 1.5
    aht_new = 345 * (1 - e_aht)
    expected_scheme = 250 * (0.35 * (1 + 0.5 * (360 - aht_new) / 60) + 0.30 * 1.5)
    assert r.payout_cost["baseline"] == pytest.approx(173.4375)
    assert r.payout_cost["scheme"] == pytest.approx(expected_scheme)
    # propagation: fcr changes by 0.35 · (−e_aht) (one department holds all of fcr's volume)
    kpis = r.kpis.set_index("metric")
    assert kpis.loc["fcr", "pct_change"] == pytest.approx(-0.35 * e_aht)
    assert kpis.loc["fcr", "after"] == pytest.approx(0.75 * (1 - 0.35 * e_aht))
    assert kpis.loc["churn_rate", "pct_change"] == pytest.approx(0.0)  # no path in this graph
    # churn value: 3 customers active in March (C4 left in January), mean revenue 30
    assert r.customers_active == 3
    econ = cfg.economics
    clv = (
        30.0
        * econ.margin
        * customer_lifetime_value_factor(econ.customer_lifetime_months, econ.discount_rate_annual)
    )
    assert r.value_per_churned_customer == pytest.approx(clv)
    assert r.churned_baseline == pytest.approx(3 * 0.02)
    # net value = −Δpayout − Δstaffing − lost revenue, and the waterfall total equals it
    d_staff = r.staffing["cost_scheme"] - r.staffing["cost_baseline"]
    assert r.net_value == pytest.approx(-(expected_scheme - 173.4375) - d_staff - r.lost_revenue)
    assert r.waterfall["value"].iloc[-1] == pytest.approx(r.net_value)
    assert r.waterfall["value"].iloc[:-1].sum() == pytest.approx(r.net_value)


def test_annuity_factor_by_hand():
    # 12 months at 12.6825 % a year = 1 % a month: (1 − 1.01^−12)/0.01 = 11.2551
    assert customer_lifetime_value_factor(12, 1.01**12 - 1) == pytest.approx(11.25508, abs=1e-4)
    assert customer_lifetime_value_factor(36, 0.0) == 36.0


def test_siloed_hurts_and_shared_customer_helps_customers(cfg, org):
    siloed = simulate_behaviour(cfg.schemes["siloed"], org, cfg, seed=0)
    shared = simulate_behaviour(cfg.schemes["shared_customer"], org, cfg, seed=0, validate=False)
    s, c = siloed.kpis.set_index("metric"), shared.kpis.set_index("metric")
    assert siloed.customer_kpi_index < 0 < shared.customer_kpi_index
    # shorter calls cut first-contact resolution and raise churn; the customer scheme does the opposite
    assert (
        s.loc["fcr", "after"] < s.loc["fcr", "before"]
        and s.loc["churn_rate", "after"] > s.loc["churn_rate", "before"]
    )
    assert (
        c.loc["fcr", "after"] > c.loc["fcr", "before"]
        and c.loc["churn_rate", "after"] < c.loc["churn_rate", "before"]
    )
    assert siloed.churned_scheme > siloed.churned_baseline and siloed.lost_revenue > 0
    assert shared.churned_scheme < shared.churned_baseline and shared.lost_revenue < 0
    # what people did: agents cut handle time under siloed; nobody moves aht_s under shared_customer
    cc = siloed.metric_shifts.set_index(["department", "metric"])
    assert cc.loc[("contact_centre", "aht_s"), "pct_change"] < -0.01
    assert "aht_s" not in set(shared.metric_shifts["metric"])
    # handling cost falls with AHT under siloed: fewer agent hours needed
    assert siloed.staffing["hours_scheme"] < siloed.staffing["hours_baseline"]


def test_ranking_follows_the_graph_not_a_label(cfg, org):
    # Flip the planted mechanism: if shorter calls *raised* resolution, siloed would stop hurting fcr.
    edges = [
        e.model_copy(update={"elasticity": -0.35}) if (e.source, e.target) == ("aht_s", "fcr") else e
        for e in cfg.causal_graph.edges
    ]
    flipped = dataclasses.replace(cfg, causal_graph=CausalGraph(edges=edges))
    r = simulate_behaviour(cfg.schemes["siloed"], org, flipped, seed=0, validate=False).kpis.set_index(
        "metric"
    )
    assert r.loc["fcr", "after"] > r.loc["fcr", "before"]


def test_zero_budget_changes_nothing_and_seed_is_reproducible(cfg, org):
    r = simulate_behaviour(cfg.schemes["siloed"], org, cfg, effort_budget=0.0, validate=False)
    np.testing.assert_allclose(r.kpis["after"], r.kpis["before"])
    assert r.payout_cost["scheme"] == pytest.approx(r.payout_cost["baseline"])
    assert r.net_value == pytest.approx(0.0, abs=1e-9)
    a = simulate_behaviour(cfg.schemes["siloed"], org, cfg, seed=1, validate=False)
    b = simulate_behaviour(cfg.schemes["siloed"], org, cfg, seed=1, validate=False)
    d = simulate_behaviour(cfg.schemes["siloed"], org, cfg, seed=2, validate=False)
    assert a.net_value == b.net_value and a.net_value != d.net_value


def test_bad_inputs(cfg):
    tables = _tiny_org()
    with pytest.raises(InputValueError, match="agent"):
        simulate_behaviour(cfg.schemes["siloed"], tables, cfg, effort_budget={"sales_rep": 0.1})
    with pytest.raises(InputValueError, match="intervals"):
        simulate_behaviour(cfg.schemes["siloed"], {k: v for k, v in tables.items() if k != "intervals"}, cfg)
    with pytest.raises(InputValueError, match="effort_budget"):
        simulate_behaviour(cfg.schemes["siloed"], tables, cfg, effort_budget=1.5)
    broken = dict(tables, customers=tables["customers"].assign(monthly_revenue=[20.0, -1.0, 40.0, 50.0]))
    with pytest.raises(DataValidationError) as err:
        simulate_behaviour(cfg.schemes["siloed"], broken, cfg)
    assert "monthly_revenue" in str(err.value) and list(err.value.failures["row"]) == [1]


def test_sample_organisation_ranking_and_waterfall(cfg):
    from cx_framework.synthetic import SAMPLE_DIR, load_sample

    if not (Path(SAMPLE_DIR) / "employee_metrics.parquet").exists():
        pytest.skip("data/sample not generated")
    org = load_sample(validate=False)
    results = {
        s: simulate_behaviour(cfg.schemes[s], org, cfg, validate=False) for s in ("siloed", "shared_customer")
    }
    assert results["siloed"].customer_kpi_index < 0 < results["shared_customer"].customer_kpi_index
    # payout cost rises as people chase the curve; the waterfall starts with −Δ payout
    r = results["siloed"]
    assert r.waterfall.loc[0, "value"] == pytest.approx(
        -(r.payout_cost["scheme"] - r.payout_cost["baseline"])
    )
    fig = r.plot()
    assert list(fig.data[0].measure) == ["relative", "relative", "relative", "total"]
    # with the config the chart names the scheme and the KPIs (no ids on a surface)
    from cx_framework.plots import behaviour_waterfall

    named = behaviour_waterfall(r, config=cfg)
    assert named.layout.title.text.startswith(cfg.schemes["siloed"].name + ": value per month vs today")
    retention_hover = named.data[0].hovertemplate[2]
    assert cfg.metrics.by_id["csat"].name in retention_hover and "csat:" not in retention_hover
    # steps read as labels and the money axis has thousands separators (it showed "payout cost" and −8000)
    assert list(named.data[0].x) == [str(s)[:1].upper() + str(s)[1:] for s in r.waterfall["step"]]
    assert named.data[0].x[0][0].isupper() and named.layout.yaxis.tickformat == ",.0f"
