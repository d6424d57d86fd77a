"""``cx graph-evidence DATA_DIR``: every causal-graph edge estimated from history, and what that does to conflicts."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.table import Table

from cx_framework.cli._analysis import CacheOption, open_analysis, print_assumptions, print_figures
from cx_framework.cli._app import command, console, lit
from cx_framework.cli._inputs import (
    CONFIGS_DIR,
    Configs,
    DataDir,
    Quiet,
    Sources,
    check_inputs,
    override_option,
)
from cx_framework.cli._options import TABLE_SUFFIXES, check_outputs, in_range, write_output
from cx_framework.cli._progress import progress, quiet_for

__all__ = ["graph_evidence"]


def _num(value: Any) -> Any:
    """JSON-safe scalar: NaN/inf -> None, numpy -> Python."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        v = float(value)
        return None if not math.isfinite(v) else (int(v) if isinstance(value, int) else v)
    if hasattr(value, "item"):
        return _num(value.item())
    return value


#: conflict columns of the JSON document (conflict_intervals)
_CONFLICT_COLUMNS = (
    "scheme",
    "component",
    "kpi",
    "total_effect",
    "conflict",
    "estimated_total_effect",
    "total_effect_low",
    "total_effect_high",
    "severity",
    "estimated_severity",
    "severity_low",
    "severity_high",
    "conflict_probability",
    "status",
    "difference",
    "path",
    "path_evidence",
)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _num(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


@command("graph-evidence")
def graph_evidence(
    data_dir: DataDir = None,
    sources: Sources = None,
    configs: Configs = CONFIGS_DIR,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the JSON contract instead of tables.")
    ] = False,
    draws: Annotated[
        int | None,
        override_option(
            "--draws", "Parameter draws for the conflict intervals", "assumptions.yaml evidence_draws"
        ),
    ] = None,
    seed: Annotated[
        int | None, override_option("--seed", "Seed of the parameter draws", "assumptions.yaml")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the per-edge evidence to .csv or .parquet (atomic).")
    ] = None,
    quiet: Quiet = False,
    cache: CacheOption = True,
) -> None:
    """Estimate every causal-graph edge from history (elasticity, 95 % CI, verdict) and show which conflicts the
    evidence makes certain. The estimates are associations under the graph's assumptions.

    Needs department_metrics (DATA_DIR or --sources)."""
    in_range(draws, "--draws", low=100, high=100_000)
    in_range(seed, "--seed", low=0, high=2**63 - 1)
    check_outputs({"--out": (out, TABLE_SUFFIXES)})
    inputs = check_inputs(data_dir, sources, configs)

    silent = quiet_for(quiet, as_json)
    with progress(2, "reading the configuration", enabled=not silent) as step:
        # the Analysis' evidence section: the same figures, edges and intervals as the app and the report
        analysis = open_analysis(inputs, cache=cache, evidence_draws=draws, seed=seed)
        step("estimating every edge from history and the conflict intervals")
        bundle = analysis.result("evidence")
    evidence, conflicts = bundle.evidence, bundle.conflicts
    if out is not None:
        write_output(evidence.edges, out)
    figures = analysis.figures("evidence")
    window = figures[0].period if figures else ""
    if as_json:
        doc = analysis.to_json("evidence")
        doc["assumptions"].update(
            {
                "confidence": evidence.confidence,
                "draws": analysis.assumptions.evidence_draws,
                "draws_kept": conflicts.attrs.get("draws") if len(conflicts) else None,
                "causal_assumption": evidence.assumption,
                "unidentified_edges": "keep their configured elasticity, without uncertainty",
            }
        )
        doc["assumption"] = evidence.assumption
        doc["edges"] = _records(evidence.edges)
        doc["candidates"] = _records(evidence.candidates)
        doc["conflicts"] = _records(conflicts[[c for c in _CONFLICT_COLUMNS if c in conflicts.columns]])
        doc["notes"] = list(dict.fromkeys([*evidence.notes, *analysis.notes("evidence")]))
        typer.echo(json.dumps(doc, indent=2, default=str))
        return
    console.print(f"[italic]{lit(evidence.assumption)}[/]", soft_wrap=True)
    table = Table(title=f"Causal-graph edges against history ({window})")
    for name in ("edge", "configured", "estimated [95 % CI]", "n", "verdict", "why"):
        table.add_column(name, justify="right" if name in ("configured", "n") else "left")
    colour = {"supported": "green", "contradicted": "red", "not identifiable": "yellow"}
    for r in evidence.edges.itertuples(index=False):
        est = (
            "–"
            if r.verdict == "not identifiable"
            else f"{r.estimate:+.3f} [{r.ci_low:+.3f}, {r.ci_high:+.3f}]"
        )
        table.add_row(
            lit(f"{r.source} → {r.target}"),
            f"{r.configured:+.2f}",
            est,
            str(r.n),
            f"[{colour[r.verdict]}]{r.verdict}[/]",
            lit(r.reason or f"{r.level}, {r.fixed_effects}, {r.se_type}"),
        )
    console.print(table)
    counts = evidence.verdict_counts
    console.print(", ".join(f"{k}: {v}" for k, v in counts.items()), markup=False)
    shown = (
        conflicts[conflicts["conflict"] | conflicts["estimated_conflict"]] if len(conflicts) else conflicts
    )
    ctable = Table(title="Conflicts: configured graph vs evidence (interval from parameter draws)")
    for name in (
        "scheme",
        "component",
        "KPI",
        "configured effect",
        "estimated [95 %]",
        "P(conflict)",
        "status",
        "evidence on the path",
    ):
        ctable.add_column(name)
    ordered = shown.sort_values("conflict_probability", ascending=False) if len(shown) else shown
    for r in ordered.itertuples(index=False):
        ctable.add_row(
            lit(r.scheme),
            lit(r.component),
            lit(r.kpi),
            f"{r.total_effect:+.3f}",
            f"{r.estimated_total_effect:+.3f} [{r.total_effect_low:+.3f}, {r.total_effect_high:+.3f}]",
            f"{r.conflict_probability:.0%}",
            lit(r.status),
            lit(r.path_evidence or "–"),
        )
    console.print(ctable)
    if len(evidence.candidates):
        cand = Table(title="Associations to review (not in the graph; not added)")
        for name in ("metrics", "level", "partial r", "elasticity [95 % CI]", "n"):
            cand.add_column(name)
        for c in evidence.candidates.head(15).itertuples(index=False):
            cand.add_row(
                lit(f"{c.metric_a} ~ {c.metric_b}"),
                lit(c.level),
                f"{c.correlation:+.2f}",
                f"{c.elasticity:+.3f} [{c.ci_low:+.3f}, {c.ci_high:+.3f}]",
                str(c.n),
            )
        console.print(cand)
    print_figures(figures)
    print_assumptions(analysis)
