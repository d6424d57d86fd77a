"""Engine layer (DESIGN.md "Layers"): row-level steps as ibis expressions on DuckDB or Spark, pandas for small frames."""

from cx_framework.engine.aggregates import (
    contact_metrics,
    customer_base_groups,
    journeys_per_year,
    monthly_sl_and_churn,
)
from cx_framework.engine.core import ROW_COLUMN, Engine, EngineError, connect
from cx_framework.engine.panel import customer_panel
from cx_framework.engine.settings import ENGINES, EngineSettings, SparkSettings, load_engine_settings
from cx_framework.engine.validation import DEFAULT_MAX_ROWS, ValidatedTable, validate_data_dir, validate_table

__all__ = [
    "DEFAULT_MAX_ROWS",
    "ENGINES",
    "ROW_COLUMN",
    "Engine",
    "EngineError",
    "EngineSettings",
    "SparkSettings",
    "ValidatedTable",
    "connect",
    "contact_metrics",
    "customer_base_groups",
    "customer_panel",
    "journeys_per_year",
    "load_engine_settings",
    "monthly_sl_and_churn",
    "validate_data_dir",
    "validate_table",
]
