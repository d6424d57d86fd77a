"""AppTest for every page: runs on the sample without exception, shows the library's own numbers, reacts to widgets.

Reference numbers are computed here by calling the library directly on the same sample data (independently of the
app's cached loaders), then compared with what the page renders.
"""

from __future__ import annotations

import hashlib
import io
import re
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from cx_framework.config import load_config  # noqa: E402
from cx_framework.synthetic import load_sample  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
APPS = REPO / "apps"
PAGES = APPS / "views"
TIMEOUT = 240

if str(APPS) not in sys.path:
    sys.path.insert(0, str(APPS))


@pytest.fixture(scope="module")
def org():
    return load_sample(validate=False).tables()


@pytest.fixture(scope="module")
def cfg():
    return load_config(REPO / "configs")


@pytest.fixture(autouse=True)
def _sample_data(monkeypatch):
    monkeypatch.delenv("CX_DATA_DIR", raising=False)
    monkeypatch.delenv("CX_CONFIG_DIR", raising=False)


def run_page(name: str, **session) -> AppTest:
    at = AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=TIMEOUT)
    for key, value in session.items():
        at.session_state[key] = value
    return at.run()


def metric(at: AppTest, label: str) -> str:
    values = [m.value for m in at.metric if m.label == label]
    assert values, f"no metric {label!r}; have {[m.label for m in at.metric]}"
    return values[0]


def number(text: str) -> float:
    """First number in a formatted value: '82.5%' -> 82.5, 'GBP 962,112' -> 962112, '−GBP 5' -> -5."""
    text = text.replace("−", "-").replace(",", "")
    match = re.search(r"-?\s*[A-Z]{3}\s*(\d+(?:\.\d+)?)", text)
    if match:
        value = float(match.group(1))
        return -value if text.strip().startswith("-") else value
    return float(re.search(r"[-+]?\d+(?:\.\d+)?", text).group(0))


def cost_table(at: AppTest) -> pd.DataFrame:
    """The HR modeller's exact cost table (rows current, edited)."""
    table = next(d.value for d in at.dataframe if "Scheme" in d.value.columns)
    return table.rename(columns=lambda c: c.split(" (")[0])


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


# ------------------------------------------------------------------------------------------------ overview
def test_overview_shows_library_scorecard_and_budget_gap(org, cfg):
    from cx_framework.analysis import Analysis
    from cx_framework.scorecard import score

    at = run_page("overview")
    no_exception(at)
    assert at.title[0].value == "Overview"

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = score(
            org["department_metrics"],
            cfg,
            employee_metrics=org["employee_metrics"],
            employees=org["employees"],
        )
    from cx_framework.maturity import latest_complete_period

    month = latest_complete_period(org, cfg)  # the default month: the latest complete one (assumptions as_of)
    assert month < max(result.periods)
    ms = result.metric_scores
    org_rows = ms[ms["card"].eq("shared") & ms["department"].eq("organisation") & ms["period"].eq(month)]
    for metric_id, label in (("service_level", "Service level (80/20)"), ("fcr", "First-contact resolution")):
        expected = float(org_rows.loc[org_rows["metric"].eq(metric_id), "value"].iloc[0])
        assert number(metric(at, label)) == pytest.approx(100 * expected, abs=0.051)
    composite = result.shared_scores
    composite = composite[composite["department"].eq("organisation") & composite["period"].eq(month)]
    assert f"{composite['composite'].iloc[0]:.0f} / 120" in " ".join(m.value for m in at.markdown)

    # staffing tiles: realised SL over the forecast window by hand, the rest as the Analysis computes them
    iv = org["intervals"]
    start = month - pd.DateOffset(months=cfg.assumptions.baseline_months - 1)
    window = iv[(iv["interval_start"] >= start) & (iv["interval_start"] < month + pd.DateOffset(months=1))]
    realised = window["answered_within_threshold"].sum() / window["offered"].sum()
    assert number(metric(at, "Realised service level")) == pytest.approx(100 * realised, abs=0.051)
    a = Analysis(org, cfg)
    for fid in ("staffing.budget_service_level", "staffing.fte_needed", "staffing.funded_fte"):
        f = a.figure(fid)
        assert metric(at, f.label) == f.formatted()


