"""``cx retention DATA_DIR``: does service level keep customers, by how much, and what is a point of SL worth?"""

from __future__ import annotations

import warnings
from pathlib import Path
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
from cx_framework.cli._app import command, console
from cx_framework.errors import CxError, InputValueError, StatisticalWarning

__all__ = ["retention"]


@command("retention")
def retention(
    data_dir: Annotated[
        Path, typer.Argument(help="Directory with contacts, customers and intervals tables.")
    ],
    configs: Annotated[
        Path, typer.Option("--configs", help="Configuration directory (economics.yaml, assumptions.yaml).")
    ] = Path("configs"),
    model: Annotated[
        str | None, typer.Option("--model", help="logit or cox (default: assumptions.yaml retention_model).")
    ] = None,
    dose: Annotated[
        str | None,
        typer.Option("--dose", help="linear, spline or binned (default: assumptions.yaml retention_dose)."),
    ] = None,
    lag: Annotated[
        int | None,
        typer.Option(
            "--lag", help="Months between the service and the churn month (default: assumptions.yaml)."
        ),
    ] = None,
    draws: Annotated[
        int | None,
        typer.Option(
            "--draws", help="Parameter draws for the optimum's uncertainty (default: assumptions.yaml)."
        ),
    ] = None,
    economics: Annotated[
        bool, typer.Option("--economics/--no-economics", help="Also show the profit-maximising SL target.")
    ] = True,
    as_json: JsonOption = False,
    cache: CacheOption = True,
) -> None:
    """Fit next-month churn on the service level each customer experienced; value a point of SL; find the SL target
    that maximises retained value minus staffing cost over the forecast window of assumptions.yaml."""
    from cx_framework.retention import sl_retention_by_period

    if model is not None and model not in ("logit", "cox"):
        raise InputValueError(f"option '--model' must be logit or cox; got {model!r}.", argument="model")
    if dose is not None and dose not in ("linear", "spline", "binned"):
        raise InputValueError(
            f"option '--dose' must be linear, spline or binned; got {dose!r}.", argument="dose"
        )
    analysis = open_analysis(
        data_dir,
        configs,
        cache=cache,
        retention_model=model,
        retention_dose=dose,
        retention_lag=lag,
        sl_draws=draws,
    )
    sec = analysis.section("retention")
    bundle = analysis.result("retention")
    result, value, opt = bundle.fit, bundle.value, bundle.optimum
    if as_json:
        extra: dict[str, object] = {
            "coefficients": result.summary().reset_index(names="term"),
            "value_of_one_point": value.reset_index(),
        }
        if economics:
            extra["curve"] = opt.curve
        emit_json(analysis, ["retention"], extra)
        return

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
    for note in sec.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)

    vt = Table(title="What +1 point of service level is worth (95% CI)")
    for name in ("quantity", "estimate", "lower", "upper", "unit"):
        vt.add_column(name, justify="left" if name in ("quantity", "unit") else "right")
    for quantity, row in value.iterrows():
        vt.add_row(
            str(quantity).replace("_", " "),
            _number(row["estimate"]),
            _number(row["lower"]),
            _number(row["upper"]),
            row["unit"],
        )
    console.print(vt)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        try:
            monthly = sl_retention_by_period(analysis.tables["intervals"], analysis.tables["customers"])
            console.print("[bold]Aggregate view[/] " + monthly.explain(), highlight=False)
        except CxError as exc:  # the aggregate view is optional context; say why it is missing
            console.print(f"[yellow]aggregate view skipped:[/] {exc}", highlight=False)

    if economics:
        window = analysis.assumptions_dict()["forecast_window"]
        ot = Table(title=f"Service-level targets (forecast = intervals of {window})")
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
    print_figures(sec.figures)
    print_assumptions(analysis)


def _number(value: float) -> str:
    """Readable number without exponent notation: small shares keep significant digits."""
    import math

    if not math.isfinite(value):
        return "-"
    a = abs(value)
    if a >= 100:
        return f"{value:,.0f}"
    if a >= 1:
        return f"{value:,.2f}"
    if a == 0:
        return "0"
    digits = max(2, 1 - math.floor(math.log10(a)) + 1)
    return f"{value:.{digits}f}"
