"""Evidence behind the causal graph: estimate_graph against direct statsmodels fits, verdicts, bad input, planted
truth from the generator."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

from cx_framework.config.models import CausalGraph
from cx_framework.conflicts.evidence import ASSUMPTION, estimate_graph
from cx_framework.errors import InputValueError, StatisticalWarning


def _graph(*edges: tuple[str, str, float] | tuple[str, str, float, int]) -> CausalGraph:
    return CausalGraph.model_validate(
        {
            "edges": [
                {"from": e[0], "to": e[1], "elasticity": e[2], "lag_periods": e[3] if len(e) > 3 else 0}
                for e in edges
            ]
        }
    )


def _long(wide: pd.DataFrame, *, team: bool = True) -> pd.DataFrame:
    """(unit, period) x metric wide frame -> department_metrics rows (team rows of department 'd_<unit>' or
    department rows)."""
    long = wide.stack().rename("value").reset_index()
    long.columns = ["unit", "period", "metric", "value"]
    return pd.DataFrame(
        {
            "period": long["period"],
            "department": ("d_" + long["unit"]) if team else long["unit"],
            "team": long["unit"] if team else None,
            "metric": long["metric"],
            "value": long["value"],
            "volume": 1.0,
        }
    )


def _panel(
    seed: int = 0, units: int = 12, months: int = 24, b1: float = 0.5, b2: float = -0.3
) -> pd.DataFrame:
    """Units x months with log y = unit + month + b1 log x1 + b2 log x2 + noise (x1, x2 correlated)."""
    rng = np.random.default_rng(seed)
    idx = pd.MultiIndex.from_product(
        [[f"u{i}" for i in range(units)], pd.date_range("2024-01-01", periods=months, freq="MS")],
        names=["unit", "period"],
    )
    n = len(idx)
    u = np.repeat(rng.normal(0, 0.3, units), months)
    t = np.tile(rng.normal(0, 0.1, months), units)
    lx1 = 1.0 + u + rng.normal(0, 0.2, n)
    lx2 = 0.5 + 0.5 * lx1 + rng.normal(0, 0.2, n)
    ly = 2.0 + u + t + b1 * lx1 + b2 * lx2 + rng.normal(0, 0.05, n)
    return pd.DataFrame({"x1": np.exp(lx1), "x2": np.exp(lx2), "y": np.exp(ly)}, index=idx)


def _quiet(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        return estimate_graph(*args, **kwargs)


def test_two_parent_panel_matches_direct_statsmodels_fit():
    wide = _panel()
    ev = _quiet(_long(wide), _graph(("x1", "y", 0.4), ("x2", "y", -0.2)), candidates=False)
    df = wide.reset_index()
    df["month"] = df["period"].dt.strftime("%Y-%m")
    ref = smf.ols("np.log(y) ~ np.log(x1) + np.log(x2) + C(unit) + C(month)", data=df).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(df["unit"])[0]}, use_t=True
    )
    ci = ref.conf_int()
    e = ev.edges.set_index("source")
    for src in ("x1", "x2"):
        name = f"np.log({src})"
        assert e.loc[src, "estimate"] == pytest.approx(ref.params[name], rel=1e-9)
        assert e.loc[src, "std_error"] == pytest.approx(ref.bse[name], rel=1e-9)
        assert e.loc[src, "ci_low"] == pytest.approx(ci.loc[name, 0], rel=1e-9)
        assert e.loc[src, "ci_high"] == pytest.approx(ci.loc[name, 1], rel=1e-9)
        assert e.loc[src, "p_value"] == pytest.approx(ref.pvalues[name], rel=1e-6)
    assert set(e["n"]) == {len(df)}
    assert set(e["fixed_effects"]) == {"unit + month"}
    assert set(e["verdict"]) == {"supported"}
    assert e["controls"].tolist() == ["x2", "x1"]
    # the estimates are close to the truth (0.5, -0.3) and the joint covariance is kept for the draws
    assert e.loc["x1", "estimate"] == pytest.approx(0.5, abs=0.05)
    fit = ev.equations["y"]
    assert fit.cov.shape == (2, 2)
    assert fit.df == 11  # clusters − 1
    assert fit.cov[0, 1] == pytest.approx(ref.cov_params().loc["np.log(x1)", "np.log(x2)"], rel=1e-9)
    assert ASSUMPTION in ev.summary()
    assert "no unmeasured confounding" in ev.assumption


def test_lag_and_single_unit_series_match_statsmodels_hac():
    rng = np.random.default_rng(3)
    months = 30
    periods = pd.date_range("2023-01-01", periods=months, freq="MS")
    lx = rng.normal(0, 0.2, months)
    ly = 1.0 + np.r_[np.nan, 0.8 * lx[:-1]] + rng.normal(0, 0.05, months)
    wide = pd.DataFrame(
        {"x": np.exp(lx), "y": np.exp(ly)}, index=pd.MultiIndex.from_product([["cc"], periods])
    )
    dm = _long(wide, team=False).dropna(subset=["value"])
    ev = _quiet(dm, _graph(("x", "y", 0.5, 1)), candidates=False)
    row = ev.edges.iloc[0]
    # reference: y_t on x_{t-1} with an intercept and a (standardised) linear trend, Newey-West
    y, x = np.log(wide["y"].to_numpy())[1:], lx[:-1]
    m = np.arange(1, months, dtype=float)
    trend = (m - m.mean()) / m.std()
    ref = sm.OLS(y, np.column_stack([x, np.ones_like(x), trend])).fit(
        cov_type="HAC", cov_kwds={"maxlags": int(np.floor(4 * ((months - 1) / 100) ** (2 / 9)))}, use_t=True
    )
    assert row["estimate"] == pytest.approx(ref.params[0], rel=1e-9)
    classical = sm.OLS(y, np.column_stack([x, np.ones_like(x), trend])).fit().bse[0]
    assert row["std_error"] == pytest.approx(max(ref.bse[0], classical), rel=1e-9)  # HAC floored at classical
    assert row["n"] == months - 1
    assert row["fixed_effects"] == "linear trend"
    assert row["se_type"].startswith("Newey-West")
    assert row["verdict"] == "supported"


def test_opposite_sign_is_contradicted_and_weak_edge_still_supported():
    wide = _panel(b1=0.5, b2=0.0)
    ev = _quiet(_long(wide), _graph(("x1", "y", -0.4), ("x2", "y", 0.2)), candidates=False)
    e = ev.edges.set_index("source")
    assert e.loc["x1", "verdict"] == "contradicted"
    assert e.loc["x1", "significant"]
    assert "other side of zero" in e.loc["x1", "reason"]
    # b2 = 0: the CI straddles zero, so it still contains a positive value
    assert e.loc["x2", "ci_low"] < 0 < e.loc["x2", "ci_high"]
    assert e.loc["x2", "verdict"] == "supported"
    assert not e.loc["x2", "significant"]
    assert ev.verdict_counts == {"supported": 1, "contradicted": 1, "not identifiable": 0}


def test_department_parent_is_matched_to_each_team_of_the_department():
    rng = np.random.default_rng(5)
    periods = pd.date_range("2024-01-01", periods=20, freq="MS")
    depts = [f"d{i}" for i in range(5)]
    dept_x = pd.DataFrame(
        {d: np.exp(rng.normal(0, 0.2, len(periods))) for d in depts}, index=periods
    )  # period x department
    rows = []
    for d in depts:
        for k in range(2):
            team = f"{d}_t{k}"
            ly = 0.3 * k + 0.7 * np.log(dept_x[d].to_numpy()) + rng.normal(0, 0.05, len(periods))
            rows.append(
                pd.DataFrame(
                    {"period": periods, "department": d, "team": team, "metric": "y", "value": np.exp(ly)}
                )
            )
        rows.append(
            pd.DataFrame(
                {
                    "period": periods,
                    "department": d,
                    "team": None,
                    "metric": "x",
                    "value": dept_x[d].to_numpy(),
                }
            )
        )
    dm = pd.concat(rows, ignore_index=True)
    ev = _quiet(dm, _graph(("x", "y", 0.5)), candidates=False)
    row = ev.edges.iloc[0]
    assert row["level"] == "team"
    assert row["matched_as"] == "department of the team"
    assert row["n"] == 10 * len(periods)
    assert row["estimate"] == pytest.approx(0.7, abs=0.05)


# ------------------------------------------------------------------------------------------------ bad input
def test_too_few_periods_is_not_identifiable_with_a_warning():
    wide = _panel(months=5)
    with pytest.warns(StatisticalWarning, match="not identifiable"):
        ev = estimate_graph(_long(wide), _graph(("x1", "y", 0.4)), candidates=False)
    row = ev.edges.iloc[0]
    assert row["verdict"] == "not identifiable"
    assert "only 5 months" in row["reason"]
    assert np.isnan(row["estimate"])


def test_constant_metric_is_not_identifiable():
    wide = _panel()
    wide["x1"] = 3.0
    ev = _quiet(_long(wide), _graph(("x1", "y", 0.4), ("x2", "y", -0.2)), candidates=False)
    e = ev.edges.set_index("source")
    assert e.loc["x1", "verdict"] == "not identifiable"
    assert "does not vary" in e.loc["x1", "reason"]
    assert e.loc["x2", "verdict"] != "not identifiable"  # the other parent is still estimated


def test_target_constant_within_units_is_not_identifiable():
    wide = _panel()
    wide["y"] = np.repeat(np.arange(1.0, 13.0), 24)  # differs by unit, constant over time
    ev = _quiet(_long(wide), _graph(("x1", "y", 0.4)), candidates=False)
    assert ev.edges.iloc[0]["verdict"] == "not identifiable"
    assert "y does not vary" in ev.edges.iloc[0]["reason"]


def test_zeros_and_negatives_are_dropped_with_a_warning():
    wide = _panel()
    wide.iloc[:5, wide.columns.get_loc("x1")] = 0.0
    wide.iloc[5:7, wide.columns.get_loc("y")] = -1.0
    with pytest.warns(StatisticalWarning, match=r"x1: 5 of 286 unit-months ≤ 0 dropped"):
        ev = estimate_graph(_long(wide), _graph(("x1", "y", 0.4)), candidates=False)
    row = ev.edges.iloc[0]
    assert row["n"] == 288 - 7
    assert row["verdict"] == "supported"


def test_all_nonpositive_metric_is_not_identifiable():
    wide = _panel()
    wide["x1"] = -np.abs(wide["x1"])  # e.g. an NPS that is negative throughout
    ev = _quiet(_long(wide), _graph(("x1", "y", 0.4), ("x2", "y", -0.2)), candidates=False)
    e = ev.edges.set_index("source")
    assert e.loc["x1", "verdict"] == "not identifiable"
    assert "≤ 0 in every unit-month" in e.loc["x1", "reason"]
    assert e.loc["x2", "verdict"] != "not identifiable"


def test_collinear_parents_are_not_identifiable():
    wide = _panel()
    wide["x2"] = wide["x1"] ** 2  # log x2 = 2 log x1
    ev = _quiet(_long(wide), _graph(("x1", "y", 0.4), ("x2", "y", -0.2)), candidates=False)
    e = ev.edges.set_index("source")
    assert (e["verdict"] == "not identifiable").all()
    assert "collinear with x2" in e.loc["x1", "reason"]
    assert "collinear with x1" in e.loc["x2", "reason"]


def test_source_never_observed_with_target():
    wide = _panel()
    dm = _long(wide)
    x1 = dm["metric"] == "x1"  # x1 on two teams where y is never measured
    dm.loc[x1, "team"] = np.where(dm.loc[x1, "team"] < "u6", "elsewhere_a", "elsewhere_b")
    dm.loc[x1, "department"] = "d_elsewhere"
    dm = dm.drop_duplicates(["period", "department", "team", "metric"])
    ev = _quiet(dm, _graph(("x1", "y", 0.4)), candidates=False)
    assert ev.edges.iloc[0]["verdict"] == "not identifiable"
    assert "never observed alongside y" in ev.edges.iloc[0]["reason"]


def test_missing_target_and_bad_arguments():
    ev = _quiet(_long(_panel()), _graph(("x1", "nope", 0.4)), candidates=False)
    assert "not in department_metrics" in ev.edges.iloc[0]["reason"]
    with pytest.raises(InputValueError, match="confidence"):
        estimate_graph(_long(_panel()), _graph(("x1", "y", 0.4)), confidence=1.5)
    with pytest.raises(InputValueError, match="min_periods"):
        estimate_graph(_long(_panel()), _graph(("x1", "y", 0.4)), min_periods=1)


# ------------------------------------------------------------------------------------------------ candidates, draws
def test_candidates_list_unconnected_strong_associations_only():
    wide = _panel()
    rng = np.random.default_rng(9)
    wide["z"] = np.exp(0.9 * np.log(wide["x2"]) + rng.normal(0, 0.02, len(wide)))  # strongly tied to x2
    wide["w"] = np.exp(rng.normal(0, 0.2, len(wide)))  # unrelated
    ev = _quiet(_long(wide), _graph(("x1", "y", 0.4), ("x2", "y", -0.2)))
    pairs = {
        frozenset((a, b)) for a, b in zip(ev.candidates["metric_a"], ev.candidates["metric_b"], strict=True)
    }
    assert frozenset(("x2", "z")) in pairs
    assert frozenset(("x1", "y")) not in pairs and frozenset(("x2", "y")) not in pairs  # in the graph
    assert not any("w" in p for p in pairs)
    assert set(ev.candidates["label"]) == {"association to review (not in the graph; not added)"}
    # never added: the graph is unchanged
    assert len(ev.estimated_graph().edges) == 2


def test_estimated_graph_and_draws():
    wide = _panel()
    g = _graph(("x1", "y", 0.4), ("x2", "y", -0.2), ("y", "q", 0.3))
    ev = _quiet(_long(wide), g, candidates=False)
    est = {(e.source, e.target): e.elasticity for e in ev.estimated_graph().edges}
    e = ev.edges.set_index(["source", "target"])
    assert est[("x1", "y")] == pytest.approx(e.loc[("x1", "y"), "estimate"])
    assert est[("y", "q")] == 0.3  # not identifiable (q not in the data): configured value kept
    assert {(e.source, e.target): e.elasticity for e in ev.estimated_graph(unidentified="zero").edges}[
        ("y", "q")
    ] == 0.0
    nodes, mats, discarded = ev.elasticity_draws(4000, seed=1)
    assert discarded == 0 and mats.shape == (4000, len(nodes), len(nodes))
    i, j = nodes.index("x1"), nodes.index("y")
    draws = mats[:, i, j]
    assert draws.mean() == pytest.approx(
        e.loc[("x1", "y"), "estimate"], abs=3 * e.loc[("x1", "y"), "std_error"] / 60
    )
    # multivariate t with G − 1 df: the draws' spread matches the reported CI
    lo, hi = np.quantile(draws, [0.025, 0.975])
    assert lo == pytest.approx(e.loc[("x1", "y"), "ci_low"], rel=0.05)
    assert hi == pytest.approx(e.loc[("x1", "y"), "ci_high"], rel=0.05)
    assert (mats[:, nodes.index("y"), nodes.index("q")] == 0.3).all()
    with pytest.raises(InputValueError):
        ev.elasticity_draws(0)
    scatter = ev.edge_data("x1", "y")
    slope = (scatter["partial_source"] @ scatter["partial_target"]) / (scatter["partial_source"] ** 2).sum()
    assert slope == pytest.approx(e.loc[("x1", "y"), "estimate"], rel=1e-8)  # added-variable plot
    assert ev.edge_data("y", "q").empty


# ------------------------------------------------------------------------------------------------ uncertainty
def test_total_effect_interval_of_a_chain_is_the_scaled_edge_interval():
    from cx_framework.conflicts.uncertainty import total_effect_intervals

    wide = _panel()
    g = _graph(("x1", "y", 0.4), ("x2", "y", -0.2), ("y", "q", 0.3))  # q is not in the data: fixed at 0.3
    ev = _quiet(_long(wide), g, candidates=False)
    te = total_effect_intervals(ev, draws=20_000, seed=2).set_index(["cause", "effect"])
    e = ev.edges.set_index(["source", "target"])
    row = te.loc[("x1", "q")]
    assert row["configured"] == pytest.approx(0.4 * 0.3)
    assert row["estimated"] == pytest.approx(e.loc[("x1", "y"), "estimate"] * 0.3, rel=1e-12)
    # T[x1, q] = β · 0.3 in every draw, so its interval is 0.3 × the edge's t interval (up to Monte Carlo error)
    assert row["low"] == pytest.approx(0.3 * e.loc[("x1", "y"), "ci_low"], rel=0.03)
    assert row["high"] == pytest.approx(0.3 * e.loc[("x1", "y"), "ci_high"], rel=0.03)
    assert bool(row["excludes_zero"])
    assert te.attrs["draws"] == 20_000 and te.attrs["discarded"] == 0
    assert te.attrs["assumption"] == ASSUMPTION


@pytest.fixture(scope="module")
def sample_evidence():
    from cx_framework.config import load_config
    from cx_framework.synthetic import load_sample

    config = load_config("configs")
    org = load_sample(validate=False)
    return org, config, _quiet(org.department_metrics, config)


def test_conflict_intervals_on_the_sample(sample_evidence):
    from cx_framework.conflicts.graph import conflict_matrix
    from cx_framework.conflicts.uncertainty import conflict_intervals, evidence_config

    org, config, ev = sample_evidence
    ci = conflict_intervals(config.schemes, config, ev, draws=500, seed=0)
    ref = conflict_matrix(config.schemes, config)
    pd.testing.assert_frame_equal(ci[ref.columns], ref)  # the configured columns are the conflict matrix
    est = conflict_matrix(config.schemes, evidence_config(config, ev))
    merged = ci.merge(est, on=["scheme", "component", "kpi"], suffixes=("", "_est"))
    np.testing.assert_allclose(merged["estimated_total_effect"], merged["total_effect_est"])
    assert (ci["total_effect_low"] <= ci["total_effect_high"]).all()
    assert ((ci["severity_low"] >= 0) & (ci["severity_low"] <= ci["severity_high"])).all()
    # certain only when the whole alignment interval is on the conflict side
    certain = ci["status"] == "certain conflict"
    assert (ci.loc[certain, "alignment_high"] < 0).all()
    assert (ci.loc[certain, "conflict_probability"] > 0.97).all()
    assert not (ci.loc[~certain, "alignment_high"] < -1e-6).any()
    assert set(ci["status"]) <= {"certain conflict", "possible conflict", "no conflict"}
    flipped = ci["conflict"] != ci["estimated_conflict"]
    assert (ci.loc[flipped, "difference"].str.startswith("configured graph:")).all()
    assert ci.attrs["assumption"] == ASSUMPTION
    # a component that is the KPI itself has total effect 1 in every draw
    same = ci[ci["component"] == ci["kpi"]]
    if len(same):
        assert (same["total_effect_low"] >= 1 - 1e-9).all()


def test_sample_verdicts_and_cli_json(sample_evidence, tmp_path):
    import json

    from typer.testing import CliRunner

    from cx_framework.cli import app

    org, config, ev = sample_evidence
    counts = ev.verdict_counts
    assert sum(counts.values()) == len(config.causal_graph.edges)
    result = CliRunner().invoke(
        app, ["graph-evidence", "data/sample", "--json", "--draws", "300", "--out", str(tmp_path / "e.csv")]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    figs = {f["id"]: f for f in payload["figures"]}
    assert figs["evidence.edges_supported"]["value"] == counts["supported"]
    assert figs["evidence.edges_contradicted"]["value"] == counts["contradicted"]
    assert figs["evidence.edges_not_identifiable"]["value"] == counts["not identifiable"]
    assert {"id", "label", "value", "unit", "period", "definition"} <= set(figs["evidence.certain_conflicts"])
    assert payload["assumption"] == ASSUMPTION
    assert len(payload["edges"]) == len(config.causal_graph.edges)
    assert all(e["verdict"] in ("supported", "contradicted", "not identifiable") for e in payload["edges"])
    assert pd.read_csv(tmp_path / "e.csv").shape[0] == len(config.causal_graph.edges)
    text = CliRunner().invoke(app, ["graph-evidence", "data/sample", "--draws", "100"])
    assert text.exit_code == 0 and "not proven causal" in text.output
    bad = CliRunner().invoke(app, ["graph-evidence", str(tmp_path / "missing")])
    assert bad.exit_code == 2


# ------------------------------------------------------------------------------------------------ planted truth
def _flipped(graph: CausalGraph, key: str) -> CausalGraph:
    from cx_framework.conflicts.evidence import _graph_with, edge_key

    values = {edge_key(e.source, e.target): e.elasticity for e in graph.edges}
    values[key] = -values[key]
    return _graph_with(graph, values)


def test_edge_planted_with_the_opposite_sign_is_contradicted_and_rollups_hold():
    from cx_framework.config import load_config
    from cx_framework.synthetic import generate_organisation

    config = load_config("configs")
    key = "fcr -> repeat_contact_rate"  # configured −1.2, planted +1.2
    org = generate_organisation(
        seed=4, customers=300, employees=100, plant_graph=_flipped(config.causal_graph, key)
    )
    assert org.truth.graph_elasticities[key] == pytest.approx(1.2)
    assert org.truth.graph_elasticities["aht_s -> fcr"] == pytest.approx(0.35)
    ev = _quiet(org.department_metrics, config, candidates=False)
    row = ev.edges.set_index(["source", "target"]).loc[("fcr", "repeat_contact_rate")]
    assert row["verdict"] == "contradicted"
    assert row["ci_low"] > 0
    # the employee rows still roll up to the (planted) team rows
    em = org.employee_metrics.merge(org.employees[["employee_id", "team"]], on="employee_id")
    dm = org.department_metrics.dropna(subset=["team"]).set_index(["period", "team", "metric"])
    f = em[em["metric"] == "fcr"].assign(wv=lambda d: d["value"] * d["volume"])
    g = f.groupby(["period", "team"])[["wv", "volume"]].sum()
    np.testing.assert_allclose(
        dm.xs("fcr", level="metric")["value"].loc[g.index].to_numpy(),
        (g["wv"] / g["volume"]).to_numpy(),
        rtol=1e-6,
    )
    sales = em[em["metric"] == "product_sales"].groupby(["period", "team"])["value"].sum()
    np.testing.assert_allclose(
        dm.xs("product_sales", level="metric")["value"].loc[sales.index].to_numpy(),
        sales.to_numpy(),
        rtol=1e-6,
    )


def test_default_generation_plants_nothing():
    from cx_framework.synthetic import Truth, generate_organisation

    org = generate_organisation(seed=1, customers=200, employees=60, months=4)
    assert org.truth.graph_elasticities == {}
    assert Truth.from_json(org.truth.to_json()) == org.truth


@pytest.mark.slow
def test_planted_elasticities_are_recovered_inside_their_ci_over_seeds():
    """≥ 90 % of (edge, seed) pairs have the planted elasticity inside the 95 % CI."""
    from cx_framework.config import load_config
    from cx_framework.synthetic import generate_organisation

    config = load_config("configs")
    inside, total, not_identified = 0, 0, 0
    for seed in range(8):
        org = generate_organisation(seed=100 + seed, customers=1000, employees=150, plant_graph=True)
        planted = org.truth.graph_elasticities
        assert len(planted) == len(config.causal_graph.edges)
        ev = _quiet(org.department_metrics, config, candidates=False, validate=False)
        e = ev.edges
        truth = np.array([planted[f"{s} -> {t}"] for s, t in zip(e["source"], e["target"], strict=True)])
        inside += int(((e["ci_low"] <= truth) & (truth <= e["ci_high"])).sum())
        not_identified += int((e["verdict"] == "not identifiable").sum())
        total += len(e)
    assert inside / total >= 0.90, f"recovered {inside}/{total}; {not_identified} not identifiable"


# ------------------------------------------------------------------------------------------------ behaviour, graphs, surfaces
def test_behaviour_value_interval_reruns_the_simulation_on_drawn_graphs(sample_evidence):
    import dataclasses

    from cx_framework.conflicts.behaviour import simulate_behaviour
    from cx_framework.conflicts.evidence import _graph_with, edge_key
    from cx_framework.conflicts.uncertainty import behaviour_value_interval, evidence_config

    org, config, ev = sample_evidence
    scheme = config.schemes["siloed"]
    r = behaviour_value_interval(scheme, org, config, ev, draws=10, seed=5)
    # the behaviour response is held at the same seed; only the graph changes between runs
    assert r.configured == pytest.approx(simulate_behaviour(scheme, org, config, seed=5).net_value)
    assert r.estimated == pytest.approx(
        simulate_behaviour(scheme, org, evidence_config(config, ev), seed=5).net_value
    )
    nodes, mats, _ = ev.elasticity_draws(10, seed=5)  # the same draws as the conflict intervals
    assert len(r.values) == len(mats) and r.low <= r.high
    pos = {m: k for k, m in enumerate(nodes)}
    # each draw (clipped to the config's ±5 bound by _graph_with) is a valid graph: re-run the simulation on it
    d = 1
    g = _graph_with(
        ev.graph,
        {edge_key(e.source, e.target): mats[d, pos[e.source], pos[e.target]] for e in ev.graph.edges},
    )
    again = simulate_behaviour(
        scheme, org, dataclasses.replace(config, causal_graph=g), seed=5, validate=False
    )
    assert r.values[d] == pytest.approx(again.net_value, rel=1e-9)
    assert r.assumption == ASSUMPTION


def test_compare_graphs_names_the_differences(sample_evidence):
    from cx_framework.conflicts.uncertainty import compare_graphs

    org, config, ev = sample_evidence
    out = compare_graphs(config.schemes, config, ev, draws=300)
    changed = out["changed"]
    assert (changed["difference"] != "").all()
    both = out["conflicts"]
    expected = both[
        (both["conflict"] != both["estimated_conflict"])
        | (both["conflict"] & (both["status"] == "possible conflict"))
    ]
    assert len(changed) == len(expected)
    assert out["assumption"] == ASSUMPTION
    assert "actions" not in out


def test_evidence_plots(sample_evidence):
    from cx_framework import plots

    _, _, ev = sample_evidence
    fig = plots.evidence_forest(ev)
    configured = next(t for t in fig.data if t.name == "configured")
    np.testing.assert_allclose(np.asarray(configured.x, float), ev.edges["configured"].to_numpy())
    supported = next(t for t in fig.data if t.name == "estimated (supported)")
    sup = ev.edges[ev.edges["verdict"] == "supported"]
    np.testing.assert_allclose(np.asarray(supported.x, float), sup["estimate"].to_numpy())
    row = sup.iloc[0]
    sc = plots.evidence_scatter(ev, row["source"], row["target"])
    line = next(t for t in sc.data if str(t.name).startswith("estimated slope"))
    x, y = np.asarray(line.x, float), np.asarray(line.y, float)
    assert (y[1] - y[0]) / (x[1] - x[0]) == pytest.approx(row["estimate"])
    points = sum(len(t.x) for t in sc.data if t.mode == "markers")
    assert points == row["n"]
    missing = ev.edges[ev.edges["verdict"] == "not identifiable"]
    if len(missing):
        empty = plots.evidence_scatter(ev, missing.iloc[0]["source"], missing.iloc[0]["target"])
        assert "No estimate" in empty.layout.annotations[0].text

    # with the config: metric and department names, never ids (aht_s, contact_centre) on an axis, title or legend
    import re

    from cx_framework.config import load_config

    config = load_config("configs")
    names = {m.id: m.name for m in config.metrics.metrics}
    named = plots.evidence_forest(ev, config=config)
    assert list(named.data[-1].y) == [
        f"{names[s]} → {names[t]}" for s, t in zip(ev.edges["source"], ev.edges["target"], strict=True)
    ]
    sc = plots.evidence_scatter(ev, row["source"], row["target"], config=config)
    texts = [sc.layout.title.text, sc.layout.xaxis.title.text, sc.layout.yaxis.title.text]
    texts += [str(t.name) for t in sc.data]
    assert sc.layout.title.text.startswith(f"{names[row['source']]} → {names[row['target']]}")
    ids = set(names) | {d.id for d in config.organisation.departments}
    assert not [t for t in texts for word in re.findall(r"[a-z]+_[a-z_]+", t) if word in ids]


def test_report_evidence_block_carries_the_intervals(sample_evidence):
    from cx_framework.analysis.sections import EvidenceSection
    from cx_framework.conflicts.uncertainty import conflict_intervals
    from cx_framework.report import _evidence_block, _Figures

    _, config, ev = sample_evidence
    ci = conflict_intervals(config.schemes, config, ev, draws=2000, seed=0)
    bundle = EvidenceSection(evidence=ev, conflicts=ci, department_conflicts=ci.iloc[:0])
    html = "".join(_evidence_block(bundle, None, _Figures(), config))
    top = (
        ci[ci["conflict"] | ci["estimated_conflict"]]
        .sort_values("conflict_probability", ascending=False)
        .iloc[0]
    )
    assert f"{top['total_effect_low']:+.3f} to {top['total_effect_high']:+.3f}" in html
    assert f"{ci.attrs['draws']:,} draws" in html
    assert "not proven causal" in html
    counts = ev.verdict_counts
    assert f"{counts['supported']} supported" in html
    missing = "".join(_evidence_block(None, "Evidence needs table department_metrics", _Figures(), config))
    assert "Not available" in missing and "department_metrics" in missing


@pytest.mark.slow
def test_compare_graphs_runs_actions_on_both_graphs(sample_evidence):
    from cx_framework.conflicts.uncertainty import compare_graphs

    org, config, ev = sample_evidence
    out = compare_graphs(config.schemes, config, ev, org_data=org, draws=200)
    assert set(out["actions"]["graph"]) == {"configured", "estimated"}
    assert {"rank", "title", "expected_annual_value"} <= set(out["actions"].columns)


def test_cli_generate_plants_the_graph(tmp_path):
    import json

    from typer.testing import CliRunner

    from cx_framework.cli import app

    result = CliRunner().invoke(
        app,
        [
            "generate",
            str(tmp_path),
            "--customers",
            "200",
            "--employees",
            "60",
            "--months",
            "10",
            "--plant-graph",
        ],
    )
    assert result.exit_code == 0, result.output
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert truth["graph_elasticities"]["aht_s -> fcr"] == pytest.approx(0.35)
    ev = _quiet(
        pd.read_parquet(tmp_path / "department_metrics.parquet"), _graph(("fcr", "repeat_contact_rate", -1.2))
    )
    assert ev.edges.iloc[0]["verdict"] != "not identifiable"


def test_evidence_figure_texts_are_the_registry_s():
    from cx_framework.analysis import figure_spec
    from cx_framework.conflicts.uncertainty import EVIDENCE_FIGURES

    for fid, (label, unit, definition) in EVIDENCE_FIGURES.items():
        spec = figure_spec(fid)
        assert (spec.label, spec.unit, spec.definition) == (label, unit, definition)
        assert spec.format == "count"


def test_every_conflict_row_carries_its_interval_and_the_verdicts_on_its_path(sample_evidence):
    from cx_framework.conflicts.explain import EVIDENCE_COLUMNS, conflict_rows
    from cx_framework.conflicts.uncertainty import conflict_intervals, path_evidence

    _, config, ev = sample_evidence
    ci = conflict_intervals(config.schemes, config, ev, draws=400, seed=1)
    verdict = {f"{r.source} → {r.target}": r.verdict for r in ev.edges.itertuples()}
    # hand-checked path: each edge's verdict read off the edge table
    path = "aht_s → fcr → csat"
    assert path_evidence([path, None, "aht_s"], ev) == [
        f"aht_s → fcr: {verdict['aht_s → fcr']}; fcr → csat: {verdict['fcr → csat']}",
        "",
        "",
    ]
    rows = conflict_rows(ci, config, intervals=ci)
    conflicts = ci[ci["conflict"]].sort_values("severity", ascending=False)
    assert len(rows) == len(conflicts)
    first = conflicts.iloc[0]
    assert rows[EVIDENCE_COLUMNS[0]].iloc[0] == (
        "{} ({} to {})".format(
            *(
                np.format_float_positional(first[c], precision=3, unique=False, fractional=False, trim="-")
                for c in ("estimated_severity", "severity_low", "severity_high")
            )
        )
    )
    assert "e-" not in "".join(rows[EVIDENCE_COLUMNS[0]])  # no 1.91e-05 style numbers
    assert rows[EVIDENCE_COLUMNS[1]].iloc[0] == f"{first['status']} (P = {first['conflict_probability']:.0%})"
    names = config.metrics.by_id
    hops = first["path"].split(" → ")
    assert (
        rows[EVIDENCE_COLUMNS[2]].iloc[0].startswith(names[hops[0]].name + " → " + names[hops[1]].name + " [")
    )
    assert rows[EVIDENCE_COLUMNS[2]].iloc[0].count("[") == len(hops) - 1
    # without evidence every row says why instead of an interval
    missing = conflict_rows(ci, config, unavailable="Evidence needs table department_metrics")
    assert (missing[EVIDENCE_COLUMNS[0]] == "not available: Evidence needs table department_metrics").all()
    assert EVIDENCE_COLUMNS[0] not in conflict_rows(ci, config).columns
