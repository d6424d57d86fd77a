"""``cx payouts`` and ``cx compare-schemes``: what a bonus scheme pays, and how schemes compare."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from cx_framework.cli._app import command, console
from cx_framework.errors import ConfigError

__all__ = ["payouts_command", "compare_schemes_command"]

# the two commands read the same inputs
_DataDir = Annotated[
    Path, typer.Argument(help="Directory with employees and employee_metrics (.parquet/.csv).")
]
_Configs = Annotated[
    Path, typer.Option("--configs", help="Config directory (metrics.yaml, incentives/*.yaml, ...).")
]


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


def _load(data_dir: Path, configs: Path):  # noqa: ANN202
    from cx_framework.config import load_config
    from cx_framework.io import load_data_dir

    config = load_config(configs)
    data = load_data_dir(data_dir, tables=["employees", "employee_metrics"])
    return config, data["employee_metrics"], data["employees"]


@command("payouts")
def payouts_command(
    data_dir: _DataDir,
    scheme: Annotated[
        str, typer.Option("--scheme", help="Scheme id (configs/incentives) or a scheme .yaml path.")
    ],
    configs: _Configs = Path("configs"),
    out: Annotated[
        Path | None, typer.Option("--out", help="Write every employee-period to .csv or .parquet (atomic).")
    ] = None,
    xlsx: Annotated[
        Path | None, typer.Option("--xlsx", help="Write an Excel workbook for HR (atomic).")
    ] = None,
    periods: Annotated[int, typer.Option("--periods", help="Number of latest periods to list.")] = 12,
) -> None:
    """Compute what SCHEME pays each covered employee per period (curves, weights, gates, cap, proration)."""
    from cx_framework.incentives import compute_payouts, payout_summary, round_money
    from cx_framework.io import write_table

    config, employee_metrics, employees = _load(data_dir, configs)
    chosen = _resolve_scheme(config, scheme)
    payouts = compute_payouts(employee_metrics, employees, chosen, config=config, validate=False)
    summary = payout_summary(payouts)
    cur = config.economics.currency

    table = Table(title=f"Payouts — {chosen.id} (per {chosen.period}, {cur})", title_justify="left")
    for col in ("period", "staff", "paid", "withheld", "target bonus", "payout", "attain."):
        table.add_column(col, justify="left" if col == "period" else "right", no_wrap=True)
    for row in summary.tail(periods).itertuples(index=False):
        table.add_row(
            f"{row.period:%Y-%m}",
            str(row.employees),
            str(row.paid),
            str(row.withheld),
            _money(row.target_bonus),
            _money(row.payout),
            _pct(row.attainment),
        )
    total_target, total_paid = summary["target_bonus"].sum(), summary["payout"].sum()
    table.add_section()
    table.add_row(
        "total",
        "",
        str(int(summary["paid"].sum())),
        str(int(summary["withheld"].sum())),
        _money(total_target),
        _money(total_paid),
        _pct(total_paid / total_target if total_target else np.nan),
    )
    console.print(table)
    console.print(
        f"Gate failed: {int(summary['gate_failed'].sum())} employee-period(s); capped: "
        f"{int(summary['capped'].sum())}; withheld target bonus: {_money(summary['withheld_target_bonus'].sum())}"
    )
    excluded = payouts.attrs.get("excluded_by_role", {})
    if excluded:
        roles = ", ".join(f"{role} {n}" for role, n in sorted(excluded.items()))
        console.print(f"Excluded (role not in scheme): {sum(excluded.values())} employee(s) — {roles}")
    withheld = payouts.loc[payouts["withheld"], "withheld_reason"].value_counts()
    for reason, n in withheld.head(5).items():
        console.print(f"[yellow]Withheld[/] {n} employee-period(s): {reason}")
    if out is not None:
        console.print(f"Wrote {write_table(round_money(payouts), out)}")
    if xlsx is not None:
        from cx_framework.report import build_payout_workbook

        console.print(f"Wrote {build_payout_workbook({chosen.id: payouts}, xlsx, currency=cur)}")


@command("compare-schemes")
def compare_schemes_command(
    data_dir: _DataDir,
    schemes: Annotated[
        str | None,
        typer.Option(
            "--schemes", help="Comma-separated scheme ids; the first is the baseline (default: all)."
        ),
    ] = None,
    configs: _Configs = Path("configs"),
    budget: Annotated[
        float | None, typer.Option("--budget", help="Annual bonus budget (default: economics.yaml).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the per-scheme summary to .csv or .parquet (atomic).")
    ] = None,
) -> None:
    """Compare schemes on the same people and months: cost vs budget, attainment, winners/losers, customer share."""
    from cx_framework.incentives import compare_schemes
    from cx_framework.io import write_table

    config, employee_metrics, employees = _load(data_dir, configs)
    ids = [s.strip() for s in schemes.split(",") if s.strip()] if schemes else sorted(config.schemes)
    if not ids:
        raise ConfigError(
            "no schemes to compare; add files to incentives/ or pass --schemes a,b", key="--schemes"
        )
    result = compare_schemes(
        employee_metrics,
        employees,
        [_resolve_scheme(config, s) for s in ids],
        config=config,
        budget=budget,
        validate=False,
    )
    cur = f", {result.currency}" if result.currency else ""

    table = Table(
        title=f"Scheme comparison — baseline {result.baseline}{cur} per year; customer = share of pay on customer-centric metrics",
        title_justify="left",
    )
    for col in ("scheme", "cost/yr", "vs base", "budget", "median", "customer"):
        table.add_column(col, justify="left" if col == "scheme" else "right", no_wrap=True)
    merged = result.budget.merge(result.attainment, on="scheme").merge(result.customer_share, on="scheme")
    for row in merged.itertuples(index=False):
        used = _pct(row.budget_share)
        table.add_row(
            row.scheme,
            _money(row.annualised_cost, decimals=0),
            _money(row.vs_baseline, decimals=0),
            f"[red]{used}[/]" if row.over_budget else used,
            _pct(row.p50),
            _pct(row.customer_centric_share),
        )
    console.print(table)
    spread = Table(title="Attainment (payout / target bonus) per employee-period", title_justify="left")
    for col in ("scheme", "p10", "p25", "p50", "p75", "p90", "capped", "gated"):
        spread.add_column(col, justify="left" if col == "scheme" else "right", no_wrap=True)
    for row in merged.itertuples(index=False):
        spread.add_row(
            row.scheme,
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
    for sid, part in result.winners_losers.groupby("scheme", sort=False):
        wl = Table(
            title=f"{sid} vs {result.baseline}: winners and losers (n/a = always withheld under one scheme)",
            title_justify="left",
        )
        for col in ("department", "role", "staff", "winners", "losers", "n/a", "mean change"):
            wl.add_column(col, justify="left" if col in {"department", "role"} else "right")
        for row in part.itertuples(index=False):
            wl.add_row(
                row.department,
                row.role,
                str(row.employees),
                f"[green]{row.winners}[/]",
                f"[red]{row.losers}[/]",
                str(row.not_comparable),
                _money(row.mean_change),
            )
        console.print(wl)
    if out is not None:
        console.print(f"Wrote {write_table(merged, out)}")
