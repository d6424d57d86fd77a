"""Speed of the surfaces that read the Analysis (issue 12): app first render, every widget rerun, ``cx report --xlsx``.

Targets (issue 12):

* Overview cold render on the sample <= 2 s — a new process opening the app (``apps/streamlit_app.py``, whose
  default page is the Overview) with the Analysis disk cache populated by an earlier run;
* every widget interaction <= 300 ms — page switches and each input widget of every page: the Overview month;
  the scorecard month, metric, drill-down department and team, trend department; the HR modeller's baseline and
  start scheme and two scheme-editor edits; the Conflicts page's scheme, SLA lead-time toggle, evidence edge and
  partial-out toggle; every Staffing control (target, shrinkage, Erlang A, patience, day, funded FTE, queue,
  agents); the Retention effect shapes and the fix-vs-absorb inputs (source, cost, reduction, horizon). The
  Data page's upload widgets are not timed (their cost is the upload's validation);
* ``cx report --xlsx`` <= 5 s with the disk cache populated.

Workloads, each in a fresh Python process (nothing cached in memory); the disk-cache workloads ``--repeat`` times
(median reported), the empty-cache ones once:

* ``empty cache`` — no disk cache: every section the page (or the report) needs is computed;
* ``disk cache``  — a new process opening the cache written by an earlier run of the same session plan (for
  ``cx report``: by an earlier ``cx report`` of the same data and config);
* interactions    — AppTest reruns after one widget change or page switch, in the process that rendered the app
  (Streamlit's own script runner and element serialisation included, as a browser session would pay them); a
  page switch is that page's first visit in the process.

Streamlit's scan of the installed packages for components (``BidiComponentManager``), which a server does once at
start-up and AppTest does in its first run, is timed on its own line and not counted in the Overview render.

Python bytecode is cached as for an installed package (``PYTHONPYCACHEPREFIX`` in the run's temporary directory,
``PYTHONDONTWRITEBYTECODE`` ignored): the empty-cache runs compile the project's modules, later processes read them.

Each figure is wall time and the process' CPU time: on a machine shared with other jobs the wall time includes
waiting for a core; the CPU time is what the work costs (and the wall time on an idle machine).

The baseline column runs the same workloads on another checkout (``--baseline DIR``, e.g.
``git archive <commit> | tar -x -C /tmp/cx_before``) in the same run; ratio = baseline / ours.

Run: ``python -m benchmarks.bench_truth [--repeat 3] [--baseline /tmp/cx_before] [--baseline-repeat 1]``.
The machine may be shared: the load average is printed with the table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

#: one browser session: (label, step); steps run in order in one AppTest of the whole app
SESSION: list[tuple[str, list[Any]]] = [
    ("Overview render, new process", ["run"]),
    ("Overview: month selector", ["set", "select_slider", "overview_period", {"month": "2025-10"}]),
    ("switch to Scorecard", ["switch", "views/scorecard.py"]),
    ("Scorecard: month selector", ["set", "selectbox", "sc_period", {"month": "2025-10"}]),
    ("Scorecard: metric selector", ["index", "selectbox", "sc_metric", 1]),
    ("Scorecard: drill-down department", ["index", "selectbox", "sc_dept", 1]),
    ("Scorecard: drill-down team", ["index", "selectbox", "sc_team", 1]),
    ("Scorecard: trend department", ["index", "selectbox", "sc_trend_dept", 1]),
    ("switch to Incentive modeller", ["switch", "views/incentives.py"]),
    ("HR: scheme editor weight edit", ["edit_scheme", 0.25]),
    ("HR: second weight edit", ["edit_scheme", 0.3]),
    ("HR: baseline scheme selection", ["set", "selectbox", "hr_current", "balanced"]),
    ("HR: start editing from another scheme", ["set", "selectbox", "hr_start", "shared_customer"]),
    ("switch to Conflicts & SLAs", ["switch", "views/conflicts.py"]),
    ("Conflicts: scheme selection", ["set", "selectbox", "cf_scheme", "shared_customer"]),
    ("Conflicts: lead times from config toggle", ["set", "toggle", "cf_fitted", False]),
    ("Conflicts: evidence edge selection", ["index", "selectbox", "ev_edge", 1]),
    ("Conflicts: evidence partial-out toggle", ["set", "toggle", "ev_partial", False]),
    ("switch to Staffing", ["switch", "views/staffing.py"]),
    ("Staffing: target slider 85 %", ["set", "slider", "st_target_pct", 85]),
    ("Staffing: shrinkage slider 35 %", ["set", "slider", "st_shrink_pct", 35]),
    ("Staffing: Erlang A toggle", ["set", "toggle", "st_erlang_a", True]),
    ("Staffing: caller patience", ["set", "number_input", "st_patience", 240.0]),
    ("Staffing: day selector", ["set", "select_slider", "st_day", {"last_day_minus": 1}]),
    ("Staffing: funded FTE", ["set", "number_input", "st_budget_fte", 25.0]),
    ("Staffing: queue selector", ["index", "selectbox", "st_queue", 1]),
    ("Staffing: agents slider", ["add", "slider", "st_agents", 1]),
    ("switch to Retention", ["switch", "views/retention.py"]),
    ("Retention: spline effect shape", ["set", "radio", "rt_dose", "spline"]),
    ("Retention: binned effect shape", ["set", "radio", "rt_dose", "binned"]),
    ("Retention: failure source", ["index", "selectbox", "rt_source", 1]),
    ("Retention: fix cost", ["set", "number_input", "rt_cost", 80000.0]),
    ("Retention: expected reduction", ["set", "slider", "rt_reduction", 0.7]),
    ("Retention: horizon", ["set", "slider", "rt_horizon", 36]),
    ("switch back to Overview", ["switch", "views/overview.py"]),
]

STARTUP = "Streamlit server start-up (component scan, once)"

_SESSION_SCRIPT = r"""
import hashlib, json, sys, time, warnings
warnings.simplefilter("ignore")
root = sys.argv[1]
sys.path.insert(0, root); sys.path.insert(0, root + "/apps")
from streamlit.testing.v1 import AppTest
steps = json.loads(sys.argv[2])
out, errors = {}, []
at = AppTest.from_file(f"{root}/apps/streamlit_app.py", default_timeout=900)
# what a Streamlit server does once at start-up, before any session (AppTest does it in its first run): timed
# on its own line, so the Overview render is what a session opening the app pays
from streamlit.components.v2.component_manager import BidiComponentManager
t, c = time.perf_counter(), time.process_time()
manager = BidiComponentManager()
manager.discover_and_register_components(start_file_watching=False)
at._bidi_component_manager = manager
out[STARTUP] = [time.perf_counter() - t, time.process_time() - c]

