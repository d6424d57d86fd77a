"""Where do the causal graph's elasticities come from? Every edge estimated from history, with its uncertainty.

``causal_graph.yaml`` holds judgement-based elasticities. :func:`estimate_graph` confronts each edge with the
organisation's own ``department_metrics``: for every target metric *y* with graph parents *x₁ … x_k* (each at
its edge's ``lag_periods``) one log-log panel regression over units (teams or departments) × months

    log y[u, t] = Σ_j β_j · log x_j[u, t − lag_j] + α_u (+ γ_t, or a linear trend) + ε[u, t]

so β_j is an elasticity (% change of y per 1 % change of x_j) *holding the target's other parents fixed* — the
same ceteris-paribus reading as the graph's ``A[j, y]``. ``α_u`` are unit fixed effects (levels differ between
teams for reasons the graph does not model); ``γ_t`` month fixed effects absorb shocks common to every unit
(seasonality, price changes) whenever every regressor varies across units within a month; when a regressor is an
organisation-wide series (a metric only one department reports, e.g. ``offered_volume``) month effects would
absorb it, so a linear trend stands in for them. Standard errors: cluster-robust by unit (CR1, t with G − 1
degrees of freedom) with at least ``min_clusters`` (10) units; Newey-West HAC within units with fewer (CR1 is
too small with few clusters); Driscoll-Kraay (HAC over the monthly cross-sectional sums, t with T − 1 df) when
there are no month effects, since shocks common to all units then stay in the error; Newey-West HAC for a single
unit's time series. A HAC standard error is never reported below the classical OLS one (HAC is biased
downward in short series).

**Matching units.** A parent measured on the same units as the target is matched unit by unit; a parent measured
per department is matched to each team of that department; a parent reported by a single unit (an
organisation-wide series) is matched by month to every unit of the target; a parent measured only per team is
averaged (volume-weighted) to departments for a department-level target. The level (team or department) with the
most parents matched, then the most rows, is used.

**Verdicts.** *supported* — the 95 % CI contains a value of the configured sign; *contradicted* — the CI lies
entirely on the other side of zero; *not identifiable* — the data cannot say (too few periods or rows, a metric
constant after fixed effects, values ≤ 0 where logs are needed, the source never observed with the target,
parents collinear); ``reason`` says which. ``significant`` marks CIs that exclude zero.

**What the numbers are.** Associations under the graph's assumptions (:data:`ASSUMPTION`): they are causal
elasticities only if the target's listed parents plus the fixed effects close every back-door path — no
unobserved driver moves source and target together within a unit over time, and the target does not feed back on
the source within the lag. Every output carries that sentence.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cx_framework.config.models import CausalGraph, Edge
from cx_framework.errors import InputValueError, StatisticalWarning

if TYPE_CHECKING:
    from cx_framework.config.loader import CxConfig

__all__ = ["ASSUMPTION", "GraphEvidence", "estimate_graph", "edge_key"]

#: The sentence every evidence output carries: what the estimates are and what would make them causal.
ASSUMPTION = (
    "These are associations under the graph's assumptions, not proven causal effects: each elasticity is the "
    "log-log association of the target with the source holding the target's other graph parents and the unit "
    "(and month) fixed effects constant. It is causal only if the graph is causally sufficient for that target "
    "(no unmeasured confounding): no driver outside the target's listed parents moves source and target together "
    "within a unit over time, and the target does not feed back on the source within the edge's lag."
)

VERDICTS = ("supported", "contradicted", "not identifiable")
_EDGE_COLUMNS = [
    "source",
    "target",
    "lag_periods",
    "configured",
    "estimate",
    "std_error",
    "ci_low",
    "ci_high",
    "p_value",
    "n",
    "units",
    "periods",
    "level",
    "matched_as",
    "fixed_effects",
    "se_type",
    "controls",
    "verdict",
    "significant",
    "reason",
]
_CANDIDATE_COLUMNS = [
    "metric_a",
    "metric_b",
    "level",
    "correlation",
    "elasticity",
    "ci_low",
    "ci_high",
    "p_value_adjusted",
    "n",
    "label",
]
_CANDIDATE_LABEL = "association to review (not in the graph; not added)"


def edge_key(source: str, target: str) -> str:
    """The id of an edge in outputs and ``truth.json``: ``"source -> target"``."""
    return f"{source} -> {target}"


# ------------------------------------------------------------------------------------------------ result
@dataclass(frozen=True)
class EquationFit:
    """One target's regression: the parents estimated jointly, their coefficient covariance and the data used.

    Attributes
    ----------
    target : str
    sources : tuple of str
        Parents whose elasticity was estimated (identified), in ``params`` order.
    params : numpy.ndarray
        Estimated elasticities of ``sources``.
    cov : numpy.ndarray
        Their (cluster-robust or HAC) covariance matrix.
    df : float
        Degrees of freedom of the t reference distribution.
    data : pandas.DataFrame
        Rows used: ``unit, period, log_<target>, log_<source>...`` (natural logs), for scatter plots.
    """

    target: str
    sources: tuple[str, ...]
    params: np.ndarray
    cov: np.ndarray
    df: float
    data: pd.DataFrame


@dataclass(frozen=True)
class GraphEvidence:
    """Every configured edge against history: estimate, CI, verdict; the regressions behind them.

    Attributes
    ----------
    edges : pandas.DataFrame
        One row per configured edge (graph order): ``source, target, lag_periods, configured`` (the graph's
        elasticity), ``estimate, std_error, ci_low, ci_high`` (elasticity, % per %; NaN when not identifiable),
        ``p_value`` (H0: elasticity 0), ``n`` (unit-months used), ``units, periods, level`` (team | department),
        ``matched_as`` (how the source was matched to the target's units), ``fixed_effects, se_type, controls``
        (the target's other parents in the regression), ``verdict`` (supported | contradicted | not identifiable),
        ``significant`` (CI excludes 0), ``reason`` (why, in words).
    equations : dict of str -> EquationFit
        Target metric -> its regression (only targets with at least one identified edge).
    candidates : pandas.DataFrame
        Strong associations between metrics the graph does not connect (``metric_a, metric_b, level,
        correlation`` (partial, after fixed effects), ``elasticity, ci_low, ci_high`` (log b on log a),
        ``p_value_adjusted`` (Bonferroni), ``n, label``). Listed for review; never added to the graph.
    graph : CausalGraph
        The configured graph the edges came from.
    confidence : float
        Level of the intervals (0.95).
    assumption : str
        :data:`ASSUMPTION`.
    notes : tuple of str
        Statistical caveats raised while fitting (also issued as :class:`StatisticalWarning`).
    """

    edges: pd.DataFrame
    equations: dict[str, EquationFit]
    candidates: pd.DataFrame
    graph: CausalGraph
    confidence: float = 0.95
    assumption: str = ASSUMPTION
    notes: tuple[str, ...] = field(default_factory=tuple)

    # ------------------------------------------------------------------ summaries
    @property
    def verdict_counts(self) -> dict[str, int]:
        """Number of edges per verdict (every verdict listed, 0 included)."""
        counts = self.edges["verdict"].value_counts()
        return {v: int(counts.get(v, 0)) for v in VERDICTS}

    def _repr_html_(self) -> str:
        from cx_framework._display import html_card

        figures = [("Edges tested", f"{len(self.edges):,}")]
        figures += [(f"Edges {verdict}", f"{count:,}") for verdict, count in self.verdict_counts.items()]
        if len(self.candidates):
            figures.append(("Associations to review (not in the graph)", f"{len(self.candidates):,}"))
        cols = ["source", "target", "configured", "estimate", "ci_low", "ci_high", "n", "verdict", "reason"]
        table = self.edges[[c for c in cols if c in self.edges]].rename(
            columns={
                "source": "From",
                "target": "To",
                "configured": "Configured elasticity",
                "estimate": "Estimated",
                "ci_low": f"{self.confidence:.0%} CI low",
                "ci_high": f"{self.confidence:.0%} CI high",
                "n": "Unit-months",
                "verdict": "Verdict",
                "reason": "Why",
            }
        )
        return html_card(
            "Causal-graph evidence",
            text=self.assumption,
            figures=figures,
            table=table,
            table_title="Edges",
            max_rows=25,
            caveats=list(self.notes),
        )

    def summary(self) -> str:
        """A plain-text table of the edges with their verdicts, preceded by the assumption sentence."""
        lines = [self.assumption, ""]
        counts = ", ".join(f"{k}: {v}" for k, v in self.verdict_counts.items())
        lines.append(f"{len(self.edges)} edges — {counts}")
        for r in self.edges.itertuples(index=False):
            if r.verdict == "not identifiable":
                est = "n/a"
            else:
                est = f"{r.estimate:+.3f} [{r.ci_low:+.3f}, {r.ci_high:+.3f}] n={r.n}"
            lines.append(
                f"{r.source} -> {r.target}: configured {r.configured:+.2f}, estimated {est}: {r.verdict}"
                + (f" ({r.reason})" if r.reason else "")
            )
        if len(self.candidates):
            lines += ["", "Associations to review (not in the graph, not added):"]
            for c in self.candidates.itertuples(index=False):
                lines.append(
                    f"{c.metric_a} ~ {c.metric_b} ({c.level}): r = {c.correlation:+.2f}, "
                    f"elasticity {c.elasticity:+.3f} [{c.ci_low:+.3f}, {c.ci_high:+.3f}], n={c.n}"
                )
        return "\n".join(lines)

    def edge_data(self, source: str, target: str) -> pd.DataFrame:
        """The unit-months behind one edge, for a scatter: ``unit, period, log_source, log_target`` and
        ``partial_source, partial_target`` (both residualised on the fixed effects and the other parents — the
        added-variable plot, whose least-squares slope is exactly the estimate). Empty when not identified."""
        fit = self.equations.get(target)
        if fit is None or source not in fit.sources:
            return pd.DataFrame(
                columns=["unit", "period", "log_source", "log_target", "partial_source", "partial_target"]
            )
        data = fit.data
        y = data[f"log_{target}"].to_numpy()
        x = data[f"log_{source}"].to_numpy()
        others = data[[f"log_{s}" for s in fit.sources if s != source]].to_numpy()
        fe = _fe_matrix(data, data.attrs["fixed_effects"])
        z = np.column_stack([others, fe]) if others.size else fe
        return pd.DataFrame(
            {
                "unit": data["unit"].to_numpy(),
                "period": data["period"].to_numpy(),
                "log_source": x,
                "log_target": y,
                "partial_source": _residual(x, z),
                "partial_target": _residual(y, z),
            }
        )

    # ------------------------------------------------------------------ graphs from evidence
    def estimated_graph(self, *, unidentified: str = "configured") -> CausalGraph:
        """The configured graph with each identified edge's elasticity replaced by its estimate.

        Parameters
        ----------
        unidentified : {"configured", "zero"}
            What a *not identifiable* edge keeps: its configured value (default — no evidence either way) or 0.

        Returns
        -------
        CausalGraph
            Same edges, lags and notes; estimates clipped to the config's ±5 bound.
        """
        values = self._point(unidentified)
        return _graph_with(self.graph, values)

    def _point(self, unidentified: str) -> dict[str, float]:
        if unidentified not in ("configured", "zero"):
            raise InputValueError(
                f"unidentified must be 'configured' or 'zero', got {unidentified!r}", argument="unidentified"
            )
        out = {}
        for r in self.edges.itertuples(index=False):
            if r.verdict == "not identifiable":
                out[edge_key(r.source, r.target)] = r.configured if unidentified == "configured" else 0.0
            else:
                out[edge_key(r.source, r.target)] = float(r.estimate)
        return out

    def elasticity_draws(
        self, draws: int = 2000, *, seed: int = 0, unidentified: str = "configured"
    ) -> tuple[list[str], np.ndarray, int]:
        """Random elasticity matrices from the estimates' sampling distribution.

        Each target's parents are drawn jointly from a multivariate t (the regression's covariance and degrees
        of freedom); different targets' regressions are drawn independently (their errors are assumed
        uncorrelated). Not identifiable edges keep their configured value (or 0), without uncertainty. Draws whose
        feedback loops diverge (spectral radius ≥ 1) are discarded and counted.

        Returns
        -------
        (nodes, matrices, discarded)
            Metric ids (``CausalGraph.nodes`` order), an array ``(kept draws, n, n)`` with ``[d, i, j]`` the
            elasticity of i → j, and the number of draws discarded.
        """
        if draws < 1:
            raise InputValueError(f"draws must be at least 1, got {draws}", argument="draws")
        rng = np.random.default_rng(seed)
        nodes = self.graph.nodes
        pos = {n: i for i, n in enumerate(nodes)}
        base = np.zeros((len(nodes), len(nodes)))
        for key, value in self._point(unidentified).items():
            s, t = key.split(" -> ")
            base[pos[s], pos[t]] = value
        mats = np.repeat(base[None], draws, axis=0)
        for target, fit in self.equations.items():
            k = len(fit.sources)
            chol = _safe_cholesky(fit.cov)
            z = rng.standard_normal((draws, k))
            if np.isfinite(fit.df) and fit.df > 0:  # multivariate t: normal / sqrt(chi2/df)
                z = z / np.sqrt(rng.chisquare(fit.df, draws) / fit.df)[:, None]
            sample = fit.params[None, :] + z @ chol.T
            for j, s in enumerate(fit.sources):
                mats[:, pos[s], pos[target]] = sample[:, j]
        radius = np.max(np.abs(np.linalg.eigvals(mats)), axis=1)
        keep = radius < 1.0 - 1e-9
        return nodes, mats[keep], int((~keep).sum())


def _graph_with(graph: CausalGraph, values: Mapping[str, float]) -> CausalGraph:
    edges = []
    for e in graph.edges:
        v = float(np.clip(values.get(edge_key(e.source, e.target), e.elasticity), -5.0, 5.0))
        edges.append(
            Edge.model_validate(
                {
                    "from": e.source,
                    "to": e.target,
                    "elasticity": v,
                    "lag_periods": e.lag_periods,
                    "note": e.note,
                }
            )
        )
    return CausalGraph(edges=edges)


def _safe_cholesky(cov: np.ndarray) -> np.ndarray:
    cov = 0.5 * (cov + cov.T)
    w, v = np.linalg.eigh(cov)
    return np.asarray(v * np.sqrt(np.clip(w, 0.0, None)))


# ------------------------------------------------------------------------------------------------ panels
@dataclass
class _Panels:
    """Metric values by level: ``frames[level]`` is indexed (unit, month number) with one column per metric."""

    frames: dict[str, pd.DataFrame]
    volumes: dict[str, pd.DataFrame]
    team_department: dict[str, str]
    single: dict[str, pd.Series]  # metric reported by exactly one unit -> its series by month number
    single_unit: dict[str, str]


def _month_number(period: pd.Series) -> np.ndarray:
    p = pd.to_datetime(period)
    return np.asarray(p.dt.year * 12 + p.dt.month - 1, dtype=np.int64)


def _panels(dm: pd.DataFrame) -> _Panels:
    frame = pd.DataFrame(
        {
            "month": _month_number(dm["period"]),
            "department": dm["department"].astype(str).to_numpy(),
            "team": dm["team"].astype(object).where(dm["team"].notna(), None).to_numpy()
            if "team" in dm.columns
            else None,
            "metric": dm["metric"].astype(str).to_numpy(),
            "value": pd.to_numeric(dm["value"], errors="coerce").to_numpy(dtype=float),
            "volume": pd.to_numeric(dm["volume"], errors="coerce").to_numpy(dtype=float)
            if "volume" in dm.columns
            else np.nan,
        }
    )
    frame = frame[np.isfinite(frame["value"])]
    is_team = frame["team"].notna().to_numpy()
    frame["level"] = np.where(is_team, "team", "department")
    frame["unit"] = np.where(is_team, frame["team"].astype(object), frame["department"]).astype(str)
    frames: dict[str, pd.DataFrame] = {}
    volumes: dict[str, pd.DataFrame] = {}
    for level in ("team", "department"):
        sub = frame[frame["level"] == level]
        grouped = sub.groupby(["unit", "month", "metric"], sort=True)
        frames[level] = grouped["value"].mean().unstack("metric")
        volumes[level] = grouped["volume"].sum(min_count=1).unstack("metric")
    teams = frame[is_team]
    team_department = dict(zip(teams["team"].astype(str), teams["department"], strict=False))
    holders = frame[["metric", "level", "unit"]].drop_duplicates()
    counts = holders.groupby("metric").size()
    single: dict[str, pd.Series] = {}
    single_unit: dict[str, str] = {}
    for metric, level, u in holders[holders["metric"].map(counts) == 1].itertuples(index=False):
        single[metric] = frames[level][metric].xs(u, level="unit").dropna()
        single_unit[metric] = f"{level} {u}"
    return _Panels(frames, volumes, team_department, single, single_unit)


def _match(
    panels: _Panels, level: str, target_index: pd.MultiIndex, source: str, lag: int
) -> tuple[np.ndarray | None, str]:
    """Values of ``source`` at (unit, month − lag) for each row of the target's index, and how they were matched."""
    units = target_index.get_level_values("unit")
    months = target_index.get_level_values("month").to_numpy() - lag
    if source in panels.single:
        s = panels.single[source]
        return s.reindex(months).to_numpy(
            dtype=float
        ), f"organisation-wide series ({panels.single_unit[source]})"
    frame = panels.frames[level]
    if source in frame.columns:
        s = frame[source].dropna()
        common = set(s.index.get_level_values("unit")) & set(units)
        if common:
            idx = pd.MultiIndex.from_arrays([units, months])
            return s.reindex(idx).to_numpy(dtype=float), "same unit"
    if level == "team":
        dept = panels.frames["department"]
        if source in dept.columns:
            s = dept[source].dropna()
            parent = pd.Index([panels.team_department.get(u, "") for u in units])
            if set(parent) & set(s.index.get_level_values("unit")):
                idx = pd.MultiIndex.from_arrays([parent, months])
                return s.reindex(idx).to_numpy(dtype=float), "department of the team"
    if level == "department":
        team = panels.frames["team"]
        if source in team.columns:
            vals = team[source]
            vol = panels.volumes["team"].get(source)
            w = vol.reindex(vals.index) if vol is not None else pd.Series(1.0, index=vals.index)
            w = w.where(np.isfinite(w) & (w > 0), 1.0)
            ok = vals.notna()
            depts = pd.Index([panels.team_department.get(u, "") for u in vals.index.get_level_values("unit")])
            g = pd.DataFrame(
                {"unit": depts[ok.to_numpy()], "month": vals.index.get_level_values("month")[ok.to_numpy()]}
            )
            g["wx"] = (vals[ok] * w[ok]).to_numpy()
            g["w"] = w[ok].to_numpy()
            agg = g.groupby(["unit", "month"])[["wx", "w"]].sum()
            s = agg["wx"] / agg["w"]
            if set(s.index.get_level_values("unit")) & set(units):
                idx = pd.MultiIndex.from_arrays([units, months])
                return s.reindex(idx).to_numpy(dtype=float), "teams averaged to the department"
    return None, ""


