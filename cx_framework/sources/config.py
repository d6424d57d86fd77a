"""``sources.yaml``: where each contract table's rows are and how source columns become contract columns.

A sources file names, per table of the data contract (:data:`cx_framework.schemas.TABLES`), one source of rows
(a file or glob of CSV/Parquet files, a DuckDB database file, or a table / query over a database connection)
and a mapping of contract columns to source columns with value maps, unit conversions, timestamp formats and
time zones, constants and row filters. ``intervals`` may instead be *derived* from call-level ``contacts``.

.. code-block:: yaml

    timezone: Europe/London            # zone the contract tables are written in (default UTC)
    connections:
      warehouse: {url_env: CX_WAREHOUSE_URL}     # postgresql://user:password@host:5432/db
    tables:
      contacts:
        preset: generic_cdr            # column names and value maps from cx_framework/sources/presets/
        file: raw/calls_*.csv
        columns:
          customer_id: caller_number   # override or add to the preset
          channel: {constant: phone}
        filters:
          - {column: direction, op: eq, value: inbound}
      employees:
        connection: warehouse
        query: select * from hr.employees where active
        columns:
          employee_id: emp_no
          base_salary: {column: salary_monthly, multiply: 12}
      intervals:
        derive: contacts               # offered, answered, within threshold, abandoned, AHT per queue+interval
        interval_minutes: 30
        threshold_s: 20

Every model forbids unknown keys; :func:`load_sources` names the file, key path and line of each mistake.
"""

from __future__ import annotations

import os
import zoneinfo
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from cx_framework.errors import ConfigError

__all__ = [
    "ColumnSpec",
    "RowFilter",
    "Connection",
    "AgentSessions",
    "TableSource",
    "SourcesConfig",
    "load_sources",
    "parse_sources",
    "UNITS",
]

#: Unit conversions a mapped column can carry: factor to seconds for durations, to a share 0-1 for rates.
UNITS: dict[str, float] = {
    "seconds": 1.0,
    "milliseconds": 0.001,
    "minutes": 60.0,
    "hours": 3600.0,
    "days": 86400.0,
    "percent": 0.01,
    "share": 1.0,
}

Scalar = str | int | float | bool


def _check_zone(zone: str, what: str) -> str:
    if zone == "offset":
        return zone
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        import difflib

        close = difflib.get_close_matches(zone, sorted(_zones()), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(z) for z in close)}?" if close else ""
        raise ValueError(
            f"unknown {what} time zone {zone!r}; use an IANA name such as 'Europe/London', 'America/New_York' "
            f"or 'UTC'.{hint}"
        ) from None
    return zone


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