def scheme_key():
    from cx_framework.config import load_config
    from cx_framework.incentives import scheme_to_yaml
    cfg = load_config(f"{root}/configs")
    sid = cfg.assumptions.current_scheme or sorted(cfg.schemes)[0]
    return sid, f"hr_components_{sid}_" + hashlib.sha1(scheme_to_yaml(cfg.schemes[sid]).encode()).hexdigest()[:10]

for label, step in steps:
    kind = step[0]
    if kind == "run":
        go = at.run
    elif kind == "switch":
        at.switch_page(step[1])
        go = at.run
    elif kind == "edit_scheme":
        sid, key = scheme_key()
        w = float(step[1])
        at.session_state[key] = {"edited_rows": {0: {"weight": w}, 1: {"weight": round(0.70 - w, 2)}},
                                 "added_rows": [], "deleted_rows": []}
        go = at.run
    elif kind == "index":  # the i-th option of a selectbox
        _, accessor, key, i = step
        widget = getattr(at, accessor)(key=key)
        go = lambda: widget.select_index(i).run()
    elif kind == "add":  # a slider moved by a step from where it is
        _, accessor, key, delta = step
        widget = getattr(at, accessor)(key=key)
        value = widget.value + delta
        go = lambda: widget.set_value(value).run()
    else:
        _, accessor, key, value = step
        widget = getattr(at, accessor)(key=key)
        if isinstance(value, dict) and "month" in value:  # the pages' periods are month-start Timestamps
            import pandas as pd
            value = pd.Timestamp(value["month"] + "-01")
        elif isinstance(value, dict):  # a day of the sample's intervals, counted back from the last
            import pandas as pd
            last = pd.read_parquet(f"{root}/data/sample/intervals.parquet", columns=["interval_start"]).max()
            value = pd.Timestamp(last.iloc[0]).normalize() - pd.Timedelta(days=value["last_day_minus"])
        go = lambda: widget.set_value(value).run()
    t, c = time.perf_counter(), time.process_time()
    go()
    out[label] = [time.perf_counter() - t, time.process_time() - c]
    if at.exception:
        errors.append(f"{label}: {at.exception[0].value}"[:400])
