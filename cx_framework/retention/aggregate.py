"""Aggregate view: monthly service level against monthly retention, for organisations without customer-level
contact data.

Monthly volume-weighted service level (Σ answered within threshold / Σ offered, never a mean of interval
percentages) is set against the share of customers active in the month who leave in the following month, by OLS
with Newey-West (HAC) standard errors (Newey & West, *Econometrica* 1987; lag length
``floor(4 (T/100)^(2/9))``, Newey & West, *Review of Economic Studies* 1994), because monthly series are short
and autocorrelated.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cx_framework.errors import DataValidationError, InputValueError, ModelError, StatisticalWarning
from cx_framework.retention.customer_base import CustomerBase
from cx_framework.retention.panel import _months

__all__ = ["PeriodRetentionResult", "monthly_sl_and_churn", "sl_retention_by_period"]


@dataclass(frozen=True)
class PeriodRetentionResult:
    """Monthly SL ↔ next-month churn regression.

    Attributes
    ----------
    data : pandas.DataFrame
        One row per month: ``period, offered, answered_within_threshold, service_level`` (share),
        ``active_customers`` (active at the end of the month), ``churned_next`` (of those, leaving in the
        following month), ``churn_rate`` and ``retention_rate`` (shares), and ``service_level_lag{l}``.
    params, bse, pvalues : pandas.Series
        OLS coefficients of ``churn_rate`` on ``const`` and ``service_level_lag{l}`` (change in the monthly
        churn share per +1.0 of SL), HAC standard errors and p-values.
    nobs : int
        Months in the regression (the first ``max(lags)`` months and the last month drop out).
    maxlags : int
        Newey-West lag truncation used.
    lags : tuple of int
    """

    data: pd.DataFrame
    params: pd.Series
    bse: pd.Series
    pvalues: pd.Series
    nobs: int
    maxlags: int
    lags: tuple[int, ...]
    rsquared: float

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """Wald intervals with the HAC standard errors (normal reference); columns ``lower, upper``."""
        from cx_framework.retention.models import _two_sided_z

        z = _two_sided_z(alpha)
        return pd.DataFrame({"lower": self.params - z * self.bse, "upper": self.params + z * self.bse})

    @property
    def total_effect(self) -> tuple[float, float, float]:
        """Sum of the SL coefficients over all lags (long-run change in monthly churn share per +1.0 of SL)
        with its 95% interval — requires the covariance, so it is stored at fit time in ``data.attrs``."""
        est, se = self.data.attrs["total_effect"], self.data.attrs["total_effect_se"]
        return est, est - 1.96 * se, est + 1.96 * se

    def summary(self) -> pd.DataFrame:
        """Coefficient table ``coef, std_error, lower, upper, p_value``."""
        ci = self.conf_int()
        return pd.DataFrame(
            {
                "coef": self.params,
                "std_error": self.bse,
                "lower": ci["lower"],
                "upper": ci["upper"],
                "p_value": self.pvalues,
            }
        )

    def plot(self, *, kind: str = "dual_axis", lag: int = 0) -> Any:
        """Monthly SL vs retention figure (:func:`cx_framework.plots.sl_vs_retention_figure`)."""
        from cx_framework.plots.retention import sl_vs_retention_figure

        return sl_vs_retention_figure(self, kind=kind, lag=lag)

    def explain(self) -> str:
        """Plain-language reading of the aggregate regression and its limits."""
        est, lo, hi = self.total_effect
        return (
            f"Across {self.nobs} months, each extra point of monthly service level goes with a "
            f"{abs(est):.4f} percentage-point {'lower' if est < 0 else 'higher'} monthly churn rate "
            f"(summed over lags {list(self.lags)}; 95% CI {lo:+.4f} to {hi:+.4f} points, Newey-West standard "
            f"errors with {self.maxlags} lag(s)). With few months and everything else that changes month to month "
            "(prices, campaigns, seasons), this is a weak, associational view — not causation unless the design "
            "supports it; prefer the customer-level model when contact data exist."
        )  # est is per +1.0 of SL on a share: per point (0.01) on percentage points it is the same number


def monthly_sl_and_churn(intervals: pd.DataFrame, customers: pd.DataFrame | CustomerBase) -> pd.DataFrame:
    """Monthly volume-weighted service level and next-month churn of the customer base.

    Parameters
    ----------
    intervals : pandas.DataFrame
        ``interval_start, offered, answered_within_threshold`` (counts per interval, any queues).
    customers : pandas.DataFrame or CustomerBase
        ``start_date, churn_date`` (null = still a customer), or the grouped
        :class:`~cx_framework.retention.CustomerBase` (same counts).

    Returns
    -------
    pandas.DataFrame
        ``period, offered, answered_within_threshold, service_level, active_customers, churned_next,
        churn_rate, retention_rate``; the last month has NaN churn (its following month is not observed).
    """
    checks: list[tuple[str, pd.DataFrame, tuple[str, ...]]] = [
        ("intervals", intervals, ("interval_start", "offered", "answered_within_threshold"))
    ]
    if not isinstance(customers, CustomerBase):
        checks.append(("customers", customers, ("start_date", "churn_date")))
    for table, frame, columns in checks:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise DataValidationError(f"table '{table}' is missing column(s) {missing}.", table=table)
    month = (
        pd.to_datetime(intervals["interval_start"]).to_numpy(dtype="datetime64[ns]").astype("datetime64[M]")
    )
    sums = (
        pd.DataFrame(
            {
                "period": month.astype("datetime64[ns]"),
                "offered": intervals["offered"].to_numpy(float),
                "answered_within_threshold": intervals["answered_within_threshold"].to_numpy(float),
            }
        )
        .groupby("period", sort=True)
        .sum()
    )
    sums["service_level"] = sums["answered_within_threshold"] / sums["offered"].where(sums["offered"] > 0)
    # active at the end of month t: started in or before t and not churned by the end of t (churn month > t)
    p = _months(sums.index)
    observed_next = np.r_[p[1:] == p[:-1] + 1, False]
    data = sums.reset_index()
    if isinstance(customers, CustomerBase):
        active, churn_next = customers.active_and_churned_next(p)
        return _with_churn(data, active, churn_next, observed_next)
    churn = pd.to_datetime(customers["churn_date"])
    # counts by binary search over sorted start / churn months (no customers x months matrix)
    starts_sorted = np.sort(_months(customers["start_date"]))
    churn_sorted = np.sort(np.where(churn.notna().to_numpy(), _months(churn), np.iinfo(np.int64).max))
    started = np.searchsorted(starts_sorted, p, side="right")
    gone_by_end = np.searchsorted(churn_sorted, p, side="right")
    active = started - gone_by_end
    churn_next = np.searchsorted(churn_sorted, p + 1, side="right") - gone_by_end
    return _with_churn(data, active, churn_next, observed_next)


def _with_churn(
    data: pd.DataFrame, active: np.ndarray, churn_next: np.ndarray, observed_next: np.ndarray
) -> pd.DataFrame:
    data["active_customers"] = active
    data["churned_next"] = np.where(observed_next, churn_next, np.nan)
    data["churn_rate"] = data["churned_next"] / data["active_customers"].where(data["active_customers"] > 0)
    data["retention_rate"] = 1.0 - data["churn_rate"]
    return data


def sl_retention_by_period(
    intervals: pd.DataFrame,
    customers: pd.DataFrame | CustomerBase,
    *,
    lags: Sequence[int] = (0, 1, 2),
    maxlags: int | None = None,
) -> PeriodRetentionResult:
    """Regress monthly next-month churn on monthly service level (and its lags) with HAC standard errors.

    ``churn_rate_t = a + Σ_l b_l · SL_{t-l} + e_t`` by OLS (statsmodels), ``cov_type="HAC"``.

    Parameters
    ----------
    intervals : pandas.DataFrame
        The ``intervals`` table (``interval_start, offered, answered_within_threshold``).
    customers : pandas.DataFrame or CustomerBase
        The ``customers`` table (``start_date, churn_date``) or its grouped
        :class:`~cx_framework.retention.CustomerBase`.
    lags : sequence of int, default (0, 1, 2)
        SL lags in months (0 = the month whose customers may leave next month).
    maxlags : int, optional
        Newey-West truncation lag. Default ``floor(4 (T/100)^(2/9))``, at least 1.

    Returns
    -------
    PeriodRetentionResult

    Raises
    ------
    InputValueError
        Empty or negative ``lags``.
    ModelError
        Too few months for the number of lags, or no month-to-month variation in SL.

    Warns
    -----
    StatisticalWarning
        Fewer than 24 months in the regression (HAC errors are unreliable in short series).
    """
    import statsmodels.api as sm

    lags = tuple(sorted({int(v) for v in lags}))
    if not lags or lags[0] < 0:
        raise InputValueError(
            f"argument 'lags' must be non-empty integers >= 0; got {lags!r}.", argument="lags"
        )
    data = monthly_sl_and_churn(intervals, customers)
    names = []
    for lag in lags:
        name = f"service_level_lag{lag}"
        data[name] = data["service_level"].shift(lag)
        names.append(name)
    usable = data.dropna(subset=["churn_rate", *names])
    n, k = len(usable), len(names) + 1
    if n < k + 2:
        raise ModelError(
            f"only {n} month(s) have churn and service level for lags {list(lags)}; the regression needs at least "
            f"{k + 2}. Use fewer lags or a longer history."
        )
    if np.ptp(usable[names[0]].to_numpy()) == 0:
        raise ModelError(
            "monthly service level is identical in every month, so its effect cannot be estimated."
        )
    if n < 24:
        warnings.warn(
            f"only {n} months in the aggregate SL-retention regression; Newey-West standard errors are unreliable "
            "in short series — read the interval as indicative.",
            StatisticalWarning,
            stacklevel=2,
        )
    if maxlags is None:
        maxlags = max(1, math.floor(4 * (n / 100) ** (2 / 9)))
    x = sm.add_constant(usable[names].to_numpy(), has_constant="add")
    fit = sm.OLS(usable["churn_rate"].to_numpy(), x).fit(cov_type="HAC", cov_kwds={"maxlags": maxlags})
    index = ["const", *names]
    cov = np.asarray(fit.cov_params())
    ones = np.r_[0.0, np.ones(len(names))]
    data.attrs["total_effect"] = float(ones @ fit.params)
    data.attrs["total_effect_se"] = float(math.sqrt(max(ones @ cov @ ones, 0.0)))
    return PeriodRetentionResult(
        data=data,
        params=pd.Series(fit.params, index=index),
        bse=pd.Series(fit.bse, index=index),
        pvalues=pd.Series(fit.pvalues, index=index),
        nobs=n,
        maxlags=int(maxlags),
        lags=lags,
        rsquared=float(fit.rsquared),
    )
