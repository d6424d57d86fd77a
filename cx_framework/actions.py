"""What should we do first? Ranked recommended actions, each with its expected annual value and evidence.

:func:`recommend_actions` runs every engine on an organisation's data, turns each finding into a candidate action
and ranks the candidates by expected annual value (currency per year); ties go to the customer-centric action.
Every value is an engine number times a documented factor — nothing is invented:

========================  =====================================================  ==========================
kind                      engine number cited (``source``)                       ``expected_annual_value``
========================  =====================================================  ==========================
``fix_failure_demand``    :func:`~cx_framework.failure_demand.fix_vs_absorb`     NPV × 12 / horizon_months
                          ``.npv`` for one originating department                (annualised NPV)
``change_incentive``      :func:`~cx_framework.conflicts.simulate_behaviour`     monthly value × 12
                          of the better scheme, plus today's payout difference
``service_level``         :func:`~cx_framework.economics.optimal_service_level`  (net value at the optimum −
                          ``.curve.net_value``, today's level from               at today's level) × 12 /
                          :func:`~cx_framework.conflicts.staffing_budget_gap`    horizon; without the
                          (without the economics: its ``fte_gap``)               economics 0 (not monetised)
``tighten_sla``           :func:`~cx_framework.conflicts.journey_chain` +        0 (not monetised; the
                          :func:`~cx_framework.conflicts.required_tightening`    late journeys are evidence)
``investigate_exception`` :func:`~cx_framework.scorecard.score` ``.exceptions``  revenue at risk for churn
                                                                                 exceptions, else 0
========================  =====================================================  ==========================

Ranges (``value_low``/``value_high``): fixes at the low/high ``fix_reduction_range``; incentive switches at the
low/high ``effort_budget_range``; the service-level move is the economics engine's 95 % interval over its
retention-parameter draws (see :func:`_service_level_range`); other kinds have no range (low = high = value).

``expected_annual_value == source_value × value_factor`` holds for every row, and ``evidence`` holds every engine
number the value is built from, so a test (or a sceptical reader) can re-run the engine and compare.

Assumptions (pass ``assumptions={...}`` to change any; they are echoed in :attr:`ActionPlan.assumptions`)
----------------------------------------------------------------------------------------------------------
``current_scheme``
    The bonus scheme in force today. Default: ``org_data.truth.scheme`` for a synthetic organisation (the scheme
    its staff were generated under), else the scheme with the largest total conflict severity — the scheme whose
    replacement is evaluated — with a :class:`~cx_framework.errors.StatisticalWarning` saying so.
``fix_expected_reduction`` (0.5) and ``fix_reduction_range`` ((0.25, 0.75))
    Share of a source's failure-demand contacts a fix removes (central value and the low/high case). Half is the
    usual planning figure for a redesign of the failing process (Seddon 2003 reports 40–90 % reductions once the
    cause is removed; we take the cautious end).
``fix_cost_months`` (6.0)
    One-off fix cost expressed as months of the source's current failure-demand cost: a fix that costs half a
    year of absorbing. A concrete ``fix_cost`` per source can be given as ``fix_costs={"billing": 120_000}``.
``fix_horizon_months`` (24)
    Months of benefit in the NPV.
``effort_budget`` (0.10) and ``effort_budget_range`` ((0.05, 0.15))
    Behaviour simulation effort budget (share) and its low/high case.
``sl_draws`` (200)
    Retention-parameter draws behind the optimal service level's uncertainty (the engine's default 1000 takes
    ~10 s on the sample; 200 draws give the 2.5 %/97.5 % quantiles to about ±1 grid point).
``max_exceptions`` (3)
    Exception actions kept (worst first, one per department × metric, customer-centric metrics only).
``effort_cost_bands`` ((50_000, 250_000))
    Effort class of spending actions: one-off cost + first-year extra running cost below the first bound is
    ``low``, below the second ``medium``, else ``high``.

Effort rule
-----------
* ``investigate_exception``: ``low`` (analysis by the owner, no spend).
* ``change_incentive``: ``medium`` (an HR policy change with one scheme cycle of communication, no spend).
* ``tighten_sla``: ``medium`` when the binding stage must cut its lead time by < 20 %, else ``high`` (process
  redesign).
* ``fix_failure_demand`` and ``service_level``: by money (``effort_cost_bands``): the fix cost, or the annual cost
  of the extra FTE.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd

from cx_framework.errors import CxError, InputValueError, StatisticalWarning

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from cx_framework.config.loader import CxConfig

__all__ = [
    "ACTION_COLUMNS",
    "ACTION_KINDS",
    "DEFAULT_ASSUMPTIONS",
    "ActionPlan",
    "STEP_LABELS",
    "MissingTables",
    "recommend_actions",
    "run_engines",
    "effort_from_cost",
    "format_number",
    "rank_actions",
    "switching_value",
    "recent_forecast",
    "actions_chart",
    "VALUE_PARTS",
]

#: Kinds of action, in the order the engines are consulted.
ACTION_KINDS: tuple[str, ...] = (
    "fix_failure_demand",
    "change_incentive",
    "service_level",
    "tighten_sla",
    "investigate_exception",
)

#: Columns of :attr:`ActionPlan.actions`.
ACTION_COLUMNS: list[str] = [
    "rank",
    "title",
    "kind",
    "owner_department",
    "expected_annual_value",
    "value_low",
    "value_high",
    "monetised",
    "effort",
    "customer_centric",
    "rationale",
    "evidence",
    "evidence_text",
    "analysis",
    "source",
    "source_value",
    "value_factor",
    "customer_value",
    "staffing_value",
    "payout_value",
    "other_value",
    "trade_off",
]

#: The parts of ``expected_annual_value`` (currency per year, each signed as a contribution: + = gain); they sum
#: to the value exactly. ``customer_value``: retained customers (churn avoided, or lost when negative);
#: ``staffing_value``: staffing / contact-handling cost saved; ``payout_value``: bonus payout saved;
#: ``other_value``: anything else (a fix's one-off cost).
VALUE_PARTS: tuple[str, ...] = ("customer_value", "staffing_value", "payout_value", "other_value")

DEFAULT_ASSUMPTIONS: dict[str, Any] = {
    "current_scheme": None,
    "fix_expected_reduction": 0.5,
    "fix_reduction_range": (0.25, 0.75),
    "fix_cost_months": 6.0,
    "fix_costs": {},
    "fix_horizon_months": 24,
    "effort_budget": 0.10,
    "effort_budget_range": (0.05, 0.15),
    "seed": 0,
    "max_exceptions": 3,
    "sl_draws": 200,
    "effort_cost_bands": (50_000.0, 250_000.0),
    "baseline_months": 3,
}


#: Human name of each engine step that can be unavailable (the keys of :attr:`ActionPlan.unavailable`).
STEP_LABELS: dict[str, str] = {
    "scorecard": "Scorecard",
    "failure_demand": "Failure demand",
    "fix_vs_absorb": "Fix vs absorb",
    "conflicts": "Incentive conflicts",
    "behaviour": "Behaviour simulation",
    "behaviour_range": "Behaviour simulation range",
    "scheme_comparison": "Scheme comparison",
    "sla_chains": "SLA chains",
    "tightening": "SLA tightening",
    "budget_gap": "Staffing vs budget",
    "retention": "Retention model",
    "service_level": "Optimal service level",
    "service_level_range": "Optimal service level range",
}


class MissingTables(NamedTuple):
    """Why a step could not run on partial data: the analysis that needs the tables, and each table with its
    problem (``"customers (missing)"``, ``"employee_metrics (not in the data)"``)."""

    label: str
    tables: tuple[str, ...]

    def sentence(self) -> str:
        """``"Retention and optimal service level needs table customers (missing)"``."""
        return f"{self.label} needs table {' and '.join(self.tables)}"


# ------------------------------------------------------------------------------------------------ result
@dataclass(frozen=True)
class ActionPlan:
    """Ranked actions and the engine results they came from.

    Attributes
    ----------
    actions : pandas.DataFrame
        Top actions, best first, columns :data:`ACTION_COLUMNS`: ``rank`` (1 = do first), ``title``, ``kind``
        (:data:`ACTION_KINDS`), ``owner_department``, ``expected_annual_value`` (currency per year; 0 when not
        monetised), ``value_low`` / ``value_high`` (the engine's low/high case; equal to the value when the
        engine gives no range), ``monetised`` (bool), ``effort`` (low | medium | high, rule in the module
        docstring), ``customer_centric`` (bool), ``rationale`` (one sentence from the numbers), ``evidence``
        (dict of the engine numbers used), ``evidence_text``, ``analysis`` (the function that produced them),
        ``source`` (which engine number ``source_value`` is), ``source_value`` and ``value_factor`` with
        ``expected_annual_value == source_value × value_factor``.
    candidates : pandas.DataFrame
        Every candidate considered (same columns), including those below ``top`` or with value ≤ 0.
    results : dict
        Engine results by name (``failure_demand``, ``fix_vs_absorb``, ``conflicts``, ``behaviour``,
        ``sla_chains``, ``tightening``, ``scorecard``, ``budget_gap``, ``service_level``, …) for reuse (the
        HTML report draws its figures from them).
    unavailable : dict[str, str]
        Analyses that could not run, with the reason (e.g. an engine that is not installed).
    assumptions : dict
        The assumptions used (defaults merged with the caller's).
    currency : str
    missing_tables : dict[str, MissingTables]
        The steps of :attr:`unavailable` that could not run for lack of tables (partial data), with the analysis
        that needs them and the tables.
    """

    actions: pd.DataFrame
    candidates: pd.DataFrame
    results: dict[str, Any] = field(repr=False)
    unavailable: dict[str, str]
    assumptions: dict[str, Any]
    currency: str = "GBP"
    missing_tables: dict[str, MissingTables] = field(default_factory=dict)

    def unavailable_named(self) -> dict[str, str]:
        """:attr:`unavailable` keyed by the analyses' human names (what every surface prints)."""
        return {STEP_LABELS.get(name, name.replace("_", " ")): why for name, why in self.unavailable.items()}

    def unavailable_lines(self) -> list[str]:
        """One sentence per analysis that could not run, naming it once: ``"Retention and optimal service level
        needs table customers (...)"``, ``"Scheme comparison needs table employee_metrics, which is not in the
        data"``, ``"Optimal service level — engine module ... is not available"``."""
        lines = []
        for name, reason in self.unavailable.items():
            missing = self.missing_tables.get(name)
            label = STEP_LABELS.get(name, name.replace("_", " "))
            lines.append(missing.sentence() if missing else f"{label} — {reason}")
        return lines

    def summary(self) -> str:
        """Plain-text numbered list: title, value and rationale of each action."""
        lines = []
        for r in self.actions.itertuples(index=False):
            value = f"{self.currency} {r.expected_annual_value:,.0f}/year" if r.monetised else "not monetised"
            lines.append(f"{r.rank}. {r.title} [{value}; effort {r.effort}; owner {r.owner_department}]")
            lines.append(f"   {r.rationale}")
        for line in self.unavailable_lines():
            lines.append(f"(not available: {line})")
        return "\n".join(lines)

    def key_figures(self) -> list[Any]:
        """Registry figures: the total expected value of the monetised actions and the action to do first."""
        from cx_framework import figures as F

        acts = self.actions
        monetised = acts.loc[acts["monetised"].astype(bool), "expected_annual_value"].astype(float)
        return [
            F.ACTIONS_TOTAL.figure(float(monetised[monetised > 0].sum()), currency=self.currency),
            F.ACTIONS_TOP.figure(str(acts["title"].iloc[0]) if len(acts) else None, currency=self.currency),
        ]

    def _repr_html_(self) -> str:
        from cx_framework import figures as F
        from cx_framework._display import figure_rows, html_card

        acts = self.actions
        value = [
            F.format_value(v, "money_per_year", currency=self.currency) if m else "not monetised"
            for v, m in zip(acts["expected_annual_value"], acts["monetised"].astype(bool), strict=True)
        ]
        table = pd.DataFrame(
            {
                "Rank": acts["rank"],
                "Action": acts["title"],
                "Owner": acts["owner_department"],
                "Expected value": value,
                "Effort": acts["effort"],
                "Why": acts["rationale"],
            }
        )
        return html_card(
            "Recommended actions",
            figures=figure_rows(self.key_figures()),
            table=table,
            table_title="Ranked, do first at the top",
            caveats=[f"Not available: {line}" for line in self.unavailable_lines()],
        )

    def plot(self) -> go.Figure:
        """Horizontal bars of expected annual value with the low/high range (see ``plots.actions_chart``)."""
        from cx_framework.plots.actions import actions_chart as chart

        return chart(self)


def actions_chart(plan: ActionPlan, *, title: str | None = None) -> go.Figure:
    """Expected annual value of each action with its low–high range (:func:`cx_framework.plots.actions_chart`)."""
    from cx_framework.plots.actions import actions_chart as chart

    return chart(plan, title=title)


# ------------------------------------------------------------------------------------------------ helpers
#: ``precomputed`` keys of :func:`run_engines` that are not engine results: tables that stay in an engine (DuckDB,
#: Spark; every step needing their rows is precomputed from aggregates) and steps known to be unavailable.
ENGINE_TABLES_KEY = "_engine_tables"
UNAVAILABLE_KEY = "_unavailable"
#: ``precomputed`` (and :func:`run_engines` ``results``) key: the :class:`MissingTables` of each step in
#: ``UNAVAILABLE_KEY`` that lacks tables.
MISSING_TABLES_KEY = "_missing_tables"


def _tables(org_data: Any, engine_tables: Any = ()) -> dict[str, pd.DataFrame]:
    # imported here: schemas pulls in pandera, which recommend_actions needs only once the engines run
    from cx_framework.schemas import REQUIRED_TABLES

    if hasattr(org_data, "tables") and callable(org_data.tables):
        tables = dict(org_data.tables())
    elif isinstance(org_data, Mapping):
        tables = dict(org_data)
    else:
        raise InputValueError(
            "org_data must be a SyntheticOrg (load_sample() / generate_organisation()) or a dict of table name -> "
            f"DataFrame (cx_framework.io.load_data_dir), got {type(org_data).__name__}",
            argument="org_data",
        )
    given = {t: v for t, v in tables.items() if isinstance(v, pd.DataFrame) or t in engine_tables}
    if not any(t in given or t in engine_tables for t in REQUIRED_TABLES):
        raise InputValueError(
            f"org_data holds none of the tables recommend_actions reads ({', '.join(REQUIRED_TABLES)}); got "
            f"{', '.join(map(str, tables)) or 'no tables'}",
            argument="org_data",
        )
    return given


def _absent(tables: Mapping[str, Any], engine_tables: Any, names: Iterable[str]) -> list[str]:
    """The tables of ``names`` that are neither given as frames nor kept in the engine."""
    return [t for t in names if t not in tables and t not in engine_tables]


def _needs_tables(absent: list[str]) -> str:
    """Why an engine did not run: the tables it needs that the data does not hold (the partial-data rule)."""
    return f"needs table {' and '.join(absent)}, which is not in the data"


def effort_from_cost(cost: float, bands: tuple[float, float] = (50_000.0, 250_000.0)) -> str:
    """Effort class of a spending action: ``low`` below ``bands[0]``, ``medium`` below ``bands[1]``, else ``high``.

    ``cost`` is the one-off cost plus the first year's extra running cost (currency).
    """
    cost = abs(float(cost))
    if cost < bands[0]:
        return "low"
    if cost < bands[1]:
        return "medium"
    return "high"


def format_number(value: Any) -> str:
    """Readable number for evidence text: thousands separators for large values, 4 significant digits below."""
    if isinstance(value, bool) or not isinstance(value, float | int | np.floating | np.integer):
        return str(value)
    v = float(value)
    if not math.isfinite(v):
        return str(v)
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if v == int(v):
        return f"{int(v)}"
    return f"{v:.4g}"


def _department_name(config: CxConfig, department: str) -> str:
    """Display name of a department id (the id itself when the organisation does not list it)."""
    try:
        return str(config.organisation.department(department).name)
    except KeyError:
        return department


def _money(value: float, currency: str) -> str:
    sign = "-" if value < 0 else ""
    return f"{sign}{currency} {abs(value):,.0f}"


def _row(
    *,
    title: str,
    kind: str,
    owner: str,
    source: str,
    source_value: float,
    value_factor: float,
    low: float | None = None,
    high: float | None = None,
    monetised: bool = True,
    effort: str,
    customer_centric: bool,
    rationale: str,
    evidence: dict[str, Any],
    analysis: str,
    parts: Mapping[str, float] | None = None,
    trade_off: str = "",
) -> dict[str, Any]:
    value = float(source_value) * float(value_factor)
    split = {name: 0.0 for name in VALUE_PARTS}
    if parts:
        unknown = set(parts) - set(VALUE_PARTS)
        if unknown:  # pragma: no cover - programming error
            raise ValueError(f"unknown value parts {sorted(unknown)}")
        split.update({k: float(v) for k, v in parts.items()})
        # the parts are the engine's own terms of the same value: they must add up to it
        if not math.isclose(sum(split.values()), value, rel_tol=1e-9, abs_tol=1e-6 * max(1.0, abs(value))):
            raise AssertionError(f"value parts {split} do not add up to {value}")  # pragma: no cover
    elif monetised:
        split["other_value"] = value
    lo = value if low is None else float(low)
    hi = value if high is None else float(high)
    lo, hi = min(lo, value, hi), max(lo, value, hi)
    text = "; ".join(f"{k} = {format_number(v)}" for k, v in evidence.items())
    return {
        "title": title,
        "kind": kind,
        "owner_department": owner,
        "expected_annual_value": value,
        "value_low": lo,
        "value_high": hi,
        "monetised": monetised,
        "effort": effort,
        "customer_centric": bool(customer_centric),
        "rationale": rationale,
        "evidence": evidence,
        "evidence_text": text,
        "analysis": analysis,
        "source": source,
        "source_value": float(source_value),
        "value_factor": float(value_factor),
        **split,
        "trade_off": trade_off,
    }


def _attempt(name: str, unavailable: dict[str, str], fn: Callable[[], Any]) -> Any:
    """Run one engine; a missing engine module or a user-facing engine error marks the analysis unavailable."""
    try:
        return fn()
    except ModuleNotFoundError as exc:
        if not str(exc.name or "").startswith("cx_framework"):
            raise
        unavailable[name] = f"engine module {exc.name} is not available in this installation"
    except ImportError as exc:
        unavailable[name] = f"engine not available ({exc})"
    except CxError as exc:
        unavailable[name] = f"{type(exc).__name__}: {exc}"
    return None


def _current_scheme(
    org_data: Any, config: CxConfig, conflicts: pd.DataFrame | None, requested: str | None
) -> str | None:
    if requested is not None:
        if requested not in config.schemes:
            raise InputValueError(
                f"assumptions['current_scheme'] = {requested!r} is not a configured scheme; known: "
                f"{', '.join(config.schemes) or 'none'}",
                argument="assumptions",
            )
        return requested
    truth_scheme = getattr(getattr(org_data, "truth", None), "scheme", None)
    if isinstance(truth_scheme, str) and truth_scheme in config.schemes:
        return truth_scheme
    if not config.schemes:
        return None
    if conflicts is not None and len(conflicts):
        severity = conflicts[conflicts["conflict"]].groupby("scheme")["severity"].sum()
        chosen = str(severity.idxmax()) if len(severity) else next(iter(config.schemes))
    else:
        chosen = next(iter(config.schemes))
    warnings.warn(
        f"the scheme in force today is not known; evaluating a switch away from '{chosen}' (largest total conflict "
        "severity). Pass assumptions={'current_scheme': ...} to name today's scheme.",
        StatisticalWarning,
        stacklevel=3,
    )
    return chosen


def _check_assumptions(a: Mapping[str, Any]) -> None:
    """Wrong assumptions are the caller's mistake: raise, naming the key, instead of losing an analysis."""

    def bad(key: str, what: str) -> InputValueError:
        return InputValueError(f"assumptions[{key!r}] must be {what}, got {a[key]!r}", argument="assumptions")

    def share(value: Any) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool) and 0.0 <= float(value) <= 1.0

    def whole(value: Any, low: int) -> bool:
        return isinstance(value, int | np.integer) and not isinstance(value, bool) and int(value) >= low

    for key in ("fix_expected_reduction", "effort_budget"):
        if not share(a[key]):
            raise bad(key, "a share between 0 and 1")
    for key in ("fix_reduction_range", "effort_budget_range"):
        pair = a[key]
        if not (isinstance(pair, tuple | list) and len(pair) == 2 and all(share(v) for v in pair)):
            raise bad(key, "a (low, high) pair of shares between 0 and 1")
        if pair[0] > pair[1]:
            raise bad(key, "(low, high) with low <= high")
    if not (isinstance(a["fix_cost_months"], int | float) and a["fix_cost_months"] >= 0):
        raise bad("fix_cost_months", "a number of months >= 0")
    if not isinstance(a["fix_costs"], Mapping):
        raise bad("fix_costs", "a mapping of department -> one-off fix cost")
    for key, low in (
        ("fix_horizon_months", 1),
        ("max_exceptions", 0),
        ("sl_draws", 10),
        ("baseline_months", 1),
    ):
        if not whole(a[key], low):
            raise bad(key, f"a whole number >= {low}")
    bands = a["effort_cost_bands"]
    if not (isinstance(bands, tuple | list) and len(bands) == 2 and 0 <= bands[0] <= bands[1]):
        raise bad("effort_cost_bands", "(low, high) currency bounds with 0 <= low <= high")


