"""``cx staffing INTERVALS_FILE``: service level achieved, agents required vs staffed, the budget gap, and how well
Erlang C and Erlang A describe the observed intervals (calibration, recommended model)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

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
from cx_framework.cli._inputs import CONFIGS_DIR, Configs, Sources, check_inputs, override_option
from cx_framework.cli._options import TABLE_SUFFIXES, in_range, one_of, require_file
from cx_framework.errors import InputValueError

__all__ = ["staffing", "agents_estimated", "model_fit_json", "model_fit_table"]

_GROUPINGS = ("day", "week", "month", "queue")
ECON = "economics.yaml"
_SL_TEXT = {
    "offered": "answered within threshold / offered",
    "answered": "answered within threshold / answered",
    "excl_short_abandons": "answered within threshold / (offered - short abandons)",
}


@command("staffing")
def staffing(
    intervals_file: Annotated[
        Path | None,
        typer.Argument(
            metavar="INTERVALS_FILE|DATA_DIR",
            help="intervals table (.parquet or .csv), or a data directory holding one (or give --sources).",
            show_default=False,
        ),
    ] = None,
    sources: Sources = None,
    configs: Configs = CONFIGS_DIR,
    target: Annotated[
        float | None, override_option("--target", "Service-level target, share 0-1", ECON)
    ] = None,
    answer_s: Annotated[
        float | None, override_option("--answer-s", "Answer-time threshold (s)", ECON)
    ] = None,
    shrinkage: Annotated[
        float | None, override_option("--shrinkage", "Share of paid time off the phones", ECON)
    ] = None,
    budget_fte: Annotated[
        float | None,
        typer.Option("--budget-fte", help="Funded FTE to evaluate instead of the FTE staffed in the window."),
    ] = None,
    hours_per_fte: Annotated[
        float | None, override_option("--hours-per-fte", "Paid hours per FTE per week", ECON)
    ] = None,
    by: Annotated[str, typer.Option("--by", help="Grouping: day, week, month or queue.")] = "month",
    interval_s: Annotated[float, typer.Option("--interval-s", help="Interval length (seconds).")] = 1800.0,
    patience_s: Annotated[
        float | None, typer.Option("--patience-s", help="Mean caller patience (s): use Erlang A.")
    ] = None,
    as_json: JsonOption = False,
    cache: CacheOption = True,
    engine: ENGINE_OPTION = None,
) -> None:
    """Realised service level, agents required vs staffed, what the funded FTE would buy, and which queueing model
    (Erlang C or Erlang A) describes the observed intervals.

    Headline figures cover the forecast window of assumptions.yaml (the months up to the reporting month); the
    table covers every interval of the file.
    """
    one_of(by, "--by", _GROUPINGS)
    in_range(target, "--target", low=0, high=1, low_inclusive=False, high_inclusive=False)
    in_range(answer_s, "--answer-s", low=0, high=3_600)
    in_range(shrinkage, "--shrinkage", low=0, high=1, high_inclusive=False)
    in_range(budget_fte, "--budget-fte", low=0, high=1e7)
    in_range(hours_per_fte, "--hours-per-fte", low=0, high=80, low_inclusive=False)
    in_range(interval_s, "--interval-s", low=0, high=86_400, low_inclusive=False)
    in_range(patience_s, "--patience-s", low=0, high=1e7, low_inclusive=False)
    if intervals_file is not None and not intervals_file.exists():
        raise InputValueError(
            f"INTERVALS_FILE: {intervals_file} does not exist; give an intervals file or a data folder.",
            argument="INTERVALS_FILE",
        )
    single_file = intervals_file is not None and not intervals_file.is_dir()
    if single_file:
        require_file(intervals_file, "INTERVALS_FILE", suffixes=TABLE_SUFFIXES)
    if single_file and sources is not None:
        raise InputValueError(
            "--sources: give either INTERVALS_FILE or --sources sources.yaml, not both.", argument="--sources"
        )
    inputs = check_inputs(
        None if single_file else intervals_file,
        sources,
        configs,
        required=not single_file,
        data_option="INTERVALS_FILE",
    )
    from cx_framework.conflicts.budget_gap import staffing_budget_gap
    from cx_framework.io import read_table
    from cx_framework.staffing import aggregate_service_level, required_agents
    from cx_framework.staffing.intervals import _group_keys

    overrides = {
        "service_level_target": target,
        "answer_s": answer_s,
        "shrinkage": shrinkage,
        "hours_per_fte_week": hours_per_fte,
    }
    if single_file:
        assert intervals_file is not None
        tables = {"intervals": read_table(intervals_file, "intervals")}
        analysis = open_analysis(None, configs, cache=cache, tables=tables, economics=overrides)
    else:
        analysis = open_analysis(inputs, engine=engine, cache=cache, economics=overrides)
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
    estimated = agents_estimated(intervals)
    fit, fit_problem = _model_fit(analysis, patience_s)
    if as_json:
        rows = sl.assign(
            required_agent_hours=agg["required_hours"].to_numpy(),
            staffed_agent_hours=agg["staffed_hours"].to_numpy(),
            intervals_short=agg["short"].to_numpy().astype(int),
        )
        extra: dict[str, object] = {
            "by": by,
            "table": rows,
            "overall_service_level_all_intervals": overall,
            "agents_staffed_estimated": estimated,
            "model_fit": model_fit_json(fit) if fit is not None else None,
        }
        if fit_problem is not None:
            extra["model_fit_unavailable"] = fit_problem
        if gap is not None:
            extra["budget_gap"] = {
                "budget_fte": gap.fte_budget,
                "fte_needed": gap.fte_needed,
                "fte_gap": gap.fte_gap,
                "service_level": gap.achieved_service_level,
            }
        emit_json(analysis, ["staffing"], extra)
        return

    staffed = "staffed agent-h (estimated)" if estimated else "staffed agent-h"
    table = Table(title=f"Realised service level and staffing by {by} (SL = {_SL_TEXT[definition]})")
    for name in (by, "offered", "realised SL", "required agent-h", staffed, "intervals short"):
        table.add_column(name, justify="left" if name == by else "right")
    for i, row in enumerate(sl.itertuples(index=False)):
        label = getattr(row, by)
        label = (
            label.strftime("%Y-%m-%d" if by != "month" else "%Y-%m")
            if hasattr(label, "strftime")
            else lit(label)
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
        f"intervals staffed below the Erlang {'A' if patience_s else 'C'} requirement"
        f"{' (agents staffed ESTIMATED from call records)' if estimated else ''}. Rostered need = on-phone "
        f"agents / (1 - {econ.shrinkage:g}) shrinkage.",
        highlight=False,
    )
    window = analysis.assumptions_dict()["forecast_window"]
    caveat = "; FTE funded = agents staffed, ESTIMATED from call records" if estimated else ""
    print_figures(sec.figures, f"Staffing, forecast window {window}{caveat}")
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
    if fit is not None:
        console.print(model_fit_table(fit, by_hour=False))
        console.print(fit.summary(), highlight=False, markup=False)
    else:
        console.print(f"[yellow]model fit not available:[/] {lit(fit_problem)}", highlight=False)
    print_notes(sec.notes)
    print_assumptions(analysis)


def agents_estimated(intervals: pd.DataFrame) -> bool:
    """Whether ``agents_staffed`` was estimated from call records (intervals derived from contacts, no logins)."""
    column = intervals.get("agents_staffed_estimated")
    return bool(column is not None and column.fillna(False).astype(bool).any())


def _model_fit(analysis: Any, patience_s: float | None) -> tuple[Any, str | None]:
    """Erlang C vs Erlang A on the analysis' intervals (patience from its contacts when present), or why not."""
    from cx_framework.analysis import SECTIONS
    from cx_framework.errors import CxError
    from cx_framework.staffing.calibration import fit_queue_models

    try:
        if patience_s is None and "queue_model_fit" in SECTIONS:
            # the Analysis' own fit (cached with the other sections; the Staffing page reads the same one)
            return analysis.result("queue_model_fit"), None
        tables = analysis.tables
        contacts = tables.get("contacts")
        return fit_queue_models(tables["intervals"], contacts=contacts, patience_s=patience_s), None
    except CxError as exc:
        return None, str(exc).splitlines()[0]


