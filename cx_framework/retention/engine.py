"""The service-level ↔ churn logit of :func:`fit_retention` on a customer panel that stays in an engine.

The panel (:func:`cx_framework.engine.customer_panel`) lives in DuckDB or Spark; the grouped binomial logit
needs only aggregates of it:

1. the sample (at-risk customer-months with a known exposure) is grouped by distinct design row in the engine:
   (exposure, controls) → trials, events — the logit likelihood depends on the data only through these, so the
   point estimates are exactly those of the row-level fit;
2. statsmodels fits the GLM on those few thousand groups (:func:`cx_framework.retention.models._fit_grouped`,
   shared with the pandas path);
3. the customer-clustered sandwich needs, per customer, the score Σ x_g (y − p_g) over the customer's rows. The
   fitted p_g and design rows x_g (G small rows) go back into the engine, are joined to the sample rows by group,
   summed per customer and multiplied out there: only the K × K "meat" Σ_c s_c s_cᵀ comes back. With the same
   small-sample correction G/(G−1)·(N−1)/(N−K) this is the covariance statsmodels' ``cov_type="cluster"`` gives.

The Cox model (``model="cox"``, Breslow ties, tenure in months as the time scale) is exact on aggregates too: a
customer-month row (t, t+1] is at risk in one risk set only, its own tenure's, so the partial likelihood depends
on the rows only through, per (tenure t, distinct design row x_g), the rows at risk n_g and the events d_g
(:func:`cx_framework.retention.models._fit_cox_grouped`, Newton in numpy). A row's score residual is
(x_g − x̄_t)(δ_i − D_t·exp(x_g b)/S0_t): the leverage x_g − x̄_t and the expected events D_t·exp(x_g b)/S0_t of the
G groups go back to the engine and the customer sums are formed as for the logit; the covariance is statsmodels'
``PHReg.fit(groups=...)`` sandwich H⁻¹ (Σ_c s_c s_cᵀ) H⁻¹, which applies no small-sample correction.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from cx_framework.engine.core import Engine
from cx_framework.engine.panel import month_index
from cx_framework.errors import DataValidationError, InputValueError, ModelError, StatisticalWarning

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from cx_framework.retention.models import RetentionResult, _Design

__all__ = ["fit_retention_engine"]


def fit_retention_engine(
    engine: Engine,
    panel: ir.Table,
    *,
    exposure: str = "service_level",
    controls: Sequence[str] = ("segment", "tenure_months"),
    model: Literal["logit", "cox"] = "logit",
    lag: int = 0,
    dose: Literal["linear", "spline", "binned"] = "linear",
    cluster: str | None = "customer_id",
    bins: Sequence[float] | None = None,
    knots: int = 4,
) -> RetentionResult:
    """:func:`cx_framework.retention.fit_retention` on a panel that stays in the engine.

    Same parameters and result as ``fit_retention(panel)`` (the logit with ``grouped=True``; the Cox model with
    tenure as its time scale, so ``tenure_months`` leaves the controls); only the groups (distinct design rows,
    per tenure for Cox) and the K × K cluster meat reach pandas. For Cox the result's sample rows are those
    groups (``method="grouped"``, ``n_groups`` = (tenure, design row) groups); every estimate and figure is the
    row-level fit's.

    Raises
    ------
    InputValueError
        ``model`` other than ``"logit"`` or ``"cox"``, negative ``lag``, bad ``dose``/``bins``/``knots``.
    ModelError
        As for ``fit_retention`` (no events, no variation, singular design, separation).
    """
    import ibis
    from statsmodels.tools.sm_exceptions import PerfectSeparationError, PerfectSeparationWarning

    from cx_framework.retention.models import (
        DEFAULT_BINS,
        _check_fit_data,
        _finish,
        _fit_grouped,
        _make_design,
        _separation_message,
    )

    if model not in ("logit", "cox"):
        raise InputValueError(f"argument 'model' must be 'logit' or 'cox'; got {model!r}.", argument="model")
    if dose not in ("linear", "spline", "binned"):
        raise InputValueError(
            f"argument 'dose' must be 'linear', 'spline' or 'binned'; got {dose!r}.", argument="dose"
        )
    if not isinstance(lag, int | np.integer) or lag < 0:
        raise InputValueError(
            f"argument 'lag' must be an integer >= 0 (months); got {lag!r}.", argument="lag"
        )
    controls = tuple(controls)
    if model == "cox":  # tenure is the time scale
        controls = tuple(c for c in controls if c != "tenure_months")
    time_scale = ["tenure_months"] if model == "cox" else []
    needed = ["customer_id", "period", "churned", exposure, *controls, *time_scale] + (
        [cluster] if cluster else []
    )
    missing = [col for col in dict.fromkeys(needed) if col not in panel.columns]
    if missing:
        raise DataValidationError(
            f"panel is missing column(s) {missing} (available: {list(panel.columns)}).",
            table="customer_panel",
        )
    x = panel[exposure].cast("float64")
    if lag:
        w = ibis.window(group_by=panel.customer_id, order_by=panel.period)
        same = month_index(panel.period) - month_index(panel.period.lag(lag).over(w)) == lag
        x = ibis.ifelse(same, panel[exposure].lag(lag).over(w).cast("float64"), ibis.null().cast("float64"))
    t = panel.mutate(__x=x)
    keep = t.__x.notnull() & ~t.__x.isnan()
    if "at_risk" in t.columns:
        keep = keep & t.at_risk
    for col in controls:
        keep = keep & t[col].notnull()
    # only the columns the fit reads are materialised (the text ids and the other panel columns are not)
    used = list(
        dict.fromkeys(["__x", *controls, *time_scale, "churned", "period", *([cluster] if cluster else [])])
    )
    sample = engine.cache(t.filter(keep).select(*used))
    keys = ["__x", *controls, *time_scale]
    numeric = [
        col for col in controls if sample[col].type().is_numeric() and not sample[col].type().is_boolean()
    ]
    groups = engine.execute(
        sample.group_by(keys).aggregate(__trials=sample.count(), __events=sample.churned.cast("int64").sum())
    )
    totals = engine.execute(
        sample.aggregate(
            n_periods=sample.period.nunique(),
            n_clusters=(sample[cluster].nunique() if cluster else sample.count()),
        )
    ).iloc[0]
    trials = groups["__trials"].to_numpy(dtype=np.float64)
    successes = groups["__events"].to_numpy(dtype=np.float64)
    n, events = int(trials.sum()), int(successes.sum())
    xs = groups["__x"].to_numpy(dtype=np.float64)
    _check_fit_data(n, events, xs, exposure, lag)
    control_values: dict[str, np.ndarray] = {}
    categorical = []
    for col in controls:
        if col in numeric:
            control_values[col] = groups[col].to_numpy(dtype=np.float64)
            continue
        labels = groups[col].astype(str).to_numpy(dtype=object)
        levels = tuple(sorted(set(labels)))
        if len(levels) == 1:
            warnings.warn(
                f"control '{col}' has a single level ({levels[0]!r}) in the sample, so it adjusts for nothing; it is "
                "left out of the design.",
                StatisticalWarning,
                stacklevel=2,
            )
        code_of = {level: i for i, level in enumerate(levels)}
        control_values[col] = np.array([code_of[v] for v in labels], dtype=np.int64)
        categorical.append((col, levels))
    design = _make_design(
        exposure,
        dose,
        model == "logit",
        xs,
        knots,
        DEFAULT_BINS if bins is None else bins,
        tuple(numeric),
        tuple(categorical),
    )
    names = design.names()
    xg = design.matrix(xs, control_values)
    n_clusters = int(totals["n_clusters"])
    if cluster and n_clusters < 2:
        raise ModelError(
            f"clustered standard errors need at least 2 values of '{cluster}' in the sample; found {n_clusters}. "
            "Pass cluster=None for model-based standard errors."
        )
    if model == "cox":
        return _finish_cox(
            engine,
            sample,
            groups,
            keys,
            design,
            names,
            xg,
            trials,
            successes,
            xs,
            cluster,
            n_clusters,
            controls,
            int(lag),
            int(totals["n_periods"]),
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error", PerfectSeparationWarning)
        try:
            beta, bread, p_g = _fit_grouped(xg, names, trials, successes)
        except (PerfectSeparationError, PerfectSeparationWarning) as exc:
            raise ModelError(_separation_message(names)) from exc
        except np.linalg.LinAlgError as exc:
            raise ModelError(
                f"the design is singular ({exc}); a control may be constant or duplicate another column "
                f"({names}). Drop that control."
            ) from exc
    k = xg.shape[1]
    if cluster:
        meat = _cluster_meat(engine, sample, groups[keys], xg, p_g, cluster)
        correction = n_clusters / (n_clusters - 1) * (n - 1) / (n - k)
        cov = correction * bread @ meat @ bread
    else:
        cov = bread
    params = pd.Series(beta, index=names)
    cov_df = pd.DataFrame(cov, index=names, columns=names)
    return _finish(
        "logit",
        design,
        params,
        cov_df,
        "cluster" if cluster else "nonrobust",
        n,
        events,
        n_clusters if cluster else n,
        xg.shape[0],
        "grouped",
        controls,
        int(lag),
        xg,
        trials,
        xs,
        None,
        int(totals["n_periods"]),
    )


def _finish_cox(
    engine: Engine,
    sample: ir.Table,
    groups: pd.DataFrame,
    keys: list[str],
    design: _Design,
    names: list[str],
    xg: np.ndarray,
    trials: np.ndarray,
    events: np.ndarray,
    xs: np.ndarray,
    cluster: str | None,
    n_clusters: int,
    controls: tuple[str, ...],
    lag: int,
    n_periods: int,
) -> RetentionResult:
    """The Cox fit on the (tenure, design row) groups and its customer-clustered sandwich (module docstring)."""
    from cx_framework.retention.models import _check_design, _finish, _fit_cox_grouped

    tenure = groups["tenure_months"].to_numpy(dtype=np.int64)
    _check_design(np.column_stack([np.ones(len(xg)), xg]), ["Intercept", *names], trials)
    try:
        fit = _fit_cox_grouped(tenure, xg, trials, events, names)
    except np.linalg.LinAlgError as exc:
        raise ModelError(
            f"the design is singular ({exc}); a control may be constant or duplicate another column "
            f"({names}). Drop that control."
        ) from exc
    bread = fit.neg_hessian_inv
    if cluster:
        # only groups of tenures with an event have a non-zero score residual: the others stay out of the join
        live = fit.expected > 0
        meat = _cluster_meat(
            engine,
            sample,
            groups.loc[live, keys].reset_index(drop=True),
            fit.leverage[live],
            fit.expected[live],
            cluster,
        )
        cov = bread @ meat @ bread
    else:
        cov = bread
    return _finish(
        "cox",
        design,
        pd.Series(fit.params, index=names),
        pd.DataFrame(cov, index=names, columns=names),
        "cluster" if cluster else "nonrobust",
        int(trials.sum()),
        int(events.sum()),
        n_clusters if cluster else int(trials.sum()),
        xg.shape[0],
        "grouped",
        controls,
        lag,
        xg,
        trials,
        xs,
        fit.log_base_hazard,
        n_periods,
    )


def _cluster_meat(
    engine: Engine, sample: ir.Table, keys: pd.DataFrame, xg: np.ndarray, p_g: np.ndarray, cluster: str
) -> np.ndarray:
    """Σ_c s_c s_cᵀ with s_c = Σ_{rows of c} x_g (y − p_g), computed in the engine (exact)."""
    import ibis

    k = xg.shape[1]
    table = keys.copy()
    for j in range(k):
        table[f"__g{j}"] = xg[:, j]
    table["__p"] = p_g
    small = ibis.memtable(table)
    cols = list(keys.columns)
    rows = sample.select(*cols, __c=sample[cluster], __y=sample.churned.cast("float64"))
    joined = rows.join(small, cols)
    resid = joined.__y - joined.__p
    scores = joined.group_by("__c").aggregate(
        **{f"__s{j}": (joined[f"__g{j}"] * resid).sum() for j in range(k)}
    )
    pairs = [(a, b) for a in range(k) for b in range(a, k)]
    out = engine.execute(
        scores.aggregate(**{f"m{a}_{b}": (scores[f"__s{a}"] * scores[f"__s{b}"]).sum() for a, b in pairs})
    )
    meat = np.zeros((k, k))
    for a, b in pairs:
        meat[a, b] = meat[b, a] = float(out[f"m{a}_{b}"].iloc[0])
    return meat
