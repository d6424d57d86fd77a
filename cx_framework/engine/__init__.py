"""Engine layer (DESIGN.md "Layers"): row-level steps as ibis expressions on DuckDB or Spark, pandas for small frames."""

from cx_framework.engine.core import ROW_COLUMN, Engine, EngineError, connect
from cx_framework.engine.settings import ENGINES, EngineSettings, SparkSettings, load_engine_settings

__all__ = [
    "ENGINES",
    "ROW_COLUMN",
    "Engine",
    "EngineError",
    "EngineSettings",
    "SparkSettings",
    "connect",
    "load_engine_settings",
]
