"""``cx generate``, ``cx validate`` and ``cx app``: make, check and look at data."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cx_framework.cli._app import command, console, info_console, lit
from cx_framework.cli._engine_option import ENGINE_OPTION, engine_kind, open_engine
from cx_framework.cli._inputs import (
    CONFIGS_DIR,
    SOURCES_SUFFIXES,
    DataDir,
    Quiet,
    Sources,
    check_configs,
    check_inputs,
)
from cx_framework.cli._options import check_outputs, in_range, one_of, require_file
from cx_framework.cli._progress import progress, quiet_for
from cx_framework.errors import DataValidationError

APP_FILE = Path(__file__).resolve().parents[2] / "apps" / "streamlit_app.py"


@command("generate")
def generate(
    out_dir: Annotated[
        Path, typer.Argument(help="Folder to write <table>.parquet files and truth.json into.")
    ],
    customers: Annotated[int, typer.Option(help="Customers ever active in the window.")] = 20_000,
    employees: Annotated[int, typer.Option(help="Headcount across the five departments.")] = 400,
    months: Annotated[int, typer.Option(help="Monthly periods.")] = 24,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same tables).")] = 0,
    scheme: Annotated[
        str, typer.Option(help="Incentive regime of the history: siloed or shared_customer.")
    ] = "siloed",
    plant_graph: Annotated[
        bool,
        typer.Option(
            "--plant-graph",
            help="Plant the causal graph's elasticities (configs/causal_graph.yaml) in the department and team "
            "metrics; recorded in truth.json (graph_elasticities).",
        ),
    ] = False,
    quiet: Quiet = False,
) -> None:
    """Generate a synthetic organisation with planted ground truth.

    Written month by month (bounded memory: 10 M customers stay within 4 GB); Parquet with microsecond timestamps.
    """
    from cx_framework.synthetic import write_organisation

    in_range(customers, "--customers", low=100, high=100_000_000)
    in_range(employees, "--employees", low=40, high=10_000_000)
    in_range(months, "--months", low=3, high=1_200)
    in_range(seed, "--seed", low=0, high=2**63 - 1)
    one_of(scheme, "--scheme", ("siloed", "shared_customer"))
    check_outputs({"OUT_DIR": (out_dir / "truth.json", None)})
    silent = quiet_for(quiet)
    with progress_bar(enabled=not silent) as tick:
        rows = write_organisation(
            out_dir,
            seed=seed,
            customers=customers,
            employees=employees,
            months=months,
            scheme=scheme,
            plant_graph=plant_graph,
            progress=tick,
        )
    table = Table("table", "rows", title=f"Wrote {lit(out_dir)}")
    for name, count in rows.items():
        table.add_row(lit(name), f"{count:,}")
    console.print(table)


@contextmanager
def progress_bar(*, enabled: bool) -> Iterator[Callable[[str, float], None]]:
    """A fraction-done bar on stderr for ``write_organisation``'s ``progress(step, fraction)`` callback."""
    if not enabled or info_console.quiet:
        yield lambda step, fraction: None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=info_console,
        transient=True,
    ) as bar:
        task = bar.add_task("generating", total=1.0)

        def tick(step: str, fraction: float) -> None:
            bar.update(task, completed=fraction, description=escape(step))

        yield tick


