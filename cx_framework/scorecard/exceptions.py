"""Exceptions: threshold breaches and statistical signals, listed newest and worst first.

Statistical signals come from a Shewhart individuals / moving-range (XmR) chart per metric series:
centre line = mean of the series, moving range mR_t = |x_t − x_{t−1}|, sigma-hat = mean(mR) / d2 with
d2 = 1.128 (n = 2), natural process limits = mean ± 2.66 · mean(mR) (= ± 3 sigma-hat) — Wheeler & Chambers,
*Understanding Statistical Process Control*; Montgomery, *Introduction to Statistical Quality Control*, §6.4.
Limits are computed retrospectively from the whole series shown (Phase I use).

Western Electric zone rules (Western Electric Co., *Statistical Quality Control Handbook*, 1956, pp. 25–28;
Montgomery §5.3.6), evaluated for the point that completes the pattern:

1. one point beyond 3 sigma;
2. two of three consecutive points beyond 2 sigma on the same side;
3. four of five consecutive points beyond 1 sigma on the same side;
4. eight consecutive points on the same side of the centre line.

Only signals in the metric's *bad* direction are exceptions (a run of improvements is not an exception to act on);
:func:`control_chart` keeps both sides for plotting.

Severity (integer, 3 = worst): WE rule 1 and a threshold breach by at least one threshold–target band -> 3;
a smaller threshold breach and WE rule 2 -> 2; WE rules 3 and 4 -> 1. At equal severity, exceptions on
customer-centric metrics rank first, then larger ``magnitude`` (sigmas from centre, or bands beyond threshold).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from cx_framework.config.models import Metric

__all__ = ["D2", "XMR_LIMIT_FACTOR", "RULES", "control_chart", "find_exceptions", "EXCEPTION_COLUMNS"]

#: Bias-correction constant d2 for moving ranges of two points.
D2 = 1.128
#: 3 / d2: natural process limits = centre ± 2.66 · mean moving range.
XMR_LIMIT_FACTOR = 2.66
#: Western Electric rules: name -> (points in window, points needed, zone in sigmas, severity).
RULES: dict[str, tuple[int, int, float, int]] = {
    "WE1": (1, 1, 3.0, 3),
    "WE2": (3, 2, 2.0, 2),
    "WE3": (5, 4, 1.0, 1),
    "WE4": (8, 8, 0.0, 1),
}
_RULE_TEXT = {
    "WE1": "beyond the 3-sigma control limit",
    "WE2": "2 of 3 points beyond 2 sigma",
    "WE3": "4 of 5 points beyond 1 sigma",
    "WE4": "8 points in a row on one side of the centre",
}
EXCEPTION_COLUMNS = [
    "period",
    "level",
    "department",
    "team",
    "metric",
    "customer_centric",
    "card",
    "rule",
    "description",
    "value",
    "expected_low",
    "expected_high",
    "severity",
    "magnitude",
]
_SERIES = ["level", "department", "team", "metric"]


def control_chart(
    values: pd.DataFrame,
    catalogue: Mapping[str, Metric],
    *,
    levels: tuple[str, ...] = ("organisation", "department", "team"),
    min_points: int = 8,
) -> pd.DataFrame:
    """XmR chart and Western Electric rules 1–4 for every metric series (vectorised over all series).

    Parameters
    ----------
    values : pandas.DataFrame
        Tidy values (:func:`cx_framework.scorecard.aggregate.build_values`); NaN values are skipped.
    catalogue : mapping of metric id -> Metric
    levels : tuple of str
        Levels whose series are charted.
    min_points : int
        Series shorter than this get centre and limits but no rule evaluation (limits from few points are
        unreliable; Montgomery recommends 20–25 for Phase I, 8 is the least that lets rule 4 fire at all).

    Returns
    -------
    pandas.DataFrame
        One row per point: ``level, department, team, metric, period, value, centre, sigma, lcl, ucl,
        n_points, WE1..WE4`` (bool, either side), ``side`` (``"worse"``/``"better"``/``"centre"`` in the metric's
        good direction), ``z`` (sigmas from the centre).
    """
    v = values[values["level"].isin(levels) & values["value"].notna()][[*_SERIES, "period", "value"]].copy()
    v["level"] = v["level"].astype(str)
    v["team"] = v["team"].astype(object).where(v["team"].notna(), "")
    v = v.sort_values([*_SERIES, "period"]).reset_index(drop=True)
    g = v.groupby(_SERIES, sort=False, observed=True)
    v["n_points"] = g["value"].transform("size")
    v["centre"] = g["value"].transform("mean")
    mr = g["value"].diff().abs()
    mr_bar = mr.groupby([v[c] for c in _SERIES], sort=False).transform("mean")
    v["sigma"] = mr_bar / D2
    v["lcl"] = v["centre"] - XMR_LIMIT_FACTOR * mr_bar
    v["ucl"] = v["centre"] + XMR_LIMIT_FACTOR * mr_bar
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (v["value"] - v["centre"]) / v["sigma"].where(v["sigma"] > 0)
    v["z"] = z
    sign = v["metric"].map({m: float(catalogue[m].sign) for m in v["metric"].unique()}).astype(float)
    good = z * sign
    v["side"] = np.select([good < 0, good > 0], ["worse", "better"], default="centre")
    enough = (v["n_points"] >= min_points) & z.notna()
    keys = [v[c] for c in _SERIES]
    for rule, (window, needed, zone, _) in RULES.items():
        fired = pd.Series(False, index=v.index)
        for direction in (1.0, -1.0):
            beyond = (z * direction > zone).astype(int)
            cum = beyond.groupby(keys, sort=False).cumsum()
            lagged = cum.groupby(keys, sort=False).shift(window).fillna(0)
            fired |= (beyond == 1) & ((cum - lagged) >= needed)
        v[rule] = fired & enough
    v["team"] = v["team"].replace("", None)
    return v[[*_SERIES, "period", "value", "centre", "sigma", "lcl", "ucl", "n_points", *RULES, "side", "z"]]


def find_exceptions(
    metric_scores: pd.DataFrame,
    control: pd.DataFrame,
    catalogue: Mapping[str, Metric],
) -> pd.DataFrame:
    """Threshold breaches (red statuses) and bad-direction control-chart signals, newest and worst first.

    Parameters
    ----------
    metric_scores : pandas.DataFrame
        Scored rows (``period, card, department, metric, value, threshold, target, status``).
    control : pandas.DataFrame
        Output of :func:`control_chart`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`EXCEPTION_COLUMNS`; ``expected_low`` / ``expected_high`` bound the acceptable range
        (± inf where open), ``magnitude`` is bands beyond threshold (breaches) or sigmas from centre (signals).
    """
    centric = {m: catalogue[m].customer_centric for m in catalogue}
    red = metric_scores[metric_scores["status"].eq("red")]
    sign = red["metric"].map({m: float(catalogue[m].sign) for m in red["metric"].unique()}).to_numpy(float)
    band = np.abs(red["target"].to_numpy(float) - red["threshold"].to_numpy(float))
    with np.errstate(divide="ignore", invalid="ignore"):
        bands = np.abs(red["value"].to_numpy(float) - red["threshold"].to_numpy(float)) / band
    breaches = pd.DataFrame(
        {
            "period": red["period"].to_numpy(),
            "level": np.where(red["department"].eq("organisation"), "organisation", "department"),
            "department": red["department"].to_numpy(),
            "team": None,
            "metric": red["metric"].to_numpy(),
            "card": red["card"].to_numpy(),
            "rule": "threshold",
            # object arrays: numpy < 2 has no "+" for fixed-width unicode arrays
            "description": np.where(sign > 0, "below threshold", "above threshold").astype(object)
            + " on the "
            + red["card"].to_numpy(dtype=object)
            + " card",
            "value": red["value"].to_numpy(float),
            "expected_low": np.where(sign > 0, red["threshold"].to_numpy(float), -np.inf),
            "expected_high": np.where(sign > 0, np.inf, red["threshold"].to_numpy(float)),
            "severity": np.where(bands >= 1.0, 3, 2),
            "magnitude": bands,
        }
    )
    rule_names = list(RULES)
    worse = control[control["side"].eq("worse") & control[rule_names].any(axis=1)]
    fired = worse[rule_names].to_numpy()
    severity = (
        np.where(fired, np.array([RULES[r][3] for r in rule_names]), 0).max(axis=1)
        if len(worse)
        else np.array([], int)
    )
    labels = np.array(rule_names, dtype=object)
    rule_label = [
        ", ".join(labels[row]) for row in fired
    ]  # one join per flagged point (few), not per data row
    text = ["; ".join(_RULE_TEXT[r] for r in labels[row]) for row in fired]
    signals = pd.DataFrame(
        {
            "period": worse["period"].to_numpy(),
            "level": worse["level"].to_numpy(),
            "department": worse["department"].to_numpy(),
            "team": worse["team"].to_numpy(),
            "metric": worse["metric"].to_numpy(),
            "card": None,
            "rule": rule_label,
            "description": text,
            "value": worse["value"].to_numpy(float),
            "expected_low": worse["lcl"].to_numpy(float),
            "expected_high": worse["ucl"].to_numpy(float),
            "severity": severity,
            "magnitude": np.abs(worse["z"].to_numpy(float)),
        }
    )
    frames = [f for f in (breaches, signals) if len(f)]
    if not frames:
        return pd.DataFrame(columns=EXCEPTION_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    out["customer_centric"] = out["metric"].map(centric).fillna(False).astype(bool)
    out["severity"] = out["severity"].astype(int)
    out = out.sort_values(
        ["period", "severity", "customer_centric", "magnitude"],
        ascending=[False, False, False, False],
        kind="stable",
    )
    return out[EXCEPTION_COLUMNS].reset_index(drop=True)
