"""What service level can we afford, and what is it worth? Staffing cost against retained customer value.

For each service-level target the forecast is staffed with Erlang C (:func:`cx_framework.staffing.agents_needed`
per interval), grossed up for shrinkage and costed per paid agent hour. On the other side, the retention model
predicts next-month churn among customers who call if they experienced that service level; customers kept
(relative to the lowest target) are valued at the present value of their lifetime margin
(:func:`cx_framework.retention.lifetime_margin_pv`). The profit-maximising target maximises
``retained value - extra staffing cost``.

Model uncertainty is propagated by drawing the retention coefficients from their asymptotic normal distribution
(customer-clustered covariance), recomputing the value curve and the optimum for each draw ("simulation from the
sampling distribution", King, Tomz & Wittenberg, *AJPS* 2000). The 80/20 convention (80 % of calls answered in
20 s) is reported next to the optimum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cx_framework.errors import DataValidationError, InputValueError

__all__ = ["OptimalServiceLevel", "optimal_service_level", "staffing_cost_curve"]

_CONVENTION = 0.80


@dataclass(frozen=True)
class OptimalServiceLevel:
    """Staffing cost vs retained value by service-level target, and the profit-maximising target.

    Attributes
    ----------
    curve : pandas.DataFrame
        One row per target: ``target`` (share), ``agent_hours`` (on the phones), ``paid_hours`` (after
        shrinkage), ``fte``, ``staffing_cost``, ``churn_probability`` (per month among exposed customers),
        ``churners`` (over the forecast horizon), ``retained_value`` (vs the lowest target, currency) with
        ``retained_value_lower/upper``, ``extra_cost`` (vs the lowest target), ``net_value`` with
        ``net_value_lower/upper`` (95 % over parameter draws) and ``p_best`` (share of draws in which this
        target is optimal).
    optimum : float
        Profit-maximising target (share) at the point estimates.
    optimum_lower, optimum_upper : float
        2.5 % and 97.5 % quantiles of the optimal target over the parameter draws.
    convention : float
        The 80/20 convention's target (0.80), nearest target on the grid.
    net_gain_vs_convention : float
        Net value at the optimum minus net value at the convention (currency, point estimates).
    net_gain_vs_convention_lower, net_gain_vs_convention_upper : float
        95 % interval of that gain over the draws (gain of the point-estimate optimum vs the convention).
    horizon_months : float
        Length of the forecast in months (value and cost both refer to it).
    currency : str
    """

    curve: pd.DataFrame
    optimum: float
    optimum_lower: float
    optimum_upper: float
    convention: float
    net_gain_vs_convention: float
    net_gain_vs_convention_lower: float
    net_gain_vs_convention_upper: float
    horizon_months: float
    currency: str

    def key_figures(self, *, period: str | None = None) -> list[Any]:
        """Registry figures: the profit-maximising target with its 95 % bounds and its gain vs the 80/20
        convention (as the Analysis's retention section shows them)."""
        from cx_framework import figures as F

        c = self.currency
        return [
            F.OPTIMAL_SL.figure(float(self.optimum), period=period, currency=c),
            F.OPTIMAL_SL_LOW.figure(float(self.optimum_lower), period=period, currency=c),
            F.OPTIMAL_SL_HIGH.figure(float(self.optimum_upper), period=period, currency=c),
            F.GAIN_VS_CONVENTION.figure(float(self.net_gain_vs_convention), period=period, currency=c),
        ]

    def _repr_html_(self) -> str:
        from cx_framework._display import figure_rows, html_card

        cols = [
            c
            for c in ("target", "fte", "staffing_cost", "retained_value", "net_value", "p_best")
            if c in self.curve
        ]
        # every fifth point of the grid, the optimum and the convention
        target = self.curve["target"].astype(float)
        keep = ((target * 100).round() % 5).eq(0) | target.sub(self.optimum).abs().lt(1e-9)
        keep |= target.sub(self.convention).abs().lt(1e-9)
        table = self.curve.loc[keep, cols].rename(
            columns={
                "target": "Target",
                "fte": "FTE",
                "staffing_cost": f"Staffing cost ({self.currency})",
                "retained_value": f"Retained value ({self.currency})",
                "net_value": f"Net value ({self.currency})",
                "p_best": "P(best)",
            }
        )
        return html_card(
            "Optimal service level",
            figures=figure_rows(self.key_figures()),
            table=table,
            table_title="Value by target",
            max_rows=25,
            caveats=[
                f"Cost and value over a {self.horizon_months:g}-month forecast; retained value vs the lowest target; "
                "bounds are 95 % over draws of the retention model's parameters."
            ],
        )

    def plot(self) -> Any:
        """Value curve with the optimum and the 80/20 convention (:func:`cx_framework.plots.sl_value_curve_figure`)."""
        from cx_framework.plots.retention import sl_value_curve_figure

        return sl_value_curve_figure(self)

    def explain(self) -> str:
        """Plain-language recommendation and its uncertainty."""
        row = self.curve.set_index("target")
        opt, conv = row.loc[self.optimum], row.loc[self.convention]
        return (
            f"Over the {self.horizon_months:.1f}-month forecast, the service level that maximises retained customer "
            f"value minus staffing cost is {100 * self.optimum:.0f}% (95% range over the retention model's "
            f"uncertainty: {100 * self.optimum_lower:.0f}%-{100 * self.optimum_upper:.0f}%). It needs "
            f"{opt['fte']:.1f} FTE ({self.currency} {opt['staffing_cost']:,.0f}) against {conv['fte']:.1f} FTE "
            f"({self.currency} {conv['staffing_cost']:,.0f}) at the 80/20 convention; net value differs by "
            f"{self.currency} {self.net_gain_vs_convention:,.0f} (95% CI {self.net_gain_vs_convention_lower:,.0f} to "
            f"{self.net_gain_vs_convention_upper:,.0f}). The retention side is an association, not causation "
            "unless the design supports it."
        )


def _interval_seconds(intervals: pd.DataFrame) -> float:
    starts = pd.to_datetime(intervals["interval_start"]).drop_duplicates().sort_values()
    if len(starts) < 2:
        return 1800.0
    step = float(np.median(np.diff(starts.to_numpy(dtype="datetime64[ns]")).astype(np.int64)) / 1e9)
    return step if step > 0 else 1800.0


def staffing_cost_curve(
    intervals_forecast: pd.DataFrame,
    config: Any,
    *,
    targets: Sequence[float] | np.ndarray,
    interval_s: float | None = None,
) -> pd.DataFrame:
    """Agents, paid hours, FTE and cost to reach each service-level target over a forecast.

    Parameters
    ----------
    intervals_forecast : pandas.DataFrame
        ``interval_start``, ``offered`` (calls forecast per interval, any queue column kept separate) and
        ``aht_s`` (seconds) per interval; intervals with no calls need no agents.
    config : CxConfig or Economics
        ``cost_per_agent_hour``, ``shrinkage``, ``hours_per_fte_week``, ``answer_s``.
    targets : array-like of float
        Service-level targets (shares in (0, 1)).
    interval_s : float, optional
        Interval length in seconds; default inferred from ``interval_start`` (median step, else 1800).

    Returns
    -------
    pandas.DataFrame
        ``target, agent_hours, paid_hours, fte, staffing_cost``.
    """
    from cx_framework.staffing import agents_needed

    econ = getattr(config, "economics", config)
    missing = [c for c in ("interval_start", "offered", "aht_s") if c not in intervals_forecast.columns]
    if missing:
        raise DataValidationError(
            f"table 'intervals_forecast' is missing column(s) {missing}; it needs interval_start, offered (calls "
            "per interval) and aht_s (seconds).",
            table="intervals",
        )
    step = _interval_seconds(intervals_forecast) if interval_s is None else float(interval_s)
    calls = intervals_forecast["offered"].to_numpy(dtype=float)
    aht = intervals_forecast["aht_s"].to_numpy(dtype=float)
    busy = calls > 0
    if not np.all(np.isfinite(aht[busy]) & (aht[busy] > 0)):
        raise DataValidationError(
            "table 'intervals_forecast': column 'aht_s' must be a positive number of seconds wherever offered > 0.",
            table="intervals",
        )
    start = pd.to_datetime(intervals_forecast["interval_start"])
    span_s = (start.max() - start.min()).total_seconds() + step
    weeks = span_s / (7 * 86_400)
    rows = []
    for target in np.asarray(targets, dtype=float):  # one vectorised Erlang C call per target (tens)
        agents = agents_needed(
            calls[busy], aht[busy], target=float(target), answer_s=econ.answer_s, interval_s=step
        )
        agent_hours = float(np.sum(agents)) * step / 3600.0
        paid = agent_hours / (1.0 - econ.shrinkage)
        rows.append(
            (
                float(target),
                agent_hours,
                paid,
                paid / (weeks * econ.hours_per_fte_week),
                paid * econ.cost_per_agent_hour,
            )
        )
    out = pd.DataFrame(rows, columns=["target", "agent_hours", "paid_hours", "fte", "staffing_cost"])
    out.attrs.update(interval_s=step, horizon_months=span_s / (86_400 * 365.25 / 12))
    return out


def optimal_service_level(
    intervals_forecast: pd.DataFrame,
    retention_result: Any,
    customers: Any,
    config: Any,
    *,
    targets: Sequence[float] | np.ndarray = np.arange(0.50, 0.991, 0.01),  # noqa: B008 - immutable in practice
    n_draws: int = 1000,
    seed: int = 0,
    exposed_per_month: float | None = None,
    interval_s: float | None = None,
) -> OptimalServiceLevel:
    """Profit-maximising service-level target: staffing cost vs retained customer value, with uncertainty.

    Parameters
    ----------
    intervals_forecast : pandas.DataFrame
        Forecast intervals (``interval_start, offered, aht_s``); cost and value refer to its time span.
    retention_result : RetentionResult
        Fitted :func:`~cx_framework.retention.fit_retention` result (SL exposure as a share).
    customers : pandas.DataFrame or CustomerBase
        ``customers`` table (or its grouped :class:`~cx_framework.retention.CustomerBase`); mean
        ``monthly_revenue`` of active customers values a churner.
    config : CxConfig or Economics
        Economics assumptions (cost per agent hour, shrinkage, FTE hours, margin, lifetime, discount rate,
        answer_s).
    targets : array-like of float, default 0.50, 0.51, ..., 0.99
        Targets to evaluate (shares); the customers' experienced SL is assumed to equal the target on average
        (volume-weighted SL is the average of what calling customers experience).
    n_draws : int, default 1000
        Parameter draws for the uncertainty of the retention effect.
    seed : int, default 0
        Seed of the draws.
    exposed_per_month : float, optional
        Customers per month who call (and so experience SL). Default: the retention sample's
        ``nobs / n_periods``.
    interval_s : float, optional
        Interval length in seconds (default inferred).

    Returns
    -------
    OptimalServiceLevel

    Raises
    ------
    InputValueError
        Targets outside (0, 1) or fewer than two targets; ``n_draws`` < 10.
    DataValidationError
        Forecast or customers missing columns.
    """
    from cx_framework.retention.value import _mean_revenue, lifetime_margin_pv

    grid = np.round(np.asarray(targets, dtype=float), 10)
    if grid.ndim != 1 or grid.size < 2 or np.any((grid <= 0) | (grid >= 1)):
        raise InputValueError(
            "argument 'targets' must hold at least two shares in (0, 1).", argument="targets"
        )
    if n_draws < 10:
        raise InputValueError(f"argument 'n_draws' must be >= 10; got {n_draws!r}.", argument="n_draws")
    grid = np.sort(grid)
    econ = getattr(config, "economics", config)
    cost = staffing_cost_curve(intervals_forecast, econ, targets=grid, interval_s=interval_s)
    horizon = float(cost.attrs["horizon_months"])
    exposed = (
        retention_result.nobs / max(retention_result.n_periods, 1)
        if exposed_per_month is None
        else exposed_per_month
    )
    pv = float(
        lifetime_margin_pv(
            _mean_revenue(customers),
            margin=econ.margin,
            lifetime_months=econ.customer_lifetime_months,
            discount_rate_annual=econ.discount_rate_annual,
        )
    )
    customer_months = exposed * horizon
    staffing_cost = cost["staffing_cost"].to_numpy()
    extra = staffing_cost - staffing_cost[0]

    def net(prob: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        churners = prob * customer_months
        retained = (churners[..., :1] - churners) * pv
        return churners, retained, retained - extra

    prob = retention_result.dose_response(grid)["churn_probability"].to_numpy()
    churners, retained, net_value = net(prob)
    draws = retention_result.simulate_dose_response(grid, n_draws=n_draws, seed=seed)
    _, retained_d, net_d = net(draws)
    best_d = np.argmax(net_d, axis=1)
    best = int(np.argmax(net_value))
    conv = int(np.argmin(np.abs(grid - _CONVENTION)))
    gain_d = net_d[:, best] - net_d[:, conv]

    curve = cost.copy()
    curve["churn_probability"] = prob
    curve["churners"] = churners
    curve["retained_value"] = retained
    curve["retained_value_lower"] = np.quantile(retained_d, 0.025, axis=0)
    curve["retained_value_upper"] = np.quantile(retained_d, 0.975, axis=0)
    curve["extra_cost"] = extra
    curve["net_value"] = net_value
    curve["net_value_lower"] = np.quantile(net_d, 0.025, axis=0)
    curve["net_value_upper"] = np.quantile(net_d, 0.975, axis=0)
    curve["p_best"] = np.bincount(best_d, minlength=grid.size) / n_draws
    curve.attrs.update(horizon_months=horizon, exposed_per_month=exposed, lifetime_margin_pv=pv)
    return OptimalServiceLevel(
        curve=curve,
        optimum=float(grid[best]),
        optimum_lower=float(np.quantile(grid[best_d], 0.025)),
        optimum_upper=float(np.quantile(grid[best_d], 0.975)),
        convention=float(grid[conv]),
        net_gain_vs_convention=float(net_value[best] - net_value[conv]),
        net_gain_vs_convention_lower=float(np.quantile(gain_d, 0.025)),
        net_gain_vs_convention_upper=float(np.quantile(gain_d, 0.975)),
        horizon_months=horizon,
        currency=econ.currency,
    )
