"""The ``--engine`` option every data command takes, and how a command turns it into an engine."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cx_framework.errors import InputValueError

if TYPE_CHECKING:
    from cx_framework.config.loader import CxConfig
    from cx_framework.engine import Engine

__all__ = ["ENGINE_OPTION", "engine_kind", "open_engine"]


def _check_engine(value: str | None) -> str | None:
    """Option callback: a wrong ``--engine`` exits 2 while the command line is parsed, before any data is read."""
    if value is None:
        return None
    try:
        return engine_kind(value, None)
    except InputValueError as exc:
        from cx_framework.cli._app import fail

        raise fail(exc) from None


#: ``--engine duckdb|spark|pandas``; default: ``kind`` of the config's ``engine.yaml`` (DuckDB when absent).
ENGINE_OPTION = Annotated[
    str | None,
    typer.Option(
        "--engine",
        callback=_check_engine,
        help="Where the row-level steps run: duckdb (default: out-of-core, embedded), spark (cluster, from "
        "engine.yaml), or pandas (in memory). Default: `kind` in configs/engine.yaml.",
    ),
]


def engine_kind(value: str | None, config: CxConfig | None) -> str:
    """The engine name to use: the option if given (checked), else the config's ``engine.kind``."""
    from cx_framework.engine.settings import ENGINES

    if value is None:
        return config.engine.kind if config is not None else "duckdb"
    if value not in ENGINES:
        raise InputValueError(
            f"--engine must be one of {', '.join(ENGINES)}; got {value!r}.", argument="--engine"
        )
    return value


def open_engine(kind: str, config: CxConfig | None) -> Engine:
    """Connect the engine ``kind`` with the resources set in the config's ``engine.yaml``."""
    from cx_framework.engine import EngineSettings, connect

    base = config.engine if config is not None else EngineSettings()
    return connect(base, kind=kind)
