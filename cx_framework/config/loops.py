"""Does the causal graph's feedback converge? Cycles and spectral radius of the direct-effect matrix.

Checked when the configuration is loaded (``load_config`` names the edge and line of a diverging loop) and again by
:func:`cx_framework.conflicts.graph.total_effects`, which needs ``ρ(A) < 1`` for ``T = (I − A)⁻¹ − I`` to be the
sum over all paths (see that module). Lives in the config layer so the loader can use it without importing the
analyses.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from cx_framework.config.models import CausalGraph

__all__ = ["direct_effects", "find_cycle", "divergent_loop", "divergence_message"]

ARROW = " → "


def direct_effects(graph: CausalGraph) -> pd.DataFrame:
    """The direct-effect matrix ``A`` (row = cause, column = effect) over the metrics in ``graph``.

    Entry ``[i, j]`` is the elasticity of edge i → j (% change of j per 1 % change of i), 0 where there is no edge;
    metrics in the graph's order of first appearance.
    """
    nodes = graph.nodes
    pos = {n: i for i, n in enumerate(nodes)}
    a = np.zeros((len(nodes), len(nodes)))
    rows = np.fromiter((pos[e.source] for e in graph.edges), dtype=int, count=len(graph.edges))
    cols = np.fromiter((pos[e.target] for e in graph.edges), dtype=int, count=len(graph.edges))
    a[rows, cols] = [e.elasticity for e in graph.edges]
    return pd.DataFrame(a, index=pd.Index(nodes, name="cause"), columns=pd.Index(nodes, name="effect"))


def find_cycle(a: pd.DataFrame, *, among: Iterable[str] | None = None) -> list[str] | None:
    """A directed cycle over the nonzero entries of ``a`` (depth-first search), or None for a DAG.

    Parameters
    ----------
    a : pandas.DataFrame
        Square elasticity matrix (row = cause, column = effect).
    among : iterable of str, optional
        Restrict the search to these metrics (e.g. one strongly connected component).

    Returns
    -------
    list of str or None
        The cycle as metric ids with the first repeated at the end (``[x, y, z, x]``), or None.
    """
    names = list(a.index)
    allowed = set(names if among is None else among)
    values = a.to_numpy()
    succ = {
        n: [names[j] for j in np.flatnonzero(values[i]) if names[j] in allowed]
        for i, n in enumerate(names)
        if n in allowed
    }
    colour: dict[str, int] = dict.fromkeys(succ, 0)  # 0 unseen, 1 on the stack, 2 done
    for root in succ:
        if colour[root]:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        path: list[str] = [root]
        colour[root] = 1
        while stack:
            node, k = stack[-1]
            if k < len(succ[node]):
                stack[-1] = (node, k + 1)
                nxt = succ[node][k]
                if colour[nxt] == 1:
                    return [*path[path.index(nxt) :], nxt]
                if colour[nxt] == 0:
                    colour[nxt] = 1
                    stack.append((nxt, 0))
                    path.append(nxt)
            else:
                colour[node] = 2
                stack.pop()
                path.pop()
    return None


def _strong_components(values: np.ndarray) -> np.ndarray:
    """Strongly connected component label of every node of the graph ``values != 0`` (iterative Tarjan).

    A causal graph has tens of metrics: a plain depth-first search is instant, where scipy's csgraph would
    cost every ``load_config`` the import of ``scipy.sparse`` (~0.4 s). Labels are component numbers in the
    order Tarjan closes them (any labelling works for the caller, which groups nodes by label).
    """
    n = len(values)
    succ = [np.flatnonzero(values[i]).tolist() for i in range(n)]
    index = [-1] * n
    low = [0] * n
    on_stack = [False] * n
    labels = np.full(n, -1, dtype=int)
    stack: list[int] = []
    counter = 0
    label = 0
    for root in range(n):
        if index[root] >= 0:
            continue
        work: list[tuple[int, int]] = [(root, 0)]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = True
        while work:
            node, k = work[-1]
            if k < len(succ[node]):
                work[-1] = (node, k + 1)
                nxt = succ[node][k]
                if index[nxt] < 0:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack[nxt] = True
                    work.append((nxt, 0))
                elif on_stack[nxt]:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                while True:
                    member = stack.pop()
                    on_stack[member] = False
                    labels[member] = label
                    if member == node:
                        break
                label += 1
    return labels


def divergent_loop(a: pd.DataFrame) -> tuple[list[str], float, float] | None:
    """``(cycle, loop gain, spectral radius)`` of the first feedback loop that makes the graph diverge, else None.

    ``cycle`` lists metric ids with the first repeated at the end (``[a, b, a]``).
    """
    values = a.to_numpy()
    labels = _strong_components(values)
    for label in np.unique(labels):
        idx = np.flatnonzero(labels == label)
        sub = values[np.ix_(idx, idx)]
        if len(idx) == 1 and sub[0, 0] == 0:
            continue
        radius = float(np.max(np.abs(np.linalg.eigvals(sub))))
        if radius >= 1.0 - 1e-12:
            cycle = find_cycle(a, among=[a.index[i] for i in idx]) or [a.index[idx[0]]]
            gains = [a.loc[s, t] for s, t in zip(cycle[:-1], cycle[1:], strict=True)]
            return [str(c) for c in cycle], float(np.prod(gains)), radius
    return None


def divergence_message(cycle: list[str], gain: float, radius: float) -> str:
    return (
        f"the feedback loop {ARROW.join(cycle)} (loop gain {gain:+.3g}) makes the graph diverge: spectral radius "
        f"{radius:.3g} >= 1, so a 1% push grows without bound. Reduce the elasticities on this loop so their "
        "product is well below 1 in magnitude"
    )
