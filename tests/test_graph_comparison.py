"""A graph from evidence (issue 17, deliverable 4): conflicts and actions on the estimated elasticities, side by
side with the configured ones, the differences named with the edges behind them; and the behaviour simulation's
value interval (vectorised over the graph draws, checked against re-running the simulation)."""

from __future__ import annotations

import dataclasses
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cx_framework.config.models import CausalGraph
from cx_framework.errors import StatisticalWarning


def _graph(*edges: tuple[str, str, float]) -> CausalGraph:
    return CausalGraph.model_validate({"edges": [{"from": a, "to": b, "elasticity": v} for a, b, v in edges]})


# ------------------------------------------------------------------------------------------------ hand-worked
def test_edge_contributions_split_the_change_exactly_hand_worked():
    from cx_framework.conflicts.comparison import edge_contributions

    configured = _graph(("a", "b", 0.5), ("b", "c", 0.4), ("a", "c", 0.1))
    estimated = _graph(("a", "b", 0.2), ("b", "c", 0.6), ("a", "c", 0.1))
    # T[a, c] = a→c + a→b·b→c: configured 0.1 + 0.5·0.4 = 0.30, estimated 0.1 + 0.2·0.6 = 0.22, change −0.08.
    # a→b: F_cfg[a, a]·(0.2 − 0.5)·F_est[b, c] = 1·(−0.3)·0.6 = −0.18
    # b→c: F_cfg[a, b]·(0.6 − 0.4)·F_est[c, c] = 0.5·0.2·1 = +0.10; a→c unchanged: no row.  −0.18 + 0.10 = −0.08
    terms = edge_contributions(configured, estimated, [("a", "c")]).set_index(["source", "target"])
    assert set(terms.index) == {("a", "b"), ("b", "c")}
    assert terms.loc[("a", "b"), "contribution"] == pytest.approx(-0.18)
    assert terms.loc[("b", "c"), "contribution"] == pytest.approx(0.10)
    assert terms["contribution"].sum() == pytest.approx(0.22 - 0.30)


def test_edge_contributions_are_exact_with_a_feedback_loop():
    from cx_framework.conflicts.comparison import edge_contributions
    from cx_framework.conflicts.graph import total_effects

    configured = _graph(("a", "b", 0.5), ("b", "c", 0.4), ("c", "a", 0.3), ("b", "d", -0.7))
    estimated = _graph(("a", "b", 0.1), ("b", "c", 0.9), ("c", "a", -0.2), ("b", "d", -0.7))
    pairs = [(x, y) for x in "abcd" for y in "abcd" if x != y]
    terms = edge_contributions(configured, estimated, pairs)
    change = total_effects(estimated) - total_effects(configured)
    sums = terms.groupby(["cause", "effect"])["contribution"].sum()
    for x, y in pairs:  # no interaction remainder: the edge terms add up to the change, loops included
        assert sums.get((x, y), 0.0) == pytest.approx(change.loc[x, y], abs=1e-12)


def test_compare_conflict_frames_labels_appear_disappear_and_rank():
    from cx_framework.conflicts.comparison import compare_conflict_frames

    base = {"scheme": ["s", "s", "s"], "component": ["m", "m", "n"], "kpi": ["k1", "k2", "k1"]}
    cfg = pd.DataFrame(
        {
            **base,
            "total_effect": [0.3, 0.1, -0.2],
            "conflict": [True, True, False],
            "severity": [0.3, 0.1, 0.0],
        }
    ).assign(path="", path_effect=0.0)
    est = pd.DataFrame(
        {
            **base,
            "total_effect": [0.05, 0.2, 0.4],
            "conflict": [True, False, True],
            "severity": [0.05, 0.0, 0.4],
        }
    ).assign(path="", path_effect=0.0)
    edges = pd.DataFrame(columns=["source", "target", "configured", "used"])
    contributions = pd.DataFrame(columns=["cause", "effect", "source", "target", "contribution"])
    out = compare_conflict_frames(cfg, est, contributions, edges).set_index(["component", "kpi"])
    # m×k1 stays a conflict but drops from rank 1 to 2 (n×k1 appears with severity 0.4); m×k2 disappears
    assert out.loc[("m", "k1"), "change"] == "rank changes"
    assert (out.loc[("m", "k1"), "rank"], out.loc[("m", "k1"), "estimated_rank"]) == (1, 2)
    assert out.loc[("m", "k2"), "change"] == "disappears"
    assert out.loc[("n", "k1"), "change"] == "appears" and out.loc[("n", "k1"), "sign_flips"]
    assert "only on the estimated graph (rank 1)" in out.loc[("n", "k1"), "difference"]


