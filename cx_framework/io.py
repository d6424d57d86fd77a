"""Reading and writing tables: validated reads, atomic writes, safe exports.

* :func:`read_table` reads one CSV or Parquet file and validates it against the data contract
  (:func:`cx_framework.schemas.validate`), naming the file in every error.
* :func:`load_data_dir` reads every ``<table>.parquet`` / ``<table>.csv`` of a directory, reporting all problems
  of all tables at once.
* :func:`write_table`, :func:`write_bytes_atomic`, :func:`write_text_atomic` write to a temporary file in the
  target directory and ``os.replace`` it over the target, so readers never see a half-written file and a failed
  write leaves the previous file untouched (``os.replace`` is atomic on POSIX and Windows within one volume).
* :func:`sanitize_for_export` neutralises spreadsheet formula injection (OWASP, "CSV Injection",
  https://owasp.org/www-community/attacks/CSV_Injection) and :func:`pseudonymise_ids` replaces ids by keyed
  hashes (BLAKE2b in keyed/MAC mode, RFC 7693) before data leaves the organisation.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from cx_framework.errors import CxError, DataValidationError, InputValueError

__all__ = [
    "read_table",
    "write_table",
    "write_bytes_atomic",
    "write_text_atomic",
    "load_data_dir",
    "sanitize_for_export",
    "pseudonymise_ids",
    "SUPPORTED_SUFFIXES",
    "check_writable",
]

#: File suffixes :func:`read_table` and :func:`write_table` understand.
SUPPORTED_SUFFIXES: tuple[str, ...] = (".csv", ".csv.gz", ".parquet", ".pq")

# Cells starting with one of these are interpreted as formulas by Excel / LibreOffice / Google Sheets.
_FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def _format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    raise DataValidationError(
        f"{path}: unsupported file type; use one of {', '.join(SUPPORTED_SUFFIXES)}.", file=str(path)
    )


def _string_columns(table: str) -> list[str]:
    """Contract columns stored as text; read as text so ids like '007' keep their leading zeros."""
    from cx_framework.schemas import column_kinds  # pandera only when a table is read

    return [name for name, kind in column_kinds(table).items() if kind == "str"]


def _read_raw(path: Path, table: str) -> pd.DataFrame:
    from cx_framework.schemas import column_kinds  # pandera only when a table is read

    fmt = _format(path)
    if not path.exists():
        raise DataValidationError(
            f"File not found: {path} (table '{table}'). Check the path or create the file; "
            f"cx_framework.schemas.template('{table}') gives the expected columns.",
            table=table,
            file=str(path),
        )
    if path.is_dir():
        raise DataValidationError(
            f"{path} is a directory, expected a {fmt.upper()} file for table '{table}'.",
            table=table,
            file=str(path),
        )
    if fmt == "csv":
        _refuse_binary(path, table)
        try:
            # utf-8-sig drops the byte-order mark Excel writes in "CSV UTF-8" files
            header = pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns
            sep = ","
            if len(header) == 1:
                # one column: probably a semicolon / tab separated export (European Excel locales)
                name = str(header[0])
                sep = next((s for s in (";", "\t", "|") if s in name), ",")
                if sep != ",":
                    header = pd.read_csv(path, nrows=0, encoding="utf-8-sig", sep=sep).columns
            text_cols = {c: "str" for c in _string_columns(table) if c in header}
            frame = pd.read_csv(path, dtype=text_cols, encoding="utf-8-sig", sep=sep)
            if len(frame) == 0:
                expected = list(column_kinds(table))
                shown = ", ".join(repr(str(c))[:40] for c in list(header)[:5])
                if not set(map(str, header)) & set(expected):
                    raise DataValidationError(
                        f"{path} does not look like a CSV of table '{table}': no data rows and none of the "
                        f"expected columns in its first line ({shown}); expected columns: "
                        f"{', '.join(expected)}.",
                        table=table,
                        file=str(path),
                    )
                raise DataValidationError(
                    f"{path} has a header line but no data rows; table '{table}' needs at least one row.",
                    table=table,
                    file=str(path),
                )
            return frame
        except pd.errors.EmptyDataError:
            size = path.stat().st_size
            what = (
                "is empty (no header, no rows)" if size == 0 else f"has {size:,} bytes but no CSV header line"
            )
            raise DataValidationError(
                f"{path} {what}; table '{table}' needs a header line and at least one row.",
                table=table,
                file=str(path),
            ) from None
        except pd.errors.ParserError as exc:
            raise DataValidationError(
                f"{path}: cannot parse CSV for table '{table}': {exc}. Check quoting and that every line has "
                "the same number of fields as the header.",
                table=table,
                file=str(path),
            ) from None
        except UnicodeDecodeError:
            line = _first_non_utf8_line(path)
            raise DataValidationError(
                f"{path}: line {line} is not UTF-8 text (is it a CSV file?); save the CSV as UTF-8.",
                table=table,
                file=str(path),
            ) from None
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:  # pyarrow.ArrowInvalid subclasses ValueError
        empty = path.stat().st_size == 0
        reason = "the file is empty" if empty else f"not a valid Parquet file ({exc})"
        raise DataValidationError(
            f"{path}: cannot read table '{table}': {reason}.", table=table, file=str(path)
        ) from None


#: leading bytes of files that are not text: zip containers (.xlsx, .docx), legacy Office, PDF, PNG, JPEG, Parquet
_BINARY_SIGNATURES = {
    b"PK\x03\x04": "a zip archive (an Excel .xlsx workbook?)",
    b"\xd0\xcf\x11\xe0": "a legacy Office file (an Excel .xls workbook?)",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"PAR1": "a Parquet file",
}


def _refuse_binary(path: Path, table: str) -> None:
    """A file named .csv that is not text gets a message saying what it is, not "empty" or a parser error."""
    if path.name.lower().endswith((".gz", ".bz2", ".zip", ".xz", ".zst")):
        return  # compressed CSV: pandas decompresses it
    with path.open("rb") as handle:
        head = handle.read(4096)
    kind = next((name for sig, name in _BINARY_SIGNATURES.items() if head.startswith(sig)), None)
    if kind is None and b"\x00" in head:
        kind = "binary data (NUL bytes), not text"
    if kind is not None:
        hint = (
            "rename it to .parquet"
            if kind == "a Parquet file"
            else "save it as CSV (UTF-8, comma separated) or Parquet and upload that"
        )
        raise DataValidationError(
            f"{path} is not a CSV text file: it looks like {kind}. Table '{table}' must be CSV or Parquet; {hint}.",
            table=table,
            file=str(path),
        )


def _first_non_utf8_line(path: Path) -> int:
    """1-based line of the first byte sequence that is not UTF-8 (for messages: lines, not byte offsets)."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return data.count(b"\n", 0, exc.start) + 1
    return 1


