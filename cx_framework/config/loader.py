"""Load the configuration set and check it against itself.

``load_config(directory)`` reads every file of DESIGN.md "Configs" and cross-checks references: every metric id
used in the scorecard, schemes, causal graph and SLAs exists in the catalogue; every department exists;
threshold/target/stretch are ordered consistently with the metric's direction. Errors name the file, key path
and line.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from cx_framework.config._yaml import format_loc, line_of, read_yaml
from cx_framework.config.loops import direct_effects, divergence_message, divergent_loop
from cx_framework.config.models import (
    Assumptions,
    CausalGraph,
    Component,
    Economics,
    FailureDemand,
    Metric,
    MetricCatalogue,
    Organisation,
    Scheme,
    Scorecard,
    Slas,
    _LocatedError,
)
from cx_framework.engine.settings import EngineSettings, load_engine_settings
from cx_framework.errors import ConfigError

__all__ = [
    "CxConfig",
    "load_config",
    "load_scheme",
    "as_scheme",
    "parse_model",
    "check_order",
    "plan_problem",
    "FILES",
]

M = TypeVar("M", bound=BaseModel)

FILES: dict[str, type[BaseModel]] = {
    "organisation": Organisation,
    "metrics": MetricCatalogue,
    "scorecard": Scorecard,
    "causal_graph": CausalGraph,
    "slas": Slas,
    "economics": Economics,
    "failure_demand": FailureDemand,
}


@dataclass(frozen=True)
class CxConfig:
    """The whole, cross-checked configuration set."""

    organisation: Organisation
    metrics: MetricCatalogue
    scorecard: Scorecard
    causal_graph: CausalGraph
    slas: Slas
    economics: Economics
    failure_demand: FailureDemand
    schemes: dict[str, Scheme] = field(default_factory=dict)
    directory: Path | None = None
    #: ``assumptions.yaml`` (optional file; defaults of :class:`Assumptions` when absent)
    assumptions: Assumptions = field(default_factory=Assumptions)
    #: engine for the row-level steps (optional ``engine.yaml``; defaults: DuckDB, no explicit limits)
    engine: EngineSettings = field(default_factory=lambda: EngineSettings())

    def metric(self, metric_id: str) -> Metric:
        """The catalogue entry for ``metric_id`` (ConfigError if unknown)."""
        try:
            return self.metrics.by_id[metric_id]
        except KeyError:
            raise ConfigError(
                f"unknown metric '{metric_id}'; known metrics: {', '.join(sorted(self.metrics.by_id))}",
                file=str(self.directory / "metrics.yaml") if self.directory else None,
            ) from None

    def with_scheme(self, scheme: Scheme | Mapping[str, Any]) -> CxConfig:
        """A copy with ``scheme`` added or replaced, after validating and cross-checking it.

        ``scheme`` may be a :class:`Scheme` or a plain mapping (e.g. edited in a UI). A Scheme is validated again,
        because ``Scheme.model_copy(update=...)`` skips pydantic validation and could carry weights that do not
        sum to 1.

        Raises
        ------
        ConfigError
            Invalid scheme (key path named), unknown metric or role.
        """
        data = scheme.model_dump(by_alias=True) if isinstance(scheme, Scheme) else dict(scheme)
        label = f"scheme '{data.get('id', '?')}'"
        scheme = parse_model(Scheme, data, file=label)
        _check_scheme(scheme, self, file=label, node=None)
        schemes = {**self.schemes, scheme.id: scheme}
        return CxConfig(**{**self.__dict__, "schemes": schemes})


def parse_model(model: type[M], data: Any, *, file: str | None, node: yaml.Node | None = None) -> M:
    """Validate ``data`` into ``model``; a failure becomes a ConfigError naming file, key path and line.

    When several problems are found, an unknown key (usually a typo) is reported first, because it is often
    the cause of the others (a misspelt required key is also "missing").
    """
    if not isinstance(data, dict):
        raise ConfigError(
            f"expected a mapping of `key: value` lines at the top of the file, found {type(data).__name__}",
            file=file,
            line=line_of(node, ()),
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        first = errors[0]
        loc = tuple(p for p in first["loc"] if p != "__root__")
        located = (first.get("ctx") or {}).get("error")
        if isinstance(located, _LocatedError):
            loc = (*loc, *located.loc)
        key = format_loc(loc) or None
        msg = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            allowed = _allowed_keys(model, loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            msg = f"unknown key '{loc[-1]}' (typo?); {hint}allowed keys here: {', '.join(allowed)}"
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise ConfigError(msg + more, file=file, key=key, line=line_of(node, loc)) from None


def as_scheme(value: Any, *, argument: str = "scheme") -> Scheme:
    """A :class:`Scheme` from a Scheme, a plain mapping (as written in YAML or edited in a UI) or a YAML path.

    Every public function that takes a scheme goes through this, so a mapping works everywhere and anything
    else is a clear error instead of an ``AttributeError`` deep inside.

    Raises
    ------
    ConfigError
        An invalid mapping or file (key path named).
    InputValueError
        Any other type.
    """
    from cx_framework.errors import InputValueError

    if isinstance(value, Scheme):
        return value
    if isinstance(value, Mapping):
        return parse_model(
            Scheme, dict(value), file=f"{argument} (scheme '{str(value.get('id', '?'))[:60]}')"
        )
    if isinstance(value, str | Path) and str(value).lower().endswith((".yaml", ".yml")):
        return load_scheme(value)
    raise InputValueError(
        f"argument '{argument}' must be a Scheme (config.schemes['id'], load_scheme(path)), a mapping with the "
        f"scheme's keys, or a path to a scheme .yaml file; got {type(value).__name__}.",
        argument=argument,
    )


def load_scheme(path: str | Path) -> Scheme:
    """Load one incentive scheme YAML (no cross-checks against the catalogue; see ``load_config``)."""
    path = Path(path)
    data, node = read_yaml(path)
    return parse_model(Scheme, data, file=str(path), node=node)


def load_config(directory: str | Path = "configs") -> CxConfig:
    """Load and cross-check every config file in ``directory``.

    Expects ``organisation.yaml, metrics.yaml, scorecard.yaml, causal_graph.yaml, slas.yaml, economics.yaml,
    failure_demand.yaml`` and ``incentives/*.yaml``; ``assumptions.yaml`` is optional (the analytical
    assumptions every surface shares, :class:`~cx_framework.config.models.Assumptions`).

    Raises
    ------
    ConfigError
        Naming the file, key path and line of the first problem.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ConfigError(
            "config directory not found; pass the folder holding organisation.yaml etc.", file=str(directory)
        )
    parsed: dict[str, Any] = {}
    nodes: dict[str, yaml.Node | None] = {}
    for name, model in FILES.items():
        path = directory / f"{name}.yaml"
        data, node = read_yaml(path)
        parsed[name] = parse_model(model, data, file=str(path), node=node)
        nodes[name] = node
    schemes: dict[str, Scheme] = {}
    scheme_nodes: dict[str, tuple[str, yaml.Node | None]] = {}
    for path in sorted((directory / "incentives").glob("*.y*ml")):
        data, node = read_yaml(path)
        scheme = parse_model(Scheme, data, file=str(path), node=node)
        if scheme.id in schemes:
            raise ConfigError(
                f"duplicate scheme id '{scheme.id}' (also in {scheme_nodes[scheme.id][0]})",
                file=str(path),
                key="id",
                line=line_of(node, ("id",)),
            )
        schemes[scheme.id] = scheme
        scheme_nodes[scheme.id] = (str(path), node)
    assumptions = Assumptions()
    assumptions_path = directory / "assumptions.yaml"
    if assumptions_path.is_file():
        data, node = read_yaml(assumptions_path)
        assumptions = parse_model(Assumptions, data, file=str(assumptions_path), node=node)
        if assumptions.current_scheme is not None and assumptions.current_scheme not in schemes:
            known = ", ".join(sorted(schemes)) or "none"
            raise ConfigError(
                f"current_scheme '{assumptions.current_scheme}' is not a scheme in incentives/; known: {known}",
                file=str(assumptions_path),
                key="current_scheme",
                line=line_of(node, ("current_scheme",)),
            )
    config = CxConfig(
        **parsed,
        schemes=schemes,
        directory=directory,
        assumptions=assumptions,
        engine=load_engine_settings(directory),
    )
    _cross_check(config, directory, nodes)
    for scheme_id, scheme in schemes.items():
        file, node = scheme_nodes[scheme_id]
        _check_scheme(scheme, config, file=file, node=node)
    return config


# ------------------------------------------------------------------------------------------- cross-checks
def check_order(metric: Metric, threshold: float, target: float, stretch: float) -> str | None:
    """None if threshold/target/stretch are ordered for the metric's direction, else a message."""
    if metric.direction == "higher_is_better":
        if not threshold < target <= stretch:
            return (
                f"'{metric.id}' is higher-is-better, so threshold < target <= stretch is required "
                f"(got {threshold}, {target}, {stretch})"
            )
    elif not threshold > target >= stretch:
        return (
            f"'{metric.id}' is lower-is-better, so threshold > target >= stretch is required "
            f"(got {threshold}, {target}, {stretch})"
        )
    return None


def _out_of_range(metric: Metric, values: Mapping[str, float | None]) -> tuple[str, str] | None:
    """(field, message) for the first value outside the metric's ``[lower_bound, upper_bound]``, else None.

    Catches unit slips such as a service-level target of ``80`` for a metric measured as a 0-1 share.
    """
    low, high = metric.lower_bound, metric.upper_bound
    for name, value in values.items():
        if value is None:
            continue
        if (low is not None and value < low) or (high is not None and value > high):
            lo = "-inf" if low is None else f"{low:g}"
            hi = "inf" if high is None else f"{high:g}"
            return name, (
                f"{name} {value:g} is outside the range of '{metric.id}' [{lo}, {hi}] (unit: {metric.unit}); "
                "check the unit (shares are 0-1, not percent)"
            )
    return None


def _objective_problem(
    metric: Metric, threshold: float, target: float, stretch: float
) -> tuple[str, str] | None:
    """(field, message) of the first problem of an objective's threshold / target / stretch, else None: a value
    outside the metric's range (:func:`_out_of_range`) first, then their order (:func:`check_order`, reported
    against ``threshold``)."""
    bounds = {"threshold": threshold, "target": target, "stretch": stretch}
    if (bad := _out_of_range(metric, bounds)) is not None:
        return bad
    if (msg := check_order(metric, threshold, target, stretch)) is not None:
        return "threshold", msg
    return None


def _cross_check(config: CxConfig, directory: Path, nodes: dict[str, yaml.Node | None]) -> None:
    metrics = config.metrics.by_id
    departments = set(config.organisation.department_ids)

    def fail(name: str, loc: tuple[Any, ...], msg: str) -> None:
        raise ConfigError(
            msg, file=str(directory / f"{name}.yaml"), key=format_loc(loc), line=line_of(nodes[name], loc)
        )

    def known_metric(name: str, loc: tuple[Any, ...], metric_id: str) -> Metric:
        if metric_id not in metrics:
            fail(
                name,
                loc,
                f"unknown metric '{metric_id}'; add it to metrics.yaml or use one of: "
                f"{', '.join(sorted(metrics))}",
            )
        return metrics[metric_id]

    def known_department(name: str, loc: tuple[Any, ...], dept: str) -> None:
        if dept not in departments:
            fail(
                name,
                loc,
                f"unknown department '{dept}'; departments in organisation.yaml: "
                f"{', '.join(sorted(departments))}",
            )

    for i, m in enumerate(config.metrics.metrics):
        known_department("metrics", ("metrics", i, "owner"), m.owner)
    shared_ids = {o.metric for o in config.scorecard.shared}
    for i, o in enumerate(config.scorecard.shared):
        m = known_metric("scorecard", ("shared", i, "metric"), o.metric)
        if (bad := _objective_problem(m, o.threshold, o.target, o.stretch)) is not None:
            fail("scorecard", ("shared", i, bad[0]), bad[1])
    for dept, objectives in config.scorecard.local.items():
        known_department("scorecard", ("local", dept), dept)
        for i, o in enumerate(objectives):
            m = known_metric("scorecard", ("local", dept, i, "metric"), o.metric)
            if (bad := _objective_problem(m, o.threshold, o.target, o.stretch)) is not None:
                fail("scorecard", ("local", dept, i, bad[0]), bad[1])
            for j, s in enumerate(o.contributes_to):
                if s not in shared_ids:
                    fail(
                        "scorecard",
                        ("local", dept, i, "contributes_to", j),
                        f"'{s}' is not a shared objective; shared metrics are {', '.join(sorted(shared_ids))}",
                    )
    for i, e in enumerate(config.causal_graph.edges):
        known_metric("causal_graph", ("edges", i, "from"), e.source)
        known_metric("causal_graph", ("edges", i, "to"), e.target)
    found = divergent_loop(direct_effects(config.causal_graph))
    if found is not None:
        cycle = found[0]
        on_loop = set(zip(cycle[:-1], cycle[1:], strict=True))
        first = next(i for i, e in enumerate(config.causal_graph.edges) if (e.source, e.target) in on_loop)
        fail("causal_graph", ("edges", first, "elasticity"), divergence_message(*found))
    if config.slas.contact_centre is not None:
        o = config.slas.contact_centre
        m = known_metric("slas", ("contact_centre", "metric"), o.metric)
        if (bad := _objective_problem(m, o.threshold, o.target, o.stretch)) is not None:
            fail("slas", ("contact_centre", bad[0]), bad[1])
    for i, journey in enumerate(config.slas.journeys):
        for k, stage in enumerate(journey.stages):
            known_department("slas", ("journeys", i, "stages", k, "department"), stage.department)
    for i, r in enumerate(config.failure_demand.reasons):
        known_department("failure_demand", ("reasons", i, "originating_department"), r.originating_department)
    for dept in config.failure_demand.fixes:
        known_department("failure_demand", ("fixes", dept), dept)


def _check_scheme(scheme: Scheme, config: CxConfig, *, file: str | None, node: yaml.Node | None) -> None:
    metrics = config.metrics.by_id
    roles = set(config.organisation.role_ids)

    def fail(loc: tuple[Any, ...], msg: str) -> None:
        raise ConfigError(
            msg, file=file or f"scheme '{scheme.id}'", key=format_loc(loc), line=line_of(node, loc)
        )

    for i, role in enumerate(scheme.roles):
        if role not in roles:
            fail(
                ("roles", i), f"unknown role '{role}'; roles in organisation.yaml: {', '.join(sorted(roles))}"
            )
    for i, c in enumerate(scheme.components):
        if c.metric not in metrics:
            fail(
                ("components", i, "metric"),
                f"unknown metric '{c.metric}'; add it to metrics.yaml or use one of: {', '.join(sorted(metrics))}",
            )
        if (bad := _objective_problem(metrics[c.metric], c.threshold, c.target, c.stretch)) is not None:
            fail(("components", i, bad[0]), bad[1])
    for i, g in enumerate(scheme.gates):
        if g.metric not in metrics:
            fail(
                ("gates", i, "metric"),
                f"unknown metric '{g.metric}' in gate; add it to metrics.yaml or use one of: "
                f"{', '.join(sorted(metrics))}",
            )
        if (bad := _out_of_range(metrics[g.metric], {"min": g.min, "max": g.max})) is not None:
            fail(("gates", i, bad[0]), bad[1])
    for i, c in enumerate(scheme.components):
        if (bad := plan_problem(c, metrics[c.metric])) is not None:
            fail(("components", i, bad[0]), bad[1])
    for k, v in enumerate(scheme.versions):
        for i, c in enumerate(v.components or []):
            loc: tuple[Any, ...] = ("versions", k, "components", i)
            if c.metric not in metrics:
                fail(
                    (*loc, "metric"),
                    f"unknown metric '{c.metric}'; add it to metrics.yaml or use one of: {', '.join(sorted(metrics))}",
                )
            if (bad := _objective_problem(metrics[c.metric], c.threshold, c.target, c.stretch)) is not None:
                fail((*loc, bad[0]), bad[1])
            if (bad := plan_problem(c, metrics[c.metric])) is not None:
                fail((*loc, bad[0]), bad[1])


def plan_problem(component: Component, metric: Metric) -> tuple[str, str] | None:
    """(key, message) when a component's plan mechanics do not suit its metric, else None."""
    if component.rate_table is not None and metric.direction != "higher_is_better":
        return (
            "rate_table",
            f"a rate table pays on attainment = value / quota, which needs a higher-is-better metric; "
            f"'{metric.id}' is lower-is-better — use the payout curve (threshold/target/stretch) instead",
        )
    if component.prorate and metric.aggregation != "sum":
        return (
            "prorate",
            f"proration scales a quota by time worked, which only suits additive (sum) metrics; '{metric.id}' "
            f"aggregates by {metric.aggregation} — remove `prorate`",
        )
    if component.clawback is not None and (
        metric.aggregation != "sum" or metric.direction != "higher_is_better"
    ):
        return (
            "clawback",
            f"a customer clawback reverses credited sales, so the metric must count them (sum, higher is better); "
            f"'{metric.id}' does not",
        )
    return None


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names (aliases) of the sub-model at ``loc`` for a helpful 'unknown key' message.

    Follows the type annotations: a model field by name, a list item by index, a dict value by its key (e.g.
    ``local.billing[0]`` in the scorecard is ``dict[str, list[LocalObjective]]``).
    """
    current: Any = model
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    current = _unwrap(current)
    if not (isinstance(current, type) and issubclass(current, BaseModel)):
        return []
    return [f.alias or name for name, f in current.model_fields.items()]


def _unwrap(annotation: Any) -> Any:
    """``X | None`` -> ``X``."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        return args[0]
    return annotation


def _step(annotation: Any, part: Any) -> Any:
    """The annotation one step down ``part`` (field name, list index or dict key), or None."""
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        info = annotation.model_fields.get(part) if isinstance(part, str) else None
        if info is None:  # addressed by alias (e.g. Edge `from`)
            info = next((f for f in annotation.model_fields.values() if f.alias == part), None)
        return info.annotation if info is not None else None
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is list and args:
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    return None