def test_compare_action_plans_matches_actions_and_names_changes():
    from cx_framework.conflicts.comparison import compare_action_plans

    @dataclasses.dataclass
    class Plan:
        actions: pd.DataFrame
        candidates: pd.DataFrame

    def plan(rows):
        frame = pd.DataFrame(rows, columns=["kind", "title", "expected_annual_value", "recommended"])
        frame["evidence"] = [{}] * len(frame)
        ranked = frame.sort_values("expected_annual_value", ascending=False).reset_index(drop=True)
        actions = ranked[ranked["recommended"]].reset_index(drop=True)
        actions.insert(0, "rank", np.arange(1, len(actions) + 1))
        return Plan(actions=actions, candidates=ranked)

    configured = plan(
        [
            ("change_incentive", "Replace A with B", 500.0, True),
            ("fix_failure_demand", "Fix billing", 300.0, True),
            ("service_level", "Staff for 70 %", 100.0, True),
        ]
    )
    estimated = plan(
        [
            (
                "change_incentive",
                "Replace A with C",
                50.0,
                True,
            ),  # same action (kind), other scheme and value
            ("fix_failure_demand", "Fix billing", 300.0, True),
            ("service_level", "Staff for 70 %", 100.0, False),
        ]
    )
    out = compare_action_plans(configured, estimated, edges_behind="x → y").set_index("kind")
    switch = out.loc["change_incentive"]
    assert (switch["rank"], switch["estimated_rank"], switch["change"]) == (1, 2, "rank changes")
    assert "estimated graph: Replace A with C" in switch["difference"] and switch["edges_behind"] == "x → y"
    fix = out.loc["fix_failure_demand"]
    assert (fix["rank"], fix["estimated_rank"], fix["change"]) == (2, 1, "rank changes")
    assert fix["edges_behind"] == "" and "does not depend on the graph" in fix["difference"]
    assert out.loc["service_level", "change"] == "dropped"


# ------------------------------------------------------------------------------------------------ the sample
@pytest.fixture(scope="module")
def sample_analysis():
    from cx_framework.analysis import Analysis

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        a = Analysis.from_sample(engine="pandas")
        a.section("evidence_comparison")
        a.section("behaviour_intervals")
    return a


def _estimated_by_hand(a):
    """The configured graph with every identified edge's estimate substituted (an independent reference of
    evidence_config: built from the edges frame, not estimated_graph)."""
    edges = a.result("evidence").evidence.edges.set_index(["source", "target"])
    graph = a.config.causal_graph
    new = []
    for e in graph.edges:
        row = edges.loc[(e.source, e.target)]
        value = (
            e.elasticity if row["verdict"] == "not identifiable" else float(np.clip(row["estimate"], -5, 5))
        )
        new.append(e.model_copy(update={"elasticity": value}))
    return dataclasses.replace(a.config, causal_graph=CausalGraph(edges=new))


