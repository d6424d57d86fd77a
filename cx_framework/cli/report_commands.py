"""``cx actions DATA_DIR`` (ranked actions) and ``cx report DATA_DIR --out report.html`` (leadership report)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from cx_framework.cli._analysis import (
    CacheOption,
    JsonOption,
    emit_json,
    open_analysis,
    print_assumptions,
    print_figures,
)
from cx_framework.cli._app import command, console, err_console

__all__ = ["actions_command", "report_command"]

# engine steps of recommend_actions (labels passed to its progress callback) plus loading the data
_ENGINE_STEPS = 9
#: every section of the Analysis (the report shows all of them)
_SECTION_NAMES = (
    "scorecard",
    "payouts",
    "conflicts",
    "behaviour",
    "sla_chain",
    "staffing",
    "retention",
    "failure_demand",
    "actions",
)
_REPORT_STEPS = 10


@contextmanager
def _progress(total: int, first: str) -> Iterator[Callable[[str], None]]:
    """A rich progress bar on stderr; yields the callback that advances it by one labelled step."""
    with Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description:<28}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task(first, total=total)
        seen = {"n": 0}

        def advance(label: str) -> None:
            if seen["n"]:
                bar.advance(task)
            seen["n"] += 1
            bar.update(task, description=label, total=max(total, seen["n"]))

        yield advance
        bar.update(task, completed=max(total, seen["n"]))


@contextmanager
def caveats() -> Iterator[None]:
    """Collect the warnings raised inside (statistical caveats, assumptions the library had to make) and print each
    once, as one readable ``note:`` line on stderr — never Python's ``file:line: Warning`` format."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for message in dict.fromkeys(str(w.message).strip() for w in caught):
        err_console.print(f"[yellow]note:[/] {message}", highlight=False, soft_wrap=True, markup=True)


def _plan(analysis: Any, step: Callable[[str], None], top: int) -> Any:
    """The Analysis' action plan (each section computed once, reported as a progress step), first ``top``."""
    import dataclasses

    from cx_framework.analysis import SECTIONS
    from cx_framework.analysis.core import headline_sections
    from cx_framework.errors import CxError

    for name in headline_sections():
        step(SECTIONS[name].label)
        try:
            analysis.section(name)
        except CxError:
            if name == "actions":
                raise
    plan = analysis.result("actions")
    return dataclasses.replace(plan, actions=plan.actions.head(top))


