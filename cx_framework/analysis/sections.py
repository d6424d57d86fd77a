"""The sections of an :class:`~cx_framework.analysis.Analysis`: each calls its engines once, with the assumptions
of ``assumptions.yaml`` and the economics of ``economics.yaml`` — never with a code default of its own — and
returns its result, headline figures and small frames.

Shared resolutions (used by every section, so every surface agrees):

* **current scheme** — ``assumptions.current_scheme``; when unset, the scheme with the largest total conflict
  severity (the one whose replacement is evaluated), with a caveat saying so.
* **as_of** — ``assumptions.as_of`` (``YYYY-MM``) or ``latest_complete``: the latest month whose later data is
  observed (``cx_framework.maturity.latest_complete_period`` when available, else the month before the last month
  of ``department_metrics``, because next-month churn of the last month cannot be observed yet).
* **forecast window** — the ``baseline_months`` months of intervals ending with the as_of month; staffing, the
  budget gap and the optimal service level all use it.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cx_framework import figures as F
from cx_framework._tables import REQUIRED_TABLES
from cx_framework.analysis.core import SectionResult, _Unavailable, section
from cx_framework.conflicts.behaviour import BEHAVIOUR_TABLES

if TYPE_CHECKING:
    from cx_framework.analysis.core import Analysis

__all__ = [
    "ASSUMPTION_LABELS",
    "EvidenceSection",
    "conflict_evidence",
    "behaviour_interval_of",
    "payout_inputs",
    "scheme_payouts",
    "RetentionSection",
    "StaffingSection",
    "as_of",
    "as_of_text",
    "current_scheme",
    "forecast",
    "forecast_window",
    "forecast_window_text",
    "scheme_name",
]

#: Human labels of :meth:`Analysis.assumptions_dict` keys, in display order.
ASSUMPTION_LABELS: dict[str, str] = {
    "current_scheme": "Scheme in force",
    "as_of": "Reporting month",
    "forecast_window": "Forecast window",
    "service_level_definition": "Service-level definition",
    "service_level_target": "Service-level target",
    "answer_s": "Answer within",
    "shrinkage": "Shrinkage",
    "retention_model": "Retention model",
    "retention_dose": "Service-level effect shape",
    "retention_lag": "Months from service to churn",
    "sla_lead_times": "Stage lead times from",
    "effort_budget": "Behaviour effort budget",
    "evidence_draws": "Causal-graph draws behind conflict intervals",
    "behaviour_draws": "Causal-graph draws behind behaviour-value intervals",
    "seed": "Random seed",
}

_SL_DEFINITIONS = {
    "offered": "answered within threshold / offered",
    "answered": "answered within threshold / answered",
    "excl_short_abandons": "answered within threshold / (offered − short abandons)",
}


# ------------------------------------------------------------------------------------------------ resolutions
def current_scheme(a: Analysis) -> str | None:
    """Id of the scheme in force (see the module docstring)."""

    def resolve() -> str | None:
        configured = a.assumptions.current_scheme
        if configured is not None or not a.config.schemes:
            return configured
        matrix = a.result("conflicts")
        severity = matrix[matrix["conflict"]].groupby("scheme")["severity"].sum()
        return str(severity.idxmax()) if len(severity) else sorted(a.config.schemes)[0]

    return a.resolved("current_scheme", resolve)  # type: ignore[no-any-return]


def scheme_name(a: Analysis, scheme_id: str) -> str:
    scheme = a.config.schemes.get(scheme_id)
    return scheme.name if scheme is not None else scheme_id


def as_of(a: Analysis) -> pd.Timestamp:
    """The reporting month (month start)."""

    def resolve() -> pd.Timestamp:
        rule = a.assumptions.as_of
        if rule != "latest_complete":
            return pd.Timestamp(rule + "-01")
        tables = a.tables
        try:
            from cx_framework import maturity  # truthcontent's time-maturity rules
        except ImportError:
            maturity = None  # type: ignore[assignment]
        if maturity is not None and "department_metrics" in tables:
            return pd.Timestamp(maturity.latest_complete_period(tables, a.config))
        for name, column in (("department_metrics", "period"), ("intervals", "interval_start")):
            if name in tables and len(tables[name]):
                months = (
                    pd.to_datetime(tables[name][column]).dt.to_period("M").drop_duplicates().sort_values()
                )
                # the last month's next-month outcomes (churn) are not observed yet
                month = months.iloc[-2] if len(months) >= 2 else months.iloc[-1]
                return month.to_timestamp()
        raise _Unavailable("the reporting month needs department_metrics or intervals", section="as_of")

    return a.resolved("as_of", resolve)  # type: ignore[no-any-return]


def as_of_text(a: Analysis) -> str:
    try:
        return f"{as_of(a):%Y-%m}"
    except _Unavailable:
        return "not available"


def forecast_window(a: Analysis) -> tuple[pd.Timestamp, pd.Timestamp]:
    """(first month start, last month start) of the forecast window."""
    end = as_of(a)
    start = end - pd.DateOffset(months=a.assumptions.baseline_months - 1)
    return pd.Timestamp(start), end


def forecast_window_text(a: Analysis) -> str:
    try:
        start, end = forecast_window(a)
    except _Unavailable:
        return "not available"
    return f"{start:%Y-%m}/{end:%Y-%m}"


def window_intervals(a: Analysis) -> pd.DataFrame:
    """The intervals of the forecast window (all columns)."""

    def compute() -> pd.DataFrame:
        start, end = forecast_window(a)
        iv = a.tables["intervals"]
        ts = pd.to_datetime(iv["interval_start"])
        stop = end + pd.DateOffset(months=1)
        return iv.loc[(ts >= start) & (ts < stop)].reset_index(drop=True)

    return a.resolved("window_intervals", compute)  # type: ignore[no-any-return]


def forecast(a: Analysis) -> pd.DataFrame:
    """The forecast frame of the window (``interval_start, queue, offered, aht_s, agents_staffed``; AHT filled
    where nothing was answered), as :func:`cx_framework.actions.recent_forecast` builds it."""
    from cx_framework.actions import recent_forecast

    return a.resolved(  # type: ignore[no-any-return]
        "forecast", lambda: recent_forecast(window_intervals(a), months=a.assumptions.baseline_months)
    )


def _month(ts: pd.Timestamp) -> str:
    return f"{ts:%Y-%m}"


# ------------------------------------------------------------------------------------------------ scorecard
@section(
    "scorecard",
    needs=("department_metrics",),
    optional=("employee_metrics", "employees"),
    label="Scorecard",
)
def _scorecard(a: Analysis) -> SectionResult:
    from cx_framework.scorecard import score

    t = a.tables
    both = "employee_metrics" in t and "employees" in t
    result = score(
        t["department_metrics"],
        a.config,
        employee_metrics=t["employee_metrics"] if both else None,
        employees=t["employees"] if both else None,
        validate=False,
    )
    period = as_of(a)
    if period not in set(result.periods):
        if a.assumptions.as_of != "latest_complete":
            from cx_framework.errors import InputValueError

            raise InputValueError(
                f"as_of {a.assumptions.as_of} is not in the data; department_metrics covers "
                f"{min(result.periods):%Y-%m} to {max(result.periods):%Y-%m}",
                argument="as_of",
            )
        period = max(result.periods)
    figures = result.key_figures(period)
    ms = result.metric_scores
    frames = {
        "metric_scores": ms,
        "department_scores": result.department_scores,
        "shared_scores": result.shared_scores,
        "alignment": result.alignment,
        "exceptions": result.exceptions,
    }
    return SectionResult(result=result, figures=figures, frames=frames)


# ------------------------------------------------------------------------------------------------ payouts
def _clawed(schemes: Any) -> list[Any]:
    """The schemes (of an iterable) with a customer clawback in any component or plan version."""
    out = []
    for scheme in schemes:
        components = [*scheme.components, *(c for v in scheme.versions for c in (v.components or []))]
        if any(c.clawback is not None for c in components):
            out.append(scheme)
    return out


def payout_inputs(a: Analysis, schemes: Any) -> tuple[dict[str, Any], list[str]]:
    """(``sales=``/``customers=`` keyword arguments, notes) for computing ``schemes`` on the Analysis' data.

    Schemes with a retention clawback need the credited sales (:func:`cx_framework.incentives.credited_sales`:
    a ``sales`` ledger in the data directory, else the sale contacts) and the customers' churn dates — the same
    inputs for the payouts section, ``cx payouts``, ``cx statements``, the report's workbook and the app's
    modeller, so a clawback is the same amount on every surface. When they are missing the payouts are computed
    without the clawback and a note says so (never silently).
    """
    from cx_framework.incentives import credited_sales

    clawed = _clawed(schemes)
    if not clawed:
        return {}, []
    t = a.tables
    customers: Any = None
    if a.uses_engine:
        sales = None
        if a.has("customers"):
            # what credited_sales gives, with the sale contacts (and below their customers) picked in the engine
            if "sales" in t:
                sales = t["sales"]
            elif a.engine_table("contacts") is not None:
                sales = _engine_sales(a, _longest_window(clawed))
            else:
                from cx_framework.incentives.sales import read_sales

                sales = read_sales(a.data_dir)
        if sales is not None:
            customers = _engine_sale_customers(a, sales)
    else:
        sales = credited_sales(t, directory=a.data_dir)
        customers = t["customers"] if sales is not None else None
    if sales is None:
        names = ", ".join(s.name for s in clawed)
        return {}, [
            f"Retention clawbacks of {names} not applied: they need table customers and credited sales (a sales "
            "ledger beside the data, or contacts to derive them from)"
        ]
    return {"sales": sales, "customers": customers}, []


def _engine_sale_customers(a: Analysis, sales: pd.DataFrame) -> pd.DataFrame:
    """``customer_id, churn_date`` of the customers named by ``sales``, picked in the engine (a clawback reads
    only their churn dates; a sale naming an unknown customer is still reported by the payouts' check)."""
    from cx_framework.engine import ROW_COLUMN

    cu = a.engine_table("customers").expr
    ids = pd.DataFrame({"customer_id": pd.unique(sales["customer_id"].astype(str).to_numpy())})
    named = a.engine.from_frame(ids, name="sale_customers").select("customer_id")
    picked = cu.semi_join(named, cu.customer_id == named.customer_id).order_by(ROW_COLUMN)
    return a.engine.execute(picked.select("customer_id", "churn_date"))  # type: ignore[no-any-return]


def _longest_window(schemes: list[Any]) -> int:
    """The longest clawback window (days) of any component or plan version of ``schemes``."""
    windows = [
        c.clawback.window_days
        for scheme in schemes
        for c in [*scheme.components, *(c for v in scheme.versions for c in (v.components or []))]
        if c.clawback is not None
    ]
    return int(max(windows, default=0))


def _engine_sales(a: Analysis, window_days: int | None = None) -> pd.DataFrame:
    """Credited sales on DuckDB/Spark: a sales ledger beside the data when there, else the sale contacts picked
    in the engine (answered, a sale reason, an agent) — only those rows reach pandas.

    With ``window_days`` (the longest clawback window of the schemes computed) only the sales a clawback can
    reverse come back: those whose customer churned from a day before to ``window_days`` + 2 days after the sale
    (a superset of "0 <= churn day - sale day <= window"; the payouts compute the exact days), and those naming
    an unknown customer (the payouts' check reports them). A sale outside every window changes no payout, and
    on 200M contacts the sale rows alone would be several GB in pandas."""
    import ibis

    from cx_framework.engine import ROW_COLUMN
    from cx_framework.incentives.sales import SALE_REASONS, read_sales, sales_from_contacts

    ledger = read_sales(a.data_dir)
    if ledger is not None:
        return ledger
    c = a.engine_table("contacts").expr
    picked = c.filter(c.reason.isin(list(SALE_REASONS)) & ~c.abandoned & c.agent_id.notnull())
    columns = ["contact_id", "customer_id", "timestamp", "reason", "abandoned", "agent_id"]
    if window_days is not None and a.has("customers"):
        cu = a.engine_table("customers").expr
        life = cu.select(__cid=cu.customer_id, __churn=cu.churn_date)
        joined = picked.left_join(life, picked.customer_id == life.__cid)
        soon = (
            joined.__churn.notnull()
            & (joined.__churn >= joined.timestamp - ibis.interval(days=1))
            & (joined.__churn <= joined.timestamp + ibis.interval(days=int(window_days) + 2))
        )
        picked = joined.filter(joined.__cid.isnull() | soon).select(*columns, ROW_COLUMN)
    picked = picked.order_by(ROW_COLUMN)
    return sales_from_contacts(a.engine.execute(picked.select(*columns)))


def scheme_payouts(a: Analysis, scheme: Any) -> pd.DataFrame:
    """What ``scheme`` pays per employee and period on the Analysis' data: the payouts section's frame for a
    configured scheme, else computed with the same inputs (retention clawbacks included). Individual pay: the
    Analysis' ``authorize`` hook is asked first."""
    from cx_framework.incentives import compute_payouts

    comparison = a.result("payouts")  # authorizes (personal section) and names a missing table
    configured = a.config.schemes.get(scheme.id)
    if configured is not None and configured == scheme:
        return comparison.payouts[scheme.id]  # type: ignore[no-any-return]
    t = a.tables
    kwargs, _ = payout_inputs(a, [scheme])
    return compute_payouts(
        t["employee_metrics"], t["employees"], scheme, config=a.config, validate=False, **kwargs
    )


def _payout_frames_for(
    frames: dict[str, pd.DataFrame], viewer: Any, a: Any = None
) -> dict[str, pd.DataFrame]:
    """The payouts section's frames as ``viewer`` may see them, for everyone outside HR: winners and losers with
    groups of fewer than the viewer's ``min_group_size`` employees merged (:func:`access.restrict_groups`); the
    cost, budget share, attainment and customer share of a scheme paying fewer than that many employees withheld
    (``summary``, column ``suppressed``), and so are per-period totals of too few employees (``cost``)."""
    from cx_framework.access import restrict_groups, sees_every_group
    from cx_framework.incentives.compare import (
        WINNERS_LOSERS_GROUPS,
        withhold_small_periods,
        withhold_small_schemes,
    )

    if "winners_losers" in frames:
        frames["winners_losers"] = restrict_groups(frames["winners_losers"], viewer, **WINNERS_LOSERS_GROUPS)
    if sees_every_group(viewer) or "summary" not in frames:
        return frames
    n = viewer.min_group_size
    summary = frames["summary"]
    paid = dict(zip(summary["scheme"], summary["employees"].astype(int), strict=True))
    baseline = str(summary["scheme"].iloc[0]) if len(summary) else None  # the comparison's first scheme
    frames["summary"] = withhold_small_schemes(summary, paid, n, baseline=baseline)
    if "cost" in frames:
        small = [sid for sid, k in paid.items() if 0 < k < n]
        frames["cost"] = withhold_small_periods(frames["cost"], n, small_schemes=small)
    return frames


def _payout_figures_for(
    figures: list[Any], frames: dict[str, pd.DataFrame], viewer: Any, a: Any = None
) -> list[Any]:
    """The payouts figures as ``viewer`` may see them: a scheme paying fewer than the viewer's
    ``min_group_size`` employees has its figures withheld (value None and the reason) outside HR."""
    from cx_framework.access import sees_every_group, withheld_reason
    from cx_framework.incentives.compare import withhold_scheme_figures

    summary = frames.get("summary")
    if sees_every_group(viewer) or summary is None or not len(summary):
        return figures
    n = viewer.min_group_size
    paid = dict(zip(summary["scheme"], summary["employees"].astype(int), strict=True))
    withheld = {sid: withheld_reason(n) for sid, k in paid.items() if 0 < k < n}
    return withhold_scheme_figures(figures, withheld, baseline=str(summary["scheme"].iloc[0]))


@section(
    "payouts",
    needs=("employee_metrics", "employees"),
    optional=("customers", "contacts"),
    personal=True,
    label="Payouts and scheme comparison",
    personal_frames=("winners_losers",),
    restrict=_payout_frames_for,
    restrict_figures=_payout_figures_for,
    restrict_result=lambda comparison, viewer, a=None: comparison.for_viewer(viewer),
)
def _payouts(a: Analysis) -> SectionResult:
    from cx_framework.incentives import compare_schemes

    if not a.config.schemes:
        raise _Unavailable("no incentive schemes in configs/incentives", section="payouts")
    t = a.tables
    current = current_scheme(a)
    ordered = {current: a.config.schemes[current]} if current else {}
    ordered.update({k: v for k, v in a.config.schemes.items() if k != current})
    sales, notes = payout_inputs(a, ordered.values())
    comparison = compare_schemes(
        t["employee_metrics"], t["employees"], ordered, config=a.config, validate=False, **sales
    )
    figures = comparison.key_figures({sid: scheme_name(a, sid) for sid in ordered})
    summary = comparison.budget.merge(comparison.attainment, on="scheme").merge(
        comparison.customer_share, on="scheme"
    )
    frames = {"summary": summary, "cost": comparison.cost, "winners_losers": comparison.winners_losers}
    return SectionResult(result=comparison, figures=figures, frames=frames, notes=notes)


# ------------------------------------------------------------------------------------------------ conflicts
@section("conflicts", label="Incentive conflicts")
def _conflicts(a: Analysis) -> SectionResult:
    from cx_framework.conflicts.graph import conflict_matrix

    if not a.config.schemes:
        raise _Unavailable("no incentive schemes in configs/incentives", section="conflicts")
    matrix = conflict_matrix(a.config.schemes, a.config)
    cur = a.config.economics.currency
    figures = []
    for sid in a.config.schemes:
        rows = matrix[matrix["scheme"].eq(sid) & matrix["conflict"]]
        parts = {"scheme": sid, "scheme_name": scheme_name(a, sid)}
        figures.append(F.CONFLICT_COUNT.figure(len(rows), currency=cur, **parts))
        figures.append(F.CONFLICT_SEVERITY.figure(float(rows["severity"].sum()), currency=cur, **parts))
    return SectionResult(result=matrix, figures=figures, frames={"matrix": matrix})


def small_schemes(a: Analysis, viewer: Any) -> dict[str, str]:
    """Scheme id → why its pay figures are withheld from ``viewer``: the schemes paying fewer than the viewer's
    ``min_group_size`` employees (none for HR or with access control off; counted on the payouts section)."""
    from cx_framework.access import sees_every_group
    from cx_framework.errors import CxError

    if sees_every_group(viewer):
        return {}
    try:
        comparison = a._result("payouts", check=False)
    except CxError:  # no payouts to count: the behaviour cannot price a scheme either
        return {}
    return comparison.for_viewer(viewer).withheld  # type: ignore[no-any-return]


#: Behaviour-summary columns priced on a scheme's payouts (withheld for a scheme paying too few people)
_BEHAVIOUR_PAY_COLUMNS = ("payout_baseline", "payout_scheme", "net_value", "switching_value")


def _behaviour_frames_for(
    frames: dict[str, pd.DataFrame], viewer: Any, a: Any = None
) -> dict[str, pd.DataFrame]:
    """The behaviour summary as ``viewer`` may see it: a scheme paying fewer than min_group_size employees has
    its payouts and net value withheld outside HR (and every switching value when the scheme in force is one)."""
    from cx_framework.incentives.compare import _blank

    small = small_schemes(a, viewer) if a is not None else {}
    summary = frames.get("summary")
    if not small or summary is None:
        return frames
    out = summary.copy()
    hide = out["scheme"].isin(list(small)).to_numpy()
    _blank(out, hide, _BEHAVIOUR_PAY_COLUMNS)
    reason = next(iter(small.values()))
    out["suppressed"] = np.where(hide, reason, "")
    if current_scheme(a) in small:
        _blank(out, np.ones(len(out), dtype=bool), ["switching_value"])
    out.attrs = {**summary.attrs, "suppression": reason}
    frames["summary"] = out
    return frames


def _behaviour_figures_for(
    figures: list[Any], frames: dict[str, pd.DataFrame], viewer: Any, a: Any = None
) -> list[Any]:
    """The behaviour figures as ``viewer`` may see them: the net value of switching to (or from) a scheme paying
    fewer than min_group_size employees is withheld outside HR."""
    small = small_schemes(a, viewer) if a is not None else {}
    if not small:
        return figures
    today = current_scheme(a)
    out = []
    for fig in figures:
        sid = fig.id.rsplit(".", 1)[-1]
        if fig.id.startswith("behaviour.net_value.") and (sid in small or today in small):
            fig = fig.withhold(small.get(sid) or small[str(today)])
        out.append(fig)
    return out


@section(
    "behaviour",
    needs=BEHAVIOUR_TABLES,
    label="Behaviour simulation",
    restrict=_behaviour_frames_for,
    restrict_figures=_behaviour_figures_for,
)
def _behaviour(a: Analysis) -> SectionResult:
    from cx_framework.actions import switching_value
    from cx_framework.conflicts.behaviour import simulate_behaviour

    if not a.config.schemes:
        raise _Unavailable("no incentive schemes in configs/incentives", section="behaviour")
    tables: Any = a.tables
    if a.uses_engine:  # the customers stay in the engine: the simulation reads them grouped
        names = ("employee_metrics", "employees", "intervals", "department_metrics")
        tables = {name: a.tables[name] for name in names} | {"customers": customers_of(a)}
    results = {
        sid: simulate_behaviour(
            scheme,
            tables,
            a.config,
            seed=a.assumptions.seed,
            effort_budget=a.assumptions.effort_budget,
            baseline_periods=a.assumptions.baseline_months,
            validate=False,
        )
        for sid, scheme in a.config.schemes.items()
    }
    current = current_scheme(a)
    cur = a.config.economics.currency
    window = forecast_window_text(a)
    figures = []
    rows = []
    for sid, r in results.items():
        parts = {"scheme": sid, "scheme_name": scheme_name(a, sid)}
        if current is not None and sid != current:
            figures.append(
                F.BEHAVIOUR_NET_VALUE.figure(
                    switching_value(results[current], r), period=window, currency=cur, **parts
                )
            )
        figures.append(
            F.BEHAVIOUR_KPI_INDEX.figure(float(r.customer_kpi_index), period=window, currency=cur, **parts)
        )
        rows.append(
            {
                "scheme": sid,
                "payout_baseline": float(r.payout_cost["baseline"]),
                "payout_scheme": float(r.payout_cost["scheme"]),
                "customer_kpi_index": float(r.customer_kpi_index),
                "extra_churned_customers": float(r.extra_churned_customers),
                "net_value": float(r.net_value),
                "switching_value": switching_value(results[current], r) if current else math.nan,
            }
        )
    return SectionResult(result=results, figures=figures, frames={"summary": pd.DataFrame(rows)})


# ------------------------------------------------------------------------------------------------ evidence
@dataclass(frozen=True)
class EvidenceSection:
    """Engine results of the evidence section: every edge estimated from history and every conflict with its
    interval (parameter draws of the estimated graph: ``assumptions.evidence_draws``, ``assumptions.seed``)."""

    evidence: Any  # GraphEvidence
    conflicts: pd.DataFrame  # conflict_intervals of every configured scheme (empty without schemes)
    department_conflicts: pd.DataFrame  # conflict_intervals of the departments' local objectives


def conflict_evidence(a: Analysis) -> tuple[pd.DataFrame | None, pd.DataFrame | None, str | None]:
    """(scheme conflicts, department conflicts, reason): the evidence section's conflict frames with their
    intervals, or ``(None, None, why)`` when the evidence cannot run on this data (surfaces show the reason next
    to the conflicts instead of an interval)."""
    from cx_framework.errors import CxError

    try:
        frames = a.frames("evidence")
    except CxError as exc:
        return None, None, str(exc)
    return frames.get("conflicts"), frames.get("department_conflicts"), None


@section("evidence", needs=("department_metrics",), label="Evidence behind the causal graph")
def _evidence(a: Analysis) -> SectionResult:
    from cx_framework.conflicts.evidence import estimate_graph
    from cx_framework.conflicts.uncertainty import conflict_intervals

    dm = a.tables["department_metrics"]
    evidence = estimate_graph(dm, a.config, validate=False)
    draws, seed = a.assumptions.evidence_draws, a.assumptions.seed
    schemes = a.config.schemes
    if schemes:
        conflicts = conflict_intervals(schemes, a.config, evidence, draws=draws, seed=seed)
    else:
        conflicts = pd.DataFrame()
    departments = conflict_intervals(schemes, a.config, evidence, draws=draws, seed=seed, departments=True)
    periods = pd.to_datetime(dm["period"])
    window = f"{periods.min():%Y-%m}/{periods.max():%Y-%m}" if len(periods) else None
    cur = a.config.economics.currency
    counts = evidence.verdict_counts
    figures = [
        F.EVIDENCE_SUPPORTED.figure(counts["supported"], period=window, currency=cur),
        F.EVIDENCE_CONTRADICTED.figure(counts["contradicted"], period=window, currency=cur),
        F.EVIDENCE_NOT_IDENTIFIABLE.figure(counts["not identifiable"], period=window, currency=cur),
    ]
    if len(conflicts):
        certain = int((conflicts["status"] == "certain conflict").sum())
        figures.append(F.EVIDENCE_CERTAIN_CONFLICTS.figure(certain, period=window, currency=cur))
    figures.append(F.EVIDENCE_CANDIDATES.figure(len(evidence.candidates), period=window, currency=cur))
    frames = {
        "edges": evidence.edges,
        "candidates": evidence.candidates,
        "conflicts": conflicts,
        "department_conflicts": departments,
    }
    result = EvidenceSection(evidence=evidence, conflicts=conflicts, department_conflicts=departments)
    return SectionResult(result=result, figures=figures, frames=frames, notes=list(evidence.notes))


def _behaviour_tables(a: Analysis) -> Any:
    """The tables the behaviour simulation reads (as the behaviour section passes them: on DuckDB/Spark the
    customers stay in the engine and are read grouped)."""
    if not a.uses_engine:
        return a.tables
    names = ("employee_metrics", "employees", "intervals", "department_metrics")
    return {name: a.tables[name] for name in names} | {"customers": customers_of(a)}


def _behaviour_kwargs(a: Analysis) -> dict[str, Any]:
    """What the behaviour section passes to ``simulate_behaviour`` (every graph uses the same)."""
    return {
        "seed": a.assumptions.seed,
        "effort_budget": a.assumptions.effort_budget,
        "baseline_periods": a.assumptions.baseline_months,
        "validate": False,
    }


def _intervals_for(frame: pd.DataFrame, viewer: Any, a: Any = None) -> pd.DataFrame:
    """The behaviour values with their intervals as ``viewer`` may see them: outside HR a scheme paying fewer
    than min_group_size employees has its values withheld (and every switching value when the scheme in force
    is one); column ``suppressed`` says why."""
    from cx_framework.incentives.compare import _blank

    small = small_schemes(a, viewer) if a is not None else {}
    if not small:
        return frame
    values = [c for c in frame.columns if c.startswith(("net_value", "estimated_net_value", "switching_"))]
    out = frame.copy()
    hide = out["scheme"].isin(list(small)).to_numpy()
    _blank(out, hide, values)
    if current_scheme(a) in small:
        _blank(out, np.ones(len(out), dtype=bool), [c for c in values if c.startswith("switching_")])
    out["suppressed"] = np.where(hide, next(iter(small.values())), "")
    out.attrs = dict(frame.attrs)
    return out


@section(
    "behaviour_intervals",
    needs=BEHAVIOUR_TABLES,
    label="Behaviour simulation's value with its interval",
    headline=False,
    restrict=lambda frames, viewer, a=None: {
        k: _intervals_for(v, viewer, a) if k == "summary" else v for k, v in frames.items()
    },
    restrict_result=_intervals_for,
)
def _behaviour_intervals(a: Analysis) -> SectionResult:
    """Every scheme's behaviour value (and the value of switching from the scheme in force) with its 95 %
    interval over ``assumptions.behaviour_draws`` draws of the estimated graph; a value is certain only when its
    interval excludes zero (the Conflicts and Incentive pages, ``cx conflicts`` and the report read it)."""
    from cx_framework.conflicts.uncertainty import behaviour_intervals

    if not a.config.schemes:
        raise _Unavailable("no incentive schemes in configs/incentives", section="behaviour_intervals")
    evidence = a.result("evidence").evidence
    frame = behaviour_intervals(
        a.config.schemes,
        _behaviour_tables(a),
        a.config,
        evidence,
        current=current_scheme(a),
        configured=a.result("behaviour"),
        draws=a.assumptions.behaviour_draws,
        **_behaviour_kwargs(a),
    )
    return SectionResult(result=frame, frames={"summary": frame})


def behaviour_interval_of(a: Analysis, scheme_id: str) -> dict[str, Any] | None:
    """The behaviour_intervals row of one scheme as a dict, or None when the intervals cannot run here."""
    from cx_framework.errors import CxError

    try:
        frame = a.result("behaviour_intervals")
    except CxError:
        return None
    rows = frame[frame["scheme"] == scheme_id]
    return rows.iloc[0].to_dict() if len(rows) else None


#: tables the estimated-graph actions can use (the actions section's)
_ACTION_TABLES = (
    "intervals",
    "contacts",
    "customers",
    "employees",
    "employee_metrics",
    "work_items",
)


def _comparison_frames_for(
    frames: dict[str, pd.DataFrame], viewer: Any, a: Any = None
) -> dict[str, pd.DataFrame]:
    """The graph comparison's frames as ``viewer`` may see them: outside HR a scheme paying fewer than
    min_group_size employees has its behaviour values withheld (every value when the scheme in force is one;
    column ``suppressed`` says why), and no action that switches to such a scheme is listed (its payout saved
    would give that pay back)."""
    from cx_framework.incentives.compare import _blank

    small = small_schemes(a, viewer) if a is not None else {}
    if not small:
        return frames
    out = dict(frames)
    reason = next(iter(small.values()))
    beh = frames.get("behaviour")
    if beh is not None:
        values = [c for c in beh.columns if c != "scheme" and pd.api.types.is_numeric_dtype(beh[c])]
        b = beh.copy()
        hide = b["scheme"].isin(list(small)).to_numpy()
        if current_scheme(a) in small:
            hide = np.ones(len(b), dtype=bool)
        _blank(b, hide, values)
        b["suppressed"] = np.where(hide, reason, "")
        b.attrs = {**beh.attrs, "suppression": reason}
        out["behaviour"] = b
    acts = frames.get("actions")
    if acts is not None:
        to_small = np.zeros(len(acts), dtype=bool)
        for col in ("better_scheme", "estimated_better_scheme"):
            if col in acts:
                to_small |= acts[col].isin(list(small)).to_numpy()
        kept = acts.loc[~to_small].copy()
        kept.attrs = {**acts.attrs, "suppression": reason} if to_small.any() else dict(acts.attrs)
        out["actions"] = kept
    return out


def _comparison_for(comparison: Any, viewer: Any, a: Any = None) -> Any:
    """The :class:`~cx_framework.conflicts.comparison.GraphComparison` as ``viewer`` may hold it
    (:func:`_comparison_frames_for` on its behaviour and actions)."""
    import dataclasses

    frames = {
        k: getattr(comparison, k) for k in ("behaviour", "actions") if getattr(comparison, k) is not None
    }
    restricted = _comparison_frames_for(frames, viewer, a)
    if restricted is frames:
        return comparison
    return dataclasses.replace(comparison, **restricted)


@section(
    "evidence_comparison",
    needs=("department_metrics",),
    optional=_ACTION_TABLES,
    label="Conflicts and actions on the estimated graph",
    headline=False,
    restrict=_comparison_frames_for,
    restrict_result=_comparison_for,
)
def _evidence_comparison(a: Analysis) -> SectionResult:
    """Conflicts and actions on the configured and on the estimated elasticities, side by side (issue 17,
    deliverable 4): :func:`~cx_framework.conflicts.comparison.graph_comparison` of the evidence section's estimates,
    with the estimated-graph actions re-ranked by ``recommend_actions`` on the same data and assumptions (only the
    graph-dependent steps — conflict matrix, behaviour simulation — are recomputed)."""
    from cx_framework.actions import MISSING_TABLES_KEY, UNAVAILABLE_KEY, recommend_actions
    from cx_framework.conflicts.behaviour import simulate_behaviour
    from cx_framework.conflicts.comparison import graph_comparison
    from cx_framework.conflicts.graph import conflict_matrix
    from cx_framework.conflicts.uncertainty import evidence_config
    from cx_framework.errors import CxError

    evidence = a.result("evidence").evidence
    config = a.config
    est_cfg = evidence_config(config, evidence)
    schemes = config.schemes
    notes: list[str] = []
    behaviour = None
    plans = None
    if schemes:
        try:
            cfg_beh = a.result("behaviour")
        except CxError as exc:
            notes.append(f"behaviour simulation not compared: {exc}")
        else:
            kwargs = _behaviour_kwargs(a)
            tables = _behaviour_tables(a)
            est_beh = {sid: simulate_behaviour(s, tables, est_cfg, **kwargs) for sid, s in schemes.items()}
            behaviour = (cfg_beh, est_beh)
        try:
            plan = a.result("actions")
        except CxError as exc:
            notes.append(f"actions not compared: {exc}")
        else:
            graph_steps = ("conflicts", "behaviour", "behaviour_range")
            precomputed = {k: v for k, v in plan.results.items() if k not in graph_steps and v is not None}
            precomputed["conflicts"] = conflict_matrix(schemes, est_cfg)
            if behaviour is not None:
                precomputed["behaviour"] = behaviour[1]
            org, extra = _plan_org(a)
            precomputed.update(extra)
            precomputed[UNAVAILABLE_KEY] = dict(plan.unavailable)  # the same steps as the configured plan
            precomputed[MISSING_TABLES_KEY] = dict(plan.missing_tables)
            try:
                period: pd.Timestamp | None = as_of(a)
            except _Unavailable:
                period = None
            est_plan = recommend_actions(
                org,
                est_cfg,
                period=period,
                top=ACTIONS_LISTED,
                assumptions=_plan_assumptions(a),
                precomputed=precomputed,
            )
            plans = (plan, est_plan)
    comparison = graph_comparison(
        schemes,
        config,
        evidence,
        plans=plans,
        behaviour=behaviour,
        current_scheme=current_scheme(a) if schemes else None,
        notes=notes,
    )
    cur = config.economics.currency
    figures = []
    if len(comparison.conflicts):
        changed = int((comparison.conflicts["change"] != "unchanged").sum())
        figures.append(F.COMPARISON_CONFLICTS_CHANGED.figure(changed, currency=cur))
    if comparison.actions is not None:
        moved = int((comparison.actions["change"] != "unchanged").sum())
        figures.append(F.COMPARISON_ACTIONS_CHANGED.figure(moved, currency=cur))
    frames = {
        "edges": comparison.edges,
        "conflicts": comparison.conflicts,
        "department_conflicts": comparison.department_conflicts,
        "conflict_edges": comparison.conflict_edges,
        "estimated_matrix": comparison.estimated_matrix,
        "estimated_departments": comparison.estimated_departments,
    }
    if comparison.actions is not None:
        frames["actions"] = comparison.actions
    if comparison.behaviour is not None:
        frames["behaviour"] = comparison.behaviour
    return SectionResult(result=comparison, figures=figures, frames=frames, notes=notes)


# ------------------------------------------------------------------------------------------------ SLA chains
@section("sla_chain", optional=("work_items",), label="SLA chains")
def _sla_chain(a: Analysis) -> SectionResult:
    import warnings

    from cx_framework.conflicts.chain import journey_chain
    from cx_framework.errors import StatisticalWarning

    fitted = None
    notes: list[str] = []
    if a.assumptions.sla_lead_times == "data":
        if not a.has("work_items"):
            problem = a.table_problems.get("work_items", "missing")
            raise _Unavailable(
                f"SLA chains need table work_items ({problem}); or set sla_lead_times: config in assumptions.yaml",
                section="sla_chain",
            )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", StatisticalWarning)
            fitted = _stage_fits(a)
        notes = list(dict.fromkeys(str(w.message) for w in caught))
    chains = {j.id: journey_chain(j, fitted=fitted) for j in a.config.slas.journeys}
    cur = a.config.economics.currency
    figures = []
    frames = []
    for j in a.config.slas.journeys:
        r = chains[j.id]
        parts = {"journey": j.id, "journey_name": j.name}
        figures.append(F.SLA_P_PROMISE.figure(float(r.p_within_promise), currency=cur, **parts))
        stages = r.stages[r.stages["kind"].eq("stage")] if "kind" in r.stages else r.stages
        met = stages["meets_sla"].dropna().astype(bool)
        figures.append(
            F.SLA_STAGES_GREEN.figure(float(met.mean()) if len(met) else None, currency=cur, **parts)
        )
        frames.append(r.stages.assign(journey=j.id, p_within_promise=r.p_within_promise))
    result = {"chains": chains, "fitted": fitted}
    return SectionResult(
        result=result, figures=figures, frames={"stages": pd.concat(frames, ignore_index=True)}, notes=notes
    )


def _stage_fits(a: Analysis) -> pd.DataFrame | None:
    """Gamma lead-time fits per (journey, stage) — in the engine on DuckDB/Spark (work items never loaded)."""
    from cx_framework.conflicts.chain import fit_stage_distributions, fit_stage_distributions_engine

    if a.uses_engine:
        items = a.engine_table("work_items")
        return fit_stage_distributions_engine(a.engine, items) if items.rows else None
    work_items = a.tables["work_items"]
    return fit_stage_distributions(work_items) if len(work_items) else None


@section(
    "sla_chain_views",
    optional=("work_items",),
    label="SLA chains with either lead-time source",
    headline=False,
)
def _sla_chain_views(a: Analysis) -> SectionResult:
    """The journeys' chains with stage lead times fitted from ``work_items`` (``True``) and as configured in
    slas.yaml (``False``), and for each chain that misses its promise the stage tightening that would keep it
    (:func:`~cx_framework.conflicts.chain.required_tightening`): the Conflicts page's lead-time switch reads both
    from here, so switching never convolves again. The configured source's chains are the sla_chain section's."""
    from cx_framework.conflicts.chain import journey_chain, required_tightening

    primary = a.result("sla_chain")
    from_data = a.assumptions.sla_lead_times == "data"
    views: dict[bool, dict[str, Any]] = {from_data: primary["chains"]}
    if from_data:
        views[False] = {j.id: journey_chain(j, fitted=None) for j in a.config.slas.journeys}
    else:
        fitted = _stage_fits(a) if a.uses_engine or a.has("work_items") else None  # engine on DuckDB/Spark
        if fitted is not None:
            views[True] = {j.id: journey_chain(j, fitted=fitted) for j in a.config.slas.journeys}
    tightening: dict[bool, dict[str, pd.DataFrame]] = {}
    for use_data, chains in views.items():
        tightening[use_data] = {
            jid: required_tightening(r)
            for jid, r in chains.items()
            if r.promise_percent and r.p_within_promise < r.promise_percent
        }
    return SectionResult(result={"chains": views, "tightening": tightening})


# ------------------------------------------------------------------------------------------------ staffing
@dataclass(frozen=True)
class StaffingSection:
    """Engine results of the staffing section (forecast window)."""

    intervals: pd.DataFrame  # the window's intervals
    forecast: pd.DataFrame
    required: pd.DataFrame  # required_agents per interval and queue
    budget_gap: Any  # StaffingBudgetGap with the funded FTE
    realised_service_level: float
    funded_fte: float


@section("staffing", needs=("intervals",), label="Staffing")
def _staffing(a: Analysis) -> SectionResult:
    from cx_framework.actions import _staffing_budget_gap
    from cx_framework.staffing import aggregate_service_level, required_agents

    econ = a.config.economics
    iv = window_intervals(a)
    if iv.empty:
        raise _Unavailable(
            f"no intervals in the forecast window {forecast_window_text(a)}", section="staffing"
        )
    definition = a.assumptions.service_level_definition
    realised = float(aggregate_service_level(iv, definition=definition))  # type: ignore[arg-type]
    fc = forecast(a)
    gap = _staffing_budget_gap(fc, a.config)
    required = required_agents(
        iv.assign(aht_s=iv["aht_s"].where(iv["aht_s"] > 0, fc["aht_s"].to_numpy())),
        target=econ.service_level_target,
        shrinkage=econ.shrinkage,
        answer_s=econ.answer_s,
    )
    short = int((required["staffing_gap"] < 0).sum()) if "staffing_gap" in required else 0
    window = forecast_window_text(a)
    cur = econ.currency
    figures = [
        F.REALISED_SL.figure(realised, period=window, currency=cur),
        F.BUDGET_SL.figure(float(gap.achieved_service_level), period=window, currency=cur),
        F.SCHEDULE_MISMATCH.figure(realised - float(gap.achieved_service_level), period=window, currency=cur),
        F.FUNDED_FTE.figure(float(gap.fte_budget), period=window, currency=cur),
        F.NEEDED_FTE.figure(float(gap.fte_needed), period=window, currency=cur),
        F.FTE_GAP.figure(float(gap.fte_gap), period=window, currency=cur),
        F.UNDERSTAFFED.figure(short, period=window, currency=cur),
    ]
    realised_by_day = aggregate_service_level(iv, by="day", definition=definition)  # type: ignore[arg-type]
    weekly = aggregate_service_level(a.tables["intervals"], by=["week", "queue"], definition=definition)  # type: ignore[arg-type]
    req_day = required.assign(
        day=pd.to_datetime(required["interval_start"]).dt.normalize(),
        short=required["staffing_gap"] < 0 if "staffing_gap" in required else False,
    )
    short_by_day = req_day.groupby("day", as_index=False)["short"].sum()
    frames = {
        "budget_by_day": gap.by_day(),
        "realised_by_day": realised_by_day,
        "weekly_by_queue": weekly,
        "understaffed_by_day": short_by_day,
    }
    result = StaffingSection(
        intervals=iv,
        forecast=fc,
        required=required,
        budget_gap=gap,
        realised_service_level=realised,
        funded_fte=float(gap.fte_budget),
    )
    return SectionResult(result=result, figures=figures, frames=frames)


@section(
    "queue_model_fit",
    needs=("intervals",),
    optional=("contacts",),
    label="Erlang C vs Erlang A on the observed intervals",
    headline=False,
)
def _queue_model_fit(a: Analysis) -> SectionResult:
    """Which queueing model describes the centre (the Staffing page's model-fit section reads it from here)."""
    from cx_framework.staffing.calibration import fit_queue_models

    t = a.tables
    return SectionResult(result=fit_queue_models(t["intervals"], contacts=_patience_contacts(a)))


@section(
    "retention_by_period",
    needs=("intervals", "customers"),
    label="Monthly service level vs retention",
    headline=False,
)
def _retention_by_period(a: Analysis) -> SectionResult:
    """Monthly churn on this and earlier months' service level (OLS, HAC errors): the Retention page's monthly
    view, computed once per data and config and read from the disk cache after (statsmodels is not imported
    by a process that only draws it)."""
    from cx_framework.retention import sl_retention_by_period

    return SectionResult(result=sl_retention_by_period(a.tables["intervals"], customers_of(a)))


def _patience_contacts(a: Analysis) -> pd.DataFrame | None:
    """What the patience estimate needs of ``contacts`` (Σ wait and abandoned calls per queue): the table itself
    on pandas; on DuckDB/Spark one row per phone queue with those sums, computed in the engine (the rows stay
    there; the estimate, Σ wait / Σ abandoned, is the same)."""
    if not a.uses_engine:
        return a.tables.get("contacts")
    contacts = a.engine_table("contacts")
    if contacts is None:
        return None
    calls = contacts.expr.filter(contacts.expr.channel == "phone")
    sums = calls.group_by("queue").aggregate(
        wait_s=calls.wait_s.sum(), abandoned=calls.abandoned.cast("int64").sum()
    )
    return a.engine.execute(sums).assign(channel="phone")


# ------------------------------------------------------------------------------------------------ retention
@dataclass(frozen=True)
class RetentionSection:
    """Engine results of the retention section."""

    panel: pd.DataFrame | None  # None on DuckDB/Spark: the panel stays in the engine
    fit: Any  # RetentionResult
    value: pd.DataFrame  # value_of_service_level
    optimum: Any  # OptimalServiceLevel over the forecast window


@section(
    "retention", needs=("contacts", "customers", "intervals"), label="Retention and optimal service level"
)
def _retention(a: Analysis) -> SectionResult:
    from cx_framework.economics import optimal_service_level
    from cx_framework.retention import build_customer_panel, fit_retention, value_of_service_level

    t = a.tables
    econ = a.config.economics
    panel: pd.DataFrame | None = None
    if a.uses_engine:
        fit = _fit_engine_retention(a, a.assumptions.retention_dose)
    else:
        panel = build_customer_panel(t["contacts"], t["customers"], threshold_s=econ.answer_s)
        fit = fit_retention(
            panel,
            model=a.assumptions.retention_model,
            dose=a.assumptions.retention_dose,
            lag=a.assumptions.retention_lag,
        )
    customers = customers_of(a)
    value = value_of_service_level(fit, customers, a.config)
    fc = forecast(a)
    optimum = optimal_service_level(
        fc[["interval_start", "queue", "offered", "aht_s"]],
        fit,
        customers,
        a.config,
        seed=a.assumptions.seed,
        n_draws=a.assumptions.sl_draws,
    )
    window = forecast_window_text(a)
    cur = econ.currency
    figures = [
        F.CHURN_PER_POINT.figure(float(fit.marginal_effect.estimate), currency=cur),
        *optimum.key_figures(period=window),
    ]
    frames = {"curve": optimum.curve, "value": value.reset_index()}
    return SectionResult(result=RetentionSection(panel, fit, value, optimum), figures=figures, frames=frames)


def customers_of(a: Analysis) -> Any:
    """What the churn economics read of ``customers``: the table on pandas; on DuckDB/Spark its
    :class:`~cx_framework.retention.CustomerBase` (customers and revenue by start and churn month, grouped in the
    engine once per Analysis) — the same numbers, without the customers' rows in pandas."""
    if not a.uses_engine:
        return a.tables["customers"]

    def build() -> Any:
        from cx_framework.engine import customer_base_groups
        from cx_framework.retention import CustomerBase

        customers = a.engine_table("customers")
        if customers is None:
            problem = a.table_problems.get("customers", "missing")
            raise _Unavailable(f"this needs table customers ({problem})", section="retention")
        return CustomerBase.from_groups(customer_base_groups(a.engine, customers))

    return a.resolved("customer_base", build)


def _engine_panel(a: Analysis) -> Any:
    """The customer × month panel as an engine expression (built once per Analysis; its monthly contact sums are
    materialised in the engine on first use)."""
    from cx_framework.engine import customer_panel

    def build() -> Any:
        contacts, customers = a.engine_table("contacts"), a.engine_table("customers")
        if customers is None:
            problem = a.table_problems.get("customers", "missing")
            raise _Unavailable(f"retention needs table customers ({problem})", section="retention")
        # a lag-0 fit only sees customer-months with calls: no customer x month skeleton needed
        months = "with_calls" if a.assumptions.retention_lag == 0 else "all"
        return customer_panel(
            a.engine,
            contacts,
            customers,
            threshold_s=a.config.economics.answer_s,
            months=months,
            shared=_contact_pass(a),
        )

    return a.resolved("engine_panel", build)


def _contact_pass(a: Analysis) -> Any:
    """The window pass over the contacts shared by the panel and failure demand (one sort of the contacts for
    both; :mod:`cx_framework.engine.contact_pass`), or None without a usable customers table."""
    from cx_framework.engine.contact_pass import contact_pass

    def build() -> Any:
        contacts, customers = a.engine_table("contacts"), a.engine_table("customers")
        if contacts is None or customers is None:
            return None
        return contact_pass(
            a.engine,
            contacts,
            customers,
            threshold_s=a.config.economics.answer_s,
            repeat_window_days=a.config.failure_demand.repeat_window_days,
        )

    return a.resolved("contact_pass", build)


def _fit_engine_retention(a: Analysis, dose: str) -> Any:
    """The retention model on the engine's panel, exact on aggregates with customer-clustered errors: the logit as
    a grouped binomial, Cox on (tenure, design row) groups."""
    from cx_framework.retention.engine import fit_retention_engine

    return fit_retention_engine(
        a.engine,
        _engine_panel(a),
        model=a.assumptions.retention_model,
        dose=dose,  # type: ignore[arg-type]
        lag=a.assumptions.retention_lag,
        cluster="customer_key",  # one integer per customer: the same clusters as customer_id, faster to group
    )


def _pack_alternatives(result: Any, a: Analysis) -> Any:
    """The panel is the retention section's: stored once."""
    from dataclasses import replace

    return {dose: replace(r, panel=None) for dose, r in result.items()}


def _unpack_alternatives(result: Any, a: Analysis) -> Any:
    from dataclasses import replace

    panel = a.result("retention").panel
    return {dose: replace(r, panel=panel) for dose, r in result.items()}


@section(
    "retention_alternatives",
    needs=("contacts", "customers", "intervals"),
    label="Retention under the other dose shapes",
    headline=False,
    pack=_pack_alternatives,
    unpack=_unpack_alternatives,
)
def _retention_alternatives(a: Analysis) -> SectionResult:
    """The retention model, value and optimum for the dose shapes other than the configured one (the app's
    "shape of the effect" switch reads them, so switching never refits); figures stay the configured dose's."""
    from cx_framework.economics import optimal_service_level
    from cx_framework.retention import fit_retention, value_of_service_level

    base = a.result("retention")
    fc = forecast(a)
    out: dict[str, RetentionSection] = {}
    for dose in ("linear", "spline", "binned"):
        if dose == a.assumptions.retention_dose:
            continue
        if a.uses_engine:
            fit = _fit_engine_retention(a, dose)
        else:
            fit = fit_retention(
                base.panel, model=a.assumptions.retention_model, dose=dose, lag=a.assumptions.retention_lag
            )
        value = value_of_service_level(fit, customers_of(a), a.config)
        optimum = optimal_service_level(
            fc[["interval_start", "queue", "offered", "aht_s"]],
            fit,
            customers_of(a),
            a.config,
            seed=a.assumptions.seed,
            n_draws=a.assumptions.sl_draws,
        )
        out[dose] = RetentionSection(base.panel, fit, value, optimum)
    return SectionResult(result=out)


# ------------------------------------------------------------------------------------------------ failure demand
@section("failure_demand", needs=("contacts",), label="Failure demand")
def _failure_demand(a: Analysis) -> SectionResult:
    from cx_framework.failure_demand import attribute_failure_demand

    if a.uses_engine:
        result = _engine_failure_demand(a)
    else:
        result = attribute_failure_demand(a.tables["contacts"], a.config, economics=a.config.economics)
    figures = result.key_figures({d.id: d.name for d in a.config.organisation.departments})
    frames = {
        "by_department": result.by_department,
        "charge_back": result.charge_back,
        "summary": result.summary,
    }
    return SectionResult(result=result, figures=figures, frames=frames)


def _engine_failure_demand(a: Analysis) -> Any:
    """Failure demand with the classification and repeat chains run in the engine; only groups come back."""
    from cx_framework.engine.failure_demand import failure_demand_groups
    from cx_framework.failure_demand import failure_demand_from_groups

    fd = a.config.failure_demand
    groups = failure_demand_groups(
        a.engine,
        a.engine_table("contacts"),
        {r.id: (r.is_failure, r.originating_department) for r in fd.reasons},
        repeat_window_days=fd.repeat_window_days,
        shared=_contact_pass(a),
    )
    return failure_demand_from_groups(
        groups.groups,
        a.config,
        economics=a.config.economics,
        months_observed=groups.months_observed,
        top_chains=groups.top_chains,
    )


# ------------------------------------------------------------------------------------------------ actions
#: Actions ranked and kept by the actions section (surfaces show the first few).
ACTIONS_LISTED = 25


@dataclass(frozen=True)
class _FromSection:
    """Placeholder in a pickled action plan for an engine result another section already stores."""

    section: str
    attribute: str | None = None
    key: str | None = None


#: ActionPlan.results keys filled from other sections: key -> (section, attribute of its result, item)
_PLAN_LINKS: dict[str, tuple[str, str | None, str | None]] = {
    "scorecard": ("scorecard", None, None),
    "failure_demand": ("failure_demand", None, None),
    "conflicts": ("conflicts", None, None),
    "behaviour": ("behaviour", None, None),
    "scheme_comparison": ("payouts", None, None),
    "sla_chains": ("sla_chain", None, "chains"),
    "fitted_stages": ("sla_chain", None, "fitted"),
    "budget_gap": ("staffing", "budget_gap", None),
    "retention": ("retention", "fit", None),
    "customer_panel": ("retention", "panel", None),
    "service_level": ("retention", "optimum", None),
}


def _linked(a: Analysis, link: tuple[str, str | None, str | None]) -> Any:
    name, attribute, key = link
    # unchecked: the plan is restricted to its reader when read (``restrict_result=_plan_for``)
    value = a._result(name, check=False)
    if attribute is not None:
        value = getattr(value, attribute)
    if key is not None:
        value = value[key]
    return value


def _pack_plan(plan: Any, a: Analysis) -> Any:
    from dataclasses import replace

    results = dict(plan.results)
    for key, link in _PLAN_LINKS.items():
        if key in results and key != "forecast":
            try:
                if _linked(a, link) is results[key]:
                    results[key] = _FromSection(*link)
            except Exception:  # noqa: BLE001 - a section that did not run keeps its own copy
                continue
    if not a.cache_personal and "scheme_comparison" in results:
        # individual pay is never pickled under access control: keep the link, the payouts section recomputes it
        results["scheme_comparison"] = _FromSection(*_PLAN_LINKS["scheme_comparison"])
    return replace(plan, results=results)


def _unpack_plan(plan: Any, a: Analysis) -> Any:
    from dataclasses import replace

    from cx_framework.access import AccessError

    results = dict(plan.results)
    for key, value in list(results.items()):
        if isinstance(value, _FromSection):
            try:
                results[key] = _linked(a, (value.section, value.attribute, value.key))
            except AccessError:  # this viewer may not read the payouts: the plan without them
                del results[key]
    return replace(plan, results=results)


def _action_rows(plan: Any) -> pd.DataFrame:
    """The plan's actions without their evidence dicts, plus ``scheme`` and ``scheme_employees``: for a change of
    incentive scheme, the scheme it switches to and the employees that scheme pays (the people behind its bonus
    payout saved; the restriction below reads it)."""
    acts = plan.actions
    evidence = acts["evidence"] if "evidence" in acts else pd.Series([{}] * len(acts), index=acts.index)
    schemes = [
        (e or {}).get("better_scheme") if kind == "change_incentive" else None
        for e, kind in zip(evidence, acts.get("kind", pd.Series([""] * len(acts))), strict=True)
    ]
    comparison = plan.results.get("scheme_comparison")
    paid = comparison.employees_paid() if hasattr(comparison, "employees_paid") else {}
    out = acts.drop(columns=["evidence"], errors="ignore").copy()
    out["scheme"] = schemes
    out["scheme_employees"] = [float(paid[s]) if s in paid else np.nan for s in schemes]
    return out


def _withheld_actions(actions: pd.DataFrame, viewer: Any) -> np.ndarray:
    """Rows of an actions frame (:func:`_action_rows`) whose value is a pay aggregate of fewer than the viewer's
    ``min_group_size`` employees: a switch to a scheme paying that few people (its bonus payout saved is today's
    cost minus theirs). None outside HR may see them."""
    from cx_framework.access import sees_every_group

    if sees_every_group(viewer) or "scheme_employees" not in actions:
        return np.zeros(len(actions), dtype=bool)
    n = actions["scheme_employees"].to_numpy(dtype=float)
    return (n > 0) & (n < viewer.min_group_size)


def _rerank(actions: pd.DataFrame) -> pd.DataFrame:
    out = actions.reset_index(drop=True)
    if "rank" in out:
        out["rank"] = np.arange(1, len(out) + 1)
    return out


def _action_frames_for(
    frames: dict[str, pd.DataFrame], viewer: Any, a: Any = None
) -> dict[str, pd.DataFrame]:
    """The actions as ``viewer`` may see them: outside HR without a switch to a scheme paying fewer than
    min_group_size employees (re-ranked; ``attrs["suppression"]`` says what was left out)."""
    from cx_framework.access import withheld_reason

    acts = frames.get("actions")
    if acts is None:
        return frames
    hide = _withheld_actions(acts, viewer)
    if hide.any():
        kept = _rerank(acts[~hide])
        kept.attrs = {
            **acts.attrs,
            "suppression": f"{int(hide.sum())} action(s) left out: a switch to a scheme paying "
            f"{withheld_reason(viewer.min_group_size)}",
        }
        frames["actions"] = kept
    return frames


def _action_figures_for(
    figures: list[Any], frames: dict[str, pd.DataFrame], viewer: Any, a: Any = None
) -> list[Any]:
    """The action figures (total value, action to do first) of the actions ``viewer`` may see."""
    from dataclasses import replace

    acts = frames.get("actions")
    if acts is None or not _withheld_actions(acts, viewer).any():
        return figures
    kept = _action_frames_for(dict(frames), viewer)["actions"]
    monetised = kept.loc[kept["monetised"].astype(bool), "expected_annual_value"].astype(float)
    values = {
        "actions.total_expected_value": float(monetised[monetised > 0].sum()),
        "actions.top_action": str(kept["title"].iloc[0]) if len(kept) else None,
    }
    return [replace(f, value=values[f.id]) if f.id in values else f for f in figures]


def _plan_for(plan: Any, viewer: Any, a: Any = None) -> Any:
    """The action plan as ``viewer`` may hold it: its scheme comparison (computed by the payouts section or by
    :func:`~cx_framework.actions.recommend_actions` itself) without per-employee pay outside HR
    (:meth:`SchemeComparison.for_viewer`), and without a switch to a scheme paying fewer than min_group_size
    employees (:func:`_action_frames_for`; named in ``unavailable``)."""
    from dataclasses import replace

    from cx_framework.access import sees_every_group, withheld_reason
    from cx_framework.incentives import SchemeComparison

    if sees_every_group(viewer):
        return plan
    comparison = plan.results.get("scheme_comparison")
    results = dict(plan.results)
    if isinstance(comparison, SchemeComparison):
        results["scheme_comparison"] = comparison.for_viewer(viewer)
    hide = _withheld_actions(_action_rows(plan), viewer)
    if not hide.any():
        return replace(plan, results=results)
    acts = plan.actions[~hide]
    gone = plan.actions[hide]
    unavailable = dict(plan.unavailable)
    for title in gone["title"]:
        unavailable[f"withheld: {title}"] = (
            f"left out: a switch to a scheme paying {withheld_reason(viewer.min_group_size)}"
        )
    candidates = plan.candidates
    if "title" in candidates:
        candidates = candidates[~candidates["title"].isin(set(gone["title"]))].reset_index(drop=True)
    return replace(
        plan, actions=_rerank(acts), candidates=candidates, results=results, unavailable=unavailable
    )


@section(
    "actions",
    # partial data: each candidate's engine needs its own tables; what cannot run is named in plan.unavailable
    optional=REQUIRED_TABLES,
    label="Recommended actions",
    pack=_pack_plan,
    unpack=_unpack_plan,
    restrict=_action_frames_for,
    restrict_figures=_action_figures_for,
    restrict_result=_plan_for,
)
def _actions(a: Analysis) -> SectionResult:
    from cx_framework.actions import recommend_actions
    from cx_framework.errors import CxError

    precomputed: dict[str, Any] = {"forecast": forecast(a)} if a.has("intervals") else {}

    def reuse(name: str, fill: Any) -> None:
        # unchecked: the plan holds the payouts section's comparison, and is restricted to its reader when read
        with contextlib.suppress(CxError):
            fill(a._result(name, check=False))

    reuse("scorecard", lambda r: precomputed.__setitem__("scorecard", r))
    reuse("failure_demand", lambda r: precomputed.__setitem__("failure_demand", r))
    reuse("conflicts", lambda r: precomputed.__setitem__("conflicts", r))
    reuse("behaviour", lambda r: precomputed.__setitem__("behaviour", r))
    reuse("payouts", lambda r: precomputed.__setitem__("scheme_comparison", r))

    def chains(r: Any) -> None:
        precomputed["sla_chains"] = r["chains"]
        precomputed["fitted_stages"] = r["fitted"]

    reuse("sla_chain", chains)
    reuse("staffing", lambda r: precomputed.__setitem__("budget_gap", r.budget_gap))

    def retention(r: Any) -> None:
        precomputed["retention"] = r.fit
        precomputed["customer_panel"] = r.panel
        precomputed["service_level"] = r.optimum

    reuse("retention", retention)
    from cx_framework.actions import ENGINE_TABLES_KEY, MISSING_TABLES_KEY, UNAVAILABLE_KEY, MissingTables

    # a step whose section could not run (a missing or invalid table, an engine error) is reported with the
    # section's own reason instead of being retried on the rows
    gone: dict[str, str] = {}
    missing: dict[str, MissingTables] = {}
    for key, name in (
        ("scorecard", "scorecard"),
        ("failure_demand", "failure_demand"),
        ("behaviour", "behaviour"),
        ("scheme_comparison", "payouts"),
        ("sla_chains", "sla_chain"),
        ("budget_gap", "staffing"),
        ("retention", "retention"),
        ("service_level", "retention"),
    ):
        reason = a.why_unavailable(name) if key not in precomputed else None
        if reason or (a.uses_engine and key not in precomputed):
            gone[key] = reason or f"{a.section_label(name)} did not run"
            tables = a.missing_table_problems(name) if reason else []
            if tables:
                missing[key] = MissingTables(a.section_label(name), tuple(tables))
    precomputed[UNAVAILABLE_KEY] = gone
    precomputed[MISSING_TABLES_KEY] = missing
    org: Any = a.tables
    if a.uses_engine:
        from cx_framework.analysis.core import ENGINE_TABLES
        from cx_framework.engine import journeys_per_year

        # the large tables stay in the engine: every step that needs their rows is precomputed above
        names = list(getattr(a.tables, "files", a.tables))
        org = {name: a.tables[name] for name in names if name not in ENGINE_TABLES and a.has(name)}
        with contextlib.suppress(CxError):
            org["customers"] = customers_of(a)  # grouped: the service-level and behaviour ranges read it
        precomputed[ENGINE_TABLES_KEY] = ENGINE_TABLES
        items = a.engine_table("work_items")
        precomputed["_work_items_per_year"] = {} if items is None else journeys_per_year(a.engine, items)
    try:
        period: pd.Timestamp | None = as_of(a)
    except _Unavailable:  # neither department_metrics nor intervals: no exceptions to rank, others still run
        period = None
    plan = recommend_actions(
        org,
        a.config,
        period=period,
        top=ACTIONS_LISTED,
        assumptions=_plan_assumptions(a),
        precomputed=precomputed,
    )
    figures = plan.key_figures()
    frames = {"actions": _action_rows(plan)}
    notes = plan.unavailable_lines()
    return SectionResult(result=plan, figures=figures, frames=frames, notes=notes)


def _plan_assumptions(a: Analysis) -> dict[str, Any]:
    """The assumptions the actions section passes to ``recommend_actions`` (both graphs use the same)."""
    return {
        "current_scheme": current_scheme(a),
        "baseline_months": a.assumptions.baseline_months,
        "sl_draws": a.assumptions.sl_draws,
        "seed": a.assumptions.seed,
        "effort_budget": a.assumptions.effort_budget,
    }


def _plan_org(a: Analysis) -> tuple[Any, dict[str, Any]]:
    """(the tables ``recommend_actions`` gets, extra ``precomputed`` keys) as the actions section builds them:
    on DuckDB/Spark the large tables stay in the engine (the customers grouped)."""
    from cx_framework.errors import CxError

    org: Any = a.tables
    extra: dict[str, Any] = {}
    if a.uses_engine:
        from cx_framework.actions import ENGINE_TABLES_KEY
        from cx_framework.analysis.core import ENGINE_TABLES
        from cx_framework.engine import journeys_per_year

        names = list(getattr(a.tables, "files", a.tables))
        org = {name: a.tables[name] for name in names if name not in ENGINE_TABLES and a.has(name)}
        with contextlib.suppress(CxError):
            org["customers"] = customers_of(a)
        extra[ENGINE_TABLES_KEY] = ENGINE_TABLES
        items = a.engine_table("work_items")
        extra["_work_items_per_year"] = {} if items is None else journeys_per_year(a.engine, items)
    return org, extra
