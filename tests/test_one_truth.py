"""One version of the truth: every figure id that two surfaces show (CLI --json, the HTML report, the app) has the
same value and label, and changing ``assumptions.current_scheme`` changes every surface alike."""

from __future__ import annotations

import html
import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from _cli import split_runner

from cx_framework.cli import app

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
SAMPLE = ROOT / "data" / "sample"
APPS = ROOT / "apps"
runner = split_runner()

#: every analysis command on the sample, with its --json arguments
COMMANDS = {
    "score": ["score", str(SAMPLE)],
    "payouts": ["payouts", str(SAMPLE), "--scheme", "siloed"],
    "compare-schemes": ["compare-schemes", str(SAMPLE)],
    "conflicts": ["conflicts", str(SAMPLE)],
    "sla-chain": ["sla-chain", "--data", str(SAMPLE)],
    "staffing": ["staffing", str(SAMPLE)],
    "retention": ["retention", str(SAMPLE)],
    "failure-demand": ["failure-demand", str(SAMPLE)],
    "actions": ["actions", str(SAMPLE)],
    "graph-evidence": ["graph-evidence", str(SAMPLE)],
}

#: the evidence headline figures (issue 17): registered once, read from the Analysis by every surface
EVIDENCE_IDS = (
    "evidence.edges_supported",
    "evidence.edges_contradicted",
    "evidence.edges_not_identifiable",
    "evidence.certain_conflicts",
    "evidence.candidate_associations",
)


