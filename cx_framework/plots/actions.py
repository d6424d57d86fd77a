"""Recommended-actions chart: expected annual value of each action with its low–high range."""

from __future__ import annotations

from typing import TYPE_CHECKING

import plotly.graph_objects as go

from cx_framework.plots._style import PALETTE, apply_style

if TYPE_CHECKING:
    from cx_framework.actions import ActionPlan

__all__ = ["actions_chart"]


def actions_chart(plan: ActionPlan, *, title: str | None = None) -> go.Figure:
    """Expected annual value of each action with its low–high range, best at the top."""
    frame = plan.actions.iloc[::-1]
    labels = [
        f"{r}. {t}" if len(t) <= 60 else f"{r}. {t[:57]}…"
        for r, t in zip(frame["rank"], frame["title"], strict=True)
    ]
    value = frame["expected_annual_value"].to_numpy(dtype=float)
    fig = go.Figure(
        go.Bar(
            x=value,
            y=labels,
            orientation="h",
            marker_color=[PALETTE[0] if c else PALETTE[1] for c in frame["customer_centric"]],
            error_x={
                "type": "data",
                "symmetric": False,
                "array": frame["value_high"].to_numpy(dtype=float) - value,
                "arrayminus": value - frame["value_low"].to_numpy(dtype=float),
            },
            hovertext=frame["rationale"],
            name="expected annual value",
        )
    )
    fig.update_xaxes(title=f"expected annual value ({plan.currency} per year)")
    return apply_style(
        fig,
        title=title or "Recommended actions by expected annual value (bars: low–high case)",
        height=max(320, 60 + 42 * len(frame)),
    )
