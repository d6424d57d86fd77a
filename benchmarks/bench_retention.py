"""Benchmark: customer panel build and SL -> churn fit for 1M customers x 12 months (issue 7).

Workload (seed 0): 1,000,000 customers over 12 months (staggered starts, ~0.5 phone contacts per customer-month,
~6M contacts), next-month churn planted at -2.0 log-odds per +1.0 of experienced SL.

* ``panel build`` — :func:`cx_framework.retention.build_customer_panel` (numpy index arithmetic + bincount)
  vs a straightforward pandas implementation (groupby-agg of contacts per customer-month merged onto a
  repeat/cumcount skeleton). Target: <= 30 s.
* ``fit logit`` — :func:`cx_framework.retention.fit_retention` (exact grouped binomial GLM + customer-clustered
  sandwich from row residuals) vs a direct row-level ``statsmodels.api.Logit(...).fit(cov_type="cluster")`` on
  the same design. Target: <= 3 s with identical coefficients; max |coef diff| and max relative SE diff printed.

Ours is best of ``--repeat`` runs, baselines best of ``--baseline-repeat``. Peak memory: tracemalloc peak of one
extra (untimed) run of ours, and the process's peak RSS at the end.
Run: ``python -m benchmarks.bench_retention [--customers 1000000] [--months 12] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import math
import resource
import time
import tracemalloc
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from cx_framework.errors import StatisticalWarning
from cx_framework.retention import build_customer_panel, fit_retention


def best_of(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    best, out = math.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def traced_peak_mb(fn: Callable[[], object]) -> float:
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def make_data(customers: int, months: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Customers and phone contacts with churn planted on experienced SL (vectorised; a loop over months only)."""
    rng = np.random.default_rng(seed)
    month_start = pd.date_range("2024-01-01", periods=months + 1, freq="MS")
    segment = rng.choice(np.array(["consumer", "small_business", "premium"]), customers, p=[0.7, 0.2, 0.1])
    seg_eff = np.select([segment == "small_business", segment == "premium"], [-0.3, -0.6], 0.0)
    start_m = rng.integers(0, 4, customers)
    propensity = rng.beta(4, 1.5, customers)
    alive = np.ones(customers, dtype=bool)
    churn_m = np.full(customers, -1)
    parts_c, parts_m, parts_w = [], [], []
    for m in range(months):
        active = alive & (start_m <= m)
        calls = np.where(active, rng.poisson(0.5, customers), 0)
        within = rng.binomial(calls, np.clip(propensity + rng.normal(0, 0.15, customers), 0.01, 0.99))
        cust = np.repeat(np.arange(customers), calls)
        rank = np.arange(cust.size) - np.repeat(np.cumsum(calls) - calls, calls)
        parts_c.append(cust)
        parts_m.append(np.full(cust.size, m))
        parts_w.append(rank < within[cust])
        sl = np.where(calls > 0, within / np.maximum(calls, 1), 0.8)
        logit = -2.8 + seg_eff - 2.0 * (sl - 0.8)
        churn = active & (rng.random(customers) < 1 / (1 + np.exp(-logit))) & (m + 1 < months)
        churn_m[churn] = m + 1
        alive &= ~churn
    cust, month, within = np.concatenate(parts_c), np.concatenate(parts_m), np.concatenate(parts_w)
    ids = np.char.add("C", np.char.zfill(np.arange(customers).astype(str), 7)).astype(object)
    ts = month_start.to_numpy()[month] + rng.integers(0, 27 * 86_400, cust.size).astype("timedelta64[s]")
    contacts = pd.DataFrame(
        {
            "contact_id": np.arange(cust.size).astype(str).astype(object),
            "customer_id": ids[cust],
            "timestamp": ts,
            "channel": "phone",
            "wait_s": np.where(
                within, rng.integers(0, 21, cust.size), rng.integers(21, 300, cust.size)
            ).astype(float),
            "abandoned": ~within & (rng.random(cust.size) < 0.3),
            "resolved_first_contact": rng.random(cust.size) < 0.75,
        }
    )
    churn_date = np.where(
        churn_m >= 0,
        month_start.to_numpy()[np.maximum(churn_m, 0)] + np.timedelta64(9, "D"),
        np.datetime64("NaT"),
    )
    customers_df = pd.DataFrame(
        {
            "customer_id": ids,
            "segment": segment,
            "product": "fibre",
            "start_date": month_start.to_numpy()[start_m] + np.timedelta64(2, "D"),
            "monthly_revenue": rng.gamma(4.0, 10.0, customers),
            "churn_date": churn_date.astype("datetime64[ns]"),
        }
    )
    return contacts, customers_df


