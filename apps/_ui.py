"""Shared look of the pages: titles, metric help from the catalogue, status colours, formatted tables."""

from __future__ import annotations

import math
from typing import Any

import _state as state
import pandas as pd
import streamlit as st

from cx_framework.plots._style import STATUS_COLOURS

_TILE_CSS = """<style>
[data-testid="stMetricLabel"], [data-testid="stMetricLabel"] * {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
}
[data-testid="stMetricLabel"] { height: auto !important; min-height: 2.6em; align-items: flex-start; }
</style>"""


def page(title: str, question: str) -> state.Source:
    """Page title, the question the page answers, and the data-source line; returns the data source."""
    # metric tiles wrap a long label (the registry's labels, e.g. "Service level the funded FTE would buy if
    # scheduled to the workload") instead of cutting it with an ellipsis at the default width
    st.html(_TILE_CSS)
    st.title(title)
    src = state.source()
    st.caption(f"{question}  \nData: {state.describe(src)}.")
    # partial data: a missing or invalid table only stops the analyses that need it (they say so)
    a = state.analysis(src)
    files = getattr(a.tables, "files", None)
    problems = a.table_problems
    absent = [name for name in problems if files is not None and name not in files]
    if absent:
        st.info(
            f"Not in the data: {', '.join(f'**{n}**' for n in absent)}. The analyses that need "
            f"{'it' if len(absent) == 1 else 'them'} say so where they would be shown; everything else uses the "
            "tables there are.",
            icon=":material/info:",
        )
    for name, reason in problems.items():
        if name not in absent:
            st.warning(f"Table **{name}** is not usable: {reason}")
    return src


def metric_name(metric: str) -> str:
    m = state.config().metrics.by_id.get(metric)
    return m.name if m is not None else metric


def metric_label(metric: str) -> str:
    """Name and unit, e.g. ``First-contact resolution (share)``."""
    m = state.config().metrics.by_id.get(metric)
    return f"{m.name} ({m.unit})" if m is not None else metric


def metric_help(metric: str) -> str | None:
    """The catalogue definition (with unit and direction) for help tooltips."""
    m = state.config().metrics.by_id.get(metric)
    if m is None:
        return None
    better = "higher is better" if m.direction == "higher_is_better" else "lower is better"
    return f"{m.definition} — unit: {m.unit}; {better}."


def metric_glossary(metrics: list[str]) -> None:
    """An expander with the catalogue definitions of ``metrics``."""
    with st.expander("What do these metrics mean?"):
        for metric in dict.fromkeys(metrics):
            help_text = metric_help(metric)
            if help_text:
                st.markdown(f"**{metric_name(metric)}** — {help_text}")


def _text_colour(status: Any) -> str:
    """Black on the light status colours (amber, grey), white on the dark ones."""
    return "#000" if status in ("amber", "no data", "not scored") else "#fff"


def badge(status: str) -> str:
    """HTML badge of a status in the colour-blind-safe status palette (use with ``unsafe_allow_html=True``);
    the status word is always written, so colour is never the only cue."""
    colour = STATUS_COLOURS.get(str(status), "#BBBBBB")
    return (
        f'<span style="background:{colour};color:{_text_colour(status)};border-radius:0.4rem;padding:0.05rem 0.45rem;'
        f'font-size:0.85rem;font-weight:600">{status}</span>'
    )


def status_text(status: str) -> str:
    """Plain-text status (for places that cannot render HTML)."""
    return str(status)


def style_status(frame: pd.DataFrame, columns: list[str]) -> Any:
    """Styler colouring status cells with the colour-blind-safe status palette (text keeps the status word)."""

    def colour(value: Any) -> str:
        c = STATUS_COLOURS.get(str(value))
        return f"background-color: {c}; color: {_text_colour(value)}" if c else ""

    return frame.style.map(colour, subset=[c for c in columns if c in frame.columns])


def where(frame: pd.DataFrame, names: dict[str, str]) -> pd.Series:
    """``Department name / team`` of each row (the department id when it has no name; no team part when null)."""
    names = {"organisation": "Whole organisation", **names}
    return frame["department"].map(names).fillna(frame["department"]) + frame["team"].fillna("").map(
        lambda t: f" / {t}" if t else ""
    )


