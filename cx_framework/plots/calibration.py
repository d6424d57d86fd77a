"""Model fit of the queueing models on observed intervals (:mod:`cx_framework.staffing.calibration`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import plotly.graph_objects as go

from cx_framework.plots._style import PALETTE, apply_style, reference_line

if TYPE_CHECKING:
    from cx_framework.staffing.calibration import ModelFit

__all__ = ["model_fit_figure"]

_MODELS = {"erlang_c": "Erlang C", "erlang_a": "Erlang A"}


def model_fit_figure(fit: ModelFit) -> go.Figure:
    """Service-level MAE and bias by hour of day for each model (plotly figure; pure)."""
    hours = fit.calibration[fit.calibration["hour"] != "all"].copy()
    hours["hour_of_day"] = hours["hour"].astype(int)
    fig = go.Figure()
    for i, (model, name) in enumerate(_MODELS.items()):
        part = hours[hours["model"] == model].sort_values("hour_of_day")
        fig.add_trace(
            go.Scatter(
                x=part["hour_of_day"],
                y=part["sl_mae"] * 100.0,
                mode="lines+markers",
                name=f"{name}: mean absolute error",
                line={"color": PALETTE[i]},
            )
        )
        fig.add_trace(
            go.Scatter(
                x=part["hour_of_day"],
                y=part["sl_bias"] * 100.0,
                mode="lines",
                name=f"{name}: bias (predicted − observed)",
                line={"color": PALETTE[i], "dash": "dot"},
            )
        )
    reference_line(fig, y=0.0, line={"color": "#888", "width": 1})
    # an error of a service level is a difference of shares: percentage points, as in the page's table ("pts")
    fig.update_yaxes(title="Service-level error (percentage points, offered-weighted)", ticksuffix=" pts")
    fig.update_xaxes(title="Hour of day", dtick=1)
    return apply_style(fig, title="How well each model predicts the observed service level, by hour")
