"""What will people do under a bonus scheme, and what does that do to the customer? Behaviour simulation.

Response model (simple and explainable on purpose — "you get what you pay for", Kerr 1975, *On the folly of
rewarding A, while hoping for B*; Holmström & Milgrom 1991 on multitask incentives: effort flows to what is
measured and paid):

1. **Baseline.** Each covered employee's baseline value of every metric is their volume-weighted mean over the
   last ``baseline_periods`` months of ``employee_metrics`` (plain mean for ``mean``/``sum`` metrics).
2. **Marginal payout per unit effort.** A unit of effort moves one metric by 1 % of its baseline value in the
   direction the scheme rewards. For each component the payout gain per unit effort is the *arc slope* of the
   payout curve over the employee's effort budget ``b``:
   ``g_c = weight_c · (curve_c(x₀·(1 + dir_c·b)) − curve_c(x₀)) / b`` (the slope at the baseline value, taken
   over the budget so the jump at the threshold and the flat part above stretch are seen).
3. **Effort allocation.** The employee spends the whole budget ``b`` (the maximum sum of % changes across the
   rewarded metrics) in proportion to ``g_c``: ``e_c = b · g_c / Σ g``. Nobody moves a metric the scheme does
   not pay for. ``b`` = ``effort_budget`` (per role if a mapping) × a responsiveness drawn per employee from a
   gamma distribution with mean 1 and coefficient of variation ``responsiveness_cv`` (the only randomness,
   seeded). New values are clipped to the metric's catalogue bounds.
4. **Propagation.** Department-level % changes of the rewarded metrics (Σ weight·x₁ / Σ weight·x₀ − 1 over all
   the department's employees, covered or not) travel through the total effects of the causal graph
   (:func:`~cx_framework.conflicts.graph.total_effects`, identity included) to every metric. The organisation's
   % change of metric *k* is the sum over departments of the department's effect times its share of *k*'s
   volume in ``department_metrics`` (employee volumes when *k* has no department rows; equal shares otherwise).
5. **Consequences.** Shared KPIs before/after; contacts offered; staffing need (Erlang C agents per interval via
   :func:`cx_framework.staffing.agents_needed` at the economics SL target, with calls and AHT scaled by their
   % changes; rostered hours = agents / (1 − shrinkage)); churned customers = active customers × churn rate;
   value of a churned customer = mean monthly revenue × margin × discounted lifetime (annuity over
   ``customer_lifetime_months`` at the monthly equivalent of ``discount_rate_annual``); payout cost by
   :func:`cx_framework.incentives.compute_payouts` on the baseline months with and without the shifts.

Everything is per month (a quarterly scheme's payouts are divided by the months they cover; choose
``baseline_periods`` as whole quarters for such schemes). Net value (scheme − baseline) = −Δ payout − Δ staffing cost − Δ value of churned
customers. The staffing and churn lines overlap partly (the graph's service-level effect assumes fixed staff; the
staffing line prices holding the SL target instead); both are shown so the reader can choose.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cx_framework.config.models import Scheme
from cx_framework.conflicts.graph import total_effects
from cx_framework.errors import DataValidationError, InputValueError

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from cx_framework.config.loader import CxConfig

__all__ = [
    "BehaviourResult",
    "simulate_behaviour",
    "behaviour_under_graphs",
    "behaviour_net_values",
    "customer_lifetime_value_factor",
    "BEHAVIOUR_COLUMNS",
    "BEHAVIOUR_TABLES",
]

_WEIGHTED = ("ratio", "volume_weighted")
#: The columns the behaviour simulation reads from each table it needs.
BEHAVIOUR_COLUMNS: dict[str, list[str]] = {
    "employee_metrics": ["period", "employee_id", "metric", "value"],
    "employees": ["employee_id", "department", "role", "base_salary"],
    "customers": ["customer_id", "start_date", "monthly_revenue", "churn_date"],
    "intervals": ["interval_start", "offered", "aht_s"],
    "department_metrics": ["period", "department", "metric", "value"],
}
#: The tables the behaviour simulation needs (the Analysis' ``behaviour`` sections and the action plan use this).
BEHAVIOUR_TABLES: tuple[str, ...] = tuple(BEHAVIOUR_COLUMNS)


@dataclass(frozen=True)
class BehaviourResult:
    """Baseline vs scheme, per month (currency of ``config.economics``).

    Attributes
    ----------
    scheme_id : str
    payout_cost : pandas.Series
        ``baseline`` and ``scheme`` payout cost per month (currency).
    kpis : pandas.DataFrame
        One row per shared KPI plus ``offered_volume``: ``metric, weight`` (shared scorecard; NaN otherwise),
        ``direction, before, after, change, pct_change`` (share, e.g. −0.02 = −2 %), ``better`` (moved in its
        good direction), ``good_pct_change`` (pct_change × good direction).
    customer_kpi_index : float
        Σ shared-KPI weight × good_pct_change: > 0 means customers are better off on the scorecard's terms.
    metric_shifts : pandas.DataFrame
        ``department, metric, baseline, scheme, pct_change, employees`` — what people did (rewarded metrics).
    contributions : pandas.DataFrame
        ``department, metric, pct_change`` — each department's contribution to each organisation-level % change.
    staffing : pandas.Series
        ``hours_baseline, hours_scheme`` (rostered agent hours per month), ``cost_baseline, cost_scheme``.
    customers_active : int
    churned_baseline, churned_scheme : float
        Expected churned customers per month.
    value_per_churned_customer : float
        Margin × discounted lifetime revenue lost with one churned customer.
    lost_revenue : float
        Extra value lost per month through churn (scheme − baseline; negative = value saved).
    net_value : float
        −Δ payout − Δ staffing cost − lost_revenue (per month; > 0 = the scheme pays for itself).
    waterfall : pandas.DataFrame
        ``step, value, measure`` (plotly waterfall: relative steps then the total).
    assumptions : dict
    """

    scheme_id: str
    payout_cost: pd.Series
    kpis: pd.DataFrame
    customer_kpi_index: float
    metric_shifts: pd.DataFrame
    contributions: pd.DataFrame
    staffing: pd.Series
    customers_active: int
    churned_baseline: float
    churned_scheme: float
    value_per_churned_customer: float
    lost_revenue: float
    net_value: float
    waterfall: pd.DataFrame
    assumptions: dict[str, Any] = field(default_factory=dict)

    @property
    def extra_churned_customers(self) -> float:
        """Churned customers per month under the scheme minus baseline."""
        return self.churned_scheme - self.churned_baseline

    def summary(self) -> str:
        """Plain-text summary: payout, KPIs, churn and net value."""
        cost = self.payout_cost
        lines = [
            f"scheme {self.scheme_id}: payout {cost['baseline']:,.0f} -> {cost['scheme']:,.0f} per month",
            f"customer KPI index {self.customer_kpi_index:+.4f} (weighted % change in the good direction)",
        ]
        for r in self.kpis.itertuples(index=False):
            lines.append(f"  {r.metric:<18} {r.before:10.4g} -> {r.after:10.4g} ({r.pct_change:+.2%})")
        lines.append(
            f"churned customers per month {self.churned_baseline:,.1f} -> {self.churned_scheme:,.1f}; "
            f"lost value {self.lost_revenue:+,.0f}; net value {self.net_value:+,.0f} per month"
        )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from cx_framework import figures as F
        from cx_framework._display import figure_rows, html_card

        currency = str(self.assumptions.get("currency", "GBP"))
        kpi = F.BEHAVIOUR_KPI_INDEX.figure(
            float(self.customer_kpi_index),
            currency=currency,
            scheme=self.scheme_id,
            scheme_name=self.scheme_id,
        )
        figures = [
            *figure_rows([kpi]),
            (
                "Payout cost per month (baseline → scheme)",
                f"{F.format_value(float(self.payout_cost['baseline']), 'money_per_month', currency=currency)} → "
                f"{F.format_value(float(self.payout_cost['scheme']), 'money_per_month', currency=currency)}",
            ),
            (
                "Extra churned customers per month",
                F.format_value(self.extra_churned_customers, "signed"),
            ),
            (
                "Net value of the scheme per month (vs baseline behaviour)",
                F.format_value(float(self.net_value), "money_per_month", currency=currency),
            ),
        ]
        table = self.kpis[["metric", "before", "after", "pct_change", "better"]].rename(
            columns={
                "metric": "KPI",
                "before": "Before",
                "after": "After",
                "pct_change": "Change (share)",
                "better": "Moved in its good direction",
            }
        )
        return html_card(
            f"Behaviour under scheme {self.scheme_id}",
            text="What people would do to earn this scheme's bonus, pushed through the causal graph to the "
            "shared customer KPIs, churn and money.",
            figures=figures,
            table=table,
            table_title="Shared KPIs",
            caveats=[f"{k}: {v}" for k, v in self.assumptions.items() if isinstance(v, str | int | float)][
                :6
            ],
        )

    def plot(self) -> go.Figure:
        """Waterfall of the monthly value (see ``plots.behaviour_waterfall``)."""
        from cx_framework.plots.conflicts import behaviour_waterfall

        return behaviour_waterfall(self)


def customer_lifetime_value_factor(lifetime_months: float, discount_rate_annual: float) -> float:
    """Present value of 1 per month for ``lifetime_months`` months: ``(1 − (1 + r)^−L) / r`` with
    ``r = (1 + annual)^(1/12) − 1`` (ordinary annuity; ``L`` when the rate is 0).

    The annuity of :func:`cx_framework.retention.lifetime_margin_pv` at revenue 1 and margin 1 (one formula for
    customer value across the framework); negative inputs raise its :class:`InputValueError`."""
    from cx_framework.retention.value import lifetime_margin_pv

    return float(
        lifetime_margin_pv(
            1.0, margin=1.0, lifetime_months=lifetime_months, discount_rate_annual=discount_rate_annual
        )
    )


def _tables(org: Any, *, validate: bool) -> dict[str, Any]:
    from cx_framework.retention.customer_base import CustomerBase
    from cx_framework.schemas import validate as validate_table

    out: dict[str, Any] = {}
    for name, cols in BEHAVIOUR_COLUMNS.items():
        frame = org.get(name) if isinstance(org, Mapping) else getattr(org, name, None)
        if name == "customers" and isinstance(frame, CustomerBase):
            out[name] = frame  # the customers grouped by start and churn month (large data, from the engine)
            continue
        if not isinstance(frame, pd.DataFrame):
            raise InputValueError(
                f"org has no `{name}` table; pass a SyntheticOrg (load_sample()) or a dict of tables with "
                f"{', '.join(BEHAVIOUR_TABLES)}",
                argument="org",
            )
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise DataValidationError(
                f"{name} is missing column(s) {', '.join(missing)} needed by simulate_behaviour",
                failures=pd.DataFrame(
                    {
                        "table": name,
                        "column": missing,
                        "check": "column_in_dataframe",
                        "row": None,
                        "value": None,
                    }
                ),
                table=name,
            )
        out[name] = validate_table(name, frame) if validate else frame
    return out


def _active_customers(customers: Any, last: pd.Timestamp) -> tuple[int, float]:
    """(customers active in the last baseline month, their mean monthly revenue): started before the month ends,
    not churned before it starts. ``customers`` is the table or its grouped CustomerBase (same numbers)."""
    from cx_framework.retention.customer_base import CustomerBase

    if isinstance(customers, CustomerBase) and last == last.to_period("M").to_timestamp():
        return customers.active_at(last)
    if isinstance(customers, CustomerBase):
        raise InputValueError(
            f"the baseline's last period {last:%Y-%m-%d} is not a month start; the grouped customers answer by "
            "calendar month only (pass the customers table)",
            argument="org",
        )
    start = pd.to_datetime(customers["start_date"])
    churn = pd.to_datetime(customers["churn_date"])
    active = (start < last + pd.offsets.MonthBegin(1)) & (churn.isna() | (churn >= last))
    n_active = int(active.sum())
    revenue = float(customers.loc[active, "monthly_revenue"].mean()) if n_active else 0.0
    return n_active, revenue


def _weights(frame: pd.DataFrame, aggregation: pd.Series) -> np.ndarray:
    """Row weight: ``volume`` for ratio / volume-weighted metrics (1 where missing), 1 otherwise."""
    vol = frame["volume"].to_numpy(dtype=float) if "volume" in frame else np.ones(len(frame))
    vol = np.where(np.isfinite(vol) & (vol > 0), vol, 1.0)
    weighted = frame["metric"].map(aggregation).isin(_WEIGHTED).to_numpy()
    return np.where(weighted, vol, 1.0)


def _budgets(
    covered: pd.DataFrame, effort_budget: float | Mapping[str, float], cv: float, seed: int
) -> np.ndarray:
    if isinstance(effort_budget, Mapping):
        unknown = sorted(set(covered["role"]) - set(effort_budget))
        if unknown:
            raise InputValueError(
                f"effort_budget has no entry for role(s) {', '.join(unknown)}; give every covered role a budget",
                argument="effort_budget",
            )
        base = covered["role"].map(effort_budget).to_numpy(dtype=float)
    else:
        base = np.full(len(covered), float(effort_budget))
    if not np.all(np.isfinite(base)) or (base < 0).any() or (base > 1).any():
        raise InputValueError(
            "effort_budget must be a share in [0, 1] (0.10 = 10 %)", argument="effort_budget"
        )
    if cv < 0:
        raise InputValueError(f"responsiveness_cv must be >= 0, got {cv}", argument="responsiveness_cv")
    if cv == 0:
        return base
    rng = np.random.default_rng(seed)
    shape = 1.0 / cv**2
    return np.minimum(base * rng.gamma(shape, 1.0 / shape, size=len(covered)), 1.0)


def simulate_behaviour(
    scheme: Scheme,
    org: Any,
    config: CxConfig,
    *,
    seed: int = 0,
    effort_budget: float | Mapping[str, float] = 0.10,
    responsiveness_cv: float = 0.3,
    baseline_periods: int = 3,
    validate: bool = True,
) -> BehaviourResult:
    """Simulate how employees respond to ``scheme`` and what it does to shared KPIs, staffing, churn and value.

    The response model is documented in the module docstring (effort toward rewarded metrics in proportion to
    marginal payout per unit effort, bounded by an effort budget and the catalogue bounds, propagated through
    the causal graph).

    Parameters
    ----------
    scheme : Scheme
        The bonus scheme.
    org : SyntheticOrg or mapping of table name -> DataFrame
        Needs ``employee_metrics, employees, customers, intervals, department_metrics``.
    config : CxConfig
        Metric catalogue, causal graph, shared scorecard and economics.
    seed : int
        Seed of the per-employee responsiveness draws.
    effort_budget : float or mapping role -> float
        Maximum sum of % changes (share, 0.10 = 10 %) an employee makes across rewarded metrics per month.
    responsiveness_cv : float
        Coefficient of variation of individual responsiveness (0 = everyone uses exactly the budget).
    baseline_periods : int
        Number of most recent months of ``employee_metrics`` used as the baseline.
    validate : bool, default True
        Validate the five tables against the data contract first (skip when they come from ``load_data_dir`` or
        ``load_sample()``, which validate already).

    Returns
    -------
    BehaviourResult

    Raises
    ------
    InputValueError
        Bad budget / cv / baseline_periods, or ``org`` lacking a table.
    DataValidationError
        A needed column is missing or a table breaks the data contract (``err.failures`` lists the rows).
    """
    return behaviour_under_graphs(
        scheme,
        org,
        config,
        [total_effects(config)],
        seed=seed,
        effort_budget=effort_budget,
        responsiveness_cv=responsiveness_cv,
        baseline_periods=baseline_periods,
        validate=validate,
    )[0]


def behaviour_under_graphs(
    scheme: Scheme,
    org: Any,
    config: CxConfig,
    totals: Any,
    *,
    seed: int = 0,
    effort_budget: float | Mapping[str, float] = 0.10,
    responsiveness_cv: float = 0.3,
    baseline_periods: int = 3,
    validate: bool = True,
) -> list[BehaviourResult]:
    """:func:`simulate_behaviour` of ``scheme`` under several causal graphs at once.

    The response (steps 1-3 of the module docstring) and the payouts do not depend on the graph, so they are
    computed once; each total-effect matrix then re-runs only the propagation, staffing and churn. The result
    for a matrix equals ``simulate_behaviour`` on a config whose graph has those total effects.

    Parameters
    ----------
    totals : iterable of pandas.DataFrame
        Total-effect matrices (:func:`~cx_framework.conflicts.graph.total_effects` layout: cause × effect,
        identity excluded).
    """
    prep = _prepare_behaviour(
        scheme,
        org,
        config,
        seed=seed,
        effort_budget=effort_budget,
        responsiveness_cv=responsiveness_cv,
        baseline_periods=baseline_periods,
        validate=validate,
    )
    return [_finish(prep, t) for t in totals]


def behaviour_net_values(
    scheme: Scheme,
    org: Any,
    config: CxConfig,
    nodes: list[str],
    full_effects: np.ndarray,
    *,
    seed: int = 0,
    effort_budget: float | Mapping[str, float] = 0.10,
    responsiveness_cv: float = 0.3,
    baseline_periods: int = 3,
    validate: bool = True,
) -> np.ndarray:
    """Net value per month of :func:`simulate_behaviour` under many causal graphs, vectorised over the graphs.

    Parameters
    ----------
    nodes : list of str
        Metric ids of the matrices' rows and columns.
    full_effects : numpy.ndarray
        ``(graphs, n, n)``: ``(I − A)⁻¹`` of each graph (total effects including the identity).

    Returns
    -------
    numpy.ndarray
        One net value per graph (currency per month), equal to ``simulate_behaviour(...).net_value`` on a config
        with that graph; the response and payouts (graph-independent) are computed once.
    """
    prep = _prepare_behaviour(
        scheme,
        org,
        config,
        seed=seed,
        effort_budget=effort_budget,
        responsiveness_cv=responsiveness_cv,
        baseline_periods=baseline_periods,
        validate=validate,
    )
    return _net_values(prep, list(nodes), np.asarray(full_effects, dtype=float))


def _prepare_behaviour(
    scheme: Scheme,
    org: Any,
    config: CxConfig,
    *,
    seed: int,
    effort_budget: float | Mapping[str, float],
    responsiveness_cv: float,
    baseline_periods: int,
    validate: bool,
) -> _Prepared:
    """Steps 1-3 of the simulation and the payout cost (everything before the causal graph)."""
    from cx_framework.config.loader import as_scheme
    from cx_framework.incentives import compute_payouts

    scheme = as_scheme(scheme)
    if baseline_periods < 1:
        raise InputValueError(
            f"baseline_periods must be >= 1, got {baseline_periods}", argument="baseline_periods"
        )
    tables = _tables(org, validate=validate)
    catalogue = config.metrics.by_id
    aggregation = pd.Series({m: catalogue[m].aggregation for m in catalogue})
    sign = {m: catalogue[m].sign for m in catalogue}
    lower = {
        m: (-np.inf if catalogue[m].lower_bound is None else catalogue[m].lower_bound) for m in catalogue
    }
    upper = {m: (np.inf if catalogue[m].upper_bound is None else catalogue[m].upper_bound) for m in catalogue}

    em_all = tables["employee_metrics"]
    em_periods = pd.to_datetime(em_all["period"])
    base_periods = np.sort(em_periods.unique())[-baseline_periods:]
    em = em_all[em_periods.isin(base_periods)].reset_index(drop=True)
    n_months = len(base_periods)
    employees = tables["employees"].drop_duplicates("employee_id").set_index("employee_id")

    # 1. baseline per employee and metric
    w = _weights(em, aggregation)
    agg = (
        pd.DataFrame(
            {"employee_id": em["employee_id"], "metric": em["metric"], "w": w, "wx": w * em["value"]}
        )
        .groupby(["employee_id", "metric"], sort=False)[["w", "wx"]]
        .sum()
    )
    baseline = (agg["wx"] / agg["w"]).unstack("metric")

    # 2-3. effort allocation for covered employees
    covered = employees[employees["role"].isin(scheme.roles)]
    covered = covered.loc[covered.index.intersection(baseline.index)]
    budgets = _budgets(covered.reset_index(), effort_budget, responsiveness_cv, seed)
    from cx_framework.incentives import payout_curve_values

    metrics = [c.metric for c in scheme.components]
    months_per_period = 12.0 / scheme.periods_per_year
    gains = np.zeros((len(covered), len(metrics)))
    x0 = np.full((len(covered), len(metrics)), np.nan)
    for j, comp in enumerate(scheme.components):
        m = comp.metric
        if m not in baseline.columns:
            continue
        x = baseline.loc[covered.index, m].to_numpy(dtype=float)
        x0[:, j] = x
        moved = np.clip(x * (1.0 + sign[m] * budgets), lower[m], upper[m])
        # a quarterly scheme pays on quarterly totals of `sum` metrics: evaluate the curve on the period value
        per_period = months_per_period if aggregation.get(m) == "sum" else 1.0
        with np.errstate(invalid="ignore", divide="ignore"):
            gain = comp.weight * (
                payout_curve_values(moved * per_period, comp, sign=sign[m])
                - payout_curve_values(x * per_period, comp, sign=sign[m])
            )
            gains[:, j] = np.where(budgets > 0, gain / np.where(budgets > 0, budgets, 1.0), 0.0)
    gains = np.where(np.isfinite(gains) & (gains > 0), gains, 0.0)
    total_gain = gains.sum(axis=1, keepdims=True)
    effort = np.where(
        total_gain > 0, budgets[:, None] * gains / np.where(total_gain > 0, total_gain, 1.0), 0.0
    )
    signs = np.array([sign[m] for m in metrics], dtype=float)
    factor = pd.DataFrame(1.0 + signs * effort, index=covered.index, columns=metrics)

    # shifted employee_metrics (baseline months), clipped to catalogue bounds
    key = pd.MultiIndex.from_arrays([em["employee_id"], em["metric"]])
    long_factor = factor.stack()
    f = long_factor.reindex(key).to_numpy(dtype=float)
    f = np.where(np.isfinite(f), f, 1.0)
    lo = em["metric"].map(lower).to_numpy(dtype=float)
    hi = em["metric"].map(upper).to_numpy(dtype=float)
    shifted_value = np.where(f != 1.0, np.clip(em["value"].to_numpy(dtype=float) * f, lo, hi), em["value"])
    em_scheme = em.assign(value=shifted_value)

    # department-level % change of each rewarded metric (all employees of the department)
    dept = em["employee_id"].map(employees["department"])
    frame = pd.DataFrame(
        {"department": dept, "metric": em["metric"], "w0": w * em["value"], "w1": w * shifted_value}
    )
    frame = frame[frame["metric"].isin(metrics) & frame["department"].notna()]
    by_dept = frame.groupby(["department", "metric"], sort=True)[["w0", "w1"]].sum()
    counts = pd.Series(1, index=covered.index).groupby(covered["department"]).sum().rename("employees")
    shifts = by_dept.assign(
        pct_change=lambda d: np.where(d["w0"] != 0, d["w1"] / d["w0"] - 1.0, 0.0)
    ).reset_index()
    shifts = shifts.merge(counts, left_on="department", right_index=True, how="left").fillna({"employees": 0})
    shifts["employees"] = shifts["employees"].astype(int)
    sums = em.assign(w=w, department=dept)
    denom = sums[sums["metric"].isin(metrics)].groupby(["department", "metric"])["w"].sum()
    denom = denom.reindex(by_dept.index)
    shifts["baseline"] = (by_dept["w0"] / denom).to_numpy()
    shifts["scheme"] = (by_dept["w1"] / denom).to_numpy()
    metric_shifts = shifts[["department", "metric", "baseline", "scheme", "pct_change", "employees"]]

    # 5d. payout cost with the real payout engine
    pay_base = compute_payouts(em, tables["employees"], scheme, config=config, validate=False)
    pay_scheme = compute_payouts(em_scheme, tables["employees"], scheme, config=config, validate=False)
    payout_cost = pd.Series(
        {
            "baseline": float(pay_base["payout"].sum()) / n_months,
            "scheme": float(pay_scheme["payout"].sum()) / n_months,
        },
        name="payout_cost_per_month",
    )

    prep = _Prepared(
        scheme=scheme,
        tables=tables,
        config=config,
        employees=employees,
        base_periods=base_periods,
        n_months=n_months,
        aggregation=aggregation,
        metrics=metrics,
        metric_shifts=metric_shifts,
        payout_cost=payout_cost,
        lower=lower,
        upper=upper,
        sign=sign,
        effort_budget=effort_budget,
        responsiveness_cv=responsiveness_cv,
        seed=seed,
        covered_employees=len(covered),
    )
    return prep


@dataclass(frozen=True)
class _Prepared:
    """What the behaviour simulation computes before the causal graph enters (steps 1-3 and the payouts): the
    same for every graph, so parameter draws of the graph re-run only :func:`_finish`."""

    scheme: Scheme
    tables: dict[str, pd.DataFrame]
    config: Any
    employees: pd.DataFrame
    base_periods: np.ndarray
    n_months: int
    aggregation: pd.Series
    metrics: list[str]
    metric_shifts: pd.DataFrame
    payout_cost: pd.Series
    lower: dict[str, Any]
    upper: dict[str, Any]
    sign: dict[str, int]
    effort_budget: Any
    responsiveness_cv: float
    seed: int
    covered_employees: int
    #: graph-independent pieces of steps 4-5 (department shares, KPI levels, customers), kept across graphs
    memo: dict[Any, Any] = field(default_factory=dict)


def _finish(prep: _Prepared, t: pd.DataFrame) -> BehaviourResult:
    """Steps 4-5 (propagation through the total effects ``t``, KPIs, staffing, churn, value) and the result."""
    scheme, tables, config, employees = prep.scheme, prep.tables, prep.config, prep.employees
    base_periods, n_months, aggregation, metrics = (
        prep.base_periods,
        prep.n_months,
        prep.aggregation,
        prep.metrics,
    )
    metric_shifts, payout_cost = prep.metric_shifts, prep.payout_cost
    lower, upper, sign = prep.lower, prep.upper, prep.sign
    effort_budget, responsiveness_cv, seed = prep.effort_budget, prep.responsiveness_cv, prep.seed
    covered_employees = prep.covered_employees
    catalogue = config.metrics.by_id
    # 4. propagate department changes through total effects, weight by department share of each metric
    nodes = list(dict.fromkeys([*t.index, *metrics, *(o.metric for o in config.scorecard.shared)]))
    t_full = t.reindex(index=nodes, columns=nodes, fill_value=0.0) + np.eye(len(nodes))
    pct = metric_shifts.pivot(index="department", columns="metric", values="pct_change").reindex(
        columns=nodes, fill_value=0.0
    )
    pct = pct.fillna(0.0)
    dept_effect = pct @ t_full  # department × metric: % change of each metric in that department's slice
    all_departments = pd.Index(
        sorted(
            set(employees["department"].dropna()) | set(tables["department_metrics"]["department"].dropna())
        )
    )
    key = ("shares", tuple(nodes))
    if key not in prep.memo:
        prep.memo[key] = _department_shares(
            tables, employees, base_periods, aggregation, all_departments, nodes
        )
    shares = prep.memo[key]
    contrib = dept_effect * shares.reindex(dept_effect.index)
    org_pct = contrib.sum(axis=0)
    contributions = contrib.stack().rename("pct_change").rename_axis(["department", "metric"]).reset_index()
    contributions = contributions[contributions["pct_change"] != 0].reset_index(drop=True)

    # 5a. KPIs before / after
    kpi_weights = {o.metric: o.weight for o in config.scorecard.shared}
    kpi_ids = [*kpi_weights, "offered_volume"]
    if "before" not in prep.memo:
        prep.memo["before"] = _org_levels(tables, employees, base_periods, aggregation, kpi_ids)
    before = prep.memo["before"]
    rows = []
    for k in kpi_ids:
        b = before.get(k, np.nan)
        p = float(org_pct.get(k, 0.0))
        after = (
            float(np.clip(b * (1.0 + p), lower.get(k, -np.inf), upper.get(k, np.inf)))
            if np.isfinite(b)
            else np.nan
        )
        pc = (after / b - 1.0) if (np.isfinite(b) and b != 0) else p
        rows.append(
            {
                "metric": k,
                "weight": kpi_weights.get(k, np.nan),
                "direction": catalogue[k].direction if k in catalogue else None,
                "before": b,
                "after": after,
                "change": after - b,
                "pct_change": pc,
                "good_pct_change": pc * sign.get(k, 1),
            }
        )
    kpis = pd.DataFrame(rows)
    kpis["better"] = kpis["good_pct_change"] > 0
    shared = kpis[kpis["weight"].notna()]
    customer_kpi_index = float((shared["weight"] * shared["good_pct_change"]).sum())

    # 5b. staffing need (Erlang C per interval), calls and AHT scaled by their organisation % changes
    econ = config.economics
    staffing = _staffing(
        tables["intervals"],
        base_periods,
        float(org_pct.get("offered_volume", 0.0)),
        float(org_pct.get("aht_s", 0.0)),
        econ,
        n_months,
    )

    # 5c. churn and value
    if "customers" not in prep.memo:
        prep.memo["customers"] = _active_customers(tables["customers"], pd.Timestamp(base_periods[-1]))
    n_active, revenue = prep.memo["customers"]
    clv = (
        revenue
        * econ.margin
        * customer_lifetime_value_factor(econ.customer_lifetime_months, econ.discount_rate_annual)
    )
    churn_row = kpis.set_index("metric").reindex(["churn_rate"])
    churn_before = float(churn_row["before"].iat[0]) if "churn_rate" in kpis["metric"].to_numpy() else np.nan
    churn_after = float(churn_row["after"].iat[0]) if "churn_rate" in kpis["metric"].to_numpy() else np.nan
    churned_baseline = n_active * churn_before if math.isfinite(churn_before) else 0.0
    churned_scheme = n_active * churn_after if math.isfinite(churn_after) else 0.0
    lost_revenue = (churned_scheme - churned_baseline) * clv

    d_payout = payout_cost["scheme"] - payout_cost["baseline"]
    d_staff = staffing["cost_scheme"] - staffing["cost_baseline"]
    net_value = -d_payout - d_staff - lost_revenue
    waterfall = pd.DataFrame(
        {
            "step": ["payout cost", "staffing cost", "retention value", "net value"],
            "value": [-d_payout, -d_staff, -lost_revenue, net_value],
            "measure": ["relative", "relative", "relative", "total"],
        }
    )
    return BehaviourResult(
        scheme_id=scheme.id,
        payout_cost=payout_cost,
        kpis=kpis,
        customer_kpi_index=customer_kpi_index,
        metric_shifts=metric_shifts.reset_index(drop=True),
        contributions=contributions,
        staffing=staffing,
        customers_active=n_active,
        churned_baseline=churned_baseline,
        churned_scheme=churned_scheme,
        value_per_churned_customer=clv,
        lost_revenue=lost_revenue,
        net_value=net_value,
        waterfall=waterfall,
        assumptions={
            "effort_budget": effort_budget,
            "responsiveness_cv": responsiveness_cv,
            "seed": seed,
            "baseline_periods": [str(pd.Timestamp(p).date()) for p in base_periods],
            "covered_employees": covered_employees,
            "mean_monthly_revenue": revenue,
            "currency": econ.currency,
        },
    )


def _department_shares(
    tables: dict[str, pd.DataFrame],
    employees: pd.DataFrame,
    base_periods: np.ndarray,
    aggregation: pd.Series,
    departments: pd.Index,
    nodes: list[str],
) -> pd.DataFrame:
    """Department × metric share (columns sum to 1) of each metric's volume: department_metrics department rows,
    else employee_metrics by the employee's department, else equal shares."""
    dm = tables["department_metrics"]
    dm = dm[pd.to_datetime(dm["period"]).isin(base_periods)]
    if "team" in dm.columns:
        dm = dm[dm["team"].isna()]
    dm_w = pd.DataFrame(
        {"department": dm["department"], "metric": dm["metric"], "w": _weights(dm, aggregation)}
    )
    from_dm = dm_w.groupby(["metric", "department"])["w"].sum().unstack("metric")
    em = tables["employee_metrics"]
    em = em[pd.to_datetime(em["period"]).isin(base_periods)]
    em_w = pd.DataFrame(
        {
            "department": em["employee_id"].map(employees["department"]),
            "metric": em["metric"],
            "w": _weights(em, aggregation),
        }
    )
    from_em = em_w.groupby(["metric", "department"])["w"].sum().unstack("metric")
    shares = pd.DataFrame(np.nan, index=departments, columns=nodes)
    for source in (from_em, from_dm):  # department_metrics wins where present
        cols = [c for c in nodes if c in source.columns]
        part = source.reindex(index=departments)[cols].fillna(0.0)
        tot = part.sum(axis=0)
        cols = [c for c in cols if tot[c] > 0]
        shares[cols] = part[cols] / tot[cols]
    return shares.fillna(1.0 / max(len(departments), 1))


