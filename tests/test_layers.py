"""The import graph of ``cx_framework`` is the Layers picture of DESIGN.md: no import cycles, no module importing a
layer above its own.

The graph is read from the source with :mod:`ast` (nothing is imported). Three kinds of import are told apart:

* **import time** — a module-level ``import`` / ``from … import`` (not under ``if TYPE_CHECKING:``), a
  ``reexport(__name__, globals(), (...))`` call (the packages that gather their submodules' names), and the parent
  packages an import runs first (``import cx_framework.plots.retention`` executes ``cx_framework/plots/__init__``).
  These must form a DAG;
* **lazy** — an import inside a function body, run when the function is called;
* **typing** — an import under ``if TYPE_CHECKING:`` (annotations only).

Every import of any kind must stay in its layer or go down, with one sanctioned exception: an analysis result's
``.plot()`` convenience method may import its chart from ``plots`` lazily (CONVENTIONS: "a result object … knows how
to ``summary()`` and ``plot()`` itself"), and its annotations may name plot types. ``plots`` itself depends only on
the analyses, never the other way round at import time.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "cx_framework"

#: Layers, bottom to top (DESIGN.md "Layers": sources ─► engine ─► aggregates ─► analyses ─► Analysis ─► surfaces).
LAYER_ORDER = ("foundation", "analyses", "plots", "analysis", "surfaces")

#: Layer of every top-level module / subpackage of ``cx_framework`` (a subpackage's modules share its layer).
#: A new top-level module must be added here: the test names it and asks.
LAYER_OF: dict[str, str] = {
    # data in: errors, config and contracts, reading/writing, engines and sources
    "errors": "foundation",
    "_compat": "foundation",
    "_reexport": "foundation",
    "_display": "foundation",
    "figures": "foundation",  # the figure registry (ids, labels, units, formats): every layer renders from it
    "config": "foundation",
    "schemas": "foundation",
    "_tables": "foundation",  # table names (schemas re-exports them; importable without pandera)
    "io": "foundation",
    "engine": "foundation",
    "sources": "foundation",
    "access": "foundation",  # who may read what: checked where data is read, by every layer above
    # pure analyses on validated frames (they may use one another, acyclically); the synthetic organisation sits
    # here because it plants graph elasticities at the levels the evidence estimator reads
    "synthetic": "analyses",
    "maturity": "analyses",
    "_xlsx": "foundation",
    "staffing": "analyses",
    "scorecard": "analyses",
    "incentives": "analyses",
    "conflicts": "analyses",
    "retention": "analyses",
    "failure_demand": "analyses",
    "economics": "analyses",
    "evidence": "analyses",
    "actions": "analyses",
    # every row-level step of the report on an engine (validate, aggregate, fit on aggregates)
    "scale": "analyses",
    # figures of analysis results (one pure function per chart)
    "plots": "plots",
    # the one Analysis per data + config + assumptions
    "analysis": "analysis",
    # what people see: CLI, reports, app helpers
    "report": "surfaces",
    "cli": "surfaces",
    "app_support": "surfaces",
    "scenarios": "surfaces",  # compensation administration: saved schemes, approvals, snapshots, audit
    "statements": "surfaces",  # payee statements (HTML)
}

#: (from layer, to layer) pairs allowed upwards for lazy and typing imports only (see the module docstring).
LAZY_UPWARD_ALLOWED = {("analyses", "plots")}

ROOT_PACKAGE = "cx_framework"  # the public façade: lazy PEP 562 re-exports of everything, above every layer


@dataclass(frozen=True)
class Import:
    source: str  # importing module, dotted
    target: str  # imported cx_framework module, dotted
    kind: str  # "import time" | "lazy" | "typing"
    line: int


def module_files(package_dir: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` under ``package_dir`` (a package is its ``__init__``)."""
    root = package_dir.name
    out: dict[str, Path] = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = [root, *path.relative_to(package_dir).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported_names(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """Dotted names a statement may import: ``from a import b`` is ``a.b`` when that is a module, else ``a``."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, base] if base else package)
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def _reexported(node: ast.Call, module: str) -> list[str]:
    """Submodules named by ``reexport(__name__, globals(), ("a", "b"))`` in package ``module``."""
    func = node.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    if name != "reexport" or len(node.args) < 3 or not isinstance(node.args[2], ast.Tuple | ast.List):
        return []
    return [f"{module}.{e.value}" for e in node.args[2].elts if isinstance(e, ast.Constant)]


def imports_of(package_dir: Path, *, external: tuple[str, ...] = ()) -> list[Import]:
    """Every import of one ``cx_framework`` module by another, with its kind and line.

    ``external``: top-level names of other packages (e.g. ``("plotly",)``) whose imports are listed too.
    """
    files = module_files(package_dir)
    root = package_dir.name
    found: list[Import] = []

    def resolve(name: str) -> str | None:
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    for module, path in files.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))

        def visit(node: ast.AST, kind: str, module: str = module, is_package: bool = is_package) -> None:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                kind = "lazy" if kind == "import time" else kind
            if isinstance(node, ast.If) and _is_type_checking(node.test):
                for child in node.body:
                    visit(child, "typing")
                for child in node.orelse:
                    visit(child, kind)
                return
            targets: list[str] = []
            if isinstance(node, ast.Import | ast.ImportFrom):
                targets = _imported_names(node, module, is_package)
            elif isinstance(node, ast.Call):
                targets = _reexported(node, module)
            for name in targets:
                if name.split(".")[0] in external:
                    found.append(Import(module, name.split(".")[0], kind, getattr(node, "lineno", 0)))
                if name != root and not name.startswith(root + "."):
                    continue
                # importing a.b.c runs a.b's __init__ first (the façade root is lazy and never counted)
                parts = name.split(".")
                for k in range(2, len(parts) + 1):
                    target = resolve(".".join(parts[:k]))
                    if target and target not in (module, root) and not module.startswith(target + "."):
                        found.append(Import(module, target, kind, getattr(node, "lineno", 0)))
            for child in ast.iter_child_nodes(node):
                visit(child, kind)

        visit(tree, "import time")
    return sorted(set(found), key=lambda i: (i.source, i.target, i.kind, i.line))


def layer(module: str) -> str | None:
    parts = module.split(".")
    return LAYER_OF.get(parts[1]) if len(parts) > 1 else None


def cycles(edges: list[tuple[str, str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted, largest first."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return sorted(out, key=lambda c: (-len(c), c))


def layer_violations(found: list[Import]) -> list[str]:
    order = {name: k for k, name in enumerate(LAYER_ORDER)}
    bad = []
    for imp in found:
        src, dst = layer(imp.source), layer(imp.target)
        if src is None or dst is None or order[dst] <= order[src]:
            continue
        if imp.kind != "import time" and (src, dst) in LAZY_UPWARD_ALLOWED:
            continue
        bad.append(f"{imp.source} ({src}) imports {imp.target} ({dst}) [{imp.kind}, line {imp.line}]")
    return bad


# --------------------------------------------------------------------------------------------------- the checks
@pytest.fixture(scope="module")
def found() -> list[Import]:
    return imports_of(PACKAGE_DIR)


def test_every_top_level_module_has_a_layer() -> None:
    names = {m.split(".")[1] for m in module_files(PACKAGE_DIR) if m != ROOT_PACKAGE}
    missing = sorted(names - set(LAYER_OF))
    assert not missing, f"add {missing} to LAYER_OF in tests/test_layers.py (layers: {LAYER_ORDER})"
    assert set(LAYER_OF.values()) <= set(LAYER_ORDER)


def test_no_import_cycles(found: list[Import]) -> None:
    circles = cycles([(i.source, i.target) for i in found if i.kind == "import time"])
    assert not circles, "import cycles at import time:\n" + "\n".join(" <-> ".join(c) for c in circles)


def test_no_module_imports_a_layer_above(found: list[Import]) -> None:
    bad = layer_violations(found)
    assert not bad, "imports of a higher layer:\n" + "\n".join(bad)


def test_plots_depend_on_analyses_only_one_way(found: list[Import]) -> None:
    """The seven former circles: analyses imported ``plots`` at import time while ``plots`` imported their results."""
    up = [i for i in found if layer(i.source) == "analyses" and layer(i.target) == "plots"]
    assert all(i.kind != "import time" for i in up), [i for i in up if i.kind == "import time"]
    # plots do use the analyses (their result types): the edge that remains is the downward one
    assert any(layer(i.source) == "plots" and layer(i.target) == "analyses" for i in found)


def test_charts_are_drawn_only_in_plots_and_surfaces() -> None:
    """Analyses name plotly types in annotations only; every figure is built by a ``plots`` function."""
    drawn = [
        i
        for i in imports_of(PACKAGE_DIR, external=("plotly",))
        if i.target == "plotly" and i.kind != "typing" and layer(i.source) in ("foundation", "analyses")
    ]
    assert not drawn, drawn


# ------------------------------------------------------------------------------------ the checker itself works
def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    pkg = tmp_path / "cx_framework"
    for rel, text in files.items():
        path = pkg / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return pkg


def test_checker_finds_cycles_kinds_and_upward_imports(tmp_path: Path) -> None:
    pkg = _package(
        tmp_path,
        {
            "__init__.py": "",
            "errors.py": "",
            "scorecard/__init__.py": "from cx_framework.scorecard.result import R\n",
            "scorecard/result.py": (
                "from typing import TYPE_CHECKING\n"
                "from cx_framework.plots.scorecard import heatmap\n"  # import-time upward: circle + violation
                "if TYPE_CHECKING:\n    from cx_framework.cli import app\n"
                "class R:\n    def plot(self):\n        from cx_framework.plots import scorecard\n"
            ),
            "plots/__init__.py": (
                "from cx_framework._reexport import reexport\n"
                "__all__ = reexport(__name__, globals(), ('scorecard',))\n"
            ),
            "plots/scorecard.py": "from ..scorecard import R\nheatmap = 1\n",
            "_reexport.py": "",
            "cli/__init__.py": "def main():\n    import cx_framework.report\n",
            "report.py": "from . import errors\n",
        },
    )
    got = imports_of(pkg)
    kinds = {(i.source, i.target): i.kind for i in got}
    assert kinds[("cx_framework.plots", "cx_framework.plots.scorecard")] == "import time"  # via reexport(...)
    assert (
        kinds[("cx_framework.plots.scorecard", "cx_framework.scorecard")] == "import time"
    )  # relative import
    assert kinds[("cx_framework.scorecard.result", "cx_framework.cli")] == "typing"
    assert kinds[("cx_framework.cli", "cx_framework.report")] == "lazy"
    assert kinds[("cx_framework.report", "cx_framework.errors")] == "import time"
    circles = cycles([(i.source, i.target) for i in got if i.kind == "import time"])
    assert circles == [
        [
            "cx_framework.plots",
            "cx_framework.plots.scorecard",
            "cx_framework.scorecard",
            "cx_framework.scorecard.result",
        ]
    ]
    bad = layer_violations(got)
    assert any(
        "scorecard.result (analyses) imports cx_framework.plots (plots) [import time" in b for b in bad
    )
    assert any("imports cx_framework.cli (surfaces) [typing" in b for b in bad)  # typing: only plots allowed
    assert not any("[lazy" in b for b in bad)  # the lazy .plot() import is the sanctioned one
