"""The shared typer app, consoles and error handling every command module uses.

Command modules register with ``@command()`` (a wrapper around ``app.command`` that turns a
:class:`~cx_framework.errors.CxError` into one red line on stderr and exit code 2).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from cx_framework.errors import CxError

app = typer.Typer(
    name="cx",
    help="cx_framework: see where your organisation's structure hurts its customers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def fail(exc: CxError) -> typer.Exit:
    """Print a user error as one red line and return the exit to raise (code 2)."""
    err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True, markup=True)
    return typer.Exit(code=2)


def command(*args: Any, **kwargs: Any) -> Callable[[F], F]:
    """``app.command`` that converts :class:`CxError` into exit code 2 without a traceback."""

    def decorator(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*a: Any, **kw: Any) -> Any:
            try:
                return fn(*a, **kw)
            except CxError as exc:
                raise fail(exc) from None

        app.command(*args, **kwargs)(wrapper)
        return fn

    return decorator
