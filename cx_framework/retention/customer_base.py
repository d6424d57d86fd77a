"""The customer base in aggregate: customers and their monthly revenue by start month and churn month.

Everything the churn economics read from the ``customers`` table — the mean monthly revenue of the customers still
active (what a churner is worth), the customers active at the end of a month with their mean revenue (behaviour
simulation), and how many active customers leave in the following month (the monthly view) — depends on a
customer only through the calendar month of ``start_date``, the calendar month of ``churn_date`` (or none) and
``monthly_revenue``. :class:`CustomerBase` keeps ``Σ customers``, ``Σ monthly_revenue`` and the count of known
revenues per (start month, churn month): at most a few thousand rows for any number of customers, computed by
the engine on DuckDB/Spark (:func:`cx_framework.engine.customer_base`) or here from a frame
(:meth:`CustomerBase.from_table`), so the customers' rows never reach pandas on large data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cx_framework.errors import DataValidationError

__all__ = ["CUSTOMER_BASE_COLUMNS", "NOT_CHURNED", "CustomerBase"]

#: ``churn_month`` of customers without a ``churn_date`` (larger than every month index)
NOT_CHURNED = np.iinfo(np.int64).max
#: columns of :attr:`CustomerBase.groups`
CUSTOMER_BASE_COLUMNS = ("start_month", "churn_month", "customers", "revenue_sum", "revenue_n")


def _month_of(when: pd.Timestamp) -> int:
    return int(np.datetime64(pd.Timestamp(when).to_datetime64(), "M").astype(np.int64))


@dataclass(frozen=True)
class CustomerBase:
    """Customers grouped by (start month, churn month).

    Attributes
    ----------
    groups : pandas.DataFrame
        ``start_month, churn_month`` (calendar months since 1970-01; :data:`NOT_CHURNED` for customers without a
        churn date), ``customers`` (count), ``revenue_sum`` (Σ ``monthly_revenue``, currency per month) and
        ``revenue_n`` (customers with a known ``monthly_revenue``).
    """

    groups: pd.DataFrame

    @classmethod
    def from_groups(cls, groups: pd.DataFrame) -> CustomerBase:
        """From an engine's grouped result (``churn_month`` null for customers who have not churned)."""
        churn = pd.to_numeric(groups["churn_month"], errors="coerce")
        churned = churn.notna().to_numpy()
        frame = pd.DataFrame(
            {
                "start_month": groups["start_month"].to_numpy(dtype=np.int64),
                "churn_month": np.where(churned, churn.fillna(0).to_numpy(dtype=np.int64), NOT_CHURNED),
                "customers": groups["customers"].to_numpy(dtype=np.int64),
                "revenue_sum": pd.to_numeric(groups["revenue_sum"]).fillna(0.0).to_numpy(dtype=np.float64),
                "revenue_n": groups["revenue_n"].to_numpy(dtype=np.int64),
            }
        )
        order = np.lexsort((frame["churn_month"].to_numpy(), frame["start_month"].to_numpy()))
        return cls(frame.iloc[order].reset_index(drop=True))

    @classmethod
    def from_table(cls, customers: pd.DataFrame) -> CustomerBase:
        """Group a ``customers`` frame (``start_date``, ``churn_date``, ``monthly_revenue``)."""
        missing = [c for c in ("start_date", "churn_date") if c not in customers.columns]
        if missing:
            raise DataValidationError(f"table 'customers' is missing column(s) {missing}.", table="customers")
        start = pd.to_datetime(customers["start_date"]).to_numpy(dtype="datetime64[ns]")
        churn = pd.to_datetime(customers["churn_date"])
        revenue = (
            pd.to_numeric(customers["monthly_revenue"], errors="coerce")
            if "monthly_revenue" in customers.columns
            else pd.Series(np.nan, index=customers.index)
        )
        frame = pd.DataFrame(
            {
                "start_month": start.astype("datetime64[M]").astype(np.int64),
                "churn_month": pd.array(
                    churn.to_numpy(dtype="datetime64[ns]").astype("datetime64[M]").astype(np.int64),
                    dtype="Int64",
                ),
                "revenue": revenue.to_numpy(dtype=np.float64),
            }
        )
        frame.loc[churn.isna().to_numpy(), "churn_month"] = pd.NA
        grouped = (
            frame.groupby(["start_month", "churn_month"], dropna=False, sort=False)["revenue"]
            .agg(customers="size", revenue_sum="sum", revenue_n="count")
            .reset_index()
        )
        return cls.from_groups(grouped)

    # ------------------------------------------------------------------------------------------------ questions
    @property
    def n_customers(self) -> int:
        return int(self.groups["customers"].sum())

    def churner_revenue(self) -> float:
        """Mean ``monthly_revenue`` of the customers still active (no churn date; all customers when every one
        has churned): what :func:`cx_framework.retention.value_of_service_level` values a churner at.

        Raises
        ------
        DataValidationError
            No customer has a ``monthly_revenue``.
        """
        g = self.groups
        active = g[g["churn_month"].eq(NOT_CHURNED)]
        if int(active["customers"].sum()) == 0:
            active = g
        n = int(active["revenue_n"].sum())
        value = float(active["revenue_sum"].sum()) / n if n else math.nan
        if not math.isfinite(value):
            raise DataValidationError(
                "table 'customers': column 'monthly_revenue' has no values.", table="customers"
            )
        return value

    def active_at(self, month: pd.Timestamp) -> tuple[int, float]:
        """(customers active in ``month``, their mean ``monthly_revenue``; 0.0 when none): started by the end
        of the month and not churned before its first day — the behaviour simulation's customer base."""
        when = pd.Timestamp(month)
        if when != when.to_period("M").to_timestamp():
            raise ValueError(f"month must be the first day of a month, got {when}")
        m = _month_of(when)
        g = self.groups
        active = g[g["start_month"].le(m) & g["churn_month"].ge(m)]
        n_active = int(active["customers"].sum())
        n_revenue = int(active["revenue_n"].sum())
        revenue = float(active["revenue_sum"].sum()) / n_revenue if n_active and n_revenue else 0.0
        if n_active and not n_revenue:
            revenue = math.nan  # as pandas' mean of no known revenues
        return n_active, revenue

    def active_and_churned_next(self, months: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For month indices ``months``: customers active at the end of each month (started in or before it,
        churn month after it) and how many of them churn in the following month."""
        g = self.groups
        count = g["customers"].to_numpy(dtype=np.int64)
        start, churn = g["start_month"].to_numpy(), g["churn_month"].to_numpy()

        def upto(month_of: np.ndarray, at: np.ndarray) -> np.ndarray:
            order = np.argsort(month_of, kind="stable")
            cum = np.concatenate([[0], np.cumsum(count[order])])
            return cum[np.searchsorted(month_of[order], at, side="right")]

        months = np.asarray(months, dtype=np.int64)
        gone_by_end = upto(churn, months)
        return upto(start, months) - gone_by_end, upto(churn, months + 1) - gone_by_end
