"""One sign convention for total effects, in words every surface uses (heatmap, tables, CLI, report).

The number shown is always the **total effect**: the % change of the KPI per 1 % *rise* of the metric, through
every path of the causal graph (``T[m, k]``). Whether that helps or hurts depends on which way the scheme pushes
the metric and which way is good for the KPI, so it is spelled out next to the number: "rewards lower Average
handle time: a 1 % cut moves First-contact resolution −0.35 % (worse)". Colour follows the verdict (red = the
scheme pays for moving the KPI the wrong way), never the sign of the number.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "TOTAL_EFFECT_CONVENTION",
    "TOTAL_EFFECT_LABEL",
    "push_effect_sentence",
    "conflict_rows",
    "EVIDENCE_COLUMNS",
]

#: the unit of every total effect shown, stated on each surface
TOTAL_EFFECT_CONVENTION = (
    "Total effect = % change of the KPI per 1 % rise of the metric, through every path of the causal graph. "
    "Whether it helps or hurts depends on the way the bonus pushes the metric: see 'What the bonus does'."
)
#: short column / axis label of the total effect
TOTAL_EFFECT_LABEL = "Total effect (% change of the KPI per 1 % rise of the metric)"


def _name(catalogue: Any, metric: str) -> str:
    m = catalogue.get(metric)
    return m.name if m is not None else metric


def _sign(catalogue: Any, metric: str) -> int:
    m = catalogue.get(metric)
    return 1 if m is None or m.direction == "higher_is_better" else -1


def push_effect_sentence(component: str, kpi: str, total_effect: float, config: Any) -> str:
    """What rewarding ``component`` in its good direction does to ``kpi``, in words.

    Parameters
    ----------
    component, kpi : str
        Metric ids (catalogue).
    total_effect : float
        ``T[component, kpi]``: % change of the KPI per 1 % rise of the component's metric.
    config : CxConfig
        For the catalogue's names and directions.

    Returns
    -------
    str
        e.g. ``"a 1 % cut in Average handle time moves First-contact resolution −0.35 % (worse)"``.

    Examples
    --------
    >>> from cx_framework import load_config
    >>> push_effect_sentence("aht_s", "fcr", 0.35, load_config("configs"))
    'a 1 % cut in Average handle time moves First-contact resolution −0.35 % (worse)'
    """
    catalogue = config.metrics.by_id
    rewarded = _sign(catalogue, component)  # schemes reward the metric's good direction
    move = rewarded * float(total_effect)  # % change of the KPI per 1 % push the rewarded way
    verdict = "better" if move * _sign(catalogue, kpi) > 0 else ("worse" if move != 0 else "no change")
    push = "rise" if rewarded > 0 else "cut"
    amount = f"{move:+.2f} %".replace("-", "−")
    return f"a 1 % {push} in {_name(catalogue, component)} moves {_name(catalogue, kpi)} {amount} ({verdict})"


#: columns :func:`conflict_rows` adds from the evidence (every conflict shown with its interval and evidence)
EVIDENCE_COLUMNS = (
    "Severity, 95 % interval from the evidence",
    "Under the evidence",
    "Strongest path, evidence per edge",
)


def conflict_rows(
    matrix: pd.DataFrame,
    config: Any,
    *,
    owner_names: dict[str, str] | None = None,
    intervals: pd.DataFrame | None = None,
    unavailable: str | None = None,
) -> pd.DataFrame:
    """Human-readable conflict table (what the app, CLI and report print), worst first.

    Parameters
    ----------
    matrix : pandas.DataFrame
        Conflict rows of :func:`cx_framework.conflict_matrix` (``scheme`` column) or ``sla_conflicts``
        (``department`` column); only ``conflict`` rows are kept.
    config : CxConfig
    owner_names : dict, optional
        Display names of schemes / departments (default: scheme names and department names from config).

    Returns
    -------
    pandas.DataFrame
        ``Scheme`` (or ``Department``), ``Bonus component`` (rewarded direction in brackets), ``KPI hurt``,
        ``What the bonus does`` (sentence of :func:`push_effect_sentence`), :data:`TOTAL_EFFECT_LABEL`,
        ``Strongest path`` (metric names), ``Path effect``, ``Severity``; with ``intervals`` or ``unavailable``
        also :data:`EVIDENCE_COLUMNS`.
    intervals : pandas.DataFrame, optional
        :func:`cx_framework.conflicts.uncertainty.conflict_intervals` of the same schemes (or departments): adds
        per conflict the severity of the estimated graph with its 95 % interval over the parameter draws, its status
        (certain only when the interval excludes no conflict, with P(conflict)) and the verdict of every edge on
        the strongest path.
    unavailable : str, optional
        Why there are no intervals (the evidence cannot run on this data): the evidence columns say so.
    """
    catalogue = config.metrics.by_id
    owner = "scheme" if "scheme" in matrix.columns else "department"
    if owner_names is None:
        owner_names = (
            {s: sch.name for s, sch in config.schemes.items()}
            if owner == "scheme"
            else {d.id: d.name for d in config.organisation.departments}
        )
    rows = matrix[matrix["conflict"]].sort_values("severity", ascending=False)

    def component_label(metric: str) -> str:
        return (
            f"{_name(catalogue, metric)} (rewarded: {'higher' if _sign(catalogue, metric) > 0 else 'lower'})"
        )

    def path_names(path: Any) -> str:
        if not isinstance(path, str) or not path:
            return "–"
        return " → ".join(_name(catalogue, p.strip()) for p in path.split("→"))

    out = pd.DataFrame(
        {
            owner.capitalize(): rows[owner].map(lambda o: owner_names.get(o, o)).to_numpy(),
            "Bonus component" if owner == "scheme" else "Objective": rows["component"]
            .map(component_label)
            .to_numpy(),
            "KPI hurt": rows["kpi"].map(lambda k: _name(catalogue, k)).to_numpy(),
            "What the bonus does" if owner == "scheme" else "What the objective does": [
                push_effect_sentence(c, k, t, config)
                for c, k, t in zip(rows["component"], rows["kpi"], rows["total_effect"], strict=True)
            ],
            TOTAL_EFFECT_LABEL: rows["total_effect"].to_numpy(dtype=float),
            "Strongest path": rows["path"].map(path_names).to_numpy(),
            "Path effect": rows["path_effect"].to_numpy(dtype=float),
            "Severity": rows["severity"].to_numpy(dtype=float),
        }
    )
    if intervals is not None:
        key = [owner, "component", "kpi"]
        cols = [
            "estimated_severity",
            "severity_low",
            "severity_high",
            "status",
            "conflict_probability",
            "path_evidence",
        ]
        have = [c for c in cols if c in intervals.columns]
        ev = rows[key].merge(intervals[[*key, *have]].drop_duplicates(key), on=key, how="left")
        out[EVIDENCE_COLUMNS[0]] = [
            "not estimated" if pd.isna(lo) else f"{_plain(est)} ({_plain(lo)} to {_plain(hi)})"
            for est, lo, hi in zip(
                ev["estimated_severity"], ev["severity_low"], ev["severity_high"], strict=True
            )
        ]
        out[EVIDENCE_COLUMNS[1]] = [
            "not estimated" if not isinstance(st, str) else f"{st} (P = {float(p):.0%})"
            for st, p in zip(ev["status"], ev["conflict_probability"], strict=True)
        ]
        out[EVIDENCE_COLUMNS[2]] = [
            _path_evidence_names(text, catalogue) if isinstance(text, str) and text else "–"
            for text in ev.get("path_evidence", pd.Series([""] * len(ev)))
        ]
    elif unavailable is not None:
        note = f"not available: {unavailable}"
        for column in EVIDENCE_COLUMNS:
            out[column] = note
    return out


def _plain(value: Any) -> str:
    """Three significant digits without an exponent (``0.0000191``, not ``1.91e-05``: a leader reads a severity
    next to the 0.0245 of the configured graph)."""
    return np.format_float_positional(float(value), precision=3, unique=False, fractional=False, trim="-")


def _path_evidence_names(text: str, catalogue: Any) -> str:
    """``"aht_s → fcr: supported; fcr → csat: supported"`` as ``"Average handle time → First-contact resolution
    [supported] → Customer satisfaction [supported]"`` (catalogue names; the verdict follows the edge's target)."""
    out = ""
    for item in text.split("; "):
        edge, _, verdict = item.partition(": ")
        source, _, target = (m.strip() for m in edge.partition("→"))
        if not out:
            out = _name(catalogue, source)
        out += f" → {_name(catalogue, target)} [{verdict}]"
    return out
