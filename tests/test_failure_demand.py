"""Tests of cx_framework.failure_demand: attribution, repeat chains, costs, charge-back, fix vs absorb, plots, CLI."""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cx_framework.config import load_config
from cx_framework.config.models import Economics, FailureDemand
from cx_framework.errors import DataValidationError, InputValueError, StatisticalWarning
from cx_framework.failure_demand import (
    FailureDemandResult,
    attribute_failure_demand,
    fix_vs_absorb,
    monthly_discount_rate,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def config():
    return load_config(ROOT / "configs")


def _contacts(rows: list[tuple]) -> pd.DataFrame:
    """Rows of (contact_id, customer_id, timestamp, channel, reason, handle_s, abandoned, resolved)."""
    frame = pd.DataFrame(
        rows,
        columns=[
            "contact_id",
            "customer_id",
            "timestamp",
            "channel",
            "reason",
            "handle_s",
            "abandoned",
            "resolved_first_contact",
        ],
    )
    frame["timestamp"] = pd.to_datetime(frame["timestamp"])
    frame["queue"] = "general"
    frame["wait_s"] = 15.0
    frame["agent_id"] = np.where(frame["abandoned"], None, "e1")
    return frame


# A hand-built organisation; expected classification worked out by hand from configs/failure_demand.yaml:
#  customer A: a1 bill_query (failure, billing) unresolved; a2 3 days later -> repeat of a1 (billing);
#              a3 6 days after a2 (9 after a1: window runs from the previous link) -> repeat, root a1 (billing);
#              a3 resolved, so a4 four days later is value demand (new_order -> sales).
#  customer B: b1 order_chase (failure, fulfilment) unresolved; b2 7.5 days later -> outside window -> value.
#  customer C: c1 change_of_service (value, fulfilment) unresolved; c2 exactly 7 days later -> repeat (window
#              inclusive) owned by fulfilment although the root is value demand.
#  customer D: d1 unknown reason "weather" -> unclassified; d2 a day later -> repeat whose root is unknown ->
#              repeat attributed to "unclassified".
#  customer E: e1 bill_query resolved; e2 next day bill_query again -> a new failure, not a repeat.
#  customer F: f1 not_as_sold (failure, sales), abandoned (unresolved) in January; f2 in February 2 days later
#              -> repeat of f1 (sales), and it falls into the February period.
HAND_ROWS = [
    ("a3", "A", "2024-01-10 09:00", "email", "new_order", 240.0, False, True),
    ("a1", "A", "2024-01-01 09:00", "phone", "bill_query", 300.0, False, False),
    ("b1", "B", "2024-01-02 10:00", "phone", "order_chase", 360.0, False, False),
    ("a2", "A", "2024-01-04 09:00", "phone", "technical_help", 600.0, False, False),
    ("a4", "A", "2024-01-14 09:00", "chat", "new_order", 180.0, False, True),
    ("b2", "B", "2024-01-09 22:00", "phone", "technical_help", 420.0, False, True),
    ("c1", "C", "2024-01-05 00:00", "phone", "change_of_service", 200.0, False, False),
    ("c2", "C", "2024-01-12 00:00", "phone", "cancel_request", 100.0, False, True),
    ("d1", "D", "2024-01-06 08:00", "phone", "weather", 120.0, False, False),
    ("d2", "D", "2024-01-07 08:00", "chat", "technical_help", 90.0, False, True),
    ("e1", "E", "2024-01-08 08:00", "phone", "bill_query", 300.0, False, True),
    ("e2", "E", "2024-01-09 08:00", "phone", "bill_query", 300.0, False, True),
    ("f1", "F", "2024-01-30 12:00", "phone", "not_as_sold", 0.0, True, False),
    ("f2", "F", "2024-02-01 12:00", "phone", "technical_help", 500.0, False, True),
]
EXPECTED = {
    "a1": ("failure", "billing", "a1"),
    "a2": ("repeat", "billing", "a1"),
    "a3": ("repeat", "billing", "a1"),
    "a4": ("value", "sales", "a4"),
    "b1": ("failure", "fulfilment", "b1"),
    "b2": ("value", "contact_centre", "b2"),
    "c1": ("value", "fulfilment", "c1"),
    "c2": ("repeat", "fulfilment", "c1"),
    "d1": ("unclassified", "unclassified", "d1"),
    "d2": ("repeat", "unclassified", "d1"),
    "e1": ("failure", "billing", "e1"),
    "e2": ("failure", "billing", "e2"),
    "f1": ("failure", "sales", "f1"),
    "f2": ("repeat", "sales", "f1"),
}


@pytest.fixture(scope="module")
def hand(config) -> FailureDemandResult:
    with pytest.warns(StatisticalWarning, match="weather"):
        return attribute_failure_demand(_contacts(HAND_ROWS), config)


def test_hand_built_classification(hand):
    got = hand.classification.set_index("contact_id")
    for contact_id, (demand_type, department, root) in EXPECTED.items():
        row = got.loc[contact_id]
        assert (row["demand_type"], row["originating_department"], row["root_contact_id"]) == (
            demand_type,
            department,
            root,
        ), contact_id
    # input order is kept
    assert hand.classification["contact_id"].tolist() == [r[0] for r in HAND_ROWS]
    assert got.loc["a3", "root_reason"] == "bill_query"
    assert got.loc["f2", "period"] == pd.Timestamp("2024-02-01")


def test_hand_built_totals_and_pareto(hand):
    t = hand.totals
    # value a4 b2 c1 = 3; failure a1 b1 e1 e2 f1 = 5; repeat a2 a3 c2 d2 f2 = 5; unclassified d1 = 1
    assert (t["contacts"], t["value"], t["failure"], t["repeat"], t["unclassified"]) == (14, 3, 5, 5, 1)
    assert t["failure_demand_share"] == pytest.approx(10 / 14)
    table = hand.by_department.set_index("originating_department")
    # billing: failure a1 e1 e2 + repeats a2 a3 = 5 -> largest source, first in the Pareto
    assert hand.by_department["originating_department"].iloc[0] == "billing"
    assert table.loc["billing", ["failure", "repeat", "failure_demand"]].tolist() == [3, 2, 5]
    assert table.loc["billing", "failure_share"] == pytest.approx(3 / 14)
    assert table.loc["fulfilment", ["value", "failure", "repeat"]].tolist() == [1, 1, 1]
    assert table.loc["unclassified", ["unclassified", "repeat"]].tolist() == [1, 1]
    # every contact is counted exactly once
    assert int(table[["value", "failure", "repeat", "unclassified"]].to_numpy().sum()) == 14
    # cumulative share: billing 5/10, then fulfilment/sales 2 each (alphabetical tie-break), unclassified 1
    assert hand.by_department["cumulative_share"].tolist()[:4] == pytest.approx([0.5, 0.7, 0.9, 1.0])


def test_unclassified_reasons_listed_never_dropped(hand):
    assert hand.unclassified_reasons.to_dict("records") == [{"reason": "weather", "contacts": 1}]
    assert "weather" in hand.summary_text()


def test_costs_per_contact_by_channel(hand):
    cost = hand.classification.set_index("contact_id")["cost"]
    # configs/economics.yaml: phone 6.50, email 3.20, chat 4.10; abandoned f1 costs nothing
    assert cost["a1"] == 6.50 and cost["a3"] == 3.20 and cost["a4"] == 4.10 and cost["f1"] == 0.0
    # total: phones a1 b1 a2 b2 c1 c2 d1 e1 e2 f2 = 10 x 6.50 = 65.00; email a3 3.20; chats a4 d2 8.20
    assert hand.totals["cost"] == pytest.approx(65.0 + 3.2 + 8.2)
    charge = hand.charge_back.set_index("department")
    # billing pays for a1 e1 e2 (phone) + a2 (phone) + a3 (email) = 4 x 6.50 + 3.20 = 29.20
    assert charge.loc["billing", "charge"] == pytest.approx(29.2)
    assert charge.loc["billing", ["failure_contacts", "repeat_contacts"]].tolist() == [3, 2]
    # handle hours: 300 + 300 + 300 + 600 + 240 = 1740 s
    assert charge.loc["billing", "handle_hours"] == pytest.approx(1740 / 3600)
    # sales pays for the abandoned f1 (0) and the repeat f2 (6.50)
    assert charge.loc["sales", "charge"] == pytest.approx(6.5)
    assert charge["share_of_charge"].sum() == pytest.approx(1.0)
    assert charge.index[0] == "billing"


def test_costs_from_handle_time(config):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        result = attribute_failure_demand(
            _contacts(HAND_ROWS), config.failure_demand, economics=config.economics, cost_basis="handle_time"
        )
    cost = result.classification.set_index("contact_id")["cost"]
    # 28.00 per agent hour x 600 s = 28 x 1/6 h = 4.6667
    assert cost["a2"] == pytest.approx(28.0 * 600 / 3600)
    assert cost["f1"] == 0.0
    # without economics costs are unknown, not zero
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        bare = attribute_failure_demand(_contacts(HAND_ROWS), config.failure_demand)
    assert bare.classification["cost"].isna().all() and math.isnan(bare.totals["cost"])


def test_summary_per_period(hand):
    summary = hand.summary
    jan = summary[summary["period"] == pd.Timestamp("2024-01-01")]
    feb = summary[summary["period"] == pd.Timestamp("2024-02-01")]
    assert jan["contacts"].sum() == 13 and feb["contacts"].sum() == 1
    assert jan["share_of_contacts"].sum() == pytest.approx(1.0)
    billing_repeat = jan[(jan["originating_department"] == "billing") & (jan["demand_type"] == "repeat")]
    # a2 (600 s phone) + a3 (240 s email): 2 of 13 January contacts
    assert billing_repeat[["contacts", "share_of_contacts"]].iloc[0].tolist() == pytest.approx([2, 2 / 13])
    assert billing_repeat["handle_hours"].iloc[0] == pytest.approx(840 / 3600)
    assert billing_repeat["cost"].iloc[0] == pytest.approx(9.7)
    assert feb[["originating_department", "demand_type"]].iloc[0].tolist() == ["sales", "repeat"]


def test_repeat_window_override(config):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        result = attribute_failure_demand(_contacts(HAND_ROWS), config, repeat_window_days=8)
    got = result.classification.set_index("contact_id")["demand_type"]
    # with 8 days b2 (7.5 days after unresolved b1) becomes a repeat
    assert got["b2"] == "repeat"
    assert result.repeat_window_days == 8


# ----------------------------------------------------------------------------------------------- brute force
def _reference(frame: pd.DataFrame, fd: FailureDemand, window_days: float) -> pd.DataFrame:
    """Row-by-row reference of the attribution rules (test only)."""
    by_id = fd.by_id
    ordered = frame.sort_values(["customer_id", "timestamp"], kind="mergesort")  # ties: input order
    out: dict[str, tuple[str, str]] = {}
    previous = None
    for row in ordered.itertuples(index=False):
        reason = by_id.get(row.reason)
        own_department = reason.originating_department if reason else "unclassified"
        repeat = (
            previous is not None
            and previous.customer_id == row.customer_id
            and not previous.resolved_first_contact
            and (row.timestamp - previous.timestamp) <= pd.Timedelta(days=window_days)
        )
        if repeat:
            root_department = out[previous.contact_id][1]
            out[row.contact_id] = ("repeat", root_department)
        elif reason is None:
            out[row.contact_id] = ("unclassified", own_department)
        else:
            out[row.contact_id] = ("failure" if reason.is_failure else "value", own_department)
        previous = row
    return pd.DataFrame.from_dict(out, orient="index", columns=["demand_type", "originating_department"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 60),
    customers=st.integers(1, 6),
    window=st.sampled_from([1, 3, 7]),
)
def test_matches_row_by_row_reference(config, seed, n, customers, window):
    rng = np.random.default_rng(seed)
    reasons = [r.id for r in config.failure_demand.reasons] + ["unknown_reason"]
    frame = pd.DataFrame(
        {
            "contact_id": [f"k{i}" for i in range(n)],
            "customer_id": rng.integers(0, customers, n).astype(str),
            # whole-day timestamps make ties and exact-window gaps common
            "timestamp": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 40, n), unit="D"),
            "channel": rng.choice(["phone", "email", "chat"], n),
            "queue": "general",
            "reason": rng.choice(reasons, n),
            "wait_s": 0.0,
            "handle_s": rng.uniform(0, 900, n).round(),
            "abandoned": rng.random(n) < 0.1,
            "resolved_first_contact": rng.random(n) < 0.5,
            "agent_id": "e1",
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        result = attribute_failure_demand(frame, config, repeat_window_days=window)
    expected = _reference(frame, config.failure_demand, window)
    got = result.classification.set_index("contact_id")[["demand_type", "originating_department"]]
    got = got.astype(str).loc[expected.index]
    pd.testing.assert_frame_equal(got, expected, check_names=False)
    # aggregation equals the sum of its parts
    assert result.summary["contacts"].sum() == n
    assert result.by_department[["value", "failure", "repeat", "unclassified"]].to_numpy().sum() == n


# ----------------------------------------------------------------------------------------------- fix vs absorb
def _economics(lifetime: float = 36.0) -> Economics:
    # annual rate chosen so that the monthly rate is exactly 1 %: (1.01^12)^(1/12) - 1 = 0.01
    return Economics(
        cost_per_agent_hour=28.0,
        shrinkage=0.3,
        hours_per_fte_week=37.5,
        customer_lifetime_months=lifetime,
        margin=0.35,
        discount_rate_annual=1.01**12 - 1,
        cost_per_contact={"phone": 6.5},
    )


@pytest.fixture(scope="module")
def billing_only(config) -> FailureDemandResult:
    # 200 resolved bill_query phone calls over January and February 2024 -> 100 per month at 6.50 each
    n = 200
    frame = pd.DataFrame(
        {
            "contact_id": [f"q{i}" for i in range(n)],
            "customer_id": [f"u{i}" for i in range(n)],
            "timestamp": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(n) * 7, unit="h"),
            "channel": "phone",
            "queue": "billing",
            "reason": "bill_query",
            "wait_s": 0.0,
            "handle_s": 300.0,
            "abandoned": False,
            "resolved_first_contact": True,
            "agent_id": "e1",
        }
    )
    assert frame["timestamp"].max() < pd.Timestamp("2024-03-01")
    return attribute_failure_demand(frame, config.failure_demand, economics=_economics())