_ORIGINS = ("column", "sum", "duration", "is_null", "not_null", "constant", "no_repeat_within_days")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnSpec(_Model):
    """How one contract column is computed from the source row.

    Exactly one origin: ``column`` (a source column), ``sum`` (source columns added, missing as 0),
    ``duration`` (seconds from the ``start`` column to the ``end`` column), ``is_null`` / ``not_null``
    (a boolean from whether a source column is empty), ``constant`` or, for ``resolved_first_contact``,
    ``no_repeat_within_days`` (True when the same customer does not contact again within that many days — the
    repeat-contact measure of first-contact resolution when the export has no resolution flag). Then, in this order: ``number``
    (pull the number out of text such as ``"52000.00 USD"``), ``null_values`` (source texts that mean
    "empty", e.g. ``"0000-00-00"``), ``values`` (value map; any source value not
    in it is an error unless ``default`` is given), ``unit`` (to seconds / shares), ``multiply``, ``fill``
    (value for empty cells). Timestamps: ``format`` (strptime, e.g. ``"%d/%m/%Y %H:%M"``) and ``timezone``
    (zone of the source values; ``offset`` when the values carry their own UTC offset, e.g. ``...Z``).
    """

    column: str | None = None
    sum: list[str] | None = None
    duration: dict[Literal["start", "end"], str] | None = None
    is_null: str | None = None
    not_null: str | None = None
    constant: Scalar | None = None
    no_repeat_within_days: float | None = Field(default=None, gt=0)
    number: bool = False
    null_values: list[str] = Field(default_factory=list)
    values: dict[str, Scalar | None] | None = None
    default: Scalar | None = None
    unit: Literal["seconds", "milliseconds", "minutes", "hours", "days", "percent", "share"] | None = None
    multiply: float | None = None
    fill: Scalar | None = None
    format: str | None = None
    timezone: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        # `queue: QueueName` is short for `queue: {column: QueueName}`
        if isinstance(data, str):
            return {"column": data}
        if isinstance(data, dict) and isinstance(data.get("values"), dict):
            # YAML reads `1:` / `true:` keys as int / bool; source values are compared as text
            data = {**data, "values": {_text_key(k): v for k, v in data["values"].items()}}
        return data

    @model_validator(mode="after")
    def _one_origin(self) -> ColumnSpec:
        origins = [name for name in _ORIGINS if getattr(self, name) is not None]
        if len(origins) != 1:
            raise ValueError(
                "give exactly one of column, sum, duration, is_null, not_null, constant, no_repeat_within_days"
                + (f" (got {', '.join(origins)})" if origins else "")
            )
        if self.duration is not None and set(self.duration) != {"start", "end"}:
            raise ValueError("duration needs both 'start' and 'end' source columns")
        if self.sum is not None and not self.sum:
            raise ValueError("sum needs at least one source column")
        if self.timezone is not None:
            _check_zone(self.timezone, "column")
        if self.no_repeat_within_days is not None and any(
            v not in (None, False, [])
            for v in (self.values, self.unit, self.multiply, self.fill, self.number or None)
        ):
            raise ValueError("no_repeat_within_days takes no values, unit, multiply, fill or number")
        return self

    @property
    def origin(self) -> str:
        """Which origin key is set (``column``, ``sum``, ...)."""
        for name in _ORIGINS:
            if getattr(self, name) is not None:
                return name
        raise AssertionError("validated ColumnSpec has an origin")  # pragma: no cover

    @property
    def source_columns(self) -> list[str]:
        """Source columns this spec reads."""
        if self.column is not None:
            return [self.column]
        if self.sum is not None:
            return list(self.sum)
        if self.duration is not None:
            return [self.duration["start"], self.duration["end"]]
        if self.is_null is not None:
            return [self.is_null]
        if self.not_null is not None:
            return [self.not_null]
        return []


def _text_key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


_OPS = ("eq", "ne", "in", "not_in", "gt", "ge", "lt", "le", "is_null", "not_null")


class RowFilter(_Model):
    """Keep only source rows where ``column <op> value`` (``in`` / ``not_in`` take a list in ``values``)."""

    column: str
    op: Literal["eq", "ne", "in", "not_in", "gt", "ge", "lt", "le", "is_null", "not_null"] = "eq"
    value: Scalar | None = None
    values: list[Scalar] | None = None

    @model_validator(mode="after")
    def _operands(self) -> RowFilter:
        if self.op in ("in", "not_in"):
            if not self.values:
                raise ValueError(f"op '{self.op}' needs a non-empty list in 'values'")
        elif self.op in ("is_null", "not_null"):
            if self.value is not None or self.values is not None:
                raise ValueError(f"op '{self.op}' takes no value")
        elif self.value is None:
            raise ValueError(f"op '{self.op}' needs a 'value'")
        return self


class Connection(_Model):
    """A database connection: ``url`` (``postgresql://user:password@host:port/db`` or ``duckdb:///file``) or
    ``url_env``, the name of an environment variable holding it (keeps passwords out of the file)."""

    url: str | None = None
    url_env: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Connection:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give exactly one of 'url' or 'url_env'")
        return self

    def resolved_url(self, name: str, *, file: str | None = None) -> str:
        """The URL, reading ``url_env`` from the environment (ConfigError naming ``file`` and the key if unset)."""
        if self.url is not None:
            return self.url
        assert self.url_env is not None
        value = os.environ.get(self.url_env)
        if not value:
            raise ConfigError(
                f"environment variable {self.url_env} is not set; export it with the database URL "
                "(e.g. postgresql://user:password@host:5432/db)",
                key=f"connections.{name}.url_env",
                file=file,
            )
        return value


