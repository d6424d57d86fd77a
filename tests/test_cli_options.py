"""Every CLI option is checked before any work: one clear line naming the option, exit code 2, no traceback,
and no output file touched (issue 13, root causes 1-3 and 8).

Each case is a mistake a user can make on the command line. The check runs at the top of the command, so each
case returns in well under a second (asserted loosely, the machine is shared) and a file that already sits where
an output would go keeps its content.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import pandas as pd
import pytest
from _cli import split_runner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cx_framework.cli import app

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
SAMPLE = ROOT / "data" / "sample"
#: a mistake is reported before any computing: generous bound for a loaded 2-core machine
FAST_S = 5.0


runner = split_runner()


def _invoke(args: list[str]):
    start = time.perf_counter()
    result = runner.invoke(app, [str(a) for a in args])
    return result, time.perf_counter() - start


def _assert_one_line_error(result, *needles: str) -> str:
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    err = result.stderr
    assert "Traceback" not in err and "Traceback" not in result.stdout
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines and lines[0].startswith("error: "), err
    assert len(lines) <= 2 and all(line.startswith(("error: ", "hint: ")) for line in lines), err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.fixture
def keep(tmp_path: Path):
    """``keep("name.ext")`` -> a path holding a file that no failing command may touch."""

    def _make(name: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("precious\n")
        return path

    return _make


def _untouched(path: Path) -> None:
    assert path.read_text() == "precious\n"


# ---------------------------------------------------------------------------------------------- outputs
def test_report_rejects_bad_xlsx_before_writing_the_report(keep):
    html = keep("r.html")
    result, took = _invoke(["report", SAMPLE, "--out", html, "--xlsx", html.with_name("w.txt")])
    _assert_one_line_error(result, "--xlsx", "w.txt", ".xlsx")
    _untouched(html)
    assert took < FAST_S


def test_report_rejects_a_non_html_out(keep):
    html = keep("report.pdf")
    result, _ = _invoke(["report", SAMPLE, "--out", html])
    _assert_one_line_error(result, "--out", ".html")
    _untouched(html)


def test_payouts_rejects_bad_out_suffix_before_xlsx(keep):
    book = keep("p.xlsx")
    result, took = _invoke(
        ["payouts", SAMPLE, "--scheme", "siloed", "--xlsx", book, "--out", book.with_name("p.txt")]
    )
    _assert_one_line_error(result, "--out", "p.txt")
    _untouched(book)
    assert took < FAST_S


@pytest.mark.parametrize(
    "command",
    [
        ["payouts", SAMPLE, "--scheme", "siloed"],
        ["compare-schemes", SAMPLE],
        ["conflicts", SAMPLE],
        ["sla-chain"],
        ["graph-evidence", SAMPLE],
    ],
    ids=lambda c: c[0],
)
def test_out_that_is_a_directory(tmp_path: Path, command):
    folder = tmp_path / "table.csv"
    folder.mkdir()
    result, took = _invoke([*command, "--out", folder])
    _assert_one_line_error(result, "--out", "directory")
    assert folder.is_dir() and not any(folder.iterdir())
    assert took < FAST_S


@pytest.mark.parametrize(
    ("command", "option"),
    [
        (["payouts", SAMPLE, "--scheme", "siloed", "--out"], "--out"),
        (["conflicts", SAMPLE, "--out"], "--out"),
        (["sla-chain", "--out"], "--out"),
        (["actions", SAMPLE, "--csv"], "--csv"),
    ],
    ids=lambda c: c[0] if isinstance(c, list) else c,
)
def test_out_in_an_unwritable_place(command, option):
    result, took = _invoke([*command, "/proc/cx-no-such-dir/out.csv"])
    _assert_one_line_error(result, option, "cannot write")
    assert took < FAST_S


def test_out_under_a_file(keep):
    parent = keep("plain")
    result, _ = _invoke(["sla-chain", "--out", parent / "x.csv"])
    _assert_one_line_error(result, "--out", "is a file")
    _untouched(parent)


def test_generate_into_a_file_is_refused(keep):
    target = keep("org")
    result, _ = _invoke(["generate", target, "--customers", "100", "--employees", "40", "--months", "3"])
    _assert_one_line_error(result, "OUT_DIR", "is a file")
    _untouched(target)


def test_import_out_that_is_a_file(keep, tmp_path: Path):
    sources = tmp_path / "sources.yaml"
    sources.write_text("tables: {}\n")
    target = keep("imported")
    result, _ = _invoke(["import", sources, "--out", target])
    _assert_one_line_error(result, "--out", "is a file")
    _untouched(target)


def test_statements_out_that_is_a_file(keep):
    target = keep("statements")
    result, _ = _invoke(["statements", SAMPLE, "--scheme", "siloed", "--period", "2025-06", "--out", target])
    _assert_one_line_error(result, "--out", "is a file")
    _untouched(target)


def test_two_outputs_to_one_file_are_refused(tmp_path: Path):
    from cx_framework.cli._options import check_outputs
    from cx_framework.errors import InputValueError

    same = tmp_path / "a.csv"
    with pytest.raises(InputValueError, match=r"--second: .*a\.csv is also given to --first"):
        check_outputs({"--first": (same, (".csv",)), "--second": (tmp_path / "." / "a.csv", (".csv",))})
    assert not same.exists()


# ---------------------------------------------------------------------------------------------- data and configs
@pytest.mark.parametrize(
    "command",
    [
        ["score"],
        ["payouts", "--scheme", "siloed"],
        ["compare-schemes"],
        ["conflicts"],
        ["failure-demand"],
        ["retention"],
        ["actions"],
        ["report"],
        ["graph-evidence"],
        ["staffing"],
        ["validate"],
        ["model-fit"],
        ["statements", "--scheme", "siloed", "--period", "2025-06", "--out", "st"],
    ],
    ids=lambda c: c[0],
)
def test_data_commands_need_data_dir_or_sources(tmp_path: Path, command):
    missing = tmp_path / "nowhere"
    result, took = _invoke([*command, missing])
    _assert_one_line_error(result, "does not exist", "nowhere")
    result, _ = _invoke(command)
    _assert_one_line_error(result, "--sources")  # "give a DATA_DIR or --sources sources.yaml"
    sources = tmp_path / "s.yaml"
    sources.write_text("tables: {}\n")
    result, _ = _invoke([*command, SAMPLE, "--sources", sources])
    _assert_one_line_error(result, "--sources", "not both")
    assert took < FAST_S


@pytest.mark.parametrize(
    "command",
    [["score", SAMPLE], ["retention", SAMPLE], ["sla-chain"], ["scenarios"], ["validate", SAMPLE]],
    ids=str,
)
def test_missing_configs_folder(tmp_path: Path, command):
    result, took = _invoke([*command, "--configs", tmp_path / "no-configs"])
    _assert_one_line_error(result, "--configs", "no-configs")
    assert took < FAST_S


def test_sources_must_be_an_existing_yaml(tmp_path: Path):
    result, _ = _invoke(["score", "--sources", tmp_path / "s.yaml"])
    _assert_one_line_error(result, "--sources", "does not exist")
    txt = tmp_path / "sources.txt"
    txt.write_text("x")
    result, _ = _invoke(["staffing", "--sources", txt])
    _assert_one_line_error(result, "--sources", ".yaml")


def test_sla_chain_data_and_sources_are_exclusive(tmp_path: Path):
    sources = tmp_path / "s.yaml"
    sources.write_text("tables: {}\n")
    result, _ = _invoke(["sla-chain", "--data", SAMPLE, "--sources", sources])
    _assert_one_line_error(result, "--sources", "--data")


def test_staffing_intervals_file_of_unknown_type(tmp_path: Path):
    file = tmp_path / "intervals.xlsx"
    file.write_text("x")
    result, _ = _invoke(["staffing", file])
    _assert_one_line_error(result, "INTERVALS_FILE", ".csv")


# ---------------------------------------------------------------------------------------------- values
@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["score", SAMPLE, "--period", "2024-13"], ["--period", "2024-13"]),
        (["score", SAMPLE, "--period", ""], ["--period", "YYYY-MM"]),
        (["score", SAMPLE, "--period", "March"], ["--period", "YYYY-MM"]),
        (["score", SAMPLE, "--top", "-1"], ["--top"]),
        (["statements", SAMPLE, "--scheme", "siloed", "--period", "2025-02-30", "--out", "st"], ["--period"]),
        (["staffing", SAMPLE, "--target", "1.5"], ["--target", "1.5"]),
        (["staffing", SAMPLE, "--target", "0"], ["--target"]),
        (["staffing", SAMPLE, "--target", "nan"], ["--target", "finite"]),
        (["staffing", SAMPLE, "--shrinkage", "1"], ["--shrinkage"]),
        (["staffing", SAMPLE, "--answer-s", "-5"], ["--answer-s"]),
        (["staffing", SAMPLE, "--interval-s", "0"], ["--interval-s"]),
        (["staffing", SAMPLE, "--patience-s", "inf"], ["--patience-s"]),
        (["staffing", SAMPLE, "--hours-per-fte", "500"], ["--hours-per-fte"]),
        (["staffing", SAMPLE, "--budget-fte", "-3"], ["--budget-fte"]),
        (["staffing", SAMPLE, "--by", "year"], ["--by", "year", "day"]),
        (["retention", SAMPLE, "--model", "probit"], ["--model", "probit", "logit"]),
        (["retention", SAMPLE, "--dose", "cubic"], ["--dose", "cubic"]),
        (["retention", SAMPLE, "--lag", "-1"], ["--lag"]),
        (["retention", SAMPLE, "--draws", "3"], ["--draws"]),
        (["failure-demand", SAMPLE, "--period", "fortnight"], ["--period", "fortnight"]),
        (["failure-demand", SAMPLE, "--reduction", "2"], ["--reduction"]),
        (["failure-demand", SAMPLE, "--horizon", "0"], ["--horizon"]),
        (["failure-demand", SAMPLE, "--fix-cost", "-1"], ["--fix-cost"]),
        (["conflicts", SAMPLE, "--effort-budget", "0"], ["--effort-budget"]),
        (["conflicts", SAMPLE, "--seed", "-1"], ["--seed"]),
        (["compare-schemes", SAMPLE, "--budget", "-5"], ["--budget"]),
        (["payouts", SAMPLE, "--scheme", "siloed", "--periods", "0"], ["--periods"]),
        (["sla-chain", "--method", "exact"], ["--method", "exact"]),
        (["graph-evidence", SAMPLE, "--draws", "0"], ["--draws"]),
        (["actions", SAMPLE, "--top", "0"], ["--top"]),
        (["report", SAMPLE, "--top", "0"], ["--top"]),
        (["model-fit", SAMPLE, "--patience-s", "0"], ["--patience-s"]),
        (["generate", "x", "--seed", "-1"], ["--seed"]),
        (["generate", "x", "--customers", "5"], ["--customers"]),
        (["generate", "x", "--scheme", "chaos"], ["--scheme", "chaos"]),
        (["import", "s.yaml", "--out", "d", "--format", "xml"], ["--format", "xml"]),
        (["app", "--port", "0"], ["--port"]),
        (["validate", SAMPLE, "--engine", "oracle"], ["--engine", "oracle"]),
        (["score", SAMPLE, "--engine", "oracle"], ["--engine", "oracle", "duckdb, spark, pandas"]),
        (["payouts", SAMPLE, "--scheme", "siloed", "--engine", "Duckdb"], ["--engine", "Duckdb"]),
        (["compare-schemes", SAMPLE, "--engine", "sql"], ["--engine", "sql"]),
        (["conflicts", SAMPLE, "--engine", "polars"], ["--engine", "polars"]),
        (["sla-chain", "--data", SAMPLE, "--engine", ""], ["--engine"]),
        (["staffing", SAMPLE, "--engine", "spark2"], ["--engine", "spark2"]),
        (["retention", SAMPLE, "--engine", "duck"], ["--engine", "duck"]),
        (["failure-demand", SAMPLE, "--engine", "pyspark"], ["--engine", "pyspark"]),
        (["actions", SAMPLE, "--engine", "pandas2"], ["--engine", "pandas2"]),
        (["report", SAMPLE, "--engine", "oracle"], ["--engine", "oracle"]),
    ],
    ids=lambda v: " ".join(map(str, v[:3])) if isinstance(v, list) and v and v[0] != "--" else None,
)
def test_bad_value_is_named(tmp_path: Path, monkeypatch, args, needles):
    monkeypatch.chdir(
        tmp_path
    )  # relative outputs (x, st, d) land in the test's folder, and never get written
    result, took = _invoke(args)
    _assert_one_line_error(result, *needles)
    assert took < FAST_S
    assert not any(tmp_path.iterdir())  # nothing written


def test_period_outside_the_data_names_the_option(tmp_path: Path):
    periods = pd.date_range("2024-01-01", periods=4, freq="MS")
    pd.DataFrame(
        {
            "period": periods,
            "department": "billing",
            "team": None,
            "metric": "fcr",
            "value": 0.7,
            "volume": 100.0,
        }
    ).to_parquet(tmp_path / "department_metrics.parquet")
    result, _ = _invoke(["score", tmp_path, "--period", "2030-01", "--no-cache"])
    _assert_one_line_error(result, "--period", "2030-01", "2024-01")


# ---------------------------------------------------------------------------------------------- literal text
def test_markup_in_a_path_is_shown_literally(tmp_path: Path):
    odd = tmp_path / "d[red]x[/red][bold]"
    result, _ = _invoke(["score", odd])
    line = _assert_one_line_error(result, "DATA_DIR")
    assert "d[red]x[/red][bold]" in line


def test_markup_in_an_output_path_is_written_literally(tmp_path: Path):
    out = tmp_path / "[bold]stages[/bold].csv"
    result, _ = _invoke(["sla-chain", "--out", out])
    assert result.exit_code == 0, result.stderr
    assert out.is_file()
    assert "[bold]stages[/bold].csv" in result.stdout.replace("\n", "")


def test_markup_in_a_config_name_is_shown_literally(tmp_path: Path):
    import shutil

    configs = tmp_path / "configs"
    shutil.copytree(CONFIGS, configs)
    slas = configs / "slas.yaml"
    text = slas.read_text()
    first_name = next(line for line in text.splitlines() if line.strip().startswith("name:"))
    value = first_name.split("name:", 1)[1].strip()
    slas.write_text(text.replace(first_name, first_name.replace(value, '"[red]Odd[/red] journey"'), 1))
    result, _ = _invoke(["sla-chain", "--configs", configs])
    assert result.exit_code == 0, result.stderr
    assert "[red]Odd[/red] journey" in result.stdout


def test_write_output_is_formula_safe_and_keeps_numbers(tmp_path: Path):
    from cx_framework.cli._options import write_output

    frame = pd.DataFrame(
        {
            "name": ['=HYPERLINK("http://x")', "+1", "-cmd", "@SUM(A1)", "plain"],
            "value": [-5.0, 1.5, -0.25, 0.0, 3.0],
            "count": [-1, 2, 3, 4, 5],
        }
    )
    path = write_output(frame, tmp_path / "out.csv")
    back = pd.read_csv(path)
    assert back["name"].tolist() == ['\'=HYPERLINK("http://x")', "'+1", "'-cmd", "'@SUM(A1)", "plain"]
    assert back["value"].tolist() == [-5.0, 1.5, -0.25, 0.0, 3.0]
    assert back["count"].tolist() == [-1, 2, 3, 4, 5]
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]  # atomic: no temp file left


# ---------------------------------------------------------------------------------------------- fuzz
HOSTILE = st.sampled_from(
    [
        "",
        " ",
        "-1",
        "0",
        "1",
        "0.5",
        "1e308",
        "-1e308",
        "nan",
        "inf",
        "[/red]",
        "[bold]x",
        "=HYPERLINK(1)",
        "2024-13",
        "2024-06",
        "9999-99",
        "x" * 300,
        "é",
        "'",
        "%s%n",
        "../../etc/passwd",
        "/proc/x.csv",
        "a.csv",
        "a.txt",
        "month",
        "queue",
        "convolution",
    ]
)
FUZZ = settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """Two weeks of the sample's intervals (staffing runs in a second on them)."""
    folder = tmp_path_factory.mktemp("tiny")
    iv = pd.read_parquet(SAMPLE / "intervals.parquet")
    iv = iv[iv["interval_start"] >= iv["interval_start"].max() - pd.Timedelta(days=14)]
    iv.to_parquet(folder / "intervals.parquet")
    return folder


