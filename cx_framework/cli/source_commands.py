"""``cx import SOURCES --out DATA_DIR``: read raw exports and databases through a ``sources.yaml`` mapping and write
validated contract tables plus an import report; ``cx presets`` lists the bundled export presets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cx_framework.cli._app import command, console, lit
from cx_framework.cli._inputs import DataDir, Quiet, Sources, check_inputs
from cx_framework.cli._options import check_outputs, in_range, one_of, require_file
from cx_framework.cli._progress import print_notes, progress, quiet_for

__all__ = ["import_command", "presets_command"]


@command("import")
def import_command(
    sources: Annotated[
        Path, typer.Argument(help="sources.yaml: where each table's rows are and how they map.")
    ],
    out: Annotated[
        Path, typer.Option("--out", help="Folder to write <table>.parquet and import_report.json.")
    ],
    fmt: Annotated[str, typer.Option("--format", help="parquet (default) or csv.")] = "parquet",
    as_json: Annotated[bool, typer.Option("--json", help="Print the import report as JSON.")] = False,
    quiet: Quiet = False,
) -> None:
    """Import raw exports / database tables through a sources.yaml mapping into validated contract tables."""
    from cx_framework.sources import import_sources

    one_of(fmt, "--format", ("parquet", "csv"))
    require_file(sources, "SOURCES", suffixes=(".yaml", ".yml"))
    check_outputs({"--out": (out / "import_report.json", None)})
    silent = quiet_for(quiet, as_json)
    with progress(4, "reading the sources file", enabled=not silent) as step:
        data = import_sources(sources, out, fmt=fmt, progress=step)
    if as_json:
        print(json.dumps({"out": str(out), **data.report.to_dict()}, indent=1, default=str))
        return
    table = Table(
        "table",
        "source",
        "read",
        "filtered out",
        "kept",
        "rejected",
        title=f"Imported {lit(sources)} → {lit(out)}",
    )
    for r in data.report.tables.values():
        table.add_row(
            lit(r.table),
            lit(r.source),
            f"{r.rows_read:,}",
            f"{r.rows_filtered:,}",
            f"[green]{r.rows_kept:,}[/]",
            f"[red]{r.rows_rejected:,}[/]" if r.rows_rejected else "0",
        )
    console.print(table)
    for r in data.report.tables.values():
        for reason in r.reasons.itertuples(index=False):
            console.print(
                f"  {r.table}: rejected {reason.rows:,} row(s) — {reason.column}: {reason.check} "
                f"(e.g. {reason.examples})",
                highlight=False,
                markup=False,
            )
    print_notes(f"{r.table}: {note}" for r in data.report.tables.values() for note in r.notes)
    console.print(f"Import report: {out / 'import_report.json'}", highlight=False, markup=False)


@command("presets")
def presets_command() -> None:
    """List the bundled presets for common exports (table, title, documentation they follow)."""
    from cx_framework.sources import list_presets

    table = Table(
        "preset", "table", "export", "documentation", title="Presets (use `preset: NAME` in sources.yaml)"
    )
    for name, spec in list_presets().items():
        table.add_row(
            name,
            spec["table"],
            spec["title"],
            str(spec["documentation"]).split()[0]
            if spec["documentation"].startswith("http")
            else "(generic)",
        )
    console.print(table)


@command("model-fit")
def model_fit_command(
    data_dir: DataDir = None,
    sources: Sources = None,
    patience_s: Annotated[
        float | None, typer.Option("--patience-s", help="Mean caller patience (s) instead of estimating it.")
    ] = None,
    by_hour: Annotated[
        bool, typer.Option("--by-hour/--overall", help="Show the table by hour of day.")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the calibration as JSON.")] = False,
) -> None:
    """Erlang C vs Erlang A on the observed intervals: patience, calibration (MAE, bias by hour), recommended model."""
    from cx_framework.cli._inputs import read_tables
    from cx_framework.cli.staffing_commands import model_fit_json, model_fit_table
    from cx_framework.staffing.calibration import fit_queue_models

    in_range(patience_s, "--patience-s", low=0, high=1e7, low_inclusive=False)
    inputs = check_inputs(data_dir, sources, None, configs_needed=False)
    tables = read_tables(inputs, ["intervals"], optional=["contacts"])
    fit = fit_queue_models(tables["intervals"], contacts=tables.get("contacts"), patience_s=patience_s)
    if as_json:
        print(json.dumps(model_fit_json(fit), indent=1, allow_nan=False))
        return
    console.print(model_fit_table(fit, by_hour=by_hour))
    console.print(fit.summary(), highlight=False, markup=False)
