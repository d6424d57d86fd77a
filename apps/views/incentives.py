"""Incentive modeller (HR): edit a bonus scheme and see, live, what it costs, who wins and loses against the
current scheme, which customer KPIs it pays people to hurt (and why), and what the behaviour it rewards is worth."""

from __future__ import annotations

import hashlib
import inspect
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import _access as access  # noqa: E402
import _evidence  # noqa: E402
import _state as state  # noqa: E402
import _ui as ui  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import plotly.graph_objects as go  # noqa: E402
import streamlit as st  # noqa: E402

from cx_framework import plots  # noqa: E402
from cx_framework.access import restrict_payouts  # noqa: E402
from cx_framework.conflicts.explain import (  # noqa: E402
    TOTAL_EFFECT_CONVENTION,
    conflict_rows,
)
from cx_framework.errors import ConfigError, CxError  # noqa: E402
from cx_framework.incentives import (  # noqa: E402
    TIER_COLUMNS,
    reweight,
    scheme_from_table,
    scheme_to_table,
    scheme_to_yaml,
    set_component_plan,
    set_draw,
    tiers_to_table,
    write_payout_workbook,
)
from cx_framework.plots._style import PALETTE  # noqa: E402
from cx_framework.scenarios import DEFAULT_DB_NAME, ScenarioStore  # noqa: E402
from cx_framework.statements import statements_archive  # noqa: E402

access.require("payouts")  # individual pay: hr and managers (their teams) only; refusal shown and logged
src = ui.page(
    "Incentive modeller",
    "What does a bonus scheme pay people to do, what does it cost, and what does it do to the customer?",
)
cfg = state.config()
state.need_section(src, "payouts")  # partial data: the modeller needs employee_metrics and employees
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

# ---------------------------------------------------------------------------------------- saved scenarios
store = ScenarioStore(os.environ.get("CX_COMP_DB") or Path(state.CONFIG_DIR) / DEFAULT_DB_NAME)
signed_in = access.viewer()
who = signed_in.user if signed_in is not None else "anonymous (access control off)"
saved = store.list()
with st.expander(f"Saved scenarios ({len(saved)}) — open one to edit it", expanded=False):
    if saved.empty:
        st.caption("No saved scenarios yet: edit a scheme below and save it.")
    else:
        o1, o2 = st.columns([3, 1])
        open_name = o1.selectbox(
            "Scenario",
            saved["name"].tolist(),
            format_func=lambda n: (
                f"{n} · {saved.set_index('name').loc[n, 'status']} · revision "
                f"{saved.set_index('name').loc[n, 'revision']}"
            ),
            key="hr_open_name",
        )
        if o2.button("Open in the editor", key="hr_open"):
            bases[start_id] = scheme_to_yaml(store.load(open_name))
            st.session_state["hr_scenario"] = open_name
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


def _metric_column(label: str, **kwargs: Any) -> Any:
    """A metric picker column that shows the metric's name and stores its id (names need Streamlit's
    ``format_func`` on SelectboxColumn; older versions show the ids)."""
    if "format_func" in inspect.signature(st.column_config.SelectboxColumn).parameters:
        kwargs["format_func"] = lambda m: cfg.metrics.by_id[m].name if m in cfg.metrics.by_id else str(m)
    return st.column_config.SelectboxColumn(label, options=metric_ids, **kwargs)