def read_table(path: str | os.PathLike[str], table: str) -> pd.DataFrame:
    """Read a CSV or Parquet file and validate it as ``table``.

    Parameters
    ----------
    path : str or path-like
        ``.csv``, ``.csv.gz``, ``.parquet`` or ``.pq`` file.
    table : str
        Table name from :data:`cx_framework.schemas.TABLES`.

    Returns
    -------
    pandas.DataFrame
        Coerced and validated frame (see :func:`cx_framework.schemas.validate`).

    Raises
    ------
    DataValidationError
        Unknown table, missing file, unsupported suffix, empty file, unparseable CSV or Parquet, or any
        validation failure; the message names the file.
    """
    from cx_framework.schemas import schema_for, validate  # pandera only when a table is read

    schema_for(table)  # unknown table names fail before touching the file system
    file = Path(path)
    frame = _read_raw(file, table)
    return validate(table, frame, file=str(file))


def _find_table_files(root: Path, tables: Iterable[str]) -> dict[str, Path]:
    """``<table>.parquet``, ``.pq``, ``.csv`` or ``.csv.gz`` in ``root`` for each of ``tables`` (first found wins;
    tables without a file are left out)."""
    found: dict[str, Path] = {}
    for name in tables:
        for suffix in (".parquet", ".pq", ".csv", ".csv.gz"):
            candidate = root / f"{name}{suffix}"
            if candidate.is_file():
                found[name] = candidate
                break
    return found


