"""Incentive charts: the payout curve of each component, the distribution of payouts per scheme and the cost of
each scheme per period against the budget (issue 6 item 8)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cx_framework.config.loader import CxConfig
from cx_framework.config.models import MetricCatalogue, Scheme
from cx_framework.incentives.compare import SchemeComparison
from cx_framework.incentives.payouts import _catalogue, _direction, payout_curve_values
from cx_framework.plots._style import PALETTE, apply_style, reference_line

__all__ = ["payout_curve_figure", "scheme_cost_distribution", "scheme_cost_by_period"]


def payout_curve_figure(
    scheme: Scheme,
    *,
    config: CxConfig | MetricCatalogue | None = None,
    title: str | None = None,
) -> go.Figure:
    """One panel per component: payout multiplier (× the component's share of target bonus) against the metric.

    Threshold, target and stretch are marked; lower-is-better metrics show the x axis reversed so "better" is
    always to the right.
    """
    catalogue = _catalogue(config)
    n = len(scheme.components)
    fig = make_subplots(
        rows=1,
        cols=n,
        subplot_titles=[f"{c.metric} (weight {c.weight:.0%})" for c in scheme.components],
        shared_yaxes=True,
    )
    for i, c in enumerate(scheme.components, start=1):
        sign = _direction(c, catalogue)
        lo, hi = sorted((c.threshold, c.stretch))
        pad = 0.35 * (hi - lo)
        grid = np.linspace(lo - pad, hi + pad, 241)
        grid = np.union1d(grid, [c.threshold, c.target, c.stretch])
        fig.add_trace(
            go.Scatter(
                x=grid,
                y=payout_curve_values(grid, c, sign=sign),
                mode="lines",
                line={"color": PALETTE[(i - 1) % len(PALETTE)], "width": 3, "shape": "linear"},
                name=c.metric,
                hovertemplate=f"{c.metric} %{{x:.4g}}<br>multiplier %{{y:.3f}}<extra></extra>",
            ),
            row=1,
            col=i,
        )
        fig.add_trace(
            go.Scatter(
                x=[c.threshold, c.target, c.stretch],
                y=[c.payout_at_threshold, 1.0, c.payout_at_stretch],
                mode="markers+text",
                text=["threshold", "target", "stretch"],
                textposition="top left",
                marker={"color": "#000000", "size": 7},
                showlegend=False,
                hoverinfo="skip",
            ),
            row=1,
            col=i,
        )
        if sign < 0:
            fig.update_xaxes(autorange="reversed", row=1, col=i)
    fig.update_yaxes(title_text="payout multiplier", row=1, col=1)
    fig.update_layout(showlegend=False)
    return apply_style(fig, title=title or f"Payout curves — {scheme.name}", height=380)


def scheme_cost_distribution(comparison: SchemeComparison, *, title: str | None = None) -> go.Figure:
    """Box plot per scheme of the payout per employee-period (currency), withheld rows excluded."""
    fig = go.Figure()
    for i, (sid, df) in enumerate(comparison.payouts.items()):
        paid = df.loc[~df["withheld"], "payout"]
        fig.add_trace(
            go.Box(
                y=paid,
                name=sid,
                boxmean=True,
                marker_color=PALETTE[i % len(PALETTE)],
                hovertemplate=f"{sid}<br>%{{y:,.2f}}<extra></extra>",
            )
        )
    currency = f" ({comparison.currency})" if comparison.currency else ""
    fig.update_yaxes(title_text=f"payout per employee-period{currency}")
    fig.update_layout(showlegend=False)
    return apply_style(fig, title=title or "Payout distribution per scheme")


def scheme_cost_by_period(comparison: SchemeComparison, *, title: str | None = None) -> go.Figure:
    """Total payout per period for each scheme, with the monthly budget line (annual budget / 12) when known."""
    fig = go.Figure()
    for i, (sid, part) in enumerate(comparison.cost.groupby("scheme", sort=False)):
        fig.add_trace(
            go.Scatter(
                x=part["period"],
                y=part["payout"],
                mode="lines+markers",
                name=sid,
                line={"color": PALETTE[i % len(PALETTE)]},
            )
        )
    budget = comparison.budget["budget"].iloc[0] if len(comparison.budget) else np.nan
    monthly = all(df.attrs.get("period", "month") == "month" for df in comparison.payouts.values())
    if np.isfinite(budget) and monthly:
        reference_line(
            fig, y=budget / 12, line={"color": "#D55E00", "dash": "dash"}, annotation_text="budget / 12"
        )
    currency = f" ({comparison.currency})" if comparison.currency else ""
    fig.update_yaxes(title_text=f"total payout{currency}")
    return apply_style(fig, title=title or "Bonus cost per period")