def test_staffing_reads_a_single_intervals_file(tiny: Path, tmp_path: Path):
    result = runner.invoke(app, ["staffing", str(tiny / "intervals.parquet"), "--json", "--no-cache"])
    assert result.exit_code == 0, result.stderr
    import json

    assert json.loads(result.stdout)["by"] == "month"
    sources = tmp_path / "s.yaml"
    sources.write_text("tables: {}\n")
    both = runner.invoke(app, ["staffing", str(tiny / "intervals.parquet"), "--sources", str(sources)])
    _assert_one_line_error(both, "--sources", "not both")


def _fuzz_outcome(result) -> None:
    assert result.exit_code in (0, 2), (result.exit_code, result.stderr[-800:], repr(result.exception))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.stdout + result.stderr
    if result.exit_code == 2:
        assert result.stderr.lstrip().startswith(("error: ", "Usage:")), result.stderr[-800:]


@FUZZ
@given(
    option=st.sampled_from(
        ["--target", "--by", "--shrinkage", "--interval-s", "--patience-s", "--budget-fte"]
    ),
    value=HOSTILE,
)
def test_fuzz_staffing_options(tiny: Path, option: str, value: str):
    result = runner.invoke(app, ["staffing", str(tiny), option, value, "--no-cache", "--json"])
    _fuzz_outcome(result)
    if result.exit_code == 0:
        import json

        json.loads(result.stdout)  # --json stays pure JSON


