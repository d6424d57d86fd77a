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
from cx_framework.access import Viewer, restrict_groups
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

__all__ = ["SchemeComparison", "compare_schemes", "PERCENTILES", "WINNERS_LOSERS_GROUPS"]

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
        Per scheme: ``scheme, total_cost`` (currency over the data), ``months`` covered, ``annualised_cost``
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
        return out

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
