"""How sure are we? The estimates' uncertainty carried into total effects, conflicts and the behaviour simulation.

**Why parameter draws, not the delta method.** Total effects ``T = (I − A)⁻¹ − I`` are a strongly non-linear
function of the elasticities (products along paths, feedback loops), a conflict is a *sign* of ``T`` (a
discontinuous function), and the behaviour simulation's value passes through Erlang C staffing and clipping to
catalogue bounds. The delta method linearises all of that around the point estimate and gives symmetric intervals
that can be badly wrong for products of uncertain factors (a path of three edges each ±50 %); it has no answer at
all for "how likely is the sign to flip". Drawing whole elasticity matrices from the estimates' sampling
distribution (:meth:`~cx_framework.conflicts.evidence.GraphEvidence.elasticity_draws`: per target the regression's
joint multivariate-t, targets independent; draws whose loops diverge discarded) and pushing every draw through the
exact computation gives percentile intervals and conflict probabilities with no linearisation. It costs one batched
``solve`` per draw (≈30 × 30), a few milliseconds for thousands of draws; the behaviour simulation is heavier, so it
is run on fewer draws (``behaviour_draws``).

Edges that could not be estimated (*not identifiable*) keep their configured value without uncertainty, so an
interval reflects only the uncertainty the data can speak to; ``evidence_share`` says how much of a pair's
strongest path rests on estimated edges.

A conflict is reported as **certain** only when its whole interval lies on the conflict side (the alignment
interval excludes zero); otherwise it is *possible* (the point estimate conflicts but the interval reaches zero or
beyond) or *none*.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cx_framework.config.models import Scheme
from cx_framework.conflicts.evidence import ASSUMPTION, GraphEvidence
from cx_framework.conflicts.graph import conflict_matrix, sla_conflicts
from cx_framework.errors import InputValueError

if TYPE_CHECKING:
    from cx_framework.config.loader import CxConfig

__all__ = [
    "total_effect_intervals",
    "conflict_intervals",
    "evidence_config",
    "compare_graphs",
    "behaviour_value_interval",
    "behaviour_intervals",
    "BehaviourInterval",
    "evidence_figures",
    "EVIDENCE_FIGURES",
    "path_evidence",
]

#: Headline figures of the evidence: id -> (label, unit, definition).
EVIDENCE_FIGURES: dict[str, tuple[str, str, str]] = {
    "evidence.edges_supported": (
        "Causal-graph edges supported by history",
        "count",
        "Edges whose 95 % CI of the estimated elasticity contains a value of the configured sign (log-log panel "
        "regression with fixed effects; associations under the graph's assumptions)",
    ),
    "evidence.edges_contradicted": (
        "Causal-graph edges contradicted by history",
        "count",
        "Edges whose 95 % CI of the estimated elasticity lies entirely on the other side of zero from the "
        "configured sign",
    ),
    "evidence.edges_not_identifiable": (
        "Causal-graph edges history cannot test",
        "count",
        "Edges the data cannot estimate: too few months, a metric constant or ≤ 0, source never observed with "
        "the target, or collinear parents",
    ),
    "evidence.certain_conflicts": (
        "Bonus conflicts certain under the evidence",
        "count",
        "Scheme component × shared KPI pairs whose 95 % interval of the alignment (rewarded direction × total "
        "effect × good direction, from parameter draws of the estimated graph) lies below zero",
    ),
    "evidence.candidate_associations": (
        "Associations outside the graph to review",
        "count",
        "Metric pairs the graph does not connect whose partial correlation after fixed effects is ≥ 0.5 in "
        "magnitude (Bonferroni-adjusted p < 0.05); listed for review, never added",
    ),
}


def evidence_figures(evidence: GraphEvidence, conflicts: pd.DataFrame | None = None) -> list[dict[str, Any]]:
    """The headline figures as dicts ``id, label, value, unit, definition`` (the CLI JSON contract, no period).

    ``conflicts`` (from :func:`conflict_intervals`) adds ``evidence.certain_conflicts``.
    """
    counts = evidence.verdict_counts
    values: dict[str, float] = {
        "evidence.edges_supported": counts["supported"],
        "evidence.edges_contradicted": counts["contradicted"],
        "evidence.edges_not_identifiable": counts["not identifiable"],
        "evidence.candidate_associations": len(evidence.candidates),
    }
    if conflicts is not None:
        values["evidence.certain_conflicts"] = int((conflicts["status"] == "certain conflict").sum())
    out = []
    for fid, (label, unit, definition) in EVIDENCE_FIGURES.items():
        if fid in values:
            out.append(
                {"id": fid, "label": label, "value": int(values[fid]), "unit": unit, "definition": definition}
            )
    return out


def evidence_config(
    config: CxConfig, evidence: GraphEvidence, *, unidentified: str = "configured"
) -> CxConfig:
    """A copy of ``config`` whose causal graph carries the estimated elasticities (see
    :meth:`GraphEvidence.estimated_graph`); pass it to ``conflict_matrix``, ``simulate_behaviour`` or
    ``recommend_actions`` to run them on the evidence instead of the configured values."""
    return dataclasses.replace(config, causal_graph=evidence.estimated_graph(unidentified=unidentified))


def _full_effects(mats: np.ndarray) -> np.ndarray:
    """(I − A)⁻¹ for a stack of matrices (total effect including the identity)."""
    n = mats.shape[-1]
    eye = np.broadcast_to(np.eye(n), mats.shape)
    return np.asarray(np.linalg.solve(eye - mats, eye))


def _bounds(confidence: float) -> tuple[float, float]:
    if not 0 < confidence < 1:
        raise InputValueError(f"confidence must be in (0, 1), got {confidence}", argument="confidence")
    return (1 - confidence) / 2, 1 - (1 - confidence) / 2


def total_effect_intervals(
    evidence: GraphEvidence,
    *,
    draws: int = 2000,
    seed: int = 0,
    confidence: float | None = None,
) -> pd.DataFrame:
    """Total effects of the configured and of the estimated graph, with intervals from parameter draws.

    Parameters
    ----------
    evidence : GraphEvidence
        :func:`~cx_framework.conflicts.evidence.estimate_graph` result.
    draws : int
        Elasticity matrices drawn (see the module docstring for why draws and not the delta method).
    seed : int
        Seed of the draws.
    confidence : float, optional
        Interval level (default: the evidence's, 0.95).

    Returns
    -------
    pandas.DataFrame
        One row per (cause, effect) pair joined by a path: ``cause, effect, configured`` (total effect of the
        configured graph, % change of effect per 1 % rise of cause), ``estimated`` (of the estimated graph),
        ``low, high`` (percentile interval over the draws), ``sign_probability`` (share of draws with the same
        sign as ``estimated``), ``excludes_zero``. ``attrs["assumption"]`` and ``attrs["draws"]`` (kept draws),
        ``attrs["discarded"]``.
    """
    from cx_framework.conflicts.graph import elasticity_matrix

    lo_q, hi_q = _bounds(confidence or evidence.confidence)
    nodes, mats, discarded = evidence.elasticity_draws(draws, seed=seed)
    n = len(nodes)
    configured = _full_effects(elasticity_matrix(evidence.graph).to_numpy()[None])[0] - np.eye(n)
    estimated = _full_effects(elasticity_matrix(evidence.estimated_graph()).to_numpy()[None])[0] - np.eye(n)
    total = _full_effects(mats) - np.eye(n)[None] if len(mats) else np.full((0, n, n), np.nan)
    reach = (np.abs(configured) > 0) | (np.abs(estimated) > 0)
    np.fill_diagonal(reach, False)
    i, j = np.nonzero(reach)
    samples = total[:, i, j]
    low = np.quantile(samples, lo_q, axis=0) if len(mats) else np.full(len(i), np.nan)
    high = np.quantile(samples, hi_q, axis=0) if len(mats) else np.full(len(i), np.nan)
    point = estimated[i, j]
    same = (
        (np.sign(samples) == np.sign(point)[None, :]).mean(axis=0) if len(mats) else np.full(len(i), np.nan)
    )
    out = pd.DataFrame(
        {
            "cause": [nodes[k] for k in i],
            "effect": [nodes[k] for k in j],
            "configured": configured[i, j],
            "estimated": point,
            "low": low,
            "high": high,
            "sign_probability": same,
            "excludes_zero": (low > 0) | (high < 0),
        }
    )
    out.attrs.update(assumption=ASSUMPTION, draws=int(len(mats)), discarded=discarded)
    return out


def conflict_intervals(
    schemes: Scheme | Mapping[str, Scheme] | Sequence[Scheme],
    config: CxConfig,
    evidence: GraphEvidence,
    *,
    draws: int = 2000,
    seed: int = 0,
    confidence: float | None = None,
    tol: float = 1e-6,
    departments: bool = False,
) -> pd.DataFrame:
    """The conflict matrix of the configured graph next to the evidence's, with intervals and a certainty status.

    Parameters
    ----------
    schemes : Scheme, dict or sequence of Scheme
        As for :func:`~cx_framework.conflicts.graph.conflict_matrix`.
    config : CxConfig
        Catalogue, scorecard and the configured graph.
    evidence : GraphEvidence
        Estimates of the graph's edges.
    draws, seed, confidence
        As for :func:`total_effect_intervals`.
    tol : float
        Alignment within ±tol counts as no effect (as in ``conflict_matrix``).
    departments : bool
        Rows for the departments' local objectives (:func:`~cx_framework.conflicts.graph.sla_conflicts`) instead
        of scheme components.

    Returns
    -------
    pandas.DataFrame
        The ``conflict_matrix`` columns (configured graph) plus ``estimated_total_effect, total_effect_low,
        total_effect_high`` (evidence; % of KPI per 1 % of the component metric), ``alignment_low,
        alignment_high``, ``estimated_severity, severity_low, severity_high``, ``conflict_probability`` (share of
        draws in which the component conflicts with the KPI), ``estimated_conflict`` (point estimate),
        ``status`` (``certain conflict`` — the alignment interval lies below zero; ``possible conflict``;
        ``no conflict``), ``difference`` (what changes between configured and evidence, in words; empty when they
        agree), ``path_evidence`` (the verdict of every edge on the strongest path, :func:`path_evidence`).
        ``attrs["assumption"]`` carries :data:`~cx_framework.conflicts.evidence.ASSUMPTION`.
    """
    lo_q, hi_q = _bounds(confidence or evidence.confidence)
    frame = sla_conflicts(config, tol=tol) if departments else conflict_matrix(schemes, config, tol=tol)
    nodes, mats, discarded = evidence.elasticity_draws(draws, seed=seed)
    pos = {m: k for k, m in enumerate(nodes)}
    full = _full_effects(mats)
    est_cfg = evidence_config(config, evidence)
    point_frame = (
        sla_conflicts(est_cfg, tol=tol) if departments else conflict_matrix(schemes, est_cfg, tol=tol)
    )
    owner = "department" if departments else "scheme"
    key = [owner, "component", "kpi"]
    point = frame[key].merge(point_frame[[*key, "total_effect", "conflict", "severity"]], on=key, how="left")
    catalogue = config.metrics.by_id
    comp = frame["component"].to_numpy()
    kpi = frame["kpi"].to_numpy()
    in_graph = np.array([c in pos and k in pos for c, k in zip(comp, kpi, strict=True)])
    same = comp == kpi
    samples = np.zeros((len(mats), len(frame)))
    if in_graph.any():
        r = np.array([pos[c] for c in comp[in_graph]])
        c = np.array([pos[k] for k in kpi[in_graph]])
        samples[:, in_graph] = full[:, r, c]
    samples[:, same & ~in_graph] = 1.0
    rewarded = np.array([catalogue[m].sign for m in comp], dtype=float)
    good = np.array([catalogue[m].sign for m in kpi], dtype=float)
    alignment = samples * (rewarded * good)[None, :]
    weight = (frame["component_weight"] * frame["kpi_weight"]).to_numpy(dtype=float)
    severity = np.abs(samples) * weight[None, :]

    def q(values: np.ndarray, level: float) -> np.ndarray:
        return np.quantile(values, level, axis=0) if len(values) else np.full(values.shape[1], np.nan)

    out = frame.copy()
    out["estimated_total_effect"] = point["total_effect"].to_numpy()
    out["total_effect_low"] = q(samples, lo_q)
    out["total_effect_high"] = q(samples, hi_q)
    out["alignment_low"] = q(alignment, lo_q)
    out["alignment_high"] = q(alignment, hi_q)
    out["estimated_severity"] = point["severity"].to_numpy()
    out["severity_low"] = q(severity, lo_q)
    out["severity_high"] = q(severity, hi_q)
    out["conflict_probability"] = (alignment < -tol).mean(axis=0) if len(mats) else np.nan
    out["estimated_conflict"] = point["conflict"].fillna(False).astype(bool).to_numpy()
    certain = out["alignment_high"].to_numpy() < -tol
    status = np.where(
        certain, "certain conflict", np.where(out["estimated_conflict"], "possible conflict", "no conflict")
    )
    out["status"] = status
    out["difference"] = [
        _difference(bool(cfg), bool(est), st, lo, hi)
        for cfg, est, st, lo, hi in zip(
            out["conflict"],
            out["estimated_conflict"],
            status,
            out["total_effect_low"],
            out["total_effect_high"],
            strict=True,
        )
    ]
    out["path_evidence"] = path_evidence(out["path"], evidence)
    out.attrs.update(assumption=ASSUMPTION, draws=int(len(mats)), discarded=discarded)
    return out


def path_evidence(paths: Sequence[Any] | pd.Series, evidence: GraphEvidence) -> list[str]:
    """The verdict of every edge on each path, in words: ``"aht_s → fcr: supported; fcr → csat: not
    identifiable"`` (metric ids; "" for a missing path, a one-metric path or an edge not in the graph's evidence).

    Parameters
    ----------
    paths : sequence of str
        Paths as :func:`~cx_framework.conflicts.graph.conflict_matrix` writes them (``"a → b → c"``).
    evidence : GraphEvidence
        Its ``edges`` frame supplies each edge's verdict.
    """
    from cx_framework.conflicts.evidence import edge_key
    from cx_framework.conflicts.graph import ARROW

    e = evidence.edges
    keys = [edge_key(a, b) for a, b in zip(e["source"], e["target"], strict=True)]
    verdict = dict(zip(keys, e["verdict"], strict=True))
    memo: dict[str, str] = {}

    def one(path: Any) -> str:
        if not isinstance(path, str) or ARROW not in path:
            return ""
        if path not in memo:
            nodes = [n.strip() for n in path.split(ARROW.strip())]
            parts = []
            for a, b in zip(nodes[:-1], nodes[1:], strict=True):
                key = edge_key(a, b)
                parts.append(f"{a}{ARROW}{b}: {verdict.get(key, 'not in the estimated graph')}")
            memo[path] = "; ".join(parts)
        return memo[path]

    return [one(p) for p in paths]


def _difference(configured: bool, estimated: bool, status: str, low: float, high: float) -> str:
    interval = f"total effect {low:+.3f} to {high:+.3f}"
    if configured and not estimated:
        return f"configured graph: conflict; evidence: no conflict ({interval})"
    if estimated and not configured:
        return f"configured graph: no conflict; evidence: {status} ({interval})"
    if configured and status == "possible conflict":
        return f"both conflict, but the evidence cannot exclude no conflict ({interval})"
    return ""


def compare_graphs(
    schemes: Scheme | Mapping[str, Scheme] | Sequence[Scheme],
    config: CxConfig,
    evidence: GraphEvidence,
    *,
    org_data: Any = None,
    draws: int = 2000,
    seed: int = 0,
    tol: float = 1e-6,
) -> dict[str, Any]:
    """Conflicts (and, with ``org_data``, ranked actions) on the configured and on the estimated graph, side by side.

    Returns
    -------
    dict
        ``edges`` (evidence per edge), ``conflicts`` (:func:`conflict_intervals`), ``changed`` (the conflict rows
        whose verdict differs, with ``difference`` naming the change), ``actions`` (a frame ``graph, rank, title,
        value`` for both graphs, only with ``org_data``) and ``assumption``.
    """
    conflicts = conflict_intervals(schemes, config, evidence, draws=draws, seed=seed, tol=tol)
    changed = conflicts[conflicts["difference"] != ""].reset_index(drop=True)
    out: dict[str, Any] = {
        "edges": evidence.edges,
        "conflicts": conflicts,
        "changed": changed,
        "assumption": ASSUMPTION,
    }
    if org_data is not None:
        from cx_framework.actions import recommend_actions

        frames = []
        for label, cfg in (("configured", config), ("estimated", evidence_config(config, evidence))):
            plan = recommend_actions(org_data, cfg)
            table = plan.actions if hasattr(plan, "actions") else pd.DataFrame()
            frames.append(table.assign(graph=label))
        out["actions"] = pd.concat(frames, ignore_index=True)
    return out


@dataclasses.dataclass(frozen=True)
class BehaviourInterval:
    """The behaviour simulation's net value per month on the configured graph, the estimated graph and draws.

    Attributes
    ----------
    configured, estimated : float
        Net value per month (currency) with the configured / estimated elasticities.
    low, high : float
        Percentile interval of the net value over ``draws`` graphs drawn from the estimates.
    values : numpy.ndarray
        The net value of each draw.
    confidence : float
    assumption : str
    """

    configured: float
    estimated: float
    low: float
    high: float
    values: np.ndarray
    confidence: float
    assumption: str = ASSUMPTION

    @property
    def excludes_zero(self) -> bool:
        return bool(self.low > 0 or self.high < 0)


def _draw_effects(evidence: GraphEvidence, draws: int, seed: int) -> tuple[list[str], np.ndarray]:
    """(nodes, ``(I − A)⁻¹`` of each kept draw): the draws of :func:`conflict_intervals` (same seed), with every
    elasticity clipped to the config's ±5 bound as in the estimated graph itself, so each draw is a valid
    ``causal_graph.yaml`` (draws whose loops then diverge are dropped)."""
    nodes, mats, _ = evidence.elasticity_draws(draws, seed=seed)
    mats = np.clip(mats, -5.0, 5.0)
    if len(mats):
        mats = mats[np.max(np.abs(np.linalg.eigvals(mats)), axis=1) < 1.0 - 1e-9]
    return nodes, _full_effects(mats) if len(mats) else np.zeros((0, len(nodes), len(nodes)))


def behaviour_value_interval(
    scheme: Scheme,
    org: Any,
    config: CxConfig,
    evidence: GraphEvidence,
    *,
    draws: int = 200,
    seed: int = 0,
    confidence: float | None = None,
    **simulate_kwargs: Any,
) -> BehaviourInterval:
    """Net value per month of :func:`~cx_framework.conflicts.behaviour.simulate_behaviour` with an interval.

    The simulation is re-run on ``draws`` elasticity matrices drawn from the estimates — the same draws (and
    seed) as :func:`conflict_intervals` — while the behaviour response itself is held at ``seed``, so the interval
    is the graph's uncertainty alone. The response and the payouts do not depend on the graph and are computed
    once; the propagation, Erlang C staffing and churn are vectorised over the draws
    (:func:`~cx_framework.conflicts.behaviour.behaviour_net_values`), a few seconds for hundreds of draws.
    Each draw's value equals ``simulate_behaviour`` on a config with that drawn graph (elasticities clipped to the
    config's ±5 bound, as the estimated graph's own point estimates are).
    """
    from cx_framework.conflicts.behaviour import behaviour_net_values, simulate_behaviour

    lo_q, hi_q = _bounds(confidence or evidence.confidence)
    base = simulate_behaviour(scheme, org, config, seed=seed, **simulate_kwargs)
    kwargs = {**simulate_kwargs, "validate": False}
    est = simulate_behaviour(scheme, org, evidence_config(config, evidence), seed=seed, **kwargs)
    nodes, full = _draw_effects(evidence, draws, seed)
    arr = (
        behaviour_net_values(scheme, org, config, nodes, full, seed=seed, **kwargs)
        if len(full)
        else np.array([])
    )
    return BehaviourInterval(
        configured=float(base.net_value),
        estimated=float(est.net_value),
        low=float(np.quantile(arr, lo_q)) if len(arr) else float("nan"),
        high=float(np.quantile(arr, hi_q)) if len(arr) else float("nan"),
        values=arr,
        confidence=confidence or evidence.confidence,
    )


def behaviour_intervals(
    schemes: Mapping[str, Scheme],
    org: Any,
    config: CxConfig,
    evidence: GraphEvidence,
    *,
    current: str | None = None,
    configured: Mapping[str, Any] | None = None,
    draws: int = 200,
    seed: int = 0,
    confidence: float | None = None,
    **simulate_kwargs: Any,
) -> pd.DataFrame:
    """The behaviour simulation's value of every scheme with its interval over the estimated graph's draws.

    Parameters
    ----------
    schemes : dict of scheme id -> Scheme
    current : str, optional
        Scheme in force: adds the value of switching from it (``switching_value``, as
        :func:`cx_framework.actions.switching_value`) with its interval. Today's baseline payouts do not depend
        on the graph, so a switch's draws are the candidate's net-value draws plus a constant.
    configured : dict of scheme id -> BehaviourResult, optional
        Results already simulated on the configured graph (the Analysis' behaviour section), reused as given.
    draws, seed, confidence, simulate_kwargs
        As for :func:`behaviour_value_interval`.

    Returns
    -------
    pandas.DataFrame
        One row per scheme: ``scheme, net_value`` (configured graph), ``estimated_net_value`` (estimated graph),
        ``net_value_low, net_value_high`` (percentile interval over the draws), ``net_value_certain`` (the
        interval excludes zero: only then is the value's sign certain), and with ``current``:
        ``switching_value, estimated_switching_value, switching_low, switching_high, switching_certain`` (NaN /
        False for the current scheme itself). ``attrs``: ``draws`` (kept), ``confidence``, ``assumption``.
    """
    from cx_framework.actions import switching_value
    from cx_framework.conflicts.behaviour import _finish, _net_values, _prepare_behaviour

    lo_q, hi_q = _bounds(confidence or evidence.confidence)
    kwargs = {"validate": False, **simulate_kwargs}
    prep_kwargs = {
        "seed": seed,
        "effort_budget": kwargs.get("effort_budget", 0.10),
        "responsiveness_cv": kwargs.get("responsiveness_cv", 0.3),
        "baseline_periods": kwargs.get("baseline_periods", 3),
        "validate": kwargs.get("validate", False),
    }
    from cx_framework.conflicts.graph import total_effects

    nodes, full = _draw_effects(evidence, draws, seed)
    t_cfg = total_effects(config)
    t_est = total_effects(evidence_config(config, evidence))
    results: dict[str, dict[str, Any]] = {}
    for sid, scheme in schemes.items():
        prep = _prepare_behaviour(scheme, org, config, **prep_kwargs)
        cfg_r = (configured or {}).get(sid) or _finish(prep, t_cfg)
        est_r = _finish(prep, t_est)
        values = _net_values(prep, nodes, full) if len(full) else np.array([])
        results[sid] = {"cfg": cfg_r, "est": est_r, "values": values}

    def q(values: np.ndarray, level: float) -> float:
        return float(np.quantile(values, level)) if len(values) else float("nan")

    rows = []
    for sid, r in results.items():
        lo, hi = q(r["values"], lo_q), q(r["values"], hi_q)
        row: dict[str, Any] = {
            "scheme": sid,
            "net_value": float(r["cfg"].net_value),
            "estimated_net_value": float(r["est"].net_value),
            "net_value_low": lo,
            "net_value_high": hi,
            "net_value_certain": bool(lo > 0 or hi < 0),
        }
        if current is not None and current in results:
            cur = results[current]["cfg"]
            if sid == current:
                row.update(
                    switching_value=float("nan"),
                    estimated_switching_value=float("nan"),
                    switching_low=float("nan"),
                    switching_high=float("nan"),
                    switching_certain=False,
                )
            else:
                shift = float(cur.payout_cost["baseline"] - r["cfg"].payout_cost["baseline"])
                s_lo, s_hi = lo + shift, hi + shift
                row.update(
                    switching_value=switching_value(cur, r["cfg"]),
                    estimated_switching_value=switching_value(results[current]["est"], r["est"]),
                    switching_low=s_lo,
                    switching_high=s_hi,
                    switching_certain=bool(s_lo > 0 or s_hi < 0),
                )
        rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs.update(
        draws=int(len(full)), confidence=confidence or evidence.confidence, assumption=ASSUMPTION
    )
    return out
