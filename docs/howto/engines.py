# %% [markdown]
# # Run on DuckDB or Spark
#
# Everything in the other how-tos runs on pandas, in memory: fine for the sample and for a few million contacts.
# When the call-level tables no longer fit in memory, the *row-level* steps — validating every row, building the
# customer × month panel, the department metrics from contacts — run in an **engine** where the files lie:
#
# | engine | where it runs | when |
# |---|---|---|
# | `pandas` | in this Python process | small data, notebooks (what `cx.Analysis` uses) |
# | `duckdb` | embedded [DuckDB](https://duckdb.org/docs/), streaming Parquet/CSV from disk, spilling beyond its memory limit | tens of millions of contacts on one machine (the default of `cx validate`) |
# | `spark` | a SparkSession (local mode, a cluster master URL or Spark Connect `sc://`) | beyond one machine |
#
# Only small aggregates come back to pandas: the grouped service level → churn logit is fitted on the distinct
# design rows (exact: the binomial likelihood depends on the data only through them), so **every engine gives the
# same figures** — the engine tests check them to 1e-9 relative, and this page checks them again below.
#
# The row-level functions live in `cx_framework.engine` (`connect`, `validate_table`, `validate_data_dir`,
# `customer_panel`, `contact_metrics`, `monthly_sl_and_churn`); `cx_framework.retention.fit_retention_engine` fits
# the churn model on a panel that stays in the engine, and `cx_framework.scale.aggregate_data_dir` runs all of it
# for a data folder in one call.

# %%
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import cx_framework as cx
from cx_framework.engine import (
    connect,
    contact_metrics,
    customer_panel,
    load_engine_settings,
    monthly_sl_and_churn,
    validate_data_dir,
)
from cx_framework.errors import StatisticalWarning
from cx_framework.figures import figure_spec
from cx_framework.retention import fit_retention_engine
from cx_framework.retention import monthly_sl_and_churn as monthly_sl_and_churn_pandas
from cx_framework.scale import aggregate_data_dir
from cx_framework.scorecard import contact_metrics as contact_metrics_pandas

# the sample configuration folder of the repository (run from anywhere inside it)
CONFIGS = next(p / "configs" for p in [Path.cwd(), *Path.cwd().parents] if (p / "configs").is_dir())
SAMPLE = CONFIGS.parent / "data" / "sample"
work = Path(tempfile.mkdtemp(prefix="cx_engines_"))
cfg = cx.load_config(CONFIGS)

# %% [markdown]
# ## 1. Choose the engine: `configs/engine.yaml`
#
# The engine and its resources are configuration, not code. `configs/engine.yaml` is optional (without it: DuckDB
# with DuckDB's own defaults); unknown keys are errors naming the file, key and line, as in every config file.

# %%
print((CONFIGS / "engine.yaml").read_text())
settings = load_engine_settings(CONFIGS)
settings

# %% [markdown]
# What the DuckDB settings do:
#
# * **`memory_limit`** (e.g. `4GB`) caps the memory DuckDB uses for its buffers and operators; DuckDB's default
#   is 80 % of the machine's RAM. Leave room for Python and the aggregates.
# * **`spill_dir`** is DuckDB's `temp_directory`: beyond the memory limit, sorts, joins and aggregations that
#   support it write intermediate blocks there instead of failing (DuckDB's
#   [out-of-core processing](https://duckdb.org/docs/stable/guides/performance/how_to_tune_workloads.html)).
#   Put it on a local disk with free space of the order of the largest table.
# * **`spill_limit`** is `max_temp_directory_size`: the most disk DuckDB may use there.
# * **`threads`** caps the worker threads (default: every core).
#
# When a step still runs out of memory or disk, the library raises `EngineError` naming the setting to change
# (`engine.memory_limit`, `engine.spill_dir`), never a bare DuckDB exception. `connect` takes the same fields as
# overrides, which is how the command line's `--engine` and the code below choose an engine:

# %%
engine = connect(settings, memory_limit="1GB", spill_dir=work / "spill", spill_limit="5GB", threads=2)
con = engine.backend.con  # the DuckDB connection, for raw SQL
for name in ("memory_limit", "temp_directory", "max_temp_directory_size", "threads"):
    print(f"{name:<24} {con.execute(f'select current_setting({name!r})').fetchone()[0]}")

# %% [markdown]
# ## 2. Validate where the files lie
#
# `validate_data_dir` runs every check of the data contract (types, ranges, keys, cross-column rules such as
# answered ≤ offered) as queries over the files, one pass per table, and raises one `DataValidationError` for all
# tables with the first failing rows of each check and its total count. Nothing is loaded into pandas.

# %%
t0 = time.perf_counter()
checked = validate_data_dir(engine, SAMPLE, ("contacts", "customers", "intervals"))
print(f"validated in {time.perf_counter() - t0:.1f} s")
{name: table.rows for name, table in checked.items()}

# %% [markdown]
# On the command line the same check is `cx validate DATA_DIR --engine duckdb` (or `--engine spark`, or `kind:`
# in `engine.yaml`). A broken file shows what a failure looks like: here a copy of the sample's intervals where
# one row answers more calls than were offered.

# %%
broken = work / "broken"
broken.mkdir()
intervals = pd.read_parquet(SAMPLE / "intervals.parquet")
intervals.loc[7, "answered"] = intervals.loc[7, "offered"] + 5
intervals.to_parquet(broken / "intervals.parquet", index=False)
run = subprocess.run(
    [
        sys.executable,
        "-c",
        "from cx_framework.cli import main; main()",
        "validate",
        str(broken),
        "--engine",
        "duckdb",
        "--configs",
        str(CONFIGS),
    ],
    capture_output=True,
    text=True,
)
print(f"exit code {run.returncode}")
print((run.stdout + run.stderr)[-1500:])

