"""Conflicts page, "Evidence behind the graph" tab: per edge configured vs estimated (95 % CI), a scatter of the data
behind an edge, candidate associations, and the conflicts with their intervals (UI only: numbers come from
cx_framework.conflicts.evidence / .uncertainty)."""

from __future__ import annotations

from typing import Any

import _state as state
import _ui as ui
import pandas as pd
import streamlit as st

from cx_framework import plots

_VERDICT_ICON = {
    "supported": "✅ supported",
    "contradicted": "❌ contradicted",
    "not identifiable": "⚪ not identifiable",
}


@st.cache_resource(show_spinner="Estimating every edge of the causal graph from history…", max_entries=4)
def _evidence(src: state.Source, stamp: str) -> Any:
    from cx_framework.conflicts.evidence import estimate_graph

    return state._noted(
        ("graph_evidence", src),
        lambda: estimate_graph(state.tables(src)["department_metrics"], state.config(), validate=False),
    )


@st.cache_resource(show_spinner="Carrying the uncertainty into the conflicts…", max_entries=4)
def _intervals(src: state.Source, stamp: str, draws: int) -> pd.DataFrame:
    from cx_framework.conflicts.uncertainty import conflict_intervals

    cfg = state.config()
    return conflict_intervals(cfg.schemes, cfg, _evidence(src, stamp), draws=draws, seed=0)


def evidence(src: state.Source) -> Any:
    """The cached :class:`~cx_framework.conflicts.evidence.GraphEvidence` of the current data and config."""
    return _evidence(src, state.config_stamp())


def conflict_intervals(src: state.Source, draws: int = 2000) -> pd.DataFrame:
    """Cached :func:`~cx_framework.conflicts.uncertainty.conflict_intervals` for every configured scheme."""
    return _intervals(src, state.config_stamp(), draws)


def render(src: state.Source, cfg: Any) -> None:
    """The whole tab."""
    ev = evidence(src)
    st.info(ev.assumption, icon="⚖️")
    counts = ev.verdict_counts
    c1, c2, c3 = st.columns(3)
    c1.metric("Edges supported by history", counts["supported"])
    c2.metric("Edges contradicted", counts["contradicted"])
    c3.metric("Edges history cannot test", counts["not identifiable"])
    ui.caveats(state.notes("graph_evidence", src))
    ui.chart(plots.evidence_forest(ev), key="ev_forest")
    e = ev.edges
    table = pd.DataFrame(
        {
            "Edge": e["source"].map(ui.metric_name) + " → " + e["target"].map(ui.metric_name),
            "Configured": e["configured"],
            "Estimated": e["estimate"],
            "95 % CI low": e["ci_low"],
            "95 % CI high": e["ci_high"],
            "Unit-months": e["n"],
            "Verdict": e["verdict"].map(_VERDICT_ICON),
            "How": e["level"].fillna("") + ", " + e["fixed_effects"] + " effects, " + e["se_type"],
            "Why": e["reason"],
        }
    )
    number = st.column_config.NumberColumn(format="%+.3f")
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "Configured": number,
            "Estimated": number,
            "95 % CI low": number,
            "95 % CI high": number,
        },
    )
    labels = [f"{s} → {t}" for s, t in zip(e["source"], e["target"], strict=True)]
    identified = [lab for lab, v in zip(labels, e["verdict"], strict=True) if v != "not identifiable"]
    if identified:
        pick = st.selectbox(
            "Show the data behind an edge",
            identified,
            format_func=lambda lab: " → ".join(ui.metric_name(m) for m in lab.split(" → ")),
            key="ev_edge",
        )
        source, target = pick.split(" → ")
        partial = st.toggle(
            "Partial out fixed effects and the other parents (slope = estimate)", value=True, key="ev_partial"
        )
        ui.chart(plots.evidence_scatter(ev, source, target, partial=partial), key="ev_scatter")

    st.subheader("Conflicts with their intervals")
    st.caption(
        "Intervals from 2,000 draws of the estimated elasticities (each regression's joint t distribution); an edge "
        "history cannot test keeps its configured value. A conflict is *certain* only when its whole 95 % interval "
        "is on the conflict side."
    )
    ci = conflict_intervals(src)
    shown = ci[ci["conflict"] | ci["estimated_conflict"]].sort_values("conflict_probability", ascending=False)
    st.dataframe(
        pd.DataFrame(
            {
                "Scheme": shown["scheme"].map(lambda s: cfg.schemes[s].name if s in cfg.schemes else s),
                "Component": shown["component"].map(ui.metric_name),
                "KPI": shown["kpi"].map(ui.metric_name),
                "Configured effect": shown["total_effect"],
                "Estimated effect": shown["estimated_total_effect"],
                "Low": shown["total_effect_low"],
                "High": shown["total_effect_high"],
                "P(conflict)": shown["conflict_probability"],
                "Status": shown["status"],
                "What changes": shown["difference"],
            }
        ),
        hide_index=True,
        width="stretch",
        column_config={
            "Configured effect": number,
            "Estimated effect": number,
            "Low": number,
            "High": number,
            "P(conflict)": st.column_config.NumberColumn(format="percent"),
        },
    )
    if len(ev.candidates):
        st.subheader("Associations to review")
        st.caption(
            "Strong associations between metrics the graph does not connect (partial correlation after fixed "
            "effects). Listed for review — they are not added to the graph."
        )
        c = ev.candidates
        st.dataframe(
            pd.DataFrame(
                {
                    "Metrics": c["metric_a"].map(ui.metric_name) + " ~ " + c["metric_b"].map(ui.metric_name),
                    "Level": c["level"],
                    "Partial correlation": c["correlation"],
                    "Elasticity": c["elasticity"],
                    "Unit-months": c["n"],
                }
            ),
            hide_index=True,
            width="stretch",
            column_config={
                "Partial correlation": st.column_config.NumberColumn(format="%+.2f"),
                "Elasticity": number,
            },
        )