def test_overview_top_actions_are_the_analysis_actions(org, cfg):
    from cx_framework.analysis import Analysis

    at = run_page("overview")
    no_exception(at)
    assert "Top recommended actions" in [s.value for s in at.subheader]
    shown = [d.value for d in at.dataframe if "Action" in d.value.columns]
    expected = Analysis(org, cfg).result("actions").actions["title"].head(5).tolist()
    assert shown and shown[0]["Action"].tolist() == expected


# ------------------------------------------------------------------------------------------------ scorecard
def test_scorecard_drill_down_to_teams_matches_library(org, cfg):
    from cx_framework.scorecard import score

    at = run_page("scorecard")
    no_exception(at)
    at.selectbox(key="sc_metric").set_value("fcr").run()
    at.selectbox(key="sc_dept").set_value("contact_centre").run()
    no_exception(at)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = score(
            org["department_metrics"],
            cfg,
            employee_metrics=org["employee_metrics"],
            employees=org["employees"],
        )
    from cx_framework.maturity import latest_complete_period

    drill = result.drill_down("fcr", latest_complete_period(org, cfg), by=("department", "team"))
    teams = drill[drill["level"].astype(str).eq("team") & drill["department"].eq("contact_centre")]
    table = next(d.value for d in at.dataframe if "Team" in d.value.columns)
    assert table["Team"].tolist() == teams["team"].tolist()
    shown = table.iloc[:, 1].str.rstrip("%").astype(float).to_numpy()
    np.testing.assert_allclose(shown, 100 * teams["value"].to_numpy(), atol=0.051)


# ------------------------------------------------------------------------------------------------ incentives
def _annual_cost(org, cfg, scheme) -> tuple[float, float]:
    """Annualised cost of ``scheme`` and its change vs the configured 'siloed' scheme (library compare_schemes)."""
    from cx_framework.incentives import compare_schemes

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = compare_schemes(
            org["employee_metrics"],
            org["employees"],
            [cfg.schemes["siloed"], scheme.model_copy(update={"id": "edited"})],
            config=cfg,
        )
    row = c.budget.iloc[1]
    return float(row["annualised_cost"]), float(row["vs_baseline"])


def test_incentives_reweight_changes_cost_by_library_amount(org, cfg):
    from cx_framework.incentives import reweight

    at = run_page("incentives")
    no_exception(at)
    base_cost, _ = _annual_cost(org, cfg, cfg.schemes["siloed"])
    assert cost_table(at)["Annual cost"].iloc[0] == pytest.approx(base_cost, abs=0.005)
    assert number(metric(at, "Annual payout cost (current)")) == pytest.approx(
        base_cost / 1000, abs=0.051
    )  # k

    at.selectbox(key="hr_rw_metric").set_value("aht_s")
    at.number_input(key="hr_rw_weight").set_value(0.15)
    at.button(key="hr_rw_apply").click().run()
    no_exception(at)
    expected, change = _annual_cost(org, cfg, reweight(cfg.schemes["siloed"], "aht_s", 0.15, config=cfg))
    assert abs(change) > 1_000  # the edit matters
    table = cost_table(at)
    assert table["Annual cost"].iloc[1] == pytest.approx(expected, abs=0.005)
    assert table["Change vs current"].iloc[1] == pytest.approx(change, abs=0.005)


def test_incentives_data_editor_weight_edit_and_invalid_edit(org, cfg):
    from cx_framework.incentives import scheme_to_yaml

    base = cfg.schemes["siloed"]
    key = f"hr_components_siloed_{hashlib.sha1(scheme_to_yaml(base).encode()).hexdigest()[:10]}"
    # aht_s 0.35 -> 0.25, product_sales 0.35 -> 0.45 (sum stays 1)
    edits = {"edited_rows": {0: {"weight": 0.25}, 1: {"weight": 0.45}}, "added_rows": [], "deleted_rows": []}
    at = run_page("incentives", **{key: edits})
    no_exception(at)
    data = base.model_dump(by_alias=True)
    data["components"][0]["weight"], data["components"][1]["weight"] = 0.25, 0.45
    expected, change = _annual_cost(org, cfg, type(base).model_validate(data))
    table = cost_table(at)
    assert table["Annual cost"].iloc[1] == pytest.approx(expected, abs=0.005)
    assert table["Change vs current"].iloc[1] == pytest.approx(change, abs=0.005)

    bad = {"edited_rows": {0: {"weight": 0.9}}, "added_rows": [], "deleted_rows": []}
    at = run_page("incentives", **{key: bad})
    no_exception(at)
    message = " ".join(e.value for e in at.error)
    # HR's words: what is wrong and which column to change — no file names or key paths
    assert "not valid yet" in message and "add up to 1.55, not 1.00" in message and "Weight" in message
    assert "components[" not in message and ".yaml" not in message
    # the results stay on screen, for the last valid version, and say so
    assert any("last valid version" in c.value for c in at.caption)
    base_cost, _ = _annual_cost(org, cfg, base)
    assert cost_table(at)["Annual cost"].iloc[1] == pytest.approx(base_cost, abs=0.005)


