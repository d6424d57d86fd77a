"""Failure demand: which contacts are caused by someone else's failure, what they cost, and fix vs absorb.

*Failure demand* is "demand caused by a failure to do something or do something right for the customer"; *value
demand* is what the customer actually wants from the organisation (J. Seddon, *Freedom from Command and Control*,
2003, ch. 2). The reason map (``configs/failure_demand.yaml``) says, per contact reason, whether it is failure demand
and which department's failure causes it (for value demand: the department that serves it).

Two public functions:

* :func:`attribute_failure_demand` classifies every contact as ``value``, ``failure``, ``repeat`` or
  ``unclassified``, attributes it to an originating department, costs it and builds the per-department Pareto,
  the per-period summary and the charge-back table.
* :func:`fix_vs_absorb` compares, month by month, the discounted cash flows of removing a failure source (a
  department or a single reason, e.g. redesigning a confusing bill) with keeping on absorbing its calls.

Repeat-contact chains
---------------------
A contact is a *repeat* when the same customer's immediately preceding contact was not resolved at first contact
(``resolved_first_contact`` is False, which includes abandoned calls) and happened at most ``repeat_window_days``
days earlier (default 7; the usual first-contact-resolution window, e.g. SQM Group's FCR definition). Repeats
chain: A (unresolved) → B (unresolved, 3 days later) → C (5 days after B) makes B and C repeats, and the window is
measured from the previous link, so a chain can span more than the window in total (contacts of one customer
with the same timestamp keep their input order). **Every repeat in a chain is
attributed to the chain's root** — the first contact of the chain — and its originating department (the department
of the root's reason): the department whose failure started the customer's chase owns all of its follow-ups. A
repeat is failure demand whatever its own reason (the customer had to come back), so the repeat rule takes
precedence over the reason map; its own reason is kept in ``reason`` and the root's in ``root_reason``.

Unknown reasons
---------------
A contact whose reason is missing from the reason map gets ``demand_type = "unclassified"`` and
``originating_department = "unclassified"``; it is never dropped. Every unknown reason is listed with its contact
count in :attr:`FailureDemandResult.unclassified_reasons` and a :class:`~cx_framework.errors.StatisticalWarning`
names them. A repeat whose chain root has an unknown reason is a ``repeat`` attributed to ``"unclassified"``.

Cost of a contact
-----------------
``cost_basis="per_contact"`` (default) uses ``economics.cost_per_contact[channel]`` (currency per handled contact)
and falls back to handle time for channels missing from that map; ``cost_basis="handle_time"`` uses
``economics.cost_per_agent_hour × handle_s / 3600``. Abandoned contacts cost nothing (no agent time was spent).
The handle-time cost is the direct labour cost of the talk/after-call time only — it does not load shrinkage or
idle time, so it is a lower bound on the true cost.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from cx_framework.config.models import Economics, FailureDemand
from cx_framework.errors import DataValidationError, InputValueError, StatisticalWarning

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from cx_framework.config.loader import CxConfig
    from cx_framework.figures import Figure

__all__ = [
    "DEMAND_TYPES",
    "UNCLASSIFIED",
    "FailureDemandResult",
    "FixVsAbsorbResult",
    "attribute_failure_demand",
    "failure_demand_from_groups",
    "fix_vs_absorb",
    "monthly_discount_rate",
]

#: The four demand types a contact can get, in display order.
DEMAND_TYPES: tuple[str, ...] = ("value", "failure", "repeat", "unclassified")
#: Label used as originating department (and demand type) for contacts whose reason is not in the reason map.
UNCLASSIFIED = "unclassified"
_FAILURE_TYPES = ("failure", "repeat")


# ----------------------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class FailureDemandResult:
    """Failure-demand attribution of a contacts table.

    Attributes
    ----------
    classification : pandas.DataFrame or None
        None when the contacts were classified in an engine (:func:`failure_demand_from_groups`); else one row
        per contact, in input order: ``contact_id, customer_id, timestamp, period, channel, reason,
        demand_type`` (value | failure | repeat | unclassified), ``originating_department``, ``root_contact_id``
        and ``root_reason`` (the chain root for repeats, the contact itself otherwise), ``handle_s`` (seconds),
        ``cost`` (currency; NaN without economics).
    summary : pandas.DataFrame
        Per ``period, originating_department, demand_type``: ``contacts``, ``share_of_contacts`` (share 0–1 of all
        contacts in the period), ``handle_hours``, ``cost``.
    by_department : pandas.DataFrame
        Pareto table over all periods, one row per originating department sorted by failure demand (descending):
        ``value, failure, repeat, unclassified`` (contact counts), ``failure_demand`` (failure + repeat),
        ``failure_share`` (direct failure contacts / all contacts), ``failure_demand_share`` ((failure + repeat) /
        all contacts), ``reason_failure`` and ``reason_failure_share`` (contacts whose *own* reason is failure
        demand caused by the department, repeats included, and their share of all contacts — the reason-only
        view a reason-coded report gives, without chain attribution), ``failure_handle_hours``,
        ``failure_cost``, ``cumulative_share`` (of all failure demand).
    charge_back : pandas.DataFrame
        What each department pays for the failure demand it causes: ``department, failure_contacts,
        repeat_contacts, contacts, handle_hours, charge`` (currency), ``share_of_charge`` (0–1); sorted by charge.
        Failure demand a department causes itself is listed too (an internal charge).
    charge_back_by_period : pandas.DataFrame
        The same per ``period, department``.
    unclassified_reasons : pandas.DataFrame
        ``reason, contacts`` for every reason missing from the reason map (empty when all are known).
    totals : dict[str, float]
        ``contacts, value, failure, repeat, unclassified, failure_demand, failure_demand_share, handle_hours,
        failure_handle_hours, cost, failure_cost``.
    repeat_window_days : float
        Window used for repeat chains (days).
    period : str
        pandas period alias of the summary (``"M"`` = calendar month, periods are month starts).
    currency : str
        Currency of every cost column.
    """

    classification: pd.DataFrame | None
    summary: pd.DataFrame
    by_department: pd.DataFrame
    charge_back: pd.DataFrame
    charge_back_by_period: pd.DataFrame
    unclassified_reasons: pd.DataFrame
    totals: dict[str, float]
    repeat_window_days: float
    period: str
    currency: str = "GBP"
    #: grouped classification (``period, channel, abandoned, reason, root_reason, demand_type,
    #: originating_department`` -> ``contacts, handle_s, cost``): every table above is computed from it
    groups: pd.DataFrame | None = None
    n_months: int | None = None
    #: the longest repeat chains (``root_contact_id, customer_id, root_reason, originating_department, repeats``)
    top_chains: pd.DataFrame | None = None

    @cached_property
    def months_observed(self) -> int:
        """Calendar months the contacts span (months with any contact, not only failure demand); computed once."""
        if self.n_months is not None or self.classification is None:
            return int(self.n_months or 0)
        return int(self.classification["timestamp"].dt.to_period("M").nunique())

    def failure_groups(self, source: str) -> pd.DataFrame:
        """The groups (:attr:`groups`: ``contacts``, ``handle_s``, ``cost`` per classification key) of the failure
        demand ``source`` causes: an originating department, else a reason (its direct contacts plus the repeats
        of chains rooted in it). Works with or without a row-level :attr:`classification`.

        Raises :class:`InputValueError` when nothing matches.
        """
        g = self.groups
        if g is None:
            raise InputValueError("this attribution has no groups", argument="source")
        failure = g["demand_type"].isin(_FAILURE_TYPES)
        by_department = g["originating_department"] == source
        by_reason = g["root_reason"] == source
        if (failure & by_department).any():
            return g.loc[failure & by_department]
        if (failure & by_reason).any():
            return g.loc[failure & by_reason]
        known_departments = sorted(g.loc[failure, "originating_department"].unique())
        known_reasons = sorted(g.loc[failure, "root_reason"].unique())
        raise InputValueError(
            f"source '{source}' causes no failure demand in this attribution; use an originating department "
            f"({', '.join(known_departments) or 'none'}) or a failure reason "
            f"({', '.join(known_reasons) or 'none'})",
            argument="source",
        )

    def failure_contacts(self, source: str) -> pd.DataFrame:
        """Failure-demand contacts (``failure`` and ``repeat``) caused by ``source``.

        ``source`` is an originating department id or a reason id (then: direct contacts with that reason plus
        the repeats of chains rooted in it). Raises :class:`InputValueError` when nothing matches.
        """
        frame = self.classification
        if frame is None:
            raise InputValueError(
                "this attribution was computed in an engine and keeps no row-level classification; use "
                "failure_groups(source) (contact counts per group) instead",
                argument="source",
            )
        failure = frame["demand_type"].isin(_FAILURE_TYPES)
        by_department = frame["originating_department"] == source
        by_reason = frame["root_reason"] == source
        if (failure & by_department).any():
            mask = failure & by_department
        elif (failure & by_reason).any():
            mask = failure & by_reason
        else:
            known_departments = sorted(frame.loc[failure, "originating_department"].unique())
            known_reasons = sorted(frame.loc[failure, "root_reason"].unique())
            raise InputValueError(
                f"source '{source}' causes no failure demand in this attribution; use an originating department "
                f"({', '.join(known_departments) or 'none'}) or a failure reason "
                f"({', '.join(known_reasons) or 'none'})",
                argument="source",
            )
        return frame.loc[mask]

    def summary_text(self) -> str:
        """Plain-language summary of the attribution (a few lines)."""
        t = self.totals
        lines = [
            f"{int(t['contacts']):,} contacts: {int(t['value']):,} value demand, {int(t['failure']):,} failure "
            f"demand by reason, {int(t['repeat']):,} repeats of unresolved contacts within "
            f"{self.repeat_window_days:g} days, {int(t['unclassified']):,} unclassified.",
            f"Failure demand (failure + repeat) is {t['failure_demand_share']:.1%} of all contacts"
            + (
                f" and costs {self.currency} {t['failure_cost']:,.0f} of {self.currency} {t['cost']:,.0f}."
                if np.isfinite(t["cost"])
                else "."
            ),
        ]
        top = self.by_department[self.by_department["failure_demand"] > 0]
        if len(top):
            first = top.iloc[0]
            lines.append(
                f"Largest source: {first['originating_department']} "
                f"({int(first['failure_demand']):,} contacts, {first['failure_demand_share']:.1%} of all contacts)."
            )
        if len(self.unclassified_reasons):
            lines.append(
                "Reasons missing from the reason map (add them to failure_demand.yaml): "
                + ", ".join(self.unclassified_reasons["reason"].astype(str))
                + "."
            )
        return "\n".join(lines)

    def summary_frame(self) -> pd.DataFrame:
        """The Pareto table (:attr:`by_department`); here for symmetry with other result objects."""
        return self.by_department

    def key_figures(self, names: dict[str, str] | None = None) -> list[Figure]:
        """Registry figures: failure-demand share, cost per month and the largest source (``names`` maps
        department ids to display names) — as the Analysis's failure-demand section shows them."""
        from cx_framework import figures as F

        periods = self.summary["period"]  # the summary holds every period with a contact
        period = f"{periods.min():%Y-%m}/{periods.max():%Y-%m}" if len(periods) else None
        monthly = float(self.totals.get("failure_cost", np.nan)) / max(self.months_observed, 1)
        by = self.by_department
        top = by[by["originating_department"].astype(str).ne("unclassified")]
        top_name = None
        if len(top) and float(top["failure_demand"].iloc[0]) > 0:
            dep = str(top["originating_department"].iloc[0])
            top_name = (names or {}).get(dep, dep)
        c = self.currency
        return [
            F.FD_SHARE.figure(float(self.totals["failure_demand_share"]), period=period, currency=c),
            F.FD_MONTHLY_COST.figure(monthly, period=period, currency=c),
            F.FD_TOP_SOURCE.figure(top_name, period=period, currency=c),
        ]

    def _repr_html_(self) -> str:
        from cx_framework._display import figure_rows, html_card

        cols = [
            "originating_department",
            "failure",
            "repeat",
            "failure_demand",
            "failure_demand_share",
            "failure_cost",
            "cumulative_share",
        ]
        table = self.by_department[[c for c in cols if c in self.by_department]].rename(
            columns={
                "originating_department": "Caused by",
                "failure": "Failure contacts",
                "repeat": "Repeats",
                "failure_demand": "Failure demand",
                "failure_demand_share": "Share of all contacts",
                "failure_cost": f"Cost ({self.currency})",
                "cumulative_share": "Cumulative share",
            }
        )
        caveats = [self.summary_text().splitlines()[0]]
        if len(self.unclassified_reasons):
            caveats.append(
                "Reasons missing from the reason map (add them to failure_demand.yaml): "
                + ", ".join(self.unclassified_reasons["reason"].astype(str))
            )
        return html_card(
            "Failure demand by originating department",
            figures=figure_rows(self.key_figures()),
            table=table,
            table_title="Pareto",
            caveats=caveats,
        )

    def plot(self) -> go.Figure:
        """Pareto chart of failure demand by originating department."""
        from cx_framework.plots.failure_demand import failure_demand_pareto

        return failure_demand_pareto(self)