def _money_cell(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 0.5 else "–"


def _actions_table(plan: Any, title: str, config: Any = None) -> Table:
    cur = plan.currency
    names = {d.id: d.name for d in config.organisation.departments} if config is not None else {}
    table = Table(title=title, title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("action", overflow="fold", ratio=3)
    table.add_column("owner", overflow="fold")
    table.add_column(f"{cur}/year", justify="right", no_wrap=True)
    table.add_column("low to high", justify="right")
    parts = [
        c for c in ("customer_value", "staffing_value", "payout_value", "other_value") if c in plan.actions
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
            ("[green]●[/] " if r.customer_centric else "") + str(r.title),
            names.get(str(r.owner_department), str(r.owner_department)),
            value,
            span,
            *[_money_cell(float(getattr(r, c))) for c in parts],
            str(r.effort),
        )
    return table


def _print_plan(plan: Any, title: str, config: Any = None) -> None:
    console.print(_actions_table(plan, title, config))
    for r in plan.actions.itertuples(index=False):
        console.print(f"[bold]{r.rank}.[/] {r.rationale}", highlight=False)
        trade_off = getattr(r, "trade_off", "")
        if isinstance(trade_off, str) and trade_off:
            console.print(f"   [yellow]trade-off:[/] {trade_off}", highlight=False)
    console.print(
        "Value parts (per year, + = gain): customers = retained customer value; staffing = staffing or "
        "contact-handling cost saved; payouts = bonus payout saved; other = one-off costs such as a fix.",
        style="dim",
    )
    _unavailable_lines(plan)


def _unavailable_lines(plan: Any) -> None:
    for name, reason in plan.unavailable.items():
        console.print(f"[yellow]not available:[/] {name} — {reason}", highlight=False)


@command("actions")
def actions_command(
    data_dir: Annotated[Path, typer.Argument(help="Directory with every input table (.parquet or .csv).")],
    top: Annotated[int, typer.Option("--top", min=1, help="Number of actions shown.")] = 10,
    configs: Annotated[Path, typer.Option("--configs", help="Configuration directory.")] = Path("configs"),
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
) -> None:
    """What to do first: ranked actions with expected annual value, owner, effort and the evidence."""
    from cx_framework.report import export_table

    analysis = open_analysis(data_dir, configs, cache=cache, current_scheme=current_scheme)
    with caveats(), _progress(_ENGINE_STEPS, "starting") as step:
        plan = _plan(analysis, step, top)
    written = None
    if csv is not None:
        frame = plan.actions.drop(columns=["evidence"])
        written = export_table(frame, csv, keep_ids=keep_ids)
    if as_json:
        extra: dict[str, Any] = {"actions": plan.actions.drop(columns=["evidence"])}
        if written is not None:
            extra["written"] = str(written)
        emit_json(analysis, ["actions"], extra)
        return
    _print_plan(
        plan,
        f"Top {len(plan.actions)} of {len(plan.candidates)} candidate actions by expected annual value "
        "(● = customer-centric)",
        analysis.config,
    )
    console.print(
        "Values come from the named analyses (see `evidence` in --csv); ranges are their low/high cases.",
        style="dim",
    )
    if written is not None:
        console.print(f"wrote {written}")
    print_figures(analysis.figures("actions"))
    print_assumptions(analysis)


@command("report")
def report_command(
    data_dir: Annotated[Path, typer.Argument(help="Directory with every input table (.parquet or .csv).")],
    out: Annotated[
        Path, typer.Option("--out", help="HTML report to write (self-contained, offline).")
    ] = Path("report.html"),
    configs: Annotated[Path, typer.Option("--configs", help="Configuration directory.")] = Path("configs"),
    keep_ids: Annotated[
        bool,
        typer.Option("--keep-ids", help="Show customer ids as recorded (default: keyed-hash pseudonyms)."),
    ] = False,
    top: Annotated[int, typer.Option("--top", min=1, help="Actions in the executive summary.")] = 10,
    current_scheme: Annotated[
        str | None, typer.Option("--current-scheme", help="Bonus scheme in force today (scheme id).")
    ] = None,
    xlsx: Annotated[
        Path | None, typer.Option("--xlsx", help="Also write the HR payout workbook (one sheet per scheme).")
    ] = None,
    as_json: JsonOption = False,
    cache: CacheOption = True,
) -> None:
    """Write the leadership briefing: ranked actions and the evidence behind them, in one offline HTML file.

    Sections: executive summary, shared scorecard, department alignment, exceptions, incentive conflicts, SLA
    chains, staffing vs budget, service level vs retention and value, failure demand. With --xlsx also the HR
    payout workbook (one sheet per scheme).
    """
    from cx_framework.report import build_payout_workbook, build_report

    analysis = open_analysis(data_dir, configs, cache=cache, current_scheme=current_scheme)
    with caveats(), _progress(_ENGINE_STEPS + _REPORT_STEPS, "starting") as step:
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
                workbook = build_payout_workbook(comparison.payouts, xlsx, currency=plan.currency)
    if as_json:
        extra: dict[str, Any] = {"report": str(path), "workbook": str(workbook) if workbook else None}
        emit_json(analysis, list(_SECTION_NAMES), extra)
        return
    _print_plan(plan, "Executive summary: top actions (● = customer-centric)", analysis.config)
    console.print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, opens offline in any browser)")
    if xlsx is not None:
        if workbook is None:
            console.print("[yellow]payout workbook not written:[/] no incentive schemes could be evaluated")
        else:
            console.print(f"wrote {workbook}")
    print_assumptions(analysis)
