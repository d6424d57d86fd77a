"""Where pay and SLA design fight the customer: causal graph, conflict matrix, behaviour simulation,
SLA chains and the staffing budget gap. Each question lives in its own module."""

from __future__ import annotations

from cx_framework._reexport import reexport

__all__: list[str] = reexport(
    __name__, globals(), ("graph", "behaviour", "chain", "budget_gap", "evidence", "uncertainty", "explain")
)
