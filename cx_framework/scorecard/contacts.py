"""Department × month scorecard metrics straight from a (large) ``contacts`` table through embedded DuckDB.

The contact table is aggregated where it lies (Parquet/CSV file or a pandas frame) — pandas only sees the
small result — and returned in the ``department_metrics`` long format with the numerator's denominator in
``volume``, so every ratio can later be re-aggregated exactly (DESIGN.md "Engines and scale").
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from cx_framework.engine.aggregates import CONTACT_METRICS
from cx_framework.engine.aggregates import long_metrics as _long
from cx_framework.errors import DataValidationError, InputValueError

__all__ = ["contact_metrics", "CONTACT_METRICS", "contact_aggregation_sql"]

_REQUIRED = ("timestamp", "channel", "queue", "wait_s", "handle_s", "abandoned", "resolved_first_contact")


def contact_aggregation_sql(source: str, threshold_s: float, department_expr: str, join: str = "") -> str:
    """The DuckDB aggregation of :func:`contact_metrics` (one pass, one GROUP BY over period × department).

    Service level uses the "offered" definition of DESIGN.md (answered within threshold / offered phone calls,
    abandoned calls count as offered); ASA is total wait of answered phone calls / answered phone calls.
    """
    return f"""
        SELECT date_trunc('month', c.timestamp)::TIMESTAMP AS period,
               {department_expr} AS department,
               count(*) FILTER (WHERE c.channel = 'phone') AS offered_phone,
               count(*) FILTER (WHERE c.channel = 'phone' AND NOT c.abandoned
                                AND c.wait_s <= {float(threshold_s)!r}) AS answered_within_threshold,
               count(*) FILTER (WHERE c.channel = 'phone' AND c.abandoned) AS abandoned_phone,
               count(*) FILTER (WHERE c.channel = 'phone' AND NOT c.abandoned) AS answered_phone,
               coalesce(sum(c.wait_s) FILTER (WHERE c.channel = 'phone' AND NOT c.abandoned), 0) AS wait_answered_s,
               count(*) FILTER (WHERE NOT c.abandoned) AS handled,
               coalesce(sum(c.handle_s) FILTER (WHERE NOT c.abandoned), 0) AS handle_s,
               count(*) FILTER (WHERE NOT c.abandoned AND c.resolved_first_contact) AS resolved_first_contact,
               count(*) AS offered
        FROM {source} AS c {join}
        GROUP BY ALL
    """


def _source(
    contacts: pd.DataFrame | str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
) -> tuple[str, pd.DataFrame | None]:
    if isinstance(contacts, pd.DataFrame):
        missing = [c for c in _REQUIRED if c not in contacts.columns]
        if missing:
            raise DataValidationError(
                f"contacts frame lacks column(s) {', '.join(missing)} needed for scorecard metrics",
                table="contacts",
            )
        return "contacts_frame", contacts
    paths = [contacts] if isinstance(contacts, str | os.PathLike) else list(contacts)
    for p in paths:
        if not any(ch in str(p) for ch in "*?[") and not Path(p).exists():
            raise DataValidationError(f"contacts file {p} does not exist", table="contacts", file=str(p))
    readers = []
    for p in paths:
        text = str(p).replace("'", "''")
        low = text.lower()
        readers.append(
            f"read_csv_auto('{text}')" if low.endswith((".csv", ".csv.gz")) else f"read_parquet('{text}')"
        )
    return (
        readers[0]
        if len(readers) == 1
        else "(" + " UNION ALL BY NAME ".join(f"SELECT * FROM {r}" for r in readers) + ")"
    ), None


def contact_metrics(
    contacts: pd.DataFrame | str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    department_of: Mapping[str, str] | None = None,
    threshold_s: float = 20.0,
    threads: int | None = None,
) -> pd.DataFrame:
    """Aggregate contacts into department × month scorecard metrics (``department_metrics`` format).

    Parameters
    ----------
    contacts : pandas.DataFrame, path or sequence of paths
        The ``contacts`` table, or Parquet / CSV file(s) holding it (globs allowed). Needs ``timestamp,
        channel, queue, wait_s, handle_s, abandoned, resolved_first_contact``.
    department_of : mapping queue -> department id, optional
        Department that owns each queue; unmapped queues keep their queue name as department id. Default: the
        queue is the department.
    threshold_s : float
        Service-level answer threshold in seconds (default 20).
    threads : int, optional
        DuckDB worker threads (default: DuckDB's choice, all cores).

    Returns
    -------
    pandas.DataFrame
        ``period, department, team (null), metric, value, volume`` with metrics ``service_level`` (share, volume
        = offered phone calls), ``abandon_rate`` (share, volume = offered phone calls), ``asa_s`` (seconds,
        volume = answered phone calls), ``aht_s`` (seconds, volume = handled contacts), ``fcr`` (share, volume =
        handled contacts), ``offered_volume`` (contacts, all channels). Rows whose volume is zero are omitted
        (e.g. no phone calls: service level is undefined, not 0).

    Raises
    ------
    DataValidationError
        Missing file or columns.
    InputValueError
        ``threshold_s`` negative.
    """
    import duckdb

    if not threshold_s >= 0:
        raise InputValueError(f"threshold_s must be >= 0 seconds, got {threshold_s}", argument="threshold_s")
    source, frame = _source(contacts)
    con = duckdb.connect()
    try:
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        if frame is not None:
            con.register("contacts_frame", frame)
        join, dept = "", "c.queue"
        if department_of:
            mapping = pd.DataFrame({"queue": list(department_of), "department": list(department_of.values())})
            con.register("queue_department", mapping)
            join, dept = (
                "LEFT JOIN queue_department AS q ON c.queue = q.queue",
                "coalesce(q.department, c.queue)",
            )
        try:
            wide = con.execute(contact_aggregation_sql(source, threshold_s, dept, join)).df()
        except duckdb.Error as exc:
            raise DataValidationError(f"could not aggregate contacts: {exc}", table="contacts") from exc
    finally:
        con.close()
    return _long(wide)