# ------------------------------------------------------------------------------------------------ conflicts
def test_conflicts_page_counts_and_promise_match_library(org, cfg):
    from cx_framework.conflicts import conflict_matrix, fit_stage_distributions, journey_chain

    at = run_page("conflicts")
    no_exception(at)
    matrix = conflict_matrix(cfg.schemes, cfg)
    for sid, scheme in cfg.schemes.items():
        expected = int(matrix.loc[matrix["scheme"].eq(sid), "conflict"].sum())
        assert metric(at, scheme.name) == f"{expected} conflicts"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = fit_stage_distributions(org["work_items"])
    journey = cfg.slas.journeys[0]
    p = journey_chain(journey, fitted=fitted).p_within_promise
    label = f"Customer promise: within {journey_chain(journey, fitted=fitted).promise_h:g} h"
    assert number(metric(at, label)) == pytest.approx(100 * p, abs=0.051)


# ------------------------------------------------------------------------------------------------ staffing
def test_staffing_first_block_does_not_depend_on_the_funded_fte():
    """The first block (realised / modelled with the actual staffing / rescheduled) is read from the funded FTE's
    budget gap: its figures are the same whatever FTE is funded (Erlang C from the Analysis, Erlang A what-ifs)."""
    from cx_framework import figures as F

    labels = [
        "Realised service level",
        "Modelled with the actual staffing",
        "Service level the staffed FTE would buy if scheduled to the workload",
        F.SCHEDULE_MISMATCH.label,
    ]

    def first_block(at: AppTest) -> list[str]:
        no_exception(at)
        values = [metric(at, label) for label in labels]
        assert "—" not in values
        return values + [m.value for m in at.markdown if m.value.startswith("Realised **")]

    at = run_page("staffing")
    default_fte = at.number_input(key="st_budget_fte").value
    before = first_block(at)
    at.number_input(key="st_budget_fte").set_value(round(default_fte * 0.6, 1)).run()
    assert first_block(at) == before
    assert metric(at, "FTE funded") == f"{round(default_fte * 0.6, 1):,.1f}"
    at.toggle(key="st_erlang_a").set_value(True).run()
    erlang_a = first_block(at)
    at.number_input(key="st_budget_fte").set_value(default_fte).run()
    assert first_block(at) == erlang_a
    assert erlang_a != before  # the toggle reaches the block


def test_staffing_funded_fte_follows_the_shrinkage_until_the_user_sets_it(org, cfg):
    """The funded FTE defaults to the FTE staffed in the window, which depends on the shrinkage: moving the
    shrinkage slider moves the default (the input kept the first default before); a value the user typed stays."""
    from cx_framework.analysis import Analysis
    from cx_framework.analysis.sections import window_intervals
    from cx_framework.app_support import staffed_fte

    window = window_intervals(
        Analysis.from_sample(REPO / "configs")
    )  # the forecast window (assumptions.yaml)

    def expected(shrinkage: float) -> float:
        return round(
            staffed_fte(window, shrinkage=shrinkage, hours_per_fte=cfg.economics.hours_per_fte_week), 1
        )

    at = run_page("staffing")
    no_exception(at)
    first = at.number_input(key="st_budget_fte").value
    assert first == pytest.approx(expected(cfg.economics.shrinkage))
    at.slider(key="st_shrink_pct").set_value(45).run()
    no_exception(at)
    moved = at.number_input(key="st_budget_fte").value
    assert moved == pytest.approx(expected(0.45)) and moved != pytest.approx(first)
    assert metric(at, "FTE funded") == f"{moved:,.1f}"
    at.number_input(key="st_budget_fte").set_value(12.0).run()
    at.slider(key="st_shrink_pct").set_value(30).run()
    no_exception(at)
    assert at.number_input(key="st_budget_fte").value == pytest.approx(12.0)  # the user's own value stays
    assert metric(at, "FTE funded") == "12.0"