def test_monthly_rate():
    assert monthly_discount_rate(1.01**12 - 1) == pytest.approx(0.01, abs=1e-15)
    assert monthly_discount_rate(0.08) == pytest.approx(1.08 ** (1 / 12) - 1)


def test_npv_by_hand(billing_only):
    result = fix_vs_absorb(
        billing_only,
        "billing",
        fix_cost=1000.0,
        expected_reduction=0.5,
        horizon_months=3,
        config=_economics(),
    )
    # baseline 100 contacts/month x 6.50 = 650/month absorbed; the fix removes half: saves 325/month.
    # NPV = -1000 + 325 (1/1.01 + 1/1.01^2 + 1/1.01^3) = -1000 + 325 x 2.940985 = -1000 + 955.8202 = -44.1798
    assert result.baseline_contacts_per_month == pytest.approx(100.0)
    assert result.cost_per_contact == pytest.approx(6.5)
    assert result.npv == pytest.approx(-44.1798, abs=1e-3)
    assert result.break_even_month is None
    # absorbing costs 650 x 2.940985 = 1911.640; fixing 1000 + 325 x 2.940985 = 1955.820
    assert result.npv_absorb == pytest.approx(-1911.640, abs=1e-3)
    assert result.npv_fix == pytest.approx(-1955.820, abs=1e-3)
    assert result.cash_flows["month"].tolist() == [0, 1, 2, 3]
    # month 4 adds 325 / 1.01^4 = 312.3185 -> cumulative 268.1387 > 0: break-even in month 4
    longer = fix_vs_absorb(
        billing_only,
        "billing",
        fix_cost=1000.0,
        expected_reduction=0.5,
        horizon_months=6,
        config=_economics(),
    )
    assert longer.break_even_month == 4
    assert longer.cash_flows.loc[4, "net_cumulative_pv"] == pytest.approx(268.1387, abs=1e-3)
    assert "month 4" in longer.summary()


