"""Speed of the surfaces that read the Analysis (issue 12): app first render, widget reruns, ``cx report --xlsx``.

Targets (issue 12): Overview cold render on the sample <= 2 s; every widget interaction <= 300 ms;
``cx report --xlsx`` <= 5 s.

Each workload runs in a fresh Python process (nothing cached in memory), best of ``--repeat``:

* ``cold, empty cache``  — no disk cache: every section is computed (what a first-ever start costs);
* ``cold, disk cache``   — a new process opening the Analysis' disk cache (what every later start costs);
* widget reruns          — AppTest reruns after one widget change, in the process that rendered the page.

The baseline column runs the same workload on another checkout of the project (``--baseline DIR``, e.g. an
``git archive`` of main before the Analysis) in the same run; without it the column is empty.

Run: ``python -m benchmarks.bench_truth [--repeat 2] [--baseline /tmp/cx_before]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_PAGE_SCRIPT = r"""
import json, sys, time
root = sys.argv[1]
sys.path.insert(0, root); sys.path.insert(0, root + "/apps")
from streamlit.testing.v1 import AppTest
page, widgets = sys.argv[2], json.loads(sys.argv[3])
t = time.perf_counter()
at = AppTest.from_file(f"{root}/apps/views/{page}.py", default_timeout=900).run()
out = {"render": time.perf_counter() - t, "exception": [e.value for e in at.exception][:1]}
for kind, key, value in widgets:
    widget = getattr(at, kind)(key=key)
    if value == "__next__":
        options = list(widget.options)
        value = options[(options.index(str(widget.value)) + 1) % len(options)] if kind == "radio" else None
    t = time.perf_counter()
    widget.set_value(value).run()
    out[f"{kind}:{key}"] = time.perf_counter() - t
    if at.exception:
        out["exception"] = [e.value for e in at.exception][:1]
print("BENCH" + json.dumps(out))
"""

#: page -> widget changes measured after the first render: (AppTest accessor, key, new value)
WIDGETS: dict[str, list[tuple[str, str, object]]] = {
    "overview": [],
    "staffing": [
        ("slider", "st_target", 0.85),
        ("toggle", "st_erlang_a", True),
        ("slider", "st_shrink", 0.35),
    ],
    "retention": [("radio", "rt_dose", "spline")],
}


def _env(root: Path, cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CX_DATA_DIR", "CX_CONFIG_DIR")}
    env["PYTHONPATH"] = str(root)
    env["CX_CACHE_DIR"] = str(cache)
    return env


def _page(root: Path, cache: Path, page: str, widgets: list[tuple[str, str, object]]) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, "-c", _PAGE_SCRIPT, str(root), page, json.dumps(widgets)],
        capture_output=True,
        text=True,
        env=_env(root, cache),
        cwd=root,
        check=False,
    )
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH")), None)
    if line is None:
        raise RuntimeError(f"{page} on {root} failed:\n{proc.stderr[-2000:]}")
    result: dict[str, float] = json.loads(line[5:])
    return result


def _report(root: Path, cache: Path, out_dir: Path) -> float:
    command = [sys.executable, "-c", "from cx_framework.cli import main; main()"]
    args = ["report", str(root / "data/sample"), "--configs", str(root / "configs")]
    args += ["--out", str(out_dir / "r.html"), "--xlsx", str(out_dir / "p.xlsx")]
    t = time.perf_counter()
    proc = subprocess.run([*command, *args], capture_output=True, text=True, env=_env(root, cache), cwd=root)
    elapsed = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"cx report on {root} failed:\n{proc.stderr[-2000:]}")
    return elapsed


def _best(values: list[float]) -> float:
    return min(values)


def measure(root: Path, repeat: int) -> dict[str, float]:
    """Every workload on one checkout (seconds)."""
    results: dict[str, list[float]] = {}

    def add(name: str, value: float) -> None:
        results.setdefault(name, []).append(value)

    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="cx_bench_") as tmp:
            cache = Path(tmp) / "cache"
            first = _page(root, cache, "overview", [])  # computes and writes the cache
            add("Overview render, cold, empty cache", first["render"])
            warm = _page(root, cache, "overview", [])
            add("Overview render, cold, disk cache", warm["render"])
            for page in ("staffing", "retention"):
                r = _page(root, cache, page, WIDGETS[page])
                add(f"{page.title()} render, cold, disk cache", r["render"])
                for kind, key, _ in WIDGETS[page]:
                    add(f"{page.title()} rerun after {kind} {key}", r[f"{kind}:{key}"])
            add("cx report --xlsx, disk cache", _report(root, cache, Path(tmp)))
        with tempfile.TemporaryDirectory(prefix="cx_bench_") as tmp:
            add("cx report --xlsx, empty cache", _report(root, Path(tmp) / "cache", Path(tmp)))
    return {name: _best(values) for name, values in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--baseline", type=Path, default=None, help="another checkout to compare with")
    args = parser.parse_args()
    ours = measure(ROOT, args.repeat)
    base = measure(args.baseline, args.repeat) if args.baseline else {}
    targets = {"Overview render, cold": 2.0, "rerun": 0.3, "cx report": 5.0}
    print(f"{'workload':<48} {'ours s':>8} {'baseline s':>11} {'ratio':>7} {'target s':>9}")
    for name, value in ours.items():
        target = next((t for k, t in targets.items() if k in name), None)
        b = base.get(name)
        ratio = f"{b / value:6.1f}x" if b else ""
        print(
            f"{name:<48} {value:8.2f} {'' if b is None else f'{b:11.2f}':>11} {ratio:>7} "
            f"{'' if target is None else f'{target:9.1f}':>9}"
        )


if __name__ == "__main__":
    main()