def test_staffing_slider_and_erlang_a_match_library(org, cfg):
    from cx_framework.staffing import aggregate_service_level, erlang_a, required_agents, service_level

    at = run_page("staffing")
    no_exception(at)
    overall = aggregate_service_level(org["intervals"])
    iv = org["intervals"]
    label = f"Realised service level, {iv['interval_start'].min():%b %Y} – {iv['interval_start'].max():%b %Y}"
    assert number(metric(at, label)) == pytest.approx(100 * overall, abs=0.051)

    req = required_agents(
        org["intervals"], target=cfg.economics.service_level_target, shrinkage=cfg.economics.shrinkage
    )
    day = req["interval_start"].dt.normalize()
    busiest = req[day.eq(day.max()) & req["queue"].eq(sorted(org["intervals"]["queue"].unique())[0])]
    row = busiest.sort_values("offered").iloc[-1]
    calls, aht = float(row["offered"]), float(row["aht_s"])
    # one agent above the offered load: close enough to saturation that abandonment (Erlang A) visibly matters
    agents = int(np.ceil(calls * aht / 1800)) + 1
    at.slider(key="st_agents").set_value(agents).run()
    at.toggle(key="st_erlang_a").set_value(True).run()
    no_exception(at)
    sl_c = float(service_level(calls, aht, agents, answer_s=cfg.economics.answer_s))
    sl_a = float(
        erlang_a(calls, aht, agents, patience_s=180.0, answer_s=cfg.economics.answer_s).service_level
    )
    assert number(metric(at, "Service level (Erlang C)")) == pytest.approx(100 * sl_c, abs=0.051)
    assert number(metric(at, "Service level (Erlang A)")) == pytest.approx(100 * sl_a, abs=0.051)
    assert sl_a != pytest.approx(sl_c, abs=1e-4)  # the toggle switches the model

    # the toggle reaches the budget gap: FTE needed with Erlang A (callers abandon) is the library's
    from cx_framework.analysis import Analysis
    from cx_framework.analysis.sections import window_intervals
    from cx_framework.app_support import staffed_fte
    from cx_framework.conflicts import staffing_budget_gap

    forecast = window_intervals(Analysis(org, cfg)).reset_index(drop=True)  # the page's forecast window
    econ = cfg.economics
    funded = round(staffed_fte(forecast, shrinkage=econ.shrinkage, hours_per_fte=econ.hours_per_fte_week), 1)
    kwargs = dict(
        target=econ.service_level_target,
        shrinkage=econ.shrinkage,
        hours_per_fte=econ.hours_per_fte_week,
        answer_s=econ.answer_s,
    )
    gap_a = staffing_budget_gap(forecast, funded, patience_s=180.0, **kwargs)
    gap_c = staffing_budget_gap(forecast, funded, **kwargs)
    shown = number(metric(at, "FTE needed for the target"))
    assert shown == pytest.approx(gap_a.fte_needed, abs=0.051)
    assert shown != pytest.approx(gap_c.fte_needed, abs=0.051)


def test_staffing_understaffed_count_matches_chart(org, cfg):
    from cx_framework.conflicts.budget_gap import understaffed_intervals
    from cx_framework.staffing import required_agents

    at = run_page("staffing")
    no_exception(at)
    req = required_agents(
        org["intervals"], target=cfg.economics.service_level_target, shrinkage=cfg.economics.shrinkage
    )
    day = req["interval_start"].dt.normalize()
    per = understaffed_intervals(req[day.eq(day.max())])
    assert (
        metric(at, "Half-hours under-staffed that day") == f"{int(per['understaffed'].sum())} of {len(per)}"
    )
    # the chart marks exactly those half-hours
    import json

    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    markers = [
        t for c in charts for t in c["data"] if str(t.get("name", "")).startswith("Under-staffed half-hour")
    ]
    assert len(markers) == 1 and len(markers[0]["x"]) == int(per["understaffed"].sum())


