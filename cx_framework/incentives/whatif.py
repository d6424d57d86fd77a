"""What-if edits of a bonus scheme for the HR modeller (DESIGN.md "Configs": incentives/<scheme>.yaml).

Schemes are frozen pydantic models, so every helper returns a **new, re-validated** :class:`Scheme`; an invalid
edit raises :class:`~cx_framework.errors.ConfigError` naming the key path (``components[1].weight``). Pass
``config=`` to also check the edit against the metric catalogue (unknown metric, threshold order inconsistent
with the metric's direction).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import yaml

from cx_framework.config.loader import CxConfig, parse_model
from cx_framework.config.models import MetricCatalogue, Scheme
from cx_framework.errors import ConfigError
from cx_framework.incentives.payouts import _catalogue, _check_scheme, _direction

__all__ = [
    "reweight",
    "move_threshold",
    "add_gate",
    "remove_gate",
    "set_cap",
    "scheme_to_table",
    "scheme_from_table",
    "scheme_to_yaml",
    "COMPONENT_COLUMNS",
    "GATE_COLUMNS",
    "PLAN_KEYS",
    "TIER_COLUMNS",
    "set_component_plan",
    "set_draw",
    "tiers_to_table",
]

#: Columns of a rate-table editor (attainment shares of quota; ``to`` blank on an open last tier).
TIER_COLUMNS: tuple[str, ...] = ("from", "to", "rate")

COMPONENT_COLUMNS: tuple[str, ...] = (
    "metric",
    "weight",
    "threshold",
    "target",
    "stretch",
    "payout_at_threshold",
    "payout_at_stretch",
)
GATE_COLUMNS: tuple[str, ...] = ("metric", "min", "max")
#: Component keys beyond the curve table that a table edit keeps (matched by metric).
PLAN_KEYS: tuple[str, ...] = ("rate_table", "prorate", "credit", "clawback")


def _rebuild(
    scheme: Scheme, data: dict[str, Any], config: CxConfig | MetricCatalogue | None, what: str
) -> Scheme:
    new = parse_model(Scheme, data, file=f"scheme '{scheme.id}' ({what})")
    _check_scheme(new, _catalogue(config))
    return new


def _component_index(scheme: Scheme, metric: str) -> int:
    for i, c in enumerate(scheme.components):
        if c.metric == metric:
            return i
    raise ConfigError(
        f"'{metric}' is not a component of this scheme; components are "
        f"{', '.join(c.metric for c in scheme.components)}",
        file=f"scheme '{scheme.id}'",
        key="components",
    )


def reweight(
    scheme: Scheme, metric: str, weight: float, *, config: CxConfig | MetricCatalogue | None = None
) -> Scheme:
    """Set one component's weight and rescale the others proportionally so the weights still sum to 1.

    Parameters
    ----------
    scheme : Scheme
    metric : str
        Component metric id.
    weight : float
        New weight, share 0–1 (exclusive of 0; 1 only for a single-component scheme).

    Returns
    -------
    Scheme
        New validated scheme; other weights are ``w_j × (1 − weight) / Σ_{k≠i} w_k``.

    Raises
    ------
    ConfigError
        Unknown component, or a weight that leaves the others at 0 or outside (0, 1].
    """
    i = _component_index(scheme, metric)
    data = scheme.model_dump(by_alias=True)
    others = sum(c.weight for j, c in enumerate(scheme.components) if j != i)
    if not (0 < weight <= 1) or (others > 0 and weight >= 1):
        raise ConfigError(
            f"weight {weight} for '{metric}' must be in (0, 1) so the other components keep a positive weight "
            "(remove components with scheme_from_table instead)",
            file=f"scheme '{scheme.id}'",
            key=f"components[{i}].weight",
        )
    for j, comp in enumerate(data["components"]):
        comp["weight"] = float(weight) if j == i else comp["weight"] * (1.0 - weight) / others
    return _rebuild(scheme, data, config, f"reweight {metric}")


def move_threshold(
    scheme: Scheme,
    metric: str,
    threshold: float | None = None,
    target: float | None = None,
    stretch: float | None = None,
    *,
    config: CxConfig | MetricCatalogue | None = None,
) -> Scheme:
    """Move a component's threshold, target and/or stretch (None keeps the current point).

    Raises
    ------
    ConfigError
        Unknown component; with ``config``, points no longer ordered for the metric's direction; without it,
        points that reverse the component's current direction or are not strictly ordered.
    """
    i = _component_index(scheme, metric)
    old = scheme.components[i]
    points = {
        "threshold": old.threshold if threshold is None else float(threshold),
        "target": old.target if target is None else float(target),
        "stretch": old.stretch if stretch is None else float(stretch),
    }
    if config is None:
        sign = _direction(old, None)  # read from the current points: threshold above target = lower is better
        lo, mid, hi = (sign * points[k] for k in ("threshold", "target", "stretch"))
        if not lo < mid <= hi:
            order = "threshold < target <= stretch" if sign > 0 else "threshold > target >= stretch"
            raise ConfigError(
                f"'{metric}' needs {order} (got {points['threshold']}, {points['target']}, {points['stretch']})",
                file=f"scheme '{scheme.id}'",
                key=f"components[{i}].threshold",
            )
    data = scheme.model_dump(by_alias=True)
    data["components"][i].update(points)
    return _rebuild(scheme, data, config, f"move {metric}")


def add_gate(
    scheme: Scheme,
    metric: str,
    min: float | None = None,  # noqa: A002 - mirrors the YAML key
    max: float | None = None,  # noqa: A002
    *,
    config: CxConfig | MetricCatalogue | None = None,
) -> Scheme:
    """Add a gate (or replace the existing gate on ``metric``): the period pays nothing unless
    ``min <= value <= max``.

    Raises
    ------
    ConfigError
        Neither bound given, ``min > max``, or (with ``config``) an unknown metric; key ``gates[i]``.
    """
    data = scheme.model_dump(by_alias=True)
    gates = [g for g in data["gates"] if g["metric"] != metric]
    gates.append({"metric": metric, "min": min, "max": max})
    data["gates"] = gates
    return _rebuild(scheme, data, config, f"gate on {metric}")


def remove_gate(scheme: Scheme, metric: str) -> Scheme:
    """Remove the gate on ``metric`` (ConfigError naming ``gates`` if there is none)."""
    data = scheme.model_dump(by_alias=True)
    gates = [g for g in data["gates"] if g["metric"] != metric]
    if len(gates) == len(data["gates"]):
        raise ConfigError(f"no gate on '{metric}'", file=f"scheme '{scheme.id}'", key="gates")
    data["gates"] = gates
    return _rebuild(scheme, data, None, f"remove gate {metric}")


def set_cap(scheme: Scheme, cap_pct: float) -> Scheme:
    """Change the cap (percent of the period's target bonus, e.g. 150); ConfigError key ``cap_pct``."""
    data = scheme.model_dump(by_alias=True)
    data["cap_pct"] = cap_pct
    return _rebuild(scheme, data, None, "cap")


# ------------------------------------------------------------------------------------------------ tables & YAML
def scheme_to_table(scheme: Scheme) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Components and gates as two frames for ``st.data_editor`` (columns :data:`COMPONENT_COLUMNS`,
    :data:`GATE_COLUMNS`; missing gate bounds are NaN)."""
    components = pd.DataFrame(
        [{k: getattr(c, k) for k in COMPONENT_COLUMNS} for c in scheme.components],
        columns=list(COMPONENT_COLUMNS),
    )
    gates = pd.DataFrame(
        [{"metric": g.metric, "min": g.min, "max": g.max} for g in scheme.gates], columns=list(GATE_COLUMNS)
    ).astype({"min": "float64", "max": "float64"})
    return components, gates


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def scheme_from_table(
    scheme: Scheme,
    components: pd.DataFrame,
    gates: pd.DataFrame | None = None,
    *,
    config: CxConfig | MetricCatalogue | None = None,
    **changes: Any,
) -> Scheme:
    """Rebuild ``scheme`` from edited component and gate tables (plus optional top-level ``changes`` such as
    ``cap_pct=150``).

    Rows whose ``metric`` is blank are dropped (``st.data_editor`` adds empty rows). Keys are reported in the
    scheme's own terms: row *i* of the components table is ``components[i]``.

    Raises
    ------
    ConfigError
        Missing columns, non-numeric cells, weights not summing to 1, invalid points (key path and row named).
    """
    where = f"scheme '{scheme.id}' (table edit)"
    missing = [
        c for c in ("metric", "weight", "threshold", "target", "stretch") if c not in components.columns
    ]
    if missing:
        raise ConfigError(
            f"components table lacks column(s) {', '.join(missing)}", file=where, key="components"
        )
    comp_rows: list[dict[str, Any]] = []
    for record in components.to_dict("records"):
        if _blank(record.get("metric")):
            continue
        comp_rows.append(
            {
                k: _cell(v, where, f"components[{len(comp_rows)}].{k}")
                for k, v in record.items()
                if k in COMPONENT_COLUMNS or k == "description"
            }
        )
    gate_rows: list[dict[str, Any]] = []
    if gates is not None and len(gates):
        if "metric" not in gates.columns:
            raise ConfigError("gates table lacks column 'metric'", file=where, key="gates")
        for record in gates.to_dict("records"):
            if _blank(record.get("metric")):
                continue
            gate_rows.append(
                {k: _cell(record.get(k), where, f"gates[{len(gate_rows)}].{k}") for k in GATE_COLUMNS}
            )
    data = scheme.model_dump(by_alias=True)
    # plan mechanics not shown in the table (tiers, crediting, clawback) stay with their metric's component
    kept = {
        c["metric"]: {k: c[k] for k in PLAN_KEYS if c.get(k) not in (None, False)} for c in data["components"]
    }
    data["components"] = [
        {**kept.get(str(row.get("metric")), {}), **{k: v for k, v in row.items() if v is not None}}
        for row in comp_rows
    ]
    data["gates"] = gate_rows
    data.update(changes)
    return _rebuild(scheme, data, config, "table edit")


def _cell(value: Any, where: str, key: str) -> Any:
    if _blank(value):
        return None
    if key.endswith(".metric") or key.endswith(".description"):
        return str(value).strip()
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"'{value}' is not a number", file=where, key=key) from None
    if not math.isfinite(number):
        raise ConfigError(f"{value} is not a finite number", file=where, key=key)
    return number


def scheme_to_yaml(scheme: Scheme) -> str:
    """The scheme as YAML in the format of ``configs/incentives/<id>.yaml`` (round-trips through
    :func:`cx_framework.config.load_scheme`)."""
    data = scheme.model_dump(by_alias=True, mode="json")
    # plan mechanics appear only where used, so a plain scheme writes exactly the keys it always had
    for key, unused in (("cap_carry_forward", False), ("draw", None), ("versions", [])):
        if data.get(key) == unused:
            data.pop(key, None)
    for comp in [
        *data["components"],
        *(c for v in data.get("versions", []) for c in v.get("components") or []),
    ]:
        for key, unused in (("rate_table", None), ("prorate", False), ("credit", None), ("clawback", None)):
            if comp.get(key) == unused:
                comp.pop(key, None)
    for version in data.get("versions", []):
        for key in [k for k, v in version.items() if v is None]:
            version.pop(key)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)


# ------------------------------------------------------------------------------------------------ plan mechanics
def tiers_to_table(scheme: Scheme, metric: str) -> pd.DataFrame:
    """The rate table of component ``metric`` as a frame (:data:`TIER_COLUMNS`; empty when it uses the curve)."""
    component = scheme.components[_component_index(scheme, metric)]
    tiers = component.rate_table.tiers if component.rate_table is not None else []
    return pd.DataFrame(
        [{"from": t.lower, "to": t.upper, "rate": t.rate} for t in tiers], columns=list(TIER_COLUMNS)
    ).astype("float64")


def set_component_plan(
    scheme: Scheme,
    metric: str,
    *,
    tiers: pd.DataFrame | None = None,
    mode: str = "marginal",
    prorate: bool = False,
    credit: str = "individual",
    split: str = "equal",
    clawback_days: int | None = None,
    config: CxConfig | MetricCatalogue | None = None,
) -> Scheme:
    """Set the plan mechanics of one component: rate table (``tiers`` rows with from/to/rate; None or no rows =
    the payout curve), quota proration, team crediting and the customer clawback window (None = no clawback).

    Raises
    ------
    ConfigError
        Overlapping tiers, gaps, a negative window, a mechanic that does not suit the metric (key path named,
        e.g. ``components[1].rate_table.tiers[2].from``).
    """
    i = _component_index(scheme, metric)
    where = f"scheme '{scheme.id}' (plan edit)"
    data = scheme.model_dump(by_alias=True)
    comp = data["components"][i]
    rows: list[dict[str, Any]] = []
    if tiers is not None:
        for record in tiers.to_dict("records"):
            if all(_blank(record.get(k)) for k in TIER_COLUMNS):
                continue
            key = f"components[{i}].rate_table.tiers[{len(rows)}]"
            row = {k: _cell(record.get(k), where, f"{key}.{k}") for k in TIER_COLUMNS}
            if row["from"] is None or row["rate"] is None:
                raise ConfigError("each tier needs `from` and `rate`", file=where, key=key)
            rows.append({k: v for k, v in row.items() if v is not None})
    comp["rate_table"] = {"mode": mode, "tiers": rows} if rows else None
    comp["prorate"] = bool(prorate)
    comp["credit"] = {"basis": credit, "split": split} if credit == "team" else None
    comp["clawback"] = None if clawback_days is None else {"window_days": int(clawback_days)}
    return _rebuild(scheme, data, config, "plan edit")


def set_draw(
    scheme: Scheme,
    kind: str | None,
    *,
    amount_pct: float | None = None,
    amount: float | None = None,
    periods: int | None = None,
    share_of_excess: float = 1.0,
    start_period: int = 1,
    cap_carry_forward: bool | None = None,
) -> Scheme:
    """Set (``kind`` recoverable / non_recoverable) or remove (``kind=None``) the draw, and optionally the cap
    carry-forward flag."""
    data = scheme.model_dump(by_alias=True)
    if kind is None:
        data["draw"] = None
    else:
        draw: dict[str, Any] = {"kind": kind, "amount": amount, "amount_pct": amount_pct, "periods": periods}
        if kind == "recoverable":
            draw["recovery"] = {"share_of_excess": share_of_excess, "start_period": start_period}
        data["draw"] = draw
    if cap_carry_forward is not None:
        data["cap_carry_forward"] = bool(cap_carry_forward)
    return _rebuild(scheme, data, None, "draw")
