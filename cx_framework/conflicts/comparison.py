"""A graph from evidence: conflicts and actions on the configured and on the estimated elasticities, side by side,
with the differences named and the edges that cause them.

The estimated graph is the configured one with every *identified* edge's elasticity replaced by its estimate
(:meth:`~cx_framework.conflicts.evidence.GraphEvidence.estimated_graph`); an edge history cannot test (*not
identifiable*) keeps its configured value, so it never causes a difference. The estimates are associations under
the graph's assumptions (:data:`~cx_framework.conflicts.evidence.ASSUMPTION`), not proven causal effects.

**Which edges cause a difference.** With ``F = (I − A)⁻¹`` (total effects including the identity) the resolvent
identity ``F_est − F_cfg = F_cfg (A_est − A_cfg) F_est`` splits the change of every total effect *exactly* into one
term per edge: edge ``i → j`` contributes ``F_cfg[m, i] · (A_est − A_cfg)[i, j] · F_est[j, k]`` to the change of
``m``'s total effect on ``k``, and the terms add up to the change (no interaction remainder). A conflict's
difference names the edges with the largest contributions; an action's (only the incentive switch depends on the
graph) names the edges with the largest contributions to the schemes' rewarded metrics' weighted effect on the
shared KPIs (component weight × KPI weight × rewarded direction × good direction, as in the severity).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cx_framework.conflicts.evidence import ASSUMPTION, GraphEvidence

if TYPE_CHECKING:
    from cx_framework.config.loader import CxConfig
    from cx_framework.config.models import CausalGraph

__all__ = [
    "GraphComparison",
    "graph_comparison",
    "edge_contributions",
    "compare_conflict_frames",
    "compare_action_plans",
    "estimated_edges",
    "UNIDENTIFIED_NOTE",
]

#: What every surface says about the edges the data cannot test.
UNIDENTIFIED_NOTE = (
    "Edges history cannot test (not identifiable) keep their configured elasticity in the estimated graph, so they "
    "never cause a difference."
)

_CHANGES = ("appears", "disappears", "rank changes", "unchanged")
#: share of the total |contribution| the named edges cover (at most three are named)
_NAMED_SHARE = 0.8
_NAMED_MAX = 3


@dataclass(frozen=True)
class GraphComparison:
    """Conflicts (and actions) on the configured and the estimated graph, with the differences named.

    Attributes
    ----------
    edges : pandas.DataFrame
        :func:`estimated_edges`: per edge the configured value, the estimate with its CI and verdict, and
        ``used`` (the elasticity the estimated graph uses) with ``value_source`` (estimate / configured).
    conflicts, department_conflicts : pandas.DataFrame
        :func:`compare_conflict_frames` of the schemes' components and of the departments' local objectives.
    conflict_edges : pandas.DataFrame
        Long frame ``owner, component, kpi, source, target, contribution`` of every changed pair's edge terms
        (they sum to the pair's change of total effect).
    actions : pandas.DataFrame or None
        :func:`compare_action_plans` (None when the actions could not run on this data).
    behaviour : pandas.DataFrame or None
        ``scheme, net_value, estimated_net_value`` (behaviour simulation per month on each graph).
    estimated_matrix, estimated_departments : pandas.DataFrame
        ``conflict_matrix`` / ``sla_conflicts`` on the estimated graph (same columns as on the configured one).
    assumption : str
    notes : list of str
        Why a part is missing, caveats.
    """

    edges: pd.DataFrame
    conflicts: pd.DataFrame
    department_conflicts: pd.DataFrame
    conflict_edges: pd.DataFrame
    actions: pd.DataFrame | None = None
    behaviour: pd.DataFrame | None = None
    estimated_matrix: pd.DataFrame | None = None
    estimated_departments: pd.DataFrame | None = None
    assumption: str = ASSUMPTION
    notes: list[str] = field(default_factory=list)

    @property
    def changed_conflicts(self) -> pd.DataFrame:
        """Scheme conflict rows whose verdict or rank differs between the graphs."""
        c = self.conflicts
        return c[c["change"] != "unchanged"].reset_index(drop=True) if len(c) else c

    @property
    def changed_actions(self) -> pd.DataFrame | None:
        a = self.actions
        return None if a is None else a[a["change"] != "unchanged"].reset_index(drop=True)

    def summary(self) -> str:
        """Plain text: what changes between the configured and the estimated graph."""
        lines = [self.assumption, UNIDENTIFIED_NOTE, ""]
        changed = self.changed_conflicts
        lines.append(f"{len(changed)} of {len(self.conflicts)} scheme component × KPI pairs change:")
        lines += [f"- {r.scheme}: {r.component} × {r.kpi}: {r.difference}" for r in changed.itertuples()]
        acts = self.changed_actions
        if acts is not None:
            lines.append(f"{len(acts)} actions change rank or value:")
            lines += [f"- {r.title}: {r.difference}" for r in acts.itertuples()]
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ edges
def estimated_edges(evidence: GraphEvidence, estimated: CausalGraph | None = None) -> pd.DataFrame:
    """Per configured edge: ``source, target, configured, estimate, ci_low, ci_high, verdict, used`` (the
    elasticity of the estimated graph: the estimate, clipped to the config's ±5, or the configured value when not
    identifiable), ``value_source`` and ``difference`` (used − configured)."""
    from cx_framework.conflicts.evidence import edge_key

    graph = estimated if estimated is not None else evidence.estimated_graph()
    used = {edge_key(e.source, e.target): e.elasticity for e in graph.edges}
    e = evidence.edges
    out = e[["source", "target", "configured", "estimate", "ci_low", "ci_high", "verdict"]].copy()
    out["used"] = [used[edge_key(s, t)] for s, t in zip(e["source"], e["target"], strict=True)]
    out["value_source"] = np.where(
        e["verdict"].eq("not identifiable"),
        "configured (not identifiable: history cannot test it)",
        "estimate",
    )
    out["difference"] = out["used"] - out["configured"]
    return out.reset_index(drop=True)


def _full(graph: CausalGraph, nodes: list[str]) -> np.ndarray:
    from cx_framework.conflicts.graph import elasticity_matrix

    a = elasticity_matrix(graph).reindex(index=nodes, columns=nodes, fill_value=0.0).to_numpy(dtype=float)
    return np.asarray(np.linalg.solve(np.eye(len(nodes)) - a, np.eye(len(nodes))))


def edge_contributions(
    configured: CausalGraph, estimated: CausalGraph, pairs: Sequence[tuple[str, str]]
) -> pd.DataFrame:
    """The exact split of each pair's change of total effect over the edges (resolvent identity, module
    docstring).

    Parameters
    ----------
    configured, estimated : CausalGraph
        Same edges, different elasticities.
    pairs : sequence of (cause, effect)
        Metric pairs (a pair with a metric outside the graph gets no rows: its total effect cannot change).

    Returns
    -------
    pandas.DataFrame
        ``cause, effect, source, target, contribution`` — one row per pair × edge whose elasticity differs and
        whose term is non-zero; per pair the contributions sum to ``T_est[cause, effect] − T_cfg[cause, effect]``.
    """
    nodes = configured.nodes
    pos = {m: k for k, m in enumerate(nodes)}
    f_cfg, f_est = _full(configured, nodes), _full(estimated, nodes)
    est = {(e.source, e.target): e.elasticity for e in estimated.edges}
    rows = []
    changed = [(e.source, e.target, est[(e.source, e.target)] - e.elasticity) for e in configured.edges]
    changed = [c for c in changed if c[2] != 0.0]
    if not changed or not pairs:
        return pd.DataFrame(columns=["cause", "effect", "source", "target", "contribution"])
    src = np.array([pos[s] for s, _, _ in changed])
    tgt = np.array([pos[t] for _, t, _ in changed])
    delta = np.array([d for _, _, d in changed])
    for cause, effect in dict.fromkeys(pairs):
        if cause not in pos or effect not in pos:
            continue
        terms = f_cfg[pos[cause], src] * delta * f_est[tgt, pos[effect]]
        for k in np.nonzero(terms)[0]:
            rows.append((cause, effect, changed[k][0], changed[k][1], float(terms[k])))
    return pd.DataFrame(rows, columns=["cause", "effect", "source", "target", "contribution"])


def _named(terms: pd.DataFrame, edges: pd.DataFrame, names: Mapping[str, str] | None = None) -> str:
    """The edges behind a difference in words, largest contribution first (up to three, covering 80 % of
    Σ|contribution|): ``"aht_s → fcr (configured −0.30, estimated −0.12: +0.090)"``."""
    if terms.empty:
        return ""
    label = (lambda m: names.get(m, m)) if names else (lambda m: m)
    ordered = terms.assign(size=terms["contribution"].abs()).sort_values("size", ascending=False)
    total = float(ordered["size"].sum())
    used = edges.set_index(["source", "target"])
    parts: list[str] = []
    covered = 0.0
    for r in ordered.itertuples(index=False):
        if len(parts) >= _NAMED_MAX or (parts and covered >= _NAMED_SHARE * total):
            break
        row = used.loc[(r.source, r.target)]
        parts.append(
            f"{label(r.source)} → {label(r.target)} (configured {float(row['configured']):+.2f}, estimated "
            f"{float(row['used']):+.2f}: {r.contribution:+.3f})"
        )
        covered += float(r.size)
    return "; ".join(parts)


# ------------------------------------------------------------------------------------------------ conflicts
def _ranks(frame: pd.DataFrame, owner: str, conflict: str, severity: str) -> pd.Series:
    """Rank of each conflict within its owner by severity (1 = worst); NaN for a pair that is no conflict."""
    ranked = frame[severity].where(frame[conflict])
    return ranked.groupby(frame[owner]).rank(ascending=False, method="first")


def compare_conflict_frames(
    configured: pd.DataFrame,
    estimated: pd.DataFrame,
    contributions: pd.DataFrame,
    edges: pd.DataFrame,
    *,
    owner: str = "scheme",
    tol: float = 1e-6,
    names: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Two :func:`~cx_framework.conflicts.graph.conflict_matrix` (or ``sla_conflicts``) frames side by side.

    Returns
    -------
    pandas.DataFrame
        The configured frame's columns plus ``estimated_total_effect, estimated_conflict, estimated_severity,
        estimated_path``; ``rank`` / ``estimated_rank`` (rank of the conflict within its scheme or department by
        severity, 1 = worst; NaN when the pair is no conflict), ``change`` (``appears``: a conflict only on the
        estimated graph; ``disappears``; ``rank changes``; ``unchanged``), ``sign_flips`` (the total effect
        changes sign), ``difference`` (in words, empty when unchanged) and ``edges_behind`` (the edges whose
        changed elasticity moves the total effect most, with their exact contributions).
    """
    key = [owner, "component", "kpi"]
    est = estimated[[*key, "total_effect", "conflict", "severity", "path"]].rename(
        columns={
            "total_effect": "estimated_total_effect",
            "conflict": "estimated_conflict",
            "severity": "estimated_severity",
            "path": "estimated_path",
        }
    )
    out = configured.merge(est, on=key, how="left")
    out["estimated_conflict"] = out["estimated_conflict"].fillna(False).astype(bool)
    out["rank"] = _ranks(out, owner, "conflict", "severity")
    out["estimated_rank"] = _ranks(out, owner, "estimated_conflict", "estimated_severity")
    cfg, est_c = out["conflict"].to_numpy(bool), out["estimated_conflict"].to_numpy(bool)
    moved = cfg & est_c & (out["rank"].to_numpy() != out["estimated_rank"].to_numpy())
    out["change"] = np.select(
        [~cfg & est_c, cfg & ~est_c, moved], ["appears", "disappears", "rank changes"], "unchanged"
    )
    te, te_est = out["total_effect"].to_numpy(float), out["estimated_total_effect"].to_numpy(float)
    out["sign_flips"] = (np.abs(te) > tol) & (np.abs(te_est) > tol) & (np.sign(te) != np.sign(te_est))
    by_pair = {k: g for k, g in contributions.groupby(["cause", "effect"], sort=False)}
    empty = contributions.iloc[:0]
    behind, text = [], []
    for r in out.itertuples(index=False):
        change = str(r.change)
        if change == "unchanged" and not r.sign_flips:
            behind.append("")
            text.append("")
            continue
        terms = by_pair.get((r.component, r.kpi), empty)
        behind.append(_named(terms, edges, names))
        text.append(_difference_text(r, change))
    out["difference"] = text
    out["edges_behind"] = behind
    return out


