"""``cx retention DATA_DIR``: does service level keep customers, by how much, and what is a point of SL worth?"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cx_framework.cli._app import command, console
from cx_framework.errors import CxError, InputValueError, StatisticalWarning

__all__ = ["retention"]


@command("retention")
def retention(
    data_dir: Annotated[
        Path, typer.Argument(help="Directory with contacts, customers and intervals tables.")
    ],
    configs: Annotated[
        Path, typer.Option("--configs", help="Configuration directory (economics.yaml).")
    ] = Path("configs"),
    model: Annotated[str, typer.Option("--model", help="logit or cox.")] = "logit",
    dose: Annotated[str, typer.Option("--dose", help="linear, spline or binned.")] = "linear",
    lag: Annotated[int, typer.Option("--lag", help="Months between the service and the churn month.")] = 0,
    draws: Annotated[
        int, typer.Option("--draws", help="Parameter draws for the optimum's uncertainty.")
    ] = 500,
    economics: Annotated[
        bool, typer.Option("--economics/--no-economics", help="Also compute the profit-maximising SL target.")
    ] = True,
) -> None:
    """Fit next-month churn on the service level each customer experienced; value a point of SL; find the SL target
    that maximises retained value minus staffing cost (last month of intervals used as the forecast)."""
    from cx_framework.config import load_config
    from cx_framework.economics import optimal_service_level
    from cx_framework.io import load_data_dir
    from cx_framework.retention import (
        build_customer_panel,
        fit_retention,
        sl_retention_by_period,
        value_of_service_level,
    )

    if model not in ("logit", "cox"):
        raise InputValueError(f"option '--model' must be logit or cox; got {model!r}.", argument="model")
    if dose not in ("linear", "spline", "binned"):
        raise InputValueError(
            f"option '--dose' must be linear, spline or binned; got {dose!r}.", argument="dose"
        )
    config = load_config(configs)
    tables = load_data_dir(data_dir, tables=("contacts", "customers", "intervals"))
    contacts, customers, intervals = tables["contacts"], tables["customers"], tables["intervals"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", StatisticalWarning)
        panel = build_customer_panel(contacts, customers, threshold_s=config.economics.answer_s)
        result = fit_retention(panel, model=model, dose=dose, lag=lag)  # type: ignore[arg-type]

    table = Table(title=f"Next-month churn on service level experienced ({result.model}, {result.dose} dose)")
    for name in ("term", "coef", "95% CI", "p", "odds ratio" if result.model == "logit" else "hazard ratio"):
        table.add_column(name, justify="left" if name == "term" else "right")
    summary = result.summary()
    for term, row in summary.iterrows():
        ratio = row["odds_ratio"] if "odds_ratio" in summary.columns else row["hazard_ratio"]
        table.add_row(
            str(term),
            f"{row['coef']:+.3f}",
            f"{row['lower']:+.3f} to {row['upper']:+.3f}",
            f"{row['p_value']:.3g}",
            f"{ratio:.3f}",
        )
    console.print(table)
    console.print(result.explain(), highlight=False)
    for warning in caught:
        console.print(f"[yellow]note:[/] {warning.message}", highlight=False)

    value = value_of_service_level(result, customers, config)
    vt = Table(title="What +1 point of service level is worth (95% CI)")
    for name in ("quantity", "estimate", "lower", "upper", "unit"):
        vt.add_column(name, justify="left" if name in ("quantity", "unit") else "right")
    for quantity, row in value.iterrows():
        vt.add_row(
            str(quantity),
            f"{row['estimate']:,.4g}",
            f"{row['lower']:,.4g}",
            f"{row['upper']:,.4g}",
            row["unit"],
        )
    console.print(vt)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        try:
            monthly = sl_retention_by_period(intervals, customers)
            console.print("[bold]Aggregate view[/] " + monthly.explain(), highlight=False)
        except CxError as exc:  # the aggregate view is optional context; say why it is missing
            console.print(f"[yellow]aggregate view skipped:[/] {exc}", highlight=False)

    if economics:
        start = intervals["interval_start"]
        last_month = start.dt.to_period("M").max().to_timestamp()
        forecast = intervals[start >= last_month]
        opt = optimal_service_level(forecast, result, customers, config, n_draws=draws)
        ot = Table(title=f"Service-level targets (forecast = {last_month:%B %Y} volumes)")
        for name in ("target", "FTE", "staffing cost", "churners", "retained value", "net value", "P(best)"):
            ot.add_column(name, justify="right")
        curve = opt.curve
        show = curve[
            (curve["target"].round(2) * 100 % 5 == 0) | curve["target"].isin([opt.optimum, opt.convention])
        ]
        for row in show.itertuples(index=False):
            style = (
                "bold green"
                if row.target == opt.optimum
                else ("bold" if row.target == opt.convention else "")
            )
            ot.add_row(
                f"{row.target:.0%}",
                f"{row.fte:,.1f}",
                f"{row.staffing_cost:,.0f}",
                f"{row.churners:,.1f}",
                f"{row.retained_value:,.0f}",
                f"{row.net_value:,.0f}",
                f"{row.p_best:.0%}",
                style=style,
            )
        console.print(ot)
        console.print(opt.explain(), highlight=False)
