"""``cx conflicts DATA_DIR`` and ``cx sla-chain``: where pay and SLA design fight the customer."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.table import Table

from cx_framework.cli._analysis import (
    GRAPH_CHOICES,
    CacheOption,
    GraphOption,
    JsonOption,
    emit_json,
    open_analysis,
    print_assumptions,
    print_figures,
)
from cx_framework.cli._app import command, console, lit
from cx_framework.cli._engine_option import ENGINE_OPTION
from cx_framework.cli._inputs import CONFIGS_DIR, Configs, DataDir, Sources, check_inputs, override_option
from cx_framework.cli._options import TABLE_SUFFIXES, check_outputs, in_range, one_of, write_output
from cx_framework.cli._progress import print_notes
from cx_framework.errors import InputValueError

__all__ = ["conflicts", "sla_chain_command"]


def _sign_convention() -> str:
    """The one sign convention of total effects (heatmap, tables, CLI and report say the same); imported when
    used, so that ``cx --help`` and option errors do not wait for the conflicts engine to load."""
    from cx_framework.conflicts.explain import TOTAL_EFFECT_CONVENTION

    return TOTAL_EFFECT_CONVENTION


def _pct(value: float) -> str:
    return "–" if not math.isfinite(value) else f"{value:.1%}"


#: interval columns (conflict_intervals) every reported conflict carries in --json
_INTERVAL_COLUMNS = [
    "estimated_total_effect",
    "total_effect_low",
    "total_effect_high",
    "estimated_severity",
    "severity_low",
    "severity_high",
    "conflict_probability",
    "status",
    "path_evidence",
]
_EVIDENCE_NOTE = (
    "Intervals: 95 % over parameter draws of the causal graph estimated from history (cx graph-evidence); a "
    "conflict is certain only when its whole interval is on the conflict side. Edge verdicts are associations "
    "under the graph's assumptions."
)


def _conflict_table(
    frame: pd.DataFrame,
    owner: str,
    title: str,
    top: int,
    config: Any,
    intervals: pd.DataFrame | None = None,
    unavailable: str | None = None,
) -> list[Table]:
    """The conflicts table and, below it, the same conflicts with their interval and path evidence (two tables,
    so neither is squeezed unreadable in an 80-column terminal)."""
    from cx_framework.conflicts.explain import EVIDENCE_COLUMNS, TOTAL_EFFECT_LABEL, conflict_rows

    rows = conflict_rows(frame, config, intervals=intervals, unavailable=unavailable)
    shown = rows.head(top)
    count = f"all {len(rows)}" if len(shown) == len(rows) else f"top {len(shown)} of {len(rows)}"
    table = Table(title=f"{title} ({count}, worst first)", title_justify="left")
    labels = [c for c in shown.columns if c not in ("Path effect", *EVIDENCE_COLUMNS)]
    for name in labels:
        header = "total effect" if name == TOTAL_EFFECT_LABEL else name
        table.add_column(header, justify="right" if name in (TOTAL_EFFECT_LABEL, "Severity") else "left")
    for r in shown.itertuples(index=False):
        cells = dict(zip(shown.columns, r, strict=True))
        table.add_row(
            *[
                f"{cells[c]:+.3f}"
                if c == TOTAL_EFFECT_LABEL
                else (f"{cells[c]:.3f}" if c == "Severity" else lit(cells[c]))
                for c in labels
            ]
        )
    if EVIDENCE_COLUMNS[0] not in shown.columns:
        return [table]
    evidence = Table(
        title=f"The same conflicts: how sure, from the causal graph estimated from history ({count})",
        title_justify="left",
    )
    what = shown.columns[1]  # Bonus component / Objective
    headers = {
        what: what,
        "KPI hurt": "KPI hurt",
        EVIDENCE_COLUMNS[0]: "severity, estimated (95 %)",
        EVIDENCE_COLUMNS[1]: "under the evidence",
        EVIDENCE_COLUMNS[2]: "strongest path [edge evidence]",
    }
    for header in headers.values():
        evidence.add_column(header)
    for r in shown.itertuples(index=False):
        cells = dict(zip(shown.columns, r, strict=True))
        evidence.add_row(*[lit(cells[c]) for c in headers])
    return [table, evidence]


@command("conflicts")
def conflicts(
    data_dir: DataDir = None,
    sources: Sources = None,
    configs: Configs = CONFIGS_DIR,
    scheme: Annotated[
        list[str] | None, typer.Option("--scheme", help="Scheme id (repeatable); default: every scheme.")
    ] = None,
    effort_budget: Annotated[
        float | None,
        override_option(
            "--effort-budget", "Max sum of % changes per employee (share, 0.10 = 10 %)", "assumptions.yaml"
        ),
    ] = None,
    seed: Annotated[
        int | None, override_option("--seed", "Seed of the responsiveness draws", "assumptions.yaml")
    ] = None,
    top: Annotated[int, typer.Option("--top", help="Conflicts shown per table.")] = 15,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the full conflict matrix to .csv or .parquet (atomic)."),
    ] = None,
    as_json: JsonOption = False,
    cache: CacheOption = True,
    engine: ENGINE_OPTION = None,
    graph: GraphOption = "configured",
) -> None:
    """Which bonus components and department objectives fight the shared customer KPIs, and what each scheme
    would do to KPIs, churn and value (behaviour simulation, with its interval over the estimated graph)
    compared with the scheme in force.

    Total effects are per 1 % rise of the component's metric (elasticities summed over every causal path).
    --graph estimated runs the conflicts on the elasticities estimated from history, --graph both shows them
    side by side with the configured ones and names the edges behind each difference.
    Needs employee_metrics, employees, customers, intervals and department_metrics (DATA_DIR or --sources)."""
    one_of(graph, "--graph", GRAPH_CHOICES)
    in_range(effort_budget, "--effort-budget", low=0, high=1, low_inclusive=False)
    in_range(seed, "--seed", low=0, high=2**63 - 1)
    in_range(top, "--top", low=0, high=100_000)
    check_outputs({"--out": (out, TABLE_SUFFIXES)})
    inputs = check_inputs(data_dir, sources, configs)
    from cx_framework.conflicts.graph import sla_conflicts

    analysis = open_analysis(
        inputs,
        engine=engine,
        cache=cache,
        effort_budget=effort_budget,
        seed=seed,
    )
    config = analysis.config
    ids = list(scheme) if scheme else list(config.schemes)
    unknown = [s for s in ids if s not in config.schemes]
    if unknown:
        raise InputValueError(
            f"--scheme: unknown scheme(s) {', '.join(unknown)}; known: {', '.join(config.schemes) or 'none'}",
            argument="scheme",
        )
    full = analysis.result("conflicts")
    matrix = full[full["scheme"].isin(ids)].reset_index(drop=True)
    behaviour = analysis.result("behaviour")  # fail on bad data before printing anything
    current = analysis.assumptions_dict()["current_scheme"]
    names = ["conflicts", "behaviour"]

    def wanted(fig_id: str) -> bool:
        return fig_id.rsplit(".", 1)[-1] in ids

    figures = [f for f in analysis.figures(*names) if wanted(f.id)]
    # every conflict with its interval and the evidence behind it (the Analysis' evidence section)
    from cx_framework.analysis.sections import conflict_evidence

    intervals, department_intervals, evidence_missing = conflict_evidence(analysis)
    if evidence_missing is None and set(ids) == set(config.schemes):  # the count covers every scheme
        figures += [f for f in analysis.figures("evidence") if f.id == "evidence.certain_conflicts"]
    from cx_framework.cli import _graph_compare as gc

    # the behaviour value with its interval over the estimated graph's draws (certain only if it excludes zero)
    beh_intervals, beh_missing = gc.behaviour_interval_rows(analysis)
    comparison, comparison_missing = (None, None)
    if graph != "configured":
        comparison, comparison_missing = gc.comparison_of(analysis)
        if comparison is not None and set(ids) == set(config.schemes):
            figures += [
                f for f in analysis.figures("evidence_comparison") if f.id.endswith("conflicts_changed")
            ]
    if out is not None:
        path = write_output(matrix, out)
    if as_json:
        shown = matrix[matrix["conflict"]]
        departments_shown = sla_conflicts(config)
        departments_shown = departments_shown[departments_shown["conflict"]]
        if intervals is not None and department_intervals is not None:
            key = ["scheme", "component", "kpi"]
            shown = shown.merge(intervals[[*key, *_INTERVAL_COLUMNS]], on=key, how="left")
            dkey = ["department", "component", "kpi"]
            departments_shown = departments_shown.merge(
                department_intervals[[*dkey, *_INTERVAL_COLUMNS]], on=dkey, how="left"
            )
        doc_extra: dict[str, object] = {
            "conflicts": shown,
            "department_conflicts": departments_shown,
            "sign_convention": _sign_convention(),
            "evidence_unavailable": evidence_missing,
        }
        rows = analysis.frames("behaviour")["summary"]
        if beh_intervals is not None:  # adds interval columns to each scheme's row (existing keys kept)
            extra_cols = [c for c in beh_intervals.columns if c not in rows.columns or c == "scheme"]
            rows = rows.merge(beh_intervals[extra_cols], on="scheme", how="left")
        doc_extra["behaviour"] = rows[rows["scheme"].isin(ids)]
        doc_extra["behaviour_interval_unavailable"] = beh_missing
        doc_extra["graph"] = graph
        if graph != "configured":
            doc_extra["estimated_graph"] = gc.conflicts_document(
                comparison, ids, comparison_missing, intervals, department_intervals, _INTERVAL_COLUMNS
            )
            doc_extra["graph_note"] = gc.GRAPH_NOTE
        if out is not None:
            doc_extra["written"] = str(path)
        extra_sections = ["evidence_comparison"] if comparison is not None else []
        emit_json(analysis, [*names, "evidence", *extra_sections], doc_extra, figures=figures)
        return
    if graph != "estimated":
        for table in _conflict_table(
            matrix,
            "scheme",
            "Bonus components that fight shared customer KPIs",
            top,
            config,
            intervals,
            evidence_missing,
        ):
            console.print(table)
    departments = sla_conflicts(config)
    if graph != "estimated":
        for table in _conflict_table(
            departments,
            "department",
            "Department objectives that fight shared customer KPIs",
            top,
            config,
            department_intervals,
            evidence_missing,
        ):
            console.print(table)
    if graph != "configured" and comparison is None:
        console.print(f"[yellow]Estimated graph not available:[/] {lit(comparison_missing)}", highlight=False)
    elif comparison is not None:
        est = comparison.estimated_matrix
        if graph == "estimated" and est is not None:
            for table in _conflict_table(
                est[est["scheme"].isin(ids)].reset_index(drop=True),
                "scheme",
                "On the estimated graph: bonus components that fight shared customer KPIs",
                top,
                config,
                intervals,
                evidence_missing,
            ):
                console.print(table)
            for table in _conflict_table(
                comparison.estimated_departments,
                "department",
                "On the estimated graph: department objectives that fight shared customer KPIs",
                top,
                config,
                department_intervals,
                evidence_missing,
            ):
                console.print(table)
        gc.print_conflict_comparison(comparison, ids, config, top)
    if evidence_missing is not None:
        console.print(f"[yellow]Intervals not available:[/] {lit(evidence_missing)}", highlight=False)
    else:
        console.print(_EVIDENCE_NOTE, style="dim", markup=False)
    console.print(_sign_convention(), style="dim")

    currency = config.economics.currency
    budget = analysis.assumptions.effort_budget
    sim = Table(
        title=f"Behaviour simulation per month vs today's behaviour under {lit(current)} ({lit(currency)}; effort budget {budget:.0%})"
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
    # outside HR a scheme paying fewer than min_group_size employees shows no payout or net value
    shown = analysis.frames("behaviour")["summary"].set_index("scheme")
    withheld = shown["suppressed"].to_dict() if "suppressed" in shown else {}
    for sid in ids:
        r = behaviour[sid]
        k = r.kpis.set_index("metric")["pct_change"]
        if withheld.get(sid):
            sim.add_row(
                lit(config.schemes[sid].name),
                "withheld",
                "withheld",
                f"{r.customer_kpi_index:+.2%}",
                f"{k.get('fcr', float('nan')):+.2%}",
                f"{k.get('churn_rate', float('nan')):+.2%}",
                f"{r.extra_churned_customers:+,.1f}",
                "withheld",
            )
            continue
        sim.add_row(
            lit(config.schemes[sid].name),
            f"{r.payout_cost['baseline']:,.0f}",
            f"{r.payout_cost['scheme']:,.0f}",
            f"{r.customer_kpi_index:+.2%}",
            f"{k.get('fcr', float('nan')):+.2%}",
            f"{k.get('churn_rate', float('nan')):+.2%}",
            f"{r.extra_churned_customers:+,.1f}",
            f"{r.net_value:+,.0f}",
        )
    console.print(sim)
    for sid, why in withheld.items():
        if why and sid in ids:
            console.print(
                f"[yellow]Withheld:[/] {lit(config.schemes[sid].name)}: {lit(why)}", highlight=False
            )
    if beh_intervals is not None:
        gc.print_behaviour_intervals(beh_intervals, ids, config)
        console.print(gc.GRAPH_NOTE, style="dim", markup=False)
    else:
        console.print(f"[yellow]Net value intervals not available:[/] {lit(beh_missing)}", highlight=False)
    console.print(
        "KPI index = Σ shared-KPI weight × % change in the KPI's good direction; net value = −Δ payout − Δ staffing "
        "cost − Δ value of churned customers.",
        style="dim",
    )
    print_figures(figures)
    if out is not None:
        console.print(f"wrote {lit(path)}")
    print_assumptions(analysis)


@command("sla-chain")
def sla_chain_command(
    configs: Configs = CONFIGS_DIR,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Data directory: stage lead times fitted from work_items (assumptions.yaml sla_lead_times: data). "
            "Without it (and without --sources) the lead times of slas.yaml are used.",
        ),
    ] = None,
    sources: Sources = None,
    journey: Annotated[str | None, typer.Option("--journey", help="Only this journey id.")] = None,
    method: Annotated[str, typer.Option("--method", help="convolution or monte_carlo.")] = "convolution",
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the stage table to .csv or .parquet (atomic).")
    ] = None,
    as_json: JsonOption = False,
    cache: CacheOption = True,
    engine: ENGINE_OPTION = None,
) -> None:
    """Do the departmental SLAs add up to the customer promise? Every department green, customer red."""
    one_of(method, "--method", ("convolution", "monte_carlo"))
    check_outputs({"--out": (out, TABLE_SUFFIXES)})
    inputs = check_inputs(data, sources, configs, required=False, data_option="--data")
    from cx_framework.conflicts.chain import journey_chain, required_tightening

    if not inputs.given:
        analysis = open_analysis(None, configs, cache=cache, tables={}, sla_lead_times="config")
    else:
        analysis = open_analysis(inputs, engine=engine, cache=cache)
    config = analysis.config
    journeys = config.slas.journeys
    if journey is not None:
        journeys = [j for j in journeys if j.id == journey]
        if not journeys:
            known = ", ".join(j.id for j in config.slas.journeys)
            raise InputValueError(
                f"--journey: unknown journey '{journey}'; known: {known}", argument="journey"
            )
    sec = analysis.section("sla_chain")
    bundle = analysis.result("sla_chain")
    chains = bundle["chains"]
    if method != "convolution":  # the headline figures stay the convolution's; the tables show this method
        chains = {j.id: journey_chain(j, fitted=bundle["fitted"], method=method) for j in journeys}  # type: ignore[arg-type]
    ids = {j.id for j in journeys}
    figures = [f for f in sec.figures if f.id.rsplit(".", 1)[-1] in ids]
    frames = [
        chains[j.id].stages.assign(journey=j.id, p_within_promise=chains[j.id].p_within_promise)
        for j in journeys
    ]
    path = write_output(pd.concat(frames, ignore_index=True), out) if out is not None and frames else None
    if as_json:
        extra = {"method": method, "stages": pd.concat(frames, ignore_index=True)}
        if path is not None:
            extra["written"] = str(path)
        emit_json(analysis, ["sla_chain"], extra, figures=figures)
        return
    print_notes(sec.notes)
    for j in journeys:
        result = chains[j.id]
        table = Table(
            title=f"{lit(j.name)}: promise {result.promise_h:g} h for {j.promise.percent:.0%}",
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
                lit(dept_names.get(str(r.department), str(r.department or ""))),
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
                    f"{t['reduction']:.0%}: SLA {t['current_sla_h']:g} h → {t['required_sla_h']:.1f} h.",
                    markup=False,
                )
            else:
                console.print(
                    f"No single-stage fix: even an instant {t['stage']} cannot keep the promise.",
                    markup=False,
                )
    print_figures(figures)
    if path is not None:
        console.print(f"wrote {lit(path)}")
    print_assumptions(analysis)
