"""Turn source rows into a contract table: one ibis expression per mapped column, run inside the engine.

:func:`mapped_expression` builds the ibis expression of a whole table (filters, then every contract column from
its :class:`~cx_framework.sources.config.ColumnSpec`); :func:`read_table_source` runs it, validates the result
against the data contract and separates rejected rows (with reasons) from kept ones.

Semantics of the column specs are in :class:`~cx_framework.sources.config.ColumnSpec`. Timestamps are converted
in the engine: naive source values are read in the column's (or table's) zone, values with an offset keep it,
and every result is expressed as naive wall-clock time in the sources file's ``timezone`` (default UTC) — the
``timezone(zone, ts)`` SQL function that DuckDB and PostgreSQL both provide.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from cx_framework.errors import ConfigError, DataValidationError
from cx_framework.sources._backend import Relation, relation
from cx_framework.sources.config import UNITS, ColumnSpec, RowFilter, SourcesConfig, TableSource

if TYPE_CHECKING:
    import ibis
    import ibis.expr.types as ir

__all__ = ["MappedTable", "mapped_expression", "read_table_source", "closest_columns"]

_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}


def closest_columns(name: str, columns: Sequence[str], n: int = 3) -> list[str]:
    """Source column names closest to ``name`` (case-insensitive difflib match, then substring matches)."""
    lowered = {c.lower(): c for c in columns}
    close = [lowered[c] for c in difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.5)]
    for c in columns:
        if len(close) >= n:
            break
        if c not in close and (name.lower() in c.lower() or c.lower() in name.lower()):
            close.append(c)
    return close


@dataclass
class MappedTable:
    """A contract table read through a mapping, with the counts the import report shows."""

    table: str
    frame: pd.DataFrame
    where: str
    rows_read: int
    rows_filtered: int
    rows_rejected: int
    reasons: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[str] = field(default_factory=list)

    @property
    def rows_kept(self) -> int:
        return len(self.frame)


class _Builder:
    """Builds the ibis expressions of one table's columns; knows the key path for every message."""

    def __init__(self, rel: Relation, cfg: SourcesConfig, key: str, table_zone: str | None) -> None:
        import ibis.expr.datatypes as dt

        self.rel = rel
        self.t = rel.table
        self.cfg = cfg
        self.key = key
        self.schema = self.t.schema()
        self.columns = list(self.schema.names)
        self.table_zone = table_zone or cfg.timezone
        self.dt = dt

    # ----------------------------------------------------------------------------------------- lookups
    def col(self, name: str, key: str) -> ir.Column:
        if name not in self.schema:
            close = closest_columns(name, self.columns)
            listed = ", ".join(self.columns[:25]) + (", ..." if len(self.columns) > 25 else "")
            hint = (f"closest source columns: {', '.join(repr(c) for c in close)}; " if close else "") + (
                f"source columns are: {listed}"
            )
            raise ConfigError(
                f"source column '{name}' is not in {self.rel.where}; {hint}. Fix the name in the mapping.",
                file=self.cfg.file,
                key=key,
            )
        return self.t[name]

    def is_string(self, name: str) -> bool:
        return bool(self.schema[name].is_string())

    # ----------------------------------------------------------------------------------------- pieces
    def number(self, expr: ir.Value, *, text: bool) -> ir.NumericValue:
        if text:
            return expr.try_cast("float64")  # type: ignore[union-attr,return-value]
        return expr.cast("float64")  # type: ignore[return-value]

    def empty_as_null(self, expr: ir.Value, name: str | None, nulls: Sequence[str]) -> ir.Value:
        import ibis

        if name is not None and self.is_string(name):
            tokens = ["", *nulls]
            return ibis.cases((expr.strip().isin(tokens), ibis.null("string")), else_=expr)  # type: ignore[attr-defined]
        if nulls:
            return ibis.cases((expr.cast("string").isin(list(nulls)), ibis.null(expr.type())), else_=expr)
        return expr

    def timestamp(self, name: str, spec: ColumnSpec, key: str) -> ir.TimestampValue:

        dt = self.dt
        raw = self.empty_as_null(self.col(name, key), name, spec.null_values)
        zone = spec.timezone or self.table_zone
        out_zone = self.cfg.timezone
        naive_t = dt.Timestamp()
        aware_t = dt.Timestamp(timezone="UTC")
        col_type = self.schema[name]
        if col_type.is_timestamp() and col_type.timezone is not None:  # type: ignore[attr-defined]
            aware = raw
            return _to_local(out_zone, aware)
        if col_type.is_string():
            if zone == "offset":
                aware = raw.cast(aware_t) if spec.format is None else raw.as_timestamp(spec.format)  # type: ignore[attr-defined]
                return _to_local(out_zone, aware.cast(aware_t))
            naive = raw.cast(naive_t) if spec.format is None else raw.as_timestamp(spec.format).cast(naive_t)  # type: ignore[attr-defined]
        elif col_type.is_timestamp() or col_type.is_date():
            naive = raw.cast(naive_t)
        else:
            raise ConfigError(
                f"source column '{name}' has type {col_type}, not a timestamp or text; map a date/time column",
                file=self.cfg.file,
                key=key,
            )
        if zone in (out_zone, "offset"):
            return naive  # type: ignore[return-value]
        return _to_local(out_zone, _from_local(zone, naive))

    # ----------------------------------------------------------------------------------------- one column
    def column_expr(self, target: str, kind: str, spec: ColumnSpec) -> ir.Value:
        import ibis

        key = f"{self.key}.columns.{target}"
        origin = spec.origin
        text_source = False
        source_name: str | None = None
        if origin == "constant":
            expr: ir.Value = ibis.literal(spec.constant)
        elif origin in ("is_null", "not_null"):
            name = spec.is_null if origin == "is_null" else spec.not_null
            assert name is not None
            blank = self.empty_as_null(self.col(name, f"{key}.{origin}"), name, spec.null_values).isnull()
            expr = blank if origin == "is_null" else ~blank
        elif origin == "duration":
            assert spec.duration is not None
            start = self.timestamp(spec.duration["start"], spec, f"{key}.duration.start")
            end = self.timestamp(spec.duration["end"], spec, f"{key}.duration.end")
            expr = end.epoch_seconds().cast("float64") - start.epoch_seconds().cast("float64")
        elif origin == "sum":
            assert spec.sum is not None
            parts = [
                self.number(
                    self.empty_as_null(self.col(n, f"{key}.sum"), n, spec.null_values), text=self.is_string(n)
                ).fill_null(0.0)
                for n in spec.sum
            ]
            total = parts[0]
            for part in parts[1:]:
                total = total + part
            expr = total
        else:
            assert spec.column is not None
            source_name = spec.column
            if kind == "datetime" and spec.values is None:
                expr = self.timestamp(spec.column, spec, f"{key}.column")
                if spec.fill is not None:
                    expr = expr.fill_null(ibis.literal(pd.Timestamp(spec.fill)))  # type: ignore[arg-type]
                return expr
            expr = self.empty_as_null(self.col(spec.column, f"{key}.column"), spec.column, spec.null_values)
            text_source = self.is_string(spec.column)
        if spec.number:
            expr = expr.cast("string").replace(",", "").re_extract(r"-?[0-9]+(\.[0-9]+)?", 0)  # type: ignore[attr-defined]
            expr = self.number(expr, text=True)
            text_source = False
        if spec.values is not None:
            expr = self.value_map(expr, target, kind, spec, source_name, key)
            text_source = False
        factor = (UNITS[spec.unit] if spec.unit else 1.0) * (
            spec.multiply if spec.multiply is not None else 1.0
        )
        if factor != 1.0:
            expr = self.number(expr, text=text_source) * factor
            text_source = False
        if kind in ("float", "int") and origin != "constant":
            expr = self.number(expr, text=text_source)
        elif kind == "str" and origin != "constant":
            expr = expr.cast("string")
        if spec.fill is not None:
            expr = expr.fill_null(_literal(spec.fill, kind, f"{key}.fill", self.cfg))
        return expr

    def value_map(
        self, expr: ir.Value, target: str, kind: str, spec: ColumnSpec, source_name: str | None, key: str
    ) -> ir.Value:
        import ibis

        assert spec.values is not None
        as_text = expr.cast("string").strip()  # type: ignore[attr-defined]
        if spec.default is None:
            # values the map does not cover are an error: list them (with row counts) before anything runs
            t = self.t.mutate(_cx_value=as_text)
            missing = (
                t.filter(t._cx_value.notnull() & ~t._cx_value.isin(list(spec.values)))
                .group_by("_cx_value")
                .agg(rows=lambda s: s.count())
                .order_by(ibis.desc("rows"))
                .limit(10)
            )
            found = self.rel.backend.execute(missing)
            if len(found):
                listed = ", ".join(
                    f"{v!r} ({n:,} rows)" for v, n in zip(found["_cx_value"], found["rows"], strict=True)
                )
                raise ConfigError(
                    f"the value map leaves source value(s) of '{source_name or target}' unmapped: {listed}; add "
                    f"them under values: (to a {target} value, or to null) or set default:",
                    file=self.cfg.file,
                    key=f"{key}.values",
                )
        cases = [
            (as_text == source_value, _literal(value, kind, f"{key}.values.{source_value}", self.cfg))
            for source_value, value in spec.values.items()
        ]
        default = _literal(spec.default, kind, f"{key}.default", self.cfg)
        return ibis.cases(*cases, else_=default)

    # ----------------------------------------------------------------------------------------- filters
    def predicate(self, i: int, flt: RowFilter) -> ir.BooleanValue:
        key = f"{self.key}.filters[{i}]"
        col = self.col(flt.column, f"{key}.column")
        text = self.is_string(flt.column)
        if flt.op == "is_null":
            return self.empty_as_null(col, flt.column, ()).isnull()
        if flt.op == "not_null":
            return self.empty_as_null(col, flt.column, ()).notnull()
        operands: list[Any] = list(flt.values or []) if flt.op in ("in", "not_in") else [flt.value]
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in operands)
        lhs: ir.Value = self.number(col, text=True) if (numeric and text) else col
        if not numeric and not text:
            lhs = col.cast("string")
            operands = [str(v) for v in operands]
        if flt.op == "in":
            return lhs.isin(operands)
        if flt.op == "not_in":
            return ~lhs.isin(operands)
        value = operands[0]
        return {
            "eq": lambda: lhs == value,
            "ne": lambda: lhs != value,
            "gt": lambda: lhs > value,
            "ge": lambda: lhs >= value,
            "lt": lambda: lhs < value,
            "le": lambda: lhs <= value,
        }[flt.op]()


