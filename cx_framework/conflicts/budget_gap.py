"""The staffing budget gap: "they want 80/20 but won't fund it", made concrete.

Compares the FTE a service-level target needs with the FTE the budget buys, and the service level the budget
actually achieves over the forecast horizon (volume-weighted), interval by interval.

Allocation rule (how a budget becomes agents per interval)
----------------------------------------------------------
1. Paid hours over the horizon = ``budget_fte * hours_per_fte * horizon_weeks``; ``hours_per_fte`` is *paid
   hours per FTE per week* (37.5 = a UK full-time week). ``horizon_weeks`` defaults to the calendar days the
   forecast spans (first to last date, inclusive) / 7 — pass it explicitly if the centre is closed on some days
   and FTEs work their week on the open days (e.g. a Monday–Friday forecast is 1 week, not 5/7).
2. Productive (on-phone) hours = paid hours * (1 - shrinkage).
3. Productive agent-intervals are shared across the forecast rows in proportion to their workload
   (``allocation="workload"``, traffic in Erlangs = offered * aht_s / interval_s), which is how a planner without
   an optimiser spreads a fixed roster: every interval gets the same occupancy. ``allocation="requirement"``
   shares them in proportion to each interval's required agents instead (every interval gets the same fraction
   of what it needs). Funded agents are fractional (a roster's average agents in the interval); the service
   level at a fractional agent count uses the continuous (incomplete-gamma) extension of Erlang C.

FTE needed = on-phone agent-hours required for the target / (1 - shrinkage) / (hours_per_fte * horizon_weeks).

Reconciling with what customers got
-----------------------------------
"The service level the funded FTE would buy if scheduled to the workload" is a *model* figure: the same hours
placed where the calls are. When the forecast rows are real intervals (``agents_staffed`` and
``answered_within_threshold`` present) the result also carries, on the same rows:

- ``realised_service_level``: Σ answered within threshold / Σ offered — what customers actually got;
- ``staffed_model_service_level``: the model's service level with the agents actually staffed in each interval;
- ``rescheduled_service_level``: the model's service level if the hours actually staffed were scheduled to the
  workload (same total agent-hours, shared by traffic);
- ``schedule_mismatch`` = rescheduled − staffed model (share 0–1): service level lost only because staff were not
  where the calls were;
- ``model_residual`` = staffed model − realised: what the queueing model does not capture (abandonment, AHT
  variation, intra-interval peaks).

So *realised = rescheduled − schedule mismatch − model residual*, exactly. With ``patience_s`` every model figure
is Erlang A (callers abandon after an exponential patience with that mean) instead of Erlang C.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from cx_framework.errors import DataValidationError, InputValueError
from cx_framework.staffing import agents_needed, aggregate_service_level, service_level
from cx_framework.staffing._arrays import check_scalar

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from cx_framework.figures import Figure

__all__ = ["StaffingBudgetGap", "staffing_budget_gap", "understaffed_intervals"]


def understaffed_intervals(required: pd.DataFrame) -> pd.DataFrame:
    """Under-staffed half-hours, counted the way the charts show them.

    Parameters
    ----------
    required : pandas.DataFrame
        Rows per (interval_start, queue) with ``required_agents`` and ``agents_staffed`` (e.g. the output of
        :func:`cx_framework.staffing.required_agents` or ``StaffingBudgetGap.intervals``).

    Returns
    -------
    pandas.DataFrame
        One row per ``interval_start``: ``required_agents`` and ``agents_staffed`` summed over queues,
        ``queues_short`` (queues staffed below their requirement) and ``understaffed`` (``queues_short > 0``:
        agents are skilled per queue, so a surplus on one queue does not cover a shortage on another).
    """
    if "agents_staffed" not in required.columns:
        raise DataValidationError(
            "understaffed_intervals needs agents_staffed (agents actually on the phones) next to required_agents",
            table="intervals",
        )
    frame = required[["interval_start", "required_agents", "agents_staffed"]].assign(
        queues_short=(required["agents_staffed"] < required["required_agents"]).astype(int)
    )
    per = frame.groupby("interval_start", sort=True).sum().reset_index()
    per["understaffed"] = per["queues_short"] > 0
    return per


@dataclass(frozen=True)
class StaffingBudgetGap:
    """What a service-level target costs versus what the budget buys.

    Attributes
    ----------
    fte_needed : float
        FTE (paid ``hours_per_fte`` per week) needed to meet ``target`` in every interval.
    fte_budget : float
        FTE the budget funds.
    fte_gap : float
        ``fte_needed - fte_budget``; positive = the budget is short by this many FTE.
    achieved_service_level : float
        Volume-weighted service level over the horizon with the funded agents (share 0–1).
    target, answer_s, shrinkage, hours_per_fte, horizon_weeks : float
        The assumptions used.
    intervals : pandas.DataFrame
        Per forecast row: interval_start, queue, offered, aht_s, traffic_erlangs, required_agents,
        funded_agents, service_level (achieved with funded agents), meets_target; with actual staffing also
        agents_staffed and staffed_model_service_level.
    failing_intervals : pandas.DataFrame
        The rows of ``intervals`` that miss the target.
    patience_s : float or None
        Mean caller patience of the Erlang A model (None = Erlang C).
    realised_service_level, staffed_model_service_level, rescheduled_service_level : float or None
        See the module notes ("Reconciling with what customers got"); None without actual staffing / outcomes.
    """

    fte_needed: float
    fte_budget: float
    fte_gap: float
    achieved_service_level: float
    target: float
    answer_s: float
    shrinkage: float
    hours_per_fte: float
    horizon_weeks: float
    intervals: pd.DataFrame
    failing_intervals: pd.DataFrame
    patience_s: float | None = None
    realised_service_level: float | None = None
    staffed_model_service_level: float | None = None
    rescheduled_service_level: float | None = None

    @property
    def model(self) -> str:
        """``"Erlang C"`` or ``"Erlang A (mean patience N s)"``."""
        return "Erlang C" if self.patience_s is None else f"Erlang A (mean patience {self.patience_s:g} s)"

    @property
    def schedule_mismatch(self) -> float | None:
        """Service level (share 0–1) lost because the staffed hours were not scheduled to the workload."""
        if self.rescheduled_service_level is None or self.staffed_model_service_level is None:
            return None
        return self.rescheduled_service_level - self.staffed_model_service_level

    @property
    def model_residual(self) -> float | None:
        """Modelled service level with actual staffing minus realised (share 0–1): what the model misses."""
        if self.staffed_model_service_level is None or self.realised_service_level is None:
            return None
        return self.staffed_model_service_level - self.realised_service_level

    def understaffed(self) -> pd.DataFrame:
        """Per half-hour (summed over queues): required and staffed agents, queues short, ``understaffed``
        (at least one queue staffed below its requirement) — the rows the staffing charts mark."""
        return understaffed_intervals(self.intervals)

    def by_day(self) -> pd.DataFrame:
        """Volume-weighted achieved service level per day: day, offered, service_level, meets_target."""
        frame = self.intervals[["interval_start", "offered"]].assign(
            answered_within_threshold=self.intervals["offered"] * self.intervals["service_level"]
        )
        daily = aggregate_service_level(frame, by="day", validate=False)  # built here from validated rows
        assert isinstance(daily, pd.DataFrame)  # a grouping was given
        daily = daily.drop(columns="answered_within_threshold").rename(columns={"denominator": "offered"})
        daily["meets_target"] = daily["service_level"] >= self.target
        return daily

    def summary(self) -> str:
        """Plain-language summary for leadership."""
        verdict = (
            f"short by {self.fte_gap:.1f} FTE"
            if self.fte_gap > 0
            else f"{-self.fte_gap:.1f} FTE more than the target needs"
        )
        text = (
            f"Target {self.target:.0%} answered within {self.answer_s:g} s needs {self.fte_needed:.1f} FTE "
            f"({self.model}); the budget funds {self.fte_budget:.1f} FTE ({verdict}). Scheduled to the workload, "
            f"the funded FTE would buy a service level of {self.achieved_service_level:.1%} over the horizon; "
            f"{len(self.failing_intervals)} of {len(self.intervals)} intervals would miss the target."
        )
        if self.realised_service_level is not None and self.schedule_mismatch is not None:
            residual = self.model_residual or 0.0
            text += (
                f" Realised service level: {self.realised_service_level:.1%} — "
                f"{self.schedule_mismatch * 100:.1f} percentage points lost to schedule mismatch (staff not "
                f"where the calls were) and {residual * 100:+.1f} points the model does not explain."
            )
        return text

    def key_figures(self, *, currency: str = "GBP") -> list[Figure]:
        """Registry figures: FTE funded, needed and the gap, the service level the funded FTE would buy, and
        (with actual staffing) the realised service level."""
        from cx_framework import figures as F

        out = [
            F.FUNDED_FTE.figure(float(self.fte_budget), currency=currency),
            F.NEEDED_FTE.figure(float(self.fte_needed), currency=currency),
            F.FTE_GAP.figure(float(self.fte_gap), currency=currency),
            F.BUDGET_SL.figure(float(self.achieved_service_level), currency=currency),
        ]
        if self.realised_service_level is not None:
            out.append(F.REALISED_SL.figure(float(self.realised_service_level), currency=currency))
        return out

    def _repr_html_(self) -> str:
        from cx_framework._display import figure_rows, html_card

        daily = self.by_day()
        table = daily.assign(day=pd.to_datetime(daily["day"]).dt.strftime("%Y-%m-%d")).rename(
            columns={
                "day": "Day",
                "offered": "Offered",
                "service_level": "Service level (funded FTE)",
                "meets_target": "Meets target",
            }
        )
        return html_card(
            f"Staffing budget gap: {self.target:.0%} answered within {self.answer_s:g} s",
            text=self.summary(),
            figures=figure_rows(self.key_figures()),
            table=table,
            table_title="By day",
            caveats=[
                f"Model: {self.model}; shrinkage {self.shrinkage:.0%}; {self.hours_per_fte:g} paid hours per FTE "
                f"per week; horizon {self.horizon_weeks:.1f} weeks."
            ],
        )

    def plot(self) -> go.Figure:
        """Achieved service level by day with the target line (see ``plots.budget_sl_by_day_figure``)."""
        from cx_framework.plots.staffing import budget_sl_by_day_figure

        return budget_sl_by_day_figure(self)


def _describe(value: object) -> str:
    """A cell as the user wrote it: ``-5.0``, not ``np.float64(-5.0)``; missing as ``<missing>``."""
    return "<missing>" if pd.isna(value) else str(value)


def staffing_budget_gap(
    intervals_forecast: pd.DataFrame,
    budget_fte: float,
    *,
    target: float = 0.8,
    answer_s: float = 20.0,
    shrinkage: float = 0.3,
    hours_per_fte: float = 37.5,
    interval_s: float = 1800.0,
    horizon_weeks: float | None = None,
    allocation: Literal["workload", "requirement"] = "workload",
    patience_s: float | None = None,
    validate: bool = True,
) -> StaffingBudgetGap:
    """FTE needed for a service-level target vs FTE funded, and the service level the budget achieves.

    Parameters
    ----------
    intervals_forecast : pandas.DataFrame
        One row per (interval_start, queue) with ``offered`` (forecast calls, >= 0) and ``aht_s``
        (seconds, > 0 where calls are offered); ``queue`` is optional.
    budget_fte : float
        Funded full-time equivalents (>= 0).
    target : float
        Service-level target (share in (0, 1)) per interval.
    answer_s : float
        Answer-time threshold (seconds).
    shrinkage : float
        Share of paid time not on the phones (breaks, training, absence), in [0, 1).
    hours_per_fte : float
        Paid hours per FTE per week.
    interval_s : float
        Interval length (seconds).
    horizon_weeks : float or None
        Weeks the forecast covers; None = calendar days spanned / 7 (see module notes).
    allocation : {"workload", "requirement"}
        How funded agent-hours are spread over intervals (see module notes).
    patience_s : float or None
        Mean caller patience (seconds) for Erlang A (callers abandon); None = Erlang C. Used for the agents
        needed and for every modelled service level.
    validate : bool, default True
        Validate ``intervals_forecast`` against the intervals schema. False skips it for rows already validated
        (e.g. the Analysis' forecast window, re-used by every what-if of an app slider).

    Returns
    -------
    StaffingBudgetGap

    Raises
    ------
    DataValidationError
        Missing ``interval_start``/``offered``/``aht_s`` column, negative or NaN values (row named).
    InputValueError
        Options out of range (named).

    Examples
    --------
    Two half hours of 100 calls at 180 s need 14 agents each (80/20): 28 agent-half-hours = 14 on-phone hours,
    / (1 - 0.3) = 20 paid hours = 0.533 FTE of 37.5 h over a one-week horizon.

    >>> fc = pd.DataFrame({"interval_start": pd.date_range("2026-03-02 09:00", periods=2, freq="30min"),
    ...                    "offered": [100, 100], "aht_s": [180, 180]})
    >>> gap = staffing_budget_gap(fc, 0.4, horizon_weeks=1.0)
    >>> round(gap.fte_needed, 4), gap.intervals["funded_agents"].tolist()
    (0.5333, [10.5, 10.5])
    """
    budget_fte = check_scalar("budget_fte", budget_fte, low=0.0, open_low=False)
    target = check_scalar("target", target, low=0.0, high=1.0)
    answer_s = check_scalar("answer_s", answer_s, low=0.0, open_low=False)
    shrinkage = check_scalar("shrinkage", shrinkage, low=0.0, high=1.0, open_low=False)
    hours_per_fte = check_scalar("hours_per_fte", hours_per_fte, low=0.0)
    interval_s = check_scalar("interval_s", interval_s, low=0.0)
    if patience_s is not None:
        patience_s = check_scalar("patience_s", patience_s, low=0.0)
    if allocation not in ("workload", "requirement"):
        raise InputValueError(
            f"argument 'allocation' must be 'workload' or 'requirement'; got {allocation!r}.",
            argument="allocation",
        )
    table = "intervals_forecast"
    if validate or not isinstance(intervals_forecast, pd.DataFrame):
        from cx_framework.schemas import validate as validate_table

        # the forecast has the intervals table's columns (queue optional): same types, ranges and keys
        present = set(intervals_forecast.columns) if isinstance(intervals_forecast, pd.DataFrame) else set()
        columns = ["interval_start", "offered", "aht_s", *(["queue"] if "queue" in present else [])]
        intervals_forecast = validate_table(
            "intervals", intervals_forecast, columns=columns, argument="intervals_forecast"
        )
    missing = [c for c in ("interval_start", "offered", "aht_s") if c not in intervals_forecast.columns]
    if missing:
        raise DataValidationError(
            f"table '{table}' is missing column(s) {missing}; it needs interval_start, offered (calls) and aht_s "
            "(seconds), one row per interval (and queue).",
            failures=pd.DataFrame(
                {"table": table, "column": missing, "check": "column_present", "row": None, "value": None}
            ),
            table=table,
        )
    offered = pd.to_numeric(intervals_forecast["offered"], errors="coerce").to_numpy(dtype=float)
    aht = pd.to_numeric(intervals_forecast["aht_s"], errors="coerce").to_numpy(dtype=float)
    bad_offered = ~np.isfinite(offered) | (offered < 0)
    bad_aht = (offered > 0) & (~np.isfinite(aht) | (aht <= 0))
    for column, bad, rule in (("offered", bad_offered, ">= 0"), ("aht_s", bad_aht, "> 0 where offered > 0")):
        if bad.any():
            rows = np.flatnonzero(bad)
            raise DataValidationError(
                f"table '{table}': column '{column}' must be {rule}; {len(rows)} row(s) fail, first row {rows[0]} "
                f"= {_describe(intervals_forecast[column].iloc[rows[0]])}.",
                failures=pd.DataFrame(
                    {
                        "table": table,
                        "column": column,
                        "check": rule,
                        "row": rows,
                        "value": intervals_forecast[column].iloc[rows].to_numpy(),
                    }
                ),
                table=table,
            )
    aht = np.where(offered > 0, aht, 1.0)  # any positive AHT where nothing is offered
    starts = pd.to_datetime(intervals_forecast["interval_start"])
    if horizon_weeks is None:
        days = (starts.max().normalize() - starts.min().normalize()).days + 1 if len(starts) else 0
        horizon_weeks = days / 7.0
    horizon_weeks = check_scalar("horizon_weeks", horizon_weeks, low=0.0)

    traffic = offered * aht / interval_s
    required = agents_needed(
        offered, aht, target=target, answer_s=answer_s, interval_s=interval_s, patience_s=patience_s
    ).astype(float)
    hours_per_interval = interval_s / 3600.0
    fte_hours = hours_per_fte * horizon_weeks
    fte_needed = float(required.sum() * hours_per_interval / (1.0 - shrinkage) / fte_hours)

    productive_agent_intervals = budget_fte * fte_hours * (1.0 - shrinkage) / hours_per_interval
    weights = traffic if allocation == "workload" else required
    total = weights.sum()
    funded = productive_agent_intervals * weights / total if total > 0 else np.zeros_like(weights)

    def model_sl(agents: np.ndarray) -> np.ndarray:
        return np.asarray(
            service_level(
                offered, aht, agents, answer_s=answer_s, interval_s=interval_s, patience_s=patience_s
            ),
            dtype=float,
        )

    total_calls = offered.sum()

    def weighted(sl: np.ndarray) -> float:
        return float((offered * sl).sum() / total_calls) if total_calls > 0 else 1.0

    achieved = model_sl(funded)
    achieved_sl = weighted(achieved)

    realised = staffed_model = rescheduled = None
    staffed_sl = None
    if "agents_staffed" in intervals_forecast.columns:
        staffed = pd.to_numeric(intervals_forecast["agents_staffed"], errors="coerce").to_numpy(dtype=float)
        staffed = np.where(np.isfinite(staffed), np.maximum(staffed, 0.0), 0.0)
        staffed_sl = model_sl(staffed)
        staffed_model = weighted(staffed_sl)
        moved = staffed.sum() * weights / total if total > 0 else np.zeros_like(weights)
        rescheduled = weighted(model_sl(moved))
        if "answered_within_threshold" in intervals_forecast.columns and total_calls > 0:
            within = pd.to_numeric(intervals_forecast["answered_within_threshold"], errors="coerce")
            realised = float(within.fillna(0.0).sum() / total_calls)

    keep = [c for c in ("interval_start", "queue") if c in intervals_forecast.columns]
    frame = intervals_forecast[keep].reset_index(drop=True).copy()
    frame["offered"] = offered
    frame["aht_s"] = aht
    frame["traffic_erlangs"] = traffic
    frame["required_agents"] = required.astype(np.int64)
    frame["funded_agents"] = funded
    frame["service_level"] = achieved
    frame["meets_target"] = achieved >= target
    if staffed_sl is not None:
        frame["agents_staffed"] = intervals_forecast["agents_staffed"].to_numpy()
        frame["staffed_model_service_level"] = staffed_sl
    return StaffingBudgetGap(
        fte_needed=fte_needed,
        fte_budget=budget_fte,
        fte_gap=fte_needed - budget_fte,
        achieved_service_level=achieved_sl,
        target=target,
        answer_s=answer_s,
        shrinkage=shrinkage,
        hours_per_fte=hours_per_fte,
        horizon_weeks=float(horizon_weeks),
        intervals=frame,
        failing_intervals=frame.loc[~frame["meets_target"]].reset_index(drop=True),
        patience_s=patience_s,
        realised_service_level=realised,
        staffed_model_service_level=staffed_model,
        rescheduled_service_level=rescheduled,
    )
