"""cx_framework.app_support: staffed FTE by hand, readable failure tables, safe uploads, fallback tables."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from cx_framework.app_support import (
    data_stamp,
    failure_table,
    load_tables,
    save_upload,
    staffed_fte,
)
from cx_framework.errors import ConfigError, DataValidationError, InputValueError

REPO = Path(__file__).resolve().parents[1]


def test_staffed_fte_by_hand():
    # two days, 2 queues; 10 agents x 48 half-hours x 2 queues per day = 960 agent-half-hours = 480 agent-hours
    # per day -> 960 on-phone hours over 2 days = 2/7 week; paid = 960 / (1 - 0.2) = 1200 h;
    # per week 1200 / (2/7) = 4200 h; FTE = 4200 / 35 = 120
    starts = pd.date_range("2025-01-06", periods=96, freq="30min")
    intervals = pd.concat(
        [pd.DataFrame({"interval_start": starts, "queue": q, "agents_staffed": 10.0}) for q in "ab"]
    )
    assert staffed_fte(intervals, shrinkage=0.2, hours_per_fte=35.0) == pytest.approx(120.0)
    assert staffed_fte(intervals, shrinkage=0.2, hours_per_fte=35.0, horizon_weeks=1.0) == pytest.approx(
        1200 / 35
    )
    with pytest.raises(InputValueError, match="shrinkage"):
        staffed_fte(intervals, shrinkage=1.0, hours_per_fte=35.0)
    with pytest.raises(InputValueError, match="hours_per_fte"):
        staffed_fte(intervals, shrinkage=0.1, hours_per_fte=0.0)
    with pytest.raises(InputValueError, match="empty"):
        staffed_fte(intervals.iloc[:0], shrinkage=0.1, hours_per_fte=35.0)


def test_failure_table_rows_match_messages_and_config_errors_readable():
    err = DataValidationError(
        "bad",
        failures=pd.DataFrame(
            {
                "table": ["customers"],
                "column": ["monthly_revenue"],
                "check": ["ge 0"],
                "row": [3],
                "value": [-5.0],
            }
        ),
    )
    table = failure_table(err)
    assert table.loc[0, "row"] == 3 and table.loc[0, "value"] == "-5.0" and "csv_line" not in table
    err.file = "customers.csv"
    assert failure_table(err).loc[0, "csv_line"] == 5  # header = line 1, data row 0 = line 2
    cfg_err = ConfigError("weights sum to 0.9", file="scheme 'x'", key="components[0].weight")
    assert failure_table(cfg_err).loc[0, "key"] == "components[0].weight"
    assert failure_table(InputValueError("nope")).columns.tolist() == ["problem"]


def _customers(n: int = 5) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "segment": "consumer",
            "product": "broadband",
            "start_date": pd.Timestamp("2024-01-01"),
            "monthly_revenue": 30.0,
            "churn_date": pd.NaT,
        }
    )


def test_save_upload_keeps_only_valid_files_named_by_table():
    directory = tempfile.mkdtemp(prefix="cx_test_upload_")
    good = _customers().to_csv(index=False).encode()
    frame = save_upload(good, "../../etc/evil name.csv", "customers", directory)
    assert len(frame) == 5
    assert sorted(p.name for p in Path(directory).iterdir()) == ["customers.csv"]

    bad = _customers().assign(monthly_revenue=-1.0).to_csv(index=False).encode()
    with pytest.raises(DataValidationError) as info:
        save_upload(bad, "mine.csv", "customers", directory)
    assert "mine.csv" in str(info.value) and str(directory) not in str(info.value)
    assert set(info.value.failures["column"]) == {"monthly_revenue"}
    assert sorted(p.name for p in Path(directory).iterdir()) == ["customers.csv"]  # the valid one stays

    with pytest.raises(DataValidationError, match="unsupported file type"):
        save_upload(good, "customers.xlsx", "customers", directory)
    # a directory that is surely outside the system temp dir, even when the checkout itself lives under /tmp
    outside = Path("/") / f"cx_not_tmp_{os.getpid()}"
    assert not outside.resolve().is_relative_to(Path(tempfile.gettempdir()).resolve())
    with pytest.raises(DataValidationError, match="temporary directory"):
        save_upload(good, "customers.csv", "customers", outside)
    assert not outside.exists()


def test_load_tables_falls_back_and_stamp_changes():
    from cx_framework.schemas import REQUIRED_TABLES

    directory = Path(tempfile.mkdtemp(prefix="cx_test_tables_"))
    _customers().to_csv(directory / "customers.csv", index=False)
    fallback = {name: pd.DataFrame({"x": [1]}) for name in REQUIRED_TABLES}
    tables, read = load_tables(directory, fallback)
    assert (
        read == ("customers",)
        and len(tables["customers"]) == 5
        and tables["contacts"] is fallback["contacts"]
    )
    with pytest.raises(DataValidationError, match="missing table"):
        load_tables(directory, None)
    stamp = data_stamp(directory)
    _customers(7).to_csv(directory / "customers.csv", index=False)
    assert data_stamp(directory) != stamp
    assert data_stamp(None) == "sample"