def _from_local(zone: str, naive: ir.Value) -> ir.Value:
    from cx_framework.sources._tz import local_to_instant

    return local_to_instant(zone, naive)  # type: ignore[no-any-return]


def _to_local(zone: str, aware: ir.Value) -> ir.TimestampValue:
    from cx_framework.sources._tz import instant_to_local

    return instant_to_local(zone, aware)  # type: ignore[no-any-return]


def _literal(value: Any, kind: str, key: str, cfg: SourcesConfig) -> Any:
    """An ibis literal of the contract kind (``None`` becomes a typed null)."""
    import ibis

    types = {
        "str": "string",
        "int": "float64",
        "float": "float64",
        "bool": "boolean",
        "datetime": "timestamp",
    }
    if value is None:
        return ibis.null(types[kind])
    if kind == "bool":
        if isinstance(value, bool):
            return ibis.literal(value)
        text = str(value).strip().lower()
        if text in _TRUE or text in _FALSE:
            return ibis.literal(text in _TRUE)
        raise ConfigError(f"{value!r} is not a true/false value for a yes/no column", file=cfg.file, key=key)
    if kind in ("int", "float"):
        try:
            return ibis.literal(float(value), type="float64")
        except (TypeError, ValueError):
            raise ConfigError(f"{value!r} is not a number", file=cfg.file, key=key) from None
    if kind == "datetime":
        return ibis.literal(pd.Timestamp(value).to_pydatetime())
    return ibis.literal(str(value), type="string")