def _difference_text(r: Any, change: str) -> str:
    effect = f"total effect {r.total_effect:+.3f} → {r.estimated_total_effect:+.3f}"
    if r.sign_flips:
        effect += " (sign flips)"
    if change == "appears":
        return f"conflict only on the estimated graph (rank {int(r.estimated_rank)}); {effect}"
    if change == "disappears":
        return f"conflict only on the configured graph (rank {int(r.rank)}); {effect}"
    if change == "rank changes":
        return f"rank {int(r.rank)} → {int(r.estimated_rank)}; {effect}"
    return effect


# ------------------------------------------------------------------------------------------------ actions
def _action_key(frame: pd.DataFrame) -> pd.Series:
    """Matches an action across the two plans: the incentive switch by kind (its title names the graph-dependent
    better scheme), every other action by kind and title (graph-independent engines)."""
    return frame["kind"].where(frame["kind"].eq("change_incentive"), frame["kind"] + " | " + frame["title"])


def compare_action_plans(
    configured: Any,
    estimated: Any,
    *,
    edges_behind: str = "",
) -> pd.DataFrame:
    """Two :class:`~cx_framework.actions.ActionPlan` side by side (every candidate of either plan).

    Returns
    -------
    pandas.DataFrame
        ``kind, title, estimated_title, rank, estimated_rank`` (rank among the recommended actions, NaN when not
        recommended on that graph), ``expected_annual_value, estimated_expected_annual_value`` (currency per
        year), ``change`` (``new``: recommended only on the estimated graph; ``dropped``; ``rank changes``;
        ``value changes``; ``unchanged``), ``better_scheme`` / ``estimated_better_scheme`` (the incentive
        switch's target scheme on each graph), ``difference`` (words) and ``edges_behind`` (graph-dependent
        actions only: ``edges_behind``).
    """

    def side(plan: Any) -> pd.DataFrame:
        c = plan.candidates[["kind", "title", "expected_annual_value"]].copy()
        evidence = (
            plan.candidates["evidence"] if "evidence" in plan.candidates else pd.Series(None, index=c.index)
        )
        c["better_scheme"] = [e.get("better_scheme") if isinstance(e, Mapping) else None for e in evidence]
        c["key"] = _action_key(c)
        rec = plan.actions.assign(key=_action_key(plan.actions)).set_index("key")["rank"]
        c["rank"] = c["key"].map(rec)
        return c.drop_duplicates("key")

    a, b = side(configured), side(estimated)
    out = a.merge(b, on="key", how="outer", suffixes=("", "_est"))
    out["kind"] = out["kind"].fillna(out["kind_est"])
    out["estimated_title"] = out["title_est"]
    out["title"] = out["title"].fillna(out["title_est"])
    out = out.rename(
        columns={
            "rank_est": "estimated_rank",
            "expected_annual_value_est": "estimated_expected_annual_value",
            "better_scheme_est": "estimated_better_scheme",
        }
    )
    r, re_ = out["rank"], out["estimated_rank"]
    v, ve = out["expected_annual_value"], out["estimated_expected_annual_value"]
    value_moved = ~np.isclose(v.fillna(0.0), ve.fillna(0.0), rtol=1e-9, atol=0.5)
    out["change"] = np.select(
        [r.isna() & re_.notna(), r.notna() & re_.isna(), r.notna() & re_.notna() & (r != re_), value_moved],
        ["new", "dropped", "rank changes", "value changes"],
        "unchanged",
    )
    texts, behind = [], []
    for row in out.itertuples(index=False):
        if row.change == "unchanged":
            texts.append("")
            behind.append("")
            continue
        parts = []
        if row.change == "new":
            parts.append(f"recommended only on the estimated graph (rank {int(row.estimated_rank)})")
        elif row.change == "dropped":
            parts.append(f"recommended only on the configured graph (rank {int(row.rank)})")
        elif row.change == "rank changes":
            parts.append(f"rank {int(row.rank)} → {int(row.estimated_rank)}")
        if pd.notna(row.expected_annual_value) and pd.notna(row.estimated_expected_annual_value):
            parts.append(
                f"value {row.expected_annual_value:,.0f} → {row.estimated_expected_annual_value:,.0f} per year"
            )
        if (
            row.kind == "change_incentive"
            and isinstance(row.estimated_title, str)
            and row.estimated_title != row.title
        ):
            parts.append(f"estimated graph: {row.estimated_title}")
        if row.kind != "change_incentive":
            parts.append("its own value does not depend on the graph; another action moved")
        texts.append("; ".join(parts))
        behind.append(edges_behind if row.kind == "change_incentive" else "")
    out["difference"] = texts
    out["edges_behind"] = behind
    order = out.sort_values(["rank", "estimated_rank"], na_position="last", kind="mergesort")
    cols = [
        "kind",
        "title",
        "estimated_title",
        "rank",
        "estimated_rank",
        "expected_annual_value",
        "estimated_expected_annual_value",
        "better_scheme",
        "estimated_better_scheme",
        "change",
        "difference",
        "edges_behind",
    ]
    return order[cols].reset_index(drop=True)


