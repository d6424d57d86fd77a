"""``cx payouts`` and ``cx compare-schemes``: what a bonus scheme pays, and how schemes compare."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
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
from cx_framework.cli._inputs import CONFIGS_DIR, Configs, DataDir, Sources, check_inputs, override_option
from cx_framework.cli._options import TABLE_SUFFIXES, check_outputs, in_range, write_output
from cx_framework.errors import ConfigError

__all__ = ["payouts_command", "compare_schemes_command"]


def _money(value: float, *, decimals: int = 2) -> str:
    """Money is rounded to cents (or whole units) only here, at output."""
    if value is None or not np.isfinite(value):
        return "-"
    return f"{value:,.{decimals}f}"


def _pct(value: float) -> str:
    return "-" if value is None or not np.isfinite(value) else f"{100 * value:.1f}%"


def _resolve_scheme(config, scheme: str):  # noqa: ANN001, ANN202 - CxConfig -> Scheme
    """A scheme id from configs/incentives or a path to a scheme YAML (cross-checked against the catalogue)."""
    from cx_framework.config import load_scheme

    if scheme in config.schemes:
        return config.schemes[scheme]
    path = Path(scheme)
    if path.suffix in {".yaml", ".yml"} and path.is_file():
        loaded = load_scheme(path)
        config.with_scheme(loaded)
        return loaded
    known = ", ".join(sorted(config.schemes)) or "none"
    raise ConfigError(
        f"unknown scheme '{scheme}'; schemes in {config.directory}/incentives: {known} (or pass a scheme .yaml path)",
        key="--scheme",
    )


def _rows_for(payouts: Any, viewer: Any) -> Any:
    """The per-employee rows ``viewer`` may read (hr: all; a manager: their teams; access off: all)."""
    from cx_framework.access import restrict_payouts

    return restrict_payouts(payouts, viewer, what="payout_export")


def _count(value: Any) -> str:
    """A head count, or "—" where a group was suppressed (fewer than min_group_size employees)."""
    import pandas as pd

    return "—" if pd.isna(value) else str(int(value))


def _summary_for(payouts: Any, viewer: Any) -> tuple[Any, str]:
    """(per-period totals of ``payouts`` as ``viewer`` may see them, the reason the scheme's totals are withheld
    or ""): outside HR a scheme paying fewer than min_group_size employees shows no pay total at all, and a
    period of too few employees is withheld (:func:`~cx_framework.incentives.withhold_small_periods`)."""
    from cx_framework.access import sees_every_group, withheld_reason
    from cx_framework.incentives import payout_summary, withhold_small_periods

    summary = payout_summary(payouts)
    if sees_every_group(viewer):
        return summary, ""
    n = viewer.min_group_size
    paid = int(payouts.loc[~payouts["withheld"], "employee_id"].nunique())
    small = withheld_reason(n) if 0 < paid < n else ""
    # payout_summary has no scheme column: the one part is None
    return withhold_small_periods(summary, n, small_schemes=[None] if small else []), small


def _totals_for(payouts: Any, summary: Any, viewer: Any, small: str) -> dict[str, Any]:
    """The scheme's totals over every period (None where withheld): target bonus and payout of the paid rows,
    attainment, and the target bonus of the withheld rows (withheld outside HR when 1 to min_group_size - 1
    employees had a withheld period)."""
    from cx_framework.access import sees_every_group

    paid = ~payouts["withheld"].to_numpy()
    target = float(payouts.loc[paid, "target_bonus"].sum())
    total = float(payouts.loc[paid, "payout"].sum())
    withheld_target: float | None = float(payouts.loc[~paid, "target_bonus"].sum())
    if not sees_every_group(viewer):
        unpaid_people = int(payouts.loc[~paid, "employee_id"].nunique())
        if small or 0 < unpaid_people < viewer.min_group_size:
            withheld_target = None
    return {
        "target_bonus": target,
        "payout": total,
        "attainment": total / target if target else np.nan,
        "withheld_target_bonus": withheld_target,
    }


def _figures_of(analysis: Any, schemes: list[str], *, baseline: str | None, viewer: Any = None) -> list[Any]:
    """The payouts figures of ``schemes`` as ``viewer`` may see them; "vs the scheme in force" only when that
    is the baseline shown."""
    current = analysis.assumptions_dict()["current_scheme"]
    out = []
    for f in analysis.figures_for(viewer, "payouts"):
        sid = f.id.rsplit(".", 1)[-1]
        if sid not in schemes or (f.id.startswith("payouts.vs_current.") and baseline != current):
            continue
        out.append(f)
    return out


@command("payouts")
def payouts_command(
    scheme: Annotated[
        str, typer.Option("--scheme", help="Scheme id (configs/incentives) or a scheme .yaml path.")
    ],
    data_dir: DataDir = None,
    sources: Sources = None,
    configs: Configs = CONFIGS_DIR,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write every employee-period to .csv or .parquet (atomic).")
    ] = None,
    xlsx: Annotated[
        Path | None, typer.Option("--xlsx", help="Write an Excel workbook for HR (atomic).")
    ] = None,
    periods: Annotated[int, typer.Option("--periods", help="Number of latest periods to list.")] = 12,
    as_json: JsonOption = False,
    cache: CacheOption = True,
    engine: ENGINE_OPTION = None,
) -> None:
    """Compute what SCHEME pays each covered employee per period (curves, weights, gates, cap, proration).

    Needs employees and employee_metrics (DATA_DIR or --sources)."""
    in_range(periods, "--periods", low=1, high=10_000)
    check_outputs({"--out": (out, TABLE_SUFFIXES), "--xlsx": (xlsx, (".xlsx",))})
    inputs = check_inputs(data_dir, sources, configs)
    from cx_framework.cli.comp_commands import _aggregate_viewer
    from cx_framework.incentives import round_money

    if out is not None or xlsx is not None:  # per-employee exports: individual pay (access.yaml roles)
        from cx_framework.cli.comp_commands import _authorize, _viewer

        viewer = _viewer(inputs.configs, None, ask="set CX_USER (and CX_PASSWORD, or answer the prompt)")
        _authorize(inputs.configs, viewer, "payout_export")  # refuse before computing anything
    else:  # the per-period totals are pay aggregates: none over fewer than min_group_size outside HR
        viewer = _aggregate_viewer(inputs.configs)
    # the command reads the per-employee rows to total them; what it shows is restricted to the viewer below
    analysis = open_analysis(inputs, engine=engine, cache=cache, viewer=None)
    config = analysis.config
    chosen = _resolve_scheme(config, scheme)
    figures: list[Any] = []
    if chosen.id in config.schemes and config.schemes[chosen.id] == chosen:
        payouts = analysis.result("payouts").payouts[chosen.id]  # the Analysis' comparison, same numbers
        figures = _figures_of(
            analysis, [chosen.id], baseline=analysis.assumptions_dict()["current_scheme"], viewer=viewer
        )
    else:  # an edited scheme file: not part of the configuration, computed on the same data and inputs
        from cx_framework.analysis.sections import scheme_payouts

        payouts = scheme_payouts(analysis, chosen)  # sales and customers for a retention clawback included
    summary, small = _summary_for(payouts, viewer)
    cur = config.economics.currency
    clawback = payouts.attrs.get("clawback")
    if small and clawback is not None:
        clawback = small  # the clawback total of too few employees is pay too
    if as_json:
        extra: dict[str, Any] = {"scheme": chosen.id, "periods": summary}
        if small:
            extra["withheld"] = small
        if clawback is not None:
            extra["clawback"] = clawback
        if out is not None:
            extra["written"] = str(write_output(round_money(_rows_for(payouts, viewer)), out))
        emit_json(analysis, ["payouts"], extra, figures=figures)
        return

    table = Table(title=f"Payouts — {lit(chosen.id)} (per {chosen.period}, {lit(cur)})", title_justify="left")
    for col in ("period", "staff", "paid", "withheld", "target bonus", "payout", "attain."):
        table.add_column(col, justify="left" if col == "period" else "right", no_wrap=True)
    hidden = "withheld"
    for row in summary.tail(periods).itertuples(index=False):
        gone = bool(getattr(row, "suppressed", ""))
        table.add_row(
            f"{row.period:%Y-%m}",
            str(row.employees),
            str(row.paid),
            str(row.withheld),
            hidden if gone else _money(row.target_bonus),
            hidden if gone else _money(row.payout),
            hidden if gone else _pct(row.attainment),
        )
    totals = _totals_for(payouts, summary, viewer, small)
    table.add_section()
    table.add_row(
        "total",
        "",
        str(int(summary["paid"].sum())),
        str(int(summary["withheld"].sum())),
        hidden if small else _money(totals["target_bonus"]),
        hidden if small else _money(totals["payout"]),
        hidden if small else _pct(totals["attainment"]),
    )
    console.print(table)
    withheld_target = totals["withheld_target_bonus"]
    console.print(
        f"Gate failed: {int(summary['gate_failed'].sum())} employee-period(s); capped: "
        f"{int(summary['capped'].sum())}; withheld target bonus: "
        + (hidden if withheld_target is None else _money(withheld_target))
    )
    if small:
        console.print(f"[yellow]Withheld:[/] pay totals of {lit(chosen.id)}: {lit(small)}", highlight=False)
    elif summary.attrs.get("suppression"):
        console.print(
            f"[yellow]Withheld:[/] some periods' totals: {lit(summary.attrs['suppression'])}", highlight=False
        )
    excluded = payouts.attrs.get("excluded_by_role", {})
    if excluded:
        roles = ", ".join(f"{role} {n}" for role, n in sorted(excluded.items()))
        console.print(f"Excluded (role not in scheme): {sum(excluded.values())} employee(s) — {lit(roles)}")
    if isinstance(clawback, dict):
        recovered = float(payouts["clawback_recovered"].sum()) if "clawback_recovered" in payouts else 0.0
        console.print(
            f"Retention clawback: {clawback['reversed_sales']:,} credited sale(s) reversed (customer churned "
            f"within the window), {_money(clawback['clawback_total'])} {lit(cur)} clawed back, "
            f"{_money(recovered)} {lit(cur)} recovered from pay so far",
            highlight=False,
        )
    elif isinstance(clawback, str):
        prefix = "totals withheld: " if small else ""
        console.print(f"[yellow]Retention clawback {prefix}{lit(clawback)}[/]", highlight=False)
    for note in analysis.notes("payouts"):
        console.print(f"[yellow]note:[/] {lit(note)}", highlight=False)
    withheld = payouts.loc[payouts["withheld"], "withheld_reason"].value_counts()
    for reason, n in withheld.head(5).items():
        console.print(f"[yellow]Withheld[/] {n} employee-period(s): {lit(reason)}")
    if out is not None:
        console.print(f"Wrote {lit(write_output(round_money(_rows_for(payouts, viewer)), out))}")
    if xlsx is not None:
        from cx_framework.report import build_payout_workbook

        workbook = build_payout_workbook({chosen.id: payouts}, xlsx, currency=cur, viewer=viewer)
        console.print(f"Wrote {lit(workbook)}")
    print_figures(figures)
    print_assumptions(analysis)


@command("compare-schemes")
def compare_schemes_command(
    data_dir: DataDir = None,
    sources: Sources = None,
    schemes: Annotated[
        str | None,
        typer.Option(
            "--schemes",
            help="Comma-separated scheme ids (default: all). The baseline is the scheme in force "
            "(assumptions.yaml current_scheme) when listed, else the first.",
        ),
    ] = None,
    configs: Configs = CONFIGS_DIR,
    budget: Annotated[
        float | None, override_option("--budget", "Annual bonus budget", "economics.yaml")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the per-scheme summary to .csv or .parquet (atomic).")
    ] = None,
    as_json: JsonOption = False,
    cache: CacheOption = True,
    engine: ENGINE_OPTION = None,
) -> None:
    """Compare schemes on the same people and months: cost vs budget, attainment, winners/losers, customer share.

    The baseline is the scheme in force (assumptions.yaml current_scheme). Needs employees and employee_metrics
    (DATA_DIR or --sources)."""
    in_range(budget, "--budget", low=0, high=1e15)
    check_outputs({"--out": (out, TABLE_SUFFIXES)})
    inputs = check_inputs(data_dir, sources, configs)
    from cx_framework.cli.comp_commands import _aggregate_viewer
    from cx_framework.incentives import compare_schemes

    # winners and losers per group are pay aggregates: outside HR no group of fewer than min_group_size
    viewer = _aggregate_viewer(inputs.configs)

    analysis = open_analysis(
        inputs,
        engine=engine,
        cache=cache,
        economics={"annual_bonus_budget": budget},
        viewer=None,  # the command totals the per-employee rows; what it shows is restricted to ``viewer``
    )
    config = analysis.config
    current = analysis.assumptions_dict()["current_scheme"]
    ids = [s.strip() for s in schemes.split(",") if s.strip()] if schemes else list(config.schemes)
    if not ids:
        raise ConfigError(
            "no schemes to compare; add files to incentives/ or pass --schemes a,b", key="--schemes"
        )
    resolved = [_resolve_scheme(config, s) for s in ids]
    if current in ids:  # the scheme in force first: it is the baseline
        resolved.sort(key=lambda sch: sch.id != current)
    configured = all(sch.id in config.schemes and config.schemes[sch.id] == sch for sch in resolved)
    if configured and {sch.id for sch in resolved} == set(config.schemes):
        result = analysis.result("payouts")  # the Analysis' comparison
    else:
        t = analysis.tables
        if "employee_metrics" not in t or "employees" not in t:
            analysis.section("payouts")  # raises: names the missing table
        result = compare_schemes(
            t["employee_metrics"], t["employees"], resolved, config=config, validate=False
        )
    winners_losers = result.winners_losers_for(viewer)  # small groups merged outside HR
    result = result.for_viewer(viewer)  # aggregates only outside HR; too small a scheme's figures withheld
    figures = _figures_of(analysis, [sch.id for sch in resolved], baseline=result.baseline, viewer=viewer)
    merged = result.budget.merge(
        result.attainment.drop(columns="suppressed", errors="ignore"), on="scheme"
    ).merge(result.customer_share.drop(columns="suppressed", errors="ignore"), on="scheme")
    if "suppressed" not in merged:
        merged["suppressed"] = ""
    suppression = winners_losers.attrs.get("suppression", "")
    if as_json:
        extra: dict[str, Any] = {
            "baseline": result.baseline,
            "schemes": merged,
            "winners_losers": winners_losers,
            "winners_losers_note": suppression,
            "min_group_size": None if viewer is None or viewer.role == "hr" else viewer.min_group_size,
            "withheld": dict(result.withheld),
        }
        if out is not None:
            extra["written"] = str(write_output(merged, out))
        emit_json(analysis, ["payouts"], extra, figures=figures)
        return
    cur = f", {result.currency}" if result.currency else ""

    table = Table(
        title=f"Scheme comparison — baseline {lit(result.baseline)}{lit(cur)} per year; customer = share of pay on customer-centric metrics",
        title_justify="left",
    )
    for col in ("scheme", "cost/yr", "vs base", "budget", "median", "customer"):
        table.add_column(col, justify="left" if col == "scheme" else "right", no_wrap=True)
    for row in merged.itertuples(index=False):
        if row.scheme in result.withheld:
            table.add_row(lit(row.scheme), *(["withheld"] * 5))
            continue
        used = _pct(row.budget_share)
        table.add_row(
            lit(row.scheme),
            _money(row.annualised_cost, decimals=0),
            "withheld" if row.suppressed else _money(row.vs_baseline, decimals=0),
            f"[red]{used}[/]" if row.over_budget else used,
            _pct(row.p50),
            _pct(row.customer_centric_share),
        )
    console.print(table)
    for sid, why in result.withheld.items():
        console.print(f"[yellow]Withheld:[/] {lit(sid)}: {lit(why)}", highlight=False)
    spread = Table(title="Attainment (payout / target bonus) per employee-period", title_justify="left")
    for col in ("scheme", "p10", "p25", "p50", "p75", "p90", "capped", "gated"):
        spread.add_column(col, justify="left" if col == "scheme" else "right", no_wrap=True)
    for row in merged.itertuples(index=False):
        if row.scheme in result.withheld:
            spread.add_row(lit(row.scheme), *(["withheld"] * 7))
            continue
        spread.add_row(
            lit(row.scheme),
            *(
                _pct(v)
                for v in (
                    row.p10,
                    row.p25,
                    row.p50,
                    row.p75,
                    row.p90,
                    row.share_capped,
                    row.share_gate_failed,
                )
            ),
        )
    console.print(spread)
    for sid, part in winners_losers.groupby("scheme", sort=False):
        wl = Table(
            title=f"{lit(sid)} vs {lit(result.baseline)}: winners and losers (n/a = always withheld under one scheme)",
            title_justify="left",
        )
        for col in ("department", "role", "staff", "winners", "losers", "n/a", "mean change"):
            wl.add_column(col, justify="left" if col in {"department", "role"} else "right")
        for row in part.itertuples(index=False):
            wl.add_row(
                lit(row.department),
                lit(row.role),
                str(row.employees),
                f"[green]{_count(row.winners)}[/]",
                f"[red]{_count(row.losers)}[/]",
                _count(row.not_comparable),
                _money(row.mean_change) if row.merged_groups else "suppressed",
            )
        console.print(wl)
    if suppression:
        console.print(f"[yellow]note:[/] {lit(suppression)}", highlight=False)
    if out is not None:
        console.print(f"Wrote {lit(write_output(merged, out))}")
    print_figures(figures)
    print_assumptions(analysis)
