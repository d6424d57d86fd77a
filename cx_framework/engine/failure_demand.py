"""Failure-demand classification and repeat chains of ``contacts`` in the engine, returned as small groups.

The rules are those of :func:`cx_framework.failure_demand.attribute_failure_demand` (module docstring there):
a contact is a *repeat* when the same customer's previous contact (order: timestamp, then file order) was not
resolved at first contact and happened at most ``repeat_window_days`` earlier; every repeat belongs to the chain
rooted at the customer's last non-repeat contact at or before it, and is attributed to the department of the
root's reason. In the engine that is one window pass (``lag``) for the repeat flag and one cumulative window
(``last non-null``) for the chain root — no self-join, no Python per row. Only the groups
``(period, channel, abandoned, reason, root_reason, demand_type, originating_department)`` with their contact
counts and handle-time sums come back, plus the longest chains (top N) for the report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from cx_framework.engine.core import ROW_COLUMN, Engine
from cx_framework.engine.panel import _expr, _window, month_index
from cx_framework.engine.validation import ValidatedTable

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = ["FailureDemandGroups", "GROUP_KEYS", "failure_demand_groups"]

# root key "position<SEP>reason<SEP>contact id": a unit separator cannot occur in a reason id (config keys)
_SEP = "\x1f"
_POSITION_DIGITS = 12  # up to 10^12 contacts per customer

#: Keys of :attr:`FailureDemandGroups.groups` (then ``contacts`` and ``handle_s``).
GROUP_KEYS = (
    "period",
    "channel",
    "abandoned",
    "reason",
    "root_reason",
    "demand_type",
    "originating_department",
)


@dataclass(frozen=True)
class FailureDemandGroups:
    """What the engine returns: grouped classification, the longest chains and the months covered.

    Attributes
    ----------
    groups : DataFrame
        :data:`GROUP_KEYS` + ``contacts`` (count) and ``handle_s`` (sum of handle seconds).
    top_chains : DataFrame
        ``root_contact_id, customer_id, root_reason, originating_department, repeats`` of the longest repeat
        chains (most repeats first, then root id).
    months_observed : int
        Calendar months with any contact.
    """

    groups: pd.DataFrame
    top_chains: pd.DataFrame
    months_observed: int


def failure_demand_groups(
    engine: Engine,
    contacts: ir.Table | ValidatedTable,
    reasons: Mapping[str, tuple[bool, str]],
    *,
    repeat_window_days: float,
    unclassified: str = "unclassified",
    top_chains: int = 10,
) -> FailureDemandGroups:
    """Classify every contact in the engine and return the groups (see the module docstring).

    Parameters
    ----------
    engine : Engine
    contacts : ibis Table or ValidatedTable
        Validated contacts (with :data:`ROW_COLUMN` for the file order of ties).
    reasons : mapping of reason -> (is_failure, originating_department)
        The reason map; reasons not in it are ``unclassified``.
    repeat_window_days : float
        Days after an unresolved contact within which the next contact is a repeat.
    unclassified : str
        Label of unknown reasons (demand type and department).
    top_chains : int
        How many of the longest chains to return.
    """
    import ibis

    c = _expr(contacts)
    order = [c.timestamp, c[ROW_COLUMN]] if ROW_COLUMN in c.columns else [c.timestamp]
    w = ibis.window(group_by=c.customer_id, order_by=order)
    prev_ts = c.timestamp.lag().over(w)
    prev_resolved = c.resolved_first_contact.lag().over(w)
    flagged = c.mutate(
        __repeat=ibis.coalesce(
            ~prev_resolved & (c.timestamp <= prev_ts + _window(repeat_window_days)), False
        ),
        __position=ibis.row_number().over(w),  # same window as the lag: computed in the same pass
    )
    # a chain's root is the customer's latest non-repeat contact at or before this one. Found in ONE cumulative
    # window (same partition and order as the lag above, so no second partitioning): the running max of
    # "position | reason | contact id" over the non-repeats — the position is zero-padded so that the string
    # order is the contact order. (ibis 12 renders ``last(include_null=False)`` without IGNORE NULLS, and a
    # first() over (customer, chain number) would need a third sort.)
    order2 = (
        [flagged.timestamp, flagged[ROW_COLUMN]] if ROW_COLUMN in flagged.columns else [flagged.timestamp]
    )
    cw = ibis.cumulative_window(group_by=flagged.customer_id, order_by=order2)
    position = flagged.__position.cast("string").lpad(_POSITION_DIGITS, "0")
    key = ibis.ifelse(
        flagged.__repeat,
        ibis.null().cast("string"),
        position.concat(_SEP, flagged.reason.cast("string"), _SEP, flagged.contact_id.cast("string")),
    )
    keyed = flagged.mutate(__root=key.max().over(cw))
    parts = keyed.__root.split(_SEP)
    rooted = keyed.mutate(root_reason=parts[1], root_contact_id=parts[2])

    # the reason map is small: CASE expressions instead of a join with an in-memory table (Spark does not
    # register in-memory tables inside cached expressions)
    def lookup(column: ir.StringValue, value: Mapping[str, object], dtype: str) -> ir.Value:
        if not value:
            return ibis.null().cast(dtype)
        return ibis.cases(*((column == k, v) for k, v in value.items()), else_=ibis.null().cast(dtype))

    failure_of = {str(k): bool(v[0]) for k, v in reasons.items()}
    department_of = {str(k): str(v[1]) for k, v in reasons.items()}
    j = rooted
    reason = j.reason.cast("string")
    own_department = lookup(reason, department_of, "string")
    is_failure = lookup(reason, failure_of, "boolean")
    root_department = lookup(j.root_reason, department_of, "string")
    known = own_department.notnull()
    demand_type = ibis.cases(
        (j.__repeat, "repeat"),
        (known & ibis.coalesce(is_failure, False), "failure"),
        (known, "value"),
        else_=unclassified,
    )
    own = ibis.coalesce(own_department, unclassified)
    originating = ibis.ifelse(j.__repeat, ibis.coalesce(root_department, unclassified), own)
    # not materialised: one row per contact would be the size of the table; the groups and the longest chains are
    # two streaming queries over the same expression instead
    classified = j.select(
        period=month_index(j.timestamp),
        channel=j.channel.cast("string"),
        abandoned=j.abandoned,
        reason=j.reason.cast("string"),
        root_reason=j.root_reason,
        demand_type=demand_type,
        originating_department=originating,
        handle_s=j.handle_s.cast("float64"),
        customer_id=j.customer_id.cast("string"),
        root_contact_id=j.root_contact_id,
        repeat=j.__repeat,
    )
    # the groups and the longest chains both read the classification: computed (two sorts) and stored once
    classified = engine.cache(classified)
    try:
        keys = list(GROUP_KEYS)
        groups = engine.execute(
            classified.group_by(keys).aggregate(
                contacts=classified.count(), handle_s=classified.handle_s.sum()
            )
        )
        groups["period"] = pd.to_datetime(
            groups["period"].astype("int64").to_numpy().astype("datetime64[M]")
        ).astype("datetime64[ns]")
        groups["contacts"] = groups["contacts"].astype("int64")
        groups["abandoned"] = groups["abandoned"].astype(bool)
        groups = groups.sort_values(keys, kind="mergesort").reset_index(drop=True)
        months = int(groups["period"].nunique())  # every contact is in a group
        reps = classified.filter(classified.repeat)
        chains = (
            reps.group_by("root_contact_id")
            .aggregate(
                customer_id=reps.customer_id.first(),
                root_reason=reps.root_reason.first(),
                originating_department=reps.originating_department.first(),
                repeats=reps.count(),
            )
            .order_by([ibis.desc("repeats"), "root_contact_id"])
            .limit(int(top_chains))
        )
        top = engine.execute(chains).reset_index(drop=True)
        top["repeats"] = top["repeats"].astype("int64")
    finally:
        engine.release(classified)
    return FailureDemandGroups(groups=groups, top_chains=top, months_observed=months)