def _scheme_edges_behind(
    contributions: pd.DataFrame,
    config: CxConfig,
    scheme_ids: Sequence[str],
    edges: pd.DataFrame,
    names: Mapping[str, str] | None,
) -> str:
    """Edges behind a change of the schemes' weighted effect on the shared KPIs (module docstring)."""
    catalogue = config.metrics.by_id
    kpi_weight = {o.metric: o.weight for o in config.scorecard.shared}
    weights: dict[tuple[str, str], float] = {}
    for sid in dict.fromkeys(scheme_ids):
        scheme = config.schemes.get(sid)
        if scheme is None:
            continue
        for c in scheme.components:
            for k, w in kpi_weight.items():
                if c.metric in catalogue and k in catalogue:
                    sign = catalogue[c.metric].sign * catalogue[k].sign
                    weights[(c.metric, k)] = weights.get((c.metric, k), 0.0) + c.weight * w * sign
    if contributions.empty or not weights:
        return ""
    pair_w = contributions.apply(lambda r: weights.get((r["cause"], r["effect"]), 0.0), axis=1)
    weighted = contributions.assign(contribution=contributions["contribution"] * pair_w)
    weighted = weighted[weighted["contribution"] != 0]
    per_edge = weighted.groupby(["source", "target"], as_index=False)["contribution"].sum()
    return _named(per_edge, edges, names)