def test_npv_with_retention_effect(billing_only):
    result = fix_vs_absorb(
        billing_only,
        "bill_query",
        fix_cost=1000.0,
        expected_reduction=0.5,
        horizon_months=1,
        config=_economics(lifetime=2.0),
        retention_effect=0.01,
        monthly_revenue=50.0,
    )
    # a retained customer is worth 50 x 0.35 x (1/1.01 + 1/1.01^2) = 17.5 x 1.970395 = 34.48191;
    # 50 avoided contacts/month x 0.01 churn each x 34.48191 = 17.24096 per month.
    assert result.retention_value_per_month == pytest.approx(17.24096, abs=1e-4)
    # NPV = -1000 + (325 + 17.24096) / 1.01 = -1000 + 338.85244 = -661.14756
    assert result.npv == pytest.approx(-661.14756, abs=1e-4)


def test_break_even_month_zero_and_no_reduction(billing_only):
    free = fix_vs_absorb(billing_only, "billing", fix_cost=0.0, expected_reduction=0.2, config=_economics())
    assert free.break_even_month == 0
    # 24 months of 130/month (20 % of 650) at 1 %/month: 130 x (1 - 1.01^-24)/0.01 = 130 x 21.24339 = 2761.64
    assert free.npv == pytest.approx(2761.64, abs=0.01)
    useless = fix_vs_absorb(
        billing_only, "billing", fix_cost=10.0, expected_reduction=0.0, config=_economics()
    )
    assert useless.break_even_month is None and useless.npv == pytest.approx(-10.0)


