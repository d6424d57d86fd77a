"""Aggregations of the row-level tables that run in the engine and return small pandas frames.

* :func:`contact_metrics` — department × month scorecard metrics from ``contacts`` (the aggregation of
  :func:`cx_framework.scorecard.contact_metrics`, written once in ibis so it also runs on Spark);
* :func:`monthly_sl_and_churn` — monthly volume-weighted service level from ``intervals`` and next-month churn of
  the customer base from ``customers`` (:func:`cx_framework.retention.monthly_sl_and_churn`);
* :func:`journeys_per_year` — distinct work items started per year per journey.

Every function returns exactly the frame its pandas counterpart returns (same columns, same numbers; checked in
``tests/test_engine.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cx_framework.engine.core import Engine
from cx_framework.engine.panel import _expr, month_index, month_start
from cx_framework.engine.validation import ValidatedTable
from cx_framework.errors import InputValueError

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = [
    "CONTACT_METRICS",
    "contact_metrics",
    "customer_base_groups",
    "long_metrics",
    "monthly_sl_and_churn",
    "journeys_per_year",
]

#: metric id -> (numerator expression, volume column) of the aggregated frame
CONTACT_METRICS: dict[str, tuple[str, str | None]] = {
    "service_level": ("answered_within_threshold / offered_phone", "offered_phone"),
    "abandon_rate": ("abandoned_phone / offered_phone", "offered_phone"),
    "asa_s": ("wait_answered_s / answered_phone", "answered_phone"),
    "aht_s": ("handle_s / handled", "handled"),
    "fcr": ("resolved_first_contact / handled", "handled"),
    "offered_volume": ("offered", "offered"),
}


def contact_metrics(
    engine: Engine,
    contacts: ir.Table | ValidatedTable,
    *,
    department_of: Mapping[str, str] | None = None,
    threshold_s: float = 20.0,
) -> pd.DataFrame:
    """Department × month scorecard metrics of :func:`cx_framework.scorecard.contact_metrics`, in the engine.

    Service level uses the "offered" definition (answered within threshold / offered phone calls); ASA is the
    total wait of answered phone calls / answered phone calls. Returns ``period, department, team (null), metric,
    value, volume`` (see the pandas function for the metrics and units).
    """
    import ibis

    if not threshold_s >= 0:
        raise InputValueError(f"threshold_s must be >= 0 seconds, got {threshold_s}", argument="threshold_s")
    c = _expr(contacts)
    if department_of:
        mapping = ibis.memtable(
            pd.DataFrame(
                {"queue": list(department_of), "__department": [str(v) for v in department_of.values()]}
            )
        )
        c = c.left_join(mapping, "queue")
        department = ibis.coalesce(c.__department, c.queue)
    else:
        department = c.queue
    phone = c.channel == "phone"
    answered = phone & ~c.abandoned
    handled = ~c.abandoned

    def n(mask: ir.BooleanValue) -> ir.IntegerValue:
        return mask.cast("int64").sum()

    wide = c.group_by(period=month_start(month_index(c.timestamp)), department=department).aggregate(
        offered_phone=n(phone),
        answered_within_threshold=n(answered & (c.wait_s <= float(threshold_s))),
        abandoned_phone=n(phone & c.abandoned),
        answered_phone=n(answered),
        wait_answered_s=ibis.ifelse(answered, c.wait_s, 0.0).sum(),
        handled=n(handled),
        handle_s=ibis.ifelse(handled, c.handle_s, 0.0).sum(),
        resolved_first_contact=n(handled & c.resolved_first_contact),
        offered=c.count(),
    )
    return long_metrics(engine.execute(wide))


def monthly_sl_and_churn(
    engine: Engine, intervals: ir.Table | ValidatedTable, customers: ir.Table | ValidatedTable
) -> pd.DataFrame:
    """:func:`cx_framework.retention.monthly_sl_and_churn` in the engine: monthly Σ answered within threshold /
    Σ offered, customers active at the end of each month and how many of them leave in the following month."""
    iv, cu = _expr(intervals), _expr(customers)
    sums = engine.execute(
        iv.group_by(p=month_index(iv.interval_start)).aggregate(
            offered=iv.offered.cast("float64").sum(),
            answered_within_threshold=iv.answered_within_threshold.cast("float64").sum(),
        )
    ).sort_values("p")
    # customers by start month and by churn month (two small histograms), then the counts by cumulative sums
    starts = engine.execute(cu.group_by(m=month_index(cu.start_date)).aggregate(n=cu.count()))
    churned = cu.filter(cu.churn_date.notnull())
    churns = engine.execute(churned.group_by(m=month_index(churned.churn_date)).aggregate(n=churned.count()))
    p = sums["p"].to_numpy(dtype=np.int64)

    def upto(hist: pd.DataFrame, months: np.ndarray) -> np.ndarray:
        m = hist["m"].to_numpy(dtype=np.int64)
        order = np.argsort(m)
        cum = np.concatenate([[0], np.cumsum(hist["n"].to_numpy(dtype=np.int64)[order])])
        return cum[np.searchsorted(m[order], months, side="right")]

    started = upto(starts, p)
    gone_by_end = upto(churns, p)
    active = started - gone_by_end
    churn_next = upto(churns, p + 1) - gone_by_end
    observed_next = np.r_[p[1:] == p[:-1] + 1, False]
    period = (p.astype("datetime64[M]")).astype("datetime64[ns]")
    data = pd.DataFrame(
        {
            "period": period,
            "offered": sums["offered"].to_numpy(dtype=np.float64),
            "answered_within_threshold": sums["answered_within_threshold"].to_numpy(dtype=np.float64),
        }
    )
    data["service_level"] = data["answered_within_threshold"] / data["offered"].where(data["offered"] > 0)
    data["active_customers"] = active
    data["churned_next"] = np.where(observed_next, churn_next, np.nan)
    data["churn_rate"] = data["churned_next"] / data["active_customers"].where(data["active_customers"] > 0)
    data["retention_rate"] = 1.0 - data["churn_rate"]
    return data


def customer_base_groups(engine: Engine, customers: ir.Table | ValidatedTable) -> pd.DataFrame:
    """Customers by (start month, churn month) in the engine: ``start_month, churn_month`` (months since 1970-01;
    churn month null when not churned), ``customers``, ``revenue_sum`` (Σ ``monthly_revenue``) and ``revenue_n``
    (known revenues) — the groups of :class:`cx_framework.retention.CustomerBase` (a few thousand rows at most)."""
    cu = _expr(customers)
    return engine.execute(
        cu.group_by(start_month=month_index(cu.start_date), churn_month=month_index(cu.churn_date)).aggregate(
            customers=cu.count(),
            revenue_sum=cu.monthly_revenue.cast("float64").sum(),
            revenue_n=cu.monthly_revenue.count(),
        )
    )


def journeys_per_year(engine: Engine, work_items: ir.Table | ValidatedTable) -> dict[str, float]:
    """Journeys started per year by journey id (distinct items, scaled by the calendar months covered), as
    ``cx_framework.actions._journeys_per_year``."""
    w = _expr(work_items)
    months = int(engine.execute(w.aggregate(m=month_index(w.entered_at).nunique()))["m"].iloc[0] or 0)
    if months == 0:
        return {}
    counts = engine.execute(w.group_by("journey").aggregate(n=w.item_id.nunique()))
    return {
        str(k): float(v) * 12.0 / max(months, 1) for k, v in zip(counts["journey"], counts["n"], strict=True)
    }


def long_metrics(wide: pd.DataFrame) -> pd.DataFrame:
    """Wide per-(period, department) sums -> long ``department_metrics`` rows (one small frame per metric)."""
    frames = []
    for metric, (expr, volume_col) in CONTACT_METRICS.items():
        num, _, den = expr.partition(" / ")
        numerator = wide[num].to_numpy(float)
        if den:
            denominator = wide[den].to_numpy(float)
            keep = denominator > 0
            value = np.divide(numerator, denominator, out=np.full_like(numerator, np.nan), where=keep)
        else:
            keep = np.ones(len(wide), bool)
            value = numerator
        frames.append(
            pd.DataFrame(
                {
                    "period": wide["period"].to_numpy()[keep],
                    "department": wide["department"].astype(str).to_numpy()[keep],
                    "team": None,
                    "metric": metric,
                    "value": value[keep],
                    "volume": wide[volume_col].to_numpy(float)[keep] if volume_col else np.nan,
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out["period"] = pd.to_datetime(out["period"]).astype("datetime64[ns]")
    return out.sort_values(["period", "department", "metric"]).reset_index(drop=True)
