"""A scheme paying fewer than ``min_group_size`` people (issue 16): outside HR its cost, totals, per-period sums
and figures are withheld with the reason — never shown as a number — on every surface that reads them (library,
Analysis figures / frames / results, ``cx compare-schemes`` and ``cx payouts`` text and ``--json``, the default
CLI Analysis, the report), and an Analysis read by leadership hands out no per-employee pay."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cx_framework.access import AccessError, Viewer, authorize, hash_password
from cx_framework.analysis import Analysis
from cx_framework.cli import app
from cx_framework.config import load_config
from cx_framework.incentives import withhold_small_periods, withhold_small_schemes
from cx_framework.io import write_table

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()
LEAD = Viewer(user="lead", role="leadership")
HR = Viewer(user="hr", role="hr")
TINY = """id: tiny
name: Team leader bonus
roles: [team_leader]
target_bonus_pct: 10
period: month
components:
  - {metric: csat, weight: 1.0, threshold: 0.70, target: 0.80, stretch: 0.90, payout_at_threshold: 0.5,
     payout_at_stretch: 1.5}
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(data, configs): the sample with three agents made team leaders (their agent metrics pay them; the four
    real team leaders have no csat and are withheld), a scheme ``tiny`` for team leaders, and an access.yaml."""
    root = tmp_path_factory.mktemp("tiny")
    data, configs = root / "data", root / "configs"
    shutil.copytree(ROOT / "data" / "sample", data)
    shutil.copytree(ROOT / "configs", configs, ignore=shutil.ignore_patterns("*.sqlite"))
    employees = pd.read_parquet(data / "employees.parquet")
    employees.loc[employees.index[employees["role"].eq("agent")][:3], "role"] = "team_leader"
    write_table(employees, data / "employees.parquet")
    (configs / "incentives" / "tiny.yaml").write_text(TINY, encoding="utf-8")
    lines = ["users:"]
    for user, role in (("hr", "hr"), ("lead", "leadership")):
        lines.append(f"  - {{user: {user}, role: {role}, password_hash: '{hash_password(user + '-pass')}'}}")
    (configs / "access.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return data, configs


@pytest.fixture(scope="module")
def hr_analysis(tiny):
    data, configs = tiny
    return Analysis.from_data_dir(data, load_config(configs), viewer=HR, engine="pandas")


@pytest.fixture(scope="module")
def full(hr_analysis):
    return hr_analysis.result("payouts")


def test_the_tiny_scheme_pays_three_people(full):
    rows = full.payouts["tiny"]
    paid = rows.loc[~rows["withheld"], "employee_id"].nunique()
    assert paid == 3 and full.employees_paid()["tiny"] == 3
    assert full.budget.set_index("scheme").loc["tiny", "annualised_cost"] > 0  # HR sees a real number


def test_leadership_gets_the_tiny_schemes_pay_figures_withheld_and_the_rest_unchanged(full):
    shown = full.for_viewer(LEAD)
    budget = shown.budget.set_index("scheme")
    assert math.isnan(budget.loc["tiny", "annualised_cost"]) and budget.loc["tiny", "over_budget"] is None
    assert "fewer than 5 employees" in budget.loc["tiny", "suppressed"]
    others = [s for s in budget.index if s != "tiny"]
    pd.testing.assert_series_equal(
        budget.loc[others, "annualised_cost"], full.budget.set_index("scheme").loc[others, "annualised_cost"]
    )
    assert (budget.loc[others, "suppressed"] == "").all()
    assert shown.attainment.set_index("scheme").loc["tiny", ["mean", "p50"]].isna().all()
    assert math.isnan(shown.customer_share.set_index("scheme").loc["tiny", "customer_centric_share"])
    # every period of the tiny scheme withheld; the big schemes' periods shown as HR sees them
    cost = shown.cost
    assert cost.loc[cost["scheme"].eq("tiny"), "payout"].isna().all()
    big = cost["scheme"].eq(full.baseline)
    np.testing.assert_allclose(cost.loc[big, "payout"], full.cost.loc[big, "payout"])
    figures = {f.id: f for f in shown.key_figures()}
    tiny_cost = figures["payouts.annual_cost.tiny"]
    assert tiny_cost.value is None and tiny_cost.formatted().startswith("withheld (fewer than 5 employees")
    assert tiny_cost.to_json()["withheld"] and tiny_cost.to_json()["value"] is None
    assert figures[f"payouts.annual_cost.{full.baseline}"].value == pytest.approx(
        float(full.budget.set_index("scheme").loc[full.baseline, "annualised_cost"])
    )
    # no individual pay in what leadership holds
    assert len(shown.payouts) == 0
    with pytest.raises(AccessError, match="individual pay"):
        shown.payouts["tiny"]
    assert full.for_viewer(HR) is full and full.for_viewer(None) is full


def test_a_manager_keeps_only_their_teams_rows_and_the_withheld_aggregates(full):
    manager = Viewer(user="mo", role="manager", teams=("cc_north",))
    shown = full.for_viewer(manager)
    rows = shown.payouts[full.baseline]
    assert set(rows["team"]) == {"cc_north"} and len(rows) < len(full.payouts[full.baseline])
    assert "tiny" in shown.withheld
    assert full.for_viewer(manager, own_teams_only=True) is full


def test_min_group_size_sets_the_threshold(full):
    three = Viewer(user="lead", role="leadership", min_group_size=3)
    assert full.for_viewer(three).withheld == {}  # three people: allowed when access.yaml says 3


def test_withhold_small_periods_hides_a_complementary_period():
    # period totals of one scheme: 3 paid in January would be the total minus February and March
    cost = pd.DataFrame(
        {
            "scheme": "s",
            "period": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]),
            "employees": [3, 10, 12],
            "paid": [3, 10, 12],
            "withheld": [0, 0, 0],
            "target_bonus": [300.0, 1000.0, 1200.0],
            "payout": [310.0, 990.0, 1250.0],
            "withheld_target_bonus": [0.0, 0.0, 0.0],
        }
    )
    out = withhold_small_periods(cost, 5)
    # January (3 people) and the next smallest, February (10), withheld; March shown as it is
    assert out["payout"].isna().tolist() == [True, True, False]
    assert out.loc[2, "payout"] == 1250.0 and out["suppressed"].ne("").tolist() == [True, True, False]
    # what the shown periods give back (total - March) now covers 10 people, not 3
    assert (out.loc[out["payout"].isna(), "paid"].max()) >= 5
    # each sum is judged by the people it adds up: two withheld employee-periods hide their target bonus only
    cost2 = cost.assign(
        paid=[6, 10, 12], withheld=[0, 2, 0], employees=[6, 12, 12], withheld_target_bonus=[0.0, 180.0, 0.0]
    )
    out2 = withhold_small_periods(cost2, 5)
    assert out2["payout"].notna().all()
    assert out2["withheld_target_bonus"].isna().tolist() == [False, True, False]
    # a scheme named small: every sum of it withheld
    assert withhold_small_periods(cost, 5, small_schemes=["s"])[["payout", "target_bonus"]].isna().all().all()
    # nothing small: nothing withheld
    assert withhold_small_periods(cost.assign(paid=[5, 10, 12]), 5)["payout"].notna().all()


def test_withhold_small_schemes_withholds_vs_baseline_when_the_baseline_is_small():
    frame = pd.DataFrame(
        {"scheme": ["base", "big"], "annualised_cost": [100.0, 900.0], "vs_baseline": [0.0, 800.0]}
    )
    out = withhold_small_schemes(frame, {"base": 2, "big": 40}, 5, baseline="base")
    assert out["annualised_cost"].isna().tolist() == [True, False]
    assert out["vs_baseline"].isna().all()  # 900 - 800 would give the baseline's 100 back
    assert "baseline" in out.loc[1, "suppressed"]


def test_the_analysis_withholds_figures_frames_and_results_for_its_viewer(hr_analysis, full):
    hr_ids = {f.id: f.value for f in hr_analysis.figures("payouts")}
    assert hr_ids["payouts.annual_cost.tiny"] > 0
    shown = {f.id: f for f in hr_analysis.figures_for(LEAD, "payouts")}
    assert shown["payouts.annual_cost.tiny"].value is None and shown["payouts.annual_cost.tiny"].withheld
    assert shown["payouts.customer_centric_share.tiny"].value is None
    assert shown["payouts.vs_current.tiny"].value is None
    for fid, value in hr_ids.items():
        if not fid.endswith(".tiny"):
            assert shown[fid].value == value and not shown[fid].withheld
    frames = hr_analysis.frames_for("payouts", LEAD)
    summary = frames["summary"].set_index("scheme")
    assert math.isnan(summary.loc["tiny", "annualised_cost"]) and summary.loc["tiny", "suppressed"]
    assert frames["cost"].loc[frames["cost"]["scheme"].eq("tiny"), "payout"].isna().all()
    assert (
        hr_analysis.frames_for("payouts", HR)["summary"].set_index("scheme").loc["tiny", "annualised_cost"]
        > 0
    )
    manager = Viewer(user="mo", role="manager", teams=("cc_north",))
    hr_analysis.viewer = LEAD  # the same Analysis read by leadership
    try:
        assert hr_analysis.figure("payouts.annual_cost.tiny").value is None
        doc = hr_analysis.to_json("payouts")
        tiny_json = next(f for f in doc["figures"] if f["id"] == "payouts.annual_cost.tiny")
        assert tiny_json["value"] is None and "fewer than 5" in tiny_json["withheld"]
        with pytest.raises(AccessError):  # the per-employee result is refused (and logged)
            hr_analysis.result("payouts")
        hr_analysis.viewer = manager  # may read the result: their teams' rows, the small scheme withheld
        held = hr_analysis.result("payouts")
        assert set(held.payouts[full.baseline]["team"]) == {"cc_north"} and "tiny" in held.withheld
    finally:
        hr_analysis.viewer = HR
    assert len(hr_analysis.result("payouts").payouts) == len(full.payouts)


@pytest.mark.slow
def test_a_leadership_analysis_action_plan_holds_no_individual_pay(tiny):
    """recommend_actions computes the scheme comparison itself when the payouts section is refused: the plan the
    leadership Analysis returns holds its aggregates only (gap: it held every employee's payouts)."""
    data, configs = tiny
    a = Analysis.from_data_dir(data, load_config(configs), viewer=LEAD, authorize=authorize, engine="pandas")
    with pytest.raises(AccessError):
        a.result("payouts")
    plan = a.result("actions")
    comparison = plan.results["scheme_comparison"]
    assert len(comparison.payouts) == 0 and "tiny" in comparison.withheld
    with pytest.raises(AccessError, match="individual pay"):
        comparison.payouts["siloed"]
    assert math.isnan(comparison.budget.set_index("scheme").loc["tiny", "annualised_cost"])
    # the section stores the whole plan (HR reading the same Analysis gets the payouts back)
    a.viewer = HR
    hr_plan = a.result("actions")
    assert len(hr_plan.results["scheme_comparison"].payouts) == len(comparison.budget)
    # switching to the tiny scheme is worth today's bonus cost minus its three people's pay: HR sees that
    # action, leadership does not (nor its value in the totals), and is told it was left out
    rows = a.frames_for("actions", HR)["actions"]
    tiny_rows = rows[rows["scheme"].eq("tiny")]
    assert len(tiny_rows) == 1 and tiny_rows["scheme_employees"].iloc[0] == 3
    lead_rows = a.frames_for("actions", LEAD)["actions"]
    assert "tiny" not in set(lead_rows["scheme"].dropna()) and len(lead_rows) == len(rows) - 1
    assert lead_rows["rank"].tolist() == list(range(1, len(lead_rows) + 1))
    assert "left out" in lead_rows.attrs["suppression"]
    assert not plan.actions["title"].isin(tiny_rows["title"]).any()
    assert any(key.startswith("withheld: ") for key in plan.unavailable)
    hr_fig = {f.id: f.value for f in a.figures_for(HR, "actions")}
    lead_fig = {f.id: f.value for f in a.figures_for(LEAD, "actions")}
    monetised = lead_rows.loc[lead_rows["monetised"].astype(bool), "expected_annual_value"].astype(float)
    assert lead_fig["actions.total_expected_value"] == pytest.approx(float(monetised[monetised > 0].sum()))
    if hr_fig["actions.top_action"] == tiny_rows["title"].iloc[0]:
        assert lead_fig["actions.top_action"] == lead_rows["title"].iloc[0]


def _doc(result) -> dict:
    """The --json document on stdout, from its first line (click < 8.2 mixes stderr lines in before it)."""
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("{"))
    return json.loads("\n".join(lines[start:]))


