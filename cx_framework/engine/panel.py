"""Customer × month panel and the service-level ↔ churn logit, computed in the engine.

:func:`customer_panel` is :func:`cx_framework.retention.build_customer_panel` as one ibis expression (same rows,
same columns, same numbers), so 17M contacts never reach pandas. :func:`fit_retention_engine` fits the grouped
binomial logit of :func:`cx_framework.retention.fit_retention` on aggregates only:

1. the sample (at-risk customer-months with a known exposure) is grouped by distinct design row in the engine:
   (exposure, controls) → trials, events — the logit likelihood depends on the data only through these, so the
   point estimates are exactly those of the row-level fit;
2. pandas/statsmodels fit the GLM on those few thousand groups;
3. the customer-clustered sandwich needs, per customer, the score Σ x_g (y − p_g) over the customer's rows. The
   fitted p_g and design rows x_g (G small rows) go back into the engine, are joined to the sample rows by group,
   summed per customer and multiplied out there: only the K × K "meat" Σ_c s_c s_cᵀ comes back. With the same
   small-sample correction G/(G−1)·(N−1)/(N−K) this is the covariance statsmodels' ``cov_type="cluster"`` gives.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cx_framework.engine.core import ROW_COLUMN, Engine
from cx_framework.engine.validation import ValidatedTable
from cx_framework.errors import DataValidationError, InputValueError, StatisticalWarning

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from cx_framework.engine.contact_pass import ContactPass


__all__ = ["customer_panel", "month_index", "month_start"]


def _expr(table: ir.Table | ValidatedTable) -> ir.Table:
    return table.expr if isinstance(table, ValidatedTable) else table


def month_index(ts: Any) -> Any:
    """Calendar months since 1970-01 of a timestamp expression (the numpy ``datetime64[M]`` index)."""
    return (ts.year().cast("int64") - 1970) * 12 + ts.month().cast("int64") - 1


def month_start(index: Any) -> Any:
    """Month-start timestamp of a month index (inverse of :func:`month_index`)."""
    import ibis

    year = (index // 12 + 1970).cast("int32")
    month = (index % 12 + 1).cast("int32")
    return ibis.date(year, month, 1).cast("timestamp")


def _window(days: float) -> Any:
    import ibis

    micro = int(round(days * 86_400 * 1_000_000))
    if micro % 1_000_000 == 0:
        return ibis.interval(micro // 1_000_000, unit="s")
    return ibis.interval(micro, unit="us")


def customer_panel(
    engine: Engine,
    contacts: ir.Table | ValidatedTable,
    customers: ir.Table | ValidatedTable,
    *,
    threshold_s: float = 20.0,
    repeat_window_days: float = 7.0,
    end: str | pd.Timestamp | None = None,
    months: str = "all",
    shared: ContactPass | None = None,
) -> ir.Table:
    """The customer × month panel of :func:`cx_framework.retention.build_customer_panel` as an ibis expression.

    Parameters
    ----------
    engine : Engine
    contacts, customers : ibis Table or ValidatedTable
        Validated ``contacts`` and ``customers`` (:func:`cx_framework.engine.validate_table`).
    threshold_s, repeat_window_days, end
        As for :func:`~cx_framework.retention.build_customer_panel`.
    months : {"all", "with_calls"}
        ``"all"``: every customer and active month (the pandas panel). ``"with_calls"``: only the customer-months
        with at least one phone call — exactly the rows that carry a service-level exposure, so a lag-0 retention
        fit on it is the fit on the full panel, without building the customer × month skeleton (most
        customer-months have no call).
    shared : ContactPass, optional
        The contact pass shared with failure demand (:func:`cx_framework.engine.contact_pass.contact_pass`): its
        monthly sums are used when it was made for the same tables, ``threshold_s``, ``repeat_window_days`` and
        ``end`` (one sort of the contacts for both); otherwise the panel makes its own.

    Returns
    -------
    ibis Table
        Lazy; columns :data:`cx_framework.retention.PANEL_COLUMNS` (``customer_id``, ``segment``, ``product``
        as text; no particular row order) and ``customer_key`` (an integer per customer: cluster on it, it groups
        faster than the text id). Execute only aggregates of it: the panel has one row per customer and
        active month.

    Raises
    ------
    DataValidationError
        Duplicate customer ids or contacts for unknown customers (first rows in ``err.failures``).
    InputValueError
        ``threshold_s`` negative.

    Warns
    -----
    StatisticalWarning
        Contacts outside their customer's active months (left out, as in pandas).
    """
    import ibis

    if not np.isfinite(threshold_s) or threshold_s < 0:
        raise InputValueError(
            f"argument 'threshold_s' must be a finite number of seconds >= 0; got {threshold_s!r}.",
            argument="threshold_s",
        )
    if months not in ("all", "with_calls"):
        raise InputValueError(f"months must be 'all' or 'with_calls'; got {months!r}", argument="months")
    if shared is not None and shared.serves_panel(
        contacts, customers, threshold_s=threshold_s, repeat_window_days=repeat_window_days, end=end
    ):
        monthly, c, cust = shared.panel_monthly()
    else:
        c, cust = _panel_inputs(engine, contacts, customers, end=end)
        joined = _with_status(c, cust)
        w = ibis.window(group_by=[joined.customer_key, joined.__status], order_by=joined.timestamp)
        prev = joined.timestamp.lag().over(w)
        marked = joined.mutate(
            repeat=ibis.coalesce(joined.timestamp <= prev + _window(repeat_window_days), False),
        )
        monthly = marked.group_by(["customer_key", "contact_p", "__status"]).aggregate(
            **_monthly_sums(marked, threshold_s)
        )
        # one pass over the contacts: later queries (groups, cluster scores, figures) read the monthly sums
        monthly = engine.cache(monthly)
    return _panel_from_monthly(engine, monthly, c, cust, months=months)


def _panel_inputs(
    engine: Engine,
    contacts: ir.Table | ValidatedTable,
    customers: ir.Table | ValidatedTable,
    *,
    end: str | pd.Timestamp | None,
    extra: dict[str, Any] | None = None,
) -> tuple[ir.Table, ir.Table]:
    """The contacts' panel columns (+ ``extra`` expressions over the contacts) and the customers with their
    integer key, start and last active month (``last_p``: churn month or the data end).

    Raises
    ------
    DataValidationError
        Duplicate customer ids.
    """
    import ibis

    con, cus = _expr(contacts), _expr(customers)
    big = ibis.literal(np.iinfo(np.int64).max, type="int64")
    key = cus[ROW_COLUMN].cast("int64") if ROW_COLUMN in cus.columns else ibis.row_number().cast("int64")
    cust = cus.select(
        customer_key=key,
        customer_id=cus.customer_id,
        segment=cus.segment,
        product=cus["product"],
        monthly_revenue=cus.monthly_revenue,
        start_p=month_index(cus.start_date),
        churn_p=ibis.ifelse(cus.churn_date.isnull(), big, month_index(cus.churn_date)),
        churn_seen=cus.churn_date.notnull(),
    )
    dup = cust.group_by("customer_id").aggregate(n=cust.count()).filter(lambda g: g.n > 1)
    n_dup = int(engine.execute(dup.count()))
    if n_dup:
        rows = cus.filter(cus.customer_id.isin(dup.customer_id)).order_by(ROW_COLUMN).limit(20)
        first = (
            engine.execute(rows.select(r=rows[ROW_COLUMN], v=rows.customer_id))
            if ROW_COLUMN in cus.columns
            else None
        )
        raise DataValidationError(
            f"table 'customers': column 'customer_id' has {n_dup} duplicated id(s); each customer must appear once.",
            failures=None if first is None else _fail("customers", "customer_id", "unique", first),
            table="customers",
        )
    c = con.select(
        customer_id=con.customer_id,
        timestamp=con.timestamp,
        contact_p=month_index(con.timestamp),
        phone=con.channel == "phone",
        abandoned=con.abandoned,
        wait_s=con.wait_s,
        resolved=con.resolved_first_contact,
        **({ROW_COLUMN: con[ROW_COLUMN]} if ROW_COLUMN in con.columns else {}),
        **(extra or {}),
    )
    if end is not None:
        ts = pd.Timestamp(end)
        end_expr: Any = ibis.literal((ts.year - 1970) * 12 + ts.month - 1, type="int64")
    else:
        bounds = engine.execute(
            cust.aggregate(
                s=cust.start_p.max(),
                ch=ibis.ifelse(cust.churn_seen, cust.churn_p, ibis.null().cast("int64")).max(),
            )
        ).iloc[0]
        top = engine.execute(c.aggregate(m=c.contact_p.max()))["m"].iloc[0]
        candidates = [int(v) for v in (bounds["s"], bounds["ch"], top) if v is not None and not pd.isna(v)]
        end_expr = ibis.literal(max(candidates), type="int64")
    cust = cust.mutate(last_p=ibis.least(cust.churn_p, end_expr))

    return c, cust


def _with_status(c: ir.Table, cust: ir.Table) -> ir.Table:
    """``c`` left-joined to its customer's key and life: ``__status`` 0 inside the active months, 1 outside,
    2 unknown customer.

    ONE join and one window pass over the contacts: the contacts of unknown customers (no key) and those outside
    their customer's active months are kept in their own groups of the cached monthly sums (counted there for the
    error and the warning) and in their own window partition (or, in the shared pass, a lag that requires the
    previous contact inside too), so the repeat flags of the contacts inside are those of a pass over the inside
    contacts alone.
    """
    import ibis

    life = cust.select(
        __cid=cust.customer_id, customer_key=cust.customer_key, start_p=cust.start_p, last_p=cust.last_p
    )
    joined = c.left_join(life, c.customer_id == life.__cid)
    known_customer = joined.customer_key.notnull()
    in_life = ibis.coalesce(
        known_customer & (joined.contact_p >= joined.start_p) & (joined.contact_p <= joined.last_p), False
    )
    return joined.mutate(__status=ibis.ifelse(in_life, 0, ibis.ifelse(known_customer, 1, 2)).cast("int8"))


def _monthly_sums(marked: ir.Table, threshold_s: float) -> dict[str, Any]:
    """Aggregates of the monthly sums (columns ``phone, abandoned, wait_s, repeat, resolved`` of ``marked``)."""
    import ibis

    phone = marked.phone
    within = phone & ~marked.abandoned & (marked.wait_s <= float(threshold_s))
    return {
        "contacts": marked.count(),
        "calls": phone.cast("int64").sum(),
        "answered_within_threshold": within.cast("int64").sum(),
        "abandoned": (phone & marked.abandoned).cast("int64").sum(),
        "wait_sum": ibis.ifelse(phone, marked.wait_s, 0.0).sum(),
        "repeat_contacts": marked.repeat.cast("int64").sum(),
        "unresolved_contacts": (~marked.resolved).cast("int64").sum(),
    }


def _panel_from_monthly(
    engine: Engine, monthly: ir.Table, c: ir.Table, cust: ir.Table, *, months: str
) -> ir.Table:
    """The panel from the cached monthly sums (``customer_key, contact_p, __status`` + :func:`_monthly_sums`):
    the unknown-customer error, the outside-life warning, then the rows."""
    import ibis

    status = engine.execute(monthly.group_by("__status").aggregate(n=monthly.contacts.sum()))
    outside = {int(k): int(v) for k, v in zip(status["__status"], status["n"], strict=True)}
    n_unknown, n_out = outside.get(2, 0), outside.get(1, 0)
    if n_unknown:
        engine.release(monthly)
        unknown = c.anti_join(cust, "customer_id")
        first = (
            engine.execute(
                unknown.order_by(ROW_COLUMN).limit(20).select(r=unknown[ROW_COLUMN], v=unknown.customer_id)
            )
            if ROW_COLUMN in c.columns
            else None
        )
        raise DataValidationError(
            f"table 'contacts': column 'customer_id' has {n_unknown} contact(s) for customers not in 'customers'; "
            "add the customers or drop those contacts.",
            failures=None if first is None else _fail("contacts", "customer_id", "customer exists", first),
            table="contacts",
        )
    if n_out:
        warnings.warn(
            f"{n_out} contact(s) fall outside their customer's active months (before the start month or after the "
            "churn month / data end) and are not in the panel.",
            StatisticalWarning,
            stacklevel=3,  # the caller of customer_panel
        )
    per_month = monthly.filter(monthly.__status == 0).drop("__status")

    zero = ibis.literal(0, type="int64")
    if months == "with_calls":
        called = per_month.filter(per_month.calls > 0)
        rows = called.join(cust, called.customer_key == cust.customer_key).select(
            customer_key=called.customer_key,
            customer_id=cust.customer_id,
            month=called.contact_p,
            tenure_months=called.contact_p - cust.start_p,
            contacts=called.contacts,
            calls=called.calls,
            answered_within_threshold=called.answered_within_threshold,
            abandoned=called.abandoned,
            wait_sum=called.wait_sum,
            repeat_contacts=called.repeat_contacts,
            unresolved_contacts=called.unresolved_contacts,
            segment=cust.segment,
            product=cust["product"],
            monthly_revenue=cust.monthly_revenue,
            churn_p=cust.churn_p,
            last_p=cust.last_p,
        )
        calls = rows.calls
        return rows.select(
            customer_id=rows.customer_id,
            period=month_start(rows.month),
            contacts=rows.contacts,
            calls=calls,
            answered_within_threshold=rows.answered_within_threshold,
            abandoned=rows.abandoned,
            mean_wait_s=rows.wait_sum / calls,
            service_level=rows.answered_within_threshold / calls,
            repeat_contacts=rows.repeat_contacts,
            unresolved_contacts=rows.unresolved_contacts,
            has_calls=calls > 0,
            tenure_months=rows.tenure_months.cast("int64"),
            segment=rows.segment,
            product=rows["product"],
            monthly_revenue=rows.monthly_revenue,
            churned=rows.churn_p == rows.month + 1,
            at_risk=rows.month < rows.last_p,
            customer_key=rows.customer_key,
        )

    n_months = ibis.greatest(cust.last_p - cust.start_p + 1, 0)
    skeleton = cust.mutate(tenure_months=ibis.range(0, n_months).unnest())
    skeleton = skeleton.mutate(month=skeleton.start_p + skeleton.tenure_months)
    panel = skeleton.left_join(
        per_month,
        [skeleton.customer_key == per_month.customer_key, skeleton.month == per_month.contact_p],
    )
    calls = panel.calls.fill_null(0)
    return panel.select(
        customer_id=panel.customer_id,
        period=month_start(panel.month),
        contacts=panel.contacts.fill_null(zero),
        calls=calls,
        answered_within_threshold=panel.answered_within_threshold.fill_null(zero),
        abandoned=panel.abandoned.fill_null(zero),
        mean_wait_s=ibis.ifelse(calls > 0, panel.wait_sum / calls, ibis.null().cast("float64")),
        service_level=ibis.ifelse(
            calls > 0, panel.answered_within_threshold / calls, ibis.null().cast("float64")
        ),
        repeat_contacts=panel.repeat_contacts.fill_null(zero),
        unresolved_contacts=panel.unresolved_contacts.fill_null(zero),
        has_calls=calls > 0,
        tenure_months=panel.tenure_months.cast("int64"),
        segment=panel.segment,
        product=panel["product"],
        monthly_revenue=panel.monthly_revenue,
        churned=panel.churn_p == panel.month + 1,
        at_risk=panel.month < panel.last_p,
        customer_key=panel.customer_key,
    )


def _fail(table: str, column: str, check: str, first: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "table": table,
            "column": column,
            "check": check,
            "row": pd.array(first["r"].to_numpy(), dtype="Int64"),
            "value": first["v"].to_numpy(dtype=object),
        }
    )
