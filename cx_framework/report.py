"""Leadership report (one self-contained HTML file) and the payout workbook for HR (Excel).

* :func:`build_report` writes a single HTML file that works offline: plotly.js is embedded once, inline, with the
  first figure (``include_plotlyjs=True``, every later figure ``False``); there is no CDN and no external URL.
  plotly.js itself carries the addresses of map-tile, font and chart-studio servers used only by map traces and
  the "edit in Chart Studio" link (this report draws neither); their scheme and host are rewritten to ``about:blank``
  so nothing in the file can reach the network. The only ``http`` strings left are XML namespace identifiers
  (``http://www.w3.org/2000/svg`` and friends), which browsers compare as names and never fetch (W3C,
  *Namespaces in XML 1.0*, §2.1: "it is not a goal that it be directly usable for retrieval").
* :func:`build_payout_workbook` writes one sheet per scheme (currency format, frozen header row, autofilter) and a
  summary sheet.
* :func:`export_table` writes a CSV or Excel export of any frame.

Every export goes through :func:`cx_framework.io.sanitize_for_export` (spreadsheet formula injection, OWASP "CSV
Injection") and customer ids are pseudonymised with a keyed BLAKE2b hash (:func:`cx_framework.io.pseudonymise_ids`)
unless ``keep_ids=True``. The key is ``id_key`` if given, else the environment variable ``CX_PSEUDONYM_KEY``, else a
fresh random key per export (then pseudonyms cannot be joined across exports — pass a key to make them joinable).
All files are written atomically (:func:`cx_framework.io.write_bytes_atomic`).
"""

from __future__ import annotations

import html
import math
import os
import re
import secrets
import warnings
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cx_framework.errors import CxError, InputValueError, StatisticalWarning

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from cx_framework.actions import ActionPlan
    from cx_framework.config.loader import CxConfig

__all__ = [
    "SECTIONS",
    "build_report",
    "build_payout_workbook",
    "export_table",
    "pseudonymise_customer_ids",
    "offline_plotlyjs",
]

#: Report sections: anchor id -> heading, in order.
SECTIONS: dict[str, str] = {
    "summary": "Executive summary",
    "figures": "Headline figures",
    "assumptions": "Assumptions",
    "scorecard": "Shared scorecard",
    "alignment": "Department alignment",
    "exceptions": "Exceptions",
    "incentives": "Incentive conflicts",
    "sla": "SLA chains",
    "staffing": "Staffing vs budget",
    "retention": "Service level, retention and value",
    "failure_demand": "Failure demand",
}

_ID_KEY_ENV = "CX_PSEUDONYM_KEY"
# any absolute http(s) URL except XML namespace identifiers of the W3C (never fetched)
# scheme and host only: host characters never include quotes or comment ends, so the rewrite cannot break the code
_EXTERNAL_URL = re.compile(r"https?://(?!www\.w3\.org/)[a-z0-9.-]*", re.IGNORECASE)
_CUSTOMER_ID_COLUMNS = ("customer_id",)


# ------------------------------------------------------------------------------------------------ ids & exports
def _id_key(id_key: bytes | str | None) -> bytes:
    if id_key is None:
        env = os.environ.get(_ID_KEY_ENV)
        return env.encode("utf-8")[:64] if env else secrets.token_bytes(32)
    key = id_key.encode("utf-8") if isinstance(id_key, str) else bytes(id_key)
    if not 1 <= len(key) <= 64:
        raise InputValueError("id_key must be 1 to 64 bytes (or text)", argument="id_key")
    return key


def pseudonymise_customer_ids(
    frame: pd.DataFrame, *, keep_ids: bool = False, id_key: bytes | str | None = None
) -> pd.DataFrame:
    """Copy of ``frame`` with every customer id column replaced by a keyed hash (unless ``keep_ids``).

    Columns named ``customer_id`` (and any ending in ``_customer_id``) are hashed with
    :func:`cx_framework.io.pseudonymise_ids`; the same key maps the same id to the same pseudonym.
    """
    from cx_framework.io import pseudonymise_ids

    if keep_ids:
        return frame
    columns = [c for c in frame.columns if str(c) in _CUSTOMER_ID_COLUMNS or str(c).endswith("_customer_id")]
    if not columns:
        return frame
    key = _id_key(id_key)
    out = frame.copy()
    for c in columns:
        out[c] = pseudonymise_ids(out[c], key)
    return out


def _export_ready(frame: pd.DataFrame, *, keep_ids: bool, id_key: bytes | str | None) -> pd.DataFrame:
    from cx_framework.io import sanitize_for_export

    out = pseudonymise_customer_ids(frame, keep_ids=keep_ids, id_key=id_key)
    # dict/list cells (e.g. an action's evidence) become text before sanitising, so they are checked too
    for c in out.columns:
        if out[c].dtype == object and out[c].map(lambda v: isinstance(v, dict | list | tuple)).any():
            out[c] = out[c].map(lambda v: repr(v) if isinstance(v, dict | list | tuple) else v)
    return sanitize_for_export(out)


def export_table(
    frame: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    keep_ids: bool = False,
    id_key: bytes | str | None = None,
    sheet_name: str = "data",
) -> Path:
    """Write ``frame`` to ``.csv`` or ``.xlsx`` atomically, sanitised and with customer ids pseudonymised.

    Parameters
    ----------
    frame : pandas.DataFrame
    path : str or path-like
        ``.csv`` or ``.xlsx``.
    keep_ids : bool, default False
        Keep customer ids as they are.
    id_key : bytes or str, optional
        Pseudonymisation key (see module docstring).
    sheet_name : str
        Sheet name for ``.xlsx``.

    Raises
    ------
    InputValueError
        Not a DataFrame, or an unsupported suffix.
    """
    from cx_framework.io import write_bytes_atomic

    if not isinstance(frame, pd.DataFrame):
        raise InputValueError(
            f"export_table expects a pandas DataFrame, got {type(frame).__name__}", argument="frame"
        )
    target = Path(path)
    suffix = target.suffix.lower()
    clean = _export_ready(frame, keep_ids=keep_ids, id_key=id_key)
    if suffix == ".csv":
        return write_bytes_atomic(target, clean.to_csv(index=False).encode("utf-8"))
    if suffix == ".xlsx":
        return write_bytes_atomic(target, _save_workbook([(_sheet_title(sheet_name, set()), clean, ())], ""))
    raise InputValueError(
        f"{target}: export to .csv or .xlsx (got '{target.suffix or 'no suffix'}')", argument="path"
    )


# ------------------------------------------------------------------------------------------------ workbook
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def _sheet_title(name: str, used: set[str]) -> str:
    """Excel sheet names: at most 31 characters, none of ``[]:*?/\\``, unique (case-insensitive)."""
    base = _SHEET_BAD.sub("_", str(name)).strip("'") or "sheet"
    base = base[:31]
    title, n = base, 2
    while title.lower() in used:
        suffix = f"_{n}"
        title = base[: 31 - len(suffix)] + suffix
        n += 1
    used.add(title.lower())
    return title