def load_data_dir(
    directory: str | os.PathLike[str], tables: Iterable[str] | None = None
) -> dict[str, pd.DataFrame]:
    """Read and validate the tables of a data directory.

    For each table the directory is searched for ``<table>.parquet``, then ``<table>.pq``, ``<table>.csv``,
    ``<table>.csv.gz`` (first found wins).

    Parameters
    ----------
    directory : str or path-like
        Directory holding the files.
    tables : iterable of str, optional
        Tables to read; all of them must be present. By default every input table in
        :data:`cx_framework.schemas.REQUIRED_TABLES` is required and any other known table
        (``customer_panel``) is read if present.

    Returns
    -------
    dict[str, pandas.DataFrame]
        Table name -> validated frame.

    Raises
    ------
    DataValidationError
        Directory missing, required files missing, or tables invalid. Problems of *all* tables are reported
        together; ``err.failures`` concatenates the failures of every table.
    """
    from cx_framework.schemas import (
        REQUIRED_TABLES,
        TABLES,
        _table_failure,
        schema_for,
    )  # pandera only when a table is read

    root = Path(directory)
    if not root.is_dir():
        what = "is not a directory" if root.exists() else "does not exist"
        raise DataValidationError(f"Data directory {root} {what}.", file=str(root))
    if tables is None:
        wanted, required = list(TABLES), set(REQUIRED_TABLES)
    else:
        wanted = list(dict.fromkeys(tables))
        for name in wanted:
            schema_for(name)
        required = set(wanted)

    found = _find_table_files(root, wanted)
    missing = [name for name in wanted if name in required and name not in found]

    result: dict[str, pd.DataFrame] = {}
    errors: list[DataValidationError] = []
    for name, file in found.items():
        try:
            result[name] = read_table(file, name)
        except DataValidationError as exc:
            errors.append(exc)
    if missing or errors:
        lines: list[str] = []
        if missing:
            lines.append(
                f"Data directory {root} is missing {len(missing)} table(s): "
                + ", ".join(f"{m} (.parquet or .csv)" for m in missing)
                + "."
            )
        lines.extend(str(exc) for exc in errors)
        parts = [exc.failures for exc in errors if len(exc.failures)]
        parts.extend(_table_failure(m, None, "file_exists", None) for m in missing)
        failures = pd.concat(parts, ignore_index=True) if parts else None
        raise DataValidationError("\n".join(lines), failures=failures, file=str(root))
    return result


# ---------------------------------------------------------------------------------------------------------------
# atomic writes
# ---------------------------------------------------------------------------------------------------------------
def _nearest_existing(path: Path) -> Path:
    current = path
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def _os_reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def check_writable(
    path: str | os.PathLike[str], *, suffixes: Iterable[str] | None = None, what: str | None = None
) -> Path:
    """Check, before any work is done, that ``path`` can be written; raise a :class:`CxError` naming it if not.

    The check is a real probe, not a permission guess: a temporary file (or, where the parent directory does
    not exist yet, a temporary directory in the nearest existing ancestor) is created and removed again, so
    read-only file systems, missing permissions and virtual file systems such as ``/proc`` are caught. Nothing
    is left behind.

    Parameters
    ----------
    path : str or path-like
        Output file.
    suffixes : iterable of str, optional
        Allowed file-name endings (e.g. ``(".csv", ".parquet")``), compared case-insensitively.
    what : str, optional
        How the output is called in the message (e.g. ``"--out"``); default ``"output file"``.

    Returns
    -------
    pathlib.Path
        The target path.

    Raises
    ------
    CxError
        Wrong suffix, the target is a directory, a parent is a file, or the place is not writable.
    """
    label = what or "output file"
    target = Path(path)
    if str(path).strip() == "" or target.name in ("", ".", ".."):
        raise CxError(f"{label}: {str(path)!r} is not a file name; give a path such as out/result.csv.")
    if suffixes is not None:
        allowed = tuple(s.lower() for s in suffixes)
        if not target.name.lower().endswith(allowed):
            raise CxError(
                f"{label}: {target} has an unsupported file type; use a name ending in {', '.join(allowed)}."
            )
    if target.is_dir():
        raise CxError(f"{label}: cannot write {target}: it is a directory; give a file name inside it.")
    anchor = _nearest_existing(target.parent)
    if not anchor.is_dir():
        raise CxError(f"{label}: cannot write {target}: {anchor} is a file, not a directory.")
    try:
        if anchor == target.parent:
            fd, probe = tempfile.mkstemp(dir=anchor, prefix=f".{target.name}.", suffix=".probe")
            os.close(fd)
            os.unlink(probe)
        else:
            os.rmdir(tempfile.mkdtemp(dir=anchor, prefix=".cx-probe-"))
    except OSError as exc:
        raise CxError(
            f"{label}: cannot write {target}: {_os_reason(exc)} in {anchor}; choose a folder you can write to."
        ) from None
    return target


