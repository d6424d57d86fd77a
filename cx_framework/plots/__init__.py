"""Plotly figures, one pure function per chart (data in, ``go.Figure`` out).

Each area keeps its charts in its own module; they are re-exported here so ``cx_framework.plots.<name>``
works for every chart. A chart's module (and plotly) is imported on the first lookup of one of its names
(PEP 562), not when the package is imported: a page that draws only scorecard charts does not pay for the
staffing models behind the staffing charts, and ``cx_framework.plots._style`` (the status colours) stays cheap
for pages without charts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cx_framework._reexport import lazy_exports

if TYPE_CHECKING:  # what a type checker sees; at run time the names arrive through __getattr__
    from cx_framework.plots._style import PALETTE, STATUS_COLOURS, apply_style
    from cx_framework.plots.actions import actions_chart
    from cx_framework.plots.calibration import model_fit_figure
    from cx_framework.plots.conflicts import behaviour_waterfall, conflict_heatmap, sla_chain_density
    from cx_framework.plots.evidence import evidence_forest, evidence_scatter
    from cx_framework.plots.failure_demand import failure_demand_pareto, fix_vs_absorb_curves
    from cx_framework.plots.incentives import (
        payout_curve_figure,
        scheme_cost_by_period,
        scheme_cost_distribution,
    )
    from cx_framework.plots.retention import (
        dose_response_figure,
        sl_value_curve_figure,
        sl_vs_retention_figure,
    )
    from cx_framework.plots.scorecard import (
        alignment_chart,
        drill_down_chart,
        scorecard_heatmap,
        scorecard_trend_chart,
    )
    from cx_framework.plots.staffing import (
        budget_sl_by_day_figure,
        required_vs_staffed_figure,
        sl_vs_agents_figure,
    )

#: public name -> module of this package that defines it (tests check it against each module's ``__all__``)
_EXPORTS: dict[str, str] = {
    "STATUS_COLOURS": "_style",
    "PALETTE": "_style",
    "apply_style": "_style",
    "sl_vs_agents_figure": "staffing",
    "required_vs_staffed_figure": "staffing",
    "budget_sl_by_day_figure": "staffing",
    "scorecard_heatmap": "scorecard",
    "alignment_chart": "scorecard",
    "scorecard_trend_chart": "scorecard",
    "drill_down_chart": "scorecard",
    "payout_curve_figure": "incentives",
    "scheme_cost_distribution": "incentives",
    "scheme_cost_by_period": "incentives",
    "conflict_heatmap": "conflicts",
    "behaviour_waterfall": "conflicts",
    "sla_chain_density": "conflicts",
    "dose_response_figure": "retention",
    "sl_vs_retention_figure": "retention",
    "sl_value_curve_figure": "retention",
    "failure_demand_pareto": "failure_demand",
    "fix_vs_absorb_curves": "failure_demand",
    "actions_chart": "actions",
    "model_fit_figure": "calibration",
    "evidence_forest": "evidence",
    "evidence_scatter": "evidence",
}

__all__ = [
    "STATUS_COLOURS",
    "PALETTE",
    "apply_style",
    "sl_vs_agents_figure",
    "required_vs_staffed_figure",
    "budget_sl_by_day_figure",
    "scorecard_heatmap",
    "alignment_chart",
    "scorecard_trend_chart",
    "drill_down_chart",
    "payout_curve_figure",
    "scheme_cost_distribution",
    "scheme_cost_by_period",
    "conflict_heatmap",
    "behaviour_waterfall",
    "sla_chain_density",
    "dose_response_figure",
    "sl_vs_retention_figure",
    "sl_value_curve_figure",
    "failure_demand_pareto",
    "fix_vs_absorb_curves",
    "actions_chart",
    "model_fit_figure",
    "evidence_forest",
    "evidence_scatter",
]


__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
