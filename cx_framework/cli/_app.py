"""The shared typer app, consoles and error handling every command module uses.

Command modules register with ``@command()`` (a wrapper around ``app.command`` that turns a
:class:`~cx_framework.errors.CxError` into one red line on stderr, at most one hint line, and exit code 2).

Text that comes from the user (paths, ids, names, values, error messages) is printed literally: pass it
through :func:`lit` before putting it into a rich markup string, so ``[bold]`` in a file name stays in the
file name and ``[/red]`` in a value cannot break the printer.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from cx_framework.errors import CxError, DataValidationError

app = typer.Typer(
    name="cx",
    help="cx_framework: see where your organisation's structure hurts its customers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)
#: progress bars and ``note:`` lines (stderr); ``--quiet`` silences this console only, never errors or results
info_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])

#: Longest error line the CLI prints; longer messages are cut (the API keeps the full text).
MAX_ERROR_CHARS = 400


def set_quiet(quiet: bool) -> None:
    """Silence (or restore) progress and notes for this invocation; errors and results are never silenced."""
    info_console.quiet = bool(quiet)


@app.callback()
def _global_options(
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="No progress bars or notes on stderr (errors and results still shown)."
    ),
) -> None:
    """cx_framework: see where your organisation's structure hurts its customers."""
    set_quiet(quiet)


def lit(value: object) -> str:
    """``value`` as text that rich prints literally inside a markup string (``[x]`` is not a style)."""
    return escape(str(value))


def _clip(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_lines(exc: CxError) -> tuple[str, str | None]:
    """The one error line and the optional hint line the CLI prints for ``exc``.

    Multi-line messages (a table's list of failures) are condensed: the headline plus the first failure; the
    hint then points to ``cx validate``, which lists every failure.
    """
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("Tip:")]
    head = lines[0] if lines else type(exc).__name__
    hint = exc.hint
    details = [line.lstrip("- ").strip() for line in lines[1:]]
    if details:
        head = (
            f"{head} First: {details[0]}" if isinstance(exc, DataValidationError) else f"{head} {details[0]}"
        )
        if len(details) > 1 and hint is None:
            hint = "run `cx validate DATA_DIR` to list every problem of every table."
    return _clip(head), (_clip(hint) if hint else None)


def fail(exc: CxError) -> typer.Exit:
    """Print a user error as one red line (plus at most one hint line) and return the exit to raise (code 2)."""
    line, hint = error_lines(exc)
    err_console.print(Text("error: ", style="bold red") + Text(line), highlight=False, soft_wrap=True)
    if hint:
        err_console.print(Text("hint: ", style="yellow") + Text(hint), highlight=False, soft_wrap=True)
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
