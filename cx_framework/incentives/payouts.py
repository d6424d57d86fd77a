"""Payout engine: what each employee earns under a bonus scheme, per period (DESIGN.md "Payout curve").

The computation is split in two so the HR app can rerun a what-if edit in a few milliseconds:

1. :func:`prepare_payouts` validates the tables, picks the employees in the scheme's roles, aggregates monthly
   ``employee_metrics`` to the scheme period (month or quarter) and lays every metric out as one float array per
   metric, aligned with one row per (period, employee_id). This depends only on the scheme's ``roles`` and
   ``period``.
2. :func:`evaluate_payouts` applies a scheme's curves, weights, gates and cap to those arrays — pure numpy over
   whole columns, no loop over employees.

:func:`compute_payouts` does both.

Semantics
---------
*Curve* (per component, higher-is-better): value below ``threshold`` → 0; at ``threshold`` →
``payout_at_threshold``; at ``target`` → 1.0; at ``stretch`` → ``payout_at_stretch``; linear in between; flat above
``stretch``. Lower-is-better metrics are mirrored (the curve is applied to ``-value`` with negated points). When
``target == stretch`` the curve steps from 1.0 to ``payout_at_stretch`` at the target.

*Period target bonus* = ``base_salary × target_bonus_pct / 100 / periods_per_year × employed_share`` where
``employed_share`` = calendar days employed in the period / calendar days in the period. ``hire_date`` and
``leave_date`` both count as days employed (``leave_date`` is the last working day); a missing ``leave_date``
means still employed. This is the usual pro-rata-temporis rule for bonus eligibility of joiners and leavers
(e.g. WorldatWork, *The WorldatWork Handbook of Compensation, Benefits & Total Rewards*, 2nd ed., ch. 9).

*Component payout* = period target bonus × weight × curve(value). *Gates*: failing any gate zeroes the period's
payout. *Cap*: the total is capped at ``cap_pct / 100 × period target bonus``.

*Missing data*: an employee-period lacking a component or gate metric is **withheld** — ``payout`` is NaN,
``withheld`` is True and ``withheld_reason`` names the missing metrics. It is never paid as if the value were 0 or
on target. (Exception: when a gate whose metric *is* present fails, the period is settled at 0 — no missing
value could change that.) Employees whose role is not in ``scheme.roles`` are excluded and counted in ``df.attrs``.

Money is kept unrounded; round to cents only at output with :func:`round_money`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cx_framework.config.loader import CxConfig, as_scheme, check_order, plan_problem
from cx_framework.config.models import Component, Metric, MetricCatalogue, Scheme, SchemeVersion
from cx_framework.errors import ConfigError, DataValidationError, InputValueError
from cx_framework.incentives.ledger import LEDGER_COLUMNS, settle
from cx_framework.incentives.plan import component_multiplier, prorated_value, team_credit

__all__ = [
    "PayoutInputs",
    "SalesLinks",
    "prepare_payouts",
    "evaluate_payouts",
    "compute_payouts",
    "payout_curve_values",
    "scheme_for_period",
    "plan_problem",
    "payout_summary",
    "round_money",
    "MONEY_COLUMNS",
]

#: Money columns that always exist in a payout frame (component amount columns are added per scheme).
MONEY_COLUMNS: tuple[str, ...] = ("base_salary", "target_bonus", "payout_before_cap", "cap", "payout")

_FAR_FUTURE_DAY = np.int64(10**7)  # ~ year 29 000: "no leave date"


# ------------------------------------------------------------------------------------------------ inputs
@dataclass(frozen=True, eq=False)
class PayoutInputs:
    """Employee-period grid prepared once per (roles, period); reused by every what-if rerun.

    Attributes
    ----------
    roles : tuple of str
        Roles covered (sorted).
    period : {"month", "quarter"}
        Scheme period the metrics were aggregated to.
    rows : pandas.DataFrame
        One row per (period, employee_id): ``period`` (period start), ``employee_id, department, team, role,
        base_salary`` (currency per year), ``days_employed``, ``days_in_period`` and ``employed_share`` (0–1).
    values : dict of str to numpy.ndarray
        Metric id -> float64 array aligned with ``rows`` (NaN where the employee has no value in the period).
    catalogue : MetricCatalogue or None
        Metric catalogue used for directions and aggregation (None when no config was given).
    excluded_by_role : dict of str to int
        Employees not covered by the scheme's roles, counted per role.
    fte : numpy.ndarray or None
        Full-time equivalent per row (0–1] from the optional ``employees.fte`` column (None = all full time).
    sales : SalesLinks or None
        Credited sales linked to grid rows and to their customers' churn (for customer clawbacks).
    tenure_period : numpy.ndarray or None
        Period of employment of each row (1 = the period of the hire date), used by draws for new hires.
    """

    roles: tuple[str, ...]
    period: str
    rows: pd.DataFrame
    values: dict[str, np.ndarray]
    catalogue: MetricCatalogue | None
    excluded_by_role: dict[str, int] = field(default_factory=dict)
    fte: np.ndarray | None = None
    sales: SalesLinks | None = None
    tenure_period: np.ndarray | None = None

    @property
    def excluded_employees(self) -> int:
        """Number of employees excluded because their role is not in the scheme."""
        return int(sum(self.excluded_by_role.values()))

    def covers(self, scheme: Scheme) -> bool:
        """True when ``scheme`` has the same roles and period, so :func:`evaluate_payouts` can reuse this grid."""
        return _grid_key(scheme) == (self.roles, self.period)


@dataclass(frozen=True, eq=False)
class SalesLinks:
    """Credited sales tied to the payout grid (see :func:`prepare_payouts` ``sales=``).

    Attributes
    ----------
    sale_row : numpy.ndarray
        Grid row (period of the sale, employee) of each sale; -1 when the employee-period is not in the grid.
    charge_row : numpy.ndarray
        Grid row (period of the customer's churn, same employee); -1 when not in the grid (employee gone, or the
        churn falls after the data).
    days_to_churn : numpy.ndarray
        Days from sale to the customer's churn (NaN: customer has not churned).
    units : numpy.ndarray
        Units credited by each sale.
    sales : pandas.DataFrame
        The sales table as given (sale_id, employee_id, customer_id, sold_at, units).
    """

    sale_row: np.ndarray
    charge_row: np.ndarray
    days_to_churn: np.ndarray
    units: np.ndarray
    sales: pd.DataFrame


def _grid_key(scheme: Scheme) -> tuple[tuple[str, ...], str]:
    """(sorted roles, period): what a prepared grid depends on, and so the key of a grid cache."""
    return tuple(sorted(set(scheme.roles))), scheme.period


def _catalogue(config: CxConfig | MetricCatalogue | None) -> MetricCatalogue | None:
    if config is None or isinstance(config, MetricCatalogue):
        return config
    if isinstance(config, CxConfig):
        return config.metrics
    raise InputValueError(
        f"config must be a CxConfig (load_config) or a MetricCatalogue, got {type(config).__name__}",
        argument="config",
    )


def _day_numbers(values: Any) -> np.ndarray:
    """Datetimes -> int64 days since 1970-01-01 (NaT -> far future)."""
    days = pd.to_datetime(pd.Series(values)).to_numpy().astype("datetime64[D]")
    out = days.astype(np.int64)
    out[np.isnat(days)] = _FAR_FUTURE_DAY
    return out


def prepare_payouts(
    employee_metrics: pd.DataFrame,
    employees: pd.DataFrame,
    scheme: Scheme,
    *,
    config: CxConfig | MetricCatalogue | None = None,
    validate: bool = True,
    sales: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
) -> PayoutInputs:
    """Validate the tables and build the (period, employee) grid for ``scheme``'s roles and period.

    Parameters
    ----------
    employee_metrics : pandas.DataFrame
        DESIGN.md ``employee_metrics`` (period = month start, employee_id, metric, value, optional volume).
    employees : pandas.DataFrame
        DESIGN.md ``employees`` (base_salary in currency per year, hire_date, leave_date).
    scheme : Scheme
        Only ``roles`` and ``period`` are used here.
    config : CxConfig or MetricCatalogue, optional
        Metric catalogue; required for quarter schemes (aggregation of monthly values to quarters follows each
        metric's ``aggregation``: mean, sum, or Σ value·volume / Σ volume for volume_weighted and ratio — falling
        back to the plain mean where no volume is given).
    validate : bool, default True
        Validate both tables with :func:`cx_framework.schemas.validate`. Pass False only for frames that
        already passed validation (e.g. from :func:`cx_framework.io.load_data_dir`).
    sales : pandas.DataFrame, optional
        Credited sales ``sale_id, employee_id, customer_id, sold_at`` (timestamp) and optional ``units``
        (default 1) — needed for customer clawbacks (``components[i].clawback``), together with ``customers``.
    customers : pandas.DataFrame, optional
        DESIGN.md ``customers`` (``customer_id``, ``churn_date``).

    Returns
    -------
    PayoutInputs

    Raises
    ------
    DataValidationError
        Invalid tables, metric rows for an employee not in ``employees``, or a base salary ≤ 0 (the error names
        table, column and rows).
    InputValueError
        A quarter scheme without a metric catalogue.
    """
    scheme = as_scheme(scheme)
    catalogue = _catalogue(config)
    if validate:
        from cx_framework.schemas import validate as _validate

        employees = _validate("employees", employees)
        employee_metrics = _validate("employee_metrics", employee_metrics)
    if scheme.period == "quarter" and catalogue is None:
        raise InputValueError(
            f"scheme '{scheme.id}' pays per quarter; pass config= (CxConfig or MetricCatalogue) so monthly "
            "employee_metrics can be aggregated to quarters with each metric's catalogue aggregation",
            argument="config",
        )
    employees = employees.reset_index(drop=True)
    emp_ids = employees["employee_id"].astype(str).to_numpy(dtype=object)
    salary = employees["base_salary"].to_numpy(dtype=np.float64, na_value=np.nan)
    bad_salary = ~(salary > 0) | ~np.isfinite(salary)
    if bad_salary.any():
        from cx_framework.schemas import _failures  # error path only: keeps pandera out of the import

        rows = np.flatnonzero(bad_salary)
        raise DataValidationError(
            f"Table 'employees', column 'base_salary': {len(rows)} row(s) not > 0 (rows "
            f"{', '.join(map(str, rows[:10]))}{'…' if len(rows) > 10 else ''}); base salaries are currency per year "
            "and must be positive.",
            failures=_failures("employees", "base_salary", "greater_than(0)", rows, salary[rows]),
            table="employees",
        )

    all_codes = _codes(employee_metrics["employee_id"], emp_ids)
    unknown = all_codes < 0
    if unknown.any():
        from cx_framework.schemas import _failures

        rows = np.flatnonzero(unknown)
        bad = employee_metrics["employee_id"].to_numpy(dtype=object)[rows]
        ids = sorted({str(v) for v in bad})
        raise DataValidationError(
            f"Table 'employee_metrics', column 'employee_id': {len(rows)} row(s) refer to {len(ids)} employee(s) "
            f"not in table 'employees' ({', '.join(ids[:5])}{'…' if len(ids) > 5 else ''}; first rows "
            f"{', '.join(map(str, rows[:10]))}). Add them to employees or drop their metric rows.",
            failures=_failures("employee_metrics", "employee_id", "employee_id in employees", rows, bad),
            table="employee_metrics",
        )

    roles, _ = _grid_key(scheme)
    role_arr = employees["role"].astype(str).to_numpy(dtype=object)
    in_scope = np.isin(role_arr, roles)
    excluded = pd.Series(role_arr[~in_scope]).value_counts()
    excluded_by_role = {str(k): int(v) for k, v in excluded.items()}
    scope_idx = np.flatnonzero(in_scope)
    n_emp = len(scope_idx)
    # employees outside the scheme go to one extra "discard" slot (index n_emp) instead of masking every column
    n_slot = n_emp + 1
    scope_pos = np.full(len(emp_ids), n_emp, dtype=np.int64)
    scope_pos[scope_idx] = np.arange(n_emp)
    ecode = scope_pos[all_codes]
    # factorize the raw timestamps first (few distinct values), then turn the distinct ones into months
    tcode, t_uniques = pd.factorize(employee_metrics["period"].to_numpy())
    t_month = np.asarray(t_uniques).astype("datetime64[M]").astype(np.int64)
    if scheme.period == "quarter":
        t_month = t_month - t_month % 3  # months since 1970-01 (a quarter start) -> quarter start month
    period_months, p_of_t = np.unique(t_month, return_inverse=True)
    pcode = p_of_t[tcode]
    n_per = len(period_months)
    mcode_all, metric_uniques = pd.factorize(employee_metrics["metric"])
    metric_ids = sorted(str(m) for m in metric_uniques)
    m_map = pd.Index(metric_ids).get_indexer([str(m) for m in metric_uniques])
    mcode = m_map[mcode_all]
    n_met = len(metric_ids)

    value = employee_metrics["value"].to_numpy(dtype=np.float64, na_value=np.nan)
    # metric-major layout: one contiguous row of the (period, employee slot) grid per metric
    n_grid = n_per * n_slot
    matrix = np.full((n_met, n_grid), np.nan)
    key = mcode.astype(np.int64) * n_grid + pcode.astype(np.int64) * n_slot + ecode
    if scheme.period == "month":
        # (period, employee_id, metric) is the table key, so each cell has at most one value: scatter directly
        matrix.ravel()[key] = value
    else:
        if "volume" in employee_metrics.columns:
            volume = employee_metrics["volume"].to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            volume = np.full(len(value), np.nan)
        _aggregate_into(matrix, key, value, volume, metric_ids, catalogue)
    has_any = np.zeros(n_grid, dtype=bool)
    for j in range(n_met):
        has_any |= ~np.isnan(matrix[j])

    # calendar days employed in each period (inclusive hire and leave days)
    start_month = period_months.astype("datetime64[M]")
    step = 3 if scheme.period == "quarter" else 1
    p_start = start_month.astype("datetime64[D]").astype(np.int64)
    p_end = (start_month + np.timedelta64(step, "M")).astype("datetime64[D]").astype(np.int64) - 1
    hire = _day_numbers(employees["hire_date"].to_numpy()[scope_idx])
    leave = _day_numbers(employees["leave_date"].to_numpy()[scope_idx])
    first = np.maximum(p_start[:, None], hire[None, :])
    last = np.minimum(p_end[:, None], leave[None, :])
    days_employed = np.clip(last - first + 1, 0, None)  # (period, employee)
    days_in_period = p_end - p_start + 1

    grid_keep = (days_employed > 0) | has_any.reshape(n_per, n_slot)[:, :n_emp]
    per_of_row, emp_of_row = np.nonzero(grid_keep)
    days_employed = days_employed[per_of_row, emp_of_row]
    days_in_period = days_in_period[per_of_row]
    sel = per_of_row * n_slot + emp_of_row
    src = scope_idx[emp_of_row]
    rows = pd.DataFrame(
        {
            "period": pd.DatetimeIndex(start_month.astype("datetime64[ns]"))[per_of_row],
            # Series.take keeps the string dtype (no per-element conversion)
            **{
                col: employees[col].astype(str).take(src).reset_index(drop=True)
                for col in ("employee_id", "department", "team", "role")
            },
            "base_salary": salary[src],
            "days_employed": days_employed,
            "days_in_period": days_in_period,
            "employed_share": days_employed / days_in_period,
        }
    )
    values = {m: matrix[j][sel] for j, m in enumerate(metric_ids)}
    fte = _fte(employees)
    links = None
    if sales is not None or customers is not None:
        links = _link_sales(sales, customers, rows, scheme.period)
    return PayoutInputs(
        roles=roles,
        period=scheme.period,
        rows=rows,
        values=values,
        catalogue=catalogue,
        excluded_by_role=excluded_by_role,
        fte=None if fte is None else fte[src],
        sales=links,
        tenure_period=_tenure_period(hire[emp_of_row], period_months[per_of_row], step),
    )


def _tenure_period(hire_day: np.ndarray, period_month: np.ndarray, step: int) -> np.ndarray:
    """1 for the period holding the hire date, 2 for the next, ... (scheme periods of ``step`` months)."""
    hire_month = hire_day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    hire_month = hire_month - hire_month % step
    return np.asarray((period_month - hire_month) // step + 1, dtype=np.int64)


def _fte(employees: pd.DataFrame) -> np.ndarray | None:
    """The optional ``employees.fte`` column (0–1], NaN -> 1 (full time); DataValidationError outside (0, 1]."""
    if "fte" not in employees.columns:
        return None
    fte = pd.to_numeric(employees["fte"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    fte = np.where(np.isnan(fte), 1.0, fte)
    bad = ~((fte > 0) & (fte <= 1))
    if bad.any():
        from cx_framework.schemas import _failures

        rows = np.flatnonzero(bad)
        raise DataValidationError(
            f"Table 'employees', column 'fte': {len(rows)} row(s) outside (0, 1] (rows "
            f"{', '.join(map(str, rows[:10]))}); fte is the full-time-equivalent share (1 = full time, 0.5 = half).",
            failures=_failures("employees", "fte", "0 < fte <= 1", rows, fte[rows]),
            table="employees",
        )
    return fte


def _missing_columns(df: pd.DataFrame, table: str, needed: tuple[str, ...]) -> None:
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise DataValidationError(
            f"Table '{table}': missing column(s) {', '.join(missing)}; needed for customer clawbacks "
            f"(columns: {', '.join(needed)}).",
            table=table,
        )


def _link_sales(
    sales: pd.DataFrame | None, customers: pd.DataFrame | None, rows: pd.DataFrame, period: str
) -> SalesLinks:
    """Tie each credited sale to the grid row it was credited in and the row its customer's churn is charged to."""
    if sales is None or customers is None:
        raise InputValueError(
            "customer clawbacks need both sales= (sale_id, employee_id, customer_id, sold_at) and customers= "
            "(customer_id, churn_date)",
            argument="sales" if sales is None else "customers",
        )
    _missing_columns(sales, "sales", ("sale_id", "employee_id", "customer_id", "sold_at"))
    _missing_columns(customers, "customers", ("customer_id", "churn_date"))
    sold = pd.to_datetime(sales["sold_at"]).to_numpy().astype("datetime64[D]")
    churn_by_customer = pd.Series(
        pd.to_datetime(customers["churn_date"]).to_numpy(),
        index=customers["customer_id"].astype(str).to_numpy(),
    )
    known = pd.Index(churn_by_customer.index).get_indexer(sales["customer_id"].astype(str).to_numpy())
    if (known < 0).any():
        from cx_framework.schemas import _failures

        bad_rows = np.flatnonzero(known < 0)
        bad = sales["customer_id"].to_numpy(dtype=object)[bad_rows]
        raise DataValidationError(
            f"Table 'sales', column 'customer_id': {len(bad_rows)} sale(s) name customers not in table "
            f"'customers' (first rows {', '.join(map(str, bad_rows[:10]))}); add the customers or drop the sales.",
            failures=_failures("sales", "customer_id", "customer_id in customers", bad_rows, bad),
            table="sales",
        )
    churn = churn_by_customer.to_numpy().astype("datetime64[D]")[known]
    days = (churn - sold).astype("timedelta64[D]").astype(np.float64)
    days[np.isnat(churn)] = np.nan

    def _period_start(day: np.ndarray) -> pd.DatetimeIndex:
        month = day.astype("datetime64[M]").astype(np.int64)
        if period == "quarter":
            month = month - month % 3
        return pd.DatetimeIndex(month.astype("datetime64[M]").astype("datetime64[ns]"))

    grid = pd.MultiIndex.from_arrays([pd.DatetimeIndex(rows["period"]), rows["employee_id"].astype(str)])
    employee = sales["employee_id"].astype(str).to_numpy()
    sale_row = grid.get_indexer(pd.MultiIndex.from_arrays([_period_start(sold), employee]))
    churn_safe = np.where(np.isnat(churn), sold, churn)
    charge_row = grid.get_indexer(pd.MultiIndex.from_arrays([_period_start(churn_safe), employee]))
    charge_row[np.isnat(churn)] = -1
    if "units" in sales.columns:
        units = pd.to_numeric(sales["units"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        units = np.where(np.isnan(units), 1.0, units)
    else:
        units = np.ones(len(sales))
    return SalesLinks(
        sale_row=np.asarray(sale_row, dtype=np.int64),
        charge_row=np.asarray(charge_row, dtype=np.int64),
        days_to_churn=days,
        units=units,
        sales=sales,
    )


def _aggregate_into(
    matrix: np.ndarray,
    key: np.ndarray,
    value: np.ndarray,
    volume: np.ndarray,
    metric_ids: list[str],
    catalogue: MetricCatalogue | None,
) -> None:
    """Aggregate monthly values into ``matrix`` (metric × grid) cells with each metric's catalogue aggregation (bincount sums)."""
    size = matrix.size
    n_grid = matrix.shape[1]
    present = ~np.isnan(value)
    count = np.bincount(key, weights=present.astype(np.float64), minlength=size)
    sum_v = np.bincount(key, weights=np.where(present, value, 0.0), minlength=size)
    with_w = present & np.isfinite(volume)
    w = np.where(with_w, volume, 0.0)
    sum_w = np.bincount(key, weights=w, minlength=size)
    sum_vw = np.bincount(key, weights=np.where(with_w, value, 0.0) * w, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = sum_v / count
        weighted = np.where(sum_w > 0, sum_vw / sum_w, mean)
    for j, metric in enumerate(metric_ids):
        how = catalogue.by_id[metric].aggregation if catalogue and metric in catalogue.by_id else "mean"
        cells = slice(j * n_grid, (j + 1) * n_grid)
        chosen = {"mean": mean, "sum": sum_v, "volume_weighted": weighted, "ratio": weighted}[how][cells]
        matrix[j] = np.where(count[cells] > 0, chosen, np.nan)


def _codes(series: pd.Series, values: np.ndarray) -> np.ndarray:
    """Position of each element of ``series`` in ``values`` (-1 if absent), hashing the long column once.

    Arrow-backed strings (pandas' default ``str`` dtype) go through ``pyarrow.compute.index_in``; other dtypes
    are factorized and their few distinct values mapped.
    """
    chunks = getattr(series.array, "_pa_array", None)
    if chunks is not None:
        import pyarrow as pa
        import pyarrow.compute as pc

        found = pc.index_in(chunks, value_set=pa.array(list(values), type=pa.string()))
        return np.asarray(pc.fill_null(found, -1).to_numpy(), dtype=np.int64)
    codes, uniques = pd.factorize(series)
    positions = pd.Index(values).get_indexer(pd.Index(uniques).astype(str))
    return np.append(positions, -1)[codes]  # code -1 (missing id) -> -1


# ------------------------------------------------------------------------------------------------ curve
def _direction(component: Component, catalogue: MetricCatalogue | None) -> int:
    if catalogue is not None and component.metric in catalogue.by_id:
        return catalogue.by_id[component.metric].sign
    # without a catalogue the ordering of the points says it: threshold above target = lower is better
    return -1 if component.threshold > component.target else 1


def payout_curve_values(value: np.ndarray | float, component: Component, *, sign: int = 1) -> np.ndarray:
    """Payout multiplier of one component (DESIGN.md "Payout curve"), vectorised.

    Parameters
    ----------
    value : array-like of float
        Metric values (in the metric's unit). NaN stays NaN.
    component : Component
        Curve points and payouts.
    sign : {1, -1}
        +1 for higher-is-better, −1 for lower-is-better (the curve is mirrored).

    Returns
    -------
    numpy.ndarray
        Multiplier of the component's share of the target bonus: 0 below threshold, ``payout_at_threshold`` at
        threshold, 1 at target, ``payout_at_stretch`` at and beyond stretch, linear in between.
    """
    v = sign * np.asarray(value, dtype=np.float64)
    lo, mid, hi = sign * component.threshold, sign * component.target, sign * component.stretch
    p_lo, p_hi = component.payout_at_threshold, component.payout_at_stretch
    below_target = p_lo + (1.0 - p_lo) * (v - lo) / (mid - lo)
    above_target = 1.0 + (p_hi - 1.0) * (v - mid) / (hi - mid) if hi > mid else np.full_like(v, p_hi)
    out = np.where(v < lo, 0.0, np.where(v < mid, below_target, np.where(v < hi, above_target, p_hi)))
    return np.where(np.isnan(v), np.nan, out)


def _check_scheme(scheme: Scheme, catalogue: MetricCatalogue | None) -> dict[str, Metric]:
    """Cross-check the scheme against the catalogue; ConfigError with key path."""
    if catalogue is None:
        return {}
    known = catalogue.by_id
    where = f"scheme '{scheme.id}'"
    for i, c in enumerate(scheme.components):
        if c.metric not in known:
            raise ConfigError(
                f"unknown metric '{c.metric}'; add it to metrics.yaml or use one of: {', '.join(sorted(known))}",
                file=where,
                key=f"components[{i}].metric",
            )
        if (msg := check_order(known[c.metric], c.threshold, c.target, c.stretch)) is not None:
            raise ConfigError(msg, file=where, key=f"components[{i}].threshold")
    for i, g in enumerate(scheme.gates):
        if g.metric not in known:
            raise ConfigError(
                f"unknown metric '{g.metric}' in gate; use one of: {', '.join(sorted(known))}",
                file=where,
                key=f"gates[{i}].metric",
            )
    for i, c in enumerate(scheme.components):
        if (problem := plan_problem(c, known[c.metric])) is not None:
            raise ConfigError(problem[1], file=where, key=f"components[{i}].{problem[0]}")
    for k, v in enumerate(scheme.versions):
        for i, c in enumerate(v.components or []):
            if c.metric not in known:
                raise ConfigError(
                    f"unknown metric '{c.metric}'; use one of: {', '.join(sorted(known))}",
                    file=where,
                    key=f"versions[{k}].components[{i}].metric",
                )
            if (problem := plan_problem(c, known[c.metric])) is not None:
                raise ConfigError(problem[1], file=where, key=f"versions[{k}].components[{i}].{problem[0]}")
    return known


def _aggregation(metric: str, catalogue: MetricCatalogue | None) -> str:
    if catalogue is not None and metric in catalogue.by_id:
        return catalogue.by_id[metric].aggregation
    return "sum"


# ------------------------------------------------------------------------------------------------ evaluate
def evaluate_payouts(inputs: PayoutInputs, scheme: Scheme) -> pd.DataFrame:
    """Apply ``scheme`` to a prepared grid (vectorised; the what-if fast path).

    Parameters
    ----------
    inputs : PayoutInputs
        From :func:`prepare_payouts` for a scheme with the same roles and period.
    scheme : Scheme
        The (possibly edited) scheme.

    Returns
    -------
    pandas.DataFrame
        See :func:`compute_payouts`.

    Raises
    ------
    ConfigError
        Scheme roles/period differ from the prepared grid, or the scheme does not match the metric catalogue
        (unknown metric, threshold order inconsistent with the metric's direction).
    """
    if not inputs.covers(scheme):
        raise ConfigError(
            f"the prepared payout inputs cover roles {list(inputs.roles)} per {inputs.period}, but the scheme has "
            f"roles {sorted(scheme.roles)} per {scheme.period}; call prepare_payouts again for this scheme",
            file=f"scheme '{scheme.id}'",
            key="roles",
        )
    _check_scheme(scheme, inputs.catalogue)
    out = _versioned(inputs, scheme, inputs.values)
    clawed = [c for c in _all_components(scheme) if c.clawback is not None]
    clawback: np.ndarray | None = None
    if clawed:
        if inputs.sales is None:
            out.attrs["clawback"] = (
                "not applied: no sales table (pass sales= and customers= to prepare_payouts)"
            )
        else:
            clawback, claw_stats = _clawbacks(inputs, scheme, out, clawed)
            out.attrs["clawback"] = claw_stats
    if clawback is not None or scheme.draw is not None or scheme.cap_carry_forward:
        settled = settle(
            out,
            clawback=np.zeros(len(out)) if clawback is None else clawback,
            carry_forward=scheme.cap_carry_forward,
            draw=scheme.draw,
            tenure_period=inputs.tenure_period,
        )
        for name in LEDGER_COLUMNS:
            out[name] = settled[name]
        out["payout"] = settled["payout"]
        target = out["target_bonus"].to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            out["attainment"] = np.where(target > 0, out["earned"].to_numpy() / target, np.nan)
        out.attrs["money_columns"] = [
            *out.attrs["money_columns"],
            *(c for c in LEDGER_COLUMNS if c not in out.attrs["money_columns"]),
        ]
    return out


def _all_components(scheme: Scheme) -> list[Component]:
    """The base components and every version's (a metric may appear in several)."""
    out = list(scheme.components)
    for v in scheme.versions:
        out.extend(v.components or [])
    return out


def scheme_for_period(scheme: Scheme, period: Any) -> Scheme:
    """The rules in force for ``period`` (a period start): the base scheme with the matching version's keys.

    Examples
    --------
    >>> scheme_for_period(scheme, "2025-07-01").target_bonus_pct  # doctest: +SKIP
    """
    day = pd.Timestamp(period).date()
    for v in scheme.versions:
        if v.effective_from <= day and (v.effective_to is None or day <= v.effective_to):
            return _version_scheme(scheme, v)
    return scheme


def _version_scheme(scheme: Scheme, version: SchemeVersion) -> Scheme:
    update = {
        k: getattr(version, k)
        for k in ("target_bonus_pct", "components", "gates", "cap_pct")
        if getattr(version, k) is not None
    }
    # each version's keys were validated with the version; model_copy keeps the base's roles and period
    return scheme.model_copy(update={**update, "versions": []})


def _versioned(inputs: PayoutInputs, scheme: Scheme, values: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Per-period rules, each period under the plan version in force at its start."""
    if not scheme.versions:
        return _evaluate_rules(inputs, scheme, values)
    day = inputs.rows["period"].to_numpy().astype("datetime64[D]")
    label = np.full(len(day), "base", dtype=object)
    parts = []
    covered = np.zeros(len(day), dtype=bool)
    for v in scheme.versions:
        start = np.datetime64(v.effective_from, "D")
        mask = day >= start
        if v.effective_to is not None:
            mask &= day <= np.datetime64(v.effective_to, "D")
        label[mask] = str(v.effective_from)
        covered |= mask
        parts.append((mask, _evaluate_rules(inputs, _version_scheme(scheme, v), values)))
    parts.insert(0, (~covered, _evaluate_rules(inputs, scheme, values)))
    frames = [frame.loc[mask] for mask, frame in parts if mask.any()]
    out = pd.concat(frames).sort_index() if frames else parts[0][1].iloc[:0]
    out["plan_version"] = label
    components: dict[str, None] = {}
    money: dict[str, None] = {}
    for _, frame in parts:
        components.update(dict.fromkeys(frame.attrs["components"]))
        money.update(dict.fromkeys(frame.attrs["money_columns"]))
    out.attrs.update(parts[0][1].attrs)
    out.attrs.update(
        {
            "components": list(components),
            "money_columns": list(money),
            "withheld_rows": int(out["withheld"].sum()),
            "versions": ["base", *(str(v.effective_from) for v in scheme.versions)],
        }
    )
    return out


def _clawbacks(
    inputs: PayoutInputs, scheme: Scheme, gross: pd.DataFrame, clawed: list[Component]
) -> tuple[np.ndarray, dict[str, Any]]:
    """Clawback charged per grid row: what each sale period paid minus what it would have paid without the sales
    whose customer churned within the window, charged to the churn period in proportion to the reversed units."""
    links = inputs.sales
    assert links is not None
    n = len(inputs.rows)
    windows = {c.metric: c.clawback.window_days for c in clawed if c.clawback is not None}
    restated = dict(inputs.values)
    reversed_any = np.zeros(len(links.units), dtype=bool)
    for metric, window in windows.items():
        rev = (links.sale_row >= 0) & (links.days_to_churn >= 0) & (links.days_to_churn <= window)
        reversed_any |= rev
        units = np.bincount(links.sale_row[rev], weights=links.units[rev], minlength=n)
        if metric in restated:
            restated[metric] = np.where(
                np.isnan(restated[metric]), np.nan, np.maximum(restated[metric] - units, 0.0)
            )
    net = _versioned(inputs, scheme, restated)
    # clawback per sale period: a restated period pays less (or the same); withheld periods paid nothing
    lost = np.nan_to_num(gross["payout"].to_numpy() - net["payout"].to_numpy())
    lost = np.maximum(lost, 0.0)
    rev_units_per_row = np.bincount(
        links.sale_row[reversed_any], weights=links.units[reversed_any], minlength=n
    )
    sale_row = links.sale_row[reversed_any]
    with np.errstate(invalid="ignore", divide="ignore"):
        per_sale = lost[sale_row] * links.units[reversed_any] / rev_units_per_row[sale_row]
    per_sale = np.nan_to_num(per_sale)
    charge_row = links.charge_row[reversed_any]
    collectable = charge_row >= 0
    charged = np.bincount(charge_row[collectable], weights=per_sale[collectable], minlength=n)
    stats = {
        "reversed_sales": int(reversed_any.sum()),
        "reversed_units": float(links.units[reversed_any].sum()),
        "clawback_total": float(per_sale.sum()),
        "clawback_charged": float(charged.sum()),
        "clawback_uncharged": float(per_sale[~collectable].sum()),
        "window_days": windows,
    }
    return charged, stats


def _evaluate_rules(inputs: PayoutInputs, scheme: Scheme, values: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """One set of rules (curves or tiers, crediting, proration, gates, cap) over every row of the grid."""
    catalogue = inputs.catalogue
    rows = inputs.rows
    n = len(rows)
    nan = np.full(n, np.nan)
    target_bonus = (
        rows["base_salary"].to_numpy() * (scheme.target_bonus_pct / 100.0 / scheme.periods_per_year)
    ) * rows["employed_share"].to_numpy()

    columns: dict[str, Any] = {}
    raw = np.zeros(n)
    missing: dict[str, np.ndarray] = {}
    money = list(MONEY_COLUMNS)
    fte = inputs.fte if inputs.fte is not None else np.ones(n)
    for c in scheme.components:
        value = values.get(c.metric, nan)
        sign = _direction(c, catalogue)
        own = value
        if c.credit is not None and c.credit.basis == "team":
            value = team_credit(
                value, rows, fte, c.credit, additive=_aggregation(c.metric, catalogue) == "sum"
            )
        if c.prorate:
            value = prorated_value(value, rows["employed_share"].to_numpy(), fte)
        curve, attainment = component_multiplier(
            value, c, sign=sign, curve=payout_curve_values(value, c, sign=sign)
        )
        amount = target_bonus * c.weight * curve
        columns[f"{c.metric}_value"] = value
        if value is not own:
            columns[f"{c.metric}_own_value"] = own
        if attainment is not None:
            columns[f"{c.metric}_attainment"] = attainment
        columns[f"{c.metric}_curve"] = curve
        columns[c.metric] = amount
        money.append(c.metric)
        raw = raw + np.where(np.isnan(amount), 0.0, amount)
        missing[c.metric] = np.isnan(value)
    gates_passed = np.ones(n, dtype=bool)
    for g in scheme.gates:
        value = values.get(g.metric, nan)
        ok = np.ones(n, dtype=bool)
        if g.min is not None:
            ok &= value >= g.min
        if g.max is not None:
            ok &= value <= g.max
        absent = np.isnan(value)
        column = f"gate_{g.metric}"
        if f"{g.metric}_value" not in columns:
            columns[f"{g.metric}_value"] = value
        columns[column] = pd.arrays.BooleanArray(ok & ~absent, absent)
        gates_passed &= ok | absent
        missing[g.metric] = missing.get(g.metric, np.zeros(n, dtype=bool)) | absent

    # a gate that is known to fail settles the period at 0 even when other metrics are missing
    withheld, reason = _withheld(missing, n, settled=~gates_passed)
    cap = target_bonus * (scheme.cap_pct / 100.0)
    before_cap = np.where(gates_passed, raw, 0.0)
    payout = np.minimum(before_cap, cap)
    capped = before_cap > cap * (1 + 1e-12)
    payout = np.where(withheld, np.nan, payout)
    before_cap = np.where(withheld, np.nan, before_cap)
    with np.errstate(invalid="ignore", divide="ignore"):
        attainment = np.where(target_bonus > 0, payout / target_bonus, np.nan)

    computed = pd.DataFrame(
        {
            "target_bonus": target_bonus,
            **columns,
            "gates_passed": pd.arrays.BooleanArray(gates_passed & ~withheld, withheld.copy()),
            "payout_before_cap": before_cap,
            "cap": cap,
            "capped": capped & ~withheld,
            "payout": payout,
            "attainment": attainment,
            "withheld": withheld,
            "withheld_reason": reason,
        },
        index=rows.index,
    )
    out = pd.concat([rows, computed], axis=1)
    out.attrs.update(
        {
            "scheme_id": scheme.id,
            "period": scheme.period,
            "components": [c.metric for c in scheme.components],
            "money_columns": money,
            "excluded_employees": inputs.excluded_employees,
            "excluded_by_role": dict(inputs.excluded_by_role),
            "withheld_rows": int(withheld.sum()),
        }
    )
    return out


def _withheld(
    missing: Mapping[str, np.ndarray], n: int, *, settled: np.ndarray
) -> tuple[np.ndarray, pd.Series]:
    """Withheld flag and a reason string per row, built from a bit pattern of missing metrics (no row loop).
    Rows in ``settled`` (a present gate failed: the payout is 0 whatever the missing values) are not withheld."""
    names = list(missing)
    pattern = np.zeros(n, dtype=np.int64)
    for bit, name in enumerate(names):
        pattern |= missing[name].astype(np.int64) << bit
    pattern[settled] = 0
    withheld = pattern != 0
    reason = np.full(n, None, dtype=object)
    for p in np.unique(pattern[withheld]):
        absent = [name for bit, name in enumerate(names) if (int(p) >> bit) & 1]
        reason[pattern == p] = f"missing metric(s): {', '.join(absent)}"
    return withheld, pd.Series(reason, dtype=object)


def compute_payouts(
    employee_metrics: pd.DataFrame,
    employees: pd.DataFrame,
    scheme: Scheme,
    *,
    config: CxConfig | MetricCatalogue | None = None,
    validate: bool = True,
    sales: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Payout per (period, employee_id) under ``scheme`` (DESIGN.md "Payout curve"; semantics in module doc).

    Parameters
    ----------
    employee_metrics : pandas.DataFrame
        ``period`` (month start), ``employee_id``, ``metric``, ``value``, optional ``volume``.
    employees : pandas.DataFrame
        ``employee_id, department, team, role, base_salary`` (currency per year), ``hire_date, leave_date``.
    scheme : Scheme
        The bonus scheme.
    config : CxConfig or MetricCatalogue, optional
        Metric catalogue: directions (lower-is-better metrics are mirrored), cross-checks of the scheme and the
        aggregation of months to quarters (required for quarter schemes). Without it, a component's direction is
        read from its points (threshold above target = lower is better).
    validate : bool, default True
        Validate the input tables first (see :func:`prepare_payouts`).

    Returns
    -------
    pandas.DataFrame
        One row per (period, employee_id) of covered employees, by period then in the order of ``employees``: ``period``
        (period start), ``employee_id, department, team, role, base_salary, days_employed, days_in_period,
        employed_share`` (0–1), ``target_bonus`` (currency, prorated), per component ``<metric>_value``,
        ``<metric>_curve`` (multiplier) and ``<metric>`` (component payout, currency); per gate ``gate_<metric>``
        (nullable bool); ``gates_passed``, ``payout_before_cap``, ``cap``, ``capped``, ``payout`` (currency, NaN
        when withheld), ``attainment`` (payout / target_bonus), ``withheld`` and ``withheld_reason``.
        ``df.attrs`` holds ``scheme_id``, ``excluded_employees`` (count of employees outside the scheme's roles),
        ``excluded_by_role``, ``withheld_rows``, ``components`` and ``money_columns``.

    Raises
    ------
    DataValidationError
        Invalid tables, metrics for unknown employees, non-positive salaries (names table, column, rows).
    ConfigError
        Scheme inconsistent with the catalogue (names the key path, e.g. ``components[0].threshold``).

    Examples
    --------
    >>> from cx_framework import load_config, load_sample, compute_payouts  # doctest: +SKIP
    >>> cfg = load_config("configs"); org = load_sample()  # doctest: +SKIP
    >>> df = compute_payouts(org.employee_metrics, org.employees, cfg.schemes["siloed"], config=cfg)  # doctest: +SKIP
    >>> df["payout"].sum()  # doctest: +SKIP
    """
    scheme = as_scheme(scheme)
    inputs = prepare_payouts(
        employee_metrics,
        employees,
        scheme,
        config=config,
        validate=validate,
        sales=sales,
        customers=customers,
    )
    return evaluate_payouts(inputs, scheme)


# ------------------------------------------------------------------------------------------------ output helpers
def payout_summary(payouts: pd.DataFrame) -> pd.DataFrame:
    """Totals per period of a :func:`compute_payouts` frame.

    Returns
    -------
    pandas.DataFrame
        ``period, employees, paid, withheld, gate_failed, capped, target_bonus, payout`` (currency, withheld rows
        excluded from both sums), ``withheld_target_bonus`` and ``attainment`` (Σ payout / Σ target bonus of paid
        rows).
    """
    paid = ~payouts["withheld"].to_numpy()
    frame = pd.DataFrame(
        {
            "period": payouts["period"],
            "employees": 1,
            "paid": paid.astype(int),
            "withheld": (~paid).astype(int),
            "gate_failed": (~payouts["gates_passed"].fillna(True).to_numpy(dtype=bool)).astype(int),
            "capped": payouts["capped"].to_numpy().astype(int),
            "target_bonus": np.where(paid, payouts["target_bonus"], 0.0),
            "payout": np.where(paid, payouts["payout"], 0.0),
            "withheld_target_bonus": np.where(paid, 0.0, payouts["target_bonus"]),
        }
    )
    out = frame.groupby("period", as_index=False).sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        out["attainment"] = np.where(out["target_bonus"] > 0, out["payout"] / out["target_bonus"], np.nan)
    return out


def round_money(payouts: pd.DataFrame, *, decimals: int = 2) -> pd.DataFrame:
    """Copy with every money column rounded to cents (use only at output: export, display)."""
    money = payouts.attrs.get("money_columns", list(MONEY_COLUMNS))
    out = payouts.copy()
    for col in money:
        if col in out.columns:
            out[col] = out[col].round(decimals)
    return out
