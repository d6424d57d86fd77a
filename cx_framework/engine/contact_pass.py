"""One sort of the contacts for both the customer panel and failure demand (the two window passes of a report).

The customer panel (:func:`cx_framework.engine.customer_panel`) flags a contact as a repeat when the customer's
previous contact *inside the customer's active months* was at most ``repeat_window_days`` earlier; failure
demand (:func:`cx_framework.engine.failure_demand.failure_demand_groups`) needs the previous contact's time and
resolution and the chain root, over (timestamp, file row) per customer. Sorted separately that is three sorts of
every contact (panel window; failure-demand lag window; chain-root cumulative window); on 200M contacts each
spills many GB. :func:`contact_pass` does it in two, over narrow integer columns:

1. the contacts are joined once to their customer's integer key and life (``__status``: 0 inside the active
   months, 1 outside, 2 unknown customer);
2. ONE window partitioned by the customer key, ordered by (timestamp, file row) gives the failure-demand lags and
   the panel's flag. The panel's window is (customer, status): for a contact inside, the previous contact of the
   same status is the previous contact of the customer *if that one is inside too* — a customer's contacts inside
   the active months are one contiguous run in time (outside = before the start month or after the last one) —
   and otherwise there is none. So ``lag(status) = 0`` in the customer's window gives the same flag; ties on the
   timestamp give the same monthly sums either way (tied contacts share a month and a status);
3. the chain-root cumulative window (same partition) and ONE aggregate that emits both results: every row is
   counted twice (``unnest([0, 1])`` after the sorts: cheap next to them), once under the panel's keys
   (customer, month, status) and once under failure demand's fine keys — GROUPING SETS in plain ibis, so Spark
   runs it too.

The result is cached in the engine (one temp table); the panel reads its monthly sums, failure demand its fine
aggregate. Contacts of unknown customers have no key, so their failure-demand chains would run together: when
there are any (the panel raises for them anyway), failure demand classifies the contacts on its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from cx_framework.engine.core import ROW_COLUMN, Engine
from cx_framework.engine.failure_demand import (
    _FINE_KEYS,
    _classify,
    _Codes,
    _codes,
    encode_contacts,
    fine_columns,
    integer_root_key,
)
from cx_framework.engine.panel import (
    _expr,
    _monthly_sums,
    _panel_inputs,
    _window,
    _with_status,
    month_index,
)
from cx_framework.engine.validation import ValidatedTable
from cx_framework.errors import CxError

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = ["ContactPass", "contact_pass"]

_PANEL_SUMS = (
    "contacts",
    "calls",
    "answered_within_threshold",
    "abandoned",
    "wait_sum",
    "repeat_contacts",
    "unresolved_contacts",
)


class ContactPass:
    """The shared pass of :func:`contact_pass` (lazy: computed on the first read, then cached in the engine).

    Pass it as ``shared=`` to :func:`~cx_framework.engine.customer_panel` and
    :func:`~cx_framework.engine.failure_demand.failure_demand_groups`; each uses it only when it was made for
    the same inputs, and computes on its own otherwise.
    """

    def __init__(
        self,
        engine: Engine,
        contacts: ir.Table | ValidatedTable,
        customers: ir.Table | ValidatedTable,
        *,
        threshold_s: float,
        panel_repeat_window_days: float,
        repeat_window_days: float,
        end: str | pd.Timestamp | None,
    ) -> None:
        self.engine = engine
        self.contacts, self.customers = _expr(contacts), _expr(customers)
        self.threshold_s = float(threshold_s)
        self.panel_repeat_window_days = float(panel_repeat_window_days)
        self.repeat_window_days = float(repeat_window_days)
        self.end = None if end is None else pd.Timestamp(end)
        self._state: tuple[ir.Table, ir.Table, ir.Table, ir.Table | None, _Codes] | None = None
        self._error: CxError | None = None
        self._computed = False

    # ------------------------------------------------------------------------------------------ matching
    def serves_panel(
        self,
        contacts: ir.Table | ValidatedTable,
        customers: ir.Table | ValidatedTable,
        *,
        threshold_s: float,
        repeat_window_days: float,
        end: str | pd.Timestamp | None,
    ) -> bool:
        """Whether this pass holds the panel's monthly sums for these arguments."""
        same_end = (self.end is None) if end is None else (self.end == pd.Timestamp(end))
        return (
            same_end
            and float(threshold_s) == self.threshold_s
            and float(repeat_window_days) == self.panel_repeat_window_days
            and _expr(contacts).equals(self.contacts)
            and _expr(customers).equals(self.customers)
            and self._compute() is not None
        )

    # ------------------------------------------------------------------------------------------ results
    def panel_monthly(self) -> tuple[ir.Table, ir.Table, ir.Table]:
        """(monthly sums, the panel's contacts, customers) — as :func:`customer_panel` builds them.

        Raises
        ------
        DataValidationError
            Duplicate customer ids (the panel's own error).
        """
        state = self._compute()
        if state is None:
            if self._error is not None:
                raise self._error
            raise RuntimeError("the contact pass does not apply to these tables; check serves_panel() first")
        return state[0], state[1], state[2]

    def failure_demand_fine(self, repeat_window_days: float) -> tuple[ir.Table, _Codes] | None:
        """Failure demand's fine aggregate and codes, or None when failure demand must classify on its own
        (another window, unknown customers, duplicate customer ids, no file rows)."""
        if float(repeat_window_days) != self.repeat_window_days:
            return None
        state = self._compute()
        if state is None or state[3] is None:
            return None
        return state[3], state[4]

    def failure_demand_for(self, contacts: ir.Table | ValidatedTable) -> bool:
        """Whether ``contacts`` are the contacts of this pass."""
        return _expr(contacts).equals(self.contacts)

    # ------------------------------------------------------------------------------------------ computing
    def _compute(self) -> tuple[ir.Table, ir.Table, ir.Table, ir.Table | None, _Codes] | None:
        if not self._computed:
            self._computed = True
            try:
                self._state = self._run()
            except (
                CxError
            ) as exc:  # e.g. duplicate customer ids: the panel raises it, failure demand goes alone
                self._error = exc
        return self._state

    def _run(self) -> tuple[ir.Table, ir.Table, ir.Table, ir.Table | None, _Codes] | None:
        return _both_aggregates(
            self.engine,
            self.contacts,
            self.customers,
            threshold_s=self.threshold_s,
            panel_repeat_window_days=self.panel_repeat_window_days,
            repeat_window_days=self.repeat_window_days,
            end=self.end,
        )


