"""Where a command's data comes from — one option block every data command shares.

A data command reads its tables either from a folder (``DATA_DIR``: ``<table>.parquet`` / ``<table>.csv``) or
through a ``sources.yaml`` mapping (``--sources``: raw exports, DuckDB files, databases; the same reader as
``cx import``). The two are mutually exclusive. :func:`check_inputs` checks them (and ``--configs``) at the top of
the command, before anything is computed or written; :func:`read_tables` and
:func:`cx_framework.cli._analysis.open_analysis` then read through whichever was given.

Typical use::

    @command("thing")
    def thing(data_dir: DataDir = None, sources: Sources = None,
              configs: Configs = CONFIGS_DIR) -> None:
        inputs = check_inputs(data_dir, sources, configs)
        ...
        analysis = open_analysis(inputs.data_dir, inputs.configs, sources=inputs.sources)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cx_framework.cli._options import _error, require_dir, require_file

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DataDir",
    "Sources",
    "Configs",
    "Quiet",
    "CONFIGS_DIR",
    "SOURCES_SUFFIXES",
    "DataInput",
    "check_inputs",
    "override_option",
    "check_configs",
    "read_tables",
    "read_source_tables",
]

CONFIGS_DIR = Path("configs")
SOURCES_SUFFIXES: tuple[str, ...] = (".yaml", ".yml")

#: ``DATA_DIR`` (optional: ``--sources`` may give the data instead).
DataDir = Annotated[
    Path | None,
    typer.Argument(
        metavar="DATA_DIR",
        help="Folder with the tables (<table>.parquet or <table>.csv), or give --sources instead.",
        show_default=False,
    ),
]
#: ``--sources sources.yaml`` (mutually exclusive with ``DATA_DIR``).
Sources = Annotated[
    Path | None,
    typer.Option(
        "--sources",
        help="Read the tables through this sources.yaml mapping (raw exports, DuckDB, databases; as `cx import`) "
        "instead of DATA_DIR.",
        show_default=False,
    ),
]
#: ``--configs DIR``.
Configs = Annotated[
    Path,
    typer.Option(
        "--configs",
        help="Configuration folder (metrics.yaml, scorecard.yaml, economics.yaml, assumptions.yaml, incentives/ ...).",
    ),
]
#: ``--quiet`` on a command (``cx --quiet CMD`` works for every command).
Quiet = Annotated[
    bool,
    typer.Option(
        "--quiet", "-q", help="No progress bars or notes on stderr (errors and results still shown)."
    ),
]


def override_option(flag: str, what: str, default_from: str) -> Any:
    """A ``typer.Option`` for a value that overrides the configuration; its help says where the default is read.

    Use as ``target: Annotated[float | None, override_option("--target", "Service-level target", "economics.yaml")]
    = None``.
    """
    return typer.Option(flag, help=f"{what} (default: {default_from}).")


@dataclass(frozen=True)
class DataInput:
    """The checked data and configuration options of one command: exactly one of ``data_dir`` and ``sources``
    (or neither, when the command can run without data)."""

    data_dir: Path | None
    sources: Path | None
    configs: Path

    @property
    def given(self) -> bool:
        return self.data_dir is not None or self.sources is not None

    @property
    def label(self) -> str:
        return str(self.sources if self.sources is not None else self.data_dir)


def check_configs(configs: Path | None) -> Path:
    """``--configs`` must be an existing folder (its files are parsed by ``load_config``, which names them)."""
    return require_dir(
        configs,
        "--configs",
        hint="give the folder holding metrics.yaml, scorecard.yaml, ... (the repository's configs/ is an example).",
    )


def check_inputs(
    data_dir: Path | None,
    sources: Path | None,
    configs: Path | None,
    *,
    required: bool = True,
    data_option: str = "DATA_DIR",
    configs_needed: bool = True,
) -> DataInput:
    """Check where the data comes from and the configuration folder, before any work.

    Parameters
    ----------
    data_dir, sources : Path or None
        The ``DATA_DIR`` argument (or ``data_option``) and ``--sources``; at most one may be given, and one must
        be when ``required``.
    configs : Path
        ``--configs``.
    required : bool
        Whether the command needs data at all.
    configs_needed : bool
        Whether the command reads the configuration folder (else ``configs`` is not checked).
    data_option : str
        How the folder is called on this command's command line (``DATA_DIR``, ``--data``).

    Raises
    ------
    InputValueError
        Both or (when required) neither given; a folder or file that does not exist; a sources file that is
        not YAML; ``--configs`` not a folder. The message starts with the option's name.
    """
    if data_dir is not None and sources is not None:
        raise _error("--sources", f"give either {data_option} or --sources sources.yaml, not both.")
    if required and data_dir is None and sources is None:
        raise _error(
            data_option,
            f"no data given; give {data_option} or --sources sources.yaml (one of them).",
            "run `cx generate DATA_DIR` for a synthetic organisation, or `cx import` for your own exports.",
        )
    if data_dir is not None:
        require_dir(data_dir, data_option)
    if sources is not None:
        require_file(sources, "--sources", suffixes=SOURCES_SUFFIXES)
    folder = check_configs(configs) if configs_needed else Path(configs or CONFIGS_DIR)
    return DataInput(data_dir, sources, folder)


def read_source_tables(sources: Path) -> tuple[dict[str, pd.DataFrame], dict[str, str], str]:
    """Every table of a sources file read through its mapping (as ``cx import`` reads them, nothing written).

    Returns
    -------
    (tables, problems, stamp)
        The validated tables; for each required contract table the file does not provide, why it is missing;
        and the data stamp for the analysis cache key (the sources file plus a hash of the tables' content, so
        the key changes whenever the source data does).
    """
    from cx_framework.analysis.core import _frames_stamp
    from cx_framework.cli._progress import print_notes
    from cx_framework.schemas import REQUIRED_TABLES
    from cx_framework.sources import read_sources

    data = read_sources(sources)
    print_notes(f"{r.table}: {note}" for r in data.report.tables.values() for note in r.notes)
    problems = {
        name: f"not in {sources}; add a `{name}:` entry to read it"
        for name in REQUIRED_TABLES
        if name not in data.tables
    }
    stamp = f"sources:{Path(sources).resolve()}|{_frames_stamp(data.tables)}"
    return data.tables, problems, stamp


def read_tables(inputs: DataInput, tables: Iterable[str], *, optional: Iterable[str] = ()) -> dict[str, Any]:
    """The named tables (validated) from ``DATA_DIR`` or through ``--sources``; ``optional`` ones when present.

    Raises
    ------
    DataValidationError
        A required table that is missing or invalid (the message names the file, or the sources file).
    """
    from cx_framework.errors import DataValidationError
    from cx_framework.io import _find_table_files, load_data_dir

    wanted, extra = list(tables), list(optional)
    if inputs.sources is not None:
        frames, _problems, _stamp = read_source_tables(inputs.sources)
        missing = [t for t in wanted if t not in frames]
        if missing:
            raise DataValidationError(
                f"{inputs.sources} has no {' or '.join(repr(t) for t in missing)} table; add a "
                f"`{missing[0]}:` entry under `tables:`.",
                file=str(inputs.sources),
                table=missing[0],
            )
        return {t: frames[t] for t in [*wanted, *extra] if t in frames}
    assert inputs.data_dir is not None
    present = _find_table_files(inputs.data_dir, extra)
    return load_data_dir(inputs.data_dir, tables=[*wanted, *(t for t in extra if t in present)])
