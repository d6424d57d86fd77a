"""Staffing and service level: exact, vectorised Erlang C and Erlang A, interval aggregation, required agents.

Public names (all broadcast over scalars, numpy arrays and pandas Series where they take numbers):
:func:`erlang_c`, :func:`erlang_b`, :func:`service_level`, :func:`asa`, :func:`agents_needed`,
:func:`occupancy`, :func:`traffic_intensity`, :func:`erlang_a` (-> :class:`ErlangAResult`),
:func:`aggregate_service_level`, :func:`required_agents`; model fit on observed intervals (Erlang C vs Erlang A):
:func:`fit_queue_models` (-> :class:`ModelFit`), :func:`estimate_patience`.
"""

from __future__ import annotations

from cx_framework.staffing.calibration import ModelFit, estimate_patience, fit_queue_models
from cx_framework.staffing.erlang import (
    agents_needed,
    asa,
    erlang_b,
    erlang_c,
    occupancy,
    service_level,
    traffic_intensity,
)
from cx_framework.staffing.erlang_a import ErlangAResult, erlang_a
from cx_framework.staffing.intervals import aggregate_service_level, required_agents

__all__ = [
    "traffic_intensity",
    "erlang_b",
    "erlang_c",
    "service_level",
    "asa",
    "occupancy",
    "agents_needed",
    "erlang_a",
    "ErlangAResult",
    "aggregate_service_level",
    "required_agents",
    "fit_queue_models",
    "estimate_patience",
    "ModelFit",
]