def model_fit_json(fit: Any) -> dict[str, Any]:
    """The calibration of a :class:`~cx_framework.staffing.calibration.ModelFit` as JSON-ready data (the same
    document ``cx model-fit --json`` prints, and ``model_fit`` of ``cx staffing --json``)."""
    import json
    import math

    overall = fit.overall
    return {
        "recommended": fit.recommended,
        "patience_s": {
            str(k): (None if not math.isfinite(v) else float(v)) for k, v in fit.patience_s.items()
        },
        "agents_estimated": bool(fit.agents_estimated),
        "interval_s": float(fit.interval_s),
        "models": [
            {
                "model": str(model),
                "sl_mae": float(r.sl_mae),
                "sl_bias": float(r.sl_bias),
                "abandonment_mae": float(r.abandonment_mae),
                "abandonment_bias": float(r.abandonment_bias),
                "intervals": int(r.intervals),
            }
            for model, r in overall.iterrows()
        ],
        "calibration": json.loads(fit.calibration.to_json(orient="records")),
    }


def model_fit_table(fit: Any, *, by_hour: bool) -> Table:
    """The calibration table (MAE and bias per model, overall or also by hour of day) in percentage points."""
    from cx_framework.staffing.calibration import MODELS

    rows = fit.calibration if by_hour else fit.calibration[fit.calibration["hour"] == "all"]
    note = "; agents staffed ESTIMATED from call records" if fit.agents_estimated else ""
    columns = ["model", *(["hour"] if by_hour else []), "intervals", "offered"]
    columns += ["SL MAE", "SL bias", "abandon MAE", "abandon bias"]
    table = Table(
        *columns,
        title="Erlang C vs Erlang A against observed intervals (percentage points, offered-weighted; bias = "
        f"predicted − observed{note})",
    )
    for r in rows.itertuples(index=False):
        recommended = " *" if r.model == fit.recommended else ""
        table.add_row(
            MODELS[r.model] + recommended,
            *([str(r.hour)] if by_hour else []),
            f"{r.intervals:,}",
            f"{r.offered:,}",
            f"{r.sl_mae * 100:.1f}",
            f"{r.sl_bias * 100:+.1f}",
            f"{r.abandonment_mae * 100:.1f}",
            f"{r.abandonment_bias * 100:+.1f}",
        )
    table.caption = f"* recommended model: {MODELS[fit.recommended]}"
    return table
