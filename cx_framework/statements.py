"""Payee statements: one self-contained HTML page per employee and period that explains the pay.

Each statement shows, from the payout frame the engine computed (nothing is recomputed here): the target bonus and
its proration, every component's value (and own value when team-credited), attainment and curve point, weight and
amount; the gates; the cap (and any cap-withheld balance carried forward); clawbacks charged and recovered; the
draw (top-up, recovery, balance); what was earned and what is paid; and, when a proposed scheme is given, what the
same period would pay under it. Money is rounded to cents only here, at output.

PDF: no PDF library is installed with the project, and none is added for this — WeasyPrint needs the Pango/Cairo
system libraries, fpdf2 or ReportLab would lay the statement out a second time (two renderers that drift apart).
Each statement is print-ready instead (A4 ``@page`` rules): a browser's *Print → Save as PDF* gives the PDF.

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

__all__ = ["StatementLine", "statement_html", "write_statements", "statement_period", "statements_archive"]

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
    from cx_framework.incentives import scheme_for_period

    rules = scheme_for_period(scheme, row["period"])
    names = catalogue.by_id if catalogue is not None else {}
    esc = html.escape
    period = pd.Timestamp(row["period"])
    title = f"{period:%B %Y}" if scheme.period == "month" else f"Q{period.quarter} {period.year}"
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Pay statement {esc(str(row['employee_id']))} {esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Pay statement — {esc(title)}</h1>",
        f"<p class='muted'>Employee <b>{esc(str(row['employee_id']))}</b> · {esc(str(row.get('role', '')))} · "
        f"team {esc(str(row.get('team', '')))} · {esc(str(row.get('department', '')))}<br>Scheme "
        f"<b>{esc(scheme.name)}</b> ({esc(scheme.id)}"
        + (
            f", version from {esc(str(row['plan_version']))}"
            if str(row.get("plan_version", "base")) != "base"
            else ""
        )
        + ")</p>",
    ]
    share = float(row.get("employed_share", 1.0))
    parts.append(
        f"<div class='box'>Target bonus for the period: <b>{_money(row['target_bonus'], currency)}</b> = base salary "
        f"{_money(row['base_salary'], currency)} × {rules.target_bonus_pct:g} % ÷ {scheme.periods_per_year}"
        + (
            f" × {share:.3f} of the period employed ({int(row['days_employed'])} of {int(row['days_in_period'])} days)"
            if share < 1
            else ""
        )
        + "</div>"
    )
    if bool(row.get("withheld")):
        parts.append(
            f"<p class='fail'><b>Withheld:</b> {esc(str(row.get('withheld_reason') or 'missing data'))}. Nothing is paid "
            "for this period until the data is complete.</p>"
        )
    parts.append(
        "<h2>Components</h2><table><tr><th>Component</th><th>Weight</th><th>Value</th><th>Attainment</th>"
        "<th>Curve point</th><th>Amount</th></tr>"
    )
    for c in rules.components:
        metric = names.get(c.metric)
        label = metric.name if metric is not None else c.metric
        unit = f" {metric.unit}" if metric is not None else ""
        value = row.get(f"{c.metric}_value")
        own = row.get(f"{c.metric}_own_value")
        shown = _num(value) + esc(unit)
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
            shown += f"<br><span class='muted'>recorded {_num(own)}; {how_credited}</span>"
        how = (
            f"{c.rate_table.mode} tiers on quota {c.target:g}"
            if c.rate_table is not None
            else f"curve {c.threshold:g} / {c.target:g} / {c.stretch:g}"
        )
        parts.append(
            f"<tr><td>{esc(label)}<br><span class='muted'>{esc(how)}</span></td><td>{c.weight:.2f}</td><td>{shown}</td>"
            f"<td>{_pct(row.get(f'{c.metric}_attainment'))}</td><td>{_num(row.get(f'{c.metric}_curve'), 3)}</td>"
            f"<td>{_money(row.get(c.metric), currency)}</td></tr>"
        )
    parts.append("</table>")
    if rules.gates:
        parts.append("<h2>Gates</h2><table><tr><th>Gate</th><th>Rule</th><th>Value</th><th>Result</th></tr>")
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
                "–"
                if ok is None or pd.isna(ok)
                else (
                    "<span class='pass'>passed</span>" if ok else "<span class='fail'>failed: payout 0</span>"
                )
            )
            name = names[g.metric].name if g.metric in names else g.metric
            parts.append(
                f"<tr><td>{esc(name)}</td><td>{esc(rule)}</td><td>{_num(row.get(f'{g.metric}_value'))}</td>"
                f"<td>{result}</td></tr>"
            )
        parts.append("</table>")
    parts.append("<h2>Cap, clawbacks and draw</h2><table><tr><th>Item</th><th>Amount</th></tr>")
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
    for label, value in lines:
        parts.append(f"<tr><td>{esc(label)}</td><td>{_money(value, currency)}</td></tr>")
    parts.append(
        f"<tr class='total'><td>Paid for the period</td><td>{_money(row.get('payout'), currency)}</td></tr>"
    )
    parts.append("</table>")
    if proposed is not None:
        p_scheme, p_row = proposed
        parts.append(f"<h2>Under the proposed scheme: {esc(p_scheme.name)}</h2>")
        if p_row is None:
            parts.append("<p>The proposed scheme does not cover this employee in this period.</p>")
        else:
            now, new = row.get("payout"), p_row.get("payout")
            diff = (
                float("nan")
                if now is None or new is None or pd.isna(now) or pd.isna(new)
                else float(new) - float(now)
            )
            parts.append(
                f"<table><tr><th></th><th>Amount</th></tr><tr><td>Paid under the current scheme</td>"
                f"<td>{_money(now, currency)}</td></tr><tr><td>Would be paid under the proposed scheme</td>"
                f"<td>{_money(new, currency)}</td></tr><tr class='total'><td>Change</td>"
                f"<td>{'–' if math.isnan(diff) else f'{diff:+,.2f}'}</td></tr></table>"
            )
    parts.append(
        "<p class='muted'>Computed by cx_framework from the recorded metrics; amounts rounded to cents for display "
        "only.</p></body></html>"
    )
    return "".join(parts)


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
) -> list[tuple[str, str]]:
    """(file name, HTML) of every statement the viewer may read for ``period``."""
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
        text = statement_html(
            record,
            scheme,
            catalogue=catalogue,
            currency=currency,
            proposed=(proposed, alt.get(eid)) if proposed is not None else None,
        )
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in eid)
        out.append((f"{safe}_{when:%Y-%m}.html", text))
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
) -> bytes:
    """The statements of :func:`write_statements` as one ZIP archive in memory (the app's download): the same
    files, the same access check (hr: everyone; a manager: their teams; anyone else: AccessError).

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
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in texts:
            archive.writestr(name, text)
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
) -> list[Path]:
    """Write ``<out_dir>/<employee_id>_<YYYY-MM>.html`` for every employee with a payout row in ``period``.

    Raises
    ------
    AccessError
        The viewer may not read individual pay (managers get their teams' statements only).
    InputValueError
        ``period`` has no payout rows.
    """
    from cx_framework.io import write_text_atomic

    texts = _statement_texts(
        payouts,
        scheme,
        period,
        catalogue=catalogue,
        currency=currency,
        proposed=proposed,
        proposed_payouts=proposed_payouts,
        viewer=viewer,
    )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return [write_text_atomic(out / name, text) for name, text in texts]
