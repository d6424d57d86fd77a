"""``cx failure-demand DATA_DIR``: failure demand by originating department, charge-back, fix vs absorb."""

from __future__ import annotations

import math
import warnings
from typing import Annotated

import typer
from rich.table import Table

from cx_framework.cli._analysis import (
    CacheOption,
    JsonOption,
    emit_json,
    open_analysis,
    print_assumptions,
    print_figures,
)
from cx_framework.cli._app import command, console, lit
from cx_framework.cli._engine_option import ENGINE_OPTION
from cx_framework.cli._inputs import CONFIGS_DIR, Configs, DataDir, Sources, check_inputs
from cx_framework.cli._options import in_range, one_of
from cx_framework.errors import StatisticalWarning

__all__ = ["failure_demand"]


def _money(value: float, currency: str) -> str:
    return "–" if not math.isfinite(value) else f"{lit(currency)} {value:,.0f}"


_PERIODS = ("D", "W", "M", "Q", "Y")


@command("failure-demand")
def failure_demand(
    data_dir: DataDir = None,
    sources: Sources = None,
    configs: Configs = CONFIGS_DIR,
    period: Annotated[
        str,
        typer.Option(
            "--period",
            help="Period of the summary: D, W, M (default), Q or Y (day, week, month, quarter, year).",
        ),
    ] = "M",
    fix: Annotated[
        str | None,
        typer.Option(
            "--fix", help="Department or failure reason to evaluate fixing (e.g. billing, bill_query)."
        ),
    ] = None,
    fix_cost: Annotated[float, typer.Option("--fix-cost", help="One-off cost of the fix (currency).")] = 0.0,
    reduction: Annotated[
        float, typer.Option("--reduction", help="Share 0-1 of the source's failure demand the fix removes.")
    ] = 0.5,
    horizon: Annotated[int, typer.Option("--horizon", help="Months of benefit counted.")] = 24,
    as_json: JsonOption = False,
    cache: CacheOption = True,
    engine: ENGINE_OPTION = None,
) -> None:
    """Which contacts are caused by another department's failure, what they cost, and who should pay.

    Needs the contacts table (DATA_DIR or --sources)."""
    one_of(period, "--period", _PERIODS)
    in_range(fix_cost, "--fix-cost", low=0, high=1e15)
    in_range(reduction, "--reduction", low=0, high=1)
    in_range(horizon, "--horizon", low=1, high=1_200)
    inputs = check_inputs(data_dir, sources, configs)
    from cx_framework.failure_demand import attribute_failure_demand, fix_vs_absorb

    analysis = open_analysis(inputs, engine=engine, cache=cache)
    sec = analysis.section("failure_demand")
    config = analysis.config
    result = analysis.result("failure_demand")
    if period != result.period:  # another summary period: the same attribution, summarised differently
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StatisticalWarning)
            result = attribute_failure_demand(
                analysis.tables["contacts"], config, economics=config.economics, period=period
            )
    currency = result.currency
    decision = None
    if fix is not None:
        decision = fix_vs_absorb(
            result,
            fix,
            fix_cost=fix_cost,
            expected_reduction=reduction,
            horizon_months=horizon,
            config=config,
        )
    if as_json:
        extra: dict[str, object] = {
            "by_department": result.by_department,
            "charge_back": result.charge_back,
            "unclassified_reasons": result.unclassified_reasons,
        }
        if decision is not None:
            extra["fix_vs_absorb"] = {
                k: getattr(decision, k)
                for k in (
                    "source",
                    "npv",
                    "npv_fix",
                    "npv_absorb",
                    "break_even_month",
                    "fix_cost",
                    "expected_reduction",
                    "horizon_months",
                    "avoided_contacts_per_month",
                )
            }
        emit_json(analysis, ["failure_demand"], extra)
        return

    console.print(result.summary_text(), highlight=False, markup=False)

    pareto = Table(title=f"Failure demand (FD) by originating department, Pareto; cost in {lit(currency)}")
    headers = ("department", "failure", "repeat", "FD % of all", "cum. %", "FD cost")
    for name in headers:
        pareto.add_column(name, justify="left" if name == "department" else "right", no_wrap=True)
    for row in result.by_department.itertuples(index=False):
        cost = float(row.failure_cost)
        pareto.add_row(
            lit(row.originating_department),
            f"{row.failure:,}",
            f"{row.repeat:,}",
            f"{row.failure_demand_share:.1%}",
            f"{row.cumulative_share:.1%}",
            f"{cost:,.0f}" if math.isfinite(cost) else "–",
        )
    console.print(pareto)

    charge = Table(title="Charge-back: each department pays for the failure demand it causes")
    for name in ("department", "failure", "repeat", "handle h", "charge", "share"):
        charge.add_column(
            name, justify="left" if name == "department" else "right", no_wrap=name == "department"
        )
    for row in result.charge_back.itertuples(index=False):
        charge.add_row(
            lit(row.department),
            f"{row.failure_contacts:,}",
            f"{row.repeat_contacts:,}",
            f"{row.handle_hours:,.1f}",
            _money(float(row.charge), currency),
            f"{row.share_of_charge:.1%}" if math.isfinite(row.share_of_charge) else "–",
        )
    console.print(charge)

    if len(result.unclassified_reasons):
        unknown = Table(title="Reasons missing from failure_demand.yaml (counted as unclassified)")
        unknown.add_column("reason")
        unknown.add_column("contacts", justify="right")
        for row in result.unclassified_reasons.itertuples(index=False):
            unknown.add_row(lit(row.reason), f"{row.contacts:,}")
        console.print(unknown, style="yellow")

    if decision is not None:
        console.print(decision.summary(), highlight=False, markup=False)
    print_figures(sec.figures)
    print_assumptions(analysis)
