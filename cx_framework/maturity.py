"""Time maturity: which months of a metric can be observed yet, and the latest month that is complete.

Some metrics need data from *after* the month they describe: next-month churn, customer journeys that are still
open when the data end, a 7-day repeat-contact window that crosses the month end, survey responses that arrive
weeks after the contact. For the last ``lag_periods`` months of the data (a catalogue key of each metric) such a
value is *incomplete*: it is a partial count that usually looks better than the truth (fewer churners, only the
fast journeys finished). Surfaces show these months as "incomplete", never as a score, and the default month of
every view is :func:`latest_complete_period` — the latest month in which every scored metric is final.

Examples
--------
>>> import pandas as pd
>>> from cx_framework import load_config
>>> cfg = load_config("configs")
>>> dm = pd.DataFrame({"period": pd.to_datetime(["2025-11-01", "2025-12-01"]), "metric": "churn_rate",
...                    "department": "organisation", "team": None, "value": [0.014, 0.009], "volume": 1.0})
>>> latest_complete_period(dm, cfg).strftime("%Y-%m")
'2025-11'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from cx_framework.errors import InputValueError

__all__ = [
    "metric_lags",
    "observed_through",
    "complete_through",
    "incomplete_mask",
    "latest_complete_period",
    "maturity_table",
    "INCOMPLETE",
]

#: status of a metric value (and of a composite containing one) whose month cannot be fully observed yet
INCOMPLETE = "incomplete"

_PERIOD_TABLES = ("department_metrics", "employee_metrics")


def _catalogue(config_or_catalogue: Any) -> Mapping[str, Any]:
    """``{metric id: Metric}`` from a Config, a MetricCatalogue or a ready mapping."""
    metrics = getattr(config_or_catalogue, "metrics", config_or_catalogue)
    by_id = getattr(metrics, "by_id", None)
    if by_id is not None:
        return dict(by_id)
    if isinstance(metrics, Mapping):
        return metrics
    raise InputValueError(
        "expected a Config, a MetricCatalogue or a {metric id: Metric} mapping",
        argument="config_or_catalogue",
    )


def metric_lags(config_or_catalogue: Any) -> dict[str, int]:
    """``{metric id: lag_periods}`` — months of later data each catalogue metric needs before it is final."""
    return {mid: int(getattr(m, "lag_periods", 0)) for mid, m in _catalogue(config_or_catalogue).items()}


def _month(ts: Any) -> pd.Timestamp:
    return pd.Timestamp(ts).to_period("M").to_timestamp()


def _frames(tables: Any) -> list[pd.DataFrame]:
    if isinstance(tables, pd.DataFrame):
        return [tables]
    if isinstance(tables, Mapping):
        return [tables[n] for n in _PERIOD_TABLES if n in tables and tables[n] is not None]
    frames = [getattr(tables, n, None) for n in _PERIOD_TABLES]  # a SyntheticOrg
    return [f for f in frames if isinstance(f, pd.DataFrame)]


def observed_through(tables: Any) -> pd.Timestamp:
    """The last month (month start) the data cover.

    Parameters
    ----------
    tables : DataFrame, mapping of table name -> DataFrame, or SyntheticOrg
        A frame with a ``period`` column (e.g. ``department_metrics``) or the tables of a data set (the periods of
        ``department_metrics`` and ``employee_metrics`` are used).

    Raises
    ------
    InputValueError
        When no table with a ``period`` column and at least one row is given.
    """
    ends = [
        pd.to_datetime(f["period"]).max() for f in _frames(tables) if "period" in f.columns and len(f) > 0
    ]
    ends = [e for e in ends if pd.notna(e)]
    if not ends:
        raise InputValueError(
            "no department_metrics or employee_metrics periods to tell which months are observed",
            argument="tables",
        )
    return _month(max(ends))


def complete_through(metric: str, last_observed: Any, config_or_catalogue: Any) -> pd.Timestamp:
    """Month start of the latest month in which ``metric`` is final, given the last observed month."""
    lag = metric_lags(config_or_catalogue).get(metric, 0)
    return _month(last_observed) - pd.DateOffset(months=lag)


def incomplete_mask(frame: pd.DataFrame, config_or_catalogue: Any, *, last_observed: Any = None) -> pd.Series:
    """Boolean per row of a frame with ``period`` and ``metric``: True where the month cannot be observed yet.

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns ``period`` (month starts) and ``metric`` (catalogue ids; unknown ids have lag 0).
    config_or_catalogue : Config, MetricCatalogue or mapping
        Where each metric's ``lag_periods`` is read.
    last_observed : Timestamp-like, optional
        Last month the data cover (default: the latest ``period`` of ``frame``).
    """
    if len(frame) == 0:
        return pd.Series(False, index=frame.index)
    periods = pd.to_datetime(frame["period"])
    last = _month(last_observed) if last_observed is not None else _month(periods.max())
    lag = frame["metric"].astype(str).map(metric_lags(config_or_catalogue)).fillna(0).astype(int)
    # months between the row's month and the last observed one; a value is final when that is >= its lag
    months_after = (last.year - periods.dt.year) * 12 + (last.month - periods.dt.month)
    return (months_after < lag).rename("incomplete")


def latest_complete_period(
    tables: Any, config_or_catalogue: Any, *, metrics: Iterable[str] | None = None
) -> pd.Timestamp:
    """The latest month in which every metric considered is final: the default month of every view.

    Parameters
    ----------
    tables : DataFrame, mapping of table name -> DataFrame, or SyntheticOrg
        As in :func:`observed_through`.
    config_or_catalogue : Config, MetricCatalogue or mapping
        The metric catalogue (``lag_periods`` per metric).
    metrics : iterable of str, optional
        Metric ids to consider (default: every catalogue metric present in the tables).

    Returns
    -------
    pandas.Timestamp
        A month start; never after the last observed month, never before the first month of the data.
    """
    last = observed_through(tables)
    frames = [f for f in _frames(tables) if {"period", "metric"} <= set(f.columns) and len(f) > 0]
    first = min(_month(pd.to_datetime(f["period"]).min()) for f in frames) if frames else last
    if metrics is None:
        present = set().union(*(set(pd.unique(f["metric"].astype(str))) for f in frames)) if frames else set()
    else:
        present = set(metrics)
    lags = metric_lags(config_or_catalogue)
    lag = max((lags.get(m, 0) for m in present), default=0)
    return max(first, last - pd.DateOffset(months=lag))


def maturity_table(tables: Any, config_or_catalogue: Any) -> pd.DataFrame:
    """Per catalogue metric with a lag: ``metric``, ``name``, ``lag_periods``, ``complete_through`` (month start)
    and ``incomplete_from`` (the first month still incomplete) — for the assumptions panel of a surface."""
    last = observed_through(tables)
    rows = [
        (
            mid,
            getattr(m, "name", mid),
            int(m.lag_periods),
            last - pd.DateOffset(months=int(m.lag_periods)),
            last - pd.DateOffset(months=int(m.lag_periods) - 1),
        )
        for mid, m in _catalogue(config_or_catalogue).items()
        if int(getattr(m, "lag_periods", 0)) > 0
    ]
    return pd.DataFrame(
        rows, columns=["metric", "name", "lag_periods", "complete_through", "incomplete_from"]
    )
