"""Scorecard & drill-down: any scorecard metric in any month, from the organisation to departments, teams and
agents, with its control chart (XmR limits) and flagged exceptions."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import _state as state  # noqa: E402
import _ui as ui  # noqa: E402
import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

from cx_framework import plots  # noqa: E402

src = ui.page(
    "Scorecard & drill-down",
    "Which departments, teams and agents are green or red, and is it a signal or noise?",
)
cfg = state.config()
result = state.scorecard(src)
names = {dep.id: dep.name for dep in cfg.organisation.departments}

periods = sorted(result.periods)
metrics = list(dict.fromkeys(result.metric_scores["metric"]))
shared_ids = [o.metric for o in cfg.scorecard.shared]
metrics = shared_ids + [m for m in metrics if m not in shared_ids]

c1, c2 = st.columns([2, 1])
metric = c1.selectbox(
    "Metric",
    metrics,
    format_func=lambda m: f"{ui.metric_label(m)}{'  · shared customer card' if m in shared_ids else ''}",
    key="sc_metric",
)
complete = ui.default_period(src, periods)
period = c2.selectbox(
    "Month",
    periods[::-1],
    index=periods[::-1].index(complete),
    format_func=lambda p: f"{p:%b %Y}" + (" (incomplete)" if p > complete else ""),
    key="sc_period",
    help="Default: the latest complete month; later months hold metrics that need data not observed yet.",
)
st.info(ui.metric_help(metric) or metric, icon=":material/info:")

tab_card, tab_drill, tab_trend = st.tabs(["Scorecards", "Drill-down", "Trend & exceptions"])

with tab_card:
    st.caption("Score per cell: 0 = threshold, 100 = target, 120 = stretch; colour = status.")
    for card in ("shared", "local"):
        ui.chart(
            state.memo(
                ("scorecard_heatmap", src, card, period),
                lambda card=card: plots.scorecard_heatmap(result, card=card, period=period),
            ),
            key=f"sc_heat_{card}",
        )

with tab_drill:
    levels = ["department", "team"]
    agent_metrics = state.memo(
        ("agent_metrics", src),
        lambda: frozenset(result.values.loc[result.values["level"].eq("employee"), "metric"].unique()),
    )
    has_agents = metric in agent_metrics
    if has_agents:
        levels.append("employee")
    drill = state.memo(
        ("drill_down", src, metric, period, tuple(levels)),
        lambda: result.drill_down(metric, period, by=tuple(levels)),
    )
    org_row = drill[drill["level"].astype(str).eq("organisation")].iloc[0]
    st.metric(
        f"Organisation — {ui.metric_name(metric)}",
        ui.fmt_value(metric, org_row["value"]),
        help=ui.metric_help(metric),
    )
    st.markdown(f"Status: {ui.badge(org_row['status'])}", unsafe_allow_html=True)
    d1, d2 = st.columns(2)
    departments = sorted(
        drill.loc[drill["level"].astype(str).eq("department"), "department"].dropna().unique()
    )
    department = d1.selectbox(
        "Department",
        ["(all departments)", *departments],
        format_func=lambda d: names.get(d, d),
        key="sc_dept",
    )
    team = "(all teams)"
    if department != "(all departments)":
        teams = sorted(
            drill.loc[drill["level"].astype(str).eq("team") & drill["department"].eq(department), "team"]
            .dropna()
            .unique()
        )
        team = d2.selectbox("Team", ["(all teams)", *teams], key="sc_team")
    if department == "(all departments)":
        level, shown = "department", drill[drill["level"].astype(str).eq("department")]
    elif team == "(all teams)":
        level, shown = (
            "team",
            drill[drill["level"].astype(str).eq("team") & drill["department"].eq(department)],
        )
    else:
        level = "employee"
        shown = drill[drill["level"].astype(str).eq("employee") & drill["team"].eq(team)]
        if not has_agents:
            st.info(f"{ui.metric_name(metric)} is not measured per agent; the team is the lowest level.")
    label = {"department": "Department", "team": "Team", "employee": "Agent"}[level]
    key_col = {"department": "department", "team": "team", "employee": "employee_id"}[level]
    view = pd.DataFrame(
        {
            label: shown[key_col].map(lambda k: names.get(k, k)) if level == "department" else shown[key_col],
            ui.metric_label(metric): [ui.fmt_value(metric, v) for v in shown["value"]],
            "Share of parent volume": shown["share_of_volume"],
            "Score (0–120)": shown["score"],
            "Status": shown["status"],
        }
    )
    st.subheader(
        f"{label}s"
        + (f" in {names.get(department, department)}" if level != "department" else "")
        + (f" / {team}" if level == "employee" else "")
    )
    st.dataframe(
        ui.style_status(view, ["Status"]).format(
            {"Share of parent volume": "{:.1%}", "Score (0–120)": "{:.0f}"}, na_rep="—"
        ),
        hide_index=True,
        width="stretch",
    )

with tab_trend:
    trend_dept = st.selectbox(
        "Trend for",
        ["organisation", *sorted(names)],
        format_func=lambda d: "Whole organisation" if d == "organisation" else names.get(d, d),
        key="sc_trend_dept",
    )
    try:
        ui.chart(
            state.memo(
                ("scorecard_trend", src, metric, trend_dept),
                lambda: plots.scorecard_trend_chart(result, metric, department=trend_dept),
            ),
            key="sc_trend",
        )
        st.caption(
            "XmR chart: centre = mean, limits = mean ± 2.66 × average moving range (Wheeler, *Understanding "
            "Variation*). Red diamonds: a Western Electric rule fired in the bad direction."
        )
    except state.CxError as exc:
        st.info(f"No trend to show: {exc}")
    ex = result.exceptions[result.exceptions["metric"].eq(metric)]
    st.subheader(f"Exceptions for {ui.metric_name(metric)}")
    if ex.empty:
        st.success("No threshold breaches or control-chart signals for this metric.")
    else:
        ui.text_table(
            pd.DataFrame(
                {
                    "Month": ex["period"].dt.strftime("%b %Y"),
                    "Level": ex["level"].map(ui.humanise),
                    "Where": ui.where(ex, names),
                    # WE1..WE4 are the Western Electric rules of the caption above
                    "Rule": ex["rule"]
                    .map(lambda r: f"Western Electric {r[2:]}" if r.startswith("WE") else r)
                    .map(ui.humanise),
                    "What happened": ex["description"],
                    "Value": [ui.fmt_value(metric, v) for v in ex["value"]],
                    "Severity (1–3)": ex["severity"],
                }
            ).head(50),
            {"Where": 170, "Rule": 140, "What happened": 230, "Value": 130},
            column_config={"Severity (1–3)": st.column_config.NumberColumn(width=105)},
        )