@dataclass(frozen=True)
class FixVsAbsorbResult:
    """Discounted cash flows of fixing a failure source vs absorbing its contacts.

    Attributes
    ----------
    source : str
        Department or reason whose failure demand is fixed.
    cash_flows : pandas.DataFrame
        One row per month ``0..horizon_months``: ``month``, ``discount_factor``, ``absorb_cash`` (cost of handling
        the failure demand, negative), ``fix_cash`` (fix cost in month 0, then the remaining contacts' cost plus
        the retention value of avoided contacts), ``net_cash`` (fix − absorb), their discounted cumulative sums
        ``absorb_cumulative_pv``, ``fix_cumulative_pv``, ``net_cumulative_pv`` (currency).
    npv : float
        Net present value of fixing relative to absorbing (currency; > 0 means fixing pays within the horizon).
    npv_fix, npv_absorb : float
        Present value of each option's cash flows (negative = costs).
    break_even_month : int or None
        First month whose cumulative discounted net cash is ≥ 0; None if fixing never pays back in the horizon.
    baseline_contacts_per_month : float
        Failure-demand contacts from ``source`` per month before the fix.
    cost_per_contact : float
        Mean cost of one such contact (currency).
    avoided_contacts_per_month : float
        ``expected_reduction × baseline_contacts_per_month``.
    retention_value_per_month : float
        Retention value of the avoided contacts per month (currency; 0 without a retention effect).
    monthly_rate : float
        Monthly discount rate ``(1 + annual)^(1/12) − 1``.
    currency : str
    """

    source: str
    cash_flows: pd.DataFrame
    npv: float
    npv_fix: float
    npv_absorb: float
    break_even_month: int | None
    baseline_contacts_per_month: float
    cost_per_contact: float
    avoided_contacts_per_month: float
    retention_value_per_month: float
    monthly_rate: float
    fix_cost: float
    expected_reduction: float
    horizon_months: int
    currency: str = "GBP"
    assumptions: dict[str, Any] = field(default_factory=dict)

    def value_parts(self) -> dict[str, float]:
        """The NPV split into its terms (currency, present value over the horizon; they sum to :attr:`npv`):
        ``handling_cost_saved`` (avoided contacts × cost per contact), ``retention_value`` (customers kept
        because they did not have to call; 0 without a retention effect) and ``fix_cost`` (negative, month 0)."""
        flows = self.cash_flows
        later = flows["month"].to_numpy() > 0
        disc = flows["discount_factor"].to_numpy()[later]
        saved = float((disc * self.avoided_contacts_per_month * self.cost_per_contact).sum())
        retention = float((disc * self.retention_value_per_month).sum())
        fix = float(flows["net_cash"].to_numpy()[~later].sum())
        return {"handling_cost_saved": saved, "retention_value": retention, "fix_cost": fix}

    def summary(self, name: str | None = None) -> str:
        """Plain-language verdict: fix or absorb, NPV and break-even month; ``name`` is the failure source's
        human name (a department's name, a reason's description), its id in quotes otherwise."""
        verdict = "Fixing pays" if self.npv > 0 else "Absorbing is cheaper"
        when = (
            f"breaks even in month {self.break_even_month}"
            if self.break_even_month is not None
            else f"does not break even within {self.horizon_months} months"
        )
        return (
            f"{verdict} over {self.horizon_months} months: NPV of fixing {name or repr(self.source)} is "
            f"{self.currency} {self.npv:,.0f} (fix cost {self.currency} {self.fix_cost:,.0f}, "
            f"{self.avoided_contacts_per_month:,.0f} of {self.baseline_contacts_per_month:,.0f} contacts/month "
            f"avoided at {self.currency} {self.cost_per_contact:,.2f} each"
            + (
                f", retention value {self.currency} {self.retention_value_per_month:,.0f}/month"
                if self.retention_value_per_month
                else ""
            )
            + f"); it {when}."
        )

    def _repr_html_(self) -> str:
        from cx_framework import figures as F
        from cx_framework._display import html_card

        c = self.currency
        parts = self.value_parts()
        figures = [
            ("NPV of fixing vs absorbing", F.format_value(self.npv, "money", currency=c)),
            ("Break-even month", "never" if self.break_even_month is None else str(self.break_even_month)),
            (
                "Handling cost saved (present value)",
                F.format_value(parts["handling_cost_saved"], "money", currency=c),
            ),
            (
                "Retention value (present value)",
                F.format_value(parts["retention_value"], "money", currency=c),
            ),
            ("Fix cost", F.format_value(parts["fix_cost"], "money", currency=c)),
        ]
        return html_card(
            f"Fix vs absorb: {self.source}",
            text=self.summary(),
            figures=figures,
            caveats=[f"{k}: {v}" for k, v in self.assumptions.items()][:6],
        )

    def plot(self) -> go.Figure:
        """Cumulative discounted cash curves of fixing vs absorbing with the break-even marker."""
        from cx_framework.plots.failure_demand import fix_vs_absorb_curves

        return fix_vs_absorb_curves(self)


