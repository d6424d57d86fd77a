"""Service level ↔ churn models on the customer panel: logit (grouped binomial GLM) and Cox PHReg.

The workhorse is a discrete-time logit of next-month churn on the service level the customer experienced this
month (Allison, *Discrete-Time Methods for the Analysis of Event Histories*, Sociological Methodology 1982):

    logit P(churned_t = 1) = b0 + f(service_level_{t-lag}) + controls_t

fitted on customer-months with at least one phone call. Standard errors are clustered by customer (a customer
contributes many months; Cameron & Miller, *A Practitioner's Guide to Cluster-Robust Inference*, 2015).

**Exact grouping.** The log-likelihood of a logit depends on the data only through the number of rows and events
per distinct design row, so the model is fitted as a binomial GLM on (events, trials) per distinct combination of
exposure and control values — identical point estimates to the row-level fit, but 12M customer-months collapse to
a few thousand rows. Customer-clustered standard errors are computed exactly from the grouped fit: each row's
score is its group's design row times its own residual, summed per customer (the same sandwich and small-sample
correction ``G/(G-1)·(N-1)/(N-K)`` as statsmodels' ``cov_type="cluster"``), so grouping loses nothing.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from cx_framework.errors import DataValidationError, InputValueError, ModelError, StatisticalWarning
from cx_framework.retention.panel import _months

__all__ = ["RetentionResult", "MarginalEffect", "fit_retention", "DEFAULT_BINS"]

#: Default service-level bin edges (shares) for ``dose="binned"``: bins are left-closed, the last one closed
#: ([0.75, 1.00], the reference). Customer-month SL comes from a few calls (0, 1/3, 1/2, 2/3, 1, ...), so
#: narrow bins around 80% would be nearly empty.
DEFAULT_BINS: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
_ONE_POINT = 0.01  # one point of service level, as a share
_Z95 = 1.959963984540054  # scipy.special.ndtri(0.975), bit for bit (tests/test_retention.py)


def _two_sided_z(alpha: float) -> float:
    """The normal quantile ``ndtri(1 - alpha / 2)`` of a two-sided ``1 - alpha`` interval. For the usual 95 %
    it is the stored constant (bit for bit), so reading a cached fit (the report, the app) does not import
    scipy.special (~0.3 s) for one number."""
    if alpha == 0.05:
        return _Z95
    from scipy.special import ndtri

    return float(ndtri(1 - alpha / 2))


# ------------------------------------------------------------------------------------------------ design
@dataclass(frozen=True)
class _Design:
    """How raw columns become design-matrix columns (kept so predictions on a grid use the same coding)."""

    exposure: str
    dose: str
    intercept: bool
    knots: tuple[float, ...] = ()
    bins: tuple[float, ...] = ()
    numeric_controls: tuple[str, ...] = ()
    categorical_controls: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (column, levels; first = reference)

    def exposure_names(self) -> list[str]:
        if self.dose == "linear":
            return [self.exposure]
        if self.dose == "spline":
            return [self.exposure] + [f"{self.exposure}_rcs{j + 1}" for j in range(len(self.knots) - 2)]
        labels = _bin_labels(self.bins)
        return [f"{self.exposure}{label}" for label in labels[:-1]]  # top bin is the reference

    def names(self) -> list[str]:
        out = ["Intercept"] if self.intercept else []
        out += self.exposure_names()
        out += list(self.numeric_controls)
        for column, levels in self.categorical_controls:
            out += [f"{column}[T.{level}]" for level in levels[1:]]
        return out

    def exposure_basis(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self.dose == "linear":
            return x[:, None]
        if self.dose == "spline":
            return _rcs_basis(x, np.asarray(self.knots))
        edges = np.asarray(self.bins)
        which = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)
        out = np.zeros((x.size, len(edges) - 2))
        rows = np.flatnonzero(which < len(edges) - 2)
        out[rows, which[rows]] = 1.0
        return out

    def matrix(self, x: np.ndarray, controls: dict[str, np.ndarray]) -> np.ndarray:
        parts = [np.ones((x.size, 1))] if self.intercept else []
        parts.append(self.exposure_basis(x))
        for column in self.numeric_controls:
            parts.append(np.asarray(controls[column], dtype=np.float64)[:, None])
        for column, levels in self.categorical_controls:
            codes = np.asarray(controls[column])  # integer codes into ``levels`` (0 = reference)
            parts.append(
                np.column_stack([codes == j for j in range(1, len(levels))]).astype(np.float64)
                if len(levels) > 1
                else np.zeros((x.size, 0))
            )
        return np.hstack(parts)

    def exposure_columns(self) -> np.ndarray:
        start = 1 if self.intercept else 0
        return np.arange(start, start + len(self.exposure_names()))


def _bin_labels(edges: Sequence[float]) -> list[str]:
    """Interval labels of left-closed bins; the last bin is closed on both sides."""
    last = len(edges) - 2
    return [
        f"[{lo:.2f}, {hi:.2f}" + ("]" if i == last else ")")
        for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True))
    ]


def _rcs_basis(x: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """Restricted (natural) cubic spline basis of Harrell, *Regression Modeling Strategies*, 2nd ed., 2015,
    §2.4.5: linear beyond the outer knots; columns ``x`` and k-2 non-linear terms scaled by (t_k - t_1)²."""
    t = knots
    k = t.size
    scale = (t[-1] - t[0]) ** 2

    def cube(v: np.ndarray) -> np.ndarray:
        return np.clip(v, 0.0, None) ** 3

    cols = [x]
    for j in range(k - 2):
        term = (
            cube(x - t[j])
            - cube(x - t[k - 2]) * (t[k - 1] - t[j]) / (t[k - 1] - t[k - 2])
            + cube(x - t[k - 1]) * (t[k - 2] - t[j]) / (t[k - 1] - t[k - 2])
        )
        cols.append(term / scale)
    return np.column_stack(cols)


# ------------------------------------------------------------------------------------------------ result
@dataclass(frozen=True)
class MarginalEffect:
    """Average change in next-month churn probability per +1 point (0.01) of service level.

    Attributes
    ----------
    estimate, std_error, lower, upper : float
        Average marginal effect (probability, e.g. -0.0012 = -0.12 percentage points) with its delta-method
        standard error and 95% confidence bounds.
    per : float
        Size of the exposure step the effect refers to (0.01 = one point of service level).
    """

    estimate: float
    std_error: float
    lower: float
    upper: float
    per: float = _ONE_POINT

    def as_dict(self) -> dict[str, float]:
        return {
            "estimate": self.estimate,
            "std_error": self.std_error,
            "lower": self.lower,
            "upper": self.upper,
            "per": self.per,
        }


@dataclass(frozen=True)
class RetentionResult:
    """A fitted service level ↔ churn model. Frozen; computes predictions, never prints.

    Attributes
    ----------
    model : {"logit", "cox"}
        Discrete-time logit of next-month churn, or Cox proportional hazards on tenure (time-varying SL).
    exposure, dose, lag : str, str, int
        Exposure column, its functional form and the lag (months) between exposure and the churn month.
    params : pandas.Series
        Coefficients (log-odds for logit, log-hazard for Cox) by design column.
    cov_params : pandas.DataFrame
        Their covariance (customer-clustered when ``cov_type == "cluster"``).
    cov_type : str
        ``"cluster"`` or ``"nonrobust"``.
    nobs, n_events, n_clusters, n_groups : int
        Customer-months in the sample, churn events among them, customers (clusters) and distinct design
        rows the grouped binomial fit used (``nobs`` for a row-level fit).
    n_periods : int
        Distinct months in the sample (``nobs / n_periods`` = exposed customer-months per month).
    exposure_mean : float
        Mean exposure over the sample (e.g. the average service level customers experienced).
    method : {"grouped", "rows"}
        How the model was fitted (identical estimates).
    marginal_effect : MarginalEffect
        Average change in next-month churn probability per +1 point of exposure, with delta-method CI.
    controls : tuple of str
        Control columns.
    baseline_churn : float
        Observed churn rate in the sample (share per month).
    """

    model: str
    exposure: str
    dose: str
    lag: int
    params: pd.Series
    cov_params: pd.DataFrame
    cov_type: str
    nobs: int
    n_events: int
    n_clusters: int
    n_groups: int
    method: str
    controls: tuple[str, ...]
    baseline_churn: float
    marginal_effect: MarginalEffect
    exposure_mean: float
    n_periods: int
    _design: _Design = field(repr=False)
    _x: np.ndarray = field(repr=False)  # sample design rows (distinct rows when grouped)
    _weight: np.ndarray = field(repr=False)  # customer-months per design row
    _exposure_values: np.ndarray = field(repr=False)
    _log_base_hazard: np.ndarray | None = field(
        repr=False, default=None
    )  # Cox: log one-month baseline hazard

    def _repr_html_(self) -> str:
        from cx_framework import figures as F
        from cx_framework._display import figure_rows, html_card

        me = self.marginal_effect
        effect = F.CHURN_PER_POINT.figure(float(me.estimate))
        figures = [
            *figure_rows([effect]),
            (
                "95 % confidence interval",
                f"{F.format_value(me.lower, 'pp')} to {F.format_value(me.upper, 'pp')}",
            ),
            ("Baseline churn per month", F.format_value(self.baseline_churn, "percent")),
            ("Mean service level experienced", F.format_value(self.exposure_mean, "percent")),
            ("Customer-months / churn events", f"{self.nobs:,} / {self.n_events:,}"),
        ]
        name = (
            "discrete-time logit of next-month churn" if self.model == "logit" else "Cox proportional hazards"
        )
        table = self.summary().reset_index().rename(columns={"index": "term"})
        caveats = [
            f"{self.dose} dose of {self.exposure}, lag {self.lag} month(s); controls: "
            + (", ".join(self.controls) or "none")
            + f"; {self.cov_type} standard errors over {self.n_clusters:,} customers.",
            "An association estimated from observational data: it is causal only if the controls capture why "
            "customers got different service.",
        ]
        return html_card(
            f"Retention model: {name}",
            figures=figures,
            table=table,
            table_title="Coefficients",
            caveats=caveats,
        )

    # ---------------------------------------------------------------- coefficients
    @property
    def bse(self) -> pd.Series:
        """Standard errors of :attr:`params`."""
        return pd.Series(np.sqrt(np.diag(self.cov_params.to_numpy())), index=self.params.index)

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided Wald p-values (normal reference)."""
        from scipy.special import ndtr  # norm.sf without scipy.stats; not at import (the report unpickles us)

        return pd.Series(2 * ndtr(-np.abs(self.params / self.bse)), index=self.params.index)

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """Wald confidence intervals of :attr:`params`; columns ``lower, upper``."""
        if not 0 < alpha < 1:
            raise InputValueError(f"argument 'alpha' must be in (0, 1); got {alpha!r}.", argument="alpha")
        z = _two_sided_z(alpha)
        se = self.bse
        return pd.DataFrame({"lower": self.params - z * se, "upper": self.params + z * se})

    def summary(self) -> pd.DataFrame:
        """Coefficient table: ``coef, std_error, z, p_value, lower, upper`` and, for a logit, ``odds_ratio``
        (``hazard_ratio`` for Cox) per design column. Model facts are in ``df.attrs``."""
        ci = self.conf_int()
        table = pd.DataFrame(
            {
                "coef": self.params,
                "std_error": self.bse,
                "z": self.params / self.bse,
                "p_value": self.pvalues,
                "lower": ci["lower"],
                "upper": ci["upper"],
            }
        )
        table["odds_ratio" if self.model == "logit" else "hazard_ratio"] = np.exp(self.params)
        table.attrs.update(
            model=self.model,
            exposure=self.exposure,
            dose=self.dose,
            lag=self.lag,
            nobs=self.nobs,
            n_events=self.n_events,
            n_clusters=self.n_clusters,
            cov_type=self.cov_type,
            method=self.method,
            marginal_effect=self.marginal_effect.as_dict(),
        )
        return table

    # ---------------------------------------------------------------- predictions
    def _prob(self, eta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Churn probability and its first/second derivatives w.r.t. the linear predictor."""
        if self.model == "logit":
            p = 1.0 / (1.0 + np.exp(-eta))
            d1 = p * (1 - p)
            return p, d1, d1 * (1 - 2 * p)
        assert self._log_base_hazard is not None
        base = self._log_base_hazard if eta.ndim == 1 else self._log_base_hazard[:, None]
        h = np.exp(base + eta)  # one-month cumulative hazard
        surv = np.exp(-h)
        return 1 - surv, surv * h, surv * h * (1 - h)

    def dose_response(
        self, grid: Sequence[float] | np.ndarray | None = None, *, alpha: float = 0.05
    ) -> pd.DataFrame:
        """Average predicted next-month churn probability if every customer-month had exposure ``g``.

        Predictive margins (average over the fitting sample's controls) with a delta-method confidence band.

        Parameters
        ----------
        grid : array-like of float, optional
            Exposure values (shares 0-1 for service level). Default: 0.50, 0.51, ..., 1.00.
        alpha : float, default 0.05
            1 - confidence level of the band.

        Returns
        -------
        pandas.DataFrame
            ``exposure, churn_probability, std_error, lower, upper`` (probabilities per month, 0-1).
        """
        values = np.round(np.arange(0.5, 1.0001, 0.01), 10) if grid is None else np.asarray(grid, dtype=float)
        if values.ndim != 1 or values.size == 0 or not np.isfinite(values).all():
            raise InputValueError(
                "argument 'grid' must be a non-empty 1-D array of finite numbers.", argument="grid"
            )
        z = _two_sided_z(alpha)
        beta = self.params.to_numpy()
        cov = self.cov_params.to_numpy()
        cols = self._design.exposure_columns()
        w = self._weight / self._weight.sum()
        est, se = np.empty(values.size), np.empty(values.size)
        x = self._x.copy()
        for j, g in enumerate(values):  # loop over grid points (tens), each vectorised over the sample
            x[:, cols] = self._design.exposure_basis(np.full(1, g))[0]
            p, d1, _ = self._prob(x @ beta)
            est[j] = w @ p
            grad = (w * d1) @ x
            se[j] = math.sqrt(max(grad @ cov @ grad, 0.0))
        return pd.DataFrame(
            {
                "exposure": values,
                "churn_probability": est,
                "std_error": se,
                "lower": np.clip(est - z * se, 0, 1),
                "upper": np.clip(est + z * se, 0, 1),
            }
        )

    def simulate_dose_response(
        self, grid: Sequence[float] | np.ndarray, *, n_draws: int = 1000, seed: int | np.random.Generator = 0
    ) -> np.ndarray:
        """Average churn probability at each ``grid`` value under ``n_draws`` parameter draws from the
        asymptotic normal N(params, cov_params) — for propagating model uncertainty into decisions.

        Returns
        -------
        numpy.ndarray
            Shape ``(n_draws, len(grid))``, probabilities per month.
        """
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        values = np.asarray(grid, dtype=float)
        draws = rng.multivariate_normal(
            self.params.to_numpy(), self.cov_params.to_numpy(), size=n_draws, method="eigh"
        )
        cols = self._design.exposure_columns()
        w = self._weight / self._weight.sum()
        out = np.empty((n_draws, values.size))
        x = self._x.copy()
        for j, g in enumerate(values):  # grid points (tens); each one a (rows x draws) matrix product
            x[:, cols] = self._design.exposure_basis(np.full(1, g))[0]
            p, _, _ = self._prob(x @ draws.T)  # (rows, draws)
            out[:, j] = w @ p
        return out

    def predict(self, exposure: float) -> float:
        """Average predicted next-month churn probability at one exposure value (see :meth:`dose_response`)."""
        return float(self.dose_response([exposure])["churn_probability"].iloc[0])

    def plot(self, grid: Sequence[float] | np.ndarray | None = None) -> Any:
        """Dose-response figure with its confidence band (:func:`cx_framework.plots.dose_response_figure`)."""
        from cx_framework.plots.retention import dose_response_figure

        return dose_response_figure(self, grid)

    # ---------------------------------------------------------------- words
    def explain(self) -> str:
        """Plain-language statement of the effect, its uncertainty and what it does (not) mean."""
        me = self.marginal_effect
        pts = 100 * me.estimate
        lo, hi = 100 * me.lower, 100 * me.upper
        direction = "lower" if me.estimate < 0 else "higher"
        significant = me.upper < 0 or me.lower > 0
        sample = (
            f"{self.nobs:,} customer-months with at least one phone call from {self.n_clusters:,} "
            f"customers ({self.n_events:,} churned the following month, {100 * self.baseline_churn:.2f}% "
            "on average)"
        )
        lag_text = "the same month's" if self.lag == 0 else f"the service level {self.lag} month(s) earlier"
        lines = [
            f"Each extra point of {self.exposure.replace('_', ' ')} a customer experiences (e.g. 80% -> 81% of "
            f"calls answered within threshold) goes with a {abs(pts):.3f} percentage-point {direction} chance "
            f"of churning the next month (95% CI {lo:+.3f} to {hi:+.3f} points), using {lag_text} service level.",
        ]
        if self.model == "logit" and self.dose == "linear":
            coef = float(self.params[self.exposure])
            ci = self.conf_int().loc[self.exposure]
            lines.append(
                f"On the odds scale, +10 points of service level multiply the odds of churning by "
                f"{math.exp(0.1 * coef):.3f} (95% CI {math.exp(0.1 * ci['lower']):.3f} to "
                f"{math.exp(0.1 * ci['upper']):.3f})."
            )
        elif self.model == "cox" and self.dose == "linear":
            coef = float(self.params[self.exposure])
            lines.append(
                f"+10 points of service level multiply the monthly churn hazard by {math.exp(0.1 * coef):.3f}."
            )
        lines.append(
            "The interval "
            + ("excludes" if significant else "includes")
            + " zero: the data "
            + ("show a clear association." if significant else "cannot rule out no association at all.")
        )
        controls = ", ".join(self.controls) if self.controls else "nothing"
        lines.append(
            f"Based on {sample}; standard errors {'clustered by customer' if self.cov_type == 'cluster' else 'not clustered'}; "
            f"adjusted for {controls}."
        )
        lines.append(
            "This is an association, not causation unless the design supports it: customers who get poor "
            "service may differ in ways the controls do not capture (e.g. calling about a problem that would "
            "make them leave anyway). Treat it as causal only with a design that supports it, such as "
            "randomised or as-good-as-random variation in waiting times."
        )
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ fitting
def _factorize(values: np.ndarray | pd.Series) -> tuple[np.ndarray, np.ndarray]:
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes.astype(np.int64), np.asarray(uniques)


def _group_rows(columns: list[np.ndarray | pd.Series]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Group id of every row by the distinct combination of ``columns`` and each column's value per group."""
    codes, uniques = zip(*(_factorize(c) for c in columns), strict=True)
    sizes = [max(len(u), 1) for u in uniques]
    if math.prod(sizes) < 2**62:
        key = np.zeros(codes[0].size, dtype=np.int64)
        for c, s in zip(codes, sizes, strict=True):
            key = key * s + c
        gid, ukeys = pd.factorize(key)
        parts = []
        for s in reversed(sizes):
            parts.append(ukeys % s)
            ukeys = ukeys // s
        ucodes = list(reversed(parts))
    else:  # too many combinations for one int64 key: let pandas hash the code tuples
        frame = pd.DataFrame({i: c for i, c in enumerate(codes)})
        gid = frame.groupby(list(frame.columns), sort=False).ngroup().to_numpy()
        first = np.unique(gid, return_index=True)[1]
        ucodes = [c[first] for c in codes]
    return gid.astype(np.int64), [u[c] for u, c in zip(uniques, ucodes, strict=True)]


def _level_codes(series: pd.Series, idx: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """Integer codes (rows ``idx``) into the sorted levels present there; categorical columns use their codes
    directly (converting 10M categorical values to strings would dominate the fit's run time)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        raw = series.cat.codes.to_numpy()[idx].astype(np.int64)
        labels = np.asarray(series.cat.categories.astype(str), dtype=object)
    else:
        raw, uniques = pd.factorize(series.iloc[idx])
        raw = raw.astype(np.int64)
        labels = np.asarray(pd.Index(uniques).astype(str), dtype=object)
    present = np.flatnonzero(np.bincount(raw, minlength=labels.size) > 0)
    order = present[np.argsort(labels[present], kind="stable")]
    remap = np.full(labels.size, -1, dtype=np.int64)
    remap[order] = np.arange(order.size)
    return remap[raw], tuple(str(v) for v in labels[order])


def _id_codes(series: pd.Series) -> tuple[np.ndarray, int]:
    """Integer id per row and the number of distinct ids, without materialising the ids themselves (a
    categorical's codes are used as they are; unused categories are dropped by a compacting remap)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        raw = series.cat.codes.to_numpy().astype(np.int64)
        used = np.bincount(raw[raw >= 0], minlength=len(series.cat.categories)) > 0
        remap = np.cumsum(used) - 1
        return np.where(raw >= 0, remap[np.maximum(raw, 0)], -1), int(used.sum())
    codes, uniques = pd.factorize(series)
    return codes.astype(np.int64), len(uniques)


def _check_columns(panel: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in panel.columns]
    if missing:
        failures = pd.DataFrame(
            {
                "table": "customer_panel",
                "column": missing,
                "check": "column_in_dataframe",
                "row": None,
                "value": None,
            }
        )
        raise DataValidationError(
            f"panel is missing column(s) {missing}; build it with build_customer_panel or add them "
            f"(available: {list(panel.columns)}).",
            failures=failures,
            table="customer_panel",
        )


def _lagged(panel: pd.DataFrame, column: str, lag: int, cluster_codes: np.ndarray) -> np.ndarray:
    """``column`` from ``lag`` periods earlier for the same customer (NaN when that month is absent)."""
    values = panel[column].to_numpy(dtype=np.float64)
    if lag == 0:
        return values
    month = _months(panel["period"])
    out = np.full(values.size, np.nan)
    same = (cluster_codes[lag:] == cluster_codes[:-lag]) & (month[lag:] - month[:-lag] == lag)
    out[lag:] = np.where(same, values[:-lag], np.nan)
    return out


def _check_fit_data(n: int, events: int, x: np.ndarray, exposure: str, lag: int) -> None:
    """Plain-language ModelErrors for data a churn model cannot be fitted on (shared by the pandas and engine fits)."""
    if n == 0:
        raise ModelError(
            f"no customer-months to fit: no at-risk rows have a known '{exposure}'"
            + (f" {lag} month(s) earlier" if lag else "")
            + ". Check that customers made phone calls and that the panel covers more than one month."
        )
    if events == 0:
        raise ModelError(
            f"no churn events among the {n:,} customer-months in the sample, so there is nothing to explain; "
            "use a longer period or more customers."
        )
    if events == n:
        raise ModelError(
            f"every one of the {n:,} customer-months in the sample churned; the model needs some stayers."
        )
    if np.ptp(x) == 0:
        raise ModelError(
            f"'{exposure}' has the same value ({x[0]:.3g}) in every customer-month of the sample, so its effect on "
            "churn cannot be estimated; the data need customers who experienced different service levels."
        )


def fit_retention(
    panel: pd.DataFrame,
    *,
    exposure: str = "service_level",
    controls: Sequence[str] = ("segment", "tenure_months"),
    model: Literal["logit", "cox"] = "logit",
    lag: int = 0,
    dose: Literal["linear", "spline", "binned"] = "linear",
    cluster: str | None = "customer_id",
    bins: Sequence[float] = DEFAULT_BINS,
    knots: int = 4,
    grouped: bool = True,
    sample: pd.Series | np.ndarray | None = None,
) -> RetentionResult:
    """Fit next-month churn on experienced service level (statsmodels), with customer-clustered errors.

    Parameters
    ----------
    panel : pandas.DataFrame
        Output of :func:`~cx_framework.retention.build_customer_panel` (needs ``customer_id, period,
        churned``, the exposure and control columns; ``at_risk`` is used when present).
    exposure : str, default "service_level"
        Exposure column (share 0-1 for service level).
    controls : sequence of str, default ("segment", "tenure_months")
        Numeric columns enter linearly, others as dummies (first level in sorted order is the reference).
        For ``model="cox"`` ``tenure_months`` is the time scale and is dropped from the controls.
    model : {"logit", "cox"}
        ``"logit"``: binomial GLM of next-month churn (grouped exactly, see module docs). ``"cox"``:
        :class:`statsmodels.duration.hazard_regression.PHReg` on tenure in months with one (entry, exit]
        interval per customer-month, so service level is time-varying; Breslow ties.
    lag : int, default 0
        Use the exposure from ``lag`` months before the row's month (the row must still have a call then).
    dose : {"linear", "spline", "binned"}
        Linear in the exposure; restricted cubic spline with ``knots`` knots at quantiles; or dummies per
        ``bins`` interval (top bin is the reference).
    cluster : str or None, default "customer_id"
        Column to cluster standard errors on; None for model-based errors.
    bins : sequence of float
        Bin edges for ``dose="binned"`` (shares, increasing).
    knots : int, default 4
        Number of spline knots (3-7) for ``dose="spline"``.
    grouped : bool, default True
        Fit the logit on distinct design rows (exact, fast). False fits ``statsmodels.api.Logit`` on every
        row — same estimates, for checking.
    sample : boolean array-like, optional
        Rows to use. Default: ``at_risk`` rows whose (lagged) exposure is known, i.e. customer-months with at
        least one phone call.

    Returns
    -------
    RetentionResult

    Raises
    ------
    DataValidationError
        Missing columns.
    ModelError
        No churn events (or only churn), no variation in the exposure, a control that is constant or
        collinear, or (quasi-)perfect separation — with a plain explanation of what to change.
    InputValueError
        Unknown ``model`` / ``dose``, negative ``lag``, bad ``bins`` or ``knots``.

    Examples
    --------
    >>> result = fit_retention(panel)                       # doctest: +SKIP
    >>> result.marginal_effect.estimate                      # doctest: +SKIP
    -0.0011
    """
    # targeted imports: statsmodels.api pulls in tsa/graphics/scipy.signal (~2 s on first use)
    from statsmodels.discrete.discrete_model import Logit
    from statsmodels.tools.sm_exceptions import PerfectSeparationError, PerfectSeparationWarning

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
    if model == "cox" and "tenure_months" in controls:
        controls = tuple(c for c in controls if c != "tenure_months")
    needed = ["customer_id", "period", "churned", exposure, *controls] + ([cluster] if cluster else [])
    _check_columns(panel, list(dict.fromkeys(needed)))
    if model == "cox":
        _check_columns(panel, ["tenure_months"])

    # rows must be in customer, period order for lags
    cust_codes = np.zeros(0, dtype=np.int64)
    if lag:
        cust_codes, _ = _id_codes(panel["customer_id"])
        month = panel["period"].to_numpy(dtype="datetime64[ns]").view(np.int64)
        order_ok = bool(
            np.all((np.diff(cust_codes) > 0) | ((np.diff(cust_codes) == 0) & (np.diff(month) > 0)))
        )
        if not order_ok:
            perm = np.lexsort((month, cust_codes))
            panel = panel.iloc[perm].reset_index(drop=True)
            cust_codes = cust_codes[perm]
            if sample is not None:
                sample = np.asarray(sample, dtype=bool)[perm]
    x_all = _lagged(panel, exposure, int(lag), cust_codes)
    if sample is None:
        mask = np.isfinite(x_all)
        if "at_risk" in panel.columns:
            mask &= panel["at_risk"].to_numpy(dtype=bool)
    else:
        mask = np.asarray(sample, dtype=bool) & np.isfinite(x_all)
    for column in controls:
        mask &= panel[column].notna().to_numpy()
    idx = np.flatnonzero(mask)
    y = panel["churned"].to_numpy(dtype=np.float64)[idx]
    x = x_all[idx]
    n, events = idx.size, int(y.sum())
    n_periods = int(pd.unique(panel["period"].to_numpy()[idx]).size)

    # ---------------------------------------------------------------- plain-language model errors
    _check_fit_data(n, events, x, exposure, lag)

    # ---------------------------------------------------------------- design
    numeric, categorical = [], []
    control_values: dict[str, np.ndarray] = {}
    for column in controls:
        series = panel[column]
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            numeric.append(column)
            control_values[column] = series.to_numpy(dtype=np.float64)[idx]
            continue
        codes, levels = _level_codes(series, idx)
        if len(levels) == 1:
            warnings.warn(
                f"control '{column}' has a single level ({levels[0]!r}) in the sample, so it adjusts for "
                "nothing; it is left out of the design.",
                StatisticalWarning,
                stacklevel=2,
            )
        categorical.append((column, levels))
        control_values[column] = codes
    design = _make_design(
        exposure, dose, model == "logit", x, knots, bins, tuple(numeric), tuple(categorical)
    )
    names = design.names()

    clusters = None
    n_clusters = n
    if cluster:
        clusters, n_clusters = _id_codes(panel[cluster].iloc[idx])
        if n_clusters < 2:
            raise ModelError(
                f"clustered standard errors need at least 2 values of '{cluster}' in the sample; found "
                f"{n_clusters}. Pass cluster=None for model-based standard errors."
            )

    with warnings.catch_warnings():
        warnings.simplefilter("error", PerfectSeparationWarning)
        try:
            if model == "cox":
                return _fit_cox(
                    panel,
                    idx,
                    y,
                    x,
                    control_values,
                    design,
                    names,
                    clusters,
                    n_clusters,
                    lag,
                    controls,
                    n_periods,
                )
            if grouped:
                gid, reps = _group_rows([x, *(control_values[c] for c in controls)])
                xg = design.matrix(reps[0], dict(zip(controls, reps[1:], strict=True)))
                trials = np.bincount(gid).astype(np.float64)
                successes = np.bincount(gid, weights=y)
                beta, bread, p_g = _fit_grouped(xg, names, trials, successes)
                if clusters is not None:
                    resid = y - p_g[gid]
                    score = np.column_stack(
                        [
                            np.bincount(clusters, weights=xg[gid, k] * resid, minlength=n_clusters)
                            for k in range(xg.shape[1])
                        ]
                    )
                    k_params = xg.shape[1]
                    correction = n_clusters / (n_clusters - 1) * (n - 1) / (n - k_params)
                    cov = correction * bread @ (score.T @ score) @ bread
                else:
                    cov = bread
                x_sample, weight, exp_values = xg, trials, reps[0]
                n_groups, method = xg.shape[0], "grouped"
            else:
                xr = design.matrix(x, control_values)
                _check_design(xr, names, np.ones(n))
                kwargs: dict[str, Any] = (
                    {"cov_type": "cluster", "cov_kwds": {"groups": clusters}} if clusters is not None else {}
                )
                fit = Logit(y, xr).fit(disp=0, method="newton", tol=1e-12, maxiter=100, **kwargs)
                beta, cov = fit.params, fit.cov_params()
                _check_separation(fit.predict(xr), y, np.ones(n), names, xr)
                x_sample, weight, exp_values = xr, np.ones(n), x
                n_groups, method = n, "rows"
        except (PerfectSeparationError, PerfectSeparationWarning) as exc:
            raise ModelError(_separation_message(names)) from exc
        except np.linalg.LinAlgError as exc:
            raise ModelError(
                f"the design is singular ({exc}); a control may be constant or duplicate another column "
                f"({names}). Drop that control."
            ) from exc

    params = pd.Series(np.asarray(beta), index=names)
    cov_df = pd.DataFrame(np.asarray(cov), index=names, columns=names)
    return _finish(
        "logit",
        design,
        params,
        cov_df,
        "cluster" if clusters is not None else "nonrobust",
        n,
        events,
        n_clusters,
        n_groups,
        method,
        controls,
        lag,
        x_sample,
        weight,
        exp_values,
        None,
        n_periods,
    )


def _make_design(
    exposure: str,
    dose: str,
    intercept: bool,
    x: np.ndarray,
    knots: int,
    bins: Sequence[float],
    numeric: tuple[str, ...],
    categorical: tuple[tuple[str, tuple[str, ...]], ...],
) -> _Design:
    """The design coding: spline knots from the distinct exposure values ``x``, checked bin edges."""
    knot_values: tuple[float, ...] = ()
    if dose == "spline":
        if not 3 <= knots <= 7:
            raise InputValueError(
                f"argument 'knots' must be between 3 and 7; got {knots!r}.", argument="knots"
            )
        probs = {
            3: (0.10, 0.5, 0.90),
            4: (0.05, 0.35, 0.65, 0.95),
            5: (0.05, 0.275, 0.5, 0.725, 0.95),
            6: (0.05, 0.23, 0.41, 0.59, 0.77, 0.95),
            7: (0.025, 0.1833, 0.3417, 0.5, 0.6583, 0.8167, 0.975),
        }
        # Harrell's quantile knots, taken over the *distinct* exposure values: customer-month SL is lumpy
        # (0, 1/2, 1 from one or two calls), so quantiles of the raw values would collapse onto 0 and 1
        knot_values = tuple(float(v) for v in np.unique(np.quantile(np.unique(x), probs[knots])))
        if len(knot_values) < 3:
            raise ModelError(
                f"'{exposure}' takes too few distinct values for a spline with {knots} knots (quantile knots "
                f"{list(knot_values)}); use dose='binned' or dose='linear'."
            )
    bin_edges: tuple[float, ...] = ()
    if dose == "binned":
        bin_edges = tuple(float(b) for b in bins)
        if len(bin_edges) < 3 or np.any(np.diff(bin_edges) <= 0):
            raise InputValueError(
                f"argument 'bins' must be >= 3 increasing edges; got {list(bins)!r}.", argument="bins"
            )
    return _Design(
        exposure=exposure,
        dose=dose,
        intercept=intercept,
        knots=knot_values,
        bins=bin_edges,
        numeric_controls=numeric,
        categorical_controls=categorical,
    )


def _fit_grouped(
    xg: np.ndarray, names: list[str], trials: np.ndarray, successes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Binomial GLM on (events, trials) per distinct design row: coefficients, model covariance (the sandwich's
    bread) and fitted probability per row. Raises ModelError on a singular design or separation."""
    from statsmodels.genmod.families import Binomial
    from statsmodels.genmod.generalized_linear_model import GLM

    _check_design(xg, names, trials)
    # fit on the groups in one canonical order (sorted design rows), so the estimates do not depend on the order
    # the rows (or an engine's GROUP BY) produced them in: pandas, DuckDB and Spark give the same fit
    order = np.lexsort(xg.T[::-1])
    fit = GLM(
        np.column_stack([successes[order], (trials - successes)[order]]), xg[order], family=Binomial()
    ).fit(tol=1e-12, maxiter=100)
    p_g = np.empty(order.size)
    p_g[order] = np.asarray(fit.fittedvalues)
    _check_separation(p_g, successes, trials, names, xg)
    # model covariance = inverse Fisher information at the estimate (statsmodels' cov_params uses the weights of
    # the last IRLS iteration, i.e. of the previous step, which depends on the path to convergence)
    weight = trials * p_g * (1.0 - p_g)
    bread = np.linalg.pinv(xg.T @ (weight[:, None] * xg))
    return np.asarray(fit.params), bread, p_g


def _check_design(x: np.ndarray, names: list[str], weight: np.ndarray) -> None:
    """Raise a plain ModelError for constant / collinear design columns (instead of a singular-matrix trace)."""
    xw = x * np.sqrt(weight)[:, None]
    rank = np.linalg.matrix_rank(xw)
    if rank < x.shape[1]:
        bad = [name for j, name in enumerate(names) if name != "Intercept" and np.ptp(x[weight > 0, j]) == 0]
        detail = (
            f"column(s) {bad} do not vary in the sample"
            if bad
            else "some columns are linear combinations of others"
        )
        raise ModelError(
            f"cannot separate the effects of {names}: {detail}. Drop the offending control or the empty "
            "category/bin (e.g. a segment or service-level bin with no customer-months)."
        )


def _separation_message(
    names: list[str],
    x: np.ndarray | None = None,
    successes: np.ndarray | None = None,
    trials: np.ndarray | None = None,
) -> str:
    culprits: list[str] = []
    if x is not None and successes is not None and trials is not None:
        for j, name in enumerate(names):
            column = x[:, j]
            if name == "Intercept" or not np.isin(column, (0.0, 1.0)).all():
                continue
            on = column == 1.0
            n_on, s_on = trials[on].sum(), successes[on].sum()
            if n_on > 0 and (s_on == 0 or s_on == n_on):
                culprits.append(f"{name} ({int(s_on)} churned of {int(n_on)} customer-months)")
    where = f" — nobody or everybody churned in {culprits}" if culprits else ""
    return (
        "perfect separation: some combination of "
        f"{names} predicts churn (or staying) exactly{where}, so the effect is infinite and cannot be estimated. "
        "Typical causes: a bin or category where nobody (or everybody) churned, or very few churn events. "
        "Use wider bins, fewer controls or more data."
    )


def _check_separation(
    p: np.ndarray, successes: np.ndarray, trials: np.ndarray, names: list[str], x: np.ndarray
) -> None:
    eps = 1e-8
    if np.any((p < eps) & (trials > 0)) or np.any((p > 1 - eps) & (trials > 0)):
        raise ModelError(_separation_message(names, x, successes, trials))


def _fit_cox(
    panel: pd.DataFrame,
    idx: np.ndarray,
    y: np.ndarray,
    x: np.ndarray,
    control_values: dict[str, np.ndarray],
    design: _Design,
    names: list[str],
    clusters: np.ndarray | None,
    n_clusters: int,
    lag: int,
    controls: tuple[str, ...],
    n_periods: int,
) -> RetentionResult:
    from statsmodels.duration.hazard_regression import PHReg

    entry = panel["tenure_months"].to_numpy(dtype=np.float64)[idx]
    xr = design.matrix(x, control_values)
    _check_design(np.column_stack([np.ones(len(x)), xr]), ["Intercept", *names], np.ones(len(x)))
    # Row (t, t+1] of a customer-month. statsmodels counts a row in the risk set of an event at time s when
    # entry <= s (not entry < s), so with entry = t a survivor's *next* row (entry t+1) would also sit in the
    # risk set of the events at t+1 and every risk set would be too large. Only the order of times enters the
    # partial likelihood, so entering at t + 1/2 gives exactly the (t, t+1] risk sets.
    # Rows of a tenure without any churn sit in no risk set of an event: they add nothing to the partial
    # likelihood, its score or the Breslow hazard (their score residual (x - x̄)(δ - 0) is 0). statsmodels'
    # score residuals mishandle them (NaN after the last event time, so the clustered covariance is NaN; kept in
    # the risk sets of all earlier events inside a gap), so they are left out of the PHReg call only — they stay
    # in the sample the marginal effect and dose response average over (with a zero hazard).
    t = entry.astype(np.int64)
    live = np.bincount(t, weights=y)[t] > 0
    fit = PHReg(entry[live] + 1.0, xr[live], status=y[live], entry=entry[live] + 0.5, ties="breslow").fit(
        groups=None if clusters is None else clusters[live]
    )
    beta = np.asarray(fit.params)
    if not np.all(np.isfinite(beta)) or np.any(np.abs(beta) > 50):
        raise ModelError(_separation_message(names))
    cov = np.asarray(fit.cov_params())
    # Breslow one-month baseline hazard for the interval (t, t+1]: events / sum of exp(x b) over rows at risk
    risk = np.bincount(t, weights=np.exp(xr @ beta))
    base = np.bincount(t, weights=y, minlength=risk.size) / np.where(risk > 0, risk, 1.0)
    with np.errstate(divide="ignore"):
        log_base = np.log(np.maximum(base[t], 1e-300))
    params = pd.Series(beta, index=names)
    cov_df = pd.DataFrame(cov, index=names, columns=names)
    return _finish(
        "cox",
        design,
        params,
        cov_df,
        "cluster" if clusters is not None else "nonrobust",
        len(y),
        int(y.sum()),
        n_clusters,
        len(y),
        "rows",
        controls,
        lag,
        xr,
        np.ones(len(y)),
        x,
        log_base,
        n_periods,
    )


@dataclass(frozen=True)
class _GroupedCox:
    """The Breslow Cox fit on (tenure, design row) groups (:func:`_fit_cox_grouped`)."""

    params: np.ndarray
    neg_hessian_inv: np.ndarray  # model covariance, the sandwich's bread
    leverage: np.ndarray  # per group: x_g - x̄_t (zero in tenures without events)
    expected: np.ndarray  # per group: D_t · exp(x_g b) / S0_t, a row's share of the tenure's events
    log_base_hazard: np.ndarray  # per group: log of the Breslow one-month baseline hazard of its tenure


def _fit_cox_grouped(
    tenure: np.ndarray, xg: np.ndarray, trials: np.ndarray, events: np.ndarray, names: list[str]
) -> _GroupedCox:
    """Breslow Cox partial likelihood on aggregates: per (tenure t, distinct design row x_g) the rows at risk
    n_g and the events d_g.

    Each customer-month row (t, t+1] is at risk in exactly one risk set, its own tenure's, so

        l(b) = sum_t [ sum_{g in t} d_g x_g b  -  D_t log S0_t(b) ],   S0_t = sum_{g in t} n_g exp(x_g b)

    depends on the rows only through (t, x_g, n_g, d_g): Newton's method on it gives the estimates of statsmodels'
    ``PHReg(ties="breslow")`` on the rows. A row's score residual (Lin & Wei 1989, statsmodels'
    ``score_residuals``) is U_i = (x_g - x̄_t)(δ_i - D_t exp(x_g b) / S0_t) = leverage_g · (δ_i - expected_g), so the
    customer-clustered meat needs only these two per-group quantities joined back to the rows.

    Raises ModelError on (quasi-)separation; numpy.linalg.LinAlgError on a singular information matrix.
    """
    tenure = np.asarray(tenure, dtype=np.int64)
    n_times = int(tenure.max()) + 1
    big_d = np.bincount(tenure, weights=events, minlength=n_times)
    d_row = big_d[tenure]
    k = xg.shape[1]
    score_const = events @ xg

    def evaluate(beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        eta = xg @ beta
        # shift by each tenure's largest linear predictor: S0_t is a sum of exponentials
        shift = pd.Series(eta).groupby(tenure).max().reindex(range(n_times), fill_value=0.0).to_numpy()
        e = trials * np.exp(eta - shift[tenure])
        s0 = np.bincount(tenure, weights=e, minlength=n_times)
        s0_safe = np.where(s0 > 0, s0, 1.0)
        s1 = np.column_stack([np.bincount(tenure, weights=e * xg[:, j], minlength=n_times) for j in range(k)])
        xbar = s1 / s0_safe[:, None]
        live = big_d > 0
        loglike = float(score_const @ beta - big_d[live] @ (shift[live] + np.log(s0_safe[live])))
        grad = score_const - big_d @ xbar
        w = d_row * e / s0_safe[tenure]  # D_t exp(x_g b) n_g / S0_t
        hess = -(xg * w[:, None]).T @ xg + (xbar * big_d[:, None]).T @ xbar
        return loglike, grad, hess, xbar, w

    beta = np.zeros(k)
    loglike, grad, hess, _, _ = evaluate(beta)
    for _ in range(100):
        step = np.linalg.solve(hess, grad)
        for _halving in range(30):  # Newton steps on a concave function; halve only if one overshoots
            candidate = beta - step
            new_loglike, new_grad, new_hess, _, _ = evaluate(candidate)
            if np.isfinite(new_loglike) and new_loglike >= loglike - 1e-12 * abs(loglike):
                break
            step = step / 2
        beta, loglike, grad, hess = candidate, new_loglike, new_grad, new_hess
        if np.max(np.abs(step)) < 1e-13 * (1.0 + np.max(np.abs(beta))):
            break
    if not np.all(np.isfinite(beta)) or np.any(np.abs(beta) > 50):
        raise ModelError(_separation_message(names))
    _, _, hess, xbar, w = evaluate(beta)
    live_row = d_row > 0
    # w = D_t n_g exp(x_g b) / S0_t, so a single row's expected events are w / n_g; the baseline hazard
    # D_t / S0_t = (w / n_g) / exp(x_g b), taken in logs (exp(x_g b) may overflow where exp(x_g b - shift) does not)
    expected = w / trials
    with np.errstate(divide="ignore"):
        log_base = np.where(live_row, np.log(np.where(live_row, expected, 1.0)) - xg @ beta, np.log(1e-300))
    return _GroupedCox(
        params=beta,
        neg_hessian_inv=np.linalg.inv(-hess),
        leverage=np.where(live_row[:, None], xg - xbar[tenure], 0.0),
        expected=expected,
        log_base_hazard=np.maximum(log_base, np.log(1e-300)),
    )


def _finish(
    model: str,
    design: _Design,
    params: pd.Series,
    cov: pd.DataFrame,
    cov_type: str,
    n: int,
    events: int,
    n_clusters: int,
    n_groups: int,
    method: str,
    controls: tuple[str, ...],
    lag: int,
    x_sample: np.ndarray,
    weight: np.ndarray,
    exposure_values: np.ndarray,
    log_base: np.ndarray | None,
    n_periods: int,
) -> RetentionResult:
    if np.any(~np.isfinite(np.diag(cov.to_numpy()))):
        raise ModelError(_separation_message(list(params.index)))
    partial = RetentionResult(
        model=model,
        exposure=design.exposure,
        dose=design.dose,
        lag=int(lag),
        params=params,
        cov_params=cov,
        cov_type=cov_type,
        nobs=n,
        n_events=events,
        n_clusters=n_clusters,
        n_groups=n_groups,
        method=method,
        controls=controls,
        baseline_churn=events / n,
        marginal_effect=MarginalEffect(math.nan, math.nan, math.nan, math.nan),
        exposure_mean=float(weight @ exposure_values / weight.sum()),
        n_periods=n_periods,
        _design=design,
        _x=x_sample,
        _weight=weight,
        _exposure_values=exposure_values,
        _log_base_hazard=log_base,
    )
    me = _average_marginal_effect(partial)
    result = dataclasses.replace(partial, marginal_effect=me)
    ci = result.conf_int()
    if model == "logit" and np.any(result.bse.to_numpy() > 1e3):
        warnings.warn(
            f"very large standard errors ({ci.index[int(np.argmax(result.bse.to_numpy()))]}); near "
            "separation or too few churn events — treat the estimates with caution.",
            StatisticalWarning,
            stacklevel=3,
        )
    return result


def _average_marginal_effect(result: RetentionResult) -> MarginalEffect:
    """Average change in churn probability per +0.01 of exposure, delta-method SE (Greene, *Econometric
    Analysis*, 8th ed., §17.3): derivative-based for linear/spline doses, a discrete +0.01 change for bins."""
    design = result._design
    beta = result.params.to_numpy()
    cov = result.cov_params.to_numpy()
    cols = design.exposure_columns()
    x = result._x
    ex = result._exposure_values
    w = result._weight / result._weight.sum()
    if design.dose == "binned":
        x1 = x.copy()
        x1[:, cols] = design.exposure_basis(np.minimum(ex + _ONE_POINT, 1.0))
        p0, d0, _ = result._prob(x @ beta)
        p1, d1, _ = result._prob(x1 @ beta)
        est = float(w @ (p1 - p0))
        grad = (w * d1) @ x1 - (w * d0) @ x
    else:
        h = 1e-6
        deriv = np.zeros_like(x)
        deriv[:, cols] = (
            (design.exposure_basis(ex + h) - design.exposure_basis(ex - h)) / (2 * h) * _ONE_POINT
        )
        _, d1, d2 = result._prob(x @ beta)
        slope = deriv @ beta
        est = float(w @ (d1 * slope))
        grad = (w * d1) @ deriv + (w * d2 * slope) @ x
    se = math.sqrt(max(float(grad @ cov @ grad), 0.0))
    return MarginalEffect(est, se, est - _Z95 * se, est + _Z95 * se)
