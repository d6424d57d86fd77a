"""``cx retention DATA_DIR``: does service level keep customers, by how much, and what is a point of SL worth?"""

from __future__ import annotations

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
from cx_framework.cli._inputs import (
    CONFIGS_DIR,
    Configs,
    DataDir,
    Quiet,
    Sources,
    check_inputs,
    override_option,
)
from cx_framework.cli._options import in_range, one_of
from cx_framework.cli._progress import compute_sections, print_notes, progress, quiet_for
from cx_framework.errors import CxError, StatisticalWarning

__all__ = ["retention"]

ASSUMED = "assumptions.yaml"


@command("retention")
def retention(
    data_dir: DataDir = None,
    sources: Sources = None,
    configs: Configs = CONFIGS_DIR,
    model: Annotated[
        str | None, override_option("--model", "logit or cox", f"{ASSUMED} retention_model")
    ] = None,
    dose: Annotated[
        str | None, override_option("--dose", "linear, spline or binned", f"{ASSUMED} retention_dose")
    ] = None,
    lag: Annotated[
        int | None, override_option("--lag", "Months between the service and the churn month", ASSUMED)
    ] = None,
    draws: Annotated[
        int | None, override_option("--draws", "Parameter draws for the optimum's uncertainty", ASSUMED)
    ] = None,
    economics: Annotated[
        bool, typer.Option("--economics/--no-economics", help="Also show the profit-maximising SL target.")
    ] = True,
    as_json: JsonOption = False,
    cache: CacheOption = True,
    engine: ENGINE_OPTION = None,
    quiet: Quiet = False,
) -> None:
    """Fit next-month churn on the service level each customer experienced; value a point of SL; find the SL target
    that maximises retained value minus staffing cost over the forecast window of assumptions.yaml.

    Needs the contacts, customers and intervals tables (DATA_DIR or --sources)."""
    if model is not None:
        one_of(model, "--model", ("logit", "cox"))
    if dose is not None:
        one_of(dose, "--dose", ("linear", "spline", "binned"))
    in_range(lag, "--lag", low=0, high=12)
    in_range(draws, "--draws", low=20, high=5_000)
    inputs = check_inputs(data_dir, sources, configs)
    from cx_framework.retention import sl_retention_by_period

    silent = quiet_for(quiet, as_json)
    with progress(3, "reading the data", enabled=not silent) as step:
        analysis = open_analysis(
            inputs,
            engine=engine,
            cache=cache,
            retention_model=model,
            retention_dose=dose,
            retention_lag=lag,
            sl_draws=draws,
        )
        compute_sections(analysis, ["retention"], step, required=["retention"])
        sec = analysis.section("retention")
        bundle = analysis.result("retention")
        result, value, opt = bundle.fit, bundle.value, bundle.optimum
        monthly, monthly_problem = None, None
        if not as_json:
            step("aggregate view by month")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", StatisticalWarning)
                try:
                    from cx_framework.analysis.sections import customers_of

                    # on DuckDB/Spark the customers come grouped from the engine (same monthly counts)
                    monthly = sl_retention_by_period(analysis.tables["intervals"], customers_of(analysis))
                except CxError as exc:  # the aggregate view is optional context; say why it is missing
                    monthly_problem = str(exc)
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
            lit(term),
            f"{row['coef']:+.3f}",
            f"{row['lower']:+.3f} to {row['upper']:+.3f}",
            f"{row['p_value']:.3g}",
            f"{ratio:.3f}",
        )
    console.print(table)
    console.print(result.explain(), highlight=False, markup=False)
    print_notes(sec.notes)

    vt = Table(title="What +1 point of service level is worth (95% CI)")
    for name in ("quantity", "estimate", "lower", "upper", "unit"):
        vt.add_column(name, justify="left" if name in ("quantity", "unit") else "right")
    for quantity, row in value.iterrows():
        vt.add_row(
            lit(str(quantity).replace("_", " ")),
            _number(row["estimate"]),
            _number(row["lower"]),
            _number(row["upper"]),
            lit(row["unit"]),
        )
    console.print(vt)
    if monthly is not None:
        console.print("[bold]Aggregate view[/] " + lit(monthly.explain()), highlight=False)
    else:
        console.print(f"[yellow]aggregate view skipped:[/] {lit(monthly_problem)}", highlight=False)

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
        console.print(opt.explain(), highlight=False, markup=False)
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
