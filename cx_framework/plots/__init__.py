"""Plotly figures, one pure function per chart (data in, ``go.Figure`` out).

Each area keeps its charts in its own module; they are re-exported here so ``cx_framework.plots.<name>``
works for every chart.
"""

from __future__ import annotations

import importlib

__all__: list[str] = []

for _module in ("_style", "staffing", "scorecard", "incentives", "conflicts", "retention", "failure_demand"):
    try:
        _mod = importlib.import_module(f"{__name__}.{_module}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{_module}":
            raise
        continue
    for _name in getattr(_mod, "__all__", []):
        globals()[_name] = getattr(_mod, _name)
        __all__.append(_name)
