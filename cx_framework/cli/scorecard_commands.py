"""``cx score DATA_DIR``: the shared customer scorecard per department, alignment flags and top exceptions."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.table import Table

from cx_framework.cli._app import command, console, err_console

__all__ = ["score_command"]

_STYLE = {"green": "green", "amber": "yellow", "red": "red", "no data": "dim"}


def _fmt(value: float) -> str:
    return "-" if value is None or not np.isfinite(value) else f"{value:.1f}"


def _status(status: object) -> str:
    s = str(status) if isinstance(status, str) else "-"
    return f"[{_STYLE.get(s, 'white')}]{s}[/]"


@command("score")
def score_command(
    data_dir: Annotated[
        Path,
        typer.Argument(
            help="Directory with department_metrics (.parquet or .csv); employee_metrics + employees are used "
            "when present."
        ),
    ],
    configs: Annotated[
        Path, typer.Option("--configs", help="Config directory (metrics.yaml, scorecard.yaml, ...).")
    ] = Path("configs"),
    period: Annotated[
        str | None,
        typer.Option(
            "--period",
            help="Month to show, YYYY-MM (default: the latest complete month — metrics that need later data, "
            "such as next-month churn, are incomplete in the last months of the data).",
        ),
    ] = None,
    top: Annotated[int, typer.Option("--top", help="Number of exceptions to list.")] = 10,
) -> None:
    """Score every department on the shared customer scorecard and its own card; list the top exceptions."""
    from cx_framework.io import _find_table_files, load_data_dir
    from cx_framework.scorecard import score

    tables = ["department_metrics"]
    optional = ("employee_metrics", "employees")
    present = _find_table_files(data_dir, optional)
    if len(present) == len(optional):
        tables += list(optional)
    data = load_data_dir(data_dir, tables=tables)
    if period is None:
        from cx_framework.config import load_config
        from cx_framework.maturity import latest_complete_period

        period = f"{latest_complete_period(data, load_config(configs)):%Y-%m}"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = score(
            data["department_metrics"],
            configs,
            periods=period,
            employee_metrics=data.get("employee_metrics"),
            employees=data.get("employees"),
            validate=False,  # load_data_dir validated every table
        )
    for w in caught:
        err_console.print(f"[yellow]warning:[/] {w.message}", highlight=False, soft_wrap=True)

    ts = max(result.periods)
    shared = result.shared_scores[result.shared_scores["period"].eq(ts)].set_index("department")
    local = result.department_scores[result.department_scores["period"].eq(ts)].set_index("department")
    align = result.alignment.set_index("department")
    table = Table(title=f"Shared customer scorecard — {ts:%Y-%m}", title_justify="left")
    table.add_column("department", no_wrap=True)
    table.add_column("shared card", justify="right", no_wrap=True)
    table.add_column("coverage", justify="right")
    table.add_column("own card", justify="right", no_wrap=True)
    table.add_column("weight align.", justify="right")
    table.add_column("r (n)", justify="right", no_wrap=True)
    table.add_column("flag")
    order = sorted(shared.index, key=lambda d: (d != "organisation", d))
    for dept in order:
        s = shared.loc[dept]
        own_card, flag, weight_cell, r_cell = "-", "", "-", "-"
        if dept in local.index:
            loc = local.loc[dept]
            own_card = f"{_fmt(loc['composite'])} {_status(loc['status'])}"
            flag = "green inside, red outside" if bool(loc["green_inside_red_outside"]) else ""
        if dept in align.index:
            a = align.loc[dept]
            if np.isfinite(a["weight_alignment"]):
                weight_cell = f"{a['weight_alignment']:.0%}"
            if np.isfinite(a["empirical_r"]):
                r_cell = f"{a['empirical_r']:+.2f} ({a['n_periods']})"
        table.add_row(
            dept,
            f"{_fmt(s['composite'])} {_status(s['status'])}",
            f"{s['coverage']:.0%}",
            own_card,
            weight_cell,
            r_cell,
            f"[red]{flag}[/]" if flag else "",
        )
    console.print(table)

    ex = result.exceptions[result.exceptions["period"].eq(ts)].head(top)
    extable = Table(title=f"Top {len(ex)} exceptions — {ts:%Y-%m} (worst first)", title_justify="left")
    for col in ("sev", "department", "team", "metric", "rule", "value", "expected"):
        extable.add_column(
            col, justify="right" if col in ("sev", "value") else "left", no_wrap=col != "expected"
        )
    for rec in ex.to_dict("records"):
        lo, hi = rec["expected_low"], rec["expected_high"]
        expected = (
            f">= {lo:.4g}" if np.isinf(hi) else (f"<= {hi:.4g}" if np.isinf(lo) else f"{lo:.4g} .. {hi:.4g}")
        )
        extable.add_row(
            str(rec["severity"]),
            str(rec["department"]),
            "-" if pd.isna(rec["team"]) else str(rec["team"]),
            str(rec["metric"]) + (" *" if rec["customer_centric"] else ""),
            str(rec["rule"]),
            f"{rec['value']:.4g}",
            expected,
        )
    console.print(extable)
    console.print("* customer-centric metric", style="dim")
