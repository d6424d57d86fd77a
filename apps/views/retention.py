"""Retention explorer (analysts): does service level keep customers, what is a point of SL worth, which target
pays — and how much of the demand is failure demand that is cheaper to fix than to absorb?"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import _state as state  # noqa: E402
import _ui as ui  # noqa: E402
import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

from cx_framework import plots  # noqa: E402
from cx_framework.plots.failure_demand import source_names as fd_source_names  # noqa: E402

src = ui.page(
    "Retention explorer",
    "Does service level keep customers, what is one point of service level worth, and what should we fix first?",
)
cfg = state.config()
econ = cfg.economics
names = {d.id: d.name for d in cfg.organisation.departments}

tab_sl, tab_fd = st.tabs(["Service level and retention", "Failure demand"])

# the failure-demand tab is written first: it needs only contacts, and the retention tab may stop the page
with tab_fd:
    fd = state.failure_demand(src)
    totals = fd.totals
    f1, f2, f3 = st.columns(3)
    f1.metric(
        "Failure demand share of contacts",
        ui.pct(totals["failure_demand_share"]),
        help="Contacts caused by a failure to do something or do it right for the customer, plus their repeats "
        "(Seddon, Freedom from Command and Control).",
    )
    f2.metric(
        "Failure demand contacts",
        f"{totals['failure_demand']:,.0f}",
        help=f"of {totals['contacts']:,.0f} contacts",
    )
    f3.metric(
        "Cost of failure demand",
        ui.money(totals["failure_cost"]),
        help="Handling cost over the whole data period.",
    )
    ui.chart(
        state.memo(("failure_demand_pareto", src), lambda: plots.failure_demand_pareto(fd, config=cfg)),
        key="rt_pareto",
    )

    st.subheader("Fix or absorb?")
    departments = fd.by_department["originating_department"].tolist()
    reasons = [r.id for r in cfg.failure_demand.reasons if r.is_failure]
    source_names = fd_source_names(cfg)  # departments by name, reasons by description
    a1, a2, a3, a4 = st.columns(4)
    source_id = a1.selectbox(
        "Failure source (department or reason)",
        departments + reasons,
        format_func=lambda s: source_names.get(s, s),
        key="rt_source",
    )
    fix_cost = a2.number_input(
        f"One-off fix cost ({econ.currency})",
        min_value=0.0,
        value=50_000.0,
        step=10_000.0,
        key="rt_cost",
        format="%.0f",
    )
    reduction = a3.slider("Expected reduction of its failure demand", 0.0, 1.0, 0.5, 0.05, key="rt_reduction")
    horizon = a4.slider("Horizon (months)", 6, 60, 24, 6, key="rt_horizon")
    fva = state.fix_absorb(src, source_id, float(fix_cost), float(reduction), int(horizon))
    b1, b2, b3 = st.columns(3)
    b1.metric(
        f"NPV of fixing over {horizon} months",
        ui.money(fva.npv),
        help="Σ discounted (fix − absorb) cash flows.",
    )
    b2.metric(
        "Break-even month", "never" if fva.break_even_month is None else f"month {fva.break_even_month}"
    )
    b3.metric(
        "Contacts avoided per month",
        f"{fva.avoided_contacts_per_month:,.0f}",
        help=f"of {fva.baseline_contacts_per_month:,.0f} per month at {ui.money(fva.cost_per_contact)} each",
    )
    (st.success if fva.npv > 0 else st.warning)(fva.summary(name=source_names.get(source_id)))
    ui.chart(
        state.memo(
            ("fix_vs_absorb", src, source_id, float(fix_cost), float(reduction), int(horizon)),
            lambda: plots.fix_vs_absorb_curves(fva, config=cfg),
        ),
        key="rt_fix",
    )
    with st.expander("Charge-back: what each department's failure demand costs the others"):
        cb = fd.charge_back
        st.dataframe(
            cb.assign(department=cb["department"].map(names).fillna(cb["department"])),
            hide_index=True,
            width="stretch",
            column_config={
                "department": "Department",
                "failure_contacts": st.column_config.NumberColumn("Failure contacts", format="%,d"),
                "repeat_contacts": st.column_config.NumberColumn("Repeat contacts", format="%,d"),
                "contacts": st.column_config.NumberColumn("Failure-demand contacts", format="%,d"),
                "charge": st.column_config.NumberColumn(f"Charge ({econ.currency})", format="%,.0f"),
                "share_of_charge": st.column_config.NumberColumn("Share", format="percent"),
                "handle_hours": st.column_config.NumberColumn("Handle hours", format="%,.0f"),
            },
        )

with tab_sl:
    # partial data: without customers the retention tab says which table it needs; failure demand still shows
    state.need_section(src, "retention")
    doses = {"linear": "Linear in SL", "spline": "Restricted cubic spline", "binned": "SL bands"}
    dose = st.radio(
        "Shape of the service-level effect",
        list(doses),
        format_func=doses.get,
        horizontal=True,
        key="rt_dose",
        help="Logit of next-month churn on the SL each customer experienced that month, controlling for segment "
        "and tenure; customer-clustered standard errors.",
    )
    fit = state.retention_fit(src, dose)
    ui.caveats(state.notes("retention_fit", src, dose))
    me = fit.marginal_effect
    per_point = me.per / 0.01 if me.per else 1.0
    value = state.sl_value(src, dose)
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(
        "Churn change per +1 pt of SL",
        f"{me.estimate / per_point * 100:+.3f} pts",
        help=f"Average marginal effect on next-month churn probability (percentage points per month), 95 % CI "
        f"{me.lower / per_point * 100:+.3f} to {me.upper / per_point * 100:+.3f}.",
    )
    c2.metric("Baseline churn (per month)", ui.pct(fit.baseline_churn, 2), help=ui.metric_help("churn_rate"))
    vpy = value.loc["value_per_year"]
    c3.metric(
        "Value of +1 pt SL per year",
        ui.money(vpy["estimate"]),
        help=f"Present value of the margin kept by a year of avoided churn; 95 % CI {ui.money(vpy['lower'])} to "
        f"{ui.money(vpy['upper'])}.",
    )
    cpy = value.loc["churners_avoided_per_year"]
    c4.metric(
        "Churners avoided per year per +1 pt",
        f"{cpy['estimate']:,.1f}",
        help=f"95 % CI {cpy['lower']:,.1f} to {cpy['upper']:,.1f}.",
    )
    left, right = st.columns(2)
    with left:
        ui.chart(
            state.memo(("dose_response", src, dose), lambda: plots.dose_response_figure(fit)),
            key="rt_dose_fig",
        )
    with right:
        st.markdown("**Value of one point of service level**")
        # each number in its unit and at the precision of the tiles above (a 4-significant-digit column showed
        # 11,410 next to a GBP 11,414 tile), the quantity in words
        quantity_names = {
            "exposed_customers_per_month": "Customers exposed per month",
            "churn_probability_change": "Change in monthly churn probability",
            "churners_avoided_per_month": "Churners avoided per month",
            "churners_avoided_per_year": "Churners avoided per year",
            "monthly_revenue_at_risk_per_year": "Monthly revenue kept, per year of avoided churn",
            "lifetime_margin_pv_per_customer": "Lifetime margin per customer (present value)",
            "value_per_year": "Value per year",
        }

        def _in_unit(v: float, unit: str) -> str:
            if unit.startswith("share"):
                return f"{v * 100:+.3f} pts"
            if unit.startswith(econ.currency):
                return ui.money(v)
            return f"{v:,.1f}"

        units = value["unit"].astype(str)
        st.dataframe(
            pd.DataFrame(
                {
                    "Quantity": [quantity_names.get(q, q.replace("_", " ")) for q in value.index],
                    **{
                        label: [_in_unit(v, u) for v, u in zip(value[c], units, strict=True)]
                        for c, label in (
                            ("estimate", "Estimate"),
                            ("lower", "95 % low"),
                            ("upper", "95 % high"),
                        )
                    },
                }
            ),
            hide_index=True,
            width="stretch",
            column_config={
                "Quantity": st.column_config.TextColumn(width=330)
            },  # "medium" cut the longer ones
        )

    st.subheader("Which service-level target pays?")
    opt = state.optimum(src, dose)
    o1, o2, o3 = st.columns(3)
    o1.metric(
        "Profit-maximising target",
        ui.pct(opt.optimum, 0),
        help=f"95 % range over parameter draws: {opt.optimum_lower:.0%} to {opt.optimum_upper:.0%}.",
    )
    o2.metric("80/20 convention", ui.pct(opt.convention, 0))
    o3.metric(
        f"Net gain vs 80/20 (demand of {state.analysis(src).assumptions_dict()['forecast_window']})",
        ui.money(opt.net_gain_vs_convention),
        help=f"Staffing cost and retained customer value over the {opt.horizon_months:.1f} months of demand used as "
        f"the forecast; 95 % CI {ui.money(opt.net_gain_vs_convention_lower)} to "
        f"{ui.money(opt.net_gain_vs_convention_upper)}.",
    )
    ui.chart(
        state.memo(("sl_value_curve", src, dose), lambda: plots.sl_value_curve_figure(opt)),
        key="rt_value_curve",
    )

    st.subheader("Monthly service level vs retention")
    period = state.period_retention(src)
    ui.caveats(state.notes("period_retention", src))
    ui.chart(
        state.memo(("sl_vs_retention", src), lambda: plots.sl_vs_retention_figure(period)), key="rt_monthly"
    )
    st.caption(
        "Aggregate view: monthly churn regressed on this and the previous months' SL (OLS with Newey-West HAC "
        f"errors, {period.nobs} months, R² {period.rsquared:.2f}). Fewer points and more confounding than the "
        "customer-level model above — read it as a sanity check."
    )
