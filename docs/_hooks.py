"""MkDocs hooks: pages generated from the library itself, so the docs cannot drift from the code.

* ``glossary.md`` — every headline figure of the figure registry (id, label, unit, format, definition).
* ``reference/api.md`` — one mkdocstrings entry per public name in ``cx_framework._EXPORTS``, grouped by module.
"""

from __future__ import annotations

import importlib
from collections import defaultdict
from typing import Any

GLOSSARY_MARK = "<!-- glossary -->"
API_MARK = "<!-- api -->"

# heading per module of cx_framework._EXPORTS, in reading order (a module not listed goes last under its name)
_AREAS = {
    "config": "Configuration",
    "schemas": "Data contract and validation",
    "io": "Reading and writing tables",
    "synthetic": "Synthetic organisation",
    "analysis": "The Analysis and its figures",
    "staffing": "Staffing (Erlang C / Erlang A)",
    "scorecard": "Scorecard",
    "incentives": "Incentives",
    "conflicts": "Conflicts, SLA chains and budget gap",
    "retention": "Retention",
    "economics": "Economics",
    "failure_demand": "Failure demand",
    "actions": "Actions",
    "report": "Reports",
    "errors": "Errors",
}


def _escape(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def glossary_markdown() -> str:
    """The glossary table, built from ``cx_framework.analysis.FIGURES`` (every registered figure spec)."""
    from cx_framework.analysis import FIGURES

    specs = sorted(FIGURES.values(), key=lambda s: s.id)
    by_section: dict[str, list[Any]] = defaultdict(list)
    for spec in specs:
        by_section[spec.id.split(".", 1)[0]].append(spec)
    out = [f"{len(specs)} headline figures in {len(by_section)} sections.", ""]
    for section, rows in by_section.items():
        out += [
            f"## {section.replace('_', ' ').capitalize()}",
            "",
            "| id | label | unit | definition |",
            "|---|---|---|---|",
        ]
        out += [
            f"| `{s.id}` | {_escape(s.label)} | {_escape(s.unit)} | {_escape(s.definition)} |" for s in rows
        ]
        out.append("")
    return "\n".join(out)


def api_markdown() -> str:
    """One ``::: module.name`` entry per public name, grouped by the module that defines it."""
    import cx_framework

    by_module: dict[str, list[str]] = defaultdict(list)
    for name, module in cx_framework._EXPORTS.items():
        by_module[module].append(name)
    order = [m for m in _AREAS if m in by_module] + sorted(m for m in by_module if m not in _AREAS)
    out: list[str] = []
    for module in order:
        out += [f"## {_AREAS.get(module, module)}", ""]
        for name in by_module[module]:
            obj = getattr(importlib.import_module(f"cx_framework.{module}"), name)
            # data (e.g. TABLES) has no docstring of its own: document the module attribute by its path
            path = f"cx_framework.{module}.{name}"
            if callable(obj) or isinstance(obj, type):
                path = f"{obj.__module__}.{obj.__qualname__}"
            out += [f"::: {path}", "    options:", "      heading_level: 3", ""]
    return "\n".join(out)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if GLOSSARY_MARK in markdown:
        markdown = markdown.replace(GLOSSARY_MARK, glossary_markdown())
    if API_MARK in markdown:
        markdown = markdown.replace(API_MARK, api_markdown())
    return markdown