# ------------------------------------------------------------------------------------------------ engines
def run_engines(
    org_data: Any,
    config: CxConfig,
    *,
    period: Any = None,
    assumptions: Mapping[str, Any] | None = None,
    precomputed: Mapping[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[dict[str, Any], dict[str, str], dict[str, Any]]:
    """Run (or reuse) every engine the actions and the report need.

    Parameters
    ----------
    org_data, config, period, assumptions
        As for :func:`recommend_actions`.
    precomputed : mapping, optional
        Engine results already computed (same keys as :attr:`ActionPlan.results`); they are used as given.
    progress : callable, optional
        Called with a short label before each engine runs (the CLI drives a progress bar with it).

    Returns
    -------
    (results, unavailable, assumptions)
        ``results[MISSING_TABLES_KEY]`` holds the :class:`MissingTables` of the steps that lack tables.
    """
    results: dict[str, Any] = dict(precomputed or {})
    in_engine = tuple(results.pop(ENGINE_TABLES_KEY, ()) or ())
    known_unavailable = dict(results.pop(UNAVAILABLE_KEY, {}) or {})
    missing: dict[str, MissingTables] = dict(results.pop(MISSING_TABLES_KEY, {}) or {})
    tables = _tables(org_data, in_engine)
    merged = {**DEFAULT_ASSUMPTIONS, **dict(assumptions or {})}
    unknown = sorted(set(merged) - set(DEFAULT_ASSUMPTIONS))
    if unknown:
        raise InputValueError(
            f"unknown assumption(s) {', '.join(unknown)}; known: {', '.join(DEFAULT_ASSUMPTIONS)}",
            argument="assumptions",
        )
    _check_assumptions(merged)
    unavailable: dict[str, str] = dict(known_unavailable)
    step = progress or (lambda _label: None)

    def need(name: str, label: str, fn: Callable[[], Any], uses: Iterable[str] = ()) -> Any:
        if name in results and results[name] is not None:
            return results[name]
        if name in known_unavailable:  # e.g. an engine step that failed upstream: do not retry it here
            results[name] = None
            return None
        absent = _absent(tables, in_engine, uses)
        if absent:  # partial data: this engine cannot run, the others still do
            unavailable[name] = _needs_tables(absent)
            missing[name] = MissingTables(
                STEP_LABELS.get(name, label), tuple(f"{t} (not in the data)" for t in absent)
            )
            results[name] = None
            return None
        step(label)
        results[name] = _attempt(name, unavailable, fn)
        return results[name]

    # scorecard
    def _score() -> Any:
        from cx_framework.scorecard import score

        return score(
            tables["department_metrics"],
            config,
            employee_metrics=tables.get("employee_metrics"),
            employees=tables.get("employees"),
        )

    need("scorecard", "scorecard", _score, uses=("department_metrics",))

    # failure demand
    def _attribute() -> Any:
        from cx_framework.failure_demand import attribute_failure_demand

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StatisticalWarning)
            return attribute_failure_demand(tables["contacts"], config, economics=config.economics)

    fd = need("failure_demand", "failure demand", _attribute, uses=("contacts",))

    def _fixes() -> dict[str, Any]:
        from cx_framework.failure_demand import fix_vs_absorb

        out: dict[str, Any] = {}
        table = fd.by_department
        sources = table.loc[
            (table["failure_demand"] > 0) & (table["originating_department"] != "unclassified"),
            "originating_department",
        ]
        lo, hi = merged["fix_reduction_range"]
        for source in sources.astype(str):
            fix_cost, reduction_central = _fix_cost(fd, source, config, merged)
            horizon = int(merged["fix_horizon_months"])
            out[source] = {
                case: fix_vs_absorb(
                    fd,
                    source,
                    fix_cost=fix_cost,
                    expected_reduction=float(reduction),
                    horizon_months=horizon,
                    config=config,
                )
                for case, reduction in (
                    ("central", reduction_central),
                    ("low", min(lo, reduction_central)),
                    ("high", max(hi, reduction_central)),
                )
            }
        return out

    if fd is not None:
        need("fix_vs_absorb", "fix vs absorb", _fixes)

    # incentives: conflicts and behaviour
    def _conflicts() -> Any:
        from cx_framework.conflicts.graph import conflict_matrix

        return conflict_matrix(config.schemes, config)

    conflicts = need("conflicts", "conflict matrix", _conflicts) if config.schemes else None
    if config.schemes:
        current = _current_scheme(org_data, config, conflicts, merged["current_scheme"])
        merged["current_scheme"] = current

        def _behaviour() -> dict[str, Any]:
            from cx_framework.conflicts.behaviour import simulate_behaviour

            out: dict[str, Any] = {}
            for sid, scheme in config.schemes.items():
                out[sid] = simulate_behaviour(
                    scheme,
                    tables,
                    config,
                    seed=int(merged["seed"]),
                    effort_budget=float(merged["effort_budget"]),
                    baseline_periods=int(merged["baseline_months"]),
                )
            return out

        from cx_framework.conflicts.behaviour import BEHAVIOUR_TABLES

        need("behaviour", "behaviour simulation", _behaviour, uses=BEHAVIOUR_TABLES)

        def _payouts() -> Any:
            from cx_framework.incentives import compare_schemes

            ordered = {current: config.schemes[current]} if current else {}
            ordered.update({k: v for k, v in config.schemes.items() if k != current})
            return compare_schemes(
                tables["employee_metrics"], tables["employees"], ordered, config=config, validate=False
            )

        need("scheme_comparison", "scheme comparison", _payouts, uses=("employee_metrics", "employees"))

    # SLA chains
    def _chains() -> dict[str, Any]:
        from cx_framework.conflicts.chain import fit_stage_distributions, journey_chain

        with warnings.catch_warnings():
            # zero lead times left out of the fit are reported by `cx sla-chain`, not in a briefing
            warnings.simplefilter("ignore", StatisticalWarning)
            items = tables.get("work_items")
            fitted = (
                fit_stage_distributions(items, validate=False) if items is not None and len(items) else None
            )
        results["fitted_stages"] = fitted
        return {j.id: journey_chain(j, fitted=fitted) for j in config.slas.journeys}

    chains = need("sla_chains", "SLA chains", _chains)

    def _tightening() -> dict[str, Any]:
        from cx_framework.conflicts.chain import required_tightening

        return {jid: required_tightening(r) for jid, r in chains.items() if r.meets_promise is False}

    if chains is not None:
        need("tightening", "SLA tightening", _tightening)

    # staffing vs budget and the service-level economics
    if "intervals" in tables:
        forecast = recent_forecast(tables["intervals"], months=int(merged["baseline_months"]))
        results.setdefault("forecast", forecast)
    elif results.get("forecast") is not None:
        forecast = results["forecast"]
    else:
        forecast = None
        results["forecast"] = None

    def _budget_gap() -> Any:
        return _staffing_budget_gap(forecast, config)

    need("budget_gap", "staffing vs budget", _budget_gap, uses=("intervals",) if forecast is None else ())

    def _retention() -> Any:
        from cx_framework.retention import build_customer_panel, fit_retention

        panel = build_customer_panel(tables["contacts"], tables["customers"], validate=False)
        results["customer_panel"] = panel
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StatisticalWarning)
            return fit_retention(panel)

    need("retention", "retention model", _retention, uses=("contacts", "customers"))

    def _service_level() -> Any:
        from cx_framework.economics import optimal_service_level

        if results.get("retention") is None:
            raise ImportError("needs the retention model, which did not run")
        return optimal_service_level(
            forecast[["interval_start", "queue", "offered", "aht_s"]],
            results["retention"],
            tables["customers"],
            config,
            seed=int(merged["seed"]),
            n_draws=int(merged["sl_draws"]),
        )

    need(
        "service_level",
        "optimal service level",
        _service_level,
        uses=("customers",) + (("intervals",) if forecast is None else ()),
    )
    results[MISSING_TABLES_KEY] = missing
    return results, unavailable, merged


