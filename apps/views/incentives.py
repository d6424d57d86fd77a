"""Incentive modeller (HR): edit a bonus scheme and see, live, what it costs, who wins and loses against the
current scheme, which customer KPIs it pays people to hurt (and why), and what the behaviour it rewards is worth."""

from __future__ import annotations

import hashlib
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import _state as state  # noqa: E402
import _ui as ui  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import plotly.graph_objects as go  # noqa: E402
import streamlit as st  # noqa: E402

from cx_framework import plots  # noqa: E402
from cx_framework.conflicts.explain import (  # noqa: E402
    TOTAL_EFFECT_CONVENTION,
    TOTAL_EFFECT_LABEL,
    conflict_rows,
)
from cx_framework.errors import ConfigError, CxError  # noqa: E402
from cx_framework.incentives import (  # noqa: E402
    reweight,
    scheme_from_table,
    scheme_to_table,
    scheme_to_yaml,
    write_payout_workbook,
)
from cx_framework.plots._style import PALETTE  # noqa: E402

src = ui.page(
    "Incentive modeller",
    "What does a bonus scheme pay people to do, what does it cost, and what does it do to the customer?",
)
cfg = state.config()
currency = cfg.economics.currency
schemes = cfg.schemes
ids = list(schemes)
today = state.current_scheme(src) or ids[0]  # assumptions.yaml current_scheme

c1, c2 = st.columns(2)
current_id = c1.selectbox(
    "Current scheme (the baseline)",
    ids,
    index=ids.index(today),
    format_func=lambda i: schemes[i].name + (" (in force today)" if i == today else ""),
    key="hr_current",
    help="Winners, losers and cost changes are measured against this scheme.",
)
start_id = c2.selectbox(
    "Start editing from",
    ids,
    index=ids.index(today),
    format_func=lambda i: schemes[i].name,
    key="hr_start",
)

# ---------------------------------------------------------------------------------------- working scheme
bases: dict[str, str] = st.session_state.setdefault("hr_base_yaml", {})
base_yaml = bases.get(start_id) or scheme_to_yaml(schemes[start_id])
base = state.scheme_from_yaml(base_yaml)

with st.expander("Load a scheme from YAML, or re-weight one component", expanded=False):
    up = st.file_uploader(
        "Scheme YAML (same format as configs/incentives/*.yaml)", type=["yaml", "yml"], key="hr_yaml"
    )
    if up is not None:
        try:
            loaded = state.scheme_from_yaml(up.getvalue().decode("utf-8"))
        except (CxError, UnicodeDecodeError) as exc:
            st.error(f"This scheme file is not valid: {exc}")
        else:
            if st.button(f"Use '{loaded.name}' as the starting point", key="hr_use_yaml"):
                bases[start_id] = scheme_to_yaml(loaded)
                st.rerun()
    r1, r2, r3 = st.columns([2, 2, 1])
    component = r1.selectbox(
        "Component", [c.metric for c in base.components], format_func=ui.metric_label, key="hr_rw_metric"
    )
    current_weight = next(c.weight for c in base.components if c.metric == component)
    new_weight = r2.number_input(
        "New weight (others rescale to keep the sum at 1)",
        min_value=0.01,
        max_value=0.99 if len(base.components) > 1 else 1.0,
        value=float(current_weight),
        step=0.05,
        key="hr_rw_weight",
    )
    if r3.button("Apply", key="hr_rw_apply"):
        try:
            bases[start_id] = scheme_to_yaml(reweight(base, component, new_weight, config=cfg))
        except CxError as exc:
            st.error(str(exc))
        else:
            st.rerun()
    if start_id in bases and st.button("Reset to the configured scheme", key="hr_reset"):
        bases.pop(start_id)
        st.rerun()