def _currency_format(currency: str) -> str:
    symbols = {"GBP": "£", "EUR": "€", "USD": "$"}
    if currency in symbols:
        return f'"{symbols[currency]}"#,##0.00;-"{symbols[currency]}"#,##0.00'
    return f'#,##0.00 "{currency}";-#,##0.00 "{currency}"' if currency else "#,##0.00"


#: payout-sheet columns that are shares 0-1 (shown as percentages)
_PERCENT_COLUMNS = frozenset({"attainment", "proration", "cap_share", "share"})


def _column_format(name: str, column: pd.Series, *, money: set[str], currency: str) -> str | None:
    """Excel number format of a column: currency for money, percent for shares, dates, two to four decimals for
    other floats (no long float tails), None (General) for integers and text."""
    if name in money:
        return _currency_format(currency)
    if name in _PERCENT_COLUMNS or name.endswith(("_share", "_rate", "_pct")):
        return "0.0%" if pd.api.types.is_numeric_dtype(column) else None
    if pd.api.types.is_datetime64_any_dtype(column):
        return "yyyy-mm-dd"
    if pd.api.types.is_float_dtype(column):
        values = column.to_numpy(dtype=float)
        finite = values[np.isfinite(values)]
        whole = bool(len(finite)) and bool(np.all(finite == np.round(finite)))
        return "#,##0" if whole else "#,##0.00##"
    return None


def _column_width(name: str, column: pd.Series, fmt: str | None, money: set[str]) -> int:
    width = max(len(str(name)), 10)
    if name in money:
        return max(width, 14)
    if fmt == "yyyy-mm-dd":
        return max(width, 12)
    if (column.dtype == object or pd.api.types.is_string_dtype(column)) and len(column):
        lengths = column.astype(str).str.len().fillna(0)  # pandas 3 keeps missing strings missing
        return max(width, min(60, int(lengths.quantile(0.9)) + 2))
    return width


def _save_workbook(sheets: list[tuple[str, pd.DataFrame, Iterable[str]]], currency: str) -> bytes:
    """The .xlsx bytes of ``(title, frame, money columns)`` sheets: bold frozen header, autofilter, one number
    format per column (currency, percent, date, 2–4 decimals) and widths (see :mod:`cx_framework._xlsx`)."""
    from cx_framework._xlsx import Sheet, workbook_bytes

    out = []
    for title, frame, money in sheets:
        money = set(money)
        formats: dict[str, str] = {}
        widths: dict[str, float] = {}
        for j, name in enumerate(frame.columns):
            column = frame.iloc[:, j]
            fmt = _column_format(str(name), column, money=money, currency=currency)
            if fmt:
                formats[str(name)] = fmt
            widths[str(name)] = _column_width(str(name), column, fmt, money)
        out.append(Sheet(title, frame, formats, widths))
    return workbook_bytes(out)


def build_payout_workbook(
    payouts_by_scheme: Mapping[str, pd.DataFrame],
    out_path: str | os.PathLike[str],
    *,
    currency: str = "GBP",
    keep_ids: bool = True,
    id_key: bytes | str | None = None,
    viewer: Any = None,
) -> Path:
    """Excel workbook for HR: a ``summary`` sheet and one sheet per scheme, written atomically.

    Each scheme sheet holds the :func:`~cx_framework.incentives.compute_payouts` rows with money rounded to cents
    (output only), a currency number format on every money column, a bold frozen header row and an autofilter.
    The summary sheet has one row per scheme and period (:func:`~cx_framework.incentives.payout_summary`) and a
    total row per scheme. Text cells are sanitised against formula injection.

    Parameters
    ----------
    payouts_by_scheme : mapping of scheme id -> DataFrame
        :func:`compute_payouts` frames (``SchemeComparison.payouts`` fits).
    out_path : str or path-like
        Target ``.xlsx`` file.
    currency : str, default "GBP"
        ISO code shown in the number format (£, €, $ for GBP, EUR, USD).
    keep_ids : bool, default True
        Payout frames carry employee ids, which HR needs; customer id columns, if any, are pseudonymised when
        False.
    id_key : bytes or str, optional
        Pseudonymisation key.
    viewer : cx_framework.access.Viewer, optional
        Who the workbook is for (individual pay: hr sees everyone, a manager their teams; anyone else is refused
        and the refusal logged). None = access control off.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    AccessError
        The viewer may not read individual pay (nothing is written).
    InputValueError
        Empty mapping, a value that is not a payout frame, or a target that is not ``.xlsx``.
    """
    from cx_framework.access import restrict_payouts
    from cx_framework.incentives import payout_summary, round_money
    from cx_framework.incentives.payouts import MONEY_COLUMNS
    from cx_framework.io import write_bytes_atomic

    target = Path(out_path)
    if target.suffix.lower() != ".xlsx":
        raise InputValueError(f"{target}: the payout workbook must be an .xlsx file", argument="out_path")
    if not isinstance(payouts_by_scheme, Mapping) or not payouts_by_scheme:
        raise InputValueError(
            "payouts_by_scheme must be a non-empty mapping of scheme id -> compute_payouts frame",
            argument="payouts_by_scheme",
        )
    for sid, frame in payouts_by_scheme.items():
        if not isinstance(frame, pd.DataFrame) or not {"period", "payout", "withheld"} <= set(frame.columns):
            raise InputValueError(
                f"payouts_by_scheme[{sid!r}] is not a compute_payouts frame (needs period, payout, withheld)",
                argument="payouts_by_scheme",
            )

    # enforced where the export reads the pay: cut to the viewer's rows (or refused) before anything is written
    payouts_by_scheme = {
        sid: restrict_payouts(frame, viewer, what="payout_export") for sid, frame in payouts_by_scheme.items()
    }
    summaries = []
    for sid, frame in payouts_by_scheme.items():
        s = payout_summary(frame)
        s.insert(0, "scheme", str(sid))
        total = s.drop(columns=["scheme", "period"]).sum(numeric_only=True)
        total_row = {"scheme": str(sid), "period": "total", **total.to_dict()}
        total_row["attainment"] = (
            total["payout"] / total["target_bonus"] if total["target_bonus"] > 0 else np.nan
        )
        s["period"] = pd.to_datetime(s["period"]).dt.strftime("%Y-%m")
        summaries.append(pd.concat([s, pd.DataFrame([total_row])], ignore_index=True))
    summary = pd.concat(summaries, ignore_index=True)
    for c in ("target_bonus", "payout", "withheld_target_bonus"):
        summary[c] = summary[c].astype(float).round(2)
    summary["attainment"] = summary["attainment"].astype(float).round(4)

    used: set[str] = set()
    sheets: list[tuple[str, pd.DataFrame, Iterable[str]]] = [
        (
            _sheet_title("summary", used),
            _export_ready(summary, keep_ids=keep_ids, id_key=id_key),
            ("target_bonus", "payout", "withheld_target_bonus"),
        )
    ]
    for sid, frame in payouts_by_scheme.items():
        detail = round_money(frame)
        money = [c for c in detail.attrs.get("money_columns", MONEY_COLUMNS) if c in detail.columns]
        detail.attrs = {}  # our copy: pandas deep-copies attrs on every column taken from it below
        clean = _export_ready(detail, keep_ids=keep_ids, id_key=id_key)
        sheets.append((_sheet_title(str(sid), used), clean, money))
    return write_bytes_atomic(target, _save_workbook(sheets, currency))


