"""Gather the public names of a package's submodules into the package namespace."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
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
