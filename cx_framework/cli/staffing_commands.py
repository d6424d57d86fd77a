"""``cx staffing INTERVALS_FILE``: service level achieved, agents required vs staffed, and the budget gap."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
from cx_framework.cli._app import command, console
from cx_framework.errors import InputValueError

__all__ = ["staffing"]

_GROUPINGS = ("day", "week", "month", "queue")
_SL_TEXT = {
    "offered": "answered within threshold / offered",
    "answered": "answered within threshold / answered",
    "excl_short_abandons": "answered within threshold / (offered - short abandons)",
}


@command("staffing")
def staffing(
    intervals_file: Annotated[
        Path, typer.Argument(help="intervals table (.parquet or .csv), or a data directory holding one.")
    ],
    configs: Annotated[
        Path, typer.Option("--configs", help="Configuration directory (economics.yaml, assumptions.yaml).")
    ] = Path("configs"),
    target: Annotated[
        float | None,
        typer.Option("--target", help="Service-level target, share 0-1 (default: economics.yaml)."),
    ] = None,
    answer_s: Annotated[
        float | None,
        typer.Option("--answer-s", help="Answer-time threshold in seconds (default: economics.yaml)."),
    ] = None,
    shrinkage: Annotated[
        float | None,
        typer.Option("--shrinkage", help="Share of paid time off the phones (default: economics.yaml)."),
    ] = None,
    budget_fte: Annotated[
        float | None,
        typer.Option("--budget-fte", help="Funded FTE to evaluate instead of the FTE staffed in the window."),
    ] = None,
    hours_per_fte: Annotated[
        float | None,
        typer.Option("--hours-per-fte", help="Paid hours per FTE per week (default: economics.yaml)."),
    ] = None,
    by: Annotated[str, typer.Option("--by", help="Grouping: day, week, month or queue.")] = "month",
    interval_s: Annotated[float, typer.Option("--interval-s", help="Interval length (seconds).")] = 1800.0,
    patience_s: Annotated[
        float | None, typer.Option("--patience-s", help="Mean caller patience (s): use Erlang A.")
    ] = None,
    as_json: JsonOption = False,
    cache: CacheOption = True,
) -> None:
    """Realised service level, agents required vs staffed, and what the funded FTE would buy.

    Headline figures cover the forecast window of assumptions.yaml (the months up to the reporting month); the
    table covers every interval of the file.
    """
    from cx_framework.conflicts.budget_gap import staffing_budget_gap
    from cx_framework.io import read_table
    from cx_framework.staffing import aggregate_service_level, required_agents
    from cx_framework.staffing.intervals import _group_keys

    if by not in _GROUPINGS:
        raise InputValueError(
            f"option '--by' must be one of {', '.join(_GROUPINGS)}; got {by!r}.", argument="by"
        )
    overrides = {
        "service_level_target": target,
        "answer_s": answer_s,
        "shrinkage": shrinkage,
        "hours_per_fte_week": hours_per_fte,
    }
    if intervals_file.is_dir():
        analysis = open_analysis(intervals_file, configs, cache=cache, economics=overrides)
    else:
        tables = {"intervals": read_table(intervals_file, "intervals")}
        analysis = open_analysis(None, configs, cache=cache, tables=tables, economics=overrides)
    econ = analysis.config.economics
    sec = analysis.section("staffing")
    intervals = analysis.tables["intervals"]
    definition = analysis.assumptions.service_level_definition
    sl = aggregate_service_level(intervals, by=by, definition=definition)
    assert isinstance(sl, pd.DataFrame)  # a grouping was given
    req = required_agents(
        intervals,
        target=econ.service_level_target,
        shrinkage=econ.shrinkage,
        answer_s=econ.answer_s,
        interval_s=interval_s,
        patience_s=patience_s,
    )
    hours = interval_s / 3600.0
    req = req.assign(
        required_hours=req["required_agents"] * hours,
        staffed_hours=req["agents_staffed"] * hours,
        short=req["staffing_gap"] < 0,
    )
    # same keys (same calendar derivation) and order as aggregate_service_level's groups (both sorted)
    keyed, keys = _group_keys(req, by, table="intervals")
    agg = keyed.groupby(keys, sort=True)[["required_hours", "staffed_hours", "short"]].sum()
    overall = float(aggregate_service_level(intervals, definition=definition))
    gap = None
    if budget_fte is not None:
        forecast = analysis.result("staffing").forecast
        gap = staffing_budget_gap(
            forecast[["interval_start", "queue", "offered", "aht_s"]],
            budget_fte,
            target=econ.service_level_target,
            answer_s=econ.answer_s,
            shrinkage=econ.shrinkage,
            hours_per_fte=econ.hours_per_fte_week,
            interval_s=interval_s,
        )
    if as_json:
        rows = sl.assign(
            required_agent_hours=agg["required_hours"].to_numpy(),
            staffed_agent_hours=agg["staffed_hours"].to_numpy(),
            intervals_short=agg["short"].to_numpy().astype(int),
        )
        extra: dict[str, object] = {"by": by, "table": rows, "overall_service_level_all_intervals": overall}
        if gap is not None:
            extra["budget_gap"] = {
                "budget_fte": gap.fte_budget,
                "fte_needed": gap.fte_needed,
                "fte_gap": gap.fte_gap,
                "service_level": gap.achieved_service_level,
            }
        emit_json(analysis, ["staffing"], extra)
        return

    table = Table(title=f"Realised service level and staffing by {by} (SL = {_SL_TEXT[definition]})")
    for name in (by, "offered", "realised SL", "required agent-h", "staffed agent-h", "intervals short"):
        table.add_column(name, justify="left" if name == by else "right")
    for i, row in enumerate(sl.itertuples(index=False)):
        label = getattr(row, by)
        label = (
            label.strftime("%Y-%m-%d" if by != "month" else "%Y-%m")
            if hasattr(label, "strftime")
            else str(label)
        )
        status = "green" if row.service_level >= econ.service_level_target else "red"
        table.add_row(
            label,
            f"{row.denominator:,.0f}",
            f"[{status}]{row.service_level:.1%}[/]",
            f"{agg['required_hours'].iloc[i]:,.1f}",
            f"{agg['staffed_hours'].iloc[i]:,.1f}",
            f"{int(agg['short'].iloc[i]):,}",
        )
    console.print(table)
    console.print(
        f"Realised service level {overall:.1%} over every interval of the file (volume-weighted) against a target "
        f"of {econ.service_level_target:.0%} in {econ.answer_s:g} s; {int(req['short'].sum())} of {len(req)} "
        f"intervals staffed below the Erlang {'A' if patience_s else 'C'} requirement. Rostered need = on-phone "
        f"agents / (1 - {econ.shrinkage:g}) shrinkage.",
        highlight=False,
    )
    print_figures(sec.figures, f"Staffing, forecast window {analysis.assumptions_dict()['forecast_window']}")
    if gap is not None:
        console.print(gap.summary(), highlight=False)
        daily = Table(title=f"Service level {gap.fte_budget:g} funded FTE would buy, by day")
        for name in ("day", "offered", "SL with budget"):
            daily.add_column(name, justify="left" if name == "day" else "right")
        for row in gap.by_day().itertuples(index=False):
            status = "green" if row.meets_target else "red"
            daily.add_row(
                row.day.strftime("%Y-%m-%d"), f"{row.offered:,.0f}", f"[{status}]{row.service_level:.1%}[/]"
            )
        console.print(daily)
    print_notes(sec.notes)
    print_assumptions(analysis)