def _check_one_column_one_target(
    table: str, columns: dict[str, ColumnSpec], cfg: SourcesConfig, key: str
) -> None:
    seen: dict[str, str] = {}
    for target, spec in columns.items():
        if spec.column is None:
            continue
        if spec.column in seen:
            raise ConfigError(
                f"source column '{spec.column}' is mapped to two targets, '{seen[spec.column]}' and '{target}'; "
                "map each contract column to its own source column (use constant: for a fixed value)",
                file=cfg.file,
                key=f"{key}.columns.{target}",
            )
        seen[spec.column] = target


def mapped_expression(
    table: str, source: TableSource, cfg: SourcesConfig, *, rel: Relation | None = None
) -> tuple[ibis.Table, ibis.Table, Relation]:
    """The filtered source rows and the mapped contract table as ibis expressions (nothing runs yet).

    Returns
    -------
    (filtered, mapped, relation)
        ``filtered`` are the source rows after ``filters``; ``mapped`` has one column per mapped contract
        column, named as in the contract.

    Raises
    ------
    ConfigError
        Unknown source column (with the closest names), two targets from one source column, a value map that
        leaves values unmapped (listing them), a contract column that is not mapped; names the key path.
    """
    from cx_framework.schemas import column_kinds

    key = f"tables.{table}"
    rel = rel if rel is not None else relation(source, cfg, key=key)
    kinds = column_kinds(table)
    unknown = [c for c in source.columns if c not in kinds]
    if unknown:
        hints = [
            f"'{u}'"
            + (f" (did you mean '{m[0]}'?)" if (m := difflib.get_close_matches(u, list(kinds), n=1)) else "")
            for u in unknown
        ]
        raise ConfigError(
            f"{', '.join(hints)} is not a column of the '{table}' contract table; its columns are {', '.join(kinds)}",
            file=cfg.file,
            key=f"{key}.columns",
        )
    _check_one_column_one_target(table, source.columns, cfg, key)
    builder = _Builder(rel, cfg, key, source.timezone)
    filtered = rel.table
    for i, flt in enumerate(source.filters):
        filtered = filtered.filter(builder.predicate(i, flt))
    builder.t = filtered
    optional = {"threshold_s", "volume"}
    missing = [c for c in kinds if c not in source.columns and c not in optional]
    if missing:
        raise ConfigError(
            f"contract column(s) {', '.join(missing)} of '{table}' are not mapped; map each to a source column "
            f"(e.g. {missing[0]}: <source column>) or a constant ({missing[0]}: {{constant: ...}}). "
            f"Source columns: {', '.join(builder.columns[:25])}",
            file=cfg.file,
            key=f"{key}.columns",
        )
    repeat = {t: s for t, s in source.columns.items() if s.no_repeat_within_days is not None}
    for target in repeat:
        if target != "resolved_first_contact" or table != "contacts":
            raise ConfigError(
                "no_repeat_within_days derives contacts.resolved_first_contact only",
                file=cfg.file,
                key=f"{key}.columns.{target}.no_repeat_within_days",
            )
    # contract column order, whatever order the mapping lists them in
    exprs = {
        target: builder.column_expr(target, kinds[target], source.columns[target]).name(target)
        for target in kinds
        if target in source.columns and target not in repeat
    }
    mapped = filtered.select(**exprs)
    if repeat:
        mapped = _no_repeat(mapped, float(repeat["resolved_first_contact"].no_repeat_within_days or 0.0))
        mapped = mapped.select(*[c for c in kinds if c in source.columns])
    return filtered, mapped, rel


