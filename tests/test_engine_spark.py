"""Spark (local mode) gives the same figures as DuckDB and pandas on a small generated organisation.

One SparkSession for the whole module (start-up is the slow part on 2 cores); a few hundred customers. When CI is
meant to provide Java (``CI`` set, ``.ci/run`` installs openjdk-17-jre-headless) a missing Java FAILS these tests;
on a developer machine without Java they are skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest

from cx_framework.engine import (
    connect,
    contact_metrics,
    customer_panel,
    monthly_sl_and_churn,
    validate_table,
)
from cx_framework.errors import DataValidationError, StatisticalWarning
from cx_framework.retention import fit_retention_engine

pytestmark = pytest.mark.slow

TABLES = ("contacts", "customers", "intervals")


def _java() -> bool:
    home = os.environ.get("JAVA_HOME")
    return bool(shutil.which("java")) or bool(home and os.path.isfile(os.path.join(home, "bin", "java")))


@pytest.fixture(scope="module")
def org_dir(tmp_path_factory):
    from cx_framework.synthetic import generate_organisation

    org = generate_organisation(seed=3, customers=500, employees=60, months=12)
    root = tmp_path_factory.mktemp("spark_org")
    frames = org.tables()
    for name in TABLES:
        # Spark reads microsecond Parquet timestamps (it rejects nanoseconds)
        frames[name].to_parquet(
            root / f"{name}.parquet", coerce_timestamps="us", allow_truncated_timestamps=True
        )
    return root, frames


@pytest.fixture(scope="module")
def spark():
    try:
        import pyspark  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail(
                "pyspark is not installed; CI installs it with the dev extra (.[dev] pulls in .[spark])"
            )
        pytest.skip("pyspark not installed (pip install 'cx_framework[spark]')")
    if not _java():
        if os.environ.get("CI"):
            pytest.fail("Java is missing: .ci/run must install openjdk-17-jre-headless for the Spark tests")
        pytest.skip("no Java on this machine (apt-get install openjdk-17-jre-headless)")
    engine = connect("spark", threads=2)
    yield engine


@pytest.fixture(scope="module")
def duck():
    with connect("duckdb", threads=2) as engine:
        yield engine


def _validated(engine, root):
    return {name: validate_table(engine, name, root / f"{name}.parquet") for name in TABLES}


@pytest.fixture(scope="module")
def validated(spark, duck, org_dir):
    root, _ = org_dir
    return _validated(spark, root), _validated(duck, root)


def test_spark_validation_panel_and_retention_equal_duckdb_and_pandas(spark, duck, org_dir, validated):
    from cx_framework.retention import build_customer_panel, fit_retention

    _, frames = org_dir
    s, d = validated
    assert s["contacts"].rows == d["contacts"].rows == len(frames["contacts"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        s_panel = customer_panel(spark, s["contacts"], s["customers"])
        d_panel = customer_panel(duck, d["contacts"], d["customers"])
        p_panel = build_customer_panel(frames["contacts"], frames["customers"])
        fits = [
            fit_retention_engine(spark, s_panel),
            fit_retention_engine(duck, d_panel),
            fit_retention(p_panel),
        ]
    columns = ["contacts", "calls", "answered_within_threshold", "repeat_contacts", "unresolved_contacts"]
    s_sum = spark.execute(s_panel.aggregate(n=s_panel.count(), **{c: s_panel[c].sum() for c in columns}))
    d_sum = duck.execute(d_panel.aggregate(n=d_panel.count(), **{c: d_panel[c].sum() for c in columns}))
    assert (
        s_sum.iloc[0].tolist() == d_sum.iloc[0].tolist() == [len(p_panel), *p_panel[columns].sum().tolist()]
    )
    for fit in fits[:2]:
        np.testing.assert_allclose(fit.params.to_numpy(), fits[2].params.to_numpy(), rtol=1e-9)
        np.testing.assert_allclose(fit.bse.to_numpy(), fits[2].bse.to_numpy(), rtol=1e-9)
        assert fit.marginal_effect.estimate == pytest.approx(fits[2].marginal_effect.estimate, rel=1e-9)


def test_spark_aggregates_equal_duckdb(spark, duck, validated):
    s, d = validated
    pd.testing.assert_frame_equal(
        contact_metrics(spark, s["contacts"]),
        contact_metrics(duck, d["contacts"]),
        check_exact=False,
        rtol=1e-12,
    )
    pd.testing.assert_frame_equal(
        monthly_sl_and_churn(spark, s["intervals"], s["customers"]),
        monthly_sl_and_churn(duck, d["intervals"], d["customers"]),
        check_exact=False,
        rtol=1e-12,
    )


def test_spark_validation_reports_rows_like_pandas(spark, org_dir, tmp_path):
    from cx_framework.schemas import validate

    _, frames = org_dir
    bad = frames["contacts"].head(40).copy()
    bad.loc[bad.index[[3, 17]], "wait_s"] = -5.0
    bad.loc[bad.index[9], "channel"] = "fax"
    bad.to_parquet(tmp_path / "contacts.parquet", coerce_timestamps="us", allow_truncated_timestamps=True)
    with pytest.raises(DataValidationError) as expected:
        validate("contacts", bad)
    with pytest.raises(DataValidationError) as got:
        validate_table(spark, "contacts", tmp_path / "contacts.parquet")
    key = ["column", "check", "row"]
    left = expected.value.failures.sort_values(key).reset_index(drop=True)
    right = got.value.failures.sort_values(key).reset_index(drop=True)
    assert left[key].astype(str).values.tolist() == right[key].astype(str).values.tolist()


def test_spark_analysis_engine_sections_equal_duckdb(spark, tmp_path_factory):
    """The Analysis on Spark: the sections that run in the engine (failure-demand classification and repeat
    chains, stage lead-time fits, customer panel + clustered logit) give DuckDB's figures to 1e-9."""
    from cx_framework.analysis import Analysis
    from cx_framework.config import load_config
    from cx_framework.synthetic import write_organisation

    root = tmp_path_factory.mktemp("spark_analysis")
    # the organisation of the module fixture (enough churn in every segment for the clustered logit)
    write_organisation(root, seed=3, customers=500, employees=60, months=12)  # microsecond Parquet
    config = load_config("configs")
    figures = {}
    for kind in ("duckdb", "spark"):
        a = Analysis.from_data_dir(root, config, engine=kind)
        assert a.engine_kind == kind
        figures[kind] = {
            f.id: f.value
            for name in ("failure_demand", "sla_chain", "retention")
            for f in a.section(name).figures
        }
    d, s = figures["duckdb"], figures["spark"]
    assert set(d) == set(s) and len(d) >= 8
    for fid, value in d.items():
        if isinstance(value, float):
            assert s[fid] == pytest.approx(value, rel=1e-9, nan_ok=True), fid
        else:
            assert s[fid] == value, fid
