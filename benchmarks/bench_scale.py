"""Scale benchmark (issue 14): wall time and peak resident memory of validate + the report's row-level steps.

Targets (2-core, 24 GB machine): 200M contacts -> full report in <= 15 min with peak RSS <= 4 GB; cost linear in
rows; a 3M-customer organisation (~50M contacts) within 4 GB on DuckDB.

Workloads, each run in a fresh process (peak RSS = the child's ``ru_maxrss``), best of ``--repeat``:

* ``validate``   — ``cx validate DIR --engine E`` (every table of the data contract, all checks);
* ``row steps``  — :func:`cx_framework.scale.aggregate_data_dir`: validate contacts/customers/intervals/
  work_items, then contact metrics, monthly SL and churn, journeys per year, customer panel and the clustered
  retention logit — everything of the report that touches row-level tables; only aggregates reach pandas;
* ``cx report``  — today's full report (pandas: every table loaded into memory), for reference.

Engines: DuckDB (``memory_limit`` 3GB, 2 threads), today's pandas path, Spark local[2]. Ratios are pandas / engine
measured in the same run. Data: the committed sample replicated ``k`` times by DuckDB (customer, contact and work
item ids suffixed; other tables as they are), so row counts grow exactly linearly and generation takes seconds.
Sizes beyond what is run are extrapolated from the measured per-row cost and labelled as such.

Run: ``python -m benchmarks.bench_scale --sizes 1,10 --engines duckdb,pandas,spark``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
SAMPLE_CONTACTS = 213_646  # rows of data/sample/contacts.parquet
REPLICATED = ("contacts", "customers", "work_items")
COPIED = ("intervals", "employees", "employee_metrics", "department_metrics")
DUCKDB_SETTINGS = {"kind": "duckdb", "memory_limit": "3GB", "threads": 2}


def scale_sample(factor: int, out: Path) -> int:
    """Write the sample replicated ``factor`` times to ``out``; return the number of contacts."""
    import duckdb

    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET threads = 2; SET memory_limit = '3GB'; SET preserve_insertion_order = false")
    con.execute(f"CREATE TEMP TABLE k AS SELECT range AS k FROM range({int(factor)})")
    ids = {
        "contacts": ("contact_id", "customer_id"),
        "customers": ("customer_id",),
        "work_items": ("item_id", "customer_id"),
    }
    for name in REPLICATED:
        src = SAMPLE / f"{name}.parquet"
        cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{src}')").fetchall()]
        types = dict(
            con.execute(f"DESCRIBE SELECT * FROM read_parquet('{src}')").fetchall()[i][:2]
            for i in range(len(cols))
        )
        select = []
        for c in cols:
            if c in ids[name]:
                select.append(f"{c} || '_' || k.k::VARCHAR AS {c}")
            elif str(types[c]).startswith("TIMESTAMP"):
                select.append(f"{c}::TIMESTAMP AS {c}")  # microseconds: Spark-readable
            else:
                select.append(c)
        con.execute(
            f"COPY (SELECT {', '.join(select)} FROM read_parquet('{src}') CROSS JOIN k) "
            f"TO '{out / (name + '.parquet')}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)"
        )
    for name in COPIED:
        src = SAMPLE / f"{name}.parquet"
        cols = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{src}')").fetchall()
        select = ", ".join(
            f"{c}::TIMESTAMP AS {c}" if str(t).startswith("TIMESTAMP") else c for c, t, *_ in cols
        )
        con.execute(
            f"COPY (SELECT {select} FROM read_parquet('{src}')) TO '{out / (name + '.parquet')}' (FORMAT parquet)"
        )
    n = con.execute(f"SELECT count(*) FROM read_parquet('{out / 'contacts.parquet'}')").fetchone()
    con.close()
    return int(n[0]) if n else 0


def _run(code: str) -> tuple[float, float, int]:
    """Run ``code`` in a fresh interpreter: (wall seconds, peak RSS in MB, exit code)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if proc.stderr is not None:
        err = proc.stderr.read().decode(errors="replace")
        proc.stderr.close()
    else:
        err = ""
    code_ = os.waitstatus_to_exitcode(status)
    if code_ not in (0, 2):
        print(
            f"    (exit {code_}: {err.strip().splitlines()[-1] if err.strip() else 'no message'})", flush=True
        )
    return wall, usage.ru_maxrss / 1024.0, code_