# ---------------------------------------------------------------------------------------- editor
st.subheader(f"Edit: {base.name}")
st.caption(
    "Payout curve per component: 0 below threshold, *payout at threshold* at threshold, 1.0 at target, "
    "*payout at stretch* at stretch, linear in between (mirrored for lower-is-better metrics). Weights must sum "
    "to 1. A gate zeroes the whole period's payout when its metric is outside [min, max]. Add or delete rows "
    "with the table's controls."
)
editor_key = hashlib.sha1(base_yaml.encode()).hexdigest()[:10]
components, gates = scheme_to_table(base)
metric_ids = list(cfg.metrics.by_id)
catalogue = cfg.metrics.by_id
# the unit of each row's metric next to its threshold / target / stretch (read-only; shares are 0-1)
components.insert(
    1,
    "unit",
    [
        (catalogue[m].unit + (" (0-1)" if catalogue[m].unit == "share" else "")) if m in catalogue else ""
        for m in components["metric"]
    ],
)
edited_components = st.data_editor(
    components,
    key=f"hr_components_{start_id}_{editor_key}",
    num_rows="dynamic",
    hide_index=True,
    width="stretch",
    column_config={
        "metric": st.column_config.SelectboxColumn(
            "Metric", options=metric_ids, required=True, width="medium"
        ),
        "unit": st.column_config.TextColumn(
            "Unit", disabled=True, help="Unit of threshold, target and stretch (shares are 0-1: 0.8 = 80 %)."
        ),
        "weight": st.column_config.NumberColumn(
            "Weight", min_value=0.0, max_value=1.0, step=0.05, format="%.2f"
        ),
        "threshold": st.column_config.NumberColumn("Threshold", format="%.4g"),
        "target": st.column_config.NumberColumn("Target", format="%.4g"),
        "stretch": st.column_config.NumberColumn("Stretch", format="%.4g"),
        "payout_at_threshold": st.column_config.NumberColumn(
            "Payout at threshold (× target)", step=0.1, format="%.2f"
        ),
        "payout_at_stretch": st.column_config.NumberColumn(
            "Payout at stretch (× target)", step=0.1, format="%.2f"
        ),
    },
)
e1, e2 = st.columns([3, 2])
with e1:
    edited_gates = st.data_editor(
        gates,
        key=f"hr_gates_{start_id}_{editor_key}",
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        column_config={
            "metric": st.column_config.SelectboxColumn("Gate metric", options=metric_ids),
            "min": st.column_config.NumberColumn("Min", format="%.4g"),
            "max": st.column_config.NumberColumn("Max", format="%.4g"),
        },
    )
with e2:
    g1, g2 = st.columns(2)
    cap_pct = g1.number_input(
        "Cap (% of target bonus)",
        min_value=1.0,
        max_value=1000.0,
        value=float(base.cap_pct),
        step=10.0,
        key=f"hr_cap_{editor_key}",
    )
    target_bonus_pct = g2.number_input(
        "Target bonus (% of salary/yr)",
        min_value=0.5,
        max_value=200.0,
        value=float(base.target_bonus_pct),
        step=0.5,
        key=f"hr_tb_{editor_key}",
    )

weight_sum = float(pd.to_numeric(edited_components["weight"], errors="coerce").sum())
last_valid: dict[str, str] = st.session_state.setdefault("hr_last_valid_yaml", {})
try:
    edited = scheme_from_table(
        base,
        edited_components.drop(columns="unit"),
        edited_gates,
        config=cfg,
        cap_pct=cap_pct,
        target_bonus_pct=target_bonus_pct,
    )
except ConfigError as exc:
    st.error(
        f"**The edited scheme is not valid yet.** {ui.scheme_problem(exc, weight_sum)}",
        icon=":material/edit:",
    )
    # keep the results on screen: they show the last valid version until the edit is fixed
    edited = state.scheme_from_yaml(last_valid.get(start_id, base_yaml))
    st.caption(f"The results below are for the last valid version of the scheme ({edited.name}).")
else:
    st.success(
        f"Scheme valid · {len(edited.components)} components (weights sum to {weight_sum:.2f}) · "
        f"{len(edited.gates)} gate(s) · cap {edited.cap_pct:g} % of target bonus",
        icon=":material/check_circle:",
    )
    last_valid[start_id] = scheme_to_yaml(edited)
edited_yaml = scheme_to_yaml(edited)

# ---------------------------------------------------------------------------------------- live payouts
cmp_ = state.compare_live(src, schemes[current_id], edited)  # library compare_schemes on cached payout grids
payouts, baseline = cmp_.payouts["edited"], cmp_.payouts["current"]
months = state.metric_months(src)
budget = cfg.economics.annual_bonus_budget
cost = cmp_.budget.set_index("scheme").loc[["current", "edited"]]
cost_now, cost_new = cost["annualised_cost"].to_numpy()
cost_change = float(cost.loc["edited", "vs_baseline"])
att = cmp_.attainment.set_index("scheme").loc[["current", "edited"]]
wl = cmp_.winners_losers.drop(columns="scheme")

