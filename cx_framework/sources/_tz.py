"""``timezone(zone, ts)`` as ibis builtins (the SQL function DuckDB and PostgreSQL both provide).

Kept in its own module without ``from __future__ import annotations``: ibis reads the UDF signatures from
evaluated annotations.
"""

import ibis
import ibis.expr.datatypes as dt

_NAIVE = dt.Timestamp()
_AWARE = dt.Timestamp(timezone="UTC")


@ibis.udf.scalar.builtin(name="timezone")
def local_to_instant(zone: str, ts: _NAIVE) -> _AWARE:  # type: ignore[valid-type,empty-body]
    """Instant of the wall-clock time ``ts`` in ``zone``."""


@ibis.udf.scalar.builtin(name="timezone")
def instant_to_local(zone: str, ts: _AWARE) -> _NAIVE:  # type: ignore[valid-type,empty-body]
    """Wall-clock time in ``zone`` of the instant ``ts``."""
