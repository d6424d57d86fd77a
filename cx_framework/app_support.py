"""Small pure helpers the Streamlit app needs and the engines do not expose (UI-agnostic, tested).

- :func:`quick_comparison` — cost, attainment and winners/losers of an edited scheme against the current one from
  two payout frames on the same prepared grid (the HR modeller's < 300 ms fast path; equal to
  :func:`cx_framework.incentives.compare_schemes` on the same inputs, see ``tests/test_app_support.py``);
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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cx_framework.errors import ConfigError, CxError, DataValidationError, InputValueError

__all__ = [
    "QuickComparison",
    "quick_comparison",
    "staffed_fte",
    "failure_table",
    "save_upload",
    "load_tables",
    "data_stamp",
    "UPLOAD_SUFFIXES",
    "PERCENTILES",
]

#: Attainment percentiles (same as :data:`cx_framework.incentives.compare.PERCENTILES`).
PERCENTILES: tuple[int, ...] = (10, 25, 50, 75, 90)
#: File suffixes accepted for uploads (checked before anything is written).
UPLOAD_SUFFIXES: tuple[str, ...] = (".csv", ".parquet", ".pq")
_TOLERANCE = 0.005  # half a cent: as compare_schemes, smaller changes are "unchanged"


# ------------------------------------------------------------------------------------------------ incentives
@dataclass(frozen=True)
class QuickComparison:
    """Edited scheme vs the current one (currency of the payout frames).

    Attributes
    ----------
    cost : pandas.DataFrame
        One row per scheme (``current``, ``edited``): ``total_cost`` (over the data), ``annualised_cost``
        (total × 12 / months), ``budget_share`` (annualised / annual budget, NaN without budget),
        ``vs_current`` (annualised difference to the current scheme).
    attainment : pandas.DataFrame
        One row per scheme: ``employee_periods`` paid, ``mean``, ``p10 … p90`` of attainment (payout / target
        bonus, share), ``share_zero``, ``share_capped``, ``share_gate_failed``.
    winners_losers : pandas.DataFrame
        Per department and role: ``employees, winners, losers, unchanged, mean_change, total_change``
        (currency over the data, edited minus current).
    """

    cost: pd.DataFrame
    attainment: pd.DataFrame
    winners_losers: pd.DataFrame

    @property
    def cost_change(self) -> float:
        """Annualised cost of the edited scheme minus the current one (currency per year)."""
        return float(self.cost["vs_current"].iloc[1])


def _paid(payouts: pd.DataFrame) -> np.ndarray:
    return ~payouts["withheld"].to_numpy(dtype=bool)


def _attainment_row(name: str, payouts: pd.DataFrame) -> dict[str, float | str | int]:
    paid = _paid(payouts)
    att = payouts["attainment"].to_numpy(dtype=float)[paid & (payouts["target_bonus"].to_numpy() > 0)]
    q = np.percentile(att, PERCENTILES) if len(att) else np.full(len(PERCENTILES), np.nan)
    gate_failed = ~payouts["gates_passed"].fillna(True).to_numpy(dtype=bool)
    return {
        "scheme": name,
        "employee_periods": int(paid.sum()),
        "mean": float(att.mean()) if len(att) else np.nan,
        **{f"p{p}": float(v) for p, v in zip(PERCENTILES, q, strict=True)},
        "share_zero": float((att <= 0).mean()) if len(att) else np.nan,
        "share_capped": float(payouts["capped"].to_numpy(dtype=bool)[paid].mean()) if paid.any() else np.nan,
        "share_gate_failed": float(gate_failed[paid].mean()) if paid.any() else np.nan,
    }


def _employee_totals(payouts: pd.DataFrame) -> pd.DataFrame:
    """Paid money per employee (with their department and role) — integer-coded bincount, not a string groupby.

    ``employee_id`` is the key of the ``employees`` table, so department and role are constant per employee.
    """
    money = np.where(_paid(payouts), payouts["payout"].to_numpy(dtype=float), 0.0)
    codes, uniques = pd.factorize(payouts["employee_id"].astype(str))
    first = np.unique(codes, return_index=True)[1]
    return pd.DataFrame(
        {
            "employee_id": np.asarray(uniques),
            "department": payouts["department"].to_numpy()[first],
            "role": payouts["role"].to_numpy()[first],
            "payout": np.bincount(codes, weights=money, minlength=len(uniques)),
        }
    )


def quick_comparison(
    current: pd.DataFrame,
    edited: pd.DataFrame,
    *,
    months: int,
    budget: float | None = None,
    tolerance: float = _TOLERANCE,
) -> QuickComparison:
    """Compare two payout frames (from :func:`cx_framework.incentives.evaluate_payouts` or ``compute_payouts``).

    Same semantics as :func:`cx_framework.incentives.compare_schemes` (costs exclude withheld employee-periods;
    an employee is a winner / loser when their total over the data changes by at least ``tolerance``; one
    covered by only one frame counts 0 under the other) but without re-preparing the payout grid, so the HR
    modeller can rerun it on every edit.

    Parameters
    ----------
    current, edited : pandas.DataFrame
        Payout frames with ``employee_id, department, role, withheld, payout, target_bonus, attainment,
        capped, gates_passed``.
    months : int
        Months covered by the metric data (annualisation factor 12 / months).
    budget : float, optional
        Annual bonus budget (currency per year).
    tolerance : float
        Smallest change (currency) that counts as a win or a loss.

    Returns
    -------
    QuickComparison

    Raises
    ------
    InputValueError
        ``months`` < 1.
    """
    if months < 1:
        raise InputValueError(f"argument 'months' must be >= 1; got {months!r}.", argument="months")
    totals: dict[str, pd.DataFrame] = {}
    rows = []
    for name, frame in (("current", current), ("edited", edited)):
        total = float(np.where(_paid(frame), frame["payout"].to_numpy(dtype=float), 0.0).sum())
        annualised = total * 12.0 / months
        rows.append(
            {
                "scheme": name,
                "total_cost": total,
                "annualised_cost": annualised,
                "budget_share": annualised / budget if budget else np.nan,
            }
        )
        totals[name] = _employee_totals(frame)
    cost = pd.DataFrame(rows)
    cost["vs_current"] = cost["annualised_cost"] - cost["annualised_cost"].iloc[0]
    attainment = pd.DataFrame([_attainment_row("current", current), _attainment_row("edited", edited)])

    both = totals["current"].merge(
        totals["edited"],
        on=["employee_id", "department", "role"],
        how="outer",
        suffixes=("_current", "_edited"),
    )
    change = both["payout_edited"].fillna(0.0).to_numpy() - both["payout_current"].fillna(0.0).to_numpy()
    frame = pd.DataFrame(
        {
            "department": both["department"],
            "role": both["role"],
            "employees": 1,
            "winners": (change >= tolerance).astype(int),
            "losers": (change <= -tolerance).astype(int),
            "unchanged": (np.abs(change) < tolerance).astype(int),
            "mean_change": change,
            "total_change": change,
        }
    )
    wl = frame.groupby(["department", "role"], as_index=False).agg(
        employees=("employees", "sum"),
        winners=("winners", "sum"),
        losers=("losers", "sum"),
        unchanged=("unchanged", "sum"),
        mean_change=("mean_change", "mean"),
        total_change=("total_change", "sum"),
    )
    return QuickComparison(cost=cost, attainment=attainment, winners_losers=wl)


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

    ``DataValidationError`` gives its ``failures`` (table, column, check, row, value; row numbers shown 1-based
    as a spreadsheet user counts data rows); ``ConfigError`` gives file, key, line and message; any other
    :class:`CxError` one row with its message.
    """
    if isinstance(error, DataValidationError) and len(error.failures):
        out = error.failures.copy()
        if "row" in out.columns:
            rows = pd.to_numeric(out["row"], errors="coerce")
            out["row"] = (rows + 1).astype("Int64")
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
    from cx_framework.schemas import TABLES

    found: dict[str, Path] = {}
    for name in TABLES:
        for suffix in (".parquet", ".pq", ".csv", ".csv.gz"):
            candidate = directory / f"{name}{suffix}"
            if candidate.is_file():
                found[name] = candidate
                break
    return found


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
    parts = [
        f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in sorted(_table_files(root).values())
    ]
    return f"{root.resolve()}|" + "|".join(parts)
