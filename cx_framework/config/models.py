"""Pydantic v2 models for every configuration file (DESIGN.md "Configs").

All models are frozen (immutable) and forbid unknown keys, so a typo in a YAML key is an error, not a silently
ignored setting. Cross-file checks (does this metric exist?) live in :mod:`cx_framework.config.loader`.
"""

from __future__ import annotations

import functools
import math
import re
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

__all__ = [
    "Department",
    "Organisation",
    "Metric",
    "MetricCatalogue",
    "Objective",
    "LocalObjective",
    "Scorecard",
    "Edge",
    "CausalGraph",
    "Duration",
    "LeadTime",
    "StageSla",
    "Promise",
    "Stage",
    "Journey",
    "Slas",
    "Component",
    "Gate",
    "Scheme",
    "Tier",
    "RateTable",
    "Crediting",
    "Clawback",
    "Draw",
    "DrawRecovery",
    "SchemeVersion",
    "Economics",
    "Reason",
    "FailureDemand",
    "parse_duration",
    "WEIGHT_TOLERANCE",
]

WEIGHT_TOLERANCE = 1e-6
Direction = Literal["higher_is_better", "lower_is_better"]
#: Longest id accepted (metric, department, team, role, scheme ids): ids appear in tables, file names and messages.
MAX_ID_LENGTH = 64
Id = Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH, pattern=r"^[a-z][a-z0-9_]*$")]


class _LocatedError(ValueError):
    """A validator error that knows the key path (relative to the validated model) it is about.

    Model-level validators see the whole object, so pydantic reports their errors at the model's own location;
    ``loc`` lets :func:`cx_framework.config.loader.parse_model` name the exact key (``metrics[3].id``) and line.
    """

    def __init__(self, message: str, loc: tuple[str | int, ...]) -> None:
        super().__init__(message)
        self.loc = loc


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


# --------------------------------------------------------------------------------------------- organisation
class Department(_Model):
    """A department. ``kind`` is front_office (talks to customers), back_office (works items) or support."""

    id: Id
    name: str
    kind: Literal["front_office", "back_office", "support"]
    teams: list[Id] = Field(min_length=1)
    roles: list[Id] = Field(min_length=1)


class Organisation(_Model):
    name: str = "Organisation"
    departments: list[Department] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Organisation:
        _no_duplicates([d.id for d in self.departments], ("departments",), "id")
        seen: dict[str, str] = {}
        for i, d in enumerate(self.departments):
            for j, team in enumerate(d.teams):
                if team in seen:
                    raise _LocatedError(
                        f"duplicate team '{team}' (also in department '{seen[team]}'); each team belongs to one "
                        "department",
                        ("departments", i, "teams", j),
                    )
                seen[team] = d.id
        return self

    @property
    def department_ids(self) -> list[str]:
        return [d.id for d in self.departments]

    @property
    def team_department(self) -> dict[str, str]:
        """Team id -> department id."""
        return {t: d.id for d in self.departments for t in d.teams}

    @property
    def role_ids(self) -> list[str]:
        return sorted({r for d in self.departments for r in d.roles})

    def department(self, department_id: str) -> Department:
        for d in self.departments:
            if d.id == department_id:
                return d
        raise KeyError(department_id)


# --------------------------------------------------------------------------------------------- metrics
class Metric(_Model):
    """One metric of the catalogue.

    ``aggregation`` says how values combine across teams, departments and periods:
    ``mean`` (plain mean), ``sum``, ``volume_weighted`` (Σ value·volume / Σ volume) and ``ratio`` (the value is
    numerator/denominator and ``volume`` carries the denominator, so Σ value·volume / Σ volume recomputes the ratio
    exactly from its parts — never a mean of percentages).
    """

    id: Id
    name: str
    unit: str
    direction: Direction
    level: Literal["customer", "department", "employee"]
    owner: Id
    aggregation: Literal["mean", "sum", "volume_weighted", "ratio"]
    customer_centric: bool
    definition: str = Field(min_length=10)
    lower_bound: float | None = None
    upper_bound: float | None = None
    #: months of later data needed before a month's value is final (next-month churn, journeys still open at the
    #: end of the data, a 7-day repeat window crossing the month end): 0 = final when the month ends
    lag_periods: int = Field(default=0, ge=0, le=24)

    @model_validator(mode="after")
    def _bounds(self) -> Metric:
        if (
            self.lower_bound is not None
            and self.upper_bound is not None
            and self.lower_bound >= self.upper_bound
        ):
            raise _LocatedError(
                f"lower_bound {self.lower_bound:g} must be below upper_bound {self.upper_bound:g}",
                ("upper_bound",),
            )
        return self

    @property
    def sign(self) -> int:
        """+1 when higher is better, −1 when lower is better."""
        return 1 if self.direction == "higher_is_better" else -1