def _json(args: list[str], configs: Path = CONFIGS) -> dict:
    result = runner.invoke(app, [*args, "--configs", str(configs), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # stdout holds nothing but the JSON document


def _report_figures(path: Path) -> dict[str, tuple[str, str]]:
    text = path.read_text(encoding="utf-8")
    rows = re.findall(r"<tr data-figure-id='([^']+)' data-value='([^']*)'><td>([^<]*)</td>", text)
    return {html.unescape(i): (html.unescape(label), html.unescape(value)) for i, value, label in rows}


@pytest.fixture(scope="module")
def surfaces(tmp_path_factory):
    out = {name: _json(args) for name, args in COMMANDS.items()}
    report = tmp_path_factory.mktemp("report") / "report.html"
    out["report"] = _json(["report", str(SAMPLE), "--out", str(report)])
    out["_report_html"] = _report_figures(report)
    out["_report_text"] = report.read_text(encoding="utf-8")
    return out


@pytest.mark.slow
def test_every_command_prints_the_json_contract(surfaces):
    for name in [*COMMANDS, "report"]:
        doc = surfaces[name]
        assert doc["figures"], name
        for f in doc["figures"]:
            assert set(f) >= {"id", "label", "value", "unit", "period", "definition"}, (name, f)
        assert doc["assumptions"]["current_scheme"] == "siloed"
        assert doc["assumptions"]["as_of"] == "2025-11"


@pytest.mark.slow
def test_a_figure_shown_by_two_commands_has_one_value_and_one_label(surfaces):
    seen: dict[str, tuple[str, object, str]] = {}
    shared = 0
    for name in [*COMMANDS, "report"]:
        for f in surfaces[name]["figures"]:
            if f["id"] in seen:
                shared += 1
                label, value, first = seen[f["id"]]
                assert (f["label"], f["value"]) == (label, value), (f["id"], first, name)
            else:
                seen[f["id"]] = (f["label"], f["value"], name)
    assert shared >= len(seen)  # the report repeats every figure of every command
    labels = [label for label, _, _ in seen.values()]
    assert len(labels) == len(set(labels))  # distinct quantities, distinct labels


@pytest.mark.slow
def test_the_html_report_shows_the_same_figures(surfaces):
    shown = surfaces["_report_html"]
    figures = {f["id"]: f for f in surfaces["report"]["figures"]}
    assert set(shown) == set(figures)
    for fid, (label, value) in shown.items():
        assert label == figures[fid]["label"]
        expected = figures[fid]["value"]
        if isinstance(expected, float):
            assert float(value) == pytest.approx(expected, rel=1e-12), fid
        else:
            assert value == ("" if expected is None else str(expected)), fid


@pytest.mark.slow
def test_the_app_shows_the_same_figures(surfaces, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.delenv("CX_DATA_DIR", raising=False)
    monkeypatch.delenv("CX_CONFIG_DIR", raising=False)
    if str(APPS) not in sys.path:
        sys.path.insert(0, str(APPS))
    at = AppTest.from_file(str(APPS / "views" / "overview.py"), default_timeout=300).run()
    assert not at.exception, [e.value for e in at.exception]
    by_label = {f["label"]: f for f in surfaces["report"]["figures"]}
    matched = 0
    for m in at.metric:
        if m.label in by_label:
            assert m.value == by_label[m.label]["formatted"], m.label
            matched += 1
    assert matched >= 6  # the staffing reconciliation tiles at least


@pytest.mark.slow
def test_the_staffing_page_reconciliation_is_the_cli_figures(surfaces, monkeypatch):
    """The Staffing page's reconciliation tiles (realised service level, schedule mismatch) are `cx staffing`'s
    figures, with the registry's labels; none is left blank on the sample (it has actual staffing)."""
    from streamlit.testing.v1 import AppTest

    from cx_framework import figures as F

    monkeypatch.delenv("CX_DATA_DIR", raising=False)
    monkeypatch.delenv("CX_CONFIG_DIR", raising=False)
    if str(APPS) not in sys.path:
        sys.path.insert(0, str(APPS))
    at = AppTest.from_file(str(APPS / "views" / "staffing.py"), default_timeout=300).run()
    assert not at.exception, [e.value for e in at.exception]
    tiles = [(m.label, m.value) for m in at.metric]
    by_label = {f["label"]: f["formatted"] for f in surfaces["staffing"]["figures"]}
    for spec in (F.REALISED_SL, F.SCHEDULE_MISMATCH):
        assert (spec.label, by_label[spec.label]) in tiles, (spec.label, tiles)
    assert "—" not in [value for _, value in tiles[:4]]


@pytest.mark.slow
def test_changing_the_scheme_in_force_changes_every_surface(tmp_path, monkeypatch):
    configs = tmp_path / "configs"
    shutil.copytree(CONFIGS, configs)
    text = (configs / "assumptions.yaml").read_text(encoding="utf-8")
    (configs / "assumptions.yaml").write_text(
        text.replace("current_scheme: siloed", "current_scheme: balanced"), encoding="utf-8"
    )
    cmp = _json(COMMANDS["compare-schemes"], configs)
    assert cmp["baseline"] == "balanced" and cmp["assumptions"]["current_scheme"] == "balanced"
    ids = {f["id"] for f in cmp["figures"]}
    assert "payouts.vs_current.siloed" in ids and "payouts.vs_current.balanced" not in ids

    report = tmp_path / "report.html"
    doc = _json(["report", str(SAMPLE), "--out", str(report)], configs)
    assert doc["assumptions"]["current_scheme"] == "balanced"
    assert "Scheme in force: balanced" in report.read_text(encoding="utf-8")
    assert "payouts.vs_current.siloed" in _report_figures(report)

    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CX_CONFIG_DIR", str(configs))
    monkeypatch.delenv("CX_DATA_DIR", raising=False)
    if str(APPS) not in sys.path:
        sys.path.insert(0, str(APPS))
    at = AppTest.from_file(str(APPS / "views" / "incentives.py"), default_timeout=300).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="hr_current").value == "balanced"


@pytest.mark.slow
def test_the_evidence_figures_are_one_truth_on_every_surface(surfaces, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from cx_framework.analysis import figure_spec

    cli = {f["id"]: f for f in surfaces["graph-evidence"]["figures"]}
    report = {f["id"]: f for f in surfaces["report"]["figures"]}
    html_rows = surfaces["_report_html"]
    for fid in EVIDENCE_IDS:
        spec = figure_spec(fid)
        assert cli[fid]["label"] == report[fid]["label"] == spec.label == html_rows[fid][0]
        assert cli[fid]["value"] == report[fid]["value"] == int(html_rows[fid][1])
    # cx conflicts shows the certain-conflict count of the same evidence
    conflicts = {f["id"]: f for f in surfaces["conflicts"]["figures"]}
    assert conflicts["evidence.certain_conflicts"]["value"] == cli["evidence.certain_conflicts"]["value"]

    monkeypatch.delenv("CX_DATA_DIR", raising=False)
    monkeypatch.delenv("CX_CONFIG_DIR", raising=False)
    if str(APPS) not in sys.path:
        sys.path.insert(0, str(APPS))
    at = AppTest.from_file(str(APPS / "views" / "conflicts.py"), default_timeout=300).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = {m.label: m.value for m in at.metric}
    for fid in EVIDENCE_IDS:
        assert shown[cli[fid]["label"]] == cli[fid]["formatted"], fid


@pytest.mark.slow
def test_every_reported_conflict_carries_its_interval_and_path_evidence(surfaces):
    """Issue 17 "done when": cx conflicts --json, cx graph-evidence and the report agree per conflict."""
    doc = surfaces["conflicts"]
    assert doc["evidence_unavailable"] is None
    ev = {(c["scheme"], c["component"], c["kpi"]): c for c in surfaces["graph-evidence"]["conflicts"]}
    assert doc["conflicts"]
    for c in doc["conflicts"]:
        assert c["conflict"]
        assert 0 <= c["severity_low"] <= c["severity_high"], c
        assert c["status"] in {"certain conflict", "possible conflict", "no conflict"}
        assert c["path_evidence"].count(":") == c["path"].count("→"), c  # one verdict per edge on the path
        other = ev[(c["scheme"], c["component"], c["kpi"])]
        assert (other["severity_low"], other["severity_high"], other["status"]) == (
            c["severity_low"],
            c["severity_high"],
            c["status"],
        )
    assert all(c["severity_low"] is not None for c in doc["department_conflicts"])
    # the report's conflict table carries the same columns (header names from conflicts.explain)
    from cx_framework.conflicts.explain import EVIDENCE_COLUMNS

    text = html.unescape(surfaces["_report_text"])
    for column in EVIDENCE_COLUMNS:
        assert column in text
    worst = max(doc["conflicts"], key=lambda c: c["severity"])
    # three significant digits, never 1.91e-05 (conflicts.explain._plain)
    plain = [
        np.format_float_positional(worst[k], precision=3, unique=False, fractional=False, trim="-")
        for k in ("estimated_severity", "severity_low", "severity_high")
    ]
    assert f"{plain[0]} ({plain[1]} to {plain[2]})" in text
