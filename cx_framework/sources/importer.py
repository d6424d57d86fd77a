"""``cx import``: read every table of a sources file through its mapping, write validated contract tables and an
import report (rows read, filtered out, kept, rejected with reasons).

:func:`read_sources` is the loader the rest of the framework calls (``--sources sources.yaml`` on the CLI, the
app's mapping wizard); :func:`import_sources` also writes the tables. Nothing is written unless every table reads:
the tables are written one by one, each atomically, after all of them have been read and validated.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from cx_framework.sources.config import SourcesConfig, load_sources
from cx_framework.sources.mapping import MappedTable, read_table_source

__all__ = ["TableReport", "ImportReport", "SourcesData", "read_sources", "import_sources", "REPORT_FILE"]

#: File name of the import report written next to the tables.
REPORT_FILE = "import_report.json"


@dataclass(frozen=True)
class TableReport:
    """What happened to one table: where its rows came from and how many were kept or rejected, and why."""

    table: str
    source: str
    rows_read: int
    rows_filtered: int
    rows_kept: int
    rows_rejected: int
    reasons: pd.DataFrame = field(default_factory=pd.DataFrame)
    derived: bool = False
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (reasons as a list of ``{column, check, rows, examples}``)."""
        reasons = [] if self.reasons.empty else json.loads(self.reasons.to_json(orient="records"))
        return {
            "table": self.table,
            "source": self.source,
            "rows_read": self.rows_read,
            "rows_filtered": self.rows_filtered,
            "rows_kept": self.rows_kept,
            "rows_rejected": self.rows_rejected,
            "rejected_reasons": reasons,
            "derived": self.derived,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class ImportReport:
    """Per-table import report of a sources file."""

    sources_file: str | None
    tables: dict[str, TableReport]

    def to_dict(self) -> dict[str, Any]:
        return {"sources_file": self.sources_file, "tables": {k: v.to_dict() for k, v in self.tables.items()}}

    def frame(self) -> pd.DataFrame:
        """One row per table: table, source, rows read / filtered / kept / rejected, derived."""
        return pd.DataFrame(
            [
                {k: v for k, v in r.to_dict().items() if k not in ("rejected_reasons", "notes")}
                for r in self.tables.values()
            ]
        )

    def summary(self) -> str:
        """Plain-text report: a line per table, then the rejection reasons."""
        lines = []
        for r in self.tables.values():
            lines.append(
                f"{r.table}: {r.rows_kept:,} rows kept of {r.rows_read:,} read"
                + (f", {r.rows_filtered:,} filtered out" if r.rows_filtered else "")
                + (f", {r.rows_rejected:,} rejected" if r.rows_rejected else "")
                + (" (derived)" if r.derived else "")
                + f" — {r.source}"
            )
            for reason in r.reasons.itertuples(index=False):
                lines.append(
                    f"    rejected {reason.rows:,} row(s): {reason.column} {reason.check} (e.g. {reason.examples})"
                )
            lines.extend(f"    note: {n}" for n in r.notes)
        return "\n".join(lines)


@dataclass(frozen=True)
class SourcesData:
    """Validated contract tables read through a sources file, and the import report."""

    tables: dict[str, pd.DataFrame]
    report: ImportReport
    config: SourcesConfig


def _as_config(sources: str | os.PathLike[str] | SourcesConfig) -> SourcesConfig:
    return sources if isinstance(sources, SourcesConfig) else load_sources(sources)


def read_sources(
    sources: str | os.PathLike[str] | SourcesConfig, *, progress: Callable[[str], None] | None = None
) -> SourcesData:
    """Read every table of a sources file through its mapping (derived tables last).

    Parameters
    ----------
    sources : path or SourcesConfig
        ``sources.yaml`` (relative paths inside are relative to its folder) or a parsed config.
    progress : callable, optional
        Called with a short label (``"reading contacts"``) before each table is read or derived.

    Returns
    -------
    SourcesData
        ``tables`` (table name -> validated frame, as :func:`cx_framework.io.load_data_dir` returns them),
        ``report`` (:class:`ImportReport`) and the config.

    Raises
    ------
    ConfigError
        Mapping or connection mistakes, naming the key path.
    DataValidationError
        A table with no valid rows, or invalid rows with ``on_invalid: error``.
    """
    from cx_framework.sources.derive import derive_intervals_from_source

    cfg = _as_config(sources)
    tables: dict[str, pd.DataFrame] = {}
    reports: dict[str, TableReport] = {}
    for name, source in cfg.tables.items():
        if source.derive is not None:
            continue
        if progress is not None:
            progress(f"reading {name}")
        mapped: MappedTable = read_table_source(name, source, cfg)
        tables[name] = mapped.frame
        reports[name] = TableReport(
            name,
            mapped.where,
            mapped.rows_read,
            mapped.rows_filtered,
            mapped.rows_kept,
            mapped.rows_rejected,
            mapped.reasons,
            notes=tuple(mapped.notes),
        )
    for name, source in cfg.tables.items():
        if source.derive is None:
            continue
        if progress is not None:
            progress(f"deriving {name} from contacts")
        frame, notes = derive_intervals_from_source(tables["contacts"], source, cfg)
        tables[name] = frame
        reports[name] = TableReport(
            name,
            f"derived from contacts ({source.channel} contacts, {source.interval_minutes}-minute intervals)",
            len(tables["contacts"]),
            int((tables["contacts"]["channel"] != source.channel).sum()),
            len(frame),
            0,
            derived=True,
            notes=tuple(notes),
        )
    return SourcesData(tables, ImportReport(cfg.file, reports), cfg)


def import_sources(
    sources: str | os.PathLike[str] | SourcesConfig,
    out_dir: str | os.PathLike[str],
    *,
    fmt: str = "parquet",
    progress: Callable[[str], None] | None = None,
) -> SourcesData:
    """Read a sources file and write ``<table>.parquet`` (or ``.csv``) per table plus ``import_report.json``.

    Every table is read and validated before the first file is written; each file is written atomically.
    ``progress`` is called with a short label before each table is read, derived or written.
    """
    from cx_framework.io import write_table, write_text_atomic

    data = read_sources(sources, progress=progress)
    out = Path(out_dir)
    suffix = ".csv" if fmt == "csv" else ".parquet"
    for name, frame in data.tables.items():
        if progress is not None:
            progress(f"writing {name}{suffix}")
        write_table(frame, out / f"{name}{suffix}")
    write_text_atomic(out / REPORT_FILE, json.dumps(data.report.to_dict(), indent=2, default=str) + "\n")
    return data
