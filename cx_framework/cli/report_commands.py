"""``cx actions DATA_DIR`` (ranked actions) and ``cx report DATA_DIR --out report.html`` (leadership report)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

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
from cx_framework.cli._inputs import CONFIGS_DIR, Configs, DataDir, Quiet, Sources, check_inputs
from cx_framework.cli._options import check_outputs, in_range, one_of
from cx_framework.cli._progress import Step, caveats, compute_sections, progress, quiet_for

__all__ = ["actions_command", "report_command"]

# engine steps of recommend_actions (labels passed to its progress callback) plus loading the data
_ENGINE_STEPS = 9
#: every section of the Analysis (the report shows all of them)
_SECTION_NAMES = (
    "scorecard",
    "payouts",
    "conflicts",
    "behaviour",
    "evidence",
    "sla_chain",
    "staffing",
    "retention",
    "failure_demand",
    "actions",
)
_REPORT_STEPS = 10


def _app_only_sections() -> list[str]:
    """The Analysis sections the report does not show but app pages read (``--for-app`` caches them too)."""
    import cx_framework.analysis.sections  # noqa: F401 - registers the sections
    from cx_framework.analysis import SECTIONS
    from cx_framework.analysis.core import headline_sections

    return [name for name in SECTIONS if name not in headline_sections()]


def _plan(analysis: Any, step: Step, top: int) -> Any:
    """The Analysis' action plan (each section computed once, reported as a progress step), first ``top``."""
    import dataclasses

    from cx_framework.analysis.core import headline_sections

    compute_sections(analysis, headline_sections(), step, required=["actions"])
    plan = analysis.result("actions")
    return dataclasses.replace(plan, actions=plan.actions.head(top))


