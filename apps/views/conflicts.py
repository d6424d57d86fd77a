"""Conflicts & SLAs: which bonus components and departmental objectives pay people to hurt shared customer KPIs,
and whether departmental SLAs add up to the promise made to the customer ("every department green, customer red")."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import _state as state  # noqa: E402
import _ui as ui  # noqa: E402
import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

from cx_framework import plots  # noqa: E402
from cx_framework.conflicts import required_tightening, sla_conflicts  # noqa: E402

src = ui.page(
    "Conflicts & SLAs",
    "Where do pay and SLA design fight the customer — and do departmental SLAs add up to the customer promise?",
)
cfg = state.config()
names = {d.id: d.name for d in cfg.organisation.departments}

tab_schemes, tab_sla, tab_evidence = st.tabs(
    ["Bonus schemes vs customer KPIs", "SLA chains per journey", "Evidence behind the graph"]
)

with tab_schemes:
    matrix = state.conflicts_all()
    summary = (
        matrix.assign(conflict_severity=matrix["severity"].where(matrix["conflict"], 0.0))
        .groupby("scheme", sort=False)
        .agg(conflicts=("conflict", "sum"), severity=("conflict_severity", "sum"))
        .reset_index()
    )
    columns = st.columns(len(summary))
    for column, row in zip(columns, summary.itertuples(), strict=True):
        column.metric(
            cfg.schemes[row.scheme].name,
            f"{int(row.conflicts)} conflicts",
            help="Component × shared-KPI pairs where pushing the component's metric the rewarded way moves the "
            f"KPI the wrong way (total effect through the causal graph). Total severity {row.severity:.3f} "
            "(|total effect| × component weight × KPI weight).",
        )
    ui.chart(plots.conflict_heatmap(matrix, title="Every scheme: component × shared KPI"), key="cf_heat")
    st.caption(
        "Cell = alignment: % change of the KPI in its *good* direction per 1 % push on the component's metric "
        "in its rewarded direction. Red = conflict, green = aligned. Hover for the strongest causal path."
    )
    scheme = st.selectbox(
        "Explain the conflicts of",
        list(cfg.schemes),
        index=list(cfg.schemes).index(state.current_scheme(src) or next(iter(cfg.schemes))),
        format_func=lambda s: cfg.schemes[s].name,
        key="cf_scheme",
    )
    top = matrix[matrix["scheme"].eq(scheme) & matrix["conflict"]].sort_values("severity", ascending=False)
    if top.empty:
        st.success("This scheme has no conflicts with the shared customer KPIs.")
    else:
        st.dataframe(
            pd.DataFrame(
                {
                    "Component": top["component"].map(ui.metric_name),
                    "Hurts": top["kpi"].map(ui.metric_name),
                    "Explaining path": top["path"],
                    "Path effect": top["path_effect"],
                    "Total effect (% per 1 %)": top["total_effect"],
                    "Severity": top["severity"],
                }
            ),
            hide_index=True,
            width="stretch",
            column_config={
                "Path effect": st.column_config.NumberColumn(format="%+.3f"),
                "Total effect (% per 1 %)": st.column_config.NumberColumn(format="%+.3f"),
                "Severity": st.column_config.NumberColumn(format="%.4f"),
            },
        )
    st.subheader("Departmental objectives vs customer KPIs")
    st.caption("What each department is managed on today (its local scorecard), tested the same way.")
    ui.chart(
        plots.conflict_heatmap(sla_conflicts(cfg), title="Department objectives × shared KPI"),
        key="cf_sla_heat",
    )

with tab_sla:
    use_data = st.toggle(
        "Use stage lead times fitted from the work_items data (gamma fits)",
        value=True,
        key="cf_fitted",
        help="Off: the lead-time distributions configured in slas.yaml.",
    )
    results = state.chains(src, use_data)
    if use_data:
        state.stage_fits(src)
        ui.caveats(state.notes("stage_fits", src))
    for journey in cfg.slas.journeys:
        r = results[journey.id]
        st.subheader(journey.name)
        target = r.promise_percent
        stages_ok = bool(r.stages.loc[r.stages["kind"].eq("stage"), "meets_sla"].astype(bool).all())
        customer_ok = target is None or r.p_within_promise >= target
        c1, c2, c3 = st.columns(3)
        c1.metric(
            f"Customer promise: within {r.promise_h:g} h",
            ui.pct(r.p_within_promise),
            delta=f"{(r.p_within_promise - target) * 100:+.1f} pts vs {target:.0%} promised"
            if target
            else None,
            help="P(end-to-end time ≤ promise): the stage lead times and hand-off waits added up (convolution).",
        )
        c2.metric(
            "Stages meeting their own SLA",
            f"{int(r.stages['meets_sla'].fillna(False).astype(bool).sum())} "
            f"of {int(r.stages['kind'].eq('stage').sum())}",
        )
        c3.metric("Median end-to-end", f"{r.quantiles.loc[0.5]:,.0f} h" if 0.5 in r.quantiles.index else "—")
        if stages_ok and not customer_ok:
            st.error("Every department is green on its own SLA, yet the customer promise is missed.")
        elif customer_ok:
            st.success("The promise holds.")
        else:
            st.warning("The promise is missed and at least one stage misses its own SLA.")
        left, right = st.columns([3, 2])
        with left:
            ui.chart(plots.sla_chain_density(r), key=f"cf_density_{journey.id}")
        s = r.stages
        table = pd.DataFrame(
            {
                "Component": s["component"],
                "Department": s["department"].map(names).fillna(s["department"]),
                "SLA (h)": s["sla_h"],
                "SLA %": s["sla_percent"],
                "P(within own SLA)": s["p_within_sla"],
                "Mean (h)": s["mean_h"],
                "Share of the late journeys' time": s["share_of_miss"],
            }
        )
        with right:
            if not customer_ok and target:
                t = required_tightening(r).iloc[0]
                if bool(t["feasible"]):
                    st.info(
                        f"To keep the promise, **{t['stage']}** ({names.get(t['department'], t['department'])}) "
                        f"must shrink its lead time by {t['reduction']:.0%}: SLA {t['current_sla_h']:.0f} h → "
                        f"{t['required_sla_h']:.0f} h."
                    )
        st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            column_config={
                "SLA (h)": st.column_config.NumberColumn(format="%.0f"),
                "P(within own SLA)": st.column_config.NumberColumn(format="percent"),
                "SLA %": st.column_config.NumberColumn(format="percent"),
                "Mean (h)": st.column_config.NumberColumn(format="%.1f"),
                "Share of the late journeys' time": st.column_config.NumberColumn(format="percent"),
            },
        )
        st.caption(
            "Hand-offs have no SLA of their own (empty cells); their waits still count toward the promise."
        )

with tab_evidence:  # the evidence section lives in apps/_evidence.py
    import _evidence  # noqa: E402

    _evidence.render(src, cfg)