# ----------------------------------------------------------------------------------------------- helpers
def _reason_map(reason_map: FailureDemand | CxConfig) -> FailureDemand:
    if isinstance(reason_map, FailureDemand):
        return reason_map
    inner = getattr(reason_map, "failure_demand", None)
    if isinstance(inner, FailureDemand):
        return inner
    raise InputValueError(
        "reason_map must be the FailureDemand config model (load_config(...).failure_demand) or a CxConfig, "
        f"got {type(reason_map).__name__}",
        argument="reason_map",
    )


def _economics(value: Economics | CxConfig | None, *, argument: str) -> Economics | None:
    if value is None or isinstance(value, Economics):
        return value
    inner = getattr(value, "economics", None)
    if isinstance(inner, Economics):
        return inner
    raise InputValueError(
        f"{argument} must be the Economics config model (load_config(...).economics) or a CxConfig, "
        f"got {type(value).__name__}",
        argument=argument,
    )


def monthly_discount_rate(annual_rate: float) -> float:
    """Monthly rate equivalent to an annual rate: ``(1 + annual_rate) ** (1 / 12) - 1`` (compound, share 0–1)."""
    return float((1.0 + annual_rate) ** (1.0 / 12.0) - 1.0)


def _contact_cost(
    contacts: pd.DataFrame, economics: Economics | None, cost_basis: Literal["per_contact", "handle_time"]
) -> np.ndarray:
    n = len(contacts)
    if economics is None:
        return np.full(n, np.nan)
    handle_cost = contacts["handle_s"].to_numpy(dtype=float) / 3600.0 * economics.cost_per_agent_hour
    if cost_basis == "per_contact" and economics.cost_per_contact:
        per_contact = contacts["channel"].map(economics.cost_per_contact).to_numpy(dtype=float)
        cost = np.where(np.isnan(per_contact), handle_cost, per_contact)
    else:
        cost = handle_cost
    return np.where(contacts["abandoned"].to_numpy(dtype=bool), 0.0, cost)