edited_components = st.data_editor(
    components,
    key=f"hr_components_{start_id}_{editor_key}",
    num_rows="dynamic",
    hide_index=True,
    width="stretch",
    column_config={
        # widths that fit a 1400-px window with the sidebar open (the payout columns were cut off)
        "metric": _metric_column("Metric", required=True, width=195),
        "unit": st.column_config.TextColumn(
            "Unit",
            disabled=True,
            width=115,
            help="Unit of threshold, target and stretch (shares are 0-1: 0.8 = 80 %).",
        ),
        "weight": st.column_config.NumberColumn(
            "Weight", min_value=0.0, max_value=1.0, step=0.05, format="%.2f", width=70
        ),
        "threshold": st.column_config.NumberColumn("Threshold", format="%.4g", width=85),
        "target": st.column_config.NumberColumn("Target", format="%.4g", width=70),
        "stretch": st.column_config.NumberColumn("Stretch", format="%.4g", width=70),
        "payout_at_threshold": st.column_config.NumberColumn(
            "Payout at threshold",
            step=0.1,
            format="%.2f",
            width=140,
            help="Payout multiplier at the threshold, × the component's share of the target bonus (1.0 at target).",
        ),
        "payout_at_stretch": st.column_config.NumberColumn(
            "Payout at stretch",
            step=0.1,
            format="%.2f",
            width=125,
            help="Payout multiplier at stretch and above, × the component's share of the target bonus.",
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
            "metric": _metric_column("Gate metric"),
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
    scheme_valid = False
else:
    scheme_valid = True
# ---------------------------------------------------------------------------------------- plan mechanics
with st.expander(
    "Plan mechanics: tiers, quota proration, team crediting, clawbacks, draws, cap carry-forward, versions",
    expanded=bool(base.draw or base.cap_carry_forward or base.versions)
    or any(c.rate_table or c.clawback or c.credit or c.prorate for c in base.components),
):
    st.caption(
        "A **rate table** replaces a component's curve: attainment = credited value ÷ quota (the component's "
        "target); *marginal* tiers pay each slice of attainment at its own rate, *retroactive* tiers pay all of it "
        "at the rate of the tier reached (rate > 1 accelerates, < 1 decelerates). **Prorate** measures attainment "
        "against the quota × share of the period employed × FTE (joiners, leavers, part-timers). **Team** "
        "crediting splits the team's total among its members. A **clawback** reverses a credited sale when its "
        "customer churns within the window, charged in the month of the churn."
    )
    plan_metric = st.selectbox(
        "Component",
        [c.metric for c in edited.components],
        format_func=ui.metric_label,
        key=f"hr_plan_metric_{editor_key}",
    )
    comp_now = next(c for c in edited.components if c.metric == plan_metric)
    p1, p2 = st.columns([3, 2])
    with p1:
        tiers_table = st.data_editor(
            tiers_to_table(edited, plan_metric),
            key=f"hr_tiers_{plan_metric}_{editor_key}",
            num_rows="dynamic",
            hide_index=True,
            width="stretch",
            column_order=list(TIER_COLUMNS),
            column_config={
                "from": st.column_config.NumberColumn("From (share of quota)", min_value=0.0, format="%.2f"),
                "to": st.column_config.NumberColumn("To (blank = open)", min_value=0.0, format="%.2f"),
                "rate": st.column_config.NumberColumn("Rate (× target share)", min_value=0.0, format="%.2f"),
            },
        )
        tier_mode = st.radio(
            "Tier mode",
            ["marginal", "retroactive"],
            index=0
            if comp_now.rate_table is None
            else ["marginal", "retroactive"].index(comp_now.rate_table.mode),
            horizontal=True,
            key=f"hr_tier_mode_{plan_metric}_{editor_key}",
        )
    with p2:
        prorate = st.checkbox(
            "Prorate the quota (joiners, leavers, part-timers)",
            value=comp_now.prorate,
            key=f"hr_prorate_{plan_metric}_{editor_key}",
        )
        credit = st.selectbox(
            "Credited to",
            ["individual", "team"],
            index=1 if comp_now.credit is not None and comp_now.credit.basis == "team" else 0,
            format_func={"individual": "the individual", "team": "the team, split among members"}.get,
            key=f"hr_credit_{plan_metric}_{editor_key}",
        )
        split = st.selectbox(
            "Team split",
            ["equal", "fte"],
            index=1 if comp_now.credit is not None and comp_now.credit.split == "fte" else 0,
            format_func={"equal": "equal shares", "fte": "by FTE × time employed"}.get,
            key=f"hr_split_{plan_metric}_{editor_key}",
            disabled=credit != "team",
        )
        clawback_on = st.checkbox(
            "Claw back sales whose customer churns",
            value=comp_now.clawback is not None,
            key=f"hr_claw_on_{plan_metric}_{editor_key}",
        )
        clawback_days = st.number_input(
            "Clawback window (days after the sale)",
            value=int(comp_now.clawback.window_days) if comp_now.clawback is not None else 90,
            step=15,
            key=f"hr_claw_days_{plan_metric}_{editor_key}",
            disabled=not clawback_on,
        )
    st.markdown("**Draw and cap**")
    q1, q2, q3, q4, q5 = st.columns(5)
    draw_kinds = ["none", "recoverable", "non_recoverable"]
    draw_kind = q1.selectbox(
        "Draw",
        draw_kinds,
        index=draw_kinds.index(base.draw.kind) if base.draw else 0,
        format_func={
            "none": "no draw",
            "recoverable": "recoverable",
            "non_recoverable": "non-recoverable",
        }.get,
        key=f"hr_draw_kind_{editor_key}",
    )
    draw_pct = q2.number_input(
        "Draw (% of target bonus)",
        min_value=1.0,
        max_value=500.0,
        value=float(base.draw.amount_pct or 50.0) if base.draw else 50.0,
        step=5.0,
        key=f"hr_draw_pct_{editor_key}",
        disabled=draw_kind == "none",
    )
    draw_periods = q3.number_input(
        "Draw for the first N periods of employment (0 = always)",
        min_value=0,
        value=int(base.draw.periods or 0) if base.draw else 3,
        key=f"hr_draw_periods_{editor_key}",
        disabled=draw_kind == "none",
    )
    draw_share = q4.number_input(
        "Recovery: share of pay above the draw",
        min_value=0.05,
        max_value=1.0,
        value=float(base.draw.recovery.share_of_excess) if base.draw and base.draw.recovery else 1.0,
        step=0.05,
        key=f"hr_draw_share_{editor_key}",
        disabled=draw_kind != "recoverable",
    )
    carry = q5.checkbox(
        "Carry cap-withheld pay forward",
        value=base.cap_carry_forward,
        key=f"hr_carry_{editor_key}",
        help="Pay above the cap is banked and paid in a later period with room under its cap.",
    )
    if base.versions:
        st.markdown("**Effective-dated versions** (edit in the YAML; earlier periods keep the old rules)")
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "From": str(v.effective_from),
                        "To": str(v.effective_to or "open"),
                        "Target bonus %": v.target_bonus_pct,
                        "Cap %": v.cap_pct,
                        "Components changed": "yes" if v.components else "no",
                        "Note": v.note,
                    }
                    for v in base.versions
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    try:
        edited = set_component_plan(
            edited,
            plan_metric,
            tiers=tiers_table,
            mode=tier_mode,
            prorate=prorate,
            credit=credit,
            split=split,
            clawback_days=int(clawback_days) if clawback_on else None,
            config=cfg,
        )
        edited = set_draw(
            edited,
            None if draw_kind == "none" else draw_kind,
            amount_pct=draw_pct,
            periods=int(draw_periods) or None,
            share_of_excess=draw_share,
            cap_carry_forward=carry,
        )
    except ConfigError as exc:
        st.error(f"**The plan mechanics are not valid yet** — {exc}", icon=":material/edit:")
        st.stop()

if scheme_valid:
    st.success(
        f"Scheme valid · {len(edited.components)} components (weights sum to {weight_sum:.2f}) · "
        f"{len(edited.gates)} gate(s) · cap {edited.cap_pct:g} % of target bonus",
        icon=":material/check_circle:",
    )
    last_valid[start_id] = scheme_to_yaml(edited)
edited_yaml = scheme_to_yaml(edited)

# ---------------------------------------------------------------------------------------- live payouts
cmp_ = state.compare_live(src, schemes[current_id], edited)  # library compare_schemes on cached payout grids

# ---------------------------------------------------------------------------------------- scenario admin
with st.expander(
    "Save, approve and lock: scenarios, approvals, payout snapshots and the audit log", expanded=False
):
    st.caption(
        f"Stored in {store.path.name} beside the configs. A scenario moves draft → proposed → approved (approved is "
        "locked); a payout snapshot is an immutable, hashed record of one payout run; every change records who, "
        f"when and the diff. You act as **{who}**."
    )
    s1, s2, s3 = st.columns([2, 2, 1])
    save_name = s1.text_input(
        "Scenario name", value=st.session_state.get("hr_scenario", ""), key="hr_save_name"
    )
    save_note = s2.text_input("Note (why this change)", key="hr_save_note")
    existing = save_name.strip() in set(saved["name"])
    if s3.button(
        "Save revision" if existing else "Save scenario", key="hr_save", disabled=not save_name.strip()
    ):
        try:
            rev = store.save(save_name, edited, user=who, note=save_note, overwrite=existing)
        except CxError as exc:
            st.error(str(exc))
        else:
            st.session_state["hr_scenario"] = save_name.strip()
            st.success(f"Saved '{save_name.strip()}' revision {rev}.")
            saved = store.list()
    if not saved.empty:
        chosen = st.selectbox("Scenario to act on", saved["name"].tolist(), key="hr_admin_name")
        status = store.status(chosen)
        b1, b2, b3, b4 = st.columns(4)
        moves = {
            "draft": [("proposed", "Propose")],
            "proposed": [("approved", "Approve"), ("draft", "Back to draft")],
        }
        policy = access.policy()
        # approving and locking a payout run are HR's (a manager models and proposes on their teams' data)
        hr_may = policy is None or signed_in is None or signed_in.role == "hr"
        for col, (target, label) in zip((b1, b2), moves.get(status, []), strict=False):
            if col.button(label, key=f"hr_status_{target}", disabled=target == "approved" and not hr_may):
                try:
                    if target == "approved" and policy is not None:
                        policy.authorize(signed_in, "approve")  # refused and logged outside HR
                    # four-eyes: the proposer / last editor cannot approve (refusal kept in the audit log)
                    store.set_status(
                        chosen, target, user=who, four_eyes=policy is not None and policy.four_eyes
                    )
                except CxError as exc:
                    st.error(str(exc))
                else:
                    st.rerun()
        if b3.button("Lock a payout snapshot", key="hr_snapshot", disabled=not hr_may):
            try:
                if policy is not None:
                    policy.authorize(signed_in, "snapshot")
                run = state.compare_live(src, schemes[current_id], store.load(chosen)).payouts["edited"]
                snap_id = store.snapshot(chosen, run, user=who, data_stamp=state.describe(src))
            except CxError as exc:
                st.error(str(exc))
            else:
                st.success(
                    f"Snapshot {snap_id} of '{chosen}' ({status}) locked: {len(run):,} employee-periods, "
                    f"{ui.money(float(run.loc[~run['withheld'], 'payout'].sum()))} paid. Open it below to "
                    "download the statements."
                )
        behind = store.involved(chosen) if status == "proposed" else {}
        st.caption(
            f"'{chosen}' is **{status}**."
            + ("" if hr_may else " Only HR can approve it or lock its payout run.")
            + (
                f" Proposed by {behind.get('proposed', '?')}, last edited by {behind.get('last edited', '?')}: "
                "another HR user approves it (four-eyes)."
                if behind and policy is not None and policy.four_eyes
                else ""
            )
        )
        if len(saved) > 1:
            other = st.selectbox(
                "Compare with", [n for n in saved["name"] if n != chosen], key="hr_compare_name"
            )
            st.dataframe(store.compare(chosen, other), hide_index=True, width="stretch", key="hr_scn_diff")
    snaps = store.snapshots()
    if not snaps.empty:
        st.markdown("**Payout snapshots**")
        st.dataframe(
            snaps.drop(columns="content_hash"),
            hide_index=True,
            width="stretch",
            key="hr_snaps",
            column_config={
                "total_payout": st.column_config.NumberColumn(f"Total payout ({currency})", format="%,.2f"),
                "rows": st.column_config.NumberColumn("Employee-periods", format="%,d"),
            },
        )
        snap_label = snaps.set_index("id")
        snap_pick = st.selectbox(
            "Open snapshot",
            snaps["id"].tolist(),
            index=len(snaps) - 1,
            format_func=lambda i: (
                f"{i} · {snap_label.loc[i, 'scenario']} revision {snap_label.loc[i, 'revision']} · locked by "
                f"{snap_label.loc[i, 'created_by']} at {str(snap_label.loc[i, 'created_at'])[:16]}"
            ),
            key="hr_snap_pick",
        )
        try:
            snap = store.load_snapshot(int(snap_pick))
        except CxError as exc:
            st.error(str(exc), icon=":material/gpp_bad:")
        else:
            rows = restrict_payouts(snap.payouts, signed_in)
            st.caption(
                f"Snapshot {snap.id} of '{snap.scenario}' revision {snap.revision}, by {snap.created_by} at "
                f"{snap.created_at}; content hash {snap.content_hash[:16]}… verified."
            )
            st.dataframe(
                rows,
                hide_index=True,
                width="stretch",
                key="hr_snap_rows",
                column_config={"period": st.column_config.DateColumn("Period", format="YYYY-MM")},
            )
            # payee statements of exactly the locked numbers, under the scenario revision the run was taken of
            snap_periods = sorted(pd.DatetimeIndex(rows["period"].unique())) if len(rows) else []
            if snap_periods:
                q1, q2 = st.columns([1, 2])
                snap_period = q1.selectbox(
                    "Statements for",
                    [f"{p:%Y-%m}" for p in snap_periods],
                    index=len(snap_periods) - 1,
                    key="hr_snap_period",
                )
                snap_scheme = store.load(snap.scenario, snap.revision)
                q2.download_button(
                    f"Download statements {snap_period} (ZIP, one HTML page per employee)",
                    lambda: statements_archive(
                        snap.payouts,
                        snap_scheme,
                        snap_period,
                        catalogue=cfg.metrics,
                        currency=cfg.economics.currency,
                        viewer=signed_in,  # refused / cut to the viewer's teams where the pay is read
                    ),
                    file_name=f"statements_{snap.scenario.replace(' ', '_')}_{snap_period}.zip",
                    mime="application/zip",
                    key="hr_dl_statements",
                )
    log = store.audit()
    if not log.empty:
        st.markdown("**Audit log**")
        st.dataframe(
            log.assign(
                diff=log["detail"].map(
                    lambda d: (
                        "; ".join(f"{x['key']}: {x['old']} → {x['new']}" for x in d.get("diff", []))
                        or ", ".join(f"{k} {v}" for k, v in d.items() if k in ("snapshot", "rows"))
                        or (f"refused ({d.get('wanted', '')}): {d['reason']}" if "reason" in d else "")
                    )
                )
            ).drop(columns="detail"),
            hide_index=True,
            width="stretch",
            key="hr_audit",
        )
payouts, baseline = cmp_.payouts["edited"], cmp_.payouts["current"]
months = state.metric_months(src)
budget = cfg.economics.annual_bonus_budget
cost = cmp_.budget.set_index("scheme").loc[["current", "edited"]]
cost_now, cost_new = cost["annualised_cost"].to_numpy()
cost_change = float(cost.loc["edited", "vs_baseline"])
att = cmp_.attainment.set_index("scheme").loc[["current", "edited"]]
# groups of fewer than access.yaml's min_group_size merged outside HR (a manager's data is their teams only)
wl_viewed = cmp_.winners_losers_for(signed_in, own_teams_only=True)
wl = wl_viewed.drop(columns=["scheme", "merged_groups"])

st.subheader("Cost and attainment, edited vs current")
# two rows of tiles: five in one row cut the labels ("Annual payout cost (edi…") at the default width
m1, m2, m3 = st.columns(3)
m4, m5, _ = st.columns(3)
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

scheme_labels = [f"current: {schemes[current_id].name}", f"edited: {edited.name}"]
# cost and attainment in two tables: nine columns in one did not fit a 1400-px window (the last were cut off)
ui.text_table(
    pd.DataFrame(
        {
            "Scheme": scheme_labels,
            f"Annual cost ({currency})": cost["annualised_cost"].to_numpy(),
            f"Change vs current ({currency}/yr)": cost["vs_baseline"].to_numpy(),
            "Share of budget": cost["budget_share"].to_numpy(),
        }
    ),
    {"Scheme": 260},
    key="hr_cost_table",
    column_config={
        f"Annual cost ({currency})": st.column_config.NumberColumn(format="%,.0f", width=130),
        f"Change vs current ({currency}/yr)": st.column_config.NumberColumn(format="%+,.0f", width=190),
        "Share of budget": st.column_config.NumberColumn(format="percent", width=120),
    },
)
ui.text_table(
    pd.DataFrame(
        {
            "Scheme": scheme_labels,
            "Mean attainment": att["mean"].to_numpy(),
            "Median attainment": att["p50"].to_numpy(),
            "Paid nothing": att["share_zero"].to_numpy(),
            "Capped": att["share_capped"].to_numpy(),
            "Gate failed": att["share_gate_failed"].to_numpy(),
        }
    ),
    {"Scheme": 260},
    key="hr_attainment_table",
    column_config={
        c: st.column_config.NumberColumn(format="percent", width=px)
        for c, px in (
            ("Mean attainment", 125),
            ("Median attainment", 135),
            ("Paid nothing", 105),
            ("Capped", 80),
            ("Gate failed", 95),
        )
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
        department=wl["department"]
        .map({d.id: d.name for d in cfg.organisation.departments})
        .fillna(wl["department"]),
        role=wl["role"].map(ui.humanise),
    )
    st.markdown(f"**Winners and losers vs current, by department and role** (changes in {currency})")
    if wl_viewed.attrs.get("suppression"):
        st.caption(wl_viewed.attrs["suppression"])
    ui.text_table(
        shown,
        {"department": 170, "role": 150},
        column_config={
            "department": "Department",
            "role": "Role",
            "employees": st.column_config.NumberColumn("Employees", width=80),
            "winners": st.column_config.NumberColumn("Winners", width=70),
            "losers": st.column_config.NumberColumn("Losers", width=65),
            "unchanged": st.column_config.NumberColumn("Unchanged", width=85),
            "not_comparable": st.column_config.NumberColumn(
                "Not comparable",
                help="Every period withheld under one of the two schemes (e.g. a leaver).",
                width=110,
            ),
            "mean_change": st.column_config.NumberColumn(
                "Mean change", format="%+,.0f", width=95, help=f"{currency} per employee over the data"
            ),
            "total_change": st.column_config.NumberColumn(
                "Total change", format="%+,.0f", width=100, help=f"{currency} over the data"
            ),
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
claw = payouts.attrs.get("clawback")
clawed = [c for c in edited.components if c.clawback is not None]
if clawed and isinstance(claw, dict):
    st.markdown(
        "**Retention clawback** — pay for a sale is taken back when the customer churns within "
        + ", ".join(
            f"{ui.metric_name(c.metric)}: {c.clawback.window_days} days" for c in clawed if c.clawback
        )
        + ", so the scheme no longer pays for sales that cost the customer relationship."
    )
    k1, k2, k3 = st.columns(3)
    k1.metric("Credited sales reversed", f"{claw['reversed_sales']:,}")
    k2.metric("Pay clawed back", ui.money(claw["clawback_total"]))
    recovered = float(np.nansum(payouts["clawback_recovered"])) if "clawback_recovered" in payouts else 0.0
    k3.metric(
        "Clawed back and recovered",
        ui.money(recovered),
        help="Clawbacks are recovered from the churn month's pay and later months; pay never goes negative.",
    )
elif clawed:
    st.info(f"Clawback not applied: {claw}")
edited_intervals, evidence_missing = _evidence.intervals_for(src, edited)
rows = conflict_rows(matrix, cfg, intervals=edited_intervals, unavailable=evidence_missing)
if rows.empty:
    st.success("No component pays for moving a shared customer KPI the wrong way.")
else:
    st.markdown(
        f"**Why** — all {len(rows)} conflicts, worst first, with the strongest causal path behind each "
        "(elasticities from causal_graph.yaml), the severity's 95 % interval from the graph estimated from "
        "history and the verdict of every edge on the path:"
    )
    ui.conflict_tables(rows, key="hr_conflict_rows", total_effect_help=TOTAL_EFFECT_CONVENTION)

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
import _evidence  # noqa: E402

# the behaviour value's interval over the causal graph estimated from history (certain only if it excludes zero)
interval = _evidence.behaviour_interval(
    src, simulated, asked=st.session_state.get("hr_interval_asked", False)
)
if interval is not None:
    st.caption(_evidence.interval_sentence(interval))
elif st.button("Add the 95 % interval from the causal graph estimated from history", key="hr_interval"):
    st.session_state["hr_interval_asked"] = True
    interval = _evidence.behaviour_interval(src, simulated, asked=True)
    if interval is not None:
        st.caption(_evidence.interval_sentence(interval))

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
