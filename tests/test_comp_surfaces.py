"""Compensation on every surface (issue 16): the retention clawback is the same amount in the Analysis, ``cx
payouts``, ``cx statements``, the report's HR workbook and the app's modeller; and nobody outside HR (a manager:
their teams) can read individual pay from the CLI exports, statements, workbook or the report."""

from __future__ import annotations

import html
import json
import re
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _cli import split_runner

from cx_framework.access import AccessError, Viewer, hash_password
from cx_framework.analysis import Analysis
from cx_framework.cli import app

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
SAMPLE = ROOT / "data" / "sample"
APPS = ROOT / "apps"
runner = split_runner()


@pytest.fixture(scope="module")
def analysis():
    return Analysis.from_sample(CONFIGS)


@pytest.fixture(scope="module")
def reference(analysis):
    """The Analysis' sales_retention payouts: the one computation every surface must show."""
    frame = analysis.result("payouts").payouts["sales_retention"]
    return frame, frame.attrs["clawback"]


def _money(value: float) -> str:
    return f"GBP {float(value):,.2f}"


def test_the_analysis_applies_the_retention_clawback(reference):
    frame, stats = reference
    assert isinstance(stats, dict), stats  # not "not applied: no sales table"
    assert stats["reversed_sales"] > 0 and stats["clawback_total"] > 0
    # every charged clawback is recovered from pay or still owed: nothing forgiven (withheld months included)
    last = frame.sort_values("period").groupby("employee_id").tail(1)
    assert frame["clawback"].sum() == pytest.approx(stats["clawback_charged"], rel=1e-12)
    assert np.nansum(frame["clawback_recovered"]) + last["clawback_balance"].sum() == pytest.approx(
        frame["clawback"].sum(), rel=1e-12
    )


