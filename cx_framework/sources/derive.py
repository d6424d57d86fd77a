"""Interval reports from call records: ``intervals`` derived from call-level ``contacts`` inside the engine.

Per queue and interval of arrival (ACD convention: a call belongs to the interval in which it was offered —
Cleveland, *Call Center Management on Fast Forward*, 4th ed., 2019, ch. 4):

* ``offered`` = calls that arrived; ``abandoned`` = of them, calls whose caller hung up before an answer;
  ``answered`` = offered − abandoned (every contact that is not abandoned was handled);
* ``answered_within_threshold`` = answered calls with ``wait_s <= threshold_s``;
* ``aht_s`` = mean ``handle_s`` of the answered calls (null when none was answered);
* ``wait_s_total`` = total waiting time of all offered calls (answered and abandoned), seconds — the numerator
  of the patience estimate (:func:`cx_framework.sources.calibration.estimate_patience`);
* ``agents_staffed``: from agent login / state sessions when given (logged-in seconds overlapping the interval /
  interval length); otherwise **estimated** as the larger of the distinct agents who answered a call offered in
  the interval and the busy agents Σ handle_s / interval length, and flagged in ``agents_staffed_estimated``.
  The estimate is a lower bound: agents who were logged in but took no call are not seen in call records.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from cx_framework.errors import DataValidationError

if TYPE_CHECKING:
    import ibis

    from cx_framework.sources.config import SourcesConfig, TableSource

__all__ = ["intervals_from_contacts", "derive_intervals_from_source", "ESTIMATED_FLAG"]

#: Column of derived ``intervals`` that is True where ``agents_staffed`` was estimated from call records.
ESTIMATED_FLAG = "agents_staffed_estimated"


def _as_table(frame: Any, con: Any) -> ibis.Table:
    import ibis

    if isinstance(frame, pd.DataFrame):
        # the engine holds microseconds (as Spark does); nanosecond remainders are dropped, not an error
        stamps = [c for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c].dtype)]
        if stamps:
            frame = frame.assign(**{c: frame[c].dt.floor("us").astype("datetime64[us]") for c in stamps})
        return ibis.memtable(frame)
    return frame  # type: ignore[no-any-return]


def intervals_from_contacts(
    contacts: pd.DataFrame | ibis.Table,
    *,
    interval_minutes: int = 30,
    threshold_s: float = 20.0,
    channel: str = "phone",
    agent_sessions: pd.DataFrame | ibis.Table | None = None,
) -> pd.DataFrame:
    """Derive the ``intervals`` table from call-level ``contacts`` (aggregated in DuckDB, not in pandas).

    Parameters
    ----------
    contacts : pandas.DataFrame or ibis.Table
        Validated ``contacts`` (``timestamp`` = arrival / queue entry; ``wait_s``, ``handle_s`` seconds).
    interval_minutes : int
        Interval length in minutes (15, 30, 60 ...).
    threshold_s : float
        Service-level answer threshold in seconds, written to ``threshold_s``.
    channel : str
        Channel whose contacts are calls (default ``phone``); other channels are left out.
    agent_sessions : DataFrame or ibis.Table, optional
        ``agent_id, queue, start, end`` login / state sessions. Without it ``agents_staffed`` is estimated
        (see the module docstring) and ``agents_staffed_estimated`` is True.

    Returns
    -------
    pandas.DataFrame
        A valid ``intervals`` table (one row per queue and interval with at least one offered call) plus
        ``wait_s_total`` and ``agents_staffed_estimated``.

    Raises
    ------
    DataValidationError
        No contact of ``channel``.
    """
    import ibis

    from cx_framework.schemas import validate

    con = ibis.duckdb.connect()
    interval_s = 60.0 * interval_minutes
    t = _as_table(contacts, con)
    calls = t.filter(t.channel == channel)
    calls = calls.mutate(interval_start=calls.timestamp.bucket(minutes=interval_minutes))
    answered_call = ~calls.abandoned
    grouped = calls.group_by(["interval_start", "queue"]).agg(
        offered=calls.count(),
        abandoned=calls.abandoned.cast("int64").sum(),
        answered_within_threshold=(answered_call & (calls.wait_s <= threshold_s)).cast("int64").sum(),
        aht_s=calls.handle_s.mean(where=answered_call),
        handle_total=calls.handle_s.sum(where=answered_call),
        wait_s_total=calls.wait_s.sum(),
        handlers=calls.agent_id.nunique(where=answered_call),
    )
    grouped = grouped.mutate(answered=grouped.offered - grouped.abandoned)
    estimated = agent_sessions is None
    if agent_sessions is None:
        busy = grouped.handle_total.fill_null(0.0) / interval_s
        grouped = grouped.mutate(agents_staffed=ibis.greatest(grouped.handlers.cast("float64"), busy))
    else:
        s = _as_table(agent_sessions, con)
        grid = grouped.select("interval_start", "queue").mutate(
            interval_end=grouped.interval_start + ibis.interval(minutes=interval_minutes)
        )
        joined = grid.join(
            s,
            [grid.queue == s.queue, s.start < grid.interval_end, s.end > grid.interval_start],
        )
        overlap = ibis.least(joined.end, joined.interval_end).epoch_seconds().cast("float64") - ibis.greatest(
            joined.start, joined.interval_start
        ).epoch_seconds().cast("float64")
        staffed = joined.group_by(["interval_start", "queue"]).agg(
            agents_staffed=(overlap / interval_s).sum()
        )
        grouped = grouped.left_join(staffed, ["interval_start", "queue"]).select(
            grouped, agents_staffed=staffed.agents_staffed.fill_null(0.0)
        )
    out = grouped.select(
        "interval_start",
        "queue",
        "offered",
        "answered",
        "answered_within_threshold",
        "abandoned",
        "aht_s",
        "agents_staffed",
        threshold_s=ibis.literal(float(threshold_s)),
        wait_s_total="wait_s_total",
        **{ESTIMATED_FLAG: ibis.literal(estimated)},
    ).order_by(["interval_start", "queue"])
    frame = con.execute(out)
    if frame.empty:
        raise DataValidationError(
            f"No '{channel}' contacts to derive intervals from; check the contacts' channel mapping "
            f"(tables.contacts.columns.channel) or set tables.intervals.channel.",
            table="intervals",
        )
    frame["interval_start"] = frame["interval_start"].astype("datetime64[ns]")
    return validate("intervals", frame)


def derive_intervals_from_source(
    contacts: pd.DataFrame, source: TableSource, cfg: SourcesConfig
) -> tuple[pd.DataFrame, list[str]]:
    """``intervals`` for a ``derive: contacts`` table of a sources file (reads its agent sessions if any)."""
    sessions = None
    notes: list[str] = []
    if source.agent_sessions is not None:
        from cx_framework.sources.mapping import read_sessions

        sessions = read_sessions(source.agent_sessions, cfg)
        notes.append(f"agents_staffed from {len(sessions):,} agent sessions")
    else:
        notes.append(
            "agents_staffed is ESTIMATED from call records (max of distinct answering agents and busy agents "
            "= handle time / interval length); give agent_sessions for logged-in agents"
        )
    frame = intervals_from_contacts(
        contacts,
        interval_minutes=source.interval_minutes,
        threshold_s=source.threshold_s,
        channel=source.channel,
        agent_sessions=sessions,
    )
    return frame, notes
