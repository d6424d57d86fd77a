"""Bring your own data: ``sources.yaml`` mappings from raw exports and databases to the data contract.

* :func:`load_sources` / :class:`SourcesConfig` — the pydantic-validated sources file.
* :func:`read_sources` — every table read through its mapping, validated (the loader behind ``--sources``);
  :func:`import_sources` also writes the tables and an import report (``cx import``).
* :func:`intervals_from_contacts` — interval reports (offered, answered, within threshold, abandoned, AHT, agents)
  derived from call-level contacts, in the engine.
* :func:`fit_queue_models` — Erlang C and Erlang A against observed service level and abandonment, patience
  estimated from the data, calibration table and recommended model.
* :func:`suggest_mapping` — auto-suggested column mapping for a raw export (the app's mapping wizard).
* Presets for common exports: :func:`list_presets`.
"""

from __future__ import annotations

from cx_framework.sources.config import (
    AgentSessions,
    ColumnSpec,
    Connection,
    RowFilter,
    SourcesConfig,
    TableSource,
    load_sources,
    parse_sources,
)
from cx_framework.sources.importer import ImportReport, SourcesData, TableReport, import_sources, read_sources
from cx_framework.sources.presets import list_presets, preset

__all__ = [
    "AgentSessions",
    "ColumnSpec",
    "Connection",
    "RowFilter",
    "SourcesConfig",
    "TableSource",
    "load_sources",
    "parse_sources",
    "ImportReport",
    "SourcesData",
    "TableReport",
    "import_sources",
    "read_sources",
    "list_presets",
    "preset",
]
