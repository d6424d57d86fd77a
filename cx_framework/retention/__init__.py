"""Retention: does service level keep customers, by how much, and what is a point of SL worth?

- :func:`build_customer_panel` — customer × month panel of experienced service and next-month churn
  (``panel.py``);
- :func:`fit_retention` — SL ↔ churn models (statsmodels: exact grouped binomial logit with customer-clustered
  errors, spline / binned dose, lags, Cox PHReg) → :class:`RetentionResult` (``models.py``);
- :func:`fit_retention_engine` — the same logit on a panel that stays in DuckDB/Spark (``engine.py``);
- :func:`sl_retention_by_period` — monthly SL vs retention with Newey-West errors (``aggregate.py``);
- :class:`CustomerBase` — customers by start and churn month: the churn economics' inputs without the rows
  (``customer_base.py``);
- :func:`value_of_service_level` — churned customers and revenue at risk per point of SL (``value.py``).
"""

from __future__ import annotations

from cx_framework.retention.aggregate import (
    PeriodRetentionResult,
    monthly_sl_and_churn,
    sl_retention_by_period,
)
from cx_framework.retention.customer_base import CustomerBase
from cx_framework.retention.engine import fit_retention_engine
from cx_framework.retention.models import DEFAULT_BINS, MarginalEffect, RetentionResult, fit_retention
from cx_framework.retention.panel import PANEL_COLUMNS, build_customer_panel
from cx_framework.retention.value import lifetime_margin_pv, value_of_service_level

__all__ = [
    "CustomerBase",
    "PANEL_COLUMNS",
    "DEFAULT_BINS",
    "build_customer_panel",
    "fit_retention",
    "fit_retention_engine",
    "RetentionResult",
    "MarginalEffect",
    "sl_retention_by_period",
    "PeriodRetentionResult",
    "monthly_sl_and_churn",
    "value_of_service_level",
    "lifetime_margin_pv",
]