def _cli(tiny, monkeypatch, user, args):
    data, configs = tiny
    monkeypatch.delenv("CX_ACCESS_FILE", raising=False)
    if user is None:
        monkeypatch.delenv("CX_USER", raising=False)
    else:
        monkeypatch.setenv("CX_USER", user)
        monkeypatch.setenv("CX_PASSWORD", user + "-pass")
    return runner.invoke(app, [*args, str(data), "--configs", str(configs), "--engine", "pandas"])


@pytest.mark.parametrize("user", [None, "lead"])
def test_cx_compare_schemes_json_withholds_the_tiny_scheme_outside_hr(tiny, monkeypatch, user, full):
    result = _cli(tiny, monkeypatch, user, ["compare-schemes", "--json"])
    assert result.exit_code == 0, result.output
    doc = _doc(result)
    schemes = {row["scheme"]: row for row in doc["schemes"]}
    assert schemes["tiny"]["annualised_cost"] is None and schemes["tiny"]["total_cost"] is None
    assert "fewer than 5 employees" in schemes["tiny"]["suppressed"]
    assert schemes[full.baseline]["annualised_cost"] == pytest.approx(
        float(full.budget.set_index("scheme").loc[full.baseline, "annualised_cost"])
    )
    assert set(doc["withheld"]) == {"tiny"}
    figures = {f["id"]: f for f in doc["figures"]}
    assert figures["payouts.annual_cost.tiny"]["value"] is None
    assert figures["payouts.annual_cost.tiny"]["formatted"].startswith("withheld")