def _fix_cost(fd: Any, source: str, config: CxConfig, a: Mapping[str, Any]) -> tuple[float, float]:
    """One-off cost and expected reduction of fixing ``source``: ``assumptions.fix_costs`` first, then the fix
    configured in ``failure_demand.yaml`` (``fixes``), else the rule ``fix_cost_months`` × the source's monthly
    failure-demand cost (the same payback for every source by construction — the rationale says so)."""
    reduction = float(a["fix_expected_reduction"])
    if source in a["fix_costs"]:
        return float(a["fix_costs"][source]), reduction
    fix = config.failure_demand.fixes.get(source)
    if fix is not None:
        return float(fix.cost), float(
            fix.expected_reduction if fix.expected_reduction is not None else reduction
        )
    return float(a["fix_cost_months"]) * _monthly_failure_cost(fd, source), reduction


def _fix_cost_basis(source: str, config: CxConfig, a: Mapping[str, Any]) -> str:
    """Where the fix cost of ``source`` comes from, in words."""
    if source in a["fix_costs"]:
        return "fix cost given in the assumptions"
    fix = config.failure_demand.fixes.get(source)
    if fix is not None:
        return f"{fix.description.rstrip('.')}; cost {fix.basis or 'from failure_demand.yaml'}"
    return (
        f"no fix configured in failure_demand.yaml, so the cost is assumed to be {float(a['fix_cost_months']):g} "
        "months of the failures' handling cost (the payback month then follows from that assumption, not the data)"
    )


