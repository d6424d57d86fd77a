"""Payout engine, scheme comparison and what-if edits (issue 6 items 1-3).

Hand-worked examples use one scheme (``_scheme``) with a monthly target bonus of 36 000 × 10 % / 12 = 300.00:

* fcr   (higher is better) weight 0.5: threshold 0.65 → 0.5, target 0.75 → 1.0, stretch 0.85 → 1.5
* aht_s (lower is better)  weight 0.3: threshold 420 → 0.5, target 360 → 1.0, stretch 300 → 2.0
* csat  (higher is better) weight 0.2: threshold 0.70 → 0.5, target 0.80 → 1.0, stretch 0.90 → 1.5
* gate quality_score ≥ 70; cap 150 % of target bonus (450.00).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cx_framework.config import Scheme, load_config, load_scheme
from cx_framework.errors import ConfigError, DataValidationError, InputValueError
from cx_framework.incentives import (
    add_gate,
    compare_schemes,
    compute_payouts,
    evaluate_payouts,
    move_threshold,
    payout_curve_values,
    payout_summary,
    prepare_payouts,
    remove_gate,
    reweight,
    round_money,
    scheme_from_table,
    scheme_to_table,
    scheme_to_yaml,
    set_cap,
)

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


_CFG = load_config(CONFIGS)


@pytest.fixture(scope="module")
def cfg():
    return _CFG


def _scheme(**changes) -> Scheme:
    data = {
        "id": "test",
        "name": "Test scheme",
        "roles": ["agent"],
        "target_bonus_pct": 10,
        "period": "month",
        "components": [
            {
                "metric": "fcr",
                "weight": 0.5,
                "threshold": 0.65,
                "target": 0.75,
                "stretch": 0.85,
                "payout_at_threshold": 0.5,
                "payout_at_stretch": 1.5,
            },
            {
                "metric": "aht_s",
                "weight": 0.3,
                "threshold": 420,
                "target": 360,
                "stretch": 300,
                "payout_at_threshold": 0.5,
                "payout_at_stretch": 2.0,
            },
            {
                "metric": "csat",
                "weight": 0.2,
                "threshold": 0.70,
                "target": 0.80,
                "stretch": 0.90,
                "payout_at_threshold": 0.5,
                "payout_at_stretch": 1.5,
            },
        ],
        "gates": [{"metric": "quality_score", "min": 70}],
        "cap_pct": 150,
    }
    data.update(changes)
    return Scheme.model_validate(data)


def _employees(rows: list[tuple]) -> pd.DataFrame:
    """rows: (employee_id, role, base_salary, hire_date, leave_date)."""
    frame = pd.DataFrame(rows, columns=["employee_id", "role", "base_salary", "hire_date", "leave_date"])
    frame["department"] = "contact_centre"
    frame["team"] = "cc_north"
    frame["hire_date"] = pd.to_datetime(frame["hire_date"])
    frame["leave_date"] = pd.to_datetime(frame["leave_date"])
    return frame[["employee_id", "department", "team", "role", "base_salary", "hire_date", "leave_date"]]


def _metrics(values: dict[tuple[str, str], dict[str, float]]) -> pd.DataFrame:
    """values: {(period, employee_id): {metric: value}} -> long employee_metrics."""
    rows = [(p, e, m, v) for (p, e), d in values.items() for m, v in d.items()]
    frame = pd.DataFrame(rows, columns=["period", "employee_id", "metric", "value"])
    frame["period"] = pd.to_datetime(frame["period"])
    return frame


def _one(
    cfg,
    metrics: dict[str, float],
    *,
    salary=36_000.0,
    hire="2020-01-01",
    leave=None,
    period="2024-03-01",
    scheme=None,
):
    emp = _employees([("e1", "agent", salary, hire, leave)])
    em = _metrics({(period, "e1"): metrics})
    out = compute_payouts(em, emp, scheme or _scheme(), config=cfg)
    assert len(out) == 1
    return out.iloc[0]


ON_TARGET = {"fcr": 0.75, "aht_s": 360.0, "csat": 0.80, "quality_score": 85.0}


# ------------------------------------------------------------------------------------------------ hand-worked
def test_at_threshold(cfg):
    row = _one(cfg, {"fcr": 0.65, "aht_s": 420.0, "csat": 0.70, "quality_score": 80.0})
    # every curve at threshold = 0.5: 300 × (0.5·0.5 + 0.3·0.5 + 0.2·0.5) = 150.00
    assert row["target_bonus"] == pytest.approx(300.0)
    assert [row["fcr_curve"], row["aht_s_curve"], row["csat_curve"]] == pytest.approx([0.5, 0.5, 0.5])
    assert round(row["payout"], 2) == 150.00
    assert row["attainment"] == pytest.approx(0.5)


def test_between_threshold_and_target(cfg):
    row = _one(cfg, {"fcr": 0.72, "aht_s": 400.0, "csat": 0.78, "quality_score": 80.0})
    # fcr  0.72: 0.5 + 0.5·(0.07/0.10) = 0.85        -> 300·0.5·0.85   = 127.50
    # aht  400 : 0.5 + 0.5·((420-400)/60) = 0.666…   -> 300·0.3·0.666… =  60.00
    # csat 0.78: 0.5 + 0.5·(0.08/0.10) = 0.90        -> 300·0.2·0.90   =  54.00   total 241.50
    assert row["fcr"] == pytest.approx(127.50)
    assert row["aht_s"] == pytest.approx(60.00)
    assert row["csat"] == pytest.approx(54.00)
    assert round(row["payout"], 2) == 241.50


def test_above_stretch_is_flat(cfg):
    row = _one(cfg, {"fcr": 0.97, "aht_s": 360.0, "csat": 0.80, "quality_score": 80.0})
    # fcr above stretch pays 1.5 (flat): 300·(0.5·1.5 + 0.3·1 + 0.2·1) = 300·1.25 = 375.00
    assert row["fcr_curve"] == pytest.approx(1.5)
    assert round(row["payout"], 2) == 375.00
    assert not row["capped"]


def test_below_threshold_pays_nothing_for_that_component(cfg):
    row = _one(cfg, {"fcr": 0.6499, "aht_s": 421.0, "csat": 0.80, "quality_score": 80.0})
    # fcr and aht just beyond threshold -> 0; csat on target: 300·0.2·1 = 60.00
    assert row["fcr"] == 0.0 and row["aht_s"] == 0.0
    assert round(row["payout"], 2) == 60.00


def test_lower_is_better_between_target_and_stretch(cfg):
    row = _one(cfg, {"fcr": 0.75, "aht_s": 330.0, "csat": 0.80, "quality_score": 80.0})
    # aht 330 s: 1 + (2.0-1)·((360-330)/60) = 1.5 -> 300·0.3·1.5 = 135.00; + 150.00 + 60.00 = 345.00
    assert row["aht_s_curve"] == pytest.approx(1.5)
    assert round(row["payout"], 2) == 345.00


def test_cap_hit(cfg):
    row = _one(cfg, {"fcr": 0.95, "aht_s": 250.0, "csat": 0.99, "quality_score": 80.0})
    # all beyond stretch: 300·(0.5·1.5 + 0.3·2.0 + 0.2·1.5) = 300·1.65 = 495.00 > cap 1.5·300 = 450.00
    assert row["payout_before_cap"] == pytest.approx(495.0)
    assert row["capped"]
    assert round(row["payout"], 2) == 450.00
    assert row["attainment"] == pytest.approx(1.5)


def test_gate_failed_zeroes_period(cfg):
    row = _one(cfg, {"fcr": 0.95, "aht_s": 250.0, "csat": 0.99, "quality_score": 69.9})
    # components earn 495.00 but quality 69.9 < 70 fails the gate -> 0.00 (paid, not withheld)
    assert row["fcr"] == pytest.approx(225.0)
    assert not row["gate_quality_score"]
    assert not row["gates_passed"]
    assert row["payout"] == 0.0
    assert not row["withheld"]


def test_max_gate(cfg):
    scheme = _scheme(gates=[{"metric": "repeat_contact_rate", "max": 0.2}])
    ok = _one(cfg, {**ON_TARGET, "repeat_contact_rate": 0.2}, scheme=scheme)
    bad = _one(cfg, {**ON_TARGET, "repeat_contact_rate": 0.21}, scheme=scheme)
    assert round(ok["payout"], 2) == 300.00 and bad["payout"] == 0.0


def test_prorated_leaver(cfg):
    row = _one(cfg, ON_TARGET, salary=48_000.0, leave="2024-03-10")
    # 48 000·10 %/12 = 400.00 a month; employed 1-10 March = 10 of 31 days -> 400·10/31 = 129.0322… -> 129.03
    assert row["days_employed"] == 10 and row["days_in_period"] == 31
    assert round(row["target_bonus"], 2) == 129.03
    assert round(row["payout"], 2) == 129.03


def test_prorated_hire_in_leap_february(cfg):
    row = _one(cfg, ON_TARGET, hire="2024-02-20", period="2024-02-01")
    # February 2024 has 29 days; hired on the 20th -> days 20..29 = 10 -> 300·10/29 = 103.448… -> 103.45
    assert row["days_employed"] == 10
    assert round(row["payout"], 2) == 103.45


def test_quarter_aggregates_with_catalogue(cfg):
    scheme = _scheme(
        period="quarter",
        components=[
            {"metric": "fcr", "weight": 0.5, "threshold": 0.65, "target": 0.75, "stretch": 0.85},
            {"metric": "product_sales", "weight": 0.5, "threshold": 4, "target": 8, "stretch": 14},
        ],
    )
    emp = _employees([("e1", "agent", 36_000.0, "2020-01-01", None)])
    em = pd.DataFrame(
        {
            "period": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"] * 3),
            "employee_id": "e1",
            "metric": ["fcr"] * 3 + ["product_sales"] * 3 + ["quality_score"] * 3,
            "value": [0.6, 0.8, 0.7, 2, 3, 4, 60, 80, 85],
            "volume": [100, 300, 100, 1, 1, 1, 1, 1, 1],
        }
    )
    row = compute_payouts(em, emp, scheme, config=cfg).iloc[0]
    # fcr is a ratio: (0.6·100 + 0.8·300 + 0.7·100)/500 = 0.74 -> 0.5 + 0.5·0.9 = 0.95
    # product_sales sums: 2+3+4 = 9 -> 1 + 0.5·(1/6) = 1.08333;  quality is a mean: 75 >= 70 passes
    # quarter target bonus 36 000·10 %/4 = 900 -> 900·(0.5·0.95 + 0.5·1.083333) = 915.00
    assert row["period"] == pd.Timestamp("2024-01-01")
    assert row["fcr_value"] == pytest.approx(0.74)
    assert row["product_sales_value"] == pytest.approx(9.0)
    assert row["quality_score_value"] == pytest.approx(75.0)
    assert round(row["payout"], 2) == 915.00
    with pytest.raises(InputValueError, match="config"):
        compute_payouts(em, emp, scheme)


def test_missing_metric_is_withheld_not_zero_or_target(cfg):
    emp = _employees(
        [("e1", "agent", 36_000.0, "2020-01-01", None), ("e2", "agent", 36_000.0, "2020-01-01", None)]
    )
    em = _metrics(
        {
            ("2024-03-01", "e1"): ON_TARGET,
            ("2024-03-01", "e2"): {"aht_s": 360.0, "csat": 0.8, "quality_score": 85.0},
        }
    )
    out = compute_payouts(em, emp, _scheme(), config=cfg).set_index("employee_id")
    assert round(out.loc["e1", "payout"], 2) == 300.00
    assert math.isnan(out.loc["e2", "payout"])
    assert out.loc["e2", "withheld"]
    assert "fcr" in out.loc["e2", "withheld_reason"]
    assert out.attrs["withheld_rows"] == 1
    summary = payout_summary(out.reset_index())
    # the withheld 300.00 is reported separately, not paid and not in the cost
    assert summary["payout"].iloc[0] == pytest.approx(300.0)
    assert summary["withheld_target_bonus"].iloc[0] == pytest.approx(300.0)


def test_failed_gate_settles_period_even_with_missing_metric(cfg):
    row = _one(cfg, {"aht_s": 360.0, "csat": 0.80, "quality_score": 50.0})
    # fcr is missing, but quality 50 < 70 fails the gate: nothing could be paid, so 0.00 and not withheld
    assert row["payout"] == 0.0 and not row["withheld"] and row["withheld_reason"] is None
    missing_gate = _one(cfg, {"fcr": 0.75, "aht_s": 360.0, "csat": 0.80})
    # the gate metric itself is missing: withheld, never paid 300.00
    assert math.isnan(missing_gate["payout"]) and "quality_score" in missing_gate["withheld_reason"]


def test_excluded_roles_are_counted(cfg):
    emp = _employees(
        [("e1", "agent", 36_000.0, "2020-01-01", None), ("tl", "team_leader", 50_000.0, "2020-01-01", None)]
    )
    em = _metrics({("2024-03-01", "e1"): ON_TARGET, ("2024-03-01", "tl"): ON_TARGET})
    out = compute_payouts(em, emp, _scheme(), config=cfg)
    assert out["employee_id"].tolist() == ["e1"]
    assert out.attrs["excluded_employees"] == 1
    assert out.attrs["excluded_by_role"] == {"team_leader": 1}


def test_no_catalogue_infers_direction_from_points():
    emp = _employees([("e1", "agent", 36_000.0, "2020-01-01", None)])
    em = _metrics({("2024-03-01", "e1"): {"fcr": 0.75, "aht_s": 330.0, "csat": 0.8, "quality_score": 80}})
    # same as test_lower_is_better_between_target_and_stretch: 345.00
    assert round(compute_payouts(em, emp, _scheme())["payout"].iloc[0], 2) == 345.00


def test_round_money_only_at_output(cfg):
    row = _one(cfg, ON_TARGET, salary=48_000.0, leave="2024-03-10")
    frame = pd.DataFrame([row])
    frame.attrs["money_columns"] = ["payout", "target_bonus"]
    rounded = round_money(frame)
    assert row["payout"] == pytest.approx(4000 / 31, rel=1e-12)  # unrounded inside
    assert rounded["payout"].iloc[0] == 129.03


# ------------------------------------------------------------------------------------------------ curve
def test_curve_target_equals_stretch_steps():
    comp = _scheme().components[0].model_copy(update={"target": 0.85})
    got = payout_curve_values(np.array([0.60, 0.65, 0.75, 0.85, 0.90, np.nan]), comp)
    # threshold 0.65 -> 0.5; 0.75 is halfway to the target 0.85 -> 0.75; at target == stretch -> 1.5
    assert got[:5] == pytest.approx([0.0, 0.5, 0.75, 1.5, 1.5])
    assert np.isnan(got[5])


# ------------------------------------------------------------------------------------------------ properties
_values = st.lists(
    st.tuples(st.floats(0.4, 1.0), st.floats(150.0, 600.0), st.floats(0.4, 1.0), st.floats(50, 100)),
    min_size=1,
    max_size=30,
)


def _frames(values):
    emp = _employees(
        [(f"e{i}", "agent", 30_000.0 + 1000 * i, "2020-01-01", None) for i in range(len(values))]
    )
    em = _metrics(
        {
            ("2024-03-01", f"e{i}"): {"fcr": f, "aht_s": a, "csat": c, "quality_score": q}
            for i, (f, a, c, q) in enumerate(values)
        }
    )
    return em, emp


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=_values)
def test_property_payout_within_zero_and_cap(values):
    cfg = _CFG
    em, emp = _frames(values)
    out = compute_payouts(em, emp, _scheme(), config=cfg, validate=False)
    assert (out["payout"] >= 0).all()
    assert (out["payout"] <= out["cap"] * (1 + 1e-12)).all()
    assert np.allclose(out["cap"], 1.5 * out["target_bonus"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=_values, which=st.sampled_from([0, 1, 2]), step=st.floats(0.0, 0.3))
def test_property_monotone_in_good_direction(values, which, step):
    cfg = _CFG
    scheme = _scheme()
    em, emp = _frames(values)
    metric = ["fcr", "aht_s", "csat"][which]
    better = em.copy()
    sign = cfg.metrics.by_id[metric].sign
    mask = better["metric"] == metric
    # move the metric in its good direction by a relative step (aht_s down, shares up)
    better.loc[mask, "value"] = better.loc[mask, "value"] * (1 + sign * step)
    before = compute_payouts(em, emp, scheme, config=cfg, validate=False)["payout"].to_numpy()
    after = compute_payouts(better, emp, scheme, config=cfg, validate=False)["payout"].to_numpy()
    assert (after >= before - 1e-9).all()


# ------------------------------------------------------------------------------------------------ bad input
def test_unknown_employee_in_metrics(cfg):
    emp = _employees([("e1", "agent", 36_000.0, "2020-01-01", None)])
    em = _metrics({("2024-03-01", "e1"): ON_TARGET, ("2024-03-01", "ghost"): ON_TARGET})
    with pytest.raises(DataValidationError, match="employee_id") as info:
        compute_payouts(em, emp, _scheme(), config=cfg)
    assert "employee_metrics" in str(info.value) and "ghost" in str(info.value)
    assert set(info.value.failures["row"]) == {4, 5, 6, 7}


@pytest.mark.parametrize("validate", [True, False])
def test_negative_salary(cfg, validate):
    emp = _employees([("e1", "agent", -36_000.0, "2020-01-01", None)])
    em = _metrics({("2024-03-01", "e1"): ON_TARGET})
    with pytest.raises(DataValidationError, match="base_salary") as info:
        compute_payouts(em, emp, _scheme(), config=cfg, validate=validate)
    assert "employees" in str(info.value)
    assert info.value.failures["row"].tolist() == [0]


def test_threshold_order_inconsistent_with_direction(cfg):
    comps = [c.model_dump() for c in _scheme().components]
    comps[1].update(threshold=300, target=360, stretch=420)  # aht_s is lower-is-better in the catalogue
    scheme = _scheme(components=comps)
    emp = _employees([("e1", "agent", 36_000.0, "2020-01-01", None)])
    with pytest.raises(ConfigError, match=r"components\[1\]\.threshold") as info:
        compute_payouts(_metrics({("2024-03-01", "e1"): ON_TARGET}), emp, scheme, config=cfg)
    assert "lower-is-better" in str(info.value)


def test_unknown_metric_in_scheme(cfg):
    comps = [c.model_dump() for c in _scheme().components]
    comps[2]["metric"] = "happiness"
    emp = _employees([("e1", "agent", 36_000.0, "2020-01-01", None)])
    with pytest.raises(ConfigError, match=r"components\[2\]\.metric"):
        compute_payouts(
            _metrics({("2024-03-01", "e1"): ON_TARGET}), emp, _scheme(components=comps), config=cfg
        )


def test_weights_not_summing_to_one_in_yaml(tmp_path):
    text = scheme_to_yaml(_scheme()).replace("weight: 0.2", "weight: 0.3")
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="sum to 1.1") as info:
        load_scheme(path)
    assert "bad.yaml" in str(info.value) and "components" in str(info.value)


def test_prepared_grid_rejects_other_roles(cfg):
    emp = _employees([("e1", "agent", 36_000.0, "2020-01-01", None)])
    inputs = prepare_payouts(_metrics({("2024-03-01", "e1"): ON_TARGET}), emp, _scheme(), config=cfg)
    with pytest.raises(ConfigError, match="roles"):
        evaluate_payouts(inputs, _scheme(roles=["agent", "sales_rep"]))


# ------------------------------------------------------------------------------------------------ what-if
def test_reweight_renormalises_others(cfg):
    new = reweight(_scheme(), "fcr", 0.6, config=cfg)
    # others 0.3 and 0.2 share the remaining 0.4 in proportion 3:2 -> 0.24 and 0.16
    assert [c.weight for c in new.components] == pytest.approx([0.6, 0.24, 0.16])
    assert _scheme().components[0].weight == 0.5  # original untouched
    with pytest.raises(ConfigError, match=r"components\[0\]\.weight"):
        reweight(_scheme(), "fcr", 1.0)
    with pytest.raises(ConfigError, match="not a component"):
        reweight(_scheme(), "nps", 0.5)


def test_whatif_rerun_matches_full_run(cfg):
    emp = _employees([("e1", "agent", 36_000.0, "2020-01-01", None)])
    em = _metrics({("2024-03-01", "e1"): {"fcr": 0.72, "aht_s": 400.0, "csat": 0.78, "quality_score": 80.0}})
    inputs = prepare_payouts(em, emp, _scheme(), config=cfg)
    new = move_threshold(_scheme(), "aht_s", threshold=440, config=cfg)
    got = evaluate_payouts(inputs, new)["payout"].iloc[0]
    # aht 400 with threshold 440: 0.5 + 0.5·(40/80) = 0.75 -> 300·0.3·0.75 = 67.50; + 127.50 + 54.00 = 249.00
    assert round(got, 2) == 249.00
    assert got == pytest.approx(compute_payouts(em, emp, new, config=cfg)["payout"].iloc[0])


def test_move_threshold_bad_order(cfg):
    with pytest.raises(ConfigError, match=r"components\[1\]\.threshold"):
        move_threshold(_scheme(), "aht_s", threshold=350, config=cfg)
    with pytest.raises(ConfigError, match=r"components\[1\]\.threshold"):
        move_threshold(_scheme(), "aht_s", threshold=350)


def test_gates_and_cap_edits(cfg):
    gated = add_gate(_scheme(), "repeat_contact_rate", max=0.2, config=cfg)
    assert [(g.metric, g.min, g.max) for g in gated.gates] == [
        ("quality_score", 70, None),
        ("repeat_contact_rate", None, 0.2),
    ]
    replaced = add_gate(gated, "quality_score", min=60)
    assert [g.min for g in replaced.gates if g.metric == "quality_score"] == [60]
    assert [g.metric for g in remove_gate(gated, "quality_score").gates] == ["repeat_contact_rate"]
    with pytest.raises(ConfigError, match="gates"):
        add_gate(_scheme(), "fcr", min=0.9, max=0.8)
    with pytest.raises(ConfigError, match=r"gates\[1\]\.metric"):
        add_gate(_scheme(), "smiles", min=1, config=cfg)
    assert set_cap(_scheme(), 120).cap_pct == 120
    with pytest.raises(ConfigError, match="cap_pct"):
        set_cap(_scheme(), 0)
    row = _one(
        cfg,
        {"fcr": 0.95, "aht_s": 250.0, "csat": 0.99, "quality_score": 80.0},
        scheme=set_cap(_scheme(), 120),
    )
    assert round(row["payout"], 2) == 360.00  # 1.2 × 300


def test_table_round_trip_and_edits(cfg, tmp_path):
    scheme = _scheme()
    comps, gates = scheme_to_table(scheme)
    assert scheme_from_table(scheme, comps, gates, config=cfg) == scheme
    blank = pd.concat([comps, pd.DataFrame([{"metric": None}])], ignore_index=True)  # data_editor's empty row
    assert scheme_from_table(scheme, blank, gates) == scheme
    edited = comps.copy()
    edited.loc[0, "weight"] = 0.6
    with pytest.raises(ConfigError, match="sum to 1.1") as info:
        scheme_from_table(scheme, edited, gates)
    assert "components" in str(info.value)
    edited["weight"] = edited["weight"].astype(object)
    edited.loc[0, "weight"] = "lots"
    with pytest.raises(ConfigError, match=r"components\[0\]\.weight"):
        scheme_from_table(scheme, edited, gates)
    path = tmp_path / "test.yaml"
    path.write_text(scheme_to_yaml(set_cap(scheme, 175)))
    assert load_scheme(path) == set_cap(scheme, 175)


def test_config_schemes_round_trip_yaml(cfg, tmp_path):
    for sid, scheme in cfg.schemes.items():
        path = tmp_path / f"{sid}.yaml"
        path.write_text(scheme_to_yaml(scheme))
        assert load_scheme(path) == scheme


# ------------------------------------------------------------------------------------------------ compare
def test_compare_schemes_hand_worked(cfg):
    emp = _employees(
        [("e1", "agent", 36_000.0, "2020-01-01", None), ("e2", "agent", 36_000.0, "2020-01-01", None)]
    )
    em = _metrics(
        {
            ("2024-03-01", "e1"): {"fcr": 0.75, "aht_s": 300.0, "csat": 0.80, "quality_score": 80.0},
            ("2024-03-01", "e2"): {"fcr": 0.85, "aht_s": 420.0, "csat": 0.80, "quality_score": 80.0},
        }
    )
    current = _scheme()
    # e1: 300·(0.5·1 + 0.3·2 + 0.2·1) = 390.00; e2: 300·(0.5·1.5 + 0.3·0.5 + 0.2·1) = 330.00
    customer = reweight(current, "fcr", 0.8).model_copy(update={"id": "customer"})
    # weights 0.8 / 0.12 / 0.08: e1: 300·(0.8 + 0.24 + 0.08) = 336.00; e2: 300·(1.2 + 0.06 + 0.08) = 402.00
    result = compare_schemes(em, emp, [current, customer], config=cfg, budget=12_000)
    budget = result.budget.set_index("scheme")
    assert budget.loc["test", "total_cost"] == pytest.approx(720.0)
    assert budget.loc["customer", "total_cost"] == pytest.approx(738.0)
    # one month of data -> annualised ×12: 8 640 and 8 856 against 12 000
    assert budget.loc["test", "annualised_cost"] == pytest.approx(8640.0)
    assert budget.loc["customer", "budget_share"] == pytest.approx(8856.0 / 12_000)
    assert budget.loc["customer", "vs_baseline"] == pytest.approx(216.0)
    wl = result.winners_losers.iloc[0]
    assert (wl["winners"], wl["losers"], wl["total_change"]) == (1, 1, pytest.approx(18.0))
    share = result.customer_share.set_index("scheme")
    # customer-centric (fcr, csat) money: current 150+60 + 225+60 = 495 of 720
    assert share.loc["test", "customer_centric_share"] == pytest.approx(495 / 720)
    att = result.attainment.set_index("scheme")
    # attainments 1.3 and 1.1 -> median 1.2
    assert att.loc["test", "p50"] == pytest.approx(1.2)
    assert list(result.summary()["scheme"]) == ["test", "customer"]
    assert result.cost["payout"].sum() == pytest.approx(720 + 738)


def test_compare_winners_losers_skip_withheld_periods(cfg):
    emp = _employees([(e, "agent", 36_000.0, "2020-01-01", None) for e in ("e1", "e2", "e3")])
    on_target_no_fcr = {k: v for k, v in ON_TARGET.items() if k != "fcr"}
    em = _metrics(
        {
            ("2024-03-01", "e1"): ON_TARGET,
            ("2024-04-01", "e1"): ON_TARGET,
            ("2024-03-01", "e2"): on_target_no_fcr,  # withheld under the baseline (fcr missing)...
            ("2024-04-01", "e2"): on_target_no_fcr,
            ("2024-03-01", "e3"): on_target_no_fcr,
            ("2024-04-01", "e3"): ON_TARGET,
        }
    )
    no_fcr = _scheme(
        id="no_fcr",
        components=[
            {"metric": "aht_s", "weight": 0.5, "threshold": 420, "target": 360, "stretch": 300},
            {"metric": "csat", "weight": 0.5, "threshold": 0.7, "target": 0.8, "stretch": 0.9},
        ],
        cap_pct=120,
    )
    wl = compare_schemes(em, emp, [_scheme(), no_fcr], config=cfg).winners_losers.iloc[0]
    # e1: 300.00 a month under both -> unchanged. e2: withheld every month under the baseline but paid 600.00 under
    # no_fcr -> not comparable (an unknown amount is not a loss). e3: only April comparable, 300 vs 300 -> unchanged
    assert (wl["winners"], wl["losers"], wl["unchanged"], wl["not_comparable"]) == (0, 0, 2, 1)
    assert wl["total_change"] == pytest.approx(0.0)


def test_compare_cache_reuses_prepared_grid(cfg):
    emp = _employees([("e1", "agent", 36_000.0, "2020-01-01", None)])
    em = _metrics({("2024-03-01", "e1"): ON_TARGET})
    cache: dict = {}
    first = compare_schemes(em, emp, [_scheme()], config=cfg, cache=cache)
    assert list(cache) == [(("agent",), "month")]
    grid = cache[(("agent",), "month")]
    capped = set_cap(_scheme(), 120).model_copy(update={"id": "capped"})
    again = compare_schemes(em, emp, [_scheme(), capped], config=cfg, cache=cache)
    assert cache[(("agent",), "month")] is grid  # not rebuilt
    assert first.budget["total_cost"].iloc[0] == pytest.approx(300.0) == again.budget["total_cost"].iloc[0]


def test_compare_needs_schemes(cfg):
    with pytest.raises(InputValueError, match="at least one scheme") as info:
        compare_schemes(pd.DataFrame(), pd.DataFrame(), [], config=cfg)
    assert info.value.argument == "schemes"


# ------------------------------------------------------------------------------------------------ sample org
@pytest.fixture(scope="module")
def sample_comparison(sample_org, config):
    schemes = [config.schemes[s] for s in ("siloed", "balanced", "shared_customer")]
    return compare_schemes(sample_org.employee_metrics, sample_org.employees, schemes, config=config)


def test_sample_siloed_pays_for_low_aht_at_the_cost_of_fcr(sample_org, sample_comparison):
    assert sample_org.truth.conflicting_component == ("siloed", "aht_s")
    agents = sample_comparison.payouts["siloed"].query("role == 'agent' and not withheld")
    fcr = sample_org.employee_metrics.query("metric == 'fcr'")[["period", "employee_id", "value"]]
    frame = agents.merge(fcr.rename(columns={"value": "fcr"}), on=["period", "employee_id"])
    fast = frame["aht_s_value"] <= frame["aht_s_value"].quantile(0.25)
    slow = frame["aht_s_value"] >= frame["aht_s_value"].quantile(0.75)
    # the siloed plan pays the fastest quarter of agents clearly more than the slowest quarter...
    assert frame.loc[fast, "payout"].mean() > 1.2 * frame.loc[slow, "payout"].mean()
    # ...while those fast agents resolve fewer contacts first time (planted aht -> fcr slope > 0)
    assert sample_org.truth.aht_fcr_slope > 0
    assert frame.loc[fast, "fcr"].mean() < frame.loc[slow, "fcr"].mean()


def test_sample_costs_finite_positive_and_customer_share(sample_comparison, config):
    budget = sample_comparison.budget.set_index("scheme")
    assert np.isfinite(budget["annualised_cost"]).all() and (budget["annualised_cost"] > 0).all()
    assert (budget["budget"] == config.economics.annual_bonus_budget).all()
    cost = sample_comparison.cost
    assert np.isfinite(cost["payout"]).all()
    # the sample's first month has no churn rate (churn is observed from month 2), so shared_customer withholds
    # that month's payouts with a reason instead of paying 0 or target; every other month pays something
    first = cost["period"] == cost["period"].min()
    assert (cost.loc[~first].groupby("scheme")["payout"].min() > 0).all()
    share = sample_comparison.customer_share.set_index("scheme")["customer_centric_share"]
    # siloed pays only on local metrics, shared_customer only on customer-centric ones; balanced in between
    # (55 % of its weight is customer-centric)
    assert share["siloed"] == 0.0 and share["shared_customer"] == pytest.approx(1.0)
    assert 0.3 < share["balanced"] < 0.8
    att = sample_comparison.attainment
    assert (att["p10"] <= att["p50"]).all() and (att["p50"] <= att["p90"]).all()
    wl = sample_comparison.winners_losers
    assert set(wl["scheme"]) == {"balanced", "shared_customer"}
    assert (wl["winners"] + wl["losers"] + wl["unchanged"] + wl["not_comparable"] == wl["employees"]).all()


def test_plots(config, sample_comparison):
    from cx_framework import plots

    fig = plots.payout_curve_figure(config.schemes["siloed"], config=config)
    curve = fig.data[0]  # aht_s: lower is better -> axis reversed; flat 1.5 beyond stretch 300
    assert fig.layout.xaxis.autorange == "reversed"
    assert curve.y[0] == pytest.approx(1.5) and curve.y[-1] == 0.0
    dist = plots.scheme_cost_distribution(sample_comparison)
    assert [t.name for t in dist.data] == ["siloed", "balanced", "shared_customer"]
    by_period = sample_comparison.plot()
    assert len(by_period.data) == 3
    cost = plots.scheme_cost_by_period(sample_comparison)
    assert len(cost.data) == 3 and cost.layout.shapes[0].y0 == pytest.approx(
        config.economics.annual_bonus_budget / 12
    )
    # the budget line is the shape and label plotly's add_hline draws (drawn by _style.reference_line)
    reference = plots.scheme_cost_by_period(sample_comparison)
    reference.layout.shapes, reference.layout.annotations = (), ()
    reference.add_hline(
        y=config.economics.annual_bonus_budget / 12,
        line_dash="dash",
        line_color="#D55E00",
        annotation_text="budget / 12",
    )
    assert json.loads(cost.to_json()) == json.loads(reference.to_json())