st.subheader("Cost and attainment, edited vs current")
m1, m2, m3, m4, m5 = st.columns(5)
m1.metric(
    "Annual payout cost (edited)",
    ui.money_short(cost_new),
    delta=f"{ui.money_short(cost_change)} vs current" if abs(cost_change) >= 0.5 else None,
    delta_color="inverse",
    help=f"Total payouts over the {months} months of data × 12 / {months} (withheld employee-periods excluded).",
)
m2.metric("Annual payout cost (current)", ui.money_short(cost_now))
if budget:
    m3.metric(
        "Share of bonus budget",
        ui.pct(cost_new / budget),
        delta=f"{(cost_new - cost_now) / budget * 100:+.1f} pts" if abs(cost_new - cost_now) >= 0.5 else None,
        delta_color="inverse",
        help=f"Annual bonus budget {ui.money(budget)} (economics.yaml).",
    )
m4.metric(
    "Median attainment (edited)",
    ui.pct(att.loc["edited", "p50"]),
    delta=f"{(att.loc['edited', 'p50'] - att.loc['current', 'p50']) * 100:+.1f} pts"
    if abs(att.loc["edited", "p50"] - att.loc["current", "p50"]) >= 5e-4
    else None,
    help="Attainment = payout / target bonus of the period, over paid employee-months.",
)
m5.metric(
    "Winners / losers",
    f"{int(wl['winners'].sum())} / {int(wl['losers'].sum())}",
    help="Employees whose total payout over the data rises / falls by at least half a cent vs the current scheme.",
)

st.dataframe(
    pd.DataFrame(
        {
            "Scheme": [f"current: {schemes[current_id].name}", f"edited: {edited.name}"],
            f"Annual cost ({currency})": cost["annualised_cost"].to_numpy(),
            f"Change vs current ({currency}/yr)": cost["vs_baseline"].to_numpy(),
            "Share of budget": cost["budget_share"].to_numpy(),
            "Mean attainment": att["mean"].to_numpy(),
            "Median attainment": att["p50"].to_numpy(),
            "Paid nothing": att["share_zero"].to_numpy(),
            "Capped": att["share_capped"].to_numpy(),
            "Gate failed": att["share_gate_failed"].to_numpy(),
        }
    ),
    key="hr_cost_table",
    hide_index=True,
    width="stretch",
    column_config={
        f"Annual cost ({currency})": st.column_config.NumberColumn(format="%,.2f"),
        f"Change vs current ({currency}/yr)": st.column_config.NumberColumn(format="%+,.2f"),
        **{
            c: st.column_config.NumberColumn(format="percent")
            for c in (
                "Share of budget",
                "Mean attainment",
                "Median attainment",
                "Paid nothing",
                "Capped",
                "Gate failed",
            )
        },
    },
)

a1, a2 = st.columns([3, 2])
with a1:
    bins = np.arange(0.0, 10.0 * np.ceil(max(att["p90"].max(), 1.0) * 10 + 2) + 10.0, 10.0)
    fig = go.Figure()
    for i, (name, frame) in enumerate((("current", baseline), ("edited", payouts))):
        paid = ~frame["withheld"].to_numpy(dtype=bool)
        counts, edges = np.histogram(
            np.clip(frame["attainment"].to_numpy()[paid] * 100, 0, bins[-1] - 1e-9), bins
        )
        label = schemes[current_id].name if name == "current" else f"edited: {edited.name}"
        fig.add_trace(
            go.Bar(
                x=edges[:-1] + 5,
                y=counts,
                name=label,
                marker_color=PALETTE[i],
                hovertemplate="%{x:.0f} % ± 5: %{y} employee-months<extra></extra>",
            )
        )
    fig.update_layout(barmode="group", bargap=0.15)
    fig.update_xaxes(title="Attainment (% of target bonus, 10-point bands)")
    fig.update_yaxes(title="Employee-months")
    ui.chart(ui.light_layout(fig, title="Attainment distribution"), key="hr_att")
with a2:
    per_period = (
        pd.DataFrame(
            {"period": payouts["period"], "payout": np.where(payouts["withheld"], 0.0, payouts["payout"])}
        )
        .groupby("period")["payout"]
        .sum()
    )
    st.metric(
        "Edited scheme: payout per month",
        ui.money(per_period.mean()),
        help=f"Mean over the {months} months of data (withheld employee-months excluded).",
    )
