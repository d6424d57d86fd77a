"""`cx generate`, `cx validate`, `cx app --help` and the CLI's error contract (one red line, exit code 2)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from cx_framework.cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in ("generate", "validate", "app", "staffing", "score", "payouts", "failure-demand"):
        assert name in result.output


def test_generate_then_validate(tmp_path: Path) -> None:
    out = tmp_path / "org"
    result = runner.invoke(
        app, ["generate", str(out), "--customers", "800", "--employees", "60", "--months", "4", "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} >= {"contacts.parquet", "intervals.parquet", "truth.json"}
    assert "contacts" in result.output
    result = runner.invoke(app, ["validate", str(out), "--configs", str(ROOT / "configs")])
    assert result.exit_code == 0, result.output
    assert result.output.count("valid") >= 7


def test_validate_reports_bad_table_and_exits_2(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data" / "sample", data)
    intervals = pd.read_parquet(data / "intervals.parquet")
    intervals.loc[5, "answered"] = intervals.loc[5, "offered"] + 3  # answered > offered
    intervals.to_parquet(data / "intervals.parquet")
    result = runner.invoke(app, ["validate", str(data), "--configs", str(ROOT / "configs")])
    assert result.exit_code == 2
    assert "answered" in result.output
    assert "Traceback" not in result.output


def test_missing_directory_is_one_line_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "nope"), "--configs", str(ROOT / "configs")])
    assert result.exit_code == 2
    assert "does not exist" in result.output
    assert "Traceback" not in result.output


def test_bad_config_is_one_line_exit_2(tmp_path: Path) -> None:
    configs = tmp_path / "configs"
    shutil.copytree(ROOT / "configs", configs)
    text = (configs / "economics.yaml").read_text()
    (configs / "economics.yaml").write_text(text.replace("shrinkage:", "shrinkag:"))
    result = runner.invoke(app, ["validate", str(ROOT / "data" / "sample"), "--configs", str(configs)])
    assert result.exit_code == 2
    assert "economics.yaml" in result.output and "shrinkag" in result.output


def test_generate_bad_argument_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["generate", str(tmp_path / "x"), "--customers", "5"])
    assert result.exit_code == 2
    assert "customers" in result.output
    assert not (tmp_path / "x").exists()


def test_app_command_help() -> None:
    result = runner.invoke(app, ["app", "--help"])
    assert result.exit_code == 0
    assert "--data-dir" in result.output


def test_app_refuses_a_missing_data_dir_or_configs(tmp_path: Path, monkeypatch) -> None:
    import subprocess

    started = []
    monkeypatch.setattr(subprocess, "call", lambda *a, **k: started.append(a) or 0)
    result = runner.invoke(app, ["app", "--data-dir", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "--data-dir" in result.output and "not a directory" in result.output
    result = runner.invoke(app, ["app", "--configs", str(tmp_path / "none")])
    assert result.exit_code == 2 and "--configs" in result.output
    broken = tmp_path / "configs"
    shutil.copytree(ROOT / "configs", broken)
    text = (broken / "economics.yaml").read_text()
    (broken / "economics.yaml").write_text(text.replace("shrinkage:", "shrinkag:"))
    result = runner.invoke(app, ["app", "--configs", str(broken)])
    assert result.exit_code == 2 and "economics.yaml" in result.output
    assert not started  # streamlit never started
    ok = runner.invoke(
        app, ["app", "--configs", str(ROOT / "configs"), "--data-dir", str(ROOT / "data" / "sample")]
    )
    assert ok.exit_code == 0 and len(started) == 1
