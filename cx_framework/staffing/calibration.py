"""Which queueing model describes this centre? Erlang C and Erlang A against observed intervals.

For every interval with calls offered, both models predict the service level (share of offered calls answered
within the threshold) and the abandonment rate from the interval's offered calls, AHT and staffed agents;
Erlang C (M/M/N, callers never hang up) predicts no abandonment, Erlang A (M/M/N+M) uses the callers'
patience estimated from the same data:

    mean patience = total waiting time of all offered calls / number of abandoned calls

the maximum-likelihood estimate for exponential patience, in which answered callers' waits are censored
observations of their patience (Mandelbaum & Zeltyn 2007, "Service engineering in action: the Palm/Erlang-A
queue, with applications to call centers", §4; Brown et al. 2005, "Statistical analysis of a telephone call
center", JASA 100(469), §6). It is estimated per queue when the data carry waiting times per queue.

The calibration table gives, per model and hour of day, the offered-weighted mean absolute error and bias
(predicted − observed, in shares 0–1) of service level and abandonment rate. The recommended model is the one
with the smaller sum of the two overall MAEs. When ``agents_staffed`` was estimated from call records the fit
says so: estimated staffing is a lower bound, which makes both models look pessimistic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cx_framework.errors import DataValidationError

__all__ = ["ModelFit", "estimate_patience", "fit_queue_models", "MODELS"]

#: Model ids and their display names.
MODELS: dict[str, str] = {"erlang_c": "Erlang C", "erlang_a": "Erlang A"}


def estimate_patience(
    *, contacts: pd.DataFrame | None = None, intervals: pd.DataFrame | None = None, channel: str = "phone"
) -> pd.Series:
    """Mean caller patience per queue (seconds): total waiting time / abandoned calls (Mandelbaum & Zeltyn).

    Parameters
    ----------
    contacts : DataFrame, optional
        Validated ``contacts``: ``wait_s`` of every ``channel`` contact and ``abandoned``.
    intervals : DataFrame, optional
        ``intervals`` carrying ``wait_s_total`` (as derived by :func:`intervals_from_contacts`); used when
        ``contacts`` is not given.

    Returns
    -------
    pandas.Series
        Index = queue plus ``"(all)"`` for the pooled estimate; ``inf`` where no call was abandoned.

    Raises
    ------
    DataValidationError
        Neither contacts nor intervals with ``wait_s_total`` given.
    """
    if contacts is not None:
        calls = contacts[contacts["channel"] == channel]
        waits = calls.groupby("queue", sort=True)["wait_s"].sum()
        abandoned = calls.groupby("queue", sort=True)["abandoned"].sum()
    elif intervals is not None and "wait_s_total" in intervals.columns:
        waits = intervals.groupby("queue", sort=True)["wait_s_total"].sum()
        abandoned = intervals.groupby("queue", sort=True)["abandoned"].sum()
    else:
        raise DataValidationError(
            "Patience cannot be estimated: give call-level contacts (wait_s, abandoned) or intervals with a "
            "wait_s_total column (cx import derives it), or pass patience_s.",
            table="intervals",
        )
    waits = pd.concat([waits.astype(float), pd.Series({"(all)": float(waits.sum())})])
    abandoned = pd.concat([abandoned.astype(float), pd.Series({"(all)": float(abandoned.sum())})])
    patience = waits / abandoned.where(abandoned > 0)
    return patience.fillna(np.inf).rename("patience_s")


def _interval_length(intervals: pd.DataFrame) -> float:
    starts = np.sort(pd.unique(intervals["interval_start"].to_numpy(dtype="datetime64[ns]")))
    if len(starts) < 2:
        return 1800.0
    steps = np.diff(starts).astype("timedelta64[s]").astype(float)
    return float(steps[steps > 0].min()) if (steps > 0).any() else 1800.0


def _filled_aht(intervals: pd.DataFrame) -> np.ndarray:
    """AHT per interval; where nothing was answered, the queue's answered-weighted mean AHT."""
    aht = pd.to_numeric(intervals["aht_s"], errors="coerce").where(lambda s: s > 0)
    weights = intervals["answered"].astype(float).where(aht.notna(), 0.0)
    weighted = (aht.fillna(0.0) * weights).groupby(intervals["queue"]).transform("sum")
    q_mean = weighted / weights.groupby(intervals["queue"]).transform("sum").replace(0.0, np.nan)
    overall = float((aht.fillna(0.0) * weights).sum() / weights.sum()) if weights.sum() > 0 else np.nan
    return aht.fillna(q_mean).fillna(overall).to_numpy(dtype=float)


