"""Conflicts page, "Evidence behind the graph" tab: the library's verdict counts, the edge table and the conflict
intervals are shown, and choosing another edge re-renders its scatter."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from cx_framework.config import load_config  # noqa: E402
from cx_framework.conflicts.evidence import ASSUMPTION, estimate_graph  # noqa: E402
from cx_framework.errors import StatisticalWarning  # noqa: E402
from cx_framework.synthetic import load_sample  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
APPS = REPO / "apps"
if str(APPS) not in sys.path:
    sys.path.insert(0, str(APPS))


@pytest.fixture(autouse=True)
def _sample_data(monkeypatch):
    monkeypatch.delenv("CX_DATA_DIR", raising=False)
    monkeypatch.delenv("CX_CONFIG_DIR", raising=False)


def test_evidence_tab_shows_library_verdicts_and_reacts_to_the_edge_choice():
    cfg = load_config(REPO / "configs")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        ev = estimate_graph(load_sample(validate=False).department_metrics, cfg)
    counts = ev.verdict_counts
    at = AppTest.from_file(str(APPS / "views" / "conflicts.py"), default_timeout=300).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    # the registry's labels and the Analysis' values (the same figures as cx graph-evidence and the report)
    assert metrics["Causal-graph edges supported by history"] == str(counts["supported"])
    assert metrics["Causal-graph edges contradicted by history"] == str(counts["contradicted"])
    assert metrics["Causal-graph edges history cannot test"] == str(counts["not identifiable"])
    assert metrics["Associations outside the graph to review"] == str(len(ev.candidates))
    assert any(ASSUMPTION in i.value for i in at.info)
    frames = [d.value for d in at.dataframe]
    edge_table = next(f for f in frames if "Verdict" in f.columns)
    assert len(edge_table) == len(cfg.causal_graph.edges)
    first = ev.edges.iloc[0]
    assert edge_table["Estimated"].iloc[0] == pytest.approx(first["estimate"], nan_ok=True)
    conflicts = next(f for f in frames if "P(conflict)" in f.columns)
    assert set(conflicts["Status"]) <= {"certain conflict", "possible conflict", "no conflict"}
    assert ((conflicts["Low"] <= conflicts["Estimated effect"] + 1e-9) | conflicts["Low"].isna()).all()
    identified = [
        f"{r.source} → {r.target}" for r in ev.edges.itertuples() if r.verdict != "not identifiable"
    ]
    other = identified[-1]
    at = at.selectbox(key="ev_edge").set_value(other).run()
    assert not at.exception
    assert at.selectbox(key="ev_edge").value == other
    at = at.toggle(key="ev_partial").set_value(False).run()
    assert not at.exception


def test_main_conflict_tables_carry_intervals_and_path_evidence():
    from cx_framework.analysis import Analysis
    from cx_framework.conflicts.explain import EVIDENCE_COLUMNS

    at = AppTest.from_file(str(APPS / "views" / "conflicts.py"), default_timeout=300).run()
    assert not at.exception
    frames = [d.value for d in at.dataframe]
    # each set of conflict rows is shown as two tables (what it does; the path behind it): join them back
    scheme_parts = [f for f in frames if "Bonus component" in f.columns]
    dept_parts = [f for f in frames if "Objective" in f.columns]
    assert len(scheme_parts) == 2 and len(dept_parts) == 2
    scheme_table = pd.concat(scheme_parts, axis=1)
    dept_table = pd.concat(dept_parts, axis=1)
    for table in (scheme_table, dept_table):
        for column in EVIDENCE_COLUMNS:
            assert column in table.columns
        assert not table[EVIDENCE_COLUMNS[0]].str.startswith("not").any()
        assert (
            table[EVIDENCE_COLUMNS[2]].str.contains(r"\[(?:supported|contradicted|not identifiable)\]").all()
        )
    # the tiles count the certain conflicts of the Analysis' evidence section
    ci = Analysis.from_sample(REPO / "configs").result("evidence").conflicts
    certain = ci[ci["status"].eq("certain conflict")].groupby("scheme").size()
    deltas = {m.label: m.delta for m in at.metric if m.delta}
    cfg = load_config(REPO / "configs")
    for sid, scheme in cfg.schemes.items():
        assert deltas[scheme.name] == f"{int(certain.get(sid, 0))} certain under the evidence"


def _sample_analysis():
    from cx_framework.analysis import Analysis

    return Analysis.from_sample(REPO / "configs")


@pytest.mark.slow
def test_configured_vs_estimated_tab_shows_the_library_comparison():
    """Issue 17 deliverable 4 on the page: the side-by-side tab shows the evidence_comparison section, and the
    toggle on the first tab re-draws the conflicts on the estimated graph."""
    at = AppTest.from_file(str(APPS / "views" / "conflicts.py"), default_timeout=600).run()
    assert not at.exception
    if any(b.key == "cf_compare" for b in at.button):  # not computed yet in this cache: ask for it
        at = at.button(key="cf_compare").click().run()
    assert not at.exception, [e.value for e in at.exception]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        comp = _sample_analysis().result("evidence_comparison")
    c = comp.conflicts
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Bonus conflicts that change on the estimated graph"] == str(
        int((c["change"] != "unchanged").sum())
    )
    assert "Recommended actions that change on the estimated graph" in metrics
    scheme = at.selectbox(key="cf_cmp_scheme").value
    expected = c[
        c["scheme"].eq(scheme) & (c["conflict"] | c["estimated_conflict"]) & (c["change"] != "unchanged")
    ]
    table = next(d.value for d in at.dataframe if "Estimated: total effect" in d.value.columns)
    assert len(table) == len(expected)
    assert sorted(table["Estimated: total effect"].round(9)) == sorted(
        expected["estimated_total_effect"].round(9)
    )
    assert sorted(table["Configured: total effect"].round(9)) == sorted(expected["total_effect"].round(9))
    as_text = expected["estimated_rank"].map(lambda v: "–" if pd.isna(v) else str(int(v)))
    assert sorted(table["Estimated: rank"]) == sorted(as_text)  # no conflict on that graph: "–"
    assert table.iloc[:, -1].str.len().gt(0).all()  # every difference names its edges
    actions = next(d.value for d in at.dataframe if "Rank (estimated)" in d.value.columns)
    assert len(actions) >= 1
    behaviour = next(d.value for d in at.dataframe if "95 % low" in d.value.columns)
    assert (behaviour["95 % low"] <= behaviour["95 % high"]).all()
    assert any("associations under the graph's assumptions" in i.value for i in at.info)
    assert any("keep their configured" in x.value for x in at.caption)

    # the toggle on the first tab: the scheme tiles count the estimated graph's conflicts
    at = at.toggle(key="cf_estimated").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    est = comp.estimated_matrix
    cfg = load_config(REPO / "configs")
    tiles = {m.label: m.value for m in at.metric}
    for sid, sch in cfg.schemes.items():
        assert tiles[sch.name] == f"{int(est[est['scheme'].eq(sid)]['conflict'].sum())} conflicts"


@pytest.mark.slow
def test_hr_page_shows_the_behaviour_value_interval():
    at = AppTest.from_file(str(APPS / "views" / "incentives.py"), default_timeout=600).run()
    assert not at.exception
    if any(b.key == "hr_interval" for b in at.button):  # not computed yet in this cache: ask for it
        at = at.button(key="hr_interval").click().run()
    assert not at.exception, [e.value for e in at.exception]
    caption = next(c.value for c in at.caption if "95 % interval" in c.value)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        frame = _sample_analysis().result("behaviour_intervals")
    row = frame[frame["scheme"] == "siloed"].iloc[0]
    money = f"{abs(row['net_value_low']):,.0f}"
    assert money in caption and ("certain" in caption)