class AgentSessions(_Model):
    """Agent login / state sessions used for ``agents_staffed`` of derived intervals.

    Rows are (agent, queue, session start, session end); an interval's ``agents_staffed`` is the logged-in
    time overlapping it divided by the interval length. Same row sources and mapping keys as a table; the
    mapped columns are ``agent_id``, ``queue``, ``start``, ``end``.
    """

    file: str | None = None
    duckdb: str | None = None
    connection: str | None = None
    table: str | None = None
    query: str | None = None
    encoding: str = "utf-8"
    delimiter: str | None = None
    columns: dict[str, ColumnSpec] = Field(default_factory=dict)
    filters: list[RowFilter] = Field(default_factory=list)
    timezone: str | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else _check_zone(value, "table")

    @field_validator("columns")
    @classmethod
    def _known(cls, value: dict[str, ColumnSpec]) -> dict[str, ColumnSpec]:
        unknown = set(value) - {"agent_id", "queue", "start", "end"}
        if unknown:
            raise ValueError(
                f"unknown column(s) {sorted(unknown)}; agent sessions map agent_id, queue, start, end"
            )
        return value


class TableSource(_Model):
    """Where one contract table's rows are and how they map (see the module docstring)."""

    preset: str | None = None
    file: str | None = None
    duckdb: str | None = None
    connection: str | None = None
    table: str | None = None
    query: str | None = None
    encoding: str = "utf-8"
    delimiter: str | None = None
    columns: dict[str, ColumnSpec] = Field(default_factory=dict)
    filters: list[RowFilter] = Field(default_factory=list)
    timezone: str | None = None
    on_invalid: Literal["reject", "error"] = "reject"
    derive: Literal["contacts"] | None = None
    interval_minutes: int = Field(default=30, gt=0, le=1440)
    threshold_s: float = Field(default=20.0, ge=0)
    channel: str = "phone"
    agent_sessions: AgentSessions | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else _check_zone(value, "table")

    @model_validator(mode="after")
    def _one_location(self) -> TableSource:
        if self.derive is not None:
            if any(v is not None for v in (self.file, self.duckdb, self.connection, self.table, self.query)):
                raise ValueError("a derived table takes no file, duckdb, connection, table or query")
            return self
        if self.agent_sessions is not None:
            raise ValueError("agent_sessions only applies to 'derive: contacts'")
        _check_location(self.file, self.duckdb, self.connection, self.table, self.query)
        return self


def _check_location(
    file: str | None, duckdb: str | None, connection: str | None, table: str | None, query: str | None
) -> None:
    places = [name for name, v in (("file", file), ("duckdb", duckdb), ("connection", connection)) if v]
    if len(places) != 1:
        raise ValueError(
            "give exactly one of 'file' (CSV/Parquet path or glob), 'duckdb' (database file) or "
            "'connection' (name under connections:)" + (f"; got {', '.join(places)}" if places else "")
        )
    if file is not None and (table is not None or query is not None):
        raise ValueError("'table' and 'query' go with 'duckdb' or 'connection', not with 'file'")
    if file is None and (table is None) == (query is None):
        raise ValueError("with 'duckdb' or 'connection' give exactly one of 'table' or 'query'")


def _check_agent_sessions(value: AgentSessions) -> AgentSessions:
    _check_location(value.file, value.duckdb, value.connection, value.table, value.query)
    missing = {"agent_id", "queue", "start", "end"} - set(value.columns)
    if missing:
        raise ValueError(f"agent_sessions.columns must map {sorted(missing)}")
    return value


