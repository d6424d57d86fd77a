"""Engine layer on DuckDB: the same checks and numbers as the pandas path, and clear errors for bad settings.

Every engine function is compared with the pandas function it replaces (independent implementation: numpy index
arithmetic and bincount there, SQL window functions and joins here) on the committed sample.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cx_framework.engine import (
    EngineError,
    EngineSettings,
    connect,
    contact_metrics,
    customer_panel,
    journeys_per_year,
    monthly_sl_and_churn,
    validate_table,
)
from cx_framework.errors import ConfigError, DataValidationError, InputValueError, StatisticalWarning
from cx_framework.retention import fit_retention_engine
from cx_framework.schemas import REQUIRED_TABLES, validate

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"


@pytest.fixture(scope="module")
def duck():
    with connect("duckdb", threads=2) as engine:
        yield engine


@pytest.fixture(scope="module")
def tables():
    from cx_framework.io import load_data_dir

    return load_data_dir(SAMPLE)


@pytest.fixture(scope="module")
def panels(duck, tables):
    from cx_framework.retention import build_customer_panel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        pandas_panel = build_customer_panel(tables["contacts"], tables["customers"])
        contacts = validate_table(duck, "contacts", SAMPLE / "contacts.parquet")
        customers = validate_table(duck, "customers", SAMPLE / "customers.parquet")
        engine_panel = customer_panel(duck, contacts, customers)
    return pandas_panel, engine_panel


def _sorted_failures(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.assign(value=frame["value"].map(lambda v: None if v is None or v != v else str(v)))
    return out.sort_values(["column", "check", "row"]).reset_index(drop=True)


# ---------------------------------------------------------------------------------------------- validation
@pytest.mark.parametrize("table", REQUIRED_TABLES)
def test_engine_validation_passes_the_sample_with_the_same_values(duck, tables, table):
    checked = validate_table(duck, table, SAMPLE / f"{table}.parquet")
    assert checked.rows == len(tables[table])
    frame = duck.execute(checked.expr.order_by("__cx_row"))
    reference = tables[table]
    for column in reference.columns:
        a, b = reference[column].to_numpy(), frame[column].to_numpy()
        if a.dtype.kind == "M":
            assert (a.astype("datetime64[us]") == b.astype("datetime64[us]"))[~pd.isna(a)].all(), column
            assert (pd.isna(a) == pd.isna(b)).all(), column
        elif a.dtype.kind in "fiub":
            np.testing.assert_array_equal(a.astype(float), b.astype(float), err_msg=column)
        else:
            assert (
                pd.Series(a).astype(object).fillna("<na>") == pd.Series(b).astype(object).fillna("<na>")
            ).all()


def _bad_contacts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "contact_id": ["a", "a", "c", "d", "e"],
            "customer_id": ["x", "y", None, "z", "z"],
            "timestamp": ["2024-01-01", "bad", "2024-02-01 10:00", "2024-02-01T10:00:00Z", "2024-03-01"],
            "channel": ["phone", "fax", "chat", "email", "phone"],
            "queue": ["q"] * 5,
            "reason": ["r"] * 5,
            "wait_s": [1.0, -2, float("inf"), np.nan, 3.0],
            "handle_s": ["1", "x", None, "2.5", " 3 "],
            "abandoned": ["yes", "no", "maybe", "0", "T"],
            "resolved_first_contact": [True, False, True, False, True],
            "agent_id": [None, "e", "f", None, "g"],
        }
    )


def _bad_intervals() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "interval_start": [
                "2024-01-01 08:00",
                "2024-01-01 08:00",
                "2024-01-01 08:30",
                "2024-01-01 09:00",
            ],
            "queue": ["q", "q", "q", "q"],
            "offered": [10, 5, 3.5, 4],
            "answered": [12, 5, 3, 4],
            "answered_within_threshold": [5, 6, 1, 1],
            "abandoned": [0, 1, 0, 1],
            "aht_s": [300.0, None, 200.0, 0.0],
            "agents_staffed": [2.0, 2.0, -1.0, 1.0],
            "threshold_s": [20.0, None, 20.0, 20.0],
        }
    )


def _bad_department_metrics() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "period": ["2024-01-01", "2024-01-01", "2024-01-15", "2024-02-01"],
            "department": ["d", "d", "d", "d"],
            "team": [None, None, "t", "t"],
            "metric": ["m", "m", "m", "m"],
            "value": [1.0, 2.0, float("inf"), 3.0],
            "volume": [1.0, -1.0, 2.0, 3.0],
        }
    )


def _bad_customers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3"],
            "segment": ["s", "s", None],
            "product": ["p", "p", "p"],
            "start_date": ["2024-01-10", "2024-02-01", "2024-03-01"],
            "monthly_revenue": [10.0, -5.0, 3.0],
            "churn_date": [None, "2024-01-01", "2024-04-01"],
        }
    )


@pytest.mark.parametrize(
    ("table", "make"),
    [
        ("contacts", _bad_contacts),
        ("intervals", _bad_intervals),
        ("department_metrics", _bad_department_metrics),
        ("customers", _bad_customers),
    ],
)
def test_engine_validation_reports_the_same_failures_as_pandas(duck, table, make):
    with pytest.raises(DataValidationError) as pandas_err:
        validate(table, make())
    with pytest.raises(DataValidationError) as engine_err:
        validate_table(duck, table, make())
    expected, got = _sorted_failures(pandas_err.value.failures), _sorted_failures(engine_err.value.failures)
    pd.testing.assert_frame_equal(expected, got, check_dtype=False)
    assert int(engine_err.value.counts["failures"].sum()) == len(expected)


def test_engine_validation_of_a_csv_names_the_file_and_rows(duck, tmp_path):
    path = tmp_path / "contacts.csv"
    frame = _bad_contacts()
    frame["customer_id"] = ["007", "008", None, "009", "009"]
    frame.to_csv(path, index=False)
    from cx_framework.io import read_table

    with pytest.raises(DataValidationError) as pandas_err:
        read_table(path, "contacts")
    with pytest.raises(DataValidationError) as engine_err:
        validate_table(duck, "contacts", path)
    assert str(path) in str(engine_err.value) and "CSV line = row + 2" in str(engine_err.value)
    pd.testing.assert_frame_equal(
        _sorted_failures(pandas_err.value.failures),
        _sorted_failures(engine_err.value.failures),
        check_dtype=False,
    )


def test_engine_validation_keeps_the_first_rows_and_counts_all(duck, tables):
    contacts = tables["contacts"].head(500).copy()
    contacts.loc[contacts.index[100:150], "wait_s"] = -1.0
    with pytest.raises(DataValidationError) as err:
        validate_table(duck, "contacts", contacts, max_rows=20)
    failures = err.value.failures
    assert failures["row"].tolist() == list(range(100, 120))  # the first 20 failing rows, in file order
    counts = err.value.counts.set_index(["column", "check"])["failures"]
    assert counts.loc[("wait_s", ">= 0")] == 50
    assert "50 row(s)" in str(err.value) and "(+45 more)" in str(err.value)


def test_engine_validation_of_missing_columns_and_empty_tables(duck, tables):
    with pytest.raises(DataValidationError) as err:
        validate_table(duck, "contacts", tables["contacts"].head(5).drop(columns=["wait_s"]))
    assert err.value.failures.loc[0, "column"] == "wait_s"
    assert err.value.failures.loc[0, "check"] == "column_in_dataframe"
    with pytest.raises(DataValidationError, match="empty"):
        validate_table(duck, "contacts", tables["contacts"].head(0))


# ---------------------------------------------------------------------------------------------- panel & model
def test_engine_customer_panel_equals_build_customer_panel(duck, panels):
    pandas_panel, engine_panel = panels
    got = duck.execute(engine_panel).sort_values(["customer_id", "period"]).reset_index(drop=True)
    assert len(got) == len(pandas_panel)
    for column in pandas_panel.columns:
        a, b = pandas_panel[column], got[column]
        if isinstance(a.dtype, pd.CategoricalDtype):
            assert (a.astype(str).to_numpy() == b.astype(str).to_numpy()).all(), column
        elif a.dtype.kind == "M":
            assert (a.to_numpy() == b.to_numpy().astype("datetime64[ns]")).all(), column
        else:
            np.testing.assert_array_equal(a.to_numpy(dtype=float), b.to_numpy(dtype=float), err_msg=column)
    assert got["repeat_contacts"].sum() > 0 and got["churned"].sum() > 0  # the comparison is not vacuous


@pytest.mark.parametrize(
    ("kwargs"),
    [{}, {"dose": "binned"}, {"dose": "spline", "knots": 3}, {"lag": 1}, {"cluster": None}],
    ids=["linear", "binned", "spline", "lag1", "unclustered"],
)
def test_engine_retention_fit_equals_fit_retention(duck, panels, kwargs):
    from cx_framework.retention import fit_retention

    pandas_panel, engine_panel = panels
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        expected = fit_retention(pandas_panel, **kwargs)
        got = fit_retention_engine(duck, engine_panel, **kwargs)
    np.testing.assert_allclose(got.params.to_numpy(), expected.params.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(got.bse.to_numpy(), expected.bse.to_numpy(), rtol=1e-9)
    assert list(got.params.index) == list(expected.params.index)
    assert (got.nobs, got.n_events, got.n_clusters, got.n_groups, got.n_periods) == (
        expected.nobs,
        expected.n_events,
        expected.n_clusters,
        expected.n_groups,
        expected.n_periods,
    )
    assert got.marginal_effect.estimate == pytest.approx(expected.marginal_effect.estimate, rel=1e-9)


def test_engine_clustered_errors_match_statsmodels_row_level_fit(duck, panels):
    """Independent reference: statsmodels' own cov_type='cluster' on every customer-month row."""
    from cx_framework.retention import fit_retention

    pandas_panel, engine_panel = panels
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        rows = fit_retention(pandas_panel, grouped=False, controls=("segment",))
        got = fit_retention_engine(duck, engine_panel, controls=("segment",))
    np.testing.assert_allclose(got.params.to_numpy(), rows.params.to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(got.bse.to_numpy(), rows.bse.to_numpy(), rtol=1e-6)


def test_engine_aggregates_equal_the_pandas_functions(duck, tables):
    from cx_framework.actions import _journeys_per_year
    from cx_framework.retention.aggregate import monthly_sl_and_churn as pandas_monthly
    from cx_framework.scorecard.contacts import contact_metrics as pandas_metrics

    contacts = validate_table(duck, "contacts", SAMPLE / "contacts.parquet")
    mapping = {"billing": "finance", "tech_support": "technology"}
    pd.testing.assert_frame_equal(
        contact_metrics(duck, contacts, department_of=mapping),
        pandas_metrics(tables["contacts"], department_of=mapping),
        check_exact=False,
        rtol=1e-12,
    )
    intervals = validate_table(duck, "intervals", SAMPLE / "intervals.parquet")
    customers = validate_table(duck, "customers", SAMPLE / "customers.parquet")
    pd.testing.assert_frame_equal(
        monthly_sl_and_churn(duck, intervals, customers),
        pandas_monthly(tables["intervals"], tables["customers"]),
        check_exact=False,
        rtol=1e-12,
    )
    work_items = validate_table(duck, "work_items", SAMPLE / "work_items.parquet")
    assert journeys_per_year(duck, work_items) == pytest.approx(
        _journeys_per_year(tables["work_items"]), rel=1e-12
    )


def test_engine_panel_rejects_contacts_of_unknown_customers(duck, tables):
    contacts = tables["contacts"].head(50).copy()
    contacts.loc[contacts.index[7], "customer_id"] = "NOBODY"
    with pytest.raises(DataValidationError, match="not in 'customers'") as err:
        customer_panel(
            duck,
            validate_table(duck, "contacts", contacts),
            validate_table(duck, "customers", tables["customers"]),
        )
    assert err.value.failures["row"].tolist() == [7]
    with pytest.raises(InputValueError, match="threshold_s"):
        customer_panel(
            duck,
            validate_table(duck, "contacts", contacts),
            validate_table(duck, "customers", tables["customers"]),
            threshold_s=-1,
        )


# ---------------------------------------------------------------------------------------------- bad settings
def _big_grouping():
    import ibis

    rows = ibis.range(0, 4_000_000).unnest().name("i").as_table()
    keyed = rows.mutate(k=(rows.i * 7919 % 4_000_000).cast("string") + "abcdefghijklmnop")
    return keyed.group_by("k").aggregate(n=keyed.count()).aggregate(m=lambda t: t.n.max())


def test_memory_limit_too_small_names_the_setting():
    with connect("duckdb", memory_limit="20MB", threads=1) as engine, pytest.raises(EngineError) as err:
        engine.execute(_big_grouping())
    assert err.value.setting == "engine.memory_limit"
    assert "engine.memory_limit" in str(err.value) and "20MB" in str(err.value)


def test_full_spill_disk_names_the_spill_setting(tmp_path):
    with (
        connect(
            "duckdb", memory_limit="64MB", spill_dir=tmp_path / "spill", spill_limit="1MB", threads=1
        ) as engine,
        pytest.raises(EngineError) as err,
    ):
        engine.execute(_big_grouping())
    import duckdb

    if int(duckdb.__version__.split(".")[0]) < 2:
        # DuckDB 1.x cannot offload this aggregate's hash table: it stops at the memory limit, and says so
        assert err.value.setting == "engine.memory_limit" and "64MB" in str(err.value)
        return
    assert err.value.setting == "engine.spill_dir"
    assert str(tmp_path / "spill") in str(err.value) and "engine.spill_dir" in str(err.value)


def test_spill_files_go_to_a_private_temp_dir_removed_on_close(tmp_path, monkeypatch):
    """Without engine.spill_dir DuckDB would spill into ``.tmp`` in the working directory (a user's folder)."""
    import tempfile

    system_tmp = tmp_path / "system_tmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    monkeypatch.chdir(tmp_path)
    # the temp directory DuckDB spills to is a private one under the system temp dir, set at connect and removed on
    # close (a 1 GB limit: DuckDB 1.2 cannot spill this grouping in less, DuckDB 2 spills it in 64 MB)
    with connect("duckdb", memory_limit="1GB", threads=1) as engine:
        where = Path(engine.backend.con.execute("SELECT current_setting('temp_directory')").fetchall()[0][0])
        assert where.parent == system_tmp and where.name.startswith("cx_framework-spill-") and where.is_dir()
        engine.execute(_big_grouping().limit(1))
    assert not where.exists() and not (tmp_path / ".tmp").exists()


def test_spill_space_messages_name_the_spill_setting(tmp_path):
    """DuckDB's own wording when the temp directory is full (1.x and 2.x) maps to engine.spill_dir."""
    from cx_framework.engine.core import translate_error
    from cx_framework.engine.settings import EngineSettings

    settings = EngineSettings(kind="duckdb", spill_dir=tmp_path / "spill")
    for text in (
        "Out of Memory Error: failed to offload data block of size 256.0 KiB (1.0 MiB/1.0 MiB used). This limit "
        "was set by the 'max_temp_directory_size' setting.",
        'IO Error: Could not write file "/x/duckdb_temp_storage-0.tmp": No space left on device',
    ):
        err = translate_error(RuntimeError(text), settings)
        assert err.setting == "engine.spill_dir" and str(tmp_path / "spill") in str(err)
    assert translate_error(RuntimeError("Out of Memory Error: failed to pin block"), settings).setting == (
        "engine.memory_limit"
    )


def test_unusable_spill_dir_and_unknown_engine(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(EngineError, match="engine.spill_dir"):
        connect("duckdb", spill_dir=blocker / "spill")
    with pytest.raises(EngineError, match="unknown engine 'sqlite'"):
        connect("sqlite")


def test_missing_java_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(EngineError) as err:
        connect("spark")
    assert "openjdk-17-jre-headless" in str(err.value) and err.value.setting == "engine.kind"


@pytest.mark.parametrize(
    ("spark", "setting"),
    [
        ({"master": "spark://127.0.0.1:9"}, "engine.spark.master"),
        ({"remote": "sc://127.0.0.1:9"}, "engine.spark.remote"),
    ],
)
def test_unreachable_spark_master_is_a_clear_error(spark, setting):
    with pytest.raises(EngineError) as err:
        connect(EngineSettings(kind="spark", spark=spark))
    assert err.value.setting == setting and "127.0.0.1:9" in str(err.value) and setting in str(err.value)


@pytest.mark.parametrize(
    ("memory", "needle"), [("200m", "at least 512m"), ("1m", "at least 512m"), ("lots", "not a memory size")]
)
def test_spark_driver_memory_too_small_names_the_setting(memory, needle):
    """Checked before Java is looked for or a JVM starts (the JVM's own refusal is a stack trace)."""
    spark = {"master": "local[1]", "conf": {"spark.driver.memory": memory}}
    with pytest.raises(EngineError) as err:
        connect(EngineSettings(kind="spark", spark=spark))
    assert err.value.setting == "engine.spark.conf"
    assert "spark.driver.memory" in str(err.value) and memory in str(err.value) and needle in str(err.value)


def test_spark_start_failures_name_the_setting(tmp_path, monkeypatch):
    """The JVM's reason (from its log, kept off the terminal) decides which setting the error names."""
    from cx_framework.engine import core

    settings = EngineSettings(kind="spark", spark={"conf": {"spark.driver.memory": "600m"}})
    log = tmp_path / "jvm.log"
    log.write_text(
        "26/12/01 WARN Utils: banner\n"
        "java.lang.IllegalArgumentException: System memory 466092032 must be at least 471859200. Please "
        "increase heap size using the --driver-memory option\n\tat org.apache.spark.memory.X(X.scala:1)\n"
    )
    exc = RuntimeError("An error occurred while calling None.org.apache.spark.api.java.JavaSparkContext.")
    err = core._spark_error(exc, settings, log=log)
    assert err.setting == "engine.spark.conf" and "spark.driver.memory = 600m" in str(err)
    assert "must be at least 471859200" in str(err) and "\tat " not in str(err)
    # the gateway exits: with Java present it is the JVM options, without Java it is Java
    gone = RuntimeError("[JAVA_GATEWAY_EXITED] Java gateway process exited before sending its port number.")
    log.write_text("Error: Could not create the Java Virtual Machine.\n")
    monkeypatch.setattr(core, "_java_available", lambda: True)
    err = core._spark_error(gone, settings, log=log)
    assert err.setting == "engine.spark.conf" and "Could not create the Java Virtual Machine" in str(err)
    monkeypatch.setattr(core, "_java_available", lambda: False)
    err = core._spark_error(gone, settings, log=log)
    assert err.setting == "engine.kind" and "openjdk-17-jre-headless" in str(err)


def test_cli_report_on_an_unreachable_spark_master_is_one_line(tmp_path):
    import shutil

    from typer.testing import CliRunner

    from cx_framework.cli import app

    configs = tmp_path / "configs"
    shutil.copytree(ROOT / "configs", configs)
    (configs / "engine.yaml").write_text(
        "kind: spark\nspark:\n  master: spark://127.0.0.1:9\n  connect_timeout_s: 1\n"
    )
    args = ["report", str(SAMPLE), "--configs", str(configs), "--no-cache", "--out", str(tmp_path / "r.html")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "engine.spark.master" in result.output and "127.0.0.1:9" in result.output
    assert "Traceback" not in result.output and "at org.apache" not in result.output
    assert not (tmp_path / "r.html").exists()


def test_engine_yaml_is_checked(tmp_path):
    import shutil

    from cx_framework.config import load_config

    configs = tmp_path / "configs"
    shutil.copytree(ROOT / "configs", configs)
    (configs / "engine.yaml").write_text("kind: duckdb\nmemory_limt: 4GB\n")
    with pytest.raises(ConfigError, match="memory_limt.*did you mean 'memory_limit'"):
        load_config(configs)
    (configs / "engine.yaml").write_text("kind: spark\nmemory_limit: 2GB\nspark:\n  master: local[1]\n")
    config = load_config(configs)
    assert config.engine.kind == "spark" and config.engine.memory_limit == "2GB"
    assert config.engine.spark.master == "local[1]"


# ---------------------------------------------------------------------------------------------- CLI
def test_cli_validate_on_the_engine_counts_every_failure(tmp_path):
    from typer.testing import CliRunner

    from cx_framework.cli import app

    data = tmp_path / "data"
    data.mkdir()
    for name in REQUIRED_TABLES:
        (data / f"{name}.parquet").write_bytes((SAMPLE / f"{name}.parquet").read_bytes())
    contacts = pd.read_parquet(SAMPLE / "contacts.parquet")
    contacts.loc[contacts.index[:30], "channel"] = "fax"
    contacts.to_parquet(data / "contacts.parquet")
    runner = CliRunner()
    result = runner.invoke(
        app, ["validate", str(data), "--configs", str(ROOT / "configs"), "--engine", "duckdb"]
    )
    assert result.exit_code == 2
    assert "30 failure(s)" in result.output and "engine: duckdb" in result.output
    result = runner.invoke(
        app, ["validate", str(data), "--configs", str(ROOT / "configs"), "--engine", "oracle"]
    )
    assert result.exit_code == 2 and "--engine must be one of" in result.output


def test_aggregate_data_dir_gives_the_same_figures_on_duckdb_and_pandas(config):
    from cx_framework.scale import aggregate_data_dir

    duck = aggregate_data_dir(SAMPLE, config, engine="duckdb")
    pandas_ = aggregate_data_dir(SAMPLE, config, engine="pandas")
    assert duck.rows == pandas_.rows
    np.testing.assert_allclose(duck.retention.params, pandas_.retention.params, rtol=1e-9)
    np.testing.assert_allclose(duck.retention.bse, pandas_.retention.bse, rtol=1e-9)
    pd.testing.assert_frame_equal(
        duck.contact_metrics, pandas_.contact_metrics, check_exact=False, rtol=1e-12
    )
    pd.testing.assert_frame_equal(duck.monthly, pandas_.monthly, check_exact=False, rtol=1e-12)
    assert duck.journeys_per_year == pytest.approx(pandas_.journeys_per_year, rel=1e-12)
