"""Rows of a source as an ibis table: files and DuckDB database files through embedded DuckDB, SQL databases
(PostgreSQL) through their ibis backend.

:func:`connect` is the one place a backend is opened, so the engine layer can take it over later; every
failure becomes a :class:`~cx_framework.errors.ConfigError` naming the sources key and what to do.
"""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cx_framework.errors import ConfigError

if TYPE_CHECKING:
    import ibis
    from ibis.backends import BaseBackend

    from cx_framework.sources.config import AgentSessions, SourcesConfig, TableSource

__all__ = ["Relation", "connect", "relation"]


@dataclass
class Relation:
    """Source rows as an ibis table plus where they came from (for messages) and the backend that runs them."""

    table: ibis.Table
    backend: BaseBackend
    where: str


def _redact(url: str) -> str:
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def connect(url: str, *, key: str, file: str | None = None) -> BaseBackend:
    """Open an ibis backend for ``url`` (``postgresql://...``, ``postgres://...``, ``duckdb:///path``).

    Raises
    ------
    ConfigError
        Unsupported scheme, unreachable server, wrong credentials, unknown database; names ``key``.
    """
    import ibis

    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    shown = _redact(url)
    if scheme in ("postgresql", "postgres"):
        try:
            import psycopg
        except ModuleNotFoundError:  # pragma: no cover - installed with the package's extras
            raise ConfigError(
                "reading PostgreSQL needs the 'psycopg' driver: pip install 'cx_framework[db]'",
                file=file,
                key=key,
            ) from None
        try:
            return ibis.connect(url.replace("postgres://", "postgresql://", 1))
        except psycopg.OperationalError as exc:
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            low = text.lower()
            if (
                "password authentication failed" in low
                or "authentication failed" in low
                or "no password" in low
            ):
                what = "wrong user name or password"
                todo = "check the credentials in the URL (or the environment variable that holds it)"
            elif "does not exist" in low:
                what = "the database or role does not exist"
                todo = "check the database name at the end of the URL"
            else:
                what = "the database server is unreachable"
                todo = "check host and port, that the server runs and accepts TCP connections"
            raise ConfigError(
                f"cannot connect to {shown}: {what} ({text}); {todo}", file=file, key=key
            ) from None
    if scheme == "duckdb":
        # duckdb:///abs/path.duckdb -> /abs/path.duckdb; duckdb://relative.duckdb -> relative.duckdb
        path = url[len("duckdb://") :]
        return _duckdb_file(Path(path), key=key, file=file)
    raise ConfigError(
        f"unsupported database URL {shown}; use postgresql://user:password@host:port/database or duckdb:///path",
        file=file,
        key=key,
    )


def _duckdb_file(path: Path, *, key: str, file: str | None) -> BaseBackend:
    import duckdb
    import ibis

    if not path.is_file():
        raise ConfigError(f"DuckDB database file {path} not found; check the path", file=file, key=key)
    try:
        return ibis.duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise ConfigError(f"cannot open DuckDB database {path}: {exc}", file=file, key=key) from None


def _memory() -> BaseBackend:
    import ibis

    return ibis.duckdb.connect()


_CSV = (".csv", ".csv.gz", ".txt", ".tsv")
_PARQUET = (".parquet", ".pq")