def _both_aggregates(
    engine: Engine,
    con: ir.Table,
    customers: ir.Table,
    *,
    threshold_s: float,
    panel_repeat_window_days: float,
    repeat_window_days: float,
    end: pd.Timestamp | None,
) -> tuple[ir.Table, ir.Table, ir.Table, ir.Table | None, _Codes] | None:
    """The cached aggregate of both (module docstring): (panel monthly sums, the panel's contacts, customers,
    failure demand's fine aggregate or None, codes); None when there is no integer key."""
    import ibis

    codes = _codes(engine, con)
    if codes is None:  # no file rows / no contacts / too many rows: each computes on its own
        return None
    fd = encode_contacts(con, codes)
    c, cust = _panel_inputs(
        engine,
        con,
        customers,
        end=end,
        extra={"handle_s": fd["handle_s"], "__code": fd["__code"], "__chan": fd["__chan"]},
    )
    joined = _with_status(c, cust)
    # narrow: every column below goes through both sorts
    narrow = joined.select(
        customer_key=joined.customer_key,
        __status=joined.__status,
        timestamp=joined.timestamp,
        **{ROW_COLUMN: joined[ROW_COLUMN].cast("int64")},
        resolved_first_contact=joined.resolved,
        phone=joined.phone,
        abandoned=joined.abandoned,
        wait_s=joined.wait_s,
        handle_s=joined.handle_s,
        __code=joined.__code,
        __chan=joined.__chan,
    )
    panel_window = _window(panel_repeat_window_days)

    def panel_flag(t: ir.Table, w: Any, prev_ts: Any) -> dict[str, Any]:
        prev_inside = t.__status.lag().over(w) == 0
        repeat = (t.__status == 0) & prev_inside & (t.timestamp <= prev_ts + panel_window)
        return {"__panel_repeat": ibis.coalesce(repeat, False)}

    keyed = _classify(
        narrow,
        "customer_key",
        repeat_window_days=repeat_window_days,
        root_key=integer_root_key(codes),
        extra=panel_flag,
    )
    twice = keyed.mutate(__g=ibis.array([0, 1]).unnest())
    is_panel, is_fd = twice.__g == 0, twice.__g == 1

    def only(condition: Any, value: Any) -> Any:
        return ibis.ifelse(condition, value, ibis.null().cast(value.type()))

    keys: dict[str, Any] = {
        "__g": twice.__g,
        "month": month_index(twice.timestamp),
        "customer_key": only(is_panel, twice.customer_key),
        "__status": only(is_panel, twice.__status),
    }
    fine_twice = fine_columns(twice, codes)
    for name in _FINE_KEYS:
        if name != "period":
            keys["fd_" + name] = only(is_fd, fine_twice[name])
    marked = twice.mutate(
        repeat=twice.__panel_repeat,
        resolved=twice.resolved_first_contact,
    )
    sums = _monthly_sums(marked, threshold_s)
    both = marked.group_by(**keys).aggregate(fd_handle_s=marked.handle_s.sum(), **sums)
    both = engine.cache(both)
    panel_rows = both.filter(both.__g == 0)
    monthly = panel_rows.select(
        customer_key=panel_rows.customer_key,
        contact_p=panel_rows.month,
        __status=panel_rows.__status,
        **{name: panel_rows[name] for name in _PANEL_SUMS},
    )
    unknown = engine.execute(monthly.filter(monthly.__status == 2).count())
    fd_rows = both.filter(both.__g == 1)
    fd_fine: ir.Table | None = fd_rows.select(
        period=fd_rows.month,
        **{name: fd_rows["fd_" + name] for name in _FINE_KEYS if name != "period"},
        contacts=fd_rows.contacts,
        handle_s=fd_rows.fd_handle_s,
    )
    if int(unknown):  # chains of unknown customers' contacts would share one partition
        fd_fine = None
    return monthly, c, cust, fd_fine, codes


