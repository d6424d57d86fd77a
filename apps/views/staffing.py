"""Staffing & service level: service level achieved vs target, agents required vs staffed, what the budget buys,
and how service level responds to one more agent (Erlang C, or Erlang A with abandonment)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import _state as state  # noqa: E402
import _ui as ui  # noqa: E402
import numpy as np  # noqa: E402
import plotly.graph_objects as go  # noqa: E402
import streamlit as st  # noqa: E402

from cx_framework import plots  # noqa: E402
from cx_framework.app_support import staffed_fte  # noqa: E402
from cx_framework.plots._style import PALETTE, STATUS_COLOURS, apply_style  # noqa: E402
from cx_framework.staffing import aggregate_service_level, erlang_a, service_level  # noqa: E402

src = ui.page(
    "Staffing & service level",
    "What service level do we deliver, what would the target take, and what does the budget buy?",
)
cfg = state.config()
econ = cfg.economics
intervals = state.table(src, "intervals")

c1, c2, c3 = st.columns(3)
target = c1.slider(
    "Service-level target (share answered within the threshold)",
    0.50,
    0.95,
    float(econ.service_level_target),
    0.05,
    key="st_target",
    help=ui.metric_help("service_level"),
)
shrinkage = c2.slider(
    "Shrinkage (share of paid time not on the phones)", 0.0, 0.6, float(econ.shrinkage), 0.01, key="st_shrink"
)
erlang_a_on = c3.toggle("Erlang A (callers abandon)", value=False, key="st_erlang_a")
patience = (
    c3.number_input("Mean caller patience (s)", 10.0, 1800.0, 180.0, 10.0, key="st_patience")
    if erlang_a_on
    else None
)

# ---------------------------------------------------------------------------------------- SL achieved
st.subheader("Service level achieved")
overall = float(aggregate_service_level(intervals))
weekly = aggregate_service_level(intervals, by=["week", "queue"])
m1, m2 = st.columns([1, 3])
m1.metric(
    "Service level, whole period",
    ui.pct(overall),
    delta=f"{(overall - target) * 100:+.1f} pts vs target",
    help="Σ answered within threshold / Σ offered (volume-weighted, never a mean of interval percentages).",
)
fig = go.Figure()
for i, (queue, frame) in enumerate(weekly.groupby("queue", sort=True)):
    fig.add_trace(
        go.Scatter(
            x=frame["week"], y=frame["service_level"], mode="lines", name=queue, line={"color": PALETTE[i]}
        )
    )
fig.add_hline(
    y=target, line={"color": STATUS_COLOURS["red"], "dash": "dash"}, annotation_text=f"target {target:.0%}"
)
fig.update_yaxes(title="Service level (share within threshold)", tickformat=".0%")
fig.update_xaxes(title="Week starting")
with m2:
    ui.chart(apply_style(fig, title="Weekly service level by queue", height=340), key="st_weekly")

# ---------------------------------------------------------------------------------------- required vs staffed
st.subheader("Agents required vs staffed")
required = state.required(src, target, shrinkage, patience)
days = required["interval_start"].dt.normalize()
day = st.select_slider(
    "Day",
    options=sorted(days.unique()),
    value=days.max(),
    format_func=lambda d: f"{d:%a %d %b %Y}",
    key="st_day",
)
shown = required[days.eq(day)]
r1, r2, r3 = st.columns(3)
r1.metric(
    "Half-hours under-staffed that day",
    f"{int((shown['staffing_gap'] < 0).sum()) if 'staffing_gap' in shown else 0}",
)
r2.metric("Peak agents required", f"{shown.groupby('interval_start')['required_agents'].sum().max():,.0f}")
r3.metric(
    "Modelled SL that day",
    ui.pct(np.average(shown["modelled_service_level"], weights=np.maximum(shown["offered"], 1e-9)))
    if shown["offered"].sum() > 0
    else "—",
    help="Offered-weighted modelled service level with the staffed agents.",
)
ui.chart(plots.required_vs_staffed_figure(shown), key="st_required")
# service level per half-hour of the same day
per_interval = aggregate_service_level(
    intervals[intervals["interval_start"].dt.normalize().eq(day)], by="interval_start"
)
fig = go.Figure(
    go.Scatter(
        x=per_interval["interval_start"],
        y=per_interval["service_level"],
        mode="lines+markers",
        name="actual (all queues)",
        line={"color": PALETTE[0]},
    )
)
fig.add_hline(
    y=target,
    line={"color": STATUS_COLOURS["red"], "dash": "dash"},
    annotation_text=f"target {target:.0%}",
)
fig.update_yaxes(title="Service level (share within threshold)", tickformat=".0%", range=[0, 1.05])
fig.update_xaxes(title="Half-hour starting")
ui.chart(apply_style(fig, title="Service level by half-hour vs target"), key="st_interval_sl")

# ---------------------------------------------------------------------------------------- budget gap
st.subheader("Budget gap: the service level the funded FTE buy")
horizon = 28
forecast = state.recent_intervals(src, horizon)
default_fte = round(staffed_fte(forecast, shrinkage=shrinkage, hours_per_fte=econ.hours_per_fte_week), 1)
budget_fte = st.number_input(
    "Funded FTE (default: what is staffed today)",
    min_value=0.0,
    value=float(default_fte),
    step=1.0,
    key="st_budget_fte",
    help=f"Paid {econ.hours_per_fte_week:g} h per week each; the last {horizon} days of intervals stand in for the forecast.",
)
gap = state.budget_gap(src, float(budget_fte), target, shrinkage, horizon)
b1, b2, b3, b4 = st.columns(4)
b1.metric("FTE needed for target", f"{gap.fte_needed:,.1f}")
b2.metric("FTE funded", f"{gap.fte_budget:,.1f}")
b3.metric("Gap (FTE)", f"{gap.fte_gap:+,.1f}", help="Needed minus funded; positive = the budget is short.")
b4.metric(
    "Service level the budget buys",
    ui.pct(gap.achieved_service_level),
    delta=f"{(gap.achieved_service_level - target) * 100:+.1f} pts",
)
ui.chart(plots.budget_sl_by_day_figure(gap), key="st_budget")

# ---------------------------------------------------------------------------------------- SL curve
st.subheader("Service level vs agents for one half-hour")
queues = sorted(intervals["queue"].unique())
q1, q2 = st.columns(2)
queue = q1.selectbox("Queue", queues, key="st_queue")
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
    ea = erlang_a(calls, aht, agents, patience_s=patience, answer_s=econ.answer_s)
    s2.metric(
        "Service level (Erlang A)",
        ui.pct(float(ea.service_level)),
        help=f"Callers abandon after {patience:g} s on average (exponential patience); abandoned calls count as missed.",
    )
fig = plots.sl_vs_agents_figure(calls, aht, target=target, answer_s=econ.answer_s, patience_s=patience)
fig.add_trace(
    go.Scatter(
        x=[agents],
        y=[sl_c],
        mode="markers+text",
        name="your choice",
        text=[f"  {agents} agents: {sl_c:.1%}"],
        textposition="middle right",
        marker={"size": 14, "color": PALETTE[4], "symbol": "diamond"},
    )
)
ui.chart(fig, key="st_curve")

# ---------------------------------------------------------------------------------------- model fit
import _model_fit  # noqa: E402

_model_fit.render(src)
