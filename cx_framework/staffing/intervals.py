"""Interval tables: volume-weighted service level over any grouping, and required vs staffed agents.

Works on the ``intervals`` table of DESIGN.md (interval_start, queue, offered, answered,
answered_within_threshold, abandoned, aht_s, agents_staffed, threshold_s).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from cx_framework.errors import DataValidationError, InputValueError
from cx_framework.staffing._arrays import check_scalar
from cx_framework.staffing.erlang import _model_sl, agents_needed

__all__ = ["aggregate_service_level", "required_agents", "CALENDAR_KEYS"]

#: grouping keys derived from ``interval_start`` (week = ISO week starting Monday; each labelled by its start)
CALENDAR_KEYS = ("day", "week", "month")

Definition = Literal["offered", "answered", "excl_short_abandons"]


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], *, table: str, why: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        failures = pd.DataFrame(
            {"table": table, "column": missing, "check": "column_present", "row": None, "value": None}
        )
        raise DataValidationError(
            f"table '{table}' is missing column(s) {missing} needed {why}; present: {list(frame.columns)}.",
            failures=failures,
            table=table,
        )


def _validated(intervals: object, needed: Sequence[str]) -> pd.DataFrame:
    """Validate the ``intervals`` argument at the edge: the ``needed`` columns and every other contract column
    present (types, ranges, cross-column rules, keys) via :func:`cx_framework.schemas.validate`."""
    from cx_framework.schemas import column_kinds, validate

    present = set(intervals.columns) if isinstance(intervals, pd.DataFrame) else set()
    columns = [c for c in column_kinds("intervals") if c in present or c in needed]
    return validate("intervals", intervals, columns=columns, argument="intervals")  # type: ignore[arg-type]


def _check_counts(frame: pd.DataFrame, columns: Sequence[str], *, table: str) -> None:
    """Counts must be finite and >= 0, and answered_within_threshold <= answered <= offered when present."""
    rows = []
    for col in columns:
        values = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values) | (values < 0)
        for pos in np.flatnonzero(bad)[:50]:
            rows.append((table, col, "finite_and_non_negative", int(pos), frame[col].iloc[pos]))
    for small, big in (
        ("answered_within_threshold", "answered"),
        ("answered", "offered"),
        ("answered_within_threshold", "offered"),
    ):
        if small in frame.columns and big in frame.columns:
            bad = frame[small].to_numpy(dtype=float) > frame[big].to_numpy(dtype=float)
            for pos in np.flatnonzero(bad)[:50]:
                rows.append((table, small, f"<= {big}", int(pos), frame[small].iloc[pos]))
    if rows:
        failures = pd.DataFrame(rows, columns=["table", "column", "check", "row", "value"])
        first = failures.iloc[0]
        raise DataValidationError(
            f"table '{table}' has {len(failures)} invalid value(s); first: column '{first['column']}' row "
            f"{first['row']} = {first['value']!r} fails '{first['check']}'. Inspect error.failures for all.",
            failures=failures,
            table=table,
        )


def _group_keys(
    frame: pd.DataFrame, by: str | Sequence[str] | None, *, table: str
) -> tuple[pd.DataFrame, list[str]]:
    keys = [] if by is None else ([by] if isinstance(by, str) else list(by))
    out = frame.copy()
    for key in keys:
        if key in CALENDAR_KEYS and key not in frame.columns:
            _require_columns(frame, ["interval_start"], table=table, why=f"to group by '{key}'")
            start = pd.to_datetime(frame["interval_start"])
            if key == "day":
                out[key] = start.dt.floor("D")
            elif key == "week":
                out[key] = start.dt.to_period("W-SUN").dt.start_time
            else:
                out[key] = start.dt.to_period("M").dt.start_time
        else:
            _require_columns(frame, [key], table=table, why=f"to group by '{key}'")
    return out, keys


def aggregate_service_level(
    intervals: pd.DataFrame,
    by: str | Sequence[str] | None = None,
    *,
    definition: Definition = "offered",
    validate: bool = True,
) -> float | pd.DataFrame:
    """Volume-weighted service level over any grouping — never the mean of interval percentages.

    ``SL = sum(answered_within_threshold) / sum(denominator)`` over the intervals of each group, where the
    denominator depends on ``definition`` (the three common industry definitions; see e.g. ICMI, *Call Center
    Management on Fast Forward*, ch. 3, and COPC CX Standard, "service level"):

    * ``"offered"`` (default, DESIGN.md): offered calls — abandoned calls count against the service level.
    * ``"answered"``: answered calls only — abandons are ignored.
    * ``"excl_short_abandons"``: offered calls minus *short abandons* (callers who hung up within a few seconds,
      before they could reasonably be answered). The table must then carry an integer column
      ``short_abandons`` (count per interval, <= abandoned); the contract table has no such column, so it is
      optional and a clear :class:`DataValidationError` is raised when it is missing — it is never guessed.

    A group whose denominator is 0 (no calls) gets service level 1.0, matching the Erlang functions' convention
    that an interval without calls meets any target.

    Parameters
    ----------
    intervals : pandas.DataFrame
        ``intervals`` table; needs ``offered``, ``answered_within_threshold`` (+ ``answered`` or
        ``short_abandons`` for those definitions) and the grouping columns.
    by : str, sequence of str or None
        Column names and/or ``"day"``, ``"week"`` (Monday start), ``"month"`` derived from ``interval_start``;
        ``"queue"`` is an ordinary column. None aggregates the whole table to one number.
    definition : {"offered", "answered", "excl_short_abandons"}
        Denominator of the service level.
    validate : bool, default True
        Validate ``intervals`` against the data contract first (the columns used and any other contract column
        present); pass False only for a frame that :func:`cx_framework.schemas.validate` already checked.

    Returns
    -------
    float or pandas.DataFrame
        With ``by=None`` one float (share 0–1). Otherwise one row per group with the group keys,
        ``answered_within_threshold``, ``denominator`` (calls) and ``service_level`` (share 0–1).

    Raises
    ------
    DataValidationError
        Missing column (named), negative/NaN counts, or answered_within_threshold > answered/offered.
    InputValueError
        Unknown ``definition``.

    Examples
    --------
    Two intervals: 10 calls at 100 % and 90 calls at 50 %: the volume-weighted SL is (10 + 45) / 100 = 0.55,
    not the mean of percentages 0.75.

    >>> df = pd.DataFrame({"offered": [10, 90], "answered_within_threshold": [10, 45]})
    >>> aggregate_service_level(df)
    0.55
    """
    table = "intervals"
    if definition == "offered":
        denominator_cols = ["offered"]
    elif definition == "answered":
        denominator_cols = ["answered"]
    elif definition == "excl_short_abandons":
        denominator_cols = ["offered", "short_abandons"]
    else:
        raise InputValueError(
            f"argument 'definition' must be one of 'offered', 'answered', 'excl_short_abandons'; got {definition!r}.",
            argument="definition",
        )
    needed = ["answered_within_threshold", *denominator_cols]
    if validate:
        intervals = _validated(intervals, [c for c in needed if c != "short_abandons"])
    _require_columns(intervals, needed, table=table, why=f"for definition='{definition}'")
    _check_counts(intervals, needed, table=table)
    frame, keys = _group_keys(intervals, by, table=table)
    frame = frame.assign(
        denominator=(
            frame["offered"] - frame["short_abandons"]
            if definition == "excl_short_abandons"
            else frame[denominator_cols[0]]
        ).astype(float)
    )
    if definition == "excl_short_abandons":
        bad = (frame["denominator"] < frame["answered_within_threshold"]).to_numpy()
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            raise DataValidationError(
                f"table '{table}': column 'short_abandons' row {pos} leaves fewer calls than "
                "answered_within_threshold; short_abandons must count only abandoned calls.",
                failures=pd.DataFrame(
                    [(table, "short_abandons", "<= abandoned", pos, intervals["short_abandons"].iloc[pos])],
                    columns=["table", "column", "check", "row", "value"],
                ),
                table=table,
            )
    if not keys:
        num = float(frame["answered_within_threshold"].sum())
        den = float(frame["denominator"].sum())
        return num / den if den > 0 else 1.0
    grouped = (
        frame.groupby(keys, observed=True, sort=True)[["answered_within_threshold", "denominator"]]
        .sum()
        .reset_index()
    )
    den = grouped["denominator"].to_numpy(dtype=float)
    num = grouped["answered_within_threshold"].to_numpy(dtype=float)
    grouped["service_level"] = np.divide(num, den, out=np.ones_like(num), where=den > 0)
    return grouped


def required_agents(
    intervals: pd.DataFrame,
    target: float = 0.8,
    shrinkage: float = 0.3,
    answer_s: float | None = None,
    *,
    interval_s: float = 1800.0,
    patience_s: float | None = None,
    validate: bool = True,
) -> pd.DataFrame:
    """Required vs staffed agents per interval, from the Erlang C (or Erlang A) model.

    ``required_agents`` is the smallest number of agents on the phones reaching ``target`` for the interval's
    offered calls and AHT; ``required_rostered = required_agents / (1 - shrinkage)`` is the head count to schedule
    once breaks, training, absence etc. (shrinkage) are taken out. ``agents_staffed`` of the table is read as
    agents available on the phones and compared with ``required_agents``.

    Parameters
    ----------
    intervals : pandas.DataFrame
        ``intervals`` table with ``offered`` and ``aht_s`` (plus ``interval_start``, ``queue``,
        ``agents_staffed``, ``threshold_s``, ``answered_within_threshold`` when present). ``aht_s`` may be
        missing where nothing was answered: it is then filled with the queue's answer-weighted mean AHT
        (or the table's when the queue has none).
    target : float
        Service-level target (share in (0, 1)).
    shrinkage : float
        Share of paid time not available for calls (in [0, 1)).
    answer_s : float or None
        Answer-time threshold (seconds); None uses each row's ``threshold_s`` (default 20 when absent).
    interval_s : float
        Interval length (seconds).
    patience_s : float or None
        Mean caller patience (seconds) to use Erlang A; None for Erlang C.
    validate : bool, default True
        Validate ``intervals`` against the data contract first; False only for an already validated frame.

    Returns
    -------
    pandas.DataFrame
        Input key columns plus ``traffic_erlangs``, ``required_agents`` (int), ``required_rostered`` (float),
        and, when ``agents_staffed`` is present, ``staffing_gap`` (staffed − required, agents),
        ``modelled_service_level`` (model SL at the staffed level) and ``meets_target``; ``actual_service_level``
        (answered_within_threshold / offered, 1 when nothing was offered) when that column is present.
    """
    target = check_scalar("target", target, low=0.0, high=1.0)
    shrinkage = check_scalar("shrinkage", shrinkage, low=0.0, high=1.0, open_low=False)
    if answer_s is not None:
        answer_s = check_scalar("answer_s", answer_s, low=0.0, open_low=False)
    table = "intervals"
    if validate:
        intervals = _validated(intervals, ["offered", "aht_s"])
    _require_columns(intervals, ["offered", "aht_s"], table=table, why="to compute required agents")
    _check_counts(intervals, ["offered"], table=table)
    offered = intervals["offered"].to_numpy(dtype=float)
    aht = pd.to_numeric(intervals["aht_s"], errors="coerce").astype(float)
    aht = aht.where(aht > 0)
    if aht.isna().any():
        weights = intervals["answered"] if "answered" in intervals.columns else intervals["offered"]
        weighted = (aht * weights).fillna(0.0)
        w = weights.where(aht.notna(), 0.0)
        if "queue" in intervals.columns:
            q_mean = weighted.groupby(intervals["queue"]).transform("sum") / w.groupby(
                intervals["queue"]
            ).transform("sum")
            aht = aht.fillna(q_mean)
        if w.sum() > 0:
            aht = aht.fillna(float(weighted.sum() / w.sum()))
    still = aht.isna().to_numpy() & (offered > 0)
    if still.any():
        pos = int(np.flatnonzero(still)[0])
        raise DataValidationError(
            f"table '{table}': column 'aht_s' is missing or <= 0 at row {pos} with calls offered and no other "
            "interval to borrow an AHT from; provide aht_s.",
            failures=pd.DataFrame(
                [(table, "aht_s", "> 0 where offered > 0", pos, intervals["aht_s"].iloc[pos])],
                columns=["table", "column", "check", "row", "value"],
            ),
            table=table,
        )
    aht_arr = aht.fillna(1.0).to_numpy(dtype=float)  # any positive AHT works where nothing is offered
    if answer_s is None:
        thresholds = (
            pd.to_numeric(intervals["threshold_s"], errors="coerce").fillna(20.0).to_numpy(dtype=float)
            if "threshold_s" in intervals.columns
            else np.full(len(intervals), 20.0)
        )
    else:
        thresholds = np.full(len(intervals), answer_s)
    required = np.zeros(len(intervals), dtype=np.int64)
    # one vectorised call per distinct threshold (a handful), not per interval
    for threshold in np.unique(thresholds):
        rows = thresholds == threshold
        required[rows] = agents_needed(
            offered[rows],
            aht_arr[rows],
            target=target,
            answer_s=float(threshold),
            interval_s=interval_s,
            patience_s=patience_s,
        )
    keep = [c for c in ("interval_start", "queue", "offered") if c in intervals.columns]
    out = intervals[keep].copy()
    out["aht_s"] = aht_arr
    out["traffic_erlangs"] = offered * aht_arr / interval_s
    out["required_agents"] = required
    out["required_rostered"] = required / (1.0 - shrinkage)
    if "agents_staffed" in intervals.columns:
        _check_counts(intervals, ["agents_staffed"], table=table)
        staffed = intervals["agents_staffed"].to_numpy(dtype=float)
        out["agents_staffed"] = intervals["agents_staffed"].to_numpy()
        out["staffing_gap"] = staffed - required
        modelled = np.empty(len(intervals))
        for threshold in np.unique(thresholds):
            rows = thresholds == threshold
            patience = None if patience_s is None else np.full(rows.sum(), float(patience_s))
            modelled[rows] = _model_sl(
                offered[rows], aht_arr[rows], staffed[rows], patience, float(threshold), interval_s
            )
        out["modelled_service_level"] = modelled
        out["meets_target"] = modelled >= target
    if "answered_within_threshold" in intervals.columns:
        awt = intervals["answered_within_threshold"].to_numpy(dtype=float)
        out["actual_service_level"] = np.divide(awt, offered, out=np.ones_like(awt), where=offered > 0)
    return out.reset_index(drop=True)
