"""``--graph configured|estimated|both`` of ``cx conflicts`` and ``cx actions``: the Analysis' evidence_comparison
section (conflicts and actions on the estimated elasticities, side by side with the configured ones), printed and
put in ``--json``. Nothing is computed here: the numbers are the section's."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from rich.table import Table

from cx_framework.cli._app import console, lit

__all__ = [
    "comparison_of",
    "conflicts_document",
    "actions_document",
    "print_conflict_comparison",
    "print_action_comparison",
    "behaviour_interval_rows",
    "interval_cell",
    "print_behaviour_intervals",
    "GRAPH_NOTE",
]

#: printed (and put in --json as ``graph_note``) wherever estimated elasticities are used
GRAPH_NOTE = (
    "Estimated elasticities are associations under the graph's assumptions (cx graph-evidence), not proven causal "
    "effects; edges history cannot test (not identifiable) keep their configured value."
)


def comparison_of(analysis: Any) -> tuple[Any, str | None]:
    """(GraphComparison, None) or (None, why it cannot run on this data)."""
    from cx_framework.errors import CxError

    try:
        return analysis.result("evidence_comparison"), None
    except CxError as exc:
        return None, str(exc)


def _records(frame: pd.DataFrame | None) -> list[dict[str, Any]] | None:
    return None if frame is None else frame.to_dict(orient="records")


def _with_intervals(
    frame: pd.DataFrame, intervals: pd.DataFrame | None, owner: str, columns: list[str]
) -> Any:
    """The conflict rows with the evidence section's interval columns (every reported conflict carries them)."""
    if intervals is None or not len(intervals) or not len(frame):
        return frame
    key = [owner, "component", "kpi"]
    new = [c for c in columns if c not in frame.columns]  # the comparison has its own estimated_* columns
    return frame.merge(intervals[[*key, *new]], on=key, how="left")


def conflicts_document(
    comparison: Any,
    ids: list[str],
    why: str | None,
    intervals: pd.DataFrame | None = None,
    department_intervals: pd.DataFrame | None = None,
    columns: list[str] | None = None,
) -> dict[str, Any]:
    """The ``estimated_graph`` key of ``cx conflicts --json`` (with --graph estimated|both); ``intervals`` (the
    evidence section's conflict_intervals) add ``columns`` to every estimated-graph conflict."""
    from cx_framework.conflicts.comparison import UNIDENTIFIED_NOTE

    if comparison is None:
        return {"unavailable": why}
    c = comparison.conflicts
    est = comparison.estimated_matrix
    in_ids = c["scheme"].isin(ids) if len(c) else []
    cols = columns or []
    shown = est[est["scheme"].isin(ids) & est["conflict"]] if est is not None and len(est) else pd.DataFrame()
    depts = comparison.estimated_departments[comparison.estimated_departments["conflict"]]
    return {
        "unavailable": None,
        "assumption": comparison.assumption,
        "unidentified_note": UNIDENTIFIED_NOTE,
        "edges": comparison.edges,
        "conflicts": _with_intervals(shown, intervals, "scheme", cols) if len(shown) else [],
        "department_conflicts": _with_intervals(depts, department_intervals, "department", cols),
        "comparison": _with_intervals(c[in_ids], intervals, "scheme", cols) if len(c) else [],
        "changed": _with_intervals(c[in_ids & (c["change"] != "unchanged")], intervals, "scheme", cols)
        if len(c)
        else [],
        "department_comparison": comparison.department_conflicts,
        "conflict_edges": comparison.conflict_edges,
        "behaviour": comparison.behaviour,
        "notes": list(comparison.notes),
    }


def actions_document(comparison: Any, why: str | None) -> dict[str, Any]:
    """The ``estimated_graph`` key of ``cx actions --json`` (with --graph estimated|both)."""
    from cx_framework.conflicts.comparison import UNIDENTIFIED_NOTE

    if comparison is None:
        return {"unavailable": why}
    acts = comparison.actions
    return {
        "unavailable": None if acts is not None else "; ".join(comparison.notes) or "actions did not run",
        "assumption": comparison.assumption,
        "unidentified_note": UNIDENTIFIED_NOTE,
        "edges": comparison.edges,
        "actions": acts,
        "changed": None if acts is None else acts[acts["change"] != "unchanged"],
        "notes": list(comparison.notes),
    }


def _rank(value: Any) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else str(int(value))


