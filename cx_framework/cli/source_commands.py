"""``cx import SOURCES --out DATA_DIR``: read raw exports and databases through a ``sources.yaml`` mapping and write
validated contract tables plus an import report; ``cx presets`` lists the bundled export presets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cx_framework.cli._app import command, console

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
    from cx_framework.errors import InputValueError
    from cx_framework.sources import import_sources

    if fmt not in ("parquet", "csv"):
        raise InputValueError(f"option '--format' must be parquet or csv; got {fmt!r}.", argument="format")
    data = import_sources(sources, out, fmt=fmt)
    if as_json:
        console.print_json(json.dumps({"out": str(out), **data.report.to_dict()}, default=str))
        return
    table = Table(
        "table", "source", "read", "filtered out", "kept", "rejected", title=f"Imported {sources} → {out}"
    )
    for r in data.report.tables.values():
        table.add_row(
            r.table,
            r.source,
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
            )
        for note in r.notes:
            console.print(f"  {r.table}: {note}", highlight=False)
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
