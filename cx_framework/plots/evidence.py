"""Evidence charts: configured vs estimated elasticity per edge (with CIs), and the data behind one edge."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.graph_objects as go

from cx_framework.plots._style import PALETTE, STATUS_COLOURS, apply_style, reference_line

if TYPE_CHECKING:
    from cx_framework.conflicts.evidence import GraphEvidence

__all__ = ["evidence_forest", "evidence_scatter"]

_VERDICT_COLOURS = {
    "supported": STATUS_COLOURS["green"],
    "contradicted": STATUS_COLOURS["red"],
    "not identifiable": STATUS_COLOURS["no data"],
}


def _metric_names(config: Any) -> dict[str, str]:
    metrics = getattr(config, "metrics", None)
    return {m.id: m.name for m in getattr(metrics, "metrics", None) or []}


def _unit_name(unit: Any, config: Any) -> str:
    """A department by its name; a team id (no name in config) readable: ``cc_east`` -> ``CC east``."""
    organisation = getattr(config, "organisation", None)
    names = {d.id: d.name for d in getattr(organisation, "departments", None) or []}
    text = str(unit)
    if text in names or config is None:
        return names.get(text, text)
    words = [w.upper() if len(w) <= 2 else w for w in text.split("_")]
    return " ".join(words)[:1].upper() + " ".join(words)[1:]


def evidence_forest(evidence: GraphEvidence, *, title: str | None = None, config: Any = None) -> go.Figure:
    """Per edge: the configured elasticity (diamond) and the estimate with its 95 % CI (dot and bar, coloured by
    verdict). Edges that are not identifiable show only the configured value.

    Parameters
    ----------
    evidence : GraphEvidence
        :func:`cx_framework.estimate_graph` result.
    title : str, optional
    config : CxConfig, optional
        Names the metrics on the axis (their ids otherwise).

    Returns
    -------
    plotly.graph_objects.Figure
    """
    e = evidence.edges
    names = _metric_names(config)

    def edge(frame: Any) -> list[str]:
        return [
            f"{names.get(a, a)} → {names.get(b, b)}"
            for a, b in zip(frame["source"], frame["target"], strict=True)
        ]

    labels = edge(e)
    fig = go.Figure()
    for verdict, colour in _VERDICT_COLOURS.items():
        sub = e[e["verdict"] == verdict]
        if sub.empty or verdict == "not identifiable":
            continue
        fig.add_trace(
            go.Scatter(
                x=sub["estimate"],
                y=edge(sub),
                mode="markers",
                marker={"color": colour, "size": 9},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": (sub["ci_high"] - sub["estimate"]).to_numpy(),
                    "arrayminus": (sub["estimate"] - sub["ci_low"]).to_numpy(),
                    "color": colour,
                },
                name=f"estimated ({verdict})",
                customdata=np.column_stack([sub["ci_low"], sub["ci_high"], sub["n"], sub["level"]]),
                hovertemplate="%{y}<br>estimated %{x:+.3f} [%{customdata[0]:+.3f}, %{customdata[1]:+.3f}]"
                "<br>n = %{customdata[2]} (%{customdata[3]})<extra></extra>",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=e["configured"],
            y=labels,
            mode="markers",
            marker={"symbol": "diamond-open", "color": PALETTE[0], "size": 10, "line": {"width": 2}},
            name="configured",
            customdata=e["verdict"],
            hovertemplate="%{y}<br>configured %{x:+.2f} — %{customdata}<extra></extra>",
        )
    )
    reference_line(fig, x=0, line={"color": "#888", "width": 1})
    fig.update_yaxes(autorange="reversed", categoryorder="array", categoryarray=labels)
    fig.update_xaxes(title="elasticity (% change of the target per 1 % change of the source)")
    default = "Configured elasticities against history (95 % CI; associations under the graph's assumptions)"
    return apply_style(fig, title=title or default, height=max(360, 26 * len(labels) + 160))


def evidence_scatter(
    evidence: GraphEvidence,
    source: str,
    target: str,
    *,
    partial: bool = True,
    title: str | None = None,
    config: Any = None,
) -> go.Figure:
    """The unit-months behind one edge: log source vs log target, one colour per unit.

    With ``partial`` (default) both axes are residualised on the fixed effects and the target's other parents (an
    added-variable plot): the least-squares line through the points has exactly the estimated slope, drawn with
    the configured slope for comparison. Otherwise the raw logs are shown.

    Parameters
    ----------
    evidence : GraphEvidence
    source, target : str
        The edge.
    partial : bool
    title : str, optional
    config : CxConfig, optional
        Names the metrics and departments (their ids otherwise).

    Returns
    -------
    plotly.graph_objects.Figure
        Empty figure with a note when the edge was not identified.
    """
    data = evidence.edge_data(source, target)
    names = _metric_names(config)
    source_name, target_name = names.get(source, source), names.get(target, target)
    row = evidence.edges[(evidence.edges["source"] == source) & (evidence.edges["target"] == target)]
    fig = go.Figure()
    if data.empty or row.empty:
        reason = row["reason"].iloc[0] if len(row) else "not an edge of the graph"
        fig.add_annotation(
            text=f"No estimate: {reason}", showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper"
        )
        return apply_style(fig, title=title or f"{source_name} → {target_name}")
    r = row.iloc[0]
    xcol, ycol = ("partial_source", "partial_target") if partial else ("log_source", "log_target")
    for k, (unit, sub) in enumerate(data.groupby("unit", sort=True)):
        fig.add_trace(
            go.Scatter(
                x=sub[xcol],
                y=sub[ycol],
                mode="markers",
                marker={"color": PALETTE[k % len(PALETTE)], "size": 7, "opacity": 0.8},
                name=_unit_name(unit, config),
                customdata=sub["period"].dt.strftime("%Y-%m"),
                hovertemplate=f"{_unit_name(unit, config)} %{{customdata}}<br>x %{{x:.3f}}, y %{{y:.3f}}<extra></extra>",
            )
        )
    x = data[xcol].to_numpy()
    grid = np.linspace(float(x.min()), float(x.max()), 2)
    centre_x, centre_y = (0.0, 0.0) if partial else (float(x.mean()), float(data[ycol].mean()))
    for slope, name, dash in ((r["estimate"], "estimated", "solid"), (r["configured"], "configured", "dash")):
        fig.add_trace(
            go.Scatter(
                x=grid,
                y=centre_y + slope * (grid - centre_x),
                mode="lines",
                line={"color": "#333" if name == "estimated" else PALETTE[0], "dash": dash},
                name=f"{name} slope {slope:+.3f}",
            )
        )
    axis = "(after fixed effects and other parents)" if partial else "(log)"
    fig.update_xaxes(title=f"{source_name} {axis}")
    fig.update_yaxes(title=f"{target_name} {axis}")
    default = (
        f"{source_name} → {target_name}: estimated {r['estimate']:+.3f} [{r['ci_low']:+.3f}, {r['ci_high']:+.3f}], "
        f"configured {r['configured']:+.2f} — {r['verdict']}"
    )
    return apply_style(fig, title=title or default)
