"""Staffing charts: service level vs agents, required vs staffed agents, service level the budget buys by day."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from cx_framework.errors import DataValidationError
from cx_framework.plots._style import PALETTE, STATUS_COLOURS, apply_style, reference_line
from cx_framework.staffing import agents_needed, service_level, traffic_intensity

if TYPE_CHECKING:
    from cx_framework.conflicts.budget_gap import StaffingBudgetGap

__all__ = ["sl_vs_agents_figure", "required_vs_staffed_figure", "budget_sl_by_day_figure"]


def sl_vs_agents_figure(
    calls: float,
    aht_s: float,
    *,
    target: float = 0.8,
    answer_s: float = 20.0,
    interval_s: float = 1800.0,
    patience_s: float | None = None,
    max_agents: int | None = None,
    title: str | None = None,
) -> go.Figure:
    """Service level against agents on the phones for one interval, with the target line and the minimum staffing.

    Parameters
    ----------
    calls : float
        Calls offered in the interval.
    aht_s : float
        Average handle time (seconds).
    target : float
        Service-level target (share 0–1), drawn as a horizontal line.
    answer_s, interval_s : float
        Answer threshold and interval length (seconds).
    patience_s : float or None
        Mean patience (seconds): adds the Erlang A curve next to Erlang C.
    max_agents : int or None
        Right end of the x axis; default a few agents past where SL reaches 99.9 %.
    title : str or None
        Figure title.
    """
    needed = int(agents_needed(calls, aht_s, target=target, answer_s=answer_s, interval_s=interval_s))
    traffic = traffic_intensity(calls, aht_s, interval_s=interval_s)
    if max_agents is None:
        max_agents = (
            int(agents_needed(calls, aht_s, target=0.999, answer_s=answer_s, interval_s=interval_s)) + 2
        )
    agents = np.arange(max(0, math.floor(traffic) - 2), max(max_agents, needed + 1) + 1)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=agents,
            y=service_level(calls, aht_s, agents, answer_s=answer_s, interval_s=interval_s),
            mode="lines+markers",
            name="Erlang C (no abandonment)",
            line={"color": PALETTE[0]},
            hovertemplate="%{x} agents: SL %{y:.1%}<extra></extra>",
        )
    )
    if patience_s is not None:
        fig.add_trace(
            go.Scatter(
                x=agents,
                y=service_level(
                    calls, aht_s, agents, answer_s=answer_s, interval_s=interval_s, patience_s=patience_s
                ),
                mode="lines+markers",
                name=f"Erlang A (mean patience {patience_s:g} s)",
                line={"color": PALETTE[1]},
                hovertemplate="%{x} agents: SL %{y:.1%}<extra></extra>",
            )
        )
    reference_line(
        fig,
        y=target,
        line={"color": STATUS_COLOURS["red"], "dash": "dash"},
        annotation_text=f"target {target:.0%} in {answer_s:g} s",
        annotation_position="bottom right",
    )
    reference_line(
        fig,
        x=needed,
        line={"color": STATUS_COLOURS["green"], "dash": "dot"},
        annotation_text=f"{needed} agents needed",
        annotation_position="top left",
    )
    fig.update_xaxes(title_text="Agents on the phones (count)")
    fig.update_yaxes(
        title_text=f"Service level (share answered within {answer_s:g} s)", tickformat=".0%", range=[0, 1.02]
    )
    default = f"Service level vs agents: {calls:g} calls per {interval_s / 60:g} min, AHT {aht_s:g} s"
    return apply_style(fig, title=title or default)


def required_vs_staffed_figure(required: pd.DataFrame, *, title: str | None = None) -> go.Figure:
    """Required vs staffed agents by interval (summed over queues), from :func:`~cx_framework.staffing.required_agents`.

    Parameters
    ----------
    required : pandas.DataFrame
        Output of ``required_agents``: needs ``interval_start``, ``required_agents`` and (optional)
        ``agents_staffed``.
    title : str or None
        Figure title.
    """
    missing = [c for c in ("interval_start", "required_agents") if c not in required.columns]
    if missing:
        raise DataValidationError(
            f"required_vs_staffed_figure needs columns {missing}; pass the output of required_agents(intervals).",
            table="required_agents",
        )
    if "agents_staffed" in required.columns:
        from cx_framework.conflicts.budget_gap import understaffed_intervals

        per = understaffed_intervals(required)
    else:
        per = required.groupby("interval_start", sort=True)[["required_agents"]].sum().reset_index()
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=per["interval_start"],
            y=per["required_agents"],
            mode="lines",
            name="Required (on the phones)",
            line={"color": PALETTE[0], "shape": "hv"},
        )
    )
    if "agents_staffed" in per.columns:
        fig.add_trace(
            go.Scatter(
                x=per["interval_start"],
                y=per["agents_staffed"],
                mode="lines",
                name="Staffed",
                line={"color": PALETTE[1], "shape": "hv"},
            )
        )
        # the same rule as every under-staffed count: at least one queue below its requirement
        short = per["understaffed"]
        fig.add_trace(
            go.Scatter(
                x=per.loc[short, "interval_start"],
                y=per.loc[short, "agents_staffed"],
                mode="markers",
                name=f"Under-staffed half-hour ({int(short.sum())}: a queue below its requirement)",
                marker={"color": STATUS_COLOURS["red"], "size": 7},
                customdata=per.loc[short, "queues_short"],
                hovertemplate="%{x|%H:%M}: %{customdata} queue(s) short<extra></extra>",
            )
        )
    fig.update_xaxes(title_text="Half-hour starting (local time)", tickformat="%H:%M")
    fig.update_yaxes(title_text="Agents (count)", rangemode="tozero")
    return apply_style(fig, title=title or "Required vs staffed agents by interval")


def budget_sl_by_day_figure(gap: StaffingBudgetGap, *, title: str | None = None) -> go.Figure:
    """Service level the budget achieves by day (volume-weighted), coloured by whether it meets the target.

    Parameters
    ----------
    gap : StaffingBudgetGap
        Result of :func:`~cx_framework.conflicts.staffing_budget_gap`.
    title : str or None
        Figure title.
    """
    daily = gap.by_day()
    colours = np.where(daily["meets_target"], STATUS_COLOURS["green"], STATUS_COLOURS["red"])
    fig = go.Figure(
        go.Bar(
            x=daily["day"],
            y=daily["service_level"],
            marker_color=colours,
            name="Funded FTE scheduled to the workload",
            customdata=daily["offered"],
            hovertemplate="%{x|%a %d %b}: SL %{y:.1%} on %{customdata:,.0f} calls<extra></extra>",
        )
    )
    reference_line(
        fig,
        y=gap.target,
        line={"color": "#000000", "dash": "dash"},
        annotation_text=f"target {gap.target:.0%} in {gap.answer_s:g} s",
        annotation_position="top left",
    )
    # the label sits on the bars: a white box keeps it readable
    fig.layout.annotations[-1].update(bgcolor="rgba(255,255,255,0.85)")
    fig.update_xaxes(title_text="Day", tickformat="%a %d %b")
    fig.update_yaxes(
        title_text=f"Service level (share answered within {gap.answer_s:g} s)",
        tickformat=".0%",
        range=[0, 1.05],
    )
    default = (
        f"Service level the funded FTE would buy if scheduled to the workload: {gap.fte_budget:.1f} of "
        f"{gap.fte_needed:.1f} FTE needed, {gap.achieved_service_level:.1%} over the horizon"
    )
    return apply_style(fig, title=title or default)