def _no_repeat(mapped: ibis.Table, days: float) -> ibis.Table:
    """``resolved_first_contact`` = the customer's next contact (any channel) is more than ``days`` later, or
    there is none: the repeat-contact measure of first-contact resolution (a contact followed by another from the
    same customer within the window counts as not resolved)."""
    import ibis

    # the window reorders rows: number them first so the source order (and row positions in reports) survive
    numbered = mapped.mutate(_cx_row=ibis.row_number())
    window = ibis.window(group_by="customer_id", order_by=["timestamp", "contact_id"])
    nxt = numbered.timestamp.lead().over(window)
    gap = nxt.epoch_seconds().cast("float64") - numbered.timestamp.epoch_seconds().cast("float64")
    flagged = numbered.mutate(resolved_first_contact=nxt.isnull() | (gap > days * 86400.0))
    return flagged.order_by("_cx_row").drop("_cx_row")


def _reasons(failures: pd.DataFrame) -> pd.DataFrame:
    rows = failures[failures["row"].notna()]
    if rows.empty:
        return pd.DataFrame(columns=["column", "check", "rows", "examples"])
    grouped = rows.groupby(["column", "check"], sort=False, dropna=False)
    out = grouped.agg(
        rows=("row", "nunique"), examples=("value", lambda v: ", ".join(map(repr, pd.unique(v)[:3])))
    )
    return out.reset_index().sort_values("rows", ascending=False, kind="stable").reset_index(drop=True)