class MetricCatalogue(_Model):
    metrics: list[Metric] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> MetricCatalogue:
        _no_duplicates([m.id for m in self.metrics], ("metrics",), "id")
        return self

    @property
    def by_id(self) -> dict[str, Metric]:
        return {m.id: m for m in self.metrics}


# --------------------------------------------------------------------------------------------- scorecard
class Objective(_Model):
    """A scored metric: piecewise linear through (threshold, 0), (target, 100), (stretch, 120)."""

    metric: Id
    threshold: float
    target: float
    stretch: float
    weight: float = Field(gt=0, le=1)


class LocalObjective(Objective):
    contributes_to: list[Id] = Field(default_factory=list)


class Scorecard(_Model):
    shared: list[Objective] = Field(min_length=1)
    local: dict[Id, list[LocalObjective]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _weights(self) -> Scorecard:
        _weights_sum_to_one([o.weight for o in self.shared], ("shared",))
        _no_duplicates([o.metric for o in self.shared], ("shared",), "metric")
        for dept, objectives in self.local.items():
            _weights_sum_to_one([o.weight for o in objectives], ("local", dept))
            _no_duplicates([o.metric for o in objectives], ("local", dept), "metric")
        return self


# --------------------------------------------------------------------------------------------- causal graph
class Edge(_Model):
    """``from`` → ``to`` with a signed elasticity: +0.3 = a 1% rise in ``from`` raises ``to`` by 0.3%."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    source: Id = Field(alias="from")
    target: Id = Field(alias="to")
    elasticity: float = Field(ge=-5, le=5)
    lag_periods: int = Field(default=0, ge=0)
    note: str = ""


class CausalGraph(_Model):
    edges: list[Edge] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> CausalGraph:
        for i, e in enumerate(self.edges):
            if e.source == e.target:
                raise _LocatedError(
                    f"a metric cannot cause itself ({e.source} -> {e.target})", ("edges", i, "to")
                )
        _no_duplicates([f"{e.source} -> {e.target}" for e in self.edges], ("edges",), "edge")
        return self

    @property
    def nodes(self) -> list[str]:
        seen: dict[str, None] = {}
        for e in self.edges:
            seen.setdefault(e.source)
            seen.setdefault(e.target)
        return list(seen)


# --------------------------------------------------------------------------------------------- SLAs
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: str | float | int | timedelta) -> timedelta:
    """Parse a duration into a timedelta.

    Accepts ``"20s"``, ``"30m"``, ``"48h"``, ``"5d"``, ``"2w"`` (decimals allowed, e.g. ``"1.5h"``), a plain
    number of hours, a timedelta, or an ISO 8601 duration such as ``"P7D"`` / ``"PT8H"`` (what
    ``model_dump(mode="json")`` writes, so dumped configs load again).

    Raises
    ------
    ValueError
        Anything else (e.g. ``"5 days"``), a negative or non-finite number, or a boolean.
    """
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration; write e.g. '20s', '30m', '48h', '5d' or '2w'")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{value!r} is not a duration; use a non-negative number of hours or e.g. '48h'")
        return timedelta(hours=float(value))
    text = str(value).strip()
    if text.startswith("P"):
        try:
            return _iso_duration(text)
        except ValueError:
            pass
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"'{value}' is not a duration; write e.g. '20s', '30m', '48h', '5d' or '2w'")
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def _iso_duration(text: str) -> timedelta:
    """ISO 8601 duration (``P7D``, ``PT8H``) via pydantic's parser."""
    within: timedelta = _timedelta_adapter().validate_python(text)
    return within


@functools.cache
def _timedelta_adapter() -> TypeAdapter[timedelta]:
    return TypeAdapter(timedelta)


class Duration(_Model):
    within: timedelta
    percent: float = Field(gt=0, lt=1, description="share 0-1 of items that must finish within `within`")

    @field_validator("within", mode="before")
    @classmethod
    def _parse(cls, v: object) -> timedelta:
        within = parse_duration(v)  # type: ignore[arg-type]
        if within <= timedelta(0):
            raise ValueError(f"`within` must be longer than zero (got {v!r})")
        return within

    @property
    def hours(self) -> float:
        return self.within.total_seconds() / 3600.0


class LeadTime(_Model):
    """A lead-time distribution in hours: gamma(shape, scale_h), lognormal(sigma, median_h),
    weibull(shape, scale_h) or exponential(mean_h)."""

    distribution: Literal["gamma", "lognormal", "weibull", "exponential"]
    shape: float | None = Field(default=None, gt=0)
    scale_h: float | None = Field(default=None, gt=0)
    sigma: float | None = Field(default=None, gt=0)
    median_h: float | None = Field(default=None, gt=0)
    mean_h: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _params(self) -> LeadTime:
        needed = {
            "gamma": ("shape", "scale_h"),
            "weibull": ("shape", "scale_h"),
            "lognormal": ("sigma", "median_h"),
            "exponential": ("mean_h",),
        }[self.distribution]
        missing = [p for p in needed if getattr(self, p) is None]
        if missing:
            raise ValueError(
                f"{self.distribution} lead time needs {', '.join(needed)}; missing {', '.join(missing)}"
            )
        return self

    def frozen(self) -> Any:  # scipy.stats frozen distribution (rv_continuous_frozen)
        """The distribution as a scipy.stats frozen distribution (hours)."""
        from scipy import stats

        if self.distribution == "gamma":
            return stats.gamma(a=self.shape, scale=self.scale_h)
        if self.distribution == "weibull":
            return stats.weibull_min(c=self.shape, scale=self.scale_h)
        if self.distribution == "lognormal":
            return stats.lognorm(s=self.sigma, scale=self.median_h)
        return stats.expon(scale=self.mean_h)


class StageSla(Duration):
    pass


class Promise(Duration):
    pass


class Stage(_Model):
    stage: Id
    department: Id
    sla: StageSla
    lead_time: LeadTime | None = None
    handoff_wait: LeadTime | None = None


class Journey(_Model):
    id: Id
    name: str
    promise: Promise
    stages: list[Stage] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Journey:
        _no_duplicates([s.stage for s in self.stages], ("stages",), "stage")
        return self


class Slas(_Model):
    contact_centre: Objective | None = None
    journeys: list[Journey] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Slas:
        _no_duplicates([j.id for j in self.journeys], ("journeys",), "id")
        return self

    def journey(self, journey_id: str) -> Journey:
        for j in self.journeys:
            if j.id == journey_id:
                return j
        raise KeyError(journey_id)


# --------------------------------------------------------------------------------------------- incentives
class Component(_Model):
    """One bonus component. Payout curve per DESIGN.md: 0 below threshold, payout_at_threshold at threshold,
    1.0 at target, payout_at_stretch at stretch, linear in between, flat above stretch (mirrored when the metric
    is lower-is-better)."""

    metric: Id
    weight: float = Field(gt=0, le=1)
    threshold: float
    target: float
    stretch: float
    payout_at_threshold: float = Field(default=0.5, ge=0, le=1)
    payout_at_stretch: float = Field(default=1.5, ge=1, le=5)
    description: str = ""
    rate_table: RateTable | None = None
    prorate: bool = False
    credit: Crediting | None = None
    clawback: Clawback | None = None


class Tier(_Model):
    """One row of a rate table: attainment in ``[from, to)`` (shares of quota, 1.0 = 100 %) pays ``rate``.

    ``to`` may be omitted on the last tier (open-ended). A rate above 1 is an accelerator, below 1 a decelerator.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    lower: float = Field(alias="from", ge=0)
    upper: float | None = Field(default=None, alias="to")
    rate: float = Field(ge=0, le=20)

    @model_validator(mode="after")
    def _ordered(self) -> Tier:
        if self.upper is not None and self.upper <= self.lower:
            raise _LocatedError(f"tier `to` ({self.upper:g}) must be above `from` ({self.lower:g})", ("to",))
        return self


class RateTable(_Model):
    """Tiered rates on attainment = credited value / quota (the component's ``target``, prorated if asked).

    ``mode: marginal`` pays each slice of attainment at its own tier's rate (Σ rateᵢ × attainment inside tier ᵢ);
    ``mode: retroactive`` pays the whole attainment at the rate of the tier it ends in (rate(a) × a). The result
    is the multiplier of the component's share of the target bonus, like a curve point. Tiers must start at 0 and
    follow each other without gaps or overlaps; attainment above a closed last tier earns nothing more.
    """

    mode: Literal["marginal", "retroactive"] = "marginal"
    tiers: list[Tier] = Field(min_length=1)

    @model_validator(mode="after")
    def _contiguous(self) -> RateTable:
        tiers = self.tiers
        if tiers[0].lower != 0:
            raise _LocatedError(
                f"the first tier must start at 0 (got from: {tiers[0].lower:g}); attainment below it would have "
                "no rate",
                ("tiers", 0, "from"),
            )
        for i in range(1, len(tiers)):
            prev_upper = tiers[i - 1].upper
            if prev_upper is None:
                raise _LocatedError(
                    f"tier {i - 1} is open-ended (no `to`) but tier {i} follows it; only the last tier may omit "
                    "`to`",
                    ("tiers", i - 1, "to"),
                )
            lower = tiers[i].lower
            if lower < prev_upper:
                raise _LocatedError(
                    f"overlapping tiers: tier {i} starts at {lower:g}, before tier {i - 1} ends at "
                    f"{prev_upper:g}; set from: {prev_upper:g}",
                    ("tiers", i, "from"),
                )
            if lower > prev_upper:
                raise _LocatedError(
                    f"gap in the tier table: tier {i - 1} ends at {prev_upper:g} but tier {i} starts at {lower:g}; "
                    f"attainment in between would have no rate; set from: {prev_upper:g}",
                    ("tiers", i, "from"),
                )
        return self


class Crediting(_Model):
    """Who is credited with a result. ``basis: team`` credits each member with the team's result: for additive
    (``sum``) metrics the team total is split by ``split`` (``equal`` shares, or ``fte`` = FTE × share of the period
    employed); for other metrics every member is credited with the team mean."""

    basis: Literal["individual", "team"] = "team"
    split: Literal["equal", "fte"] = "equal"


class Clawback(_Model):
    """Reverse a credited sale when its customer churns within ``window_days`` of the sale.

    The clawback is the difference between what the sale's period paid and what it would have paid without the
    reversed sales; it is charged in the period the customer churns and recovered against that and later
    earnings.
    """

    window_days: int
    basis: Literal["customer_churn"] = "customer_churn"

    @field_validator("window_days")
    @classmethod
    def _non_negative(cls, v: int) -> int:
        if v < 0:
            raise ValueError(
                f"the clawback window is negative ({v} days); give the number of days after the sale within which "
                "a churn reverses it, e.g. 90"
            )
        return v


class DrawRecovery(_Model):
    """How an outstanding recoverable draw is recovered from later earnings.

    ``share_of_excess`` of the earnings above the draw (while a draw is paid) or of all earnings (after the draw
    period) is taken each period until the balance is repaid, starting in the employee's ``start_period``-th
    period in the plan (1 = at once). While the draw is still paid, recovery never takes pay below the draw.
    """

    share_of_excess: float = Field(default=1.0, gt=0, le=1)
    start_period: int = Field(default=1, ge=1)


class Draw(_Model):
    """A guaranteed minimum payment per period (a draw against incentive earnings).

    Exactly one of ``amount`` (currency per period) or ``amount_pct`` (percent of the period's target bonus). A
    ``recoverable`` draw turns each top-up into a balance owed that ``recovery`` takes back from later earnings; a
    ``non_recoverable`` draw is a guarantee that is never taken back. ``periods`` limits the draw to each
    employee's first N periods of employment, counting the period of the hire date as 1 (the usual new-hire
    draw; omit: every period).
    """

    kind: Literal["recoverable", "non_recoverable"]
    amount: float | None = Field(default=None, gt=0)
    amount_pct: float | None = Field(default=None, gt=0, le=500)
    periods: int | None = Field(default=None, ge=1)
    recovery: DrawRecovery | None = None

    @model_validator(mode="after")
    def _rules(self) -> Draw:
        if (self.amount is None) == (self.amount_pct is None):
            raise _LocatedError(
                "a draw needs exactly one of `amount` (currency) or `amount_pct`", ("amount",)
            )
        if self.kind == "recoverable" and self.recovery is None:
            raise _LocatedError(
                "a recoverable draw needs a recovery rule, e.g. `recovery: {share_of_excess: 1.0}`; or make it "
                "`kind: non_recoverable`",
                ("recovery",),
            )
        if self.kind == "non_recoverable" and self.recovery is not None:
            raise _LocatedError(
                "a non-recoverable draw is never recovered; remove `recovery` or make it `kind: recoverable`",
                ("recovery",),
            )
        return self


class SchemeVersion(_Model):
    """An effective-dated version of a scheme: from ``effective_from`` (a period start) to ``effective_to``
    (inclusive; omit = open) the listed keys replace the scheme's own; periods outside every version keep the base
    rules."""

    effective_from: date
    effective_to: date | None = None
    note: str = ""
    target_bonus_pct: float | None = Field(default=None, gt=0, le=200)
    components: list[Component] | None = Field(default=None, min_length=1)
    gates: list[Gate] | None = None
    cap_pct: float | None = Field(default=None, gt=0, le=1000)

    @model_validator(mode="after")
    def _check(self) -> SchemeVersion:
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise _LocatedError(
                f"effective_to {self.effective_to} is before effective_from {self.effective_from}",
                ("effective_to",),
            )
        if self.components is not None:
            _weights_sum_to_one([c.weight for c in self.components], ("components",))
            _no_duplicates([c.metric for c in self.components], ("components",), "metric")
        return self


class Gate(_Model):
    """Failing a gate zeroes the whole payout for the period: value must be >= ``min`` and/or <= ``max``."""

    metric: Id
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> Gate:
        if self.min is None and self.max is None:
            raise ValueError("a gate needs `min` or `max`")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"gate min {self.min} is above max {self.max}")
        return self


Component.model_rebuild()
SchemeVersion.model_rebuild()


class Scheme(_Model):
    """An incentive scheme. ``target_bonus_pct`` is percent of base salary per year (10 = 10 %);
    ``cap_pct`` is percent of the period's target bonus (150 = payout capped at 1.5 × target bonus)."""

    id: Id
    name: str
    description: str = ""
    roles: list[Id] = Field(min_length=1)
    target_bonus_pct: float = Field(gt=0, le=200)
    period: Literal["month", "quarter"] = "month"
    components: list[Component] = Field(min_length=1)
    gates: list[Gate] = Field(default_factory=list)
    cap_pct: float = Field(default=200.0, gt=0, le=1000)
    cap_carry_forward: bool = False
    draw: Draw | None = None
    versions: list[SchemeVersion] = Field(default_factory=list)

    @model_validator(mode="after")
    def _weights(self) -> Scheme:
        _weights_sum_to_one([c.weight for c in self.components], ("components",))
        _no_duplicates([c.metric for c in self.components], ("components",), "metric")
        step = 12 // self.periods_per_year
        for i, v in enumerate(self.versions):
            if v.effective_from.day != 1 or (v.effective_from.month - 1) % step:
                raise _LocatedError(
                    f"effective_from {v.effective_from} is not the start of a {self.period}; versions change the "
                    f"rules from a period start (e.g. {_period_start(v.effective_from, step)})",
                    ("versions", i, "effective_from"),
                )
        order = sorted(range(len(self.versions)), key=lambda k: self.versions[k].effective_from)
        for a, b in zip(order, order[1:], strict=False):
            first, second = self.versions[a], self.versions[b]
            if first.effective_to is None or first.effective_to >= second.effective_from:
                raise _LocatedError(
                    f"version {b} (effective_from {second.effective_from}) overlaps version {a} "
                    f"(effective {first.effective_from} to {first.effective_to or 'open'}); end version {a} before "
                    f"{second.effective_from} with `effective_to`",
                    ("versions", b, "effective_from"),
                )
        return self

    @property
    def periods_per_year(self) -> int:
        return 12 if self.period == "month" else 4


# --------------------------------------------------------------------------------------------- economics
class Economics(_Model):
    currency: str = "GBP"
    cost_per_agent_hour: float = Field(gt=0, description="fully loaded cost of one paid agent hour")
    shrinkage: float = Field(ge=0, lt=1, description="share of paid time not available for contacts")
    hours_per_fte_week: float = Field(gt=0, le=80)
    customer_lifetime_months: float = Field(gt=0)
    margin: float = Field(gt=0, le=1, description="contribution margin on monthly revenue, share 0-1")
    discount_rate_annual: float = Field(ge=0, lt=1)
    cost_per_contact: dict[Literal["phone", "email", "chat"], float] = Field(default_factory=dict)
    service_level_target: float = Field(default=0.8, gt=0, lt=1)
    answer_s: float = Field(default=20.0, ge=0)
    annual_bonus_budget: float | None = Field(default=None, ge=0)


# --------------------------------------------------------------------------------------------- assumptions
class Assumptions(_Model):
    """What every surface assumes (``assumptions.yaml``): one set, read by the Analysis, shown on every surface.

    Money, shrinkage and the service-level target stay in ``economics.yaml``; these are the analytical choices
    that used to differ between code defaults.
    """

    current_scheme: Id | None = Field(
        default=None, description="bonus scheme in force today (baseline of every scheme comparison)"
    )
    as_of: str = Field(
        default="latest_complete",
        description="reporting month: 'latest_complete' (latest month whose later data is observed) or YYYY-MM",
    )
    baseline_months: int = Field(
        default=3,
        ge=1,
        le=24,
        description="months of recent intervals used as the forecast (staffing, economics)",
    )
    service_level_definition: Literal["offered", "answered", "excl_short_abandons"] = "offered"
    retention_model: Literal["logit", "cox"] = "logit"
    retention_dose: Literal["linear", "spline", "binned"] = "linear"
    retention_lag: int = Field(
        default=0, ge=0, le=12, description="months between the service and the churn month"
    )
    sla_lead_times: Literal["data", "config"] = Field(
        default="data", description="stage lead times fitted from work_items ('data') or given in slas.yaml"
    )
    sl_draws: int = Field(
        default=200, ge=20, le=5000, description="parameter draws behind the optimum's interval"
    )
    evidence_draws: int = Field(
        default=2000,
        ge=100,
        le=100_000,
        description="parameter draws of the estimated causal graph behind every conflict's interval",
    )
    behaviour_draws: int = Field(
        default=100,
        ge=20,
        le=20_000,
        description="draws of the estimated causal graph behind the behaviour simulation's value interval",
    )
    effort_budget: float = Field(default=0.10, gt=0, le=1)
    seed: int = Field(default=0, ge=0)

    @field_validator("as_of")
    @classmethod
    def _as_of(cls, v: str) -> str:
        if v != "latest_complete" and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", v):
            raise ValueError(f"as_of must be 'latest_complete' or a month YYYY-MM, got {v!r}")
        return v


# --------------------------------------------------------------------------------------------- failure demand
class Reason(_Model):
    """A contact reason. ``is_failure`` marks failure demand (caused by a failure to do something or do it
    right for the customer — Seddon, *Freedom from Command and Control*, 2003) and ``originating_department`` is
    the department whose failure causes it (for value demand: the department that serves it)."""

    id: Id
    description: str
    is_failure: bool
    originating_department: Id


class Fix(_Model):
    """A fix of one department's failure demand at source: what it is and what it costs (one-off, currency)."""

    description: str = Field(min_length=5)
    cost: float = Field(ge=0)
    #: how the cost was estimated (e.g. "12 person-months at GBP 6,000"), shown next to the value
    basis: str = ""
    #: share 0-1 of the department's failure-demand contacts the fix removes (default: the actions assumption)
    expected_reduction: float | None = Field(default=None, ge=0, le=1)


class FailureDemand(_Model):
    repeat_window_days: int = Field(default=7, gt=0)
    reasons: list[Reason] = Field(min_length=1)
    #: fix at source per originating department (department id -> Fix); without one a fix is costed by rule
    fixes: dict[Id, Fix] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _unique(self) -> FailureDemand:
        _no_duplicates([r.id for r in self.reasons], ("reasons",), "id")
        return self

    @property
    def by_id(self) -> dict[str, Reason]:
        return {r.id: r for r in self.reasons}


# --------------------------------------------------------------------------------------------- helpers
def _period_start(day: date, step_months: int) -> date:
    """Start of the month (step 1) or quarter (step 3) holding ``day``."""
    return date(day.year, day.month - (day.month - 1) % step_months, 1)


def _weights_sum_to_one(weights: list[float], loc: tuple[str | int, ...]) -> None:
    total = sum(weights)
    if abs(total - 1.0) > WEIGHT_TOLERANCE:
        raise _LocatedError(
            f"weights sum to {total:.6g}, not 1 ({' + '.join(f'{w:g}' for w in weights)}); "
            "adjust them so they add up to 1",
            loc,
        )


def _no_duplicates(values: list[str], loc: tuple[str | int, ...], field: str) -> None:
    """Raise at the second occurrence of a repeated value, e.g. key path ``metrics[3].id``.

    ``field`` is the key holding the value; ``"edge"`` (a from/to pair, no single key) points at the list item.
    """
    first: dict[str, int] = {}
    prefix = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if k else p) for k, p in enumerate(loc))
    for i, value in enumerate(values):
        if value in first:
            key: tuple[str | int, ...] = (*loc, i) if field == "edge" else (*loc, i, field)
            raise _LocatedError(
                f"duplicate {field} '{value}' (already used at {prefix}[{first[value]}]); each must appear once",
                key,
            )
        first[value] = i