def pandas_panel(contacts: pd.DataFrame, customers: pd.DataFrame, threshold_s: float = 20.0) -> pd.DataFrame:
    """Straightforward pandas panel (the baseline): skeleton by repeat + cumcount, contacts by groupby-agg, merge."""
    end = contacts["timestamp"].max().to_period("M").to_timestamp()
    start = customers["start_date"].dt.to_period("M").dt.to_timestamp()
    last = customers["churn_date"].dt.to_period("M").dt.to_timestamp().fillna(end).clip(upper=end)
    n = (last.dt.year - start.dt.year) * 12 + (last.dt.month - start.dt.month) + 1
    skel = customers.loc[customers.index.repeat(n), ["customer_id", "segment", "product", "monthly_revenue"]]
    skel["tenure_months"] = skel.groupby(level=0).cumcount().to_numpy()
    skel["period"] = start.loc[skel.index].to_numpy().astype("datetime64[M]") + skel[
        "tenure_months"
    ].to_numpy().astype("timedelta64[M]")
    skel["period"] = skel["period"].astype("datetime64[ns]")
    churn_p = customers["churn_date"].dt.to_period("M").dt.to_timestamp().loc[skel.index].to_numpy()
    skel["churned"] = churn_p == (skel["period"] + pd.offsets.MonthBegin(1)).to_numpy()
    skel["at_risk"] = skel["period"].to_numpy() < last.loc[skel.index].to_numpy()
    c = contacts.assign(period=contacts["timestamp"].dt.to_period("M").dt.to_timestamp())
    c["within"] = ~c["abandoned"] & (c["wait_s"] <= threshold_s)
    agg = c.groupby(["customer_id", "period"]).agg(
        calls=("within", "size"), answered_within_threshold=("within", "sum"), mean_wait_s=("wait_s", "mean")
    )
    out = skel.merge(agg.reset_index(), on=["customer_id", "period"], how="left")
    out["calls"] = out["calls"].fillna(0)
    out["service_level"] = out["answered_within_threshold"] / out["calls"].where(out["calls"] > 0)
    out["has_calls"] = out["calls"] > 0
    return out


def direct_logit(panel: pd.DataFrame):
    import statsmodels.api as sm

    s = panel[panel["has_calls"] & panel["at_risk"]]
    x = pd.DataFrame(
        {
            "Intercept": 1.0,
            "service_level": s["service_level"].to_numpy(),
            "tenure_months": s["tenure_months"].to_numpy(float),
            "segment[T.premium]": (s["segment"] == "premium").to_numpy(float),
            "segment[T.small_business]": (s["segment"] == "small_business").to_numpy(float),
        }
    )
    groups = pd.factorize(s["customer_id"])[0]
    return sm.Logit(s["churned"].to_numpy(float), x).fit(
        disp=0, method="newton", tol=1e-12, cov_type="cluster", cov_kwds={"groups": groups}
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline-repeat", type=int, default=1)
    args = parser.parse_args()
    warnings.simplefilter("ignore", StatisticalWarning)

    t0 = time.perf_counter()
    contacts, customers = make_data(args.customers, args.months)
    print(
        f"data: {len(customers):,} customers, {len(contacts):,} contacts, {args.months} months "
        f"(generated in {time.perf_counter() - t0:.1f} s)"
    )

    t_panel, panel = best_of(lambda: build_customer_panel(contacts, customers, validate=False), args.repeat)
    t_panel_base, base_panel = best_of(lambda: pandas_panel(contacts, customers), args.baseline_repeat)
    assert isinstance(panel, pd.DataFrame) and isinstance(base_panel, pd.DataFrame)
    same_rows = len(panel) == len(base_panel)
    del base_panel

    t_fit, result = best_of(lambda: fit_retention(panel), args.repeat)
    t_fit_base, direct = best_of(lambda: direct_logit(panel), args.baseline_repeat)
    coef_diff = float(np.max(np.abs(result.params.to_numpy() - np.asarray(direct.params))))  # type: ignore[union-attr]
    se_diff = float(np.max(np.abs(result.bse.to_numpy() / np.asarray(direct.bse) - 1)))  # type: ignore[union-attr]

    peak_panel = traced_peak_mb(lambda: build_customer_panel(contacts, customers, validate=False))
    peak_fit = traced_peak_mb(lambda: fit_retention(panel))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    rows = [
        (
            f"panel build {args.customers:,} x {args.months} mo ({len(panel):,} rows)",
            t_panel,
            t_panel_base,
            "pandas groupby+merge",
        ),
        (f"fit logit, clustered SE ({result.nobs:,} cust-months)", t_fit, t_fit_base, "sm.Logit row-level"),  # type: ignore[union-attr]
    ]
    print(f"\n{'workload':<58} {'ours (s)':>9} {'baseline (s)':>13} {'ratio':>7}  baseline")
    for name, ours, base, label in rows:
        print(f"{name:<58} {ours:>9.2f} {base:>13.2f} {base / ours:>6.1f}x  {label}")
    print(f"\npanel rows identical to baseline: {same_rows}")
    print(
        f"fit: grouped into {result.n_groups:,} design rows; max |coef diff| vs sm.Logit = {coef_diff:.2e}; "  # type: ignore[union-attr]
        f"max relative SE diff = {se_diff:.2e}"
    )
    print(
        f"SL coefficient {result.params['service_level']:+.3f} "  # type: ignore[union-attr]
        f"(95% CI {result.conf_int().loc['service_level', 'lower']:+.3f} to "  # type: ignore[union-attr]
        f"{result.conf_int().loc['service_level', 'upper']:+.3f}; planted -2.000)"
    )  # type: ignore[union-attr]
    print(
        f"peak memory (tracemalloc): panel build {peak_panel:,.0f} MB, fit {peak_fit:,.0f} MB; process peak RSS {rss:,.0f} MB"
    )
    print("targets: panel build <= 30 s, fit <= 3 s with identical coefficients")


if __name__ == "__main__":
    main()
