"""The ``cx`` command line. Each area registers its commands from its own module.

A :class:`~cx_framework.errors.CxError` becomes one red line on stderr and exit code 2 — no traceback for
user mistakes.
"""

from __future__ import annotations

import importlib

from cx_framework.cli._app import app, command, console, err_console

__all__ = ["app", "command", "console", "err_console", "main"]

# command modules register themselves on `app` when imported; an area whose module is absent is skipped
for _module in (
    "data_commands",
    "staffing_commands",
    "scorecard_commands",
    "incentive_commands",
    "conflict_commands",
    "failure_demand_commands",
    "retention_commands",
    "report_commands",
    "source_commands",
    "evidence_commands",
    "comp_commands",
):
    try:
        importlib.import_module(f"cx_framework.cli.{_module}")
    except ModuleNotFoundError as exc:
        if exc.name != f"cx_framework.cli.{_module}":
            raise


def main() -> None:
    """Entry point of the ``cx`` console script."""
    app()
