"""The Analysis: figures computed once from the configured assumptions, a registry of labels, partial data and the
disk cache."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cx_framework.analysis import Analysis, Figure, FigureSpec, format_value, register_figure
from cx_framework.errors import ConfigError, CxError, InputValueError

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
SAMPLE = ROOT / "data" / "sample"


@pytest.fixture(scope="module")
def analysis(sample_org, config):
    return Analysis(sample_org.tables(), config)


# ------------------------------------------------------------------------------------------------ registry
def test_format_value_examples():
    assert format_value(0.7432, "percent") == "74.3%"
    assert format_value(-0.0191, "pp") == "−1.9 pts"
    assert format_value(-0.0012, "pp") == "−0.12 pts"  # a fraction of a point never reads as zero
    assert format_value(11230.4, "money_per_year", currency="GBP") == "GBP 11,230 / year"
    assert format_value(-500.0, "money") == "−GBP 500"
    assert format_value(21.14, "fte") == "21.1 FTE"
    assert format_value(48.4, "score") == "48 / 120"
    assert format_value(float("nan"), "percent") == "not available"
    with pytest.raises(InputValueError, match="unknown figure format"):
        format_value(1.0, "bogus")


def test_registry_rejects_a_second_quantity_under_an_existing_label():
    register_figure(FigureSpec("testonly.alpha", "Test-only alpha", "count", "count", "A test figure."))
    register_figure(
        FigureSpec("testonly.alpha", "Test-only alpha", "count", "count", "A test figure.")
    )  # same
    with pytest.raises(InputValueError, match="distinct quantities need distinct labels"):
        register_figure(FigureSpec("testonly.beta", "Test-only alpha", "count", "count", "Another figure."))
    with pytest.raises(InputValueError, match="already registered differently"):
        register_figure(FigureSpec("testonly.alpha", "Test-only alpha 2", "count", "count", "Changed."))
    with pytest.raises(InputValueError, match="snake_case"):
        FigureSpec("NoSection", "x", "count", "count", "bad id")


def test_template_spec_fills_id_label_and_definition():
    spec = FigureSpec(
        "testonly.cost.{scheme}", "Test cost: {scheme_name}", "currency", "money", "Cost of {scheme_name}."
    )
    fig = spec.figure(12.5, period="2025-11", scheme="a", scheme_name="Scheme A")
    assert (fig.id, fig.label, fig.definition) == (
        "testonly.cost.a",
        "Test cost: Scheme A",
        "Cost of Scheme A.",
    )
    assert fig.to_json() == {
        "id": "testonly.cost.a",
        "label": "Test cost: Scheme A",
        "value": 12.5,
        "unit": "currency",
        "period": "2025-11",
        "definition": "Cost of Scheme A.",
        "formatted": "GBP 12",
    }
    with pytest.raises(InputValueError, match="give scheme"):
        spec.figure(1.0, scheme_name="x")


# ------------------------------------------------------------------------------------------------ assumptions
def _copy_configs(tmp_path: Path) -> Path:
    target = tmp_path / "configs"
    shutil.copytree(CONFIGS, target)
    return target


def test_assumptions_unknown_key_is_a_config_error_naming_it(tmp_path):
    from cx_framework.config import load_config

    configs = _copy_configs(tmp_path)
    (configs / "assumptions.yaml").write_text("current_scheme: siloed\nas_off: 2025-11\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="as_off") as info:
        load_config(configs)
    assert "assumptions.yaml" in str(info.value)


def test_assumptions_unknown_scheme_and_bad_month(tmp_path):
    from cx_framework.config import load_config

    configs = _copy_configs(tmp_path)
    (configs / "assumptions.yaml").write_text("current_scheme: nonexistent\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="current_scheme 'nonexistent'.*known: balanced"):
        load_config(configs)
    (configs / "assumptions.yaml").write_text("as_of: November\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="YYYY-MM"):
        load_config(configs)


def test_missing_assumptions_file_gives_the_model_defaults(tmp_path):
    from cx_framework.config import load_config
    from cx_framework.config.models import Assumptions

    configs = _copy_configs(tmp_path)
    (configs / "assumptions.yaml").unlink()
    assert load_config(configs).assumptions == Assumptions()


# ------------------------------------------------------------------------------------------------ figures vs engines
def test_as_of_is_the_month_before_the_last_and_window_ends_there(analysis, sample_org):
    months = sample_org.department_metrics["period"].dt.to_period("M").unique()
    assumptions = analysis.assumptions_dict()
    assert assumptions["as_of"] == str(sorted(months)[-2])
    assert assumptions["forecast_window"] == "2025-09/2025-11"
    assert assumptions["current_scheme"] == "siloed"  # configs/assumptions.yaml


def test_realised_service_level_is_volume_weighted_over_the_window(analysis, sample_org):
    iv = sample_org.intervals
    ts = iv["interval_start"]
    window = iv[(ts >= "2025-09-01") & (ts < "2025-12-01")]
    expected = window["answered_within_threshold"].sum() / window["offered"].sum()
    fig = analysis.figure("staffing.realised_service_level")
    assert fig.value == pytest.approx(expected, rel=1e-12)
    assert fig.period == "2025-09/2025-11"
    assert fig.label == "Realised service level"
    mismatch = analysis.figure("staffing.schedule_mismatch").value
    budget = analysis.figure("staffing.budget_service_level").value
    assert mismatch == pytest.approx(expected - budget, abs=1e-12)


def test_understaffed_count_matches_the_daily_frame(analysis):
    total = analysis.figure("staffing.understaffed_intervals").value
    assert total == int(analysis.frames("staffing")["understaffed_by_day"]["short"].sum())
    required = analysis.result("staffing").required
    assert total == int((required["staffing_gap"] < 0).sum())


def test_scorecard_figures_equal_the_engine(analysis, sample_org, config):
    from cx_framework.scorecard import score

    direct = score(
        sample_org.department_metrics,
        config,
        employee_metrics=sample_org.employee_metrics,
        employees=sample_org.employees,
    )
    org = direct.shared_scores.query("department == 'organisation'").set_index("period")
    assert analysis.figure("scorecard.customer_composite").value == pytest.approx(
        org.loc[pd.Timestamp("2025-11-01"), "composite"], rel=1e-12
    )


def test_payouts_use_the_scheme_in_force_as_baseline(analysis):
    comparison = analysis.result("payouts")
    assert comparison.baseline == "siloed"
    ids = {f.id for f in analysis.figures("payouts")}
    assert "payouts.vs_current.balanced" in ids and "payouts.vs_current.siloed" not in ids


def test_changing_current_scheme_changes_the_baseline(analysis):
    other = analysis.with_assumptions(current_scheme="balanced")
    assert other.key != analysis.key
    assert other.result("payouts").baseline == "balanced"
    assert other.assumptions_dict()["current_scheme"] == "balanced"
    vs = {f.id: f.value for f in other.figures("payouts")}
    base = {f.id: f.value for f in analysis.figures("payouts")}
    # the same costs, seen from another baseline
    assert vs["payouts.vs_current.siloed"] == pytest.approx(-base["payouts.vs_current.balanced"], rel=1e-9)
    with pytest.raises(ConfigError, match="not a configured scheme"):
        analysis.with_assumptions(current_scheme="nope")


def test_actions_reuse_the_sections_engine_results(analysis):
    plan = analysis.result("actions")
    assert plan.results["budget_gap"] is analysis.result("staffing").budget_gap
    assert plan.results["service_level"] is analysis.result("retention").optimum
    assert plan.assumptions["current_scheme"] == "siloed"


def test_to_json_follows_the_contract(analysis):
    doc = analysis.to_json("staffing")
    assert set(doc) >= {"figures", "assumptions", "unavailable"}
    for f in doc["figures"]:
        assert set(f) >= {"id", "label", "value", "unit", "period", "definition"}
    assert doc["assumptions"]["current_scheme"] == "siloed"


# ------------------------------------------------------------------------------------------------ partial data
def test_partial_data_runs_what_it_can_and_names_the_missing_tables(tmp_path, sample_org, config):
    data = tmp_path / "data"
    data.mkdir()
    sample_org.intervals.to_parquet(data / "intervals.parquet")
    (data / "customers.csv").write_text("customer_id,segment\nc1,retail\n", encoding="utf-8")  # invalid
    a = Analysis.from_data_dir(data, config)
    staffing = a.figure("staffing.realised_service_level")
    assert 0 < staffing.value < 1
    reasons = a.unavailable()
    assert "staffing" not in reasons
    assert "department_metrics" in reasons["scorecard"]
    assert "customers" in reasons["retention"] and "customers.csv" in reasons["retention"]
    assert "contacts" in reasons["failure_demand"]
    with pytest.raises(CxError, match="needs table"):
        a.section("retention")
    doc = a.to_json("staffing", "retention")
    assert "retention" in doc["unavailable"] and doc["figures"]


# ------------------------------------------------------------------------------------------------ disk cache
def test_disk_cache_serves_figures_without_reading_the_data(tmp_path, config):
    data = tmp_path / "data"
    data.mkdir()
    for name in ("intervals", "contacts"):
        shutil.copy(SAMPLE / f"{name}.parquet", data / f"{name}.parquet")
    cache = tmp_path / "cache"
    first = Analysis.from_data_dir(data, config, cache_dir=cache)
    assert not first.computed("staffing") and first.section_label("staffing") == "Staffing"
    figures = first.figures("staffing", "failure_demand")
    assert not first.from_cache and first.computed("staffing") and not first.computed("retention")

    second = Analysis.from_data_dir(data, config, cache_dir=cache)
    assert second.from_cache and second.key == first.key
    assert second.computed("staffing") and second.computed("failure_demand")  # the app shows no status box
    calls = []
    original = second._loader
    second._loader = lambda: (calls.append(1), original())[1]  # type: ignore[assignment]
    again = second.figures("staffing", "failure_demand")
    assert [(f.id, f.label, f.value) for f in again] == [(f.id, f.label, f.value) for f in figures]
    assert calls == []  # served from manifest + parquet
    assert second.frames("staffing")["budget_by_day"].equals(first.frames("staffing")["budget_by_day"])
    assert second.created_at == first.created_at and second.age_s >= 0
    gap = second.result("staffing").budget_gap  # unpickled engine result
    assert gap.fte_budget == first.result("staffing").budget_gap.fte_budget
    assert calls == []

    # any change of the data opens a new entry
    iv = pd.read_parquet(data / "intervals.parquet")
    iv.loc[0, "offered"] = iv.loc[0, "offered"] + 1
    iv.to_parquet(data / "intervals.parquet")
    third = Analysis.from_data_dir(data, config, cache_dir=cache)
    assert third.key != first.key and not third.from_cache


def test_personal_sections_go_through_authorize(sample_org, config):
    seen = []

    def authorize(viewer, name):
        seen.append((viewer, name))
        if viewer != "hr":
            raise InputValueError("individual pay is readable by hr only", argument="viewer")

    a = Analysis(sample_org.tables(), config, viewer="analyst", authorize=authorize)
    with pytest.raises(InputValueError, match="hr only"):
        a.result("payouts")
    assert seen == [("analyst", "payouts")]
    assert isinstance(a.figures("conflicts")[0], Figure)
    assert np.isfinite(a.figure("conflicts.count.siloed").value)
