"""Gather the public names of a package's submodules into the package namespace."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Any


def reexport(package: str, namespace: dict[str, Any], modules: Iterable[str]) -> list[str]:
    """Import ``package.<module>`` for each module and copy every name in its ``__all__`` into ``namespace``.

    A submodule that does not exist is skipped (areas can be installed piecemeal); any other import error is
    raised. Returns the names copied, for the package's ``__all__``.
    """
    names: list[str] = []
    for module in modules:
        try:
            mod = importlib.import_module(f"{package}.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{package}.{module}":
                raise
            continue
        for name in getattr(mod, "__all__", []):
            namespace[name] = getattr(mod, name)
            names.append(name)
    return names


def lazy_exports(
    package: str, namespace: dict[str, Any], exports: dict[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module ``__getattr__`` and ``__dir__`` (PEP 562) serving ``exports`` (public name -> submodule of
    ``package``): a submodule is imported on the first lookup of one of its names, so importing the package
    (or one light submodule of it) does not import every area and its heavy dependencies (scipy, plotly).
    ``tests/test_perf.py`` checks each mapping against the submodules' ``__all__``."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports})

    return __getattr__, __dir__
