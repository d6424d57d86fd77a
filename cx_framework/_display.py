"""Rich display of result objects in Jupyter: key figures with labels and units, a small table, the caveats.

In the spirit of statsmodels' ``summary()``: a result object that defines ``_repr_html_`` (IPython's rich display
protocol, https://ipython.readthedocs.io/en/stable/config/integrating.html#rich-display) renders as a compact card
instead of a wall of ``repr`` text. Every piece of text is HTML-escaped: ids, names and values come from user data.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["html_card", "figure_rows", "DEFAULT_ROWS"]

#: Rows shown of a result's table; the card says how many more there are.
DEFAULT_ROWS = 10

_STYLE = (
    "font-family:system-ui,-apple-system,Segoe UI,sans-serif;font-size:13px;line-height:1.4;"
    "border:1px solid #d0d4dc;border-radius:6px;padding:10px 14px;max-width:980px"
)


def _cell(value: Any) -> str:
    """One table cell as text: floats with at most 4 significant decimals, missing values as an en dash."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return "–"
    if isinstance(value, float | np.floating):
        magnitude = abs(float(value))
        if magnitude >= 1000:
            return f"{float(value):,.0f}"
        return f"{float(value):.4g}"
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m}" if value == value.normalize() and value.day == 1 else str(value)
    return str(value)


def _table(frame: pd.DataFrame, max_rows: int) -> str:
    shown = frame.head(max_rows)
    head = "".join(
        f"<th style='text-align:left;padding:2px 8px'>{html.escape(str(c))}</th>" for c in shown.columns
    )
    body = "".join(
        "<tr>" + "".join(f"<td style='padding:2px 8px'>{html.escape(_cell(v))}</td>" for v in row) + "</tr>"
        for row in shown.itertuples(index=False, name=None)
    )
    more = len(frame) - len(shown)
    note = f"<div style='color:#666'>… {more:,} more rows (of {len(frame):,})</div>" if more > 0 else ""
    return f"<table style='border-collapse:collapse'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"


def html_card(
    title: str,
    *,
    text: str | None = None,
    figures: Iterable[tuple[str, str]] = (),
    table: pd.DataFrame | None = None,
    table_title: str | None = None,
    caveats: Sequence[str] = (),
    max_rows: int = DEFAULT_ROWS,
) -> str:
    """An HTML card: a title, labelled key figures, an optional small table and the caveats.

    Parameters
    ----------
    title : str
        What the result is, e.g. ``"Scorecard, 2025-11"``.
    text : str, optional
        A sentence under the title (a verdict or a definition).
    figures : iterable of (label, formatted value)
        Key figures with their units already in the formatted value (``("Realised service level", "74.3 %")``).
    table : pandas.DataFrame, optional
        Shown with at most ``max_rows`` rows; the card says how many rows were left out.
    table_title : str, optional
        Caption above the table.
    caveats : sequence of str
        Caveats and assumptions, shown as a list under the figures.
    max_rows : int
        Rows of ``table`` shown (default 10).

    Returns
    -------
    str
        Self-contained HTML (inline styles, no scripts).
    """
    parts = [
        f"<div style='{_STYLE}'>",
        f"<div style='font-weight:600;font-size:15px'>{html.escape(title)}</div>",
    ]
    if text:
        parts.append(f"<div style='margin-top:4px;color:#333'>{html.escape(text)}</div>")
    rows = "".join(
        f"<tr><td style='padding:1px 12px 1px 0;color:#444'>{html.escape(label)}</td>"
        f"<td style='padding:1px 0;font-weight:600'>{html.escape(value)}</td></tr>"
        for label, value in figures
    )
    if rows:
        parts.append(f"<table style='margin:6px 0'>{rows}</table>")
    if table is not None and len(table.columns):
        if table_title:
            parts.append(f"<div style='margin-top:6px;font-weight:600'>{html.escape(table_title)}</div>")
        parts.append(_table(table, max_rows))
    if caveats:
        items = "".join(f"<li>{html.escape(c)}</li>" for c in caveats if c)
        parts.append(f"<ul style='margin:6px 0 0 0;padding-left:18px;color:#555'>{items}</ul>")
    parts.append("</div>")
    return "".join(parts)


def figure_rows(figures: Iterable[Any]) -> list[tuple[str, str]]:
    """``(label, formatted value)`` of registry figures (:class:`cx_framework.figures.Figure`) for
    :func:`html_card`: the same text the app, CLI and report show."""
    return [(str(f.label), str(f.formatted())) for f in figures]
