"""What one point of service level is worth: churned customers and revenue at risk.

The customer value of a retained customer is the present value of the contribution margin over the expected
remaining lifetime (Gupta & Lehmann, *Customers as Assets*, Journal of Interactive Marketing 2003):

    PV = margin · monthly_revenue · Σ_{k=1..L} (1 + r_m)^-k = margin · monthly_revenue · (1 - (1 + r_m)^-L) / r_m,

with ``L = customer_lifetime_months`` and the monthly rate ``r_m = (1 + discount_rate_annual)^(1/12) - 1``
(``PV = margin · revenue · L`` when the rate is 0). Margin is received at the end of each month.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from cx_framework.errors import DataValidationError, InputValueError
from cx_framework.retention.customer_base import CustomerBase

__all__ = ["lifetime_margin_pv", "value_of_service_level"]


def lifetime_margin_pv(
    monthly_revenue: float | np.ndarray, *, margin: float, lifetime_months: float, discount_rate_annual: float
) -> float | np.ndarray:
    """Present value (currency) of a customer's margin over the remaining lifetime (module formula).

    Parameters
    ----------
    monthly_revenue : float or numpy.ndarray
        Revenue per month (currency).
    margin : float
        Contribution margin, share 0-1.
    lifetime_months : float
        Expected remaining lifetime in months (a fractional last month counts pro rata).
    discount_rate_annual : float
        Annual discount rate, share (0.08 = 8 %).

    Examples
    --------
    >>> round(lifetime_margin_pv(100.0, margin=0.5, lifetime_months=2, discount_rate_annual=0.0), 6)
    100.0
    """
    if lifetime_months < 0 or not 0 <= margin <= 1 or discount_rate_annual < 0:
        raise InputValueError(
            "lifetime_margin_pv needs lifetime_months >= 0, margin in [0, 1] and discount_rate_annual >= 0; "
            f"got {lifetime_months!r}, {margin!r}, {discount_rate_annual!r}.",
            argument="lifetime_months",
        )
    rate = (1.0 + discount_rate_annual) ** (1.0 / 12.0) - 1.0
    annuity = lifetime_months if rate == 0 else (1.0 - (1.0 + rate) ** (-lifetime_months)) / rate
    if np.ndim(monthly_revenue):
        return margin * np.asarray(monthly_revenue, dtype=float) * annuity
    return margin * float(monthly_revenue) * annuity


def _economics(config: Any) -> Any:
    """Accept a CxConfig (``.economics``) or an Economics model directly."""
    return getattr(config, "economics", config)


def _mean_revenue(customers: pd.DataFrame | CustomerBase) -> float:
    if isinstance(customers, CustomerBase):
        return customers.churner_revenue()
    if "monthly_revenue" not in customers.columns:
        raise DataValidationError(
            "table 'customers' is missing column 'monthly_revenue' (currency per month), needed to value churn.",
            table="customers",
        )
    active = customers
    if "churn_date" in customers.columns:
        active = customers[customers["churn_date"].isna()]
        if active.empty:
            active = customers
    value = float(active["monthly_revenue"].mean())
    if not math.isfinite(value):
        raise DataValidationError(
            "table 'customers': column 'monthly_revenue' has no values.", table="customers"
        )
    return value


def value_of_service_level(
    result: Any,
    customers: pd.DataFrame | CustomerBase,
    config: Any,
    *,
    points: float = 1.0,
    exposed_per_month: float | None = None,
) -> pd.DataFrame:
    """Churned customers and revenue at risk per point of service level, with the model's 95% interval.

    Uses the average marginal effect of ``result`` (change in next-month churn probability per +1 point of
    SL among customer-months with a call) and the economics assumptions ``margin``,
    ``customer_lifetime_months`` and ``discount_rate_annual``.

    Parameters
    ----------
    result : RetentionResult
        A fitted :func:`~cx_framework.retention.fit_retention` result.
    customers : pandas.DataFrame
        The ``customers`` table, or its :class:`~cx_framework.retention.CustomerBase` (the same numbers from
        grouped customers); the mean ``monthly_revenue`` of customers still active (no ``churn_date``) values a
        churner.
    config : CxConfig or Economics
        Loaded configuration (``config.economics``) or the economics model itself.
    points : float, default 1
        Size of the SL change in points (1 point = 0.01 share).
    exposed_per_month : float, optional
        Customer-months per month that experience the service (customers who call). Default: the model's
        ``nobs / n_periods``.

    Returns
    -------
    pandas.DataFrame
        Index ``quantity``; columns ``estimate, lower, upper`` (95 %), ``unit``. Rows:
        ``exposed_customers_per_month``, ``churn_probability_change`` (share per month for +points),
        ``churners_avoided_per_month``, ``churners_avoided_per_year``, ``monthly_revenue_at_risk_per_year``
        (monthly revenue of a year's avoided churners), ``lifetime_margin_pv_per_customer`` and
        ``value_per_year`` (present value of the margin kept by a year of avoided churn). Positive = gained by
        raising SL by ``points``.
    """
    econ = _economics(config)
    me = result.marginal_effect
    exposed = (
        float(result.nobs / max(result.n_periods, 1))
        if exposed_per_month is None
        else float(exposed_per_month)
    )
    revenue = _mean_revenue(customers)
    pv = float(
        lifetime_margin_pv(
            revenue,
            margin=econ.margin,
            lifetime_months=econ.customer_lifetime_months,
            discount_rate_annual=econ.discount_rate_annual,
        )
    )
    # avoided churn = -(change in churn probability); the interval's ends swap with the sign
    change = np.array([me.estimate, me.lower, me.upper]) * points
    avoided = -change[[0, 2, 1]] * exposed
    rows = {
        "exposed_customers_per_month": (np.full(3, exposed), "customers per month"),
        "churn_probability_change": (change, "share per month"),
        "churners_avoided_per_month": (avoided, "customers per month"),
        "churners_avoided_per_year": (avoided * 12, "customers per year"),
        "monthly_revenue_at_risk_per_year": (avoided * 12 * revenue, f"{econ.currency} per month"),
        "lifetime_margin_pv_per_customer": (np.full(3, pv), econ.currency),
        "value_per_year": (avoided * 12 * pv, econ.currency),
    }
    out = pd.DataFrame(
        {
            name: {"estimate": v[0], "lower": v[1], "upper": v[2], "unit": unit}
            for name, (v, unit) in rows.items()
        }
    ).T
    out.index.name = "quantity"
    out[["estimate", "lower", "upper"]] = out[["estimate", "lower", "upper"]].astype(float)
    out.attrs.update(points=points, currency=econ.currency, mean_monthly_revenue=revenue)
    return out