def _atomic_write(
    path: str | os.PathLike[str], write: Callable[[Path], object], *, mode: int | None = None
) -> Path:
    target = Path(path)
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CxError(f"Cannot create directory {parent} for {target}: {_os_reason(exc)}.") from None
    if target.is_dir():
        raise CxError(f"Cannot write {target}: it is a directory.")
    try:
        fd, tmp_name = tempfile.mkstemp(dir=parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise CxError(
            f"Cannot write {target}: {_os_reason(exc)} in {parent}; choose a folder you can write to."
        ) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        # mkstemp creates 0600 files; keep the old file's mode or use the usual 0644 (unless ``mode`` is given:
        # private files such as the analysis cache stay 0600 from their first byte)
        if mode is None:
            mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise CxError(
            f"Cannot write {target}: {_os_reason(exc)}; the previous file (if any) is unchanged."
        ) from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return target


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes, *, mode: int | None = None) -> Path:
    """Write ``data`` to ``path`` atomically (temp file in the same directory, then ``os.replace``).

    Parameters
    ----------
    path : str or path-like
        Target file; parent directories are created.
    data : bytes
        Content.
    mode : int, optional
        Permission bits of the file (e.g. ``0o600``: readable by its owner only; the file is never readable by
        others, not even while it is written). Default: the old file's mode, else 0644.

    Returns
    -------
    pathlib.Path
        The target path.
    """
    return _atomic_write(path, lambda tmp: tmp.write_bytes(data), mode=mode)


def write_text_atomic(
    path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8", mode: int | None = None
) -> Path:
    """Write ``text`` to ``path`` atomically; see :func:`write_bytes_atomic`."""
    return write_bytes_atomic(path, text.encode(encoding), mode=mode)


def write_table(df: pd.DataFrame, path: str | os.PathLike[str], *, sanitize: bool = False) -> Path:
    """Write a frame to CSV or Parquet (chosen by suffix) atomically.

    The index is not written (tables of the data contract carry their keys as columns). Datetimes are written
    in ISO 8601 in CSV and as timestamps in Parquet, so :func:`read_table` round-trips the frame.

    Parameters
    ----------
    df : pandas.DataFrame
        Frame to write.
    path : str or path-like
        ``.csv``, ``.csv.gz``, ``.parquet`` or ``.pq``.
    sanitize : bool, default False
        Neutralise spreadsheet formulas first (:func:`sanitize_for_export`): use it for exports meant for
        people (the CLI's ``--out`` files); leave it off for data files that must round-trip exactly.

    Returns
    -------
    pathlib.Path
        The target path.

    Raises
    ------
    DataValidationError
        Unsupported suffix.
    InputValueError
        ``df`` is not a DataFrame.
    """
    if not isinstance(df, pd.DataFrame):
        raise InputValueError(
            f"write_table expects a pandas DataFrame, got {type(df).__name__}.", argument="df"
        )
    target = Path(path)
    fmt = _format(target)
    if sanitize:
        df = sanitize_for_export(df)

    def _write(tmp: Path) -> None:
        if fmt == "csv":
            compression = "gzip" if target.name.lower().endswith(".gz") else None
            df.to_csv(tmp, index=False, compression=compression)
        else:
            # microsecond timestamps: Spark rejects Parquet TIMESTAMP(NANOS) (DESIGN "Engines")
            df.to_parquet(tmp, index=False, coerce_timestamps="us", allow_truncated_timestamps=True)

    return _atomic_write(target, _write)


