"""build_report (offline HTML, every section with a figure, rendered in headless Chromium), build_payout_workbook
(sums match compute_payouts, formatting) and export safety (formula injection, pseudonymised customer ids)."""

from __future__ import annotations

import csv
import dataclasses
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cx_framework.errors import InputValueError, StatisticalWarning
from cx_framework.report import (
    SECTIONS,
    build_payout_workbook,
    build_report,
    export_table,
    offline_plotlyjs,
    pseudonymise_customer_ids,
)

ARTIFACTS = Path(__file__).resolve().parent / "apps" / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
INJECTION = '=HYPERLINK("http://x","y")'
KEY = b"test-key-0123456789"


@pytest.fixture(scope="module")
def plan(sample_org, config):
    from cx_framework.actions import recommend_actions

    return recommend_actions(sample_org, config, top=10)


@pytest.fixture(scope="module")
def report(plan, sample_org, config, tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "report.html"
    build_report(sample_org, config, path, plan=plan, id_key=KEY)
    return path


def _sections(text: str) -> dict[str, str]:
    found = dict(re.findall(r"<section id='([a-z_]+)'>(.*?)</section>", text, flags=re.S))
    return found


# ------------------------------------------------------------------------------------------------ HTML content
def test_every_section_has_heading_and_a_figure(report):
    text = report.read_text(encoding="utf-8")
    sections = _sections(text)
    assert list(sections) == list(SECTIONS)
    for key, heading in SECTIONS.items():
        body = sections[key]
        assert f"<h2>{heading}</h2>" in body
        if key in ("figures", "assumptions"):  # tables of the Analysis (tests/test_one_truth.py checks them)
            continue
        assert body.count('class="plotly-graph-div"') >= 1, key
        assert "Not available" not in body, key
    # the executive summary lists the top actions with their values
    assert "Fix Billing failure demand at source" in sections["summary"]
    assert "Average handle time bonus" in sections["summary"]
    # each value split into its parts, and the sign convention stated with the conflicts
    assert "Made of (per year)" in sections["summary"]
    assert "per 1 % rise of the metric" in sections["incentives"]


def test_plotlyjs_inline_exactly_once_and_no_external_urls(report):
    text = report.read_text(encoding="utf-8")
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", text, flags=re.S)
    big = [s for s in scripts if len(s) > 1_000_000]
    assert len(big) == 1  # plotly.js, inline, once
    small = "".join(s for s in scripts if len(s) <= 1_000_000)  # plotly.js itself mentions newPlot (5.x)
    assert small.count("Plotly.newPlot(") == text.count('class="plotly-graph-div"') >= len(SECTIONS)
    assert "<script src" not in text and "<link" not in text
    assert "cdn.plot.ly" not in text and "cdn.jsdelivr" not in text
    # only XML namespace names remain (never fetched); every other absolute URL is gone
    urls = set(re.findall(r"https?://[^\s\"'<>)]*", text, flags=re.I))
    assert urls <= {
        "http://www.w3.org/2000/svg",
        "http://www.w3.org/1999/xlink",
        "http://www.w3.org/2000/xmlns/",
        "http://www.w3.org/1999/xhtml",
        "http://www.w3.org/XML/1998/namespace",
    }, urls
    # protocol-relative URLs would fetch too
    assert not re.search(r"""["'(]//[a-z0-9-]+\.[a-z]""", text, flags=re.I)


def test_offline_rewrite_keeps_namespaces():
    js = 'a="http://www.w3.org/2000/svg";b="https://api.mapbox.com/x";c="HTTP://Example.org"'
    assert offline_plotlyjs(js) == 'a="http://www.w3.org/2000/svg";b="about:blank/x";c="about:blank"'


def test_customer_ids_pseudonymised_unless_kept(report, plan, sample_org, config, tmp_path):
    from cx_framework.io import pseudonymise_ids

    text = _sections(report.read_text(encoding="utf-8"))["failure_demand"]
    raw = set(sample_org.customers["customer_id"].astype(str))
    hashed = set(pseudonymise_ids(sample_org.customers["customer_id"], KEY))
    cells = set(re.findall(r"<td>([^<]+)</td>", text))
    assert not cells & raw
    assert len(cells & hashed) == 10  # the ten longest repeat chains, by keyed hash
    kept = tmp_path / "kept.html"
    build_report(sample_org, config, kept, plan=plan, keep_ids=True)
    cells = set(
        re.findall(r"<td>([^<]+)</td>", _sections(kept.read_text(encoding="utf-8"))["failure_demand"])
    )
    assert len(cells & raw) == 10


def test_missing_engine_sections_say_not_available(plan, sample_org, config, tmp_path):
    results = {k: v for k, v in plan.results.items() if k not in ("service_level", "retention", "budget_gap")}
    unavailable = {
        "retention": "ModelError: no churn events",
        "service_level": "engine module cx_framework.economics is not available in this installation",
        "budget_gap": "DataValidationError: no intervals",
    }
    partial = dataclasses.replace(plan, results=results, unavailable=unavailable)
    path = build_report(sample_org, config, tmp_path / "partial.html", plan=partial)
    sections = _sections(path.read_text(encoding="utf-8"))
    assert "Not available:</strong> retention model — ModelError: no churn events" in sections["retention"]
    assert "Not available:</strong> optimal service level" in sections["retention"]
    assert "Not available:</strong> staffing budget gap" in sections["staffing"]
    # no figure and no numbers invented for them
    assert "plotly-graph-div" not in sections["retention"]
    assert "plotly-graph-div" not in sections["staffing"]
    assert "plotly-graph-div" in sections["failure_demand"]


# ------------------------------------------------------------------------------------------------ browser
@pytest.mark.browser
def test_report_renders_in_headless_chromium(report):
    if not CHROMIUM.exists():
        pytest.skip("chromium not installed at /usr/bin/chromium")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    flags = [
        str(CHROMIUM),
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--virtual-time-budget=15000",
    ]
    subprocess.run(
        [*flags, f"--screenshot={shot}", "--window-size=1400,3000", report.as_uri()],
        check=True,
        capture_output=True,
        timeout=180,
    )
    assert shot.stat().st_size > 50_000  # a rendered page, not a blank one
    dom = subprocess.run(
        [*flags, "--dump-dom", report.as_uri()], check=True, capture_output=True, timeout=180, text=True
    ).stdout
    # plotly drew every figure (each plot gets an svg.main-svg) with the inline library, offline
    n_figures = report.read_text(encoding="utf-8").count('class="plotly-graph-div"')
    assert dom.count('class="main-svg"') >= n_figures
    assert "Executive summary" in dom


# ------------------------------------------------------------------------------------------------ workbook
@pytest.fixture(scope="module")
def payouts(sample_org, config):
    """Payouts of two schemes over the sample's last three months (openpyxl writes ~10k cells/s; keeps this fast)."""
    from cx_framework.incentives import compute_payouts

    em = sample_org.employee_metrics
    recent = em[em["period"] >= em["period"].max() - pd.DateOffset(months=2)]
    return {
        sid: compute_payouts(recent, sample_org.employees, config.schemes[sid], config=config)
        for sid in ("siloed", "shared_customer")
    }


def _sheet_frame(ws) -> pd.DataFrame:
    rows = list(ws.values)
    return pd.DataFrame(rows[1:], columns=rows[0])


def test_workbook_sums_match_compute_payouts(payouts, tmp_path):
    import openpyxl

    from cx_framework.incentives import payout_summary, round_money

    path = build_payout_workbook(payouts, tmp_path / "payouts.xlsx", currency="GBP")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["summary", "siloed", "shared_customer"]
    summary = _sheet_frame(wb["summary"])
    for sid, frame in payouts.items():
        sheet = _sheet_frame(wb[sid])
        assert len(sheet) == len(frame)
        paid = sheet["payout"].dropna().astype(float)
        # cents at output: the sheet holds the rounded rows; their sum is within half a cent per row of the raw sum
        assert paid.sum() == pytest.approx(round_money(frame)["payout"].sum(), abs=1e-6)
        assert abs(paid.sum() - frame["payout"].sum()) <= 0.005 * len(paid)
        total = summary[(summary["scheme"] == sid) & (summary["period"] == "total")].iloc[0]
        assert total["payout"] == pytest.approx(round(payout_summary(frame)["payout"].sum(), 2), abs=0.006)
        periods = summary[(summary["scheme"] == sid) & (summary["period"] != "total")]
        assert len(periods) == frame["period"].nunique() == 3
        ws = wb[sid]
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref == ws.dimensions
        header = [c.value for c in ws[1]]
        col = header.index("payout") + 1
        assert "£" in ws.cell(row=2, column=col).number_format
        assert ws.cell(row=1, column=col).font.bold
    assert wb["summary"].freeze_panes == "A2"


def test_workbook_injection_is_inert_and_sheet_names_safe(payouts, tmp_path):
    import openpyxl

    frame = payouts["siloed"].head(5).copy()
    frame["withheld_reason"] = [INJECTION, "+1", "-2", "@SUM(A1)", "ok"]
    path = build_payout_workbook(
        {"a/very:long*scheme?name[that]exceeds_excel_limit": frame, "siloed": frame}, tmp_path / "p.xlsx"
    )
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[1] == "a_very_long_scheme_name_that_ex"  # 31 characters, no []:*?/\
    ws = wb[wb.sheetnames[1]]
    col = [c.value for c in ws[1]].index("withheld_reason") + 1
    cells = [ws.cell(row=r, column=col) for r in range(2, 7)]
    assert [c.value for c in cells] == ["'" + INJECTION, "'+1", "'-2", "'@SUM(A1)", "ok"]
    assert all(c.data_type == "s" for c in cells)  # text, never a formula
    # numbers stay numbers (a negative payout would not be quoted)
    pay = [c.value for c in ws[1]].index("payout") + 1
    assert isinstance(ws.cell(row=2, column=pay).value, float | int)


def test_workbook_bad_input(payouts, tmp_path):
    with pytest.raises(InputValueError, match="xlsx"):
        build_payout_workbook(payouts, tmp_path / "p.csv")
    with pytest.raises(InputValueError, match="non-empty"):
        build_payout_workbook({}, tmp_path / "p.xlsx")
    with pytest.raises(InputValueError, match="siloed"):
        build_payout_workbook({"siloed": pd.DataFrame({"x": [1]})}, tmp_path / "p.xlsx")
    assert not list(tmp_path.iterdir())  # nothing half-written


# ------------------------------------------------------------------------------------------------ CSV / exports
def test_csv_export_from_contacts_is_inert_and_pseudonymised(sample_org, config, tmp_path):
    from cx_framework.failure_demand import attribute_failure_demand
    from cx_framework.io import pseudonymise_ids

    contacts = sample_org.contacts.head(200).copy()
    contacts["reason"] = contacts["reason"].astype(object)
    contacts.loc[contacts.index[:3], "reason"] = INJECTION
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)  # the injected reason is not in the reason map
        fd = attribute_failure_demand(contacts, config, economics=config.economics)
    path = export_table(fd.classification, tmp_path / "classification.csv", id_key=KEY)
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    injected = [r for r in rows if INJECTION in r["reason"]]
    assert len(injected) == 3
    assert all(r["reason"] == "'" + INJECTION for r in injected)
    assert not any(v.startswith(("=", "+", "@")) for r in rows for v in r.values())
    expected = pseudonymise_ids(fd.classification["customer_id"], KEY).tolist()
    assert [r["customer_id"] for r in rows] == expected
    assert not set(expected) & set(contacts["customer_id"].astype(str))
    kept = export_table(fd.classification, tmp_path / "kept.csv", keep_ids=True)
    assert (
        pd.read_csv(kept, dtype=str)["customer_id"].tolist()
        == fd.classification["customer_id"].astype(str).tolist()
    )


