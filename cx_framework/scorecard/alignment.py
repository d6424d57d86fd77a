"""How far each department's own scorecard points at the customer.

Three views per department:

* **weight alignment** — share (0–1) of the local scorecard's weight on metrics that are customer-centric in the
  catalogue or declared to ``contributes_to`` a shared objective (what the card *says* it cares about);
* **empirical alignment** — Pearson r, over periods, between the department's local composite and the shared
  customer composite (what the card *does*), with the number of periods n and a 95 % Fisher-z interval
  (Fisher 1921; tanh(atanh(r) ± z_{0.975} / sqrt(n − 3)));
* **"green inside, red outside"** — the department is green on its own card while a shared metric it contributes
  to is red: the pattern of sub-optimisation that Deming's point 9 ("break down barriers between departments")
  and Seddon's *Freedom from Command and Control* (2003) warn about.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from cx_framework.config.models import Metric, Scorecard
from cx_framework.errors import StatisticalWarning
from cx_framework.scorecard.aggregate import ORGANISATION

__all__ = ["pearson_ci", "weight_alignment", "green_inside_red_outside", "alignment_table"]


def pearson_ci(
    x: np.ndarray, y: np.ndarray, *, confidence: float = 0.95
) -> tuple[float, int, float, float, float]:
    """Pearson r with its Fisher-z confidence interval over the pairs where both values are finite.

    Returns
    -------
    (r, n, ci_low, ci_high, p_value)
        r and p from :func:`scipy.stats.pearsonr` (NaN when n < 3 or a series is constant); the interval is
        NaN when n <= 3 (the Fisher-z standard error 1/sqrt(n − 3) needs n > 3).
    """
    from scipy import stats  # here, not at import: the scorecard's readers (and its pickle) need no scipy

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    n = int(ok.sum())
    if n < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return np.nan, n, np.nan, np.nan, np.nan
    res = stats.pearsonr(x, y)
    r, p = float(res.statistic), float(res.pvalue)
    if n <= 3:
        return r, n, np.nan, np.nan, p
    z = np.arctanh(np.clip(r, -1 + 1e-15, 1 - 1e-15))
    half = stats.norm.ppf(0.5 + confidence / 2) / np.sqrt(n - 3)
    return r, n, float(np.tanh(z - half)), float(np.tanh(z + half)), p


def weight_alignment(scorecard: Scorecard, catalogue: Mapping[str, Metric]) -> pd.DataFrame:
    """Share of each local scorecard's weight on customer-centric or shared-contributing metrics.

    Returns
    -------
    pandas.DataFrame
        ``department``, ``weight_alignment`` (share 0–1 of weight on metrics customer-centric *or*
        contributing), ``customer_centric_weight`` and ``contributing_weight`` (each share 0–1).
    """
    rows = [
        {
            "department": dept,
            "weight": o.weight,
            "customer_centric": catalogue[o.metric].customer_centric,
            "contributes": bool(o.contributes_to),
        }
        for dept, objectives in scorecard.local.items()
        for o in objectives
    ]
    frame = pd.DataFrame(rows, columns=["department", "weight", "customer_centric", "contributes"])
    frame["aligned"] = frame["customer_centric"] | frame["contributes"]
    w = frame["weight"]
    out = (
        frame.assign(_a=w * frame["aligned"], _c=w * frame["customer_centric"], _k=w * frame["contributes"])
        .groupby("department", sort=False)[["weight", "_a", "_c", "_k"]]
        .sum()
    )
    return pd.DataFrame(
        {
            "department": out.index,
            "weight_alignment": (out["_a"] / out["weight"]).to_numpy(),
            "customer_centric_weight": (out["_c"] / out["weight"]).to_numpy(),
            "contributing_weight": (out["_k"] / out["weight"]).to_numpy(),
        }
    )


def green_inside_red_outside(
    department_scores: pd.DataFrame,
    shared_metric_scores: pd.DataFrame,
    shared_scores: pd.DataFrame,
    scorecard: Scorecard,
) -> pd.DataFrame:
    """Flag periods where a department is green on its own card while the customer card it feeds is red.

    The shared metrics a department "contributes to" are the union of ``contributes_to`` of its local
    objectives; their status is read from the department's own row on the shared card, falling back to the
    organisation's row when the department has no data for that metric. A department that declares no
    contribution is judged on its whole shared composite.

    Returns
    -------
    pandas.DataFrame
        ``period``, ``department``, ``green_inside_red_outside`` (bool), ``red_outside`` (comma-separated ids of
        the red shared metrics, or ``"shared composite"``).
    """
    links = pd.DataFrame(
        [
            (dept, shared)
            for dept, objectives in scorecard.local.items()
            for shared in sorted({s for o in objectives for s in o.contributes_to})
        ],
        columns=["department", "metric"],
    )
    base = department_scores[["period", "department", "status"]].rename(columns={"status": "local_status"})
    own = shared_metric_scores[["period", "department", "metric", "status"]]
    org = (
        own[own["department"].eq(ORGANISATION)].drop(columns="department").rename(columns={"status": "_org"})
    )
    linked = base.merge(links, on="department", how="inner").merge(
        own, on=["period", "department", "metric"], how="left"
    )
    linked = linked.merge(org, on=["period", "metric"], how="left")
    status = linked["status"].where(linked["status"].notna() & linked["status"].ne("no data"), linked["_org"])
    red = linked[status.eq("red")]
    red_names = (
        red.groupby(["period", "department"])["metric"]
        .agg(lambda s: ", ".join(sorted(s)))
        .rename("red_outside")
    )

    out = base.merge(red_names.reset_index(), on=["period", "department"], how="left")
    # departments without declared contributions: the whole shared composite is "outside"
    undeclared = ~out["department"].isin(links["department"])
    shared_status = out[["period", "department"]].merge(
        shared_scores[["period", "department", "status"]], on=["period", "department"], how="left"
    )["status"]
    out.loc[undeclared & shared_status.eq("red").to_numpy(), "red_outside"] = "shared composite"
    out["red_outside"] = out["red_outside"].fillna("")
    out["green_inside_red_outside"] = out["local_status"].eq("green") & out["red_outside"].ne("")
    return out[["period", "department", "green_inside_red_outside", "red_outside"]]


def alignment_table(
    department_scores: pd.DataFrame,
    shared_scores: pd.DataFrame,
    scorecard: Scorecard,
    catalogue: Mapping[str, Metric],
    *,
    reference: str = "department",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """One row per department with weight alignment, empirical alignment and the green-inside flag.

    Parameters
    ----------
    department_scores : pandas.DataFrame
        Local composites (``period``, ``department``, ``composite``, ``green_inside_red_outside``).
    shared_scores : pandas.DataFrame
        Shared composites per ``period`` and ``department`` (incl. ``"organisation"``).
    reference : {"department", "organisation"}
        Shared composite to correlate with: the department's own values of the shared metrics (default) or the
        organisation's.
    confidence : float
        Confidence level of the Fisher-z interval (share, default 0.95).

    Returns
    -------
    pandas.DataFrame
        ``department``, ``weight_alignment``, ``customer_centric_weight``, ``contributing_weight``,
        ``empirical_r``, ``n_periods``, ``ci_low``, ``ci_high``, ``p_value``, ``periods_green_inside_red_outside``,
        ``green_inside_red_outside_latest``.
    """
    local = department_scores[["period", "department", "composite"]].rename(columns={"composite": "local"})
    if reference == "organisation":
        ref = shared_scores[shared_scores["department"].eq(ORGANISATION)][["period", "composite"]]
        paired = local.merge(ref.rename(columns={"composite": "shared"}), on="period", how="left")
    else:
        ref = shared_scores[["period", "department", "composite"]].rename(columns={"composite": "shared"})
        paired = local.merge(ref, on=["period", "department"], how="left")
    rows = []
    few: list[str] = []
    for dept, grp in paired.groupby("department", sort=False):  # one iteration per department, not per row
        r, n, lo, hi, p = pearson_ci(grp["local"].to_numpy(), grp["shared"].to_numpy(), confidence=confidence)
        if 0 < n < 6:
            few.append(f"{dept} (n={n})")
        rows.append(
            {"department": dept, "empirical_r": r, "n_periods": n, "ci_low": lo, "ci_high": hi, "p_value": p}
        )
    if few:
        warnings.warn(
            f"empirical alignment rests on fewer than 6 periods for {', '.join(few)}; its interval is wide or "
            "undefined — read it as indicative only",
            StatisticalWarning,
            stacklevel=3,
        )
    empirical = pd.DataFrame(
        rows, columns=["department", "empirical_r", "n_periods", "ci_low", "ci_high", "p_value"]
    )
    flags = department_scores.sort_values("period").groupby("department", sort=False)[
        "green_inside_red_outside"
    ]
    flag_summary = pd.DataFrame(
        {
            "periods_green_inside_red_outside": flags.sum().astype(int),
            "green_inside_red_outside_latest": flags.last(),
        }
    ).reset_index()
    out = (
        weight_alignment(scorecard, catalogue)
        .merge(empirical, on="department", how="outer")
        .merge(flag_summary, on="department", how="left")
    )
    out["n_periods"] = out["n_periods"].fillna(0).astype(int)
    out["periods_green_inside_red_outside"] = out["periods_green_inside_red_outside"].fillna(0).astype(int)
    out["green_inside_red_outside_latest"] = out["green_inside_red_outside_latest"].fillna(False).astype(bool)
    return out.reset_index(drop=True)