print("BENCH" + json.dumps({"times": out, "errors": errors}))
"""


def _env(root: Path, cache: Path) -> dict[str, str]:
    drop = ("CX_DATA_DIR", "CX_CONFIG_DIR", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PYTHONPATH"] = str(root)
    # bytecode as an installed package has it (pip compiles on install; CPython caches it by default): the
    # project's modules are compiled by the first, empty-cache run and read from here after — without it
    # (PYTHONDONTWRITEBYTECODE set) every new process re-compiles ~100 modules (~1 s)
    env["PYTHONPYCACHEPREFIX"] = str(cache.parent / "pycache")
    env["CX_CACHE_DIR"] = str(cache)
    env["CX_COMP_DB"] = str(cache.parent / "comp.duckdb")  # never the repository's scenario store
    return env


def _session(root: Path, cache: Path, steps: list[tuple[str, list[Any]]]) -> dict[str, list[float]]:
    script = f"STARTUP = {STARTUP!r}\n" + _SESSION_SCRIPT
    proc = subprocess.run(
        [sys.executable, "-c", script, str(root), json.dumps(steps)],
        capture_output=True,
        text=True,
        env=_env(root, cache),
        cwd=root,
        check=False,
    )
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH")), None)
    if line is None:
        raise RuntimeError(f"app session on {root} failed:\n{proc.stderr[-3000:]}")
    doc = json.loads(line[5:])
    for error in doc["errors"]:
        print(f"  ! {root.name}: {error}", file=sys.stderr)
    times: dict[str, list[float]] = doc["times"]  # label -> [wall s, CPU s of the process]
    return times


def _report(root: Path, cache: Path, out_dir: Path) -> list[float]:
    command = [sys.executable, "-c", "from cx_framework.cli import main; main()"]
    args = ["report", str(root / "data/sample"), "--configs", str(root / "configs")]
    args += ["--out", str(out_dir / "r.html"), "--xlsx", str(out_dir / "p.xlsx")]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(
        [*command, *args], capture_output=True, text=True, env=_env(root, cache), cwd=root, check=False
    )
    elapsed = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"cx report on {root} failed:\n{proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return [elapsed, cpu]


def measure(root: Path, repeat: int) -> dict[str, list[list[float]]]:
    """Every workload on one checkout: per workload one [wall s, CPU s] per repeat."""
    results: dict[str, list[list[float]]] = {}

    def add(name: str, value: list[float]) -> None:
        results.setdefault(name, []).append(value)

    with tempfile.TemporaryDirectory(prefix="cx_bench_") as tmp:
        cache = Path(tmp) / "cache"
        # the empty-cache workloads once (they compute everything; minutes of CPU on the baseline)
        first = _session(root, cache, SESSION[:1])  # computes what the Overview needs, writes the cache
        add("Overview render, new process, empty cache", first[SESSION[0][0]])
        add(STARTUP, first[STARTUP])
        # the report's own cache: an earlier `cx report` on the same data and config wrote it (the app's cache
        # lacks the report-only sections, e.g. the configured-vs-estimated graph comparison)
        report_cache = Path(tmp) / "report_cache"
        add("cx report --xlsx, empty cache", _report(root, report_cache, Path(tmp)))
        _session(root, cache, SESSION)  # an earlier session: every section the pages use is now on disk
        for _ in range(repeat):
            add("cx report --xlsx, disk cache", _report(root, report_cache, Path(tmp)))
            for label, value in _session(root, cache, SESSION).items():
                if label != STARTUP:
                    add(label + (", disk cache" if label.startswith("Overview render") else ""), value)
    return results


def _target(name: str) -> float | None:
    if name.startswith("Overview render") and "disk cache" in name:
        return 2.0
    if name.startswith("cx report") and "disk cache" in name:
        return 5.0
    if "render" not in name and not name.startswith(("cx report", "Streamlit")):
        return 0.3
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", type=Path, default=None, help="another checkout to compare with")
    parser.add_argument("--baseline-repeat", type=int, default=None, help="default: --repeat")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    ours = measure(ROOT, args.repeat)
    base = measure(args.baseline, args.baseline_repeat or args.repeat) if args.baseline else {}
    load_after = os.getloadavg()[0]
    print(
        f"median of {args.repeat} runs (baseline {args.baseline_repeat or args.repeat if args.baseline else 0}); "
        f"load average {load_before:.2f} before, {load_after:.2f} after. CPU = CPU seconds of the process (the "
        "wall time on an idle machine; on a shared machine the wall time also holds the wait for a core)."
    )
    head = f"{'workload':<50} {'target':>6} {'wall s':>7} {'CPU s':>6} {'base wall':>9} {'base CPU':>8}"
    print(head + f" {'ratio wall':>10} {'ratio CPU':>9}  met")
    order = [name for name in ours if name.startswith("Overview render")]
    order += [name for name in ours if name.startswith(("cx report", "Streamlit"))]
    order += [name for name in ours if name not in order]
    for name in order:
        wall, cpu = (statistics.median(v[i] for v in ours[name]) for i in (0, 1))
        target = _target(name)
        bw = bc = None
        if name in base:
            bw, bc = (statistics.median(v[i] for v in base[name]) for i in (0, 1))
        met = "" if target is None else ("yes" if wall <= target else ("cpu" if cpu <= target else "NO"))
        print(
            f"{name:<50} {'' if target is None else f'{target:6.1f}':>6} {wall:7.2f} {cpu:6.2f} "
            f"{'' if bw is None else f'{bw:9.2f}':>9} {'' if bc is None else f'{bc:8.2f}':>8} "
            f"{'' if bw is None else f'{bw / wall:9.1f}x':>10} {'' if bc is None else f'{bc / cpu:8.1f}x':>9}  {met}"
        )
    print(
        "met: yes = wall time within the target; cpu = only the CPU time is (the machine was busy); NO = neither"
    )


if __name__ == "__main__":
    main()