def test_estimated_graph_conflicts_equal_conflict_matrix_on_the_substituted_graph(sample_analysis):
    from cx_framework.conflicts.graph import conflict_matrix, sla_conflicts

    a = sample_analysis
    comparison = a.result("evidence_comparison")
    by_hand = _estimated_by_hand(a)
    ref = conflict_matrix(a.config.schemes, by_hand)
    key = ["scheme", "component", "kpi"]
    got = comparison.conflicts.merge(ref[[*key, "total_effect", "conflict"]], on=key, suffixes=("", "_ref"))
    assert len(got) == len(ref) == len(comparison.conflicts)
    np.testing.assert_allclose(got["estimated_total_effect"], got["total_effect_ref"], rtol=1e-12, atol=1e-15)
    assert (got["estimated_conflict"] == got["conflict_ref"]).all()
    pd.testing.assert_frame_equal(
        comparison.estimated_matrix.reset_index(drop=True), ref.reset_index(drop=True), check_exact=False
    )
    dept = sla_conflicts(by_hand)
    np.testing.assert_allclose(comparison.estimated_departments["total_effect"], dept["total_effect"])
    c = comparison.conflicts
    # change labels follow the two verdicts; a rank is the conflict's place by severity within its scheme
    assert ((c["change"] == "appears") == (~c["conflict"] & c["estimated_conflict"])).all()
    assert ((c["change"] == "disappears") == (c["conflict"] & ~c["estimated_conflict"])).all()
    worst = (
        c[c["estimated_conflict"]]
        .sort_values("estimated_severity", ascending=False)
        .groupby("scheme")
        .head(1)
    )
    assert (worst["estimated_rank"] == 1).all()
    assert (c["change"] != "unchanged").any()  # the sample's configured graph is not what history says


def test_every_changed_pair_names_edges_whose_terms_add_up_to_the_change(sample_analysis):
    comparison = sample_analysis.result("evidence_comparison")
    c = comparison.conflicts
    changed = c[c["change"] != "unchanged"]
    terms = comparison.conflict_edges
    for r in changed.itertuples():
        part = terms[
            (terms["owner"] == r.scheme) & (terms["component"] == r.component) & (terms["kpi"] == r.kpi)
        ]
        assert part["contribution"].sum() == pytest.approx(
            r.estimated_total_effect - r.total_effect, abs=1e-9
        )
        assert r.edges_behind and r.difference
    # an edge history cannot test keeps its configured value and is never named as a cause
    edges = comparison.edges
    untested = edges[edges["verdict"] == "not identifiable"]
    assert len(untested) and (untested["used"] == untested["configured"]).all()
    assert untested["value_source"].str.startswith("configured").all()
    keyed = set(zip(terms["source"], terms["target"], strict=True))
    assert not keyed & set(zip(untested["source"], untested["target"], strict=True))


def test_estimated_actions_rerank_only_the_graph_dependent_action(sample_analysis):
    from cx_framework.actions import switching_value
    from cx_framework.conflicts.behaviour import simulate_behaviour

    a = sample_analysis
    comparison = a.result("evidence_comparison")
    acts = comparison.actions
    assert acts is not None and len(acts)
    fixed = acts[acts["kind"] != "change_incentive"].dropna(subset=["expected_annual_value"])
    both = fixed.dropna(subset=["estimated_expected_annual_value"])
    np.testing.assert_allclose(both["expected_annual_value"], both["estimated_expected_annual_value"])
    # the switch's value on the estimated graph is 12 × switching_value of simulations on the substituted graph
    by_hand = _estimated_by_hand(a)
    current = a.assumptions_dict()["current_scheme"]
    switch = acts[acts["kind"] == "change_incentive"].iloc[0]
    best = switch["estimated_better_scheme"]
    kw = dict(seed=a.assumptions.seed, effort_budget=a.assumptions.effort_budget, validate=False)
    kw["baseline_periods"] = a.assumptions.baseline_months
    sim = {s: simulate_behaviour(a.config.schemes[s], a.tables, by_hand, **kw) for s in {current, best}}
    assert switch["estimated_expected_annual_value"] == pytest.approx(
        12 * switching_value(sim[current], sim[best])
    )
    assert {"evidence_comparison.conflicts_changed", "evidence_comparison.actions_changed"} <= {
        f.id for f in a.figures("evidence_comparison")
    }