def contact_pass(
    engine: Engine,
    contacts: ir.Table | ValidatedTable,
    customers: ir.Table | ValidatedTable,
    *,
    threshold_s: float = 20.0,
    panel_repeat_window_days: float = 7.0,
    repeat_window_days: float = 7.0,
    end: str | pd.Timestamp | None = None,
) -> ContactPass:
    """The shared window pass of the customer panel and failure demand (lazy; see the module docstring).

    Parameters
    ----------
    engine : Engine
    contacts, customers : ibis Table or ValidatedTable
        Validated ``contacts`` and ``customers``.
    threshold_s : float
        The panel's service-level threshold (seconds).
    panel_repeat_window_days : float
        The panel's repeat window (days; :func:`customer_panel`'s ``repeat_window_days``).
    repeat_window_days : float
        Failure demand's repeat window (days).
    end : str or Timestamp, optional
        The panel's data end (as for :func:`customer_panel`).

    Returns
    -------
    ContactPass
        Pass it as ``shared=`` to :func:`customer_panel` and :func:`failure_demand_groups`.

    Examples
    --------
    >>> shared = contact_pass(engine, contacts, customers, threshold_s=20, repeat_window_days=7)  # doctest: +SKIP
    >>> panel = customer_panel(engine, contacts, customers, threshold_s=20, shared=shared)  # doctest: +SKIP
    >>> fd = failure_demand_groups(engine, contacts, reasons, repeat_window_days=7, shared=shared)  # doctest: +SKIP
    """
    return ContactPass(
        engine,
        contacts,
        customers,
        threshold_s=threshold_s,
        panel_repeat_window_days=panel_repeat_window_days,
        repeat_window_days=repeat_window_days,
        end=end,
    )
