"""Plan depth (issue 16 item 1): rate tables, proration, team crediting, draws, clawbacks, cap carry-forward and
effective-dated versions. Every expected number is worked by hand in the comments.

Common set-up: base salary 36 000 a year, target bonus 10 % → 3 600 a year → 300.00 a month; one component,
``product_sales`` (sum, higher is better) with quota (``target``) 10 units a month.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cx_framework.config import Scheme, load_config
from cx_framework.config.loader import parse_model
from cx_framework.config.models import Draw, RateTable
from cx_framework.errors import ConfigError, DataValidationError
from cx_framework.incentives import (
    compute_payouts,
    rate_table_values,
    sales_from_contacts,
    scheme_for_period,
    settle,
)


@pytest.fixture(scope="module")
def cfg():
    return load_config("configs")


TIERS = [
    {"from": 0, "to": 0.5, "rate": 0.5},
    {"from": 0.5, "to": 1.0, "rate": 1.0},
    {"from": 1.0, "rate": 2.0},
]


def _scheme(**extra) -> Scheme:
    component = {"metric": "product_sales", "weight": 1.0, "threshold": 0, "target": 10, "stretch": 20}
    component.update(extra.pop("component", {}))
    data = {
        "id": "plan",
        "name": "Plan",
        "roles": ["sales_rep"],
        "target_bonus_pct": 10,
        "components": [component],
        "cap_pct": 1000,
        **extra,
    }
    return parse_model(Scheme, data, file="plan.yaml")


def _employees(*rows) -> pd.DataFrame:
    base = {
        "department": "sales",
        "team": "t1",
        "role": "sales_rep",
        "base_salary": 36000.0,
        "hire_date": "2020-01-01",
        "leave_date": None,
        "fte": 1.0,
    }
    out = pd.DataFrame([{**base, **r} for r in rows])
    out["hire_date"] = pd.to_datetime(out["hire_date"])
    out["leave_date"] = pd.to_datetime(out["leave_date"])
    return out


def _metrics(values: dict[tuple[str, str], float]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"period": pd.Timestamp(p), "employee_id": e, "metric": "product_sales", "value": v}
            for (p, e), v in values.items()
        ]
    )


# ------------------------------------------------------------------------------------------------ rate tables
def test_rate_table_marginal_and_retroactive_by_hand():
    table = RateTable(mode="marginal", tiers=TIERS)
    retro = RateTable(mode="retroactive", tiers=TIERS)
    a = np.array([0.4, 0.8, 1.2])
    # marginal: 0.4·0.5 = 0.2; 0.5·0.5 + 0.3·1.0 = 0.55; 0.5·0.5 + 0.5·1.0 + 0.2·2.0 = 1.15
    np.testing.assert_allclose(rate_table_values(a, table), [0.2, 0.55, 1.15])
    # retroactive: 0.4·0.5 = 0.2; 0.8·1.0 = 0.8; 1.2·2.0 = 2.4 (every unit re-rated at the top tier)
    np.testing.assert_allclose(rate_table_values(a, retro), [0.2, 0.8, 2.4])


def test_rate_table_payout_end_to_end(cfg):
    scheme = _scheme(component={"rate_table": {"mode": "marginal", "tiers": TIERS}})
    emp = _employees({"employee_id": "E1"})
    out = compute_payouts(_metrics({("2025-01-01", "E1"): 12}), emp, scheme, config=cfg)
    # attainment 12/10 = 1.2 → multiplier 1.15 (above) → 300 × 1.0 × 1.15 = 345.00
    assert out["product_sales_attainment"].iloc[0] == pytest.approx(1.2)
    assert out["payout"].iloc[0] == pytest.approx(345.0)


def test_closed_last_tier_pays_nothing_more():
    table = RateTable(
        mode="marginal", tiers=[{"from": 0, "to": 1.0, "rate": 1.0}, {"from": 1.0, "to": 1.5, "rate": 1.5}]
    )
    # 1.0 + 0.5·1.5 = 1.75 at 1.5 and beyond
    np.testing.assert_allclose(rate_table_values(np.array([1.5, 3.0]), table), [1.75, 1.75])


@pytest.mark.parametrize(
    ("tiers", "message", "key"),
    [
        ([{"from": 0, "to": 0.6, "rate": 1}, {"from": 0.5, "rate": 2}], "overlapping tiers", "tiers[1].from"),
        (
            [{"from": 0, "to": 0.5, "rate": 1}, {"from": 0.6, "rate": 2}],
            "gap in the tier table",
            "tiers[1].from",
        ),
        ([{"from": 0.2, "rate": 1}], "must start at 0", "tiers[0].from"),
        ([{"from": 0, "rate": 1}, {"from": 1, "rate": 2}], "open-ended", "tiers[0].to"),
    ],
)
def test_bad_tier_tables_name_the_key(tiers, message, key):
    with pytest.raises(ConfigError, match=message) as err:
        _scheme(component={"rate_table": {"tiers": tiers}})
    assert err.value.key == f"components[0].rate_table.{key}"
    assert "plan.yaml" in str(err.value)


@settings(max_examples=60, deadline=None)
@given(
    rates=st.lists(st.floats(0, 5), min_size=1, max_size=4),
    a=st.floats(0, 4),
    b=st.floats(0, 4),
)
def test_marginal_tiers_are_monotone_and_continuous(rates, a, b):
    tiers = [{"from": i * 0.5, "to": (i + 1) * 0.5, "rate": r} for i, r in enumerate(rates)]
    tiers[-1].pop("to")
    table = RateTable(mode="marginal", tiers=tiers)
    lo, hi = sorted((a, b))
    v_lo, v_hi = rate_table_values(np.array([lo, hi]), table)
    assert v_hi >= v_lo - 1e-12
    # Lipschitz with the largest rate: no jump at a tier boundary (unlike retroactive tiers)
    assert v_hi - v_lo <= max(rates) * (hi - lo) + 1e-9


# ------------------------------------------------------------------------------------------------ proration & teams
def test_joiner_and_part_timer_quota_is_prorated(cfg):
    scheme = _scheme(component={"prorate": True, "rate_table": {"tiers": [{"from": 0, "rate": 1.0}]}})
    emp = _employees(
        {"employee_id": "J", "hire_date": "2025-04-16"},  # joins 16 April: 15 of 30 days → share 0.5
        {"employee_id": "P", "fte": 0.5},  # half time all month
    )
    out = compute_payouts(
        _metrics({("2025-04-01", "J"): 5, ("2025-04-01", "P"): 5}), emp, scheme, config=cfg
    ).set_index("employee_id")
    # J: prorated quota 10 × 0.5 = 5 → attainment 5/5 = 1.0; target bonus 300 × 0.5 = 150 → pays 150.00
    assert out.loc["J", "product_sales_attainment"] == pytest.approx(1.0)
    assert out.loc["J", "payout"] == pytest.approx(150.0)
    # P: quota 10 × fte 0.5 = 5 → attainment 1.0; salary is already the part-time salary → 300.00
    assert out.loc["P", "payout"] == pytest.approx(300.0)


def test_team_split_credits_members_by_share(cfg):
    scheme = _scheme(
        component={
            "credit": {"basis": "team", "split": "fte"},
            "rate_table": {"tiers": [{"from": 0, "rate": 1.0}]},
        }
    )
    emp = _employees(
        {"employee_id": "A"}, {"employee_id": "B", "fte": 0.5}, {"employee_id": "C", "team": "t2"}
    )
    out = compute_payouts(
        _metrics({("2025-01-01", "A"): 12, ("2025-01-01", "B"): 3, ("2025-01-01", "C"): 7}),
        emp,
        scheme,
        config=cfg,
    ).set_index("employee_id")
    # team t1 sold 12 + 3 = 15; shares by fte 1 : 0.5 → A 10, B 5; team t2 = C alone → 7
    assert out.loc["A", "product_sales_value"] == pytest.approx(10.0)
    assert out.loc["B", "product_sales_value"] == pytest.approx(5.0)
    assert out.loc["C", "product_sales_value"] == pytest.approx(7.0)
    assert out.loc["A", "product_sales_own_value"] == 12
    # A: 10/10 → 300; B: 5/10 → 150; credited total equals the sum of the parts
    assert out.loc["B", "payout"] == pytest.approx(150.0)
    assert out["product_sales_value"].sum() == pytest.approx(out["product_sales_own_value"].sum())


def test_proration_needs_an_additive_metric(cfg):
    data = cfg.schemes["balanced"].model_dump(by_alias=True)
    data["components"][0]["prorate"] = True
    with pytest.raises(ConfigError, match="proration") as err:
        cfg.with_scheme(data)
    assert err.value.key == "components[0].prorate"


# ------------------------------------------------------------------------------------------------ draws
def _ledger_frame(earnings: list[float], cap: float = 1e9) -> pd.DataFrame:
    n = len(earnings)
    return pd.DataFrame(
        {
            "period": pd.date_range("2002-01-01", periods=n, freq="MS"),
            "employee_id": "E1",
            "target_bonus": 2000.0,
            "payout_before_cap": earnings,
            "cap": cap,
            "payout": np.minimum(earnings, cap),
            "withheld": False,
        }
    )


def test_recoverable_draw_reproduces_oracle_published_example():
    """Oracle Siebel Incentive Compensation Administration Guide, "Recoverable Draw Scenario" (Table 4):
    https://docs.oracle.com/cd/E05553_01/books/InCompAdm/InCompAdmPlanDesign8.html — a 2 000 monthly recoverable
    draw; gross earnings 2 750, 3 000, 1 500, 2 375, 3 000, 2 750; net earnings 2 750, 3 000, 2 000, 2 000, 2 875,
    2 750.

    Mar: 1 500 < 2 000 → top-up 500 (owed 500). Apr: 2 375 − 2 000 = 375 above the draw recovered → net 2 000,
    owed 125. May: 3 000, recover the last 125 → net 2 875. Jun: nothing owed → 2 750.
    """
    draw = Draw(kind="recoverable", amount=2000, recovery={"share_of_excess": 1.0})
    out = settle(
        _ledger_frame([2750, 3000, 1500, 2375, 3000, 2750]),
        clawback=np.zeros(6),
        carry_forward=False,
        draw=draw,
    )
    np.testing.assert_allclose(out["payout"], [2750, 3000, 2000, 2000, 2875, 2750])
    np.testing.assert_allclose(out["draw_balance"], [0, 0, 500, 125, 0, 0])
    np.testing.assert_allclose(out["draw_recovered"], [0, 0, 0, 375, 125, 0])


def test_draw_reproduces_xactly_published_example():
    """Xactly, "The Non-Recoverable Draw Against Commission" (https://www.xactlycorp.com/blog/non-recoverable-draw/):
    a 1 500 draw; August commissions 500 → paid 1 500 with 1 000 borrowed; September commissions 3 000 → the
    recoverable draw pays 3 000 − 1 000 = 2 000, the non-recoverable one 3 000."""
    rec = Draw(kind="recoverable", amount=1500, recovery={})
    non = Draw(kind="non_recoverable", amount=1500)
    frame = _ledger_frame([500, 3000])
    np.testing.assert_allclose(
        settle(frame, clawback=np.zeros(2), carry_forward=False, draw=rec)["payout"], [1500, 2000]
    )
    np.testing.assert_allclose(
        settle(frame, clawback=np.zeros(2), carry_forward=False, draw=non)["payout"], [1500, 3000]
    )


def test_draw_recovery_start_and_draw_end_follow_oracle_fusion_example():
    """Oracle Fusion Incentive Compensation, "Example of Incentive Compensation Draw and Recovery"
    (https://docs.oracle.com/en/cloud/saas/sales/facmi/example-of-incentive-compensation-draw-and-recovery.html):
    1 000 per period, stops after the sixth period, 100 % recovery from the fourth period. Earnings 500, 700, 400
    → paid 1 000 each and balances 500, 800, 1 400 (the published rows). Later rows worked by hand: P4 earns
    1 500 → recover 500 (pay stays at the 1 000 minimum), balance 900; P7 (no draw any more) earns 2 000 → recover
    all 900 → pays 1 100."""
    draw = Draw(kind="recoverable", amount=1000, periods=6, recovery={"start_period": 4})
    out = settle(
        _ledger_frame([500, 700, 400, 1500, 1000, 1000, 2000]),
        clawback=np.zeros(7),
        carry_forward=False,
        draw=draw,
    )
    np.testing.assert_allclose(out["payout"], [1000, 1000, 1000, 1000, 1000, 1000, 1100])
    np.testing.assert_allclose(out["draw_balance"], [500, 800, 1400, 900, 900, 900, 0])


def test_new_hire_draw_counts_periods_from_the_hire_date(cfg):
    scheme = _scheme(draw={"kind": "non_recoverable", "amount": 200, "periods": 2})
    emp = _employees({"employee_id": "NEW", "hire_date": "2025-02-01"}, {"employee_id": "OLD"})
    months = ["2025-02-01", "2025-03-01", "2025-04-01"]
    metrics = _metrics({**{(m, "NEW"): 0 for m in months}, **{(m, "OLD"): 0 for m in months}})
    out = compute_payouts(metrics, emp, scheme, config=cfg).set_index(["employee_id", "period"])
    # a value of 0 sits at the threshold 0, so the curve pays payout_at_threshold 0.5 × 300 = 150; the draw of 200
    # tops NEW up by 50 in the first two months of employment (Feb, Mar), not in April; OLD (hired 2020) gets none
    np.testing.assert_allclose(out.loc["NEW", "payout"], [200, 200, 150])
    np.testing.assert_allclose(out.loc["NEW", "draw_top_up"], [50, 50, 0])
    np.testing.assert_allclose(out.loc["OLD", "payout"], [150, 150, 150])


def test_draw_without_recovery_rule_is_refused():
    with pytest.raises(ConfigError, match="recovery rule") as err:
        _scheme(draw={"kind": "recoverable", "amount": 100})
    assert err.value.key == "draw.recovery"


@settings(max_examples=60, deadline=None)
@given(
    earnings=st.lists(st.floats(0, 5000), min_size=1, max_size=12),
    amount=st.floats(1, 3000),
    share=st.floats(0.05, 1.0),
)
def test_recoverable_draw_conserves_money(earnings, amount, share):
    draw = Draw(kind="recoverable", amount=amount, recovery={"share_of_excess": share})
    out = settle(_ledger_frame(earnings), clawback=np.zeros(len(earnings)), carry_forward=False, draw=draw)
    # everything paid = everything earned + what is still owed; pay never below the draw
    assert out["payout"].sum() == pytest.approx(sum(earnings) + out["draw_balance"][-1], rel=1e-9, abs=1e-6)
    assert (out["payout"] >= amount - 1e-9).all()


# ------------------------------------------------------------------------------------------------ caps carried forward
def test_cap_withheld_balance_is_carried_forward():
    # cap 450 a period; before-cap 600, 200, 300: P1 pays 450 and banks 150; P2 has room 250 → releases 150 → 350;
    # P3 pays 300 (bank empty)
    out = settle(_ledger_frame([600, 200, 300], cap=450), clawback=np.zeros(3), carry_forward=True, draw=None)
    np.testing.assert_allclose(out["payout"], [450, 350, 300])
    np.testing.assert_allclose(out["cap_balance"], [150, 0, 0])
    forfeited = settle(
        _ledger_frame([600, 200, 300], cap=450), clawback=np.zeros(3), carry_forward=False, draw=None
    )
    np.testing.assert_allclose(forfeited["payout"], [450, 200, 300])


@settings(max_examples=60, deadline=None)
@given(earnings=st.lists(st.floats(0, 2000), min_size=1, max_size=12), cap=st.floats(50, 1500))
def test_cap_carry_forward_conserves_money_and_respects_cap(earnings, cap):
    out = settle(
        _ledger_frame(earnings, cap=cap), clawback=np.zeros(len(earnings)), carry_forward=True, draw=None
    )
    assert out["payout"].sum() + out["cap_balance"][-1] == pytest.approx(sum(earnings), rel=1e-9, abs=1e-6)
    assert (out["payout"] <= cap + 1e-9).all()


def test_clawback_charged_to_a_withheld_period_is_carried_not_forgiven():
    # earnings 1 000 / (withheld) / 1 000; a 300 clawback falls in the withheld month: it pays nothing, the 300 is
    # carried and recovered from month 3 → 700
    frame = _ledger_frame([1000, 1000, 1000])
    frame.loc[1, ["withheld", "payout"]] = [True, np.nan]
    out = settle(frame, clawback=np.array([0.0, 300.0, 0.0]), carry_forward=False, draw=None)
    np.testing.assert_allclose(out["payout"], [1000, np.nan, 700])
    np.testing.assert_allclose(out["clawback"], [0, 300, 0])
    np.testing.assert_allclose(out["clawback_balance"], [0, 300, 0])
    np.testing.assert_allclose(out["clawback_recovered"], [0, np.nan, 300])
    assert np.nansum(out["clawback_recovered"]) == pytest.approx(np.sum(out["clawback"]))


# ------------------------------------------------------------------------------------------------ clawbacks
def test_clawback_reverses_sale_when_customer_churns_within_window(cfg):
    scheme = _scheme(
        component={"clawback": {"window_days": 90}, "rate_table": {"tiers": [{"from": 0, "rate": 1.0}]}}
    )
    emp = _employees({"employee_id": "E1"})
    metrics = _metrics({("2025-01-01", "E1"): 10, ("2025-02-01", "E1"): 10, ("2025-03-01", "E1"): 2})
    sales = pd.DataFrame(
        {
            "sale_id": ["s1", "s2", "s3"],
            "employee_id": "E1",
            "customer_id": ["C1", "C2", "C3"],
            "sold_at": pd.to_datetime(["2025-01-10", "2025-01-20", "2025-01-25"]),
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3"],
            # C1 churns 41 days after the sale (inside 90) → reversed, charged in February;
            # C2 churns 200 days after (outside) → kept; C3 never churns
            "churn_date": pd.to_datetime(["2025-02-20", "2025-08-08", None]),
        }
    )
    out = compute_payouts(metrics, emp, scheme, config=cfg, sales=sales, customers=customers)
    # January paid 10/10 × 300 = 300; restated 9/10 × 300 = 270 → clawback 30 charged in February
    np.testing.assert_allclose(out["earned"], [300, 300, 60])
    np.testing.assert_allclose(out["clawback"], [0, 30, 0])
    np.testing.assert_allclose(out["payout"], [300, 270, 60])
    assert out.attrs["clawback"]["reversed_sales"] == 1


def test_clawback_larger_than_pay_carries_forward_and_pay_is_never_negative(cfg):
    scheme = _scheme(
        component={"clawback": {"window_days": 30}, "rate_table": {"tiers": [{"from": 0, "rate": 1.0}]}}
    )
    emp = _employees({"employee_id": "E1"})
    metrics = _metrics({("2025-01-01", "E1"): 10, ("2025-02-01", "E1"): 1, ("2025-03-01", "E1"): 10})
    sales = pd.DataFrame(
        {
            "sale_id": [f"s{i}" for i in range(5)],
            "employee_id": "E1",
            "customer_id": [f"C{i}" for i in range(5)],
            "sold_at": pd.Timestamp("2025-01-20"),
        }
    )
    customers = pd.DataFrame(
        {"customer_id": [f"C{i}" for i in range(5)], "churn_date": pd.Timestamp("2025-02-05")}
    )
    out = compute_payouts(metrics, emp, scheme, config=cfg, sales=sales, customers=customers)
    # 5 of January's 10 sales reversed: 300 − 150 = 150 charged in February, which earned only 30 → pays 0, owes
    # 120, recovered in March: 300 − 120 = 180
    np.testing.assert_allclose(out["payout"], [300, 0, 180])
    np.testing.assert_allclose(out["clawback_balance"], [0, 120, 0])


def test_negative_clawback_window_is_refused():
    with pytest.raises(ConfigError, match="negative") as err:
        _scheme(component={"clawback": {"window_days": -5}})
    assert err.value.key == "components[0].clawback.window_days"


def test_clawback_without_sales_table_is_reported(cfg):
    scheme = _scheme(component={"clawback": {"window_days": 30}})
    out = compute_payouts(
        _metrics({("2025-01-01", "E1"): 10}), _employees({"employee_id": "E1"}), scheme, config=cfg
    )
    assert "not applied" in out.attrs["clawback"]


def test_sales_naming_unknown_customers_are_refused(cfg):
    scheme = _scheme(component={"clawback": {"window_days": 30}})
    sales = pd.DataFrame(
        {
            "sale_id": ["s"],
            "employee_id": ["E1"],
            "customer_id": ["nobody"],
            "sold_at": [pd.Timestamp("2025-01-02")],
        }
    )
    customers = pd.DataFrame({"customer_id": ["C1"], "churn_date": [pd.NaT]})
    with pytest.raises(DataValidationError, match="'sales', column 'customer_id'"):
        compute_payouts(
            _metrics({("2025-01-01", "E1"): 1}),
            _employees({"employee_id": "E1"}),
            scheme,
            config=cfg,
            sales=sales,
            customers=customers,
        )


def test_sales_from_contacts_keeps_answered_sale_contacts():
    contacts = pd.DataFrame(
        {
            "contact_id": ["k1", "k2", "k3"],
            "customer_id": ["C1", "C2", "C3"],
            "timestamp": pd.to_datetime(["2025-01-01 09:00"] * 3),
            "reason": ["new_order", "new_order", "bill_query"],
            "abandoned": [False, True, False],
            "agent_id": ["E1", "E2", "E3"],
        }
    )
    sales = sales_from_contacts(contacts)
    assert sales["sale_id"].tolist() == ["k1"]  # abandoned and non-sale contacts are not sales


# ------------------------------------------------------------------------------------------------ versions
def test_effective_dated_version_applies_from_its_date(cfg):
    scheme = _scheme(versions=[{"effective_from": "2025-07-01", "target_bonus_pct": 12}])
    months = pd.date_range("2025-05-01", periods=4, freq="MS")
    metrics = _metrics({(str(m.date()), "E1"): 10 for m in months})
    out = compute_payouts(metrics, _employees({"employee_id": "E1"}), scheme, config=cfg)
    # May, June: 36 000 × 10 % / 12 = 300; July, August: 36 000 × 12 % / 12 = 360 (on target: curve 1.0)
    np.testing.assert_allclose(out["payout"], [300, 300, 360, 360])
    assert out["plan_version"].tolist() == ["base", "base", "2025-07-01", "2025-07-01"]
    assert scheme_for_period(scheme, "2025-08-01").target_bonus_pct == 12
    assert scheme_for_period(scheme, "2025-06-01").target_bonus_pct == 10


def test_overlapping_versions_are_refused():
    with pytest.raises(ConfigError, match="overlaps") as err:
        _scheme(
            versions=[
                {"effective_from": "2025-01-01", "effective_to": "2025-06-30", "cap_pct": 150},
                {"effective_from": "2025-04-01", "cap_pct": 120},
            ]
        )
    assert err.value.key == "versions[1].effective_from"


def test_version_must_start_on_a_period_start():
    with pytest.raises(ConfigError, match="not the start of a month") as err:
        _scheme(versions=[{"effective_from": "2025-07-15", "cap_pct": 150}])
    assert err.value.key == "versions[0].effective_from"


def test_existing_schemes_are_unchanged_by_plan_depth(cfg):
    # a scheme without the new keys gets no ledger columns, and payout = earned-rule payout exactly as before
    scheme = _scheme()
    out = compute_payouts(
        _metrics({("2025-01-01", "E1"): 15}), _employees({"employee_id": "E1"}), scheme, config=cfg
    )
    assert "earned" not in out.columns and "plan_version" not in out.columns
    # curve: 15 between target 10 (1.0) and stretch 20 (1.5) → 1.25 × 300 = 375
    assert out["payout"].iloc[0] == pytest.approx(375.0)