def read_table_source(table: str, source: TableSource, cfg: SourcesConfig) -> MappedTable:
    """Read one contract table through its mapping, validate it, and keep or reject the invalid rows.

    With ``on_invalid: reject`` (default) rows failing a contract check are left out and counted with their
    reasons; with ``on_invalid: error`` any failure raises.

    Raises
    ------
    ConfigError
        Mapping mistakes (see :func:`mapped_expression`), unreadable sources, failing queries.
    DataValidationError
        Table-level failures (no rows), or any failure with ``on_invalid: error``.
    """
    from cx_framework.schemas import validate

    filtered, mapped, rel = mapped_expression(table, source, cfg)
    try:
        rows_read = int(rel.backend.execute(rel.table.count()))
        rows_after = int(rel.backend.execute(filtered.count()))
        frame = rel.backend.execute(mapped)
    except ConfigError:
        raise
    except Exception as exc:  # errors raised by the database while running the mapping
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(
            f"reading {rel.where} through the mapping failed: {first}; check the column types the mapping "
            "expects (numbers, timestamps and their format)",
            file=cfg.file,
            key=f"tables.{table}",
        ) from None
    frame = frame.reset_index(drop=True)
    where = f"{rel.where} (through {cfg.file or 'sources'}: tables.{table})"
    try:
        valid = validate(table, frame, file=where)
        return MappedTable(table, valid, rel.where, rows_read, rows_read - rows_after, 0)
    except DataValidationError as exc:
        failures = exc.failures
        row_level = failures["row"].notna()
        if source.on_invalid == "error" or not row_level.any() or (~row_level).any():
            raise
        bad = pd.unique(failures.loc[row_level, "row"].astype("int64"))
        kept = frame.drop(index=bad).reset_index(drop=True)
        if kept.empty:
            raise
        valid = validate(table, kept, file=where)
        return MappedTable(
            table, valid, rel.where, rows_read, rows_read - rows_after, len(bad), _reasons(failures)
        )


def read_sessions(sessions: Any, cfg: SourcesConfig) -> pd.DataFrame:
    """Agent sessions (``agent_id, queue, start, end``) of a ``derive: contacts`` table, read through its mapping."""
    key = "tables.intervals.agent_sessions"
    rel = relation(sessions, cfg, key=key)
    builder = _Builder(rel, cfg, key, sessions.timezone)
    filtered = rel.table
    for i, flt in enumerate(sessions.filters):
        filtered = filtered.filter(builder.predicate(i, flt))
    builder.t = filtered
    kinds = {"agent_id": "str", "queue": "str", "start": "datetime", "end": "datetime"}
    exprs = {c: builder.column_expr(c, kinds[c], sessions.columns[c]).name(c) for c in kinds}
    frame = rel.backend.execute(filtered.select(**exprs))
    bad = frame["start"].isna() | frame["end"].isna() | (frame["end"] < frame["start"])
    if bad.any():
        first = int(bad.to_numpy().nonzero()[0][0])
        raise DataValidationError(
            f"{rel.where}: {int(bad.sum()):,} agent session(s) have an empty start/end or end before start "
            f"(first at row {first}); fix them or filter them out ({key}.filters).",
            table="agent_sessions",
            file=rel.where,
        )
    return frame.astype({"start": "datetime64[ns]", "end": "datetime64[ns]"})