# ------------------------------------------------------------------------------------------------ public
def graph_comparison(
    schemes: Mapping[str, Any],
    config: CxConfig,
    evidence: GraphEvidence,
    *,
    plans: tuple[Any, Any] | None = None,
    behaviour: tuple[Mapping[str, Any], Mapping[str, Any]] | None = None,
    current_scheme: str | None = None,
    tol: float = 1e-6,
    notes: Sequence[str] = (),
) -> GraphComparison:
    """Conflicts on the configured and the estimated graph, and (given) the two action plans and behaviour
    simulations, with every difference named and the edges behind it.

    Parameters
    ----------
    schemes : dict of scheme id -> Scheme
    config : CxConfig
        The configured graph, catalogue and scorecard.
    evidence : GraphEvidence
        :func:`~cx_framework.conflicts.evidence.estimate_graph` result.
    plans : (ActionPlan, ActionPlan), optional
        ``recommend_actions`` on the configured and on the estimated graph (same data and assumptions).
    behaviour : (dict, dict), optional
        ``simulate_behaviour`` results per scheme on each graph.
    current_scheme : str, optional
        The scheme in force (its and the better scheme's components name the edges behind an action change).
    tol : float
        As for ``conflict_matrix``.

    Returns
    -------
    GraphComparison
    """
    from cx_framework.conflicts.graph import conflict_matrix, sla_conflicts
    from cx_framework.conflicts.uncertainty import evidence_config

    est_cfg = evidence_config(config, evidence)
    edges = estimated_edges(evidence, est_cfg.causal_graph)
    names = {m: spec.name for m, spec in config.metrics.by_id.items()}
    cfg_m = conflict_matrix(schemes, config, tol=tol) if schemes else pd.DataFrame()
    est_m = conflict_matrix(schemes, est_cfg, tol=tol) if schemes else pd.DataFrame()
    cfg_d, est_d = sla_conflicts(config, tol=tol), sla_conflicts(est_cfg, tol=tol)
    pairs = [
        *(zip(cfg_m["component"], cfg_m["kpi"], strict=True) if len(cfg_m) else []),
        *zip(cfg_d["component"], cfg_d["kpi"], strict=True),
    ]
    contributions = edge_contributions(config.causal_graph, est_cfg.causal_graph, pairs)
    conflicts = (
        compare_conflict_frames(cfg_m, est_m, contributions, edges, owner="scheme", tol=tol, names=names)
        if len(cfg_m)
        else pd.DataFrame()
    )
    departments = compare_conflict_frames(
        cfg_d, est_d, contributions, edges, owner="department", tol=tol, names=names
    )
    changed_pairs: list[tuple[str, str, str]] = []
    for frame, owner in ((conflicts, "scheme"), (departments, "department")):
        if len(frame):
            moved = frame[(frame["change"] != "unchanged") | frame["sign_flips"]]
            changed_pairs += list(zip(moved[owner], moved["component"], moved["kpi"], strict=True))
    keyed = contributions.set_index(["cause", "effect"])
    long = []
    for owner_id, comp, kpi in changed_pairs:
        if (comp, kpi) in keyed.index:
            part = keyed.loc[[(comp, kpi)]].reset_index()
            long.append(part.rename(columns={"cause": "component", "effect": "kpi"}).assign(owner=owner_id))
    conflict_edges = (
        pd.concat(long, ignore_index=True)[["owner", "component", "kpi", "source", "target", "contribution"]]
        if long
        else pd.DataFrame(columns=["owner", "component", "kpi", "source", "target", "contribution"])
    )
    actions = None
    if plans is not None:
        involved = [s for s in [current_scheme, *_better_schemes(plans)] if s]
        behind = _scheme_edges_behind(contributions, config, involved, edges, names)
        actions = compare_action_plans(plans[0], plans[1], edges_behind=behind)
    beh = None
    if behaviour is not None:
        cfg_b, est_b = behaviour
        beh = pd.DataFrame(
            {
                "scheme": list(cfg_b),
                "net_value": [float(cfg_b[s].net_value) for s in cfg_b],
                "estimated_net_value": [float(est_b[s].net_value) for s in cfg_b],
            }
        )
    return GraphComparison(
        edges=edges,
        conflicts=conflicts,
        department_conflicts=departments,
        conflict_edges=conflict_edges,
        actions=actions,
        behaviour=beh,
        estimated_matrix=est_m,
        estimated_departments=est_d,
        notes=list(notes),
    )


def _better_schemes(plans: tuple[Any, Any]) -> list[str]:
    out = []
    for plan in plans:
        rows = plan.candidates[plan.candidates["kind"].eq("change_incentive")]
        for ev in rows["evidence"]:
            if isinstance(ev, Mapping) and ev.get("better_scheme"):
                out.append(str(ev["better_scheme"]))
    return out