def _monthly_failure_cost(fd: Any, source: str) -> float:
    """Mean monthly cost of the failure demand ``source`` causes (currency per month), as fix_vs_absorb sees it."""
    rows = fd.failure_groups(source)
    return float(rows["cost"].sum()) / max(fd.months_observed, 1)


def recent_forecast(intervals: pd.DataFrame, *, months: int = 3) -> pd.DataFrame:
    """The last ``months`` calendar months of ``intervals`` as a forecast (``interval_start, queue, offered, aht_s``).

    "Next quarter looks like the last one": the naive seasonal-free forecast the staffing and economics engines
    are run on. AHT is undefined where nothing was answered; those rows get their queue's volume-weighted AHT.
    """
    start = pd.to_datetime(intervals["interval_start"])
    cutoff = start.max().to_period("M").start_time - pd.DateOffset(months=months - 1)
    recent = intervals.loc[start >= cutoff].copy()
    aht = recent["aht_s"].astype(float)
    answered = recent["answered"].astype(float)
    queue_aht = (aht.fillna(0) * answered).groupby(recent["queue"]).sum() / answered.groupby(
        recent["queue"]
    ).sum()
    recent["aht_s"] = aht.where(aht > 0, recent["queue"].map(queue_aht))
    keep = ["interval_start", "queue", "offered", "aht_s", "agents_staffed"]
    # what the window recorded, for the budget gap's reconciliation (realised vs modelled service level)
    keep += [c for c in RECORDED_COLUMNS if c in recent.columns]
    return recent[keep].reset_index(drop=True)


#: Recorded interval columns the budget gap reconciles its models with (realised service level, actual staffing).
RECORDED_COLUMNS: tuple[str, ...] = ("answered_within_threshold",)