def _money_cell(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 0.5 else "–"


def _actions_table(plan: Any, title: str, config: Any = None) -> Table:
    cur = plan.currency
    names = {d.id: d.name for d in config.organisation.departments} if config is not None else {}
    table = Table(title=title, title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("action", overflow="fold", ratio=3, min_width=22)
    table.add_column("owner", overflow="fold", max_width=12)
    table.add_column(f"{cur}/year", justify="right", no_wrap=True)
    table.add_column("low to high", justify="right", max_width=12)
    # below 120 columns the four value parts squeezed the action's title to a letter a line: they are left to the
    # sentences under the table (which state every part) and to --json / --csv
    parts = [
        c
        for c in ("customer_value", "staffing_value", "payout_value", "other_value")
        if c in plan.actions and console.width >= 120
    ]
    headers = {
        "customer_value": "customers",
        "staffing_value": "staffing",
        "payout_value": "payouts",
        "other_value": "other",
    }
    for c in parts:
        table.add_column(headers[c], justify="right", no_wrap=True)
    table.add_column("effort")
    for r in plan.actions.itertuples(index=False):
        value = f"{r.expected_annual_value:,.0f}" if r.monetised else "–"
        if not r.monetised:
            span = "not monetised"
        elif r.value_low == r.value_high:
            span = "no range"
        else:
            span = f"{r.value_low:,.0f} to {r.value_high:,.0f}"
        table.add_row(
            str(r.rank),
            ("[green]●[/] " if r.customer_centric else "") + lit(r.title),
            lit(names.get(str(r.owner_department), str(r.owner_department))),
            value,
            span,
            *[_money_cell(float(getattr(r, c))) for c in parts],
            lit(r.effort),
        )
    return table


def _print_plan(plan: Any, title: str, config: Any = None) -> None:
    console.print(_actions_table(plan, title, config))
    for r in plan.actions.itertuples(index=False):
        console.print(f"[bold]{r.rank}.[/] {lit(r.rationale)}", highlight=False)
        trade_off = getattr(r, "trade_off", "")
        if isinstance(trade_off, str) and trade_off:
            console.print(f"   [yellow]trade-off:[/] {lit(trade_off)}", highlight=False)
    console.print(
        "Value parts (per year, + = gain): customers = retained customer value; staffing = staffing or "
        "contact-handling cost saved; payouts = bonus payout saved; other = one-off costs such as a fix."
        if console.width >= 120
        else "The value parts of each action are in its sentence above (a terminal of 120 columns or more shows "
        "them as columns too).",
        style="dim",
    )
    _unavailable_lines(plan)


def _unavailable_lines(plan: Any) -> None:
    for line in plan.unavailable_lines():
        console.print(f"[yellow]not available:[/] {lit(line)}", highlight=False)


@command("actions")
def actions_command(
    data_dir: DataDir = None,
    sources: Sources = None,
    top: Annotated[int, typer.Option("--top", help="Number of actions shown.")] = 10,
    configs: Configs = CONFIGS_DIR,
    current_scheme: Annotated[
        str | None, typer.Option("--current-scheme", help="Bonus scheme in force today (scheme id).")
    ] = None,
    csv: Annotated[
        Path | None,
        typer.Option("--csv", help="Also write the actions to .csv or .xlsx (sanitised, atomic)."),
    ] = None,
    keep_ids: Annotated[
        bool,
        typer.Option("--keep-ids", help="Keep customer ids in exports (default: keyed-hash pseudonyms)."),
    ] = False,
    as_json: JsonOption = False,
    cache: CacheOption = True,
    engine: ENGINE_OPTION = None,
    quiet: Quiet = False,
    graph: GraphOption = "configured",
) -> None:
    """What to do first: ranked actions with expected annual value, owner, effort and the evidence.

    --graph estimated re-ranks the actions on the causal-graph elasticities estimated from history, --graph both
    shows both rankings side by side with the differences and the edges behind them.
    Reads every table it finds (DATA_DIR or --sources); an analysis whose table is missing is left out and named."""
    one_of(graph, "--graph", GRAPH_CHOICES)
    in_range(top, "--top", low=1, high=10_000)
    check_outputs({"--csv": (csv, (".csv", ".xlsx"))})
    inputs = check_inputs(data_dir, sources, configs)
    from cx_framework.report import export_table

    silent = quiet_for(quiet, as_json)
    with caveats(), progress(_ENGINE_STEPS, "reading the data", enabled=not silent) as step:
        analysis = open_analysis(
            inputs,
            engine=engine,
            cache=cache,
            current_scheme=current_scheme,
        )
        plan = _plan(analysis, step, top)
        from cx_framework.cli import _graph_compare as gc

        comparison, comparison_missing = (None, None)
        if graph != "configured":
            step("actions on the estimated graph")
            comparison, comparison_missing = gc.comparison_of(analysis)
    written = None
    if csv is not None:
        frame = plan.actions.drop(columns=["evidence"])
        written = export_table(frame, csv, keep_ids=keep_ids)
    if as_json:
        extra: dict[str, Any] = {"actions": plan.actions.drop(columns=["evidence"]), "graph": graph}
        if graph != "configured":
            extra["estimated_graph"] = gc.actions_document(comparison, comparison_missing)
            extra["graph_note"] = gc.GRAPH_NOTE
        if written is not None:
            extra["written"] = str(written)
        emit_json(analysis, ["actions", *(["evidence_comparison"] if comparison is not None else [])], extra)
        return
    if graph != "estimated":
        _print_plan(
            plan,
            f"Top {len(plan.actions)} of {len(plan.candidates)} candidate actions by expected annual value "
            "(● = customer-centric)",
            analysis.config,
        )
    if graph != "configured":
        if comparison is None:
            console.print(
                f"[yellow]Estimated graph not available:[/] {lit(comparison_missing)}", highlight=False
            )
        else:
            gc.print_action_comparison(comparison, analysis.config)
    console.print(
        "Values come from the named analyses (see `evidence` in --csv); ranges are their low/high cases.",
        style="dim",
    )
    if written is not None:
        console.print(f"wrote {lit(written)}")
    print_figures(analysis.figures("actions"))
    print_assumptions(analysis)


@command("report")
def report_command(
    data_dir: DataDir = None,
    sources: Sources = None,
    out: Annotated[
        Path, typer.Option("--out", help="HTML report to write (self-contained, offline).")
    ] = Path("report.html"),
    configs: Configs = CONFIGS_DIR,
    keep_ids: Annotated[
        bool,
        typer.Option("--keep-ids", help="Show customer ids as recorded (default: keyed-hash pseudonyms)."),
    ] = False,
    top: Annotated[int, typer.Option("--top", help="Actions in the executive summary.")] = 10,
    current_scheme: Annotated[
        str | None, typer.Option("--current-scheme", help="Bonus scheme in force today (scheme id).")
    ] = None,
    xlsx: Annotated[
        Path | None, typer.Option("--xlsx", help="Also write the HR payout workbook (one sheet per scheme).")
    ] = None,
    as_json: JsonOption = False,
    cache: CacheOption = True,
    quiet: Quiet = False,
    engine: ENGINE_OPTION = None,
    for_app: Annotated[
        bool,
        typer.Option(
            "--for-app",
            help="Also compute into the cache the sections only the app's pages read (queueing-model fit, SLA-chain "
            "views, monthly retention, graph comparison, intervals): every page then opens from the cache.",
        ),
    ] = False,
) -> None:
    """Write the leadership briefing: ranked actions and the evidence behind them, in one offline HTML file.

    Sections: executive summary, shared scorecard, department alignment, exceptions, incentive conflicts, SLA
    chains, staffing vs budget, service level vs retention and value, failure demand. With --xlsx also the HR
    payout workbook (one sheet per scheme). Reads DATA_DIR or --sources.
    """
    in_range(top, "--top", low=1, high=10_000)
    # both outputs are checked before anything is computed or written: a wrong --xlsx never costs the report
    check_outputs({"--out": (out, (".html", ".htm")), "--xlsx": (xlsx, (".xlsx",))})
    inputs = check_inputs(data_dir, sources, configs)
    from cx_framework.report import build_payout_workbook, build_report

    viewer = None
    if xlsx is not None:  # the workbook holds individual pay (access.yaml roles); the HTML report does not
        from cx_framework.cli.comp_commands import _authorize, _viewer

        viewer = _viewer(inputs.configs, None, ask="set CX_USER (and CX_PASSWORD, or answer the prompt)")
        _authorize(inputs.configs, viewer, "payout_export")  # refuse before the report's minutes of work

    silent = quiet_for(quiet, as_json)
    app_only = _app_only_sections() if for_app else []
    steps = _ENGINE_STEPS + _REPORT_STEPS + len(app_only)
    with caveats(), progress(steps, "reading the data", enabled=not silent) as step:
        # the workbook's reader (HR, or a manager: their teams) reads the Analysis; without --xlsx the default
        # reader (not signed in when access control is on: aggregates of min_group_size employees or more)
        analysis = open_analysis(
            inputs,
            cache=cache,
            engine=engine,
            current_scheme=current_scheme,
            **({"viewer": viewer} if xlsx is not None else {}),
        )
        plan = _plan(analysis, step, top)
        path = build_report(
            analysis.tables,
            analysis.config,
            out,
            plan=plan,
            keep_ids=keep_ids,
            progress=step,
            analysis=analysis,
        )
        workbook = None
        if xlsx is not None:
            comparison = plan.results.get("scheme_comparison")
            if comparison is not None:
                step("payout workbook")
                workbook = build_payout_workbook(
                    comparison.payouts, xlsx, currency=plan.currency, viewer=viewer
                )
        # after the report: a section that cannot run here is named by the page that needs it
        compute_sections(analysis, app_only, step)
    if as_json:
        extra: dict[str, Any] = {"report": str(path), "workbook": str(workbook) if workbook else None}
        emit_json(analysis, list(_SECTION_NAMES), extra)
        return
    _print_plan(plan, "Executive summary: top actions (● = customer-centric)", analysis.config)
    console.print(
        f"wrote {lit(path)} ({path.stat().st_size / 1e6:.1f} MB, opens offline in any browser)",
        highlight=False,
    )
    if xlsx is not None:
        if workbook is None:
            console.print("[yellow]payout workbook not written:[/] no incentive schemes could be evaluated")
        else:
            console.print(f"wrote {lit(workbook)}", highlight=False)
    print_assumptions(analysis)