# ------------------------------------------------------------------------------------------------ HTML pieces
def offline_plotlyjs(snippet: str) -> str:
    """Rewrite the scheme and host of every absolute http(s) URL except W3C namespace names to the inert
    ``about:blank`` (``https://cdn.plot.ly/un/`` becomes ``about:blank/un/``; see the module docstring)."""
    return _EXTERNAL_URL.sub("about:blank", snippet)


class _Figures:
    """Renders figures to HTML divs; plotly.js goes inline with the first figure only."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, fig: go.Figure) -> str:
        first = self.count == 0
        self.count += 1
        snippet = fig.to_html(
            full_html=False,
            include_plotlyjs=first,
            config={"displaylogo": False, "responsive": True},
            default_width="100%",
        )
        return offline_plotlyjs(snippet) if first else snippet


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _table(frame: pd.DataFrame, formats: Mapping[str, Callable[[Any], str]] | None = None) -> str:
    if frame is None or frame.empty:
        return "<p class='muted'>No rows.</p>"
    shown = frame.copy()
    for col, fmt in (formats or {}).items():
        if col in shown.columns:
            shown[col] = shown[col].map(lambda v, f=fmt: "–" if _missing(v) else f(v))
    return str(shown.to_html(index=False, escape=True, classes="data", border=0, na_rep="–"))


def _missing(v: Any) -> bool:
    try:
        return v is None or (isinstance(v, float) and math.isnan(v)) or bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _pct(v: Any) -> str:
    return f"{float(v):.1%}"


def _num(v: Any) -> str:
    from cx_framework.actions import format_number

    return format_number(float(v))


#: The analysis behind each action, in words (the function names stay in the evidence for reproducibility).
_ANALYSIS_WORDS = {
    "attribute_failure_demand": "failure-demand attribution",
    "fix_vs_absorb": "fix vs absorb",
    "conflict_matrix": "incentive conflict matrix",
    "simulate_behaviour": "behaviour simulation",
    "journey_chain": "SLA chain",
    "required_tightening": "SLA tightening",
    "staffing_budget_gap": "staffing vs budget",
    "fit_retention": "retention model",
    "optimal_service_level": "optimal service level",
}


def _analysis_names(analysis: str) -> str:
    """``"attribute_failure_demand + fix_vs_absorb"`` -> ``"failure-demand attribution, fix vs absorb"``."""
    if analysis.startswith("score"):
        return "scorecard exceptions (thresholds and XmR rules)"
    return ", ".join(_ANALYSIS_WORDS.get(p.strip(), p.strip()) for p in analysis.split("+"))


def _evidence_words(evidence: Any) -> str:
    """The engine numbers behind an action, keys in words (``npv_low`` -> ``npv low``)."""
    from cx_framework.actions import format_number

    if not isinstance(evidence, dict):
        return str(evidence)
    return "; ".join(f"{str(k).replace('_', ' ')} = {format_number(v)}" for k, v in evidence.items())


def _unavailable(what: str, reason: str) -> str:
    return f"<p class='unavailable'><strong>Not available:</strong> {_esc(what)} — {_esc(reason)}</p>"


_CSS = """
body{font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;margin:0;color:#222;background:#f6f7f9}
header{background:#0b3954;color:#fff;padding:24px 40px}
header h1{margin:0 0 6px 0;font-size:28px} header p{margin:0;opacity:.85}
nav{background:#fff;border-bottom:1px solid #ddd;padding:8px 40px;position:sticky;top:0;z-index:5}
nav a{margin-right:16px;color:#0b3954;text-decoration:none;font-size:14px}
main{padding:8px 40px 40px 40px;max-width:1320px}
section{background:#fff;border:1px solid #e3e3e3;border-radius:6px;margin:20px 0;padding:8px 24px 20px 24px}
h2{color:#0b3954;border-bottom:2px solid #e69f00;padding-bottom:4px}
table.data{border-collapse:collapse;font-size:13px;margin:8px 0 16px 0;width:100%}
table.data th{background:#eef2f5;text-align:left;padding:6px 8px;border-bottom:1px solid #ccd}
table.data td{padding:5px 8px;border-bottom:1px solid #eee;vertical-align:top}
.muted{color:#777} .unavailable{background:#fff4e5;border-left:4px solid #e69f00;padding:8px 12px}
.lead{font-size:15px;line-height:1.5} .figure{margin:8px 0 12px 0}
ol.actions li{margin-bottom:10px;line-height:1.45} details{font-size:13px;margin-top:2px} summary{cursor:pointer} .value{font-weight:600;color:#0b3954}
footer{color:#777;font-size:12px;padding:0 40px 30px 40px}
"""


def _section(key: str, body: list[str]) -> str:
    return f"<section id='{key}'><h2>{_esc(SECTIONS[key])}</h2>\n" + "\n".join(body) + "\n</section>"


def _fig_div(render: _Figures, fig: go.Figure) -> str:
    return f"<div class='figure'>{render(fig)}</div>"


# ------------------------------------------------------------------------------------------------ sections
def _summary_section(plan: ActionPlan, render: _Figures, config: CxConfig) -> list[str]:
    from cx_framework.actions import _department_name, actions_chart

    cur = plan.currency
    a = plan.actions
    items = []
    for r in a.itertuples(index=False):
        if not r.monetised:
            value = "not monetised"
        elif r.value_low == r.value_high:
            value = f"{cur} {r.expected_annual_value:,.0f} a year (the analysis gives no range)"
        else:
            value = (
                f"{cur} {r.expected_annual_value:,.0f} a year (range {cur} {r.value_low:,.0f} to "
                f"{cur} {r.value_high:,.0f})"
            )
        parts = ""
        if r.monetised and hasattr(r, "customer_value"):
            named = (
                ("customers", r.customer_value),
                ("staffing / handling cost", r.staffing_value),
                ("bonus payouts", r.payout_value),
                ("other (one-off costs)", r.other_value),
            )
            split = "; ".join(f"{name} {cur} {float(v):+,.0f}" for name, v in named if abs(float(v)) >= 0.5)
            parts = f"<br><span class='muted'>Made of (per year): {_esc(split)}.</span>" if split else ""
        trade = getattr(r, "trade_off", "")
        trade_html = (
            f"<br><strong>Trade-off:</strong> {_esc(trade)}" if isinstance(trade, str) and trade else ""
        )
        items.append(
            f"<li><strong>{_esc(r.title)}</strong> — <span class='value'>{_esc(value)}</span>; owner "
            f"{_esc(_department_name(config, str(r.owner_department)))}, effort {_esc(r.effort)}.{parts}"
            f"<br>{_esc(r.rationale)}{trade_html}"
            f"<details><summary class='muted'>Evidence: {_esc(_analysis_names(str(r.analysis)))}</summary>"
            f"<span class='muted'>{_esc(_evidence_words(getattr(r, 'evidence', None) or r.evidence_text))} "
            "(library functions: "
            f"<code>{_esc(r.analysis)}</code>)</span></details></li>"
        )
    body = [
        "<p class='lead'>What to change first, ranked by expected annual value (ties: customer-centric first). "
        "Every value comes from the named analysis; the range is the analysis' low and high case.</p>",
        f"<ol class='actions'>{''.join(items)}</ol>" if items else "<p>No action has a positive value.</p>",
    ]
    if len(a):
        body.append(_fig_div(render, actions_chart(plan)))
    for line in plan.unavailable_lines():
        body.append(f"<p class='unavailable'><strong>Not available:</strong> {_esc(line)}</p>")
    return body


def _scorecard_section(sc: Any, render: _Figures) -> list[str]:
    from cx_framework.plots.scorecard import scorecard_heatmap

    period = max(sc.periods) if sc.periods else None
    shared = sc.shared_scores
    latest = shared[pd.to_datetime(shared["period"]) == pd.to_datetime(shared["period"]).max()]
    cols = [c for c in ("department", "composite", "coverage", "status") if c in latest.columns]
    return [
        f"<p class='lead'>Every department scored on the shared customer card for "
        f"{pd.Timestamp(period):%B %Y} (score 0–120: threshold 0, target 100, stretch 120).</p>"
        if period is not None
        else "",
        _fig_div(render, scorecard_heatmap(sc, card="shared")),
        _table(latest[cols], {"composite": _num, "coverage": _pct}),
    ]


def _alignment_section(sc: Any, render: _Figures) -> list[str]:
    from cx_framework.plots.scorecard import alignment_chart, scorecard_heatmap

    a = sc.alignment
    cols = [
        c
        for c in (
            "department",
            "weight_alignment",
            "empirical_r",
            "ci_low",
            "ci_high",
            "n",
            "green_inside_red_outside_latest",
        )
        if c in a.columns
    ]
    flagged = a.loc[
        a.get("green_inside_red_outside_latest", pd.Series(False, index=a.index)).astype(bool), "department"
    ]
    lead = (
        f"Green inside, red outside this month: {', '.join(map(str, flagged))} — the local scorecard says fine "
        "while customers see red."
        if len(flagged)
        else "No department is green on its own card while red on the shared card this month."
    )
    return [
        f"<p class='lead'>Does each department's own scorecard move with the shared customer card? {_esc(lead)}</p>",
        _fig_div(render, alignment_chart(sc)),
        _table(a[cols], {"weight_alignment": _num, "empirical_r": _num, "ci_low": _num, "ci_high": _num}),
        _fig_div(render, scorecard_heatmap(sc, card="local")),
    ]


def _exceptions_section(sc: Any, render: _Figures, config: CxConfig) -> list[str]:
    from cx_framework.plots.scorecard import scorecard_trend_chart

    exc = sc.exceptions
    if exc.empty:
        return ["<p class='lead'>No threshold breaches or control-chart signals.</p>"]
    latest = exc[pd.to_datetime(exc["period"]) == pd.to_datetime(exc["period"]).max()]
    shown = latest.head(15)[
        [
            c
            for c in (
                "period",
                "level",
                "department",
                "team",
                "metric",
                "rule",
                "description",
                "value",
                "severity",
            )
            if c in latest.columns
        ]
    ].copy()
    shown["period"] = pd.to_datetime(shown["period"]).dt.strftime("%Y-%m")
    body = [
        f"<p class='lead'>{len(latest)} exceptions in the latest month ({len(exc)} over the whole history): "
        "threshold breaches and Western Electric control-chart signals in the bad direction, worst first.</p>",
        _table(shown, {"value": _num}),
    ]
    customer = exc[exc["customer_centric"].astype(bool)]
    pick = (customer if len(customer) else exc).iloc[0]
    department = str(pick["department"])
    try:
        fig = scorecard_trend_chart(sc, str(pick["metric"]), department=department)
    except (CxError, KeyError, ValueError):  # no department trend for this metric: show the organisation
        fig = scorecard_trend_chart(sc, str(pick["metric"]), department="organisation")
    body.append(_fig_div(render, fig))
    return body


def _evidence_of(analysis: Any, org_data: Any, config: CxConfig) -> tuple[Any, str | None]:
    """The Analysis' evidence section (:class:`~cx_framework.analysis.sections.EvidenceSection`) and None, or
    None and the reason it cannot run (the section then says so). Without an Analysis one is opened on
    ``org_data``, so the report shows the same edges, intervals and figures as the app and the CLI."""
    if analysis is None:
        from cx_framework.analysis import Analysis

        frames = org_data.tables() if hasattr(org_data, "tables") else org_data
        analysis = Analysis(dict(frames) if isinstance(frames, Mapping) else {}, config)
    try:
        return analysis.result("evidence"), None
    except CxError as exc:
        return None, str(exc)


def _analysis_for(analysis: Any, org_data: Any, config: CxConfig) -> Any:
    """The Analysis the report reads (one is opened on ``org_data`` when none is given)."""
    if analysis is not None:
        return analysis
    from cx_framework.analysis import Analysis

    frames = org_data.tables() if hasattr(org_data, "tables") else org_data
    return Analysis(dict(frames) if isinstance(frames, Mapping) else {}, config)


def _graph_extras(analysis: Any) -> dict[str, Any]:
    """The evidence_comparison and behaviour_intervals sections (or why not) for the incentives section."""
    out: dict[str, Any] = {}
    for name in ("evidence_comparison", "behaviour_intervals"):
        try:
            out[name] = analysis.result(name)
        except CxError as exc:
            out[name] = None
            out[f"{name}_missing"] = str(exc)
    return out


def _comparison_block(extras: Mapping[str, Any], config: CxConfig, evidence: Any = None) -> list[str]:
    """Conflicts and actions on the configured vs the estimated graph, the differences and the edges behind them."""
    from cx_framework.conflicts.comparison import UNIDENTIFIED_NOTE

    comp = extras.get("evidence_comparison")
    if comp is None:
        why = extras.get("evidence_comparison_missing", "did not run")
        return [_unavailable("conflicts and actions on the estimated graph", why)]
    names = {m: spec.name for m, spec in config.metrics.by_id.items()}
    schemes = {s: sch.name for s, sch in config.schemes.items()}

    def rank(v: Any) -> str:
        return "–" if _missing(v) else str(int(v))

    body = [
        "<h3>Configured vs estimated graph</h3>"
        "<p>The conflict matrix and the ranked actions re-run on the elasticities estimated from history instead "
        f"of the configured ones. {_esc(UNIDENTIFIED_NOTE)} The edges behind each difference are named with their "
        "exact part of the change of total effect (resolvent identity: the parts add up to the change). "
        f"<em>{_esc(comp.assumption)}</em></p>"
    ]
    c = comp.conflicts
    if len(c):
        changed = c[c["change"] != "unchanged"]
        order = {"appears": 0, "disappears": 1, "rank changes": 2}
        changed = changed.assign(_o=changed["change"].map(order)).sort_values(
            ["_o", "scheme", "estimated_rank"]
        )
        shown = changed.head(15)
        key = ["scheme", "component", "kpi"]
        ci = evidence.conflicts if evidence is not None else pd.DataFrame()
        if len(ci) and len(shown):  # every conflict shown carries its severity interval under the evidence
            shown = shown.merge(ci[[*key, "severity_low", "severity_high", "status"]], on=key, how="left")
            under = [
                "–" if _missing(lo) else f"{lo:.3g} to {hi:.3g} ({st})"
                for lo, hi, st in zip(
                    shown["severity_low"], shown["severity_high"], shown["status"], strict=True
                )
            ]
        else:
            under = ["–"] * len(shown)
        body.append(
            f"<p>{len(changed)} of {len(c)} scheme component × KPI pairs change"
            + (f" (the first {len(shown)} shown)" if len(shown) < len(changed) else "")
            + ".</p>"
        )
        table = pd.DataFrame(
            {
                "scheme": shown["scheme"].map(lambda x: schemes.get(x, x)),
                "component": shown["component"].map(lambda m: names.get(m, m)),
                "kpi": shown["kpi"].map(lambda m: names.get(m, m)),
                "configured effect (rank)": [
                    f"{v:+.3f} ({rank(r)})" for v, r in zip(shown["total_effect"], shown["rank"], strict=True)
                ],
                "estimated effect (rank)": [
                    f"{v:+.3f} ({rank(r)})"
                    for v, r in zip(shown["estimated_total_effect"], shown["estimated_rank"], strict=True)
                ],
                "change": shown["change"] + shown["sign_flips"].map({True: ", sign flips", False: ""}),
                "severity 95 % under the evidence": under,
                "edges behind the difference": shown["edges_behind"],
            }
        )
        body.append(_table(table))
    acts = comp.actions
    if acts is None:
        body.append(_unavailable("actions on the estimated graph", "; ".join(comp.notes) or "did not run"))
    else:
        listed = acts[acts["rank"].notna() | acts["estimated_rank"].notna()]
        cur = config.economics.currency
        body.append(
            "<p>Ranked actions on both graphs (only the incentive switch depends on the graph; another action "
            "can only move rank because the switch moved).</p>"
            + _table(
                pd.DataFrame(
                    {
                        "action": listed["title"],
                        "rank (configured)": listed["rank"].map(rank),
                        "rank (estimated)": listed["estimated_rank"].map(rank),
                        f"{cur}/year (configured)": listed["expected_annual_value"],
                        f"{cur}/year (estimated)": listed["estimated_expected_annual_value"],
                        "what changes": listed["difference"],
                        "edges behind it": listed["edges_behind"],
                    }
                ),
                {
                    f"{cur}/year (configured)": lambda v: "–" if _missing(v) else f"{float(v):,.0f}",
                    f"{cur}/year (estimated)": lambda v: "–" if _missing(v) else f"{float(v):,.0f}",
                },
            )
        )
    return body


def _evidence_block(bundle: Any, why: str | None, render: _Figures, config: CxConfig) -> list[str]:
    """Every conflict with its interval from the evidence (parameter draws), and the per-edge evidence chart."""
    from cx_framework.plots.evidence import evidence_forest

    if bundle is None:
        return [_unavailable("evidence behind the causal graph", why or "department_metrics missing")]
    evidence, ci = bundle.evidence, bundle.conflicts
    shown = (
        ci[ci["conflict"] | ci["estimated_conflict"]].sort_values("conflict_probability", ascending=False)
        if len(ci)
        else ci
    )
    counts = evidence.verdict_counts
    interval = (
        shown["total_effect_low"].map("{:+.3f}".format)
        + " to "
        + shown["total_effect_high"].map("{:+.3f}".format)
    )
    names = {s: sch.name for s, sch in config.schemes.items()}
    catalogue = config.metrics.by_id

    def metric(m: str) -> str:
        return catalogue[m].name if m in catalogue else m

    table = pd.DataFrame(
        {
            "scheme": shown["scheme"].map(lambda s: names.get(s, s)),
            "component": shown["component"].map(metric),
            "kpi": shown["kpi"].map(metric),
            "configured effect": shown["total_effect"],
            "estimated effect": shown["estimated_total_effect"],
            "95 % interval": interval,
            "P(conflict)": shown["conflict_probability"],
            "severity interval": shown["severity_low"].map("{:.4f}".format)
            + " to "
            + shown["severity_high"].map("{:.4f}".format),
            "status": shown["status"],
        }
    )
    draws = int(ci.attrs.get("draws", 0)) if len(ci) else 0
    drawn = f"{draws:,} draws" if draws else "draws"
    return [
        "<h3>Evidence behind the conflicts</h3>"
        f"<p>Each causal-graph edge was estimated from the monthly department and team metrics: "
        f"{counts['supported']} supported, {counts['contradicted']} contradicted, {counts['not identifiable']} "
        f"not testable with this history. Intervals come from {drawn} of the estimated elasticities; a conflict "
        "is <strong>certain</strong> only when its whole 95 % interval lies on the conflict side. "
        f"<em>{_esc(evidence.assumption)}</em></p>",
        _table(
            table,
            {
                "configured effect": lambda v: f"{float(v):+.3f}",
                "estimated effect": lambda v: f"{float(v):+.3f}",
                "P(conflict)": lambda v: f"{float(v):.0%}",
            },
        ),
        _fig_div(render, evidence_forest(evidence, config=config)),
    ]


def _incentives_section(
    plan: ActionPlan,
    render: _Figures,
    config: CxConfig,
    evidence: Any = None,
    evidence_missing: str | None = None,
    extras: Mapping[str, Any] | None = None,
) -> list[str]:
    from cx_framework.plots.conflicts import behaviour_waterfall, conflict_heatmap

    extras = extras or {}

    matrix = plan.results.get("conflicts")
    if matrix is None:
        return [
            _unavailable(
                "conflict matrix", plan.unavailable.get("conflicts", "no incentive schemes configured")
            )
        ]
    from cx_framework.conflicts.explain import (
        EVIDENCE_COLUMNS,
        TOTAL_EFFECT_CONVENTION,
        TOTAL_EFFECT_LABEL,
        conflict_rows,
    )

    # every conflict with its severity interval and the evidence on its path (the Analysis' evidence section)
    rows_all = conflict_rows(
        matrix,
        config,
        intervals=evidence.conflicts if evidence is not None and len(evidence.conflicts) else None,
        unavailable=None if evidence is not None else (evidence_missing or "the evidence did not run"),
    )
    hidden = ["Path effect", "Strongest path"] if EVIDENCE_COLUMNS[2] in rows_all else ["Path effect"]
    top = rows_all.head(10).drop(columns=hidden)
    count = f"all {len(rows_all)}" if len(top) == len(rows_all) else f"the top {len(top)} of {len(rows_all)}"
    body = [
        "<p class='lead'>Bonus components that pay people to move a shared customer KPI the wrong way (through "
        f"every path of the causal graph): {count} conflicts, most severe first.</p>",
        f"<p>{_esc(TOTAL_EFFECT_CONVENTION)}</p>",
        _fig_div(render, conflict_heatmap(matrix, config=config)),
        _table(
            top,
            {TOTAL_EFFECT_LABEL: lambda v: f"{float(v):+.3f}", "Severity": lambda v: f"{float(v):.4f}"},
        ),
        *_evidence_block(evidence, evidence_missing, render, config),
        *(_comparison_block(extras, config, evidence) if extras else []),
    ]
    behaviour = plan.results.get("behaviour") or {}
    current = plan.assumptions.get("current_scheme")
    if behaviour:
        cur = plan.currency
        small = _small_schemes(plan, config)
        rows = pd.DataFrame(
            [
                {
                    "scheme": config.schemes[sid].name if sid in config.schemes else sid,
                    # a scheme paying too few employees shows no pay total (the report is read outside HR)
                    "payout today": np.nan if sid in small else r.payout_cost["baseline"],
                    "payout after response": np.nan if sid in small else r.payout_cost["scheme"],
                    "customer KPI index": r.customer_kpi_index,
                    "extra churned / month": r.extra_churned_customers,
                    "net value / month": r.net_value,
                }
                for sid, r in behaviour.items()
            ]
        )
        money = lambda v: "withheld" if pd.isna(v) else f"{cur} {float(v):,.0f}"  # noqa: E731
        intervals = extras.get("behaviour_intervals")
        interval_note = ""
        if intervals is not None:  # the behaviour value with its interval over the estimated graph
            by_id = intervals.set_index("scheme")
            ids = list(behaviour)
            rows["net value, estimated graph"] = [by_id.loc[s, "estimated_net_value"] for s in ids]
            rows["95 % interval"] = [
                f"{cur} {by_id.loc[s, 'net_value_low']:,.0f} to {by_id.loc[s, 'net_value_high']:,.0f}"
                for s in ids
            ]
            rows["certain"] = [
                "yes" if by_id.loc[s, "net_value_certain"] else "no: the interval includes zero" for s in ids
            ]
            interval_note = (
                f" The 95 % interval is over {int(intervals.attrs.get('draws', 0)):,} draws of the causal graph "
                "estimated from history (the behaviour response held fixed); a value is certain only when its "
                "interval excludes zero. Estimated elasticities are associations under the graph's assumptions."
            )
        elif extras:
            interval_note = " Interval not available: " + str(extras.get("behaviour_intervals_missing", ""))
        body.append(
            "<p>Behaviour simulation per month (today's scheme: <strong>"
            f"{_esc(config.schemes[current].name if current in config.schemes else current)}</strong>).</p>"
            + _table(
                rows,
                {
                    "payout today": money,
                    "payout after response": money,
                    "customer KPI index": lambda v: f"{float(v):+.2%}",
                    "extra churned / month": lambda v: f"{float(v):+,.1f}",
                    "net value / month": money,
                    "net value, estimated graph": money,
                },
            )
            + (f"<p>{_esc(interval_note.strip())}</p>" if interval_note else "")
            + "".join(
                f"<p class='muted'>Payout of {_esc(config.schemes[sid].name if sid in config.schemes else sid)} "
                f"withheld: {_esc(why)}.</p>"
                for sid, why in small.items()
            )
        )
        chosen = next(
            (
                r["evidence"]["better_scheme"]
                for _, r in plan.actions.iterrows()
                if r["kind"] == "change_incentive"
            ),
            current if current in behaviour else next(iter(behaviour)),
        )
        body.append(_fig_div(render, behaviour_waterfall(behaviour[chosen], config=config)))
    else:
        body.append(_unavailable("behaviour simulation", plan.unavailable.get("behaviour", "did not run")))
    body.extend(_winners_losers_block(plan, config))
    return body


def _small_schemes(plan: ActionPlan, config: CxConfig) -> dict[str, str]:
    """Schemes paying fewer than the report reader's ``min_group_size`` employees, with the reason their pay
    totals are withheld (none when the plan has no scheme comparison)."""
    comparison = plan.results.get("scheme_comparison")
    if comparison is None:
        return {}
    return comparison.for_viewer(_report_reader(config)).withheld  # type: ignore[no-any-return]


def _winners_losers_block(plan: ActionPlan, config: CxConfig) -> list[str]:
    """Who gains and who loses under each scheme vs the one in force, per department and role — for leadership,
    so groups of fewer than ``min_group_size`` employees (access.yaml, default 5) are always merged
    (:func:`cx_framework.access.merge_small_groups`): the report is read outside HR."""
    from cx_framework.access import merge_small_groups
    from cx_framework.incentives import WINNERS_LOSERS_GROUPS

    comparison = plan.results.get("scheme_comparison")
    if comparison is None or comparison.winners_losers.empty:
        return []
    min_size = _report_reader(config).min_group_size
    wl = merge_small_groups(comparison.winners_losers, min_size, **WINNERS_LOSERS_GROUPS)
    departments = {d.id: d.name for d in config.organisation.departments}
    schemes = {sid: sch.name for sid, sch in config.schemes.items()}
    cur = plan.currency
    shown = pd.DataFrame(
        {
            "scheme": wl["scheme"].map(schemes).fillna(wl["scheme"]),
            "department": wl["department"].map(departments).fillna(wl["department"]),
            "role": wl["role"].astype(str).str.replace("_", " "),
            "employees": wl["employees"],
            "gain": wl["winners"],
            "lose": wl["losers"],
            "mean change": wl["mean_change"],
            "total change": wl["total_change"],
        }
    )
    baseline = schemes.get(comparison.baseline, comparison.baseline)
    money = lambda v: f"{cur} {float(v):+,.0f}"  # noqa: E731
    count = lambda v: f"{int(v):,}"  # noqa: E731
    note = wl.attrs.get("suppression") or (
        f"Every group has at least {min_size} employees; smaller groups would be merged."
    )
    return [
        f"<p>Who gains and who loses vs today's scheme (<strong>{_esc(baseline)}</strong>), total pay over the "
        "data per employee, by department and role.</p>",
        _table(
            shown,
            {"gain": count, "lose": count, "mean change": money, "total change": money},
        ),
        f"<p class='muted'>{_esc(note)}</p>",
    ]


def _sla_section(plan: ActionPlan, render: _Figures, config: CxConfig) -> list[str]:
    from cx_framework.plots.conflicts import sla_chain_density

    chains = plan.results.get("sla_chains")
    if not chains:
        return [_unavailable("SLA chains", plan.unavailable.get("sla_chains", "no journeys"))]
    body = [
        "<p class='lead'>Each journey's end-to-end time is the sum of its stages and hand-off waits; every "
        "department can meet its own SLA while the customer's promise is missed.</p>"
    ]
    for jid, chain in chains.items():
        journey = config.slas.journey(jid)
        verdict = "meets" if chain.meets_promise else "misses"
        body.append(
            f"<h3>{_esc(journey.name)}</h3><p>P(end to end ≤ {chain.promise_h:g} h) = "
            f"<strong>{chain.p_within_promise:.1%}</strong> against a promise of {journey.promise.percent:.0%}: it "
            f"{verdict} the promise"
            + (
                " although every stage is green."
                if chain.every_stage_green and not chain.meets_promise
                else "."
            )
            + "</p>"
        )
        body.append(_fig_div(render, sla_chain_density(chain)))
        stages = chain.stages[
            [
                "component",
                "kind",
                "department",
                "sla_h",
                "p_within_sla",
                "meets_sla",
                "mean_h",
                "share_of_miss",
            ]
        ]
        body.append(
            _table(
                stages,
                {
                    "sla_h": lambda v: f"{float(v):g}",
                    "p_within_sla": _pct,
                    "mean_h": lambda v: f"{float(v):.1f}",
                    "share_of_miss": _pct,
                },
            )
        )
    return body


def _staffing_section(plan: ActionPlan, render: _Figures) -> list[str]:
    gap = plan.results.get("budget_gap")
    if gap is None:
        return [_unavailable("staffing budget gap", plan.unavailable.get("budget_gap", "did not run"))]
    return [
        "<p class='lead'>The last three months of demand staffed as today (today's rostered agents are the "
        "funded FTE) against the Erlang C requirement of the service-level target.</p>",
        f"<p>{_esc(gap.summary())}</p>",
        _fig_div(render, gap.plot()),
    ]


def _retention_section(plan: ActionPlan, render: _Figures) -> list[str]:
    body = []
    retention = plan.results.get("retention")
    if retention is None:
        body.append(_unavailable("retention model", plan.unavailable.get("retention", "did not run")))
    else:
        from cx_framework.plots.retention import dose_response_figure

        me = retention.marginal_effect
        body.append(
            "<p class='lead'>Next-month churn of customers who called, against the service level they "
            f"experienced (logit, customer-clustered errors; {retention.nobs:,} customer-months). One point more "
            f"service level changes next-month churn by {100 * me.estimate:+.3f} percentage points (95% CI "
            f"{100 * me.lower:+.3f} to {100 * me.upper:+.3f}). This is an association, not proof of cause.</p>"
        )
        body.append(_fig_div(render, dose_response_figure(retention)))
    opt = plan.results.get("service_level")
    if opt is None:
        body.append(
            _unavailable("optimal service level", plan.unavailable.get("service_level", "did not run"))
        )
    else:
        from cx_framework.plots.retention import sl_value_curve_figure

        body.append(f"<p>{_esc(opt.explain())}</p>")
        body.append(_fig_div(render, sl_value_curve_figure(opt)))
    return body


def _failure_demand_section(
    plan: ActionPlan,
    render: _Figures,
    *,
    keep_ids: bool,
    id_key: bytes | str | None,
    config: CxConfig | None = None,
) -> list[str]:
    from cx_framework.plots.failure_demand import failure_demand_pareto, fix_vs_absorb_curves, source_names

    fd = plan.results.get("failure_demand")
    if fd is None:
        return [_unavailable("failure demand", plan.unavailable.get("failure_demand", "did not run"))]
    body = [
        "<p class='lead'>Contacts caused by a failure somewhere else (Seddon's failure demand), attributed to the "
        "department whose failure started the customer's chase.</p>",
        "<p>" + "<br>".join(_esc(line) for line in fd.summary_text().splitlines()) + "</p>",
        _fig_div(render, failure_demand_pareto(fd, config=config)),
    ]
    table = fd.by_department[
        [
            "originating_department",
            "failure",
            "repeat",
            "failure_demand",
            "failure_demand_share",
            "failure_cost",
        ]
    ]
    body.append(
        _table(
            table,
            {"failure_demand_share": _pct, "failure_cost": lambda v: f"{plan.currency} {float(v):,.0f}"},
        )
    )
    fixes = plan.results.get("fix_vs_absorb") or {}
    if fixes:
        top_source = next(iter(fd.by_department["originating_department"]))
        central = fixes.get(top_source, next(iter(fixes.values())))["central"]
        body.append(f"<p>{_esc(central.summary(name=source_names(config).get(central.source)))}</p>")
        body.append(_fig_div(render, fix_vs_absorb_curves(central, config=config)))
    # the customers with the longest chases, for the owner to follow up (ids pseudonymised unless keep_ids)
    chains = fd.top_chains
    if chains is not None and len(chains):
        chains = chains[["customer_id", "root_reason", "originating_department", "repeats"]].copy()
        chains = pseudonymise_customer_ids(chains, keep_ids=keep_ids, id_key=id_key)
        note = "customer ids as recorded" if keep_ids else "customer ids pseudonymised with a keyed hash"
        body.append(f"<p>Longest repeat-contact chains ({note}):</p>" + _table(chains))
    return body


# ------------------------------------------------------------------------------------------------ report
def build_report(
    org_data: Any,
    config: CxConfig,
    out_path: str | os.PathLike[str],
    *,
    plan: ActionPlan | None = None,
    top: int = 10,
    period: Any = None,
    assumptions: Mapping[str, Any] | None = None,
    keep_ids: bool = False,
    id_key: bytes | str | None = None,
    title: str | None = None,
    progress: Callable[[str], None] | None = None,
    analysis: Any = None,
) -> Path:
    """Write the leadership report: one self-contained, offline HTML file (written atomically).

    Sections (:data:`SECTIONS`): executive summary (top actions), shared scorecard, department alignment,
    exceptions, incentive conflicts, SLA chains, staffing vs budget, service level ↔ retention and value, failure
    demand — each with at least one figure. A section whose engine could not run says "Not available" and why;
    no number is ever filled in.

    Parameters
    ----------
    org_data : SyntheticOrg or dict of str -> DataFrame
        The organisation's validated tables.
    config : CxConfig
    out_path : str or path-like
        Target ``.html`` file.
    plan : ActionPlan, optional
        A :func:`~cx_framework.actions.recommend_actions` result to reuse (its engine results feed every
        section); computed when omitted.
    top, period, assumptions
        Passed to :func:`~cx_framework.actions.recommend_actions`.
    keep_ids : bool, default False
        Show customer ids as recorded instead of keyed-hash pseudonyms.
    id_key : bytes or str, optional
        Pseudonymisation key (see module docstring).
    title : str, optional
        Report title (default: the organisation's name).
    progress : callable, optional
        Called with a label before each step.
    analysis : Analysis, optional
        The :class:`~cx_framework.analysis.Analysis` whose figures and engine results the report shows (the CLI
        passes it); its action plan is used and the "Headline figures" and "Assumptions" sections list the same
        figures, labels and assumptions as the app and ``cx ... --json``. Without it the plan is computed here.

    Returns
    -------
    pathlib.Path
    """
    from cx_framework.actions import recommend_actions
    from cx_framework.io import write_text_atomic

    step = progress or (lambda _label: None)
    if plan is None and analysis is not None:
        plan = analysis.result("actions")
    if plan is None:
        plan = recommend_actions(
            org_data, config, period=period, top=top, assumptions=assumptions, progress=progress
        )
    from cx_framework.analysis.sections import _plan_for

    # the report is read outside HR: no per-employee pay, no switch to a scheme paying too few people
    plan = _plan_for(plan, _report_reader(config))
    render = _Figures()
    sc = plan.results.get("scorecard")
    sections: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        step("report: executive summary")
        sections.append(_section("summary", _summary_section(plan, render, config)))
        step("report: headline figures")
        sections.append(_section("figures", _figures_section(analysis)))
        sections.append(_section("assumptions", _assumptions_section(analysis, plan)))
        step("report: scorecard")
        if sc is None:
            reason = plan.unavailable.get("scorecard", "did not run")
            for key in ("scorecard", "alignment", "exceptions"):
                sections.append(_section(key, [_unavailable("scorecard", reason)]))
        else:
            sections.append(_section("scorecard", _scorecard_section(sc, render)))
            sections.append(_section("alignment", _alignment_section(sc, render)))
            sections.append(_section("exceptions", _exceptions_section(sc, render, config)))
        step("report: incentives")
        report_analysis = _analysis_for(analysis, org_data, config)
        evidence, evidence_missing = _evidence_of(report_analysis, org_data, config)
        extras = _graph_extras(report_analysis) if config.schemes else {}
        sections.append(
            _section(
                "incentives", _incentives_section(plan, render, config, evidence, evidence_missing, extras)
            )
        )
        step("report: SLA chains")
        sections.append(_section("sla", _sla_section(plan, render, config)))
        step("report: staffing")
        sections.append(_section("staffing", _staffing_section(plan, render)))
        step("report: retention")
        sections.append(_section("retention", _retention_section(plan, render)))
        step("report: failure demand")
        sections.append(
            _section(
                "failure_demand",
                _failure_demand_section(plan, render, keep_ids=keep_ids, id_key=id_key, config=config),
            )
        )
    name = title or f"{config.organisation.name}: leadership briefing"
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    nav = "".join(f"<a href='#{k}'>{_esc(v)}</a>" for k, v in SECTIONS.items())
    document = (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_esc(name)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{_esc(name)}</h1><p>Generated {generated} by cx_framework. Works offline: every chart and "
        "script is inside this file.</p></header>"
        f"<nav>{nav}</nav><main>{''.join(sections)}</main>"
        "<footer>Values are per year in "
        f"{_esc(plan.currency)} unless stated. Assumptions: {_esc(_assumption_text(plan.assumptions))}</footer>"
        "</body></html>\n"
    )
    target = Path(out_path)
    step("report: writing")
    return write_text_atomic(target, document)


def _figures_section(analysis: Any) -> list[str]:
    """Every headline figure of the Analysis with the registry's label, formatted value, period and definition
    (``data-figure-id`` / ``data-value`` carry the id and the unrounded value for checks)."""
    if analysis is None:
        return [_unavailable("headline figures", "the report was built without an Analysis")]
    rows = []
    # the report is read outside HR: a pay figure over fewer than min_group_size employees is withheld
    for f in analysis.figures_for(_report_reader(analysis.config)):
        value = "" if f.value is None else _esc(f.value)
        rows.append(
            f"<tr data-figure-id='{_esc(f.id)}' data-value='{value}'><td>{_esc(f.label)}</td>"
            f"<td class='num'>{_esc(f.formatted())}</td><td>{_esc(f.period or 'all data')}</td>"
            f"<td class='muted'>{_esc(f.definition)}</td></tr>"
        )
    body = [
        "<p>The figures every surface (app, command line, this report) shows, computed once from the same data, "
        "configuration and assumptions.</p>",
        "<table class='figures'><thead><tr><th>Figure</th><th>Value</th><th>Period</th><th>Definition</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>",
    ]
    for name, reason in analysis.unavailable().items():
        body.append(_unavailable(name, reason))
    return body


def _report_reader(config: CxConfig) -> Any:
    """Who the report is written for: leadership, so no individual pay and no pay aggregate over fewer than
    access.yaml's ``min_group_size`` employees (default 5 when access control is off)."""
    from cx_framework.access import DEFAULT_MIN_GROUP_SIZE, Viewer, find_access_file, load_access

    path = find_access_file(config.directory)
    min_size = load_access(path).min_group_size if path is not None else DEFAULT_MIN_GROUP_SIZE
    return Viewer(user="(report reader)", role="leadership", min_group_size=min_size)


def _assumptions_section(analysis: Any, plan: ActionPlan) -> list[str]:
    if analysis is None:
        return [f"<p>{_esc(_assumption_text(plan.assumptions))}</p>"]
    items = "".join(f"<li>{_esc(line)}</li>" for line in analysis.assumptions_lines())
    return [
        "<p>Set in <code>configs/assumptions.yaml</code> (analytical choices) and <code>economics.yaml</code> "
        f"(money, shrinkage, service-level target); changing one changes every surface. Figures "
        f"{_esc(analysis.age_text())}.</p>",
        f"<ul class='assumptions'>{items}</ul>",
    ]


def _assumption_text(assumptions: Mapping[str, Any]) -> str:
    return "; ".join(f"{k} = {v}" for k, v in assumptions.items() if k != "fix_costs" or v)