def workload(name: str, engine: str, data: Path) -> str:
    settings = dict(DUCKDB_SETTINGS) if engine == "duckdb" else {"kind": engine, "threads": 2}
    if name == "validate":
        return (
            "import sys; from cx_framework.cli import app; "
            f"sys.argv=['cx','validate',{str(data)!r},'--configs','configs','--engine',{engine!r}]; app()"
        )
    if name == "row steps":
        return (
            "from cx_framework.config import load_config; from cx_framework.scale import aggregate_data_dir; "
            f"aggregate_data_dir({str(data)!r}, load_config('configs'), engine={settings!r})"
        )
    if name == "cx report":
        return (
            "import sys; from cx_framework.cli import app; "
            f"sys.argv=['cx','report',{str(data)!r},'--configs','configs','--out',{str(data / 'report.html')!r}]; app()"
        )
    raise ValueError(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10", help="millions of contacts, comma separated")
    parser.add_argument("--engines", default="duckdb,pandas,spark")
    parser.add_argument("--spark-max", type=float, default=1.0, help="largest size (M contacts) run on Spark")
    parser.add_argument(
        "--report-max", type=float, default=1.0, help="largest size (M contacts) for cx report"
    )
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()
    sizes = [float(s) for s in args.sizes.split(",") if s]
    engines = [e for e in args.engines.split(",") if e]
    work = Path(args.workdir or tempfile.mkdtemp(prefix="cx_bench_scale_"))
    rows: list[tuple[str, float, str, float, float, int]] = []
    print(__doc__.split("\n\n")[1], "\n", flush=True)
    try:
        for size in sizes:
            factor = max(1, round(size * 1e6 / SAMPLE_CONTACTS))
            data = work / f"x{factor}"
            clock = time.perf_counter()
            n = scale_sample(factor, data)
            print(
                f"data: {n:,} contacts (sample x{factor}) in {time.perf_counter() - clock:.1f} s", flush=True
            )
            plan = [("validate", e) for e in engines] + [("row steps", e) for e in engines]
            if size <= args.report_max:
                plan.append(("cx report", "pandas"))
            for name, engine in plan:
                if engine == "spark" and size > args.spark_max:
                    continue
                best: tuple[float, float, int] | None = None
                for _ in range(args.repeat):
                    result = _run(workload(name, engine, data))
                    best = result if best is None or result[0] < best[0] else best
                assert best is not None
                rows.append((name, n / 1e6, engine, best[0], best[1], best[2]))
                print(
                    f"  {name:<10} {n / 1e6:7.2f}M {engine:<7} {best[0]:8.1f} s {best[1]:8.0f} MB", flush=True
                )
            shutil.rmtree(data, ignore_errors=True)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    _table(rows)


def _table(rows: list[tuple[str, float, str, float, float, int]]) -> None:
    print(
        "\n| workload | contacts | engine | wall s | peak RSS MB | pandas/engine time | pandas/engine RSS |"
    )
    print("|---|---|---|---|---|---|---|")
    pandas = {(w, round(m, 3)): (t, r) for w, m, e, t, r, _ in rows if e == "pandas"}
    for w, m, e, t, r, code in rows:
        base = pandas.get((w, round(m, 3)))
        ratio_t = f"{base[0] / t:.2f}x" if base and e != "pandas" else ""
        ratio_r = f"{base[1] / r:.2f}x" if base and e != "pandas" else ""
        flag = "" if code in (0, 2) else " (failed)"
        print(f"| {w} | {m:.2f}M | {e}{flag} | {t:.1f} | {r:.0f} | {ratio_t} | {ratio_r} |")
    duck = sorted((m, t, r) for w, m, e, t, r, _ in rows if e == "duckdb" and w == "row steps")
    if len(duck) >= 2:
        (m0, t0, _), (m1, t1, r1) = duck[0], duck[-1]
        per_m = (t1 - t0) / (m1 - m0)
        print(
            f"\nDuckDB row steps: {per_m:.1f} s per extra million contacts between {m0:.1f}M and {m1:.1f}M; "
            f"extrapolated (NOT measured) 200M: {t1 + per_m * (200 - m1):.0f} s; peak RSS is bounded by the "
            f"3GB memory_limit plus the Python process (measured {r1:.0f} MB at {m1:.1f}M)."
        )


if __name__ == "__main__":
    main()