# ------------------------------------------------------------------------------------------------ retention
def test_retention_value_and_fix_vs_absorb_match_library(org, cfg):
    from cx_framework.failure_demand import attribute_failure_demand, fix_vs_absorb
    from cx_framework.retention import build_customer_panel, fit_retention, value_of_service_level

    at = run_page("retention")
    no_exception(at)
    caveat_text = " ".join(c.value for c in at.caption if c.value.startswith("Caveat:"))
    assert not [m.id for m in cfg.metrics.metrics if "_" in m.id and m.id in caveat_text]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        panel = build_customer_panel(org["contacts"], org["customers"], threshold_s=cfg.economics.answer_s)
        fit = fit_retention(panel)
    value = value_of_service_level(fit, org["customers"], cfg).loc["value_per_year", "estimate"]
    assert number(metric(at, "Value of +1 pt SL per year")) == pytest.approx(value, abs=0.5)

    at.number_input(key="rt_cost").set_value(50_000.0)
    at.slider(key="rt_reduction").set_value(0.8).run()
    no_exception(at)
    fd = attribute_failure_demand(org["contacts"], cfg, economics=cfg.economics)
    npv = fix_vs_absorb(
        fd, "billing", fix_cost=50_000.0, expected_reduction=0.8, horizon_months=24, config=cfg
    ).npv
    assert number(metric(at, "NPV of fixing over 24 months")) == pytest.approx(npv, abs=0.5)


# ------------------------------------------------------------------------------------------------ data
def test_data_bad_upload_shows_failures_good_upload_switches_session(org):
    at = run_page("data")
    no_exception(at)
    bad = org["customers"].head(20).copy()
    bad.loc[3, "monthly_revenue"] = -5.0
    bad = bad.drop(columns=["segment"])
    at.file_uploader(key="data_upload_customers").upload(
        "my customers.csv", bad.to_csv(index=False).encode(), "text/csv"
    )
    at.run()
    no_exception(at)
    message = " ".join(e.value for e in at.error)
    assert "my customers.csv" in message and "customers" in message
    failures = [d.value for d in at.dataframe if {"column", "check"} <= set(d.value.columns)]
    assert failures and {"segment", "monthly_revenue"} <= set(failures[0]["column"])
    # rows counted as people count them: the 4th data row (index 3) is "data row 4", CSV line 5, in the table
    # and in the message alike
    revenue = failures[0][failures[0]["column"].eq("monthly_revenue")]
    assert revenue["data row"].tolist() == [4] and revenue["CSV line"].tolist() == [5]
    assert "data row 4 (" in message and "row 3 (" not in message

    # a workbook saved with a .csv name is named for what it is, not reported as "empty"
    at.file_uploader(key="data_upload_intervals").upload(
        "intervals.csv", b"PK\x03\x04" + b"\x00" * 64, "text/csv"
    )
    at.run()
    no_exception(at)
    message = " ".join(e.value for e in at.error)
    assert "not a CSV text file" in message and "xlsx" in message and "empty" not in message

    buffer = io.BytesIO()
    org["employees"].to_parquet(buffer, index=False)
    at.file_uploader(key="data_upload_employees").upload("employees.parquet", buffer.getvalue())
    at.run()
    no_exception(at)
    assert any(f"{len(org['employees']):,} rows, valid" in s.value for s in at.success)
    at.button(key="data_use_upload").click().run()
    no_exception(at)
    assert at.session_state["cx_use_upload"] is True
    assert any("Switched: 7 tables loaded" in s.value for s in at.success)
    assert "uploaded tables" in at.caption[0].value


def test_data_dir_from_env_with_bad_tables_shows_readable_error(monkeypatch):
    directory = Path(tempfile.mkdtemp(prefix="cx_env_data_"))
    (directory / "customers.csv").write_text("customer_id,segment\nc1,consumer\n", encoding="utf-8")
    monkeypatch.setenv("CX_DATA_DIR", str(directory))
    at = run_page("overview")
    no_exception(at)
    # partial data: the missing tables are named, and the scorecard says which table it needs
    warnings_shown = " ".join(w.value for w in [*at.warning, *at.info])
    assert "Not in the data" in warnings_shown  # one line for the absent tables
    assert "intervals" in warnings_shown and "department_metrics" in warnings_shown
    message = " ".join(e.value for e in at.error)
    assert "cannot be computed" in message and "department_metrics" in message
    assert "Tip:" not in message  # the programmer's tip is replaced by the failure table


