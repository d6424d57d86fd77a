"""The CLI test runner shared by the test modules (imported as ``from _cli import split_runner``)."""

from __future__ import annotations

import inspect

from typer.testing import CliRunner


def split_runner() -> CliRunner:
    """A runner whose ``result.stdout`` and ``result.stderr`` stay apart on every click version.

    click < 8.2 mixes stderr into stdout unless told ``mix_stderr=False``; click 8.2 removed the argument and always
    keeps them apart. The JSON tests parse stdout, so a warning on stderr must not reach it.
    """
    if "mix_stderr" in inspect.signature(CliRunner.__init__).parameters:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    return CliRunner()