def budget_gap_inputs(forecast: pd.DataFrame) -> pd.DataFrame:
    """The forecast columns :func:`~cx_framework.conflicts.staffing_budget_gap` reads: the workload, plus the
    staffed agents and answered-within-threshold counts where recorded (realised service level, the model with
    the actual staffing and the schedule mismatch come from them)."""
    cols = ["interval_start", "queue", "offered", "aht_s", "agents_staffed", *RECORDED_COLUMNS]
    return forecast[[c for c in cols if c in forecast.columns]]


def _staffing_budget_gap(forecast: pd.DataFrame, config: CxConfig) -> Any:
    """Budget gap over the forecast: today's staffed agents (grossed up for shrinkage) are the funded FTE."""
    from cx_framework.conflicts.budget_gap import staffing_budget_gap

    econ = config.economics
    interval_s = 1800.0
    days = pd.to_datetime(forecast["interval_start"]).dt.normalize()
    weeks = ((days.max() - days.min()).days + 1) / 7.0
    staffed_hours = float(forecast["agents_staffed"].sum()) * interval_s / 3600.0
    budget_fte = staffed_hours / (1.0 - econ.shrinkage) / (econ.hours_per_fte_week * weeks)
    return staffing_budget_gap(
        budget_gap_inputs(forecast),
        budget_fte,
        target=econ.service_level_target,
        answer_s=econ.answer_s,
        shrinkage=econ.shrinkage,
        hours_per_fte=econ.hours_per_fte_week,
        interval_s=interval_s,
        horizon_weeks=weeks,
    )


# ------------------------------------------------------------------------------------------------ candidates
def _failure_demand_actions(
    results: dict[str, Any], config: CxConfig, a: dict[str, Any]
) -> list[dict[str, Any]]:
    fd = results.get("failure_demand")
    fixes = results.get("fix_vs_absorb")
    if fd is None or not fixes:
        return []
    cur = config.economics.currency
    rows = []
    table = fd.by_department.set_index("originating_department")
    for source, cases in fixes.items():
        central, low, high = cases["central"], cases["low"], cases["high"]
        factor = 12.0 / central.horizon_months
        failure = fd.failure_groups(source)
        top_reason = str(failure.groupby(failure["root_reason"].astype(str))["contacts"].sum().idxmax())
        share = float(table.loc[source, "failure_demand_share"])
        reason_name = top_reason.replace("_", " ")
        parts = central.value_parts()
        rationale = (
            f"{_department_name(config, source)} causes {share:.1%} of all contacts as failure demand "
            f"({central.baseline_contacts_per_month:,.0f} a month, mostly '{reason_name}', at "
            f"{cur} {central.cost_per_contact:,.2f} each). Fixing it at source ({_fix_cost_basis(source, config, a)}) "
            f"for {_money(central.fix_cost, cur)} and removing {central.expected_reduction:.0%} of them saves "
            f"{_money(parts['handling_cost_saved'], cur)} of handling cost over {central.horizon_months} months "
            f"(present value), net {_money(central.npv, cur)}"
            + (
                f", paying back in month {central.break_even_month}."
                if central.break_even_month is not None
                else ", without paying back in that time."
            )
            + " Customers kept because they no longer have to call are not counted (a lower bound)."
        )
        rows.append(
            _row(
                title=f"Fix {_department_name(config, source)} failure demand at source (largest reason: "
                f"{reason_name})",
                kind="fix_failure_demand",
                owner=source,
                source=f"fix_vs_absorb(attribution, {source!r}).npv",
                source_value=central.npv,
                value_factor=factor,
                low=low.npv * factor,
                high=high.npv * factor,
                effort=effort_from_cost(central.fix_cost, a["effort_cost_bands"]),
                customer_centric=True,
                rationale=rationale,
                evidence={
                    "failure_demand_share": share,
                    "baseline_contacts_per_month": central.baseline_contacts_per_month,
                    "cost_per_contact": central.cost_per_contact,
                    "fix_cost": central.fix_cost,
                    "expected_reduction": central.expected_reduction,
                    "horizon_months": central.horizon_months,
                    "npv": central.npv,
                    "npv_low": low.npv,
                    "npv_high": high.npv,
                    "break_even_month": central.break_even_month,
                    "top_reason": top_reason,
                },
                analysis="attribute_failure_demand + fix_vs_absorb",
                parts={
                    "staffing_value": parts["handling_cost_saved"] * factor,
                    "customer_value": parts["retention_value"] * factor,
                    "other_value": parts["fix_cost"] * factor,
                },
            )
        )
    return rows


def switching_value(current: Any, candidate: Any) -> float:
    """Monthly value of moving from today's scheme to ``candidate`` (currency per month).

    Today's behaviour already reflects the current scheme, so its cost is the current scheme's *baseline*
    (payout on today's metrics + today's staffing + today's churn); the candidate's cost is after the simulated
    response. Equals ``candidate.net_value + current.payout_cost['baseline'] − candidate.payout_cost['baseline']``.
    """
    return float(candidate.net_value + current.payout_cost["baseline"] - candidate.payout_cost["baseline"])


def _better_scheme(conflicts: pd.DataFrame, behaviour: Mapping[str, Any], current: str | None) -> str | None:
    """The scheme worth most to switch to among those with less total conflict severity than ``current``."""
    if current is None or current not in behaviour:
        return None
    severity = conflicts[conflicts["conflict"]].groupby("scheme")["severity"].sum()
    options = {
        sid: switching_value(behaviour[current], r)
        for sid, r in behaviour.items()
        if sid != current and float(severity.get(sid, 0.0)) < float(severity.get(current, 0.0))
    }
    return max(options, key=lambda s: options[s]) if options else None


def _incentive_actions(results: dict[str, Any], config: CxConfig, a: dict[str, Any]) -> list[dict[str, Any]]:
    conflicts = results.get("conflicts")
    behaviour = results.get("behaviour")
    current = a.get("current_scheme")
    if conflicts is None or not behaviour or current not in behaviour:
        return []
    cur = config.economics.currency
    bad = conflicts[(conflicts["scheme"] == current) & conflicts["conflict"]]
    if bad.empty:
        return []
    by_component = bad.groupby("component")["severity"].sum().sort_values(ascending=False)
    component = str(by_component.index[0])
    worst = bad[bad["component"] == component].sort_values("severity", ascending=False).iloc[0]
    best = _better_scheme(conflicts, behaviour, current)
    if best is None:
        return []
    monthly = switching_value(behaviour[current], behaviour[best])
    lo_hi = results.get("behaviour_range", {})
    low = high = None
    if best in lo_hi:
        # today's cost (current scheme's baseline) does not depend on the effort budget
        vals = [12.0 * switching_value(behaviour[current], lo_hi[best][k]) for k in ("low", "high")]
        low, high = min(vals), max(vals)
    r_best = behaviour[best]
    r_cur = behaviour[current]
    metric = config.metrics.by_id.get(component)
    owner = metric.owner if metric is not None else "organisation"
    names = config.metrics.by_id
    component_name = names[component].name if component in names else component
    kpi_ids = list(bad[bad["component"] == component].sort_values("severity", ascending=False)["kpi"].head(3))
    kpis = ", ".join(names[k].name if k in names else k for k in kpi_ids)
    current_name, best_name = config.schemes[str(current)].name, config.schemes[best].name
    # the switch's value split into the engine's own terms (per month; they add up to switching_value)
    payout = float(r_cur.payout_cost["baseline"] - r_best.payout_cost["scheme"])
    staffing = -float(r_best.staffing["cost_scheme"] - r_best.staffing["cost_baseline"])
    customer = -float(r_best.lost_revenue)
    from cx_framework.conflicts.explain import push_effect_sentence

    effect = push_effect_sentence(component, str(worst["kpi"]), float(worst["total_effect"]), config)
    parts_text = (
        f"{_money(12 * customer, cur)} a year in customer value (retained customers), "
        f"{_money(12 * payout, cur)} in bonus payouts and {_money(12 * staffing, cur)} in staffing cost"
    )
    rationale = (
        f"The {current_name} scheme pays for {component_name} (weight {float(worst['component_weight']):.0%}), "
        f"which works against {kpis}: {effect}. Switching to {best_name} moves the customer KPI index by "
        f"{r_best.customer_kpi_index:+.2%} and is worth {_money(12 * monthly, cur)} a year: {parts_text}."
    )
    trade_off = ""
    if customer < 0:
        trade_off = (
            f"Customers are worse off ({_money(12 * customer, cur)} a year of customer value lost); the value "
            f"comes from a smaller bonus pot ({_money(12 * payout, cur)}), not from better service."
        )
        title = (
            f"Replace {current_name} with {best_name}: a smaller bonus pot, though customers lose "
            f"{_money(-12 * customer, cur)} a year"
        )
    elif payout > customer + staffing:
        title = f"Drop the {component_name} bonus: replace {current_name} with {best_name}"
        trade_off = (
            f"Most of the value is bonus payout saved ({_money(12 * payout, cur)} a year); customers gain "
            f"{_money(12 * customer, cur)} a year."
        )
    else:
        title = f"Drop the {component_name} bonus: replace {current_name} with {best_name}"
    return [
        _row(
            title=title,
            kind="change_incentive",
            owner=owner,
            source=(
                f"simulate_behaviour({best}).net_value + payout_cost['baseline'] of {current} − of {best} "
                "(per month)"
            ),
            source_value=monthly,
            value_factor=12.0,
            low=low,
            high=high,
            parts={
                "customer_value": 12.0 * customer,
                "payout_value": 12.0 * payout,
                "staffing_value": 12.0 * staffing,
            },
            trade_off=trade_off,
            effort="medium",
            customer_centric=customer > 0,
            rationale=rationale,
            evidence={
                "current_scheme": current,
                "better_scheme": best,
                "conflicting_component": component,
                "component_severity": float(by_component.iloc[0]),
                "worst_kpi": str(worst["kpi"]),
                "total_effect": float(worst["total_effect"]),
                "net_value_better_scheme": float(r_best.net_value),
                "payout_today": float(behaviour[current].payout_cost["baseline"]),
                "payout_better_scheme_baseline": float(r_best.payout_cost["baseline"]),
                "customer_kpi_index": float(r_best.customer_kpi_index),
                "customer_value_per_year": 12.0 * customer,
                "payout_saved_per_year": 12.0 * payout,
                "staffing_saved_per_year": 12.0 * staffing,
            },
            analysis="conflict_matrix + simulate_behaviour",
        )
    ]


