"""One version of the truth: the :class:`Analysis` (every headline figure computed once per data + config +
assumptions), the figure registry every surface renders from, and the sections that fill it.

>>> from cx_framework.analysis import Analysis              # doctest: +SKIP
>>> a = Analysis.from_sample("configs")                     # doctest: +SKIP
>>> a.figure("staffing.realised_service_level").formatted() # doctest: +SKIP
'70.0%'
"""

from __future__ import annotations

from cx_framework.analysis.core import (
    CACHE_FORMAT,
    ENGINE_TABLES,
    PAY_TABLES,
    SECTIONS,
    Analysis,
    LazyTables,
    SectionResult,
    SectionSpec,
    default_cache_dir,
    load_available_tables,
    personal_cache_allowed,
    section,
)
from cx_framework.config.models import Assumptions
from cx_framework.figures import (
    FIGURES,
    FORMATS,
    Figure,
    FigureSpec,
    figure_spec,
    format_value,
    register_figure,
)

__all__ = [
    "Analysis",
    "Assumptions",
    "CACHE_FORMAT",
    "ENGINE_TABLES",
    "FIGURES",
    "FORMATS",
    "Figure",
    "FigureSpec",
    "LazyTables",
    "PAY_TABLES",
    "SECTIONS",
    "SectionResult",
    "SectionSpec",
    "default_cache_dir",
    "figure_spec",
    "format_value",
    "load_available_tables",
    "personal_cache_allowed",
    "register_figure",
    "section",
]
