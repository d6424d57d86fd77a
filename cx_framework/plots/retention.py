"""Retention and economics charts: SL dose-response with CI, monthly SL vs retention, value curve with optimum."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cx_framework.plots._style import PALETTE, STATUS_COLOURS, apply_style, reference_line

if TYPE_CHECKING:
    from cx_framework.economics import OptimalServiceLevel
    from cx_framework.retention.aggregate import PeriodRetentionResult
    from cx_framework.retention.models import RetentionResult

__all__ = ["dose_response_figure", "sl_vs_retention_figure", "sl_value_curve_figure"]


def _band(
    fig: go.Figure, x: np.ndarray, lower: np.ndarray, upper: np.ndarray, name: str, **kwargs: object
) -> None:
    fig.add_trace(
        go.Scatter(
            x=np.r_[x, x[::-1]],
            y=np.r_[upper, lower[::-1]],
            fill="toself",
            fillcolor="rgba(0,114,178,0.18)",
            line={"width": 0},
            hoverinfo="skip",
            name=name,
            **kwargs,
        )
    )


def dose_response_figure(
    result: RetentionResult,
    grid: Sequence[float] | np.ndarray | None = None,
    *,
    title: str | None = "Next-month churn by service level experienced",
) -> go.Figure:
    """Predicted next-month churn probability (%) against the service level customers experienced (%), with the
    95 % confidence band; the observed average SL is marked.

    Parameters
    ----------
    result : RetentionResult
        Fitted :func:`~cx_framework.retention.fit_retention` result.
    grid : array-like of float, optional
        Exposure values (shares); default 0.50-1.00 by 0.01 (0-1 for binned doses).
    title : str or None
        Figure title.
    """
    if grid is None:
        grid = np.round(np.arange(0.0 if result.dose == "binned" else 0.5, 1.0001, 0.01), 10)
    dr = result.dose_response(grid)
    x = 100 * dr["exposure"].to_numpy()
    fig = go.Figure()
    _band(fig, x, 100 * dr["lower"].to_numpy(), 100 * dr["upper"].to_numpy(), "95% CI")
    fig.add_trace(
        go.Scatter(
            x=x,
            y=100 * dr["churn_probability"],
            mode="lines",
            line={"color": PALETTE[0], "width": 3, "shape": "hv" if result.dose == "binned" else "linear"},
            name=f"{result.model} ({result.dose})",
            hovertemplate="SL %{x:.0f}%<br>churn %{y:.2f}%<extra></extra>",
        )
    )
    reference_line(
        fig,
        x=100 * result.exposure_mean,
        line={"dash": "dot", "color": PALETTE[7]},
        annotation_text=f"average experienced {100 * result.exposure_mean:.0f}%",
    )
    me = result.marginal_effect
    fig.add_annotation(
        text=(
            f"{100 * me.estimate:+.3f} pts churn per +1 pt SL (95% CI {100 * me.lower:+.3f} to {100 * me.upper:+.3f})"
            "<br>association, not causation"
        ),
        # inside the plot's lower left, clear of the curve (it falls left to right when SL helps), of the
        # average-SL marker's label at the top and of the legend
        xref="paper",
        yref="paper",
        x=0.01,
        y=0.02,
        xanchor="left",
        yanchor="bottom",
        showarrow=False,
        align="left",
        bgcolor="rgba(255,255,255,0.8)",
    )
    fig.update_xaxes(title="service level experienced (% of calls answered within threshold)")
    fig.update_yaxes(title="next-month churn probability (%)", rangemode="tozero")
    return apply_style(fig, title=title)


def sl_vs_retention_figure(
    result: PeriodRetentionResult,
    *,
    lag: int = 0,
    kind: str = "dual_axis",
    title: str | None = "Monthly service level and retention",
) -> go.Figure:
    """Monthly volume-weighted service level against retention.

    Parameters
    ----------
    result : PeriodRetentionResult
        Output of :func:`~cx_framework.retention.sl_retention_by_period`.
    lag : int, default 0
        For ``kind="scatter"``: SL of ``lag`` months earlier on the x axis.
    kind : {"dual_axis", "scatter"}
        Two time series on twin axes, or a scatter of retention against (lagged) SL with the fitted line.
    title : str or None
        Figure title.
    """
    data = result.data
    if kind == "scatter":
        x = 100 * data["service_level"].shift(lag)
        y = 100 * data["retention_rate"]
        fig = go.Figure(
            go.Scatter(
                x=x,
                y=y,
                mode="markers",
                marker={"color": PALETTE[0], "size": 9},
                text=data["period"].dt.strftime("%b %Y"),
                hovertemplate="%{text}<br>SL %{x:.1f}%<br>retention %{y:.2f}%<extra></extra>",
                name="month",
            )
        )
        name = f"service_level_lag{lag}"
        if name in result.params.index:
            xs = np.linspace(np.nanmin(x), np.nanmax(x), 20)
            # retention = 1 - churn; other lags held at their means
            others = [c for c in result.params.index if c.startswith("service_level_lag") and c != name]
            base = result.params["const"] + sum(result.params[c] * data[c].mean() for c in others)
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=100 * (1 - (base + result.params[name] * xs / 100)),
                    mode="lines",
                    line={"color": PALETTE[3]},
                    name="OLS fit (other lags at mean)",
                )
            )
        fig.update_xaxes(title=f"service level{f' {lag} month(s) earlier' if lag else ''} (%)")
        fig.update_yaxes(title="monthly retention (%)")
        return apply_style(fig, title=title)
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(
        go.Scatter(
            x=data["period"],
            y=100 * data["service_level"],
            name="service level (%)",
            line={"color": PALETTE[0]},
        ),
        secondary_y=False,
    )
    fig.add_trace(
        go.Scatter(
            x=data["period"],
            y=100 * data["retention_rate"],
            name="retention next month (%)",
            line={"color": PALETTE[2]},
        ),
        secondary_y=True,
    )
    fig.update_yaxes(title_text="service level (%)", secondary_y=False)
    # its own round ticks (synced to the left axis' grid they fell on values like 98.403) and no second grid
    fig.update_yaxes(
        title_text="retention (%)", secondary_y=True, tickmode="auto", tickformat=".1f", showgrid=False
    )
    return apply_style(fig, title=title)


def sl_value_curve_figure(
    optimum: OptimalServiceLevel, *, title: str | None = "What a service-level target costs and earns"
) -> go.Figure:
    """Retained value, extra staffing cost and net value by SL target (currency, vs the lowest target), the net
    value's 95 % band, the optimum and the 80/20 convention.

    Parameters
    ----------
    optimum : OptimalServiceLevel
        Output of :func:`~cx_framework.economics.optimal_service_level`.
    title : str or None
        Figure title.
    """
    curve = optimum.curve
    x = 100 * curve["target"].to_numpy()
    fig = go.Figure()
    _band(
        fig, x, curve["net_value_lower"].to_numpy(), curve["net_value_upper"].to_numpy(), "net value 95% band"
    )
    fig.add_trace(
        go.Scatter(x=x, y=curve["retained_value"], name="retained customer value", line={"color": PALETTE[2]})
    )
    fig.add_trace(
        go.Scatter(x=x, y=curve["extra_cost"], name="extra staffing cost", line={"color": PALETTE[3]})
    )
    fig.add_trace(
        go.Scatter(x=x, y=curve["net_value"], name="net value", line={"color": PALETTE[0], "width": 3})
    )
    fig.add_vrect(
        x0=100 * optimum.optimum_lower,
        x1=100 * optimum.optimum_upper,
        fillcolor=STATUS_COLOURS["green"],
        opacity=0.12,
        line_width=0,
    )
    reference_line(
        fig,
        x=100 * optimum.optimum,
        line={"color": STATUS_COLOURS["green"], "width": 2},
        annotation_text=f"optimum {100 * optimum.optimum:.0f}%",
    )
    reference_line(
        fig,
        x=100 * optimum.convention,
        line={"color": PALETTE[7], "dash": "dash"},
        annotation_text="80/20",
        annotation_position="bottom right",
    )
    fig.update_xaxes(title="service-level target (%)")
    months = optimum.horizon_months
    span = f"{round(months):.0f}" if abs(months - round(months)) < 0.05 else f"{months:.1f}"  # "3", not "3.0"
    fig.update_yaxes(title=f"{optimum.currency} over {span} months (vs lowest target)")
    return apply_style(fig, title=title)
