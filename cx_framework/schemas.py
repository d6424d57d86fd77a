"""Data contract: pandera models for every input table and :func:`validate`.

Every table of the data contract (DESIGN.md, "Data contract") has a pandera ``DataFrameModel`` here. The models
are complete on their own (``schema_for("intervals").validate(df, lazy=True)`` works), but the public entry point
is :func:`validate`, which

1. coerces column dtypes in a vectorised, pandas-3-safe way (datetimes to ``datetime64[ns]``, ids to strings,
   ``"yes"/"no"/0/1`` to booleans, counts to ``int64``) and reports every value that cannot be coerced,
2. runs the pandera column checks (nullability, ranges, allowed values, finiteness, month starts),
3. runs the cross-column checks (``answered <= offered`` ...) and the key-uniqueness checks itself, so that each
   failure names one column, one row and one value instead of pandera's melted all-column report,

and raises one :class:`~cx_framework.errors.DataValidationError` carrying *all* failures (lazy validation) as a
tidy frame with columns ``table, column, check, row, value``. ``row`` is the 0-based row position in the input
frame (for a CSV file, the file line is ``row + 2``: one header line, 1-based lines).

Contact-centre definitions follow the usual ACD conventions (e.g. Cleveland, *Call Center Management on Fast
Forward*, 4th ed., 2019, ch. 4): ``answered_within_threshold`` counts calls answered within ``threshold_s``
seconds; answered and abandoned calls are disjoint subsets of offered calls; AHT is defined only for answered
calls.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Optional  # noqa: UP035 - pandera needs typing.Optional to mark optional columns

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from cx_framework._compat import PANDAS_3, as_text
from cx_framework._tables import REQUIRED_TABLES, TABLES
from cx_framework.errors import DataValidationError

__all__ = [
    "TABLES",
    "REQUIRED_TABLES",
    "IntervalsSchema",
    "ContactsSchema",
    "CustomersSchema",
    "EmployeesSchema",
    "EmployeeMetricsSchema",
    "DepartmentMetricsSchema",
    "WorkItemsSchema",
    "CustomerPanelSchema",
    "validate",
    "schema_for",
    "template",
    "key_columns",
    "column_kinds",
]

#: Channels a contact can arrive through.
CHANNELS: tuple[str, ...] = ("phone", "email", "chat")
#: Default service-level answer threshold in seconds when an ``intervals`` table has no ``threshold_s`` column.
DEFAULT_THRESHOLD_S: float = 20.0

# Upper bounds: what the models represent exactly (see cx_framework.staffing._arrays). A value above is a unit
# mistake or a corrupt cell (e.g. 1e308 calls would silently become -9.2e18 after the int64 cast).
MAX_COUNT: float = 1e12  # calls per interval
MAX_SECONDS: float = 1e7  # handle, wait and patience times (about 116 days)
MAX_AGENTS: float = 1e9
MAX_MONEY: float = 1e15  # currency per month / year

# Datetimes must fit datetime64[ns].
_MIN_TS = pd.Timestamp.min
_MAX_TS = pd.Timestamp.max


# --------------------------------------------------------------------------------------------------------------
# cross-column checks: one function per rule, shared by the pandera models and by validate()
# --------------------------------------------------------------------------------------------------------------
def _answered_le_offered(df: pd.DataFrame) -> pd.Series:
    return df["answered"] <= df["offered"]


def _within_threshold_le_answered(df: pd.DataFrame) -> pd.Series:
    return df["answered_within_threshold"] <= df["answered"]


def _answered_plus_abandoned_le_offered(df: pd.DataFrame) -> pd.Series:
    return (df["answered"] + df["abandoned"]) <= df["offered"]


def _aht_positive_when_answered(df: pd.DataFrame) -> pd.Series:
    return (df["answered"] == 0) | (df["aht_s"] > 0)


def _churn_after_start(df: pd.DataFrame) -> pd.Series:
    return df["churn_date"].isna() | (df["churn_date"] >= df["start_date"])


def _leave_after_hire(df: pd.DataFrame) -> pd.Series:
    return df["leave_date"].isna() | (df["leave_date"] >= df["hire_date"])


def _left_after_entered(df: pd.DataFrame) -> pd.Series:
    return df["left_at"].isna() | (df["left_at"] >= df["entered_at"])


@dataclass(frozen=True)
class _CrossCheck:
    """A row-wise rule over several columns; failures are reported against ``column``."""

    name: str
    column: str
    columns: tuple[str, ...]
    func: Callable[[pd.DataFrame], pd.Series]


_CROSS_CHECKS: dict[str, tuple[_CrossCheck, ...]] = {
    "intervals": (
        _CrossCheck("answered <= offered", "answered", ("answered", "offered"), _answered_le_offered),
        _CrossCheck(
            "answered_within_threshold <= answered",
            "answered_within_threshold",
            ("answered_within_threshold", "answered"),
            _within_threshold_le_answered,
        ),
        _CrossCheck(
            "answered + abandoned <= offered",
            "abandoned",
            ("answered", "abandoned", "offered"),
            _answered_plus_abandoned_le_offered,
        ),
        _CrossCheck(
            "aht_s > 0 where answered > 0", "aht_s", ("aht_s", "answered"), _aht_positive_when_answered
        ),
    ),
    "customers": (
        _CrossCheck(
            "churn_date >= start_date", "churn_date", ("churn_date", "start_date"), _churn_after_start
        ),
    ),
    "employees": (
        _CrossCheck("leave_date >= hire_date", "leave_date", ("leave_date", "hire_date"), _leave_after_hire),
    ),
    "work_items": (
        _CrossCheck("left_at >= entered_at", "left_at", ("left_at", "entered_at"), _left_after_entered),
    ),
}

# Unique keys; pandas' duplicated() treats NaN as a value, so a null team is a key value of its own.
_KEYS: dict[str, tuple[str, ...]] = {
    "intervals": ("interval_start", "queue"),
    "contacts": ("contact_id",),
    "customers": ("customer_id",),
    "employees": ("employee_id",),
    "employee_metrics": ("period", "employee_id", "metric"),
    "department_metrics": ("period", "department", "team", "metric"),
    "work_items": ("item_id", "stage"),
    "customer_panel": ("customer_id", "period"),
}


def _finite(series: pd.Series) -> pd.Series:
    """True where the value is finite or missing (missingness is the nullable check's job)."""
    values = series.to_numpy(dtype="float64", na_value=np.nan)
    return pd.Series(np.isfinite(values) | np.isnan(values), index=series.index)


def _month_start(series: pd.Series) -> pd.Series:
    """True where the timestamp is midnight on the first day of a month (``period`` convention)."""
    return series.isna() | (series.dt.is_month_start & (series == series.dt.normalize()))


# --------------------------------------------------------------------------------------------------------------
# pandera models
# --------------------------------------------------------------------------------------------------------------
class _Base(pa.DataFrameModel):
    class Config:
        coerce = True
        strict = False  # extra columns are allowed and kept


class IntervalsSchema(_Base):
    """ACD queue statistics per interval (typically 15 or 30 minutes) and queue.

    Counts are calls; ``aht_s`` is average handle time in seconds of the answered calls (null or 0 when none
    were answered); ``agents_staffed`` may be fractional (average agents over the interval); ``threshold_s`` is
    the service-level answer threshold in seconds (default 20 when the column is absent or null).
    """

    interval_start: Series[pd.Timestamp]
    queue: Series[str]
    offered: Series[np.int64] = pa.Field(ge=0, le=MAX_COUNT)
    answered: Series[np.int64] = pa.Field(ge=0, le=MAX_COUNT)
    answered_within_threshold: Series[np.int64] = pa.Field(ge=0, le=MAX_COUNT)
    abandoned: Series[np.int64] = pa.Field(ge=0, le=MAX_COUNT)
    aht_s: Series[float] = pa.Field(ge=0, le=MAX_SECONDS, nullable=True)
    agents_staffed: Series[float] = pa.Field(ge=0, le=MAX_AGENTS)
    threshold_s: Optional[Series[float]] = pa.Field(ge=0, le=MAX_SECONDS, default=DEFAULT_THRESHOLD_S)  # noqa: UP045

    @pa.check("aht_s", "agents_staffed", "threshold_s", name="finite")
    def _finite_values(cls, series: pd.Series) -> pd.Series:
        return _finite(series)

    @pa.dataframe_check(name="answered <= offered")
    def _c1(cls, df: pd.DataFrame) -> pd.Series:
        return _answered_le_offered(df)

    @pa.dataframe_check(name="answered_within_threshold <= answered")
    def _c2(cls, df: pd.DataFrame) -> pd.Series:
        return _within_threshold_le_answered(df)

    @pa.dataframe_check(name="answered + abandoned <= offered")
    def _c3(cls, df: pd.DataFrame) -> pd.Series:
        return _answered_plus_abandoned_le_offered(df)

    @pa.dataframe_check(name="aht_s > 0 where answered > 0")
    def _c4(cls, df: pd.DataFrame) -> pd.Series:
        return _aht_positive_when_answered(df)

    class Config:
        name = "intervals"
        unique = list(_KEYS["intervals"])


class ContactsSchema(_Base):
    """One row per customer contact; ``wait_s`` and ``handle_s`` in seconds; ``agent_id`` null if unhandled."""

    contact_id: Series[str]
    customer_id: Series[str]
    timestamp: Series[pd.Timestamp]
    channel: Series[str] = pa.Field(isin=list(CHANNELS))
    queue: Series[str]
    reason: Series[str]
    wait_s: Series[float] = pa.Field(ge=0, le=MAX_SECONDS)
    handle_s: Series[float] = pa.Field(ge=0, le=MAX_SECONDS)
    abandoned: Series[bool]
    resolved_first_contact: Series[bool]
    agent_id: Series[str] = pa.Field(nullable=True)

    @pa.check("wait_s", "handle_s", name="finite")
    def _finite_values(cls, series: pd.Series) -> pd.Series:
        return _finite(series)

    class Config:
        name = "contacts"
        unique = list(_KEYS["contacts"])


class CustomersSchema(_Base):
    """One row per customer; ``monthly_revenue`` in currency per month; ``churn_date`` null while active."""

    customer_id: Series[str]
    segment: Series[str]
    product: Series[str]
    start_date: Series[pd.Timestamp]
    monthly_revenue: Series[float] = pa.Field(ge=0, le=MAX_MONEY)
    churn_date: Series[pd.Timestamp] = pa.Field(nullable=True)

    @pa.check("monthly_revenue", name="finite")
    def _finite_values(cls, series: pd.Series) -> pd.Series:
        return _finite(series)

    @pa.dataframe_check(name="churn_date >= start_date")
    def _c1(cls, df: pd.DataFrame) -> pd.Series:
        return _churn_after_start(df)

    class Config:
        name = "customers"
        unique = list(_KEYS["customers"])


class EmployeesSchema(_Base):
    """One row per employee; ``base_salary`` in currency per year; ``leave_date`` null while employed."""

    employee_id: Series[str]
    department: Series[str]
    team: Series[str]
    role: Series[str]
    base_salary: Series[float] = pa.Field(gt=0, le=MAX_MONEY)
    hire_date: Series[pd.Timestamp]
    leave_date: Series[pd.Timestamp] = pa.Field(nullable=True)

    @pa.check("base_salary", name="finite")
    def _finite_values(cls, series: pd.Series) -> pd.Series:
        return _finite(series)

    @pa.dataframe_check(name="leave_date >= hire_date")
    def _c1(cls, df: pd.DataFrame) -> pd.Series:
        return _leave_after_hire(df)

    class Config:
        name = "employees"
        unique = list(_KEYS["employees"])


class EmployeeMetricsSchema(_Base):
    """Long table of metric values per month start ``period`` and employee; ``volume`` is an optional weight."""

    period: Series[pd.Timestamp]
    employee_id: Series[str]
    metric: Series[str]
    value: Series[float]
    volume: Optional[Series[float]] = pa.Field(ge=0)  # noqa: UP045

    @pa.check("value", "volume", name="finite")
    def _finite_values(cls, series: pd.Series) -> pd.Series:
        return _finite(series)

    @pa.check("period", name="month_start")
    def _period_month_start(cls, series: pd.Series) -> pd.Series:
        return _month_start(series)

    class Config:
        name = "employee_metrics"
        unique = list(_KEYS["employee_metrics"])


class DepartmentMetricsSchema(_Base):
    """Long table of metric values per month start, department and (nullable) team; optional ``volume``."""

    period: Series[pd.Timestamp]
    department: Series[str]
    team: Series[str] = pa.Field(nullable=True)
    metric: Series[str]
    value: Series[float]
    volume: Optional[Series[float]] = pa.Field(ge=0)  # noqa: UP045

    @pa.check("value", "volume", name="finite")
    def _finite_values(cls, series: pd.Series) -> pd.Series:
        return _finite(series)

    @pa.check("period", name="month_start")
    def _period_month_start(cls, series: pd.Series) -> pd.Series:
        return _month_start(series)

    class Config:
        name = "department_metrics"
        unique = list(_KEYS["department_metrics"])


class WorkItemsSchema(_Base):
    """One row per work item and stage of a journey; ``left_at`` null while the item is still open."""

    item_id: Series[str]
    stage: Series[str]
    customer_id: Series[str]
    journey: Series[str]
    department: Series[str]
    entered_at: Series[pd.Timestamp]
    left_at: Series[pd.Timestamp] = pa.Field(nullable=True)

    @pa.dataframe_check(name="left_at >= entered_at")
    def _c1(cls, df: pd.DataFrame) -> pd.Series:
        return _left_after_entered(df)

    class Config:
        name = "work_items"
        unique = list(_KEYS["work_items"])


class CustomerPanelSchema(_Base):
    """Derived customer × month panel (built by the library; checked leniently).

    ``service_level`` is the share (0-1) of the customer's calls answered within threshold, null when the
    customer made no calls that month; ``mean_wait_s`` likewise null without contacts; ``churned`` is True
    when the customer churned in the following period.
    """

    customer_id: Series[str]
    period: Series[pd.Timestamp]
    contacts: Series[float] = pa.Field(ge=0)
    mean_wait_s: Series[float] = pa.Field(ge=0, nullable=True)
    service_level: Series[float] = pa.Field(ge=0, le=1, nullable=True)
    repeat_contacts: Series[float] = pa.Field(ge=0)
    tenure_months: Series[float] = pa.Field(ge=0)
    segment: Series[str] = pa.Field(nullable=True)
    product: Series[str] = pa.Field(nullable=True)
    monthly_revenue: Series[float] = pa.Field(ge=0, nullable=True)
    churned: Series[bool]

    class Config:
        name = "customer_panel"
        unique = list(_KEYS["customer_panel"])


_MODELS: dict[str, type[_Base]] = {
    "intervals": IntervalsSchema,
    "contacts": ContactsSchema,
    "customers": CustomersSchema,
    "employees": EmployeesSchema,
    "employee_metrics": EmployeeMetricsSchema,
    "department_metrics": DepartmentMetricsSchema,
    "work_items": WorkItemsSchema,
    "customer_panel": CustomerPanelSchema,
}

# TABLES / REQUIRED_TABLES live in cx_framework._tables (importable without pandera); they name these models
if tuple(_MODELS) != TABLES:  # pragma: no cover - a new model must be named in _tables too
    raise RuntimeError(f"cx_framework._tables.TABLES {TABLES} does not match the schemas {tuple(_MODELS)}")

_SCHEMAS: dict[str, pa.DataFrameSchema] = {}
_CORE_SCHEMAS: dict[str, pa.DataFrameSchema] = {}


def _check_name(table: str) -> None:
    if not isinstance(table, str) or table not in _MODELS:
        raise DataValidationError(
            f"Unknown table {table!r}; valid table names are: {', '.join(TABLES)}.",
            table=str(table),
        )


def schema_for(table: str) -> type[pa.DataFrameModel]:
    """Return the pandera ``DataFrameModel`` of a table.

    Parameters
    ----------
    table : str
        One of :data:`TABLES`.

    Returns
    -------
    type[pandera.pandas.DataFrameModel]
        The model class; ``schema_for(name).to_schema()`` gives the ``DataFrameSchema``.

    Raises
    ------
    DataValidationError
        If ``table`` is not a known table name (the message lists the valid names).
    """
    _check_name(table)
    return _MODELS[table]


def key_columns(table: str) -> tuple[str, ...]:
    """Columns that together identify a row of ``table`` (must be unique)."""
    _check_name(table)
    return _KEYS[table]


def column_kinds(table: str) -> dict[str, str]:
    """Contract columns of ``table`` and their kind: ``"str"``, ``"int"``, ``"float"``, ``"bool"``, ``"datetime"``.

    Optional columns (``threshold_s``, ``volume``) are included.
    """
    _check_name(table)
    return {name: _kind(col) for name, col in _schema(table).columns.items()}


def _schema(table: str) -> pa.DataFrameSchema:
    if table not in _SCHEMAS:
        _SCHEMAS[table] = _MODELS[table].to_schema()
    return _SCHEMAS[table]


def _core_schema(table: str) -> pa.DataFrameSchema:
    """The model's value checks only (ranges, allowed values, finiteness, month starts).

    validate() coerces dtypes, checks nullability, cross-column rules and keys itself (see module doc) and
    blanks cells that already failed, so this schema is nullable everywhere, holds counts as float64 (they
    may carry those blanks) and leaves out booleans (no value checks apply to them).
    """
    if table not in _CORE_SCHEMAS:
        schema = _schema(table)
        core = pa.DataFrameSchema(
            columns=schema.columns, checks=[], unique=None, coerce=True, strict=False, name=table
        )
        bools = [name for name, col in core.columns.items() if _kind(col) == "bool"]
        if bools:
            core = core.remove_columns(bools)
        updates: dict[str, dict[str, Any]] = {}
        for name, col in core.columns.items():
            updates[name] = {"nullable": True}
            if _kind(col) == "int":
                updates[name]["dtype"] = "float64"
        _CORE_SCHEMAS[table] = core.update_columns(updates)
    return _CORE_SCHEMAS[table]


def _kind(column: pa.Column) -> str:
    dtype = str(column.dtype)
    if dtype.startswith("datetime64"):
        return "datetime"
    if dtype == "bool":
        return "bool"
    if dtype.startswith("int"):
        return "int"
    if dtype.startswith("float"):
        return "float"
    return "str"


_PANDAS_DTYPES = {
    "datetime": "datetime64[ns]",
    "bool": "bool",
    "int": "int64",
    "float": "float64",
    "str": "str",
}


def template(table: str) -> pd.DataFrame:
    """Return an empty frame with the table's columns (optional ones included) and target dtypes.

    Parameters
    ----------
    table : str
        One of :data:`TABLES`.

    Returns
    -------
    pandas.DataFrame
        Zero rows; columns in contract order; offered to users as a download to fill in.
    """
    _check_name(table)
    columns = _schema(table).columns
    return pd.DataFrame({name: pd.Series(dtype=_PANDAS_DTYPES[_kind(col)]) for name, col in columns.items()})


# --------------------------------------------------------------------------------------------------------------
# vectorised coercion
# --------------------------------------------------------------------------------------------------------------
_TRUE_TOKENS = ("true", "t", "yes", "y", "1", "1.0")
_FALSE_TOKENS = ("false", "f", "no", "n", "0", "0.0")
_BOOL_MAP: dict[str, bool] = {**dict.fromkeys(_TRUE_TOKENS, True), **dict.fromkeys(_FALSE_TOKENS, False)}


def _blank_to_missing(series: pd.Series) -> pd.Series:
    """Text cells that are empty or only spaces are missing values (as a CSV reader treats an empty field)."""
    if not (series.dtype == object or pd.api.types.is_string_dtype(series.dtype)):
        return series
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series
    try:
        stripped = series.str.strip()
    except AttributeError:  # object column without any text (e.g. datetime objects)
        return series
    blank = stripped.eq("").to_numpy(dtype=bool, na_value=False)
    return series.where(~blank) if blank.any() else series


def _coerce_datetime(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Return ``(datetime64[ns] series, bad mask)``; ``bad`` marks non-null values that could not be parsed."""
    series = _blank_to_missing(series)
    if series.dtype == np.dtype("datetime64[ns]"):
        return series, np.zeros(len(series), dtype=bool)
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        # Time-zone aware input is converted to UTC wall time so all rows share one clock.
        parsed = series.dt.tz_convert("UTC").dt.tz_localize(None)
    elif pd.api.types.is_datetime64_dtype(series.dtype):
        parsed = series
    elif pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        # Numbers are ambiguous (epoch seconds? Excel serial days?) -> every non-null value fails.
        parsed = pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]")
    else:
        text = series.astype("str")
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
        retry = parsed.isna().to_numpy() & series.notna().to_numpy()
        if retry.any():
            # Non-ISO strings (e.g. "31/01/2024 08:00"): per-element inference on the few that failed only.
            again = pd.to_datetime(text[retry], format="mixed", errors="coerce", utc=True, dayfirst=False)
            parsed = parsed.copy()
            parsed[retry] = again
        parsed = parsed.dt.tz_localize(None)
    # Values outside the datetime64[ns] range (e.g. year 9999 sentinels) cannot be represented.
    in_range = parsed.isna() | ((parsed >= _MIN_TS) & (parsed <= _MAX_TS))
    parsed = parsed.where(in_range)
    parsed = parsed.astype("datetime64[ns]")
    bad = parsed.isna().to_numpy() & series.notna().to_numpy()
    return parsed, bad


def _coerce_float(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    series = _blank_to_missing(series)
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
        # to_numpy with na_value also handles the nullable Int64/Float64/boolean extension dtypes
        out = pd.Series(series.to_numpy(dtype="float64", na_value=np.nan), index=series.index)
    else:
        text = series.astype("str").str.strip()
        out = pd.to_numeric(text, errors="coerce").astype("float64")
    bad = out.isna().to_numpy() & series.notna().to_numpy()
    return out, bad


def _coerce_int(series: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Return ``(float series, not-a-number mask, non-integral mask)``; cast to int64 once all are valid."""
    out, bad = _coerce_float(series)
    values = out.to_numpy()
    with np.errstate(invalid="ignore"):
        fractional = np.isfinite(values) & (values != np.round(values))
        fractional |= np.isinf(values)
    return out, bad, fractional


def _coerce_bool(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Return ``(object series of True/False/NaN, bad mask)``."""
    series = _blank_to_missing(series)
    if pd.api.types.is_bool_dtype(series.dtype) and not series.hasnans:
        return series.astype(bool), np.zeros(len(series), dtype=bool)
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        numeric = pd.Series(series.to_numpy(dtype="float64", na_value=np.nan), index=series.index)
        out = numeric.map({1.0: True, 0.0: False})
    else:
        text = series.astype("str").str.strip().str.lower()
        out = text.map(_BOOL_MAP)
    bad = out.isna().to_numpy() & series.notna().to_numpy()
    return out, bad


def _coerce_str(series: pd.Series, *, keep_categorical: bool = False) -> pd.Series:
    if (
        keep_categorical
        and isinstance(series.dtype, pd.CategoricalDtype)
        and pd.api.types.is_string_dtype(series.dtype.categories.dtype)
    ):
        # derived panels are large (customers x months); categorical text stays categorical to save memory
        return series
    if pd.api.types.is_float_dtype(series.dtype):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        finite = values[np.isfinite(values)]
        if np.array_equal(finite, np.round(finite)):
            # ids read as floats because of missing values: 1234.0 -> "1234"
            return as_text(series.astype("Int64"))
    if PANDAS_3 and series.dtype == "str":
        return series
    return as_text(series)


# --------------------------------------------------------------------------------------------------------------
# validate
# --------------------------------------------------------------------------------------------------------------
# Derived tables built by the library; checked leniently.
_LENIENT_TABLES = frozenset({"customer_panel"})


def _failures(table: str, column: str, check: str, rows: np.ndarray, values: Any) -> pd.DataFrame:
    n = len(rows)
    return pd.DataFrame(
        {
            "table": np.full(n, table, dtype=object),
            "column": np.full(n, column, dtype=object),
            "check": np.full(n, check, dtype=object),
            "row": pd.array(rows, dtype="Int64"),
            "value": pd.Series(np.asarray(values, dtype=object), dtype=object),
        }
    )


def _table_failure(table: str, column: str | None, check: str, value: Any) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "table": [table],
            "column": [column],
            "check": [check],
            "row": pd.array([None], dtype="Int64"),
            "value": pd.Series([value], dtype=object),
        }
    )


def _describe(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return "<missing>"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _message(table: str, file: str | None, failures: pd.DataFrame, where: str | None = None) -> str:
    where = where or f"Table '{table}'" + (f" (file {file})" if file else "")
    n = len(failures)
    head = f"{where} failed validation: {n} failure{'s' if n != 1 else ''}."
    lines = [head]
    is_csv = bool(file) and str(file).lower().endswith((".csv", ".csv.gz"))

    def line(row: int) -> str:
        # a CSV file has one header line and 1-based lines: data row r is on line r + 2
        return f" (line {row + 2})" if is_csv else ""

    groups = failures.groupby(["column", "check"], sort=False, dropna=False)
    shown = 0
    for (column, check), group in groups:
        if shown == 8:
            lines.append(f"  - ... and {groups.ngroups - shown} more column/check combinations")
            break
        shown += 1
        col_text = f"column '{column}'" if isinstance(column, str) else "table"
        if group["row"].isna().all():
            value = group["value"].iloc[0]
            extra = "" if value is None else f": {value}"
            lines.append(f"  - {col_text}, check '{check}'{extra}")
            continue
        first = group.head(5)
        cells = ", ".join(
            f"row {int(r)}{line(int(r))} ({_describe(v)})"
            for r, v in zip(first["row"], first["value"], strict=True)
        )
        more = f" ... (+{len(group) - 5} more)" if len(group) > 5 else ""
        lines.append(f"  - {col_text}, check '{check}': {len(group)} row(s): {cells}{more}")
    rows_note = "rows are 0-based data rows"
    if file and str(file).lower().endswith(".csv"):
        rows_note += "; CSV line = row + 2"
    lines.append(
        f"Tip: fix the values above and retry; see err.failures for all {n} failure(s) "
        f"(columns table, column, check, row, value; {rows_note})."
    )
    return "\n".join(lines)


_CHECK_SYMBOLS = {
    "greater_than_or_equal_to": ">=",
    "greater_than": ">",
    "less_than_or_equal_to": "<=",
    "less_than": "<",
    "isin": "in",
}


def _nice_check(check: str) -> str:
    """``greater_than_or_equal_to(0)`` -> ``>= 0``; other pandera check names pass through."""
    match = re.fullmatch(r"(\w+)\((.*)\)", check, flags=re.DOTALL)
    if match and match.group(1) in _CHECK_SYMBOLS:
        return f"{_CHECK_SYMBOLS[match.group(1)]} {match.group(2)}"
    return check


def _pandera_failures(table: str, exc: pa.errors.SchemaErrors) -> pd.DataFrame:
    cases = exc.failure_cases
    index = pd.to_numeric(cases["index"], errors="coerce")
    out = pd.DataFrame(
        {
            "table": table,
            "column": cases["column"].astype(object),
            "check": cases["check"].astype(str).map(_nice_check),
            "row": pd.array(index, dtype="Int64"),
            "value": cases["failure_case"].astype(object),
        }
    )
    # row order within each check, whatever order the installed pandera lists its failure cases in
    # (0.24 returns them partly shuffled); checks keep pandera's order
    check_order = pd.factorize(out["column"].astype(str) + "\0" + out["check"])[0]
    order = np.lexsort((out["row"].to_numpy(dtype="float64", na_value=np.inf), check_order))
    return out.iloc[order].reset_index(drop=True)


def validate(
    table: str,
    df: pd.DataFrame,
    *,
    file: str | None = None,
    columns: Sequence[str] | None = None,
    argument: str | None = None,
) -> pd.DataFrame:
    """Coerce and validate a table of the data contract; raise one error listing every failure.

    Parameters
    ----------
    table : str
        One of :data:`TABLES` (``"intervals"``, ``"contacts"``, ...).
    df : pandas.DataFrame
        The table. Columns may be strings (as read from CSV); they are coerced to the contract dtypes:
        datetimes to ``datetime64[ns]`` (ISO 8601 first, other formats per element; tz-aware values are
        converted to UTC), ids to ``str``, booleans from ``True/False``, ``yes/no``, ``y/n``, ``t/f``, ``1/0``,
        counts to ``int64``. Extra columns are kept unchanged.
    file : str, optional
        Path the table was read from; named in the error message.
    columns : sequence of str, optional
        Validate only these contract columns (and the cross-column and key checks among them): for public
        functions that need a few columns of a table, e.g. ``("interval_start", "offered", "aht_s")``. Default:
        every column of the contract.
    argument : str, optional
        Name of the function argument the frame was passed as; named in the error message.

    Returns
    -------
    pandas.DataFrame
        A new frame with coerced dtypes, same index and row order as ``df``; ``intervals`` gains
        ``threshold_s = 20`` (seconds) where the column is absent or null.

    Raises
    ------
    DataValidationError
        Unknown table name, empty frame, missing columns, values that cannot be coerced, failed range /
        allowed-value / cross-column checks, duplicate keys. ``err.failures`` holds every failure
        (``table, column, check, row, value``; ``row`` = 0-based position in ``df``).

    Examples
    --------
    >>> import pandas as pd
    >>> from cx_framework.schemas import validate
    >>> frame = validate("intervals", pd.DataFrame({
    ...     "interval_start": ["2024-01-01 08:00"], "queue": ["billing"], "offered": [10], "answered": [9],
    ...     "answered_within_threshold": [7], "abandoned": [1], "aht_s": [300.0], "agents_staffed": [4]}))
    >>> float(frame["threshold_s"].iloc[0])
    20.0
    """
    _check_name(table)
    where = f"Table '{table}'" + (f" (file {file})" if file else "")
    if argument and not file:
        where += f" (argument '{argument}')"
    if not isinstance(df, pd.DataFrame):
        raise DataValidationError(
            f"{where} must be a pandas DataFrame, got {type(df).__name__}; read files with "
            "cx_framework.io.read_table.",
            failures=_table_failure(table, None, "is_dataframe", type(df).__name__),
            table=table,
            file=file,
        )
    if df.columns.duplicated().any():
        dupes = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
        raise DataValidationError(
            f"{where} has duplicated column names: {', '.join(dupes)}. Rename or drop the duplicates.",
            failures=pd.concat([_table_failure(table, c, "unique_column_name", c) for c in dupes]),
            table=table,
            file=file,
        )
    if len(df) == 0:
        raise DataValidationError(
            f"{where} is empty (0 rows). Provide at least one row; use cx_framework.schemas.template("
            f"'{table}') for the expected columns.",
            failures=_table_failure(table, None, "not_empty", 0),
            table=table,
            file=file,
        )

    schema = _schema(table)
    if columns is not None:
        subset = set(columns)
        unknown = sorted(subset - set(schema.columns))
        if unknown:
            raise DataValidationError(
                f"validate(): {', '.join(unknown)} not column(s) of table '{table}'.", table=table
            )
        schema = schema.remove_columns([c for c in schema.columns if c not in subset])
    work = df.reset_index(drop=True)  # row labels == positions from here on
    work = work.copy(deep=False)
    if table == "intervals":
        if "threshold_s" not in work.columns:
            work["threshold_s"] = DEFAULT_THRESHOLD_S
        else:
            work["threshold_s"] = work["threshold_s"].where(work["threshold_s"].notna(), DEFAULT_THRESHOLD_S)

    parts: list[pd.DataFrame] = []
    missing = [name for name, col in schema.columns.items() if col.required and name not in work.columns]
    if missing:
        present = {str(c).strip().lower().replace(" ", "_"): str(c) for c in work.columns}
        for name in missing:
            hint = "column is missing"
            # only suggest columns the schema does not already use (start_date is not a misspelt churn_date)
            unused = [key for key, original in present.items() if original not in schema.columns]
            similar = present.get(name) or next(iter(difflib.get_close_matches(name, unused, n=1)), None)
            if similar is not None:
                hint += f" (found {present.get(similar, similar)!r}: rename it to {name!r})"
            parts.append(_table_failure(table, name, "column_in_dataframe", hint))

    n = len(work)
    flagged: dict[str, np.ndarray] = {}  # column -> rows whose value failed coercion or nullability
    int_columns: list[str] = []
    for name, col in schema.columns.items():
        if name not in work.columns:
            continue
        original = work[name]
        kind = _kind(col)
        bad_any = np.zeros(n, dtype=bool)
        if kind == "datetime":
            coerced, bad = _coerce_datetime(original)
            check = "coerce to datetime"
        elif kind == "bool":
            coerced, bad = _coerce_bool(original)
            check = "coerce to bool"
        elif kind == "int":
            coerced, bad, fractional = _coerce_int(original)
            check = "coerce to number"
            if fractional.any():
                rows = np.flatnonzero(fractional)
                parts.append(_failures(table, name, "integer", rows, original.to_numpy()[rows]))
                bad_any |= fractional
            int_columns.append(name)
        elif kind == "float":
            coerced, bad = _coerce_float(original)
            check = "coerce to number"
            infinite = np.isinf(coerced.to_numpy(dtype="float64", na_value=np.nan))
            if infinite.any():
                # reported once as 'finite' (not again as '<= bound'), then blanked like other failed cells
                rows = np.flatnonzero(infinite)
                parts.append(_failures(table, name, "finite", rows, original.to_numpy()[rows]))
                bad_any |= infinite
                coerced = coerced.where(~infinite)
        else:
            coerced = _coerce_str(original, keep_categorical=table in _LENIENT_TABLES)
            bad = np.zeros(n, dtype=bool)
            check = "coerce to str"
        if bad.any():
            rows = np.flatnonzero(bad)
            parts.append(_failures(table, name, check, rows, original.to_numpy()[rows]))
        bad_any |= bad
        if not col.nullable:
            null = coerced.isna().to_numpy() & ~bad_any
            if null.any():
                rows = np.flatnonzero(null)
                parts.append(_failures(table, name, "not_nullable", rows, [None] * len(rows)))
                bad_any |= null
        if kind == "int" and bad_any.any():
            coerced = coerced.where(~bad_any)  # a failed cell is reported once, not again as "< 0" etc.
        work[name] = coerced
        flagged[name] = bad_any

    # pandera value checks on every row; cells that failed above are blank and pandera skips blanks
    core = _core_schema(table)
    absent = [name for name in core.columns if name not in work.columns or name not in schema.columns]
    if absent:
        core = core.remove_columns(absent)
    try:
        core.validate(work, lazy=True)
    except pa.errors.SchemaErrors as exc:
        parts.append(_pandera_failures(table, exc))

    # cross-column checks, skipping rows whose inputs already failed
    for rule in _CROSS_CHECKS.get(table, ()):
        if any(c not in work.columns or c not in schema.columns for c in rule.columns):
            continue
        ok = rule.func(work).to_numpy(dtype=bool, na_value=False)
        skip = np.zeros(n, dtype=bool)
        for c in rule.columns:
            skip |= flagged[c]
        fail = ~ok & ~skip
        if fail.any():
            rows = np.flatnonzero(fail)
            parts.append(_failures(table, rule.column, rule.name, rows, df[rule.column].to_numpy()[rows]))

    # unique keys
    key = _KEYS[table]
    if all(c in work.columns and c in schema.columns for c in key):
        # rows whose key cells already failed coercion / nullability are not reported twice
        key_bad = np.zeros(n, dtype=bool)
        for c in key:
            key_bad |= flagged[c]
        dup = np.zeros(n, dtype=bool)
        dup[~key_bad] = work.loc[~key_bad].duplicated(subset=list(key), keep=False).to_numpy()
        if dup.any():
            rows = np.flatnonzero(dup)
            sub = work.iloc[rows]
            text = as_text(sub[key[0]]).fillna("<missing>")
            for c in key[1:]:
                text = text + ", " + as_text(sub[c]).fillna("<missing>")
            values = (
                text.to_numpy(dtype=object) if len(key) == 1 else ("(" + text + ")").to_numpy(dtype=object)
            )
            parts.append(_failures(table, ", ".join(key), "unique key", rows, values))

    if parts:
        failures = pd.concat(parts, ignore_index=True)
        failures = failures.astype({"table": object, "column": object, "check": object})
        raise DataValidationError(
            _message(table, file, failures, where), failures=failures, table=table, file=file
        )

    out = work.astype({name: "int64" for name in int_columns})
    bool_cols = [name for name, c in schema.columns.items() if _kind(c) == "bool" and name in out.columns]
    if bool_cols:
        out = out.astype(dict.fromkeys(bool_cols, "bool"))
    out.index = df.index
    return out
