"""``cx score DATA_DIR``: the shared customer scorecard per department, alignment flags and top exceptions."""

from __future__ import annotations

from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.table import Table

from cx_framework.cli._analysis import (
    CacheOption,
    JsonOption,
    emit_json,
    open_analysis,
    print_assumptions,
    print_figures,
    print_notes,
)
from cx_framework.cli._app import command, console, lit
from cx_framework.cli._engine_option import ENGINE_OPTION
from cx_framework.cli._inputs import CONFIGS_DIR, Configs, DataDir, Sources, check_inputs
from cx_framework.cli._options import in_range, parse_month
from cx_framework.errors import InputValueError

__all__ = ["score_command"]

_STYLE = {"green": "green", "amber": "yellow", "red": "red", "no data": "dim"}


def _fmt(value: float) -> str:
    return "-" if value is None or not np.isfinite(value) else f"{value:.1f}"


def _status(status: object) -> str:
    s = str(status) if isinstance(status, str) else "-"
    return f"[{_STYLE.get(s, 'white')}]{s}[/]"


@command("score")
def score_command(
    data_dir: DataDir = None,
    sources: Sources = None,
    configs: Configs = CONFIGS_DIR,
    period: Annotated[
        str | None,
        typer.Option(
            "--period",
            help="Month to show, YYYY-MM (default: the latest complete month — metrics that need later data, "
            "such as next-month churn, are incomplete in the last months of the data).",
        ),
    ] = None,
    top: Annotated[int, typer.Option("--top", help="Number of exceptions to list.")] = 10,
    as_json: JsonOption = False,
    cache: CacheOption = True,
    engine: ENGINE_OPTION = None,
) -> None:
    """Score every department on the shared customer scorecard and its own card; list the top exceptions.

    Needs department_metrics; employee_metrics and employees are used when present (DATA_DIR or --sources)."""
    month = parse_month(period, "--period")
    in_range(top, "--top", low=0, high=100_000)
    inputs = check_inputs(data_dir, sources, configs)
    analysis = open_analysis(
        inputs,
        engine=engine,
        cache=cache,
        as_of=None if month is None else f"{month:%Y-%m}",
    )
    try:
        sec = analysis.section("scorecard")
    except InputValueError as exc:
        if month is None or exc.argument != "as_of":
            raise
        # the month came from --period: say so (the library speaks of the as_of assumption)
        detail = str(exc).split(";", 1)[-1].strip()
        raise InputValueError(
            f"--period: {month:%Y-%m} has no scorecard data; {detail}.", argument="--period"
        ) from None
    result = analysis.result("scorecard")
    ts = pd.Timestamp(analysis.assumptions_dict()["as_of"] + "-01")
    if ts not in set(result.periods):
        if month is not None:
            first, last = min(result.periods), max(result.periods)
            raise InputValueError(
                f"--period: {month:%Y-%m} has no scorecard data; the data cover {first:%Y-%m} to {last:%Y-%m}.",
                argument="--period",
            )
        ts = max(result.periods)
    shared = result.shared_scores[result.shared_scores["period"].eq(ts)].set_index("department")
    local = result.department_scores[result.department_scores["period"].eq(ts)].set_index("department")
    align = result.alignment.set_index("department")
    ex = result.exceptions[result.exceptions["period"].eq(ts)].head(top)
    if as_json:
        departments = shared.reset_index()[["department", "composite", "status", "coverage"]].merge(
            local.reset_index()[["department", "composite", "status", "green_inside_red_outside"]].rename(
                columns={"composite": "own_composite", "status": "own_status"}
            ),
            on="department",
            how="left",
        )
        emit_json(
            analysis,
            ["scorecard"],
            {
                "period": f"{ts:%Y-%m}",
                "departments": departments,
                "exceptions": ex.drop(columns=[], errors="ignore"),
            },
        )
        return
    print_notes(sec.notes)

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
            lit(dept),
            f"{_fmt(s['composite'])} {_status(s['status'])}",
            f"{s['coverage']:.0%}",
            own_card,
            weight_cell,
            r_cell,
            f"[red]{flag}[/]" if flag else "",
        )
    console.print(table)

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
            lit(rec["severity"]),
            lit(rec["department"]),
            "-" if pd.isna(rec["team"]) else lit(rec["team"]),
            lit(rec["metric"]) + (" *" if rec["customer_centric"] else ""),
            lit(rec["rule"]),
            f"{rec['value']:.4g}",
            expected,
        )
    console.print(extable)
    console.print("* customer-centric metric", style="dim")
    print_figures(sec.figures, f"Headline figures — {ts:%Y-%m}")
    print_assumptions(analysis)
