"""Retention: does service level keep customers, by how much, and what is a point of SL worth?

- :func:`build_customer_panel` — customer × month panel of experienced service and next-month churn;
- :func:`fit_retention` — SL ↔ churn models (statsmodels logit / grouped binomial GLM, Cox PHReg) →
  :class:`RetentionResult`;
- :func:`sl_retention_by_period` — aggregate monthly SL vs retention with HAC standard errors;
- :func:`value_of_service_level` — churned customers and revenue at risk per point of SL.
"""

from __future__ import annotations

from cx_framework.retention.models import DEFAULT_BINS, MarginalEffect, RetentionResult, fit_retention
from cx_framework.retention.panel import PANEL_COLUMNS, build_customer_panel

__all__ = [
    "PANEL_COLUMNS",
    "DEFAULT_BINS",
    "build_customer_panel",
    "fit_retention",
    "RetentionResult",
    "MarginalEffect",
]
