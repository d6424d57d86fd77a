"""Scale: every row-level step of the report for a data directory in one engine run (validate, then aggregate).

:func:`aggregate_data_dir` is what the analyses need from the large tables, computed where the rows lie (DuckDB
over Parquet/CSV, or Spark); the result holds only small frames and fitted models. The pandas engine runs the
library's in-memory functions on the same tables, so the three engines can be compared figure by figure.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from cx_framework.engine.aggregates import contact_metrics, journeys_per_year, monthly_sl_and_churn
from cx_framework.engine.core import Engine, connect
from cx_framework.engine.panel import customer_panel
from cx_framework.engine.settings import EngineSettings
from cx_framework.engine.validation import validate_data_dir
from cx_framework.errors import StatisticalWarning

if TYPE_CHECKING:
    from cx_framework.config.loader import CxConfig
    from cx_framework.retention.models import RetentionResult

__all__ = ["EngineAggregates", "aggregate_data_dir"]


@dataclass(frozen=True)
class EngineAggregates:
    """The aggregates of a data directory (all small).

    Attributes
    ----------
    engine : str
        Engine that computed them.
    rows : dict
        Rows per validated table.
    contact_metrics : pandas.DataFrame
        Department × month metrics from contacts (``department_metrics`` format).
    monthly : pandas.DataFrame
        Monthly service level and next-month churn (:func:`monthly_sl_and_churn`).
    retention : RetentionResult
        Next-month churn on experienced service level (grouped logit, customer-clustered errors).
    journeys_per_year : dict
        Journeys started per year by journey id.
    seconds : dict
        Wall time per step.
    """

    engine: str
    rows: dict[str, int]
    contact_metrics: pd.DataFrame
    monthly: pd.DataFrame
    retention: RetentionResult
    journeys_per_year: dict[str, float]
    seconds: dict[str, float] = field(default_factory=dict)


def aggregate_data_dir(
    directory: str | os.PathLike[str],
    config: CxConfig | None = None,
    *,
    engine: Engine | EngineSettings | str | None = None,
    threshold_s: float | None = None,
) -> EngineAggregates:
    """Validate a data directory and compute every aggregate of its row-level tables in one engine.

    Parameters
    ----------
    directory : path
        Folder with ``contacts``, ``customers``, ``intervals`` and ``work_items`` (.parquet or .csv).
    config : CxConfig, optional
        For the answer threshold (``economics.answer_s``) and the engine settings (``config.engine``) when
        ``engine`` is not given.
    engine : Engine, EngineSettings or name, optional
        Default: ``config.engine`` (DuckDB when no config).
    threshold_s : float, optional
        Answer threshold in seconds; default ``config.economics.answer_s`` or 20.

    Returns
    -------
    EngineAggregates
    """
    if threshold_s is None:
        threshold_s = float(config.economics.answer_s) if config is not None else 20.0
    department_of = None  # queues are the departments of the contact metrics, as in scorecard.contact_metrics
    own = not isinstance(engine, Engine)
    if isinstance(engine, Engine):
        eng = engine
    elif engine is None:
        eng = connect(config.engine if config is not None else None)
    else:
        eng = connect(engine)
    seconds: dict[str, float] = {}
    try:
        if eng.kind == "pandas":
            return _pandas(directory, threshold_s, department_of)
        clock = time.perf_counter()
        checked = validate_data_dir(eng, directory, ("contacts", "customers", "intervals", "work_items"))
        seconds["validate"] = time.perf_counter() - clock
        clock = time.perf_counter()
        metrics = contact_metrics(
            eng, checked["contacts"], department_of=department_of, threshold_s=threshold_s
        )
        seconds["contact_metrics"] = time.perf_counter() - clock
        clock = time.perf_counter()
        monthly = monthly_sl_and_churn(eng, checked["intervals"], checked["customers"])
        journeys = journeys_per_year(eng, checked["work_items"])
        seconds["monthly_and_journeys"] = time.perf_counter() - clock
        clock = time.perf_counter()
        from cx_framework.retention.engine import fit_retention_engine

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StatisticalWarning)
            panel = customer_panel(eng, checked["contacts"], checked["customers"], threshold_s=threshold_s)
            retention = fit_retention_engine(eng, panel)
        seconds["panel_and_retention"] = time.perf_counter() - clock
        return EngineAggregates(
            engine=eng.kind,
            rows={name: t.rows for name, t in checked.items()},
            contact_metrics=metrics,
            monthly=monthly,
            retention=retention,
            journeys_per_year=journeys,
            seconds=seconds,
        )
    finally:
        if own:
            eng.close()


def _pandas(directory: str | os.PathLike[str], threshold_s: float, department_of: Any) -> EngineAggregates:
    """The same aggregates with the in-memory pandas functions (today's path)."""
    from cx_framework.actions import _journeys_per_year
    from cx_framework.io import load_data_dir
    from cx_framework.retention import build_customer_panel, fit_retention
    from cx_framework.retention.aggregate import monthly_sl_and_churn as pandas_monthly
    from cx_framework.scorecard.contacts import contact_metrics as pandas_metrics

    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    tables = load_data_dir(directory, tables=("contacts", "customers", "intervals", "work_items"))
    seconds["validate"] = time.perf_counter() - clock
    clock = time.perf_counter()
    metrics = pandas_metrics(tables["contacts"], department_of=department_of, threshold_s=threshold_s)
    seconds["contact_metrics"] = time.perf_counter() - clock
    clock = time.perf_counter()
    monthly = pandas_monthly(tables["intervals"], tables["customers"])
    journeys = _journeys_per_year(tables["work_items"])
    seconds["monthly_and_journeys"] = time.perf_counter() - clock
    clock = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        panel = build_customer_panel(tables["contacts"], tables["customers"], threshold_s=threshold_s)
        retention = fit_retention(panel)
    seconds["panel_and_retention"] = time.perf_counter() - clock
    return EngineAggregates(
        engine="pandas",
        rows={name: len(frame) for name, frame in tables.items()},
        contact_metrics=metrics,
        monthly=monthly,
        retention=retention,
        journeys_per_year=journeys,
        seconds=seconds,
    )
