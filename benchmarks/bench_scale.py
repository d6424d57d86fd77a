"""Scale benchmark (issue 14): wall time and peak resident memory of ``cx validate`` and the full ``cx report``.

Targets (2-core, 24 GB machine): a 3M-customer organisation (~50M contacts) -> ``cx report`` with peak RSS <= 4 GB
on DuckDB; 200M contacts -> full report in <= 15 min within 4 GB; cost linear in rows.

Workloads, each run in a fresh process, best of ``--repeat``; peak RSS = the largest sum of resident memory over
the process tree (psutil, sampled every 0.2 s; the JVM of Spark included), else the child's ``ru_maxrss``:

* ``validate`` — ``cx validate DIR --engine E`` (every table of the data contract, all checks);
* ``report``   — ``cx report DIR --engine E --no-cache`` (every section of the Analysis, the HTML report).

Engines: DuckDB (``memory_limit`` from ``--duckdb-memory``, 2 threads), pandas (every table in memory; run under
an address-space limit of ``--pandas-limit`` GB so it fails with MemoryError instead of taking the machine),
Spark local[2] (up to ``--spark-max`` M contacts: the small sizes). Ratios pandas / engine and engine / DuckDB
are from the same run. CPU s = user + system time of the ``cx`` process tree (the JVM included, sampled).

Data: ``--data DIR[,DIR...]`` (e.g. a ``cx generate --customers 3000000`` organisation) and/or ``--sizes`` in
millions of contacts, made by replicating the committed sample (customer, contact and work item ids suffixed; the
other tables as they are), so row counts grow exactly linearly and making them takes seconds.

Run: ``python -m benchmarks.bench_scale --sizes 1 --data /tmp/org3m --engines duckdb,pandas,spark``.

App mode (issue 14, deliverable 6: the app opens a 50M-contact organisation within 5 s once the analysis is
cached, reading aggregates only): ``--app DIR --cache CACHE_DIR`` opens the app (``apps/streamlit_app.py``) on
``DIR`` in a fresh process with the Analysis disk cache ``CACHE_DIR`` (filled by an earlier
``cx report DIR --engine duckdb`` with ``CX_CACHE_DIR=CACHE_DIR``) and visits every page once (AppTest, Streamlit's
own script runner): per page wall and CPU s, the sections it had to compute (0 = all from the cache), the tables it
read (in the engine or into pandas) and the engine queries it ran, and whether the page says how old the cached
figures are. Run: ``python -m benchmarks.bench_scale --app /tmp/org50m --cache /tmp/org50m_cache``.

Measured tables, with the conditions of each run: ``benchmarks/RESULTS_scale.md``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
SAMPLE_CONTACTS = 199_151  # rows of data/sample/contacts.parquet
REPLICATED = ("contacts", "customers", "work_items")
COPIED = ("intervals", "employees", "employee_metrics", "department_metrics")


def scale_sample(factor: int, out: Path) -> int:
    """Write the sample replicated ``factor`` times to ``out``; return the number of contacts."""
    import duckdb

    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET threads = 2; SET memory_limit = '3GB'; SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")
    con.execute(f"CREATE TEMP TABLE k AS SELECT range AS k FROM range({int(factor)})")
    ids = {
        "contacts": ("contact_id", "customer_id"),
        "customers": ("customer_id",),
        "work_items": ("item_id", "customer_id"),
    }
    for name in REPLICATED:
        src = SAMPLE / f"{name}.parquet"
        described = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{src}')").fetchall()
        select = []
        for column, kind, *_ in described:
            if column in ids[name]:
                select.append(f"{column} || '_' || k.k::VARCHAR AS {column}")
            elif str(kind).startswith("TIMESTAMP"):
                select.append(f"{column}::TIMESTAMP AS {column}")  # microseconds: Spark-readable
            else:
                select.append(column)
        con.execute(
            f"COPY (SELECT {', '.join(select)} FROM read_parquet('{src}') CROSS JOIN k) "
            f"TO '{out / (name + '.parquet')}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)"
        )
    for name in COPIED:
        src = SAMPLE / f"{name}.parquet"
        cols = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{src}')").fetchall()
        select_text = ", ".join(
            f"{c}::TIMESTAMP AS {c}" if str(t).startswith("TIMESTAMP") else c for c, t, *_ in cols
        )
        con.execute(
            f"COPY (SELECT {select_text} FROM read_parquet('{src}')) TO '{out / (name + '.parquet')}' (FORMAT parquet)"
        )
    con.close()
    return count_contacts(out)


def count_contacts(data: Path) -> int:
    import duckdb

    con = duckdb.connect()
    n = con.execute(f"SELECT count(*) FROM read_parquet('{data / 'contacts.parquet'}')").fetchone()
    con.close()
    return int(n[0]) if n else 0


def _tree_rss(pid: int, cpu: dict[int, float] | None = None) -> int:
    """Resident memory of ``pid`` and its descendants; ``cpu`` gets each process' CPU seconds so far (the JVM of
    Spark is not waited for by its parent, so the kernel's child rusage misses it)."""
    import psutil

    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
            if cpu is not None:
                times = p.cpu_times()
                cpu[p.pid] = max(cpu.get(p.pid, 0.0), times.user + times.system)
        except psutil.Error:
            continue
    return total


