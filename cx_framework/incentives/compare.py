"""Compare bonus schemes on the same people and months: cost, budget, attainment spread, who wins and loses,
and how much of the money follows customer outcomes.

The first scheme passed is the **baseline** ("what we pay today"); winners and losers are measured against it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cx_framework import figures as F
from cx_framework.access import Viewer, restrict_groups, sees_every_group, withheld_reason
from cx_framework.config.loader import CxConfig, as_scheme
from cx_framework.config.models import MetricCatalogue, Scheme
from cx_framework.errors import ConfigError, InputValueError
from cx_framework.incentives.payouts import (
    PayoutInputs,
    _catalogue,
    _grid_key,
    evaluate_payouts,
    payout_summary,
    prepare_payouts,
)

__all__ = [
    "SchemeComparison",
    "compare_schemes",
    "PERCENTILES",
    "WINNERS_LOSERS_GROUPS",
    "SCHEME_PAY_COLUMNS",
    "PERIOD_PAY_COLUMNS",
    "withhold_small_schemes",
    "withhold_small_periods",
    "withhold_scheme_figures",
]

#: Attainment percentiles reported per scheme.
PERCENTILES: tuple[int, ...] = (10, 25, 50, 75, 90)

#: How :attr:`SchemeComparison.winners_losers` merges small groups (:func:`cx_framework.access.merge_small_groups`
#: arguments): per scheme, groups are department × role, ``mean_change`` is per comparable employee.
WINNERS_LOSERS_GROUPS: dict[str, Any] = {
    "size": "employees",
    "keys": ("department", "role"),
    "within": ("scheme",),
    "weighted_means": {"mean_change": "employees - not_comparable"},
}

_TOLERANCE = 0.005  # half a cent: smaller differences are "unchanged"

#: Per-scheme columns (budget, attainment, customer share, the Analysis' summary) that aggregate pay: withheld
#: outside HR for a scheme paying fewer than access.yaml's ``min_group_size`` employees.
SCHEME_PAY_COLUMNS: tuple[str, ...] = (
    "total_cost",
    "annualised_cost",
    "budget_share",
    "over_budget",
    "vs_baseline",
    "mean",
    *(f"p{p}" for p in PERCENTILES),
    "share_zero",
    "share_capped",
    "share_gate_failed",
    "customer_centric_payout",
    "local_payout",
    "customer_centric_share",
)
#: Per-period columns of :attr:`SchemeComparison.cost` / :func:`payout_summary` that aggregate pay, by the
#: count of employee-periods each adds up (paid rows, withheld rows).
PERIOD_PAY_COLUMNS: dict[str, tuple[str, ...]] = {
    "paid": ("target_bonus", "payout", "attainment"),
    "withheld": ("withheld_target_bonus",),
}


def _blank(frame: pd.DataFrame, mask: np.ndarray, columns: Sequence[str]) -> None:
    """Set ``columns`` to missing on the ``mask`` rows, in place (booleans become objects holding None)."""
    if not mask.any():
        return
    for c in columns:
        if c not in frame.columns:
            continue
        if pd.api.types.is_bool_dtype(frame[c]) or not pd.api.types.is_float_dtype(frame[c]):
            frame[c] = frame[c].astype(object)
            frame.loc[mask, c] = None
        else:
            frame.loc[mask, c] = np.nan


def withhold_small_schemes(
    frame: pd.DataFrame,
    employees: Mapping[str, int],
    min_size: int,
    *,
    baseline: str | None = None,
    columns: Sequence[str] = SCHEME_PAY_COLUMNS,
) -> pd.DataFrame:
    """A per-scheme frame (column ``scheme``) with the pay aggregates of every scheme paying fewer than
    ``min_size`` employees withheld: ``columns`` set to missing and column ``suppressed`` holding the reason
    (:func:`cx_framework.access.withheld_reason`; empty on rows shown as they are). ``employees``: scheme id →
    employees paid (:attr:`SchemeComparison.budget` ``employees``). When the ``baseline`` is withheld,
    ``vs_baseline`` is withheld on every row (a shown difference would give the baseline's cost back).

    A scheme that paid nobody (0 employees) discloses nothing and is shown.
    """
    out = frame.copy()
    counts = out["scheme"].map(dict(employees)).fillna(0).to_numpy(dtype=float)
    small = (counts > 0) & (counts < min_size)
    reason = withheld_reason(min_size)
    out["suppressed"] = np.where(small, reason, "")
    _blank(out, small, columns)
    base_n = float(employees.get(baseline, 0)) if baseline is not None else 0.0
    if 0 < base_n < min_size and "vs_baseline" in columns:
        _blank(out, np.ones(len(out), dtype=bool), ["vs_baseline"])
        out["suppressed"] = np.where(
            out["suppressed"].eq(""), f"vs baseline withheld: the baseline has {reason}", out["suppressed"]
        )
    out.attrs = {**frame.attrs, "suppression": reason if small.any() else ""}
    return out


def withhold_small_periods(
    cost: pd.DataFrame,
    min_size: int,
    *,
    small_schemes: Sequence[str | None] = (),
) -> pd.DataFrame:
    """Per-period pay totals (:attr:`SchemeComparison.cost` or :func:`payout_summary`) as a viewer outside HR
    may see them. Each sum is judged by the employee-periods it adds up (:data:`PERIOD_PAY_COLUMNS`): the paid
    sums (``target_bonus``, ``payout``, ``attainment``) by ``paid``, the withheld rows' target bonus by
    ``withheld``; a sum over 1 to ``min_size - 1`` of them is withheld, and so is every sum of
    ``small_schemes`` (``None`` names a frame without a ``scheme`` column, e.g. one scheme's
    :func:`payout_summary`). When a period's sum is withheld, the smallest shown periods' are withheld with it
    until one withheld period covers at least ``min_size`` employees — otherwise the scheme's total minus the
    shown periods would give the small period back (complementary suppression, as
    :func:`cx_framework.access.merge_small_groups`). Column ``suppressed`` holds the reason (empty on rows
    shown as they are).
    """
    out = cost.copy()
    reason = withheld_reason(min_size)
    parts = out.groupby("scheme", sort=False).indices if "scheme" in out else {None: np.arange(len(out))}
    small_set = set(small_schemes)
    any_hidden = np.zeros(len(out), dtype=bool)
    for count_column, columns in PERIOD_PAY_COLUMNS.items():
        if count_column not in out:
            continue
        counts = out[count_column].to_numpy(dtype=float)
        hide = np.zeros(len(out), dtype=bool)
        for sid, index in parts.items():
            index = np.asarray(index)
            if sid in small_set:
                hide[index] = True
                continue
            part = counts[index]
            small = (part > 0) & (part < min_size)
            if not small.any():
                continue
            hidden = small.copy()
            # complementary: the smallest shown periods join until a withheld one covers min_size employees
            for k in np.argsort(np.where(hidden | (part == 0), np.inf, part), kind="stable"):
                if part[hidden].max() >= min_size or hidden[k] or part[k] == 0:
                    break
                hidden[k] = True
            hide[index[hidden]] = True
        _blank(out, hide, columns)
        any_hidden |= hide
    out["suppressed"] = np.where(any_hidden, reason, "")
    out.attrs = {**cost.attrs, "suppression": reason if any_hidden.any() else ""}
    return out


def withhold_scheme_figures(
    figures: Sequence[F.Figure], withheld: Mapping[str, str], *, baseline: str | None
) -> list[F.Figure]:
    """The payouts figures (``payouts.<name>.<scheme>``) with those of the ``withheld`` schemes (id → reason)
    withheld; a difference to a withheld ``baseline`` is withheld too."""
    out = []
    for fig in figures:
        sid = fig.id.rsplit(".", 1)[-1]
        if fig.id.startswith("payouts.") and sid in withheld:
            fig = fig.withhold(withheld[sid])
        elif fig.id.startswith("payouts.vs_current.") and baseline is not None and baseline in withheld:
            fig = fig.withhold(f"the scheme in force has {withheld[baseline]}")
        out.append(fig)
    return out


class _WithheldPayouts(dict):  # type: ignore[type-arg]
    """The per-employee payouts of a comparison restricted to a viewer outside HR: empty, and asking for a
    scheme's rows raises the access error instead of a bare KeyError."""

    def __init__(self, who: str) -> None:
        super().__init__()
        self.who = who

    def __getitem__(self, key: str) -> pd.DataFrame:
        from cx_framework.access import AccessError

        raise AccessError(
            f"{self.who} may not see individual pay: this scheme comparison holds aggregates only (per-employee "
            f"payouts of '{key}' were removed for this viewer). Ask HR for individual figures.",
            what="payouts",
        )


@dataclass(frozen=True)
class SchemeComparison:
    """Result of :func:`compare_schemes`.

    Attributes
    ----------
    baseline : str
        Id of the first scheme (the reference for winners and losers).
    payouts : dict of str to pandas.DataFrame
        Scheme id -> :func:`compute_payouts` frame.
    cost : pandas.DataFrame
        Per scheme and period: ``scheme, period, employees, paid, withheld, target_bonus, payout`` (currency,
        paid rows), ``withheld_target_bonus``.
    budget : pandas.DataFrame
        Per scheme: ``scheme``, ``employees`` (paid in at least one period), ``total_cost`` (currency over the data), ``months`` covered, ``annualised_cost``
        (total × 12 / months), ``budget`` (annual), ``budget_share`` (annualised / budget), ``over_budget``,
        ``vs_baseline`` (annualised cost minus the baseline's).
    attainment : pandas.DataFrame
        Per scheme: ``mean``, ``p10 … p90`` of attainment (payout / target bonus) over paid employee-periods,
        ``share_zero`` (paid nothing), ``share_capped``, ``share_gate_failed``.
    winners_losers : pandas.DataFrame
        Per scheme (other than baseline), department and role: ``employees``, ``winners``, ``losers``,
        ``unchanged``, ``not_comparable`` (every period withheld under one of the two schemes), ``mean_change``
        (per comparable employee) and ``total_change`` (currency over the comparable periods, vs baseline).
    customer_share : pandas.DataFrame
        Per scheme: ``customer_centric_payout``, ``local_payout`` and ``customer_centric_share`` (share 0–1 of
        the money, after gates and cap, earned on metrics the catalogue marks ``customer_centric``).
    currency : str
    names : dict of str to str
        Scheme id -> the scheme's display name.
    withheld : dict of str to str
        Scheme id -> why its pay aggregates are withheld (:meth:`for_viewer`; empty for HR / access off).
    """

    baseline: str
    payouts: dict[str, pd.DataFrame]
    cost: pd.DataFrame
    budget: pd.DataFrame
    attainment: pd.DataFrame
    winners_losers: pd.DataFrame
    customer_share: pd.DataFrame
    currency: str = ""
    names: dict[str, str] = field(default_factory=dict)
    withheld: dict[str, str] = field(default_factory=dict)

    def employees_paid(self) -> dict[str, int]:
        """Scheme id -> employees with at least one paid period (the people behind its cost figures)."""
        if "employees" in self.budget:
            return dict(zip(self.budget["scheme"], self.budget["employees"].astype(int), strict=True))
        return {
            sid: int(df.loc[~df["withheld"], "employee_id"].nunique()) for sid, df in self.payouts.items()
        }

    def for_viewer(self, viewer: Viewer | None, *, own_teams_only: bool = False) -> SchemeComparison:
        """This comparison as ``viewer`` may read it. HR, access control off (``viewer`` None) and a manager on
        a comparison of their own teams (``own_teams_only``) get it unchanged. Anyone else gets aggregates only:
        no per-employee payouts (:attr:`payouts` is empty and asking for a scheme raises
        :class:`~cx_framework.access.AccessError`); a scheme paying fewer than the viewer's ``min_group_size``
        employees has its cost, budget share, attainment and customer share withheld
        (:func:`withhold_small_schemes`, listed in :attr:`withheld`, its figures withheld); per-period totals
        of too few employees are withheld (:func:`withhold_small_periods`); winners and losers are merged
        (:meth:`winners_losers_for`). A manager keeps the per-employee rows of their own teams."""
        if sees_every_group(viewer, own_teams_only=own_teams_only):
            return self
        assert viewer is not None
        n = viewer.min_group_size
        paid = self.employees_paid()
        small = [sid for sid, k in paid.items() if 0 < k < n]
        payouts: dict[str, pd.DataFrame] = _WithheldPayouts(viewer.label)
        if viewer.role == "manager" and not isinstance(self.payouts, _WithheldPayouts):
            from cx_framework.access import restrict_payouts

            # a manager reads their own teams' rows (and the organisation's aggregates like anyone else)
            payouts = {sid: restrict_payouts(df, viewer) for sid, df in self.payouts.items()}
        return SchemeComparison(
            baseline=self.baseline,
            payouts=payouts,
            cost=withhold_small_periods(self.cost, n, small_schemes=small),
            budget=withhold_small_schemes(self.budget, paid, n, baseline=self.baseline),
            attainment=withhold_small_schemes(self.attainment, paid, n),
            winners_losers=self.winners_losers_for(viewer, own_teams_only=own_teams_only),
            customer_share=withhold_small_schemes(self.customer_share, paid, n),
            currency=self.currency,
            names=dict(self.names),
            withheld={sid: withheld_reason(n) for sid in small},
        )

    def key_figures(self, names: dict[str, str] | None = None) -> list[F.Figure]:
        """Registry figures per scheme (annual cost, cost vs the baseline, share earned on customer metrics), as
        the Analysis's payouts section shows them; ``names`` maps scheme ids to display names (default
        :attr:`names`)."""
        names = {**self.names, **(names or {})}
        periods = self.cost["period"] if "period" in self.cost else pd.Series(dtype="datetime64[ns]")
        period = f"{periods.min():%Y-%m}/{periods.max():%Y-%m}" if len(periods) else None
        budget = self.budget.set_index("scheme")
        share = self.customer_share.set_index("scheme")
        currency = self.currency or "GBP"
        out: list[F.Figure] = []
        for sid in budget.index:
            parts = {"scheme": sid, "scheme_name": names.get(sid, sid)}
            out.append(
                F.PAYOUT_ANNUAL_COST.figure(
                    float(budget.loc[sid, "annualised_cost"]), period=period, currency=currency, **parts
                )
            )
            if sid != self.baseline:
                out.append(
                    F.PAYOUT_VS_CURRENT.figure(
                        float(budget.loc[sid, "vs_baseline"]), period=period, currency=currency, **parts
                    )
                )
            if sid in share.index:
                out.append(
                    F.PAYOUT_CUSTOMER_SHARE.figure(
                        float(share.loc[sid, "customer_centric_share"]),
                        period=period,
                        currency=currency,
                        **parts,
                    )
                )
        return withhold_scheme_figures(out, self.withheld, baseline=self.baseline) if self.withheld else out

    def _repr_html_(self) -> str:
        from cx_framework._display import figure_rows, html_card

        figures = self.key_figures()
        table = self.summary().rename(
            columns={
                "scheme": "Scheme",
                "annualised_cost": f"Annual cost ({self.currency or 'GBP'})",
                "budget_share": "Share of budget",
                "vs_baseline": "vs baseline",
                "mean": "Mean attainment",
                "p50": "Median attainment",
                "share_capped": "Share capped",
                "customer_centric_share": "Earned on customer metrics",
            }
        )
        period = figures[0].period if figures else None
        return html_card(
            f"Scheme comparison ({len(self.budget)} schemes" + (f", {period})" if period else ")"),
            text=f"Baseline (the scheme in force): {self.names.get(self.baseline, self.baseline)}. Winners and losers are per employee vs the "
            "baseline (see .winners_losers).",
            figures=figure_rows(figures),
            table=table,
            table_title="Schemes",
            caveats=[
                "Annual cost = total paid over the data × 12 / months covered; attainment = payout / target bonus."
            ],
        )

    def winners_losers_for(self, viewer: Viewer | None, *, own_teams_only: bool = False) -> pd.DataFrame:
        """:attr:`winners_losers` as ``viewer`` may see it (:func:`cx_framework.access.restrict_groups`): every
        group for HR (and with access control off, ``viewer`` None); for anyone else groups of fewer than the
        viewer's ``min_group_size`` employees (access.yaml, default 5) merged into an "other groups" row, so a
        group of one never shows that person's pay change. ``own_teams_only``: the comparison was computed on a
        manager's own teams (their people's pay is theirs to read). ``attrs["suppression"]`` says what was
        merged; column ``merged_groups`` counts the groups in each row (0: suppressed)."""
        return restrict_groups(
            self.winners_losers, viewer, own_teams_only=own_teams_only, **WINNERS_LOSERS_GROUPS
        )

    def summary(self) -> pd.DataFrame:
        """One row per scheme: annualised cost, budget share, median attainment, customer-centric share."""
        out = self.budget[["scheme", "annualised_cost", "budget_share", "vs_baseline"]].merge(
            self.attainment[["scheme", "mean", "p50", "share_capped"]], on="scheme"
        )
        return out.merge(self.customer_share[["scheme", "customer_centric_share"]], on="scheme")

    def plot(self):  # noqa: ANN201 - plotly figure
        """Distribution of payouts per scheme (see :func:`cx_framework.plots.scheme_cost_distribution`)."""
        from cx_framework.plots.incentives import scheme_cost_distribution

        return scheme_cost_distribution(self)


def _as_mapping(schemes: Sequence[Scheme] | Mapping[str, Scheme]) -> dict[str, Scheme]:
    items = list(schemes.values()) if isinstance(schemes, Mapping) else list(schemes)
    if not items:
        raise InputValueError("pass at least one scheme to compare", argument="schemes")
    out: dict[str, Scheme] = {}
    for i, item in enumerate(items):
        s = as_scheme(item, argument=f"schemes[{i}]")
        if s.id in out:
            raise ConfigError(f"scheme id '{s.id}' appears twice; give each scheme its own id", key="id")
        out[s.id] = s
    return out


def compare_schemes(
    employee_metrics: pd.DataFrame,
    employees: pd.DataFrame,
    schemes: Sequence[Scheme] | Mapping[str, Scheme],
    *,
    config: CxConfig | MetricCatalogue,
    budget: float | None = None,
    validate: bool = True,
    cache: dict[tuple[tuple[str, ...], str], PayoutInputs] | None = None,
    sales: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
) -> SchemeComparison:
    """Run several schemes on the same data and compare them (the first is the baseline).

    Parameters
    ----------
    employee_metrics, employees : pandas.DataFrame
        As for :func:`compute_payouts`.
    schemes : sequence or mapping of Scheme
        Schemes to compare; the first is the baseline ("current").
    config : CxConfig or MetricCatalogue
        Catalogue (directions, aggregation, ``customer_centric`` flags); with a CxConfig the annual budget
        defaults to ``economics.annual_bonus_budget`` and the currency to ``economics.currency``.
    budget : float, optional
        Annual bonus budget (currency per year); overrides the config.
    validate : bool, default True
        Validate the tables once before running the schemes.
    cache : dict, optional
        Prepared grids keyed by (sorted roles, period), filled on first use and reused on later calls — pass the
        same dict (e.g. from the app's session state) with the same tables so a what-if edit only re-evaluates
        the schemes. Do not reuse it with different tables.
    sales, customers : pandas.DataFrame, optional
        Credited sales and customers for schemes with customer clawbacks (see :func:`prepare_payouts`).

    Returns
    -------
    SchemeComparison

    Notes
    -----
    Costs exclude withheld employee-periods (their target bonus is reported separately). The annualised cost is
    total cost × 12 / months covered by the metric data, compared with the annual budget. A change is a win or
    a loss when an employee's total over the data changes by at least half a cent; an employee covered by only
    one of the two schemes counts as 0 under the other. The customer-centric share allocates each row's final
    payout to components in proportion to their pre-gate, pre-cap amounts.
    """
    by_id = _as_mapping(schemes)
    catalogue = _catalogue(config)
    if catalogue is None:
        raise InputValueError(
            "compare_schemes needs config= (CxConfig or MetricCatalogue)", argument="config"
        )
    if validate:
        from cx_framework.schemas import validate as _validate

        employees = _validate("employees", employees)
        employee_metrics = _validate("employee_metrics", employee_metrics)
    prepared: dict[tuple[tuple[str, ...], str], PayoutInputs] = {} if cache is None else cache
    payouts: dict[str, pd.DataFrame] = {}
    for sid, scheme in by_id.items():
        key = _grid_key(scheme)
        if key not in prepared:
            prepared[key] = prepare_payouts(
                employee_metrics,
                employees,
                scheme,
                config=catalogue,
                validate=False,
                sales=sales,
                customers=customers,
            )
        payouts[sid] = evaluate_payouts(prepared[key], scheme)

    months = int(employee_metrics["period"].dt.to_period("M").nunique())
    if budget is None and isinstance(config, CxConfig):
        budget = config.economics.annual_bonus_budget
    currency = config.economics.currency if isinstance(config, CxConfig) else ""
    baseline = next(iter(by_id))

    cost_parts, budget_rows, att_rows, share_rows, wl_parts = [], [], [], [], []
    for sid, df in payouts.items():
        paid = ~df["withheld"].to_numpy()
        per_period = payout_summary(df).drop(columns=["gate_failed", "capped", "attainment"])
        per_period.insert(0, "scheme", sid)
        cost_parts.append(per_period)
        total = float(per_period["payout"].sum())
        annualised = total * 12.0 / months if months else float("nan")
        budget_rows.append(
            {
                "scheme": sid,
                "employees": int(df.loc[paid, "employee_id"].nunique()),
                "total_cost": total,
                "months": months,
                "annualised_cost": annualised,
                "budget": float(budget) if budget is not None else np.nan,
                "budget_share": annualised / budget if budget else np.nan,
                "over_budget": bool(budget is not None and annualised > budget),
            }
        )
        att = df.loc[paid & (df["target_bonus"].to_numpy() > 0), "attainment"].to_numpy()
        q = np.percentile(att, PERCENTILES) if len(att) else np.full(len(PERCENTILES), np.nan)
        gate_failed = ~df["gates_passed"].fillna(True).to_numpy(dtype=bool)
        att_rows.append(
            {
                "scheme": sid,
                "employee_periods": int(paid.sum()),
                "mean": float(att.mean()) if len(att) else np.nan,
                **{f"p{p}": float(v) for p, v in zip(PERCENTILES, q, strict=True)},
                "share_zero": float((att <= 0).mean()) if len(att) else np.nan,
                "share_capped": float(df["capped"].to_numpy()[paid].mean()) if paid.any() else np.nan,
                "share_gate_failed": float(gate_failed[paid].mean()) if paid.any() else np.nan,
            }
        )
        share_rows.append(_customer_share(sid, df, by_id[sid], catalogue))

    budget_frame = pd.DataFrame(budget_rows)
    base_cost = budget_frame.loc[budget_frame["scheme"] == baseline, "annualised_cost"].iloc[0]
    budget_frame["vs_baseline"] = budget_frame["annualised_cost"] - base_cost
    for sid in payouts:
        if sid != baseline:
            quarterly = "quarter" in {by_id[sid].period, by_id[baseline].period}
            wl_parts.append(_winners_losers(sid, payouts[baseline], payouts[sid], quarterly=quarterly))
    wl_columns = [
        "scheme",
        "department",
        "role",
        "employees",
        "winners",
        "losers",
        "unchanged",
        "not_comparable",
        "mean_change",
        "total_change",
    ]
    return SchemeComparison(
        baseline=baseline,
        payouts=payouts,
        cost=pd.concat(cost_parts, ignore_index=True),
        budget=budget_frame,
        attainment=pd.DataFrame(att_rows),
        winners_losers=pd.concat(wl_parts, ignore_index=True)
        if wl_parts
        else pd.DataFrame(columns=wl_columns),
        customer_share=pd.DataFrame(share_rows),
        currency=currency,
        names={sid: scheme.name for sid, scheme in by_id.items()},
    )


def _customer_share(
    sid: str, df: pd.DataFrame, scheme: Scheme, catalogue: MetricCatalogue
) -> dict[str, object]:
    paid = ~df["withheld"].to_numpy()
    amounts = np.column_stack([np.nan_to_num(df[c.metric].to_numpy()) for c in scheme.components])
    raw = amounts.sum(axis=1)
    payout = np.where(paid, np.nan_to_num(df["payout"].to_numpy()), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(raw > 0, payout / raw, 0.0)
    allocated = (amounts * scale[:, None]).sum(axis=0)
    centric = np.array([catalogue.by_id[c.metric].customer_centric for c in scheme.components])
    customer = float(allocated[centric].sum())
    local = float(allocated[~centric].sum())
    total = customer + local
    return {
        "scheme": sid,
        "customer_centric_payout": customer,
        "local_payout": local,
        "customer_centric_share": customer / total if total > 0 else np.nan,
        "customer_centric_weight": float(
            sum(c.weight for c, f in zip(scheme.components, centric, strict=True) if f)
        ),
    }


def _buckets(df: pd.DataFrame, *, quarterly: bool) -> pd.DataFrame:
    """Payout and withheld flag per (employee, comparison period); a bucket is withheld if any row in it is."""
    period = df["period"]
    if quarterly and df.attrs.get("period") != "quarter":
        period = period.dt.to_period("Q").dt.start_time
    withheld = df["withheld"].to_numpy()
    frame = pd.DataFrame(
        {
            "employee_id": df["employee_id"].to_numpy(),
            "department": df["department"].to_numpy(),
            "role": df["role"].to_numpy(),
            "bucket": period.to_numpy(),
            "payout": np.where(withheld, 0.0, df["payout"].to_numpy()),
            "withheld": withheld,
        }
    )
    return frame.groupby(["employee_id", "department", "role", "bucket"], as_index=False).agg(
        payout=("payout", "sum"), withheld=("withheld", "max")
    )


def _winners_losers(sid: str, base: pd.DataFrame, other: pd.DataFrame, *, quarterly: bool) -> pd.DataFrame:
    """Per department and role: who earns more or less under ``other`` than under ``base``.

    Employee-periods are compared only where neither scheme withheld the payout (an unknown amount is neither a
    win nor a loss); a period missing under one scheme (role not covered, not employed) counts as paid 0.
    Monthly and quarterly schemes are compared per quarter. Employees with no comparable period are
    ``not_comparable``.
    """
    keys = ["employee_id", "department", "role", "bucket"]
    merged = _buckets(base, quarterly=quarterly).merge(
        _buckets(other, quarterly=quarterly), on=keys, how="outer", suffixes=("_base", "_new")
    )
    comparable = ~(
        merged["withheld_base"].fillna(False).astype(bool) | merged["withheld_new"].fillna(False).astype(bool)
    )
    merged["change"] = np.where(
        comparable, merged["payout_new"].fillna(0.0) - merged["payout_base"].fillna(0.0), 0.0
    )
    merged["comparable"] = comparable
    per_employee = merged.groupby(["employee_id", "department", "role"], as_index=False).agg(
        change=("change", "sum"), comparable=("comparable", "max")
    )
    ok = per_employee["comparable"].to_numpy(dtype=bool)
    change = per_employee["change"].to_numpy()
    frame = pd.DataFrame(
        {
            "department": per_employee["department"],
            "role": per_employee["role"],
            "employees": 1,
            "winners": (ok & (change >= _TOLERANCE)).astype(int),
            "losers": (ok & (change <= -_TOLERANCE)).astype(int),
            "unchanged": (ok & (np.abs(change) < _TOLERANCE)).astype(int),
            "not_comparable": (~ok).astype(int),
            "mean_change": np.where(ok, change, np.nan),
            "total_change": change,
        }
    )
    out = frame.groupby(["department", "role"], as_index=False).agg(
        employees=("employees", "sum"),
        winners=("winners", "sum"),
        losers=("losers", "sum"),
        unchanged=("unchanged", "sum"),
        not_comparable=("not_comparable", "sum"),
        mean_change=("mean_change", "mean"),
        total_change=("total_change", "sum"),
    )
    out.insert(0, "scheme", sid)
    return out
