"""Staffing & service level: what customers got (realised service level), what the same staff would have bought
scheduled to the workload, the gap between them (schedule mismatch), agents required vs staffed, what the budget
buys, and how service level responds to one more agent (Erlang C, or Erlang A with abandonment)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import _state as state  # noqa: E402
import _ui as ui  # noqa: E402
import numpy as np  # noqa: E402
import plotly.graph_objects as go  # noqa: E402
import streamlit as st  # noqa: E402

from cx_framework import figures as F  # noqa: E402
from cx_framework import plots  # noqa: E402
from cx_framework.app_support import staffed_fte  # noqa: E402
from cx_framework.conflicts.budget_gap import understaffed_intervals  # noqa: E402
from cx_framework.plots._style import PALETTE, STATUS_COLOURS, apply_style, reference_line  # noqa: E402
from cx_framework.staffing import aggregate_service_level, service_level  # noqa: E402

src = ui.page(
    "Staffing & service level",
    "What service level do customers get, what would the same staff buy if scheduled to the calls, and what "
    "does the budget buy?",
)
cfg = state.config()
econ = cfg.economics
intervals = state.table(src, "intervals")

c1, c2, c3 = st.columns(3)
target_pct = c1.slider(
    "Service-level target (% of calls answered within the threshold)",
    50,
    95,
    int(round(econ.service_level_target * 100)),
    5,
    format="%d%%",
    key="st_target_pct",
    help=ui.metric_help("service_level"),
)
target = target_pct / 100.0
shrinkage_pct = c2.slider(
    "Shrinkage (% of paid time not on the phones)",
    0,
    60,
    int(round(econ.shrinkage * 100)),
    1,
    format="%d%%",
    key="st_shrink_pct",
)
shrinkage = shrinkage_pct / 100.0
erlang_a_on = c3.toggle(
    "Erlang A (callers abandon)",
    value=False,
    key="st_erlang_a",
    help="Used everywhere on this page, including the budget gap.",
)
patience = (
    c3.number_input("Mean caller patience (s)", 10.0, 1800.0, 180.0, 10.0, key="st_patience")
    if erlang_a_on
    else None
)
model = "Erlang C" if patience is None else f"Erlang A, mean patience {patience:g} s"

# ---------------------------------------------------------------------------------------- reconciliation
horizon = 28
forecast = state.recent_intervals(src, horizon)
start, end = forecast["interval_start"].min(), forecast["interval_start"].max()
default_fte = round(staffed_fte(forecast, shrinkage=shrinkage, hours_per_fte=econ.hours_per_fte_week), 1)
# the funded FTE input follows its default (the staffed FTE, which depends on the shrinkage) until the user types
# a value of their own: a keyed widget otherwise keeps the first default after the shrinkage moved
previous_default = st.session_state.get("_st_budget_fte_default")
current = st.session_state.get("st_budget_fte")
if current is None or (previous_default is not None and abs(float(current) - previous_default) < 1e-9):
    st.session_state["st_budget_fte"] = float(default_fte)
st.session_state["_st_budget_fte_default"] = float(default_fte)
st.subheader("What customers got vs what the staff could buy — forecast window")
st.caption(
    f"{start:%d %b} – {end:%d %b %Y} (assumptions.yaml baseline_months), all queues, {model}. The model figures place the *same* staffed hours "
    "differently; realised = what the data record."
)
# realised, modelled-with-the-actual-staffing and rescheduled service levels do not depend on the funded FTE: read
# them from the budget gap of the funded FTE chosen below (its number input's value when it has one), so a rerun
# computes one budget-gap what-if, not one for the staffed FTE and another for the funded FTE
chosen_fte = st.session_state.get("st_budget_fte")
gap_staffed = state.budget_gap(
    src,
    float(chosen_fte) if isinstance(chosen_fte, (int, float)) and chosen_fte >= 0 else float(default_fte),
    target,
    shrinkage,
    horizon,
    patience,
)
realised = gap_staffed.realised_service_level
mismatch = gap_staffed.schedule_mismatch
k1, k2 = st.columns(2)
k3, k4 = st.columns(2)
k1.metric(
    "Realised service level",
    ui.pct(realised) if realised is not None else "—",
    delta=f"{(realised - target) * 100:+.1f} pts vs target {target:.0%}" if realised is not None else None,
    help="Σ answered within the threshold / Σ offered over the window, as recorded.",
)
k2.metric(
    "Modelled with the actual staffing",
    ui.pct(gap_staffed.staffed_model_service_level)
    if gap_staffed.staffed_model_service_level is not None
    else "—",
    help=f"{model} service level of each half-hour with the agents actually staffed in it, offered-weighted. "
    "Its distance to the realised level is what the queueing model does not capture.",
)
k3.metric(
    "Service level the staffed FTE would buy if scheduled to the workload",
    ui.pct(gap_staffed.rescheduled_service_level)
    if gap_staffed.rescheduled_service_level is not None
    else "—",
    help=f"The same {default_fte:,.1f} FTE of staffed hours shared across half-hours in proportion to the "
    f"offered workload (calls × AHT), {model}.",
)
# the registry's schedule mismatch (realised minus what the staffed FTE would buy if scheduled to the workload),
# split below into the part due to where the staff were and the part the queueing model does not explain
rescheduled = gap_staffed.rescheduled_service_level
lost = realised - rescheduled if realised is not None and rescheduled is not None else None
k4.metric(
    F.SCHEDULE_MISMATCH.label,
    F.SCHEDULE_MISMATCH.figure(lost).formatted() if lost is not None else "—",
    help=F.SCHEDULE_MISMATCH.definition,
)
if realised is not None and mismatch is not None and rescheduled is not None:
    residual = gap_staffed.model_residual or 0.0
    st.markdown(
        f"Realised **{realised:.1%}** = scheduled to the workload **{rescheduled:.1%}** − staff not where the "
        f"calls were **{mismatch * 100:.1f} pts** − model residual **{residual * 100:+.1f} pts** (abandonment, "
        "AHT swings and peaks inside the half-hour that the model does not see)."
    )

# ---------------------------------------------------------------------------------------- SL over time
st.subheader("Realised service level over the whole data")
# the intervals were validated once when the Analysis read them
overall = state.memo(
    ("realised_sl_overall", src), lambda: float(aggregate_service_level(intervals, validate=False))
)
m1, m2 = st.columns([1, 3])
m1.metric(
    f"Realised service level, {intervals['interval_start'].min():%b %Y} – {intervals['interval_start'].max():%b %Y}",
    ui.pct(overall),
    delta=f"{(overall - target) * 100:+.1f} pts vs target",
    help="Σ answered within threshold / Σ offered (volume-weighted, never a mean of interval percentages).",
)


def _weekly_figure() -> go.Figure:
    # the aggregate does not depend on the target: computed once per data source, only the chart per target
    weekly = state.memo(
        ("weekly_sl_by_queue", src),
        lambda: aggregate_service_level(intervals, by=["week", "queue"], validate=False),
    )
    fig = go.Figure()
    for i, (queue, frame) in enumerate(weekly.groupby("queue", sort=True)):
        fig.add_trace(
            go.Scatter(
                x=frame["week"],
                y=frame["service_level"],
                mode="lines",
                name=ui.humanise(queue),
                line={"color": PALETTE[i]},
            )
        )
    reference_line(
        fig,
        y=target,
        line={"color": STATUS_COLOURS["red"], "dash": "dash"},
        annotation_text=f"target {target:.0%}",
        annotation_position="bottom right",
    )
    fig.update_yaxes(title="Realised service level", tickformat=".0%", dtick=0.1)
    fig.update_xaxes(title="Week starting", dtick="M3", tickformat="%b %Y")
    return apply_style(fig, title="Weekly realised service level by queue", height=360)


with m2:
    ui.chart(state.memo(("st_weekly", src, target), _weekly_figure), key="st_weekly")

# ---------------------------------------------------------------------------------------- required vs staffed
st.subheader("Agents required vs staffed")
required = state.required(src, target, shrinkage, patience)
# agents needed and the modelled service level do not depend on shrinkage (it only rescales required_rostered):
# what is derived from them below is keyed without it
days, day_options = state.memo(
    ("required_days", src, target, patience),
    lambda: (
        required["interval_start"].dt.normalize(),
        sorted(required["interval_start"].dt.normalize().unique()),
    ),
)
day = st.select_slider(
    "Day",
    options=day_options,
    value=days.max(),
    format_func=lambda d: f"{d:%a %d %b %Y}",
    key="st_day",
)
shown = state.memo(("required_day", src, target, shrinkage, patience, day), lambda: required[days.eq(day)])
short = (
    state.memo(("understaffed", src, target, patience, day), lambda: understaffed_intervals(shown))
    if "agents_staffed" in shown
    else None
)
r1, r2, r3 = st.columns(3)
r1.metric(
    "Half-hours under-staffed that day",
    f"{int(short['understaffed'].sum())} of {len(short)}" if short is not None else "—",
    help="Half-hours in which at least one queue had fewer agents than it needed for the target "
    f"({model}); the red markers in the chart below.",
)
r2.metric("Peak agents required", f"{shown.groupby('interval_start')['required_agents'].sum().max():,.0f}")
r3.metric(
    "Modelled service level that day, actual staffing",
    ui.pct(np.average(shown["modelled_service_level"], weights=np.maximum(shown["offered"], 1e-9)))
    if shown["offered"].sum() > 0
    else "—",
    help=f"Offered-weighted {model} service level with the agents staffed.",
)
ui.chart(
    state.memo(
        ("required_vs_staffed", src, target, patience, day),
        lambda: plots.required_vs_staffed_figure(shown),
    ),
    key="st_required",
)


def _interval_figure() -> go.Figure:
    per_interval = state.memo(
        ("interval_sl_of_day", src, day),
        lambda: aggregate_service_level(
            intervals[intervals["interval_start"].dt.normalize().eq(day)], by="interval_start", validate=False
        ),
    )
    fig = go.Figure(
        go.Scatter(
            x=per_interval["interval_start"],
            y=per_interval["service_level"],
            mode="lines+markers",
            name="realised (all queues)",
            line={"color": PALETTE[0]},
        )
    )
    reference_line(
        fig,
        y=target,
        line={"color": STATUS_COLOURS["red"], "dash": "dash"},
        annotation_text=f"target {target:.0%}",
        annotation_position="bottom right",
    )
    fig.update_yaxes(title="Realised service level", tickformat=".0%", range=[0, 1.05], dtick=0.2)
    fig.update_xaxes(title="Half-hour starting", tickformat="%H:%M", dtick=2 * 3600 * 1000)
    return apply_style(fig, title="Realised service level by half-hour vs target")


ui.chart(state.memo(("st_interval_sl", src, day, target), _interval_figure), key="st_interval_sl")

# ---------------------------------------------------------------------------------------- budget gap
st.subheader("Budget gap: the service level the funded FTE would buy")
budget_fte = st.number_input(
    "Funded FTE (default: the FTE staffed in the window)",
    min_value=0.0,
    step=1.0,
    key="st_budget_fte",
    help=f"Paid {econ.hours_per_fte_week:g} h per week each; the forecast window (assumptions.yaml) stands in for "
    "the forecast.",
)
gap = state.budget_gap(src, float(budget_fte), target, shrinkage, horizon, patience)
b1, b2, b3 = st.columns(3)
b4, _ = st.columns(2)
b1.metric("FTE needed for the target", f"{gap.fte_needed:,.1f}", help=f"{model}, every half-hour at target.")
b2.metric("FTE funded", f"{gap.fte_budget:,.1f}")
b3.metric(
    "Budget gap (FTE)", f"{gap.fte_gap:+,.1f}", help="Needed minus funded; positive = the budget is short."
)
b4.metric(
    "Service level the funded FTE would buy if scheduled to the workload",
    ui.pct(gap.achieved_service_level),
    delta=f"{(gap.achieved_service_level - target) * 100:+.1f} pts vs target",
    help="A model figure: the funded hours shared across half-hours in proportion to the workload. Compare the "
    "realised level above.",
)
ui.chart(
    state.memo(
        ("budget_sl_by_day", src, float(budget_fte), target, shrinkage, patience),
        lambda: plots.budget_sl_by_day_figure(gap),
    ),
    key="st_budget",
)

# ---------------------------------------------------------------------------------------- SL curve
st.subheader("Service level vs agents for one half-hour")
queues = sorted(intervals["queue"].unique())
q1, q2 = st.columns(2)
queue = q1.selectbox("Queue", queues, format_func=ui.humanise, key="st_queue")
busy = shown[shown["queue"].eq(queue)].sort_values("offered")
interval = busy.iloc[-1] if len(busy) else required[required["queue"].eq(queue)].iloc[0]
q2.markdown(
    f"Busiest half-hour of the day: **{interval['interval_start']:%H:%M}**, {interval['offered']:.0f} calls, "
    f"AHT {interval['aht_s']:.0f} s"
)
calls, aht = float(interval["offered"]), float(interval["aht_s"])
traffic = calls * aht / 1800.0
agents = st.slider(
    "Agents on the phones",
    min_value=max(1, int(np.floor(traffic))),
    max_value=int(np.ceil(traffic)) + 15,
    value=int(np.ceil(traffic)) + 2,
    key="st_agents",
)
sl_c = float(service_level(calls, aht, agents, answer_s=econ.answer_s))
s1, s2 = st.columns(2)
s1.metric("Service level (Erlang C)", ui.pct(sl_c))
if patience is not None:
    # erlang_a(...).service_level without its ASA quadrature (not shown here): the same number
    sl_a = state.memo(
        ("erlang_a_sl", calls, aht, agents, patience, econ.answer_s),
        lambda: float(service_level(calls, aht, agents, answer_s=econ.answer_s, patience_s=patience)),
    )
    s2.metric(
        "Service level (Erlang A)",
        ui.pct(sl_a),
        help=f"Callers abandon after {patience:g} s on average (exponential patience); abandoned calls count as "
        "missed.",
    )


def _curve_figure() -> go.Figure:
    fig = plots.sl_vs_agents_figure(calls, aht, target=target, answer_s=econ.answer_s, patience_s=patience)
    fig.add_trace(
        go.Scatter(
            x=[agents],
            y=[sl_c],
            mode="markers",
            name=f"your choice: {agents} agents, {sl_c:.1%}",
            marker={"size": 14, "color": PALETTE[4], "symbol": "diamond"},
        )
    )
    return fig


ui.chart(
    state.memo(("sl_vs_agents", calls, aht, target, econ.answer_s, patience, agents), _curve_figure),
    key="st_curve",
)

# ---------------------------------------------------------------------------------------- model fit
import _model_fit  # noqa: E402

_model_fit.render(src)