Result = tuple[float, float, float, int, str]  # wall s, CPU s, peak RSS GB, exit code, last stderr line


def _run(argv: list[str], *, limit_gb: float | None, env: dict[str, str], niceness: int = 10) -> Result:
    """Run ``argv`` in a fresh process: (wall seconds, CPU seconds of the process and the children it waited
    for, peak RSS in GB, exit code, last stderr line)."""

    def limit() -> None:
        if limit_gb:
            size = int(limit_gb * 1024**3)
            resource.setrlimit(resource.RLIMIT_AS, (size, size))
        if niceness:
            os.nice(niceness)

    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=limit
    )
    peak = [0]
    tree_cpu: dict[int, float] = {}
    done = threading.Event()

    def sample() -> None:
        try:
            import psutil  # noqa: F401
        except ImportError:
            return
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss(proc.pid, tree_cpu))
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    assert proc.stderr is not None
    err = proc.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    done.set()
    sampler.join()
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    rss = max(peak[0], usage.ru_maxrss * 1024) / 1024**3
    # the kernel's figure for the process and the children it waited for, or the sampled tree (Spark's JVM)
    cpu = max(usage.ru_utime + usage.ru_stime, sum(tree_cpu.values()))
    lines = [line for line in err.strip().splitlines() if line.strip()]
    return wall, cpu, rss, code, lines[-1][:160] if lines else ""


def _argv(workload: str, engine: str, data: Path, configs: Path) -> list[str]:
    cx = [str(Path(sys.executable).parent / "cx")]
    if workload == "validate":
        return [*cx, "validate", str(data), "--configs", str(configs), "--engine", engine]
    return [
        *cx,
        "report",
        str(data),
        "--configs",
        str(configs),
        "--engine",
        engine,
        "--no-cache",
        "--out",
        str(data / f"report-{engine}.html"),
    ]


def _configs(work: Path, memory: str) -> Path:
    """A copy of ``configs/`` whose engine.yaml sets the DuckDB memory limit, 2 threads and a spill directory."""
    target = work / "configs"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(ROOT / "configs", target)
    (target / "engine.yaml").write_text(
        f"kind: duckdb\nmemory_limit: {memory}\nthreads: 2\nspill_dir: {work / 'spill'}\n"
        "spark:\n  master: local[2]\n  conf: {spark.driver.memory: 6g}\n",
        encoding="utf-8",
    )
    return target


#: the app's pages in the order a leader meets them (the Overview is the default page)
APP_PAGES = (
    ("Overview", None),
    ("Scorecard & drill-down", "views/scorecard.py"),
    ("Incentive modeller", "views/incentives.py"),
    ("Conflicts & SLAs", "views/conflicts.py"),
    ("Staffing & service level", "views/staffing.py"),
    ("Retention explorer", "views/retention.py"),
    ("Data", "views/data.py"),
)

