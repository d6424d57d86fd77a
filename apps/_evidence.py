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
    "supported": "✓ supported",
    "contradicted": "✗ contradicted",
    "not identifiable": "○ not identifiable",
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
    ui.chart(
        state.memo(("evidence_forest", src), lambda: plots.evidence_forest(ev, config=cfg)), key="ev_forest"
    )
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
    # the numbers, then how each edge was estimated: nine columns in one table did not fit a 1400-px window
    ui.text_table(
        table.drop(columns=["How", "Why"]),
        {"Edge": 250, "Verdict": 150},
        column_config={
            c: st.column_config.NumberColumn(format="%+.3f", width=px)
            for c, px in (("Configured", 90), ("Estimated", 85), ("95 % CI low", 90), ("95 % CI high", 95))
        }
        | {"Unit-months": st.column_config.NumberColumn(width=95)},
    )
    st.caption("How each edge was estimated, and why history cannot test an edge:")
    ui.text_table(table[["Edge", "How", "Why"]], {"Edge": 250, "How": 300, "Why": 390}, key="ev_edges_how")
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
        ui.chart(
            state.memo(
                ("evidence_scatter", src, source, target, partial),
                lambda: plots.evidence_scatter(ev, source, target, partial=partial, config=cfg),
            ),
            key="ev_scatter",
        )

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
    conflict = (
        shown["scheme"].map(lambda s: cfg.schemes[s].name if s in cfg.schemes else s)
        + ": "
        + shown["component"].map(ui.metric_name)
        + " → "
        + shown["kpi"].map(ui.metric_name)
    ).to_numpy()
    # the intervals, then what changes in words (ten columns in one table did not fit a 1400-px window)
    ui.text_table(
        pd.DataFrame(
            {
                "Conflict": conflict,
                "Configured effect": shown["total_effect"].to_numpy(),
                "Estimated effect": shown["estimated_total_effect"].to_numpy(),
                "Low": shown["total_effect_low"].to_numpy(),
                "High": shown["total_effect_high"].to_numpy(),
                "P(conflict)": shown["conflict_probability"].to_numpy(),
                "Status": shown["status"].to_numpy(),
            }
        ),
        {"Conflict": 260, "Status": 135},
        column_config={
            c: st.column_config.NumberColumn(format="%+.3f", width=px)
            for c, px in (("Configured effect", 125), ("Estimated effect", 120), ("Low", 65), ("High", 65))
        }
        | {"P(conflict)": st.column_config.NumberColumn(format="percent", width=90)},
    )
    changes = shown["difference"].fillna("").astype(str).to_numpy()
    if any(changes):
        st.caption("What changes between the configured graph and the evidence:")
        ui.text_table(
            pd.DataFrame({"Conflict": conflict, "What changes": changes})[changes != ""],
            {"Conflict": 300, "What changes": 620},
            key="ev_conflict_changes",
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
                "Elasticity": st.column_config.NumberColumn(format="%+.3f"),
            },
        )


# ---------------------------------------------------------------------------------------- graph from evidence
_CHANGE_ICON = {
    "appears": "🔴 appears",
    "disappears": "🟢 disappears",
    "rank changes": "↕ rank changes",
    "unchanged": "unchanged",
}


def _section_if_computed(src: state.Source, name: str, asked: bool) -> tuple[Any, str | None]:
    """(result, None) when section ``name`` is computed (or ``asked``: computed now under a status box), else
    (None, why it cannot run) or (None, None) when it has not been asked for yet."""
    from cx_framework.errors import CxError

    a = state.analysis(src)
    if not (asked or a.computed(name)):
        return None, None
    try:
        if not a.computed(name):
            state._computing(a, name)
        # as the signed-in viewer may see it (outside HR no value of a scheme paying too few people)
        return a.result_for(name, state._aggregate_viewer()), None
    except CxError as exc:
        return None, str(exc)


def comparison(src: state.Source, *, asked: bool = False) -> tuple[Any, str | None]:
    """The Analysis' evidence_comparison section (:class:`~cx_framework.conflicts.comparison.GraphComparison`)."""
    return _section_if_computed(src, "evidence_comparison", asked)


def behaviour_interval(src: state.Source, scheme_yaml: str, *, asked: bool = False) -> dict[str, Any] | None:
    """The behaviour value of a scheme with its 95 % interval over the estimated graph: a configured scheme's row
    of the behaviour_intervals section; an edited scheme's computed here with the same evidence, draws and seed
    (:func:`~cx_framework.conflicts.uncertainty.behaviour_value_interval`). None when not computed / asked."""
    sid = state.configured_scheme_id(scheme_yaml)
    if sid is not None:
        frame, _ = _section_if_computed(src, "behaviour_intervals", asked)
        if frame is None:
            return None
        rows = frame[frame["scheme"] == sid]
        return rows.iloc[0].to_dict() if len(rows) else None
    bundle, _ = _section_if_computed(src, "evidence", asked)
    if bundle is None:
        return None
    return _edited_interval(src, scheme_yaml, state.config_stamp(), bundle)  # type: ignore[no-any-return]


