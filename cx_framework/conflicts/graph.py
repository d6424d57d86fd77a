"""Which pieces of pay and SLA design fight the customer? Total effects of the causal graph and the conflict matrix.

The causal graph (``configs/causal_graph.yaml``) holds signed elasticities: ``A[i, j] = 0.3`` means a 1 % rise in
metric *i* raises metric *j* by 0.3 % (holding everything else fixed). Effects travel along every path, so the
*total* effect of *i* on *j* is the sum over all directed paths of the product of their elasticities — the
Leontief inverse of input–output analysis (Leontief 1951; Pearl 2009, §3.5 for linear path analysis, Wright's
path-tracing rules):

    T = (I − A)⁻¹ − I = A + A² + A³ + …

which converges exactly when the spectral radius ρ(A) < 1. A feedback loop with ρ ≥ 1 amplifies any push
without bound; that is a mistake in the graph, reported as a :class:`~cx_framework.errors.ConfigError` that
names the loop.

A bonus component on metric *m* *conflicts* with a shared KPI *k* when pushing *m* in the direction the scheme
rewards moves *k* in its bad direction: ``rewarded_dir · T[m, k] · good_dir < −tol`` (DESIGN.md). Severity is
``|T[m, k]| · component weight · KPI weight``. To say *why*, each pair carries its strongest single path (the
simple path with the largest product of |elasticities|).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cx_framework.config.loops import ARROW, direct_effects, divergence_message, divergent_loop, find_cycle
from cx_framework.config.models import CausalGraph, Scheme
from cx_framework.errors import ConfigError, InputValueError

if TYPE_CHECKING:
    from cx_framework.config.loader import CxConfig

__all__ = [
    "ARROW",
    "elasticity_matrix",
    "total_effects",
    "find_cycle",
    "strongest_path",
    "conflict_matrix",
    "sla_conflicts",
]

_CONFLICT_COLUMNS = [
    "component",
    "component_weight",
    "kpi",
    "kpi_weight",
    "total_effect",
    "sign",
    "alignment",
    "conflict",
    "severity",
    "path",
    "path_effect",
]


def _graph_of(graph: CausalGraph | CxConfig | Any) -> CausalGraph:
    if isinstance(graph, CausalGraph):
        return graph
    inner = getattr(graph, "causal_graph", None)
    if isinstance(inner, CausalGraph):
        return inner
    raise InputValueError(
        f"graph must be a CausalGraph or a CxConfig (from load_config), got {type(graph).__name__}",
        argument="graph",
    )


def elasticity_matrix(graph: CausalGraph | CxConfig) -> pd.DataFrame:
    """The direct-effect matrix ``A`` (row = cause, column = effect) over the metrics in the graph.

    Parameters
    ----------
    graph : CausalGraph or CxConfig
        The causal graph, or a configuration holding one.

    Returns
    -------
    pandas.DataFrame
        Square frame indexed and columned by metric id (graph order of first appearance); entry ``[i, j]`` is the
        elasticity of edge i → j (% change of j per 1 % change of i), 0 where there is no edge.
    """
    return direct_effects(_graph_of(graph))


def _check_convergent(a: pd.DataFrame, file: str = "causal_graph.yaml") -> None:
    found = divergent_loop(a)
    if found is not None:
        raise ConfigError(divergence_message(*found), file=file, key="edges")


def total_effects(graph: CausalGraph | CxConfig) -> pd.DataFrame:
    """Total effect of every metric on every other: ``T = (I − A)⁻¹ − I`` (sum over all paths).

    Parameters
    ----------
    graph : CausalGraph or CxConfig
        Signed elasticities (``A[i, j]`` = % change of j per 1 % change of i).

    Returns
    -------
    pandas.DataFrame
        Metric × metric frame (row = cause, column = effect) of total elasticities: % change of the column metric
        per 1 % change of the row metric, through every path. The diagonal holds the feedback a metric gets back
        through loops (0 in a DAG).

    Raises
    ------
    ConfigError
        When a feedback loop has spectral radius ≥ 1 (the series diverges); the message names the loop.

    Examples
    --------
    >>> from cx_framework.config import load_config
    >>> t = total_effects(load_config("configs"))
    >>> float(round(t.loc["aht_s", "fcr"], 3))
    0.35
    """
    return _total_from(elasticity_matrix(graph))


def _total_from(a: pd.DataFrame) -> pd.DataFrame:
    """:func:`total_effects` of an elasticity matrix already built (callers that also need ``a``)."""
    _check_convergent(a)
    n = len(a)
    inv = np.linalg.solve(np.eye(n) - a.to_numpy(), np.eye(n))
    return pd.DataFrame(inv - np.eye(n), index=a.index.copy(), columns=a.columns.copy())


def strongest_path(
    a: pd.DataFrame, source: str, target: str, *, max_paths: int = 200_000
) -> tuple[list[str], float]:
    """The simple directed path source → … → target with the largest product of |elasticities|.

    Parameters
    ----------
    a : pandas.DataFrame
        Elasticity matrix from :func:`elasticity_matrix`.
    source, target : str
        Metric ids.
    max_paths : int
        Safety bound on the number of partial paths explored (catalogue graphs are small).

    Returns
    -------
    (path, effect) : (list of str, float)
        Metric ids along the path and the signed product of its elasticities; ``([], 0.0)`` when no path exists.
        For ``source == target`` the trivial path ``[source]`` with effect 1.0 is returned.
    """
    if source == target:
        return [source], 1.0
    names = list(a.index)
    if source not in a.index or target not in a.index:
        return [], 0.0
    values = a.to_numpy()
    pos = {n: i for i, n in enumerate(names)}
    # prune: only nodes that can still reach the target
    reach = np.zeros(len(names), dtype=bool)
    reach[pos[target]] = True
    nz = values != 0
    changed = True
    while changed:
        new = reach | (nz[:, reach].any(axis=1))
        changed = bool((new != reach).any())
        reach = new
    if not reach[pos[source]]:
        return [], 0.0
    best: tuple[float, list[int], float] = (-1.0, [], 0.0)
    stack: list[tuple[int, list[int], float]] = [(pos[source], [pos[source]], 1.0)]
    explored = 0
    tgt = pos[target]
    while stack and explored < max_paths:
        node, path, prod = stack.pop()
        explored += 1
        for j in np.flatnonzero(nz[node] & reach):
            if j in path:
                continue
            p = prod * values[node, j]
            if j == tgt:
                if abs(p) > best[0]:
                    best = (abs(p), [*path, int(j)], p)
            else:
                stack.append((int(j), [*path, int(j)], p))
    return [names[i] for i in best[1]], best[2]


def _schemes_of(schemes: Scheme | Mapping[str, Scheme] | Sequence[Scheme]) -> list[Scheme]:
    from cx_framework.config.loader import as_scheme

    if isinstance(schemes, Scheme):
        return [schemes]
    if isinstance(schemes, Mapping):
        # a dict id -> scheme, or one scheme written as a plain mapping
        if "components" in schemes and "id" in schemes:
            return [as_scheme(schemes, argument="schemes")]
        return [as_scheme(s, argument=f"schemes[{k!r}]") for k, s in schemes.items()]
    if isinstance(schemes, str | bytes) or not isinstance(schemes, Iterable):
        raise InputValueError(
            f"argument 'schemes' must be a Scheme, a dict id -> Scheme or a list of Schemes; got "
            f"{type(schemes).__name__}.",
            argument="schemes",
        )
    return [as_scheme(s, argument=f"schemes[{i}]") for i, s in enumerate(schemes)]


def _pair_frame(
    owners: list[tuple[str, str, float]],
    config: CxConfig,
    *,
    tol: float,
    owner_column: str,
) -> pd.DataFrame:
    """Conflict rows for (owner, metric, weight) triples against every shared KPI of the scorecard."""
    catalogue = config.metrics.by_id
    a = elasticity_matrix(config)
    t = _total_from(a)
    # total effect including the identity, so a component that *is* a KPI counts with effect 1 (+ loop feedback)
    full = t + np.eye(len(t))
    kpis = [(o.metric, o.weight) for o in config.scorecard.shared]
    if not owners:
        return pd.DataFrame(columns=[owner_column, *_CONFLICT_COLUMNS])
    frame = pd.DataFrame(
        [(o, m, w, k, kw) for (o, m, w) in owners for (k, kw) in kpis],
        columns=[owner_column, "component", "component_weight", "kpi", "kpi_weight"],
    )
    in_graph_m = frame["component"].isin(full.index)
    in_graph_k = frame["kpi"].isin(full.columns)
    both = in_graph_m & in_graph_k
    effect = np.zeros(len(frame))
    r = full.index.get_indexer(frame.loc[both, "component"])
    c = full.columns.get_indexer(frame.loc[both, "kpi"])
    effect[both.to_numpy()] = full.to_numpy()[r, c]
    same = (frame["component"] == frame["kpi"]).to_numpy()
    effect[same & ~both.to_numpy()] = 1.0
    rewarded = frame["component"].map(lambda m: catalogue[m].sign).to_numpy(dtype=float)
    good = frame["kpi"].map(lambda m: catalogue[m].sign).to_numpy(dtype=float)
    alignment = rewarded * effect * good
    frame["total_effect"] = effect
    frame["sign"] = np.sign(np.where(np.abs(effect) > tol, effect, 0.0)).astype(int)
    frame["alignment"] = alignment
    frame["conflict"] = alignment < -tol
    frame["severity"] = np.abs(effect) * frame["component_weight"] * frame["kpi_weight"]
    paths: dict[tuple[str, str], tuple[str | None, float]] = {}
    for m, k in frame[["component", "kpi"]].drop_duplicates().itertuples(index=False):
        nodes, prod = strongest_path(a, m, k) if m in a.index or m == k else ([], 0.0)
        paths[(m, k)] = (ARROW.join(nodes) if nodes else None, prod)
    keys = list(zip(frame["component"], frame["kpi"], strict=True))
    frame["path"] = [paths[key][0] for key in keys]
    frame["path_effect"] = [paths[key][1] for key in keys]
    return frame


def conflict_matrix(
    schemes: Scheme | Mapping[str, Scheme] | Sequence[Scheme],
    config: CxConfig,
    *,
    tol: float = 1e-6,
) -> pd.DataFrame:
    """Every scheme component × shared KPI: total effect, sign, conflict flag, severity and the path that explains it.

    Parameters
    ----------
    schemes : Scheme, dict of id -> Scheme, or sequence of Scheme
        Incentive schemes (``config.schemes``).
    config : CxConfig
        Supplies the causal graph, the metric catalogue (directions) and the shared scorecard (KPI weights).
    tol : float
        Alignments ``rewarded_dir · T · good_dir`` within ±tol count as "no effect" (neither conflict nor aid).

    Returns
    -------
    pandas.DataFrame
        Tidy, one row per (scheme, component, kpi): ``scheme, component, component_weight, kpi, kpi_weight,
        total_effect`` (% change of the KPI per 1 % rise of the component metric, via every path; 1 + loop
        feedback when the component is the KPI itself), ``sign`` (of total_effect), ``alignment``
        (rewarded_dir · total_effect · good_dir; negative = the scheme pays for hurting the KPI), ``conflict``,
        ``severity`` (|total_effect| · component weight · KPI weight), ``path`` (strongest single path, "a → b →
        c") and ``path_effect`` (its signed product of elasticities). Sorted by scheme, then severity of
        conflicts first.

    Notes
    -----
    ``rewarded_dir`` is +1 for a higher-is-better component metric (the payout curve rises with it) and −1 for
    a lower-is-better one; ``good_dir`` is the same for the KPI.
    """
    catalogue = config.metrics.by_id
    owners = []
    for s in _schemes_of(schemes):
        for i, c in enumerate(s.components):
            if c.metric not in catalogue:
                raise ConfigError(
                    f"scheme '{s.id}' rewards metric '{c.metric}', which is not in the metric catalogue; add it to "
                    "metrics.yaml or fix the id",
                    file=f"incentives/{s.id}.yaml",
                    key=f"components[{i}].metric",
                )
            owners.append((s.id, c.metric, c.weight))
    frame = _pair_frame(owners, config, tol=tol, owner_column="scheme")
    return _sorted(frame, "scheme")


def sla_conflicts(config: CxConfig, *, tol: float = 1e-6) -> pd.DataFrame:
    """Department objectives (local scorecards: own SLAs, cycle times, sales) × shared KPIs, like scheme components.

    What each department is managed on today (``scorecard.local``) is treated as a component weighted by its
    local weight, so "billing meets its own SLA while the customer's promise fails" shows up as a conflict row
    when the graph says so.

    Parameters
    ----------
    config : CxConfig
        Configuration with ``scorecard.local`` and the causal graph.
    tol : float
        As in :func:`conflict_matrix`.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`conflict_matrix` with ``department`` in place of ``scheme``.
    """
    owners = [(d, o.metric, o.weight) for d, objectives in config.scorecard.local.items() for o in objectives]
    return _sorted(_pair_frame(owners, config, tol=tol, owner_column="department"), "department")


def _sorted(frame: pd.DataFrame, owner: str) -> pd.DataFrame:
    order = pd.unique(frame[owner])
    frame = frame.assign(_o=frame[owner].map({o: i for i, o in enumerate(order)}))
    frame = frame.sort_values(["_o", "conflict", "severity"], ascending=[True, False, False], kind="stable")
    return frame.drop(columns="_o").reset_index(drop=True)