_APP_SCRIPT = r"""
import json, re, sys, time, warnings
warnings.simplefilter("ignore")
root, pages = sys.argv[1], json.loads(sys.argv[2])
sys.path.insert(0, root); sys.path.insert(0, root + "/apps")
from collections import Counter
from streamlit.testing.v1 import AppTest
from cx_framework.analysis import core
from cx_framework.engine.core import Engine

# what a page touches besides the disk cache: sections computed, tables read (in the engine or into pandas),
# engine queries run
seen = {"computed": [], "tables": [], "queries": 0}
compute, engine_table, load, execute = (core.Analysis._compute_section, core.Analysis._validate_in_engine,
                                        core.LazyTables._load, Engine.execute)
def _compute(self, name):
    seen["computed"].append(name)
    return compute(self, name)
def _engine_table(self, name):
    seen["tables"].append(name + " (engine)")
    return engine_table(self, name)
def _load(self, name):
    if name not in self._frames and name in self.files:
        seen["tables"].append(name + " (pandas)")
    return load(self, name)
def _execute(self, expr):
    seen["queries"] += 1
    return execute(self, expr)
core.Analysis._compute_section, core.Analysis._validate_in_engine = _compute, _engine_table
core.LazyTables._load, Engine.execute = _load, _execute

# a Streamlit server scans the installed components once at start-up, before any session: not a page's cost
from streamlit.components.v2.component_manager import BidiComponentManager
manager = BidiComponentManager()
manager.discover_and_register_components(start_file_watching=False)
at = AppTest.from_file(f"{root}/apps/streamlit_app.py", default_timeout=900)
at._bidi_component_manager = manager
out = []
for label, path in pages:
    for key in seen:
        seen[key] = [] if key != "queries" else 0
    if path:
        at.switch_page(path)
    t, c = time.perf_counter(), time.process_time()
    at.run()
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    texts = []
    for kind in ("markdown", "caption", "info", "warning", "metric", "error"):
        for element in getattr(at, kind):
            texts.append(str(getattr(element, "value", "")) + " " + str(getattr(element, "label", "")))
    age = next((m.group(0) for t in texts for m in [re.search(r"computed [^()]* ago", t)] if m), "")
    errors = [str(e.value)[:200] for e in at.exception]
    out.append({"page": label, "wall": wall, "cpu": cpu, "computed": sorted(set(seen["computed"])),
                "tables": sorted(Counter(seen["tables"])), "queries": seen["queries"], "age": age,
                "errors": errors})
print("BENCH" + json.dumps(out))
"""


