"""``score()``: the shared customer-centric scorecard and every department's own card, per period."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cx_framework.config.loader import CxConfig
from cx_framework.config.models import Objective
from cx_framework.errors import DataValidationError, InputValueError
from cx_framework.maturity import INCOMPLETE, incomplete_mask
from cx_framework.scorecard.aggregate import ORGANISATION, build_values
from cx_framework.scorecard.alignment import alignment_table, green_inside_red_outside
from cx_framework.scorecard.exceptions import control_chart, find_exceptions
from cx_framework.scorecard.result import ScorecardResult
from cx_framework.scorecard.scoring import COMPOSITE_BANDS, composite, score_values, status_of

__all__ = ["score", "as_config", "parse_periods", "UnknownMetricWarning", "METRIC_SCORE_COLUMNS"]

METRIC_SCORE_COLUMNS = [
    "period",
    "card",
    "department",
    "metric",
    "customer_centric",
    "direction",
    "weight",
    "threshold",
    "target",
    "stretch",
    "contributes_to",
    "value",
    "volume",
    "source",
    "score",
    "status",
    "note",
]


class UnknownMetricWarning(UserWarning):
    """Metric ids in the data that the catalogue does not define; their rows are left out of every roll-up
    and score (their aggregation rule and direction are unknown)."""


def as_config(config: CxConfig | str | os.PathLike[str]) -> CxConfig:
    """A :class:`CxConfig` as given, or loaded from a config directory path."""
    if isinstance(config, CxConfig):
        return config
    if isinstance(config, str | os.PathLike):
        from cx_framework.config import load_config

        return load_config(Path(config))
    raise InputValueError(
        f"config must be a CxConfig or a path to a config directory, got {type(config).__name__}",
        argument="config",
    )


def parse_periods(periods: Any) -> list[pd.Timestamp]:
    """Month starts from ``"2025-06"``, ``"2025-06-01"``, Timestamps, Periods or an iterable of them.

    Raises
    ------
    InputValueError
        A value that is not a month or not the first day of a month.
    """
    items = (
        [periods]
        if isinstance(periods, str | pd.Timestamp | pd.Period) or not isinstance(periods, Iterable)
        else list(periods)
    )
    out = []
    for item in items:
        try:
            ts = item.to_timestamp() if isinstance(item, pd.Period) else pd.Timestamp(item)
        except (ValueError, TypeError):
            raise InputValueError(
                f"period {item!r} is not a month; write it as 'YYYY-MM' (e.g. '2025-06')", argument="periods"
            ) from None
        if ts != ts.to_period("M").to_timestamp():
            raise InputValueError(
                f"period {item!r} is not a month start; periods are months, write 'YYYY-MM'",
                argument="periods",
            )
        out.append(ts)
    return sorted(set(out))


def _objectives(cfg: CxConfig, data_departments: list[str]) -> pd.DataFrame:
    catalogue = cfg.metrics.by_id
    shared_departments = list(
        dict.fromkeys([*cfg.organisation.department_ids, *data_departments, ORGANISATION])
    )
    # (card, department, objective, contributes_to); only local objectives declare contributions
    entries: list[tuple[str, str, Objective, str]] = [
        ("shared", dept, o, "") for dept in shared_departments for o in cfg.scorecard.shared
    ]
    entries += [
        ("local", dept, o, ", ".join(o.contributes_to))
        for dept, objectives in cfg.scorecard.local.items()
        for o in objectives
    ]
    rows = [
        {
            "card": card,
            "department": dept,
            "metric": o.metric,
            "weight": o.weight,
            "threshold": o.threshold,
            "target": o.target,
            "stretch": o.stretch,
            "contributes_to": contributes_to,
        }
        for card, dept, o, contributes_to in entries
    ]
    out = pd.DataFrame(rows)
    out["customer_centric"] = out["metric"].map(
        {m: catalogue[m].customer_centric for m in out["metric"].unique()}
    )
    out["direction"] = out["metric"].map({m: catalogue[m].direction for m in out["metric"].unique()})
    return out


def _check_departments(dm: pd.DataFrame, data_departments: list[str], cfg: Any) -> None:
    """A department in the data that organisation.yaml does not know would be scored silently (typo, renamed
    department): name the rows instead."""
    known = set(cfg.organisation.department_ids)
    unknown = [d for d in data_departments if d not in known]
    if not unknown:
        return
    from cx_framework.schemas import _failures

    bad = dm["department"].astype(str).isin(unknown).to_numpy()
    rows = np.flatnonzero(bad)  # positions in the frame as passed (validate keeps the row order)
    first = ", ".join(repr(d)[:40] for d in unknown[:5])
    where = f" (configs {cfg.directory}/organisation.yaml)" if getattr(cfg, "directory", None) else ""
    raise DataValidationError(
        f"Table 'department_metrics': column 'department' has {len(unknown)} department id(s) that "
        f"organisation.yaml does not define{where}: {first}; first at row {int(rows[0])}. Known departments: "
        f"{', '.join(sorted(known))}. Fix the ids or add the departments to organisation.yaml.",
        failures=_failures(
            "department_metrics", "department", "known department", rows, dm["department"].to_numpy()[rows]
        ),
        table="department_metrics",
    )


def score(
    department_metrics: pd.DataFrame,
    config: CxConfig | str | os.PathLike[str],
    *,
    periods: Any = None,
    employee_metrics: pd.DataFrame | None = None,
    employees: pd.DataFrame | None = None,
    alignment_reference: str = "department",
    composite_bands: tuple[float, float] = COMPOSITE_BANDS,
    min_control_points: int = 8,
    validate: bool = True,
) -> ScorecardResult:
    """Score every department on the shared customer scorecard and on its own (local) scorecard, per period.

    Parameters
    ----------
    department_metrics : pandas.DataFrame
        The ``department_metrics`` table (period, department, team — null for a department-level row —,
        metric, value, optional volume). Validated here: NaN values and duplicate keys raise.
    config : CxConfig or path
        Configuration (metric catalogue, ``scorecard.yaml``, organisation) or the directory to load it from.
    periods : str, Timestamp or iterable, optional
        Months to report (``"2025-06"`` or a list). Control charts and empirical alignment still use every
        period up to the last one selected, so a single month gets statistical exceptions from its history.
    employee_metrics, employees : pandas.DataFrame, optional
        Agent-level values and the employee register; they roll up to teams and departments (used where
        ``department_metrics`` has no reported value) and make agents available in :meth:`ScorecardResult.drill_down`.
    alignment_reference : {"department", "organisation"}
        Shared composite that empirical alignment correlates each local composite with: the department's own
        values of the shared metrics (default) or the organisation's.
    composite_bands : (float, float)
        Composite status bands in score points, red < bands[0] <= amber < bands[1] <= green.
    min_control_points : int
        Minimum series length for Western Electric rules.
    validate : bool, default True
        Validate the tables with :func:`cx_framework.schemas.validate`. Pass False only for frames that already
        passed validation (e.g. from :func:`cx_framework.io.load_data_dir`); the checks then are not run twice.

    Returns
    -------
    ScorecardResult
        Tidy frames ``metric_scores``, ``department_scores`` (local card), ``shared_scores`` (shared card, with an
        ``"organisation"`` row), ``alignment``, ``exceptions``, ``values`` (every level), ``control``.

    Raises
    ------
    DataValidationError
        Invalid tables (NaN values, duplicate keys, ...), employees missing from ``employees``, or a
        volume-weighted / ratio metric without volume where a roll-up needs it.
    InputValueError
        Bad ``periods`` (or none of them in the data), only one of ``employee_metrics`` / ``employees``.

    Warns
    -----
    UnknownMetricWarning
        Metric ids in the data that are not in the catalogue; listed, and left out (this is a warning rather than
        an error so that a data extract carrying extra metrics still gets a scorecard).
    StatisticalWarning
        Empirical alignment on fewer than 6 periods.

    Notes
    -----
    *No data.* A scorecard metric without a value for a department and period gets status ``"no data"`` and
    score NaN; the composite is the weighted mean over the metrics with data (weights renormalised) and
    ``coverage`` reports the share of the card's weight that had data. A weighted metric whose parts have zero
    volume is "no data" with note ``"zero volume"``. Nothing missing is ever scored as 0.

    Examples
    --------
    >>> from cx_framework import load_sample, score          # doctest: +SKIP
    >>> org = load_sample()                                    # doctest: +SKIP
    >>> result = score(org.department_metrics, "configs")      # doctest: +SKIP
    >>> result.department_scores.head()                        # doctest: +SKIP
    """
    cfg = as_config(config)
    if (employee_metrics is None) != (employees is None):
        raise InputValueError(
            "employee_metrics and employees go together: pass both (employees maps each employee to department "
            "and team) or neither",
            argument="employees" if employees is None else "employee_metrics",
        )
    if alignment_reference not in ("department", "organisation"):
        raise InputValueError(
            f"alignment_reference must be 'department' or 'organisation', got {alignment_reference!r}",
            argument="alignment_reference",
        )
    dm, em, emp = department_metrics, employee_metrics, employees
    if validate:
        from cx_framework.schemas import validate as _validate

        dm = _validate("department_metrics", dm)
        em = _validate("employee_metrics", em) if em is not None else None
        emp = _validate("employees", emp) if emp is not None else None

    _check_departments(dm, sorted(set(dm["department"].astype(str)) - {ORGANISATION}), cfg)
    catalogue = cfg.metrics.by_id
    dm, em = _drop_unknown_metrics(dm, em, catalogue)

    all_periods = sorted(pd.to_datetime(dm["period"]).unique())
    if em is not None:
        all_periods = sorted(set(all_periods) | set(pd.to_datetime(em["period"]).unique()))
    # the last month the data cover: a metric that needs later data is incomplete for its last lag_periods months
    last_observed = pd.Timestamp(all_periods[-1]) if all_periods else None
    if periods is None:
        selected = [pd.Timestamp(p) for p in all_periods]
    else:
        selected = parse_periods(periods)
        available = set(all_periods)
        missing = [p for p in selected if p not in available]
        if missing:
            raise InputValueError(
                f"period(s) {', '.join(p.strftime('%Y-%m') for p in missing)} not in the data, which covers "
                f"{pd.Timestamp(all_periods[0]):%Y-%m} to {pd.Timestamp(all_periods[-1]):%Y-%m}",
                argument="periods",
            )
    last = max(selected)
    dm = dm[dm["period"] <= last]
    if em is not None:
        em = em[em["period"] <= last]

    values = build_values(dm, catalogue, employee_metrics=em, employees=emp)
    values["complete"] = ~incomplete_mask(values, catalogue, last_observed=last_observed).to_numpy()
    history = sorted(values["period"].unique())

    data_departments = sorted(set(dm["department"].astype(str)) - {ORGANISATION})
    objectives = _objectives(cfg, data_departments)
    grid = pd.DataFrame({"period": pd.to_datetime(history)}).merge(objectives, how="cross")
    top = values[values["level"].isin(["organisation", "department"])][
        ["period", "department", "metric", "value", "volume", "source", "note"]
    ]
    ms = grid.merge(top, on=["period", "department", "metric"], how="left")
    no_row = ms["source"].isna()
    ms["source"] = ms["source"].fillna("none")
    ms["note"] = ms["note"].fillna("")
    ms.loc[no_row, "note"] = "no value for this period"
    ms["score"] = score_values(ms["value"], ms["threshold"], ms["target"], ms["stretch"], ms["direction"])
    ms["status"] = status_of(ms["value"], ms["threshold"], ms["target"], ms["direction"])
    # a month that cannot be observed yet is shown as incomplete, never scored (its partial count looks good)
    inc = (
        incomplete_mask(ms, catalogue, last_observed=last_observed).to_numpy()
        & ms["value"].notna().to_numpy()
    )
    ms.loc[inc, "score"] = np.nan
    ms.loc[inc, "status"] = INCOMPLETE
    ms.loc[inc, "note"] = "incomplete: this month is final once later data arrive"
    ms = (
        ms[METRIC_SCORE_COLUMNS]
        .sort_values(["period", "card", "department", "metric"])
        .reset_index(drop=True)
    )

    local_ms = ms[ms["card"].eq("local")]
    shared_ms = ms[ms["card"].eq("shared")]
    department_scores = _incomplete_composite(
        composite(local_ms, ["period", "department"], bands=composite_bands), local_ms
    )
    shared_scores = _incomplete_composite(
        composite(shared_ms, ["period", "department"], bands=composite_bands), shared_ms
    )
    flags = green_inside_red_outside(department_scores, shared_ms, shared_scores, cfg.scorecard)
    department_scores = department_scores.merge(flags, on=["period", "department"], how="left")
    shared_pair = shared_scores[["period", "department", "composite", "status"]].rename(
        columns={"composite": "shared_composite", "status": "shared_status"}
    )
    department_scores = department_scores.merge(shared_pair, on=["period", "department"], how="left")

    # alignment uses every period up to the last one selected (one month alone has no correlation)
    alignment = alignment_table(
        department_scores, shared_scores, cfg.scorecard, catalogue, reference=alignment_reference
    )
    control = control_chart(values[values["complete"]], catalogue, min_points=min_control_points)
    exceptions = find_exceptions(ms, control, catalogue)

    keep = set(selected)

    def _sel(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[frame["period"].isin(keep)].reset_index(drop=True)

    return ScorecardResult(
        metric_scores=_sel(ms),
        department_scores=_sel(department_scores),
        shared_scores=_sel(shared_scores),
        alignment=alignment,
        exceptions=_sel(exceptions),
        values=values,
        control=control,
        config=cfg,
        periods=tuple(pd.Timestamp(p) for p in selected),
    )


def _incomplete_composite(scores: pd.DataFrame, metric_scores: pd.DataFrame) -> pd.DataFrame:
    """A composite containing an incomplete metric is itself incomplete (no score: the complete metrics alone
    would be a different card)."""
    keys = ["period", "department"]
    flagged = metric_scores.loc[metric_scores["status"].eq(INCOMPLETE), keys].drop_duplicates()
    if flagged.empty:
        return scores
    hit = (
        scores[keys]
        .merge(flagged.assign(_inc=True), on=keys, how="left")["_inc"]
        .fillna(False)
        .to_numpy(bool)
    )
    scores = scores.copy()
    scores.loc[hit, "composite"] = np.nan
    scores.loc[hit, "status"] = INCOMPLETE
    return scores


def _drop_unknown_metrics(
    dm: pd.DataFrame, em: pd.DataFrame | None, catalogue: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    unknown = {str(m) for m in pd.unique(dm["metric"])} - set(catalogue)
    if em is not None:
        unknown |= {str(m) for m in pd.unique(em["metric"])} - set(catalogue)
    if unknown:
        names = sorted(unknown)
        warnings.warn(
            f"{len(names)} metric(s) in the data are not in the catalogue (metrics.yaml) and are left out of the "
            f"scorecard: {', '.join(names)}. Add them to metrics.yaml (direction, aggregation) to score them.",
            UnknownMetricWarning,
            stacklevel=3,
        )
        dm = dm[~dm["metric"].isin(names)]
        if em is not None:
            em = em[~em["metric"].isin(names)]
    return dm, em