def test_cx_payouts_shows_the_same_clawback(reference, tmp_path):
    frame, stats = reference
    out = tmp_path / "payouts.csv"
    result = runner.invoke(
        app,
        [
            "payouts",
            str(SAMPLE),
            "--scheme",
            "sales_retention",
            "--configs",
            str(CONFIGS),
            "--json",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["clawback"]["clawback_total"] == pytest.approx(stats["clawback_total"], rel=1e-12)
    assert doc["clawback"]["reversed_sales"] == stats["reversed_sales"]
    written = pd.read_csv(out)
    assert written["clawback"].sum() == pytest.approx(frame["clawback"].round(2).sum(), abs=1e-6)
    # an edited copy of the scheme (a .yaml path: not the configured one) is computed with the same sales
    edited = tmp_path / "edited.yaml"
    shutil.copy(CONFIGS / "incentives" / "sales_retention.yaml", edited)
    text = runner.invoke(
        app, ["payouts", str(SAMPLE), "--scheme", str(edited), "--configs", str(CONFIGS), "--no-cache"]
    )
    assert text.exit_code == 0, text.output
    assert f"{stats['reversed_sales']:,} credited sale(s) reversed" in text.stdout


def test_statements_show_the_same_clawback(reference, tmp_path):
    frame, _ = reference
    charged = frame[frame["clawback"] > 0.5].sort_values("clawback", ascending=False).iloc[0]
    period = f"{charged['period']:%Y-%m}"
    out = tmp_path / "statements"
    result = runner.invoke(
        app,
        [
            "statements",
            str(SAMPLE),
            "--scheme",
            "sales_retention",
            "--period",
            period,
            "--out",
            str(out),
            "--configs",
            str(CONFIGS),
        ],
    )
    assert result.exit_code == 0, result.output
    page = html.unescape((out / f"{charged['employee_id']}_{period}.html").read_text(encoding="utf-8"))
    charged_line = re.search(r"Clawbacks charged[^<]*</td><td>([^<]+)</td>", page)
    recovered_line = re.search(r"Clawbacks recovered from this period</td><td>([^<]+)</td>", page)
    paid_line = re.search(r"Paid for the period</td><td>([^<]+)</td>", page)
    assert charged_line and charged_line.group(1) == _money(charged["clawback"])
    assert recovered_line and recovered_line.group(1) == _money(charged["clawback_recovered"])
    assert paid_line and paid_line.group(1) == _money(charged["payout"])


def test_the_app_modeller_shows_the_same_clawback(reference, monkeypatch):
    from streamlit.testing.v1 import AppTest

    _, stats = reference
    for var in ("CX_DATA_DIR", "CX_CONFIG_DIR", "CX_ACCESS_FILE"):
        monkeypatch.delenv(var, raising=False)
    if str(APPS) not in sys.path:
        sys.path.insert(0, str(APPS))
    at = AppTest.from_file(str(APPS / "views" / "incentives.py"), default_timeout=300)
    at.session_state["hr_start"] = "sales_retention"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["Credited sales reversed"] == f"{stats['reversed_sales']:,}"
    assert tiles["Pay clawed back"] == f"GBP {stats['clawback_total']:,.0f}"


# ------------------------------------------------------------------------------------------------ access
@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    """A copy of the configs with an access.yaml: hr, leadership, a manager of cc_north, an analyst."""
    configs = tmp_path_factory.mktemp("secured") / "configs"
    shutil.copytree(CONFIGS, configs)
    users = [
        ("hr", "hr", ""),
        ("lead", "leadership", ""),
        ("mo", "manager", ", teams: [inbound_sales]"),
        ("ana", "analyst", ""),
    ]
    lines = ["users:"]
    for user, role, extra in users:
        lines.append(
            f"  - {{user: {user}, role: {role}{extra}, password_hash: '{hash_password(user + '-pass')}'}}"
        )
    lines.append(f"denied_log: {configs / 'denied.jsonl'}")
    (configs / "access.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return configs


def _as(monkeypatch, user: str | None) -> None:
    monkeypatch.delenv("CX_ACCESS_FILE", raising=False)
    if user is None:
        monkeypatch.delenv("CX_USER", raising=False)
        monkeypatch.delenv("CX_PASSWORD", raising=False)
    else:
        monkeypatch.setenv("CX_USER", user)
        monkeypatch.setenv("CX_PASSWORD", user + "-pass")


@pytest.mark.parametrize("user", ["lead", "ana", None])
def test_cli_per_employee_exports_refuse_everyone_outside_hr(secured, monkeypatch, tmp_path, user):
    _as(monkeypatch, user)
    attempts = {
        "payouts --out": ["payouts", str(SAMPLE), "--scheme", "siloed", "--out", str(tmp_path / "p.csv")],
        "payouts --xlsx": ["payouts", str(SAMPLE), "--scheme", "siloed", "--xlsx", str(tmp_path / "p.xlsx")],
        "report --xlsx": [
            "report",
            str(SAMPLE),
            "--out",
            str(tmp_path / "r.html"),
            "--xlsx",
            str(tmp_path / "r.xlsx"),
        ],
        "statements": [
            "statements",
            str(SAMPLE),
            "--scheme",
            "siloed",
            "--period",
            "2025-11",
            "--out",
            str(tmp_path / "st"),
        ],
    }
    for name, args in attempts.items():
        result = runner.invoke(app, [*args, "--configs", str(secured)], input="wrong\n")
        text = result.stdout + result.stderr  # the refusal is on stderr (apart from stdout on every click)
        assert result.exit_code == 2, (name, text)
        if user is None:
            assert "access control is on" in text, (name, text)
        else:
            assert "may not see individual pay" in text, (name, text)
    assert not any(tmp_path.iterdir())  # nothing written, not even the report (refused before any work)
    if user is not None:
        log = [json.loads(line) for line in (secured / "denied.jsonl").read_text().splitlines()]
        assert any(r["user"] == user and r["decision"] == "denied" for r in log)


def test_cli_aggregates_stay_open_to_leadership(secured, monkeypatch):
    _as(monkeypatch, "lead")
    result = runner.invoke(
        app, ["payouts", str(SAMPLE), "--scheme", "siloed", "--configs", str(secured), "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert {"period", "employees", "payout"} <= set(doc["periods"][0])  # one row per period, no employee ids
    assert "employee_id" not in json.dumps(doc["periods"])


def test_hr_exports_everyone_and_a_manager_only_their_team(secured, monkeypatch, tmp_path, analysis):
    frame = analysis.result("payouts").payouts["sales_retention"]
    _as(monkeypatch, "hr")
    hr_out = tmp_path / "hr.csv"
    result = runner.invoke(
        app,
        [
            "payouts",
            str(SAMPLE),
            "--scheme",
            "sales_retention",
            "--configs",
            str(secured),
            "--out",
            str(hr_out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(hr_out)) == len(frame)
    _as(monkeypatch, "mo")
    mo_out = tmp_path / "mo.csv"
    result = runner.invoke(
        app,
        [
            "payouts",
            str(SAMPLE),
            "--scheme",
            "sales_retention",
            "--configs",
            str(secured),
            "--out",
            str(mo_out),
        ],
    )
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(mo_out)
    assert len(rows) == int(frame["team"].eq("inbound_sales").sum()) > 0
    assert set(rows["team"]) == {"inbound_sales"}


def test_payout_workbook_is_refused_or_cut_where_it_reads_the_pay(analysis, tmp_path):
    from openpyxl import load_workbook

    from cx_framework.report import build_payout_workbook

    payouts = {"sales_retention": analysis.result("payouts").payouts["sales_retention"]}
    for role in ("leadership", "analyst"):
        with pytest.raises(AccessError, match="may not see individual pay"):
            build_payout_workbook(payouts, tmp_path / f"{role}.xlsx", viewer=Viewer(user="x", role=role))
        assert not (tmp_path / f"{role}.xlsx").exists()
    path = build_payout_workbook(
        payouts, tmp_path / "mo.xlsx", viewer=Viewer(user="mo", role="manager", teams=("inbound_sales",))
    )
    sheet = load_workbook(path, read_only=True)["sales_retention"]
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    teams = {row[header.index("team")] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert teams == {"inbound_sales"}


def test_statements_for_a_manager_cover_only_their_team(secured, monkeypatch, tmp_path, analysis):
    frame = analysis.result("payouts").payouts["sales_retention"]
    _as(monkeypatch, "mo")
    out = tmp_path / "st"
    result = runner.invoke(
        app,
        [
            "statements",
            str(SAMPLE),
            "--scheme",
            "sales_retention",
            "--period",
            "2025-11",
            "--out",
            str(out),
            "--configs",
            str(secured),
        ],
    )
    assert result.exit_code == 0, result.output
    month = frame[frame["period"].eq(pd.Timestamp("2025-11-01"))]
    expected = {f"{e}_2025-11.html" for e in month.loc[month["team"].eq("inbound_sales"), "employee_id"]}
    assert {p.name for p in out.iterdir()} == expected and expected


@pytest.mark.slow
def test_the_leadership_report_holds_no_individual_pay(tmp_path, analysis):
    """The HTML report is for leadership: aggregates only — no employee id, salary or individual payout."""
    from cx_framework.report import build_report

    tables = analysis.tables
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = build_report(tables, analysis.config, tmp_path / "r.html", analysis=analysis)
    text = path.read_text(encoding="utf-8")
    employees = tables["employees"]
    leaked = [e for e in employees["employee_id"] if re.search(rf"\b{re.escape(e)}\b", text)]
    assert not leaked, leaked[:5]
    for salary in employees["base_salary"].head(200):
        assert f"{salary:,.2f}" not in text and f"{salary:.2f}" not in text
    frame = analysis.result("payouts").payouts["sales_retention"]
    for value in frame["payout"].dropna().round(2).head(200):
        if value > 1000:  # distinctive individual amounts
            assert f"{value:,.2f}" not in text
