"""Pay privacy beyond the per-employee exports (issue 16): small groups in the scheme comparison's winners and
losers are merged for everyone outside HR (library, Analysis, ``cx compare-schemes``), and the disk cache holds no
individual pay when access control is on (and is readable by its owner only)."""

from __future__ import annotations

import json
import re
import shutil
import stat
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cx_framework.access import Viewer, hash_password
from cx_framework.analysis import Analysis
from cx_framework.cli import app
from cx_framework.config import load_config
from cx_framework.io import write_table

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
SAMPLE = ROOT / "data" / "sample"
runner = CliRunner()
LEAD = Viewer(user="lee", role="leadership")
HR = Viewer(user="alex", role="hr")


@pytest.fixture(scope="module")
def small_group_dir(tmp_path_factory):
    """The sample with two sales reps moved to marketing: a (marketing, sales_rep) group of two people."""
    data = tmp_path_factory.mktemp("small") / "data"
    shutil.copytree(SAMPLE, data)
    employees = pd.read_parquet(data / "employees.parquet")
    reps = employees.index[employees["role"].eq("sales_rep")][:2]
    employees.loc[reps, "department"] = "marketing"
    write_table(employees, data / "employees.parquet")
    return data


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    configs = tmp_path_factory.mktemp("secured") / "configs"
    shutil.copytree(CONFIGS, configs)
    lines = ["users:"]
    for user, role in (("hr", "hr"), ("lead", "leadership")):
        lines.append(f"  - {{user: {user}, role: {role}, password_hash: '{hash_password(user + '-pass')}'}}")
    (configs / "access.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return configs


@pytest.fixture(scope="module")
def hr_analysis(small_group_dir):
    return Analysis.from_data_dir(small_group_dir, load_config(CONFIGS), viewer=HR)


def _small(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["department"].eq("marketing") & frame["role"].eq("sales_rep")]


def test_hr_sees_the_group_of_two_leadership_only_merged_groups(hr_analysis):
    full = hr_analysis.frames("payouts")["winners_losers"]
    assert (_small(full)["employees"] == 2).all() and len(_small(full)) == 3  # one row per compared scheme
    hr_analysis.viewer = LEAD  # the same Analysis read by leadership
    try:
        shown = hr_analysis.frames("payouts")["winners_losers"]
    finally:
        hr_analysis.viewer = HR
    assert _small(shown).empty
    assert (shown.loc[shown["merged_groups"] > 0, "employees"] >= 5).all()
    # every employee still counted once, and the money adds up to HR's totals per scheme
    by_scheme = shown.groupby("scheme")[["employees", "total_change"]].sum()
    expected = full.groupby("scheme")[["employees", "total_change"]].sum()
    pd.testing.assert_frame_equal(by_scheme.astype(float), expected.astype(float), check_exact=False)
    # the library result says the same
    comparison = hr_analysis.result("payouts")
    pd.testing.assert_frame_equal(
        comparison.winners_losers_for(LEAD).reset_index(drop=True), shown.reset_index(drop=True)
    )
    assert "fewer than 5 employees" in comparison.winners_losers_for(LEAD).attrs["suppression"]


def _compare(secured, small_group_dir, monkeypatch, user):
    monkeypatch.delenv("CX_ACCESS_FILE", raising=False)
    monkeypatch.setenv("CX_CACHE_DIR", str(small_group_dir.parent / "cache"))
    if user is None:
        monkeypatch.delenv("CX_USER", raising=False)
    else:
        monkeypatch.setenv("CX_USER", user)
        monkeypatch.setenv("CX_PASSWORD", user + "-pass")
    return runner.invoke(app, ["compare-schemes", str(small_group_dir), "--configs", str(secured), "--json"])


@pytest.mark.parametrize("user", [None, "lead"])
def test_cx_compare_schemes_merges_small_groups_outside_hr(secured, small_group_dir, monkeypatch, user):
    result = _compare(secured, small_group_dir, monkeypatch, user)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    rows = pd.DataFrame(doc["winners_losers"])
    assert _small(rows).empty
    assert (rows.loc[rows["merged_groups"] > 0, "employees"] >= 5).all()
    assert doc["min_group_size"] == 5 and "fewer than 5 employees" in doc["winners_losers_note"]


def test_cx_compare_schemes_shows_hr_every_group(secured, small_group_dir, monkeypatch):
    result = _compare(secured, small_group_dir, monkeypatch, "hr")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    rows = pd.DataFrame(doc["winners_losers"])
    assert (_small(rows)["employees"] == 2).all() and len(_small(rows)) == 3
    assert doc["min_group_size"] is None and doc["winners_losers_note"] == ""


def test_cx_compare_schemes_table_says_what_was_merged(secured, small_group_dir, monkeypatch):
    monkeypatch.delenv("CX_USER", raising=False)
    monkeypatch.delenv("CX_ACCESS_FILE", raising=False)
    result = runner.invoke(
        app, ["compare-schemes", str(small_group_dir), "--configs", str(secured), "--no-cache"]
    )
    assert result.exit_code == 0, result.output
    assert "other groups" in result.output and "HR sees every group" in result.output


def _modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode) for p in root.rglob("*")}


