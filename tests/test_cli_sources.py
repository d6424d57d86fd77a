"""``--sources sources.yaml`` on the data commands: the same figures as the imported folder (issue 15.2), the
calibration table in ``cx staffing`` (issue 15.5), and progress / ``--quiet`` on stderr (issue 18)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from _cli import split_runner

from cx_framework.cli import app

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"


runner = split_runner()

BAMBOO = (
    "id,employeeNumber,firstName,lastName,department,division,jobTitle,payRate,payPer,hireDate,terminationDate\n"
    '40,E-007,Ada,Lovelace,Contact centre,North,Agent,"31,500.00 GBP",Year,2021-02-01,0000-00-00\n'
    "41,E-008,Alan,Turing,Billing,Back office,Specialist,38000.00 GBP,Year,2019-09-16,2024-05-31\n"
)


def _cdr(seed: int = 7, days: int = 75) -> str:
    """A generic call-detail export (one row per call, the generic_cdr preset's documented columns): two queues,
    weekday calls 09:00-17:00 over ``days`` days, ~12 % abandoned."""
    rng = np.random.default_rng(seed)
    rows = []
    start = pd.Timestamp("2024-03-01")
    n = 0
    for day in pd.date_range(start, periods=days, freq="D"):
        if day.day_of_week >= 5:
            continue
        for queue, per_day in (("billing", 40), ("sales", 25)):
            for offset in np.sort(rng.uniform(9 * 3600, 17 * 3600, rng.poisson(per_day))):
                n += 1
                entry = day + pd.Timedelta(seconds=float(offset))
                wait = float(rng.exponential(35.0))
                abandoned = rng.random() < 0.12
                exit_ = entry + pd.Timedelta(seconds=round(wait))
                fmt = "%Y-%m-%d %H:%M:%S"
                if abandoned:
                    rows.append(f"C{n},+44{n},{queue},{entry:{fmt}},{exit_:{fmt}},,,ABANDONED,,")
                else:
                    end = exit_ + pd.Timedelta(seconds=round(float(rng.gamma(4.0, 60.0))))
                    agent = f"A{rng.integers(1, 6)}"
                    rows.append(
                        f"C{n},+44{n},{queue},{entry:{fmt}},{exit_:{fmt}},{exit_:{fmt}},{end:{fmt}},ANSWERED,"
                        f"{agent},bill_query"
                    )
    header = "call_id,caller_id,queue,queue_entry_time,queue_exit_time,answer_time,end_time,outcome,agent_id,wrap_code"
    return header + "\n" + "\n".join(rows) + "\n"


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("byod")
    (folder / "cdr.csv").write_text(_cdr())
    (folder / "emp.csv").write_text(BAMBOO)
    config = {
        "tables": {
            "contacts": {
                "preset": "generic_cdr",
                "file": "cdr.csv",
                "columns": {"resolved_first_contact": {"constant": True}},
            },
            "intervals": {"derive": "contacts", "interval_minutes": 30},
            "employees": {"preset": "bamboohr_employees", "file": "emp.csv"},
        }
    }
    path = folder / "sources.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def imported(sources: Path) -> Path:
    out = sources.parent / "imported"
    result = runner.invoke(app, ["import", str(sources), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.stderr
    return out


def _json(args: list[str]) -> dict:
    result = runner.invoke(app, [*args, "--configs", str(CONFIGS), "--json", "--no-cache"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)  # stdout is pure JSON


def test_staffing_through_sources_equals_the_imported_folder(sources: Path, imported: Path):
    direct = _json(["staffing", "--sources", str(sources)])
    folder = _json(["staffing", str(imported)])
    assert [f["id"] for f in direct["figures"]] == [f["id"] for f in folder["figures"]]
    assert len(direct["figures"]) >= 5
    for a, b in zip(direct["figures"], folder["figures"], strict=True):
        assert a["label"] == b["label"] and a["period"] == b["period"]
        assert a["value"] == pytest.approx(b["value"], rel=1e-12, abs=1e-12), a["id"]
    assert direct["table"] == folder["table"]
    assert direct["overall_service_level_all_intervals"] == pytest.approx(
        folder["overall_service_level_all_intervals"], rel=1e-12
    )
    # intervals derived from call records: staffed agents are an estimate, and the JSON says so
    assert direct["agents_staffed_estimated"] is True and folder["agents_staffed_estimated"] is True
    assert direct["model_fit"] == folder["model_fit"]


def test_staffing_calibration_equals_the_library(imported: Path):
    from cx_framework.io import load_data_dir
    from cx_framework.staffing.calibration import fit_queue_models

    tables = load_data_dir(imported, tables=["intervals", "contacts"])
    fit = fit_queue_models(tables["intervals"], contacts=tables["contacts"])
    doc = _json(["staffing", str(imported)])
    model_fit = doc["model_fit"]
    assert model_fit["recommended"] == fit.recommended
    assert model_fit["agents_estimated"] is True
    for row in model_fit["models"]:
        expected = fit.overall.loc[row["model"]]
        for key in ("sl_mae", "sl_bias", "abandonment_mae", "abandonment_bias"):
            assert row[key] == pytest.approx(float(expected[key]), rel=1e-12, abs=1e-15), (row["model"], key)
    # the same document as `cx model-fit --json`
    result = runner.invoke(app, ["model-fit", str(imported), "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == model_fit
    # the chart reads the errors in percentage points like the page's table (it showed "20%" next to "pts")
    from cx_framework.plots import model_fit_figure

    fig = model_fit_figure(fit)
    assert fig.layout.yaxis.ticksuffix == " pts" and not fig.layout.yaxis.tickformat
    hours = fit.calibration[fit.calibration["hour"] != "all"]
    first = (
        hours[hours["model"] == hours["model"].iloc[0]]
        .assign(h=lambda d: d["hour"].astype(int))
        .sort_values("h")
    )
    assert list(fig.data[0].y) == pytest.approx((first["sl_mae"] * 100).tolist())


def test_staffing_text_shows_calibration_and_says_estimated(sources: Path):
    result = runner.invoke(
        app, ["staffing", "--sources", str(sources), "--configs", str(CONFIGS), "--no-cache"]
    )
    assert result.exit_code == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "Erlang C vs Erlang A" in text and "Recommended model:" in text
    assert "SL MAE" in text and "SL bias" in text
    assert (
        "staffed agent-h (estimated)" in text.replace(" (est imated)", " (estimated)") or "estimated" in text
    )
    assert "ESTIMATED" in text


def test_sources_missing_table_names_it(sources: Path):
    result = runner.invoke(app, ["score", "--sources", str(sources), "--configs", str(CONFIGS), "--no-cache"])
    assert result.exit_code == 2
    assert "department_metrics" in result.stderr and "Traceback" not in result.stderr
    result = runner.invoke(app, ["graph-evidence", "--sources", str(sources), "--configs", str(CONFIGS)])
    assert result.exit_code == 2
    assert "department_metrics" in result.stderr and str(sources.name) in result.stderr


def test_cache_key_changes_with_the_source_data(sources: Path, tmp_path: Path):
    from cx_framework.cli._analysis import open_analysis

    copy = tmp_path / "sources.yaml"
    (tmp_path / "cdr.csv").write_text(_cdr())
    (tmp_path / "emp.csv").write_text(BAMBOO)
    copy.write_text(sources.read_text())
    first = open_analysis(None, CONFIGS, sources=copy, cache=False).key
    assert open_analysis(None, CONFIGS, sources=copy, cache=False).key == first
    (tmp_path / "cdr.csv").write_text(_cdr(seed=8))
    assert open_analysis(None, CONFIGS, sources=copy, cache=False).key != first


# ---------------------------------------------------------------------------------------------- progress, quiet
def test_import_progress_goes_to_stderr_and_quiet_silences_it(sources: Path, tmp_path: Path):
    loud = runner.invoke(app, ["import", str(sources), "--out", str(tmp_path / "a")])
    assert loud.exit_code == 0, loud.stderr
    assert "note:" in loud.stderr and "ESTIMATED" in loud.stderr  # the estimated-agents note
    assert "Imported" in loud.stdout and "note:" not in loud.stdout
    for args in (
        ["--quiet", "import", str(sources), "--out", str(tmp_path / "b")],
        ["import", str(sources), "--out", str(tmp_path / "c"), "--quiet"],
    ):
        quiet = runner.invoke(app, args)
        assert quiet.exit_code == 0, quiet.stderr
        assert quiet.stderr.strip() == ""
        assert "Imported" in quiet.stdout  # results stay
    # --quiet does not hide errors
    bad = runner.invoke(app, ["--quiet", "import", str(tmp_path / "none.yaml"), "--out", str(tmp_path / "d")])
    assert bad.exit_code == 2 and bad.stderr.startswith("error: ")


def test_progress_steps_are_reported(monkeypatch, imported: Path):
    """The progress bar is transient (a terminal shows it while working); record the steps it is given."""
    from cx_framework.cli import _progress

    seen: list[str] = []
    real = _progress.progress

    def spy(total, first="starting", *, enabled=True):
        from contextlib import contextmanager

        @contextmanager
        def _cm():
            with real(total, first, enabled=enabled) as step:

                def record(label: str) -> None:
                    seen.append(label)
                    step(label)

                yield record

        return _cm()

    monkeypatch.setattr("cx_framework.cli.data_commands.progress", spy)
    result = runner.invoke(app, ["validate", str(imported), "--configs", str(CONFIGS), "--engine", "pandas"])
    assert result.exit_code == 2  # the imported folder holds no customers etc.: listed as missing
    assert sorted(seen) == [
        "validating contacts.parquet",
        "validating employees.parquet",
        "validating intervals.parquet",
    ]


def test_json_mode_is_pure_json_and_shows_no_progress(imported: Path):
    result = runner.invoke(app, ["retention", str(imported), "--configs", str(CONFIGS), "--json"])
    assert result.exit_code == 2  # retention needs customers: one error line, nothing on stdout
    assert result.stdout == "" and result.stderr.startswith("error: ") and "customers" in result.stderr


def test_generate_writes_results_to_stdout_and_nothing_else_when_quiet(tmp_path: Path):
    result = runner.invoke(
        app,
        [
            "--quiet",
            "generate",
            str(tmp_path / "org"),
            "--customers",
            "100",
            "--employees",
            "40",
            "--months",
            "3",
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert "Wrote" in result.stdout and "contacts" in result.stdout
    assert (tmp_path / "org" / "truth.json").is_file()


def test_calls_and_employees_only_run_every_analysis_they_support(sources: Path, tmp_path: Path):
    """Issue 15 (partial data, done-when): with only call records and an HR extract, `cx actions` and `cx report`
    run the analyses those tables support and name, on each surface, the table every other one needs."""
    doc = _json(["actions", "--sources", str(sources)])
    notes = " ".join(doc["notes"])
    assert "Retention and optimal service level needs table customers" in notes
    assert "Payouts and scheme comparison needs table employee_metrics" in notes
    assert "scheme_comparison" not in notes  # human names, not engine keys
    text = runner.invoke(
        app,
        ["actions", "--sources", str(sources), "--configs", str(CONFIGS), "--no-cache"],
        env={"COLUMNS": "160"},
    )
    assert text.exit_code == 0, text.stderr
    assert "not available: Retention and optimal service level needs" in text.stdout
    out = tmp_path / "briefing.html"
    result = runner.invoke(
        app,
        [
            "report",
            "--sources",
            str(sources),
            "--configs",
            str(CONFIGS),
            "--out",
            str(out),
            "--no-cache",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.stderr
    page = out.read_text(encoding="utf-8")
    assert "Not available:</strong> Retention and optimal service level needs table customers" in page
    assert "Realised service level" in page  # the staffing section ran on the derived intervals
