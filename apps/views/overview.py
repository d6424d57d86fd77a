"""Overview for leadership: the shared customer scorecard, departments green inside / red outside, the newest and
worst exceptions, the service level the staffing budget buys, and (once the library has them) the top actions."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import _state as state  # noqa: E402
import _ui as ui  # noqa: E402
import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

src = ui.page(
    "Overview", "How is the organisation doing for its customers, and where does its structure hurt them?"
)
cfg = state.config()
names = {dep.id: dep.name for dep in cfg.organisation.departments}
# partial data: without department_metrics the scorecard says which table it needs; the sections below still run
scorecard_missing = state.analysis(src).why_unavailable("scorecard")
if scorecard_missing:
    st.error(
        f"**The shared scorecard cannot be computed from the current data.** {scorecard_missing}. The "
        "service-level and action sections below use the tables there are.",
        icon=":material/table_chart:",
    )
else:
    result = state.scorecard_frames(src)  # the Analysis' frames: no engine result needed on the first screen
    periods = sorted(result.periods)
    as_of = state.as_of(src)
    complete = as_of if as_of in periods else periods[-1]  # assumptions.yaml as_of: the latest complete month
    period = st.select_slider(
        "Month",
        options=periods,
        value=complete,
        format_func=lambda p: f"{p:%b %Y}" + (" (incomplete)" if p > complete else ""),
        key="overview_period",
        help="Default: the latest complete month (configs/assumptions.yaml as_of). Later months are incomplete: "
        "next-month churn, open journeys, 7-day repeat windows and late survey responses cannot be observed yet.",
    )
    if period > complete:
        st.warning(
            f"{period:%b %Y} is incomplete: metrics that need later data (next-month churn, journeys still open, "
            "survey responses still arriving) are shown as *incomplete*, not scored. "
            f"The latest complete month is {complete:%b %Y}.",
            icon=":material/schedule:",
        )
    previous = periods[periods.index(period) - 1] if periods.index(period) > 0 else None

    # ---------------------------------------------------------------------------------------- shared scorecard
    st.subheader("Shared customer scorecard — whole organisation")
    org = result.shared_scores[result.shared_scores["department"].eq("organisation")].set_index("period")
    row = org.loc[period]
    st.markdown(
        f"**Customer composite: {ui.score_text(row['composite'])}** {ui.badge(row['status'])} "
        "(weighted mean of the metric scores below: 0 at threshold, 100 at target, 120 at stretch)",
        unsafe_allow_html=True,
    )
    ms = result.metric_scores
    shared = ms[ms["card"].eq("shared") & ms["department"].eq("organisation")]
    now = shared[shared["period"].eq(period)].set_index("metric")
    now = now.reindex([o.metric for o in cfg.scorecard.shared if o.metric in now.index])
    before = shared[shared["period"].eq(previous)].set_index("metric") if previous is not None else None
    per_row = 4
    for start in range(0, len(now), per_row):
        columns = st.columns(per_row)
        for column, metric in zip(columns, now.index[start : start + per_row], strict=False):
            r = now.loc[metric]
            incomplete = r["status"] == "incomplete"
            delta = None
            if (
                not incomplete
                and before is not None
                and metric in before.index
                and pd.notna(before.loc[metric, "value"])
                and before.loc[metric, "status"] != "incomplete"
            ):
                delta = ui.fmt_delta(metric, r["value"] - before.loc[metric, "value"]) + " vs last month"
            column.metric(
                ui.metric_name(metric) + ui.unit_suffix(metric),
                "incomplete" if incomplete else ui.fmt_value(metric, r["value"], unit=False),
                delta=delta,
                delta_color="inverse" if r["direction"] == "lower_is_better" else "normal",
                help=f"{ui.metric_help(metric)} Target {ui.fmt_value(metric, r['target'])}; "
                f"threshold {ui.fmt_value(metric, r['threshold'])}."
                + (
                    f" The value so far ({ui.fmt_value(metric, r['value'])}) is not final: it needs later data."
                    if incomplete
                    else ""
                ),
            )
            column.markdown(
                f"{ui.badge(r['status'])} score {ui.score_text(r['score'])}", unsafe_allow_html=True
            )

    # ---------------------------------------------------------------------------------------- departments
    st.subheader("Departments — own scorecard vs the customer's")
    st.caption(
        "**Green inside, red outside**: a department green on its own (local) scorecard while the customer "
        "metrics it affects are red. Composite scores: 0 = threshold, 100 = target, 120 = stretch."
    )
    d = result.department_scores[result.department_scores["period"].eq(period)]
    table = pd.DataFrame(
        {
            "Department": d["department"].map(names).fillna(d["department"]),
            "Own scorecard": d["composite"].round(0),
            "Own status": d["status"],
            "Customer scorecard": d["shared_composite"].round(0),
            "Customer status": d["shared_status"],
            "Green inside, red outside": d["green_inside_red_outside"].map({True: "YES", False: "no"}),
        }
    )
    st.dataframe(
        ui.style_status(table, ["Own status", "Customer status"]).format(
            {"Own scorecard": "{:.0f}", "Customer scorecard": "{:.0f}"}
        ),
        hide_index=True,
        width="stretch",
    )
    flagged = table.loc[d["green_inside_red_outside"].to_numpy(), "Department"].tolist()
    if flagged:
        # an explicit icon: Streamlit otherwise scans non-ASCII text (names, "—") for a leading emoji, loading its
        # emoji catalogue (~0.2 s) on the first screen
        st.warning(f"Green inside, red outside this month: {', '.join(flagged)}.", icon=":material/warning:")

    # ---------------------------------------------------------------------------------------- exceptions
    st.subheader("Newest and worst exceptions")
    all_ex = result.exceptions[result.exceptions["period"].le(period)]
    ex = all_ex.head(8)
    if len(all_ex) > len(ex):
        st.caption(f"The {len(ex)} newest and worst of {len(all_ex)} exceptions up to {period:%b %Y}.")
    if ex.empty:
        st.success(
            "No threshold breaches or control-chart signals up to this month.", icon=":material/check:"
        )
    else:
        ui.text_table(
            pd.DataFrame(
                {
                    "Month": ex["period"].dt.strftime("%b %Y"),
                    "Where": ui.where(ex, names),
                    "Metric": ex["metric"].map(ui.metric_name),
                    "Value": [ui.fmt_value(m, v) for m, v in zip(ex["metric"], ex["value"], strict=True)],
                    "Severity (1–3)": ex["severity"],
                    # the long text last: on a narrow screen it is the column that scrolls, not value or severity
                    "What happened": ex["description"],
                }
            ),
            # wrapped in widths that fit a 1400-px window (a long description was cut with an ellipsis)
            {"Month": 75, "Where": 150, "Metric": 200, "Value": 150, "What happened": 230},
            column_config={"Severity (1–3)": st.column_config.NumberColumn(width=105)},
        )

# ---------------------------------------------------------------------------------------- budget gap
st.subheader("Service level: realised, and what the funded FTE would buy")
window = state.analysis(src).assumptions_dict()["forecast_window"]
st.caption(
    f"Forecast window {window} (assumptions.yaml). Realised = with the agents actually staffed; "
    "the funded FTE scheduled to the workload would buy the second figure; the difference is schedule mismatch."
)
c1, c2, c3 = st.columns(3)
state.show_figure(c1, "staffing.realised_service_level", src)
state.show_figure(c2, "staffing.budget_service_level", src)
state.show_figure(c3, "staffing.schedule_mismatch", src)
c4, c5, c6 = st.columns(3)
state.show_figure(c4, "staffing.funded_fte", src)
state.show_figure(c5, "staffing.fte_needed", src)
state.show_figure(c6, "staffing.understaffed_intervals", src)

# ---------------------------------------------------------------------------------------- actions
recommend_actions = state.optional("cx_framework.actions", "recommend_actions")
if recommend_actions is not None:
    st.subheader("Top recommended actions")
    actions = state.actions(src)
    show = actions.head(5)
    st.caption(
        f"Top {len(show)} of {len(actions)} actions, ranked by expected annual value ({cfg.economics.currency} "
        "per year); the value is split into what customers gain, staffing or handling cost saved, bonus payout "
        "saved and other costs (a fix's one-off cost). Each value is the engine figure it cites."
    )
    table = pd.DataFrame({"#": show["rank"] if "rank" in show else range(1, len(show) + 1)})
    for column, label in (
        ("title", "Action"),
        ("action", "Action"),
        ("expected_annual_value", "Expected value / year"),
        ("customer_value", "Customers"),
        ("staffing_value", "Staffing / handling"),
        ("payout_value", "Bonus payouts"),
        ("other_value", "Other (fix cost)"),
    ):
        if column in show.columns and label not in table.columns:
            values = show[column].to_numpy()
            if column == "owner_department":
                values = show[column].map(names).fillna(show[column]).to_numpy()
            table[label] = values
    money_px = {
        "Expected value / year": 150,
        "Customers": 95,
        "Staffing / handling": 140,
        "Bonus payouts": 105,
        "Other (fix cost)": 120,
    }
    # the action's title wraps (it was cut); the money columns keep their headers whole
    ui.text_table(
        table,
        {"Action": 940 - 35 - sum(px for c, px in money_px.items() if c in table.columns)},
        column_config={
            "#": st.column_config.NumberColumn(width=35),
            **{
                c: st.column_config.NumberColumn(format=f"{cfg.economics.currency} %,.0f", width=px)
                for c, px in money_px.items()
                if c in table.columns
            },
        },
    )
    # the full reasoning (never cut off in a table cell) and each trade-off, stated with the action
    for r in show.itertuples(index=False):
        title = getattr(r, "title", None) or getattr(r, "action", "")
        with st.expander(f"{getattr(r, 'rank', '')}. {title}"):
            owner = getattr(r, "owner_department", None)
            if owner is not None:
                st.caption(f"Owner: {names.get(owner, owner)} · effort: {getattr(r, 'effort', '—')}")
            rationale = getattr(r, "rationale", "")
            if rationale:
                st.markdown(rationale)
            trade_off = getattr(r, "trade_off", "")
            if isinstance(trade_off, str) and trade_off:
                st.warning(f"**Trade-off.** {trade_off}", icon=":material/balance:")

# ---------------------------------------------------------------------------------------- bonus schemes (aggregates)
st.subheader("Bonus schemes compared")
if st.toggle(
    "Show the bonus scheme comparison (annual cost, share paid on customer metrics, who gains and who loses)",
    key="overview_schemes",
    help="Aggregates only: no individual pay. Outside HR, groups smaller than access.yaml's min_group_size are "
    "merged so no figure describes one person.",
):
    payout_frames = state.payout_aggregates(src)
    today = state.current_scheme(src)
    summary = payout_frames["summary"]
    scheme_names = {sid: sch.name for sid, sch in cfg.schemes.items()}
    cur = cfg.economics.currency
    table = pd.DataFrame(
        {
            "Scheme": summary["scheme"].map(scheme_names).fillna(summary["scheme"])
            + summary["scheme"].eq(today).map({True: " — in force today", False: ""}),
            f"Annual cost ({cur})": summary["annualised_cost"],
            f"vs today ({cur}/yr)": summary["vs_baseline"],
            "Share of budget": summary["budget_share"],
            "Paid on customer metrics": summary["customer_centric_share"],
            "Median attainment": summary["p50"],
        }
    )
    withheld = "suppressed" in summary and bool(summary["suppressed"].ne("").any())
    if withheld:
        # a scheme paying fewer than min_group_size employees: its pay figures read "withheld", never a number
        # (the table is text then: a number column cannot say why a cell is empty)
        formats = {
            f"Annual cost ({cur})": "{:,.0f}",
            f"vs today ({cur}/yr)": "{:+,.0f}",
            **{c: "{:.1%}" for c in ("Share of budget", "Paid on customer metrics", "Median attainment")},
        }
        for column, fmt in formats.items():
            table[column] = table[column].map(lambda v, f=fmt: "withheld" if pd.isna(v) else f.format(v))
        table.insert(1, "Withheld", summary["suppressed"].map(lambda why: why.split(":")[0]).to_numpy())
    ui.text_table(
        table,
        {"Scheme": 200, **({"Withheld": 120} if withheld else {})},
        key="overview_schemes_table",
        column_config=None
        if withheld
        else {
            f"Annual cost ({cur})": st.column_config.NumberColumn(format="%,.0f"),
            f"vs today ({cur}/yr)": st.column_config.NumberColumn(format="%+,.0f"),
            **{
                c: st.column_config.NumberColumn(format="percent")
                for c in ("Share of budget", "Paid on customer metrics", "Median attainment")
            },
        },
    )
    if "suppressed" in summary and summary["suppressed"].ne("").any():
        st.caption(
            "Withheld: "
            + "; ".join(
                f"{scheme_names.get(sid, sid)} ({why})"
                for sid, why in zip(summary["scheme"], summary["suppressed"], strict=True)
                if why
            )
        )
    wl_all = payout_frames["winners_losers"]
    wl_all = wl_all.assign(
        scheme=wl_all["scheme"].map(scheme_names).fillna(wl_all["scheme"]),
        department=wl_all["department"].map(names).fillna(wl_all["department"]),
        role=wl_all["role"].map(ui.humanise),
    )
    st.markdown(
        f"**Who gains and who loses vs today's scheme** ({scheme_names.get(today, today)}; changes in "
        f"{cfg.economics.currency})"
    )
    if wl_all.attrs.get("suppression"):
        st.caption(wl_all.attrs["suppression"])
    # ten columns: scheme, department and role wrap so every column fits a 1400-px window
    ui.text_table(
        wl_all.drop(columns=["merged_groups"], errors="ignore"),
        {"scheme": 160, "department": 110, "role": 100},
        key="overview_winners_losers",
        column_config={
            "scheme": "Scheme",
            "department": "Department",
            "role": "Role",
            "employees": st.column_config.NumberColumn("Employees", width=80),
            "winners": st.column_config.NumberColumn("Gain", width=55),
            "losers": st.column_config.NumberColumn("Lose", width=55),
            "unchanged": st.column_config.NumberColumn("Unchanged", width=85),
            "not_comparable": st.column_config.NumberColumn("Not comparable", width=110),
            "mean_change": st.column_config.NumberColumn(
                "Mean change", format="%+,.0f", width=90, help=f"{cfg.economics.currency} per employee"
            ),
            "total_change": st.column_config.NumberColumn(
                "Total change", format="%+,.0f", width=95, help=cfg.economics.currency
            ),
        },
    )

if not scorecard_missing:
    ui.metric_glossary(list(now.index))
