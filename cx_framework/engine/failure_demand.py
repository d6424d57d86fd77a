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

import numpy as np
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
    if ROW_COLUMN not in c.columns:
        return _failure_demand_groups_text(
            engine,
            c,
            reasons,
            repeat_window_days=repeat_window_days,
            unclassified=unclassified,
            top_chains=top_chains,
        )
    # the reasons in the data (a small aggregate) give each a code; the largest row number bounds the rows
    seen = engine.execute(c.group_by(reason=c.reason.cast("string")).aggregate(__last=c[ROW_COLUMN].max()))
    if not len(seen):  # no contacts: nothing to classify
        return _failure_demand_groups_text(
            engine,
            c,
            reasons,
            repeat_window_days=repeat_window_days,
            unclassified=unclassified,
            top_chains=top_chains,
        )
    codes = sorted(str(r) for r in seen["reason"] if r is not None and r == r)
    has_null = len(codes) < len(seen)
    n_codes = len(codes) + int(has_null)
    n_rows = int(seen["__last"].max()) + 1
    if n_rows * n_rows * n_codes >= 2**62:  # the integer root key would overflow: the text key instead
        return _failure_demand_groups_text(
            engine,
            c,
            reasons,
            repeat_window_days=repeat_window_days,
            unclassified=unclassified,
            top_chains=top_chains,
        )
    reason = c.reason.cast("string")
    code = ibis.cases(
        *((reason == r, i) for i, r in enumerate(codes)),
        else_=len(codes),  # the null reason (if any)
    ).cast("int64")
    order = [c.timestamp, c[ROW_COLUMN]]
    w = ibis.window(group_by=c.customer_id, order_by=order)
    prev_ts = c.timestamp.lag().over(w)
    prev_resolved = c.resolved_first_contact.lag().over(w)
    flagged = c.select(
        timestamp=c.timestamp,
        channel=c.channel.cast("string"),
        abandoned=c.abandoned,
        reason=reason,
        handle_s=c.handle_s.cast("float64"),
        customer_id=c.customer_id,
        __row=c[ROW_COLUMN].cast("int64"),
        __code=code,
        __repeat=ibis.coalesce(
            ~prev_resolved & (c.timestamp <= prev_ts + _window(repeat_window_days)), False
        ),
        __position=ibis.row_number().over(w).cast("int64"),  # same window as the lag: the same pass
    )
    # a chain's root is the customer's latest non-repeat contact at or before this one: the running max (one
    # cumulative window ordered by the position just computed) of the integer key position | row | reason code
    # over the non-repeats. The position dominates the key, so the max is the latest non-repeat; the file row
    # and the reason code of that root are read back from the key (integers: no text built per contact).
    per_position = n_rows * n_codes
    key = ibis.ifelse(
        flagged.__repeat,
        ibis.null().cast("int64"),
        flagged.__position * per_position + flagged.__row * n_codes + flagged.__code,
    )
    cw = ibis.cumulative_window(group_by=flagged.customer_id, order_by=flagged.__position)
    keyed = flagged.mutate(__root=key.max().over(cw))
    root_code = keyed.__root % n_codes
    chain = ibis.ifelse(keyed.__repeat, (keyed.__root // n_codes) % n_rows, ibis.null().cast("int64"))
    # one aggregate over the classified contacts, kept in the engine: the non-repeats collapse to a few groups,
    # the repeats to their chains; the groups and the longest chains are both read from it
    fine = keyed.group_by(
        period=month_index(keyed.timestamp),
        channel=keyed.channel,
        abandoned=keyed.abandoned,
        reason=keyed.reason,
        repeat=keyed.__repeat,
        root_code=root_code.cast("int64"),
        chain=chain.cast("int64"),
    ).aggregate(contacts=keyed.count(), handle_s=keyed.handle_s.sum())
    fine = engine.cache(fine)
    try:
        base = ["period", "channel", "abandoned", "reason", "repeat", "root_code"]
        grouped = engine.execute(
            fine.group_by(base).aggregate(contacts=fine.contacts.sum(), handle_s=fine.handle_s.sum())
        )
        reps = fine.filter(fine.repeat)
        per_chain = reps.group_by("chain").aggregate(
            repeats=reps.contacts.sum(), root_code=reps.root_code.max()
        )
        longest = engine.execute(per_chain.order_by(ibis.desc("repeats")).limit(int(top_chains)))
        if len(longest):
            # every chain as long as the shortest of the longest: the ties are broken by the root's contact id
            least = int(longest["repeats"].min())
            candidates = per_chain.filter(per_chain.repeats >= least)
            roots = c.select(
                __row=c[ROW_COLUMN].cast("int64"),
                root_contact_id=c.contact_id.cast("string"),
                customer_id=c.customer_id.cast("string"),
            )
            joined = candidates.join(roots, candidates.chain == roots.__row)
            top = engine.execute(
                joined.select("root_contact_id", "customer_id", "root_code", "repeats")
                .order_by([ibis.desc("repeats"), "root_contact_id"])
                .limit(int(top_chains))
            )
        else:
            top = pd.DataFrame({"root_contact_id": [], "customer_id": [], "root_code": [], "repeats": []})
    finally:
        engine.release(fine)

    labels = np.array([*codes, None], dtype=object)
    department_of = {str(k): str(v[1]) for k, v in reasons.items()}
    failure_of = {str(k): bool(v[0]) for k, v in reasons.items()}

    def department(values: pd.Series) -> pd.Series:
        return values.map(lambda r: department_of.get(r, unclassified) if r is not None else unclassified)

    grouped["root_reason"] = labels[grouped["root_code"].astype("int64").to_numpy()]
    repeat = grouped["repeat"].astype(bool).to_numpy()
    reason_text = grouped["reason"].astype(object).where(grouped["reason"].notna(), None)
    known = reason_text.map(lambda r: r is not None and r in department_of).to_numpy(dtype=bool)
    failure = reason_text.map(lambda r: r is not None and failure_of.get(r, False)).to_numpy(dtype=bool)
    grouped["demand_type"] = np.where(
        repeat, "repeat", np.where(known & failure, "failure", np.where(known, "value", unclassified))
    ).astype(object)
    grouped["originating_department"] = np.where(
        repeat, department(grouped["root_reason"]), department(reason_text)
    ).astype(object)
    keys = list(GROUP_KEYS)
    groups = grouped[[*keys, "contacts", "handle_s"]].copy()
    groups["period"] = pd.to_datetime(
        groups["period"].astype("int64").to_numpy().astype("datetime64[M]")
    ).astype("datetime64[ns]")
    groups["contacts"] = groups["contacts"].astype("int64")
    groups["abandoned"] = groups["abandoned"].astype(bool)
    groups["handle_s"] = groups["handle_s"].astype("float64")
    groups = groups.sort_values(keys, kind="mergesort").reset_index(drop=True)
    months = int(groups["period"].nunique())  # every contact is in a group

    top = top.reset_index(drop=True)
    root_reason = pd.Series(labels[top["root_code"].astype("int64").to_numpy()], dtype=object)
    chains = pd.DataFrame(
        {
            "root_contact_id": top["root_contact_id"].astype(object).to_numpy(),
            "customer_id": top["customer_id"].astype(object).to_numpy(),
            "root_reason": root_reason.to_numpy(),
            "originating_department": department(root_reason).to_numpy(),
            "repeats": top["repeats"].astype("int64").to_numpy(),
        }
    )
    return FailureDemandGroups(groups=groups, top_chains=chains, months_observed=months)


def _failure_demand_groups_text(
    engine: Engine,
    contacts: ir.Table | ValidatedTable,
    reasons: Mapping[str, tuple[bool, str]],
    *,
    repeat_window_days: float,
    unclassified: str = "unclassified",
    top_chains: int = 10,
) -> FailureDemandGroups:
    """:func:`failure_demand_groups` with a text root key (position | reason | contact id): for tables without
    :data:`ROW_COLUMN` or too many rows for the integer key.

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
