"""``--engine`` on every data command (issue 14): the option reaches the Analysis, and pandas and DuckDB give the
same ``--json`` headline figures (1e-9 relative) on the committed sample.

Wrong values (``--engine oracle``) are in ``tests/test_cli_options.py`` with every other option mistake.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from cx_framework.analysis import Analysis
from cx_framework.cli import app
from cx_framework.errors import CxError
from tests.test_cli_options import runner

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = str(ROOT / "data" / "sample")
CONFIGS = str(ROOT / "configs")
REL = 1e-9

#: every command that opens the Analysis of a data directory, with the arguments it needs besides DATA_DIR
DATA_COMMANDS = {
    "score": [],
    "payouts": ["--scheme", "siloed"],
    "compare-schemes": [],
    "conflicts": [],
    "sla-chain": ["--data"],  # sla-chain takes the data directory as --data
    "staffing": [],
    "retention": [],
    "failure-demand": [],
    "actions": [],
    "report": ["--out", "r.html"],
}


class _Opened(CxError):
    """Raised by the spy in place of opening the data (the test needs only the arguments)."""


@pytest.mark.parametrize("command", sorted(DATA_COMMANDS))
@pytest.mark.parametrize("engine", ["pandas", "duckdb", "spark"])
def test_engine_option_reaches_the_analysis(command, engine, monkeypatch, tmp_path):
    seen: list[str | None] = []

    def spy(cls, data_dir, config=None, **kwargs):
        seen.append(kwargs.get("engine"))
        raise _Opened("opened")

    monkeypatch.setattr(Analysis, "from_data_dir", classmethod(spy))
    monkeypatch.chdir(tmp_path)
    extra = DATA_COMMANDS[command]
    args = [
        command,
        *(extra + [SAMPLE] if extra == ["--data"] else [SAMPLE, *extra]),
        "--configs",
        CONFIGS,
        "--engine",
        engine,
        "--no-cache",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "opened" in result.stderr, (result.stdout, result.stderr)
    assert seen == [engine]


def test_engine_defaults_to_engine_yaml(monkeypatch, tmp_path):
    """Without --engine the data directory is opened on ``kind`` of configs/engine.yaml (DuckDB when absent)."""
    seen: list[str | None] = []

    def spy(cls, data_dir, config=None, **kwargs):
        seen.append(kwargs.get("engine"))
        raise _Opened("opened")

    monkeypatch.setattr(Analysis, "from_data_dir", classmethod(spy))
    configs = tmp_path / "configs"
    shutil.copytree(CONFIGS, configs)
    (configs / "engine.yaml").write_text("kind: pandas\n")
    for _ in range(2):
        result = runner.invoke(app, ["score", SAMPLE, "--configs", str(configs), "--no-cache"])
        assert result.exit_code == 2 and "opened" in result.stderr, result.stderr
        (configs / "engine.yaml").unlink(missing_ok=True)
    assert seen == ["pandas", "duckdb"]


def _figures(command: str, engine: str, *extra: str) -> dict[str, float]:
    result = runner.invoke(app, [command, SAMPLE, "--json", "--no-cache", "--engine", engine, *extra])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["figures"], doc
    return {f["id"]: f["value"] for f in doc["figures"]}


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b or abs(a - b) <= REL * max(abs(a), abs(b))
    return a == b


# the two commands whose sections read the engine-resident tables (contacts, work items, customers)
@pytest.mark.parametrize("command", ["retention", "failure-demand"])
def test_pandas_and_duckdb_give_the_same_json_figures(command):
    on_pandas, on_duckdb = _figures(command, "pandas"), _figures(command, "duckdb")
    assert set(on_pandas) == set(on_duckdb)
    differ = {k: (on_pandas[k], on_duckdb[k]) for k in on_pandas if not _same(on_pandas[k], on_duckdb[k])}
    assert not differ


def test_cox_retention_gives_the_same_json_figures_on_pandas_and_duckdb():
    """retention_model cox: statsmodels PHReg on every customer-month (pandas) and the grouped Breslow fit on the
    engine's aggregates (DuckDB) print the same figures — the churn effect, the optimum and its value."""
    on_pandas = _figures("retention", "pandas", "--model", "cox")
    on_duckdb = _figures("retention", "duckdb", "--model", "cox")
    assert set(on_pandas) == set(on_duckdb) and "retention.churn_change_per_point" in on_pandas
    assert (
        on_pandas["retention.churn_change_per_point"]
        != _figures("retention", "duckdb")["retention.churn_change_per_point"]
    )
    differ = {k: (on_pandas[k], on_duckdb[k]) for k in on_pandas if not _same(on_pandas[k], on_duckdb[k])}
    assert not differ


def test_dependency_deprecations_are_not_user_notes(capsys):
    """``cx report`` on DuckDB ran into ibis/pandas deprecation notices; only caveats reach the note lines."""
    import warnings

    from cx_framework.cli._progress import caveats
    from cx_framework.errors import StatisticalWarning

    with caveats():
        warnings.warn("fetch_arrow_table() is deprecated", DeprecationWarning, stacklevel=1)
        warnings.warn("option is deprecated", FutureWarning, stacklevel=1)
        warnings.warn("only 12 months of data", StatisticalWarning, stacklevel=1)
    err = capsys.readouterr().err
    assert "only 12 months of data" in err and "deprecated" not in err