# ------------------------------------------------------------------------------------------------ regression
def _fe_matrix(data: pd.DataFrame, kind: str) -> np.ndarray:
    """Intercept + unit dummies (+ month dummies | + linear trend) as one dense matrix (first levels dropped)."""
    parts = [np.ones((len(data), 1))]
    units = pd.Categorical(data["unit"])
    if len(units.categories) > 1:
        parts.append(pd.get_dummies(units, drop_first=True).to_numpy(dtype=float))
    if kind == "unit + month":
        months = pd.Categorical(data["month"])
        parts.append(pd.get_dummies(months, drop_first=True).to_numpy(dtype=float))
    elif kind in ("unit + trend", "trend"):
        m = data["month"].to_numpy(dtype=float)
        parts.append(((m - m.mean()) / max(m.std(), 1.0))[:, None])
    return np.column_stack(parts)


def _residual(v: np.ndarray, z: np.ndarray) -> np.ndarray:
    coef, *_ = np.linalg.lstsq(z, v, rcond=None)
    return np.asarray(v - z @ coef)


def _choose_level(
    panels: _Panels, target: str, parents: list[tuple[str, int]]
) -> tuple[str | None, pd.DataFrame | None, dict[str, str]]:
    """Level with the most parents matched, then the most complete rows; the matched frame and match notes."""
    best: tuple[int, int] = (-1, -1)
    chosen: tuple[str | None, pd.DataFrame | None, dict[str, str]] = (None, None, {})
    for level in ("team", "department"):
        frame = panels.frames[level]
        if target not in frame.columns:
            continue
        y = frame[target].dropna()
        if y.empty:
            continue
        cols: dict[str, Any] = {
            "unit": y.index.get_level_values("unit").to_numpy(),
            "month": y.index.get_level_values("month").to_numpy(),
            target: y.to_numpy(dtype=float),
        }
        how: dict[str, str] = {}
        for source, lag in parents:
            values, note = _match(panels, level, y.index, source, lag)
            if values is not None:
                cols[source] = values
                how[source] = note
        data = pd.DataFrame(cols)
        complete = int(data.dropna().shape[0])
        score = (len(how), complete)
        if score > best:
            best = score
            chosen = (level, data, how)
    return chosen


