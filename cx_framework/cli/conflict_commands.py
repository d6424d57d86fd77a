"""``cx conflicts DATA_DIR`` and ``cx sla-chain``: where pay and SLA design fight the customer."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.table import Table

from cx_framework.cli._app import command, console
from cx_framework.errors import InputValueError

__all__ = ["conflicts", "sla_chain_command"]

_BEHAVIOUR_TABLES = ["employee_metrics", "employees", "customers", "intervals", "department_metrics"]


def _pct(value: float) -> str:
    return "–" if not math.isfinite(value) else f"{value:.1%}"


def _conflict_table(frame: pd.DataFrame, owner: str, title: str, top: int, config: Any) -> Table:
    from cx_framework.conflicts.explain import TOTAL_EFFECT_LABEL, conflict_rows

    rows = conflict_rows(frame, config)
    shown = rows.head(top)
    count = f"all {len(rows)}" if len(shown) == len(rows) else f"top {len(shown)} of {len(rows)}"
    table = Table(title=f"{title} ({count}, worst first)", title_justify="left")
    labels = [c for c in shown.columns if c not in ("Path effect",)]
    for name in labels:
        header = "total effect" if name == TOTAL_EFFECT_LABEL else name
        table.add_column(header, justify="right" if name in (TOTAL_EFFECT_LABEL, "Severity") else "left")
    for r in shown.itertuples(index=False):
        cells = dict(zip(shown.columns, r, strict=True))
        table.add_row(
            *[
                f"{cells[c]:+.3f}"
                if c == TOTAL_EFFECT_LABEL
                else (f"{cells[c]:.3f}" if c == "Severity" else str(cells[c]))
                for c in labels
            ]
        )
    return table


@command("conflicts")
def conflicts(
    data_dir: Annotated[
        Path,
        typer.Argument(
            help="Directory with employee_metrics, employees, customers, intervals, department_metrics."
        ),
    ],
    configs: Annotated[Path, typer.Option("--configs", help="Configuration directory.")] = Path("configs"),
    scheme: Annotated[
        list[str] | None, typer.Option("--scheme", help="Scheme id (repeatable); default: every scheme.")
    ] = None,
    effort_budget: Annotated[
        float, typer.Option("--effort-budget", help="Max sum of % changes per employee (share, 0.10 = 10 %).")
    ] = 0.10,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the responsiveness draws.")] = 0,
    top: Annotated[int, typer.Option("--top", help="Conflicts shown per table.")] = 15,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the full conflict matrix to .csv or .parquet (atomic)."),
    ] = None,
) -> None:
    """Which bonus components and department objectives fight the shared customer KPIs, and what each scheme
    would do to KPIs, churn and value (behaviour simulation)."""
    from cx_framework.config import load_config
    from cx_framework.conflicts.behaviour import simulate_behaviour
    from cx_framework.conflicts.graph import conflict_matrix, sla_conflicts
    from cx_framework.io import load_data_dir, write_table

    config = load_config(configs)
    ids = list(scheme) if scheme else list(config.schemes)
    unknown = [s for s in ids if s not in config.schemes]
    if unknown:
        raise InputValueError(
            f"--scheme: unknown scheme(s) {', '.join(unknown)}; known: {', '.join(config.schemes) or 'none'}",
            argument="scheme",
        )
    schemes = {s: config.schemes[s] for s in ids}
    tables = load_data_dir(data_dir, tables=_BEHAVIOUR_TABLES)  # fail on bad data before printing anything
    matrix = conflict_matrix(schemes, config)
    from cx_framework.conflicts.explain import TOTAL_EFFECT_CONVENTION

    console.print(
        _conflict_table(matrix, "scheme", "Bonus components that fight shared customer KPIs", top, config)
    )
    departments = sla_conflicts(config)
    console.print(
        _conflict_table(
            departments, "department", "Department objectives that fight shared customer KPIs", top, config
        )
    )
    console.print(TOTAL_EFFECT_CONVENTION, style="dim")

    currency = config.economics.currency
    sim = Table(
        title=f"Behaviour simulation per month vs today ({currency}; effort budget {effort_budget:.0%})"
    )
    for name in (
        "scheme",
        "payout today",
        "payout",
        "KPI index",
        "first-contact resolution",
        "monthly churn",
        "extra churned",
        "net value",
    ):
        sim.add_column(name, justify="left" if name == "scheme" else "right")
    for sch in schemes.values():
        r = simulate_behaviour(sch, tables, config, seed=seed, effort_budget=effort_budget, validate=False)
        k = r.kpis.set_index("metric")["pct_change"]
        sim.add_row(
            sch.name,
            f"{r.payout_cost['baseline']:,.0f}",
            f"{r.payout_cost['scheme']:,.0f}",
            f"{r.customer_kpi_index:+.2%}",
            f"{k.get('fcr', float('nan')):+.2%}",
            f"{k.get('churn_rate', float('nan')):+.2%}",
            f"{r.extra_churned_customers:+,.1f}",
            f"{r.net_value:+,.0f}",
        )
    console.print(sim)
    console.print(
        "KPI index = Σ shared-KPI weight × % change in the KPI's good direction; net value = −Δ payout − Δ staffing "
        "cost − Δ value of churned customers.",
        style="dim",
    )
    if out is not None:
        path = write_table(matrix, out)
        console.print(f"wrote {path}")


@command("sla-chain")
def sla_chain_command(
    configs: Annotated[Path, typer.Option("--configs", help="Configuration directory.")] = Path("configs"),
    data: Annotated[
        Path | None, typer.Option("--data", help="Data directory: refit stage lead times from work_items.")
    ] = None,
    journey: Annotated[str | None, typer.Option("--journey", help="Only this journey id.")] = None,
    method: Annotated[str, typer.Option("--method", help="convolution or monte_carlo.")] = "convolution",
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the stage table to .csv or .parquet (atomic).")
    ] = None,
) -> None:
    """Do the departmental SLAs add up to the customer promise? Every department green, customer red."""
    from cx_framework.config import load_config
    from cx_framework.conflicts.chain import fit_stage_distributions, journey_chain, required_tightening
    from cx_framework.io import load_data_dir, write_table

    config = load_config(configs)
    journeys = config.slas.journeys
    if journey is not None:
        journeys = [j for j in journeys if j.id == journey]
        if not journeys:
            known = ", ".join(j.id for j in config.slas.journeys)
            raise InputValueError(
                f"--journey: unknown journey '{journey}'; known: {known}", argument="journey"
            )
    fitted = None
    if data is not None:
        from cx_framework.cli.report_commands import caveats

        work_items = load_data_dir(data, tables=["work_items"])["work_items"]
        with caveats():  # fit caveats as one-line notes, not Python warnings
            fitted = fit_stage_distributions(work_items)
    frames = []
    for j in journeys:
        result = journey_chain(j, fitted=fitted, method=method)  # type: ignore[arg-type]
        table = Table(
            title=f"{j.name}: promise {result.promise_h:g} h for {j.promise.percent:.0%}",
            title_justify="left",
        )
        for name in ("step", "department", "SLA h", "P(≤ SLA)", "target", "mean h", "share of miss"):
            table.add_column(name, justify="left" if name in ("step", "department") else "right")
        dept_names = {d.id: d.name for d in config.organisation.departments}
        for r in result.stages.itertuples(index=False):
            colour = "" if pd.isna(r.meets_sla) else ("green" if r.meets_sla else "red")
            own = _pct(r.p_within_sla) if math.isfinite(r.p_within_sla) else "–"
            step_name = str(r.component).replace("_", " ")
            if r.kind == "handoff":
                step_name = "hand-off wait before " + step_name.replace(" (hand-off)", "")
            table.add_row(
                step_name[:1].upper() + step_name[1:],
                dept_names.get(str(r.department), str(r.department or "")),
                "–" if math.isnan(r.sla_h) else f"{r.sla_h:g}",
                f"[{colour}]{own}[/]" if colour else own,
                "–" if math.isnan(r.sla_percent) else f"{r.sla_percent:.0%}",
                f"{r.mean_h:.1f}",
                _pct(r.share_of_miss),
            )
        console.print(table)
        ok = "green" if result.meets_promise else "red"
        console.print(
            f"End to end: P(≤ {result.promise_h:g} h) = [{ok}]{result.p_within_promise:.1%}[/] "
            f"(promise {j.promise.percent:.0%}); median {result.quantiles.loc[0.5]:.0f} h, "
            f"90th percentile {result.quantiles.loc[0.9]:.0f} h"
        )
        if not result.meets_promise:
            t = required_tightening(result).iloc[0]
            if bool(t["feasible"]):
                console.print(
                    f"To keep the promise, {str(t['stage']).replace('_', ' ')} "
                    f"({dept_names.get(str(t['department']), t['department'])}) must cut its lead time by "
                    f"{t['reduction']:.0%}: SLA {t['current_sla_h']:g} h → {t['required_sla_h']:.1f} h."
                )
            else:
                console.print(f"No single-stage fix: even an instant {t['stage']} cannot keep the promise.")
        frames.append(result.stages.assign(journey=j.id, p_within_promise=result.p_within_promise))
    if out is not None and frames:
        path = write_table(pd.concat(frames, ignore_index=True), out)
        console.print(f"wrote {path}")
