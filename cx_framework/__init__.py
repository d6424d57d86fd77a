"""cx_framework: show an organisation where its own structure hurts its customers.

Public names are imported lazily (PEP 562) so ``import cx_framework`` stays fast and an analyst who only needs
Erlang C does not pay for statsmodels or streamlit.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it (relative to this package)
_EXPORTS: dict[str, str] = {
    # config & data
    "load_config": "config",
    "load_scheme": "config",
    "validate": "schemas",
    "read_table": "io",
    "write_table": "io",
    "load_data_dir": "io",
    "write_bytes_atomic": "io",
    "write_text_atomic": "io",
    "sanitize_for_export": "io",
    "pseudonymise_ids": "io",
    "template": "schemas",
    "schema_for": "schemas",
    "TABLES": "schemas",
    # synthetic data
    "generate_organisation": "synthetic",
    "write_organisation": "synthetic",
    "load_sample": "synthetic",
    "SyntheticOrg": "synthetic",
    "Truth": "synthetic",
    # staffing
    "erlang_c": "staffing",
    "service_level": "staffing",
    "asa": "staffing",
    "agents_needed": "staffing",
    "occupancy": "staffing",
    "traffic_intensity": "staffing",
    "aggregate_service_level": "staffing",
    "required_agents": "staffing",
    "erlang_a": "staffing",
    "erlang_b": "staffing",
    "ErlangAResult": "staffing",
    "StaffingBudgetGap": "conflicts",
    # scorecard
    "score": "scorecard",
    "correlate": "scorecard",
    "ScorecardResult": "scorecard",
    "contact_metrics": "scorecard",
    # incentives
    "compute_payouts": "incentives",
    "compare_schemes": "incentives",
    "prepare_payouts": "incentives",
    "evaluate_payouts": "incentives",
    "SchemeComparison": "incentives",
    "reweight": "incentives",
    "move_threshold": "incentives",
    "add_gate": "incentives",
    "remove_gate": "incentives",
    "set_cap": "incentives",
    "scheme_to_yaml": "incentives",
    # conflicts
    "total_effects": "conflicts",
    "conflict_matrix": "conflicts",
    "simulate_behaviour": "conflicts",
    "sla_chain": "conflicts",
    "fit_stage_distributions": "conflicts",
    "staffing_budget_gap": "conflicts",
    # evidence behind the causal graph
    "estimate_graph": "conflicts",
    "GraphEvidence": "conflicts",
    "total_effect_intervals": "conflicts",
    "conflict_intervals": "conflicts",
    "compare_graphs": "conflicts",
    "evidence_config": "conflicts",
    "behaviour_value_interval": "conflicts",
    "behaviour_intervals": "conflicts",
    "graph_comparison": "conflicts",
    "GraphComparison": "conflicts",
    # retention & economics
    "build_customer_panel": "retention",
    "fit_retention": "retention",
    "RetentionResult": "retention",
    "sl_retention_by_period": "retention",
    "value_of_service_level": "retention",
    "optimal_service_level": "economics",
    # failure demand
    "attribute_failure_demand": "failure_demand",
    "fix_vs_absorb": "failure_demand",
    # actions & reports
    "recommend_actions": "actions",
    "build_report": "report",
    "build_payout_workbook": "report",
    # one version of the truth
    "Analysis": "analysis",
    "Assumptions": "analysis",
    "Figure": "analysis",
    "FigureSpec": "analysis",
    "register_figure": "analysis",
    # errors
    "CxError": "errors",
    "ConfigError": "errors",
    "DataValidationError": "errors",
    "ModelError": "errors",
    "InputValueError": "errors",
    "StatisticalWarning": "errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'cx_framework' has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{module_name}")
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
