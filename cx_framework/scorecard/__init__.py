"""Shared customer-centric scorecard: scoring, roll-ups, alignment, exceptions, drill-down and trends.

Modules: :mod:`.scoring` (score and status of one value, composites), :mod:`.aggregate` (agent -> team ->
department -> organisation roll-ups per the catalogue), :mod:`.alignment`, :mod:`.exceptions` (XmR chart,
Western Electric rules, threshold breaches), :mod:`.correlate`, :mod:`.contacts` (department × month metrics from
raw contacts through DuckDB), :mod:`.core` (:func:`score`) and :mod:`.result` (:class:`ScorecardResult`).
"""

from __future__ import annotations

from cx_framework.scorecard.aggregate import LEVELS, ORGANISATION, build_values
from cx_framework.scorecard.alignment import pearson_ci, weight_alignment
from cx_framework.scorecard.contacts import contact_metrics
from cx_framework.scorecard.core import UnknownMetricWarning, score
from cx_framework.scorecard.correlate import correlate
from cx_framework.scorecard.exceptions import control_chart
from cx_framework.scorecard.result import NOT_SCORED, ScorecardResult
from cx_framework.scorecard.scoring import COMPOSITE_BANDS, NO_DATA, composite, score_values, status_of

__all__ = [
    "score",
    "correlate",
    "ScorecardResult",
    "UnknownMetricWarning",
    "contact_metrics",
    "score_values",
    "status_of",
    "composite",
    "build_values",
    "control_chart",
    "pearson_ci",
    "weight_alignment",
    "ORGANISATION",
    "LEVELS",
    "NO_DATA",
    "NOT_SCORED",
    "COMPOSITE_BANDS",
]