@st.cache_resource(max_entries=16, show_spinner="Drawing the estimated graph…")
def _edited_interval(src: state.Source, scheme_yaml: str, stamp: str, _bundle: Any) -> dict[str, Any]:
    from cx_framework.conflicts.uncertainty import behaviour_value_interval

    a = state.analysis(src)
    r = behaviour_value_interval(
        state.scheme_from_yaml(scheme_yaml),
        a.tables,
        state.config(),
        _bundle.evidence,
        draws=a.assumptions.behaviour_draws,
        seed=a.assumptions.seed,
        effort_budget=a.assumptions.effort_budget,
        baseline_periods=a.assumptions.baseline_months,
        validate=False,
    )
    return {
        "net_value": r.configured,
        "estimated_net_value": r.estimated,
        "net_value_low": r.low,
        "net_value_high": r.high,
        "net_value_certain": r.excludes_zero,
    }


def interval_sentence(row: dict[str, Any]) -> str:
    """``On the graph estimated from history: … per month (95 % interval … to …: certain)``."""
    if row.get("suppressed"):  # a scheme paying too few people, read outside HR
        return f"Net value withheld: {row['suppressed']}."
    certain = (
        "certain: the interval excludes zero"
        if row["net_value_certain"]
        else "not certain: the interval includes zero"
    )
    return (
        f"On the causal graph estimated from history the net value is {ui.money(row['estimated_net_value'])} per "
        f"month (95 % interval {ui.money(row['net_value_low'])} to {ui.money(row['net_value_high'])}; {certain}). "
        "Estimated elasticities are associations under the graph's assumptions; edges history cannot test keep "
        "their configured value."
    )


def _rank_text(value: Any) -> str:
    """A rank for display: ``"3"``, or ``"–"`` when the pair is no conflict / the action is not recommended."""
    return "–" if pd.isna(value) else str(int(value))


