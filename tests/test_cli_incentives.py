"""``cx payouts`` and ``cx compare-schemes``: printed totals, atomic exports and one-line errors."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from cx_framework.cli import app

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = str(ROOT / "configs")
runner = CliRunner()


def _tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    employees = pd.DataFrame(
        {
            "employee_id": ["a1", "a2", "tl"],
            "department": ["contact_centre"] * 3,
            "team": ["cc_north"] * 3,
            "role": ["agent", "agent", "team_leader"],
            "base_salary": [36_000.0, 24_000.0, 50_000.0],
            "hire_date": pd.to_datetime(["2020-01-01"] * 3),
            "leave_date": pd.to_datetime([None, None, None]),
        }
    )
    # siloed: aht_s (lower) 0.35 [420 → 0.5, 360 → 1, 300 → 1.5], product_sales 0.35 [4 → 0.5, 8 → 1, 14 → 2.0],
    # own_sla_met 0.30 [0.80 → 0.5, 0.90 → 1, 0.95 → 1.5]; target bonus 10 % / 12
    values = {
        "a1": {
            "aht_s": 360.0,
            "product_sales": 8.0,
            "own_sla_met": 0.90,
        },  # on target: 36 000·0.1/12 = 300.00
        "a2": {
            "aht_s": 300.0,
            "product_sales": 14.0,
            "own_sla_met": 0.95,
        },  # stretch: 200·(0.525+0.7+0.45) = 335.00
        "tl": {"aht_s": 300.0, "product_sales": 14.0, "own_sla_met": 0.95},  # excluded role
    }
    rows = [("2024-05-01", e, m, v) for e, d in values.items() for m, v in d.items()]
    metrics = pd.DataFrame(rows, columns=["period", "employee_id", "metric", "value"])
    metrics["period"] = pd.to_datetime(metrics["period"])
    return employees, metrics


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    employees, metrics = _tables()
    employees.to_csv(tmp_path / "employees.csv", index=False)
    metrics.to_parquet(tmp_path / "employee_metrics.parquet")
    return tmp_path


def test_payouts_prints_totals_and_writes_files(data_dir: Path, tmp_path: Path):
    out, xlsx = tmp_path / "out" / "payouts.csv", tmp_path / "payouts.xlsx"
    res = runner.invoke(
        app,
        [
            "payouts",
            str(data_dir),
            "--scheme",
            "siloed",
            "--configs",
            CONFIGS,
            "--out",
            str(out),
            "--xlsx",
            str(xlsx),
        ],
    )
    assert res.exit_code == 0, res.output
    # 300.00 + 335.00 = 635.00 of a target 300.00 + 200.00 = 500.00 -> 127.0 %
    assert "635.00" in res.output and "500.00" in res.output and "127.0%" in res.output
    assert "Excluded (role not in scheme): 1" in res.output
    frame = pd.read_csv(out)
    assert frame.set_index("employee_id")["payout"].to_dict() == {"a1": 300.00, "a2": 335.00}
    book = openpyxl.load_workbook(xlsx)
    assert "summary" in book.sheetnames
    # the per-employee sheet (report.build_payout_workbook names it after the scheme; the fallback "payouts")
    detail = book[book.sheetnames[1]]
    rows = list(detail.iter_rows(values_only=True))
    header = list(rows[0])
    paid = {r[header.index("employee_id")]: r[header.index("payout")] for r in rows[1:]}
    assert paid == {"a1": 300.00, "a2": 335.00}
    assert not list(tmp_path.glob("**/.*.tmp"))  # atomic writes leave no temp files


def test_payouts_withheld_is_reported(data_dir: Path):
    employees, metrics = _tables()
    metrics = metrics[~((metrics["employee_id"] == "a2") & (metrics["metric"] == "aht_s"))]
    metrics.to_parquet(data_dir / "employee_metrics.parquet")
    res = runner.invoke(app, ["payouts", str(data_dir), "--scheme", "siloed", "--configs", CONFIGS])
    assert res.exit_code == 0, res.output
    assert "Withheld 1 employee-period(s): missing metric(s): aht_s" in res.output
    assert "300.00" in res.output and "635.00" not in res.output


def test_payouts_scheme_from_yaml_path(data_dir: Path, tmp_path: Path):
    from cx_framework.config import load_config
    from cx_framework.incentives import scheme_to_yaml, set_cap

    scheme = set_cap(load_config(CONFIGS).schemes["siloed"], 110).model_copy(update={"id": "tight"})
    path = tmp_path / "tight.yaml"
    path.write_text(scheme_to_yaml(scheme))
    res = runner.invoke(app, ["payouts", str(data_dir), "--scheme", str(path), "--configs", CONFIGS])
    assert res.exit_code == 0, res.output
    # a2 is capped at 1.1·200 = 220.00: 300.00 + 220.00 = 520.00
    assert "520.00" in res.output


def test_payouts_unknown_scheme_is_one_red_line(data_dir: Path):
    res = runner.invoke(app, ["payouts", str(data_dir), "--scheme", "nope", "--configs", CONFIGS])
    assert res.exit_code == 2
    assert "unknown scheme 'nope'" in res.output and "siloed" in res.output
    assert "Traceback" not in res.output


def test_payouts_unknown_employee_names_column(data_dir: Path):
    employees, metrics = _tables()
    employees[employees["employee_id"] != "a2"].to_csv(data_dir / "employees.csv", index=False)
    res = runner.invoke(app, ["payouts", str(data_dir), "--scheme", "siloed", "--configs", CONFIGS])
    assert res.exit_code == 2
    assert "employee_id" in res.output and "a2" in res.output


def test_compare_schemes_table_and_out(data_dir: Path, tmp_path: Path):
    out = tmp_path / "cmp.parquet"
    res = runner.invoke(
        app,
        [
            "compare-schemes",
            str(data_dir),
            "--schemes",
            "siloed,balanced",
            "--configs",
            CONFIGS,
            "--budget",
            "10000",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "balanced vs siloed" in res.output
    summary = pd.read_parquet(out).set_index("scheme")
    # siloed: 635.00 over one month -> 7 620.00 a year = 76.2 % of 10 000
    assert summary.loc["siloed", "annualised_cost"] == pytest.approx(7620.0)
    assert "76.2%" in res.output
    # balanced needs fcr, csat and a quality gate the data lacks: every employee-period is withheld, cost 0
    assert summary.loc["balanced", "total_cost"] == 0.0
    bad = runner.invoke(
        app, ["compare-schemes", str(data_dir), "--schemes", "siloed,nope", "--configs", CONFIGS]
    )
    assert bad.exit_code == 2 and "nope" in bad.output
