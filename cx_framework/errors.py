"""Typed errors and warnings of cx_framework.

Every error says *what* is wrong, *where* (file, key path, column, row) and *what to do*.
User mistakes raise a :class:`CxError` subclass; the CLI turns them into one red line and exit code 2.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = [
    "CxError",
    "ConfigError",
    "DataValidationError",
    "ModelError",
    "InputValueError",
    "StatisticalWarning",
]


class CxError(Exception):
    """Base class of every error cx_framework raises on purpose.

    Attributes
    ----------
    hint : str or None
        One short line on what to do next (the CLI prints it under the error), e.g. a ``cx`` command to run.
    """

    hint: str | None = None


class ConfigError(CxError):
    """A configuration file is missing, malformed or inconsistent.

    Attributes
    ----------
    file : str or None
        Path of the offending file.
    key : str or None
        Key path inside the file, e.g. ``components[2].weight``.
    line : int or None
        1-based line in the YAML file where known.
    """

    def __init__(
        self, message: str, *, file: str | None = None, key: str | None = None, line: int | None = None
    ) -> None:
        self.file = file
        self.key = key
        self.line = line
        where = []
        if file:
            where.append(str(file))
        if line is not None:
            where.append(f"line {line}")
        if key:
            where.append(f"key '{key}'")
        prefix = (", ".join(where) + ": ") if where else ""
        super().__init__(prefix + message)


_FAILURE_COLUMNS = ["table", "column", "check", "row", "value"]


class DataValidationError(CxError):
    """A data table failed validation.

    Attributes
    ----------
    failures : pandas.DataFrame
        One row per failure with columns ``table, column, check, row, value`` (``row`` is the
        0-based row position in the input, or None for table-level failures such as a missing column).
    table : str or None
        Name of the table in the data contract.
    file : str or None
        File the table was read from, when it came from a file.
    counts : pandas.DataFrame
        Number of failing rows per check: ``table, column, check, failures``. Equal to the row counts of
        ``failures`` unless ``failures`` keeps only the first rows of each check (engine validation of large
        tables, :func:`cx_framework.engine.validate_table`).
    """

    def __init__(
        self,
        message: str,
        *,
        failures: pd.DataFrame | None = None,
        table: str | None = None,
        file: str | None = None,
        counts: pd.DataFrame | None = None,
    ) -> None:
        self.failures = (
            failures.reset_index(drop=True)
            if failures is not None
            else pd.DataFrame(columns=_FAILURE_COLUMNS)
        )
        if counts is None:
            frame = self.failures
            if {"table", "column", "check"} <= set(frame.columns) and len(frame):
                counts = (
                    frame.groupby(["table", "column", "check"], sort=False, dropna=False)
                    .size()
                    .rename("failures")
                    .reset_index()
                )
            else:
                counts = pd.DataFrame(columns=["table", "column", "check", "failures"])
        self.counts = counts.reset_index(drop=True)
        self.table = table
        self.file = file
        super().__init__(message)


class ModelError(CxError):
    """A statistical or numerical model cannot be fitted or evaluated on the given data."""


class InputValueError(CxError, ValueError):
    """A function argument has an invalid value (negative calls, target outside (0, 1), NaN, ...).

    Subclasses :class:`ValueError` so generic numeric code can catch it too.
    """

    def __init__(self, message: str, *, argument: str | None = None, index: Any = None) -> None:
        self.argument = argument
        self.index = index
        super().__init__(message)


class StatisticalWarning(UserWarning):
    """A statistical caveat: small sample, weak effect, near-separation. Results are still returned."""
