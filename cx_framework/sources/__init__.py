"""Bring your own data: ``sources.yaml`` mappings from raw exports and databases to the data contract.

* :func:`load_sources` / :class:`SourcesConfig` — the pydantic-validated sources file.
* :func:`read_sources` — every table read through its mapping, validated (the loader behind ``--sources``);
  :func:`import_sources` also writes the tables and an import report (``cx import``).
* :func:`intervals_from_contacts` — interval reports (offered, answered, within threshold, abandoned, AHT, agents)
  derived from call-level contacts, in the engine.
* Model fit on observed data (Erlang C vs Erlang A) is an analysis: :func:`cx_framework.staffing.calibration.fit_queue_models`.
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
from cx_framework.sources.derive import intervals_from_contacts
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
    "intervals_from_contacts",
    "list_presets",
    "preset",
]