# ---------------------------------------------------------------------------------------------------------------
# safe exports
# ---------------------------------------------------------------------------------------------------------------
def _neutralise(values: pd.Series) -> pd.Series:
    if isinstance(values.dtype, pd.CategoricalDtype):
        categories = values.cat.categories
        if categories.dtype == object or pd.api.types.is_string_dtype(categories.dtype):
            return values.cat.rename_categories(_neutralise(pd.Series(categories)).tolist())
        return values
    if pd.api.types.is_string_dtype(values.dtype) and values.dtype != object:
        risky = values.str.startswith(_FORMULA_PREFIXES).fillna(False).to_numpy(dtype=bool)
        if not risky.any():
            return values
        out = values.copy()
        out[risky] = "'" + values[risky]
        return out
    if values.dtype == object:
        # mixed object columns: only str cells are touched (numbers stay numbers)
        is_text = values.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
        if not is_text.any():
            return values
        text = values[is_text].astype("str")
        risky_text = text.str.startswith(_FORMULA_PREFIXES).to_numpy(dtype=bool)
        if not risky_text.any():
            return values
        out = values.copy()
        idx = np.flatnonzero(is_text)[risky_text]
        out.iloc[idx] = ("'" + text[risky_text]).to_numpy(dtype=object)
        return out
    return values


def sanitize_for_export(df: pd.DataFrame) -> pd.DataFrame:
    """Neutralise spreadsheet formula injection before a frame is exported to CSV / Excel.

    Text cells (and column names) starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return get a
    leading apostrophe, which spreadsheets display as text instead of evaluating (OWASP, "CSV Injection").
    Numeric, boolean and datetime columns are unchanged, so negative numbers stay numbers.

    Parameters
    ----------
    df : pandas.DataFrame
        Frame to export; not modified.

    Returns
    -------
    pandas.DataFrame
        A sanitised copy.

    Examples
    --------
    >>> import pandas as pd
    >>> sanitize_for_export(pd.DataFrame({"note": ['=HYPERLINK("http://x")', "ok"]}))["note"].tolist()
    ['\\'=HYPERLINK("http://x")', 'ok']
    """
    if not isinstance(df, pd.DataFrame):
        raise InputValueError(
            f"sanitize_for_export expects a pandas DataFrame, got {type(df).__name__}.", argument="df"
        )
    out = df.copy()
    for position in range(out.shape[1]):
        column = out.iloc[:, position]
        cleaned = _neutralise(column)
        if cleaned is not column:
            out.isetitem(position, cleaned)
    names = pd.Series(list(out.columns), dtype=object)
    out.columns = pd.Index(_neutralise(names).tolist())
    return out


def pseudonymise_ids(series: pd.Series, key: bytes) -> pd.Series:
    """Replace ids by keyed hashes: deterministic per key, not reversible without it.

    Each distinct id (as text) is hashed once with BLAKE2b in keyed mode (a MAC, RFC 7693) and
    shortened to 16 hex characters (64 bits: a collision is expected only after ~4 billion distinct ids).
    Missing values stay missing. The same id gets the same pseudonym in every table hashed with the same
    key, so joins still work.

    Parameters
    ----------
    series : pandas.Series
        Ids (any dtype; compared as text, so ``123`` and ``"123"`` map alike).
    key : bytes
        Secret key, 1 to 64 bytes. Keep it out of the exported data.

    Returns
    -------
    pandas.Series
        ``str`` series, same index and name.

    Raises
    ------
    InputValueError
        ``key`` is not non-empty bytes of at most 64 bytes.
    """
    if not isinstance(key, bytes | bytearray) or not 1 <= len(key) <= 64:
        raise InputValueError(
            "pseudonymise_ids needs `key` as 1 to 64 bytes, e.g. secrets.token_bytes(32).", argument="key"
        )
    if not isinstance(series, pd.Series):
        series = pd.Series(series)
    missing = series.isna().to_numpy()
    text = series.astype("str")
    codes, uniques = pd.factorize(text.where(~missing), use_na_sentinel=True)
    hashed = np.array(
        [hashlib.blake2b(str(u).encode("utf-8"), key=bytes(key), digest_size=8).hexdigest() for u in uniques],
        dtype=object,
    )
    values = np.full(len(series), np.nan, dtype=object)
    present = codes >= 0
    values[present] = hashed[codes[present]]
    return pd.Series(values, index=series.index, name=series.name, dtype="str")
