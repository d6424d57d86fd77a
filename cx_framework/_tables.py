"""Names of the data-contract tables, without the pandera models behind them (:mod:`cx_framework.schemas`).

Kept apart so code that only needs the names (a data directory's file list, the Analysis opening its disk cache)
does not import pandera (~0.5 s); :mod:`cx_framework.schemas` re-exports both and checks they match its models.
"""

from __future__ import annotations

__all__ = ["TABLES", "REQUIRED_TABLES"]

#: Input tables a data directory must contain (see :func:`cx_framework.io.load_data_dir`).
REQUIRED_TABLES: tuple[str, ...] = (
    "intervals",
    "contacts",
    "customers",
    "employees",
    "employee_metrics",
    "department_metrics",
    "work_items",
)
#: Names of every table in the data contract (inputs first, then derived ones).
TABLES: tuple[str, ...] = (*REQUIRED_TABLES, "customer_panel")
