"""One place that checks CLI options before any computing or writing starts.

Every command calls these at its top, so a wrong suffix, an unwritable ``--out``, a bad ``--period`` or a
missing folder fails in a second with one clear line — never after minutes of work, and never after another
output was already overwritten. Each helper raises :class:`~cx_framework.errors.InputValueError` (a
:class:`~cx_framework.errors.CxError`) whose message starts with the option's name.

Commands import their engines (scipy, the analyses) only after these checks, so a mistake is reported before
the heavy modules load.

Typical use::

    from cx_framework.cli._options import TABLE_SUFFIXES, check_outputs, parse_month, require_dir

    require_dir(data_dir, "DATA_DIR")
    check_outputs({"--out": (out, TABLE_SUFFIXES), "--xlsx": (xlsx, (".xlsx",))})
    month = parse_month(period, "--period")
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from cx_framework.errors import CxError, InputValueError

__all__ = [
    "TABLE_SUFFIXES",
    "check_outputs",
    "require_dir",
    "require_file",
    "parse_month",
    "one_of",
    "in_range",
    "write_output",
]

#: ``--out`` files of table-shaped results.
TABLE_SUFFIXES: tuple[str, ...] = (".csv", ".csv.gz", ".parquet", ".pq")

_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})(?:-(\d{1,2}))?\s*$")


def _error(option: str, message: str, hint: str | None = None) -> InputValueError:
    err = InputValueError(f"{option}: {message}", argument=option)
    err.hint = hint
    return err


def check_outputs(outputs: Mapping[str, tuple[str | os.PathLike[str] | None, Sequence[str] | None]]) -> None:
    """Check every output option at once: suffix, writable place, not a directory, no two the same file.

    Parameters
    ----------
    outputs : mapping
        Option name -> ``(path or None, allowed suffixes or None)``; ``None`` paths (option not given) are
        skipped.

    Raises
    ------
    InputValueError
        The first problem found, naming the option and the path.
    """
    from cx_framework.io import check_writable

    seen: dict[Path, str] = {}
    for option, (path, suffixes) in outputs.items():
        if path is None:
            continue
        try:
            target = check_writable(path, suffixes=suffixes, what=option)
        except InputValueError:
            raise
        except CxError as exc:
            raise _error(option, str(exc).removeprefix(f"{option}: ")) from None
        resolved = target.resolve()
        if resolved in seen:
            raise _error(
                option, f"{target} is also given to {seen[resolved]}; give each output its own file."
            )
        seen[resolved] = option


def require_dir(path: str | os.PathLike[str] | None, option: str, *, hint: str | None = None) -> Path:
    """``path`` must be an existing directory."""
    if path is None or str(path).strip() == "":
        raise _error(option, "no folder given.", hint)
    folder = Path(path)
    if not folder.exists():
        raise _error(option, f"folder {folder} does not exist.", hint)
    if not folder.is_dir():
        raise _error(option, f"{folder} is a file, expected a folder.", hint)
    return folder


def require_file(
    path: str | os.PathLike[str] | None, option: str, *, suffixes: Iterable[str] | None = None
) -> Path:
    """``path`` must be an existing file (with one of ``suffixes`` when given)."""
    if path is None or str(path).strip() == "":
        raise _error(option, "no file given.")
    file = Path(path)
    if suffixes is not None:
        allowed = tuple(s.lower() for s in suffixes)
        if not file.name.lower().endswith(allowed):
            raise _error(option, f"{file} has an unsupported file type; use one of {', '.join(allowed)}.")
    if not file.exists():
        raise _error(option, f"file {file} does not exist.")
    if file.is_dir():
        raise _error(option, f"{file} is a folder, expected a file.")
    return file


def parse_month(value: str | None, option: str) -> pd.Timestamp | None:
    """``YYYY-MM`` (or ``YYYY-MM-DD``) -> the month start; ``None`` stays ``None``.

    Raises
    ------
    InputValueError
        Empty text, another format, or a month/day that does not exist.
    """
    if value is None:
        return None
    match = _MONTH.match(str(value))
    if match is None:
        shown = repr(str(value)[:40])
        raise _error(option, f"{shown} is not a month; write it as YYYY-MM, e.g. 2024-03.")
    year, month, day = int(match.group(1)), int(match.group(2)), int(match.group(3) or 1)
    try:
        stamp = pd.Timestamp(year=year, month=month, day=day)
    except (ValueError, OverflowError):
        raise _error(
            option, f"{value.strip()!r} is not a calendar date; write the month as YYYY-MM."
        ) from None
    return stamp.to_period("M").to_timestamp()


def one_of(value: str, option: str, choices: Iterable[str]) -> str:
    """``value`` must be one of ``choices`` (compared exactly); the message lists them."""
    allowed = list(choices)
    if value not in allowed:
        raise _error(option, f"{str(value)[:40]!r} is not one of {', '.join(allowed)}.")
    return value


def in_range(
    value: float | None,
    option: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float | None:
    """``value`` must be a finite number within the bounds; ``None`` stays ``None``."""
    if value is None:
        return None
    if not math.isfinite(value):
        raise _error(option, f"{value} is not a finite number.")
    too_low = low is not None and (value < low if low_inclusive else value <= low)
    too_high = high is not None and (value > high if high_inclusive else value >= high)
    if too_low or too_high:
        left = "" if low is None else ("[" if low_inclusive else "(") + f"{low:g}"
        right = "" if high is None else f"{high:g}" + ("]" if high_inclusive else ")")
        if low is not None and high is not None:
            bound = f"within {left}, {right}"
        elif low is not None:
            bound = f"{'at least' if low_inclusive else 'above'} {low:g}"
        else:
            bound = f"{'at most' if high_inclusive else 'below'} {high:g}"
        raise _error(option, f"{value:g} is out of range; it must be {bound}.")
    return value


def write_output(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a result table given to ``--out``: formula-safe (for spreadsheets) and atomic."""
    from cx_framework.io import write_table

    return write_table(frame, path, sanitize=True)
