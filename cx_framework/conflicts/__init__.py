"""Where pay and SLA design fight the customer: causal graph, conflict matrix, behaviour simulation,
SLA chains and the staffing budget gap. Each question lives in its own module."""

from __future__ import annotations

import importlib

__all__: list[str] = []

for _module in ("graph", "behaviour", "chain", "budget_gap"):
    try:
        _mod = importlib.import_module(f"{__name__}.{_module}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{_module}":
            raise
        continue
    for _name in getattr(_mod, "__all__", []):
        globals()[_name] = getattr(_mod, _name)
        __all__.append(_name)