def test_fix_vs_absorb_bad_input(billing_only, config):
    with pytest.raises(InputValueError, match="marketing") as err:
        fix_vs_absorb(billing_only, "marketing", fix_cost=1.0, expected_reduction=0.5, config=config)
    assert err.value.argument == "source"
    with pytest.raises(InputValueError, match="expected_reduction"):
        fix_vs_absorb(billing_only, "billing", fix_cost=1.0, expected_reduction=1.5, config=config)
    with pytest.raises(InputValueError, match="fix_cost"):
        fix_vs_absorb(billing_only, "billing", fix_cost=-1.0, expected_reduction=0.5, config=config)
    with pytest.raises(InputValueError, match="horizon_months"):
        fix_vs_absorb(
            billing_only, "billing", fix_cost=1.0, expected_reduction=0.5, horizon_months=0, config=config
        )
    with pytest.raises(InputValueError, match="monthly_revenue"):
        fix_vs_absorb(
            billing_only,
            "billing",
            fix_cost=1.0,
            expected_reduction=0.5,
            config=config,
            retention_effect=0.01,
        )


def test_fix_vs_absorb_needs_costs(config):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        bare = attribute_failure_demand(_contacts(HAND_ROWS), config.failure_demand)
    with pytest.raises(InputValueError, match="economics"):
        fix_vs_absorb(bare, "billing", fix_cost=1.0, expected_reduction=0.5, config=config)