def _read_files(source: TableSource | AgentSessions, cfg: SourcesConfig, key: str) -> Relation:
    import duckdb

    assert source.file is not None
    pattern = str(cfg.path(source.file))
    paths = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
    if not paths or not Path(paths[0]).exists():
        raise ConfigError(
            f"no file matches {pattern}; check the path (relative paths are relative to the sources file)",
            file=cfg.file,
            key=f"{key}.file",
        )
    suffixes = {next((s for s in _CSV + _PARQUET if p.lower().endswith(s)), "") for p in paths}
    if "" in suffixes or len({s in _PARQUET for s in suffixes}) > 1:
        raise ConfigError(
            f"{pattern}: files must all be CSV (.csv, .csv.gz, .tsv, .txt) or all Parquet (.parquet, .pq)",
            file=cfg.file,
            key=f"{key}.file",
        )
    con = _memory()
    where = pattern
    try:
        if next(iter(suffixes)) in _PARQUET:
            table = con.read_parquet(paths)
        else:
            options: dict[str, Any] = {"all_varchar": True, "header": True}
            encoding = source.encoding.lower().replace("_", "-")
            if encoding not in ("utf-8", "utf8"):
                options["encoding"] = encoding
            if source.delimiter is not None:
                options["delim"] = source.delimiter
            table = con.read_csv(paths, **options)
            # Materialise once so an undecodable byte surfaces here, with the file named, not mid-import.
            con.raw_sql(f"SELECT count(*) FROM {table.get_name()}").fetchall()  # type: ignore[attr-defined]
    except (duckdb.Error, UnicodeDecodeError) as exc:
        text = str(exc)
        if "unicode" in text.lower() or "utf" in text.lower() or "encoding" in text.lower():
            raise ConfigError(
                f"{where} is not {source.encoding} text ({text.splitlines()[0]}); set 'encoding:' to the file's "
                "encoding (e.g. latin-1, utf-16 or windows-1252) or save it as UTF-8",
                file=cfg.file,
                key=f"{key}.encoding",
            ) from None
        raise ConfigError(
            f"cannot read {where}: {text.splitlines()[0]}", file=cfg.file, key=f"{key}.file"
        ) from None
    return Relation(table, con, where)


def relation(source: TableSource | AgentSessions, cfg: SourcesConfig, *, key: str) -> Relation:
    """The source rows of ``source`` (a table or agent-session block of ``cfg``) as an ibis table.

    ``key`` is the block's key path (``tables.contacts``), used in every message.
    """
    if source.file is not None:
        return _read_files(source, cfg, key)
    if source.duckdb is not None:
        backend = _duckdb_file(cfg.path(source.duckdb), key=f"{key}.duckdb", file=cfg.file)
        where = f"DuckDB file {cfg.path(source.duckdb)}"
    else:
        assert source.connection is not None
        url = cfg.connections[source.connection].resolved_url(source.connection, file=cfg.file)
        backend = connect(url, key=f"connections.{source.connection}", file=cfg.file)
        where = f"connection '{source.connection}' ({_redact(url)})"
    return Relation(_table_or_query(backend, source, cfg, key, where), backend, where)


def _table_or_query(
    backend: BaseBackend, source: TableSource | AgentSessions, cfg: SourcesConfig, key: str, where: str
) -> ibis.Table:
    if source.table is not None:
        name = source.table
        database: Any = None
        if "." in name:
            database, name = name.rsplit(".", 1)
        try:
            return backend.table(name, database=database)
        except Exception as exc:  # backends raise their own error types for a missing table
            try:
                known = sorted(backend.list_tables(database=database))
            except Exception:  # pragma: no cover - listing is a courtesy
                known = []
            import difflib

            close = difflib.get_close_matches(name, known, n=3, cutoff=0.4)
            hint = (
                f"; closest: {', '.join(close)}"
                if close
                else (f"; tables: {', '.join(known[:10])}" if known else "")
            )
            raise ConfigError(
                f"table '{source.table}' not found in {where}{hint} ({type(exc).__name__})",
                file=cfg.file,
                key=f"{key}.table",
            ) from None
    assert source.query is not None
    try:
        if backend.name == "postgres":
            # ibis 12's PostgreSQL .sql() fails on its own schema probe; a session-scoped view is equivalent
            import uuid

            view = f"cx_query_{uuid.uuid4().hex[:12]}"
            with backend.raw_sql(f'CREATE TEMPORARY VIEW "{view}" AS {source.query}'):  # type: ignore[attr-defined]
                pass
            return backend.table(view)
        if backend.name == "duckdb":
            # ibis 12's DuckDB .sql() calls a method duckdb 2.0 removed (fetch_arrow_table); a temporary view
            # (allowed on a read-only database) is equivalent
            import uuid

            view = f"cx_query_{uuid.uuid4().hex[:12]}"
            backend.con.execute(f'CREATE TEMPORARY VIEW "{view}" AS {source.query}')  # type: ignore[attr-defined]
            return backend.table(view)
        return backend.sql(source.query)
    except Exception as exc:  # SQL errors come from the database driver
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(
            f"the query failed in {where}: {first}; run it in a SQL client to fix it",
            file=cfg.file,
            key=f"{key}.query",
        ) from None