def test_cx_compare_schemes_shows_hr_the_tiny_scheme(tiny, monkeypatch, full):
    result = _cli(tiny, monkeypatch, "hr", ["compare-schemes", "--json"])
    assert result.exit_code == 0, result.output
    doc = _doc(result)
    schemes = {row["scheme"]: row for row in doc["schemes"]}
    expected = float(full.budget.set_index("scheme").loc["tiny", "annualised_cost"])
    assert schemes["tiny"]["annualised_cost"] == pytest.approx(expected) and doc["withheld"] == {}
    figures = {f["id"]: f for f in doc["figures"]}
    assert figures["payouts.annual_cost.tiny"]["value"] == pytest.approx(expected)


def test_cx_compare_schemes_text_says_withheld(tiny, monkeypatch, full):
    result = _cli(tiny, monkeypatch, None, ["compare-schemes"])
    assert result.exit_code == 0, result.output
    line = next(row for row in result.stdout.splitlines() if row.strip("│ ").startswith("tiny"))
    assert "withheld" in line and not any(ch.isdigit() for ch in line.replace("tiny", ""))
    cost = float(full.budget.set_index("scheme").loc["tiny", "annualised_cost"])
    assert f"{cost:,.0f}" not in result.stdout
    assert "Withheld:" in result.stdout