@dataclass(frozen=True)
class ModelFit:
    """Erlang C and Erlang A against observed service level and abandonment.

    Attributes
    ----------
    intervals : DataFrame
        One row per fitted interval: interval_start, queue, hour, offered, observed_service_level,
        observed_abandonment, erlang_c_service_level, erlang_a_service_level, erlang_a_abandonment.
    calibration : DataFrame
        model, hour (``"all"`` for the overall row), intervals, offered, sl_mae, sl_bias, abandonment_mae,
        abandonment_bias (shares 0–1; bias = predicted − observed, offered-weighted).
    patience_s : Series
        Mean patience (seconds) per queue and ``"(all)"``.
    recommended : str
        ``"erlang_a"`` or ``"erlang_c"``.
    agents_estimated : bool
        True when ``agents_staffed`` was estimated from call records (not from logins).
    interval_s : float
        Interval length used (seconds).
    """

    intervals: pd.DataFrame
    calibration: pd.DataFrame
    patience_s: pd.Series
    recommended: str
    agents_estimated: bool
    interval_s: float

    @property
    def overall(self) -> pd.DataFrame:
        """The ``hour == "all"`` rows of :attr:`calibration`, one per model."""
        return self.calibration[self.calibration["hour"] == "all"].set_index("model")

    def plot(self) -> Any:
        """Service-level MAE and bias by hour of day per model (:func:`cx_framework.plots.model_fit_figure`)."""
        from cx_framework.plots.calibration import model_fit_figure

        return model_fit_figure(self)

    def _repr_html_(self) -> str:
        from cx_framework import figures as F
        from cx_framework._display import html_card

        o = self.overall
        figures = [
            ("Recommended model", MODELS[self.recommended]),
            ("Mean caller patience", F.format_value(float(self.patience_s["(all)"]), "seconds")),
        ]
        table = pd.DataFrame(
            {
                "Model": [MODELS.get(m, m) for m in o.index],
                "Intervals": o["intervals"].astype(int).to_numpy(),
                "Service-level MAE (pts)": (o["sl_mae"] * 100).round(2).to_numpy(),
                "Service-level bias (pts)": (o["sl_bias"] * 100).round(2).to_numpy(),
                "Abandonment MAE (pts)": (o["abandonment_mae"] * 100).round(2).to_numpy(),
                "Abandonment bias (pts)": (o["abandonment_bias"] * 100).round(2).to_numpy(),
            }
        )
        caveats = [
            "Bias = predicted − observed, offered-weighted; patience = total waiting time / abandoned calls."
        ]
        if self.agents_estimated:
            caveats.append(
                "Agents staffed were estimated from call records (a lower bound): both models lean pessimistic."
            )
        return html_card(
            "Erlang C vs Erlang A against what happened",
            figures=figures,
            table=table,
            table_title="Calibration over all intervals",
            caveats=caveats,
        )

    def summary(self) -> str:
        """A few lines: patience, MAE and bias per model, the recommendation and its caveat."""
        o = self.overall
        lines = [
            f"Caller patience (total wait / abandoned calls): {self.patience_s['(all)']:,.0f} s overall"
            + "".join(f", {q} {p:,.0f} s" for q, p in self.patience_s.drop("(all)").items()),
        ]
        for model, name in MODELS.items():
            r = o.loc[model]
            lines.append(
                f"{name}: service level MAE {r.sl_mae * 100:.1f} pts (bias {r.sl_bias * 100:+.1f}), abandonment MAE "
                f"{r.abandonment_mae * 100:.1f} pts (bias {r.abandonment_bias * 100:+.1f}) over {int(r.intervals):,} intervals"
            )
        lines.append(
            f"Recommended model: {MODELS[self.recommended]} (smaller service-level + abandonment error)."
        )
        if self.agents_estimated:
            lines.append(
                "Agents staffed were ESTIMATED from call records (a lower bound), so both models' predictions "
                "lean pessimistic; load agent logins for a fair test."
            )
        return "\n".join(lines)


def _errors(frame: pd.DataFrame, pred: str, obs: str) -> tuple[float, float]:
    w = frame["offered"].to_numpy(dtype=float)
    diff = frame[pred].to_numpy(dtype=float) - frame[obs].to_numpy(dtype=float)
    total = w.sum()
    return float((w * np.abs(diff)).sum() / total), float((w * diff).sum() / total)


