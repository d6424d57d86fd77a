"""Measure the HR modeller's rerun after an edit (not a test: timings never fail CI).

Run: ``.venv/bin/python tests/apps/measure_hr_rerun.py``. Loads the incentive page once on the sample (warming the
caches), then applies N different weight edits through the data editor's edit state and times each full script
rerun with ``time.perf_counter`` (AppTest, so Streamlit's own script runner, element serialisation included).
Every edit uses new weights, so the edited scheme's payouts, comparison and conflict matrix are recomputed.
"""

from __future__ import annotations

import hashlib
import statistics
import sys
import time
import warnings
from pathlib import Path

from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def main(n: int = 12) -> None:
    from cx_framework.config import load_config
    from cx_framework.incentives import scheme_to_yaml

    warnings.simplefilter("ignore")
    cfg = load_config(REPO / "configs")
    key = f"hr_components_siloed_{hashlib.sha1(scheme_to_yaml(cfg.schemes['siloed']).encode()).hexdigest()[:10]}"
    at = AppTest.from_file(str(REPO / "apps" / "views" / "incentives.py"), default_timeout=300).run()
    assert not at.exception, [e.value for e in at.exception]
    times, costs = [], []
    for i in range(n):
        w = round(0.10 + 0.02 * i, 2)  # aht_s weight; product_sales takes the rest of 0.70
        at.session_state[key] = {
            "edited_rows": {0: {"weight": w}, 1: {"weight": round(0.70 - w, 2)}},
            "added_rows": [],
            "deleted_rows": [],
        }
        t0 = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - t0)
        assert not at.exception, [e.value for e in at.exception]
        assert not at.error, [e.value for e in at.error]
        table = next(d.value for d in at.dataframe if "Scheme" in d.value.columns)
        costs.append(float(table.iloc[1, 1]))
    assert len(set(costs)) == n, "every edit must change the edited scheme's cost"
    ms = sorted(1000 * t for t in times)
    print(f"HR modeller rerun after a weight edit, {n} edits on the sample organisation:")
    print(f"  edited annual cost ranged {min(costs):,.0f} to {max(costs):,.0f}")
    print(f"  best {ms[0]:.0f} ms | median {statistics.median(ms):.0f} ms | worst {ms[-1]:.0f} ms")


if __name__ == "__main__":
    main()
