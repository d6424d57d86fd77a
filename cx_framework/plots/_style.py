"""Shared look of every figure: colour-blind-safe status colours (Okabe–Ito palette) and layout defaults."""

from __future__ import annotations

from typing import TYPE_CHECKING

if (
    TYPE_CHECKING
):  # plotly is imported by the chart modules, not by the colours (pages without charts use them)
    import plotly.graph_objects as go

__all__ = ["STATUS_COLOURS", "PALETTE", "apply_style"]

# Okabe & Ito (2008) colour-universal palette; status colours chosen to stay distinct under deuteranopia.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
STATUS_COLOURS = {
    "green": "#009E73",
    "amber": "#E69F00",
    "red": "#D55E00",
    "no data": "#BBBBBB",
    "incomplete": "#DDDDDD",
}


def apply_style(fig: go.Figure, *, title: str | None = None, height: int = 420) -> go.Figure:
    """Apply the common template, font and margins; returns the same figure for chaining."""
    _use_template(fig, "plotly_white")
    fig.update_layout(
        colorway=PALETTE,
        height=height,
        # room for the title above the legend row, the legend above the plot (never over the x-axis title)
        margin={"l": 60, "r": 40, "t": 100 if title else 50, "b": 60},
        font={"size": 13},
        legend={"orientation": "h", "x": 0.0, "y": 1.02, "xanchor": "left", "yanchor": "bottom"},
        # a vertical toolbar on the right edge, so it never sits on the title
        modebar={"orientation": "v"},
    )
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    if title:
        fig.update_layout(title={"text": title, "x": 0.0, "y": 0.98, "yanchor": "top", "xref": "container"})
    return fig


def _use_template(fig: go.Figure, name: str) -> None:
    """``fig.update_layout(template=name)`` without re-validating the registered template: validating its
    hundreds of properties costs ~40 ms per figure (most of building a small chart), and a registered template
    is valid already — plotly applies its default template the same way. Same figure JSON either way."""
    import plotly.io as pio

    layout = fig.layout
    if not hasattr(layout, "_validate"):  # a plotly without the switch: the validated path
        fig.update_layout(template=name)
        return
    before = layout._validate
    layout._validate = False
    try:
        layout.template = pio.templates[name]
    finally:
        layout._validate = before
