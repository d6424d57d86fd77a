"""Where pay and SLA design fight the customer: causal graph, conflict matrix, behaviour simulation,
SLA chains and the staffing budget gap. Each question lives in its own module.

The public names of the modules are served here lazily (PEP 562): ``cx_framework.conflicts.explain`` or the
conflict matrix does not import the SLA-chain convolution (scipy.stats, scipy.signal) until it is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cx_framework._reexport import lazy_exports

if TYPE_CHECKING:  # what a type checker sees; at run time the names arrive through __getattr__
    from cx_framework.conflicts.behaviour import (
        BehaviourResult,
        behaviour_net_values,
        behaviour_under_graphs,
        customer_lifetime_value_factor,
        simulate_behaviour,
    )
    from cx_framework.conflicts.budget_gap import (
        StaffingBudgetGap,
        staffing_budget_gap,
        understaffed_intervals,
    )
    from cx_framework.conflicts.chain import (
        SlaChainResult,
        fit_stage_distributions,
        fit_stage_distributions_engine,
        journey_chain,
        required_tightening,
        sla_chain,
    )
    from cx_framework.conflicts.comparison import (
        UNIDENTIFIED_NOTE,
        GraphComparison,
        compare_action_plans,
        compare_conflict_frames,
        edge_contributions,
        estimated_edges,
        graph_comparison,
    )
    from cx_framework.conflicts.evidence import (
        ASSUMPTION,
        GraphEvidence,
        edge_key,
        estimate_graph,
    )
    from cx_framework.conflicts.explain import (
        TOTAL_EFFECT_CONVENTION,
        TOTAL_EFFECT_LABEL,
        conflict_rows,
        push_effect_sentence,
    )
    from cx_framework.conflicts.graph import (
        ARROW,
        conflict_matrix,
        elasticity_matrix,
        find_cycle,
        sla_conflicts,
        strongest_path,
        total_effects,
    )
    from cx_framework.conflicts.uncertainty import (
        EVIDENCE_FIGURES,
        BehaviourInterval,
        behaviour_intervals,
        behaviour_value_interval,
        compare_graphs,
        conflict_intervals,
        evidence_config,
        evidence_figures,
        total_effect_intervals,
    )

#: public name -> module of this package that defines it (tests check it against each module's ``__all__``)
_EXPORTS: dict[str, str] = {
    "ARROW": "graph",
    "elasticity_matrix": "graph",
    "total_effects": "graph",
    "find_cycle": "graph",
    "strongest_path": "graph",
    "conflict_matrix": "graph",
    "sla_conflicts": "graph",
    "BehaviourResult": "behaviour",
    "BEHAVIOUR_COLUMNS": "behaviour",
    "BEHAVIOUR_TABLES": "behaviour",
    "simulate_behaviour": "behaviour",
    "customer_lifetime_value_factor": "behaviour",
    "SlaChainResult": "chain",
    "sla_chain": "chain",
    "journey_chain": "chain",
    "required_tightening": "chain",
    "fit_stage_distributions": "chain",
    "fit_stage_distributions_engine": "chain",
    "StaffingBudgetGap": "budget_gap",
    "staffing_budget_gap": "budget_gap",
    "understaffed_intervals": "budget_gap",
    "ASSUMPTION": "evidence",
    "GraphEvidence": "evidence",
    "estimate_graph": "evidence",
    "edge_key": "evidence",
    "total_effect_intervals": "uncertainty",
    "conflict_intervals": "uncertainty",
    "evidence_config": "uncertainty",
    "compare_graphs": "uncertainty",
    "behaviour_value_interval": "uncertainty",
    "BehaviourInterval": "uncertainty",
    "evidence_figures": "uncertainty",
    "EVIDENCE_FIGURES": "uncertainty",
    "TOTAL_EFFECT_CONVENTION": "explain",
    "TOTAL_EFFECT_LABEL": "explain",
    "push_effect_sentence": "explain",
    "conflict_rows": "explain",
    "EVIDENCE_COLUMNS": "explain",
    "path_evidence": "uncertainty",
    "behaviour_intervals": "uncertainty",
    "behaviour_under_graphs": "behaviour",
    "behaviour_net_values": "behaviour",
    "GraphComparison": "comparison",
    "graph_comparison": "comparison",
    "edge_contributions": "comparison",
    "compare_conflict_frames": "comparison",
    "compare_action_plans": "comparison",
    "estimated_edges": "comparison",
    "UNIDENTIFIED_NOTE": "comparison",
}

__all__ = [
    "ARROW",
    "elasticity_matrix",
    "total_effects",
    "find_cycle",
    "strongest_path",
    "conflict_matrix",
    "sla_conflicts",
    "BehaviourResult",
    "BEHAVIOUR_COLUMNS",
    "BEHAVIOUR_TABLES",
    "simulate_behaviour",
    "customer_lifetime_value_factor",
    "SlaChainResult",
    "sla_chain",
    "journey_chain",
    "required_tightening",
    "fit_stage_distributions",
    "fit_stage_distributions_engine",
    "StaffingBudgetGap",
    "staffing_budget_gap",
    "understaffed_intervals",
    "ASSUMPTION",
    "GraphEvidence",
    "estimate_graph",
    "edge_key",
    "total_effect_intervals",
    "conflict_intervals",
    "evidence_config",
    "compare_graphs",
    "behaviour_value_interval",
    "BehaviourInterval",
    "evidence_figures",
    "EVIDENCE_FIGURES",
    "TOTAL_EFFECT_CONVENTION",
    "TOTAL_EFFECT_LABEL",
    "push_effect_sentence",
    "conflict_rows",
    "EVIDENCE_COLUMNS",
    "path_evidence",
    "behaviour_intervals",
    "behaviour_under_graphs",
    "behaviour_net_values",
    "GraphComparison",
    "graph_comparison",
    "edge_contributions",
    "compare_conflict_frames",
    "compare_action_plans",
    "estimated_edges",
    "UNIDENTIFIED_NOTE",
]

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
