"""The documentation site covers the library. (Every how-to is executed by `make docs`, which CI runs with
warnings as errors: a failing example fails the build.)"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
HOWTOS = sorted((DOCS / "howto").glob("*.py"))


def _hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", DOCS / "_hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _nav_files(nav: object) -> list[str]:
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, list):
        return [f for item in nav for f in _nav_files(item)]
    if isinstance(nav, dict):
        return [f for value in nav.values() for f in _nav_files(value)]
    return []


def test_every_howto_and_page_is_in_the_nav() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    nav = set(_nav_files(config["nav"]))
    pages = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")} | {f"howto/{p.name}" for p in HOWTOS}
    assert pages - nav == set(), "pages missing from mkdocs.yml nav"
    assert nav - pages == set(), "nav entries without a page"


def test_api_reference_lists_every_public_name() -> None:
    import cx_framework

    documented = {
        line.split()[-1].rsplit(".", 1)[-1]
        for line in _hooks().api_markdown().splitlines()
        if line.startswith(":::")
    }
    assert set(cx_framework._EXPORTS) - documented == set()


def test_every_howto_is_a_percent_script_that_compiles() -> None:
    """mkdocs-jupyter reads ``docs/howto/*.py`` as jupytext percent scripts (``make docs`` executes them)."""
    assert {p.name for p in HOWTOS} >= {"engines.py", "connect_database.py", "first_briefing.py"}
    for path in HOWTOS:
        text = path.read_text()
        assert text.startswith("# %% [markdown]\n# # "), f"{path.name}: must open with a markdown title cell"
        compile(text, str(path), "exec")


def test_glossary_lists_every_figure_and_catalogue_metric(config) -> None:
    from cx_framework.figures import FIGURES

    text = _hooks().glossary_markdown()
    for spec in FIGURES.values():
        assert f"| `{spec.id}` | {spec.label.replace('|', chr(92) + '|')} |" in text
    for metric in config.metrics.metrics:
        assert f"| `{metric.id}` | {metric.name} |" in text
    # every section links the concept page that cites its definitions, and that page exists
    # (tests/test_analysis.py registers "testonly.*" specs into the same process-wide registry)
    for section in {
        spec.id.split(".", 1)[0] for spec in FIGURES.values() if not spec.id.startswith("testonly.")
    }:
        page = _hooks()._CONCEPT_OF_SECTION.get(section)
        assert page is not None, f"figure section {section!r} has no concept page in docs/_hooks.py"
        assert (DOCS / page).is_file()