def _sla_actions(results: dict[str, Any], config: CxConfig, a: dict[str, Any]) -> list[dict[str, Any]]:
    chains = results.get("sla_chains")
    tightening = results.get("tightening") or {}
    if not chains:
        return []
    work_items = results.get("_work_items_per_year", {})
    rows = []
    for jid, chain in chains.items():
        if chain.meets_promise is not False or jid not in tightening:
            continue
        journey = config.slas.journey(jid)
        t = tightening[jid]
        binding = t[t["binding"]].iloc[0] if t["binding"].any() else t.iloc[0]
        feasible = bool(binding["feasible"])
        reduction = float(binding["reduction"]) if feasible else math.nan
        late_share = float(journey.promise.percent - chain.p_within_promise)
        per_year = work_items.get(jid)
        late_text = f" (about {late_share * per_year:,.0f} more journeys a year on time)" if per_year else ""
        if feasible:
            what = (
                f"{binding['stage']} ({binding['department']}) must cut its lead time by {reduction:.0%}: SLA "
                f"{binding['current_sla_h']:g} h → {binding['required_sla_h']:.1f} h"
            )
        else:
            what = f"even an instant {binding['stage']} cannot keep the promise; the journey needs a redesign"
        rationale = (
            f"Only {chain.p_within_promise:.1%} of {journey.name.lower()} journeys finish within the "
            f"{chain.promise_h:g} h promise (target {journey.promise.percent:.0%})"
            + (" although every stage meets its own SLA" if chain.every_stage_green else "")
            + f"; {what}{late_text}."
        )
        rows.append(
            _row(
                title=f"Tighten the {binding['stage']} SLA of the {journey.name.lower()} journey",
                kind="tighten_sla",
                owner=str(binding["department"]),
                source=f"journey_chain({jid!r}).p_within_promise",
                source_value=chain.p_within_promise,
                value_factor=0.0,
                monetised=False,
                effort="medium" if feasible and reduction < 0.2 else "high",
                customer_centric=True,
                rationale=rationale,
                evidence={
                    "journey": jid,
                    "p_within_promise": float(chain.p_within_promise),
                    "promise_percent": float(journey.promise.percent),
                    "every_stage_green": bool(chain.every_stage_green),
                    "binding_stage": str(binding["stage"]),
                    "reduction": reduction,
                    "current_sla_h": float(binding["current_sla_h"]),
                    "required_sla_h": float(binding["required_sla_h"]),
                    "late_journeys_per_year_avoided": (late_share * per_year) if per_year else None,
                },
                analysis="journey_chain + required_tightening",
            )
        )
    return rows


def _service_level_actions(
    results: dict[str, Any], config: CxConfig, a: dict[str, Any]
) -> list[dict[str, Any]]:
    opt = results.get("service_level")
    gap = results.get("budget_gap")
    if opt is not None:
        return _service_level_from_optimum(opt, gap, config, a, results.get("service_level_range"))
    if gap is not None and gap.fte_gap > 0:
        return _budget_gap_action(gap, config, a)
    return []


def _budget_gap_action(gap: Any, config: CxConfig, a: dict[str, Any]) -> list[dict[str, Any]]:
    """Without the SL economics: name the FTE gap to the configured target, unmonetised (its value is unknown)."""
    econ = config.economics
    cost = float(gap.fte_gap) * econ.hours_per_fte_week * 52.0 * econ.cost_per_agent_hour
    rationale = (
        f"Today's staffing achieves {gap.achieved_service_level:.1%} against the {gap.target:.0%} target and "
        f"{len(gap.failing_intervals):,} of {len(gap.intervals):,} intervals miss it; meeting it needs "
        f"{gap.fte_gap:,.1f} more FTE (about {_money(cost, econ.currency)} a year), whose return in retained "
        "customers cannot be priced without the service-level economics."
    )
    return [
        _row(
            title=f"Close the staffing budget gap: fund {gap.fte_gap:,.1f} FTE for the {gap.target:.0%} target",
            kind="service_level",
            owner="contact_centre",
            source="staffing_budget_gap().fte_gap",
            source_value=float(gap.fte_gap),
            value_factor=0.0,
            monetised=False,
            effort=effort_from_cost(cost, a["effort_cost_bands"]),
            customer_centric=True,
            rationale=rationale,
            evidence={
                "service_level_target": float(gap.target),
                "achieved_service_level": float(gap.achieved_service_level),
                "fte_needed": float(gap.fte_needed),
                "fte_budget": float(gap.fte_budget),
                "fte_gap": float(gap.fte_gap),
                "extra_staffing_cost_per_year": cost,
            },
            analysis="staffing_budget_gap",
        )
    ]


def _pair_matches(pair: Any, today: float, optimum: float) -> bool:
    return bool(abs(float(pair.convention) - today) < 1e-9 and abs(float(pair.optimum) - optimum) < 1e-9)


def _service_level_range(
    tables: dict[str, pd.DataFrame], config: CxConfig, results: dict[str, Any], a: dict[str, Any]
) -> Any:
    """95 % interval of the gain from today's service level to the optimum, from the economics engine itself.

    :func:`~cx_framework.economics.optimal_service_level` reports the interval of "optimum minus the 80/20
    convention" over its parameter draws, the convention being the grid target nearest 0.80. Run on the two-point
    grid {today's level, optimum}, that interval is exactly the one of "optimum minus today" whenever today's level
    is the point nearer 0.80 (checked; otherwise no range is given). Same draws (seed), so it is consistent with
    the full curve.
    """
    opt, gap, retention = results.get("service_level"), results.get("budget_gap"), results.get("retention")
    if opt is None or gap is None or retention is None:
        return None
    today = float(_nearest(opt.curve, float(gap.achieved_service_level))["target"])
    best = float(_nearest(opt.curve, float(opt.optimum))["target"])
    if abs(today - best) < 1e-9 or abs(today - 0.8) >= abs(best - 0.8):
        return None
    from cx_framework.economics import optimal_service_level

    pair = optimal_service_level(
        results["forecast"][["interval_start", "queue", "offered", "aht_s"]],
        retention,
        tables["customers"],
        config,
        targets=[min(today, best), max(today, best)],
        seed=int(a["seed"]),
        n_draws=int(a["sl_draws"]),
    )
    return pair if _pair_matches(pair, today, best) else None


