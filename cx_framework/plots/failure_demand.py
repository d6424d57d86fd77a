"""Failure-demand charts: Pareto by originating department and fix-vs-absorb cumulative cash curves."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import plotly.graph_objects as go

from cx_framework.plots._style import PALETTE, STATUS_COLOURS, apply_style, reference_line

if TYPE_CHECKING:
    from cx_framework.failure_demand import FailureDemandResult, FixVsAbsorbResult

__all__ = ["failure_demand_pareto", "fix_vs_absorb_curves"]


def source_names(config: Any) -> dict[str, str]:
    """Human names of the failure sources a config knows: departments by name, contact reasons by their
    description (empty without a config: the ids are shown)."""
    if config is None:
        return {}
    names: dict[str, str] = {}
    failure_demand = getattr(config, "failure_demand", None)
    for reason in getattr(failure_demand, "reasons", None) or []:
        names[reason.id] = reason.description
    organisation = getattr(config, "organisation", None)
    names.update({d.id: d.name for d in getattr(organisation, "departments", None) or []})
    return names


def failure_demand_pareto(
    result: FailureDemandResult, *, title: str | None = None, config: Any = None
) -> go.Figure:
    """Pareto chart of failure demand by originating department.

    Stacked bars show each department's failure-demand contacts (direct failure reasons and repeats of
    unresolved contacts), sorted largest first; a line on the right axis shows the cumulative share of all
    failure demand (0–100 %), so the "vital few" sources (Juran's Pareto principle) stand out.

    Parameters
    ----------
    result : FailureDemandResult
        Output of :func:`cx_framework.attribute_failure_demand`.
    title : str, optional
        Figure title; a default naming the failure-demand share of all contacts is used otherwise.
    config : CxConfig, optional
        Names the departments on the axis (their ids otherwise).

    Returns
    -------
    plotly.graph_objects.Figure
    """
    table = result.by_department[result.by_department["failure_demand"] > 0]
    names = source_names(config)
    departments = [names.get(d, d) for d in table["originating_department"].astype(str)]
    fig = go.Figure()
    fig.add_bar(
        x=departments,
        y=table["failure"].tolist(),
        name="failure reason",
        marker_color=PALETTE[3],
        hovertemplate="%{x}: %{y:,} contacts caused directly<extra></extra>",
    )
    fig.add_bar(
        x=departments,
        y=table["repeat"].tolist(),
        name="repeat of unresolved contact",
        marker_color=PALETTE[1],
        hovertemplate="%{x}: %{y:,} repeat contacts<extra></extra>",
    )
    fig.add_scatter(
        x=departments,
        y=(table["cumulative_share"] * 100.0).tolist(),
        name="cumulative % of failure demand",
        mode="lines+markers",
        line={"color": PALETTE[7]},
        yaxis="y2",
        hovertemplate="%{x}: %{y:.1f}% cumulative<extra></extra>",
    )
    fig.update_layout(
        barmode="stack",
        xaxis={"title": "originating department"},
        yaxis={"title": "failure-demand contacts"},
        yaxis2={
            "title": "cumulative % of failure demand",
            "overlaying": "y",
            "side": "right",
            "range": [0, 105],
            # round ticks of its own (an overlaying axis otherwise follows the left axis' grid: 17.7 %, 35.4 %)
            "tickmode": "array",
            "tickvals": [0, 20, 40, 60, 80, 100],
            "ticksuffix": "%",
            "showgrid": False,
        },
    )
    share = result.totals.get("failure_demand_share", float("nan"))
    default = f"Failure demand by originating department ({share:.0%} of all contacts)"
    fig = apply_style(fig, title=title or default)
    # room right of the percentage axis for the chart's vertical toolbar (it sat on the axis title)
    fig.layout.margin.r = 90
    return fig


def fix_vs_absorb_curves(
    result: FixVsAbsorbResult, *, title: str | None = None, config: Any = None
) -> go.Figure:
    """Cumulative discounted cash of fixing a failure source vs absorbing its contacts, with break-even.

    Parameters
    ----------
    result : FixVsAbsorbResult
        Output of :func:`cx_framework.fix_vs_absorb`.
    title : str, optional
        Figure title; a default naming the source and NPV is used otherwise.
    config : CxConfig, optional
        Names the failure source in the default title (its id otherwise).

    Returns
    -------
    plotly.graph_objects.Figure
        Two lines (cumulative present value of each option, currency, negative = money spent) over months
        0..horizon and, when the fix pays back within the horizon, a marker and vertical line at the
        break-even month.
    """
    flows = result.cash_flows
    months = flows["month"].tolist()
    fig = go.Figure()
    fig.add_scatter(
        x=months,
        y=flows["absorb_cumulative_pv"].tolist(),
        name="absorb (keep handling the calls)",
        mode="lines",
        line={"color": STATUS_COLOURS["red"]},
        hovertemplate="month %{x}: %{y:,.0f}<extra>absorb</extra>",
    )
    fig.add_scatter(
        x=months,
        y=flows["fix_cumulative_pv"].tolist(),
        name="fix the cause",
        mode="lines",
        line={"color": STATUS_COLOURS["green"]},
        hovertemplate="month %{x}: %{y:,.0f}<extra>fix</extra>",
    )
    if result.break_even_month is not None:
        month = result.break_even_month
        value = float(flows.loc[flows["month"] == month, "fix_cumulative_pv"].iloc[0])
        fig.add_scatter(
            x=[month],
            y=[value],
            name=f"break-even (month {month})",
            mode="markers",
            marker={"color": PALETTE[7], "size": 12, "symbol": "diamond"},
            hovertemplate="break-even in month %{x}<extra></extra>",
        )
        reference_line(fig, x=month, line={"color": PALETTE[7], "dash": "dot"})
    fig.update_layout(
        xaxis={"title": "month"},
        yaxis={"title": f"cumulative discounted cash ({result.currency})"},
    )
    verdict = (
        f"breaks even in month {result.break_even_month}"
        if result.break_even_month is not None
        else f"no break-even within {result.horizon_months} months"
    )
    source = source_names(config).get(result.source, result.source)
    default = f"Fix {source} vs absorb: NPV {result.currency} {result.npv:,.0f}, {verdict}"
    return apply_style(fig, title=title or default)
