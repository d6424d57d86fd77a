"""Small pure helpers the Streamlit app needs and the engines do not expose (UI-agnostic, tested).

- :func:`staffed_fte` — the FTE that the staffed agents of an ``intervals`` table correspond to (the default
  "funded FTE" of the budget-gap view);
- :func:`failure_table` — a readable failure table for any :class:`~cx_framework.errors.CxError`;
- :func:`save_upload` / :func:`load_tables` / :func:`data_stamp` — uploaded files kept inside a temporary
  directory, validated with :func:`cx_framework.io.read_table`, and merged with a fallback data set.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from cx_framework.errors import ConfigError, CxError, DataValidationError, InputValueError

__all__ = [
    "staffed_fte",
    "failure_table",
    "save_upload",
    "load_tables",
    "data_stamp",
    "UPLOAD_SUFFIXES",
]

#: File suffixes accepted for uploads (checked before anything is written).
UPLOAD_SUFFIXES: tuple[str, ...] = (".csv", ".parquet", ".pq")


# ------------------------------------------------------------------------------------------------ staffing
def staffed_fte(
    intervals: pd.DataFrame,
    *,
    shrinkage: float,
    hours_per_fte: float,
    interval_s: float = 1800.0,
    horizon_weeks: float | None = None,
) -> float:
    """FTE whose paid hours match the agents staffed in ``intervals``.

    Agent-hours on the phones = Σ agents_staffed × interval length, summed over queues; paid hours = that /
    (1 − shrinkage) (shrinkage is the share of paid time not on the phones, so on-phone hours are
    (1 − shrinkage) of paid hours — the usual workforce-management definition, e.g. Cleveland, *Call Center
    Management on Fast Forward*, ch. 7); FTE = paid hours per week / ``hours_per_fte``.

    Parameters
    ----------
    intervals : pandas.DataFrame
        Needs ``interval_start`` and ``agents_staffed`` (agents on the phones, average over the interval).
    shrinkage : float
        Share 0–1 of paid time not available for contacts (in [0, 1)).
    hours_per_fte : float
        Paid hours per FTE per week (> 0).
    interval_s : float
        Interval length in seconds.
    horizon_weeks : float, optional
        Weeks covered; default the calendar days spanned by ``interval_start`` / 7 (as
        :func:`cx_framework.conflicts.staffing_budget_gap`).

    Returns
    -------
    float
        Full-time equivalents.

    Raises
    ------
    InputValueError
        Shrinkage outside [0, 1), non-positive hours, empty table.
    """
    if not 0 <= shrinkage < 1:
        raise InputValueError(
            f"argument 'shrinkage' must be in [0, 1); got {shrinkage!r}.", argument="shrinkage"
        )
    if hours_per_fte <= 0:
        raise InputValueError(
            f"argument 'hours_per_fte' must be > 0; got {hours_per_fte!r}.", argument="hours_per_fte"
        )
    if intervals.empty:
        raise InputValueError("the intervals table is empty; nothing is staffed.", argument="intervals")
    if horizon_weeks is None:
        days = pd.to_datetime(intervals["interval_start"]).dt.normalize()
        horizon_weeks = ((days.max() - days.min()).days + 1) / 7.0
    on_phone_hours = float(intervals["agents_staffed"].to_numpy(dtype=float).sum()) * interval_s / 3600.0
    return on_phone_hours / (1.0 - shrinkage) / horizon_weeks / hours_per_fte


# ------------------------------------------------------------------------------------------------ errors
def failure_table(error: CxError) -> pd.DataFrame:
    """A readable table of what is wrong, for display instead of a traceback.

    ``DataValidationError`` gives its ``failures`` (table, column, check, row, value; ``row`` keeps the library's
    0-based data-row numbering, the one its messages use, so table and message agree; empty for table-level
    problems such as a missing column) and, for CSV files, ``csv_line`` = row + 2 (header is line 1);
    ``ConfigError`` gives file, key, line and message; any other :class:`CxError` one row with its message.
    """
    if isinstance(error, DataValidationError) and len(error.failures):
        out = error.failures.copy()
        if "row" in out.columns:
            rows = pd.to_numeric(out["row"], errors="coerce")
            out["row"] = rows.astype("Int64")
            if str(error.file or "").lower().endswith((".csv", ".csv.gz")):
                out.insert(out.columns.get_loc("row") + 1, "csv_line", (rows + 2).astype("Int64"))
        if "value" in out.columns:
            out["value"] = out["value"].astype(str)
        return out.reset_index(drop=True)
    if isinstance(error, ConfigError):
        return pd.DataFrame(
            [{"file": error.file, "key": error.key, "line": error.line, "problem": str(error)}]
        )
    return pd.DataFrame([{"problem": str(error)}])


# ------------------------------------------------------------------------------------------------ uploads
def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def save_upload(data: bytes, filename: str, table: str, directory: str | os.PathLike[str]) -> pd.DataFrame:
    """Validate an uploaded file as ``table`` and keep it as ``<directory>/<table><suffix>``.

    The stored name comes from the table, never from ``filename`` (only its suffix is used), and ``directory``
    must lie inside the system temporary directory, so an upload can never write elsewhere. An invalid file is
    not kept (and a previously kept valid file for the table stays).

    Parameters
    ----------
    data : bytes
        File content.
    filename : str
        Name the user gave the file (for its suffix and for messages).
    table : str
        Table of the data contract.
    directory : path-like
        Session upload directory (from :func:`tempfile.mkdtemp`).

    Returns
    -------
    pandas.DataFrame
        The validated table.

    Raises
    ------
    DataValidationError
        Unsupported suffix, unreadable or invalid content (message names ``filename``), or ``directory``
        outside the temporary directory.
    """
    from cx_framework.io import read_table
    from cx_framework.schemas import schema_for

    schema_for(table)
    root = Path(directory)
    if not _inside(root, Path(tempfile.gettempdir())):
        raise DataValidationError(
            f"upload directory {root} is not inside the temporary directory; uploads are kept only there.",
            table=table,
            file=filename,
        )
    suffix = Path(filename).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise DataValidationError(
            f"{filename}: unsupported file type '{suffix or '(none)'}'; upload a .csv or .parquet file.",
            table=table,
            file=filename,
        )
    root.mkdir(parents=True, exist_ok=True)
    candidate = root / f".{table}.incoming{suffix}"
    candidate.write_bytes(data)
    try:
        frame = read_table(candidate, table)
    except DataValidationError as exc:
        candidate.unlink(missing_ok=True)
        message = str(exc).replace(str(candidate), filename)
        raise DataValidationError(message, failures=exc.failures, table=table, file=filename) from None
    for old in root.glob(f"{table}.*"):
        old.unlink()
    candidate.replace(root / f"{table}{'.parquet' if suffix == '.pq' else suffix}")
    return frame


def _table_files(directory: Path) -> dict[str, Path]:
    """Table files of ``directory``, found exactly as :func:`cx_framework.io.load_data_dir` finds them."""
    from cx_framework.io import _find_table_files
    from cx_framework.schemas import TABLES

    return _find_table_files(directory, TABLES)


def load_tables(
    directory: str | os.PathLike[str], fallback: Mapping[str, pd.DataFrame] | None = None
) -> tuple[dict[str, pd.DataFrame], tuple[str, ...]]:
    """Tables found in ``directory`` (validated), the others taken from ``fallback``.

    Returns
    -------
    (tables, from_directory)
        Table name -> frame, and the names read from ``directory``.

    Raises
    ------
    DataValidationError
        A file is invalid, or a required table is neither in ``directory`` nor in ``fallback`` (all problems
        reported together, as :func:`cx_framework.io.load_data_dir`).
    """
    from cx_framework.io import read_table
    from cx_framework.schemas import REQUIRED_TABLES

    root = Path(directory)
    if not root.is_dir():
        raise DataValidationError(f"Data directory {root} does not exist.", file=str(root))
    files = _table_files(root)
    tables: dict[str, pd.DataFrame] = dict(fallback or {})
    errors: list[DataValidationError] = []
    for name, file in files.items():
        try:
            tables[name] = read_table(file, name)
        except DataValidationError as exc:
            errors.append(exc)
    missing = [name for name in REQUIRED_TABLES if name not in tables]
    if errors or missing:
        parts = [str(e) for e in errors]
        if missing:
            parts.append(f"missing table(s) in {root}: {', '.join(missing)} (add <table>.csv or .parquet)")
        failures = pd.concat([e.failures for e in errors], ignore_index=True) if errors else None
        raise DataValidationError("\n".join(parts), failures=failures, file=str(root))
    return tables, tuple(files)


def data_stamp(directory: str | os.PathLike[str] | None) -> str:
    """Text that changes whenever a table file in ``directory`` changes (names, sizes, modification times):
    a hash-friendly cache key for loaded data. ``None`` (the bundled sample) gives ``"sample"``."""
    if directory is None:
        return "sample"
    root = Path(directory)
    if not root.is_dir():
        return f"{root}:missing"
    stats = [(p.name, p.stat()) for p in sorted(_table_files(root).values())]
    parts = [f"{name}:{info.st_size}:{info.st_mtime_ns}" for name, info in stats]
    return f"{root.resolve()}|" + "|".join(parts)