def test_cx_payouts_withholds_the_tiny_schemes_totals_outside_hr(tiny, monkeypatch, full):
    rows = full.payouts["tiny"]
    paid_total = float(rows.loc[~rows["withheld"], "payout"].sum())
    result = _cli(tiny, monkeypatch, None, ["payouts", "--scheme", "tiny", "--json"])
    assert result.exit_code == 0, result.output
    doc = _doc(result)
    assert all(p["payout"] is None and p["target_bonus"] is None for p in doc["periods"])
    assert "fewer than 5 employees" in doc["withheld"]
    text = _cli(tiny, monkeypatch, None, ["payouts", "--scheme", "tiny"])
    assert text.exit_code == 0, text.output
    assert f"{paid_total:,.2f}" not in text.stdout and "withheld" in text.stdout
    hr = _cli(tiny, monkeypatch, "hr", ["payouts", "--scheme", "tiny", "--json"])
    assert hr.exit_code == 0, hr.output
    hr_doc = _doc(hr)
    assert sum(p["payout"] for p in hr_doc["periods"]) == pytest.approx(paid_total)
    assert "withheld" not in hr_doc


def test_the_cli_analysis_is_read_by_the_not_signed_in_viewer_under_access_control(tiny, monkeypatch):
    from cx_framework.cli._analysis import open_analysis

    data, configs = tiny
    monkeypatch.delenv("CX_ACCESS_FILE", raising=False)
    a = open_analysis(data, configs, engine="pandas")
    assert a.viewer is not None and a.viewer.role == "leadership"
    assert a.figure("payouts.annual_cost.tiny").value is None
    with pytest.raises(AccessError):
        a.result("payouts")
    off = open_analysis(ROOT / "data" / "sample", ROOT / "configs", engine="pandas")
    assert off.viewer is None  # access control off: nobody to restrict