def test_incentives_scheme_yaml_upload_is_validated_like_the_library(cfg):
    from cx_framework.incentives import scheme_to_yaml

    at = run_page("incentives")
    bad = scheme_to_yaml(cfg.schemes["siloed"]).replace("weight: 0.35", "weight: 0.45", 1)  # weights sum 1.10
    at.file_uploader(key="hr_yaml").upload("mine.yaml", bad.encode(), "application/x-yaml")
    at.run()
    no_exception(at)
    message = " ".join(e.value for e in at.error)
    assert "not valid" in message and "weight" in message

    good = scheme_to_yaml(cfg.schemes["siloed"]).replace("cap_pct: 200.0", "cap_pct: 120.0")
    at.file_uploader(key="hr_yaml").set_value(("good.yaml", good.encode(), "application/x-yaml"))
    at.run()
    at.button(key="hr_use_yaml").click().run()
    no_exception(at)
    cap = [n for n in at.number_input if n.label.startswith("Cap")]
    assert cap and cap[0].value == 120.0
    assert "cap 120 % of target bonus" in " ".join(x.value for x in at.success)


def test_incentives_behaviour_simulation_of_the_edited_scheme(org, cfg):
    from cx_framework.conflicts import simulate_behaviour
    from cx_framework.incentives import reweight

    at = run_page("incentives")
    at.selectbox(key="hr_rw_metric").set_value("aht_s")
    at.number_input(key="hr_rw_weight").set_value(0.05)
    at.button(key="hr_rw_apply").click().run()
    # the reweighted scheme becomes the starting point, so the waterfall simulates it (button disabled: no edits)
    no_exception(at)
    assert at.button(key="hr_simulate").disabled
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = simulate_behaviour(
            reweight(cfg.schemes["siloed"], "aht_s", 0.05, config=cfg), org, cfg
        ).net_value
    caption = next(c.value for c in at.caption if "Net value" in c.value)
    assert number(caption.split("Net value")[1]) == pytest.approx(expected, abs=0.5)
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Download edited scheme (YAML)", "Download payouts (Excel)"]

    # a table edit enables the button; clicking it simulates the edited scheme
    from cx_framework.incentives import scheme_to_yaml

    base = reweight(cfg.schemes["siloed"], "aht_s", 0.05, config=cfg)
    key = f"hr_components_siloed_{hashlib.sha1(scheme_to_yaml(base).encode()).hexdigest()[:10]}"
    edit = {"edited_rows": {2: {"threshold": 0.85}}, "added_rows": [], "deleted_rows": []}
    at.session_state[key] = edit
    at.run()
    assert not at.button(key="hr_simulate").disabled
    # a browser sends the editor's state with every rerun; AppTest on older Streamlit (1.56) keeps a state set
    # through session_state for one run only, so the click's run gets it again
    at.session_state[key] = edit
    at.button(key="hr_simulate").click().run()
    no_exception(at)
    data = base.model_dump(by_alias=True)
    data["components"][2]["threshold"] = 0.85
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = simulate_behaviour(type(base).model_validate(data), org, cfg).net_value
    caption = next(c.value for c in at.caption if "Net value" in c.value)
    assert number(caption.split("Net value")[1]) == pytest.approx(expected, abs=0.5)


def test_data_dir_from_env_is_used(monkeypatch):
    from cx_framework.synthetic import SAMPLE_DIR, TABLE_NAMES

    directory = Path(tempfile.mkdtemp(prefix="cx_env_data_ok_"))
    for name in TABLE_NAMES:
        (directory / f"{name}.parquet").write_bytes((SAMPLE_DIR / f"{name}.parquet").read_bytes())
    monkeypatch.setenv("CX_DATA_DIR", str(directory))
    at = run_page("staffing")
    no_exception(at)
    assert f"data directory {directory}" in at.caption[0].value
    assert not at.error


def test_caveats_name_metrics_and_departments_as_config_does(cfg):
    """The library's statistical notes carry ids (``agent_attrition: 19 of 24 unit-months ...``); the pages show
    them with the catalogue's and organisation's names."""
    import _ui

    note = "agent_attrition: 19 of 24 dropped; occupancy → agent_attrition in billing (not billing_x, x.csat)"
    shown = _ui.named(note)
    names = cfg.metrics.by_id
    billing = next(d.name for d in cfg.organisation.departments if d.id == "billing")
    assert shown == (
        f"{names['agent_attrition'].name}: 19 of 24 dropped; {names['occupancy'].name} → "
        f"{names['agent_attrition'].name} in {billing} (not billing_x, x.csat)"
    )
