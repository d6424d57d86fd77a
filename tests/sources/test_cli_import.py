"""cx import: writes validated tables and the import report; errors are one red line with exit code 2."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from cx_framework.cli import app
from cx_framework.io import load_data_dir

from .test_presets import GENERIC

runner = CliRunner()


def test_cx_import_writes_tables_and_report(write_sources, tmp_path):
    path = write_sources(
        {
            "tables": {
                "contacts": {
                    "preset": "generic_cdr",
                    "file": "cdr.csv",
                    "columns": {"resolved_first_contact": {"constant": True}},
                },
                "intervals": {"derive": "contacts", "interval_minutes": 30},
            }
        },
        {"cdr.csv": GENERIC},
    )
    out = tmp_path / "data"
    result = runner.invoke(app, ["import", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    tables = load_data_dir(out, tables=["contacts", "intervals"])
    assert len(tables["contacts"]) == 3
    intervals = tables["intervals"]
    assert intervals["offered"].sum() == 3 and intervals["abandoned"].sum() == 1
    assert intervals["agents_staffed_estimated"].all()
    report = json.loads((out / "import_report.json").read_text())
    assert report["tables"]["contacts"]["rows_kept"] == 3
    assert report["tables"]["intervals"]["derived"] is True
    assert "ESTIMATED" in result.output


def test_cx_import_json(write_sources, tmp_path):
    path = write_sources(
        {
            "tables": {
                "contacts": {
                    "preset": "generic_cdr",
                    "file": "cdr.csv",
                    "columns": {"resolved_first_contact": {"constant": True}},
                }
            }
        },
        {"cdr.csv": GENERIC},
    )
    result = runner.invoke(
        app, ["import", str(path), "--out", str(tmp_path / "d"), "--json", "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["tables"]["contacts"]["rows_read"] == 3
    assert len(pd.read_csv(tmp_path / "d" / "contacts.csv")) == 3


def test_cx_import_bad_mapping_is_one_line_exit_2(write_sources, tmp_path):
    path = write_sources(
        {
            "tables": {
                "contacts": {
                    "preset": "generic_cdr",
                    "file": "cdr.csv",
                    "columns": {"queue": "skil", "resolved_first_contact": {"constant": True}},
                }
            }
        },
        {"cdr.csv": GENERIC},
    )
    out = tmp_path / "d"
    result = runner.invoke(app, ["import", str(path), "--out", str(out)])
    assert result.exit_code == 2
    assert "tables.contacts.columns.queue" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()  # nothing written when a table fails


def test_cx_model_fit_on_the_sample_matches_the_library():
    from cx_framework.staffing.calibration import fit_queue_models
    from cx_framework.synthetic import load_sample

    tables = load_sample(validate=False).tables()
    fit = fit_queue_models(tables["intervals"], contacts=tables["contacts"])
    result = runner.invoke(app, ["model-fit", "data/sample", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["recommended"] == fit.recommended
    overall = {r["model"]: r for r in payload["calibration"] if r["hour"] == "all"}
    assert overall["erlang_c"]["sl_mae"] == pytest.approx(fit.overall.loc["erlang_c", "sl_mae"], rel=1e-9)
    assert overall["erlang_a"]["abandonment_bias"] == pytest.approx(
        fit.overall.loc["erlang_a", "abandonment_bias"], rel=1e-9
    )
    assert payload["patience_s"]["(all)"] == pytest.approx(fit.patience_s["(all)"], rel=1e-12)


def test_cx_model_fit_through_sources(write_sources):
    path = write_sources(
        {
            "tables": {
                "contacts": {"preset": "generic_cdr", "file": "cdr.csv"},
                "intervals": {"derive": "contacts"},
            }
        },
        {"cdr.csv": GENERIC},
    )
    result = runner.invoke(app, ["model-fit", "--sources", str(path)])
    assert result.exit_code == 0, result.output
    assert "Recommended model" in result.output and "ESTIMATED" in result.output
    bad = runner.invoke(app, ["model-fit"])
    assert bad.exit_code == 2 and "DATA_DIR or --sources" in bad.output


def test_cx_validate_through_sources(write_sources):
    path = write_sources(
        {
            "tables": {
                "contacts": {"preset": "generic_cdr", "file": "cdr.csv"},
                "intervals": {"derive": "contacts"},
            }
        },
        {"cdr.csv": GENERIC},
    )
    result = runner.invoke(app, ["validate", "--sources", str(path), "--configs", "configs"])
    assert result.exit_code == 0, result.output
    assert "contacts: 3 rows kept of 3 read" in result.output
    assert "Not in the sources file" in result.output and "employees" in result.output
    broken = write_sources(
        {"tables": {"contacts": {"preset": "generic_cdr", "file": "cdr.csv", "columns": {"queue": "qeue"}}}},
        {"cdr.csv": GENERIC},
    )
    bad = runner.invoke(app, ["validate", "--sources", str(broken)])
    assert bad.exit_code == 2 and "tables.contacts.columns.queue" in bad.output
