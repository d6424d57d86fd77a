"""Plotly figures, one pure function per chart (data in, ``go.Figure`` out).

Each area keeps its charts in its own module; they are re-exported here so ``cx_framework.plots.<name>``
works for every chart.
"""

from __future__ import annotations

from cx_framework._reexport import reexport

__all__: list[str] = reexport(
    __name__,
    globals(),
    (
        "_style",
        "staffing",
        "scorecard",
        "incentives",
        "conflicts",
        "retention",
        "failure_demand",
        "actions",
        "calibration",
        "evidence",
    ),
)
