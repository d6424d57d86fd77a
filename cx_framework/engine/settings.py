"""Engine settings: which engine runs the row-level steps, and its resources (config ``engine.yaml``).

``configs/engine.yaml`` is optional; without it the defaults below apply (DuckDB, DuckDB's own memory limit of 80 %
of RAM, spill files in DuckDB's default temp directory). Unknown keys are errors, like every config file::

    kind: duckdb            # duckdb | spark | pandas
    memory_limit: 4GB       # DuckDB memory_limit (spills to spill_dir beyond it)
    spill_dir: /data/tmp    # DuckDB temp_directory
    spill_limit: 100GB      # DuckDB max_temp_directory_size
    threads: 2
    spark:
      master: local[2]      # or spark://host:7077, yarn, k8s://...
      remote: null          # Spark Connect URL sc://host:15002 (instead of master)
      conf: {spark.executor.memory: 8g}
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["ENGINES", "EngineKind", "EngineSettings", "SparkSettings", "load_engine_settings"]

EngineKind = Literal["duckdb", "spark", "pandas"]
#: Engine names accepted by ``--engine`` and ``engine.yaml`` ``kind``.
ENGINES: tuple[str, ...] = ("duckdb", "spark", "pandas")

_SIZE = re.compile(r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)


def _size(value: str | None, key: str) -> str | None:
    if value is None:
        return None
    if not _SIZE.match(str(value)):
        raise ValueError(f"{key} must be a size such as '4GB' or '512MiB', got {value!r}")
    return str(value).replace(" ", "")


class SparkSettings(BaseModel):
    """How to get a SparkSession: a master URL (``local[2]``, ``spark://host:7077``, ``yarn``) or Spark Connect."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    master: str = Field(default="local[2]", description="Spark master URL (ignored when `remote` is set).")
    remote: str | None = Field(default=None, description="Spark Connect URL, sc://host:port.")
    app_name: str = "cx_framework"
    conf: dict[str, str] = Field(default_factory=dict, description="Extra Spark settings (spark.* keys).")
    connect_timeout_s: float = Field(
        default=5.0, gt=0, description="Seconds to wait when probing a remote master."
    )

    @field_validator("remote")
    @classmethod
    def _remote_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("sc://"):
            raise ValueError(f"remote must be a Spark Connect URL starting with sc://, got {value!r}")
        return value


class EngineSettings(BaseModel):
    """Which engine runs the row-level steps (validation, panel, contact metrics ...) and its resources."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: EngineKind = Field(
        default="duckdb", description="duckdb (embedded, out-of-core), spark, or pandas."
    )
    memory_limit: str | None = Field(
        default=None, description="DuckDB memory limit, e.g. '4GB' (default 80% of RAM)."
    )
    spill_dir: Path | None = Field(default=None, description="DuckDB spill (temp) directory.")
    spill_limit: str | None = Field(
        default=None, description="Largest total size of DuckDB spill files, e.g. '50GB'."
    )
    threads: int | None = Field(default=None, ge=1, description="Worker threads (default: all cores).")
    spark: SparkSettings = Field(default_factory=SparkSettings)

    @field_validator("memory_limit")
    @classmethod
    def _memory(cls, value: str | None) -> str | None:
        return _size(value, "memory_limit")

    @field_validator("spill_limit")
    @classmethod
    def _spill(cls, value: str | None) -> str | None:
        return _size(value, "spill_limit")


def load_engine_settings(directory: str | Path) -> EngineSettings:
    """``<directory>/engine.yaml`` parsed into :class:`EngineSettings` (defaults when the file is absent).

    Raises
    ------
    ConfigError
        Malformed YAML or unknown / invalid keys (file, key path and line named).
    """
    from cx_framework.config._yaml import read_yaml
    from cx_framework.config.loader import parse_model

    path = Path(directory) / "engine.yaml"
    if not path.is_file():
        return EngineSettings()
    data, node = read_yaml(path)
    return parse_model(EngineSettings, data or {}, file=str(path), node=node)
