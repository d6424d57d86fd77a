"""Correlations between metrics across departments (or teams) and periods, optionally lagged."""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from cx_framework.config.loader import CxConfig
from cx_framework.errors import InputValueError
from cx_framework.scorecard.alignment import pearson_ci

__all__ = ["correlate", "CORRELATION_COLUMNS"]

CORRELATION_COLUMNS = ["metric_a", "metric_b", "lag", "r", "n", "p_value", "ci_low", "ci_high"]


def correlate(
    department_metrics: pd.DataFrame,
    metrics: Sequence[str] | None = None,
    *,
    by: str | Sequence[str] | None = None,
    lag: int | Sequence[int] = 0,
    level: str = "department",
    config: CxConfig | str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Pearson correlations between metric pairs, pooled over units and periods or within groups.

    An observation is one (period, unit) pair, where the unit is a department (``level="department"``) or a
    team (``level="team"``). With ``lag = k`` the pair is ``metric_a`` at period t and ``metric_b`` at period
    t + k of the *same* unit (k > 0: does a leading b; k months of data are lost per unit).

    Parameters
    ----------
    department_metrics : pandas.DataFrame
        The ``department_metrics`` table (validated here). Department values missing as reported rows are
        rolled up from team rows with the catalogue rules when ``config`` is given; without ``config`` only
        rows of the requested level are used.
    metrics : sequence of str, optional
        Metric ids to correlate (default: every metric present at that level). At least two.
    by : str or sequence of str, optional
        Columns (``"department"``, ``"team"``) to compute separately within; their values become leading
        columns of the result. ``None`` pools all units.
    lag : int or sequence of int
        Lags in periods (months), each >= 0; negative lags are the pair reversed.
    level : {"department", "team"}
    config : CxConfig or path, optional
        Needed only to roll team rows up to departments (aggregation rules of the catalogue).

    Returns
    -------
    pandas.DataFrame
        Tidy: ``by`` columns, ``metric_a``, ``metric_b``, ``lag``, ``r``, ``n`` (pairs), ``p_value``
        (two-sided, :func:`scipy.stats.pearsonr`), ``ci_low``, ``ci_high`` (95 % Fisher-z). At lag 0 one row
        per unordered pair (a before b in ``metrics`` order); at lag k > 0 one row per ordered pair.

    Raises
    ------
    InputValueError
        Fewer than two metrics, an unknown metric id, an unknown ``level``/``by`` column, a negative lag.
    DataValidationError
        The table fails validation.

    Examples
    --------
    >>> # correlate(dm, ["service_level", "churn_rate"], lag=[0, 1])  # doctest: +SKIP
    """
    from cx_framework.schemas import validate

    if level not in ("department", "team"):
        raise InputValueError(f"level must be 'department' or 'team', got {level!r}", argument="level")
    lags = [lag] if isinstance(lag, int | np.integer) else list(lag)
    if not lags or any(int(k) < 0 for k in lags):
        raise InputValueError(
            f"lag must be >= 0 (got {lags}); swap metric_a and metric_b instead", argument="lag"
        )
    by_cols = [] if by is None else ([by] if isinstance(by, str) else list(by))
    unit = ["department"] if level == "department" else ["department", "team"]
    bad_by = [c for c in by_cols if c not in unit]
    if bad_by:
        raise InputValueError(
            f"by={bad_by} is not a column of the {level} level; use one of {unit}", argument="by"
        )
    dm = validate("department_metrics", department_metrics)
    if config is not None:
        from cx_framework.scorecard.aggregate import build_values
        from cx_framework.scorecard.core import as_config

        cfg = as_config(config)
        known = dm["metric"].isin(list(cfg.metrics.by_id))
        values = build_values(dm[known], cfg.metrics.by_id)
        rows = values[values["level"].astype(str).eq(level)]
    else:
        rows = dm[dm["team"].isna()] if level == "department" else dm[dm["team"].notna()]
    present = list(dict.fromkeys(rows["metric"].astype(str)))
    wanted = present if metrics is None else list(metrics)
    unknown = [m for m in wanted if m not in present]
    if unknown:
        raise InputValueError(
            f"metric(s) {', '.join(unknown)} have no {level}-level rows; present: {', '.join(sorted(present))}",
            argument="metrics",
        )
    if len(wanted) < 2:
        raise InputValueError("correlate needs at least two metrics", argument="metrics")
    wide = rows[rows["metric"].isin(wanted)].pivot_table(
        index=[*unit, "period"], columns="metric", values="value", aggfunc="first", observed=True
    )
    wide = wide.reindex(columns=wanted).sort_index()
    # put every unit on the full monthly grid so a shift of k rows is a shift of k months
    periods = pd.date_range(
        wide.index.get_level_values("period").min(), wide.index.get_level_values("period").max(), freq="MS"
    )
    units = wide.index.droplevel("period").unique()
    grid = pd.MultiIndex.from_tuples(
        [(*(u if isinstance(u, tuple) else (u,)), p) for u in units for p in periods], names=[*unit, "period"]
    )
    wide = wide.reindex(grid)
    unit_keys = [wide.index.get_level_values(c) for c in unit]

    out = []
    groups = [((), wide)] if not by_cols else wide.groupby(level=by_cols, sort=True)
    for key, grp in groups:
        key = key if isinstance(key, tuple) else (key,)
        gkeys = [grp.index.get_level_values(c) for c in unit] if by_cols else unit_keys
        for k in lags:
            shifted = grp.groupby(gkeys, sort=False).shift(-int(k)) if k else grp
            pairs = itertools.combinations(wanted, 2) if k == 0 else itertools.permutations(wanted, 2)
            for a, b in pairs:
                r, n, lo, hi, p = pearson_ci(grp[a].to_numpy(), shifted[b].to_numpy())
                out.append((*key, a, b, int(k), r, n, p, lo, hi))
    return pd.DataFrame(
        out, columns=[*by_cols, "metric_a", "metric_b", "lag", "r", "n", "p_value", "ci_low", "ci_high"]
    )
