"""``cx import SOURCES --out DATA_DIR``: read raw exports and databases through a ``sources.yaml`` mapping and write
validated contract tables plus an import report; ``cx presets`` lists the bundled export presets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cx_framework.cli._app import command, console, lit
from cx_framework.cli._options import check_outputs, one_of, require_file

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
) -> None:
    """Import raw exports / database tables through a sources.yaml mapping into validated contract tables."""
    from cx_framework.sources import import_sources

    one_of(fmt, "--format", ("parquet", "csv"))
    require_file(sources, "SOURCES", suffixes=(".yaml", ".yml"))
    check_outputs({"--out": (out / "import_report.json", None)})
    data = import_sources(sources, out, fmt=fmt)
    if as_json:
        console.print_json(json.dumps({"out": str(out), **data.report.to_dict()}, default=str))
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
        for note in r.notes:
            console.print(f"  {r.table}: {note}", highlight=False, markup=False)
    console.print(f"Import report: {out / 'import_report.json'}", highlight=False)


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
    data_dir: Annotated[
        Path | None,
        typer.Argument(help="Data folder with intervals (and contacts for the patience estimate)."),
    ] = None,
    sources: Annotated[
        Path | None, typer.Option("--sources", help="Read the tables through this sources.yaml instead.")
    ] = None,
    patience_s: Annotated[
        float | None, typer.Option("--patience-s", help="Mean caller patience (s) instead of estimating it.")
    ] = None,
    by_hour: Annotated[
        bool, typer.Option("--by-hour/--overall", help="Show the table by hour of day.")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the calibration as JSON.")] = False,
) -> None:
    """Erlang C vs Erlang A on the observed intervals: patience, calibration (MAE, bias by hour), recommended model."""
    from cx_framework.errors import InputValueError
    from cx_framework.io import load_data_dir
    from cx_framework.staffing.calibration import MODELS, fit_queue_models

    if (data_dir is None) == (sources is None):
        raise InputValueError("give a DATA_DIR or --sources sources.yaml (one of them).", argument="sources")
    if sources is not None:
        from cx_framework.sources import read_sources

        tables = read_sources(sources).tables
    else:
        assert data_dir is not None
        from cx_framework.io import _find_table_files

        wanted = ["intervals"] + (
            ["contacts"] if "contacts" in _find_table_files(data_dir, ["contacts"]) else []
        )
        tables = load_data_dir(data_dir, tables=wanted)
    if "intervals" not in tables:
        raise InputValueError(
            "the sources file has no 'intervals' table (add `intervals: {derive: contacts}`).",
            argument="sources",
        )
    fit = fit_queue_models(tables["intervals"], contacts=tables.get("contacts"), patience_s=patience_s)
    if as_json:
        payload = {
            "recommended": fit.recommended,
            "patience_s": {k: (None if v == float("inf") else v) for k, v in fit.patience_s.items()},
            "agents_estimated": fit.agents_estimated,
            "interval_s": fit.interval_s,
            "calibration": json.loads(fit.calibration.to_json(orient="records")),
        }
        console.print_json(json.dumps(payload))
        return
    rows = fit.calibration if by_hour else fit.calibration[fit.calibration["hour"] == "all"]
    table = Table(
        "model",
        "hour",
        "intervals",
        "offered",
        "SL MAE (pts)",
        "SL bias (pts)",
        "abandon MAE (pts)",
        "abandon bias (pts)",
        title="Erlang C vs Erlang A against observed intervals (offered-weighted; bias = predicted − observed)",
    )
    for r in rows.itertuples(index=False):
        table.add_row(
            MODELS[r.model],
            str(r.hour),
            f"{r.intervals:,}",
            f"{r.offered:,}",
            f"{r.sl_mae * 100:.1f}",
            f"{r.sl_bias * 100:+.1f}",
            f"{r.abandonment_mae * 100:.1f}",
            f"{r.abandonment_bias * 100:+.1f}",
        )
    console.print(table)
    console.print(fit.summary(), highlight=False)
