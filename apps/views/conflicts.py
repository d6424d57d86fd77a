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
from cx_framework.analysis.sections import conflict_evidence  # noqa: E402
from cx_framework.conflicts import sla_conflicts  # noqa: E402
from cx_framework.conflicts.explain import (  # noqa: E402
    TOTAL_EFFECT_CONVENTION,
    conflict_rows,
)

src = ui.page(
    "Conflicts & SLAs",
    "Where do pay and SLA design fight the customer — and do departmental SLAs add up to the customer promise?",
)
cfg = state.config()
names = {d.id: d.name for d in cfg.organisation.departments}

tab_schemes, tab_sla, tab_evidence, tab_compare = st.tabs(
    [
        "Bonus schemes vs customer KPIs",
        "SLA chains per journey",
        "Evidence behind the graph",
        "Configured vs estimated graph",
    ]
)

with tab_schemes:
    import _evidence  # noqa: E402

    matrix = state.conflicts_all()
    on_estimated = st.toggle(
        "Run the conflicts on the causal graph estimated from history",
        value=False,
        key="cf_estimated",
        help="The elasticities estimated from history (see the Evidence tab) instead of causal_graph.yaml; edges "
        "history cannot test keep their configured value. The side-by-side view with the differences named is "
        "the last tab.",
    )
    compared = None
    if on_estimated:
        compared, compare_missing = _evidence.comparison(src, asked=True)
        if compared is None or compared.estimated_matrix is None:
            st.warning(f"The estimated graph cannot run on this data: {compare_missing}")
        else:
            matrix = compared.estimated_matrix
            st.info(
                "Shown on the **estimated** graph: associations under the graph's assumptions, not proven causal "
                "effects; edges history cannot test keep their configured value.",
                icon="⚖️",
            )
    # every conflict is shown with its interval and the evidence on its path (the Analysis' evidence section)
    intervals, department_intervals, evidence_missing = conflict_evidence(state.analysis(src))
    certain = (
        intervals[intervals["status"].eq("certain conflict")].groupby("scheme").size()
        if intervals is not None and len(intervals)
        else pd.Series(dtype=int)
    )
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
            delta=None
            if evidence_missing is not None
            else f"{int(certain.get(row.scheme, 0))} certain under the evidence",
            delta_color="off",
            help="Component × shared-KPI pairs where pushing the component's metric the rewarded way moves the "
            f"KPI the wrong way (total effect through the causal graph). Total severity {row.severity:.3f} "
            "(|total effect| × component weight × KPI weight). Certain = the 95 % interval from the causal graph "
            "estimated from history lies wholly on the conflict side.",
        )
    ui.chart(
        state.memo(
            ("conflict_heatmap_all", src, on_estimated),
            lambda: plots.conflict_heatmap(
                matrix,
                title="Every scheme: bonus component × shared customer KPI"
                + (" (estimated graph)" if on_estimated else ""),
                config=cfg,
            ),
        ),
        key="cf_heat",
    )
    st.caption(TOTAL_EFFECT_CONVENTION + " Hover a cell for the sentence and the strongest causal path.")
    scheme_ids = list(cfg.schemes)
    current = ui.current_scheme()
    scheme = st.selectbox(
        "Explain the conflicts of",
        scheme_ids,
        index=scheme_ids.index(current) if current in scheme_ids else 0,
        format_func=lambda s: cfg.schemes[s].name + (" (in force today)" if s == current else ""),
        key="cf_scheme",
    )
    top = state.memo(  # the rows of one scheme: computed once per data/config and scheme, not per rerun
        ("conflict_rows", src, scheme, on_estimated),  # the matrix follows the estimated-graph toggle
        lambda: conflict_rows(
            matrix[matrix["scheme"].eq(scheme)], cfg, intervals=intervals, unavailable=evidence_missing
        ),
    )
    if top.empty:
        st.success("This scheme has no conflicts with the shared customer KPIs.")
    else:
        st.caption(
            f"All {len(top)} conflicts of {cfg.schemes[scheme].name}, worst first, each with the severity's 95 % "
            "interval from the causal graph estimated from history and the verdict of every edge on its strongest "
            "path (associations under the graph's assumptions; see the Evidence tab)."
        )
        # two wrapped tables: the sentences and paths are too long for one row of ten columns (they were cut)
        ui.conflict_tables(top, key="cf_rows", total_effect_help=TOTAL_EFFECT_CONVENTION)
    st.subheader("Departmental objectives vs customer KPIs")
    st.caption("What each department is managed on today (its local scorecard), tested the same way.")
    departments = state.memo(("sla_conflicts", src), lambda: sla_conflicts(cfg))
    if on_estimated and compared is not None and compared.estimated_departments is not None:
        departments = compared.estimated_departments
    ui.chart(
        state.memo(
            ("sla_conflict_heatmap", src, on_estimated),
            lambda: plots.conflict_heatmap(
                departments,
                title="Department objectives × shared customer KPI"
                + (" (estimated graph)" if on_estimated else ""),
                config=cfg,
            ),
        ),
        key="cf_sla_heat",
    )
    dept_rows = state.memo(
        ("department_conflict_rows", src, on_estimated),
        lambda: conflict_rows(departments, cfg, intervals=department_intervals, unavailable=evidence_missing),
    )
    if len(dept_rows):
        ui.conflict_tables(
            dept_rows.drop(columns="Path effect"),
            key="cf_dept_rows",
            total_effect_help=TOTAL_EFFECT_CONVENTION,
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
            ui.chart(
                state.memo(
                    ("sla_chain_density", src, use_data, journey.id), lambda r=r: plots.sla_chain_density(r)
                ),
                key=f"cf_density_{journey.id}",
            )
        s = r.stages
        handoff = s["kind"].eq("handoff").to_numpy()
        stage_ids = s["component"].astype(str).str.replace(" (hand-off)", "", regex=False)

        def _pct_cell(values: pd.Series, handoff: object = handoff) -> list[str]:
            return ["—" if h or pd.isna(v) else f"{v:.1%}" for h, v in zip(handoff, values, strict=True)]  # type: ignore[call-overload]

        table = pd.DataFrame(
            {
                "Step": [
                    f"Hand-off wait before {ui.humanise(i).lower()}" if h else ui.humanise(i)
                    for h, i in zip(handoff, stage_ids, strict=True)
                ],
                "Department": s["department"].map(names).fillna(s["department"]),
                "Own SLA": [
                    "no SLA (counts toward the promise)" if h or pd.isna(v) else f"{p:.0%} within {v:,.0f} h"
                    for h, v, p in zip(handoff, s["sla_h"], s["sla_percent"].fillna(0.0), strict=True)
                ],
                "P(within own SLA)": _pct_cell(s["p_within_sla"]),
                "Mean (h)": s["mean_h"].round(1),
                "Share of the late journeys' time": [f"{v:.1%}" for v in s["share_of_miss"]],
            }
        )
        with right:
            if not customer_ok and target:
                t = state.tightening(src, use_data, journey.id, r).iloc[0]
                if bool(t["feasible"]):
                    st.info(
                        f"To keep the promise, **{ui.humanise(t['stage'])}** "
                        f"({names.get(t['department'], t['department'])}) "
                        f"must shrink its lead time by {t['reduction']:.0%}: SLA {t['current_sla_h']:.0f} h → "
                        f"{t['required_sla_h']:.0f} h."
                    )
        ui.text_table(
            table,
            {"Step": 150, "Department": 120, "Own SLA": 150},  # wrapped: the six columns fit a 1400-px window
            column_config={"Mean (h)": st.column_config.NumberColumn(format="%.1f", width=75)},
        )
        st.caption("Hand-offs have no SLA of their own; their waits still count toward the customer promise.")

with tab_evidence:  # the evidence section lives in apps/_evidence.py
    _evidence.render(src, cfg)

with tab_compare:  # conflicts and actions on the estimated graph, side by side (apps/_evidence.py)
    _evidence.render_comparison(src, cfg)