def _nearest(curve: pd.DataFrame, target: float) -> pd.Series:
    return curve.iloc[int(np.argmin(np.abs(curve["target"].to_numpy(dtype=float) - target)))]


def _service_level_from_optimum(
    opt: Any, gap: Any, config: CxConfig, a: dict[str, Any], pair: Any = None
) -> list[dict[str, Any]]:
    """Move the service customers get today (what today's staffing achieves) to the profit-maximising target."""
    cur = config.economics.currency
    curve = opt.curve
    target = float(config.economics.service_level_target)
    today = float(gap.achieved_service_level) if gap is not None else target
    ref = _nearest(curve, today)
    best = _nearest(curve, float(opt.optimum))
    if abs(float(best["target"]) - float(ref["target"])) < 1e-9:
        return []
    factor = 12.0 / float(opt.horizon_months)
    gain = float(best["net_value"] - ref["net_value"])
    low = high = None
    if abs(float(ref["target"]) - float(opt.convention)) < 1e-9:
        # the engine's interval of the gain over the convention applies exactly
        low, high = opt.net_gain_vs_convention_lower * factor, opt.net_gain_vs_convention_upper * factor
    elif pair is not None and _pair_matches(pair, float(ref["target"]), float(best["target"])):
        # the engine run on just {today, optimum}: its "convention" is today's level (see _service_level_range)
        low, high = pair.net_gain_vs_convention_lower * factor, pair.net_gain_vs_convention_upper * factor
    extra_cost = float(best["staffing_cost"] - ref["staffing_cost"]) * factor
    extra_fte = float(best["fte"] - ref["fte"])
    up = float(best["target"]) > float(ref["target"])
    if up:
        title = (
            f"Fund {extra_fte:,.1f} more FTE to lift the service-level target from the {float(ref['target']):.0%} "
            f"today's FTE can buy to {float(best['target']):.0%}"
        )
    else:
        below = f", below the {target:.0%} target" if float(best["target"]) < target else ""
        title = (
            f"Staff for a {float(best['target']):.0%} service level{below}, instead of the "
            f"{float(ref['target']):.0%} today's FTE can buy ({-extra_fte:,.1f} FTE fewer)"
        )
    budget_text = (
        f"today's FTE, scheduled to the workload, would achieve {today:.1%} against the {target:.0%} target"
    ) + (f" (short by {gap.fte_gap:,.1f} FTE)" if gap is not None and gap.fte_gap > 0 else "")
    value_text = (
        f"where retained customer value exceeds the extra staffing cost of {_money(extra_cost, cur)} a year by "
        f"{_money(gain * factor, cur)}"
        if up
        else f"where the staffing saving of {_money(-extra_cost, cur)} a year exceeds the customer value lost with "
        f"the extra churn by {_money(gain * factor, cur)}"
    )
    rationale = (
        f"{budget_text[0].upper()}{budget_text[1:]}; the retention model puts the profit-maximising service level "
        f"at {float(opt.optimum):.0%}"
        + (
            f" (95% range {float(opt.optimum_lower):.0%}–{float(opt.optimum_upper):.0%}), "
            if f"{float(opt.optimum_lower):.0%}" != f"{float(opt.optimum_upper):.0%}"
            else f" (95% range also {float(opt.optimum):.0%}), "
        )
        + f"{value_text}."
    )
    customer_part = float(best["retained_value"] - ref["retained_value"]) * factor
    staffing_part = -extra_cost
    interval = (
        f"95% interval of the value {_money(low, cur)} to {_money(high, cur)} a year"
        if low is not None and high is not None
        else "no interval for this value is available (the engine's draws do not cover this pair of levels)"
    )
    trade_off = ""
    if float(best["target"]) < target:
        trade_off = (
            f"Below the {target:.0%} service-level target: customers wait longer and "
            f"{_money(-customer_part, cur)} a year of customer value is lost with the extra churn, for "
            f"{_money(staffing_part, cur)} a year of staffing saved; {interval}."
            + (
                f" The optimum itself is uncertain ({float(opt.optimum_lower):.0%}–{float(opt.optimum_upper):.0%})."
                if f"{float(opt.optimum_lower):.0%}" != f"{float(opt.optimum_upper):.0%}"
                else ""
            )
        )
    elif not up:
        trade_off = (
            f"Staffing down from what today's FTE can buy: {_money(-customer_part, cur)} a year of customer value "
            f"lost for {_money(staffing_part, cur)} saved; {interval}."
        )
    return [
        _row(
            title=title,
            kind="service_level",
            owner="contact_centre",
            source="optimal_service_level().curve.net_value[optimum] − net_value[today's service level]",
            source_value=gain,
            value_factor=factor,
            low=low,
            high=high,
            effort=effort_from_cost(extra_cost, a["effort_cost_bands"]),
            customer_centric=up,
            rationale=rationale,
            parts={"customer_value": customer_part, "staffing_value": staffing_part},
            trade_off=trade_off,
            evidence={
                "service_level_target": target,
                "achieved_service_level": today,
                "fte_gap": float(gap.fte_gap) if gap is not None else None,
                "optimum": float(opt.optimum),
                "optimum_lower": float(opt.optimum_lower),
                "optimum_upper": float(opt.optimum_upper),
                "reference_target": float(ref["target"]),
                "net_value_optimum": float(best["net_value"]),
                "net_value_reference": float(ref["net_value"]),
                "extra_fte": extra_fte,
                "extra_staffing_cost_per_year": extra_cost,
                "horizon_months": float(opt.horizon_months),
            },
            analysis="staffing_budget_gap + fit_retention + optimal_service_level",
        )
    ]


def _exception_actions(
    results: dict[str, Any], config: CxConfig, a: dict[str, Any], period: Any
) -> list[dict[str, Any]]:
    sc = results.get("scorecard")
    if sc is None or sc.exceptions.empty:
        return []
    exc = sc.exceptions
    if period is not None:
        ts = pd.Timestamp(period).to_period("M").start_time
        exc = exc[pd.to_datetime(exc["period"]) == ts]
    else:
        exc = exc[pd.to_datetime(exc["period"]) == pd.to_datetime(exc["period"]).max()]
    exc = exc[exc["customer_centric"].astype(bool)]
    exc = exc.drop_duplicates(["department", "metric"]).head(int(a["max_exceptions"]))
    behaviour = results.get("behaviour") or {}
    any_sim = next(iter(behaviour.values()), None)
    catalogue = config.metrics.by_id
    department_names = {d.id: d.name for d in config.organisation.departments}
    rows = []
    for r in exc.itertuples(index=False):
        metric = catalogue.get(str(r.metric))
        name = metric.name if metric is not None else str(r.metric)
        lower_better = metric is not None and metric.direction == "lower_is_better"
        bound = float(r.expected_high if lower_better else r.expected_low)
        where = str(r.department) + (f"/{r.team}" if isinstance(r.team, str) and r.team else "")
        # the title and sentence name the department (the evidence keeps the ids)
        where_name = (
            "the whole organisation"
            if str(r.department) == "organisation"
            else department_names.get(str(r.department), str(r.department))
        ) + (f" / {r.team}" if isinstance(r.team, str) and r.team else "")
        rule_text = (
            "threshold breach"
            if str(r.rule) == "threshold"
            else f"Western Electric rule {str(r.rule)[2:]}"
            if str(r.rule).startswith("WE")
            else str(r.rule)
        )
        at_risk = None
        if (
            str(r.metric) == "churn_rate"
            and str(r.level) == "organisation"
            and any_sim is not None
            and math.isfinite(bound)
        ):
            excess = float(r.value) - bound
            if excess > 0:
                at_risk = excess * any_sim.customers_active * any_sim.value_per_churned_customer * 12.0
        owner = (
            str(r.department)
            if str(r.department) != "organisation"
            else (metric.owner if metric is not None else "organisation")
        )
        evidence = {
            "period": pd.Timestamp(r.period).strftime("%Y-%m"),
            "level": str(r.level),
            "where": where,
            "metric": str(r.metric),
            "rule": str(r.rule),
            "value": float(r.value),
            "expected_bound": bound,
            "severity": int(r.severity),
            "magnitude": float(r.magnitude),
        }
        if str(r.rule) == "threshold":
            expected = f"{'above' if lower_better else 'below'} the threshold of {bound:.4g}"
        else:
            expected = f"{r.description}; natural process limits {float(r.expected_low):.4g} to {float(r.expected_high):.4g}"
        rationale = (
            f"{name} at {where_name} was {float(r.value):.4g} in {evidence['period']} ({expected}; severity "
            f"{int(r.severity)} of 3)"
            + (
                f", putting {_money(at_risk, config.economics.currency)} a year of customer value at risk."
                if at_risk
                else "; find the cause before it reaches customers' loyalty."
            )
        )
        rows.append(
            _row(
                title=f"Investigate {name} at {where_name} ({rule_text})",
                kind="investigate_exception",
                owner=owner,
                source=(
                    "score().exceptions value − bound × customers_active × value_per_churned_customer"
                    if at_risk is not None
                    else "score().exceptions.value"
                ),
                source_value=at_risk / 12.0 if at_risk is not None else float(r.value),
                value_factor=12.0 if at_risk is not None else 0.0,
                monetised=at_risk is not None,
                parts={"customer_value": at_risk} if at_risk is not None else None,
                effort="low",
                customer_centric=True,
                rationale=rationale,
                evidence=evidence,
                analysis="score (exceptions: thresholds and XmR rules)",
            )
        )
    return rows


