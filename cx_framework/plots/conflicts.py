"""Conflict charts: component × KPI heatmap, behaviour-simulation waterfall, SLA-chain density."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from cx_framework.plots._style import PALETTE, STATUS_COLOURS, apply_style, reference_line

if TYPE_CHECKING:
    from cx_framework.conflicts.behaviour import BehaviourResult
    from cx_framework.conflicts.chain import SlaChainResult

__all__ = ["conflict_heatmap", "behaviour_waterfall", "sla_chain_density"]


def conflict_heatmap(
    matrix: pd.DataFrame,
    *,
    scheme: str | None = None,
    title: str | None = None,
    config: Any = None,
) -> go.Figure:
    """Heatmap per component × shared KPI: each cell shows the **total effect** (% change of the KPI per 1 % rise
    of the component's metric — the one sign convention of tables, CLI and report); its colour is the verdict.

    Red cells are conflicts (the scheme pays for moving the KPI the wrong way), green cells help the KPI; the
    colour is ``alignment`` = rewarded_dir · total effect · good_dir, so a red cell can hold a positive number
    (a 1 % rise of AHT raises FCR, but the bonus pays for cutting AHT). The hover says it in words.

    Parameters
    ----------
    matrix : pandas.DataFrame
        Output of :func:`cx_framework.conflict_matrix` (or ``sla_conflicts``: the ``department`` column is used
        as the owner).
    scheme : str, optional
        Show one scheme (or department); by default rows are ``owner: component`` for all of them.
    title : str, optional
    config : CxConfig, optional
        Catalogue, scheme and department names for the labels (ids without it).

    Returns
    -------
    plotly.graph_objects.Figure
    """
    from cx_framework.conflicts.explain import push_effect_sentence

    owner = "scheme" if "scheme" in matrix.columns else "department"
    frame = matrix if scheme is None else matrix[matrix[owner] == scheme]
    metric_names: dict[str, str] = {}
    owner_names: dict[str, str] = {}
    if config is not None:
        metric_names = {m.id: m.name for m in config.metrics.metrics}
        owner_names = (
            {s: sch.name for s, sch in config.schemes.items()}
            if owner == "scheme"
            else {d.id: d.name for d in config.organisation.departments}
        )
    component = frame["component"].astype(str).map(lambda m: metric_names.get(m, m))
    kpi = frame["kpi"].astype(str).map(lambda m: metric_names.get(m, m))
    if scheme is None and frame[owner].nunique() > 1:
        rows = frame[owner].astype(str).map(lambda o: owner_names.get(o, o)) + ": " + component
    else:
        rows = component
    frame = frame.assign(_row=rows.to_numpy(), _kpi=kpi.to_numpy())
    row_order = list(dict.fromkeys(frame["_row"]))
    kpi_order = list(dict.fromkeys(frame["_kpi"]))

    # row x KPI grids: the first non-missing value per cell, as pivot_table(aggfunc="first"), at a quarter of its
    # cost (this chart is rebuilt on every edit of the HR page's scheme)
    def grid(values: pd.Series) -> pd.DataFrame:
        cells = values.groupby([frame["_row"], frame["_kpi"]], sort=True).first().unstack()
        return cells.reindex(index=row_order, columns=kpi_order)

    z = grid(frame["alignment"])
    effect = grid(frame["total_effect"])
    if config is not None:
        words = [
            push_effect_sentence(c, k, t, config)
            for c, k, t in zip(frame["component"], frame["kpi"], frame["total_effect"], strict=True)
        ]
    else:
        words = ["alignment " + f"{a:+.3f}" for a in frame["alignment"]]
    hover = (
        frame["_row"]
        + " → "
        + frame["_kpi"]
        + "<br>total effect "
        + frame["total_effect"].map("{:+.3f}".format)
        + " % per 1 % rise of the metric<br>"
        + pd.Series(words, index=frame.index)
        + "<br>severity "
        + frame["severity"].map("{:.3f}".format)
        + "<br>path: "
        + frame["path"].fillna("no path").astype(str)
    )
    text = grid(hover)
    bound = float(np.nanmax(np.abs(z.to_numpy()))) if z.size and np.isfinite(z.to_numpy()).any() else 1.0
    cells = np.where(np.isfinite(effect.to_numpy(dtype=float)), effect.to_numpy(dtype=float), np.nan)
    labels = [[("" if not np.isfinite(v) or abs(v) < 5e-4 else f"{v:+.2f}") for v in row] for row in cells]
    fig = go.Figure(
        go.Heatmap(
            z=z.to_numpy(),
            x=kpi_order,
            y=row_order,
            zmin=-bound,
            zmax=bound,
            colorscale=[[0.0, STATUS_COLOURS["red"]], [0.5, "#FFFFFF"], [1.0, STATUS_COLOURS["green"]]],
            colorbar={
                "title": {"text": "verdict"},
                "tickvals": [-bound, 0, bound],
                "ticktext": ["hurts the KPI", "no effect", "helps the KPI"],
                # on a tall grid the bar sits in the lower part of the plot: its title and top label ran under
                # the chart toolbar (a short grid needs the full height for three readable labels)
                **({"len": 0.7, "y": 0.0, "yanchor": "bottom"} if len(row_order) >= 8 else {}),
            },
            text=labels,
            texttemplate="%{text}",
            customdata=text.to_numpy(),
            hovertemplate="%{customdata}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(side="bottom", tickangle=-30)
    default = "Which pay components fight which customer KPIs" + (
        f" — {owner_names.get(scheme, scheme)}" if scheme else ""
    )
    fig = apply_style(fig, title=title or default, height=max(340, 40 * len(row_order) + 200))
    # room for the colour bar's "helps the KPI" / "hurts the KPI" labels, left of the chart's vertical toolbar
    # (at 150 px the toolbar sat on the top label)
    fig.update_layout(margin_r=190)
    fig.add_annotation(
        # two short lines: one long line ran past the plot's right edge under the toolbar and the colour bar
        text="Numbers: total effect, % change of the KPI per 1 % rise of the metric.<br>Colour: red = the bonus "
        "pays for moving the KPI the wrong way.",
        xref="paper",
        yref="paper",
        x=0,
        y=1.0,
        yanchor="bottom",
        showarrow=False,
        font={"size": 11},
        align="left",
    )
    return fig


def behaviour_waterfall(
    result: BehaviourResult, *, title: str | None = None, config: Any = None
) -> go.Figure:
    """Waterfall of the monthly value of a scheme vs baseline: payout cost → staffing cost → retention value →
    net value; the hover of the retention step lists the KPI changes that drive it.

    Parameters
    ----------
    result : BehaviourResult
        Output of :func:`cx_framework.simulate_behaviour`.
    title : str, optional
    config : CxConfig, optional
        Scheme and metric names for the title and the hover (ids without it).

    Returns
    -------
    plotly.graph_objects.Figure
    """
    metric_names = {m.id: m.name for m in config.metrics.metrics} if config is not None else {}
    scheme = config.schemes.get(result.scheme_id) if config is not None else None
    scheme_name = scheme.name if scheme is not None else result.scheme_id
    wf = result.waterfall
    kpi_text = "<br>".join(
        f"{metric_names.get(r.metric, r.metric)}: {r.before:.4g} → {r.after:.4g} ({r.pct_change:+.2%})"
        for r in result.kpis.itertuples()
    )
    hover = [f"{s}: %{{y:,.0f}}" for s in wf["step"]]
    hover[2] = hover[2] + "<br>" + kpi_text
    currency = result.assumptions.get("currency", "")
    fig = go.Figure(
        go.Waterfall(
            # "payout cost" -> "Payout cost": the steps read as labels, not column names
            x=[str(step)[:1].upper() + str(step)[1:] for step in wf["step"]],
            y=wf["value"].tolist(),
            measure=wf["measure"].tolist(),
            increasing={"marker": {"color": STATUS_COLOURS["green"]}},
            decreasing={"marker": {"color": STATUS_COLOURS["red"]}},
            totals={"marker": {"color": PALETTE[0]}},
            hovertemplate=[h + "<extra></extra>" for h in hover],
        )
    )
    fig.update_yaxes(title=f"{currency} per month vs baseline", tickformat=",.0f")  # -8,000, not −8000
    default = f"{scheme_name}: value per month vs today (customer KPI index {result.customer_kpi_index:+.2%})"
    return apply_style(fig, title=title or default)


def sla_chain_density(result: SlaChainResult, *, title: str | None = None) -> go.Figure:
    """Density of the end-to-end lead time with the promise line and P(≤ promise) in the title.

    Parameters
    ----------
    result : SlaChainResult
        Output of :func:`cx_framework.sla_chain`.
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
    """
    d = result.density
    fig = go.Figure()
    inside = d[d["hours"] <= result.promise_h]
    fig.add_scatter(
        x=inside["hours"],
        y=inside["density"],
        fill="tozeroy",
        mode="lines",
        name="within promise",
        line={"color": STATUS_COLOURS["green"]},
    )
    late = d[d["hours"] >= result.promise_h]
    fig.add_scatter(
        x=late["hours"],
        y=late["density"],
        fill="tozeroy",
        mode="lines",
        name="late",
        line={"color": STATUS_COLOURS["red"]},
    )
    reference_line(
        fig,
        x=result.promise_h,
        line={"dash": "dash", "color": PALETTE[7]},
        annotation_text=f"promise {result.promise_h:g} h",
    )
    fig.update_xaxes(title="end-to-end hours")
    fig.update_yaxes(title="density (per hour)")
    target = f" (promise {result.promise_percent:.0%})" if result.promise_percent is not None else ""
    green = "every stage meets its SLA" if result.every_stage_green else "some stages miss their SLA"
    default = f"P(end-to-end ≤ {result.promise_h:g} h) = {result.p_within_promise:.1%}{target}; {green}"
    return apply_style(fig, title=title or default)
