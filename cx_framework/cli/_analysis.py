"""What every analysis command shares: open the :class:`~cx_framework.analysis.Analysis`, print its figures and
the assumptions it used (footer), or — with ``--json`` — print only the JSON document of DESIGN.md's contract on
stdout (progress and caveats go to stderr)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cx_framework.cli._app import console, lit
from cx_framework.cli._inputs import CONFIGS_DIR, DataInput

__all__ = [
    "CacheOption",
    "JsonOption",
    "open_analysis",
    "print_figures",
    "print_assumptions",
    "print_unavailable",
    "emit_json",
    "print_notes",
]

#: ``--graph``: which causal graph the conflicts / actions run on (``estimated``: the elasticities estimated from
#: history, ``cx graph-evidence``; ``both``: side by side with the differences named)
GRAPH_CHOICES = ("configured", "estimated", "both")
GraphOption = Annotated[
    str,
    typer.Option(
        "--graph",
        help="configured (causal_graph.yaml), estimated (elasticities estimated from history; edges history cannot "
        "test keep their configured value) or both (side by side, differences named).",
    ),
]
JsonOption = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Print only JSON on stdout: {figures: [{id, label, value, unit, period, definition}], assumptions, ...}.",
    ),
]
CacheOption = Annotated[
    bool,
    typer.Option(
        "--cache/--no-cache",
        help="Reuse and keep results in the analysis cache ($CX_CACHE_DIR, default ~/.cache/cx_framework).",
    ),
]


def open_analysis(
    data_dir: Path | DataInput | None,
    configs: Path | None = None,
    *,
    sources: Path | None = None,
    cache: bool = True,
    tables: Mapping[str, Any] | None = None,
    economics: Mapping[str, Any] | None = None,
    engine: str | None = None,
    viewer: Any = ...,
    **assumptions: Any,
) -> Any:
    """The Analysis of ``data_dir``, of the tables read through ``sources`` (a sources.yaml), or of the given
    ``tables``, under ``configs``.

    Through ``sources`` every mapped table is read and validated at once; a contract table the sources file does
    not provide makes only the sections that need it unavailable (they say which table is missing).

    ``data_dir`` may be the checked :class:`~cx_framework.cli._inputs.DataInput` of the command (its folder or
    sources file and its configs). ``economics`` overrides economics.yaml values (e.g. a ``--target`` option) and ``assumptions`` overrides
    assumptions.yaml values; both are validated and shown in the footer, so an override is never silent.
    ``engine`` (the ``--engine`` option: duckdb | spark | pandas) defaults to ``kind`` in engine.yaml for a data
    directory (DuckDB) and to pandas for in-memory ``tables``.

    ``viewer`` is who reads the Analysis (its figures, frames and results are restricted to what they may see:
    no per-employee pay outside HR, no pay aggregate over fewer than access.yaml's ``min_group_size``
    employees). By default, with access control on (an access.yaml for the configs), the policy's not-signed-in
    viewer; a command that signs its user in passes them (``comp_commands._viewer``); None with access off.
    """
    import dataclasses

    from cx_framework.analysis import Analysis, default_cache_dir
    from cx_framework.config import load_config
    from cx_framework.config.loader import parse_model
    from cx_framework.config.models import Economics

    if isinstance(data_dir, DataInput):
        checked = data_dir
        data_dir, sources, configs = checked.data_dir, checked.sources, checked.configs
    config = load_config(configs if configs is not None else CONFIGS_DIR)
    changes = {k: v for k, v in (economics or {}).items() if v is not None}
    if changes:
        data = {**config.economics.model_dump(), **changes}
        econ = parse_model(Economics, data, file="economics (command-line override)")
        config = dataclasses.replace(config, economics=econ)
    from cx_framework.cli._engine_option import engine_kind

    cache_dir = default_cache_dir() if cache else None
    if tables is not None:
        kind = engine_kind(engine, config) if engine is not None else None
        analysis = Analysis(tables, config, cache_dir=cache_dir, engine=kind)
    elif sources is not None:
        from cx_framework.cli._inputs import read_source_tables

        frames, problems, stamp = read_source_tables(sources)
        kind = engine_kind(engine, config) if engine is not None else None
        analysis = Analysis(
            frames, config, table_problems=problems, data_stamp=stamp, cache_dir=cache_dir, engine=kind
        )
    else:
        assert data_dir is not None
        analysis = Analysis.from_data_dir(
            data_dir, config, cache_dir=cache_dir, engine=engine_kind(engine, config)
        )
    opened = analysis.with_assumptions(**assumptions)
    if viewer is ...:  # not given: the not-signed-in viewer when access control is on
        from cx_framework.access import find_access_file, load_access

        path = find_access_file(config.directory)
        viewer = load_access(path).anonymous() if path is not None else None
    opened.viewer = viewer
    return opened


def figures_table(figures: Iterable[Any], title: str = "Headline figures") -> Table:
    table = Table(title=title, title_justify="left")
    # a text figure (e.g. the first action's title) wraps instead of squeezing the labels away on a narrow terminal
    table.add_column("figure", overflow="fold", ratio=3, min_width=18)
    table.add_column("value", justify="right", overflow="fold", ratio=2, min_width=14)
    table.add_column("period", no_wrap=True)
    for f in figures:
        table.add_row(lit(f.label), lit(f.formatted()), lit(f.period or "all data"))
    return table


def print_figures(figures: Iterable[Any], title: str = "Headline figures") -> None:
    figures = list(figures)
    if figures:
        console.print(figures_table(figures, title))


def print_assumptions(analysis: Any) -> None:
    """The footer every analysis command ends with: the assumptions it used and how old the figures are."""
    lines = analysis.assumptions_lines()
    console.print(
        "Assumptions (configs/assumptions.yaml, economics.yaml): "
        + "; ".join(lines)
        + f". Figures {analysis.age_text()}.",
        style="dim",
        highlight=False,
        markup=False,
    )


def print_unavailable(analysis: Any, names: Iterable[str]) -> None:
    for _name, reason in analysis.unavailable(*names).items():
        console.print(f"[yellow]not available:[/] {lit(reason)}", highlight=False)


def print_notes(notes: Iterable[str]) -> None:
    """Notes on stderr, silenced by ``--quiet`` (see :mod:`cx_framework.cli._progress`)."""
    from cx_framework.cli._progress import print_notes as _print

    _print(notes)


def emit_json(
    analysis: Any,
    names: Iterable[str],
    extra: Mapping[str, Any] | None = None,
    *,
    figures: Iterable[Any] | None = None,
) -> None:
    """The ``--json`` document on stdout (plain ``print``: no rich markup or wrapping); ``figures`` narrows the
    sections' figures to those the command is about (e.g. one journey)."""
    names = list(names)
    doc = analysis.to_json(*names, extra=extra)
    if figures is not None:
        doc["figures"] = [f.to_json() for f in figures]
    notes: list[str] = []
    for name in names:
        try:
            notes.extend(analysis.notes(name))
        except Exception:  # noqa: BLE001 - an unavailable section has no notes; it is listed in "unavailable"
            continue
    doc["notes"] = list(dict.fromkeys(notes))
    print(json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False, default=str))