def test_xlsx_export_and_evidence_dicts(plan, tmp_path):
    import openpyxl

    frame = plan.actions.copy()
    frame.loc[0, "title"] = INJECTION
    path = export_table(frame, tmp_path / "actions.xlsx")
    ws = openpyxl.load_workbook(path).active
    header = [c.value for c in ws[1]]
    title = ws.cell(row=2, column=header.index("title") + 1)
    assert title.value == "'" + INJECTION and title.data_type == "s"
    evidence = ws.cell(row=2, column=header.index("evidence") + 1).value
    assert isinstance(evidence, str) and evidence.startswith("{'")  # the dict, as text
    assert ws.freeze_panes == "A2"


def test_pseudonymise_is_keyed_and_stable():
    frame = pd.DataFrame(
        {"customer_id": ["C1", "C2", "C1", None], "other_customer_id": ["C2", "C1", "C3", "C1"]}
    )
    a = pseudonymise_customer_ids(frame, id_key=KEY)
    b = pseudonymise_customer_ids(frame, id_key=KEY)
    c = pseudonymise_customer_ids(frame, id_key=b"another-key")
    pd.testing.assert_frame_equal(a, b)
    assert a.loc[0, "customer_id"] == a.loc[2, "customer_id"] == a.loc[1, "other_customer_id"]
    assert a.loc[0, "customer_id"] != c.loc[0, "customer_id"]
    assert pd.isna(a.loc[3, "customer_id"])
    assert pseudonymise_customer_ids(frame, keep_ids=True) is frame
    with pytest.raises(InputValueError, match="id_key"):
        pseudonymise_customer_ids(frame, id_key=b"")


def test_export_bad_suffix_and_type(tmp_path):
    with pytest.raises(InputValueError, match=r"\.csv or \.xlsx"):
        export_table(pd.DataFrame({"a": [1]}), tmp_path / "x.json")
    with pytest.raises(InputValueError, match="DataFrame"):
        export_table([1, 2], tmp_path / "x.csv")


def test_report_is_written_atomically_over_an_old_file(plan, sample_org, config, tmp_path):
    target = tmp_path / "r.html"
    target.write_text("old")
    build_report(sample_org, config, target, plan=plan)
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]  # no temp file left behind
    assert np.isfinite(target.stat().st_size)


def test_chromium_artifact_dir_is_gitignored():
    # screenshots must never be committed
    ignored = subprocess.run(
        ["git", "check-ignore", str(ARTIFACTS / "report.png")],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    if shutil.which("git") is None:
        pytest.skip("git not available")
    assert ignored.returncode == 0


def test_incentive_section_carries_the_evidence_intervals(report):
    body = _sections(report.read_text(encoding="utf-8"))["incentives"]
    assert "Evidence behind the conflicts" in body
    assert "95 % interval" in body and "P(conflict)" in body
    assert "not proven causal" in body
