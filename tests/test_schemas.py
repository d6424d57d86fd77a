"""Tests of the data contract (cx_framework.schemas): one bad frame per check, coercion, messages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cx_framework._compat import is_text_dtype
from cx_framework.errors import CxError, DataValidationError
from cx_framework.schemas import (
    REQUIRED_TABLES,
    TABLES,
    column_kinds,
    key_columns,
    schema_for,
    template,
    validate,
)


# ----------------------------------------------------------------------------------------------------------------
# valid frames (3 rows each)
# ----------------------------------------------------------------------------------------------------------------
def _intervals() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "interval_start": ["2024-01-01 08:00", "2024-01-01 08:30", "2024-01-01 08:00"],
            "queue": ["billing", "billing", "sales"],
            "offered": [10, 0, 7],
            "answered": [9, 0, 6],
            "answered_within_threshold": [7, 0, 6],
            "abandoned": [1, 0, 1],
            "aht_s": [300.0, np.nan, 250.0],
            "agents_staffed": [4.0, 2.5, 3.0],
        }
    )


def _contacts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "contact_id": ["c1", "c2", "c3"],
            "customer_id": ["k1", "k1", "k2"],
            "timestamp": ["2024-01-01T08:01:00", "2024-01-02T09:15:00", "2024-01-03T10:00:00"],
            "channel": ["phone", "email", "chat"],
            "queue": ["billing", "billing", "sales"],
            "reason": ["bill", "bill", "order"],
            "wait_s": [12.0, 0.0, 30.0],
            "handle_s": [300.0, 120.0, 200.0],
            "abandoned": [False, False, True],
            "resolved_first_contact": [True, False, False],
            "agent_id": ["a1", "a2", None],
        }
    )


def _customers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["k1", "k2", "k3"],
            "segment": ["consumer", "business", "consumer"],
            "product": ["broadband", "mobile", "tv"],
            "start_date": ["2022-01-15", "2023-03-01", "2021-07-01"],
            "monthly_revenue": [30.0, 120.5, 0.0],
            "churn_date": [None, "2024-02-01", None],
        }
    )


def _employees() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "employee_id": ["e1", "e2", "e3"],
            "department": ["contact_centre", "billing", "sales"],
            "team": ["t1", "t2", "t3"],
            "role": ["agent", "clerk", "seller"],
            "base_salary": [28000.0, 31000.0, 35000.0],
            "hire_date": ["2020-01-01", "2021-05-01", "2019-09-01"],
            "leave_date": [None, "2024-01-31", None],
        }
    )


def _employee_metrics() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "period": ["2024-01-01", "2024-01-01", "2024-02-01"],
            "employee_id": ["e1", "e1", "e1"],
            "metric": ["aht", "fcr", "aht"],
            "value": [310.0, 0.72, 295.0],
            "volume": [400.0, 400.0, 380.0],
        }
    )


def _department_metrics() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "period": ["2024-01-01", "2024-01-01", "2024-01-01"],
            "department": ["billing", "billing", "billing"],
            "team": [None, "t2", None],
            "metric": ["cycle_time", "cycle_time", "backlog_age"],
            "value": [3.5, 4.0, 2.0],
        }
    )


def _work_items() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": ["w1", "w1", "w2"],
            "stage": ["triage", "fix", "triage"],
            "customer_id": ["k1", "k1", "k2"],
            "journey": ["billing_dispute", "billing_dispute", "order"],
            "department": ["contact_centre", "billing", "contact_centre"],
            "entered_at": ["2024-01-01 08:00", "2024-01-01 09:00", "2024-01-02 10:00"],
            "left_at": ["2024-01-01 09:00", None, "2024-01-02 10:00"],
        }
    )


def _customer_panel() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["k1", "k1", "k2"],
            "period": ["2024-01-01", "2024-02-01", "2024-01-01"],
            "contacts": [2, 0, 1],
            "mean_wait_s": [6.0, np.nan, 30.0],
            "service_level": [1.0, np.nan, 0.0],
            "repeat_contacts": [1, 0, 0],
            "tenure_months": [24, 25, 10],
            "segment": ["consumer", "consumer", "business"],
            "product": ["broadband", "broadband", "mobile"],
            "monthly_revenue": [30.0, 30.0, 120.5],
            "churned": [False, True, False],
        }
    )


VALID = {
    "intervals": _intervals,
    "contacts": _contacts,
    "customers": _customers,
    "employees": _employees,
    "employee_metrics": _employee_metrics,
    "department_metrics": _department_metrics,
    "work_items": _work_items,
    "customer_panel": _customer_panel,
}


def _raises(table: str, df: pd.DataFrame, **kwargs: object) -> DataValidationError:
    with pytest.raises(DataValidationError) as info:
        validate(table, df, **kwargs)  # type: ignore[arg-type]
    return info.value


# ----------------------------------------------------------------------------------------------------------------
# valid input
# ----------------------------------------------------------------------------------------------------------------
def test_tables_cover_the_data_contract() -> None:
    assert set(TABLES) == set(VALID)
    assert set(REQUIRED_TABLES) == set(TABLES) - {"customer_panel"}


@pytest.mark.parametrize("table", list(VALID))
def test_valid_frames_pass_and_get_contract_dtypes(table: str) -> None:
    raw = VALID[table]()
    out = validate(table, raw)
    assert len(out) == len(raw)
    kinds = column_kinds(table)
    expected = {"datetime": "datetime64[ns]", "int": "int64", "float": "float64", "bool": "bool"}
    for column, kind in kinds.items():
        if column not in out.columns:
            continue
        if kind == "str":
            assert pd.api.types.is_string_dtype(out[column].dtype), column
        else:
            assert str(out[column].dtype) == expected[kind], column
    # input not modified
    pd.testing.assert_frame_equal(raw, VALID[table]())


def test_intervals_threshold_defaults_to_20_when_absent_or_null() -> None:
    out = validate("intervals", _intervals())
    assert out["threshold_s"].tolist() == [20.0, 20.0, 20.0]
    df = _intervals().assign(threshold_s=[10.0, None, 30.0])
    assert validate("intervals", df)["threshold_s"].tolist() == [10.0, 20.0, 30.0]


def test_extra_columns_and_index_are_kept() -> None:
    df = _intervals().assign(short_abandons=[1, 0, 0])
    df.index = pd.Index([10, 20, 30], name="rowid")
    out = validate("intervals", df)
    assert out["short_abandons"].tolist() == [1, 0, 0]
    assert out.index.tolist() == [10, 20, 30]
    assert out.index.name == "rowid"
    wi = _work_items().assign(sla_met=[True, False, True])
    assert validate("work_items", wi)["sla_met"].tolist() == [True, False, True]


def test_coercion_of_strings_numbers_and_booleans() -> None:
    df = _intervals().astype(str)  # everything as text, as from a CSV read with dtype=str
    df["aht_s"] = ["300", "", "250.5"]
    df.loc[1, "aht_s"] = None
    out = validate("intervals", df)
    assert out["offered"].tolist() == [10, 0, 7]
    assert out["aht_s"].iloc[2] == 250.5
    assert out["interval_start"].iloc[1] == pd.Timestamp("2024-01-01 08:30")

    contacts = _contacts()
    contacts["abandoned"] = ["no", "N", "Yes"]
    contacts["resolved_first_contact"] = [1, 0, 0]
    contacts["customer_id"] = [101, 101, 7]  # numeric ids become strings
    out = validate("contacts", contacts)
    assert out["abandoned"].tolist() == [False, False, True]
    assert out["resolved_first_contact"].tolist() == [True, False, False]
    assert out["customer_id"].tolist() == ["101", "101", "7"]


def test_float_ids_with_missing_values_become_integer_strings() -> None:
    contacts = _contacts()
    contacts["agent_id"] = [1234.0, np.nan, 7.0]
    out = validate("contacts", contacts)
    assert out["agent_id"].iloc[0] == "1234"
    assert pd.isna(out["agent_id"].iloc[1])


def test_dates_in_other_formats_and_time_zones() -> None:
    df = _work_items()
    # mixed: ISO, US-style and an offset (converted to UTC: 10:00+02:00 -> 08:00)
    df["entered_at"] = ["2024-01-01 08:00", "01/01/2024 09:00", "2024-01-02T10:00:00+02:00"]
    df["left_at"] = ["2024-01-01 09:00", None, "2024-01-02 08:30"]
    out = validate("work_items", df)
    assert out["entered_at"].tolist() == [
        pd.Timestamp("2024-01-01 08:00"),
        pd.Timestamp("2024-01-01 09:00"),
        pd.Timestamp("2024-01-02 08:00"),
    ]
    assert str(out["entered_at"].dtype) == "datetime64[ns]"


def test_department_metrics_null_team_is_a_key_value() -> None:
    # (2024-01, billing, <null>, cycle_time) and (2024-01, billing, t2, cycle_time) differ -> valid
    validate("department_metrics", _department_metrics())
    df = _department_metrics()
    df.loc[1, "team"] = None  # now rows 0 and 1 share (period, billing, <null>, cycle_time)
    err = _raises("department_metrics", df)
    assert err.failures["row"].tolist() == [0, 1]
    assert "period, department, team, metric" in str(err)


def test_volume_is_optional() -> None:
    validate("employee_metrics", _employee_metrics().drop(columns="volume"))
    validate("department_metrics", _department_metrics())


# ----------------------------------------------------------------------------------------------------------------
# one bad frame per check: (table, column, row, value, check as shown in the message)
# ----------------------------------------------------------------------------------------------------------------
BAD_CASES = [
    ("intervals", "abandoned", 1, -1, ">= 0"),
    ("intervals", "answered_within_threshold", 1, -2, ">= 0"),
    ("intervals", "answered", 0, 11, "answered <= offered"),
    ("intervals", "answered_within_threshold", 2, 7, "answered_within_threshold <= answered"),
    ("intervals", "abandoned", 0, 2, "answered + abandoned <= offered"),
    ("intervals", "aht_s", 2, 0.0, "aht_s > 0 where answered > 0"),
    ("intervals", "aht_s", 0, np.nan, "aht_s > 0 where answered > 0"),
    ("intervals", "aht_s", 0, np.inf, "finite"),
    ("intervals", "agents_staffed", 1, -0.5, ">= 0"),
    ("intervals", "threshold_s", 1, -5.0, ">= 0"),
    ("intervals", "offered", 1, "ten", "coerce to number"),
    ("intervals", "answered", 2, 5.5, "integer"),
    ("intervals", "interval_start", 1, "not a date", "coerce to datetime"),
    ("intervals", "interval_start", 1, "2024-13-45 08:00", "coerce to datetime"),
    ("intervals", "queue", 2, None, "not_nullable"),
    ("contacts", "channel", 1, "fax", "in ['phone', 'email', 'chat']"),
    ("contacts", "wait_s", 2, -3.0, ">= 0"),
    ("contacts", "handle_s", 0, -1.0, ">= 0"),
    ("contacts", "wait_s", 0, "12s", "coerce to number"),
    ("contacts", "abandoned", 1, "maybe", "coerce to bool"),
    ("contacts", "resolved_first_contact", 2, 2, "coerce to bool"),
    ("contacts", "abandoned", 0, None, "not_nullable"),
    ("contacts", "customer_id", 1, None, "not_nullable"),
    ("contacts", "timestamp", 2, "yesterday-ish", "coerce to datetime"),
    ("customers", "churn_date", 1, "2020-01-01", "churn_date >= start_date"),
    ("customers", "monthly_revenue", 0, -10.0, ">= 0"),
    ("customers", "start_date", 2, "31.31.2021", "coerce to datetime"),
    ("employees", "base_salary", 1, 0.0, "> 0"),
    ("employees", "leave_date", 1, "2019-01-01", "leave_date >= hire_date"),
    ("employees", "hire_date", 0, None, "not_nullable"),
    ("employee_metrics", "period", 1, "2024-01-15", "month_start"),
    ("employee_metrics", "value", 2, "abc", "coerce to number"),
    ("employee_metrics", "volume", 0, -1.0, ">= 0"),
    ("department_metrics", "value", 1, np.inf, "finite"),
    ("department_metrics", "department", 2, None, "not_nullable"),
    ("work_items", "left_at", 0, "2023-12-31 23:00", "left_at >= entered_at"),
    ("work_items", "entered_at", 2, "soon", "coerce to datetime"),
    ("customer_panel", "service_level", 0, 1.5, "<= 1"),
    ("customer_panel", "contacts", 1, -1, ">= 0"),
]


@pytest.mark.parametrize(("table", "column", "row", "value", "check"), BAD_CASES)
def test_each_check_names_column_row_and_check(
    table: str, column: str, row: int, value: object, check: str
) -> None:
    df = VALID[table]()
    if column not in df.columns:
        df[column] = 20.0
    df[column] = df[column].astype(object)
    df.loc[row, column] = value
    err = _raises(table, df, file=f"data/{table}.csv")
    message = str(err)
    assert isinstance(err, CxError)
    assert f"column '{column}'" in message
    assert f"check '{check}'" in message
    assert f"row {row} " in message
    assert f"data/{table}.csv" in message
    assert "err.failures" in message
    failures = err.failures
    assert list(failures.columns) == ["table", "column", "check", "row", "value"]
    mine = failures[(failures["column"] == column) & (failures["check"] == check)]
    assert mine["row"].tolist() == [row]
    assert (failures["table"] == table).all()
    # exactly one failure per bad cell: a coercion failure is not reported again as "not_nullable" etc.
    # (answered > offered necessarily also breaks answered + abandoned <= offered, as abandoned >= 0)
    expected = 2 if check == "answered <= offered" else 1
    assert len(failures) == expected, failures


@pytest.mark.parametrize(("table", "key"), [(t, key_columns(t)) for t in VALID])
def test_duplicate_keys_are_reported_on_every_duplicated_row(table: str, key: tuple[str, ...]) -> None:
    df = VALID[table]()
    df = pd.concat([df, df.iloc[[0]]], ignore_index=True)  # row 3 repeats row 0
    if table == "intervals":
        df.loc[3, "offered"] = 12  # only the key repeats, other values may differ
    err = _raises(table, df)
    failures = err.failures
    assert failures["check"].unique().tolist() == ["unique key"]
    assert failures["row"].tolist() == [0, 3]
    assert failures["column"].iloc[0] == ", ".join(key)
    assert f"column '{', '.join(key)}'" in str(err)
    assert "row 0 " in str(err) and "row 3 " in str(err)


def test_validation_is_lazy_and_counts_every_failure() -> None:
    df = _intervals()
    df.loc[0, "answered"] = 11  # answered > offered, answered + abandoned > offered (9+1 -> 11+1 > 10)
    df.loc[1, "offered"] = -1  # >= 0; also answered 0 > offered -1 and 0 + 0 > -1
    df.loc[2, "agents_staffed"] = -2.0
    err = _raises("intervals", df)
    got = sorted(zip(err.failures["column"], err.failures["check"], err.failures["row"], strict=True))
    assert got == sorted(
        [
            ("answered", "answered <= offered", 0),
            ("abandoned", "answered + abandoned <= offered", 0),
            ("offered", ">= 0", 1),
            ("answered", "answered <= offered", 1),
            ("abandoned", "answered + abandoned <= offered", 1),
            ("agents_staffed", ">= 0", 2),
        ]
    )
    assert "see err.failures for all 6 failure(s)" in str(err)


def test_failure_values_are_the_offending_input_values() -> None:
    df = _contacts()
    df["channel"] = ["phone", "fax", "pigeon"]
    err = _raises("contacts", df)
    assert err.failures["value"].tolist() == ["fax", "pigeon"]
    assert "row 1 ('fax')" in str(err) and "row 2 ('pigeon')" in str(err)


def test_missing_columns_are_named() -> None:
    df = _intervals().drop(columns=["answered", "agents_staffed"])
    err = _raises("intervals", df, file="x.csv")
    assert "column 'answered', check 'column_in_dataframe'" in str(err)
    assert "column 'agents_staffed'" in str(err)
    assert set(err.failures["column"]) == {"answered", "agents_staffed"}
    assert err.failures["row"].isna().all()


def test_unknown_table_lists_valid_names() -> None:
    with pytest.raises(DataValidationError, match="Unknown table 'interval'.*intervals, contacts"):
        validate("interval", _intervals())
    with pytest.raises(DataValidationError, match="valid table names"):
        schema_for("nope")
    with pytest.raises(DataValidationError, match="valid table names"):
        template("nope")


def test_empty_frame_is_a_clear_error() -> None:
    err = _raises("contacts", template("contacts"), file="contacts.csv")
    assert "is empty (0 rows)" in str(err)
    assert "contacts.csv" in str(err)


def test_not_a_dataframe_and_duplicate_column_names() -> None:
    with pytest.raises(DataValidationError, match="must be a pandas DataFrame, got dict"):
        validate("contacts", {"contact_id": ["c1"]})  # type: ignore[arg-type]
    df = _customers()
    df.columns = ["customer_id", "segment", "segment", "start_date", "monthly_revenue", "churn_date"]
    with pytest.raises(DataValidationError, match="duplicated column names: segment"):
        validate("customers", df)


def test_out_of_range_dates_fail_instead_of_overflowing() -> None:
    df = _customers()
    df["churn_date"] = df["churn_date"].astype(object)
    df.loc[0, "churn_date"] = "9999-12-31"  # a common 'never' sentinel; outside datetime64[ns]
    err = _raises("customers", df)
    assert err.failures[["column", "check", "row"]].values.tolist() == [
        ["churn_date", "coerce to datetime", 0]
    ]


def test_numeric_dates_are_rejected_not_guessed() -> None:
    df = _customers()
    df["start_date"] = [45000, 45001, 45002]  # Excel serial days? epoch seconds? ambiguous
    err = _raises("customers", df)
    assert err.failures["row"].tolist() == [0, 1, 2]
    assert set(err.failures["check"]) == {"coerce to datetime"}


def test_message_truncates_long_lists_but_failures_keep_all() -> None:
    n = 50
    df = pd.concat([_contacts()] * 17, ignore_index=True).iloc[:n].copy()
    df["contact_id"] = [f"c{i}" for i in range(n)]
    df["wait_s"] = -1.0
    err = _raises("contacts", df)
    assert len(err.failures) == n
    assert "(+45 more)" in str(err)
    assert "all 50 failure(s)" in str(err)


def test_pandera_models_work_standalone_with_cross_column_checks() -> None:
    df = validate("intervals", _intervals())
    df.loc[0, "answered"] = 11
    with pytest.raises(pa.errors.SchemaErrors, match="answered <= offered"):
        schema_for("intervals").validate(df, lazy=True)
    dup = pd.concat([df.iloc[[1]], df.iloc[[1]]], ignore_index=True)
    with pytest.raises(pa.errors.SchemaErrors, match="not unique"):
        schema_for("intervals").validate(dup, lazy=True)


@pytest.mark.parametrize("table", list(VALID))
def test_template_has_contract_columns(table: str) -> None:
    frame = template(table)
    assert len(frame) == 0
    assert list(frame.columns) == list(column_kinds(table))
    valid_columns = set(validate(table, VALID[table]()).columns)
    assert set(frame.columns) <= valid_columns | {"volume"}


def test_template_plus_one_row_validates() -> None:
    frame = template("customers")
    row = _customers().iloc[[0]]
    out = validate("customers", pd.concat([frame, row], ignore_index=True))
    assert out["customer_id"].tolist() == ["k1"]


def test_key_columns() -> None:
    assert key_columns("department_metrics") == ("period", "department", "team", "metric")
    assert key_columns("work_items") == ("item_id", "stage")


@pytest.mark.slow
def test_large_contacts_frame_validates_and_reports_every_failure() -> None:
    n = 1_000_000
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "contact_id": pd.Series(np.arange(n)).astype(str),
            "customer_id": pd.Series(rng.integers(0, 50_000, n)).astype(str),
            "timestamp": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 10**7, n), unit="s"),
            "channel": rng.choice(["phone", "email", "chat"], n),
            "queue": "billing",
            "reason": "bill",
            "wait_s": rng.exponential(30.0, n),
            "handle_s": rng.exponential(300.0, n),
            "abandoned": rng.random(n) < 0.1,
            "resolved_first_contact": rng.random(n) < 0.7,
            "agent_id": None,
        }
    )
    out = validate("contacts", df)
    assert len(out) == n
    df.loc[::1000, "wait_s"] = -1.0  # rows 0, 1000, ..., 999000 -> 1000 failures
    err = _raises("contacts", df)
    assert err.failures["row"].tolist() == list(range(0, n, 1000))


def test_customer_panel_keeps_categorical_text_but_inputs_become_str() -> None:
    panel = _customer_panel()
    panel["segment"] = panel["segment"].astype("category")
    out = validate("customer_panel", panel)
    assert isinstance(out["segment"].dtype, pd.CategoricalDtype)
    assert out["segment"].tolist() == ["consumer", "consumer", "business"]
    contacts = _contacts()
    contacts["channel"] = contacts["channel"].astype("category")
    assert is_text_dtype(validate("contacts", contacts)["channel"].dtype)


# ----------------------------------------------------------------------------------------------------------------
# properties
# ----------------------------------------------------------------------------------------------------------------
@st.composite
def _interval_frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 12))
    offered = np.array(draw(st.lists(st.integers(0, 500), min_size=n, max_size=n)))
    answered = np.array([draw(st.integers(0, int(o))) for o in offered])
    abandoned = np.array([draw(st.integers(0, int(o - a))) for o, a in zip(offered, answered, strict=True)])
    within = np.array([draw(st.integers(0, int(a))) for a in answered])
    aht = np.where(answered > 0, draw(st.floats(1.0, 3600.0)), np.nan)
    return pd.DataFrame(
        {
            "interval_start": pd.date_range("2024-01-01", periods=n, freq="30min"),
            "queue": "billing",
            "offered": offered,
            "answered": answered,
            "answered_within_threshold": within,
            "abandoned": abandoned,
            "aht_s": aht,
            "agents_staffed": draw(st.floats(0.0, 50.0)),
        }
    )


# older hypothesis versions (6.90) count the per-row draws of a 12-row frame as "data too large"
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.data_too_large])
@given(df=_interval_frames(), data=st.data())
def test_consistent_intervals_pass_and_one_extra_answer_fails(df: pd.DataFrame, data: st.DataObject) -> None:
    out = validate("intervals", df)
    # idempotent: validating the validated frame changes nothing
    pd.testing.assert_frame_equal(validate("intervals", out), out)
    row = data.draw(st.integers(0, len(df) - 1))
    bad = df.copy()
    bad.loc[row, "answered_within_threshold"] = bad.loc[row, "answered"] + 1
    err = _raises("intervals", bad)
    assert err.failures[["column", "check", "row"]].values.tolist() == [
        ["answered_within_threshold", "answered_within_threshold <= answered", row]
    ]


def test_a_failed_cell_does_not_hide_other_failures_in_its_row() -> None:
    df = _intervals()
    df = df.astype({"offered": object, "answered": float})
    df.loc[1, "offered"] = "ten"  # coercion failure ...
    df.loc[1, "agents_staffed"] = -1.0  # ... and a range failure in the same row
    df.loc[1, "answered"] = -2.5  # non-integral and negative: reported once, as "integer"
    err = _raises("intervals", df)
    got = sorted(zip(err.failures["column"], err.failures["check"], err.failures["row"], strict=True))
    assert got == [
        ("agents_staffed", ">= 0", 1),
        ("answered", "integer", 1),
        ("offered", "coerce to number", 1),
    ]
