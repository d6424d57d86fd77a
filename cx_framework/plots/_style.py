"""Shared look of every figure: colour-blind-safe status colours (Okabe–Ito palette) and layout defaults."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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


def _style_layout(title: str | None, height: int) -> dict[str, Any]:
    # in the order plotly's update_layout writes them (nested properties first): the same JSON text
    layout: dict[str, Any] = {
        # room for the title above the legend row, the legend above the plot (never over the x-axis title)
        "margin": {"l": 60, "r": 40, "t": 100 if title else 50, "b": 60},
        "font": {"size": 13},
        "legend": {"orientation": "h", "x": 0.0, "y": 1.02, "xanchor": "left", "yanchor": "bottom"},
        # a vertical toolbar on the right edge, so it never sits on the title
        "modebar": {"orientation": "v"},
        "colorway": list(PALETTE),
        "height": height,
    }
    if title:
        layout["title"] = {"text": title, "x": 0.0, "y": 0.98, "yanchor": "top", "xref": "container"}
    return layout


def apply_style(fig: go.Figure, *, title: str | None = None, height: int = 420) -> go.Figure:
    """Apply the common template, font and margins; returns the same figure for chaining."""
    _use_template(fig, "plotly_white")
    layout = fig.layout
    style = _style_layout(title, height)
    if not hasattr(layout, "_validate"):  # a plotly without the switch: the validated path
        fig.update_layout({k: v for k, v in style.items() if k != "title"})
        fig.update_xaxes(automargin=True)
        fig.update_yaxes(automargin=True)
        if title:
            fig.update_layout(title=style["title"])
        return fig
    # the same update as fig.update_layout(style) + update_xaxes/update_yaxes(automargin=True), merged into the
    # layout's properties without plotly's per-property validation (~10 ms a figure, the bulk of building a small
    # chart on an app rerun): every value here is a constant of a valid type; same figure JSON (tests/test_perf)
    title_style = style.pop("title", None)
    for axis in [k for k in layout if k.startswith("xaxis")] + [k for k in layout if k.startswith("yaxis")]:
        style[axis] = {"automargin": True}
    if title_style is not None:
        style["title"] = title_style
    before = layout._validate
    layout._validate = False
    try:
        for key, value in style.items():
            current = layout._props.get(key) if layout._props is not None else None
            layout[key] = _merged(current, value)
    finally:
        layout._validate = before
    return fig


def _merged(current: Any, update: Any) -> Any:
    """``update`` applied onto ``current`` as ``update_layout`` does: dicts merge key by key, anything else
    replaces (a copy: the figure never shares a dict with another)."""
    if not isinstance(update, dict):
        return list(update) if isinstance(update, list) else update
    out = dict(current) if isinstance(current, dict) else {}
    for key, value in update.items():
        out[key] = _merged(out.get(key), value)
    return out


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


def reference_line(
    fig: go.Figure,
    *,
    x: Any = None,
    y: Any = None,
    line: dict[str, Any] | None = None,
    annotation_text: str | None = None,
    annotation_position: str | None = None,
) -> go.Figure:
    """``fig.add_vline(x, ...)`` (with ``x``) or ``fig.add_hline(y, ...)`` (with ``y``) on a figure without
    subplots: the same shape and annotation (plotly's own annotation placement), appended directly instead of
    through plotly's subplot processing, which re-assigns and re-validates every shape and annotation of the
    figure (10–40 ms a line on an app rerun). A figure with subplots takes plotly's path. Returns ``fig``."""
    if (x is None) == (y is None):
        raise ValueError("reference_line needs exactly one of x (vertical line) or y (horizontal line)")
    kwargs: dict[str, Any] = {}
    if line is not None:
        kwargs["line"] = line
    if annotation_text is not None:
        kwargs["annotation_text"] = annotation_text
    if annotation_position is not None:
        kwargs["annotation_position"] = annotation_position
    has_subplots = getattr(fig, "_has_subplots", None)
    if has_subplots is None or has_subplots():
        return fig.add_vline(x=x, **kwargs) if x is not None else fig.add_hline(y=y, **kwargs)
    from plotly import shapeannotation

    vertical = x is not None
    shape_type = "vline" if vertical else "hline"
    shape_args = (
        dict(type="line", x0=x, x1=x, y0=0, y1=1) if vertical else dict(type="line", x0=0, x1=1, y0=y, y1=y)
    )
    refs = {"xref": "x", "yref": "y domain"} if vertical else {"xref": "x domain", "yref": "y"}
    shape = dict(shape_args, **({"line": line} if line is not None else {}), **refs)
    annotation_kwargs = {k: v for k, v in kwargs.items() if k.startswith("annotation_")}
    annotation = shapeannotation.axis_spanning_shape_annotation(
        None, shape_type, shape_args, annotation_kwargs
    )
    fig.add_shape(shape)
    if annotation is not None:
        fig.add_annotation(dict(annotation, **refs))
    return fig
