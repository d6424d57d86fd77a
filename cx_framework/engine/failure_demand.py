"""Failure-demand classification and repeat chains of ``contacts`` in the engine, returned as small groups.

The rules are those of :func:`cx_framework.failure_demand.attribute_failure_demand` (module docstring there):
a contact is a *repeat* when the same customer's previous contact (order: timestamp, then file order) was not
resolved at first contact and happened at most ``repeat_window_days`` earlier; every repeat belongs to the chain
rooted at the customer's last non-repeat contact at or before it, and is attributed to the department of the
root's reason. In the engine that is one window pass (``lag``) for the repeat flag and one cumulative window
(running max of a *root key* over the non-repeats) for the chain root — no self-join, no Python per row. Only the
groups ``(period, channel, abandoned, reason, root_reason, demand_type, originating_department)`` with their
contact counts and handle-time sums come back, plus the longest chains (top N) for the report.

The root key is an integer ``position | file row | reason code`` (:class:`_Codes`: reasons and channels travel
through the sorts as small integer codes, labels are put back on the few groups); a table without file rows, or
with too many rows for 63 bits, uses the text key ``position | reason | contact id`` instead — the same window
steps (:func:`_classify`) and the same grouping (:func:`_groups_from_fine`) either way.
:func:`cx_framework.engine.contact_pass.contact_pass` runs the same steps inside the customer panel's window
pass, so a full report sorts the contacts once for both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cx_framework.engine.core import ROW_COLUMN, Engine
from cx_framework.engine.panel import _expr, _window, month_index
from cx_framework.engine.validation import ValidatedTable

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from cx_framework.engine.contact_pass import ContactPass

__all__ = ["FailureDemandGroups", "GROUP_KEYS", "failure_demand_groups"]

# text root key "position<SEP>reason<SEP>contact id": a unit separator cannot occur in a reason id (config keys)
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

#: Columns of the fine aggregate (:func:`_fine_aggregate`) before ``contacts`` and ``handle_s``.
_FINE_KEYS = ("period", "channel", "abandoned", "reason", "repeat", "root", "chain")


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


@dataclass(frozen=True)
class _Codes:
    """Integer codes of the reasons and channels in the data (code ``len(labels)`` = null) and the row count,
    for the integer root key ``position * n_rows * n_codes + file row * n_codes + reason code``."""

    reasons: tuple[str, ...]
    channels: tuple[str, ...]
    n_rows: int

    @property
    def n_codes(self) -> int:
        return len(self.reasons) + 1

    def reason_labels(self) -> np.ndarray:
        return np.array([*self.reasons, None], dtype=object)

    def channel_labels(self) -> np.ndarray:
        return np.array([*self.channels, None], dtype=object)


def _codes(engine: Engine, c: ir.Table) -> _Codes | None:
    """The codes of ``c`` (one small aggregate over the contacts), or None when the integer key cannot be used:
    no file rows, no contacts, or too many rows for 63 bits."""
    if ROW_COLUMN not in c.columns:
        return None
    seen = engine.execute(
        c.group_by(reason=c.reason.cast("string"), channel=c.channel.cast("string")).aggregate(
            __last=c[ROW_COLUMN].max()
        )
    )
    if not len(seen):
        return None

    def labels(values: pd.Series) -> tuple[str, ...]:
        return tuple(sorted({str(v) for v in values if v is not None and v == v}))

    codes = _Codes(labels(seen["reason"]), labels(seen["channel"]), int(seen["__last"].max()) + 1)
    if codes.n_rows * codes.n_rows * codes.n_codes >= 2**62:
        return None
    return codes


def _code(column: Any, labels: tuple[str, ...]) -> Any:
    """Small integer code of a text column (``len(labels)`` for null or unknown)."""
    import ibis

    text = column.cast("string")
    if not labels:
        return ibis.literal(0, type="int8")
    return ibis.cases(*((text == v, i) for i, v in enumerate(labels)), else_=len(labels)).cast("int8")


def encode_contacts(c: ir.Table, codes: _Codes) -> dict[str, Any]:
    """The narrow columns the integer-key classification reads (pass them through a ``select``)."""
    return {
        "timestamp": c.timestamp,
        ROW_COLUMN: c[ROW_COLUMN].cast("int64"),
        "resolved_first_contact": c.resolved_first_contact,
        "abandoned": c.abandoned,
        "handle_s": c.handle_s.cast("float64"),
        "__code": _code(c.reason, codes.reasons),
        "__chan": _code(c.channel, codes.channels),
    }


def _classify(
    c: ir.Table,
    partition: str,
    *,
    repeat_window_days: float,
    root_key: Callable[[ir.Table], Any],
    extra: Callable[[ir.Table, Any, Any], dict[str, Any]] | None = None,
) -> ir.Table:
    """The repeat flag and the chain root of every contact of ``c`` (narrow: every column passes both sorts).

    One window over ``partition`` ordered by (timestamp, file row) gives ``__repeat`` and ``__position`` (and
    the ``extra`` columns, ``extra(c, window, previous timestamp)``, computed in the same pass); a cumulative
    window ordered by the position gives ``__root``, the running max of ``root_key`` over the non-repeats. The
    position dominates the key, so the max is the customer's latest non-repeat at or before the contact.
    """
    import ibis

    order = [c.timestamp, c[ROW_COLUMN]] if ROW_COLUMN in c.columns else [c.timestamp]
    w = ibis.window(group_by=c[partition], order_by=order)
    prev_ts = c.timestamp.lag().over(w)
    prev_resolved = c.resolved_first_contact.lag().over(w)
    flagged = c.mutate(
        __repeat=ibis.coalesce(
            ~prev_resolved & (c.timestamp <= prev_ts + _window(repeat_window_days)), False
        ),
        __position=ibis.row_number().over(w).cast("int64"),  # same window as the lag: the same pass
        **(extra(c, w, prev_ts) if extra is not None else {}),
    )
    key = ibis.ifelse(flagged.__repeat, ibis.null().cast(root_key(flagged).type()), root_key(flagged))
    cw = ibis.cumulative_window(group_by=flagged[partition], order_by=flagged.__position)
    return flagged.mutate(__root=key.max().over(cw))


def integer_root_key(codes: _Codes) -> Callable[[ir.Table], Any]:
    """position | file row | reason code as one int64 (integers through the sorts, no text per contact)."""
    per_position = codes.n_rows * codes.n_codes

    def key(t: ir.Table) -> Any:
        return t.__position * per_position + t[ROW_COLUMN] * codes.n_codes + t.__code.cast("int64")

    return key


def _text_root_key(t: ir.Table) -> Any:
    # zero-padded position first, so that the string order is the contact order
    position = t.__position.cast("string").lpad(_POSITION_DIGITS, "0")
    return position.concat(_SEP, t.reason.cast("string"), _SEP, t.contact_id.cast("string"))


def fine_columns(keyed: ir.Table, codes: _Codes | None) -> dict[str, Any]:
    """Group keys of the fine aggregate: :data:`_FINE_KEYS` (reasons and channels as codes with the integer key,
    as text with the text key; ``root`` = the chain root's reason, ``chain`` = its file row / contact id)."""
    import ibis

    if codes is None:
        parts = keyed.__root.split(_SEP)
        return {
            "period": month_index(keyed.timestamp),
            "channel": keyed.channel.cast("string"),
            "abandoned": keyed.abandoned,
            "reason": keyed.reason.cast("string"),
            "repeat": keyed.__repeat,
            "root": parts[1],
            "chain": ibis.ifelse(keyed.__repeat, parts[2], ibis.null().cast("string")),
        }
    n_codes, n_rows = codes.n_codes, codes.n_rows
    return {
        "period": month_index(keyed.timestamp),
        "channel": keyed.__chan,
        "abandoned": keyed.abandoned,
        "reason": keyed.__code,
        "repeat": keyed.__repeat,
        "root": (keyed.__root % n_codes).cast("int8"),
        "chain": ibis.ifelse(
            keyed.__repeat, (keyed.__root // n_codes) % n_rows, ibis.null().cast("int64")
        ).cast("int64"),
    }


def failure_demand_groups(
    engine: Engine,
    contacts: ir.Table | ValidatedTable,
    reasons: Mapping[str, tuple[bool, str]],
    *,
    repeat_window_days: float,
    unclassified: str = "unclassified",
    top_chains: int = 10,
    shared: ContactPass | None = None,
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
    shared : ContactPass, optional
        The contact pass of the customer panel (:func:`cx_framework.engine.contact_pass.contact_pass`): its
        classification is used when it was made for the same contacts and ``repeat_window_days`` and every
        contact's customer is known; otherwise the contacts are classified here.
    """
    c = _expr(contacts)
    fine_codes = (
        shared.failure_demand_fine(repeat_window_days)
        if shared is not None and shared.failure_demand_for(c)
        else None
    )
    if fine_codes is not None:
        return _groups_from_fine(
            engine,
            fine_codes[0],
            c,
            fine_codes[1],
            reasons,
            unclassified=unclassified,
            top_chains=top_chains,
            release=False,
        )
    codes = _codes(engine, c)
    if codes is None:
        narrow = c
        key: Callable[[ir.Table], Any] = _text_root_key
    else:
        narrow = c.select(customer_id=c.customer_id, **encode_contacts(c, codes))
        key = integer_root_key(codes)
    keyed = _classify(narrow, "customer_id", repeat_window_days=repeat_window_days, root_key=key)
    # one aggregate over the classified contacts, kept in the engine: the non-repeats collapse to a few groups,
    # the repeats to their chains; the groups and the longest chains are both read from it
    fine = keyed.group_by(**fine_columns(keyed, codes)).aggregate(
        contacts=keyed.count(), handle_s=keyed.handle_s.sum()
    )
    return _groups_from_fine(
        engine,
        engine.cache(fine),
        c,
        codes,
        reasons,
        unclassified=unclassified,
        top_chains=top_chains,
        release=True,
    )


def _groups_from_fine(
    engine: Engine,
    fine: ir.Table,
    c: ir.Table,
    codes: _Codes | None,
    reasons: Mapping[str, tuple[bool, str]],
    *,
    unclassified: str,
    top_chains: int,
    release: bool,
) -> FailureDemandGroups:
    """The groups and the longest chains from the cached fine aggregate (columns :data:`_FINE_KEYS`,
    ``contacts``, ``handle_s``); demand type and originating department are derived on the few groups."""
    import ibis

    try:
        base = ["period", "channel", "abandoned", "reason", "repeat", "root"]
        grouped = engine.execute(
            fine.group_by(base).aggregate(contacts=fine.contacts.sum(), handle_s=fine.handle_s.sum())
        )
        reps = fine.filter(fine.repeat)
        per_chain = reps.group_by("chain").aggregate(repeats=reps.contacts.sum(), root=reps.root.max())
        longest = engine.execute(per_chain.order_by(ibis.desc("repeats")).limit(int(top_chains)))
        if len(longest):
            # every chain as long as the shortest of the longest: the ties are broken by the root's contact id
            least = int(longest["repeats"].min())
            candidates = per_chain.filter(per_chain.repeats >= least)
            chain_of = c[ROW_COLUMN].cast("int64") if codes is not None else c.contact_id.cast("string")
            roots = c.select(
                __chain=chain_of,
                root_contact_id=c.contact_id.cast("string"),
                customer_id=c.customer_id.cast("string"),
            )
            joined = candidates.join(roots, candidates.chain == roots.__chain)
            top = engine.execute(
                joined.select("root_contact_id", "customer_id", "root", "repeats")
                .order_by([ibis.desc("repeats"), "root_contact_id"])
                .limit(int(top_chains))
            )
        else:
            top = pd.DataFrame({"root_contact_id": [], "customer_id": [], "root": [], "repeats": []})
    finally:
        if release:
            engine.release(fine)

    def label(values: pd.Series, labels: np.ndarray | None) -> pd.Series:
        if labels is None:  # text key: the labels themselves
            return values.astype(object).where(values.notna(), None)
        return pd.Series(labels[values.astype("int64").to_numpy()], index=values.index, dtype=object)

    reason_labels = None if codes is None else codes.reason_labels()
    channel_labels = None if codes is None else codes.channel_labels()
    department_of = {str(k): str(v[1]) for k, v in reasons.items()}
    failure_of = {str(k): bool(v[0]) for k, v in reasons.items()}

    def department(values: pd.Series) -> pd.Series:
        return values.map(lambda r: department_of.get(r, unclassified) if r is not None else unclassified)

    grouped["reason"] = label(grouped["reason"], reason_labels)
    grouped["channel"] = label(grouped["channel"], channel_labels)
    grouped["root_reason"] = label(grouped["root"], reason_labels)
    repeat = grouped["repeat"].astype(bool).to_numpy()
    reason_text = grouped["reason"]
    known = reason_text.map(lambda r: r is not None and r in department_of).to_numpy(dtype=bool)
    failure = reason_text.map(lambda r: r is not None and failure_of.get(r, False)).to_numpy(dtype=bool)
    grouped["demand_type"] = np.where(
        repeat, "repeat", np.where(known & failure, "failure", np.where(known, "value", unclassified))
    ).astype(object)
    grouped["originating_department"] = np.where(
        repeat, department(grouped["root_reason"]), department(reason_text)
    ).astype(object)
    keys = list(GROUP_KEYS)
    # one row per group already: a non-repeat's root is itself, a repeat's demand type is "repeat"
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
    root_reason = label(top["root"], reason_labels).reset_index(drop=True)
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
