"""Plain Excel export of one scheme's payouts (atomic write); the formatted multi-scheme HR workbook is
:func:`cx_framework.report.build_payout_workbook`."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pandas as pd

from cx_framework.incentives.payouts import payout_summary, round_money

__all__ = ["write_payout_workbook"]


def write_payout_workbook(payouts: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a two-sheet workbook (``summary`` per period, ``payouts`` per employee-period) atomically.

    Money is rounded to cents here (output). Text cells starting with ``= + - @`` are neutralised by
    :func:`cx_framework.io.sanitize_for_export` so the workbook cannot run formulas.

    Parameters
    ----------
    payouts : pandas.DataFrame
        A :func:`~cx_framework.incentives.compute_payouts` frame.
    path : str or path-like
        Target ``.xlsx`` file.

    Returns
    -------
    pathlib.Path
    """
    from cx_framework.io import sanitize_for_export, write_bytes_atomic

    detail = round_money(payouts)
    summary = payout_summary(payouts)
    for col in ("target_bonus", "payout", "withheld_target_bonus"):
        summary[col] = summary[col].round(2)
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        sanitize_for_export(summary).to_excel(writer, sheet_name="summary", index=False)
        sanitize_for_export(detail).to_excel(writer, sheet_name="payouts", index=False)
    return write_bytes_atomic(path, buffer.getvalue())
