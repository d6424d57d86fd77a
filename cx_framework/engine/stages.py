"""Work items -> stage lead times in the engine, one (journey, stage) group at a time.

The gamma fit of :func:`cx_framework.conflicts.chain.fit_stage_distributions` needs n, Σx and Σlog x, but its
Kolmogorov–Smirnov check needs every lead time of the group. So the engine returns the groups (journey, stage, the
department most items were in, first file row) in one small query, then each group's lead times (hours, one float
column) in its own query: memory is bounded by the largest group, never the whole table.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cx_framework.engine.core import ROW_COLUMN, Engine
from cx_framework.engine.panel import _expr
from cx_framework.engine.validation import ValidatedTable

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = ["StageLeadTimes", "stage_lead_times"]


@dataclass(frozen=True)
class StageLeadTimes:
    """Completed items of the work-items table: the groups and a reader of each group's lead times."""

    groups: pd.DataFrame  # journey, stage, department (mode, ties -> smallest), n (lead time > 0)
    zero_lead_times: int
    _engine: Engine
    _items: object

    def hours(self, journey: str, stage: str) -> np.ndarray:
        """Lead times (hours, > 0) of one group, in file order."""
        t: ir.Table = self._items  # type: ignore[assignment]
        rows = t.filter((t.journey == journey) & (t.stage == stage))
        if ROW_COLUMN in rows.columns:
            rows = rows.order_by(ROW_COLUMN)
        out = self._engine.execute(rows.select("hours"))
        return out["hours"].to_numpy(dtype=np.float64)

    def __iter__(self) -> Iterator[tuple[str, str, str | None, np.ndarray]]:
        for row in self.groups.itertuples(index=False):
            yield str(row.journey), str(row.stage), row.department, self.hours(row.journey, row.stage)


def stage_lead_times(engine: Engine, work_items: ir.Table | ValidatedTable) -> StageLeadTimes:
    """Completed work items (``left_at`` set) with positive lead time, grouped by (journey, stage) in order of
    first appearance in the file; zero lead times are counted (the gamma log-likelihood is undefined at 0)."""
    import ibis

    w = _expr(work_items)
    done = w.filter(w.left_at.notnull())
    if engine.kind == "spark":
        # Spark casts a timestamp to fractional epoch seconds (and cannot extract microseconds)
        hours = (done.left_at.cast("float64") - done.entered_at.cast("float64")) / 3600.0
    else:
        # microsecond-exact: whole epoch seconds plus the difference of the microsecond parts
        seconds = done.left_at.epoch_seconds() - done.entered_at.epoch_seconds()
        frac = (done.left_at.microsecond() - done.entered_at.microsecond()).cast("float64") / 1e6
        hours = (seconds.cast("float64") + frac) / 3600.0
    items = done.select(
        journey=done.journey.cast("string"),
        stage=done.stage.cast("string"),
        department=done.department.cast("string"),
        hours=hours,
        **({ROW_COLUMN: done[ROW_COLUMN]} if ROW_COLUMN in done.columns else {}),
    )
    zero = int(
        engine.execute(items.aggregate(n=(items.hours <= 0).cast("int64").sum()))["n"].fillna(0).iloc[0]
    )
    positive = engine.cache(items.filter(items.hours > 0))
    first = positive[ROW_COLUMN].min() if ROW_COLUMN in positive.columns else ibis.literal(0)
    groups = engine.execute(
        positive.group_by(["journey", "stage"]).aggregate(n=positive.count(), first=first)
    )
    by_dept = engine.execute(
        positive.group_by(["journey", "stage", "department"]).aggregate(k=positive.count())
    )
    by_dept = by_dept.sort_values(
        ["journey", "stage", "k", "department"], ascending=[True, True, False, True]
    )
    mode = by_dept.drop_duplicates(["journey", "stage"]).set_index(["journey", "stage"])["department"]
    groups = groups.sort_values("first", kind="mergesort").reset_index(drop=True)
    keys = list(zip(groups["journey"], groups["stage"], strict=True))
    groups["department"] = [mode.get(k) for k in keys]
    groups["n"] = groups["n"].astype("int64")
    return StageLeadTimes(
        groups=groups[["journey", "stage", "department", "n"]],
        zero_lead_times=zero,
        _engine=engine,
        _items=positive,
    )