def _org_levels(
    tables: dict[str, pd.DataFrame],
    employees: pd.DataFrame,
    base_periods: np.ndarray,
    aggregation: pd.Series,
    metrics: list[str],
) -> dict[str, float]:
    """Organisation level of each metric over the baseline months: weighted mean (ratio / volume-weighted),
    mean, or monthly total averaged over months (sum); from department rows, else employee rows."""
    out: dict[str, float] = {}
    for name in ("employee_metrics", "department_metrics"):
        frame = tables[name]
        frame = frame[pd.to_datetime(frame["period"]).isin(base_periods) & frame["metric"].isin(metrics)]
        if name == "department_metrics" and "team" in frame.columns:
            frame = frame[frame["team"].isna()]
        if frame.empty:
            continue
        w = _weights(frame, aggregation)
        g = pd.DataFrame(
            {"metric": frame["metric"], "period": frame["period"], "w": w, "wx": w * frame["value"]}
        )
        level = g.groupby("metric")["wx"].sum() / g.groupby("metric")["w"].sum()
        monthly_total = g.groupby(["metric", "period"])["wx"].sum().groupby("metric").mean()
        for m in level.index:
            out[m] = float(monthly_total[m] if aggregation.get(m) == "sum" else level[m])
    return out


def _staffing_inputs(
    intervals: pd.DataFrame, base_periods: np.ndarray, econ: Any, n_months: int
) -> tuple[np.ndarray, np.ndarray, dict[str, float], float]:
    """(calls, AHT (s), agents_needed keyword arguments, agents → rostered hours per month) of the baseline
    months' intervals."""
    start = pd.to_datetime(intervals["interval_start"])
    in_base = start.dt.to_period("M").dt.to_timestamp().isin(base_periods)
    iv = intervals[in_base]
    calls = iv["offered"].to_numpy(dtype=float)
    aht = iv["aht_s"].to_numpy(dtype=float)
    fill = float(np.nanmedian(aht)) if np.isfinite(aht).any() else 300.0
    aht = np.where(np.isfinite(aht) & (aht > 0), aht, fill)
    interval_s = 1800.0
    if len(iv) > 1:
        steps = np.diff(np.sort(start[in_base].unique()))
        if len(steps):
            interval_s = float(pd.Timedelta(np.min(steps)).total_seconds()) or 1800.0
    kwargs = {"target": econ.service_level_target, "answer_s": econ.answer_s, "interval_s": interval_s}
    to_hours = interval_s / 3600.0 / (1.0 - econ.shrinkage) / n_months
    return calls, aht, kwargs, to_hours


