"""MkDocs hooks: pages generated from the library itself, so the docs cannot drift from the code.

* ``glossary.md`` — every headline figure of the figure registry (id, label, unit, definition) with a link to the
  concept page citing its sources, and the metric catalogue with its cited definitions.
* ``reference/api.md`` — one mkdocstrings entry per public name in ``cx_framework._EXPORTS``, grouped by module.
"""

from __future__ import annotations

import importlib
from collections import defaultdict
from pathlib import Path
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


#: Concept page (relative to the glossary) where the practitioner definitions behind a figure section are cited.
_CONCEPT_OF_SECTION = {
    "scorecard": "concepts/scorecard.md",
    "payouts": "concepts/incentives.md",
    "conflicts": "concepts/conflicts.md",
    "behaviour": "concepts/conflicts.md",
    "evidence": "concepts/conflicts.md",
    "evidence_comparison": "concepts/conflicts.md",
    "sla_chain": "concepts/sla-chain.md",
    "staffing": "concepts/staffing.md",
    "retention": "concepts/retention.md",
    "failure_demand": "concepts/failure-demand.md",
    "actions": "concepts/actions.md",
}

_ROOT = Path(__file__).resolve().parents[1]


def glossary_markdown() -> str:
    """The glossary tables: every registered figure spec (``cx_framework.figures.FIGURES``), grouped by section
    with a link to the concept page that cites its definitions, then the metric catalogue of ``configs/``."""
    from cx_framework.figures import FIGURES

    specs = sorted(FIGURES.values(), key=lambda s: s.id)
    by_section: dict[str, list[Any]] = defaultdict(list)
    for spec in specs:
        by_section[spec.id.split(".", 1)[0]].append(spec)
    out = [f"{len(specs)} headline figures in {len(by_section)} sections.", ""]
    for section, rows in by_section.items():
        title = section.replace("_", " ").capitalize()
        out += [f"## {title}", ""]
        if section in _CONCEPT_OF_SECTION:
            out += [f"Definitions and their sources: [{title} concepts]({_CONCEPT_OF_SECTION[section]}).", ""]
        out += [
            "| id | label | unit | definition |",
            "|---|---|---|---|",
        ]
        out += [
            f"| `{s.id}` | {_escape(s.label)} | {_escape(s.unit)} | {_escape(s.definition)} |" for s in rows
        ]
        out.append("")
    out += catalogue_markdown()
    return "\n".join(out)


def catalogue_markdown() -> list[str]:
    """The metric catalogue of the sample configuration (``configs/metrics.yaml``): every metric a scorecard,
    scheme or the causal graph can use, with its practitioner definition and source."""
    from cx_framework.config import load_config

    metrics = load_config(_ROOT / "configs").metrics.metrics
    out = [
        "## Metric catalogue",
        "",
        f"The {len(metrics)} metrics of the sample configuration (`configs/metrics.yaml`); figures of the form "
        "`scorecard.metric.<id>` carry these names and units. Each definition names its practitioner source in "
        "parentheses where one exists; an organisation's own catalogue replaces this one.",
        "",
        "| id | name | unit | better | customer-centric | definition |",
        "|---|---|---|---|---|---|",
    ]
    for m in metrics:
        better = "higher" if m.direction == "higher_is_better" else "lower"
        out.append(
            f"| `{m.id}` | {_escape(m.name)} | {_escape(m.unit)} | {better} | "
            f"{'yes' if m.customer_centric else 'no'} | {_escape(m.definition)} |"
        )
    out.append("")
    return out


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