def _chain_roots(
    customer: np.ndarray, timestamp: np.ndarray, resolved: np.ndarray, window: np.timedelta64
) -> tuple[np.ndarray, np.ndarray]:
    """Repeat flags and chain-root positions for contacts already sorted by customer, then time.

    Returns ``(is_repeat, root)``: ``root[i]`` is the sorted position of the first contact of ``i``'s chain.
    """
    n = len(customer)
    is_repeat = np.zeros(n, dtype=bool)
    if n > 1:
        same_customer = customer[1:] == customer[:-1]
        gap = timestamp[1:] - timestamp[:-1]
        is_repeat[1:] = same_customer & ~resolved[:-1] & (gap <= window)
    # chains are contiguous runs in the sorted order; a chain's root is the last non-repeat at or before i
    starts = np.where(is_repeat, 0, np.arange(n))
    root = np.maximum.accumulate(starts) if n else starts
    return is_repeat, root


def _validate_contacts(contacts: pd.DataFrame) -> pd.DataFrame:
    from cx_framework.schemas import validate  # pandera (~0.5 s): not needed to read a cached result

    if not isinstance(contacts, pd.DataFrame):
        raise DataValidationError(
            f"contacts must be a pandas DataFrame, got {type(contacts).__name__}.", table="contacts"
        )
    return validate("contacts", contacts)


# ----------------------------------------------------------------------------------------------- attribution
#: Summary periods :func:`attribute_failure_demand` accepts (pandas period aliases) and what they mean.
_PERIOD_ALIASES: dict[str, str] = {"D": "day", "W": "week", "M": "month", "Q": "quarter", "Y": "year"}