# %% [markdown]
# ## 3. The customer panel and the churn model, in the engine
#
# `customer_panel` returns a *lazy* ibis expression: one row per customer and active month, never materialised in
# pandas. `fit_retention_engine` groups it by distinct design row in DuckDB, fits the grouped logit on those few
# thousand groups and computes the customer-clustered covariance in the engine too (only a K × K matrix comes
# back).

# %%
with warnings.catch_warnings():
    warnings.simplefilter(
        "ignore", StatisticalWarning
    )  # contacts outside a customer's active months are noted
    panel = customer_panel(
        engine, checked["contacts"], checked["customers"], threshold_s=cfg.economics.answer_s
    )
    print(f"panel rows (counted in DuckDB): {engine.scalar(panel.count()):,}")
    t0 = time.perf_counter()
    duck_fit = fit_retention_engine(engine, panel)
    print(f"fitted in {time.perf_counter() - t0:.1f} s on {duck_fit.n_groups:,} groups")

# %% [markdown]
# The same model on pandas: the panel built in memory from the same files, then `fit_retention`.

# %%
sample = {
    name: cx.read_table(SAMPLE / f"{name}.parquet", name) for name in ("contacts", "customers", "intervals")
}
pandas_panel = cx.build_customer_panel(
    sample["contacts"], sample["customers"], threshold_s=cfg.economics.answer_s
)
pandas_fit = cx.fit_retention(pandas_panel)
print(f"pandas panel rows: {len(pandas_panel):,}")

# %% [markdown]
# ## 4. The same figure from pandas and DuckDB
#
# The headline retention figure — the change in monthly churn per +1 point of service level — and every
# coefficient and standard error, side by side:

# %%
label = figure_spec("retention.churn_change_per_point").label
comparison = pd.DataFrame(
    {
        "pandas": [pandas_fit.marginal_effect.estimate, *pandas_fit.params, *pandas_fit.bse],
        "duckdb": [duck_fit.marginal_effect.estimate, *duck_fit.params, *duck_fit.bse],
    },
    index=[
        label,
        *(f"coef {n}" for n in pandas_fit.params.index),
        *(f"se {n}" for n in pandas_fit.bse.index),
    ],
)
comparison["relative difference"] = (comparison["duckdb"] - comparison["pandas"]).abs() / comparison[
    "pandas"
].abs()
assert (comparison["relative difference"] < 1e-9).all()
comparison

# %% [markdown]
# Monthly service level and next-month churn, and the department × month metrics the scorecard takes from
# contacts, also agree:

# %%
monthly_duck = monthly_sl_and_churn(engine, checked["intervals"], checked["customers"])
monthly_pandas = monthly_sl_and_churn_pandas(sample["intervals"], sample["customers"])
np.testing.assert_allclose(
    monthly_duck["service_level"].to_numpy(), monthly_pandas["service_level"].to_numpy(), rtol=1e-9
)
metrics_duck = contact_metrics(engine, checked["contacts"], threshold_s=cfg.economics.answer_s)
metrics_pandas = contact_metrics_pandas(sample["contacts"], threshold_s=cfg.economics.answer_s)
keys = ["period", "department", "metric"]
both = metrics_duck.merge(metrics_pandas, on=keys, suffixes=("_duckdb", "_pandas"))
assert len(both) == len(metrics_pandas) == len(metrics_duck)
np.testing.assert_allclose(both["value_duckdb"], both["value_pandas"], rtol=1e-9)
print(f"{len(both):,} department-month metrics identical to 1e-9")
monthly_duck.tail(3)

# %% [markdown]
# ## 5. One call for a whole data folder
#
# `aggregate_data_dir` validates a data folder and computes every aggregate the report needs from its row-level
# tables (contacts, customers, intervals, work items) in one engine run, timing each step. `engine=` takes a name,
# `EngineSettings` or an open engine; without it, `config.engine` (that is, `engine.yaml`) decides.

# %%
aggregates = aggregate_data_dir(SAMPLE, cfg, engine=engine)
print(aggregates.engine, aggregates.rows)
print({step: f"{s:.1f} s" for step, s in aggregates.seconds.items()})
assert abs(aggregates.retention.marginal_effect.estimate / pandas_fit.marginal_effect.estimate - 1) < 1e-9
engine.close()

# %% [markdown]
# ## 6. Spark
#
# The same functions run on Spark with `connect("spark")` (or `kind: spark` in `engine.yaml`, or
# `--engine spark`): `spark.master` is a master URL (`local[2]` for one machine, `spark://host:7077`, `yarn`,
# `k8s://...`), `spark.remote` a Spark Connect URL (`sc://host:15002`), `spark.conf` any `spark.*` setting. Spark
# needs `pip install 'cx_framework[spark]'` and a Java 17 runtime; without them `connect` raises an `EngineError`
# saying which is missing.
#
# > **Not executed when this page is built.** Starting a local Spark session takes from tens of seconds to minutes
# > on the two-core machines that build these docs, so the cell below is shown, not run. The same comparison —
# > Spark in local mode against DuckDB and pandas, to 1e-9 — runs in CI in `tests/test_engine_spark.py`.
#
# ```python
# from cx_framework.engine import connect
# from cx_framework.scale import aggregate_data_dir
#
# spark = connect("spark", spark={"master": "local[2]", "conf": {"spark.driver.memory": "2g"}})
# on_spark = aggregate_data_dir(DATA_DIR, cfg, engine=spark)
# on_spark.retention.marginal_effect.estimate   # the DuckDB figure above, to 1e-9
# ```
#
# Spark reads Parquet timestamps in microseconds, not nanoseconds: write files for Spark with
# `frame.to_parquet(path, coerce_timestamps="us")`.