@command("validate")
def validate_dir(
    data_dir: DataDir = None,
    configs: Annotated[Path, typer.Option("--configs", help="Config folder to check as well.")] = CONFIGS_DIR,
    sources: Sources = None,
    engine: ENGINE_OPTION = None,
    quiet: Quiet = False,
) -> None:
    """Validate every table of a data folder (and the configs) and print a per-table report.

    With the DuckDB or Spark engine (default DuckDB) the files are checked where they lie, in one pass per table,
    without loading them into memory; each failing check lists its first 20 rows and its total count.
    """
    from cx_framework.config import load_config
    from cx_framework.io import _find_table_files, _string_columns, read_table
    from cx_framework.schemas import REQUIRED_TABLES, TABLES

    if engine is not None:
        engine_kind(engine, None)  # a wrong --engine fails before anything is read
    inputs = check_inputs(data_dir, sources, configs)
    silent = quiet_for(quiet)
    config = load_config(configs)
    kind = engine_kind(engine, config)
    console.print(
        f"[green]configs OK[/] ({lit(configs)}: {len(config.metrics.metrics)} metrics, "
        f"{len(config.schemes)} schemes)"
    )
    if inputs.sources is not None:
        from cx_framework.sources import read_sources

        with progress(4, "reading the sources file", enabled=not silent) as step:
            # mapping mistakes and invalid tables raise with the key path
            data = read_sources(inputs.sources, progress=step)
        report = Table(
            "table", "source", "rows kept", "rejected", "status", title=f"Validation through {lit(sources)}"
        )
        for r in data.report.tables.values():
            report.add_row(
                lit(r.table), lit(r.source), f"{r.rows_kept:,}", f"{r.rows_rejected:,}", "[green]valid[/]"
            )
        console.print(report)
        console.print(data.report.summary(), highlight=False, markup=False)
        missing = [t for t in REQUIRED_TABLES if t not in data.tables]
        if missing:
            console.print(
                f"Not in the sources file: {', '.join(missing)} (analyses that need them are left out).",
                markup=False,
            )
        return
    assert inputs.data_dir is not None
    data_dir = inputs.data_dir
    table = Table("table", "file", "rows", "status", title=f"Validation of {lit(data_dir)}")
    failed = 0
    files = _find_table_files(data_dir, TABLES)
    eng = None if kind == "pandas" else open_engine(kind, config)
    try:
        with progress(len(files), "validating", enabled=not silent) as step:
            for name in TABLES:
                file = files.get(name)
                if file is None:
                    if name in REQUIRED_TABLES:
                        failed += 1
                        table.add_row(name, "-", "-", "[red]missing[/]")
                    continue
                step(f"validating {file.name}")
                try:
                    if eng is None:
                        rows = len(read_table(file, name))
                    else:
                        from cx_framework.engine import validate_table

                        source = eng.read(file, text_columns=tuple(_string_columns(name)))
                        rows = validate_table(eng, name, source, file=str(file)).rows
                    table.add_row(name, lit(file.name), f"{rows:,}", "[green]valid[/]")
                except DataValidationError as exc:
                    failed += 1
                    n_failures = int(exc.counts["failures"].sum()) if len(exc.counts) else len(exc.failures)
                    table.add_row(name, lit(file.name), "-", f"[red]{n_failures:,} failure(s)[/]")
                    console.print(str(exc), style="red", highlight=False, markup=False)
    finally:
        if eng is not None:
            eng.close()
    table.caption = f"engine: {kind}"
    console.print(table)
    if failed:
        raise typer.Exit(code=2)


@command("app")
def app_command(
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8501,
    data_dir: Annotated[Path | None, typer.Option(help="Data folder (default: bundled sample).")] = None,
    configs: Annotated[
        Path | None,
        typer.Option("--configs", help="Configuration directory (default: the repository's configs/)."),
    ] = None,
    headless: Annotated[bool, typer.Option(help="Do not open a browser.")] = True,
    sources: Annotated[
        Path | None,
        typer.Option(
            "--sources", help="Import through this sources.yaml (to a temporary folder) and use that."
        ),
    ] = None,
) -> None:
    """Start the Streamlit app (leadership, HR and analyst pages) on the sample data or DATA_DIR."""
    from cx_framework.errors import InputValueError

    in_range(port, "--port", low=1, high=65_535)
    if data_dir is not None and sources is not None:
        raise InputValueError(
            "--sources: give either --data-dir or --sources, not both.", argument="--sources"
        )
    if data_dir is not None and not data_dir.is_dir():
        raise InputValueError(
            f"--data-dir: {data_dir} is not a directory; give the folder holding the tables "
            "(intervals.csv, contacts.parquet, ...) or leave the option out for the bundled sample",
            argument="data_dir",
        )
    if sources is not None:
        require_file(sources, "--sources", suffixes=SOURCES_SUFFIXES)
    env = dict(os.environ)
    if configs is not None:
        check_configs(configs)
        from cx_framework.config import load_config

        load_config(configs)  # a broken configuration fails here, with its file and key, not inside the app
        env["CX_CONFIG_DIR"] = str(configs.resolve())
    if sources is not None:
        import tempfile

        from cx_framework.sources import import_sources

        imported = Path(tempfile.mkdtemp(prefix="cx_sources_"))
        report = import_sources(sources, imported).report
        console.print(report.summary(), highlight=False, markup=False)
        data_dir = imported
    if data_dir is not None:
        env["CX_DATA_DIR"] = str(data_dir.resolve())
    console.print(f"Starting the cx_framework app at [bold]http://localhost:{port}[/] (Ctrl+C to stop)")
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_FILE),
        "--server.port",
        str(port),
        "--server.headless",
        str(headless).lower(),
        "--browser.gatherUsageStats",
        "false",
        "--server.maxUploadSize",
        "200",
    ]
    # run from the repository root so .streamlit/config.toml (theme, limits) applies wherever cx is called from
    raise typer.Exit(code=subprocess.call(cmd, env=env, cwd=APP_FILE.parent.parent))