# ----------------------------------------------------------------------------------------------- bad input
def test_missing_column_raises(config):
    frame = _contacts(HAND_ROWS).drop(columns=["resolved_first_contact"])
    with pytest.raises(DataValidationError, match="resolved_first_contact") as err:
        attribute_failure_demand(frame, config)
    assert "resolved_first_contact" in err.value.failures["column"].tolist()


def test_bad_values_and_arguments(config):
    frame = _contacts(HAND_ROWS)
    frame.loc[3, "channel"] = "fax"
    with pytest.raises(DataValidationError) as err:
        attribute_failure_demand(frame, config)
    assert "channel" in err.value.failures["column"].tolist()
    with pytest.raises(InputValueError, match="reason_map"):
        attribute_failure_demand(_contacts(HAND_ROWS), {"bill_query": "billing"})  # type: ignore[arg-type]
    with pytest.raises(InputValueError, match="period"):
        attribute_failure_demand(_contacts(HAND_ROWS), config, period="fortnight")
    with pytest.raises(InputValueError, match="cost_basis"):
        attribute_failure_demand(_contacts(HAND_ROWS), config, cost_basis="magic")  # type: ignore[arg-type]


def test_all_unknown_reasons_counted(config):
    frame = _contacts([r for r in HAND_ROWS if r[0] in ("a1", "b1")]).assign(reason=["x", "y"])
    with pytest.warns(StatisticalWarning, match="2 contacts"):
        result = attribute_failure_demand(frame, config)
    assert result.totals["unclassified"] == 2
    assert sorted(result.unclassified_reasons["reason"]) == ["x", "y"]
    assert result.charge_back.empty