def fit_queue_models(
    intervals: pd.DataFrame,
    *,
    contacts: pd.DataFrame | None = None,
    patience_s: float | None = None,
    interval_s: float | None = None,
) -> ModelFit:
    """Erlang C and Erlang A predictions against each observed interval, a calibration table and a recommendation.

    Parameters
    ----------
    intervals : DataFrame
        Validated ``intervals`` (``agents_staffed`` read as agents on the phones).
    contacts : DataFrame, optional
        Call-level contacts for the patience estimate (else ``intervals.wait_s_total``, else ``patience_s``).
    patience_s : float, optional
        Mean patience (seconds) to use instead of estimating it.
    interval_s : float, optional
        Interval length (seconds); default: the smallest step between interval starts.

    Returns
    -------
    ModelFit

    Raises
    ------
    DataValidationError
        No interval with offered calls, or patience neither given nor estimable.
    """
    from cx_framework.staffing.erlang import service_level
    from cx_framework.staffing.erlang_a import erlang_a

    rows = intervals[intervals["offered"] > 0].reset_index(drop=True)
    if rows.empty:
        raise DataValidationError(
            "No interval with calls offered: nothing to fit the models on.", table="intervals"
        )
    length = float(interval_s) if interval_s is not None else _interval_length(intervals)
    if patience_s is not None:
        patience = pd.Series({"(all)": float(patience_s)}, name="patience_s")
        per_row = np.full(len(rows), float(patience_s))
    else:
        patience = estimate_patience(contacts=contacts, intervals=intervals)
        per_row = rows["queue"].map(patience).fillna(patience["(all)"]).to_numpy(dtype=float)
    offered = rows["offered"].to_numpy(dtype=float)
    aht = _filled_aht(rows)
    agents = rows["agents_staffed"].to_numpy(dtype=float)
    threshold = (
        rows["threshold_s"].to_numpy(dtype=float)
        if "threshold_s" in rows.columns
        else np.full(len(rows), 20.0)
    )
    sl_c = np.empty(len(rows))
    sl_a = np.empty(len(rows))
    ab_a = np.empty(len(rows))
    finite = np.isfinite(per_row)
    for t in np.unique(threshold):  # one vectorised call per distinct threshold
        sel = threshold == t
        sl_c[sel] = service_level(offered[sel], aht[sel], agents[sel], answer_s=float(t), interval_s=length)
        a_sel = sel & finite
        if a_sel.any():
            res = erlang_a(
                offered[a_sel],
                aht[a_sel],
                agents[a_sel],
                patience_s=per_row[a_sel],
                answer_s=float(t),
                interval_s=length,
            )
            sl_a[a_sel] = res.service_level
            ab_a[a_sel] = res.abandonment_rate
        # no abandonment observed: patience is infinite and Erlang A is Erlang C
        c_sel = sel & ~finite
        sl_a[c_sel] = sl_c[c_sel]
        ab_a[c_sel] = 0.0
    fitted = pd.DataFrame(
        {
            "interval_start": rows["interval_start"].to_numpy(),
            "queue": rows["queue"].to_numpy(),
            "hour": pd.DatetimeIndex(rows["interval_start"]).hour,
            "offered": rows["offered"].to_numpy(),
            "agents_staffed": agents,
            "aht_s": aht,
            "patience_s": per_row,
            "observed_service_level": rows["answered_within_threshold"].to_numpy(dtype=float) / offered,
            "observed_abandonment": rows["abandoned"].to_numpy(dtype=float) / offered,
            "erlang_c_service_level": sl_c,
            "erlang_c_abandonment": np.zeros(len(rows)),
            "erlang_a_service_level": sl_a,
            "erlang_a_abandonment": ab_a,
        }
    )
    records = []
    for model in MODELS:
        for hour, part in [("all", fitted), *((str(h), g) for h, g in fitted.groupby("hour", sort=True))]:
            sl_mae, sl_bias = _errors(part, f"{model}_service_level", "observed_service_level")
            ab_mae, ab_bias = _errors(part, f"{model}_abandonment", "observed_abandonment")
            records.append(
                {
                    "model": model,
                    "hour": hour,
                    "intervals": len(part),
                    "offered": int(part["offered"].sum()),
                    "sl_mae": sl_mae,
                    "sl_bias": sl_bias,
                    "abandonment_mae": ab_mae,
                    "abandonment_bias": ab_bias,
                }
            )
    calibration = pd.DataFrame(records)
    overall = calibration[calibration["hour"] == "all"].set_index("model")
    score = overall["sl_mae"] + overall["abandonment_mae"]
    recommended = str(score.idxmin())
    estimated = (
        bool(intervals["agents_staffed_estimated"].any())
        if "agents_staffed_estimated" in intervals
        else False
    )
    return ModelFit(fitted, calibration, patience, recommended, estimated, length)