def attribute_failure_demand(
    contacts: pd.DataFrame,
    reason_map: FailureDemand | CxConfig,
    *,
    economics: Economics | CxConfig | None = None,
    period: str = "M",
    repeat_window_days: float | None = None,
    cost_basis: Literal["per_contact", "handle_time"] = "per_contact",
) -> FailureDemandResult:
    """Classify contacts as value / failure / repeat demand and attribute them to the originating department.

    Parameters
    ----------
    contacts : pandas.DataFrame
        The ``contacts`` table of the data contract (validated here; extra columns are ignored).
    reason_map : FailureDemand or CxConfig
        Reason → ``is_failure``, ``originating_department`` (``configs/failure_demand.yaml``). With a CxConfig,
        its ``failure_demand`` is used, and its ``economics`` when ``economics`` is not given.
    economics : Economics or CxConfig, optional
        Cost assumptions; without them every cost is NaN.
    period : str, default "M"
        pandas period alias for the summary; periods are labelled by their start (month starts for ``"M"``).
    repeat_window_days : float, optional
        Days after an unresolved contact within which the customer's next contact is a repeat; defaults to the
        reason map's ``repeat_window_days`` (7).
    cost_basis : {"per_contact", "handle_time"}, default "per_contact"
        Cost per handled contact by channel (fallback: handle time), or handle time × cost per agent hour.

    Returns
    -------
    FailureDemandResult

    Raises
    ------
    DataValidationError
        ``contacts`` is not a valid contacts table (missing columns, bad values); the failures name the column.
    InputValueError
        Bad ``reason_map``, ``economics``, ``period``, ``repeat_window_days`` or ``cost_basis``.

    Warns
    -----
    StatisticalWarning
        Some contacts have reasons missing from the reason map (they are counted as unclassified).

    Notes
    -----
    Repeat chains are found without Python loops: contacts are sorted by customer and time, each contact is
    compared with the previous one through shifted arrays, and chain roots are propagated with a running maximum
    of chain-start positions. See the module docstring for the attribution rules.

    Examples
    --------
    >>> from cx_framework.config import load_config
    >>> cfg = load_config("configs")  # doctest: +SKIP
    >>> result = attribute_failure_demand(contacts, cfg)  # doctest: +SKIP
    >>> result.by_department[["originating_department", "failure_demand_share"]]  # doctest: +SKIP
    """
    fd = _reason_map(reason_map)
    econ = _economics(economics, argument="economics")
    if econ is None and not isinstance(reason_map, FailureDemand):
        econ = _economics(reason_map, argument="reason_map")
    if cost_basis not in ("per_contact", "handle_time"):
        raise InputValueError(
            f"cost_basis must be 'per_contact' or 'handle_time', got {cost_basis!r}", argument="cost_basis"
        )
    window_days = fd.repeat_window_days if repeat_window_days is None else repeat_window_days
    if not np.isfinite(window_days) or window_days < 0:
        raise InputValueError(
            f"repeat_window_days must be a finite number of days >= 0, got {window_days!r}",
            argument="repeat_window_days",
        )
    if not isinstance(period, str) or period.strip().upper() not in _PERIOD_ALIASES:
        shown = repr(period)[:40]
        raise InputValueError(
            f"period {shown} is not a summary period; use one of "
            + ", ".join(f"{k} ({v})" for k, v in _PERIOD_ALIASES.items())
            + ".",
            argument="period",
        )
    period = period.strip().upper()
    frame = _validate_contacts(contacts)
    periods = frame["timestamp"].dt.to_period(period).dt.start_time

    # --- reason lookup on integer codes: one small lookup per distinct reason, then fancy indexing
    n = len(frame)
    reason_codes, reason_values = pd.factorize(frame["reason"], sort=True)
    reason_values = pd.Index(reason_values.astype(str))
    by_id = fd.by_id
    departments = sorted({r.originating_department for r in fd.reasons}) + [UNCLASSIFIED]
    department_code = {d: i for i, d in enumerate(departments)}
    known_u = np.array([v in by_id for v in reason_values], dtype=bool)
    failure_u = np.array([v in by_id and by_id[v].is_failure for v in reason_values], dtype=bool)
    own_department_u = np.array(
        [
            department_code[by_id[v].originating_department] if v in by_id else department_code[UNCLASSIFIED]
            for v in reason_values
        ],
        dtype=np.int64,
    )
    known = known_u[reason_codes]
    own_department = own_department_u[reason_codes]

    # --- repeat chains on the customer/time-sorted order (ties keep input order)
    customer_codes = pd.factorize(frame["customer_id"])[0]
    timestamps = frame["timestamp"].to_numpy(dtype="datetime64[ns]")
    order = np.lexsort((np.arange(n), timestamps, customer_codes))
    window = np.timedelta64(int(round(window_days * 86_400_000_000_000)), "ns")
    is_repeat_sorted, root_sorted = _chain_roots(
        customer_codes[order],
        timestamps[order],
        frame["resolved_first_contact"].to_numpy(dtype=bool)[order],
        window,
    )
    is_repeat = np.empty(n, dtype=bool)
    is_repeat[order] = is_repeat_sorted
    root = np.empty(n, dtype=np.int64)
    root[order] = order[root_sorted]  # root as an input position

    # codes into DEMAND_TYPES: value 0, failure 1, repeat 2, unclassified 3
    demand_code = np.where(known, failure_u[reason_codes].astype(np.int64), 3)
    demand_code[is_repeat] = 2
    originating = np.where(is_repeat, own_department[root], own_department)

    cost = _contact_cost(frame, econ, cost_basis)
    contact_ids = frame["contact_id"].reset_index(drop=True)
    classification = pd.DataFrame(
        {
            "contact_id": contact_ids,
            "customer_id": frame["customer_id"].reset_index(drop=True),
            "timestamp": frame["timestamp"].reset_index(drop=True),
            "period": periods.reset_index(drop=True),
            "channel": frame["channel"].reset_index(drop=True),
            "reason": frame["reason"].reset_index(drop=True),
            "demand_type": pd.Categorical.from_codes(demand_code, categories=list(DEMAND_TYPES)),
            "originating_department": pd.Categorical.from_codes(originating, categories=departments),
            "root_contact_id": contact_ids.take(root).reset_index(drop=True),
            "root_reason": pd.Categorical.from_codes(reason_codes[root], categories=reason_values),
            "handle_s": frame["handle_s"].to_numpy(dtype=float),
            "cost": cost,
        }
    )
    grouping = classification.assign(abandoned=frame["abandoned"].to_numpy(dtype=bool))
    groups = (
        grouping.groupby(list(_GROUP_KEYS), observed=True, sort=True)
        .agg(contacts=("contact_id", "size"), handle_s=("handle_s", "sum"))
        .reset_index()
    )
    for column in ("demand_type", "originating_department", "root_reason", "reason", "channel"):
        groups[column] = groups[column].astype(str)
    return _result_from_groups(
        groups,
        fd,
        econ,
        cost_basis,
        window_days=float(window_days),
        period=period,
        months_observed=int(classification["timestamp"].dt.to_period("M").nunique()),
        top_chains=_top_chains(classification),
        classification=classification,
        stacklevel=3,
    )


#: Keys of :attr:`FailureDemandResult.groups` (then ``contacts``, ``handle_s`` and ``cost``).
_GROUP_KEYS = (
    "period",
    "channel",
    "abandoned",
    "reason",
    "root_reason",
    "demand_type",
    "originating_department",
)