# ----------------------------------------------------------------------------------------------- plots, CLI
def test_pareto_figure(hand):
    fig = hand.plot()
    bars = [trace for trace in fig.data if trace.type == "bar"]
    line = next(trace for trace in fig.data if trace.type == "scatter")
    assert list(bars[0].x) == ["billing", "fulfilment", "sales", "unclassified"]
    assert list(bars[0].y) == [3, 1, 1, 0] and list(bars[1].y) == [2, 1, 1, 1]
    assert line.y[-1] == pytest.approx(100.0)
    assert line.yaxis == "y2"


def test_fix_vs_absorb_figure(billing_only):
    result = fix_vs_absorb(
        billing_only,
        "billing",
        fix_cost=1000.0,
        expected_reduction=0.5,
        horizon_months=6,
        config=_economics(),
    )
    fig = result.plot()
    marker = next(trace for trace in fig.data if trace.mode == "markers")
    assert list(marker.x) == [4]
    assert marker.y[0] == pytest.approx(result.cash_flows.loc[4, "fix_cumulative_pv"])
    never = fix_vs_absorb(
        billing_only, "billing", fix_cost=1e6, expected_reduction=0.1, horizon_months=6, config=_economics()
    )
    assert not any(trace.mode == "markers" for trace in never.plot().data)


def test_figures_name_sources_and_draw_plotlys_lines(hand, billing_only, config):
    """With the config the charts name departments (never ``fulfilment``/``contact_centre``), the cumulative axis
    has round ticks of its own, and the break-even line is the shape plotly's add_vline draws."""
    from cx_framework.plots import failure_demand_pareto, fix_vs_absorb_curves

    fig = failure_demand_pareto(hand, config=config)
    names = {d.id: d.name for d in config.organisation.departments}
    assert list(fig.data[0].x) == [names["billing"], names["fulfilment"], names["sales"], "unclassified"]
    assert list(fig.layout.yaxis2.tickvals) == [0, 20, 40, 60, 80, 100]
    assert fig.layout.margin.r >= 80  # the vertical toolbar does not sit on the right axis' title

    result = fix_vs_absorb(
        billing_only,
        "billing",
        fix_cost=1000.0,
        expected_reduction=0.5,
        horizon_months=6,
        config=_economics(),
    )
    fig = fix_vs_absorb_curves(result, config=config)
    assert fig.layout.title.text.startswith(f"Fix {names['billing']} vs absorb")
    reference = fix_vs_absorb_curves(result, config=config)
    reference.layout.shapes = ()
    reference.add_vline(x=4, line_dash="dot", line_color="#000000")
    assert json.loads(fig.to_json()) == json.loads(reference.to_json())
    reason = next(r for r in config.failure_demand.reasons if r.is_failure)
    assert (
        reason.description
        in fix_vs_absorb_curves(
            dataclasses.replace(result, source=reason.id), config=config
        ).layout.title.text
    )
    assert "'billing'" in result.summary() and names["billing"] in result.summary(name=names["billing"])


