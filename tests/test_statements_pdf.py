"""PDF payee statements (issue 16 item 3): ``statement_pdf`` / ``cx statements --pdf`` render the same statement
blocks as the HTML, so the PDF's text — read back from its (zlib) content streams, no PDF library needed — holds
exactly the HTML statement's figures; the same access checks; atomic, owner-only files."""

from __future__ import annotations

import html
import re
import stat
import zlib
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

pytest.importorskip("fpdf")

from cx_framework.analysis import Analysis  # noqa: E402
from cx_framework.cli import app  # noqa: E402
from cx_framework.statements import statement_html, statement_pdf  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
SAMPLE = ROOT / "data" / "sample"
PERIOD = "2025-11"
runner = CliRunner()
MONEY = re.compile(r"GBP −?-?[\d,]+\.\d\d")
PERCENT = re.compile(r"\d+\.\d %")


def pdf_lines(data: bytes) -> list[str]:
    """The text of every text object (BT … ET) of a PDF made with the built-in fonts, in page order."""
    assert data.startswith(b"%PDF-")
    lines = []
    for raw in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, flags=re.S):
        try:
            content = zlib.decompress(raw)
        except zlib.error:
            continue  # not a page content stream
        for text_object in re.findall(rb"BT(.*?)ET", content, flags=re.S):
            parts = re.findall(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", text_object)
            if parts:
                text = b"".join(parts)
                text = re.sub(rb"\\([()\\])", rb"\1", text)
                lines.append(text.decode("latin-1"))
    return lines


def _html_text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


@pytest.fixture(scope="module")
def analysis():
    return Analysis.from_sample(CONFIGS)


@pytest.fixture(scope="module")
def charged(analysis):
    """A sales rep's November row with a retention clawback charged, a draw and a cap (sales_retention)."""
    payouts = analysis.result("payouts").payouts["sales_retention"]
    month = payouts[payouts["period"].eq(pd.Timestamp(PERIOD + "-01")) & ~payouts["withheld"]]
    row = month.sort_values("clawback").iloc[-1]
    assert row["clawback"] > 0
    return row.to_dict()


def test_the_pdf_holds_exactly_the_html_statements_figures(analysis, charged):
    config = analysis.config
    scheme, proposed = config.schemes["sales_retention"], config.schemes["balanced"]
    kwargs = {"catalogue": config.metrics, "currency": "GBP", "proposed": (proposed, None)}
    document = statement_pdf(charged, scheme, **kwargs)
    page = _html_text(statement_html(charged, scheme, **kwargs))
    lines = pdf_lines(document)
    text = "\n".join(lines)
    # the same money amounts, each as often, and the same percentages
    assert Counter(MONEY.findall(text)) == Counter(MONEY.findall(page))
    assert Counter(PERCENT.findall(text)) == Counter(PERCENT.findall(page))
    # the figures that matter, next to their labels, as the engine computed them (rounded to cents here only)
    for label, column in (
        ("Paid for the period", "payout"),
        ("Clawbacks charged (customers who churned within the window)", "clawback"),
        ("Clawbacks recovered from this period", "clawback_recovered"),
        ("Draw balance owed", "draw_balance"),
    ):
        at = lines.index(label)
        assert lines[at + 1] == f"GBP {float(charged[column]):,.2f}", label
    assert f"Employee {charged['employee_id']}" in text.replace("\n", " ")
    assert "Pay statement - November 2025" in lines  # the typographic dash written as '-'


def _statements(tmp_path, *extra):
    out = tmp_path / "statements"
    args = ["statements", str(SAMPLE), "--scheme", "sales_retention", "--period", PERIOD]
    return out, runner.invoke(app, [*args, "--out", str(out), "--configs", str(CONFIGS), *extra])


def test_cx_statements_pdf_writes_one_pdf_beside_each_html(tmp_path, analysis, monkeypatch):
    monkeypatch.delenv("CX_ACCESS_FILE", raising=False)
    out, result = _statements(tmp_path, "--pdf")
    assert result.exit_code == 0, result.output
    htmls = sorted(p.stem for p in out.glob("*.html"))
    assert htmls and sorted(p.stem for p in out.glob("*.pdf")) == htmls
    assert {p.suffix for p in out.iterdir()} == {".html", ".pdf"}  # no temporary files left behind
    assert f"(and {len(htmls)} PDF)" in " ".join(result.output.split())
    payouts = analysis.result("payouts").payouts["sales_retention"]
    month = payouts[payouts["period"].eq(pd.Timestamp(PERIOD + "-01")) & ~payouts["withheld"]]
    row = month.sort_values("payout").iloc[-1]
    stem = f"{row['employee_id']}_{PERIOD}"
    lines = pdf_lines((out / f"{stem}.pdf").read_bytes())
    assert lines[lines.index("Paid for the period") + 1] == f"GBP {row['payout']:,.2f}"
    page = _html_text((out / f"{stem}.html").read_text(encoding="utf-8"))
    assert Counter(MONEY.findall("\n".join(lines))) == Counter(MONEY.findall(page))
    assert stat.S_IMODE((out / f"{stem}.pdf").stat().st_mode) == 0o600


def test_cx_statements_pdf_keeps_the_access_check(tmp_path, monkeypatch):
    from cx_framework.access import hash_password

    access = tmp_path / "access.yaml"
    access.write_text(
        f"users:\n  - {{user: lead, role: leadership, password_hash: '{hash_password('p')}'}}\n"
    )
    monkeypatch.setenv("CX_ACCESS_FILE", str(access))
    monkeypatch.setenv("CX_PASSWORD", "p")
    out, result = _statements(tmp_path, "--pdf", "--user", "lead")
    assert result.exit_code == 2 and "may not see individual pay" in " ".join(result.output.split())
    assert not out.exists() or not any(out.iterdir())