def _top_chains(classification: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` longest repeat chains: ``root_contact_id, customer_id, root_reason, originating_department,
    repeats`` (most repeats first, then root id)."""
    repeats = classification[classification["demand_type"] == "repeat"]
    chains = (
        repeats.groupby("root_contact_id", observed=True)
        .agg(
            customer_id=("customer_id", "first"),
            root_reason=("root_reason", "first"),
            originating_department=("originating_department", "first"),
            repeats=("contact_id", "size"),
        )
        .reset_index()
        .sort_values(["repeats", "root_contact_id"], ascending=[False, True], kind="mergesort")
        .head(n)
        .reset_index(drop=True)
    )
    for c in ("root_reason", "originating_department"):
        chains[c] = chains[c].astype(str)
    return chains[["root_contact_id", "customer_id", "root_reason", "originating_department", "repeats"]]


def _group_cost(
    groups: pd.DataFrame, economics: Economics | None, cost_basis: Literal["per_contact", "handle_time"]
) -> np.ndarray:
    """Cost of each group (currency): the per-contact price of its channel × contacts, else handle time ×
    cost per agent hour; abandoned contacts cost nothing; NaN without economics."""
    n = len(groups)
    if economics is None:
        return np.full(n, np.nan)
    contacts = groups["contacts"].to_numpy(dtype=float)
    handle_cost = groups["handle_s"].to_numpy(dtype=float) / 3600.0 * economics.cost_per_agent_hour
    if cost_basis == "per_contact" and economics.cost_per_contact:
        price = groups["channel"].map(economics.cost_per_contact).to_numpy(dtype=float)
        cost = np.where(np.isnan(price), handle_cost, price * contacts)
    else:
        cost = handle_cost
    return np.where(groups["abandoned"].to_numpy(dtype=bool), 0.0, cost)


def failure_demand_from_groups(
    groups: pd.DataFrame,
    reason_map: FailureDemand | CxConfig,
    *,
    economics: Economics | CxConfig | None = None,
    repeat_window_days: float | None = None,
    months_observed: int,
    top_chains: pd.DataFrame | None = None,
    cost_basis: Literal["per_contact", "handle_time"] = "per_contact",
) -> FailureDemandResult:
    """The :class:`FailureDemandResult` of contacts classified elsewhere (an engine), from their groups.

    ``groups`` has one row per ``period, channel, abandoned, reason, root_reason, demand_type,
    originating_department`` with ``contacts`` (count) and ``handle_s`` (seconds, summed) — what
    :func:`cx_framework.engine.failure_demand.failure_demand_groups` returns. Every table and total of the result
    is computed from the groups exactly as :func:`attribute_failure_demand` computes them (it builds the same
    groups from its row-level classification); ``classification`` is None (no row-level frame).
    """
    fd = _reason_map(reason_map)
    econ = _economics(economics, argument="economics")
    if econ is None and not isinstance(reason_map, FailureDemand):
        econ = _economics(reason_map, argument="reason_map")
    window_days = fd.repeat_window_days if repeat_window_days is None else repeat_window_days
    return _result_from_groups(
        groups,
        fd,
        econ,
        cost_basis,
        window_days=float(window_days),
        period="M",
        months_observed=int(months_observed),
        top_chains=top_chains,
        classification=None,
        stacklevel=3,
    )


def _result_from_groups(
    groups: pd.DataFrame,
    fd: FailureDemand,
    econ: Economics | None,
    cost_basis: Literal["per_contact", "handle_time"],
    *,
    window_days: float,
    period: str,
    months_observed: int,
    top_chains: pd.DataFrame | None,
    classification: pd.DataFrame | None,
    stacklevel: int,
) -> FailureDemandResult:
    by_id = fd.by_id
    departments = sorted({r.originating_department for r in fd.reasons}) + [UNCLASSIFIED]
    g = groups.copy()
    g["cost"] = _group_cost(g, econ, cost_basis)
    # the categorical orders of the row-level path (demand types in display order, "unclassified" last)
    g["demand_type"] = pd.Categorical(g["demand_type"].astype(str), categories=list(DEMAND_TYPES))
    g["originating_department"] = pd.Categorical(
        g["originating_department"].astype(str), categories=departments
    )
    reasons = g.groupby("reason", sort=True)["contacts"].sum()
    unknown = reasons[[r not in by_id for r in reasons.index]]
    unclassified_reasons = (
        unknown.rename_axis("reason")
        .reset_index(name="contacts")
        .sort_values(["contacts", "reason"], ascending=[False, True], kind="mergesort")
        .reset_index(drop=True)
    )
    unclassified_reasons["contacts"] = unclassified_reasons["contacts"].astype(np.int64)
    if len(unclassified_reasons):
        warnings.warn(
            f"{int(unclassified_reasons['contacts'].sum())} contacts have reasons missing from the reason map "
            f"({', '.join(unclassified_reasons['reason'].astype(str))}); they are counted as 'unclassified'. "
            "Add the reasons to failure_demand.yaml.",
            StatisticalWarning,
            stacklevel=stacklevel,
        )
    # reason-only view (what a reason-coded report shows): contacts whose own reason is failure demand
    reason_failure = dict.fromkeys(departments, 0)
    for reason, count in reasons.items():
        entry = by_id.get(str(reason))
        if entry is not None and entry.is_failure:
            reason_failure[entry.originating_department] += int(count)
    summary = _summary(g)
    by_department = _by_department(g, reason_failure)
    charge_back, charge_back_by_period = _charge_back(g)
    totals = _totals(g)
    out_groups = g.sort_values(list(_GROUP_KEYS), kind="mergesort").reset_index(drop=True)
    out_groups["demand_type"] = out_groups["demand_type"].astype(str)
    out_groups["originating_department"] = out_groups["originating_department"].astype(str)
    return FailureDemandResult(
        classification=classification,
        summary=summary,
        by_department=by_department,
        charge_back=charge_back,
        charge_back_by_period=charge_back_by_period,
        unclassified_reasons=unclassified_reasons,
        totals=totals,
        repeat_window_days=float(window_days),
        period=period,
        currency=econ.currency if econ is not None else "GBP",
        groups=out_groups,
        n_months=int(months_observed),
        top_chains=top_chains,
    )


def _sum_cost(series: pd.Series) -> float:
    # NaN when costs are unknown (no economics) rather than pandas' 0 for an all-NaN sum
    return float(series.sum(min_count=1))


def _summary(groups: pd.DataFrame) -> pd.DataFrame:
    grouped = groups.groupby(
        ["period", "originating_department", "demand_type"], observed=True, sort=True
    ).agg(
        contacts=("contacts", "sum"),
        handle_s=("handle_s", "sum"),
        cost=("cost", lambda s: s.sum(min_count=1)),
    )
    grouped = grouped.reset_index()
    per_period = groups.groupby("period")["contacts"].sum()
    grouped["share_of_contacts"] = grouped["contacts"] / grouped["period"].map(per_period).to_numpy(
        dtype=float
    )
    grouped["handle_hours"] = grouped.pop("handle_s") / 3600.0
    grouped["demand_type"] = grouped["demand_type"].astype(str)
    grouped["originating_department"] = grouped["originating_department"].astype(str)
    grouped["contacts"] = grouped["contacts"].astype(np.int64)
    return grouped[
        [
            "period",
            "originating_department",
            "demand_type",
            "contacts",
            "share_of_contacts",
            "handle_hours",
            "cost",
        ]
    ]


def _by_department(groups: pd.DataFrame, reason_failure: dict[str, int]) -> pd.DataFrame:
    # plain strings: only departments that occur, sorted by name on ties
    department = groups["originating_department"].astype(str)
    counts = pd.crosstab(
        department, groups["demand_type"].astype(str), values=groups["contacts"], aggfunc="sum"
    ).fillna(0)
    counts = counts.reindex(columns=list(DEMAND_TYPES), fill_value=0).astype(np.int64)
    failure = groups["demand_type"].isin(_FAILURE_TYPES).to_numpy()
    failure_rows = groups.loc[failure, ["handle_s", "cost"]].assign(
        originating_department=department[failure]
    )
    failure_agg = failure_rows.groupby("originating_department").agg(
        failure_handle_s=("handle_s", "sum"), failure_cost=("cost", lambda s: s.sum(min_count=1))
    )
    table = counts.join(failure_agg, how="left")
    table["failure_handle_s"] = table["failure_handle_s"].fillna(0.0)
    if groups["cost"].notna().any():
        table["failure_cost"] = table["failure_cost"].fillna(0.0)
    total = float(groups["contacts"].sum())
    table["failure_demand"] = table["failure"] + table["repeat"]
    table["failure_share"] = table["failure"] / total
    table["failure_demand_share"] = table["failure_demand"] / total
    table["reason_failure"] = table.index.map(reason_failure).to_numpy(dtype=np.int64)
    table["reason_failure_share"] = table["reason_failure"] / total
    table["failure_handle_hours"] = table.pop("failure_handle_s") / 3600.0
    table = table.rename_axis("originating_department").reset_index()
    table = table.sort_values(
        ["failure_demand", "originating_department"], ascending=[False, True], kind="mergesort"
    ).reset_index(drop=True)
    all_failure = float(table["failure_demand"].sum())
    table["cumulative_share"] = table["failure_demand"].cumsum() / all_failure if all_failure else 0.0
    table.columns.name = None
    return table[
        [
            "originating_department",
            *DEMAND_TYPES,
            "failure_demand",
            "failure_share",
            "failure_demand_share",
            "reason_failure",
            "reason_failure_share",
            "failure_handle_hours",
            "failure_cost",
            "cumulative_share",
        ]
    ]


def _charge_back(groups: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = groups[groups["demand_type"].isin(_FAILURE_TYPES)].copy()
    is_failure = (rows["demand_type"] == "failure").to_numpy()
    rows["failure_contacts"] = np.where(is_failure, rows["contacts"], 0).astype(np.int64)
    rows["repeat_contacts"] = np.where(~is_failure, rows["contacts"], 0).astype(np.int64)
    rows = rows.rename(columns={"originating_department": "department"})
    rows["department"] = rows["department"].astype(str)

    def aggregate(keys: list[str]) -> pd.DataFrame:
        table = rows.groupby(keys, sort=True).agg(
            failure_contacts=("failure_contacts", "sum"),
            repeat_contacts=("repeat_contacts", "sum"),
            contacts=("contacts", "sum"),
            handle_s=("handle_s", "sum"),
            charge=("cost", lambda s: s.sum(min_count=1)),
        )
        table = table.reset_index()
        table["contacts"] = table["contacts"].astype(np.int64)
        table["handle_hours"] = table.pop("handle_s") / 3600.0
        total_charge = _sum_cost(table["charge"])
        table["share_of_charge"] = table["charge"] / total_charge if total_charge else np.nan
        return table

    overall = aggregate(["department"]).sort_values(
        ["charge", "contacts", "department"],
        ascending=[False, False, True],
        kind="mergesort",
        na_position="last",
    )
    columns = ["department", "failure_contacts", "repeat_contacts", "contacts", "handle_hours", "charge"]
    overall = overall[[*columns, "share_of_charge"]].reset_index(drop=True)
    by_period = aggregate(["period", "department"])
    # share within each period, not of the whole horizon
    period_charge = by_period.groupby("period")["charge"].transform(lambda s: s.sum(min_count=1))
    by_period["share_of_charge"] = by_period["charge"] / period_charge
    by_period = by_period[["period", *columns, "share_of_charge"]].reset_index(drop=True)
    return overall, by_period


def _totals(groups: pd.DataFrame) -> dict[str, float]:
    counts = groups.groupby(groups["demand_type"].astype(str))["contacts"].sum()
    failure = groups["demand_type"].isin(_FAILURE_TYPES).to_numpy()
    n = float(groups["contacts"].sum())
    totals = {"contacts": n}
    for kind in DEMAND_TYPES:
        totals[kind] = float(counts.get(kind, 0))
    totals["failure_demand"] = totals["failure"] + totals["repeat"]
    totals["failure_demand_share"] = totals["failure_demand"] / n if n else float("nan")
    totals["handle_hours"] = float(groups["handle_s"].sum()) / 3600.0
    totals["failure_handle_hours"] = float(groups.loc[failure, "handle_s"].sum()) / 3600.0
    totals["cost"] = _sum_cost(groups["cost"])
    totals["failure_cost"] = (
        float(groups.loc[failure, "cost"].sum()) if np.isfinite(totals["cost"]) else float("nan")
    )
    return totals


# ----------------------------------------------------------------------------------------------- fix vs absorb
def fix_vs_absorb(
    attribution: FailureDemandResult,
    source: str,
    *,
    fix_cost: float,
    expected_reduction: float,
    horizon_months: int = 24,
    config: Economics | CxConfig,
    retention_effect: float | None = None,
    monthly_revenue: float | None = None,
) -> FixVsAbsorbResult:
    """Net present value of fixing a failure source vs absorbing its contacts, month by month.

    Absorbing: every month the organisation pays for the source's failure demand, ``baseline_contacts ×
    cost_per_contact``. Fixing: a one-off ``fix_cost`` in month 0, then only ``(1 − expected_reduction)`` of
    those contacts, plus (optionally) the retention value of the avoided contacts. Cash flows in month ``m``
    are discounted by ``(1 + i)^−m`` with the monthly rate ``i = (1 + discount_rate_annual)^(1/12) − 1`` (month 0
    undiscounted). NPV = Σ discounted (fix − absorb); break-even is the first month whose cumulative discounted
    net cash is ≥ 0 (standard discounted payback, e.g. Brealey, Myers & Allen, *Principles of Corporate
    Finance*, ch. 5).

    Parameters
    ----------
    attribution : FailureDemandResult
        Result of :func:`attribute_failure_demand` (with costs, i.e. computed with economics).
    source : str
        Originating department (e.g. ``"billing"``) or failure reason (e.g. ``"bill_query"``; then its direct
        contacts plus the repeats of chains rooted in it).
    fix_cost : float
        One-off cost of the fix in month 0 (currency, ≥ 0).
    expected_reduction : float
        Share 0–1 of the source's failure-demand contacts the fix removes, from month 1 on.
    horizon_months : int, default 24
        Months of benefit counted (≥ 1).
    config : Economics or CxConfig
        Discount rate, margin and customer lifetime.
    retention_effect : float, optional
        Expected reduction in churn probability per avoided contact (share 0–1 per contact): a customer who
        does not have to call (and wait) about a failure is this much less likely to leave. Typically read off
        a retention model (e.g. :func:`cx_framework.fit_retention`'s marginal effect of repeat/failure contacts
        or of the waiting they cause). Each avoided churner is worth the discounted contribution
        ``monthly_revenue × margin × Σ_{k=1..L} (1 + i)^−k`` over ``L = customer_lifetime_months``, booked in
        the month the contact is avoided.
    monthly_revenue : float, optional
        Mean monthly revenue of an affected customer (currency per month); required with ``retention_effect``.

    Returns
    -------
    FixVsAbsorbResult

    Raises
    ------
    InputValueError
        Unknown ``source``, negative ``fix_cost``, ``expected_reduction`` outside [0, 1], ``horizon_months`` < 1,
        attribution without costs, or ``retention_effect`` without ``monthly_revenue``.
    """
    econ = _economics(config, argument="config")
    if econ is None:
        raise InputValueError("config is required (Economics or CxConfig)", argument="config")
    if not isinstance(attribution, FailureDemandResult):
        raise InputValueError(
            f"attribution must be a FailureDemandResult from attribute_failure_demand, got "
            f"{type(attribution).__name__}",
            argument="attribution",
        )
    if not np.isfinite(fix_cost) or fix_cost < 0:
        raise InputValueError(f"fix_cost must be a finite amount >= 0, got {fix_cost!r}", argument="fix_cost")
    if not 0.0 <= expected_reduction <= 1.0:
        raise InputValueError(
            f"expected_reduction must be a share between 0 and 1, got {expected_reduction!r}",
            argument="expected_reduction",
        )
    if int(horizon_months) != horizon_months or horizon_months < 1:
        raise InputValueError(
            f"horizon_months must be a whole number of months >= 1, got {horizon_months!r}",
            argument="horizon_months",
        )
    horizon = int(horizon_months)
    if retention_effect is not None:
        if not 0.0 <= retention_effect <= 1.0:
            raise InputValueError(
                f"retention_effect must be a churn-probability reduction per avoided contact in [0, 1], got "
                f"{retention_effect!r}",
                argument="retention_effect",
            )
        if monthly_revenue is None or not np.isfinite(monthly_revenue) or monthly_revenue < 0:
            raise InputValueError(
                "monthly_revenue (mean monthly revenue of an affected customer, >= 0) is required with "
                f"retention_effect, got {monthly_revenue!r}",
                argument="monthly_revenue",
            )

    rows = attribution.failure_groups(source)
    if rows["cost"].isna().all():
        raise InputValueError(
            "the attribution has no costs; call attribute_failure_demand(..., economics=config.economics)",
            argument="attribution",
        )
    # months observed in the whole data set (not only months with contacts from this source)
    months = attribution.months_observed
    n_rows = float(rows["contacts"].sum())
    baseline = n_rows / months
    cost_per_contact = float(rows["cost"].sum()) / n_rows
    rate = monthly_discount_rate(econ.discount_rate_annual)

    avoided = expected_reduction * baseline
    customer_value = 0.0
    if retention_effect is not None and monthly_revenue is not None:
        lifetime = np.arange(1, int(np.ceil(econ.customer_lifetime_months)) + 1, dtype=float)
        weights = np.minimum(1.0, econ.customer_lifetime_months - (lifetime - 1.0))  # fractional last month
        customer_value = float(monthly_revenue * econ.margin * np.sum(weights * (1.0 + rate) ** -lifetime))
    retention_value = avoided * (retention_effect or 0.0) * customer_value

    month = np.arange(horizon + 1)
    discount = (1.0 + rate) ** -month.astype(float)
    absorb = np.where(month == 0, 0.0, -baseline * cost_per_contact)
    fix = np.where(month == 0, -float(fix_cost), -(baseline - avoided) * cost_per_contact + retention_value)
    net = fix - absorb
    flows = pd.DataFrame(
        {
            "month": month,
            "discount_factor": discount,
            "absorb_cash": absorb,
            "fix_cash": fix,
            "net_cash": net,
            "absorb_cumulative_pv": np.cumsum(absorb * discount),
            "fix_cumulative_pv": np.cumsum(fix * discount),
            "net_cumulative_pv": np.cumsum(net * discount),
        }
    )
    # tolerance: a break-even that is exact in arithmetic should not be missed by rounding
    paid_back = np.flatnonzero(flows["net_cumulative_pv"].to_numpy() >= -1e-9 * max(1.0, float(fix_cost)))
    break_even = int(paid_back[0]) if len(paid_back) else None
    return FixVsAbsorbResult(
        source=source,
        cash_flows=flows,
        npv=float(flows["net_cumulative_pv"].iloc[-1]),
        npv_fix=float(flows["fix_cumulative_pv"].iloc[-1]),
        npv_absorb=float(flows["absorb_cumulative_pv"].iloc[-1]),
        break_even_month=break_even,
        baseline_contacts_per_month=float(baseline),
        cost_per_contact=cost_per_contact,
        avoided_contacts_per_month=float(avoided),
        retention_value_per_month=float(retention_value),
        monthly_rate=rate,
        fix_cost=float(fix_cost),
        expected_reduction=float(expected_reduction),
        horizon_months=horizon,
        currency=econ.currency,
        assumptions={
            "months_observed": int(months),
            "customer_value": customer_value,
            "retention_effect": retention_effect,
            "monthly_revenue": monthly_revenue,
        },
    )