def test_disk_cache_holds_no_individual_pay_under_access_control(secured, small_group_dir, tmp_path):
    cache = tmp_path / "cache"
    config = load_config(secured)
    first = Analysis.from_data_dir(small_group_dir, config, cache_dir=cache)
    assert not first.cache_personal  # access.yaml beside the configs
    first.figures("payouts")
    first.result("payouts")
    entry = cache / first.key
    names = {p.name for p in entry.iterdir()}
    assert "payouts.pkl" not in names and "payouts.winners_losers.parquet" not in names
    assert {"manifest.json", "payouts.summary.parquet", "payouts.cost.parquet"} <= names
    assert not list((cache / "tables").glob("employees-*.pkl"))  # base salaries are not copied either
    assert list((cache / "tables").glob("employee_metrics-*.pkl"))
    for path, mode in _modes(cache).items():
        assert mode & 0o077 == 0, (path, oct(mode))  # owner only
    # a later process serves the aggregate figures from the cache and recomputes the per-group pay in memory
    second = Analysis.from_data_dir(small_group_dir, config, cache_dir=cache, viewer=HR)
    assert second.from_cache
    assert [f.value for f in second.figures("payouts")] == [f.value for f in first.figures("payouts")]
    again = second.frames("payouts")["winners_losers"]
    pd.testing.assert_frame_equal(
        again.drop(columns="merged_groups"), first.frames("payouts")["winners_losers"]
    )
    assert "payouts.pkl" not in {p.name for p in entry.iterdir()}


def test_disk_cache_keeps_pay_with_access_control_off_but_owner_only(small_group_dir, tmp_path):
    cache = tmp_path / "cache"
    a = Analysis.from_data_dir(small_group_dir, load_config(CONFIGS), cache_dir=cache)
    assert a.cache_personal
    a.result("payouts")
    pickle_file = cache / a.key / "payouts.pkl"
    assert pickle_file.is_file() and stat.S_IMODE(pickle_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((cache / a.key).stat().st_mode) == 0o700


def test_the_leadership_report_merges_small_groups(hr_analysis):
    from types import SimpleNamespace

    from cx_framework.report import _winners_losers_block

    config = hr_analysis.config
    plan = SimpleNamespace(results={"scheme_comparison": hr_analysis.result("payouts")}, currency="GBP")
    text = "".join(_winners_losers_block(plan, config))
    marketing = next(d.name for d in config.organisation.departments if d.id == "marketing")
    assert "other groups" in text and "fewer than 5 employees" in text
    assert f"<td>{marketing}</td>" not in text  # the two people's group is not a row of its own
    rows = [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", text, flags=re.S)]
    employees = [int(cells[3]) for cells in rows if cells]
    assert employees and min(employees) >= 5


def test_personal_cache_allowed_only_with_access_control_off(secured, monkeypatch):
    from cx_framework.analysis import personal_cache_allowed

    monkeypatch.delenv("CX_ACCESS_FILE", raising=False)
    assert personal_cache_allowed(load_config(CONFIGS))
    assert not personal_cache_allowed(load_config(CONFIGS), viewer=HR)  # any viewer: access control is on
    assert not personal_cache_allowed(load_config(secured))
    monkeypatch.setenv("CX_ACCESS_FILE", str(secured / "access.yaml"))
    assert not personal_cache_allowed(load_config(CONFIGS))


def test_access_control_removes_pay_an_access_off_process_cached(secured, small_group_dir, tmp_path):
    cache = tmp_path / "cache"
    off = Analysis.from_data_dir(small_group_dir, load_config(CONFIGS), cache_dir=cache)
    off.result("payouts")
    entry = cache / off.key
    assert (entry / "payouts.pkl").is_file() and (entry / "payouts.winners_losers.parquet").is_file()
    assert list((cache / "tables").glob("employees-*.pkl"))
    # the same data and configuration (access.yaml is not part of the key) opened under access control
    on = Analysis.from_data_dir(small_group_dir, load_config(secured), cache_dir=cache, viewer=HR)
    assert on.key == off.key and on.from_cache
    assert not (entry / "payouts.pkl").exists() and not (entry / "payouts.winners_losers.parquet").exists()
    assert [f.value for f in on.figures("payouts")] == [f.value for f in off.figures("payouts")]
    on.tables["employees"]  # read again from the data file; the cached copy of the salaries goes
    assert not list((cache / "tables").glob("employees-*.pkl"))
    assert len(on.frames("payouts")["winners_losers"]) == len(off.frames("payouts")["winners_losers"])
