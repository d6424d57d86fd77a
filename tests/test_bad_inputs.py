"""Catalogue of user mistakes: every one is a typed error whose message says where the problem is.

Four tables of cases, one test per failure mode:

* ``TABLE_CASES``  — a bad cell in a CSV file of each contract table: ``DataValidationError`` naming the file, the
  column, the row and the CSV line;
* ``MISSING_COLUMNS`` — every required column of every table left out: the message names the file and column;
* ``CONFIG_CASES`` — an edit of one bundled config file: ``ConfigError`` naming the file and the key path;
* ``CALL_CASES``   — a public function called with a bad argument or frame: the error names the argument;
* ``CLI_CASES``    — a ``cx`` command with a bad option: exit code 2, one ``error:`` line naming the option or
  path, at most one ``hint:`` line, no traceback, and no output file written.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from cx_framework.errors import ConfigError, CxError, DataValidationError, InputValueError
from cx_framework.schemas import column_kinds, schema_for

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
SAMPLE = ROOT / "data" / "sample"


# ---------------------------------------------------------------------------------------------- valid tables
def _valid(table: str) -> pd.DataFrame:
    """Three valid rows of ``table`` (all text, as a CSV holds them)."""
    rows: dict[str, dict[str, list[Any]]] = {
        "intervals": {
            "interval_start": ["2024-01-01 08:00", "2024-01-01 08:30", "2024-01-01 09:00"],
            "queue": ["billing", "billing", "billing"],
            "offered": [10, 4, 6],
            "answered": [9, 4, 5],
            "answered_within_threshold": [7, 4, 5],
            "abandoned": [1, 0, 1],
            "aht_s": [300.0, 280.0, 310.0],
            "agents_staffed": [4.0, 2.0, 3.0],
            "threshold_s": [20.0, 20.0, 20.0],
        },
        "contacts": {
            "contact_id": ["c1", "c2", "c3"],
            "customer_id": ["k1", "k1", "k2"],
            "timestamp": ["2024-01-01 08:01", "2024-01-02 09:00", "2024-01-03 10:00"],
            "channel": ["phone", "email", "chat"],
            "queue": ["billing", "billing", "sales"],
            "reason": ["bill_query", "bill_query", "new_order"],
            "wait_s": [12.0, 0.0, 30.0],
            "handle_s": [300.0, 120.0, 200.0],
            "abandoned": ["false", "false", "true"],
            "resolved_first_contact": ["true", "false", "true"],
            "agent_id": ["a1", "a1", ""],
        },
        "customers": {
            "customer_id": ["k1", "k2", "k3"],
            "segment": ["consumer", "consumer", "business"],
            "product": ["broadband", "mobile", "broadband"],
            "start_date": ["2022-01-01", "2023-05-01", "2021-03-15"],
            "monthly_revenue": [30.0, 25.0, 80.0],
            "churn_date": ["", "2024-02-01", ""],
        },
        "employees": {
            "employee_id": ["a1", "a2", "b1"],
            "department": ["contact_centre", "contact_centre", "billing"],
            "team": ["cc_north", "cc_south", "billing_ops"],
            "role": ["agent", "agent", "billing_specialist"],
            "base_salary": [28000.0, 29000.0, 31000.0],
            "hire_date": ["2020-01-01", "2021-06-01", "2019-09-01"],
            "leave_date": ["", "", "2024-03-31"],
        },
        "employee_metrics": {
            "period": ["2024-01-01", "2024-01-01", "2024-02-01"],
            "employee_id": ["a1", "a2", "a1"],
            "metric": ["aht_s", "aht_s", "aht_s"],
            "value": [300.0, 320.0, 310.0],
            "volume": [100.0, 90.0, 110.0],
        },
        "department_metrics": {
            "period": ["2024-01-01", "2024-01-01", "2024-02-01"],
            "department": ["contact_centre", "billing", "contact_centre"],
            "team": ["", "", "cc_north"],
            "metric": ["service_level", "own_sla_met", "service_level"],
            "value": [0.8, 0.9, 0.75],
            "volume": [1000.0, 200.0, 400.0],
        },
        "work_items": {
            "item_id": ["007", "007", "010"],
            "stage": ["triage", "fix", "triage"],
            "customer_id": ["k1", "k1", "k2"],
            "journey": ["billing_dispute", "billing_dispute", "order"],
            "department": ["contact_centre", "billing", "contact_centre"],
            "entered_at": ["2024-01-01 08:00", "2024-01-01 09:00", "2024-01-02 10:00"],
            "left_at": ["2024-01-01 09:00", "", "2024-01-02 10:30"],
        },
    }
    return pd.DataFrame({k: [str(v) for v in vals] for k, vals in rows[table].items()})


def _write_csv(tmp_path: Path, table: str, frame: pd.DataFrame) -> Path:
    path = tmp_path / f"{table}.csv"
    frame.to_csv(path, index=False)
    return path


def test_valid_tables_are_valid(tmp_path: Path) -> None:
    from cx_framework.io import read_table

    for table in column_kinds.__globals__["REQUIRED_TABLES"]:
        read_table(_write_csv(tmp_path, table, _valid(table)), table)


# ------------------------------------------------------------------------------------------ bad cells (CSV)
# (table, column, row, bad text, substring of the check reported)
TABLE_CASES: list[tuple[str, str, int, str, str]] = [
    ("intervals", "offered", 1, "-1", ">= 0"),
    ("intervals", "offered", 0, "ten", "coerce to number"),
    ("intervals", "offered", 2, "1e308", "<= 1000000000000"),
    ("intervals", "offered", 1, "2.5", "integer"),
    ("intervals", "offered", 0, "", "not_nullable"),
    ("intervals", "answered", 1, "5", "answered <= offered"),
    ("intervals", "answered", 2, "-3", ">= 0"),
    ("intervals", "answered_within_threshold", 0, "10", "answered_within_threshold <= answered"),
    ("intervals", "answered_within_threshold", 1, "x", "coerce to number"),
    ("intervals", "abandoned", 0, "5", "answered + abandoned <= offered"),
    ("intervals", "abandoned", 2, "-1", ">= 0"),
    ("intervals", "aht_s", 0, "-5", ">= 0"),
    ("intervals", "aht_s", 1, "1e308", "<= 10000000"),
    ("intervals", "aht_s", 2, "slow", "coerce to number"),
    ("intervals", "aht_s", 0, "0", "aht_s > 0 where answered > 0"),
    ("intervals", "aht_s", 1, "inf", "finite"),
    ("intervals", "agents_staffed", 0, "-1", ">= 0"),
    ("intervals", "agents_staffed", 1, "1e12", "<= 1000000000"),
    ("intervals", "agents_staffed", 2, "nan", "not_nullable"),
    ("intervals", "threshold_s", 0, "-20", ">= 0"),
    ("intervals", "threshold_s", 1, "1e9", "<= 10000000"),
    ("intervals", "interval_start", 1, "yesterday", "coerce to datetime"),
    ("intervals", "interval_start", 2, "", "not_nullable"),
    ("intervals", "interval_start", 1, "2024-01-01 08:00", "unique key"),
    ("intervals", "queue", 0, "", "not_nullable"),
    ("contacts", "channel", 1, "fax", "in"),
    ("contacts", "wait_s", 0, "-1", ">= 0"),
    ("contacts", "wait_s", 2, "1e308", "<= 10000000"),
    ("contacts", "wait_s", 1, "long", "coerce to number"),
    ("contacts", "handle_s", 0, "-300", ">= 0"),
    ("contacts", "handle_s", 2, "-inf", "finite"),
    ("contacts", "abandoned", 1, "maybe", "coerce to bool"),
    ("contacts", "resolved_first_contact", 2, "perhaps", "coerce to bool"),
    ("contacts", "timestamp", 0, "31/31/2024", "coerce to datetime"),
    ("contacts", "timestamp", 1, "9999-99-99", "coerce to datetime"),
    ("contacts", "contact_id", 2, "c1", "unique key"),
    ("contacts", "contact_id", 1, "", "not_nullable"),
    ("contacts", "customer_id", 0, "", "not_nullable"),
    ("contacts", "reason", 2, "", "not_nullable"),
    ("customers", "monthly_revenue", 0, "-1", ">= 0"),
    ("customers", "monthly_revenue", 1, "lots", "coerce to number"),
    ("customers", "monthly_revenue", 2, "1e20", "<= 1000000000000000"),
    ("customers", "start_date", 0, "someday", "coerce to datetime"),
    ("customers", "start_date", 2, "", "not_nullable"),
    ("customers", "churn_date", 1, "2020-01-01", "churn_date >= start_date"),
    ("customers", "churn_date", 0, "never", "coerce to datetime"),
    ("customers", "customer_id", 1, "k1", "unique key"),
    ("customers", "segment", 2, "", "not_nullable"),
    ("employees", "base_salary", 0, "0", "> 0"),
    ("employees", "base_salary", 1, "-5", "> 0"),
    ("employees", "base_salary", 2, "a lot", "coerce to number"),
    ("employees", "base_salary", 0, "1e20", "<= 1000000000000000"),
    ("employees", "hire_date", 1, "first day", "coerce to datetime"),
    ("employees", "leave_date", 2, "2010-01-01", "leave_date >= hire_date"),
    ("employees", "employee_id", 2, "a1", "unique key"),
    ("employees", "department", 0, "", "not_nullable"),
    ("employees", "team", 1, "", "not_nullable"),
    ("employees", "role", 2, "", "not_nullable"),
    ("employee_metrics", "period", 0, "2024-01-15", "month_start"),
    ("employee_metrics", "period", 1, "Jan", "coerce to datetime"),
    ("employee_metrics", "value", 2, "high", "coerce to number"),
    ("employee_metrics", "value", 0, "inf", "finite"),
    ("employee_metrics", "volume", 1, "-1", ">= 0"),
    ("employee_metrics", "employee_id", 2, "", "not_nullable"),
    ("employee_metrics", "metric", 0, "", "not_nullable"),
    ("department_metrics", "period", 1, "2024-01-02", "month_start"),
    ("department_metrics", "value", 0, "about 3", "coerce to number"),
    ("department_metrics", "value", 2, "-inf", "finite"),
    ("department_metrics", "volume", 1, "-10", ">= 0"),
    ("department_metrics", "department", 0, "", "not_nullable"),
    ("department_metrics", "metric", 2, "", "not_nullable"),
    ("work_items", "left_at", 0, "2023-12-31", "left_at >= entered_at"),
    ("work_items", "left_at", 2, "later", "coerce to datetime"),
    ("work_items", "entered_at", 1, "soon", "coerce to datetime"),
    ("work_items", "entered_at", 0, "", "not_nullable"),
    ("work_items", "stage", 1, "triage", "unique key"),
    ("work_items", "journey", 2, "", "not_nullable"),
    ("work_items", "department", 1, "", "not_nullable"),
]


@pytest.mark.parametrize(
    ("table", "column", "row", "text", "check"),
    TABLE_CASES,
    ids=[f"{t}-{c}-{repr(v)[:20]}" for t, c, _, v, _ in TABLE_CASES],
)
def test_bad_cell_names_file_column_row_and_line(
    tmp_path: Path, table: str, column: str, row: int, text: str, check: str
) -> None:
    from cx_framework.io import read_table

    frame = _valid(table)
    frame.loc[row, column] = text
    path = _write_csv(tmp_path, table, frame)
    with pytest.raises(DataValidationError) as info:
        read_table(path, table)
    err, message = info.value, str(info.value)
    assert err.file == str(path) and str(path) in message
    failures = err.failures
    mine = failures[
        failures["column"].astype(str).str.contains(column, regex=False)
        & failures["check"].str.contains(check, regex=False)
    ]
    assert row in mine["row"].tolist(), failures
    assert f"column '{column}" in message or f", {column}'" in message
    assert f"line {row + 2}" in message  # the CSV line a spreadsheet shows (header is line 1)
    assert "np.float64" not in message and "np.int64" not in message


# ------------------------------------------------------------------------------------------- missing columns
MISSING_COLUMNS = [
    (table, column)
    for table in (
        "intervals",
        "contacts",
        "customers",
        "employees",
        "employee_metrics",
        "department_metrics",
        "work_items",
    )
    for column, col in schema_for(table).to_schema().columns.items()
    if col.required
]


@pytest.mark.parametrize(("table", "column"), MISSING_COLUMNS, ids=[f"{t}-{c}" for t, c in MISSING_COLUMNS])
def test_missing_column_names_file_and_column(tmp_path: Path, table: str, column: str) -> None:
    from cx_framework.io import read_table

    path = _write_csv(tmp_path, table, _valid(table).drop(columns=column))
    with pytest.raises(DataValidationError) as info:
        read_table(path, table)
    message = str(info.value)
    assert str(path) in message and f"column '{column}'" in message
    missing = info.value.failures
    assert ((missing["column"] == column) & (missing["check"] == "column_in_dataframe")).any()


# --------------------------------------------------------------------------------------------- bad files
FILE_CASES: list[tuple[str, bytes, str]] = [
    ("empty", b"", "empty"),
    ("header only", b"interval_start,queue,offered\n", "no data rows"),
    ("not a CSV", b'{"intervals": [1, 2, 3]}\n', "does not look like a CSV"),
    ("binary", b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe\x00", "is not a CSV text file: it looks like a PNG image"),
    (
        "latin-1 in line 3",
        "interval_start,queue\nx,y\nCaf\u00e9,z\n".encode("latin-1"),
        "line 3 is not UTF-8",
    ),
    ("ragged", b'interval_start,queue\n"2024-01-01,billing\n', "cannot parse CSV"),
]


@pytest.mark.parametrize(("name", "content", "match"), FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_bad_file_is_named(tmp_path: Path, name: str, content: bytes, match: str) -> None:
    from cx_framework.io import read_table

    path = tmp_path / "intervals.csv"
    path.write_bytes(content)
    with pytest.raises(DataValidationError, match=match) as info:
        read_table(path, "intervals")
    assert str(path) in str(info.value)


# ---------------------------------------------------------------------------------------------- configs
# (file, old text, new text, key path expected in the message or None, regex)
CONFIG_CASES: list[tuple[str, str, str, str | None, str]] = [
    (
        "incentives/siloed.yaml",
        "weight: 0.35, threshold: 420",
        "weight: 0.95, threshold: 420",
        None,
        "weight",
    ),
    ("incentives/siloed.yaml", "target_bonus_pct: 10", "target_bonus_pct: -10", "target_bonus_pct", ""),
    ("incentives/siloed.yaml", "target_bonus_pct: 10", "target_bonus_pct: ten", "target_bonus_pct", ""),
    ("incentives/siloed.yaml", "period: month", "period: fortnight", "period", ""),
    ("incentives/siloed.yaml", "cap_pct: 200", "cap_pct: -1", "cap_pct", ""),
    ("incentives/siloed.yaml", "cap_pct: 200", "cap_pcent: 200", "cap_pcent", "unknown key"),
    ("incentives/siloed.yaml", "{metric: aht_s,", "{metric: ahts,", "components[0].metric", "unknown metric"),
    ("incentives/siloed.yaml", "roles: [agent,", "roles: [agnet,", "roles[0]", "unknown role"),
    (
        "incentives/siloed.yaml",
        "threshold: 420,  target: 360",
        "threshold: 300,  target: 360",
        "components[0]",
        "",
    ),
    ("incentives/siloed.yaml", "id: siloed", "id: Siloed Scheme", "id", ""),
    ("incentives/siloed.yaml", "id: siloed", "id: " + "s" * 200, "id", "64"),
    ("organisation.yaml", "kind: front_office", "kind: frontline", "departments[0].kind", ""),
    ("organisation.yaml", "- id: contact_centre", "- id: ''", "departments[0].id", ""),
    ("organisation.yaml", "name: Northwind Connect", "nmae: Northwind Connect", "nmae", "unknown key"),
    ("metrics.yaml", "    direction: higher_is_better", "    direction: up", "metrics[0].direction", ""),
    ("causal_graph.yaml", "elasticity: 0.35", "elasticity: lots", "edges[0].elasticity", ""),
    (
        "causal_graph.yaml",
        "{from: aht_s, to: fcr",
        "{from: aht_z, to: fcr",
        "edges[0].from",
        "unknown metric",
    ),
    ("economics.yaml", "shrinkage: 0.32", "shrinkage: 1.5", "shrinkage", ""),
    ("economics.yaml", "margin: 0.35", "margin: high", "margin", ""),
    ("economics.yaml", "currency: GBP", "currency: [GBP]", "currency", ""),
    ("economics.yaml", "answer_s: 20", "answer_s: 20\nanswer_s: 30", "answer_s", "appears twice"),
    ("economics.yaml", "currency: GBP", "currency: !!python/object/apply:os.system ['true']", None, "tag"),
    ("economics.yaml", "currency: GBP", "currency: [GBP", None, "syntax"),
]


@pytest.mark.parametrize(
    ("file", "old", "new", "key", "match"), CONFIG_CASES, ids=[f"{c[0]}:{c[2][:25]}" for c in CONFIG_CASES]
)
def test_config_mistake_names_file_and_key(
    tmp_path: Path, file: str, old: str, new: str, key: str | None, match: str
) -> None:
    from cx_framework.config import load_config

    target = tmp_path / "configs"
    shutil.copytree(CONFIGS, target)
    path = target / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"test setup: {old!r} not in {file}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(target)
    message = str(info.value)
    assert message.startswith(str(path)), message
    if key is not None:
        assert key in message, message
    assert match.lower() in message.lower(), message
    assert len(message) < 2_000


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    from cx_framework.config import load_scheme

    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 12)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="expands to") as info:
        load_scheme(path)
    assert str(path) in str(info.value) and len(str(info.value)) < 500


def test_huge_config_file_is_refused_before_parsing(tmp_path: Path) -> None:
    from cx_framework.config import load_scheme

    path = tmp_path / "huge.yaml"
    path.write_text("name: x\n" + "# padding\n" * 300_000, encoding="utf-8")
    with pytest.raises(ConfigError, match="limited to") as info:
        load_scheme(path)
    assert str(path) in str(info.value)


# -------------------------------------------------------------------------------------- library calls
def _intervals() -> pd.DataFrame:
    from cx_framework.schemas import validate

    return validate("intervals", _valid("intervals"))


def _contacts_customers() -> tuple[pd.DataFrame, pd.DataFrame]:
    from cx_framework.schemas import validate

    return validate("contacts", _valid("contacts")), validate("customers", _valid("customers"))


def _forecast() -> pd.DataFrame:
    return _intervals()[["interval_start", "queue", "offered", "aht_s"]]


def _call_panel(contacts: Any = None, customers: Any = None, **kw: Any) -> Any:
    from cx_framework.retention import build_customer_panel

    c, k = _contacts_customers()
    return build_customer_panel(
        c if contacts is None else contacts, k if customers is None else customers, **kw
    )


def _sl(frame: Any, **kw: Any) -> Any:
    from cx_framework.staffing import aggregate_service_level

    return aggregate_service_level(frame, **kw)


def _required(frame: Any, **kw: Any) -> Any:
    from cx_framework.staffing import required_agents

    return required_agents(frame, **kw)


def _gap(frame: Any, budget: Any = 5.0, **kw: Any) -> Any:
    from cx_framework.conflicts import staffing_budget_gap

    return staffing_budget_gap(frame, budget, **kw)


def _stages(frame: Any, **kw: Any) -> Any:
    from cx_framework.conflicts import fit_stage_distributions

    return fit_stage_distributions(frame, **kw)


def _payouts(scheme: Any) -> Any:
    from cx_framework.config import load_config
    from cx_framework.incentives import compute_payouts
    from cx_framework.schemas import validate

    config = load_config(CONFIGS)
    return compute_payouts(
        validate("employee_metrics", _valid("employee_metrics")),
        validate("employees", _valid("employees")),
        scheme,
        config=config,
    )


def _staffing(name: str) -> Callable[..., Any]:
    import cx_framework.staffing as staffing

    return getattr(staffing, name)  # type: ignore[no-any-return]


def _with(frame: pd.DataFrame, column: str, row: int, value: Any) -> pd.DataFrame:
    out = frame.copy()
    out[column] = out[column].astype(object)
    out.loc[row, column] = value
    return out


# (id, call, expected error type, text the message must contain)
CALL_CASES: list[tuple[str, Callable[[], Any], type[CxError], str]] = [
    ("agents_needed calls=1e20", lambda: _staffing("agents_needed")(1e20, 180), InputValueError, "calls"),
    ("agents_needed aht=1e308", lambda: _staffing("agents_needed")(100, 1e308), InputValueError, "aht_s"),
    ("agents_needed calls=nan", lambda: _staffing("agents_needed")(np.nan, 180), InputValueError, "calls"),
    ("agents_needed calls<0", lambda: _staffing("agents_needed")(-5.0, 180), InputValueError, "found -5"),
    (
        "agents_needed target=1",
        lambda: _staffing("agents_needed")(100, 180, target=1.0),
        InputValueError,
        "target",
    ),
    (
        "agents_needed target=str",
        lambda: _staffing("agents_needed")(100, 180, target="x"),
        InputValueError,
        "target",
    ),
    (
        "agents_needed interval=0",
        lambda: _staffing("agents_needed")(100, 180, interval_s=0),
        InputValueError,
        "interval_s",
    ),
    (
        "agents_needed interval tiny",
        lambda: _staffing("agents_needed")(100, 180, interval_s=1e-300),
        InputValueError,
        "Erlangs",
    ),
    ("erlang_c agents=1e308", lambda: _staffing("erlang_c")(10, 1e308), InputValueError, "agents"),
    ("erlang_c traffic=1e12", lambda: _staffing("erlang_c")(1e12, 1e12 + 5), InputValueError, "traffic"),
    ("erlang_c traffic=text", lambda: _staffing("erlang_c")("ten", 12), InputValueError, "traffic"),
    ("service_level aht=1e308", lambda: _staffing("service_level")(100, 1e308, 10), InputValueError, "aht_s"),
    (
        "service_level calls=1e15",
        lambda: _staffing("service_level")(1e11, 180, 10),
        InputValueError,
        "Erlangs",
    ),
    (
        "service_level series index",
        lambda: _staffing("service_level")(pd.Series([1.0, -1.0], index=["a", "b"]), 180, 10),
        InputValueError,
        "index label 'b'",
    ),
    ("asa agents=inf", lambda: _staffing("asa")(100, 180, np.inf), InputValueError, "agents"),
    (
        "erlang_a patience=1e100",
        lambda: _staffing("erlang_a")(100, 180, 14, patience_s=1e100),
        InputValueError,
        "patience_s",
    ),
    ("aggregate_service_level None", lambda: _sl(None), DataValidationError, "argument 'intervals'"),
    ("aggregate_service_level list", lambda: _sl([1, 2]), DataValidationError, "list"),
    (
        "aggregate_service_level text",
        lambda: _sl(_with(_valid("intervals"), "offered", 1, "many")),
        DataValidationError,
        "column 'offered'",
    ),
    (
        "aggregate_service_level negative",
        lambda: _sl(_with(_valid("intervals"), "answered_within_threshold", 2, -1)),
        DataValidationError,
        "row 2",
    ),
    (
        "aggregate_service_level missing",
        lambda: _sl(_valid("intervals").drop(columns="answered_within_threshold")),
        DataValidationError,
        "answered_within_threshold",
    ),
    (
        "aggregate_service_level empty",
        lambda: _sl(_valid("intervals").iloc[:0]),
        DataValidationError,
        "empty",
    ),
    (
        "aggregate_service_level definition",
        lambda: _sl(_intervals(), definition="median"),
        InputValueError,
        "definition",
    ),
    ("required_agents None", lambda: _required(None), DataValidationError, "argument 'intervals'"),
    (
        "required_agents aht text",
        lambda: _required(_with(_valid("intervals"), "aht_s", 0, "slow")),
        DataValidationError,
        "column 'aht_s'",
    ),
    (
        "required_agents huge offered",
        lambda: _required(_with(_valid("intervals"), "offered", 0, 1e308)),
        DataValidationError,
        "row 0",
    ),
    (
        "required_agents shrinkage",
        lambda: _required(_intervals(), shrinkage=1.0),
        InputValueError,
        "shrinkage",
    ),
    ("staffing_budget_gap None", lambda: _gap(None), DataValidationError, "intervals_forecast"),
    ("staffing_budget_gap empty", lambda: _gap(_forecast().iloc[:0]), DataValidationError, "empty"),
    (
        "staffing_budget_gap bad date",
        lambda: _gap(_with(_forecast(), "interval_start", 1, "soon")),
        DataValidationError,
        "column 'interval_start'",
    ),
    ("staffing_budget_gap budget", lambda: _gap(_forecast(), budget=-1), InputValueError, "budget_fte"),
    (
        "staffing_budget_gap aht 0",
        lambda: _gap(_with(_forecast(), "aht_s", 0, 0.0)),
        DataValidationError,
        "aht_s",
    ),
    (
        "build_customer_panel None",
        lambda: _call_panel(contacts=None, customers=[]),
        DataValidationError,
        "argument 'customers'",
    ),
    (
        "build_customer_panel no wait_s",
        lambda: _call_panel(contacts=_valid("contacts").drop(columns="wait_s")),
        DataValidationError,
        "wait_s",
    ),
    (
        "build_customer_panel maybe bool",
        lambda: _call_panel(contacts=_with(_valid("contacts"), "abandoned", 1, "maybe")),
        DataValidationError,
        "column 'abandoned'",
    ),
    (
        "build_customer_panel negative wait",
        lambda: _call_panel(contacts=_with(_valid("contacts"), "wait_s", 0, -3)),
        DataValidationError,
        "column 'wait_s'",
    ),
    (
        "build_customer_panel bad date",
        lambda: _call_panel(customers=_with(_valid("customers"), "start_date", 2, "nope")),
        DataValidationError,
        "column 'start_date'",
    ),
    ("build_customer_panel threshold", lambda: _call_panel(threshold_s="20"), InputValueError, "threshold_s"),
    ("fit_stage_distributions None", lambda: _stages(None), DataValidationError, "argument 'work_items'"),
    (
        "fit_stage_distributions bad date",
        lambda: _stages(_with(_valid("work_items"), "entered_at", 0, "x")),
        DataValidationError,
        "column 'entered_at'",
    ),
    (
        "fit_stage_distributions order",
        lambda: _stages(_with(_valid("work_items"), "left_at", 0, "2000-01-01")),
        DataValidationError,
        "left_at",
    ),
    (
        "fit_stage_distributions min_items",
        lambda: _stages(_valid("work_items"), min_items=0),
        InputValueError,
        "min_items",
    ),
    ("compute_payouts int scheme", lambda: _payouts(123), InputValueError, "scheme"),
    ("compute_payouts mapping bad", lambda: _payouts({"id": "x", "components": []}), ConfigError, "scheme"),
]


@pytest.mark.parametrize(("case", "call", "error", "text"), CALL_CASES, ids=[c[0] for c in CALL_CASES])
def test_bad_call_is_typed_and_named(
    case: str, call: Callable[[], Any], error: type[CxError], text: str
) -> None:
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    assert text in message, message
    assert "np.float64" not in message and "np.int64" not in message


def test_scheme_as_plain_mapping_pays_like_the_scheme_object() -> None:
    from cx_framework.config import load_config

    scheme = load_config(CONFIGS).schemes["siloed"]
    as_mapping = scheme.model_dump(by_alias=True)
    pd.testing.assert_frame_equal(_payouts(as_mapping), _payouts(scheme))


def test_unknown_department_in_data_is_named() -> None:
    from cx_framework.scorecard import score

    frame = _valid("department_metrics")
    frame.loc[1, "department"] = "bilings"
    with pytest.raises(DataValidationError, match="bilings") as info:
        score(frame, CONFIGS)
    assert "organisation.yaml" in str(info.value)
    assert info.value.failures["row"].tolist() == [1]
