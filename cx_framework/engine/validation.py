"""Validation of a contract table inside the engine: the checks of :func:`cx_framework.schemas.validate`.

The same contract (:mod:`cx_framework.schemas`: column kinds, nullability, the pandera value checks, the
cross-column rules and the unique keys) is compiled into one ibis expression and counted in **one pass** over the
rows where they lie (Parquet/CSV through DuckDB, or Spark). Only when a check fails are its first ``max_rows``
failing rows fetched (one small top-N query per failing check). The error is the same
:class:`~cx_framework.errors.DataValidationError` with the same ``failures`` frame (``table, column, check, row,
value``; ``row`` = 0-based row in the file), holding the first ``max_rows`` failing rows of each check, and
``err.counts`` holding the total number of failing rows per check.

Coercion follows :func:`cx_framework.schemas.validate` with one difference: text is parsed as ISO 8601 datetimes
only (the pandas path also guesses other formats row by row, which an engine cannot do exactly).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cx_framework.engine.core import ROW_COLUMN, Engine
from cx_framework.errors import DataValidationError

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = ["validate_table", "validate_data_dir", "ValidatedTable", "DEFAULT_MAX_ROWS"]

#: Failing rows kept per check in ``DataValidationError.failures``.
DEFAULT_MAX_ROWS = 20

_TRUE = ("true", "t", "yes", "y", "1", "1.0")
_FALSE = ("false", "f", "no", "n", "0", "0.0")
# datetime64[ns] bounds: the pandas analyses receive these values, so the engine enforces the same range
_MIN_TS = pd.Timestamp.min.ceil("us").to_pydatetime()
_MAX_TS = pd.Timestamp.max.floor("us").to_pydatetime()


@dataclass(frozen=True)
class ValidatedTable:
    """A contract table that passed validation: lazy, coerced to the contract dtypes.

    Attributes
    ----------
    table : str
        Contract table name.
    expr : ibis Table
        Coerced columns (contract columns first, extra columns kept) plus :data:`ROW_COLUMN`.
    rows : int
        Number of rows.
    file : str or None
    """

    table: str
    expr: Any
    rows: int
    file: str | None = None


def _cross_rules(table: str, c: dict[str, Any]) -> list[tuple[str, str, tuple[str, ...], Any]]:
    """The cross-column rules of ``schemas._CROSS_CHECKS`` as ibis expressions (name, column, inputs, ok)."""
    import ibis

    rules: dict[str, list[tuple[str, str, tuple[str, ...], Any]]] = {
        "intervals": [
            (
                "answered <= offered",
                "answered",
                ("answered", "offered"),
                lambda: c["answered"] <= c["offered"],
            ),
            (
                "answered_within_threshold <= answered",
                "answered_within_threshold",
                ("answered_within_threshold", "answered"),
                lambda: c["answered_within_threshold"] <= c["answered"],
            ),
            (
                "answered + abandoned <= offered",
                "abandoned",
                ("answered", "abandoned", "offered"),
                lambda: (c["answered"] + c["abandoned"]) <= c["offered"],
            ),
            (
                "aht_s > 0 where answered > 0",
                "aht_s",
                ("aht_s", "answered"),
                lambda: (c["answered"] == 0) | (c["aht_s"] > 0),
            ),
        ],
        "customers": [
            (
                "churn_date >= start_date",
                "churn_date",
                ("churn_date", "start_date"),
                lambda: c["churn_date"].isnull() | (c["churn_date"] >= c["start_date"]),
            )
        ],
        "employees": [
            (
                "leave_date >= hire_date",
                "leave_date",
                ("leave_date", "hire_date"),
                lambda: c["leave_date"].isnull() | (c["leave_date"] >= c["hire_date"]),
            )
        ],
        "work_items": [
            (
                "left_at >= entered_at",
                "left_at",
                ("left_at", "entered_at"),
                lambda: c["left_at"].isnull() | (c["left_at"] >= c["entered_at"]),
            )
        ],
    }
    out = []
    for name, column, inputs, make in rules.get(table, []):
        if all(i in c for i in inputs):
            out.append((name, column, inputs, ibis.coalesce(make(), False)))
    return out


def _coerce(kind: str, col: Any) -> tuple[Any, Any]:
    """(coerced value, bad) for one column: ``bad`` marks non-null input that cannot be coerced."""
    import ibis
    import ibis.expr.datatypes as dt

    src = col.type()
    null = ibis.null()
    if kind == "datetime":
        if src.is_timestamp():
            value = (
                col.cast(dt.Timestamp(scale=6)) if src.timezone is None else col.cast(dt.Timestamp(scale=6))
            )
        elif src.is_date():
            value = col.cast(dt.Timestamp(scale=6))
        elif src.is_string():
            value = col.strip().try_cast(dt.Timestamp(timezone="UTC")).cast(dt.Timestamp(scale=6))
        else:  # numbers are ambiguous (epoch seconds? Excel days?): every non-null value fails, as in pandas
            value = null.cast(dt.Timestamp(scale=6))
        value = ibis.ifelse(
            value.between(
                ibis.literal(_MIN_TS, type=dt.Timestamp(scale=6)),
                ibis.literal(_MAX_TS, type=dt.Timestamp(scale=6)),
            ),
            value,
            null.cast(dt.Timestamp(scale=6)),
        )
    elif kind == "bool":
        if src.is_boolean():
            value = col
        elif src.is_numeric():
            x = col.cast("float64")
            value = ibis.cases((x == 1.0, True), (x == 0.0, False), else_=null.cast("boolean"))
        else:
            text = col.cast("string").strip().lower()
            value = ibis.cases(
                (text.isin(_TRUE), True), (text.isin(_FALSE), False), else_=null.cast("boolean")
            )
    elif kind in ("int", "float"):
        if src.is_numeric() or src.is_boolean():
            x = col.cast("float64")
        else:
            x = col.cast("string").strip().try_cast("float64")
        value = ibis.ifelse(x.isnan(), null.cast("float64"), x)
    else:
        value = col if src.is_string() else col.cast("string")
    bad = value.isnull() & col.notnull()
    return value, bad


def _value_check(check: Any, value: Any) -> tuple[str, Any]:
    """(label, ok) for a pandera column check; labels match :func:`cx_framework.schemas._nice_check`."""
    import ibis

    from cx_framework.schemas import _nice_check

    stats = check.statistics or {}
    name = check.name
    # an infinite value is reported once, as 'finite', and not again against a bound (as schemas.validate does)
    infinite = value.isinf() if value.type().is_floating() else ibis.literal(False)
    if name == "greater_than_or_equal_to":
        return _nice_check(f"{name}({stats['min_value']})"), infinite | (value >= stats["min_value"])
    if name == "greater_than":
        return _nice_check(f"{name}({stats['min_value']})"), infinite | (value > stats["min_value"])
    if name == "less_than_or_equal_to":
        return _nice_check(f"{name}({stats['max_value']})"), infinite | (value <= stats["max_value"])
    if name == "less_than":
        return _nice_check(f"{name}({stats['max_value']})"), infinite | (value < stats["max_value"])
    if name == "isin":
        return _nice_check(f"{name}({list(stats['allowed_values'])})"), value.isin(
            list(stats["allowed_values"])
        )
    if name == "finite":
        return "finite", ~value.isinf()
    if name == "month_start":
        return "month_start", value == value.truncate("M")
    raise NotImplementedError(f"engine validation does not know pandera check {name!r}")


def _key_text(value: Any, column: Any) -> Any:
    """A key cell as text the way pandas prints it (midnight datetimes as dates)."""
    import ibis

    from cx_framework.schemas import _kind

    if _kind(column) == "datetime":
        return ibis.ifelse(
            value == value.truncate("D"), value.strftime("%Y-%m-%d"), value.strftime("%Y-%m-%d %H:%M:%S")
        )
    return value.cast("string")


def _message(
    table: str, file: str | None, counts: pd.DataFrame, failures: pd.DataFrame, max_rows: int
) -> str:
    from cx_framework.schemas import _describe

    where = f"Table '{table}'" + (f" (file {file})" if file else "")
    total = int(counts["failures"].sum())
    lines = [f"{where} failed validation: {total:,} failure{'s' if total != 1 else ''}."]
    for shown, rec in enumerate(counts.itertuples(index=False)):
        if shown == 8:
            lines.append(f"  - ... and {len(counts) - shown} more column/check combinations")
            break
        col_text = f"column '{rec.column}'" if isinstance(rec.column, str) else "table"
        group = failures[(failures["column"] == rec.column) & (failures["check"] == rec.check)]
        if group["row"].isna().all():
            value = group["value"].iloc[0] if len(group) else None
            extra = "" if value is None else f": {value}"
            lines.append(f"  - {col_text}, check '{rec.check}'{extra}")
            continue
        first = group.head(5)
        cells = ", ".join(
            f"row {int(r)} ({_describe(v)})" for r, v in zip(first["row"], first["value"], strict=True)
        )
        n = int(rec.failures)
        more = f" ... (+{n - len(first):,} more)" if n > len(first) else ""
        lines.append(f"  - {col_text}, check '{rec.check}': {n:,} row(s): {cells}{more}")
    rows_note = "rows are 0-based data rows"
    if file and str(file).lower().endswith((".csv", ".csv.gz")):
        rows_note += "; CSV line = row + 2"
    lines.append(
        f"Tip: fix the values above and retry; err.failures holds the first {max_rows} failing rows of each check "
        f"(columns table, column, check, row, value; {rows_note}) and err.counts the number of failing rows per check."
    )
    return "\n".join(lines)


def _frame(table: str, column: str, check: str, rows: Any, values: Any) -> pd.DataFrame:
    from cx_framework.schemas import _failures

    return _failures(table, column, check, np.asarray(rows, dtype=np.int64), values)


def validate_table(
    engine: Engine,
    table: str,
    source: ir.Table | pd.DataFrame | str | Any,
    *,
    file: str | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> ValidatedTable:
    """Validate a contract table where it lies and return it coerced (lazy).

    Parameters
    ----------
    engine : Engine
        A DuckDB or Spark engine (:func:`cx_framework.engine.connect`).
    table : str
        Contract table name (``"contacts"``, ...).
    source : ibis Table, pandas DataFrame or path
        The rows: a table from :meth:`Engine.read` (carries :data:`ROW_COLUMN`), a frame, or a file path.
    file : str, optional
        File named in the error message (set automatically for a path).
    max_rows : int, default 20
        Failing rows kept per check in ``err.failures``.

    Returns
    -------
    ValidatedTable

    Raises
    ------
    DataValidationError
        Every failing check at once: ``err.failures`` (first ``max_rows`` rows per check, same columns as
        :func:`cx_framework.schemas.validate`) and ``err.counts`` (``table, column, check, failures``).
    """
    import ibis

    from cx_framework.io import _string_columns
    from cx_framework.schemas import _KEYS, DEFAULT_THRESHOLD_S, _kind, _schema, _table_failure, schema_for

    schema_for(table)
    if isinstance(source, str | bytes) or hasattr(source, "__fspath__"):
        file = file or str(source)
        source = engine.read(source, text_columns=tuple(_string_columns(table)))  # type: ignore[arg-type]
    elif isinstance(source, pd.DataFrame):
        source = engine.from_frame(source, name=table)
    t = source
    if ROW_COLUMN not in t.columns:
        t = t.mutate(**{ROW_COLUMN: ibis.row_number()})
    where = f"Table '{table}'" + (f" (file {file})" if file else "")
    schema = _schema(table)

    if table == "intervals":
        if "threshold_s" not in t.columns:
            t = t.mutate(threshold_s=ibis.literal(DEFAULT_THRESHOLD_S, type="float64"))
        else:
            t = t.mutate(threshold_s=t.threshold_s.fill_null(DEFAULT_THRESHOLD_S))

    parts: list[pd.DataFrame] = []
    missing = [name for name, col in schema.columns.items() if col.required and name not in t.columns]
    for name in missing:
        parts.append(_table_failure(table, name, "column_in_dataframe", "column is missing"))

    coerced: dict[str, Any] = {}
    checks: list[tuple[str, str, Any, Any]] = []  # (column, check, fail expression, reported value)
    flagged: dict[str, Any] = {}
    for name, col in schema.columns.items():
        if name not in t.columns:
            continue
        kind = _kind(col)
        original = t[name]
        value, bad = _coerce(kind, original)
        label = {"datetime": "coerce to datetime", "bool": "coerce to bool"}.get(kind, "coerce to number")
        flag = ibis.literal(False)
        if kind == "int":
            fractional = value.notnull() & ibis.ifelse(value.isinf(), True, (value % 1.0) != 0)
            checks.append((name, "integer", fractional, original))
            flag = flag | fractional
        if kind != "str":
            checks.append((name, label, bad, original))
            flag = flag | bad
        if not col.nullable:
            null_fail = value.isnull() & ~flag
            checks.append((name, "not_nullable", null_fail, ibis.null().cast("string")))
            flag = flag | null_fail
        if kind == "int":
            value = ibis.ifelse(flag, ibis.null().cast("float64"), value)
        coerced[name] = value
        flagged[name] = flag
    # pandera value checks on the coerced values (blank cells pass, as in pandas)
    for name, col in schema.columns.items():
        if name not in coerced or _kind(col) == "bool":
            continue
        for check in col.checks:
            label, ok = _value_check(check, coerced[name])
            checks.append((name, label, coerced[name].notnull() & ~ibis.coalesce(ok, False), coerced[name]))
    for rule, column, inputs, ok in _cross_rules(table, coerced):
        skip = ibis.literal(False)
        for c in inputs:
            skip = skip | flagged[c]
        checks.append((column, rule, ~ok & ~skip, t[column]))

    keyed = t.mutate(**{f"__cx_{i}": expr for i, (_, _, expr, _) in enumerate(checks)})
    counts_row = engine.execute(
        keyed.aggregate(
            __cx_rows=keyed.count(),
            **{f"__cx_{i}": keyed[f"__cx_{i}"].cast("int64").sum() for i in range(len(checks))},
        )
    ).iloc[0]
    n_rows = int(counts_row["__cx_rows"])
    if n_rows == 0:
        raise DataValidationError(
            f"{where} is empty (0 rows). Provide at least one row; use cx_framework.schemas.template("
            f"'{table}') for the expected columns.",
            failures=_table_failure(table, None, "not_empty", 0),
            table=table,
            file=file,
        )
    count_records: list[tuple[str | None, str, int]] = [(name, "column_in_dataframe", 1) for name in missing]
    for i, (column, check, _expr, value) in enumerate(checks):
        n = int(counts_row[f"__cx_{i}"] or 0)
        if n == 0:
            continue
        count_records.append((column, check, n))
        first = engine.execute(
            keyed.filter(keyed[f"__cx_{i}"])
            .order_by(ROW_COLUMN)
            .limit(max_rows)
            .select(__cx_r=keyed[ROW_COLUMN], __cx_v=value)
        )
        values = first["__cx_v"].astype(object).where(first["__cx_v"].notna(), None).to_numpy(dtype=object)
        parts.append(_frame(table, column, check, first["__cx_r"].to_numpy(), values))

    # unique keys: rows whose key cells already failed are not reported twice
    key = _KEYS[table]
    if all(c in coerced for c in key):
        key_bad = ibis.literal(False)
        for c in key:
            key_bad = key_bad | flagged[c]
        base = t.mutate(**{f"__k{i}": coerced[c] for i, c in enumerate(key)}, __cx_bad=key_bad)
        base = base.filter(~base.__cx_bad)
        names = [f"__k{i}" for i in range(len(key))]
        # GROUP BY and window partitions treat nulls as equal, as pandas' duplicated() does (a join would not)
        groups = base.group_by(names).aggregate(__cx_n=base.count())
        groups = groups.filter(groups.__cx_n > 1)
        n_dup = int(engine.execute(groups.aggregate(n=groups.__cx_n.sum()))["n"].fillna(0).iloc[0])
        if n_dup:
            counted = base.mutate(__cx_n=base[ROW_COLUMN].count().over(ibis.window(group_by=names)))
            dups = counted.filter(counted.__cx_n > 1)
            pieces = [
                _key_text(dups[col_name], schema.columns[key[i]]).fill_null("<missing>")
                for i, col_name in enumerate(names)
            ]
            text = pieces[0]
            for piece in pieces[1:]:
                text = text + ", " + piece
            if len(key) > 1:
                text = "(" + text + ")"
            first = engine.execute(
                dups.order_by(ROW_COLUMN).limit(max_rows).select(__cx_r=dups[ROW_COLUMN], __cx_v=text)
            )
            label = ", ".join(key)
            count_records.append((label, "unique key", n_dup))
            parts.append(
                _frame(
                    table,
                    label,
                    "unique key",
                    first["__cx_r"].to_numpy(),
                    first["__cx_v"].to_numpy(dtype=object),
                )
            )

    if parts:
        failures = pd.concat([p for p in parts if len(p)], ignore_index=True)
        failures = failures.astype({"table": object, "column": object, "check": object})
        counts = pd.DataFrame(count_records, columns=["column", "check", "failures"])
        counts.insert(0, "table", table)
        raise DataValidationError(
            _message(table, file, counts, failures, max_rows),
            failures=failures,
            counts=counts,
            table=table,
            file=file,
        )

    out = {
        name: (coerced[name].cast("int64") if _kind(schema.columns[name]) == "int" else coerced[name])
        for name in coerced
    }
    extras = [c for c in t.columns if c not in coerced and c != ROW_COLUMN]
    validated = t.select(**out, **{c: t[c] for c in extras}, **{ROW_COLUMN: t[ROW_COLUMN]})
    return ValidatedTable(table=table, expr=validated, rows=n_rows, file=file)


def validate_data_dir(
    engine: Engine, directory: str | os.PathLike[str], tables: Iterable[str] | None = None
) -> dict[str, ValidatedTable]:
    """Validate the tables of a data directory in the engine; problems of *all* tables in one error.

    Raises
    ------
    DataValidationError
        Missing directory or tables, or failing checks (``err.failures`` / ``err.counts`` of every table).
    """
    from cx_framework.io import _find_table_files, _string_columns
    from cx_framework.schemas import REQUIRED_TABLES, _table_failure

    root = Path(directory)
    if not root.is_dir():
        raise DataValidationError(f"Data directory {root} does not exist.", file=str(root))
    wanted = list(tables) if tables is not None else list(REQUIRED_TABLES)
    found = _find_table_files(root, wanted)
    missing = [name for name in wanted if name not in found]
    out: dict[str, ValidatedTable] = {}
    errors: list[DataValidationError] = []
    for name, file in found.items():
        try:
            source = engine.read(file, text_columns=tuple(_string_columns(name)))
            out[name] = validate_table(engine, name, source, file=str(file))
        except DataValidationError as exc:
            errors.append(exc)
    if missing or errors:
        lines = [f"Data directory {root} is missing table(s): {', '.join(missing)}."] if missing else []
        lines.extend(str(exc) for exc in errors)
        failures = [exc.failures for exc in errors if len(exc.failures)]
        failures.extend(_table_failure(m, None, "file_exists", None) for m in missing)
        counts = [exc.counts for exc in errors if len(exc.counts)]
        raise DataValidationError(
            "\n".join(lines),
            failures=pd.concat(failures, ignore_index=True) if failures else None,
            counts=pd.concat(counts, ignore_index=True) if counts else None,
            file=str(root),
        )
    return out
