"""``cx score DATA_DIR``: department table, exceptions and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cx_framework.cli import app

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def _department_metrics() -> pd.DataFrame:
    # billing fcr over 8 months; in 2024-08 fcr 0.40 < threshold (red) -> threshold exception on a
    # customer-centric metric; contact_centre service level rolled up from two teams:
    # (0.9 * 100 + 0.5 * 10) / 110 = 0.8636
    periods = pd.date_range("2024-01-01", periods=8, freq="MS")
    rows = [(p, "billing", None, "fcr", 0.78 if i < 7 else 0.40, 100.0) for i, p in enumerate(periods)]
    rows += [(p, "contact_centre", "cc_north", "service_level", 0.9, 100.0) for p in periods]
    rows += [(p, "contact_centre", "cc_south", "service_level", 0.5, 10.0) for p in periods]
    return pd.DataFrame(rows, columns=["period", "department", "team", "metric", "value", "volume"])


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    _department_metrics().to_parquet(tmp_path / "department_metrics.parquet")
    return tmp_path


def test_score_prints_department_table_and_exceptions(data_dir: Path):
    res = runner.invoke(
        app, ["score", str(data_dir), "--configs", str(ROOT / "configs"), "--period", "2024-08"]
    )
    assert res.exit_code == 0, res.output
    out = res.output
    assert "2024-08" in out and "organisation" in out and "contact_centre" in out
    assert "fcr" in out and "threshold" in out
    # billing's shared card has fcr only: 0.40 is beyond threshold -> score 0 -> composite 0.0, red
    billing = next(line for line in out.splitlines() if "billing" in line and "%" in line)
    assert "0.0" in billing and "red" in billing


def test_score_defaults_to_latest_complete_period(data_dir: Path):
    # first-contact resolution of 2024-08 needs 2024-09 data (repeat contacts), so 2024-07 is the latest
    # complete month (assumptions.yaml as_of: latest_complete)
    res = runner.invoke(app, ["score", str(data_dir), "--configs", str(ROOT / "configs")])
    assert res.exit_code == 0, res.output
    assert "Shared customer scorecard — 2024-07" in res.output


def test_bad_period_is_one_red_line_exit_2(data_dir: Path):
    res = runner.invoke(
        app, ["score", str(data_dir), "--configs", str(ROOT / "configs"), "--period", "2031-01"]
    )
    assert res.exit_code == 2
    assert "2031-01" in res.output and "Traceback" not in res.output


def test_missing_table_exit_2(tmp_path: Path):
    res = runner.invoke(app, ["score", str(tmp_path), "--configs", str(ROOT / "configs")])
    assert res.exit_code == 2
    assert "department_metrics" in res.output
