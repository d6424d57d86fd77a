"""Scorecard figures: status heatmap, alignment chart, trend with control limits, drill-down bars.

Pure functions: a :class:`~cx_framework.scorecard.ScorecardResult` (and a few choices) in, a
``plotly.graph_objects.Figure`` out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from cx_framework.errors import InputValueError
from cx_framework.plots._style import PALETTE, STATUS_COLOURS, apply_style, reference_line

if TYPE_CHECKING:
    from cx_framework.scorecard import ScorecardResult

__all__ = ["scorecard_heatmap", "alignment_chart", "scorecard_trend_chart", "drill_down_chart"]

_STATUS_ORDER = ["red", "amber", "green", "no data"]
_OTHER = "#DDDDDD"


def _colour(status: str) -> str:
    return STATUS_COLOURS.get(status, _OTHER)


def scorecard_heatmap(result: ScorecardResult, *, card: str = "shared", period: Any = None) -> go.Figure:
    """Department × metric grid coloured by status (red / amber / green / no data), score in each cell.

    Parameters
    ----------
    result : ScorecardResult
    card : {"shared", "local"}
        The shared customer card (with an organisation row, the default) or each department's own card.
    period : str or Timestamp, optional
        Month shown (default: the last reported).
    """
    if card not in ("shared", "local"):
        raise InputValueError(f"card must be 'shared' or 'local', got {card!r}", argument="card")
    ts = result._period(period)
    ms = result.metric_scores[result.metric_scores["card"].eq(card) & result.metric_scores["period"].eq(ts)]
    metrics = list(dict.fromkeys(ms["metric"]))
    departments = sorted(ms["department"].unique(), key=lambda d: (d != "organisation", d))
    # department x metric (the first non-missing value, as pivot_table(aggfunc="first"), at a quarter of its cost)
    cells = ms.groupby(["department", "metric"], sort=True, observed=True)
    grid = cells["score"].first().unstack()
    status = cells["status"].first().unstack()
    grid = grid.reindex(index=departments, columns=metrics)
    status = status.reindex(index=departments, columns=metrics)
    code = status.apply(lambda col: col.map({s: i for i, s in enumerate(_STATUS_ORDER)})).astype(float)
    n = len(_STATUS_ORDER)
    # discrete colour scale: one flat band per status code
    scale = []
    for i, s in enumerate(_STATUS_ORDER):
        scale += [[i / n, _colour(s)], [(i + 1) / n, _colour(s)]]
    text = np.where(grid.notna().to_numpy(), grid.round(0).to_numpy().astype(object), "–")
    # the cells keep the ids (x, y); the axes and the hover show the catalogue's and organisation's names
    metric_names = [_metric_name(result, m) for m in metrics]
    department_names = [_department_name(result, d) for d in departments]
    hover = np.array(
        [
            [f"{dn} · {mn}: {st}" for mn, st in zip(metric_names, row, strict=True)]
            for dn, row in zip(department_names, status.fillna("no data").to_numpy(), strict=True)
        ],
        dtype=object,
    )
    fig = go.Figure(
        go.Heatmap(
            z=code.to_numpy(),
            x=metrics,
            y=departments,
            zmin=-0.5,
            zmax=n - 0.5,
            colorscale=scale,
            showscale=False,
            text=text,
            texttemplate="%{text}",
            customdata=hover,
            hovertemplate="%{customdata}<br>score %{text}<extra></extra>",
            xgap=2,
            ygap=2,
        )
    )
    for s in _STATUS_ORDER:  # legend entries for the status colours
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                marker={"size": 12, "color": _colour(s), "symbol": "square"},
                name=s,
            )
        )
    fig.update_yaxes(autorange="reversed", tickmode="array", tickvals=departments, ticktext=department_names)
    fig.update_xaxes(tickmode="array", tickvals=metrics, ticktext=metric_names)
    title = f"{'Shared customer' if card == 'shared' else 'Local'} scorecard, {ts:%b %Y}"
    return apply_style(fig, title=title, height=max(320, 60 * len(departments) + 140))


def alignment_chart(result: ScorecardResult) -> go.Figure:
    """Weight alignment (x, share of local weight on customer metrics) vs empirical alignment (y, Pearson r of
    local vs shared composite, with its 95 % interval); departments flagged green-inside-red-outside in red."""
    a = result.alignment
    flagged = a["green_inside_red_outside_latest"].to_numpy(bool)
    err_plus = (a["ci_high"] - a["empirical_r"]).to_numpy(float)
    err_minus = (a["empirical_r"] - a["ci_low"]).to_numpy(float)
    fig = go.Figure(
        go.Scatter(
            x=a["weight_alignment"],
            y=a["empirical_r"],
            mode="markers+text",
            text=a["department"],
            textposition="top center",
            error_y={
                "type": "data",
                "array": err_plus,
                "arrayminus": err_minus,
                "visible": True,
                "color": "#888",
            },
            marker={
                "size": 14,
                "color": [STATUS_COLOURS["red"] if f else PALETTE[0] for f in flagged],
                "line": {"width": 1, "color": "#333"},
            },
            customdata=np.stack([a["n_periods"], a["periods_green_inside_red_outside"]], axis=1),
            hovertemplate="%{text}<br>weight alignment %{x:.0%}<br>r = %{y:.2f} (n = %{customdata[0]})"
            "<br>green inside, red outside in %{customdata[1]} period(s)<extra></extra>",
            name="department",
        )
    )
    reference_line(fig, y=0, line={"color": "#999", "dash": "dot"})
    fig.update_xaxes(
        title="weight alignment (share of local weight on customer metrics)",
        range=[-0.05, 1.05],
        tickformat=".0%",
    )
    fig.update_yaxes(title="empirical alignment r (local vs shared composite)", range=[-1.05, 1.05])
    return apply_style(fig, title="Scorecard alignment: what the card says vs what it does")


def scorecard_trend_chart(
    result: ScorecardResult, metric: str, *, department: str = "organisation"
) -> go.Figure:
    """A metric over periods with its XmR centre line and natural process limits; points where a Western
    Electric rule fired in the bad direction are marked."""
    t = result.trend(metric, department=department)
    if t.empty:
        raise InputValueError(f"no values of {metric!r} for {department!r}", argument="department")
    fig = go.Figure()
    name = _metric_name(result, metric)
    fig.add_trace(
        go.Scatter(x=t["period"], y=t["value"], mode="lines+markers", name=name, line={"color": PALETTE[0]})
    )
    fig.add_trace(
        go.Scatter(
            x=t["period"],
            y=t["centre"],
            mode="lines",
            name="centre (mean)",
            line={"color": "#555", "dash": "dash"},
        )
    )
    for col, limit in (("ucl", "upper limit"), ("lcl", "lower limit")):  # not `name`: the title uses it
        fig.add_trace(
            go.Scatter(
                x=t["period"], y=t[col], mode="lines", name=limit, line={"color": "#999", "dash": "dot"}
            )
        )
    flagged = t[t["signal"]]
    rules = (
        flagged[["WE1", "WE2", "WE3", "WE4"]].apply(lambda r: ", ".join(r.index[r.to_numpy(bool)]), axis=1)
        if len(flagged)
        else []
    )
    fig.add_trace(
        go.Scatter(
            x=flagged["period"],
            y=flagged["value"],
            mode="markers",
            name="signal",
            marker={"size": 13, "color": STATUS_COLOURS["red"], "symbol": "diamond"},
            text=list(rules),
            hovertemplate="%{x|%Y-%m}: %{y:.4g}<br>%{text}<extra></extra>",
        )
    )
    unit = result.config.metrics.by_id[metric].unit
    if unit.startswith("share"):
        fig.update_yaxes(title=name, tickformat=".1%")
    else:
        fig.update_yaxes(title=f"{name} ({unit})")
    return apply_style(fig, title=f"{name} — {_department_name(result, department)}: XmR chart")


def _metric_name(result: ScorecardResult, metric: str) -> str:
    m = result.config.metrics.by_id.get(metric)
    return m.name if m is not None else metric


def _department_name(result: ScorecardResult, department: str) -> str:
    if department == "organisation":
        return "Whole organisation"
    names = {d.id: d.name for d in result.config.organisation.departments}
    return names.get(department, department)


def drill_down_chart(
    result: ScorecardResult, metric: str, *, period: Any = None, by: str = "department"
) -> go.Figure:
    """Bars of one metric at one level (department, team or employee) for a period, coloured by status."""
    d = result.drill_down(metric, period, by=(by,))
    level = d[d["level"].astype(str).eq(by)]
    labels = {
        "department": level["department"],
        "team": level["department"] + " / " + level["team"].astype(str),
        "employee": level["team"].astype(str) + " / " + level["employee_id"].astype(str),
    }[by]
    org = d[d["level"].astype(str).eq("organisation")]["value"]
    fig = go.Figure(
        go.Bar(
            x=labels,
            y=level["value"],
            marker={"color": [_colour(s) for s in level["status"]]},
            customdata=np.stack([level["status"].astype(str), level["volume"].astype(float)], axis=1),
            hovertemplate="%{x}: %{y:.4g}<br>%{customdata[0]}<br>volume %{customdata[1]}<extra></extra>",
            name=metric,
        )
    )
    if len(org) and pd.notna(org.iloc[0]):
        reference_line(
            fig, y=float(org.iloc[0]), line={"color": "#333", "dash": "dash"}, annotation_text="organisation"
        )
    ts = result._period(period)
    fig.update_yaxes(title=f"{metric} ({result.config.metrics.by_id[metric].unit})")
    return apply_style(fig, title=f"{metric} by {by}, {ts:%Y-%m}")