def app_open(data: Path, cache: Path, *, configs: Path | None = None) -> list[dict[str, object]]:
    """Open the app on ``data`` with the Analysis disk cache ``cache`` in a fresh process and visit every page
    (:data:`APP_PAGES`): per page wall s, CPU s, sections computed, tables read, engine queries, cache age text."""
    import json

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE",)}
    env.update(PYTHONPATH=str(ROOT), CX_DATA_DIR=str(data), CX_CACHE_DIR=str(cache))
    env["PYTHONPYCACHEPREFIX"] = str(cache.parent / "pycache")  # bytecode cached as for an installed package
    env["CX_COMP_DB"] = str(cache.parent / "comp.duckdb")  # never the repository's scenario store
    if configs is not None:
        env["CX_CONFIG_DIR"] = str(configs)
    proc = subprocess.run(
        [sys.executable, "-c", _APP_SCRIPT, str(ROOT), json.dumps(APP_PAGES)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH")), None)
    if line is None:
        raise RuntimeError(f"app on {data} failed:\n{proc.stderr[-3000:]}")
    pages: list[dict[str, object]] = json.loads(line[5:])
    return pages


def _app_table(data: Path, pages: list[dict[str, object]]) -> None:
    print(f"\napp on {data} ({count_contacts(data) / 1e6:.1f}M contacts), Analysis from the disk cache:")
    print("\n| page | wall s | CPU s | sections computed | tables read | engine queries | cache age shown |")
    print("|---|---|---|---|---|---|---|")
    for p in pages:
        computed = ", ".join(p["computed"]) or "none"  # type: ignore[arg-type]
        tables = ", ".join(p["tables"]) or "none"  # type: ignore[arg-type]
        age = p["age"] or "no"
        errors = f" (errors: {p['errors']})" if p["errors"] else ""
        print(
            f"| {p['page']}{errors} | {p['wall']:.2f} | {p['cpu']:.2f} | {computed} | {tables} | "
            f"{p['queries']} | {age} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="1", help="millions of contacts from the replicated sample")
    parser.add_argument("--data", default="", help="existing data directories (comma separated)")
    parser.add_argument("--engines", default="duckdb,pandas,spark")
    parser.add_argument("--workloads", default="validate,report")
    parser.add_argument("--spark-max", type=float, default=1.5, help="largest size (M contacts) run on Spark")
    parser.add_argument(
        "--pandas-limit", type=float, default=16.0, help="address-space limit (GB) for pandas"
    )
    parser.add_argument("--duckdb-memory", default="2GB", help="DuckDB memory_limit")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--nice", type=int, default=10, help="added niceness of each measured process (0: the bench's own)"
    )
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--app", default="", help="app mode: data directory whose Analysis is cached")
    parser.add_argument("--cache", default="", help="app mode: the Analysis disk cache (CX_CACHE_DIR)")
    parser.add_argument("--configs", default="", help="app mode: configuration directory (default configs/)")
    args = parser.parse_args()
    if args.app:
        cache = Path(args.cache) if args.cache else Path(tempfile.mkdtemp(prefix="cx_bench_app_"))
        configs = Path(args.configs) if args.configs else None
        for _ in range(args.repeat):
            _app_table(Path(args.app), app_open(Path(args.app), cache, configs=configs))
        return
    engines = [e for e in args.engines.split(",") if e]
    workloads = [w for w in args.workloads.split(",") if w]
    work = Path(args.workdir or tempfile.mkdtemp(prefix="cx_bench_scale_"))
    work.mkdir(parents=True, exist_ok=True)
    configs = _configs(work, args.duckdb_memory)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CX_CACHE_DIR": str(work / "cache")}
    print((__doc__ or "").split("\n\n")[1], "\n", flush=True)
    rows: list[tuple[str, float, str, float, float, float, int, str]] = []
    datasets: list[tuple[Path, bool]] = []
    for size in [float(s) for s in args.sizes.split(",") if s]:
        factor = max(1, round(size * 1e6 / SAMPLE_CONTACTS))
        datasets.append((work / f"sample_x{factor}", True))
        scale_sample(factor, datasets[-1][0])
    datasets += [(Path(d), False) for d in args.data.split(",") if d]
    try:
        for data, made in datasets:
            n = count_contacts(data)
            print(f"data: {data} ({n / 1e6:.1f}M contacts)", flush=True)
            for workload in workloads:
                for engine in engines:
                    if engine == "spark" and n / 1e6 > args.spark_max:
                        continue
                    best: Result | None = None
                    for _ in range(args.repeat):
                        limit = args.pandas_limit if engine == "pandas" else None
                        result = _run(
                            _argv(workload, engine, data, configs),
                            limit_gb=limit,
                            env=env,
                            niceness=args.nice,
                        )
                        best = result if best is None or result[0] < best[0] else best
                    assert best is not None
                    wall, cpu, rss, code, last = best
                    rows.append((workload, n / 1e6, engine, wall, cpu, rss, code, last))
                    flag = "" if code == 0 else f"  (exit {code}: {last})"
                    print(
                        f"  {workload:<8} {n / 1e6:6.1f}M {engine:<6} {wall:8.1f} s {cpu:8.1f} CPU s "
                        f"{rss:6.2f} GB{flag}",
                        flush=True,
                    )
            if made:
                shutil.rmtree(data, ignore_errors=True)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    _table(rows)


def _table(rows: list[tuple[str, float, str, float, float, float, int, str]]) -> None:
    """The closing table: per workload, size and engine, with pandas/engine and engine/DuckDB ratios of the same
    run (pandas/engine > 1: the engine is faster or smaller; spark/duckdb > 1: Spark is slower)."""
    print(
        "\n| workload | contacts | engine | wall s | CPU s | peak RSS GB | pandas/engine time "
        "| pandas/engine RSS | engine/duckdb time |"
    )
    print("|---|---|---|---|---|---|---|---|---|")

    def ok(engine: str) -> dict[tuple[str, float], tuple[float, float]]:
        return {(w, round(m, 3)): (t, r) for w, m, e, t, _, r, code, _ in rows if e == engine and code == 0}

    pandas, duck = ok("pandas"), ok("duckdb")
    for w, m, e, t, cpu, r, code, _ in rows:
        base, ddb = pandas.get((w, round(m, 3))), duck.get((w, round(m, 3)))
        ratio_t = f"{base[0] / t:.2f}x" if base and e != "pandas" and code == 0 else ""
        ratio_r = f"{base[1] / r:.2f}x" if base and e != "pandas" and code == 0 else ""
        vs_duck = f"{t / ddb[0]:.2f}x" if ddb and e != "duckdb" and code == 0 else ""
        flag = "" if code == 0 else " (failed)"
        print(
            f"| {w} | {m:.1f}M | {e}{flag} | {t:.1f} | {cpu:.1f} | {r:.2f} | {ratio_t} | {ratio_r} | {vs_duck} |"
        )


if __name__ == "__main__":
    main()
