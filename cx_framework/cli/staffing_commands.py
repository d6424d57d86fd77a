"""``cx staffing INTERVALS_FILE``: service level achieved, agents required vs staffed, and the budget gap."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from cx_framework.cli._app import command, console
from cx_framework.errors import InputValueError

__all__ = ["staffing"]

_GROUPINGS = ("day", "week", "month", "queue")


@command("staffing")
def staffing(
    intervals_file: Annotated[Path, typer.Argument(help="intervals table (.parquet or .csv).")],
    target: Annotated[float, typer.Option("--target", help="Service-level target, share 0-1.")] = 0.8,
    answer_s: Annotated[float, typer.Option("--answer-s", help="Answer-time threshold (seconds).")] = 20.0,
    shrinkage: Annotated[float, typer.Option("--shrinkage", help="Share of paid time off the phones.")] = 0.3,
    budget_fte: Annotated[
        float | None, typer.Option("--budget-fte", help="Funded FTE: adds the budget-gap analysis.")
    ] = None,
    hours_per_fte: Annotated[
        float, typer.Option("--hours-per-fte", help="Paid hours per FTE per week.")
    ] = 37.5,
    by: Annotated[str, typer.Option("--by", help="Grouping: month (default), week, day or queue.")] = "month",
    interval_s: Annotated[float, typer.Option("--interval-s", help="Interval length (seconds).")] = 1800.0,
    patience_s: Annotated[
        float | None, typer.Option("--patience-s", help="Mean caller patience (s): use Erlang A.")
    ] = None,
) -> None:
    """Volume-weighted service level, required vs staffed agents and (with --budget-fte) the budget gap."""
    from cx_framework.conflicts.budget_gap import staffing_budget_gap
    from cx_framework.io import read_table
    from cx_framework.staffing import aggregate_service_level, required_agents
    from cx_framework.staffing.intervals import _group_keys

    if by not in _GROUPINGS:
        raise InputValueError(
            f"option '--by' must be one of {', '.join(_GROUPINGS)}; got {by!r}.", argument="by"
        )
    intervals = read_table(intervals_file, "intervals")
    sl = aggregate_service_level(intervals, by=by)
    assert isinstance(sl, pd.DataFrame)  # a grouping was given
    req = required_agents(
        intervals,
        target=target,
        shrinkage=shrinkage,
        answer_s=answer_s,
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
    overall = float(aggregate_service_level(intervals))

    table = Table(
        title=f"Realised service level and staffing by {by} (SL = answered within threshold / offered)",
        title_justify="left",
    )
    for name in (by, "offered", "realised SL", "required agent-h", "staffed agent-h", "intervals short"):
        table.add_column(name, justify="left" if name == by else "right")
    for i, row in enumerate(sl.itertuples(index=False)):
        label = getattr(row, by)
        if hasattr(label, "strftime"):
            label = label.strftime("%Y-%m" if by == "month" else "%Y-%m-%d")
        else:
            label = str(label).replace("_", " ")
        status = "green" if row.service_level >= target else "red"
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
        f"Realised service level {overall:.1%} (volume-weighted) against a target of {target:.0%} in {answer_s:g} s; "
        f"{int(req['short'].sum())} of {len(req)} intervals staffed below the Erlang "
        f"{'A' if patience_s else 'C'} requirement. Rostered need = on-phone agents / (1 - {shrinkage:g}) shrinkage.",
        highlight=False,
    )
    if budget_fte is not None:
        columns = [
            c
            for c in (
                "interval_start",
                "queue",
                "offered",
                "aht_s",
                "agents_staffed",
                "answered_within_threshold",
            )
            if c in intervals.columns
        ]
        gap = staffing_budget_gap(
            intervals[columns].assign(aht_s=req["aht_s"].to_numpy()),  # AHT filled where nothing was answered
            budget_fte,
            target=target,
            answer_s=answer_s,
            shrinkage=shrinkage,
            hours_per_fte=hours_per_fte,
            interval_s=interval_s,
            patience_s=patience_s,
        )
        console.print(gap.summary(), highlight=False)
        period = "month" if by in ("month", "queue") else by
        per = gap.intervals[["interval_start", "offered"]].assign(
            answered_within_threshold=gap.intervals["offered"] * gap.intervals["service_level"]
        )
        grouped = aggregate_service_level(per, by=period)
        assert isinstance(grouped, pd.DataFrame)
        budget = Table(
            title=f"Service level the funded FTE would buy if scheduled to the workload, by {period}",
            title_justify="left",
        )
        for name in (period, "offered", "SL with the funded FTE"):
            budget.add_column(name, justify="left" if name == period else "right")
        for row in grouped.itertuples(index=False):
            label = getattr(row, period)
            status = "green" if row.service_level >= target else "red"
            budget.add_row(
                label.strftime("%Y-%m" if period == "month" else "%Y-%m-%d"),
                f"{row.denominator:,.0f}",
                f"[{status}]{row.service_level:.1%}[/]",
            )
        console.print(budget)
