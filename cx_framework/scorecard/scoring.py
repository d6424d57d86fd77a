"""Score one metric value against its objective, and combine scores into a composite.

Score (DESIGN.md "Scorecard score"): piecewise linear through (threshold, 0), (target, 100), (stretch, 120),
clipped to [0, 120], mirrored for lower-is-better metrics. Status: red < threshold <= amber < target <= green
(in the metric's good direction); a missing value is ``"no data"`` — never a silent 0.

The composite of a scorecard is the weighted mean of the scores of the metrics that *have* data; the weights of
metrics without data are dropped and the rest renormalised. ``coverage`` (share 0–1 of the card's weight that
had data) is reported next to every composite so that a composite built on half the card is visible as such.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "SCORE_AT_THRESHOLD",
    "SCORE_AT_TARGET",
    "SCORE_AT_STRETCH",
    "COMPOSITE_BANDS",
    "NO_DATA",
    "score_values",
    "status_of",
    "composite_status",
    "composite",
]

SCORE_AT_THRESHOLD = 0.0
SCORE_AT_TARGET = 100.0
SCORE_AT_STRETCH = 120.0
#: Composite status bands (score points): red < 50 <= amber < 100 <= green. 100 = the card on target on
#: (weighted) average; 50 = half-way from threshold to target. A convention of this library, stated here.
COMPOSITE_BANDS: tuple[float, float] = (50.0, 100.0)
NO_DATA = "no data"

Direction = Literal["higher_is_better", "lower_is_better"]


def _sign(direction: Direction | ArrayLike) -> NDArray[np.float64]:
    d = np.asarray(direction)
    if d.dtype.kind in "fiu":
        return np.sign(d).astype(float)
    bad = ~np.isin(d, ["higher_is_better", "lower_is_better"])
    if np.any(bad):
        from cx_framework.errors import InputValueError

        raise InputValueError(
            f"direction must be 'higher_is_better' or 'lower_is_better', got {np.asarray(d)[bad].ravel()[0]!r}",
            argument="direction",
        )
    return np.where(d == "higher_is_better", 1.0, -1.0)


def score_values(
    value: ArrayLike,
    threshold: ArrayLike,
    target: ArrayLike,
    stretch: ArrayLike,
    direction: Direction | ArrayLike = "higher_is_better",
) -> NDArray[np.float64]:
    """Score metric values on the 0–120 scale (vectorised; all arguments broadcast).

    Parameters
    ----------
    value : array-like of float
        Metric values in the metric's unit. NaN gives NaN (no data).
    threshold, target, stretch : array-like of float
        Objective levels in the metric's unit; ``threshold < target <= stretch`` for higher-is-better,
        ``threshold > target >= stretch`` for lower-is-better (checked by the config loader).
    direction : {"higher_is_better", "lower_is_better"} or array-like of them (or of +1 / -1)

    Returns
    -------
    numpy.ndarray of float
        Score in [0, 120]: 0 at (and beyond) threshold, 100 at target, 120 at (and beyond) stretch, linear in
        between. When ``stretch == target`` a value at or beyond target scores 120 only beyond target and 100 at it.

    Examples
    --------
    Lower-is-better AHT, threshold 420 s, target 360 s, stretch 300 s; 330 s lies half-way from target to
    stretch: 100 + 20 * (330 - 360) / (300 - 360) = 110.

    >>> float(score_values(330.0, 420.0, 360.0, 300.0, "lower_is_better"))
    110.0
    """
    v, thr, tgt, stt = (np.asarray(x, dtype=float) for x in (value, threshold, target, stretch))
    s = _sign(direction)
    # the ratios below are invariant under mirroring (negating value and all levels), so one formula serves
    # both directions; only the branch test needs the sign
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = SCORE_AT_TARGET * (v - thr) / (tgt - thr)
        upper_span = np.where(stt == tgt, np.nan, stt - tgt)
        upper = SCORE_AT_TARGET + (SCORE_AT_STRETCH - SCORE_AT_TARGET) * (v - tgt) / upper_span
        upper = np.where(
            np.isnan(upper_span), np.where(s * (v - tgt) > 0, SCORE_AT_STRETCH, SCORE_AT_TARGET), upper
        )
        out = np.where(s * (v - tgt) < 0, lower, upper)
    out = np.clip(out, SCORE_AT_THRESHOLD, SCORE_AT_STRETCH)
    return np.where(np.isnan(v), np.nan, out)


def status_of(
    value: ArrayLike,
    threshold: ArrayLike,
    target: ArrayLike,
    direction: Direction | ArrayLike = "higher_is_better",
) -> NDArray[np.object_]:
    """Status of metric values: ``"red"`` beyond threshold, ``"amber"`` from threshold up to (not incl.)
    target, ``"green"`` at or beyond target, ``"no data"`` for NaN (directions as in :func:`score_values`)."""
    v, thr, tgt = (np.asarray(x, dtype=float) for x in (value, threshold, target))
    s = _sign(direction)
    out = np.where(s * (v - tgt) >= 0, "green", np.where(s * (v - thr) >= 0, "amber", "red")).astype(object)
    out[np.broadcast_to(np.isnan(v), out.shape)] = NO_DATA
    return out


def composite_status(
    composite_score: ArrayLike, bands: tuple[float, float] = COMPOSITE_BANDS
) -> NDArray[np.object_]:
    """Status of composite scores: red < ``bands[0]`` <= amber < ``bands[1]`` <= green; NaN -> ``"no data"``."""
    c = np.asarray(composite_score, dtype=float)
    out = np.where(c >= bands[1], "green", np.where(c >= bands[0], "amber", "red")).astype(object)
    out[np.isnan(c)] = NO_DATA
    return out


def composite(
    metric_scores: pd.DataFrame, by: list[str], *, bands: tuple[float, float] = COMPOSITE_BANDS
) -> pd.DataFrame:
    """Weighted-mean composite per group, metrics without data excluded and weights renormalised.

    Parameters
    ----------
    metric_scores : pandas.DataFrame
        Columns ``by``, ``score`` (NaN = no data) and ``weight``.
    by : list of str
        Group columns (e.g. ``["period", "department"]``).

    Returns
    -------
    pandas.DataFrame
        ``by`` + ``composite`` (score points, in [0, 120]; NaN when no metric has data), ``coverage`` (share
        0–1 of the card's weight with data), ``n_metrics``, ``n_scored``, ``status``.
    """
    has = metric_scores["score"].notna()
    frame = metric_scores.assign(
        _ws=metric_scores["score"].fillna(0.0) * metric_scores["weight"],
        _w_scored=metric_scores["weight"].where(has, 0.0),
        _scored=has.astype(int),
    )
    g = frame.groupby(by, sort=True, dropna=False)
    out = g.agg(
        _ws=("_ws", "sum"),
        _w_scored=("_w_scored", "sum"),
        _w_all=("weight", "sum"),
        n_metrics=("weight", "size"),
        n_scored=("_scored", "sum"),
        _lo=("score", "min"),
        _hi=("score", "max"),
    ).reset_index()
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(
            out["_w_scored"] > 0, out["_ws"] / out["_w_scored"].where(out["_w_scored"] > 0), np.nan
        )
        # a weighted mean lies between its smallest and largest score; keep rounding (e.g. 120.00000000000001
        # from scores of 120) inside that range so the composite never leaves the scoring scale
        out["composite"] = np.clip(mean, out["_lo"].to_numpy(dtype=float), out["_hi"].to_numpy(dtype=float))
        out["coverage"] = out["_w_scored"] / out["_w_all"]
    out["status"] = composite_status(out["composite"].to_numpy(), bands)
    return out[[*by, "composite", "coverage", "n_metrics", "n_scored", "status"]]