def money_short(value: float, currency: str | None = None) -> str:
    """Money in thousands / millions for metric tiles: ``GBP 962.1k``."""
    currency = currency if currency is not None else state.config().economics.currency
    sign = "−" if value < 0 else ""
    v = abs(value)
    if v >= 1e6:
        return f"{sign}{currency} {v / 1e6:,.2f}m"
    if v >= 1e4:
        return f"{sign}{currency} {v / 1e3:,.1f}k"
    return money(value, currency)


def money(value: float, currency: str | None = None) -> str:
    currency = currency if currency is not None else state.config().economics.currency
    sign = "−" if value < 0 else ""
    return f"{sign}{currency} {abs(value):,.0f}"


def pct(value: float, digits: int = 1) -> str:
    return f"{value:.{digits}%}"


def chart(fig: Any, key: str | None = None) -> None:
    st.plotly_chart(fig, width="stretch", key=key)


def unit_suffix(metric: str) -> str:
    """`` (unit)`` for labels of metrics whose tiles show the bare number (not shares, seconds or money)."""
    m = state.config().metrics.by_id.get(metric)
    if m is None or m.unit.startswith(("share", "currency")) or m.unit in ("seconds", "hours"):
        return ""
    return f" ({m.unit})"


def fmt_value(metric: str, value: float, *, unit: bool = True) -> str:
    """A metric value in its catalogue unit: shares as percent, seconds/hours with the unit, money with currency;
    ``unit=False`` drops a free-text unit (put it in the label with :func:`unit_suffix`)."""
    if value is None or pd.isna(value):
        return "no data"
    m = state.config().metrics.by_id.get(metric)
    name = m.unit if m is not None else ""
    if name.startswith("share"):
        return f"{value:.1%}" if name == "share" else f"{value:.1%} {name[len('share') :].strip()}"
    if name == "seconds":
        return f"{value:,.0f} s"
    if name == "hours":
        return f"{value:,.1f} h"
    if name.startswith("currency"):
        return money(value) + name[len("currency") :]
    number = _number(value, name)
    return f"{number} {_short_unit(name)}".strip() if unit else number


def _short_unit(unit: str) -> str:
    """``units per month`` -> ``units/month`` (compact units next to a number)."""
    return unit.replace(" per month", "/month").replace(" per year", "/year")


def _number(value: float, unit: str) -> str:
    """A bare number at the precision its unit deserves: whole counts without decimals, points with one."""
    if unit.startswith("points"):
        return f"{value:,.1f}"
    counts = ("units", "calls", "contacts", "customers", "employees", "journeys", "items")
    if unit.startswith(counts) or abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def fmt_delta(metric: str, change: float) -> str:
    """A change of a metric: percentage points for shares, else the value format without a free-text unit."""
    m = state.config().metrics.by_id.get(metric)
    if m is not None and m.unit.startswith("share"):
        return f"{change * 100:+.1f} pts"  # percentage points, never "%" (a change of a share)
    if m is not None and m.unit.startswith("points"):
        return f"{change:+.1f} points"
    return ("+" if change > 0 else "") + fmt_value(metric, change, unit=False)


def light_layout(fig: Any, *, title: str | None = None, height: int = 380) -> Any:
    """The look of :func:`cx_framework.plots._style.apply_style` without copying a named template (that copy
    costs ~0.1 s per figure, too slow for the HR modeller's live charts)."""
    from cx_framework.plots._style import PALETTE

    fig.update_layout(
        colorway=PALETTE,
        height=height,
        margin={"l": 60, "r": 40, "t": 100 if title else 50, "b": 60},
        font={"size": 13},
        legend={"orientation": "h", "x": 0.0, "y": 1.02, "xanchor": "left", "yanchor": "bottom"},
        modebar={"orientation": "v"},
        plot_bgcolor="white",
        title={"text": title, "x": 0.0, "y": 0.98, "yanchor": "top", "xref": "container"} if title else None,
    )
    fig.update_xaxes(gridcolor="#E5ECF6", linecolor="#BBB")
    fig.update_yaxes(gridcolor="#E5ECF6", linecolor="#BBB")
    return fig


def caveats(messages: list[str]) -> None:
    """Statistical caveats of a result, shown next to it (never hidden, never an error), with the catalogue's and
    organisation's names in place of the ids the library's notes carry (``agent_attrition`` -> Agent attrition)."""
    for message in messages:
        st.caption(f"Caveat: {named(message)}")