if True:  # full width: every column of the winners / losers table visible
    shown = wl.assign(
        department=wl["department"].map({d.id: d.name for d in cfg.organisation.departments}),
        role=wl["role"].map(ui.humanise),
    )
    st.markdown("**Winners and losers vs current, by department and role**")
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        column_config={
            "department": "Department",
            "role": "Role",
            "employees": "Employees",
            "winners": "Winners",
            "losers": "Losers",
            "unchanged": "Unchanged",
            "not_comparable": st.column_config.NumberColumn(
                "Not comparable", help="Every period withheld under one of the two schemes (e.g. a leaver)."
            ),
            "mean_change": st.column_config.NumberColumn(f"Mean change ({currency})", format="%+,.0f"),
            "total_change": st.column_config.NumberColumn(f"Total change ({currency})", format="%+,.0f"),
        },
    )

# ---------------------------------------------------------------------------------------- conflicts
st.subheader("Which customer KPIs does the edited scheme pay people to hurt?")
matrix = state.conflicts_for(edited)
ui.chart(
    plots.conflict_heatmap(
        matrix,
        scheme=matrix["scheme"].iloc[0] if len(matrix) else None,
        title=f"{edited.name}: component × shared customer KPI",
        config=cfg,
    ),
    key="hr_conflicts",
)
st.caption(TOTAL_EFFECT_CONVENTION)
rows = conflict_rows(matrix, cfg)
if rows.empty:
    st.success("No component pays for moving a shared customer KPI the wrong way.")
else:
    st.markdown(
        f"**Why** — all {len(rows)} conflicts, worst first, with the strongest causal path behind each "
        "(elasticities from causal_graph.yaml):"
    )
    st.dataframe(
        rows.drop(columns="Scheme"),
        hide_index=True,
        width="stretch",
        column_config={
            "What the bonus does": st.column_config.TextColumn(width="large"),
            "Strongest path": st.column_config.TextColumn(width="large"),
            TOTAL_EFFECT_LABEL: st.column_config.NumberColumn(
                "Total effect", format="%+.3f", help=TOTAL_EFFECT_CONVENTION
            ),
            "Path effect": st.column_config.NumberColumn(format="%+.3f"),
            "Severity": st.column_config.NumberColumn(format="%.4f"),
        },
    )

# ---------------------------------------------------------------------------------------- behaviour
st.subheader("What the rewarded behaviour is worth")
simulated = st.session_state.get("hr_sim_yaml", {}).get(start_id, base_yaml)
if st.button("Simulate the edited scheme (≈1 s)", key="hr_simulate", disabled=simulated == edited_yaml):
    st.session_state.setdefault("hr_sim_yaml", {})[start_id] = edited_yaml
    simulated = edited_yaml
result = state.behaviour(src, simulated)
if simulated != edited_yaml:
    st.caption(
        "Shown for the scheme before your latest edits — click the button to simulate the edited version."
    )
ui.chart(state.behaviour_figure(src, simulated), key="hr_waterfall")
is_today = state.scheme_from_yaml(simulated).id == today and simulated == scheme_to_yaml(schemes[today])
if is_today:
    st.caption(
        "This is the scheme in force today, so there is no change of scheme to value: the bars show how much "
        "further people would push what it pays for, from today's metrics (effort budget 10 % per month). "
        f"Net value of that extra push: {ui.money(result.net_value)} per month."
    )
else:
    st.caption(
        "Employees shift effort toward what pays (effort budget 10 % per month); the shift moves shared KPIs "
        f"through the causal graph, then staffing and churn. Net value {ui.money(result.net_value)} per month "
        f"compared with {schemes[today].name}, the scheme in force today."
    )

# ---------------------------------------------------------------------------------------- downloads
d1, d2 = st.columns(2)
d1.download_button(
    "Download edited scheme (YAML)",
    edited_yaml,
    file_name=f"{edited.id}.yaml",
    mime="application/x-yaml",
    key="hr_dl_yaml",
)


def _workbook() -> bytes:
    with tempfile.TemporaryDirectory(prefix="cx_payouts_") as tmp:
        path = write_payout_workbook(payouts, Path(tmp) / "payouts.xlsx")
        return Path(path).read_bytes()


d2.download_button(
    "Download payouts (Excel)",
    _workbook,
    file_name=f"payouts_{edited.id}.xlsx",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    key="hr_dl_xlsx",
)
ui.metric_glossary([c.metric for c in edited.components])