def test_the_report_withholds_the_tiny_scheme(hr_analysis, full):
    from types import SimpleNamespace

    from cx_framework.report import _figures_section, _small_schemes

    html = "".join(_figures_section(hr_analysis))  # the report is read outside HR, even built by HR
    assert "data-figure-id='payouts.annual_cost.tiny' data-value=''" in html
    assert "withheld (fewer than 5 employees" in html
    cost = float(full.budget.set_index("scheme").loc["tiny", "annualised_cost"])
    assert f"{cost:,.0f}" not in html
    plan = SimpleNamespace(results={"scheme_comparison": full})
    assert set(_small_schemes(plan, hr_analysis.config)) == {"tiny"}


def test_the_behaviour_simulation_withholds_the_tiny_schemes_payouts_outside_hr(hr_analysis):
    hr_rows = hr_analysis.frames_for("behaviour", HR)["summary"].set_index("scheme")
    assert hr_rows.loc["tiny", "payout_scheme"] > 0  # what the three are paid under the simulated response
    rows = hr_analysis.frames_for("behaviour", LEAD)["summary"].set_index("scheme")
    assert rows.loc["tiny", ["payout_baseline", "payout_scheme", "net_value", "switching_value"]].isna().all()
    assert "fewer than 5 employees" in rows.loc["tiny", "suppressed"]
    others = [s for s in rows.index if s != "tiny"]
    pd.testing.assert_series_equal(rows.loc[others, "payout_scheme"], hr_rows.loc[others, "payout_scheme"])
    assert rows.loc["tiny", "customer_kpi_index"] == hr_rows.loc["tiny", "customer_kpi_index"]  # not pay
    figures = {f.id: f for f in hr_analysis.figures_for(LEAD, "behaviour")}
    assert figures["behaviour.net_value.tiny"].value is None and figures["behaviour.net_value.tiny"].withheld
    hr_figures = {f.id: f.value for f in hr_analysis.figures_for(HR, "behaviour")}
    assert hr_figures["behaviour.net_value.tiny"] is not None
    for fid, value in hr_figures.items():
        if not fid.endswith(".tiny"):
            assert figures[fid].value == value


