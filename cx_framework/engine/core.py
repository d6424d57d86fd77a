"""The engine: one object that owns an ibis backend (DuckDB or Spark) or stands for plain pandas.

ibis (https://ibis-project.org) gives one expression API over DuckDB, PySpark and the SQL warehouses customers'
data already live in, so every row-level step is written once as an ibis expression and runs where the rows are.
Only the small aggregated results come back as pandas frames (:meth:`Engine.execute`).

* ``duckdb`` (default for data directories): embedded, streams Parquet/CSV straight from disk, spills to
  ``spill_dir`` beyond ``memory_limit``.
* ``spark``: a SparkSession from the settings (master URL or Spark Connect ``sc://``); local mode for tests.
* ``pandas``: no backend; the library's in-memory pandas/numpy functions run on frames (small data, notebooks).

Engine failures never surface as a JVM stack trace or a bare DuckDB exception: :meth:`Engine.execute` translates
them into :class:`EngineError` naming the setting to change (``engine.memory_limit``, ``engine.spill_dir`` ...).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import weakref
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import pandas as pd

from cx_framework.engine.settings import ENGINES, EngineSettings, SparkSettings
from cx_framework.errors import CxError, DataValidationError

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = ["Engine", "EngineError", "connect", "ROW_COLUMN"]

#: Column added to every table read through the engine: the 0-based row position in its file (or frame).
ROW_COLUMN = "__cx_row"


class EngineError(CxError):
    """The engine cannot start or run: the message names the setting to change (``setting`` attribute)."""

    def __init__(self, message: str, *, setting: str | None = None) -> None:
        self.setting = setting
        super().__init__(message)


_SPARK_LOCK = threading.Lock()


def _format_of(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    raise DataValidationError(
        f"{path}: unsupported file type; use .parquet, .pq, .csv or .csv.gz.", file=str(path)
    )


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class Engine:
    """An engine for the row-level steps; create with :func:`connect`.

    Attributes
    ----------
    settings : EngineSettings
    kind : {"duckdb", "spark", "pandas"}
    backend : ibis backend or None
        ``ibis.duckdb`` / ``ibis.pyspark`` backend (None for ``pandas``). Use it for anything ibis can do
        (``engine.backend.table(name)``, ``engine.backend.read_parquet(...)``; with duckdb 2.0 use
        ``engine.backend.con`` for raw SQL: ibis 12's ``backend.sql()`` calls a method duckdb 2.0 removed).
    """

    def __init__(self, settings: EngineSettings, backend: Any, spark: Any = None) -> None:
        self.settings = settings
        self.kind = settings.kind
        self.backend = backend
        self._spark = spark
        self._counter = 0
        self._spill_cleanup: weakref.finalize[Any, Any] | None = None

    # ------------------------------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Close the DuckDB connection (a SparkSession is shared per process and left running)."""
        if self.kind == "duckdb" and self.backend is not None:
            with contextlib.suppress(Exception):
                self.backend.disconnect()
        if self._spill_cleanup is not None:
            self._spill_cleanup()  # the private spill directory (runs once; also at exit if never closed)

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Engine(kind={self.kind!r})"

    @property
    def is_pandas(self) -> bool:
        return self.kind == "pandas"

    def _name(self, stem: str) -> str:
        self._counter += 1
        return f"cx_{stem}_{self._counter}"

    # ------------------------------------------------------------------------------------------ reading
    def read(self, path: str | os.PathLike[str], *, text_columns: tuple[str, ...] = ()) -> ir.Table:
        """A Parquet or CSV file as a lazy ibis table with :data:`ROW_COLUMN` (0-based row in the file).

        Nothing is read until an expression over the table is executed. ``text_columns`` are read as text from
        CSV (ids such as ``007`` keep their leading zeros).

        Raises
        ------
        DataValidationError
            Missing file or unsupported suffix.
        EngineError
            ``kind == "pandas"`` (read with :func:`cx_framework.io.read_table` instead).
        """
        file = Path(path)
        fmt = _format_of(file)
        if not file.is_file():
            raise DataValidationError(f"File not found: {file}.", file=str(file))
        if self.kind == "duckdb":
            return self._duckdb_read(file, fmt, text_columns)
        if self.kind == "spark":
            return self._spark_read(file, fmt, text_columns)
        raise EngineError(
            "the pandas engine has no lazy tables; use cx_framework.io.read_table", setting="engine"
        )

    def _duckdb_read(self, file: Path, fmt: str, text_columns: tuple[str, ...]) -> ir.Table:
        con = self.backend.con
        name = self._name(file.name.split(".")[0])
        where = _sql_text(str(file))
        if fmt == "parquet":
            source = f"SELECT * EXCLUDE (file_row_number), file_row_number AS {ROW_COLUMN} FROM read_parquet({where}, file_row_number = true)"
        else:
            header = con.execute(f"SELECT * FROM read_csv({where}, header = true) LIMIT 0").description
            present = [c[0] for c in header]
            types = {c: "VARCHAR" for c in text_columns if c in present}
            types_sql = ", ".join(f"{_sql_text(k)}: {_sql_text(v)}" for k, v in types.items())
            options = f", types = {{{types_sql}}}" if types else ""
            # one reader thread keeps file order, so row_number() is the line order (CSV line = row + 2)
            source = (
                f"SELECT row_number() OVER () - 1 AS {ROW_COLUMN}, * FROM read_csv({where}, header = true{options}, "
                "parallel = false)"
            )
        try:
            con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {source}")
        except Exception as exc:  # duckdb.Error: unreadable file
            raise DataValidationError(
                f"{file}: cannot read it: {_first_line(exc)}.", file=str(file)
            ) from None
        return self.backend.table(name)

    def _spark_read(self, file: Path, fmt: str, text_columns: tuple[str, ...]) -> ir.Table:
        from pyspark.sql import functions as F

        spark = self._spark
        name = self._name(file.name.split(".")[0])
        try:
            if fmt == "parquet":
                frame = spark.read.parquet(str(file)).select(
                    "*", F.col("_metadata.row_index").alias(ROW_COLUMN)
                )
            else:
                frame = spark.read.option("header", True).option("inferSchema", True).csv(str(file))
                for c in text_columns:
                    if c in frame.columns:
                        frame = frame.withColumn(c, F.col(c).cast("string"))
                indexed = frame.rdd.zipWithIndex().map(lambda pair: (*pair[0], pair[1]))
                frame = spark.createDataFrame(indexed, [*frame.columns, ROW_COLUMN])
        except Exception as exc:
            raise _spark_error(exc, self.settings) from None
        frame.createOrReplaceTempView(name)
        return self.backend.table(name)

    def from_frame(self, frame: pd.DataFrame, *, name: str = "frame") -> ir.Table:
        """A pandas frame as an ibis table of this engine, with :data:`ROW_COLUMN` = row position."""
        import ibis

        data = frame.reset_index(drop=True).copy(deep=False)
        data[ROW_COLUMN] = range(len(data))
        if self.kind == "pandas":
            raise EngineError("the pandas engine works on frames directly", setting="engine")
        if self.kind == "spark":
            return ibis.memtable(_spark_ready(_arrow_ready(data)))
        return ibis.memtable(_arrow_ready(data))

    # ------------------------------------------------------------------------------------------ running
    def execute(self, expr: ir.Expr) -> Any:
        """Run an ibis expression on the backend and return the (small) result as pandas.

        Raises
        ------
        EngineError
            Out of memory, full spill disk, lost Spark cluster ... with the setting to change.
        """
        try:
            return self.backend.execute(expr)
        except CxError:
            raise
        except Exception as exc:
            raise translate_error(exc, self.settings) from None

    def cache(self, table: ir.Table) -> ir.Table:
        """Materialise ``table`` once in the engine (a DuckDB temp table, spilling to ``spill_dir`` beyond the
        memory limit; a cached Spark DataFrame) so the expressions built on it do not recompute it."""
        try:
            if self.kind == "duckdb":
                return self.backend.create_table(self._name("cache"), table, temp=True)
            return table.cache()
        except CxError:
            raise
        except Exception as exc:
            raise translate_error(exc, self.settings) from None

    def release(self, table: ir.Table) -> None:
        """Free what :meth:`cache` stored for ``table`` (drop the DuckDB temp table, unpersist on Spark)."""
        try:
            if self.kind == "duckdb":
                self.backend.drop_table(table.get_name(), force=True)
            elif callable(release := getattr(table, "release", None)):
                release()  # an ibis cached table (Spark: unpersist)
        except Exception:  # noqa: BLE001 - freeing early is an optimisation; the session frees it at the end
            return

    def scalar(self, expr: ir.Expr) -> Any:
        value = self.execute(expr)
        return value.item() if hasattr(value, "item") else value


# ---------------------------------------------------------------------------------------------- errors
def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def translate_error(exc: BaseException, settings: EngineSettings) -> EngineError:
    """A backend exception as an :class:`EngineError` naming the setting to change."""
    if settings.kind == "spark":
        return _spark_error(exc, settings)
    text = str(exc)
    low = text.lower()
    first = _first_line(exc)
    if "no space left on device" in low or "max_temp_directory_size" in low or "temp_directory" in low:
        where = settings.spill_dir or f"the system temp directory ({tempfile.gettempdir()})"
        return EngineError(
            f"the engine ran out of spill space in {where} ({first}). Free disk space there, point "
            "engine.spill_dir at a larger disk, or raise engine.spill_limit.",
            setting="engine.spill_dir",
        )
    if "out of memory" in low or "could not allocate" in low or "memory_limit" in low:
        limit = settings.memory_limit or "DuckDB's default (80% of RAM)"
        return EngineError(
            f"the engine ran out of memory (engine.memory_limit = {limit}): {first}. Raise engine.memory_limit "
            "(e.g. 4GB) or set engine.spill_dir to a disk with free space so DuckDB can spill.",
            setting="engine.memory_limit",
        )
    return EngineError(f"the {settings.kind} engine failed: {first}", setting="engine.kind")


def _jvm_reason(log: Path | None) -> str:
    """The JVM's own reason for failing, from its log (the first line that says what went wrong)."""
    if log is None:
        return ""
    try:
        lines = log.read_text(errors="replace").splitlines()[-400:]
    except OSError:
        return ""
    keys = (
        "must be at least",
        "too small",
        "invalid maximum heap",
        "invalid initial heap",
        "exception:",
        "error:",
    )
    for line in lines:
        low = line.lower()
        if any(k in low for k in keys) and not line.lstrip().startswith("at "):
            return line.strip()[:240]
    return ""


def _spark_error(exc: BaseException, settings: EngineSettings, *, log: Path | None = None) -> EngineError:
    text = str(exc)
    low = text.lower()
    first = _first_line(exc)
    reason = _jvm_reason(log)
    both = f"{low} {reason.lower()}"
    memory_words = (
        "must be at least",
        "too small maximum heap",
        "increase heap size",
        "invalid maximum heap",
    )
    if any(w in both for w in memory_words):
        driver = settings.spark.conf.get("spark.driver.memory", "Spark's default (1g)")
        return EngineError(
            f"Spark could not start with spark.driver.memory = {driver} ({reason or first}). Raise "
            "engine.spark.conf spark.driver.memory (e.g. '2g') in engine.yaml.",
            setting="engine.spark.conf",
        )
    if "java_home" in low or (
        ("java_gateway_exited" in low or "java gateway process exited" in low) and not _java_available()
    ):
        return _no_java()
    if "java_gateway_exited" in low or "java gateway process exited" in low:
        where = f" (JVM log: {log})" if log is not None else ""
        return EngineError(
            f"the Spark JVM did not start: {reason or first}{where}. Check engine.spark.conf (memory sizes, JVM "
            "options) and engine.spark.master in engine.yaml.",
            setting="engine.spark.conf",
        )
    if "outofmemory" in low or "java heap space" in low:
        return EngineError(
            f"Spark ran out of memory ({first}). Raise engine.spark.conf spark.driver.memory / "
            "spark.executor.memory, or use engine.kind: duckdb on one machine.",
            setting="engine.spark.conf",
        )
    if "connection refused" in low or "unavailable" in low or "failed to connect" in low:
        return EngineError(
            f"cannot reach the Spark cluster ({first}). Check engine.spark.master / engine.spark.remote.",
            setting="engine.spark.master",
        )
    return EngineError(f"the Spark engine failed: {first}", setting="engine.kind")


def _no_java() -> EngineError:
    return EngineError(
        "the Spark engine needs Java 17 or newer, and none was found (no `java` on PATH and JAVA_HOME unset or "
        "wrong). Install it (Debian/Ubuntu: apt-get install openjdk-17-jre-headless), set JAVA_HOME, or choose "
        "another engine: engine.kind: duckdb (or --engine duckdb).",
        setting="engine.kind",
    )


# ---------------------------------------------------------------------------------------------- connect
def connect(settings: EngineSettings | str | Mapping[str, Any] | None = None, **overrides: Any) -> Engine:
    """Start an engine.

    Parameters
    ----------
    settings : EngineSettings, engine name or mapping, optional
        ``"duckdb"`` (default), ``"spark"``, ``"pandas"``, an :class:`EngineSettings` (e.g. ``config.engine``)
        or a mapping of its fields.
    **overrides
        Fields replacing those of ``settings`` (``memory_limit="2GB"``, ``spill_dir=...``, ``threads=2``).

    Returns
    -------
    Engine

    Raises
    ------
    EngineError
        Unknown engine, missing pyspark or Java, unreachable Spark master, unusable spill directory.

    Examples
    --------
    >>> import ibis
    >>> from cx_framework.engine import connect
    >>> with connect("duckdb", memory_limit="1GB") as engine:
    ...     int(engine.execute(ibis.literal(41) + 1))
    42
    """
    if settings is None:
        base = EngineSettings()
    elif isinstance(settings, EngineSettings):
        base = settings
    elif isinstance(settings, str):
        if settings not in ENGINES:
            raise EngineError(
                f"unknown engine {settings!r}; choose one of {', '.join(ENGINES)}.", setting="engine.kind"
            )
        base = EngineSettings(kind=settings)  # type: ignore[arg-type]
    else:
        base = EngineSettings.model_validate(dict(settings))
    if overrides:
        base = EngineSettings.model_validate({**base.model_dump(), **overrides})
    if base.kind == "pandas":
        return Engine(base, None)
    if base.kind == "duckdb":
        return _connect_duckdb(base)
    return _connect_spark(base)


def _connect_duckdb(settings: EngineSettings) -> Engine:
    import ibis

    config: dict[str, Any] = {}
    if settings.memory_limit:
        config["memory_limit"] = settings.memory_limit
    if settings.threads:
        config["threads"] = settings.threads
    if settings.spill_dir is not None:
        spill = Path(settings.spill_dir)
        try:
            spill.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EngineError(
                f"engine.spill_dir {spill} cannot be created ({exc.strerror}); point it at a writable directory.",
                setting="engine.spill_dir",
            ) from None
        if not os.access(spill, os.W_OK):
            raise EngineError(
                f"engine.spill_dir {spill} is not writable; point it at a writable directory.",
                setting="engine.spill_dir",
            )
        config["temp_directory"] = str(spill)
    else:
        # DuckDB's own default for an in-memory database is ".tmp" in the working directory: a user's folder
        # would get spill files. A private directory in the system's temp dir instead, removed with the engine.
        own_spill = Path(tempfile.mkdtemp(prefix="cx_framework-spill-"))
        config["temp_directory"] = str(own_spill)
    if settings.spill_limit:
        config["max_temp_directory_size"] = settings.spill_limit
    try:
        backend = ibis.duckdb.connect(**config)
        # the month of a timestamp must not depend on the machine's time zone
        backend.raw_sql("SET TimeZone = 'UTC'")
        # off by default inside Jupyter, where DuckDB refuses to change it at all without ipywidgets
        # fetchall: duckdb 2 refuses further work on a connection whose last result was not read to its end
        if backend.con.execute("SELECT current_setting('enable_progress_bar')").fetchall()[0][0]:
            backend.raw_sql("SET enable_progress_bar = false")
    except Exception as exc:
        raise EngineError(
            f"cannot start DuckDB with {config}: {_first_line(exc)}", setting="engine"
        ) from None
    engine = Engine(settings, backend)
    if settings.spill_dir is None:
        engine._spill_cleanup = weakref.finalize(engine, shutil.rmtree, own_spill, True)
    return engine


def _java_available() -> bool:
    home = os.environ.get("JAVA_HOME")
    if home:
        return (Path(home) / "bin" / "java").is_file()
    java = shutil.which("java")
    if java is None:
        return False
    try:
        return subprocess.run([java, "-version"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _probe(url: str, default_port: int, timeout: float, setting: str) -> None:
    """Fail fast with a clear message when a remote master does not accept connections."""
    parsed = urlparse(url.replace("spark://", "tcp://", 1).replace("sc://", "tcp://", 1))
    host = parsed.hostname
    if not host:
        raise EngineError(
            f"{setting} {url!r} has no host; use e.g. spark://host:7077 or sc://host:15002.", setting=setting
        )
    port = parsed.port or default_port
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return
    except OSError as exc:
        raise EngineError(
            f"cannot reach the Spark master at {url} ({exc.strerror or exc}); check {setting} (host and port), "
            "that the cluster is running and reachable from this machine, or use engine.kind: duckdb.",
            setting=setting,
        ) from None


def _connect_spark(settings: EngineSettings) -> Engine:
    try:
        import ibis
        from pyspark.sql import SparkSession
    except ImportError:
        raise EngineError(
            "the Spark engine needs pyspark: pip install 'cx_framework[spark]', or choose engine.kind: duckdb.",
            setting="engine.kind",
        ) from None
    spark_settings: SparkSettings = settings.spark
    if not spark_settings.remote:
        _check_driver_memory(spark_settings)  # a setting mistake first, before looking for Java or a cluster
    if spark_settings.remote:
        _probe(spark_settings.remote, 15002, spark_settings.connect_timeout_s, "engine.spark.remote")
    else:
        master = spark_settings.master
        if master.startswith("spark://"):
            for url in master.removeprefix("spark://").split(","):
                _probe("spark://" + url, 7077, spark_settings.connect_timeout_s, "engine.spark.master")
        if not _java_available():
            raise _no_java()
    log: Path | None = None
    with _SPARK_LOCK:
        try:
            builder = SparkSession.builder.appName(spark_settings.app_name)
            if spark_settings.remote:
                builder = builder.remote(spark_settings.remote)
            else:
                builder = builder.master(spark_settings.master)
            conf = {
                "spark.sql.session.timeZone": "UTC",
                "spark.ui.enabled": "false",
                "spark.sql.shuffle.partitions": str(max(2, (settings.threads or 2) * 2)),
                "spark.sql.execution.arrow.pyspark.enabled": "true",
                **spark_settings.conf,
            }
            for key, value in conf.items():
                builder = builder.config(key, value)
            with _quiet_jvm() as log:
                session = builder.getOrCreate()
            session.conf.set("spark.sql.session.timeZone", "UTC")
            backend = ibis.pyspark.connect(session)
        except CxError:
            raise
        except Exception as exc:
            raise _spark_error(exc, settings, log=log) from None
    return Engine(settings, backend, spark=session)


#: the least ``spark.driver.memory`` Spark starts with: it reserves 300 MiB and refuses a heap under 1.5 x that
_MIN_DRIVER_MIB = 512
_JVM_SIZE = re.compile(r"^\s*(\d+)\s*([kmgt]?)b?\s*$", re.IGNORECASE)


def _jvm_mib(value: str) -> float | None:
    """A JVM/Spark memory size (``512m``, ``4g``, ``2048``= MiB) in MiB, or None when it is not one."""
    match = _JVM_SIZE.match(str(value))
    if match is None:
        return None
    scale = {"k": 1 / 1024, "m": 1.0, "": 1.0, "g": 1024.0, "t": 1024.0**2}[match.group(2).lower()]
    return int(match.group(1)) * scale


def _check_driver_memory(spark: SparkSettings) -> None:
    """A driver memory the JVM cannot start with, named before the JVM prints its own stack trace."""
    value = spark.conf.get("spark.driver.memory")
    if value is None:
        return
    mib = _jvm_mib(value)
    if mib is None:
        raise EngineError(
            f"engine.spark.conf spark.driver.memory is {value!r}, not a memory size; use e.g. '2g' or '512m'.",
            setting="engine.spark.conf",
        )
    if mib < _MIN_DRIVER_MIB:
        raise EngineError(
            f"engine.spark.conf spark.driver.memory is {value} ({mib:g} MiB): too small, Spark needs at least "
            f"{_MIN_DRIVER_MIB}m for the driver. Raise it (e.g. '2g') in engine.yaml.",
            setting="engine.spark.conf",
        )


@contextlib.contextmanager
def _quiet_jvm() -> Iterator[Path]:
    """Keep the JVM's output (log4j banner, native-hadoop warning, a stack trace when it fails) off the user's
    terminal: the JVM started inside writes its stderr to a log file (yielded; errors quote its first line)."""
    os.environ.setdefault("PYSPARK_SUBMIT_ARGS", "--conf spark.ui.showConsoleProgress=false pyspark-shell")
    log = Path(tempfile.gettempdir()) / f"cx_framework-spark-{os.getpid()}.log"
    try:
        target = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    except OSError:
        yield log
        return
    sys.stderr.flush()
    saved = os.dup(2)
    os.dup2(target, 2)  # inherited by the JVM process spawned in here, for its whole life
    try:
        yield log
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(target)


def _arrow_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns mixing types (``[1.5, "x"]``) become text so Arrow accepts them; validation then reports
    the cells that are not numbers, as the pandas path does."""
    import pyarrow as pa

    out = frame
    for column in frame.columns:
        if frame[column].dtype == object:
            try:
                pa.array(frame[column], from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                if out is frame:
                    out = frame.copy(deep=False)
                out[column] = frame[column].map(lambda v: v if v is None or v != v else str(v)).astype(object)
    return out


def _spark_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Spark stores timestamps in microseconds and cannot take pandas' nanosecond or text-extension dtypes."""
    out = frame.copy(deep=False)
    for column in out.columns:
        dtype = out[column].dtype
        if pd.api.types.is_datetime64_any_dtype(dtype):
            out[column] = out[column].astype("datetime64[us]")
        elif isinstance(dtype, pd.CategoricalDtype) or dtype == "str" or pd.api.types.is_string_dtype(dtype):
            out[column] = out[column].astype(object).where(out[column].notna(), None)
    return out
