"""Plan mechanics beyond the payout curve: rate tables (tiers), quota proration and team crediting.

All functions are vectorised over the (period, employee) rows of a :class:`~cx_framework.incentives.PayoutInputs`
grid; none loops over employees.

Rate tables
-----------
Attainment ``a`` = credited value / quota, where the quota is the component's ``target`` (for ``prorate: true``
divided out of the value instead: ``value / (employed_share × fte)``, which is the same as measuring against a
quota multiplied by ``employed_share × fte``). With tiers ``[lᵢ, uᵢ)`` paying rate ``rᵢ``:

* *marginal*: multiplier = Σᵢ rᵢ · clip(a − lᵢ, 0, uᵢ − lᵢ) (each slice at its own rate, like income-tax bands);
* *retroactive*: multiplier = r_k · a for the tier k holding a (crossing a tier boundary re-rates every unit).

This is the usual definition of marginal vs retroactive accelerators (e.g. Xactly, "Accelerators and
decelerators"; SAP SuccessFactors Incentive Management rate tables "incremental" vs "non-incremental").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cx_framework.config.models import Component, Crediting, RateTable

__all__ = ["rate_table_values", "team_credit", "prorated_value"]


def rate_table_values(attainment: np.ndarray | float, table: RateTable) -> np.ndarray:
    """Multiplier of a component's target-bonus share at ``attainment`` (share of quota, 1.0 = 100 %).

    Parameters
    ----------
    attainment : array-like of float
        Credited value / quota; negative values are treated as 0, NaN stays NaN.
    table : RateTable
        Tiers and mode (``marginal`` or ``retroactive``).

    Returns
    -------
    numpy.ndarray
        Multiplier (e.g. 1.0 = pays the component's full target share).

    Examples
    --------
    Tiers 0–0.5 at 0.5, 0.5–1.0 at 1.0, 1.0+ at 2.0; attainment 1.2: marginal = 0.5·0.5 + 1.0·0.5 + 2.0·0.2 = 0.9,
    retroactive = 2.0 · 1.2 = 2.4.
    """
    a = np.clip(np.asarray(attainment, dtype=np.float64), 0.0, None)
    lower = np.array([t.lower for t in table.tiers])
    upper = np.array([np.inf if t.upper is None else t.upper for t in table.tiers])
    rate = np.array([t.rate for t in table.tiers])
    if table.mode == "marginal":
        inside = np.clip(a[..., None] - lower, 0.0, upper - lower)
        out = (inside * rate).sum(axis=-1)
    else:
        top = upper[-1]
        capped = np.minimum(a, top)
        # tier k holds a when lower[k] <= a < upper[k]; at a == top (closed last tier) it is the last tier
        k = np.clip(np.searchsorted(lower, capped, side="right") - 1, 0, len(rate) - 1)
        out = rate[k] * capped
    return np.where(np.isnan(a), np.nan, out)


def prorated_value(value: np.ndarray, employed_share: np.ndarray, fte: np.ndarray) -> np.ndarray:
    """Value measured against a prorated quota: ``value / (employed_share × fte)`` (NaN where not employed)."""
    scale = employed_share * fte
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(scale > 0, value / scale, np.nan)


def team_credit(
    value: np.ndarray,
    rows: pd.DataFrame,
    fte: np.ndarray,
    credit: Crediting,
    *,
    additive: bool,
) -> np.ndarray:
    """Each member's credited value when ``credit.basis == "team"`` (a team's result credited by share).

    Parameters
    ----------
    value : numpy.ndarray
        Individual values aligned with ``rows`` (NaN = no value).
    rows : pandas.DataFrame
        Grid rows with ``period``, ``team`` and ``employed_share``.
    fte : numpy.ndarray
        Full-time equivalent per row (0–1].
    credit : Crediting
        ``split``: ``equal`` (1 / members employed in the team-period) or ``fte`` (FTE × employed share, normalised
        within the team-period).
    additive : bool
        True for ``sum`` metrics: the team total Σ value is split by share. False: every member gets the team mean.

    Returns
    -------
    numpy.ndarray
        Credited value per row; NaN where the team has no value in the period.
    """
    if credit.basis == "individual":
        return value
    key = pd.MultiIndex.from_arrays([rows["period"], rows["team"]])
    group, _ = pd.factorize(key)
    n_groups = int(group.max()) + 1 if len(group) else 0
    present = ~np.isnan(value)
    total = np.bincount(group, weights=np.where(present, value, 0.0), minlength=n_groups)
    count = np.bincount(group, weights=present.astype(np.float64), minlength=n_groups)
    employed = rows["employed_share"].to_numpy(dtype=np.float64)
    weight = (employed > 0).astype(np.float64) if credit.split == "equal" else fte * employed
    weight_sum = np.bincount(group, weights=weight, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        if additive:
            share = np.where(weight_sum[group] > 0, weight / weight_sum[group], 0.0)
            out = total[group] * share
        else:
            out = total[group] / count[group]
    return np.where(count[group] > 0, out, np.nan)


def component_multiplier(
    value: np.ndarray, component: Component, *, sign: int, curve: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """Curve multiplier, or the rate-table multiplier when the component has one (value below ``threshold`` → 0).

    Returns the multiplier and, for rate tables, the attainment (value / quota).
    """
    table = component.rate_table
    if table is None:
        return curve, None
    with np.errstate(invalid="ignore", divide="ignore"):
        attainment = value / component.target
    mult = rate_table_values(attainment, table)
    below = sign * value < sign * component.threshold
    return np.where(np.isnan(value), np.nan, np.where(below, 0.0, mult)), attainment