def test_behaviour_net_values_equal_the_simulation_on_each_drawn_graph(sample_analysis):
    from cx_framework.conflicts.behaviour import behaviour_net_values, simulate_behaviour
    from cx_framework.conflicts.evidence import _graph_with, edge_key

    a = sample_analysis
    ev = a.result("evidence").evidence
    nodes, mats, _ = ev.elasticity_draws(3, seed=3)
    inside = [0, 1, 2]
    mats = np.clip(mats, -5, 5)  # the config's ±5 bound, as _graph_with does
    n = len(nodes)
    full = np.linalg.solve(np.eye(n)[None] - mats[inside], np.broadcast_to(np.eye(n), (len(inside), n, n)))
    scheme = a.config.schemes["shared_customer"]
    values = behaviour_net_values(scheme, a.tables, a.config, nodes, full, seed=0, validate=False)
    pos = {m: k for k, m in enumerate(nodes)}
    for value, d in zip(values, inside, strict=True):
        g = _graph_with(
            ev.graph,
            {edge_key(e.source, e.target): mats[d, pos[e.source], pos[e.target]] for e in ev.graph.edges},
        )
        ref = simulate_behaviour(
            scheme, a.tables, dataclasses.replace(a.config, causal_graph=g), seed=0, validate=False
        )
        assert value == pytest.approx(ref.net_value, rel=1e-9)


def test_behaviour_intervals_section(sample_analysis):
    a = sample_analysis
    frame = a.result("behaviour_intervals")
    assert set(frame["scheme"]) == set(a.config.schemes)
    assert frame.attrs["draws"] > 0.9 * a.assumptions.behaviour_draws
    assert (frame["net_value_low"] <= frame["net_value_high"]).all()
    assert (
        frame["net_value_certain"] == ((frame["net_value_low"] > 0) | (frame["net_value_high"] < 0))
    ).all()
    behaviour = a.result("behaviour")
    for r in frame.itertuples():
        assert r.net_value == pytest.approx(
            behaviour[r.scheme].net_value
        )  # configured = the behaviour section
    current = a.assumptions_dict()["current_scheme"]
    others = frame[frame["scheme"] != current]
    cur = behaviour[current]
    for r in others.itertuples():  # today's baseline payouts do not depend on the graph: a constant shift
        shift = cur.payout_cost["baseline"] - behaviour[r.scheme].payout_cost["baseline"]
        assert r.switching_low == pytest.approx(r.net_value_low + shift)
        assert r.switching_high == pytest.approx(r.net_value_high + shift)
    assert (
        frame.loc[frame["scheme"] == current, "switching_certain"].item() is False
        or not frame.loc[frame["scheme"] == current, "switching_certain"].item()
    )


# ------------------------------------------------------------------------------------------------ CLI
def test_cli_graph_option_is_checked_before_any_work():
    from cx_framework.cli import app

    for command in ("conflicts", "actions"):
        result = CliRunner().invoke(app, [command, "data/sample", "--graph", "guessed"])
        assert result.exit_code == 2
        assert "--graph" in result.output