def _staffing(
    intervals: pd.DataFrame,
    base_periods: np.ndarray,
    volume_pct: float,
    aht_pct: float,
    econ: Any,
    n_months: int,
) -> pd.Series:
    from cx_framework.staffing import agents_needed

    calls, aht, kwargs, to_hours = _staffing_inputs(intervals, base_periods, econ, n_months)
    base = np.asarray(agents_needed(calls, aht, **kwargs), dtype=float)
    new = np.asarray(agents_needed(calls * (1.0 + volume_pct), aht * (1.0 + aht_pct), **kwargs), dtype=float)
    hours_b, hours_s = float(base.sum() * to_hours), float(new.sum() * to_hours)
    return pd.Series(
        {
            "hours_baseline": hours_b,
            "hours_scheme": hours_s,
            "cost_baseline": hours_b * econ.cost_per_agent_hour,
            "cost_scheme": hours_s * econ.cost_per_agent_hour,
        },
        name="staffing_per_month",
    )


def _net_values(prep: _Prepared, nodes: list[str], full: np.ndarray) -> np.ndarray:
    """Net value per month (as :func:`_finish` computes it) for a stack of graphs at once.

    ``full[d]`` is ``(I − A_d)⁻¹`` over ``nodes`` (total effects with the identity). Vectorised over the
    draws: the propagation is one batched product, the staffing one Erlang C call over intervals × draws. Equal
    to ``_finish(prep, full[d] − I).net_value`` for every ``d`` (tests check it).
    """
    from cx_framework.staffing import agents_needed

    config, tables, employees = prep.config, prep.tables, prep.employees
    econ = config.economics
    shared = [o.metric for o in config.scorecard.shared]
    every = list(dict.fromkeys([*nodes, *prep.metrics, *shared]))
    n_all, n_draws = len(every), len(full)
    where = [every.index(m) for m in nodes]
    t_full = np.broadcast_to(np.eye(n_all), (n_draws, n_all, n_all)).copy()
    t_full[:, np.ix_(where, where)[0], np.ix_(where, where)[1]] = full
    pct = (
        prep.metric_shifts.pivot(index="department", columns="metric", values="pct_change")
        .reindex(columns=every, fill_value=0.0)
        .fillna(0.0)
    )
    key = ("shares", tuple(every))
    if key not in prep.memo:
        departments = pd.Index(
            sorted(
                set(employees["department"].dropna())
                | set(tables["department_metrics"]["department"].dropna())
            )
        )
        prep.memo[key] = _department_shares(
            tables, employees, prep.base_periods, prep.aggregation, departments, every
        )
    shares = prep.memo[key].reindex(pct.index).to_numpy(dtype=float)
    dept_effect = np.einsum("dm,Dmk->Ddk", pct.to_numpy(dtype=float), t_full)
    org_pct = np.nansum(dept_effect * shares[None], axis=1)  # draws × metrics

    def column(metric: str) -> np.ndarray:
        return org_pct[:, every.index(metric)] if metric in every else np.zeros(n_draws)

    calls, aht, kwargs, to_hours = _staffing_inputs(
        tables["intervals"], prep.base_periods, econ, prep.n_months
    )
    base = float(np.asarray(agents_needed(calls, aht, **kwargs), dtype=float).sum())
    volume, handle = column("offered_volume"), column("aht_s")
    new = np.asarray(
        agents_needed(
            calls[None, :] * (1.0 + volume[:, None]), aht[None, :] * (1.0 + handle[:, None]), **kwargs
        ),
        dtype=float,
    ).sum(axis=1)
    d_staff = (new - base) * to_hours * econ.cost_per_agent_hour

    lost = np.zeros(n_draws)
    if "churn_rate" in shared:
        if "before" not in prep.memo:
            prep.memo["before"] = _org_levels(
                tables, employees, prep.base_periods, prep.aggregation, [*shared, "offered_volume"]
            )
        b = float(prep.memo["before"].get("churn_rate", np.nan))
        if "customers" not in prep.memo:
            prep.memo["customers"] = _active_customers(
                tables["customers"], pd.Timestamp(prep.base_periods[-1])
            )
        n_active, revenue = prep.memo["customers"]
        clv = (
            revenue
            * econ.margin
            * customer_lifetime_value_factor(econ.customer_lifetime_months, econ.discount_rate_annual)
        )
        if math.isfinite(b):
            after = np.clip(
                b * (1.0 + column("churn_rate")),
                prep.lower.get("churn_rate", -np.inf),
                prep.upper.get("churn_rate", np.inf),
            )
            lost = (n_active * after - n_active * b) * clv
    d_payout = float(prep.payout_cost["scheme"] - prep.payout_cost["baseline"])
    return np.asarray(-d_payout - d_staff - lost, dtype=float)