def _cli_args(*args: str) -> list[str]:
    from cx_framework.cli import app

    # a typer app with a single command runs it without its name
    single = not isinstance(typer.main.get_command(app), typer.core.TyperGroup)
    return list(args) if single else ["failure-demand", *args]


def test_cli(tmp_path):
    from cx_framework.cli import app

    _contacts(HAND_ROWS).to_csv(tmp_path / "contacts.csv", index=False)
    runner = CliRunner()
    result = runner.invoke(
        app,
        _cli_args(str(tmp_path), "--configs", str(ROOT / "configs"), "--fix", "billing", "--fix-cost", "5"),
    )
    assert result.exit_code == 0, result.output
    assert "Charge-back" in result.output and "weather" in result.output
    assert "GBP 29" in result.output  # billing's charge of 29.20
    assert "NPV of fixing 'billing'" in result.output
    bad = runner.invoke(app, _cli_args(str(tmp_path / "missing"), "--configs", str(ROOT / "configs")))
    assert bad.exit_code == 2
    assert "missing" in bad.output


# ----------------------------------------------------------------------------------------------- planted truth
def _check_planted(org, config) -> None:
    """Recovered failure-demand shares match the planted shares within 4 binomial standard errors.

    ``truth.failure_demand_shares`` counts contacts by their *own* reason (repeats copy the reason of the
    unresolved contact they follow), so it is compared with ``reason_failure_share``; the chain-attributed
    ``failure_demand_share`` adds repeats of value contacts and is larger by construction.
    """
    result = attribute_failure_demand(org.contacts, config)
    truth = org.truth
    n = len(org.contacts)
    table = result.by_department.set_index("originating_department")
    assert result.totals["unclassified"] == 0
    for department, share in truth.failure_demand_shares.items():
        # repeats share their root's reason, a mild cluster effect; 4 binomial SE leave room for it
        se = math.sqrt(share * (1 - share) / n)
        got = float(table.loc[department, "reason_failure_share"])
        assert abs(got - share) <= 4 * se, (department, got, share, se)
        # chain attribution only adds failure demand to a department, never removes it
        assert table.loc[department, "failure_demand_share"] >= table.loc[department, "failure_share"]
    # departments without planted failure demand cause no direct failure contacts
    for department in set(table.index) - set(truth.failure_demand_shares) - {"unclassified"}:
        assert table.loc[department, "failure"] == 0
    assert result.by_department["originating_department"].iloc[0] == truth.dominant_failure_source
    assert result.charge_back["department"].iloc[0] == truth.dominant_failure_source


@pytest.mark.slow
def test_planted_failure_demand_shares_generated(config):
    from cx_framework.synthetic import generate_organisation

    _check_planted(generate_organisation(seed=1, customers=5_000), config)


def test_planted_failure_demand_shares_sample(config):
    from cx_framework.synthetic import load_sample

    _check_planted(load_sample(), config)


def test_quarterly_period_and_config_forms(config, hand):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        quarterly = attribute_failure_demand(
            _contacts(HAND_ROWS), config.failure_demand, economics=config, period="Q"
        )
    # January and February both fall in the quarter starting 2024-01-01
    assert quarterly.summary["period"].unique().tolist() == [pd.Timestamp("2024-01-01")]
    assert quarterly.summary["share_of_contacts"].sum() == pytest.approx(1.0)
    assert quarterly.totals == hand.totals
    # CxConfig and its Economics give the same decision; 8 % a year -> (1.08)^(1/12) - 1 per month
    by_config = fix_vs_absorb(hand, "billing", fix_cost=20.0, expected_reduction=0.5, config=config)
    by_model = fix_vs_absorb(hand, "billing", fix_cost=20.0, expected_reduction=0.5, config=config.economics)
    assert by_config.npv == by_model.npv
    assert by_config.monthly_rate == pytest.approx(1.08 ** (1 / 12) - 1)
    # billing: 5 contacts costing 29.20 over 2 observed months -> 2.5 contacts/month at 5.84 each
    assert by_config.baseline_contacts_per_month == pytest.approx(2.5)
    assert by_config.cost_per_contact == pytest.approx(5.84)
