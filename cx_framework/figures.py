"""The figure registry: one id, label, unit, format and definition per headline figure, used by every surface.

It sits in the foundation layer (it needs only :mod:`cx_framework.errors`), so analysis results can show their key
figures with the registry's labels and formats in a notebook (``_repr_html_``) as the Analysis, app, CLI and report do.

A :class:`FigureSpec` is declared once (module level, :func:`register_figure`); an analysis section turns it into a
:class:`Figure` with a value and a period (:meth:`FigureSpec.figure`). Surfaces never write their own label or
format for a registered figure: the app shows ``figure.label`` / ``figure.formatted()``, the CLI prints the same
and ``--json`` emits :meth:`Figure.to_json`, the report renders the same text. Distinct quantities get distinct
labels — registering a second id with an existing label raises.

Ids are ``<section>.<name>`` in snake_case; a spec may be a template over named parts, e.g.
``payouts.annual_cost.{scheme}`` with label ``Annual bonus cost: {scheme_name}``, filled by ``spec.figure(value,
scheme="siloed", scheme_name="Siloed")``.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cx_framework.errors import InputValueError

__all__ = [
    "FORMATS",
    "FIGURES",
    "Figure",
    "FigureSpec",
    "format_value",
    "register_figure",
    "figure_spec",
    "with_catalogue_format",
]

#: Formats a figure can have, with what they show (``value`` is always the unrounded number).
FORMATS: dict[str, str] = {
    "percent": "share 0-1 shown as a percentage, one decimal: 0.743 -> 74.3%",
    "pp": "difference of two shares in percentage points: -0.19 -> -19.0 pts",
    "money": "currency amount, thousands separated: GBP 11,230",
    "money_per_year": "currency per year: GBP 11,230 / year",
    "money_per_month": "currency per month: GBP 936 / month",
    "fte": "full-time equivalents, one decimal: 21.1 FTE",
    "count": "whole number: 1,234",
    "score": "scorecard composite 0-120: 48 / 120",
    "number": "plain number, three significant decimals",
    "signed": "signed number with three decimals: +0.350",
    "seconds": "duration in seconds: 245 s",
    "hours": "duration in hours: 36.5 h",
    "months": "duration in months: 13.2 months",
    "text": "a name or label (value is a string)",
}

_ID = re.compile(r"^[a-z][a-z0-9_]*(\.([a-z0-9_]+|\{[a-z_]+\}))+$")


def format_value(value: Any, fmt: str, *, currency: str = "GBP") -> str:
    """``value`` as a surface shows it in format ``fmt`` (:data:`FORMATS`); missing values read "not available".

    Examples
    --------
    >>> format_value(0.7432, "percent")
    '74.3%'
    >>> format_value(-0.0191, "pp")
    '−1.9 pts'
    >>> format_value(11230.4, "money_per_year", currency="GBP")
    'GBP 11,230 / year'
    """
    if fmt not in FORMATS:
        raise InputValueError(f"unknown figure format {fmt!r}; known: {', '.join(FORMATS)}", argument="fmt")
    if fmt == "text":
        return "not available" if value is None else str(value)
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "not available"
    v = float(value)
    minus = "−" if v < 0 else ""
    a = abs(v)
    if fmt == "percent":
        return f"{minus}{a * 100:.1f}%"
    if fmt == "pp":
        sign = "−" if v < 0 else "+"
        # small effects (a fraction of a point) keep two decimals so they never read as zero
        return f"{sign}{a * 100:.2f} pts" if a < 0.01 else f"{sign}{a * 100:.1f} pts"
    if fmt in ("money", "money_per_year", "money_per_month"):
        text = f"{minus}{currency} {a:,.0f}"
        return text + {"money": "", "money_per_year": " / year", "money_per_month": " / month"}[fmt]
    if fmt == "fte":
        return f"{minus}{a:,.1f} FTE"
    if fmt == "count":
        return f"{minus}{a:,.0f}"
    if fmt == "score":
        return f"{minus}{a:.0f} / 120"
    if fmt == "signed":
        return f"{'−' if v < 0 else '+'}{a:.3f}"
    if fmt == "seconds":
        return f"{minus}{a:,.0f} s"
    if fmt == "hours":
        return f"{minus}{a:,.1f} h"
    if fmt == "months":
        return f"{minus}{a:,.1f} months"
    return f"{minus}{a:,.3g}" if a < 1000 else f"{minus}{a:,.0f}"


@dataclass(frozen=True)
class Figure:
    """One headline figure with its value: what every surface shows for ``id``.

    Attributes
    ----------
    id : str
        Stable identifier (API and exports only; surfaces show ``label``).
    label : str
        Human name, unique per quantity.
    unit : str
        Unit of ``value`` (``share``, ``currency``, ``currency/year``, ``FTE``, ``count`` ...).
    value : float, str or None
        Unrounded value (None = not available).
    definition : str
        What the figure is and how it is computed.
    period : str or None
        ``YYYY-MM`` (one month), ``YYYY-MM/YYYY-MM`` (a window, both ends included) or None (all data).
    format : str
        How surfaces render it (:data:`FORMATS`).
    currency : str
        Currency of money formats.
    withheld : str
        Empty, or why the value is withheld from this viewer (e.g. a pay aggregate over fewer than access.yaml's
        ``min_group_size`` employees): ``value`` is then None and surfaces show "withheld" and the reason.
    """

    id: str
    label: str
    unit: str
    value: Any
    definition: str
    period: str | None
    format: str
    currency: str = "GBP"
    withheld: str = ""

    def formatted(self) -> str:
        """The value as every surface shows it (see :func:`format_value`); "withheld (reason)" when withheld."""
        if self.withheld:
            return f"withheld ({self.withheld})"
        return format_value(self.value, self.format, currency=self.currency)

    def withhold(self, reason: str) -> Figure:
        """This figure with its value withheld for ``reason`` (value None, :attr:`withheld` set)."""
        from dataclasses import replace

        return replace(self, value=None, withheld=reason)

    def to_json(self) -> dict[str, Any]:
        """The CLI ``--json`` contract entry: ``id, label, value, unit, period, definition`` (+ ``formatted``; a
        withheld figure has ``value`` null and ``withheld``: the reason)."""
        value = self.value
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        elif hasattr(value, "item"):  # numpy scalar
            value = value.item()
        out = {
            "id": self.id,
            "label": self.label,
            "value": value,
            "unit": self.unit,
            "period": self.period,
            "definition": self.definition,
            "formatted": self.formatted(),
        }
        if self.withheld:
            out["withheld"] = self.withheld
        return out

    def _repr_html_(self) -> str:
        """The figure as a notebook card: label, formatted value, period, unit, id and definition."""
        from cx_framework._display import html_card

        return html_card(
            self.label,
            text=self.definition,
            figures=[
                ("Value", self.formatted()),
                ("Period", self.period or "all data"),
                ("Unit", self.unit),
                ("Id", self.id),
            ],
        )

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, fmt: str | None = None, currency: str = "GBP") -> Figure:
        """Inverse of :meth:`to_json` (the format comes from the registry when not given)."""
        spec_format = fmt or _format_for(str(data["id"]))
        return cls(
            id=str(data["id"]),
            label=str(data["label"]),
            unit=str(data["unit"]),
            value=data["value"],
            definition=str(data["definition"]),
            period=data.get("period"),
            format=spec_format,
            currency=currency,
            withheld=str(data.get("withheld") or ""),
        )


@dataclass(frozen=True)
class FigureSpec:
    """Declaration of a headline figure (registered once with :func:`register_figure`).

    ``id``, ``label`` and ``definition`` may hold ``{name}`` fields filled by :meth:`figure`.
    """

    id: str
    label: str
    unit: str
    format: str
    definition: str
    fields: tuple[str, ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise InputValueError(
                f"figure id {self.id!r} must be '<section>.<name>' in snake_case (parts may be {{field}})",
                argument="id",
            )
        if self.format not in FORMATS:
            raise InputValueError(
                f"figure {self.id}: unknown format {self.format!r}; known: {', '.join(FORMATS)}",
                argument="format",
            )
        names = [n for _, n, _, _ in string.Formatter().parse(self.id) if n]
        object.__setattr__(self, "fields", tuple(names))

    def figure(self, value: Any, *, period: str | None = None, currency: str = "GBP", **parts: Any) -> Figure:
        """A :class:`Figure` of this spec with ``value`` (fields of a template id filled from ``parts``)."""
        missing = [n for n in self.fields if n not in parts]
        if missing:
            raise InputValueError(f"figure {self.id}: give {', '.join(missing)}", argument="parts")
        try:
            return Figure(
                id=self.id.format(**parts),
                label=self.label.format(**parts),
                unit=self.unit,
                value=value,
                definition=self.definition.format(**parts),
                period=period,
                format=self.format,
                currency=currency,
            )
        except KeyError as exc:
            raise InputValueError(
                f"figure {self.id}: label or definition needs {exc}", argument="parts"
            ) from None


#: Every registered figure spec by (template) id.
FIGURES: dict[str, FigureSpec] = {}
_LABELS: dict[str, str] = {}


def register_figure(spec: FigureSpec) -> FigureSpec:
    """Register ``spec`` (idempotent for an identical spec).

    Raises
    ------
    InputValueError
        Another spec under the same id, or another id with the same label (distinct quantities need distinct
        labels).
    """
    known = FIGURES.get(spec.id)
    if known is not None and known != spec:
        raise InputValueError(f"figure id {spec.id!r} is already registered differently", argument="spec")
    owner = _LABELS.get(spec.label)
    if owner is not None and owner != spec.id:
        raise InputValueError(
            f"label {spec.label!r} of {spec.id!r} is already used by {owner!r}; distinct quantities need distinct "
            "labels",
            argument="spec",
        )
    FIGURES[spec.id] = spec
    _LABELS[spec.label] = spec.id
    return spec


def figure_spec(figure_id: str) -> FigureSpec:
    """The spec of a (possibly template-filled) figure id."""
    spec = FIGURES.get(figure_id)
    if spec is not None:
        return spec
    for candidate in FIGURES.values():
        if candidate.fields and _template_regex(candidate.id).fullmatch(figure_id):
            return candidate
    raise InputValueError(f"unknown figure id {figure_id!r}", argument="figure_id")


def with_catalogue_format(fig: Figure, unit: str) -> Figure:
    """``fig`` in the format of a metric-catalogue unit (``share …`` → percent, ``seconds``, ``hours``,
    ``currency …`` → money, else a plain number)."""
    from dataclasses import replace

    if unit.startswith("share"):
        return replace(fig, unit=unit, format="percent")
    if unit == "seconds":
        return replace(fig, unit=unit, format="seconds")
    if unit == "hours":
        return replace(fig, unit=unit, format="hours")
    if unit.startswith("currency"):
        return replace(fig, unit=unit, format="money")
    return replace(fig, unit=unit, format="number")


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[a-z_]+\})", template)
    return re.compile("".join("[^.]+" if p.startswith("{") else re.escape(p) for p in parts))


def _format_for(figure_id: str) -> str:
    try:
        return figure_spec(figure_id).format
    except InputValueError:
        return "number"


def _spec(id: str, label: str, unit: str, format: str, definition: str) -> FigureSpec:
    return register_figure(FigureSpec(id=id, label=label, unit=unit, format=format, definition=definition))


# ------------------------------------------------------------------------------------------------ scorecard
SCORECARD_COMPOSITE = _spec(
    "scorecard.customer_composite",
    "Customer composite score (whole organisation)",
    "score 0-120",
    "score",
    "Weighted mean of the shared customer scorecard's metric scores for the whole organisation (0 at "
    "threshold, 100 at target, 120 at stretch).",
)
SCORECARD_METRIC = _spec(
    "scorecard.metric.{metric}",
    "{metric_name}",
    "catalogue unit",
    "number",
    "{metric_name} for the whole organisation in the month ({metric_definition})",
)
SCORECARD_GIRO = _spec(
    "scorecard.green_inside_red_outside",
    "Departments green inside, red outside",
    "count",
    "count",
    "Departments green on their own (local) scorecard while the shared customer metrics they affect are red, "
    "in the month.",
)
# ------------------------------------------------------------------------------------------------ payouts
PAYOUT_ANNUAL_COST = _spec(
    "payouts.annual_cost.{scheme}",
    "Annual bonus cost: {scheme_name}",
    "currency/year",
    "money_per_year",
    "Bonus paid under {scheme_name} on the same people and months, annualised (total × 12 / months covered).",
)
PAYOUT_VS_CURRENT = _spec(
    "payouts.vs_current.{scheme}",
    "Annual bonus cost vs the scheme in force: {scheme_name}",
    "currency/year",
    "money_per_year",
    "Annualised bonus cost of {scheme_name} minus that of the scheme in force (assumptions.current_scheme).",
)
PAYOUT_CUSTOMER_SHARE = _spec(
    "payouts.customer_centric_share.{scheme}",
    "Share of bonus earned on customer metrics: {scheme_name}",
    "share",
    "percent",
    "Share of the money paid under {scheme_name} (after gates and cap) earned on metrics the catalogue marks "
    "customer-centric.",
)
# ------------------------------------------------------------------------------------------------ conflicts
CONFLICT_COUNT = _spec(
    "conflicts.count.{scheme}",
    "Bonus components fighting a shared customer KPI: {scheme_name}",
    "count",
    "count",
    "(component, shared KPI) pairs of {scheme_name} where pushing the component's metric in its rewarded "
    "direction moves the KPI in its bad direction (total effects of the causal graph).",
)
CONFLICT_SEVERITY = _spec(
    "conflicts.total_severity.{scheme}",
    "Total conflict severity: {scheme_name}",
    "elasticity × weight",
    "number",
    "Σ |total effect| × component weight × KPI weight over the conflicting pairs of {scheme_name}.",
)
BEHAVIOUR_NET_VALUE = _spec(
    "behaviour.net_value.{scheme}",
    "Net customer value per month vs the scheme in force: {scheme_name}",
    "currency/month",
    "money_per_month",
    "Behaviour simulation of {scheme_name} against the scheme in force: −Δ payout − Δ staffing cost − Δ value "
    "of churned customers, per month (> 0 = better for the organisation).",
)
BEHAVIOUR_KPI_INDEX = _spec(
    "behaviour.customer_kpi_index.{scheme}",
    "Customer KPI index change: {scheme_name}",
    "share",
    "pp",
    "Σ shared-KPI weight × % change of the KPI in its good direction when staff respond to {scheme_name} "
    "(> 0 = customers better off).",
)
# ------------------------------------------------------------------------------------------------ SLA chains
SLA_P_PROMISE = _spec(
    "sla_chain.p_within_promise.{journey}",
    "Journeys kept within the customer promise: {journey_name}",
    "share",
    "percent",
    "P(end-to-end time ≤ the promise of {journey_name}): stage lead times and hand-off waits convolved.",
)
SLA_STAGES_GREEN = _spec(
    "sla_chain.stages_meeting_sla.{journey}",
    "Stages meeting their own SLA: {journey_name}",
    "share",
    "percent",
    "Share of the stages of {journey_name} whose own P(≤ SLA) meets the stage's SLA percent.",
)
# ------------------------------------------------------------------------------------------------ staffing
REALISED_SL = _spec(
    "staffing.realised_service_level",
    "Realised service level",
    "share",
    "percent",
    "Σ answered within threshold / Σ offered over the forecast window with the agents actually staffed "
    "(volume-weighted; definition from assumptions.service_level_definition).",
)
FUNDED_FTE = _spec(
    "staffing.funded_fte",
    "FTE funded (staffed in the window)",
    "FTE",
    "fte",
    "Agents staffed in the forecast window, converted to paid FTE with economics.yaml's shrinkage and hours "
    "per FTE-week.",
)
NEEDED_FTE = _spec(
    "staffing.fte_needed",
    "FTE needed for the service-level target",
    "FTE",
    "fte",
    "Paid FTE needed to meet the service-level target in every half-hour of the forecast window (Erlang C, "
    "economics.yaml shrinkage).",
)
FTE_GAP = _spec(
    "staffing.fte_gap",
    "Budget gap (FTE needed minus funded)",
    "FTE",
    "fte",
    "FTE needed for the target minus FTE funded; positive = the budget is short.",
)
BUDGET_SL = _spec(
    "staffing.budget_service_level",
    "Service level the funded FTE would buy if scheduled to the workload",
    "share",
    "percent",
    "Volume-weighted Erlang C service level over the forecast window when the funded FTE are spread over the "
    "half-hours in proportion to the workload.",
)
SCHEDULE_MISMATCH = _spec(
    "staffing.schedule_mismatch",
    "Schedule mismatch (realised minus what the funded FTE would buy)",
    "share",
    "pp",
    "Realised service level minus the service level the same funded FTE would buy if scheduled to the "
    "workload: the points lost to where the staff were put, not to how many.",
)
UNDERSTAFFED = _spec(
    "staffing.understaffed_intervals",
    "Half-hours staffed below the Erlang requirement",
    "count",
    "count",
    "Queue half-hours of the forecast window whose staffed agents are fewer than the agents needed for the "
    "service-level target.",
)
# ------------------------------------------------------------------------------------------------ retention
CHURN_PER_POINT = _spec(
    "retention.churn_change_per_point",
    "Change in monthly churn per +1 point of service level",
    "share",
    "pp",
    "Average marginal effect of +1 percentage point of service level experienced on next-month churn "
    "probability (retention model of assumptions.retention_model / retention_dose).",
)
OPTIMAL_SL = _spec(
    "retention.optimal_service_level",
    "Profit-maximising service-level target",
    "share",
    "percent",
    "Service-level target that maximises retained customer value minus staffing cost over the forecast window "
    "(point estimates).",
)
OPTIMAL_SL_LOW = _spec(
    "retention.optimal_service_level_lower",
    "Profit-maximising target, lower 95 % bound",
    "share",
    "percent",
    "2.5 % quantile of the profit-maximising target over the retention-parameter draws.",
)
OPTIMAL_SL_HIGH = _spec(
    "retention.optimal_service_level_upper",
    "Profit-maximising target, upper 95 % bound",
    "share",
    "percent",
    "97.5 % quantile of the profit-maximising target over the retention-parameter draws.",
)
GAIN_VS_CONVENTION = _spec(
    "retention.net_gain_vs_target",
    "Net value of the optimum vs the 80/20 convention (forecast window)",
    "currency",
    "money",
    "Net value (retained value minus staffing cost) at the optimum minus at the 80/20 convention, over the "
    "forecast window.",
)
# ------------------------------------------------------------------------------------------------ failure demand
FD_SHARE = _spec(
    "failure_demand.share",
    "Failure demand share of all contacts",
    "share",
    "percent",
    "(Failure + repeat contacts) / all contacts over the data: contacts caused by a failure to do something or "
    "do it right (Seddon 2003).",
)
FD_MONTHLY_COST = _spec(
    "failure_demand.monthly_cost",
    "Cost of failure demand per month",
    "currency/month",
    "money_per_month",
    "Handling cost of failure and repeat contacts per observed month (economics.yaml cost per contact).",
)
FD_TOP_SOURCE = _spec(
    "failure_demand.top_source",
    "Largest source of failure demand",
    "department",
    "text",
    "Originating department causing the most failure demand.",
)
# ------------------------------------------------------------------------------------------------ actions
ACTIONS_TOTAL = _spec(
    "actions.total_expected_value",
    "Expected value of the recommended actions",
    "currency/year",
    "money_per_year",
    "Sum of the expected annual value of every recommended action with a positive monetised value (each equals "
    "the engine figure it cites; at most 25 actions are ranked).",
)
ACTIONS_TOP = _spec(
    "actions.top_action",
    "Do first",
    "action",
    "text",
    "Title of the action ranked first by expected annual value.",
)
# ------------------------------------------------------------------------------------------------ evidence
# (texts identical to cx_framework.conflicts.uncertainty.EVIDENCE_FIGURES; tests/test_evidence.py checks it)
EVIDENCE_SUPPORTED = _spec(
    "evidence.edges_supported",
    "Causal-graph edges supported by history",
    "count",
    "count",
    "Edges whose 95 % CI of the estimated elasticity contains a value of the configured sign (log-log panel "
    "regression with fixed effects; associations under the graph's assumptions)",
)
EVIDENCE_CONTRADICTED = _spec(
    "evidence.edges_contradicted",
    "Causal-graph edges contradicted by history",
    "count",
    "count",
    "Edges whose 95 % CI of the estimated elasticity lies entirely on the other side of zero from the "
    "configured sign",
)
EVIDENCE_NOT_IDENTIFIABLE = _spec(
    "evidence.edges_not_identifiable",
    "Causal-graph edges history cannot test",
    "count",
    "count",
    "Edges the data cannot estimate: too few months, a metric constant or ≤ 0, source never observed with "
    "the target, or collinear parents",
)
EVIDENCE_CERTAIN_CONFLICTS = _spec(
    "evidence.certain_conflicts",
    "Bonus conflicts certain under the evidence",
    "count",
    "count",
    "Scheme component × shared KPI pairs whose 95 % interval of the alignment (rewarded direction × total "
    "effect × good direction, from parameter draws of the estimated graph) lies below zero",
)
EVIDENCE_CANDIDATES = _spec(
    "evidence.candidate_associations",
    "Associations outside the graph to review",
    "count",
    "count",
    "Metric pairs the graph does not connect whose partial correlation after fixed effects is ≥ 0.5 in "
    "magnitude (Bonferroni-adjusted p < 0.05); listed for review, never added",
)

# ------------------------------------------------------------------------------------------------ graph from evidence
COMPARISON_CONFLICTS_CHANGED = _spec(
    "evidence_comparison.conflicts_changed",
    "Bonus conflicts that change on the estimated graph",
    "count",
    "count",
    "Scheme component × shared KPI pairs that become or stop being a conflict, or change rank within their "
    "scheme, when the configured elasticities are replaced by the estimates from history (edges history cannot "
    "test keep their configured value; associations under the graph's assumptions)",
)
COMPARISON_ACTIONS_CHANGED = _spec(
    "evidence_comparison.actions_changed",
    "Recommended actions that change on the estimated graph",
    "count",
    "count",
    "Actions recommended on only one of the two graphs, or whose rank or expected annual value differs, when the "
    "actions are re-ranked on the estimated elasticities instead of the configured ones",
)