@FUZZ
@given(method=HOSTILE, journey=st.one_of(st.none(), HOSTILE), out=st.one_of(st.none(), HOSTILE))
def test_fuzz_sla_chain_options(tmp_path_factory, method: str, journey: str | None, out: str | None):
    folder = tmp_path_factory.mktemp("fuzz_sla")
    args = ["sla-chain", "--method", method, "--no-cache"]
    if journey is not None:
        args += ["--journey", journey]
    if out is not None:
        args += ["--out", str(folder / out) if not out.startswith("/") else out]
    _fuzz_outcome(runner.invoke(app, args))


@settings(FUZZ, max_examples=12)
@given(period=HOSTILE, top=HOSTILE, out=HOSTILE, xlsx=HOSTILE)
def test_fuzz_options_checked_before_work(tmp_path_factory, period: str, top: str, out: str, xlsx: str):
    """Random values for commands whose data folder does not exist: whatever the options, the answer is a
    one-line error (about an option or the folder) and nothing is written."""
    folder = tmp_path_factory.mktemp("fuzz_out")
    missing = folder / "no-data"
    for args in (
        ["score", str(missing), "--period", period, "--top", top],
        ["report", str(missing), "--out", str(folder / out), "--xlsx", str(folder / xlsx), "--top", top],
        ["payouts", str(missing), "--scheme", period, "--out", str(folder / out)],
        ["failure-demand", str(missing), "--period", period, "--reduction", top],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.stdout, result.stderr)
        _fuzz_outcome(result)
    assert [p.name for p in folder.iterdir()] == []


def test_in_range_bounds_are_exact() -> None:
    from cx_framework.cli._options import in_range
    from cx_framework.errors import InputValueError

    assert in_range(0.0, "--x", low=0, high=1) == 0.0
    assert in_range(1.0, "--x", low=0, high=1) == 1.0
    with pytest.raises(InputValueError, match=r"--x: 0 is out of range; it must be within \(0, 1\)"):
        in_range(0.0, "--x", low=0, high=1, low_inclusive=False, high_inclusive=False)
    with pytest.raises(InputValueError, match="not a finite number"):
        in_range(math.nan, "--x", low=0)
