"""Payee statements: one self-contained HTML page per employee and period that explains the pay.

Each statement shows, from the payout frame the engine computed (nothing is recomputed here): the target bonus and
its proration, every component's value (and own value when team-credited), attainment and curve point, weight and
amount; the gates; the cap (and any cap-withheld balance carried forward); clawbacks charged and recovered; the
draw (top-up, recovery, balance); what was earned and what is paid; and, when a proposed scheme is given, what the
same period would pay under it. Money is rounded to cents only here, at output.

PDF: :func:`statement_pdf` (fpdf2, pure Python; the ``pdf`` extra) renders the same :func:`statement_blocks` as the
HTML — one layout, two renderers that cannot drift apart on a figure. ``write_statements(..., pdf=True)`` /
``cx statements --pdf`` writes one PDF beside each HTML statement. The HTML is print-ready too (A4 ``@page``).

Statements expose individual pay: :func:`write_statements` checks the viewer (:func:`cx_framework.access.authorize`
section ``statements``; managers get their teams only).
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from cx_framework.access import Viewer, restrict_payouts
from cx_framework.config.models import MetricCatalogue, Scheme
from cx_framework.errors import InputValueError

__all__ = [
    "StatementLine",
    "Cell",
    "Block",
    "statement_blocks",
    "statement_html",
    "statement_pdf",
    "write_statements",
    "statement_period",
    "statements_archive",
]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1f2933;max-width:860px;margin:2rem auto;
padding:0 1rem}h1{font-size:1.4rem;margin-bottom:.2rem}h2{font-size:1.05rem;margin-top:1.6rem;border-bottom:1px solid
#d9dee3;padding-bottom:.2rem}table{border-collapse:collapse;width:100%;font-size:.92rem}th,td{padding:.35rem .5rem;
border-bottom:1px solid #eef1f4;text-align:right}th:first-child,td:first-child{text-align:left}th{background:#f5f7f9}
.muted{color:#616e7c;font-size:.85rem}.total td{font-weight:600;border-top:2px solid #1f2933}.fail{color:#b42318}
.pass{color:#067647}.box{background:#f5f7f9;padding:.6rem .8rem;border-radius:6px;margin:.6rem 0}
@page{size:A4;margin:14mm}@media print{body{max-width:none;margin:0;font-size:10pt}h2,table{break-inside:avoid}
th,.box{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""


@dataclass(frozen=True)
class StatementLine:
    """One row of the components table."""

    metric: str
    name: str
    weight: float
    value: float
    own_value: float | None
    attainment: float | None
    curve: float
    amount: float


def _money(value: Any, currency: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{currency} {float(value):,.2f}"


def _num(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)) or pd.isna(value):
        return "–"
    return f"{float(value):.{digits}g}"


def _pct(value: Any) -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"{100 * float(value):.1f} %"


def statement_period(
    payouts: pd.DataFrame, period: str | pd.Timestamp, *, quarterly: bool = False
) -> pd.Timestamp:
    """``period`` ("2025-11", a date or Timestamp) as a period start present in ``payouts`` (for a quarterly
    scheme any month of the quarter names it).

    Raises
    ------
    InputValueError
        Not a month, or no payout rows for that period (names the periods available).
    """
    try:
        when = pd.Timestamp(str(period)).to_period("Q" if quarterly else "M").to_timestamp()
    except (ValueError, TypeError):
        raise InputValueError(
            f"--period '{period}' is not a month; write e.g. 2025-11", argument="period"
        ) from None
    periods = pd.DatetimeIndex(payouts["period"].unique()).sort_values()
    if when not in periods:
        span = f"{periods[0]:%Y-%m} to {periods[-1]:%Y-%m}" if len(periods) else "none"
        raise InputValueError(
            f"no payouts for period {period}; periods with payouts: {span}", argument="period"
        )
    return pd.Timestamp(when)


@dataclass(frozen=True)
class Cell:
    """One table cell of a statement: ``text``, an optional smaller ``note`` under it, and a ``tone`` (``""``,
    ``"pass"``, ``"fail"``)."""

    text: str
    note: str = ""
    tone: str = ""


@dataclass(frozen=True)
class Block:
    """One part of a statement, rendered alike as HTML (:func:`statement_html`) and PDF (:func:`statement_pdf`).

    ``kind``: ``title``, ``meta`` (lines), ``box``, ``alert``, ``heading``, ``table`` (``header`` and ``rows``
    of :class:`Cell`; ``total``: the last row is the total) or ``note``. ``text`` may mark bold with ``**``.
    """

    kind: str
    text: str = ""
    lines: tuple[str, ...] = ()
    header: tuple[str, ...] = ()
    rows: tuple[tuple[Cell, ...], ...] = ()
    total: bool = False


def statement_blocks(
    row: Mapping[str, Any],
    scheme: Scheme,
    *,
    catalogue: MetricCatalogue | None = None,
    currency: str = "",
    proposed: tuple[Scheme, Mapping[str, Any] | None] | None = None,
) -> list[Block]:
    """The statement of one payout row as :class:`Block` parts — the one layout the HTML and the PDF render, so
    both show the same figures (arguments as :func:`statement_html`)."""
    from cx_framework.incentives import scheme_for_period

    rules = scheme_for_period(scheme, row["period"])
    names = catalogue.by_id if catalogue is not None else {}
    period = pd.Timestamp(row["period"])
    title = f"{period:%B %Y}" if scheme.period == "month" else f"Q{period.quarter} {period.year}"
    version = (
        f", version from {row['plan_version']}" if str(row.get("plan_version", "base")) != "base" else ""
    )
    blocks = [
        Block("title", f"Pay statement — {title}"),
        Block(
            "meta",
            lines=(
                f"Employee **{row['employee_id']}** · {row.get('role', '')} · team {row.get('team', '')} · "
                f"{row.get('department', '')}",
                f"Scheme **{scheme.name}** ({scheme.id}{version})",
            ),
        ),
    ]
    share = float(row.get("employed_share", 1.0))
    blocks.append(
        Block(
            "box",
            f"Target bonus for the period: **{_money(row['target_bonus'], currency)}** = base salary "
            f"{_money(row['base_salary'], currency)} × {rules.target_bonus_pct:g} % ÷ {scheme.periods_per_year}"
            + (
                f" × {share:.3f} of the period employed ({int(row['days_employed'])} of "
                f"{int(row['days_in_period'])} days)"
                if share < 1
                else ""
            ),
        )
    )
    if bool(row.get("withheld")):
        blocks.append(
            Block(
                "alert",
                f"**Withheld:** {row.get('withheld_reason') or 'missing data'}. Nothing is paid for this period "
                "until the data is complete.",
            )
        )
    components = []
    for c in rules.components:
        metric = names.get(c.metric)
        label = metric.name if metric is not None else c.metric
        unit = f" {metric.unit}" if metric is not None else ""
        value = row.get(f"{c.metric}_value")
        own = row.get(f"{c.metric}_own_value")
        note = ""
        if (
            own is not None
            and not pd.isna(own)
            and (value is None or pd.isna(value) or abs(float(own) - float(value)) > 1e-9)
        ):
            how_credited = " and ".join(
                x
                for x in ("team-credited" if c.credit is not None else "", "prorated" if c.prorate else "")
                if x
            )
            note = f"recorded {_num(own)}; {how_credited}"
        how = (
            f"{c.rate_table.mode} tiers on quota {c.target:g}"
            if c.rate_table is not None
            else f"curve {c.threshold:g} / {c.target:g} / {c.stretch:g}"
        )
        components.append(
            (
                Cell(label, how),
                Cell(f"{c.weight:.2f}"),
                Cell(_num(value) + unit, note),
                Cell(_pct(row.get(f"{c.metric}_attainment"))),
                Cell(_num(row.get(f"{c.metric}_curve"), 3)),
                Cell(_money(row.get(c.metric), currency)),
            )
        )
    blocks += [
        Block("heading", "Components"),
        Block(
            "table",
            header=("Component", "Weight", "Value", "Attainment", "Curve point", "Amount"),
            rows=tuple(components),
        ),
    ]
    if rules.gates:
        gates = []
        for g in rules.gates:
            rule = " and ".join(
                x
                for x in (
                    f"≥ {g.min:g}" if g.min is not None else "",
                    f"≤ {g.max:g}" if g.max is not None else "",
                )
                if x
            )
            ok = row.get(f"gate_{g.metric}")
            result = (
                Cell("–")
                if ok is None or pd.isna(ok)
                else (Cell("passed", tone="pass") if ok else Cell("failed: payout 0", tone="fail"))
            )
            name = names[g.metric].name if g.metric in names else g.metric
            gates.append((Cell(name), Cell(rule), Cell(_num(row.get(f"{g.metric}_value"))), result))
        blocks += [
            Block("heading", "Gates"),
            Block("table", header=("Gate", "Rule", "Value", "Result"), rows=tuple(gates)),
        ]
    lines = [
        ("Before cap (after gates)", row.get("payout_before_cap")),
        (f"Cap ({rules.cap_pct:g} % of target bonus)", row.get("cap")),
    ]
    if "earned" in row:
        lines += [
            ("Earned this period (after cap)", row.get("earned")),
            ("Above the cap, withheld", row.get("cap_withheld")),
            ("Released from earlier cap-withheld pay", row.get("cap_released")),
            ("Cap-withheld balance carried forward", row.get("cap_balance")),
            ("Clawbacks charged (customers who churned within the window)", row.get("clawback")),
            ("Clawbacks recovered from this period", row.get("clawback_recovered")),
            ("Clawback still to recover", row.get("clawback_balance")),
            ("Draw (guaranteed minimum)", row.get("draw_amount")),
            ("Draw top-up paid", row.get("draw_top_up")),
            ("Draw recovered from this period", row.get("draw_recovered")),
            ("Draw balance owed", row.get("draw_balance")),
        ]
    money_rows = [(Cell(label), Cell(_money(value, currency))) for label, value in lines]
    money_rows.append((Cell("Paid for the period"), Cell(_money(row.get("payout"), currency))))
    blocks += [
        Block("heading", "Cap, clawbacks and draw"),
        Block("table", header=("Item", "Amount"), rows=tuple(money_rows), total=True),
    ]
    if proposed is not None:
        p_scheme, p_row = proposed
        blocks.append(Block("heading", f"Under the proposed scheme: {p_scheme.name}"))
        if p_row is None:
            blocks.append(Block("note", "The proposed scheme does not cover this employee in this period."))
        else:
            now, new = row.get("payout"), p_row.get("payout")
            diff = (
                float("nan")
                if now is None or new is None or pd.isna(now) or pd.isna(new)
                else float(new) - float(now)
            )
            blocks.append(
                Block(
                    "table",
                    header=("", "Amount"),
                    rows=(
                        (Cell("Paid under the current scheme"), Cell(_money(now, currency))),
                        (Cell("Would be paid under the proposed scheme"), Cell(_money(new, currency))),
                        (Cell("Change"), Cell("–" if math.isnan(diff) else f"{diff:+,.2f}")),
                    ),
                    total=True,
                )
            )
    blocks.append(
        Block(
            "note",
            "Computed by cx_framework from the recorded metrics; amounts rounded to cents for display only.",
        )
    )
    return blocks


def _inline(text: str) -> str:
    """Escaped HTML of a block text, ``**bold**`` as ``<b>``."""
    parts = html.escape(text).split("**")
    return "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))


def _cell_html(cell: Cell) -> str:
    text = html.escape(cell.text)
    if cell.tone:
        text = f"<span class='{cell.tone}'>{text}</span>"
    if cell.note:
        text += f"<br><span class='muted'>{html.escape(cell.note)}</span>"
    return f"<td>{text}</td>"


def _blocks_html(blocks: list[Block], head_title: str) -> str:
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(head_title)}</title><style>{_CSS}</style></head><body>",
    ]
    for b in blocks:
        if b.kind == "title":
            parts.append(f"<h1>{_inline(b.text)}</h1>")
        elif b.kind == "meta":
            parts.append(f"<p class='muted'>{'<br>'.join(_inline(line) for line in b.lines)}</p>")
        elif b.kind == "box":
            parts.append(f"<div class='box'>{_inline(b.text)}</div>")
        elif b.kind == "alert":
            parts.append(f"<p class='fail'>{_inline(b.text)}</p>")
        elif b.kind == "heading":
            parts.append(f"<h2>{_inline(b.text)}</h2>")
        elif b.kind == "note":
            parts.append(f"<p class='muted'>{_inline(b.text)}</p>")
        elif b.kind == "table":
            rows = ["<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in b.header) + "</tr>"]
            for k, r in enumerate(b.rows):
                total = b.total and k == len(b.rows) - 1
                rows.append(
                    ("<tr class='total'>" if total else "<tr>") + "".join(map(_cell_html, r)) + "</tr>"
                )
            parts.append("<table>" + "".join(rows) + "</table>")
    parts.append("</body></html>")
    return "".join(parts)


def statement_html(
    row: Mapping[str, Any],
    scheme: Scheme,
    *,
    catalogue: MetricCatalogue | None = None,
    currency: str = "",
    proposed: tuple[Scheme, Mapping[str, Any] | None] | None = None,
) -> str:
    """The HTML statement of one payout row (a ``compute_payouts`` row as a mapping).

    Parameters
    ----------
    row : mapping
        One row of the payout frame.
    scheme : Scheme
        The scheme the row was computed under (component weights and gate rules are read from it, for the version
        in force in the row's period).
    catalogue : MetricCatalogue, optional
        For metric names and units.
    currency : str
        Currency code for money.
    proposed : (Scheme, row or None), optional
        The proposed scheme and the same employee-period's row under it (None: not covered by it).
    """
    blocks = statement_blocks(row, scheme, catalogue=catalogue, currency=currency, proposed=proposed)
    period = pd.Timestamp(row["period"])
    title = f"{period:%B %Y}" if scheme.period == "month" else f"Q{period.quarter} {period.year}"
    return _blocks_html(blocks, f"Pay statement {row['employee_id']} {title}")


#: Characters the PDF's built-in (Latin-1) fonts lack, written the way a typewriter would
_PDF_TEXT = str.maketrans({"—": "-", "–": "-", "≥": ">=", "≤": "<=", "→": "->", "−": "-", "’": "'"})


def _pdf_text(text: str) -> str:
    return text.translate(_PDF_TEXT).encode("latin-1", "replace").decode("latin-1")


def statement_pdf(
    row: Mapping[str, Any],
    scheme: Scheme,
    *,
    catalogue: MetricCatalogue | None = None,
    currency: str = "",
    proposed: tuple[Scheme, Mapping[str, Any] | None] | None = None,
) -> bytes:
    """The statement of one payout row as an A4 PDF (fpdf2, built-in Helvetica): the same :func:`statement_blocks`
    as the HTML, so the same figures (a dash stands in for the typographic dashes and ≥ / ≤ the built-in font
    lacks). Arguments as :func:`statement_html`.

    Raises
    ------
    CxError
        fpdf2 is not installed (``pip install 'cx_framework[pdf]'``).
    """
    try:
        from fpdf import FPDF
        from fpdf.fonts import FontFace
    except ImportError:  # pragma: no cover - fpdf2 comes with the pdf extra (and .[dev])
        from cx_framework.errors import CxError

        raise CxError(
            "PDF statements need fpdf2: pip install 'cx_framework[pdf]' (or write the HTML statements only)"
        ) from None

    blocks = statement_blocks(row, scheme, catalogue=catalogue, currency=currency, proposed=proposed)
    pdf = FPDF(format="A4")
    pdf.set_margins(14, 14, 14)
    pdf.set_auto_page_break(True, margin=14)
    pdf.set_title(_pdf_text(blocks[0].text))
    pdf.set_creator("cx_framework")
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    heading = FontFace(emphasis="BOLD", fill_color=(245, 247, 249))
    for b in blocks:
        if b.kind == "title":
            pdf.set_font("Helvetica", "B", 15)
            pdf.multi_cell(width, 8, _pdf_text(b.text), new_x="LMARGIN", new_y="NEXT")
        elif b.kind in ("meta", "box", "alert", "note"):
            pdf.set_font("Helvetica", "", 9 if b.kind in ("meta", "note") else 10)
            pdf.set_text_color(180, 35, 24) if b.kind == "alert" else pdf.set_text_color(31, 41, 51)
            for line in b.lines or (b.text,):
                pdf.multi_cell(width, 5, _pdf_text(line), markdown=True, new_x="LMARGIN", new_y="NEXT")
            pdf.set_text_color(31, 41, 51)
            pdf.ln(2)
        elif b.kind == "heading":
            pdf.ln(2)
            pdf.set_font("Helvetica", "B", 11)
            pdf.multi_cell(width, 7, _pdf_text(b.text), new_x="LMARGIN", new_y="NEXT")
        elif b.kind == "table":
            pdf.set_font("Helvetica", "", 8.5)
            first = 3 if len(b.header) > 2 else 5
            with pdf.table(
                col_widths=(first, *([1.4] * (len(b.header) - 1))),
                text_align=("LEFT", *(["RIGHT"] * (len(b.header) - 1))),
                headings_style=heading,
                line_height=4.6,
                width=width,
            ) as table:
                head = table.row()
                for h in b.header:
                    head.cell(_pdf_text(h))
                for k, r in enumerate(b.rows):
                    table_row = table.row()
                    bold = b.total and k == len(b.rows) - 1
                    for cell in r:
                        text = cell.text + (f"\n{cell.note}" if cell.note else "")
                        table_row.cell(_pdf_text(text), style=FontFace(emphasis="BOLD") if bold else None)
            pdf.ln(2)
    return bytes(pdf.output())


def _statement_texts(
    payouts: pd.DataFrame,
    scheme: Scheme,
    period: str | pd.Timestamp,
    *,
    catalogue: MetricCatalogue | None,
    currency: str,
    proposed: Scheme | None,
    proposed_payouts: pd.DataFrame | None,
    viewer: Viewer | None,
    pdf: bool = False,
) -> list[tuple[str, str, bytes | None]]:
    """(file stem, HTML, PDF or None) of every statement the viewer may read for ``period``."""
    payouts = restrict_payouts(payouts, viewer, what="statements")
    when = statement_period(payouts, period, quarterly=scheme.period == "quarter")
    rows = payouts[payouts["period"] == when]
    alt: dict[str, Mapping[str, Any]] = {}
    if proposed is not None and proposed_payouts is not None:
        prop = proposed_payouts[proposed_payouts["period"] == when]
        alt = {str(r["employee_id"]): r for r in prop.to_dict("records")}
    out = []
    for record in rows.to_dict("records"):
        eid = str(record["employee_id"])
        kwargs: dict[str, Any] = {
            "catalogue": catalogue,
            "currency": currency,
            "proposed": (proposed, alt.get(eid)) if proposed is not None else None,
        }
        text = statement_html(record, scheme, **kwargs)
        document = statement_pdf(record, scheme, **kwargs) if pdf else None
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in eid)
        out.append((f"{safe}_{when:%Y-%m}", text, document))
    return out


def statements_archive(
    payouts: pd.DataFrame,
    scheme: Scheme,
    period: str | pd.Timestamp,
    *,
    catalogue: MetricCatalogue | None = None,
    currency: str = "",
    proposed: Scheme | None = None,
    proposed_payouts: pd.DataFrame | None = None,
    viewer: Viewer | None = None,
    pdf: bool = False,
) -> bytes:
    """The statements of :func:`write_statements` as one ZIP archive in memory (the app's download): the same
    files (``pdf=True``: each PDF too), the same access check (hr: everyone; a manager: their teams; anyone
    else: AccessError).

    Raises
    ------
    AccessError
        The viewer may not read individual pay.
    InputValueError
        ``period`` has no payout rows.
    """
    import io
    import zipfile

    texts = _statement_texts(
        payouts,
        scheme,
        period,
        catalogue=catalogue,
        currency=currency,
        proposed=proposed,
        proposed_payouts=proposed_payouts,
        viewer=viewer,
        pdf=pdf,
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for stem, text, document in texts:
            archive.writestr(f"{stem}.html", text)
            if document is not None:
                archive.writestr(f"{stem}.pdf", document)
    return buffer.getvalue()


def write_statements(
    payouts: pd.DataFrame,
    scheme: Scheme,
    period: str | pd.Timestamp,
    out_dir: str | Path,
    *,
    catalogue: MetricCatalogue | None = None,
    currency: str = "",
    proposed: Scheme | None = None,
    proposed_payouts: pd.DataFrame | None = None,
    viewer: Viewer | None = None,
    pdf: bool = False,
) -> list[Path]:
    """Write ``<out_dir>/<employee_id>_<YYYY-MM>.html`` for every employee with a payout row in ``period``
    (``pdf=True``: and ``<employee_id>_<YYYY-MM>.pdf`` beside it, :func:`statement_pdf`). Every file is written
    atomically and readable by its owner only. Returns the HTML paths (then the PDF paths).

    Raises
    ------
    AccessError
        The viewer may not read individual pay (managers get their teams' statements only).
    InputValueError
        ``period`` has no payout rows.
    """
    from cx_framework.io import write_bytes_atomic, write_text_atomic

    texts = _statement_texts(
        payouts,
        scheme,
        period,
        catalogue=catalogue,
        currency=currency,
        proposed=proposed,
        proposed_payouts=proposed_payouts,
        viewer=viewer,
        pdf=pdf,
    )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [write_text_atomic(out / f"{stem}.html", text, mode=0o600) for stem, text, _ in texts]
    written += [
        write_bytes_atomic(out / f"{stem}.pdf", document, mode=0o600)
        for stem, _, document in texts
        if document is not None
    ]
    return written
