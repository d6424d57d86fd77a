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


def evidence(src: state.Source) -> Any:
    """The :class:`~cx_framework.conflicts.evidence.GraphEvidence` of the Analysis' evidence section (the same
    estimates, figures and intervals as ``cx graph-evidence`` and the report)."""
    return state.result(src, "evidence").evidence


def conflict_intervals(src: state.Source) -> pd.DataFrame:
    """The evidence section's :func:`~cx_framework.conflicts.uncertainty.conflict_intervals` of every configured
    scheme (``assumptions.evidence_draws`` parameter draws, ``assumptions.seed``)."""
    return state.result(src, "evidence").conflicts  # type: ignore[no-any-return]


def intervals_for(src: state.Source, scheme: Any) -> tuple[pd.DataFrame | None, str | None]:
    """Conflict intervals of one (edited) scheme on the Analysis' evidence (same draws and seed), or None and
    why the evidence cannot run; cached on what they depend on: the component metrics and weights."""
    from cx_framework.errors import CxError

    try:
        bundle = state.analysis(src).result("evidence")
    except CxError as exc:
        return None, str(exc)
    key = (src, scheme.id, tuple((c.metric, c.weight) for c in scheme.components), state.config_stamp())
    return _intervals_for(key, scheme, bundle), None


@st.cache_resource(max_entries=64, show_spinner=False)
def _intervals_for(key: tuple[Any, ...], _scheme: Any, _bundle: Any) -> pd.DataFrame:
    from cx_framework.conflicts.uncertainty import conflict_intervals

    a = state.analysis(key[0])
    return conflict_intervals(
        _scheme, state.config(), _bundle.evidence, draws=a.assumptions.evidence_draws, seed=a.assumptions.seed
    )


def render(src: state.Source, cfg: Any) -> None:
    """The whole tab."""
    ev = evidence(src)
    st.info(ev.assumption, icon="⚖️")
    c1, c2, c3 = st.columns(3)
    state.show_figure(c1, "evidence.edges_supported", src)
    state.show_figure(c2, "evidence.edges_contradicted", src)
    state.show_figure(c3, "evidence.edges_not_identifiable", src)
    ui.caveats(state.analysis(src).notes("evidence"))
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
    ci = conflict_intervals(src)
    c1, c2 = st.columns(2)
    state.show_figure(c1, "evidence.certain_conflicts", src)
    state.show_figure(c2, "evidence.candidate_associations", src)
    st.caption(
        f"Intervals from {ci.attrs.get('draws', state.analysis(src).assumptions.evidence_draws):,} draws of the "
        "estimated elasticities (each regression's joint t distribution); an edge history cannot test keeps its "
        "configured value. A conflict is *certain* only when its whole 95 % interval is on the conflict side."
    )
    if ci.empty:
        st.info("No incentive schemes are configured, so there are no bonus conflicts to put intervals on.")
        return
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