def named(text: str) -> str:
    """``text`` with every metric and department id (a whole word) replaced by its name from config."""
    import re

    cfg = state.config()
    names = {m.id: m.name for m in cfg.metrics.metrics}
    names.update({d.id: d.name for d in cfg.organisation.departments})
    if not names:
        return text
    pattern = re.compile(
        r"(?<![\w.])(" + "|".join(map(re.escape, sorted(names, key=len, reverse=True))) + r")(?![\w])"
    )
    return pattern.sub(lambda m: names[m.group(1)], text)


def current_scheme() -> str | None:
    """Id of the scheme in force today (``assumptions.current_scheme``, as the Analysis resolves it), or None."""
    current = state.current_scheme(state.source())
    return current if current in state.config().schemes else None


def humanise(identifier: str) -> str:
    """A readable name for an id that has no name in config (a journey stage: ``order_capture`` -> ``Order
    capture``)."""
    text = str(identifier).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def score_text(value: Any) -> str:
    """``48 / 120``, or ``not scored`` for a missing score (no data, or a month that is still incomplete)."""
    return "not scored" if value is None or pd.isna(value) else f"{float(value):.0f} / 120"


def default_period(src: state.Source, periods: list[Any]) -> Any:
    """The reporting month of the Analysis among ``periods`` (assumptions.yaml ``as_of``; by default the latest
    complete month, :func:`cx_framework.maturity.latest_complete_period`): later months hold metrics that need
    data not observed yet (next-month churn, open journeys). Resolved once by the Analysis (and kept in its disk
    cache), so no page reads and validates the tables just to know it."""
    latest = state.as_of(src)
    candidates = [p for p in periods if p <= latest]
    return candidates[-1] if candidates else periods[-1]


def scheme_problem(exc: Any, weight_sum: float | None = None) -> str:
    """A scheme-editor error in HR's words: which row and column to change, without file names or key paths."""
    text = str(exc)
    key = str(getattr(exc, "key", "") or "")
    if "weights sum to" in text or (
        weight_sum is not None and abs(weight_sum - 1.0) > 1e-6 and "weight" in text
    ):
        total = f"{weight_sum:.2f}" if weight_sum is not None else "a different total"
        return (
            f"The component weights add up to {total}, not 1.00. Change the **Weight** column so the weights add "
            "up to 1 (for example 0.50 + 0.30 + 0.20), or use *re-weight one component* above, which rescales the "
            "others for you."
        )
    row = ""
    parts = [p for p in key.replace("]", "").replace("[", ".").split(".") if p]
    if len(parts) >= 2 and parts[0] in ("components", "gates") and parts[1].isdigit():
        row = f"{'Component' if parts[0] == 'components' else 'Gate'} row {int(parts[1]) + 1}: "
    # drop the library's file / key prefix ("scheme.yaml: components[2].threshold: ...")
    message = text.split(": ", 2)[-1] if text.count(": ") >= 2 else text
    return f"{row}{message[:1].upper()}{message[1:]}"


# ---------------------------------------------------------------------------------------- readable tables
#: Streamlit's grid wraps a cell's text only when its rows are taller than 4 rem (64 px; Streamlit 1.56 and
#: later): one wrapped line is ~20 px of 14 px text plus the cell's padding
_LINE_PX, _PAD_PX, _WRAP_MIN_PX = 20, 12, 65


def wrapped_rows(lines: int) -> int:
    """``row_height`` (px) of an ``st.dataframe`` whose cells wrap onto up to ``lines`` lines."""
    return max(_WRAP_MIN_PX, _PAD_PX + _LINE_PX * lines)


def text_lines(frame: pd.DataFrame, widths: dict[str, int]) -> int:
    """How many wrapped lines the longest cell of ``frame`` needs in the given pixel widths (~6.5 px a character
    of the grid's 14 px font, a little more than the average so word breaks fit, less the cell's padding), at
    least 1."""
    need = 1
    for column, px in widths.items():
        if column in frame.columns and len(frame):
            chars = int(frame[column].astype(str).str.len().max())
            need = max(need, math.ceil(chars * 6.5 / max(1, px - 16)))
    return need