@dataclass
class _EdgeOutcome:
    estimate: float = np.nan
    std_error: float = np.nan
    ci_low: float = np.nan
    ci_high: float = np.nan
    p_value: float = np.nan
    reason: str = ""


def _fit_equation(
    target: str,
    parents: list[tuple[str, int]],
    panels: _Panels,
    *,
    confidence: float,
    min_periods: int,
    min_clusters: int,
    notes: list[str],
) -> tuple[dict[str, _EdgeOutcome], dict[str, Any], EquationFit | None]:
    """Fit one target's regression; per parent the outcome (estimate or the reason it is not identifiable)."""
    import statsmodels.api as sm
    from scipy import stats

    out = {s: _EdgeOutcome() for s, _ in parents}
    meta: dict[str, Any] = {
        "n": 0,
        "units": 0,
        "periods": 0,
        "level": None,
        "fixed_effects": "",
        "se_type": "",
    }
    meta["matched_as"] = {}
    level, data, how = _choose_level(panels, target, parents)
    if level is None or data is None:
        for s in out:
            out[s].reason = f"{target} is not in department_metrics"
        return out, meta, None
    meta["level"] = level
    meta["matched_as"] = how
    active = [s for s, _ in parents if s in how]
    for s, _ in parents:
        if s not in how:
            out[s].reason = (
                f"{s} is never observed alongside {target} (not at the same {level}, its department or "
                "organisation-wide)"
            )
    # logs need positive values: drop the rows, say how many
    # a metric ≤ 0 throughout (e.g. a negative NPS) leaves the equation; partly ≤ 0 drops those rows
    for c in [target, *active]:
        values = data[c].dropna()
        if len(values) and (values <= 0).all():
            reason = f"{c} is ≤ 0 in every unit-month; a log-log elasticity needs positive values"
            for s in active if c == target else [c]:
                out[s].reason = reason
    active = [s for s in active if not out[s].reason]
    cols = [target, *active]
    data = data.dropna(subset=cols).reset_index(drop=True)
    dropped: list[str] = []
    for c in cols:
        bad = data[c] <= 0
        if bad.any():
            dropped.append(f"{int(bad.sum())} with {c} ≤ 0")
            notes.append(
                f"{c}: {int(bad.sum())} of {len(data)} unit-months ≤ 0 dropped from the log-log fit of {target} "
                "(an elasticity needs positive values)"
            )
            data = data[~bad].reset_index(drop=True)
    if not active:
        return out, meta, None
    periods = int(data["month"].nunique())
    units = int(data["unit"].nunique())
    meta.update(n=len(data), units=units, periods=periods)
    if periods < min_periods:
        for s in active:
            out[s].reason = f"only {periods} months with {target} and its parents (need ≥ {min_periods})" + (
                f" after dropping unit-months where a log is undefined ({', '.join(dropped)})"
                if dropped
                else ""
            )
        return out, meta, None
    logs = pd.DataFrame({f"log_{c}": np.log(data[c].to_numpy(dtype=float)) for c in [target, *active]})
    data = pd.concat([data[["unit", "month"]], logs], axis=1)
    y = data[f"log_{target}"].to_numpy()
    # month effects unless a regressor is constant across units within a month (then a trend stands in for them)
    fe_kind = "unit + month" if units > 1 else "trend"
    x_all = data[[f"log_{s}" for s in active]].to_numpy()
    if fe_kind == "unit + month":
        resid = np.column_stack(
            [_residual(x_all[:, j], _fe_matrix(data, fe_kind)) for j in range(len(active))]
        )
        if (resid.std(axis=0) < 1e-9 * (1 + np.abs(x_all).mean(axis=0))).any():
            fe_kind = "unit + trend"
    fe_label = {
        "unit + month": "unit + month",
        "unit + trend": "unit + linear trend",
        "trend": "linear trend",
    }
    meta["fixed_effects"] = fe_label[fe_kind]
    fe = _fe_matrix(data, fe_kind)
    if np.std(_residual(y, fe)) < 1e-12:
        for s in active:
            out[s].reason = f"{target} does not vary after fixed effects ({fe_label[fe_kind]})"
        return out, meta, None
    # constant and collinear parents: variance left after the fixed effects and after the other parents
    resid = np.column_stack([_residual(x_all[:, j], fe) for j in range(len(active))])
    scale = 1e-9 * (1 + np.abs(x_all).mean(axis=0))
    for j, s in enumerate(active):
        if resid[:, j].std() < scale[j]:
            out[
                s
            ].reason = f"{s} does not vary after fixed effects ({fe_label[fe_kind]}) in the {len(data)} rows"
    keep = [j for j, s in enumerate(active) if not out[s].reason]
    for j in keep:
        others = [k for k in keep if k != j]
        if not others:
            continue
        left = _residual(resid[:, j], resid[:, others])
        if left.var() < 1e-6 * resid[:, j].var():
            corr = [abs(np.corrcoef(resid[:, j], resid[:, k])[0, 1]) for k in others]
            partner = active[others[int(np.argmax(corr))]]
            out[
                active[j]
            ].reason = f"{active[j]} is collinear with {partner} after fixed effects (their effects cannot be told apart)"
    keep = [j for j in keep if not out[active[j]].reason]
    if not keep:
        return out, meta, None
    sources = [active[j] for j in keep]
    x = np.column_stack([x_all[:, keep], fe])
    dof = len(y) - x.shape[1]
    if dof < 3:
        for s in sources:
            out[
                s
            ].reason = (
                f"only {len(y)} unit-months for {x.shape[1]} parameters (fewer than 3 degrees of freedom)"
            )
        return out, meta, None
    model = sm.OLS(y, x)
    unit_code = pd.factorize(data["unit"])[0]
    month_code = pd.factorize(data["month"])[0]
    maxlags = max(1, int(np.floor(4 * (periods / 100) ** (2 / 9))))
    if units == 1:
        order = np.argsort(data["month"].to_numpy(), kind="stable")
        res = sm.OLS(y[order], x[order]).fit(cov_type="HAC", cov_kwds={"maxlags": maxlags}, use_t=True)
        meta["se_type"] = f"Newey-West HAC ({maxlags} lag{'s' if maxlags > 1 else ''})"
        df = float(res.df_resid)
    elif fe_kind == "unit + trend":
        # no month effects (a regressor is an organisation-wide series): shocks common to every unit in a month
        # stay in the error, so Driscoll-Kraay (HAC over the monthly cross-sectional sums) is robust to both
        # cross-sectional and serial correlation
        order = np.lexsort((unit_code, data["month"].to_numpy()))
        res = sm.OLS(y[order], x[order]).fit(
            cov_type="hac-groupsum", cov_kwds={"time": month_code[order], "maxlags": maxlags}, use_t=True
        )
        meta["se_type"] = f"Driscoll-Kraay ({periods} months, {maxlags} lag{'s' if maxlags > 1 else ''})"
        df = float(periods - 1)
    elif units >= min_clusters:
        res = model.fit(cov_type="cluster", cov_kwds={"groups": unit_code}, use_t=True)
        meta["se_type"] = f"cluster-robust by unit ({units} clusters)"
        df = float(units - 1)
    else:
        # too few units for clustering: Newey-West within each unit (serial correlation), pooled
        order = np.lexsort((data["month"].to_numpy(), unit_code))
        res = sm.OLS(y[order], x[order]).fit(
            cov_type="hac-panel", cov_kwds={"groups": unit_code[order], "maxlags": maxlags}, use_t=True
        )
        meta["se_type"] = (
            f"Newey-West HAC within units ({units} units, {maxlags} lag{'s' if maxlags > 1 else ''})"
        )
        df = float(res.df_resid)
    k = len(sources)
    params = np.asarray(res.params[:k], dtype=float)
    cov = np.asarray(res.cov_params()[:k, :k], dtype=float)
    se = np.asarray(res.bse[:k], dtype=float)
    if "HAC" in meta["se_type"] or "Driscoll" in meta["se_type"]:
        # HAC variances are biased downward in short series (Andrews 1991; Kiefer & Vogelsang 2005): never report
        # a standard error below the classical one; the HAC correlation between the parameters is kept
        classical = np.sqrt(np.diag(np.asarray(model.fit().cov_params())[:k, :k]))
        floor = np.maximum(se, classical)
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = np.where(se > 0, floor / se, 1.0)
        cov = cov * np.outer(scale, scale)
        se = floor
    # t inference on the degrees of freedom chosen above (clusters − 1, months − 1 or the residual df)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = float(stats.t.ppf(0.5 + confidence / 2, df))
        ci = np.column_stack([params - q * se, params + q * se])
        pv = 2 * stats.t.sf(np.abs(params / se), df)
    if not np.all(np.isfinite(se)) or np.any(se <= 0):
        for s in sources:
            out[s].reason = "the standard errors could not be computed (too few clusters or rows)"
        return out, meta, None
    for j, s in enumerate(sources):
        out[s] = _EdgeOutcome(params[j], se[j], ci[j, 0], ci[j, 1], pv[j], "")
    data.attrs["fixed_effects"] = fe_kind
    data["period"] = pd.to_datetime(
        pd.DataFrame({"year": data["month"] // 12, "month": data["month"] % 12 + 1, "day": 1})
    )
    return out, meta, EquationFit(target, tuple(sources), params, cov, df, data)


def _verdict(configured: float, low: float, high: float) -> str:
    if not (np.isfinite(low) and np.isfinite(high)):
        return "not identifiable"
    if configured > 0:
        return "supported" if high > 0 else "contradicted"
    if configured < 0:
        return "supported" if low < 0 else "contradicted"
    return "supported" if low <= 0 <= high else "contradicted"


# ------------------------------------------------------------------------------------------------ public
def estimate_graph(
    department_metrics: pd.DataFrame,
    graph: CausalGraph | CxConfig,
    *,
    confidence: float = 0.95,
    min_periods: int = 8,
    min_clusters: int = 10,
    candidates: bool = True,
    candidate_min_correlation: float = 0.5,
    validate: bool = True,
) -> GraphEvidence:
    """Estimate every edge of the causal graph from history: elasticity, confidence interval, verdict.

    Parameters
    ----------
    department_metrics : pandas.DataFrame
        The ``department_metrics`` table (team rows and department rows; ``volume`` optional).
    graph : CausalGraph or CxConfig
        The configured graph (or a config holding it); each edge's ``lag_periods`` is used.
    confidence : float
        Level of the intervals, in (0, 1).
    min_periods : int
        Fewest distinct months an equation needs; fewer makes its edges *not identifiable*.
    min_clusters : int
        Fewest units for cluster-robust standard errors (with fewer, CR1 errors are too small); below it
        Newey-West HAC within units is used.
    candidates : bool
        Also screen metric pairs the graph does not connect for strong associations (``candidates`` frame).
    candidate_min_correlation : float
        Smallest |partial correlation| (after fixed effects) listed as a candidate.
    validate : bool
        Validate ``department_metrics`` against the data contract first.

    Returns
    -------
    GraphEvidence
        ``edges`` (one row per configured edge), ``equations``, ``candidates``, ``assumption``.

    Raises
    ------
    DataValidationError
        When ``validate`` and the table breaks the data contract.
    InputValueError
        For a confidence outside (0, 1) or ``min_periods`` < 3.

    Warns
    -----
    StatisticalWarning
        When rows are dropped (values ≤ 0 under a log) or edges cannot be identified; the verdict says why.

    Notes
    -----
    See the module docstring for the model, the unit matching and the verdicts. The estimates are associations
    under the graph's assumptions (:data:`ASSUMPTION`).

    Examples
    --------
    >>> from cx_framework import load_config, load_sample
    >>> ev = estimate_graph(load_sample().department_metrics, load_config("configs"))  # doctest: +SKIP
    >>> ev.edges[["source", "target", "estimate", "verdict"]].head()  # doctest: +SKIP
    """
    from cx_framework.conflicts.graph import _graph_of

    if not 0 < confidence < 1:
        raise InputValueError(f"confidence must be in (0, 1), got {confidence}", argument="confidence")
    if min_periods < 3:
        raise InputValueError(f"min_periods must be at least 3, got {min_periods}", argument="min_periods")
    g = _graph_of(graph)
    if validate:
        from cx_framework.schemas import validate as _validate

        department_metrics = _validate("department_metrics", department_metrics)
    panels = _panels(department_metrics)
    notes: list[str] = []
    rows = []
    equations: dict[str, EquationFit] = {}
    by_target: dict[str, list[Edge]] = {}
    for e in g.edges:
        by_target.setdefault(e.target, []).append(e)
    outcomes: dict[tuple[str, str], tuple[_EdgeOutcome, dict[str, Any]]] = {}
    for target, edges in by_target.items():
        parents = [(e.source, e.lag_periods) for e in edges]
        res, meta, fit = _fit_equation(
            target,
            parents,
            panels,
            confidence=confidence,
            min_periods=min_periods,
            min_clusters=min_clusters,
            notes=notes,
        )
        if fit is not None:
            equations[target] = fit
        for e in edges:
            outcomes[(e.source, target)] = (res[e.source], meta)
    for e in g.edges:
        o, meta = outcomes[(e.source, e.target)]
        verdict = _verdict(e.elasticity, o.ci_low, o.ci_high)
        fit = equations.get(e.target)
        controls = [s for s in (fit.sources if fit else ()) if s != e.source]
        rows.append(
            {
                "source": e.source,
                "target": e.target,
                "lag_periods": e.lag_periods,
                "configured": e.elasticity,
                "estimate": o.estimate,
                "std_error": o.std_error,
                "ci_low": o.ci_low,
                "ci_high": o.ci_high,
                "p_value": o.p_value,
                "n": int(meta["n"]) if verdict != "not identifiable" or meta["n"] else 0,
                "units": int(meta["units"]),
                "periods": int(meta["periods"]),
                "level": meta["level"],
                "matched_as": meta["matched_as"].get(e.source, ""),
                "fixed_effects": meta["fixed_effects"],
                "se_type": meta["se_type"],
                "controls": ", ".join(controls),
                "verdict": verdict,
                "significant": bool(verdict != "not identifiable" and (o.ci_low > 0 or o.ci_high < 0)),
                "reason": o.reason
                or (
                    "the interval lies on the other side of zero from the configured sign"
                    if verdict == "contradicted"
                    else ""
                ),
            }
        )
    edges_frame = pd.DataFrame(rows, columns=_EDGE_COLUMNS)
    edges_frame.attrs["assumption"] = ASSUMPTION
    unidentified = edges_frame[edges_frame["verdict"] == "not identifiable"]
    if len(unidentified):
        listed = "; ".join(f"{r.source} -> {r.target}: {r.reason}" for r in unidentified.itertuples())
        notes.append(f"{len(unidentified)} edge(s) not identifiable from the data: {listed}")
    for note in notes:
        warnings.warn(note, StatisticalWarning, stacklevel=2)
    cand = (
        _candidates(panels, g, min_correlation=candidate_min_correlation, confidence=confidence)
        if candidates
        else pd.DataFrame(columns=_CANDIDATE_COLUMNS)
    )
    cand.attrs["assumption"] = ASSUMPTION
    return GraphEvidence(
        edges=edges_frame,
        equations=equations,
        candidates=cand,
        graph=g,
        confidence=confidence,
        notes=tuple(notes),
    )


def _connected(graph: CausalGraph) -> set[frozenset[str]]:
    """Unordered pairs joined by a directed path either way (their association is expected, not a candidate)."""
    succ: dict[str, set[str]] = {}
    for e in graph.edges:
        succ.setdefault(e.source, set()).add(e.target)
    pairs: set[frozenset[str]] = set()
    for start in graph.nodes:
        seen: set[str] = set()
        stack = list(succ.get(start, ()))
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            stack.extend(succ.get(n, ()))
        pairs.update(frozenset((start, n)) for n in seen if n != start)
    return pairs


def _candidates(
    panels: _Panels, graph: CausalGraph, *, min_correlation: float, confidence: float, min_rows: int = 12
) -> pd.DataFrame:
    """Metric pairs on the same units, not connected by the graph, whose fixed-effect residuals correlate strongly.

    Partial correlation of the log values after unit (+ month, or trend for one unit) fixed effects; a pair is
    listed when |r| ≥ ``min_correlation`` and its Bonferroni-adjusted p-value (over all pairs screened) is below
    1 − confidence. The slope of log b on log a with its CI is shown as a descriptive elasticity.
    """
    from scipy import stats

    connected = _connected(graph)
    tested: list[dict[str, Any]] = []
    seen: set[frozenset[str]] = set()
    for level in ("team", "department"):
        frame = panels.frames[level]
        metrics = [m for m in frame.columns if (frame[m] > 0).sum() >= min_rows]
        logs = np.log(frame[metrics].where(frame[metrics] > 0))
        for i, a in enumerate(metrics):
            for b in metrics[i + 1 :]:
                pair = frozenset((a, b))
                if pair in connected or pair in seen:
                    continue
                both = logs[[a, b]].dropna()
                if len(both) < min_rows:
                    continue
                data = both.reset_index()
                units = data["unit"].nunique()
                kind = "unit + month" if units > 1 else "trend"
                fe = _fe_matrix(data, kind)
                if len(data) - fe.shape[1] < 5:
                    continue
                ra = _residual(data[a].to_numpy(), fe)
                rb = _residual(data[b].to_numpy(), fe)
                if ra.std() < 1e-9 or rb.std() < 1e-9:
                    continue
                seen.add(pair)
                r = float(np.corrcoef(ra, rb)[0, 1])
                dof = len(data) - fe.shape[1] - 1
                t = r * np.sqrt(dof / max(1e-12, 1 - r * r))
                slope = float(ra @ rb / (ra @ ra))
                resid = rb - slope * ra
                se = float(np.sqrt(resid @ resid / dof / (ra @ ra)))
                q = float(stats.t.ppf(0.5 + confidence / 2, dof))
                tested.append(
                    {
                        "metric_a": a,
                        "metric_b": b,
                        "level": level,
                        "correlation": r,
                        "elasticity": slope,
                        "ci_low": slope - q * se,
                        "ci_high": slope + q * se,
                        "p_value": float(2 * stats.t.sf(abs(t), dof)),
                        "n": len(data),
                    }
                )
    if not tested:
        return pd.DataFrame(columns=_CANDIDATE_COLUMNS)
    out = pd.DataFrame(tested)
    out["p_value_adjusted"] = np.minimum(out["p_value"] * len(out), 1.0)
    out = out[(out["correlation"].abs() >= min_correlation) & (out["p_value_adjusted"] < 1 - confidence)]
    out = out.assign(label=_CANDIDATE_LABEL, _abs=out["correlation"].abs())
    out = out.sort_values("_abs", ascending=False, kind="stable")
    return out[_CANDIDATE_COLUMNS].reset_index(drop=True)
