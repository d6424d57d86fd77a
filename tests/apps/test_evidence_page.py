"""Conflicts page, "Evidence behind the graph" tab: the library's verdict counts, the edge table and the conflict
intervals are shown, and choosing another edge re-renders its scatter."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

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
    assert metrics["Edges supported by history"] == str(counts["supported"])
    assert metrics["Edges contradicted"] == str(counts["contradicted"])
    assert metrics["Edges history cannot test"] == str(counts["not identifiable"])
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