def text_table(
    frame: Any,
    widths: dict[str, int],
    *,
    column_config: dict[str, Any] | None = None,
    max_lines: int = 5,
    **kwargs: Any,
) -> None:
    """``st.dataframe`` whose long text columns wrap in fixed pixel widths instead of being cut with an ellipsis
    (``widths``: column -> px; the rows get the height the longest cell needs, up to ``max_lines``)."""
    data = frame.data if hasattr(frame, "data") and not isinstance(frame, pd.DataFrame) else frame
    config = dict(column_config or {})
    for column, px in widths.items():
        current = config.get(column)
        if current is None or isinstance(current, str):
            config[column] = st.column_config.TextColumn(current, width=px)
        else:
            config[column] = {**current, "width": px}
    lines = min(max_lines, text_lines(data, widths))
    row_height = wrapped_rows(lines) if lines > 1 else None
    if row_height is not None and "height" not in kwargs:
        # tall rows: show up to 12 of them without scrolling inside the table (its default fits ~5 wrapped rows)
        kwargs["height"] = 38 + row_height * min(len(data), 12)
    st.dataframe(
        frame,
        hide_index=kwargs.pop("hide_index", True),
        width=kwargs.pop("width", "stretch"),
        column_config=config,
        row_height=row_height,
        placeholder=kwargs.pop("placeholder", "–"),
        **kwargs,
    )


def conflict_tables(rows: pd.DataFrame, *, key: str, total_effect_help: str) -> None:
    """The rows of ``cx_framework.conflicts.explain.conflict_rows`` as two tables that fit a 1400-px window with
    the sidebar open, every sentence wrapped, nothing cut: what each conflict does and how sure it is, then the
    causal path behind it with the verdict of every edge (the path with verdicts replaces the bare path when the
    evidence ran)."""
    from cx_framework.conflicts.explain import EVIDENCE_COLUMNS, TOTAL_EFFECT_LABEL

    rows = rows.drop(columns=[c for c in ("Scheme",) if c in rows.columns])
    what = next(c for c in rows.columns if c.startswith("What the "))
    departments = "Department" in rows.columns
    first = ["Department", "Objective"] if departments else ["Bonus component"]
    widths = {"Department": 110, "Objective": 160} if departments else {"Bonus component": 170}
    kpi_px = 130 if departments else 140
    number = {
        TOTAL_EFFECT_LABEL: st.column_config.NumberColumn(
            "Total effect", format="%+.3f", help=total_effect_help, width=100
        ),
        "Severity": st.column_config.NumberColumn(
            format="%.4f", help="|total effect| × component weight × KPI weight", width=75
        ),
        "Path effect": st.column_config.NumberColumn(
            format="%+.3f", help="Product of the elasticities along the strongest path", width=95
        ),
        EVIDENCE_COLUMNS[0]: st.column_config.TextColumn(
            "Severity, estimated (95 % CI)",
            help="Severity on the causal graph estimated from history, with its 95 % interval over the draws",
        ),
    }
    evidence = EVIDENCE_COLUMNS[1] in rows.columns
    main = [
        *first,
        "KPI hurt",
        what,
        TOTAL_EFFECT_LABEL,
        "Severity",
        *([EVIDENCE_COLUMNS[1]] if evidence else []),
    ]
    text_table(
        rows[main],
        {**widths, "KPI hurt": kpi_px, what: 210 if departments else 260, EVIDENCE_COLUMNS[1]: 150},
        column_config=number,
        key=f"{key}_what",
    )
    path = EVIDENCE_COLUMNS[2] if evidence and rows[EVIDENCE_COLUMNS[2]].ne("–").any() else "Strongest path"
    behind = [*first, "KPI hurt", path, *(["Path effect"] if "Path effect" in rows.columns else [])]
    behind += [EVIDENCE_COLUMNS[0]] if evidence else []
    st.caption(
        "The strongest causal path behind each conflict"
        + (
            " with the verdict of history on every edge, and the severity on the graph estimated from history "
            "(95 % CI)."
            if evidence
            else "."
        )
    )
    text_table(
        rows[behind],
        {**widths, "KPI hurt": kpi_px, path: 330, EVIDENCE_COLUMNS[0]: 200},
        column_config=number,
        key=f"{key}_path",
    )