# ------------------------------------------------------------------------------------------------ public
def recommend_actions(
    org_data: Any,
    config: CxConfig,
    *,
    period: Any = None,
    top: int = 10,
    assumptions: Mapping[str, Any] | None = None,
    precomputed: Mapping[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> ActionPlan:
    """Ranked actions with expected annual value, owner, effort, evidence and a one-sentence rationale.

    Candidates come from every engine (see the module docstring for the value of each kind and the effort
    rule): fixing each failure-demand source (:func:`~cx_framework.failure_demand.fix_vs_absorb`), replacing the
    current bonus scheme's most conflicting component by the better scheme
    (:func:`~cx_framework.conflicts.conflict_matrix` + :func:`~cx_framework.conflicts.simulate_behaviour`),
    moving the service-level target to its optimum or closing the staffing budget gap, tightening the binding
    stage SLA of every journey that misses its promise (:func:`~cx_framework.conflicts.sla_chain`) and
    investigating the worst exceptions on customer-centric metrics (:func:`~cx_framework.scorecard.score`).
    Monetised candidates with a value ≤ 0 are dropped (doing nothing is better); unmonetised ones stay (value 0)
    because their evidence is still a reason to look.

    Parameters
    ----------
    org_data : SyntheticOrg or dict of str -> DataFrame
        The organisation's validated tables (``intervals, contacts, customers, employees, employee_metrics,
        department_metrics, work_items``).
    config : CxConfig
        :func:`cx_framework.config.load_config` result.
    period : str or Timestamp, optional
        Month whose scorecard exceptions are considered (default: the latest).
    top : int, default 10
        Number of actions returned (all candidates stay in :attr:`ActionPlan.candidates`).
    assumptions : mapping, optional
        Overrides of :data:`DEFAULT_ASSUMPTIONS` (documented in the module docstring).
    precomputed : mapping, optional
        Engine results to reuse instead of recomputing (keys as :attr:`ActionPlan.results`).
    progress : callable, optional
        Called with a label before each engine step.

    Returns
    -------
    ActionPlan
        ``actions`` ranked by expected annual value (descending), ties broken by customer-centricity then the
        value's low case.

    Raises
    ------
    InputValueError
        ``org_data`` lacks a table, bad ``top`` or an unknown assumption.

    Examples
    --------
    >>> from cx_framework import load_config, load_sample, recommend_actions  # doctest: +SKIP
    >>> plan = recommend_actions(load_sample(), load_config("configs"), top=5)  # doctest: +SKIP
    >>> print(plan.summary())  # doctest: +SKIP
    """
    if isinstance(top, bool) or not isinstance(top, int | np.integer) or top < 1:
        raise InputValueError(f"top must be a whole number >= 1, got {top!r}", argument="top")
    results, unavailable, merged = run_engines(
        org_data,
        config,
        period=period,
        assumptions=assumptions,
        precomputed=precomputed,
        progress=progress,
    )
    missing = results.pop(MISSING_TABLES_KEY, {})
    tables = _tables(org_data, tuple((precomputed or {}).get(ENGINE_TABLES_KEY, ()) or ()))
    if "behaviour_range" not in results and results.get("behaviour"):
        results["behaviour_range"] = _behaviour_range(tables, config, results, merged, progress)
    if "service_level_range" not in results:
        results["service_level_range"] = _attempt(
            "service_level_range", unavailable, lambda: _service_level_range(tables, config, results, merged)
        )
    if "_work_items_per_year" not in results:
        items = tables.get("work_items")
        results["_work_items_per_year"] = {} if items is None else _journeys_per_year(items)

    rows: list[dict[str, Any]] = []
    rows += _failure_demand_actions(results, config, merged)
    rows += _incentive_actions(results, config, merged)
    rows += _service_level_actions(results, config, merged)
    rows += _sla_actions(results, config, merged)
    rows += _exception_actions(results, config, merged, period)
    candidates = pd.DataFrame(rows, columns=[c for c in ACTION_COLUMNS if c != "rank"])
    candidates, actions = rank_actions(candidates, top=int(top))
    return ActionPlan(
        actions=actions,
        candidates=candidates,
        results=results,
        unavailable=unavailable,
        assumptions=merged,
        currency=config.economics.currency,
        missing_tables={name: why for name, why in missing.items() if name in unavailable},
    )


def rank_actions(candidates: pd.DataFrame, *, top: int = 10) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rank candidate actions: expected annual value (descending), then customer-centric first, then the low case.

    Monetised candidates with a value ≤ 0 are not recommended (doing nothing is better) but stay in the ranked
    candidates; unmonetised ones (value 0) are kept because their evidence is still a reason to look.

    Returns
    -------
    (candidates, actions)
        All candidates with their ``rank`` among all, and the top ``top`` recommended ones ranked 1..n.
    """
    ranked = candidates.astype({"monetised": bool, "customer_centric": bool}).sort_values(
        ["expected_annual_value", "customer_centric", "value_low"],
        ascending=[False, False, False],
        kind="mergesort",
    )
    ranked = ranked.reset_index(drop=True)
    if "rank" in ranked.columns:
        ranked = ranked.drop(columns="rank")
    ranked.insert(0, "rank", np.arange(1, len(ranked) + 1))
    keep = ~ranked["monetised"] | (ranked["expected_annual_value"] > 0)
    actions = ranked[keep].head(top).reset_index(drop=True)
    actions["rank"] = np.arange(1, len(actions) + 1)
    return ranked, actions


def _behaviour_range(
    tables: dict[str, pd.DataFrame],
    config: CxConfig,
    results: dict[str, Any],
    a: dict[str, Any],
    progress: Callable[[str], None] | None,
) -> dict[str, dict[str, Any]]:
    """Low/high effort-budget simulations of the better scheme (today's cost does not depend on the budget)."""
    from cx_framework.conflicts.behaviour import simulate_behaviour

    current = a.get("current_scheme")
    behaviour = results["behaviour"]
    if current not in behaviour:
        return {}
    conflicts = results.get("conflicts")
    best = _better_scheme(conflicts, behaviour, current) if conflicts is not None else None
    if best is None:
        return {}
    if progress:
        progress("behaviour range")
    lo, hi = a["effort_budget_range"]
    out: dict[str, dict[str, Any]] = {}
    for sid in (best,):
        out[sid] = {
            name: simulate_behaviour(
                config.schemes[sid],
                tables,
                config,
                seed=int(a["seed"]),
                effort_budget=float(budget),
                baseline_periods=int(a["baseline_months"]),
            )
            for name, budget in (("low", lo), ("high", hi))
        }
    return out


def _journeys_per_year(work_items: pd.DataFrame) -> dict[str, float]:
    """Journeys started per year by journey id (distinct items, scaled by the months covered)."""
    if work_items.empty:
        return {}
    entered = pd.to_datetime(work_items["entered_at"])
    months = max(entered.dt.to_period("M").nunique(), 1)
    counts = work_items.groupby("journey")["item_id"].nunique()
    return {str(k): float(v) * 12.0 / months for k, v in counts.items()}
