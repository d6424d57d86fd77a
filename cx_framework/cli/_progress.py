"""Progress and notes on stderr for long commands, silenced by ``--quiet`` (and by ``--json``).

Long commands (``report``, ``generate``, ``import``, ``validate``, ``actions``, ``retention``, ``graph-evidence``)
say what they are doing, step by step, on a transient rich progress bar on stderr — stdout stays the results
(and, with ``--json``, pure JSON). Notes (statistical caveats, assumptions the library had to make) are one
``note:`` line each on stderr. ``cx --quiet`` / ``cmd --quiet`` turns both off; errors are always shown.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from cx_framework.cli._app import info_console, set_quiet

__all__ = ["Step", "progress", "caveats", "print_notes", "compute_sections", "quiet_for"]

#: ``step("what happens next")``: advance the bar by one and show the label.
Step = Callable[[str], None]


def quiet_for(quiet: bool, as_json: bool = False) -> bool:
    """Apply a command's ``--quiet`` (``cx --quiet`` already applied); JSON mode shows no progress either.

    Returns whether progress is off for this command.
    """
    if quiet:
        set_quiet(True)
    return bool(info_console.quiet or as_json)


def _no_step(label: str) -> None:
    return None


@contextmanager
def progress(total: int, first: str = "starting", *, enabled: bool = True) -> Iterator[Step]:
    """A transient rich progress bar on stderr; yields ``step(label)`` that advances it by one labelled step.

    ``total`` is the expected number of steps (the bar grows when more are reported). With ``enabled=False`` or
    when ``--quiet`` is on, nothing is drawn and ``step`` does nothing.
    """
    if not enabled or info_console.quiet:
        yield _no_step
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description:<32}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=info_console,
        transient=True,
    ) as bar:
        task = bar.add_task(first, total=total)
        seen = {"n": 0}

        def step(label: str) -> None:
            if seen["n"]:
                bar.advance(task)
            seen["n"] += 1
            # the label may come from data (a table or file name): shown literally, never as markup
            bar.update(task, description=escape(str(label)), total=max(total, seen["n"]))

        yield step
        bar.update(task, completed=max(total, seen["n"]))


def print_notes(notes: Iterable[str]) -> None:
    """Each note once, as one ``note:`` line on stderr (silenced by ``--quiet``); the text is printed literally."""
    for note in dict.fromkeys(str(n).strip() for n in notes):
        if note:
            info_console.print(Text("note: ", style="yellow") + Text(note), highlight=False, soft_wrap=True)


@contextmanager
def caveats() -> Iterator[None]:
    """Collect the warnings raised inside (statistical caveats, assumptions the library had to make) and print each
    once, as one readable ``note:`` line on stderr — never Python's ``file:line: Warning`` format."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    # a dependency's deprecation or performance notice (ibis, pandas) is for developers, not a caveat about the
    # user's figures
    from pandas.errors import PerformanceWarning

    for_developers = (DeprecationWarning, PendingDeprecationWarning, FutureWarning, PerformanceWarning)
    print_notes(str(w.message) for w in caught if not issubclass(w.category, for_developers))


def compute_sections(
    analysis: Any, names: Iterable[str], step: Step, *, required: Iterable[str] = ()
) -> None:
    """Compute the Analysis' sections one by one, each reported as a progress step (labelled as on screen).

    A section that cannot run is left for the command to report (``analysis.unavailable``), except those in
    ``required``, whose error is raised.
    """
    from cx_framework.analysis import SECTIONS
    from cx_framework.errors import CxError

    must = set(required)
    for name in names:
        step(SECTIONS[name].label)
        try:
            analysis.section(name)
        except CxError:
            if name in must:
                raise