@pytest.mark.slow
def test_cx_conflicts_withholds_the_tiny_schemes_payouts(tiny, monkeypatch, hr_analysis):
    from cx_framework.cli._app import console

    # one table row per line: the CLI's console took its width when first imported (COLUMNS then, else 80)
    monkeypatch.setattr(console, "width", 250)
    result = _cli(tiny, monkeypatch, None, ["conflicts"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if "Behaviour simulation per month" in line)
    row = next(r for r in lines[start:] if r.strip("│ ").startswith("Team leader bonus"))
    assert row.count("withheld") == 3
    paid = float(
        hr_analysis.frames_for("behaviour", HR)["summary"].set_index("scheme").loc["tiny", "payout_scheme"]
    )
    assert f"{paid:,.0f}" not in row
    doc = _doc(_cli(tiny, monkeypatch, None, ["conflicts", "--json"]))
    tiny_row = next(r for r in doc["behaviour"] if r["scheme"] == "tiny")
    assert tiny_row["payout_scheme"] is None and tiny_row["net_value"] is None


@pytest.mark.slow
def test_the_behaviour_value_intervals_withhold_the_tiny_scheme_outside_hr(hr_analysis):
    full = hr_analysis.result_for("behaviour_intervals", HR).set_index("scheme")
    assert np.isfinite(full.loc["tiny", "net_value"])
    shown = hr_analysis.result_for("behaviour_intervals", LEAD).set_index("scheme")
    values = [c for c in shown.columns if c.startswith(("net_value", "estimated_net_value", "switching_"))]
    assert values and shown.loc["tiny", values].isna().all()
    assert "fewer than 5 employees" in shown.loc["tiny", "suppressed"]
    others = [s for s in shown.index if s != "tiny"]
    pd.testing.assert_series_equal(shown.loc[others, "net_value"], full.loc[others, "net_value"])
    frame = hr_analysis.frames_for("behaviour_intervals", LEAD)["summary"].set_index("scheme")
    assert math.isnan(frame.loc["tiny", "net_value"])


@pytest.mark.slow
def test_the_graph_comparison_withholds_the_tiny_scheme_outside_hr(hr_analysis):
    """The Conflicts page's "Configured vs estimated graph" reads the evidence_comparison section as its viewer:
    outside HR the tiny scheme's behaviour values are withheld and no action switches to it."""
    full = hr_analysis.result_for("evidence_comparison", HR)
    shown = hr_analysis.result_for("evidence_comparison", LEAD)
    hr_beh, beh = full.behaviour.set_index("scheme"), shown.behaviour.set_index("scheme")
    assert np.isfinite(hr_beh.loc["tiny", "net_value"])
    assert beh.loc["tiny", ["net_value", "estimated_net_value"]].isna().all()
    assert "fewer than 5 employees" in beh.loc["tiny", "suppressed"]
    others = [s for s in beh.index if s != "tiny"]
    if hr_analysis.assumptions_dict()["current_scheme"] != "tiny":
        pd.testing.assert_series_equal(beh.loc[others, "net_value"], hr_beh.loc[others, "net_value"])
    if full.actions is not None:
        to_tiny = full.actions[["better_scheme", "estimated_better_scheme"]].isin(["tiny"]).any(axis=1)
        assert len(shown.actions) == len(full.actions) - int(to_tiny.sum())
        assert not shown.actions[["better_scheme", "estimated_better_scheme"]].isin(["tiny"]).any(axis=None)
    frames = hr_analysis.frames_for("evidence_comparison", LEAD)
    assert math.isnan(frames["behaviour"].set_index("scheme").loc["tiny", "net_value"])