def print_conflict_comparison(comparison: Any, ids: list[str], config: Any, top: int) -> None:
    """The pairs whose conflict verdict or rank differs between the configured and the estimated graph."""
    c = comparison.conflicts
    if not len(c):
        console.print("No incentive schemes: no bonus conflicts to compare.")
        return
    c = c[c["scheme"].isin(ids)]
    changed = c[c["change"] != "unchanged"]
    names = {m: spec.name for m, spec in config.metrics.by_id.items()}
    order = {"appears": 0, "disappears": 1, "rank changes": 2}
    changed = changed.assign(_o=changed["change"].map(order)).sort_values(["_o", "scheme", "estimated_rank"])
    shown = changed.head(top)
    table = Table(
        title=f"Configured vs estimated graph: {len(changed)} of {len(c)} component × KPI pairs change "
        f"(showing {len(shown)})",
        title_justify="left",
    )
    table.add_column("#", justify="right")
    for name in ("scheme", "component", "KPI", "configured (rank)", "estimated (rank)", "change"):
        table.add_column(name, overflow="fold")
    for n, r in enumerate(shown.itertuples(index=False), start=1):
        table.add_row(
            str(n),
            lit(config.schemes[r.scheme].name if r.scheme in config.schemes else r.scheme),
            lit(names.get(r.component, r.component)),
            lit(names.get(r.kpi, r.kpi)),
            f"{r.total_effect:+.3f} ({_rank(r.rank)})",
            f"{r.estimated_total_effect:+.3f} ({_rank(r.estimated_rank)})",
            lit(r.change + (", sign flips" if r.sign_flips else "")),
        )
    console.print(table)
    console.print(
        "Edges behind each difference (configured → estimated elasticity: its exact part of the change of total "
        "effect):",
        markup=False,
    )
    for n, r in enumerate(shown.itertuples(index=False), start=1):
        console.print(f"  {n}. {lit(r.edges_behind or '–')}", highlight=False)
    _notes(comparison)


def print_action_comparison(comparison: Any, config: Any) -> None:
    """Actions recommended on the configured vs the estimated graph (rank and value), differences named."""
    acts = comparison.actions
    if acts is None:
        console.print(
            f"[yellow]actions on the estimated graph not available:[/] {lit('; '.join(comparison.notes))}"
        )
        return
    table = Table(title="Actions on the configured vs the estimated graph", title_justify="left")
    for name in ("action", "rank", "rank (est.)", "value/year", "value (est.)", "change"):
        table.add_column(
            name, overflow="fold", justify="right" if "value" in name or "rank" in name else "left"
        )
    shown = acts[acts["rank"].notna() | acts["estimated_rank"].notna()]
    for r in shown.itertuples(index=False):
        table.add_row(
            lit(r.title),
            _rank(r.rank),
            _rank(r.estimated_rank),
            "–" if pd.isna(r.expected_annual_value) else f"{r.expected_annual_value:,.0f}",
            "–"
            if pd.isna(r.estimated_expected_annual_value)
            else f"{r.estimated_expected_annual_value:,.0f}",
            lit(r.change),
        )
    console.print(table)
    for r in shown[shown["change"] != "unchanged"].itertuples(index=False):
        console.print(f"[bold]{lit(r.title)}[/]: {lit(r.difference)}", highlight=False)
        if r.edges_behind:
            console.print(f"   edges behind it: {lit(r.edges_behind)}", highlight=False)
    _notes(comparison)


def _notes(comparison: Any) -> None:
    for note in comparison.notes:
        console.print(f"[yellow]note:[/] {lit(note)}", highlight=False)
    console.print(GRAPH_NOTE + " They never cause a difference.", style="dim", markup=False)


def behaviour_interval_rows(analysis: Any) -> tuple[pd.DataFrame | None, str | None]:
    """The behaviour_intervals section's rows, or None and why (evidence cannot run on this data)."""
    from cx_framework.errors import CxError

    try:
        return analysis.result("behaviour_intervals"), None
    except CxError as exc:
        return None, str(exc)


def interval_cell(low: Any, high: Any, certain: Any) -> str:
    """``"−7,080 to −4,649 (certain)"`` — a value is certain only when its interval excludes zero."""
    if low is None or (isinstance(low, float) and math.isnan(low)):
        return "–"
    return f"{low:+,.0f} to {high:+,.0f}" + (" (certain)" if certain else " (may be zero)")


def print_behaviour_intervals(frame: pd.DataFrame, ids: list[str], config: Any) -> None:
    """Each scheme's behaviour value (and switching value) with its 95 % interval over the estimated graph."""
    cur = config.economics.currency
    table = Table(
        title=f"Behaviour value per month with its 95 % interval over the estimated graph ({lit(cur)})",
        title_justify="left",
    )
    table.add_column("scheme")
    table.add_column("net value: configured graph", justify="right")
    table.add_column("estimated graph", justify="right")
    table.add_column("95 % interval", justify="right")
    has_switch = "switching_value" in frame.columns
    if has_switch:
        table.add_column("vs scheme in force: estimated", justify="right")
        table.add_column("95 % interval", justify="right")
    for r in frame[frame["scheme"].isin(ids)].itertuples(index=False):
        cells = [
            lit(config.schemes[r.scheme].name if r.scheme in config.schemes else r.scheme),
            f"{r.net_value:+,.0f}",
            f"{r.estimated_net_value:+,.0f}",
            interval_cell(r.net_value_low, r.net_value_high, r.net_value_certain),
        ]
        if has_switch:
            switch = r.estimated_switching_value
            cells += [
                "–" if pd.isna(switch) else f"{switch:+,.0f}",
                interval_cell(r.switching_low, r.switching_high, r.switching_certain),
            ]
        table.add_row(*cells)
    console.print(table)
    console.print(
        f"Intervals over {int(frame.attrs.get('draws', 0)):,} draws of the causal graph estimated from history "
        "(the behaviour response held fixed); the configured graph's value can lie outside them where the "
        "configured elasticities disagree with history. A value is certain only when its interval excludes zero.",
        style="dim",
        markup=False,
    )