class SourcesConfig(_Model):
    """The whole ``sources.yaml``."""

    version: Literal[1] = 1
    timezone: str = "UTC"
    connections: dict[str, Connection] = Field(default_factory=dict)
    tables: dict[str, TableSource]
    #: folder the file paths are relative to (the sources file's folder); not a YAML key
    base_dir: Path = Field(default=Path("."), exclude=True)
    file: str | None = Field(default=None, exclude=True)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if value == "offset":
            raise ValueError("the output time zone must be a zone name such as 'UTC' or 'Europe/London'")
        return _check_zone(value, "output")

    @field_validator("tables")
    @classmethod
    def _tables(cls, value: dict[str, TableSource]) -> dict[str, TableSource]:
        from cx_framework.schemas import REQUIRED_TABLES

        unknown = [name for name in value if name not in REQUIRED_TABLES]
        if unknown:
            import difflib

            hints = []
            for name in unknown:
                close = difflib.get_close_matches(name, REQUIRED_TABLES, n=1)
                hints.append(f"'{name}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
            raise ValueError(
                f"unknown table(s) {', '.join(hints)}; contract tables are {', '.join(REQUIRED_TABLES)}"
            )
        if not value:
            raise ValueError("name at least one table")
        for name, source in value.items():
            if source.derive is not None and name != "intervals":
                raise ValueError(f"only 'intervals' can be derived (tables.{name}.derive)")
            if source.derive == "contacts" and "contacts" not in value:
                raise ValueError(
                    "tables.intervals.derive: contacts needs a 'contacts' table in the same file"
                )
            if source.agent_sessions is not None:
                _check_agent_sessions(source.agent_sessions)
        return value

    @model_validator(mode="after")
    def _connections_exist(self) -> SourcesConfig:
        for name, source in self.tables.items():
            refs = [source.connection]
            if source.agent_sessions is not None:
                refs.append(source.agent_sessions.connection)
            for ref in refs:
                if ref is not None and ref not in self.connections:
                    known = ", ".join(sorted(self.connections)) or "none defined"
                    raise ValueError(f"tables.{name}: unknown connection '{ref}' (connections: {known})")
        return self

    def path(self, relative: str) -> Path:
        """A path from the file, resolved against the sources file's folder."""
        p = Path(os.path.expanduser(relative))
        return p if p.is_absolute() else self.base_dir / p


def parse_sources(
    data: Any, *, file: str | None = None, base_dir: str | os.PathLike[str] = ".", node: Any = None
) -> SourcesConfig:
    """Validate a parsed ``sources.yaml`` mapping (presets applied) into :class:`SourcesConfig`.

    Raises
    ------
    ConfigError
        Naming ``file``, the key path (``tables.contacts.columns.wait_s``) and, with ``node``, the line.
    """
    from cx_framework.config._yaml import format_loc, line_of
    from cx_framework.sources.presets import apply_presets

    if not isinstance(data, dict):
        raise ConfigError("expected a mapping with a 'tables:' key", file=file)
    data = apply_presets(data, file=file)
    try:
        return SourcesConfig.model_validate({**data, "base_dir": Path(base_dir), "file": file})
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(
            part
            for part in first["loc"]
            if not (isinstance(part, str) and part.startswith(("function-", "str", "ColumnSpec")))
        )
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = f"unknown key '{loc[-1]}'; remove it or check its spelling"
        elif first["type"] == "missing":
            message = f"required key '{loc[-1]}' is missing"
        more = f" (and {len(exc.errors()) - 1} more problem(s))" if len(exc.errors()) > 1 else ""
        raise ConfigError(
            message + more, file=file, key=format_loc(loc) or None, line=line_of(node, loc)
        ) from None


def load_sources(path: str | os.PathLike[str]) -> SourcesConfig:
    """Read and validate a ``sources.yaml`` file; relative paths in it are relative to its folder.

    Raises
    ------
    ConfigError
        Missing file, YAML syntax, unknown keys, an unknown preset or time zone, a table without a row source;
        the message names the file, key path and line.
    """
    from cx_framework.config._yaml import read_yaml

    file = Path(path)
    data, node = read_yaml(file)
    return parse_sources(data, file=str(file), base_dir=file.resolve().parent, node=node)