@pytest.mark.slow
def test_cli_conflicts_and_actions_on_both_graphs():
    from cx_framework.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["conflicts", "data/sample", "--graph", "both", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    # existing keys kept, new ones added
    assert {"figures", "conflicts", "department_conflicts", "behaviour", "evidence_unavailable"} <= set(doc)
    assert doc["graph"] == "both" and "associations" in doc["graph_note"]
    est = doc["estimated_graph"]
    assert est["unavailable"] is None and "not identifiable" in est["unidentified_note"]
    assert est["changed"] and all(c["change"] != "unchanged" and c["edges_behind"] for c in est["changed"])
    assert all(c["conflict"] for c in est["conflicts"])
    # every conflict reported on the estimated graph carries its interval and path evidence too
    assert not any(k.endswith(("_x", "_y")) for c in est["changed"] for k in c)
    for c in [*est["conflicts"], *est["department_conflicts"], *est["changed"]]:
        assert 0 <= c["severity_low"] <= c["severity_high"] and c["status"] and "path_evidence" in c
    ids = {f["id"] for f in doc["figures"]}
    assert "evidence_comparison.conflicts_changed" in ids
    changed = next(f for f in doc["figures"] if f["id"] == "evidence_comparison.conflicts_changed")
    assert changed["value"] == len([c for c in est["comparison"] if c["change"] != "unchanged"])
    for row in doc["behaviour"]:  # the behaviour value carries its interval
        assert row["net_value_low"] <= row["net_value_high"]
        assert row["net_value_certain"] == (row["net_value_low"] > 0 or row["net_value_high"] < 0)

    text = runner.invoke(app, ["conflicts", "data/sample", "--graph", "estimated"])
    assert text.exit_code == 0, text.output
    assert "On the estimated graph" in text.output and "Edges behind each difference" in text.output
    assert "associations under the graph's assumptions" in " ".join(text.output.split())
    assert "95 % interval" in text.output

    acts = runner.invoke(app, ["actions", "data/sample", "--graph", "estimated", "--json"])
    assert acts.exit_code == 0, acts.output
    adoc = json.loads(acts.stdout)
    assert adoc["actions"] and adoc["graph"] == "estimated"
    rows = adoc["estimated_graph"]["actions"]
    assert rows and {"rank", "estimated_rank", "change", "difference", "edges_behind"} <= set(rows[0])
    assert [r["title"] for r in adoc["actions"]][:1] == [r["title"] for r in rows if r["rank"] == 1]


# ------------------------------------------------------------------------------------------------ report
def test_report_conflict_section_carries_the_comparison_and_the_behaviour_interval(sample_analysis, tmp_path):
    import html

    from cx_framework.report import build_report

    a = sample_analysis
    path = build_report(a.tables, a.config, tmp_path / "r.html", plan=a.result("actions"), analysis=a)
    text = html.unescape(path.read_text(encoding="utf-8"))
    comparison = a.result("evidence_comparison")
    changed = int((comparison.conflicts["change"] != "unchanged").sum())
    assert "Configured vs estimated graph" in text
    assert f"{changed} of {len(comparison.conflicts)} scheme component × KPI pairs change" in text
    assert "keep their configured elasticity" in text and "associations under the graph's assumptions" in text
    changed_rows = comparison.conflicts[comparison.conflicts["change"] != "unchanged"]
    order = changed_rows["change"].map({"appears": 0, "disappears": 1, "rank changes": 2})
    first = (
        changed_rows.assign(_o=order).sort_values(["_o", "scheme", "estimated_rank"])["edges_behind"].iloc[0]
    )
    assert first in text  # the edges behind the first difference listed
    frame = a.result("behaviour_intervals")
    cur = a.config.economics.currency
    for r in frame.itertuples():
        assert f"{cur} {r.net_value_low:,.0f} to {r.net_value_high:,.0f}" in text
    assert "certain only when its interval excludes zero" in text


@pytest.mark.slow
def test_duckdb_analysis_gives_the_same_comparison_and_intervals(sample_analysis):
    """The same numbers on every engine: the DuckDB Analysis (customers grouped in the engine) against pandas."""
    from cx_framework.analysis import Analysis
    from cx_framework.analysis.core import ENGINE_TABLES

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        duck = Analysis.from_sample(engine="duckdb")
        d_cmp, d_int = duck.result("evidence_comparison"), duck.result("behaviour_intervals")
    p_cmp, p_int = (
        sample_analysis.result("evidence_comparison"),
        sample_analysis.result("behaviour_intervals"),
    )
    pd.testing.assert_frame_equal(p_int, d_int, rtol=1e-9, check_dtype=False)
    pd.testing.assert_frame_equal(p_cmp.conflicts, d_cmp.conflicts, rtol=1e-9, check_dtype=False)
    pd.testing.assert_frame_equal(p_cmp.actions, d_cmp.actions, rtol=1e-9, check_dtype=False)
    assert set(duck.tables._frames).isdisjoint(ENGINE_TABLES)  # the large tables never reached pandas