def render_comparison(src: state.Source, cfg: Any) -> None:
    """The "Configured vs estimated graph" tab: conflicts, actions and behaviour value side by side."""
    from cx_framework.conflicts.comparison import UNIDENTIFIED_NOTE

    st.info(
        "The conflicts and the ranked actions re-run on the elasticities estimated from history instead of the "
        "configured ones. " + state.analysis(src).result("evidence").evidence.assumption,
        icon="⚖️",
    )
    st.caption(UNIDENTIFIED_NOTE)
    asked = st.session_state.get("cf_compare_asked", False)
    if not asked and not state.analysis(src).computed("evidence_comparison"):
        if st.button(
            "Compare the configured and the estimated graph",
            key="cf_compare",
            help="Re-runs the conflicts and re-ranks the actions on the estimated elasticities: about half a minute "
            "the first time, cached after.",
        ):
            st.session_state["cf_compare_asked"] = asked = True
        else:
            return
    comp, why = comparison(src, asked=True)
    if comp is None:
        st.warning(f"The comparison cannot run on this data: {why}")
        return
    c1, c2 = st.columns(2)
    state.show_figure(c1, "evidence_comparison.conflicts_changed", src)
    state.show_figure(c2, "evidence_comparison.actions_changed", src)
    ui.caveats(comp.notes)

    st.subheader("Bonus conflicts: configured vs estimated graph")
    scheme_ids = list(cfg.schemes)
    current = ui.current_scheme()
    pick = st.selectbox(
        "Scheme",
        scheme_ids,
        index=scheme_ids.index(current) if current in scheme_ids else 0,
        format_func=lambda s: cfg.schemes[s].name + (" (in force today)" if s == current else ""),
        key="cf_cmp_scheme",
    )
    only_changed = st.toggle("Only the pairs that change", value=True, key="cf_cmp_changed")
    c = comp.conflicts
    rows = c[c["scheme"].eq(pick) & (c["conflict"] | c["estimated_conflict"])]
    if only_changed:
        rows = rows[rows["change"] != "unchanged"]
    rows = rows.sort_values(["estimated_rank", "rank"], na_position="last")
    # every conflict shown carries its severity interval under the evidence (the evidence section's draws)
    key = ["scheme", "component", "kpi"]
    ci = state.analysis(src).result("evidence").conflicts
    if len(ci) and len(rows):
        rows = rows.merge(ci[[*key, "severity_low", "severity_high", "status"]], on=key, how="left")
        under = [
            f"{lo:.3g} to {hi:.3g} ({st_})" if pd.notna(lo) else "–"
            for lo, hi, st_ in zip(rows["severity_low"], rows["severity_high"], rows["status"], strict=True)
        ]
    else:
        under = ["–"] * len(rows)
    number = st.column_config.NumberColumn(format="%+.3f")
    if len(rows):
        st.dataframe(
            pd.DataFrame(
                {
                    "Component": rows["component"].map(ui.metric_name),
                    "KPI": rows["kpi"].map(ui.metric_name),
                    "Configured: total effect": rows["total_effect"],
                    "Configured: rank": rows["rank"].map(_rank_text),
                    "Estimated: total effect": rows["estimated_total_effect"],
                    "Estimated: rank": rows["estimated_rank"].map(_rank_text),
                    "Change": rows["change"].map(_CHANGE_ICON)
                    + rows["sign_flips"].map({True: ", sign flips", False: ""}),
                    "Severity 95 % under the evidence": under,
                    "Edges behind the difference (configured → estimated: exact part of the change)": rows[
                        "edges_behind"
                    ],
                }
            ),
            hide_index=True,
            width="stretch",
            column_config={
                "Configured: total effect": number,
                "Estimated: total effect": number,
                "Edges behind the difference (configured → estimated: exact part of the change)": (
                    st.column_config.TextColumn(width="large")
                ),
            },
            key="cf_cmp_table",
        )
        st.caption(
            "Rank = the conflict's place by severity within the scheme (1 = worst; empty = no conflict on that "
            "graph). Each edge's part of the change is exact: the parts add up to the change of total effect."
        )
    else:
        st.success("No conflict of this scheme changes between the two graphs.")

    st.subheader("Ranked actions: configured vs estimated graph")
    if comp.actions is None:
        st.info("The actions could not be re-ranked on this data: " + "; ".join(comp.notes))
    else:
        acts = comp.actions[comp.actions["rank"].notna() | comp.actions["estimated_rank"].notna()]
        money = st.column_config.NumberColumn(format="%,.0f")
        st.dataframe(
            pd.DataFrame(
                {
                    "Action": acts["title"],
                    "Rank (configured)": acts["rank"].map(_rank_text),
                    "Rank (estimated)": acts["estimated_rank"].map(_rank_text),
                    "What changes": acts["difference"],
                    f"{cfg.economics.currency}/year (configured)": acts["expected_annual_value"],
                    f"{cfg.economics.currency}/year (estimated)": acts["estimated_expected_annual_value"],
                    "Edges behind it": acts["edges_behind"],
                }
            ),
            hide_index=True,
            width="stretch",
            column_config={
                f"{cfg.economics.currency}/year (configured)": money,
                f"{cfg.economics.currency}/year (estimated)": money,
            },
            key="cf_cmp_actions",
        )
        st.caption(
            "Only the incentive switch depends on the causal graph; the other actions keep their value and can "
            "only move rank because the switch moved."
        )

    st.subheader("Behaviour value with its interval")
    frame, why_b = _section_if_computed(src, "behaviour_intervals", True)
    if frame is None:
        st.info(f"Not available: {why_b}")
    else:
        st.dataframe(
            pd.DataFrame(
                {
                    "Scheme": frame["scheme"].map(lambda s: cfg.schemes[s].name if s in cfg.schemes else s),
                    "Net value / month (configured graph)": frame["net_value"],
                    "Estimated graph": frame["estimated_net_value"],
                    "95 % low": frame["net_value_low"],
                    "95 % high": frame["net_value_high"],
                    "Certain": frame["net_value_certain"].map({True: "yes", False: "no: includes zero"}),
                }
            ),
            hide_index=True,
            width="stretch",
            column_config={
                k: st.column_config.NumberColumn(format="%,.0f")
                for k in ("Net value / month (configured graph)", "Estimated graph", "95 % low", "95 % high")
            },
            key="cf_cmp_behaviour",
        )
        st.caption(
            f"Intervals over {int(frame.attrs.get('draws', 0)):,} draws of the estimated graph (the behaviour "
            "response held fixed); the configured graph's value can lie outside them where the configured "
            "elasticities disagree with history. A value is certain only when its interval excludes zero."
        )

    with st.expander("Elasticities used by the estimated graph"):
        e = comp.edges
        st.dataframe(
            pd.DataFrame(
                {
                    "Edge": e["source"].map(ui.metric_name) + " → " + e["target"].map(ui.metric_name),
                    "Configured": e["configured"],
                    "Used in the estimated graph": e["used"],
                    "From": e["value_source"],
                    "Verdict": e["verdict"].map(_VERDICT_ICON),
                }
            ),
            hide_index=True,
            width="stretch",
            column_config={"Configured": number, "Used in the estimated graph": number},
            key="cf_cmp_edges",
        )
